/* qlaunch vhost-user plugin — entry point: registers the `vhost-user` device type. */
#include <qlaunch/qlaunch.h>

#include "ql-vhost-user-device.h"

static gboolean
ql_vhost_user_plugin_init (QlPlugin  *plugin,
                           GError   **error)
{
  return ql_plugin_register_device (plugin, "vhost-user",
                                    QL_TYPE_VHOST_USER_DEVICE, error);
}

QL_PLUGIN_DEFINE (vhost_user, "vhost-user",
                  "vhost-user devices: net, blk and scsi served by a backend process over a unix socket",
                  QL_VERSION, "Apache-2.0", ql_vhost_user_plugin_init)
