/* qlaunch fs plugin — entry point: registers the `fs` device type. */
#include <qlaunch/qlaunch.h>

#include "ql-fs-device.h"

static gboolean
ql_fs_plugin_init (QlPlugin  *plugin,
                   GError   **error)
{
  return ql_plugin_register_device (plugin, "fs", QL_TYPE_FS_DEVICE, error);
}

QL_PLUGIN_DEFINE (fs, "fs",
                  "Shared host directories: virtio-9p on a local or proxy fsdev",
                  QL_VERSION, "Apache-2.0", ql_fs_plugin_init)
