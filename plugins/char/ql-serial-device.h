/* qlaunch char plugin — QlSerialDevice: a virtio-serial PCI controller
 * (govmm's SerialDevice). */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

#define QL_TYPE_SERIAL_DEVICE (ql_serial_device_get_type ())
G_DECLARE_FINAL_TYPE (QlSerialDevice, ql_serial_device, QL, SERIAL_DEVICE, QlDevice)

G_END_DECLS
