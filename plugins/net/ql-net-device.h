/* qlaunch net plugin — QlNetDevice: a guest network card (govmm's NetDevice,
 * plus QEMU's user-mode stack). */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

/*
 * QlNetType:
 * @QL_NET_TYPE_TAP: a tap interface opened by name or passed as fds
 * @QL_NET_TYPE_MACVTAP: a macvtap interface, passed as fds
 * @QL_NET_TYPE_IPVTAP: an ipvtap interface, passed as fds
 * @QL_NET_TYPE_VETHTAP: a tap bridged to a veth pair, a tap netdev for QEMU
 * @QL_NET_TYPE_VFIO: not a netdev: use the `vfio` device type
 * @QL_NET_TYPE_VHOST_USER: not handled here: use the `vhost-user` device type
 * @QL_NET_TYPE_USER: QEMU's user-mode network stack (slirp): no host
 *   interface and no privileges needed; host ports can be forwarded in
 * @QL_NET_TYPE_PASST: user-mode networking by a passt process qlaunch
 *   runs beside QEMU (`-netdev stream` to its unix socket): no host
 *   interface and no privileges needed; the guest gets the host's address
 *
 * The kind of host interface behind the card (govmm's NetDeviceType, plus
 * `user` and `passt`).
 */
typedef enum
{
  QL_NET_TYPE_TAP,
  QL_NET_TYPE_MACVTAP,
  QL_NET_TYPE_IPVTAP,
  QL_NET_TYPE_VETHTAP,
  QL_NET_TYPE_VFIO,
  QL_NET_TYPE_VHOST_USER,
  QL_NET_TYPE_USER,
  QL_NET_TYPE_PASST,
} QlNetType;

#include "ql-net-enums.h"

#define QL_TYPE_NET_DEVICE (ql_net_device_get_type ())
G_DECLARE_FINAL_TYPE (QlNetDevice, ql_net_device, QL, NET_DEVICE, QlDevice)

G_END_DECLS
