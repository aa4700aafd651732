/* qlaunch virtio-fs plugin — QlVirtioFsDevice: a host directory shared
 * with the guest over virtio-fs, served by a virtiofsd the launcher runs. */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

/*
 * QlVirtioFsCache:
 * @QL_VIRTIO_FS_CACHE_AUTO: virtiofsd's default: metadata cached for a
 *   while, data cached until the file changes on the host
 * @QL_VIRTIO_FS_CACHE_ALWAYS: the guest caches as if it owned the files
 *   (fastest; only when nothing else changes them)
 * @QL_VIRTIO_FS_CACHE_NONE: no caching: every access reaches the host
 *
 * virtiofsd's `-o cache=` mode.
 */
typedef enum
{
  QL_VIRTIO_FS_CACHE_AUTO,
  QL_VIRTIO_FS_CACHE_ALWAYS,
  QL_VIRTIO_FS_CACHE_NONE,
} QlVirtioFsCache;

/*
 * QlVirtioFsSandbox:
 * @QL_VIRTIO_FS_SANDBOX_NAMESPACE: virtiofsd's default: mount, pid and
 *   network namespaces, pivot_root into the shared directory
 * @QL_VIRTIO_FS_SANDBOX_CHROOT: chroot into the shared directory (inside
 *   a container that has no namespaces to give)
 *
 * virtiofsd's `-o sandbox=` mode.
 */
typedef enum
{
  QL_VIRTIO_FS_SANDBOX_NAMESPACE,
  QL_VIRTIO_FS_SANDBOX_CHROOT,
} QlVirtioFsSandbox;

#include "ql-virtio-fs-enums.h"

#define QL_TYPE_VIRTIO_FS_DEVICE (ql_virtio_fs_device_get_type ())
G_DECLARE_FINAL_TYPE (QlVirtioFsDevice, ql_virtio_fs_device, QL, VIRTIO_FS_DEVICE, QlDevice)

G_END_DECLS
