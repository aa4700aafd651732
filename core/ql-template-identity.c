/* qlaunch — a template's identity: a VM generation ID that is new in every
 * clone, and the network cards every clone inherits.
 *
 * QEMU 7.2 does not migrate a vmgenid device's GUID (its saved state is
 * only the guest address of the GUID): when a clone loads the template's
 * state, the device's post-load hook writes the clone's own GUID, the one
 * of its command line, into guest memory and raises the ACPI notification
 * (GPE E05), which the guest handles when it runs. With `guid = auto` QEMU
 * draws that GUID when the clone's QEMU starts, so every clone gets a new
 * one while its command line stays the template's (a clone's argv must be
 * the template's). Setting the GUID later, with QMP `qom-set` while the
 * clone is paused, is not possible in 7.2: "Attempt to set property 'guid'
 * on device ... after it was realized".
 */
#include "ql-template-private.h"

#include <string.h>

/* The vmgenid device's GUID property and its "new at each start" value. */
#define VMGENID_TYPE "vmgenid"
#define VMGENID_AUTO "auto"

static QlDevice *
find_vmgenid (QlVmConfig *config)
{
  GPtrArray *devices = ql_vm_config_get_devices (config);

  for (guint i = 0; i < devices->len; i++)
    {
      QlDevice *device = g_ptr_array_index (devices, i);

      if (g_strcmp0 (ql_device_get_type_name (device), VMGENID_TYPE) == 0)
        return device;
    }
  return NULL;
}

/* The NICs of @config: [{"id", "mac"}], "mac" null when QEMU picks it
 * (the same default in every clone, as in the template). */
static JsonArray *
list_nics (QlVmConfig *config)
{
  GPtrArray *devices = ql_vm_config_get_devices (config);
  JsonArray *nics = json_array_new ();

  for (guint i = 0; i < devices->len; i++)
    {
      QlDevice *device = g_ptr_array_index (devices, i);
      JsonObject *nic;
      g_autofree char *mac = NULL;

      if (g_object_class_find_property (G_OBJECT_GET_CLASS (device), "mac-address") == NULL)
        continue;
      g_object_get (device, "mac-address", &mac, NULL);
      nic = json_object_new ();
      json_object_set_string_member (nic, "id", ql_device_get_id (device));
      if (mac != NULL)
        json_object_set_string_member (nic, "mac", mac);
      else
        json_object_set_null_member (nic, "mac");
      json_array_add_object_element (nics, nic);
    }
  return nics;
}

#define fix_up_failed(error, ...) \
  ql_template_set_unsupported ((error), "identity fix-up: ", \
                               " (or make the template with --same-identity: every clone " \
                               "then resumes with the template's RNG state and identity)", __VA_ARGS__)

gboolean
ql_template_identity_prepare (QlVmConfig  *source,
                              gboolean     same_identity,
                              char       **text_out,
                              JsonObject **identity_out,
                              GError     **error)
{
  const char *text = ql_vm_config_get_source_text (source);
  QlDevice *vmgenid = find_vmgenid (source);
  g_autoptr(JsonObject) identity = json_object_new ();
  g_autofree char *effective = NULL;
  g_autoptr(QlVmConfig) check = NULL;
  g_autoptr(GError) local = NULL;

  json_object_set_boolean_member (identity, "fix-up", !same_identity);
  if (vmgenid != NULL)
    {
      g_autofree char *guid = NULL;

      g_object_get (vmgenid, "guid", &guid, NULL);
      if (!same_identity && g_ascii_strcasecmp (guid, VMGENID_AUTO) != 0)
        return fix_up_failed (error, "device '%s' key guid: the fixed GUID %s would be every clone's; "
                              "set guid = auto (QEMU draws a new one when each clone starts)",
                              ql_device_get_id (vmgenid), guid);
      json_object_set_string_member (identity, "vmgenid", ql_device_get_id (vmgenid));
      json_object_set_boolean_member (identity, "vmgenid-added", FALSE);
      effective = g_strdup (text);
    }
  else if (same_identity)
    {
      json_object_set_null_member (identity, "vmgenid");
      json_object_set_boolean_member (identity, "vmgenid-added", FALSE);
      effective = g_strdup (text);
    }
  else
    {
      const char *base_dir = ql_vm_config_get_base_dir (source);
      g_autofree char *cwd = base_dir == NULL ? g_get_current_dir () : NULL;

      if (ql_vm_config_lookup_device (source, QL_TEMPLATE_VMGENID_ID) != NULL)
        return fix_up_failed (error, "the VM has a device with id '%s', the one qlaunch gives the "
                              "vmgenid device it adds; rename it", QL_TEMPLATE_VMGENID_ID);
      /* Appended as text: the VM file's own text stays as it was, first. */
      effective = g_strdup_printf ("%s%s[device " QL_TEMPLATE_VMGENID_ID "]\n"
                                   "type = " VMGENID_TYPE "\nguid = " VMGENID_AUTO "\n",
                                   text, *text != '\0' && !g_str_has_suffix (text, "\n") ? "\n" : "");
      check = ql_vm_config_new_from_data (effective, -1, ql_vm_config_get_source_name (source),
                                          base_dir != NULL ? base_dir : cwd,
                                          ql_vm_config_get_registry (source), &local);
      if (check == NULL)
        return fix_up_failed (error, "qlaunch adds a vmgenid device (" QL_TEMPLATE_VMGENID_ID
                              ", guid auto) and the VM does not take it: %s", local->message);
      json_object_set_string_member (identity, "vmgenid", QL_TEMPLATE_VMGENID_ID);
      json_object_set_boolean_member (identity, "vmgenid-added", TRUE);
    }
  json_object_set_array_member (identity, "nics", list_nics (source));
  *text_out = g_steal_pointer (&effective);
  *identity_out = g_steal_pointer (&identity);
  return TRUE;
}
