/* qlaunch fs plugin — QlFsDevice: a host directory shared over virtio-9p
 * (govmm's FSDevice). */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

/*
 * QlFsDriver:
 * @QL_FS_DRIVER_LOCAL: QEMU itself opens the shared directory (`-fsdev local`)
 * @QL_FS_DRIVER_PROXY: a virtfs-proxy-helper process opens it and QEMU talks
 *   to the helper over a socket (`-fsdev proxy`)
 * @QL_FS_DRIVER_HANDLE: removed from QEMU in 6.0: always an error
 *
 * The fsdev backend that reaches the host files (govmm's FSDriver).
 */
typedef enum
{
  QL_FS_DRIVER_LOCAL,
  QL_FS_DRIVER_PROXY,
  QL_FS_DRIVER_HANDLE,
} QlFsDriver;

#include "ql-fs-enums.h"

#define QL_TYPE_FS_DEVICE (ql_fs_device_get_type ())
G_DECLARE_FINAL_TYPE (QlFsDevice, ql_fs_device, QL, FS_DEVICE, QlDevice)

G_END_DECLS
