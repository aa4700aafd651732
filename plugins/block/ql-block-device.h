/* qlaunch block plugin — QlBlockDevice: a disk image (govmm's BlockDevice). */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

/*
 * QlBlockInterface:
 * @QL_BLOCK_INTERFACE_NONE: a virtio-blk PCI disk
 * @QL_BLOCK_INTERFACE_SCSI: a scsi-hd disk on a SCSI controller's bus
 *
 * How the guest sees the disk. govmm wrote it into `-drive if=`; qlaunch
 * always writes `if=none` and expresses the interface by the device model.
 */
typedef enum
{
  QL_BLOCK_INTERFACE_NONE,
  QL_BLOCK_INTERFACE_SCSI,
} QlBlockInterface;

/*
 * QlBlockAio:
 * @QL_BLOCK_AIO_THREADS: a pool of threads does the I/O
 * @QL_BLOCK_AIO_NATIVE: Linux native AIO; needs cache-direct=true
 *
 * The host's asynchronous I/O implementation (`-drive aio=`).
 */
typedef enum
{
  QL_BLOCK_AIO_THREADS,
  QL_BLOCK_AIO_NATIVE,
} QlBlockAio;

/*
 * QlBlockFormat:
 * The image format (`-drive format=`).
 */
typedef enum
{
  QL_BLOCK_FORMAT_QCOW2,
  QL_BLOCK_FORMAT_RAW,
  QL_BLOCK_FORMAT_VMDK,
  QL_BLOCK_FORMAT_VDI,
  QL_BLOCK_FORMAT_VHDX,
  QL_BLOCK_FORMAT_VPC,
} QlBlockFormat;

#include "ql-block-enums.h"

#define QL_TYPE_BLOCK_DEVICE (ql_block_device_get_type ())
G_DECLARE_FINAL_TYPE (QlBlockDevice, ql_block_device, QL, BLOCK_DEVICE, QlDevice)

G_END_DECLS
