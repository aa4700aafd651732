/* qlaunch vfio plugin — entry point: registers the `vfio` device type. */
#include <qlaunch/qlaunch.h>

#include "ql-vfio-device.h"

static gboolean
ql_vfio_plugin_init (QlPlugin  *plugin,
                     GError   **error)
{
  return ql_plugin_register_device (plugin, "vfio", QL_TYPE_VFIO_DEVICE, error);
}

QL_PLUGIN_DEFINE (vfio, "vfio",
                  "Host PCI functions assigned to the guest with VFIO (vfio-pci)",
                  QL_VERSION, "Apache-2.0", ql_vfio_plugin_init)
