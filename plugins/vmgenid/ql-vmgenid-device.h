/* qlaunch vmgenid plugin — QlVmgenidDevice: the VM generation ID, a GUID
 * the guest reads through ACPI and that changes when the VM is copied or
 * restored (so that the guest reseeds its random number generators). */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

#define QL_TYPE_VMGENID_DEVICE (ql_vmgenid_device_get_type ())
G_DECLARE_FINAL_TYPE (QlVmgenidDevice, ql_vmgenid_device, QL, VMGENID_DEVICE, QlDevice)

G_END_DECLS
