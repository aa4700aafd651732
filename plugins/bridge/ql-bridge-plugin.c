/* qlaunch bridge plugin — entry point: registers the `bridge` device type. */
#include <qlaunch/qlaunch.h>

#include "ql-bridge-device.h"

static gboolean
ql_bridge_plugin_init (QlPlugin  *plugin,
                       GError   **error)
{
  return ql_plugin_register_device (plugin, "bridge", QL_TYPE_BRIDGE_DEVICE, error);
}

QL_PLUGIN_DEFINE (bridge, "bridge",
                  "PCI bridges: pci-bridge and pcie-pci-bridge, a bus for more PCI devices",
                  QL_VERSION, "Apache-2.0", ql_bridge_plugin_init)
