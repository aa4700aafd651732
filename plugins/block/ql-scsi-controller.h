/* qlaunch block plugin — QlScsiController: a virtio-scsi controller
 * (govmm's SCSIController). */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

#define QL_TYPE_SCSI_CONTROLLER (ql_scsi_controller_get_type ())
G_DECLARE_FINAL_TYPE (QlScsiController, ql_scsi_controller, QL, SCSI_CONTROLLER, QlDevice)

G_END_DECLS
