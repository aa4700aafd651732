/* qlaunch vsock plugin — entry point: registers the `vsock` device type. */
#include <qlaunch/qlaunch.h>

#include "ql-vsock-device.h"

static gboolean
ql_vsock_plugin_init (QlPlugin  *plugin,
                      GError   **error)
{
  return ql_plugin_register_device (plugin, "vsock", QL_TYPE_VSOCK_DEVICE, error);
}

QL_PLUGIN_DEFINE (vsock, "vsock",
                  "Host-guest AF_VSOCK sockets (vhost-vsock-pci)",
                  QL_VERSION, "Apache-2.0", ql_vsock_plugin_init)
