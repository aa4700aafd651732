/* qlaunch balloon plugin — QlBalloonDevice: a virtio memory balloon, with
 * which the host asks the guest to give memory back (and returns it). */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

#define QL_TYPE_BALLOON_DEVICE (ql_balloon_device_get_type ())
G_DECLARE_FINAL_TYPE (QlBalloonDevice, ql_balloon_device, QL, BALLOON_DEVICE, QlDevice)

G_END_DECLS
