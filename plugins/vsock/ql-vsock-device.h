/* qlaunch vsock plugin — QlVsockDevice: an AF_VSOCK channel between host and
 * guest (govmm's VSOCKDevice). */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

#define QL_TYPE_VSOCK_DEVICE (ql_vsock_device_get_type ())
G_DECLARE_FINAL_TYPE (QlVsockDevice, ql_vsock_device, QL, VSOCK_DEVICE, QlDevice)

G_END_DECLS
