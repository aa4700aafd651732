/* qlaunch vmgenid plugin — QlVmgenidDevice: the VM generation ID.
 *
 * What it produces:
 *
 *   -device vmgenid,id=ID,guid=GUID      (GUID: "auto" or a fixed UUID)
 *
 * QEMU puts the GUID in guest memory and describes it with an ACPI
 * device (_HID "QEMUVGID", _CID "VM_Gen_Counter") whose ADDR method gives
 * its address; Linux's vmgenid driver reads it from there. With
 * guid=auto QEMU draws a new GUID at each start; a fixed GUID stays the
 * same until the host changes it (QMP query-vm-generation-id reads it).
 *
 * The rules, checked against QEMU 7.2:
 * - guid is "auto" or a UUID written 8-4-4-4-12 in hex digits (QEMU:
 *   "Property 'vmgenid.guid' doesn't take value ..." for anything else,
 *   32 digits without dashes included); any letter case;
 * - one per VM ("at most one vmgenid device is permitted"), naming both;
 * - the guest finds it through ACPI only: with [machine] options acpi=off
 *   QEMU starts and the guest sees nothing, an error here;
 * - not hot-plugged ("Parameter 'driver' expects a pluggable device
 *   type").
 */
#include "ql-vmgenid-device.h"

#define QL_VMGENID_AUTO "auto"

struct _QlVmgenidDevice
{
  QlDevice  parent_instance;

  char     *guid;
};

G_DEFINE_FINAL_TYPE (QlVmgenidDevice, ql_vmgenid_device, QL_TYPE_DEVICE)

enum
{
  PROP_0,
  PROP_GUID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The vmgenid of @vm before @self (any when @self is not in @vm). */
static QlDevice *
find_other_vmgenid (QlVmgenidDevice *self,
                    QlVmConfig      *vm)
{
  GPtrArray *devices = vm != NULL ? ql_vm_config_get_devices (vm) : NULL;

  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other == QL_DEVICE (self))
        return NULL;
      if (QL_IS_VMGENID_DEVICE (other))
        return other;
    }
  return NULL;
}

static gboolean
ql_vmgenid_device_valid (QlDevice    *device,
                         QlVmConfig  *vm,
                         GError     **error)
{
  QlVmgenidDevice *self = QL_VMGENID_DEVICE (device);
  static const char * const off[] = { "off", "false", "no", NULL };
  g_autofree char *acpi = NULL;
  QlDevice *other;

  if (!ql_device_check_not_empty (device, self->guid, "guid", error))
    return FALSE;
  if (g_strcmp0 (self->guid, QL_VMGENID_AUTO) != 0 && !g_uuid_string_is_valid (self->guid))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "guid",
                           "'%s' is not a GUID: expected 'auto' or a UUID such as "
                           "'324e6eaf-d1d1-4bf6-bf41-b9bb6c91fb87' (8-4-4-4-12 hex digits)",
                           self->guid);
      return FALSE;
    }

  other = find_other_vmgenid (self, vm);
  if (other != NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "type",
                           "the VM has a vmgenid device already, '%s', and QEMU allows one (\"at most one vmgenid "
                           "device is permitted\"): remove '%s' or '%s'",
                           ql_device_get_id (other), ql_device_get_id (other), ql_device_get_id (device));
      return FALSE;
    }

  acpi = vm != NULL ? ql_vm_config_lookup_machine_option (vm, "acpi") : NULL;
  if (acpi != NULL && g_strv_contains (off, acpi))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "type",
                           "the guest finds the generation ID through ACPI, and [machine] options say acpi=%s: "
                           "QEMU starts, the guest sees no vmgenid; remove acpi=%s",
                           acpi, acpi);
      return FALSE;
    }
  return TRUE;
}

static gboolean
ql_vmgenid_device_qemu_params (QlDevice    *device,
                               QlVmConfig  *vm,
                               QlCmdline   *cmdline,
                               GError     **error)
{
  QlVmgenidDevice *self = QL_VMGENID_DEVICE (device);
  g_autofree char *guid = g_ascii_strdown (self->guid, -1);

  ql_cmdline_add_option (cmdline, "-device", "vmgenid",
                         "id", ql_device_get_id (device),
                         "guid", guid,
                         NULL);
  return TRUE;
}

static gboolean
ql_vmgenid_device_hotplug_params (QlDevice    *device,
                                  QlVmConfig  *vm,
                                  QlCmdline   *cmdline,
                                  GError     **error)
{
  ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "type",
                       "vmgenid is part of the machine's ACPI tables from its start: it cannot be hot-plugged "
                       "(QEMU: \"Parameter 'driver' expects a pluggable device type\")");
  return FALSE;
}

static void
ql_vmgenid_device_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  QlVmgenidDevice *self = QL_VMGENID_DEVICE (object);

  switch (prop_id)
    {
    case PROP_GUID:
      /* NULL restores the default. */
      g_free (self->guid);
      self->guid = g_strdup (g_value_get_string (value) != NULL ? g_value_get_string (value) : QL_VMGENID_AUTO);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_vmgenid_device_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  QlVmgenidDevice *self = QL_VMGENID_DEVICE (object);

  switch (prop_id)
    {
    case PROP_GUID:
      g_value_set_string (value, self->guid);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_vmgenid_device_finalize (GObject *object)
{
  QlVmgenidDevice *self = QL_VMGENID_DEVICE (object);

  g_free (self->guid);

  G_OBJECT_CLASS (ql_vmgenid_device_parent_class)->finalize (object);
}

static void
ql_vmgenid_device_class_init (QlVmgenidDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = ql_vmgenid_device_set_property;
  object_class->get_property = ql_vmgenid_device_get_property;
  object_class->finalize = ql_vmgenid_device_finalize;

  device_class->valid = ql_vmgenid_device_valid;
  device_class->qemu_params = ql_vmgenid_device_qemu_params;
  device_class->hotplug_params = ql_vmgenid_device_hotplug_params;

  properties[PROP_GUID] =
    g_param_spec_string ("guid", "GUID",
                         "The generation ID (guid=): auto (QEMU draws a new one at each start) or a fixed UUID "
                         "such as 324e6eaf-d1d1-4bf6-bf41-b9bb6c91fb87 (written in lower case); one vmgenid per VM; default auto",
                         QL_VMGENID_AUTO, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_vmgenid_device_init (QlVmgenidDevice *self)
{
  self->guid = g_strdup (QL_VMGENID_AUTO);
}
