/* qlaunch vhost-user plugin — QlVhostUserDevice: a device whose data path is
 * a vhost-user backend process (govmm's VhostUserDevice). */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

/*
 * QlVhostUserType:
 * @QL_VHOST_USER_TYPE_UNSET: not set: an error, the type must be chosen
 * @QL_VHOST_USER_TYPE_SCSI: a SCSI controller (vhost-user-scsi-pci)
 * @QL_VHOST_USER_TYPE_NET: a network card (virtio-net-pci on a vhost-user netdev)
 * @QL_VHOST_USER_TYPE_BLK: a disk (vhost-user-blk-pci)
 *
 * What the backend implements (govmm's VhostUserDeviceType).
 */
typedef enum
{
  QL_VHOST_USER_TYPE_UNSET,
  QL_VHOST_USER_TYPE_SCSI,
  QL_VHOST_USER_TYPE_NET,
  QL_VHOST_USER_TYPE_BLK,
} QlVhostUserType;

#include "ql-vhost-user-enums.h"

#define QL_TYPE_VHOST_USER_DEVICE (ql_vhost_user_device_get_type ())
G_DECLARE_FINAL_TYPE (QlVhostUserDevice, ql_vhost_user_device, QL, VHOST_USER_DEVICE, QlDevice)

G_END_DECLS
