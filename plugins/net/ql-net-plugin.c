/* qlaunch net plugin — entry point: registers the `net` device type. */
#include <qlaunch/qlaunch.h>

#include "ql-net-device.h"

static gboolean
ql_net_plugin_init (QlPlugin  *plugin,
                    GError   **error)
{
  return ql_plugin_register_device (plugin, "net", QL_TYPE_NET_DEVICE, error);
}

QL_PLUGIN_DEFINE (net, "net",
                  "Network cards: virtio-net on a tap, macvtap, ipvtap or vethtap interface, on QEMU's user-mode stack, or on passt",
                  QL_VERSION, "Apache-2.0", ql_net_plugin_init)
