/* qlaunch virtio-fs plugin — entry point: registers the `virtio-fs`
 * device type. */
#include <qlaunch/qlaunch.h>

#include "ql-virtio-fs-device.h"

static gboolean
ql_virtio_fs_plugin_init (QlPlugin  *plugin,
                          GError   **error)
{
  return ql_plugin_register_device (plugin, "virtio-fs", QL_TYPE_VIRTIO_FS_DEVICE, error);
}

QL_PLUGIN_DEFINE (virtio_fs, "virtio-fs",
                  "Host directories shared with the guest over virtio-fs (vhost-user-fs-pci and a virtiofsd per share)",
                  QL_VERSION, "Apache-2.0", ql_virtio_fs_plugin_init)
