/* qlaunch block plugin — entry point: registers `block` and `scsi-controller`. */
#include <qlaunch/qlaunch.h>

#include "ql-block-device.h"
#include "ql-scsi-controller.h"

static gboolean
ql_block_plugin_init (QlPlugin  *plugin,
                      GError   **error)
{
  return ql_plugin_register_device (plugin, "block", QL_TYPE_BLOCK_DEVICE,
                                    error) &&
         ql_plugin_register_device (plugin, "scsi-controller",
                                    QL_TYPE_SCSI_CONTROLLER, error);
}

QL_PLUGIN_DEFINE (block, "block",
                  "Disks (virtio-blk or scsi-hd on a -drive) and virtio-scsi controllers",
                  QL_VERSION, "Apache-2.0", ql_block_plugin_init)
