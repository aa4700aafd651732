/* qlaunch — finding UEFI firmware the way QEMU's interop specification
 * says (docs/interop/firmware.json in QEMU's tree): JSON descriptors in
 * /usr/share/qemu/firmware, /etc/qemu/firmware and, for an unprivileged
 * user, $XDG_CONFIG_HOME/qemu/firmware. */
#include "ql-firmware-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

/* ---- descriptors --------------------------------------------------------- */

/* The firmware descriptor directories, lowest priority first. */
static GPtrArray *
descriptor_dirs (void)
{
  return ql_interop_descriptor_dirs ("firmware", "QLAUNCH_FIRMWARE_DIRS");
}

static gboolean
strv_member_contains (JsonObject *object,
                      const char *member,
                      const char *value)
{
  JsonArray *array;

  if (!json_object_has_member (object, member)
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (object, member)))
    return FALSE;
  array = json_object_get_array_member (object, member);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
          && g_str_equal (json_node_get_string (node), value))
        return TRUE;
    }
  return FALSE;
}

/* An alias without a probed binary (q35, pc) stands for the newest
 * versioned machine of its family. */
static gboolean
machine_matches (const char *pattern,
                 const char *machine)
{
  if (g_pattern_match_simple (pattern, machine))
    return TRUE;
  if (g_str_equal (machine, "q35"))
    return g_pattern_match_simple (pattern, "pc-q35-latest");
  if (g_str_equal (machine, "pc"))
    return g_pattern_match_simple (pattern, "pc-i440fx-latest");
  return FALSE;
}

/* The string member @name of the object member @object_name, or NULL. */
static const char *
nested_string (JsonObject *object,
               const char *object_name,
               const char *name)
{
  JsonNode *node;

  if (object == NULL || !json_object_has_member (object, object_name))
    return NULL;
  node = json_object_get_member (object, object_name);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return json_object_get_string_member_with_default (json_node_get_object (node), name, NULL);
}

/* Whether descriptor @root fits; when it does not, *@why says why. */
static gboolean
descriptor_fits (JsonObject  *root,
                 const char  *architecture,
                 const char  *machine,
                 int          secure_boot,
                 const char  *code,
                 QlFirmwareCandidate   *out,
                 char       **why)
{
  JsonObject *mapping = NULL;
  const char *device, *mode, *executable, *executable_format, *nvram, *nvram_format;
  gboolean target_fits = FALSE;
  g_autoptr(GString) machines = g_string_new (NULL);

  if (!strv_member_contains (root, "interface-types", "uefi"))
    {
      *why = g_strdup ("not UEFI");
      return FALSE;
    }
  if (json_object_has_member (root, "mapping") && JSON_NODE_HOLDS_OBJECT (json_object_get_member (root, "mapping")))
    mapping = json_object_get_object_member (root, "mapping");
  device = mapping != NULL ? json_object_get_string_member_with_default (mapping, "device", NULL) : NULL;
  if (g_strcmp0 (device, "flash") != 0)
    {
      *why = g_strdup_printf ("device '%s', not flash", device != NULL ? device : "(none)");
      return FALSE;
    }
  mode = json_object_get_string_member_with_default (mapping, "mode", "split");
  if (!g_str_equal (mode, "split"))
    {
      *why = g_strdup_printf ("mode '%s', not split (code and variables in separate files)", mode);
      return FALSE;
    }
  executable = nested_string (mapping, "executable", "filename");
  executable_format = nested_string (mapping, "executable", "format");
  nvram = nested_string (mapping, "nvram-template", "filename");
  nvram_format = nested_string (mapping, "nvram-template", "format");
  if (executable == NULL || !g_path_is_absolute (executable) || nvram == NULL || !g_path_is_absolute (nvram))
    {
      *why = g_strdup ("no absolute executable and nvram-template file names");
      return FALSE;
    }
  if (g_strcmp0 (executable_format != NULL ? executable_format : "raw", "raw") != 0
      || g_strcmp0 (nvram_format != NULL ? nvram_format : "raw", "raw") != 0)
    {
      *why = g_strdup ("format is not raw");
      return FALSE;
    }
  if (code != NULL && !g_str_equal (code, executable))
    {
      *why = g_strdup_printf ("code is '%s'", executable);
      return FALSE;
    }

  if (json_object_has_member (root, "targets") && JSON_NODE_HOLDS_ARRAY (json_object_get_member (root, "targets")))
    {
      JsonArray *targets = json_object_get_array_member (root, "targets");

      for (guint i = 0; i < json_array_get_length (targets) && !target_fits; i++)
        {
          JsonNode *node = json_array_get_element (targets, i);
          JsonObject *target;
          JsonArray *patterns;

          if (!JSON_NODE_HOLDS_OBJECT (node))
            continue;
          target = json_node_get_object (node);
          if (g_strcmp0 (json_object_get_string_member_with_default (target, "architecture", NULL), architecture) != 0)
            continue;
          if (!json_object_has_member (target, "machines")
              || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (target, "machines")))
            continue;
          patterns = json_object_get_array_member (target, "machines");
          for (guint k = 0; k < json_array_get_length (patterns) && !target_fits; k++)
            {
              JsonNode *p = json_array_get_element (patterns, k);

              if (!JSON_NODE_HOLDS_VALUE (p) || json_node_get_value_type (p) != G_TYPE_STRING)
                continue;
              g_string_append_printf (machines, "%s%s", machines->len > 0 ? " " : "", json_node_get_string (p));
              target_fits = machine_matches (json_node_get_string (p), machine);
            }
        }
    }
  if (!target_fits)
    {
      if (machines->len > 0)
        *why = g_strdup_printf ("%s machines are %s", architecture, machines->str);
      else
        *why = g_strdup_printf ("not for %s", architecture);
      return FALSE;
    }

  out->secure_boot = strv_member_contains (root, "features", "secure-boot");
  if (secure_boot != QL_FIRMWARE_SECURE_BOOT_ANY && secure_boot != out->secure_boot)
    {
      *why = g_strdup (secure_boot ? "no secure-boot feature" : "secure-boot feature");
      return FALSE;
    }

  out->code = g_strdup (executable);
  out->vars_template = g_strdup (nvram);
  out->requires_smm = strv_member_contains (root, "features", "requires-smm");
  return TRUE;
}

/**
 * ql_firmware_find_uefi:
 * @architecture: QEMU's target architecture, such as `x86_64`
 * @machine_type: the machine type, such as `pc-q35-7.2`; the aliases `q35`
 *   and `pc` match the patterns of their versioned machines
 * @secure_boot: whether to find Secure Boot firmware (the descriptor's
 *   `secure-boot` feature) or firmware without it
 * @code: (nullable) (type filename): a code image the descriptor must name
 *   as its `executable`, or %NULL for any
 * @out_code: (out) (optional) (transfer full) (type filename): the code
 *   image (`mapping.executable.filename`)
 * @out_vars_template: (out) (optional) (transfer full) (type filename): the
 *   variable store template (`mapping.nvram-template.filename`)
 * @out_descriptor: (out) (optional) (transfer full) (type filename): the
 *   descriptor file that matched
 * @out_requires_smm: (out) (optional): whether the firmware has the
 *   `requires-smm` feature
 * @error: return location for an error
 *
 * Finds UEFI firmware the way QEMU's interop specification
 * (`docs/interop/firmware.json`) says, as libvirt does: the JSON
 * descriptors in `/usr/share/qemu/firmware`, then `/etc/qemu/firmware`,
 * then (not for root) `$XDG_CONFIG_HOME/qemu/firmware`; a file overrides
 * the file of the same name in the directories before, an empty file hides
 * it; the files are taken in the order of their names (their priority),
 * and the first that fits wins. A descriptor fits when it lists the
 * `uefi` interface, maps `flash` devices in `split` mode (code and
 * variables in two `raw` files), has a target of @architecture whose
 * `machines` glob patterns match @machine_type, has the `secure-boot`
 * feature exactly when @secure_boot, and, with @code, names it. Descriptor
 * files another user could change are refused.
 * `QLAUNCH_FIRMWARE_DIRS`, a colon-separated list, replaces the
 * directories.
 *
 * Returns: %TRUE when a descriptor fits; %FALSE with @error set
 *   (%QL_CONFIG_ERROR_HOST), which lists each descriptor and why it does not
 */
gboolean
ql_firmware_find_uefi (const char  *architecture,
                       const char  *machine_type,
                       gboolean     secure_boot,
                       const char  *code,
                       char       **out_code,
                       char       **out_vars_template,
                       char       **out_descriptor,
                       gboolean    *out_requires_smm,
                       GError     **error)
{
  QlFirmwareCandidate found = { 0 };
  g_autofree char *descriptor = NULL;

  g_return_val_if_fail (architecture != NULL, FALSE);
  g_return_val_if_fail (machine_type != NULL, FALSE);

  if (!ql_firmware_find_descriptor (architecture, machine_type, secure_boot ? TRUE : FALSE, code, &found, &descriptor, error))
    return FALSE;
  if (out_code != NULL)
    *out_code = g_steal_pointer (&found.code);
  if (out_vars_template != NULL)
    *out_vars_template = g_steal_pointer (&found.vars_template);
  if (out_descriptor != NULL)
    *out_descriptor = g_steal_pointer (&descriptor);
  if (out_requires_smm != NULL)
    *out_requires_smm = found.requires_smm;
  g_free (found.code);
  g_free (found.vars_template);
  return TRUE;
}

/* ql_firmware_find_uefi(), the secure-boot feature also matched either way
 * (QL_FIRMWARE_SECURE_BOOT_ANY); the fitting descriptor's facts in *@out. */
gboolean
ql_firmware_find_descriptor (const char           *architecture,
                             const char           *machine_type,
                             int                   secure_boot,
                             const char           *code,
                             QlFirmwareCandidate  *out,
                             char                **out_descriptor,
                             GError              **error)
{
  g_autoptr(GPtrArray) dirs = descriptor_dirs ();
  g_autoptr(GString) searched = g_string_new (NULL);
  g_autoptr(GString) reasons = g_string_new (NULL);
  g_autoptr(GPtrArray) files = ql_interop_descriptor_files (dirs, searched);
  const char *wanted = secure_boot == QL_FIRMWARE_SECURE_BOOT_ANY ? "" : secure_boot ? " with secure boot" : " without secure boot";

  for (guint i = 0; i < files->len; i++)
    {
      const char *path = g_ptr_array_index (files, i);
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) local_error = NULL;
      g_autofree char *why = NULL;
      QlFirmwareCandidate found = { 0 };
      JsonNode *root;

      if (!ql_interop_descriptor_usable (path, "firmware", &local_error))
        {
          if (local_error == NULL)
            continue;
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      if (!json_parser_load_from_mapped_file (parser, path, &local_error))
        {
          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                       "firmware descriptor '%s': %s", path, local_error->message);
          return FALSE;
        }
      root = json_parser_get_root (parser);
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        {
          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                       "firmware descriptor '%s' is not a JSON object", path);
          return FALSE;
        }
      if (!descriptor_fits (json_node_get_object (root), architecture, machine_type, secure_boot, code,
                            &found, &why))
        {
          g_string_append_printf (reasons, "; %s: %s", strrchr (path, '/') + 1, why);
          continue;
        }
      *out = found;
      *out_descriptor = g_strdup (path);
      return TRUE;
    }

  if (code != NULL)
    g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                 "no firmware descriptor in %s names code '%s' for %s machine '%s'%s%s",
                 searched->str, code, architecture, machine_type, wanted, reasons->str);
  else
    g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                 "no UEFI firmware descriptor in %s fits %s machine '%s'%s%s",
                 searched->str, architecture, machine_type, wanted,
                 reasons->len > 0 ? reasons->str : " (there are none)");
  return FALSE;
}
