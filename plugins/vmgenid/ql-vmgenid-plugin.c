/* qlaunch vmgenid plugin — entry point: registers the `vmgenid` device type. */
#include <qlaunch/qlaunch.h>

#include "ql-vmgenid-device.h"

static gboolean
ql_vmgenid_plugin_init (QlPlugin  *plugin,
                        GError   **error)
{
  return ql_plugin_register_device (plugin, "vmgenid", QL_TYPE_VMGENID_DEVICE, error);
}

QL_PLUGIN_DEFINE (vmgenid, "vmgenid",
                  "VM generation ID (vmgenid): a GUID the guest reads through ACPI, changed when the VM is copied",
                  QL_VERSION, "Apache-2.0", ql_vmgenid_plugin_init)
