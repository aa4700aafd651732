/* qlaunch — the escape hatch from outside the VM file: [qemu] add and
 * remove extended, a device's qemu-set extended, and what was applied
 * remembered (a template records it and applies it to every run). */
#include "ql-qemu-overrides-private.h"
#include "ql-qmp-private.h"

#include <string.h>

#define OVERRIDES_KEY "ql-qemu-overrides"

/* Appends @more to the list property @name of @vm. */
static void
append_strv (QlVmConfig        *vm,
             const char        *name,
             const char *const *more)
{
  g_auto(GStrv) old = NULL;
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  g_auto(GStrv) all = NULL;

  if (more == NULL || more[0] == NULL)
    return;
  g_object_get (vm, name, &old, NULL);
  if (old != NULL)
    g_strv_builder_addv (b, (const char **) old);
  g_strv_builder_addv (b, (const char **) more);
  all = g_strv_builder_end (b);
  g_object_set (vm, name, all, NULL);
}

static gboolean
apply_set (QlVmConfig  *vm,
           const char  *spec,
           GString     *messages)
{
  GPtrArray *devices = ql_vm_config_get_devices (vm);
  const char *colon = strchr (spec, ':');
  g_autofree char *label = colon != NULL ? g_strndup (spec, colon - spec) : NULL;
  QlDevice *device = NULL;
  g_autoptr(GStrvBuilder) ids = g_strv_builder_new ();
  g_auto(GStrv) known = NULL;
  g_autofree char *old = NULL;
  g_autofree char *all = NULL;

  for (guint k = 0; label != NULL && k < devices->len; k++)
    {
      QlDevice *d = g_ptr_array_index (devices, k);

      if (ql_device_get_id (d) != NULL)
        g_strv_builder_add (ids, ql_device_get_id (d));
      if (g_strcmp0 (ql_device_get_id (d), label) == 0)
        device = d;
    }
  known = g_strv_builder_end (ids);
  if (colon == NULL || colon[1] == '\0' || device == NULL)
    {
      g_autofree char *list = g_strjoinv (", ", known);

      g_string_append_printf (messages, "%s--qemu-set '%s': %s", messages->len ? "\n" : "", spec,
                              colon == NULL || colon[1] == '\0'
                              ? "expected LABEL:key=value,..." : "the VM has no device of that label; its devices: ");
      if (colon != NULL && colon[1] != '\0')
        g_string_append (messages, known[0] != NULL ? list : "none");
      return FALSE;
    }
  g_object_get (device, "qemu-set", &old, NULL);
  all = old != NULL ? g_strconcat (old, ",", colon + 1, NULL) : g_strdup (colon + 1);
  g_object_set (device, "qemu-set", all, NULL);
  return TRUE;
}

static JsonArray *
record_list (JsonObject        *record,
             const char        *member)
{
  if (!json_object_has_member (record, member))
    json_object_set_array_member (record, member, json_array_new ());
  return json_object_get_array_member (record, member);
}

/**
 * ql_vm_config_apply_qemu_overrides:
 * @self: a #QlVmConfig
 * @add: (nullable) (array zero-terminated=1): QEMU options to add, as the
 *   VM file's `[qemu] add` (appended to it)
 * @remove: (nullable) (array zero-terminated=1): QEMU options to leave
 *   out, as `[qemu] remove` (appended to it)
 * @set: (nullable) (array zero-terminated=1): `LABEL:key=value,...`: QEMU
 *   properties appended to the `qemu-set` of the device labelled LABEL
 * @error: return location for a #GError
 *
 * Extends the VM file's escape hatch from outside it (the command line's
 * --qemu-add, --qemu-remove and --qemu-set). What is applied is
 * remembered: a template made from @self records it and applies it to
 * every clone. Checked as the VM file's own when the command line is
 * built.
 *
 * Returns: %FALSE with @error (%QL_CONFIG_ERROR, naming every bad @set
 *   spec) when a @set spec is malformed or names no device of @self
 */
gboolean
ql_vm_config_apply_qemu_overrides (QlVmConfig        *self,
                                   const char *const *add,
                                   const char *const *remove,
                                   const char *const *set,
                                   GError           **error)
{
  g_autoptr(GString) messages = g_string_new (NULL);
  JsonObject *record;
  guint n_errors = 0;

  g_return_val_if_fail (QL_IS_VM_CONFIG (self), FALSE);
  for (guint i = 0; set != NULL && set[i] != NULL; i++)
    if (!apply_set (self, set[i], messages))
      n_errors++;
  if (n_errors > 0)
    {
      g_set_error_literal (error, QL_CONFIG_ERROR,
                           n_errors > 1 ? QL_CONFIG_ERROR_MULTIPLE : QL_CONFIG_ERROR_INVALID_VALUE,
                           messages->str);
      return FALSE;
    }
  append_strv (self, "qemu-add", add);
  append_strv (self, "qemu-remove", remove);
  record = g_object_get_data (G_OBJECT (self), OVERRIDES_KEY);
  if (record == NULL)
    {
      record = json_object_new ();
      g_object_set_data_full (G_OBJECT (self), OVERRIDES_KEY, record, (GDestroyNotify) json_object_unref);
    }
  for (guint i = 0; add != NULL && add[i] != NULL; i++)
    json_array_add_string_element (record_list (record, "add"), add[i]);
  for (guint i = 0; remove != NULL && remove[i] != NULL; i++)
    json_array_add_string_element (record_list (record, "remove"), remove[i]);
  for (guint i = 0; set != NULL && set[i] != NULL; i++)
    json_array_add_string_element (record_list (record, "set"), set[i]);
  return TRUE;
}

JsonObject *
ql_vm_config_get_qemu_overrides (QlVmConfig *self)
{
  return g_object_get_data (G_OBJECT (self), OVERRIDES_KEY);
}

char **
ql_qemu_overrides_dup_list (JsonObject *overrides,
                            const char *member)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  JsonNode *node = overrides != NULL ? json_object_get_member (overrides, member) : NULL;
  JsonArray *array = node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;

  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *e = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING)
        g_strv_builder_add (b, json_node_get_string (e));
    }
  return g_strv_builder_end (b);
}

gboolean
ql_qemu_overrides_check (JsonObject  *overrides,
                         const char **why)
{
  static const char * const kinds[] = { "add", "remove", "set" };
  GList *members = json_object_get_members (overrides);
  gboolean ok = TRUE;

  for (GList *l = members; ok && l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (overrides, l->data);
      JsonArray *array = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;

      ok = g_strv_contains (kinds, l->data) && array != NULL;
      for (guint i = 0; ok && i < json_array_get_length (array); i++)
        {
          JsonNode *e = json_array_get_element (array, i);

          ok = JSON_NODE_HOLDS_VALUE (e) && json_node_get_value_type (e) == G_TYPE_STRING;
        }
    }
  g_list_free (members);
  if (!ok)
    *why = "qemu-overrides holds only the lists add, remove and set, of strings";
  return ok;
}

gboolean
ql_vm_config_apply_qemu_overrides_json (QlVmConfig  *self,
                                        JsonObject  *overrides,
                                        GError     **error)
{
  g_auto(GStrv) add = NULL;
  g_auto(GStrv) remove = NULL;
  g_auto(GStrv) set = NULL;

  if (overrides == NULL)
    return TRUE;
  add = ql_qemu_overrides_dup_list (overrides, "add");
  remove = ql_qemu_overrides_dup_list (overrides, "remove");
  set = ql_qemu_overrides_dup_list (overrides, "set");
  return ql_vm_config_apply_qemu_overrides (self, (const char *const *) add, (const char *const *) remove,
                                            (const char *const *) set, error);
}
