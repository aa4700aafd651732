/* qlaunch balloon plugin — entry point: registers the `balloon` device type. */
#include <qlaunch/qlaunch.h>

#include "ql-balloon-device.h"

static gboolean
ql_balloon_plugin_init (QlPlugin  *plugin,
                        GError   **error)
{
  return ql_plugin_register_device (plugin, "balloon", QL_TYPE_BALLOON_DEVICE, error);
}

QL_PLUGIN_DEFINE (balloon, "balloon",
                  "Guest memory balloon (virtio-balloon-pci), resized over QMP",
                  QL_VERSION, "Apache-2.0", ql_balloon_plugin_init)
