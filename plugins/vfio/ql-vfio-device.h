/* qlaunch vfio plugin — QlVfioDevice: a host PCI function assigned to the
 * guest through VFIO (govmm's VFIODevice). */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

#define QL_TYPE_VFIO_DEVICE (ql_vfio_device_get_type ())
G_DECLARE_FINAL_TYPE (QlVfioDevice, ql_vfio_device, QL, VFIO_DEVICE, QlDevice)

G_END_DECLS
