/* qlaunch — UEFI firmware: finding it the way QEMU's interop specification
 * says (docs/interop/firmware.json in QEMU's tree: JSON descriptors in
 * /usr/share/qemu/firmware, /etc/qemu/firmware and, for an unprivileged
 * user, $XDG_CONFIG_HOME/qemu/firmware), checking the images, giving each
 * VM its own variable store, and the flash devices' options. */
#include "ql-vm-config-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#define STR(p) ql_vm_config_get_str (self, QL_VM_PROP_##p)
#define BOOL(p) ql_vm_config_get_bool (self, QL_VM_PROP_##p)

/* QEMU's x86 flash devices: sectors of 4 KiB, and at most 8 MiB of code
 * and variables together below 4 GiB (the pc and q35 machines'
 * max-fw-size). */
#define FLASH_SECTOR_SIZE 4096
#define FLASH_MAX_SIZE (8 * 1024 * 1024)

/* A UEFI firmware volume header has its signature at byte 40. */
#define FV_SIGNATURE "_FVH"
#define FV_SIGNATURE_OFFSET 40

void
ql_firmware_free (QlFirmware *firmware)
{
  if (firmware == NULL)
    return;
  g_free (firmware->code);
  g_free (firmware->vars_template);
  g_free (firmware->vars);
  g_free (firmware->descriptor);
  g_free (firmware);
}

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

typedef struct
{
  char *code;
  char *vars_template;
  gboolean requires_smm;
  gboolean secure_boot;
} Candidate;

/* Whether to match the secure-boot feature: no, yes, or either. */
#define SECURE_BOOT_ANY (-1)

/* Whether descriptor @root fits; when it does not, *@why says why. */
static gboolean
descriptor_fits (JsonObject  *root,
                 const char  *architecture,
                 const char  *machine,
                 int          secure_boot,
                 const char  *code,
                 Candidate   *out,
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
  if (secure_boot != SECURE_BOOT_ANY && secure_boot != out->secure_boot)
    {
      *why = g_strdup (secure_boot ? "no secure-boot feature" : "secure-boot feature");
      return FALSE;
    }

  out->code = g_strdup (executable);
  out->vars_template = g_strdup (nvram);
  out->requires_smm = strv_member_contains (root, "features", "requires-smm");
  return TRUE;
}

static gboolean find_descriptor (const char  *architecture,
                                 const char  *machine_type,
                                 int          secure_boot,
                                 const char  *code,
                                 Candidate   *out,
                                 char       **out_descriptor,
                                 GError     **error);

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
  Candidate found = { 0 };
  g_autofree char *descriptor = NULL;

  g_return_val_if_fail (architecture != NULL, FALSE);
  g_return_val_if_fail (machine_type != NULL, FALSE);

  if (!find_descriptor (architecture, machine_type, secure_boot ? TRUE : FALSE, code, &found, &descriptor, error))
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
 * (SECURE_BOOT_ANY); the fitting descriptor's facts in *@out. */
static gboolean
find_descriptor (const char  *architecture,
                 const char  *machine_type,
                 int          secure_boot,
                 const char  *code,
                 Candidate   *out,
                 char       **out_descriptor,
                 GError     **error)
{
  g_autoptr(GPtrArray) dirs = descriptor_dirs ();
  g_autoptr(GHashTable) by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GList) names = NULL;
  g_autoptr(GString) searched = g_string_new (NULL);
  g_autoptr(GString) reasons = g_string_new (NULL);
  const char *wanted = secure_boot == SECURE_BOOT_ANY ? "" : secure_boot ? " with secure boot" : " without secure boot";

  for (guint i = 0; i < dirs->len; i++)
    {
      const char *dir_path = g_ptr_array_index (dirs, i);
      g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
      const char *name;

      g_string_append_printf (searched, "%s%s", searched->len > 0 ? ", " : "", dir_path);
      if (dir == NULL)
        continue;
      while ((name = g_dir_read_name (dir)) != NULL)
        if (g_str_has_suffix (name, ".json"))
          g_hash_table_insert (by_name, g_strdup (name), g_build_filename (dir_path, name, NULL));
    }

  names = g_list_sort (g_hash_table_get_keys (by_name), (GCompareFunc) strcmp);
  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *path = g_hash_table_lookup (by_name, l->data);
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) local_error = NULL;
      g_autofree char *why = NULL;
      Candidate found = { 0 };
      JsonNode *root;
      GStatBuf st;

      if (g_stat (path, &st) != 0 || st.st_size == 0)
        continue;   /* gone, or an empty file that hides a lower one */
      if (ql_file_writable_by_others (&st))
        {
          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                       "refusing firmware descriptor '%s': another user can change it "
                       "(owner %u, mode %04o); it must belong to root or user %u and not be writable by group or others",
                       path, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777), (unsigned) getuid ());
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
          g_string_append_printf (reasons, "; %s: %s", (const char *) l->data, why);
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

/* ---- the VM's firmware ----------------------------------------------------- */

/* QEMU's target of the VM's binary: qemu-system-ARCH, else the host's. */
static char *
target_architecture (QlVmConfig *self)
{
  g_autofree char *binary = ql_vm_config_dup_qemu_binary (self);
  g_autofree char *base = g_path_get_basename (binary);

  if (g_str_has_prefix (base, "qemu-system-") && base[strlen ("qemu-system-")] != '\0')
    return g_strdup (base + strlen ("qemu-system-"));
  return g_strdup (QL_HOST_ARCH);
}

/* The machine type as QEMU will run it; QEMU's default on x86 is pc. */
static const char *
machine_type (QlVmConfig *self)
{
  const char *type = ql_vm_config_resolve_machine_type (self);

  return type != NULL ? type : "pc";
}

static gboolean
is_x86 (const char *architecture)
{
  return g_str_equal (architecture, "x86_64") || g_str_equal (architecture, "i386");
}

static gboolean
is_pc_machine (const char *type)
{
  return g_str_equal (type, "pc") || g_str_has_prefix (type, "pc-i440fx-") || g_str_equal (type, "q35")
         || g_str_has_prefix (type, "pc-q35-");
}

static gboolean
is_q35_machine (const char *type)
{
  return g_str_equal (type, "q35") || g_str_has_prefix (type, "pc-q35-");
}

/**
 * ql_vm_config_dup_firmware_vars_path:
 * @self: a #QlVmConfig
 * @error: return location for an error
 *
 * Gets the VM's own UEFI variable store: #QlVmConfig:firmware-vars, or by
 * default the file beside the VM file named after it, `NAME.vars.fd` for
 * `NAME.vm` (`FILE.vars.fd` for a file not ending in `.vm`), so that a
 * VM file, its disks and its variables move together. A configuration not
 * loaded from a file has no default: set #QlVmConfig:firmware-vars.
 *
 * Returns: (transfer full) (type filename): the path, or %NULL with @error
 *   set (%QL_CONFIG_ERROR_MISSING)
 */
char *
ql_vm_config_dup_firmware_vars_path (QlVmConfig  *self,
                                     GError     **error)
{
  const char *base_dir;
  const char *source;
  g_autofree char *base = NULL;

  g_return_val_if_fail (QL_IS_VM_CONFIG (self), NULL);

  if (STR (FIRMWARE_VARS) != NULL)
    return g_strdup (STR (FIRMWARE_VARS));
  base_dir = ql_vm_config_get_base_dir (self);
  source = ql_vm_config_get_source_name (self);
  if (base_dir == NULL || source == NULL)
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MISSING,
                   "[firmware] vars: missing; the variable store goes beside the VM file by default, "
                   "and this configuration was not loaded from a file: set vars");
      return NULL;
    }
  base = g_path_get_basename (source);
  if (g_str_has_suffix (base, ".vm") && strlen (base) > strlen (".vm"))
    base[strlen (base) - strlen (".vm")] = '\0';
  {
    g_autofree char *name = g_strconcat (base, ".vars.fd", NULL);

    return g_build_filename (base_dir, name, NULL);
  }
}

QlFirmware *
ql_vm_config_resolve_firmware (QlVmConfig  *self,
                               GError     **error)
{
  g_autoptr(QlFirmware) firmware = NULL;
  g_autofree char *architecture = NULL;
  gboolean secure_boot = BOOL (FIRMWARE_SECURE_BOOT);
  gboolean requires_smm = FALSE;

  if (ql_vm_config_get_enum (self, QL_VM_PROP_FIRMWARE_TYPE) != QL_FIRMWARE_UEFI)
    return NULL;

  firmware = g_new0 (QlFirmware, 1);
  architecture = target_architecture (self);
  firmware->code = g_strdup (STR (FIRMWARE_CODE));
  firmware->vars_template = g_strdup (STR (FIRMWARE_VARS_TEMPLATE));

  /* Explicit paths win; a descriptor gives the rest: for an explicit
   * code, the descriptor that names it (with or without the secure-boot
   * feature) tells its template, whether it needs SMM and whether it is
   * Secure Boot firmware at all. */
  if (firmware->code != NULL)
    {
      g_autoptr(GError) local_error = NULL;
      Candidate found = { 0 };

      if (find_descriptor (architecture, machine_type (self), SECURE_BOOT_ANY, firmware->code, &found,
                           &firmware->descriptor, &local_error))
        {
          requires_smm = found.requires_smm;
          if (secure_boot && !found.secure_boot)
            {
              g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT,
                           "[firmware] secure-boot: code '%s' is not Secure Boot firmware (its descriptor %s "
                           "has no secure-boot feature): choose a Secure Boot code image or remove code",
                           firmware->code, firmware->descriptor);
              g_free (found.code);
              g_free (found.vars_template);
              return NULL;
            }
          if (firmware->vars_template == NULL)
            firmware->vars_template = g_steal_pointer (&found.vars_template);
          g_free (found.code);
          g_free (found.vars_template);
        }
      else if (firmware->vars_template == NULL)
        {
          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MISSING,
                       "[firmware] vars-template: missing, and %s: set vars-template", local_error->message);
          return NULL;
        }
    }
  else
    {
      g_autoptr(GError) local_error = NULL;
      Candidate found = { 0 };

      if (!find_descriptor (architecture, machine_type (self), secure_boot, NULL, &found, &firmware->descriptor,
                            &local_error))
        {
          g_set_error (error, QL_CONFIG_ERROR, local_error->code,
                       "[firmware] code: %s; set code and vars-template, or install firmware (Debian: ovmf)",
                       local_error->message);
          return NULL;
        }
      requires_smm = found.requires_smm;
      firmware->code = g_steal_pointer (&found.code);
      if (firmware->vars_template == NULL)
        firmware->vars_template = g_steal_pointer (&found.vars_template);
      g_free (found.vars_template);
    }
  firmware->vars = ql_vm_config_dup_firmware_vars_path (self, error);
  if (firmware->vars == NULL)
    return NULL;
  firmware->smm = secure_boot || requires_smm;
  return g_steal_pointer (&firmware);
}

/* ---- checks ---------------------------------------------------------------- */

static void
add (QlErrorList *errors,
     gint         code,
     const char  *format,
     ...) G_GNUC_PRINTF (3, 4);

static void
add (QlErrorList *errors,
     gint         code,
     const char  *format,
     ...)
{
  va_list ap;
  g_autofree char *message = NULL;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  ql_error_list_add (errors, g_error_new_literal (QL_CONFIG_ERROR, code, message));
}

/* " (from DESCRIPTOR)" when the path came from a descriptor. */
static char *
origin_of (const QlFirmware *firmware,
           const char       *explicit_value)
{
  if (explicit_value != NULL || firmware->descriptor == NULL)
    return g_strdup ("");
  return g_strdup_printf (" (from %s)", firmware->descriptor);
}

/* Whether @path is a UEFI firmware image QEMU's flash can map: a regular
 * file, a non-zero multiple of the sector size, starting with a firmware
 * volume. *@size gets its size. */
static gboolean
check_image (QlVmConfig  *self,
             QlErrorList *errors,
             const char  *key,
             const char  *path,
             const char  *origin,
             guint64     *size)
{
  QlHostProbe *probe = ql_vm_config_get_host_probe (self);
  g_autoptr(GError) error = NULL;
  GFileType type = G_FILE_TYPE_UNKNOWN;
  char head[FV_SIGNATURE_OFFSET + 4];
  int fd;
  gssize got;

  if (!ql_host_probe_query_file (probe, path, &type, size, &error))
    {
      add (errors, QL_CONFIG_ERROR_HOST, "[firmware] %s: cannot read '%s'%s: %s", key, path, origin, error->message);
      return FALSE;
    }
  if (type != G_FILE_TYPE_REGULAR)
    {
      add (errors, QL_CONFIG_ERROR_HOST, "[firmware] %s: '%s'%s is not a regular file", key, path, origin);
      return FALSE;
    }
  if (*size == 0 || *size % FLASH_SECTOR_SIZE != 0)
    {
      add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
           "[firmware] %s: '%s'%s is not a UEFI firmware image: its size, %" G_GUINT64_FORMAT
           " bytes, is not a non-zero multiple of 4 KiB (QEMU's flash sector); OVMF's code and variables "
           "together are 2 or 4 MiB",
           key, path, origin, *size);
      return FALSE;
    }
  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved = errno;

      add (errors, QL_CONFIG_ERROR_HOST, "[firmware] %s: cannot read '%s'%s: %s", key, path, origin,
           g_strerror (saved));
      return FALSE;
    }
  got = read (fd, head, sizeof head);
  close (fd);
  if (got != (gssize) sizeof head || memcmp (head + FV_SIGNATURE_OFFSET, FV_SIGNATURE, 4) != 0)
    {
      add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
           "[firmware] %s: '%s'%s is not a UEFI firmware image: it does not start with a firmware "
           "volume (no '_FVH' signature at byte 40)",
           key, path, origin);
      return FALSE;
    }
  return TRUE;
}

static gboolean
same_file (const char *a,
           const char *b)
{
  GStatBuf sa, sb;

  if (g_str_equal (a, b))
    return TRUE;
  return g_stat (a, &sa) == 0 && g_stat (b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

void
ql_vm_config_check_firmware (QlVmConfig  *self,
                             QlErrorList *errors,
                             GHashTable  *ids)
{
  static const struct { QlVmProp prop; const char *key; } uefi_keys[] = {
    { QL_VM_PROP_FIRMWARE_CODE, "code" },
    { QL_VM_PROP_FIRMWARE_VARS_TEMPLATE, "vars-template" },
    { QL_VM_PROP_FIRMWARE_VARS, "vars" },
    { QL_VM_PROP_FIRMWARE_SECURE_BOOT, "secure-boot" },
  };
  static const char *const nodes[] = {
    QL_PFLASH_CODE_NODE "-file", QL_PFLASH_CODE_NODE, QL_PFLASH_VARS_NODE "-file", QL_PFLASH_VARS_NODE,
  };
  static const char *const flash_options[] = { "pflash0", "pflash1" };
  QlHostProbe *probe = ql_vm_config_get_host_probe (self);
  g_autoptr(QlFirmware) firmware = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *architecture = NULL;
  g_autofree char *smm = NULL;
  const char *type;
  guint errors_before = errors->len;
  guint64 code_size = 0, template_size = 0, vars_size = 0;

  if (ql_vm_config_get_enum (self, QL_VM_PROP_FIRMWARE_TYPE) != QL_FIRMWARE_UEFI)
    {
      gboolean explicit_bios = ql_vm_config_is_set (self, QL_VM_PROP_FIRMWARE_TYPE);

      for (guint i = 0; i < G_N_ELEMENTS (uefi_keys); i++)
        if (ql_vm_config_is_set (self, uefi_keys[i].prop))
          add (errors, QL_CONFIG_ERROR_CONFLICT,
               "[firmware] %s: a UEFI key, but %s: set type = uefi, or remove %s",
               uefi_keys[i].key, explicit_bios ? "type is bios" : "type is not set (bios)", uefi_keys[i].key);
      return;
    }

  if (STR (BIOS) != NULL)
    add (errors, QL_CONFIG_ERROR_CONFLICT,
         "[vm] bios: set, but [firmware] type is uefi; QEMU's -bios would replace the UEFI flash devices: remove bios");
  for (guint i = 0; i < G_N_ELEMENTS (flash_options); i++)
    {
      g_autofree char *value = ql_vm_config_lookup_machine_option (self, flash_options[i]);

      if (value != NULL)
        add (errors, QL_CONFIG_ERROR_CONFLICT,
             "[machine] options: %s is set by [firmware] type = uefi; remove it from options", flash_options[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (nodes); i++)
    if (!g_hash_table_add (ids, g_strdup (nodes[i])))
      add (errors, QL_CONFIG_ERROR_DUPLICATE,
           "[firmware] type: the flash devices' block node '%s' has the id of another device or iothread; rename it",
           nodes[i]);

  architecture = target_architecture (self);
  type = machine_type (self);
  if (is_x86 (architecture) && !is_pc_machine (type))
    add (errors, QL_CONFIG_ERROR_UNSUPPORTED,
         "[firmware] type: uefi needs the flash devices of a pc or q35 machine, and machine type '%s' has none: "
         "set [machine] type = q35", type);
  else if (BOOL (FIRMWARE_SECURE_BOOT) && is_x86 (architecture) && !is_q35_machine (type))
    add (errors, QL_CONFIG_ERROR_UNSUPPORTED,
         "[firmware] secure-boot: needs a q35 machine (Secure Boot needs SMM, which OVMF supports on q35 only), "
         "and machine type is '%s': set [machine] type = q35", type);
  smm = ql_vm_config_lookup_machine_option (self, "smm");
  if (BOOL (FIRMWARE_SECURE_BOOT) && smm != NULL && !g_str_equal (smm, "on"))
    add (errors, QL_CONFIG_ERROR_CONFLICT,
         "[machine] options: smm=%s, but [firmware] secure-boot needs smm=on (set by itself): remove smm", smm);
  for (guint i = 0; i < G_N_ELEMENTS (uefi_keys); i++)
    if (uefi_keys[i].prop != QL_VM_PROP_FIRMWARE_SECURE_BOOT && ql_vm_config_get_str (self, uefi_keys[i].prop) != NULL
        && *ql_vm_config_get_str (self, uefi_keys[i].prop) == '\0')
      return;   /* reported as an empty value */
  if (errors->len > errors_before)
    return;

  firmware = ql_vm_config_resolve_firmware (self, &error);
  if (firmware == NULL)
    {
      ql_error_list_add (errors, g_steal_pointer (&error));
      return;
    }
  if (smm == NULL && firmware->smm)
    ;   /* turned on by the argv builder */
  else if (firmware->smm && !g_str_equal (smm, "on"))
    add (errors, QL_CONFIG_ERROR_CONFLICT,
         "[machine] options: smm=%s, but the firmware '%s' requires SMM: remove smm", smm, firmware->code);

  if (same_file (firmware->vars, firmware->vars_template))
    add (errors, QL_CONFIG_ERROR_CONFLICT,
         "[firmware] vars: '%s' is the template itself; each VM needs its own copy of it: choose another file",
         firmware->vars);
  else if (same_file (firmware->vars, firmware->code))
    add (errors, QL_CONFIG_ERROR_CONFLICT,
         "[firmware] vars: '%s' is the code image; choose another file", firmware->vars);

  if (probe == NULL || errors->len > errors_before)
    return;

  {
    g_autofree char *code_origin = origin_of (firmware, STR (FIRMWARE_CODE));
    g_autofree char *template_origin = origin_of (firmware, STR (FIRMWARE_VARS_TEMPLATE));
    gboolean code_ok = check_image (self, errors, "code", firmware->code, code_origin, &code_size);
    gboolean template_ok = check_image (self, errors, "vars-template", firmware->vars_template, template_origin,
                                        &template_size);
    GFileType vars_type = G_FILE_TYPE_UNKNOWN;
    g_autoptr(GError) vars_error = NULL;

    if (code_ok && template_ok && code_size + template_size > FLASH_MAX_SIZE)
      add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
           "[firmware] code: '%s' and its variables are %" G_GUINT64_FORMAT " bytes together, more than the 8 MiB "
           "of flash QEMU maps below 4 GiB",
           firmware->code, code_size + template_size);

    /* The VM's own store: made from the template at the first launch. */
    if (!ql_host_probe_query_file (probe, firmware->vars, &vars_type, &vars_size, &vars_error))
      {
        if (!g_error_matches (vars_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
          add (errors, QL_CONFIG_ERROR_HOST, "[firmware] vars: cannot read '%s': %s", firmware->vars,
               vars_error->message);
        return;
      }
    if (!template_ok)
      return;
    if (vars_type != G_FILE_TYPE_REGULAR)
      add (errors, QL_CONFIG_ERROR_HOST, "[firmware] vars: '%s' is not a regular file", firmware->vars);
    else if (vars_size > template_size)
      add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
           "[firmware] vars: '%s' (%" G_GUINT64_FORMAT " bytes) is larger than its template '%s' (%" G_GUINT64_FORMAT
           " bytes): it belongs to other firmware; remove it to start again from the template",
           firmware->vars, vars_size, firmware->vars_template, template_size);
    else if (vars_size != template_size)
      add (errors, QL_CONFIG_ERROR_INVALID_VALUE,
           "[firmware] vars: '%s' (%" G_GUINT64_FORMAT " bytes) is smaller than its template '%s' (%" G_GUINT64_FORMAT
           " bytes): it belongs to other firmware; remove it to start again from the template",
           firmware->vars, vars_size, firmware->vars_template, template_size);
  }
}

/* ---- the command line ------------------------------------------------------ */

static void
add_flash (QlCmdline  *cl,
           const char *node,
           const char *path,
           gboolean    read_only)
{
  g_autofree char *file_node = g_strconcat (node, "-file", NULL);
  QlOption *file = ql_cmdline_add_option (cl, "-blockdev", NULL, "driver", "file", "node-name", file_node,
                                          "filename", path, NULL);
  QlOption *format;

  if (read_only)
    ql_option_set_bool (file, "read-only", TRUE);
  ql_option_set_origin (file, "[firmware]");
  format = ql_cmdline_add_option (cl, "-blockdev", NULL, "driver", "raw", "node-name", node,
                                  "file", file_node, NULL);
  if (read_only)
    ql_option_set_bool (format, "read-only", TRUE);
  ql_option_set_origin (format, "[firmware]");
}

void
ql_vm_config_emit_firmware (QlVmConfig *self,
                            QlCmdline  *cl)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlFirmware) firmware = ql_vm_config_resolve_firmware (self, &error);

  if (firmware == NULL)
    {
      if (error != NULL)
        ql_cmdline_fail (cl, g_steal_pointer (&error));
      return;
    }
  add_flash (cl, QL_PFLASH_CODE_NODE, firmware->code, TRUE);
  add_flash (cl, QL_PFLASH_VARS_NODE, firmware->vars, FALSE);
  ql_cmdline_set_machine_option (cl, "pflash0", QL_PFLASH_CODE_NODE);
  ql_cmdline_set_machine_option (cl, "pflash1", QL_PFLASH_VARS_NODE);
  if (firmware->smm)
    {
      /* Only code running in SMM may write the variables: what makes
       * Secure Boot's keys safe from the guest's OS. */
      ql_cmdline_set_machine_option (cl, "smm", "on");
      /* Not cfi.pflash01.secure=on: QEMU splits that at the first dot. */
      ql_cmdline_add_verbatim (cl, "-global", "driver=cfi.pflash01,property=secure,value=on");
    }
}

/* ---- the VM's own variable store ------------------------------------------- */

/**
 * ql_vm_config_prepare_firmware:
 * @self: a #QlVmConfig
 * @error: return location for an error
 *
 * Gives a UEFI VM its own variable store before QEMU starts: when the file
 * of ql_vm_config_dup_firmware_vars_path() does not exist, it is created
 * as a copy of the template (#QlVmConfig:firmware-vars-template or the
 * descriptor's), mode 0600, atomically: written to a temporary file in the
 * same directory, then linked into place, so that neither a crash nor a
 * second launch at the same time leaves a partial or replaced store. An
 * existing store is kept as it is: it holds what the guest wrote in its
 * earlier runs. The template is only read. #QlVm calls this at launch;
 * callers that run QEMU on ql_vm_config_to_argv() themselves call it
 * first. A VM whose firmware is not UEFI needs nothing.
 *
 * Returns: %TRUE when the store exists (or none is needed); %FALSE with
 *   @error set
 */
gboolean
ql_vm_config_prepare_firmware (QlVmConfig  *self,
                               GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(QlFirmware) firmware = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *base = NULL;
  g_autofree char *tmp = NULL;
  gsize length = 0;
  gsize written = 0;
  GStatBuf st;
  int fd;

  g_return_val_if_fail (QL_IS_VM_CONFIG (self), FALSE);

  firmware = ql_vm_config_resolve_firmware (self, &local_error);
  if (firmware == NULL)
    {
      if (local_error == NULL)
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (g_lstat (firmware->vars, &st) == 0)
    return TRUE;
  if (errno != ENOENT)
    {
      int saved = errno;

      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST, "[firmware] vars: cannot use '%s': %s",
                   firmware->vars, g_strerror (saved));
      return FALSE;
    }
  if (!g_file_get_contents (firmware->vars_template, &contents, &length, &local_error))
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                   "[firmware] vars-template: cannot read '%s': %s", firmware->vars_template, local_error->message);
      return FALSE;
    }

  dir = g_path_get_dirname (firmware->vars);
  base = g_path_get_basename (firmware->vars);
  tmp = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  fd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                   "[firmware] vars: cannot create '%s' from '%s': %s", firmware->vars, firmware->vars_template,
                   g_strerror (saved));
      return FALSE;
    }
  while (written < length)
    {
      gssize n = write (fd, contents + written, length - written);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      written += n;
    }
  if (written != length || fsync (fd) != 0)
    {
      int saved = errno;

      close (fd);
      g_unlink (tmp);
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                   "[firmware] vars: cannot write '%s': %s", tmp, g_strerror (saved != 0 ? saved : EIO));
      return FALSE;
    }
  close (fd);
  /* link(), not rename(): a store another launch made meanwhile is kept. */
  if (link (tmp, firmware->vars) != 0 && errno != EEXIST)
    {
      int saved = errno;

      g_unlink (tmp);
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                   "[firmware] vars: cannot create '%s': %s", firmware->vars, g_strerror (saved));
      return FALSE;
    }
  g_unlink (tmp);
  return TRUE;
}
