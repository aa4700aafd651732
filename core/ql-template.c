/* qlaunch — QlTemplate: a saved, paused VM, and clones started from it.
 *
 * A template directory holds (ql-template-create.c makes it):
 *
 *   memory         the guest RAM, the template's memory-backend-file
 *   state          the device state, saved with x-ignore-shared (no RAM)
 *   console.log    the template's console up to the snapshot
 *   manifest.json  written last: what the files and the host must match
 *
 * A clone maps `memory` privately (share=off: copy-on-write, the file stays
 * the template's), starts with `-incoming defer`, sets x-ignore-shared,
 * loads `state` and continues. Everything the manifest records is checked
 * before QEMU starts: QEMU 7.2 sits in `inmigrate` for ever on a missing or
 * broken state, and accepts a clone with extra devices silently.
 */
#include "ql-template-private.h"
#include "ql-template-disks-private.h"
#include "ql-template-shares-private.h"
#include "ql-runtime-dir.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

#define MANIFEST_MAX (16 * 1024 * 1024)

/**
 * QlTemplate:
 *
 * A VM template: a VM booted once, paused and saved in a directory, from
 * which clones start in milliseconds.
 *
 * ql_template_create_async() boots a VM with its RAM in a file, waits until
 * it is ready, and saves its device state; ql_template_load() opens an
 * existing template. A clone (ql_template_clone_async(), or
 * ql_template_new_clone() then ql_template_start_clone_async()) maps the
 * template's memory privately (copy-on-write), loads the saved state and
 * runs on. Everything the template's manifest records (the QEMU binary and
 * version, kernel, initrd, state, memory size and the VM's argv) is
 * checked before a clone's QEMU starts. #QlVmFactory keeps a pool of
 * clones ready.
 */
struct _QlTemplate
{
  GObject parent_instance;

  char *dir;
  JsonObject *manifest;
  QlRegistry *registry;
  QlVmConfig *config;           /* the VM as the template runs it */
  char *qemu;
  char *qemu_version;
  char *machine_type;
  guint64 memory_size;
};

/**
 * ql_template_error_quark:
 *
 * Gets the #GQuark of the #QL_TEMPLATE_ERROR error domain.
 *
 * Returns: the error domain's quark
 */
G_DEFINE_QUARK (ql-template-error-quark, ql_template_error)

G_DEFINE_FINAL_TYPE (QlTemplate, ql_template, G_TYPE_OBJECT)

/* ---- shared with ql-template-create.c ----------------------------------- */

/* The run's additions are values, never lines: @config (the text plus
 * them) must have exactly the devices and QMP sockets of the text alone,
 * plus ours, and our memory file. */
static gboolean
check_run_config (QlVmConfig  *config,
                  const char  *text,
                  const char  *source_name,
                  const char  *base_dir,
                  QlRegistry  *registry,
                  const char  *memory_path,
                  gboolean     with_qmp,
                  GError     **error)
{
  g_autoptr(QlVmConfig) alone = ql_vm_config_new_from_data (text, -1, source_name, base_dir, registry,
                                                            error);
  GPtrArray *devices = ql_vm_config_get_devices (config);
  GPtrArray *expected = NULL;
  const char *memory = ql_vm_config_get_str (config, QL_VM_PROP_MEMORY_PATH);
  gboolean same;

  if (alone == NULL)
    return FALSE;
  expected = ql_vm_config_get_devices (alone);
  same = devices->len == expected->len
         && ql_vm_config_get_n_qmp_sockets (config) == ql_vm_config_get_n_qmp_sockets (alone) + (with_qmp ? 1 : 0)
         && memory != NULL && g_str_equal (memory, memory_path);
  for (guint i = 0; same && i < devices->len; i++)
    same = g_strcmp0 (ql_device_get_id (g_ptr_array_index (devices, i)),
                      ql_device_get_id (g_ptr_array_index (expected, i))) == 0
           && g_strcmp0 (ql_device_get_type_name (g_ptr_array_index (devices, i)),
                         ql_device_get_type_name (g_ptr_array_index (expected, i))) == 0;
  if (!same)
    g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_UNSAFE,
                 "the configuration made from the template's VM text and the memory file %s "
                 "differs from the VM text's own (devices, QMP sockets or memory path): "
                 "refusing it", memory_path);
  return same;
}

QlVmConfig *
ql_template_run_config (const char  *text,
                        const char  *source_name,
                        const char  *base_dir,
                        QlRegistry  *registry,
                        JsonObject  *overrides,
                        const char  *memory_path,
                        gboolean     shared,
                        const char  *qmp_path,
                        gboolean     incoming,
                        GHashTable  *disks,
                        GError     **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(QlVmConfig) config = NULL;
  g_autofree char *data = NULL;
  gsize length = 0;

  if (!g_key_file_load_from_data (kf, text, -1, G_KEY_FILE_KEEP_COMMENTS, error))
    return NULL;
  /* Paths go in as escaped strings (a newline in the template directory's
   * name is "\n" in the value, never a new line of the file). */
  g_key_file_set_string (kf, "memory", "path", memory_path);
  g_key_file_set_value (kf, "knobs", "file-backed-mem", "true");
  g_key_file_set_value (kf, "knobs", "file-backed-mem-shared", shared ? "true" : "false");
  if (qmp_path != NULL)
    {
      g_key_file_set_string (kf, "qmp " QL_TEMPLATE_QMP_NAME, "path", qmp_path);
      g_key_file_set_value (kf, "qmp " QL_TEMPLATE_QMP_NAME, "server", "true");
      g_key_file_set_value (kf, "qmp " QL_TEMPLATE_QMP_NAME, "no-wait", "true");
    }
  if (incoming)
    g_key_file_set_value (kf, "incoming", "type", "defer");
  data = g_key_file_to_data (kf, &length, NULL);
  config = ql_vm_config_new_from_data (data, length, source_name, base_dir, registry, error);
  if (config == NULL
      || !ql_vm_config_apply_qemu_overrides_json (config, overrides, error)
      || !ql_template_disks_redirect (config, disks, error)
      || !check_run_config (config, text, source_name, base_dir, registry, memory_path, qmp_path != NULL,
                            error))
    return NULL;
  return g_steal_pointer (&config);
}

JsonArray *
ql_template_device_argv (const char  *text,
                         const char  *source_name,
                         const char  *base_dir,
                         QlRegistry  *registry,
                         JsonObject  *overrides,
                         GError     **error)
{
  g_autoptr(QlVmConfig) config = NULL;
  g_auto(GStrv) argv = NULL;
  JsonArray *array;

  config = ql_template_run_config (text, source_name, base_dir, registry, overrides,
                                   "/template/" QL_TEMPLATE_MEMORY, FALSE, NULL, FALSE, NULL, error);
  if (config == NULL)
    return NULL;
  /* Built for comparison only: no host checks. */
  ql_vm_config_set_host_probe (config, NULL);
  argv = ql_vm_config_to_argv (config, error);
  if (argv == NULL)
    return NULL;
  array = json_array_new ();
  for (guint i = 0; argv[i] != NULL; i++)
    json_array_add_string_element (array, argv[i]);
  return array;
}

char *
ql_template_file_sha256 (const char  *path,
                         GError     **error)
{
  g_autoptr(GMappedFile) mapped = g_mapped_file_new (path, FALSE, error);

  if (mapped == NULL)
    return NULL;
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                      (const guchar *) g_mapped_file_get_contents (mapped),
                                      g_mapped_file_get_length (mapped));
}

JsonObject *
ql_template_file_record (const char  *path,
                         gboolean     with_hash,
                         GError     **error)
{
  g_autoptr(JsonObject) record = json_object_new ();
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    {
      int saved = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "%s: %s", path, g_strerror (saved));
      return NULL;
    }
  json_object_set_string_member (record, "path", path);
  json_object_set_int_member (record, "size", st.st_size);
  json_object_set_int_member (record, "mtime", st.st_mtime);
  if (with_hash)
    {
      g_autofree char *sha = ql_template_file_sha256 (path, error);

      if (sha == NULL)
        return NULL;
      json_object_set_string_member (record, "sha256", sha);
    }
  return g_steal_pointer (&record);
}

char *
ql_template_resolve_qemu (QlVmConfig  *config,
                          GError     **error)
{
  g_auto(GStrv) argv = NULL;
  g_autoptr(QlCmdline) cmdline = NULL;
  const char *binary;
  char *path;

  cmdline = ql_vm_config_build_cmdline (config, error);
  if (cmdline == NULL)
    return NULL;
  binary = ql_cmdline_get_binary (cmdline);
  path = strchr (binary, '/') != NULL ? g_canonicalize_filename (binary, NULL)
                                      : g_find_program_in_path (binary);
  if (path == NULL)
    g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_MISMATCH,
                 "QEMU binary '%s' not found in PATH", binary);
  return path;
}

gboolean
ql_template_check_owner (const char  *path,
                         const char  *what,
                         gboolean     is_dir,
                         gboolean     sticky_ok,
                         GError     **error)
{
  GStatBuf st;
  const char *kind;

  if (g_lstat (path, &st) != 0)
    {
      int saved = errno;

      g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_CORRUPT,
                   "cannot check %s %s: %s", what, path, g_strerror (saved));
      return FALSE;
    }
  kind = S_ISLNK (st.st_mode) ? "a symbolic link" : S_ISDIR (st.st_mode) ? "a directory"
         : S_ISREG (st.st_mode) ? "a file" : "neither a file nor a directory";
  if (is_dir ? !S_ISDIR (st.st_mode) : !S_ISREG (st.st_mode))
    {
      g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_UNSAFE,
                   "refusing %s %s: it is %s, not %s", what, path, kind,
                   is_dir ? "a directory" : "a regular file");
      return FALSE;
    }
  if (sticky_ok && st.st_uid == 0 && (st.st_mode & S_ISVTX) != 0)
    return TRUE;   /* /tmp, /dev/shm: others cannot rename or remove our entries */
  if (ql_file_writable_by_others (&st))
    {
      g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_UNSAFE,
                   "refusing %s %s: it is owned by user %u, mode %04o; it must be owned by root "
                   "or user %u and not be writable by group or others%s",
                   what, path, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777),
                   (unsigned) getuid (),
                   sticky_ok ? " (or be a sticky directory of root's, as /tmp)" : "");
      return FALSE;
    }
  return TRUE;
}

/* The template directory and its files are ours (or root's) and nobody
 * else can write them: a template is code for the clone (its VM text, the
 * guest's memory and device state). */
static gboolean
check_ownership (QlTemplate  *self,
                 GError     **error)
{
  static const char *const files[] = { QL_TEMPLATE_MANIFEST, QL_TEMPLATE_MEMORY, QL_TEMPLATE_STATE,
                                       QL_TEMPLATE_CONSOLE, NULL };
  if (!ql_template_check_owner (self->dir, "the template directory", TRUE, FALSE, error))
    return FALSE;
  for (guint i = 0; files[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (self->dir, files[i], NULL);
      if (!ql_template_check_owner (path, "the template file", FALSE, FALSE, error))
        return FALSE;
    }
  return TRUE;
}

void
ql_template_remove_tree (const char *dir)
{
  g_autoptr(GDir) d = NULL;
  const char *name;

  if (dir == NULL)
    return;
  d = g_dir_open (dir, 0, NULL);
  if (d != NULL)
    while ((name = g_dir_read_name (d)) != NULL)
      {
        g_autofree char *path = g_build_filename (dir, name, NULL);

        if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
          ql_template_remove_tree (path);
        else
          g_unlink (path);
      }
  g_rmdir (dir);
}

GError *
ql_template_run_error (GError     *error,
                       QlVm       *vm,
                       const char *what)
{
  const char *err = vm != NULL ? ql_vm_get_stderr (vm) : NULL;
  gint code = QL_TEMPLATE_ERROR_FAILED;
  GError *out;

  if (g_error_matches (error, QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT)
      || g_error_matches (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_TIMEOUT))
    code = QL_TEMPLATE_ERROR_TIMEOUT;
  else if (error->domain == QL_TEMPLATE_ERROR)
    code = error->code;
  out = g_error_new (QL_TEMPLATE_ERROR, code, "%s: %s%s%s", what, error->message,
                     err != NULL && *err != '\0' && strstr (error->message, err) == NULL
                     ? "; QEMU said: " : "",
                     err != NULL && *err != '\0' && strstr (error->message, err) == NULL ? err : "");
  g_error_free (error);
  return out;
}

/* ---- loading and checking ----------------------------------------------- */

static gboolean
corrupt (GError    **error,
         const char *dir,
         const char *format,
         ...) G_GNUC_PRINTF (3, 4);

static gboolean
corrupt (GError    **error,
         const char *dir,
         const char *format,
         ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_CORRUPT,
               "template %s is corrupt: %s", dir, what);
  return FALSE;
}

/* A host file the template depends on (QEMU, kernel, initrd) is unchanged:
 * same size and mtime, or, when those moved, the same content. */
static gboolean
check_host_file (const char  *dir,
                 const char  *what,
                 JsonObject  *record,
                 GError     **error)
{
  const char *path = ql_json_string (record, "path");
  const char *sha = ql_json_string (record, "sha256");
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonObject) now = NULL;

  if (path == NULL)
    return corrupt (error, dir, "the manifest's %s has no path", what);
  now = ql_template_file_record (path, FALSE, &local);
  if (now == NULL)
    {
      g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_MISMATCH,
                   "template %s does not fit this host: its %s %s is gone (%s)",
                   dir, what, path, local->message);
      return FALSE;
    }
  if (ql_json_int (now, "size", -1) != ql_json_int (record, "size", -2))
    {
      g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_MISMATCH,
                   "template %s does not fit this host: its %s %s changed size "
                   "(%" G_GINT64_FORMAT " bytes, the template was made with %" G_GINT64_FORMAT "): "
                   "make the template again", dir, what, path,
                   ql_json_int (now, "size", -1), ql_json_int (record, "size", -1));
      return FALSE;
    }
  if (ql_json_int (now, "mtime", -1) == ql_json_int (record, "mtime", -2))
    return TRUE;
  if (sha != NULL)
    {
      g_autofree char *current = ql_template_file_sha256 (path, NULL);

      if (g_strcmp0 (current, sha) == 0)
        return TRUE;
    }
  g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_MISMATCH,
               "template %s does not fit this host: its %s %s changed since the template "
               "was made: make the template again", dir, what, path);
  return FALSE;
}

/* The template's own files are what the manifest says. */
static gboolean
check_own_files (QlTemplate  *self,
                 GError     **error)
{
  JsonObject *state = ql_json_object (self->manifest, "state");
  g_autofree char *state_path = g_build_filename (self->dir, QL_TEMPLATE_STATE, NULL);
  g_autofree char *memory_path = g_build_filename (self->dir, QL_TEMPLATE_MEMORY, NULL);
  g_autofree char *sha = NULL;
  GStatBuf st;

  if (g_stat (state_path, &st) != 0)
    return corrupt (error, self->dir, "the device state file %s is missing", state_path);
  if (st.st_size != ql_json_int (state, "size", -1))
    return corrupt (error, self->dir, "the device state file %s has %" G_GINT64_FORMAT
                    " bytes, the manifest says %" G_GINT64_FORMAT " (truncated or replaced)",
                    state_path, (gint64) st.st_size, ql_json_int (state, "size", -1));
  sha = ql_template_file_sha256 (state_path, NULL);
  if (sha == NULL || g_strcmp0 (sha, ql_json_string (state, "sha256")) != 0)
    return corrupt (error, self->dir, "the device state file %s does not match the manifest's "
                    "sha256", state_path);
  if (g_stat (memory_path, &st) != 0)
    return corrupt (error, self->dir, "the memory file %s is missing", memory_path);
  if ((guint64) st.st_size != self->memory_size)
    return corrupt (error, self->dir, "the memory file %s has %" G_GINT64_FORMAT " bytes, "
                    "the guest has %" G_GUINT64_FORMAT, memory_path, (gint64) st.st_size,
                    self->memory_size);
  return TRUE;
}

static gboolean
check_host (QlTemplate  *self,
            GError     **error)
{
  JsonObject *qemu = ql_json_object (self->manifest, "qemu");
  g_autofree char *binary = NULL;
  g_autoptr(JsonArray) argv = NULL;
  JsonNode *recorded = json_object_get_member (self->manifest, "argv");
  const char *text = ql_json_string (ql_json_object (self->manifest, "vm"), "text");
  g_autoptr(JsonNode) now = NULL;

  binary = ql_template_resolve_qemu (self->config, error);
  if (binary == NULL)
    return FALSE;
  if (g_strcmp0 (binary, ql_json_string (qemu, "path")) != 0)
    {
      g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_MISMATCH,
                   "template %s was made with QEMU %s, this VM would run %s",
                   self->dir, ql_json_string (qemu, "path"), binary);
      return FALSE;
    }
  if (!check_host_file (self->dir, "QEMU binary", qemu, error))
    return FALSE;
  {
    /* The binary comes from the template's VM text: a program another
     * user could change (or put there) never runs. */
    g_autoptr(GError) local = NULL;

    if (!ql_helper_check_binary_trusted (binary, &local))
      {
        g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_UNSAFE,
                     "template %s: its QEMU binary %s (the manifest's %s): %s",
                     self->dir, binary, ql_json_string (qemu, "path"), local->message);
        return FALSE;
      }
  }
  for (guint i = 0; i < 2; i++)
    {
      const char *key = i == 0 ? "kernel" : "initrd";
      JsonObject *record = ql_json_object (self->manifest, key);

      if (record != NULL && !check_host_file (self->dir, key, record, error))
        return FALSE;
    }

  /* The configuration the clone would run is the template's, device for
   * device (a plugin upgrade could change it). */
  argv = ql_template_device_argv (text, ql_json_string (ql_json_object (self->manifest, "vm"), "name"),
                                  ql_json_string (ql_json_object (self->manifest, "vm"), "base-dir"),
                                  self->registry, ql_json_object (self->manifest, "qemu-overrides"), error);
  if (argv == NULL)
    return FALSE;
  now = json_node_new (JSON_NODE_ARRAY);
  json_node_set_array (now, argv);
  if (recorded == NULL || !json_node_equal (recorded, now))
    {
      g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_MISMATCH,
                   "template %s: the VM it was made from now gives another QEMU command line "
                   "(the plugins changed?): make the template again", self->dir);
      return FALSE;
    }
  return TRUE;
}

QlTemplate *
ql_template_new_from_manifest (const char  *dir,
                               JsonObject  *manifest,
                               QlRegistry  *registry,
                               GError     **error)
{
  g_autoptr(QlTemplate) self = g_object_new (QL_TYPE_TEMPLATE, NULL);
  g_autofree char *memory_path = NULL;
  JsonObject *vm = ql_json_object (manifest, "vm");
  JsonObject *qemu = ql_json_object (manifest, "qemu");
  g_autoptr(GError) local = NULL;
  g_autoptr(GHashTable) disks = NULL;

  /* Absolute: the configuration's paths are (a relative DIR named
   * another memory file than the one the configuration resolved). */
  self->dir = g_canonicalize_filename (dir, NULL);
  memory_path = g_build_filename (self->dir, QL_TEMPLATE_MEMORY, NULL);
  self->manifest = json_object_ref (manifest);
  self->registry = g_object_ref (registry);
  if (ql_json_int (manifest, "format", -1) != QL_TEMPLATE_FORMAT
      && ql_json_int (manifest, "format", -1) != QL_TEMPLATE_FORMAT_DISKS)
    {
      corrupt (error, dir, "manifest format %" G_GINT64_FORMAT ", this qlaunch reads %d and %d",
               ql_json_int (manifest, "format", -1), QL_TEMPLATE_FORMAT, QL_TEMPLATE_FORMAT_DISKS);
      return NULL;
    }
  if (ql_json_string (vm, "text") == NULL || ql_json_string (qemu, "path") == NULL
      || ql_json_string (qemu, "version") == NULL || ql_json_string (manifest, "machine-type") == NULL
      || ql_json_int (manifest, "memory-size", 0) <= 0 || ql_json_object (manifest, "state") == NULL)
    {
      corrupt (error, dir, "the manifest lacks a field (vm.text, qemu.path, qemu.version, "
               "machine-type, memory-size or state)");
      return NULL;
    }
  if (json_object_has_member (manifest, "qemu-overrides"))
    {
      JsonObject *overrides = ql_json_object (manifest, "qemu-overrides");
      const char *why = "qemu-overrides is not a JSON object";

      if (overrides == NULL || !ql_qemu_overrides_check (overrides, &why))
        {
          corrupt (error, dir, "the manifest's %s", why);
          return NULL;
        }
    }
  self->qemu = g_strdup (ql_json_string (qemu, "path"));
  self->qemu_version = g_strdup (ql_json_string (qemu, "version"));
  self->machine_type = g_strdup (ql_json_string (manifest, "machine-type"));
  self->memory_size = ql_json_int (manifest, "memory-size", 0);
  /* Its writable disks on the template's overlays (which exist: a host
   * check of the configuration finds them). */
  disks = ql_template_disks_template_paths (self->dir, manifest);
  self->config = ql_template_run_config (ql_json_string (vm, "text"), ql_json_string (vm, "name"),
                                         ql_json_string (vm, "base-dir"), registry,
                                         ql_json_object (manifest, "qemu-overrides"), memory_path,
                                         FALSE, NULL, FALSE, disks, &local);
  if (self->config == NULL)
    {
      g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_MISMATCH,
                   "template %s: its VM file no longer loads: %s", dir, local->message);
      return NULL;
    }
  {
    /* The shares are read (and checked) now; each clone makes its own. */
    g_autoptr(GPtrArray) shares = ql_template_shares_new_devices (manifest, self->dir, registry, error);

    if (shares == NULL)
      return NULL;
  }
  return g_steal_pointer (&self);
}

/**
 * ql_template_load:
 * @dir: a template directory made by ql_template_create()
 * @registry: the registry that provides the template VM's device types
 * @error: return location for a #QL_TEMPLATE_ERROR error
 *
 * Reads a template's manifest. Everything it records is checked later, by
 * ql_template_new_clone(), right before a clone starts.
 *
 * Returns: (transfer full): the template, or %NULL: %QL_TEMPLATE_ERROR_CORRUPT
 *   when the manifest is missing or malformed
 */
QlTemplate *
ql_template_load (const char  *dir,
                  QlRegistry  *registry,
                  GError     **error)
{
  g_autofree char *path = NULL;
  g_autofree char *data = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local = NULL;
  JsonNode *root;
  gsize length = 0;

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (QL_IS_REGISTRY (registry), NULL);

  path = g_build_filename (dir, QL_TEMPLATE_MANIFEST, NULL);
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_CORRUPT,
                   "%s is not a template directory", dir);
      return NULL;
    }
  if (!g_file_get_contents (path, &data, &length, &local))
    {
      corrupt (error, dir, "no manifest (%s): not a template, or one whose creation "
               "did not finish", local->message);
      return NULL;
    }
  if (length > MANIFEST_MAX)
    {
      corrupt (error, dir, "the manifest is larger than %d bytes", MANIFEST_MAX);
      return NULL;
    }
  {
    const char *why = NULL;

    if (!ql_json_check_single_object (data, length, 64, &why))
      {
        corrupt (error, dir, "the manifest: %s", why);
        return NULL;
      }
  }
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, length, &local))
    {
      corrupt (error, dir, "the manifest is not JSON (%s)", local->message);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      corrupt (error, dir, "the manifest is not a JSON object");
      return NULL;
    }
  return ql_template_new_from_manifest (dir, json_node_get_object (root), registry, error);
}

/* ---- accessors ---------------------------------------------------------- */

/**
 * ql_template_get_dir:
 * @self: a #QlTemplate
 *
 * Gets the directory the template is stored in.
 *
 * Returns: the template directory (absolute)
 */
const char *
ql_template_get_dir (QlTemplate *self)
{
  g_return_val_if_fail (QL_IS_TEMPLATE (self), NULL);
  return self->dir;
}

/**
 * ql_template_get_qemu:
 * @self: a #QlTemplate
 *
 * Gets the path of the QEMU binary the template was made with; a clone needs
 * the same binary.
 *
 * Returns: the QEMU binary the template was made with
 */
const char *
ql_template_get_qemu (QlTemplate *self)
{
  g_return_val_if_fail (QL_IS_TEMPLATE (self), NULL);
  return self->qemu;
}

/**
 * ql_template_get_qemu_version:
 * @self: a #QlTemplate
 *
 * Gets the version of the QEMU the template was made with; a clone needs the
 * same version.
 *
 * Returns: that QEMU's version, as its QMP greeting gave it (`7.2.22`)
 */
const char *
ql_template_get_qemu_version (QlTemplate *self)
{
  g_return_val_if_fail (QL_IS_TEMPLATE (self), NULL);
  return self->qemu_version;
}

/**
 * ql_template_dup_qemu_overrides:
 * @self: a #QlTemplate
 * @kind: "add", "remove" or "set": which list
 *
 * Gets what the template was made with from outside its VM file (the
 * command line's --qemu-add, --qemu-remove, --qemu-set, as given to
 * ql_vm_config_apply_qemu_overrides()): every clone gets the same.
 *
 * Returns: (transfer full) (array zero-terminated=1): that list, in
 *   order; empty when none
 */
char **
ql_template_dup_qemu_overrides (QlTemplate *self,
                                const char *kind)
{
  g_return_val_if_fail (QL_IS_TEMPLATE (self), NULL);
  g_return_val_if_fail (kind != NULL, NULL);
  return ql_qemu_overrides_dup_list (ql_json_object (self->manifest, "qemu-overrides"), kind);
}

/**
 * ql_template_get_machine_type:
 * @self: a #QlTemplate
 *
 * Gets the machine type of the template's VM, as its manifest records it.
 *
 * Returns: the template VM's machine type
 */
const char *
ql_template_get_machine_type (QlTemplate *self)
{
  g_return_val_if_fail (QL_IS_TEMPLATE (self), NULL);
  return self->machine_type;
}

/**
 * ql_template_get_memory_size:
 * @self: a #QlTemplate
 *
 * Gets the size of the guest's memory, which every clone maps from the
 * template.
 *
 * Returns: the guest's memory in bytes
 */
guint64
ql_template_get_memory_size (QlTemplate *self)
{
  g_return_val_if_fail (QL_IS_TEMPLATE (self), 0);
  return self->memory_size;
}

/**
 * ql_template_dup_disk_ids:
 * @self: a #QlTemplate
 *
 * Gets the ids of the template VM's writable disks. Each runs, in the
 * template, on a qcow2 overlay in the template directory
 * (`disk-ID.qcow2`, read-only once the template is made) over the image
 * the VM file names, which is never written; every clone gets its own
 * overlay over that one (ql_template_get_clone_disk()).
 *
 * Returns: (transfer full) (array zero-terminated=1): the ids, in the VM
 *   file's order; empty when it has none
 */
char **
ql_template_dup_disk_ids (QlTemplate *self)
{
  JsonNode *node;
  GPtrArray *ids = g_ptr_array_new ();

  g_return_val_if_fail (QL_IS_TEMPLATE (self), NULL);
  node = json_object_get_member (self->manifest, "disks");
  for (guint i = 0; node != NULL && JSON_NODE_HOLDS_ARRAY (node)
                    && i < json_array_get_length (json_node_get_array (node)); i++)
    {
      const char *id = ql_json_string (ql_json_array_object (json_node_get_array (node), i), "id");

      if (id != NULL)
        g_ptr_array_add (ids, g_strdup (id));
    }
  g_ptr_array_add (ids, NULL);
  return (char **) g_ptr_array_free (ids, FALSE);
}

/**
 * ql_template_get_config:
 * @self: a #QlTemplate
 *
 * Gets the configuration of the template's VM, which every clone runs.
 *
 * Returns: (transfer none): the template VM's configuration, as a clone
 *   runs it (memory from the template's file, private), its writable
 *   disks on the template's overlays (a clone has its own over those)
 */
QlVmConfig *
ql_template_get_config (QlTemplate *self)
{
  g_return_val_if_fail (QL_IS_TEMPLATE (self), NULL);
  return self->config;
}

/**
 * ql_template_dup_shares:
 * @self: a #QlTemplate
 *
 * Gets the template's virtio-fs shares: the template VM's `virtio-fs`
 * devices, which are not part of its saved state (QEMU cannot save one)
 * and are hot-plugged into every clone once its state is loaded, each
 * with a virtiofsd of the clone's own. The guest mounts them after that
 * (`mount -t virtiofs TAG DIR`).
 *
 * Returns: (transfer full) (element-type QlDevice): new devices with the
 *   shares' properties, in the VM file's order; empty when none
 *
 * Since: ABI 1.5
 */
GPtrArray *
ql_template_dup_shares (QlTemplate *self)
{
  GPtrArray *shares;

  g_return_val_if_fail (QL_IS_TEMPLATE (self), NULL);
  /* Read and checked when the template was loaded. */
  shares = ql_template_shares_new_devices (self->manifest, self->dir, self->registry, NULL);
  return shares != NULL ? shares : g_ptr_array_new_with_free_func (g_object_unref);
}

/* ---- clones ------------------------------------------------------------- */

/* A clone's socket directory and the lock that marks it as in use. */
typedef struct
{
  char *dir;
  int   lock_fd;
} CloneRuntime;

static void
clone_runtime_free (CloneRuntime *runtime)
{
  if (runtime == NULL)
    return;
  ql_template_remove_tree (runtime->dir);
  if (runtime->lock_fd >= 0)
    close (runtime->lock_fd);
  g_free (runtime->dir);
  g_free (runtime);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CloneRuntime, clone_runtime_free)

/* A private directory (0700) for a clone's sockets, `clone-XXXXXX` under
 * the runtime directories' base (ql-runtime-dir.c: $XDG_RUNTIME_DIR/qlaunch
 * when XDG_RUNTIME_DIR is a private directory of ours, /run/qlaunch for
 * root, $TMPDIR/qlaunch-UID; a base that is not ours, is a symbolic link or
 * is writable by others is refused). It is locked while this process holds
 * it, so that the one of a killed launcher is swept by the next. */
static CloneRuntime *
make_runtime_dir (GError **error)
{
  g_autoptr(GError) local_error = NULL;
  CloneRuntime *runtime = g_new0 (CloneRuntime, 1);

  runtime->dir = ql_runtime_dir_make_temp ("clone-", &runtime->lock_fd, &local_error);
  if (runtime->dir == NULL)
    {
      g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_FAILED,
                   "cannot create a private runtime directory: %s", local_error->message);
      g_free (runtime);
      return NULL;
    }
  return runtime;
}

/* The socket directory goes as soon as QEMU has (not only with the VM
 * object, which a program may never drop before it exits). */
static void
clone_state_changed (QlVm       *clone,
                     GParamSpec *pspec,
                     gpointer    data)
{
  QlVmState state = ql_vm_get_state (clone);

  (void) pspec;
  (void) data;
  if (state == QL_VM_STATE_EXITED || state == QL_VM_STATE_FAILED)
    g_object_set_data (G_OBJECT (clone), "ql-template-runtime-dir", NULL);
}

/**
 * ql_template_new_clone:
 * @self: a #QlTemplate
 * @error: return location for a #QL_TEMPLATE_ERROR error
 *
 * Checks the template against the manifest and the host (QEMU binary and
 * version, kernel and initrd, the state file's size and hash, the memory
 * file's size, the VM's command line) and makes the VM of a clone, not
 * launched yet: set its standard input and output as you need
 * (ql_vm_set_stdio_inherit(), ql_vm_set_stdout_fd(), ...), then start it
 * with ql_template_start_clone_async(). The clone's QMP socket lives in a
 * private directory (0700) under `$XDG_RUNTIME_DIR/qlaunch` when that is a
 * directory of ours with mode 0700, else under `/run/qlaunch` (root) or
 * `$TMPDIR/qlaunch-UID`; it is removed when QEMU exits.
 *
 * A template with virtio-fs shares (ql_template_dup_shares()): the shares
 * are checked too (the plugin's checks, host checks included), and the
 * clone runs on its own copy of the template's memory file, made here in
 * that directory and mapped shared (virtiofsd maps guest memory; a private
 * mapping of the template's file would let it read and write the
 * template's pages); it goes with the directory.
 *
 * Returns: (transfer full): the clone's VM, or %NULL: %QL_TEMPLATE_ERROR_CORRUPT
 *   or %QL_TEMPLATE_ERROR_MISMATCH, and no QEMU started
 */
QlVm *
ql_template_new_clone (QlTemplate  *self,
                       GError     **error)
{
  return ql_template_new_clone_keeping_disks (self, NULL, error);
}

/**
 * ql_template_new_clone_keeping_disks:
 * @self: a #QlTemplate
 * @keep_dir: (nullable): where the clone's disk overlays go and stay;
 *   %NULL: in its runtime directory, removed when QEMU exits
 * @error: return location for a #QL_TEMPLATE_ERROR error
 *
 * ql_template_new_clone(), with the clone's writable disks kept. Each
 * writable disk of the template's VM is, for the clone, a new qcow2
 * overlay over the template's overlay of that disk (itself over the image
 * the VM file names; neither is ever written). It is made here, before
 * QEMU starts, mode 0600, never over an existing file: in @keep_dir as
 * `TEMPLATE-ID-XXXXXXXX.qcow2` (TEMPLATE: the template directory's name,
 * ID: the disk's id, XXXXXXXX: eight random hex digits), or without @keep_dir as `disk-ID.qcow2` in the
 * clone's private runtime directory. Get its path with
 * ql_template_get_clone_disk(). A kept overlay stays after the clone (but
 * not when it fails to start): it is the clone's disk, which `qlaunch run`
 * boots when a VM file names it as the disk's `file` with `format =
 * qcow2`; its backing chain (the template's overlay, then the image) must
 * stay where it is.
 *
 * Before anything is made, the writable disks are checked: the template's
 * overlay of each must be there, unchanged and over the recorded image,
 * and that image unchanged since the template was made (size, modification
 * time, SHA-256 of its first MiB); %QL_TEMPLATE_ERROR_MISMATCH (the image
 * drifted) or %QL_TEMPLATE_ERROR_CORRUPT naming the disk otherwise.
 *
 * Returns: (transfer full): the clone's VM, or %NULL, and no QEMU started
 *   and no overlay left
 */
QlVm *
ql_template_new_clone_keeping_disks (QlTemplate  *self,
                                     const char  *keep_dir,
                                     GError     **error)
{
  g_autoptr(CloneRuntime) runtime = NULL;
  g_autoptr(GHashTable) disks = NULL;
  g_autofree char *qmp_path = NULL;
  g_autofree char *memory_path = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(GPtrArray) shares = NULL;
  JsonObject *vm = NULL;
  QlVm *clone;

  g_return_val_if_fail (QL_IS_TEMPLATE (self), NULL);

  if (!check_ownership (self, error) || !check_own_files (self, error)
      || !ql_template_disks_check (self->dir, self->manifest, self->config, error)
      || !check_host (self, error))
    return NULL;
  shares = ql_template_shares_new_devices (self->manifest, self->dir, self->registry, error);
  if (shares == NULL)
    return NULL;
  runtime = make_runtime_dir (error);
  if (runtime == NULL)
    return NULL;
  qmp_path = g_build_filename (runtime->dir, "qmp.sock", NULL);
  memory_path = g_build_filename (self->dir, QL_TEMPLATE_MEMORY, NULL);
  vm = ql_json_object (self->manifest, "vm");
  if (shares->len > 0)
    {
      /* virtiofsd maps the guest's RAM: the clone's own copy, shared. */
      g_autofree char *copy = g_build_filename (runtime->dir, QL_TEMPLATE_MEMORY, NULL);
      g_autoptr(GHashTable) template_disks = ql_template_disks_template_paths (self->dir, self->manifest);
      g_autoptr(QlVmConfig) scratch = ql_template_run_config (ql_json_string (vm, "text"),
                                                              ql_json_string (vm, "name"),
                                                              ql_json_string (vm, "base-dir"), self->registry,
                                                              ql_json_object (self->manifest, "qemu-overrides"),
                                                              copy, TRUE, NULL, FALSE, template_disks, error);
      g_autoptr(GPtrArray) checked = NULL;

      if (scratch == NULL)
        return NULL;
      checked = ql_template_shares_new_devices (self->manifest, self->dir, self->registry, error);
      if (checked == NULL || !ql_template_shares_check (checked, scratch, self->dir, error))
        return NULL;
      g_free (copy);
      copy = ql_template_shares_copy_memory (memory_path, runtime->dir, error);
      if (copy == NULL)
        return NULL;
      g_free (memory_path);
      memory_path = g_steal_pointer (&copy);
    }
  /* The overlays last: nothing that can fail before the configuration
   * leaves a kept one behind. */
  disks = ql_template_disks_make_clone (self->dir, self->manifest, runtime->dir, keep_dir, error);
  if (disks == NULL)
    return NULL;
  config = ql_template_run_config (ql_json_string (vm, "text"), ql_json_string (vm, "name"),
                                   ql_json_string (vm, "base-dir"), self->registry,
                                   ql_json_object (self->manifest, "qemu-overrides"),
                                   memory_path, shares->len > 0, qmp_path, TRUE, disks, error);
  if (config == NULL)
    {
      if (keep_dir != NULL)
        {
          GHashTableIter iter;
          gpointer path;

          g_hash_table_iter_init (&iter, disks);
          while (g_hash_table_iter_next (&iter, NULL, &path))
            g_unlink (path);
        }
      return NULL;
    }
  clone = ql_vm_new (config);
  ql_template_disks_attach (clone, disks, keep_dir != NULL);
  if (shares->len > 0)
    g_object_set_data_full (G_OBJECT (clone), "ql-template-shares", g_steal_pointer (&shares),
                            (GDestroyNotify) g_ptr_array_unref);
  g_object_set_data_full (G_OBJECT (clone), "ql-template-runtime-dir",
                          g_steal_pointer (&runtime), (GDestroyNotify) clone_runtime_free);
  g_signal_connect (clone, "notify::state", G_CALLBACK (clone_state_changed), NULL);
  return clone;
}

typedef enum
{
  CLONE_LAUNCH,
  CLONE_QMP,
  CLONE_CAPABILITIES,
  CLONE_GETFD,
  CLONE_INCOMING,
  CLONE_WAIT,
  CLONE_RESUME,
  CLONE_SHARES,
  CLONE_HOTPLUG,
  CLONE_DONE,
} ClonePhase;

typedef struct
{
  QlVm *vm;
  QlTemplateCloneFlags flags;
  GPtrArray *extra;             /* QlDevice */
  QlVmConfig *with_extra;       /* the template's VM plus the extra devices */
  guint next_extra;
  gint64 deadline;
  ClonePhase phase;
  GError *error;                /* being reported once QEMU is gone */
  gboolean failed;              /* clone_fail ran: QEMU is being stopped */
  GSource *timer;               /* the deadline, whatever the phase */
} CloneRun;

static void
clone_run_free (CloneRun *run)
{
  if (run->timer != NULL)
    {
      g_source_destroy (run->timer);
      g_source_unref (run->timer);
    }
  g_clear_object (&run->vm);
  g_clear_pointer (&run->extra, g_ptr_array_unref);
  g_clear_object (&run->with_extra);
  g_clear_error (&run->error);
  g_free (run);
}

static guint
remaining_ms (CloneRun *run)
{
  gint64 left = (run->deadline - g_get_monotonic_time ()) / 1000;

  return (guint) CLAMP (left, 1, G_MAXUINT);
}

static void clone_step (GTask *task);
static void clone_fail (GTask *task, GError *error, const char *what);
static const char *phase_name (ClonePhase phase);

static void
clone_stopped (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  GTask *task = data;
  CloneRun *run = g_task_get_task_data (task);

  ql_vm_wait_finish (QL_VM (source), result, NULL);
  g_task_return_error (task, g_steal_pointer (&run->error));
  g_object_unref (task);
}

/* The deadline passed with a step pending (QEMU stopped answering): fail
 * now. The pending step completes once QEMU is gone and drops the
 * reference taken here for it. */
static gboolean
clone_timed_out (gpointer data)
{
  GTask *task = data;
  CloneRun *run = g_task_get_task_data (task);
  g_autofree char *what = NULL;

  g_clear_pointer (&run->timer, g_source_unref);
  if (run->failed)
    return G_SOURCE_REMOVE;
  what = g_strdup_printf ("template clone: %s", phase_name (run->phase));
  g_object_ref (task);
  clone_fail (task, g_error_new (QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_TIMEOUT,
                                 "not done in time (QEMU stopped answering?)"), what);
  return G_SOURCE_REMOVE;
}

/* A failed clone leaves no QEMU: stop it, report once it is gone. */
static void
clone_fail (GTask  *task,
            GError *error,
            const char *what)
{
  CloneRun *run = g_task_get_task_data (task);

  if (run->failed)
    {
      g_error_free (error);
      return;
    }
  run->failed = TRUE;
  /* A clone that never ran has nothing worth keeping. */
  ql_template_disks_drop_kept (run->vm);
  if (run->timer != NULL)
    {
      g_source_destroy (run->timer);
      g_clear_pointer (&run->timer, g_source_unref);
    }
  run->error = ql_template_run_error (error, run->vm, what);
  if (ql_vm_get_state (run->vm) == QL_VM_STATE_RUNNING
      || ql_vm_get_state (run->vm) == QL_VM_STATE_STARTING)
    {
      ql_vm_set_grace_period (run->vm, 0);
      ql_vm_stop (run->vm);
      ql_vm_wait_async (run->vm, NULL, clone_stopped, task);
      return;
    }
  g_task_return_error (task, g_steal_pointer (&run->error));
  g_object_unref (task);
}

static const char *
phase_name (ClonePhase phase)
{
  switch (phase)
    {
    case CLONE_LAUNCH: return "starting QEMU";
    case CLONE_QMP: return "connecting to QMP";
    case CLONE_CAPABILITIES: return "setting x-ignore-shared";
    case CLONE_GETFD: return "passing the device state file";
    case CLONE_INCOMING: return "loading the device state";
    case CLONE_WAIT: return "loading the device state";
    case CLONE_RESUME: return "resuming";
    case CLONE_SHARES: return "hot-plugging the template's virtio-fs shares";
    case CLONE_HOTPLUG: return "hot-plugging an extra device";
    case CLONE_DONE:
    default: return "cloning";
    }
}

static void
clone_step_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  GTask *task = data;
  CloneRun *run = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gboolean ok = FALSE;

  if (run->failed)
    {
      /* The deadline failed the clone while this step was pending; its
       * reference was taken then. */
      g_object_unref (task);
      return;
    }
  switch (run->phase)
    {
    case CLONE_LAUNCH:
      ok = ql_vm_launch_finish (QL_VM (source), result, &error);
      break;
    case CLONE_QMP:
      ok = ql_vm_connect_qmp_finish (QL_VM (source), result, &error);
      break;
    case CLONE_CAPABILITIES:
    case CLONE_GETFD:
    case CLONE_INCOMING:
      {
        g_autoptr(JsonNode) ret = ql_qmp_execute_finish (QL_QMP (source), result, &error);

        ok = ret != NULL;
      }
      break;
    case CLONE_WAIT:
      ok = ql_qmp_wait_migration_finish (QL_QMP (source), result, &error);
      break;
    case CLONE_RESUME:
      ok = ql_vm_resume_finish (QL_VM (source), result, &error);
      break;
    case CLONE_SHARES:
      ok = ql_template_shares_plug_finish (result, &error);
      break;
    case CLONE_HOTPLUG:
      ok = ql_qmp_hotplug_device_finish (QL_QMP (source), result, &error);
      break;
    case CLONE_DONE:
    default:
      g_assert_not_reached ();
    }
  if (!ok)
    {
      g_autofree char *what = g_strdup_printf ("template clone: %s", phase_name (run->phase));

      clone_fail (task, g_steal_pointer (&error), what);
      return;
    }
  if (run->phase == CLONE_HOTPLUG)
    run->next_extra++;
  else
    run->phase++;
  clone_step (task);
}

static void
clone_step (GTask *task)
{
  CloneRun *run = g_task_get_task_data (task);
  QlTemplate *self = g_task_get_source_object (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  QlQmp *qmp = ql_vm_get_qmp (run->vm);

  if (run->phase == CLONE_RESUME && (run->flags & QL_TEMPLATE_CLONE_PAUSED))
    run->phase = CLONE_SHARES;  /* plugged while paused: seen when resumed */
  if (run->phase == CLONE_SHARES && g_object_get_data (G_OBJECT (run->vm), "ql-template-shares") == NULL)
    run->phase = CLONE_HOTPLUG;
  if (run->phase == CLONE_HOTPLUG && (run->extra == NULL || run->next_extra >= run->extra->len))
    run->phase = CLONE_DONE;
  if (run->phase != CLONE_DONE && g_get_monotonic_time () >= run->deadline)
    {
      g_autofree char *what = g_strdup_printf ("template clone: %s", phase_name (run->phase));

      clone_fail (task, g_error_new (QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_TIMEOUT,
                                     "not done in time"), what);
      return;
    }

  switch (run->phase)
    {
    case CLONE_LAUNCH:
      ql_vm_launch_async (run->vm, cancellable, clone_step_done, task);
      return;
    case CLONE_QMP:
      ql_vm_connect_qmp_async (run->vm, remaining_ms (run), cancellable, clone_step_done, task);
      return;
    case CLONE_CAPABILITIES:
      {
        static const char *const enable[] = { "x-ignore-shared", NULL };
        guint major = 0, minor = 0, micro = 0;
        g_autofree char *version = NULL;

        ql_qmp_get_qemu_version (qmp, &major, &minor, &micro);
        version = g_strdup_printf ("%u.%u.%u", major, minor, micro);
        if (g_strcmp0 (version, self->qemu_version) != 0)
          {
            clone_fail (task, g_error_new (QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_MISMATCH,
                                           "QEMU %s runs, the template was made with %s",
                                           version, self->qemu_version),
                        "template clone");
            return;
          }
        ql_qmp_migrate_set_capabilities_async (qmp, enable, NULL, cancellable, clone_step_done, task);
      }
      return;
    case CLONE_GETFD:
      {
        /* QEMU reads the state from a descriptor it is given: it starts no
         * process (its seccomp filter denies spawning). */
        g_autofree char *state = g_build_filename (self->dir, QL_TEMPLATE_STATE, NULL);
        int fd = open (state, O_RDONLY | O_CLOEXEC);

        if (fd < 0)
          {
            int saved = errno;

            clone_fail (task, g_error_new (QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_CORRUPT,
                                           "cannot open %s: %s", state, g_strerror (saved)),
                        "template clone");
            return;
          }
        /* A duplicate travels with the command: ours is closed now. */
        ql_qmp_getfd_async (qmp, fd, QL_TEMPLATE_STATE_FD_NAME, cancellable, clone_step_done, task);
        close (fd);
      }
      return;
    case CLONE_INCOMING:
      ql_qmp_migrate_incoming_async (qmp, "fd:" QL_TEMPLATE_STATE_FD_NAME, cancellable, clone_step_done,
                                     task);
      return;
    case CLONE_WAIT:
      ql_qmp_wait_migration_async (qmp, remaining_ms (run), cancellable, clone_step_done, task);
      return;
    case CLONE_RESUME:
      ql_vm_resume_async (run->vm, cancellable, clone_step_done, task);
      return;
    case CLONE_SHARES:
      {
        CloneRuntime *runtime = g_object_get_data (G_OBJECT (run->vm), "ql-template-runtime-dir");

        ql_template_shares_plug_async (g_object_get_data (G_OBJECT (run->vm), "ql-template-shares"),
                                       run->vm, runtime->dir, cancellable, clone_step_done, task);
      }
      return;
    case CLONE_HOTPLUG:
      ql_qmp_hotplug_device_async (qmp, g_ptr_array_index (run->extra, run->next_extra),
                                   run->with_extra, cancellable, clone_step_done, task);
      return;
    case CLONE_DONE:
    default:
      if (run->timer != NULL)
        {
          g_source_destroy (run->timer);
          g_clear_pointer (&run->timer, g_source_unref);
        }
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
}

/* The extra devices are checked (and converted) before QEMU starts, against
 * the template's VM plus the extra devices before each: a bad one fails
 * the clone before anything runs. */
static gboolean
check_extra_devices (QlTemplate  *self,
                     CloneRun    *run,
                     GError     **error)
{
  JsonObject *vm = ql_json_object (self->manifest, "vm");
  QlVmConfig *clone_config = ql_vm_get_config (run->vm);
  GPtrArray *shares = g_object_get_data (G_OBJECT (run->vm), "ql-template-shares");
  g_autoptr(GHashTable) disks = NULL;

  if (run->extra == NULL || run->extra->len == 0)
    return TRUE;
  /* The clone's memory as it runs (shared, with shares), and its shares. */
  disks = ql_template_disks_template_paths (self->dir, self->manifest);
  run->with_extra = ql_template_run_config (ql_json_string (vm, "text"), ql_json_string (vm, "name"),
                                            ql_json_string (vm, "base-dir"), self->registry,
                                            ql_json_object (self->manifest, "qemu-overrides"),
                                            ql_vm_config_get_str (clone_config, QL_VM_PROP_MEMORY_PATH),
                                            ql_vm_config_get_bool (clone_config,
                                                                   QL_VM_PROP_KNOBS_FILE_BACKED_MEM_SHARED),
                                            NULL, FALSE, disks, error);
  if (run->with_extra == NULL)
    return FALSE;
  for (guint i = 0; shares != NULL && i < shares->len; i++)
    ql_vm_config_add_device (run->with_extra, g_ptr_array_index (shares, i));
  for (guint i = 0; i < run->extra->len; i++)
    {
      QlDevice *device = g_ptr_array_index (run->extra, i);
      const char *id = ql_device_get_id (device);
      g_autoptr(JsonArray) plan = NULL;
      g_autoptr(GError) local = NULL;

      if (id != NULL && ql_vm_config_lookup_device (run->with_extra, id) != NULL)
        {
          g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_UNSUPPORTED,
                       "extra device '%s': the template's VM (or an extra device before it) "
                       "has a device with that id", id);
          return FALSE;
        }
      plan = ql_hotplug_plan (device, run->with_extra, NULL, &local);
      if (plan == NULL)
        {
          g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_UNSUPPORTED,
                       "extra device: %s", local->message);
          return FALSE;
        }
      ql_vm_config_add_device (run->with_extra, device);
    }
  return TRUE;
}

/**
 * ql_template_start_clone_async:
 * @self: a #QlTemplate
 * @clone: a VM made by ql_template_new_clone(), not launched yet
 * @flags: how to start it
 * @extra_devices: (nullable) (element-type QlDevice): devices beyond the
 *   template's, hot-plugged after the clone resumed (never on its command
 *   line: QEMU would accept them silently and the clone would differ from
 *   its state); not with %QL_TEMPLATE_CLONE_PAUSED
 * @timeout_ms: a deadline for the whole start (0: 120 s); QEMU 7.2 waits
 *   for ever on a state it cannot load
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the clone runs (or is paused, with
 *   %QL_TEMPLATE_CLONE_PAUSED), or on failure
 * @user_data: data for @callback
 *
 * Launches @clone with `-incoming defer`, connects to its QMP socket, sets
 * `x-ignore-shared`, loads the template's device state
 * (`migrate-incoming` from the state file), waits for it within the
 * deadline, resumes the guest (`cont`), hot-plugs the template's virtio-fs
 * shares, then @extra_devices. On failure QEMU is stopped before the
 * callback runs. Finish with ql_template_start_clone_finish().
 *
 * Each share gets a virtiofsd of the clone's own, started (and listening)
 * before its device is added, with its socket in the clone's runtime
 * directory; @clone follows it as it follows a launch's helpers
 * (#QlVm::helper-ready; one that dies stops QEMU and the VM fails) and
 * stops it when QEMU ends, before the VM's state changes. With
 * %QL_TEMPLATE_CLONE_PAUSED the shares are plugged while the clone is
 * paused; its guest sees them when it is resumed. The guest mounts a share
 * once it has seen the hot-plug event.
 */
void
ql_template_start_clone_async (QlTemplate          *self,
                               QlVm                *clone,
                               QlTemplateCloneFlags flags,
                               GPtrArray           *extra_devices,
                               guint                timeout_ms,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GTask *task;
  CloneRun *run;
  GError *error = NULL;

  g_return_if_fail (QL_IS_TEMPLATE (self));
  g_return_if_fail (QL_IS_VM (clone));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ql_template_start_clone_async);
  /* A late cancellation must not turn a running clone into an error. */
  g_task_set_check_cancellable (task, FALSE);
  run = g_new0 (CloneRun, 1);
  run->vm = g_object_ref (clone);
  run->flags = flags;
  run->extra = extra_devices != NULL ? g_ptr_array_ref (extra_devices) : NULL;
  run->deadline = g_get_monotonic_time ()
                  + (gint64) (timeout_ms > 0 ? timeout_ms : QL_TEMPLATE_DEFAULT_TIMEOUT_MS) * 1000;
  g_task_set_task_data (task, run, (GDestroyNotify) clone_run_free);
  if ((flags & QL_TEMPLATE_CLONE_PAUSED) && extra_devices != NULL && extra_devices->len > 0)
    {
      g_task_return_new_error (task, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_UNSUPPORTED,
                               "extra devices are hot-plugged after the clone resumed: "
                               "not with a paused clone");
      g_object_unref (task);
      return;
    }
  if (ql_vm_get_state (clone) != QL_VM_STATE_NEW)
    {
      g_task_return_new_error (task, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_FAILED,
                               "the clone's VM was launched already");
      g_object_unref (task);
      return;
    }
  if (!check_extra_devices (self, run, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  if (flags & QL_TEMPLATE_CLONE_INHERIT_STDIO)
    ql_vm_set_stdio_inherit (clone, TRUE);
  run->timer = g_timeout_source_new (remaining_ms (run));
  g_source_set_callback (run->timer, clone_timed_out, task, NULL);
  g_source_attach (run->timer, g_task_get_context (task));
  clone_step (task);
}

/**
 * ql_template_start_clone_finish:
 * @self: a #QlTemplate
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #QL_TEMPLATE_ERROR error
 *
 * Finishes ql_template_start_clone_async().
 *
 * Returns: %TRUE when the clone runs (or is paused as asked)
 */
gboolean
ql_template_start_clone_finish (QlTemplate    *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * ql_template_start_clone:
 * @self: a #QlTemplate
 * @clone: a VM made by ql_template_new_clone()
 * @flags: how to start it
 * @extra_devices: (nullable) (element-type QlDevice): devices to hot-plug
 * @timeout_ms: a deadline for the whole start (0: 120 s)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #QL_TEMPLATE_ERROR error
 *
 * The synchronous form of ql_template_start_clone_async(), on the
 * thread-default main context.
 *
 * Returns: %TRUE when the clone runs (or is paused as asked)
 */
gboolean
ql_template_start_clone (QlTemplate          *self,
                         QlVm                *clone,
                         QlTemplateCloneFlags flags,
                         GPtrArray           *extra_devices,
                         guint                timeout_ms,
                         GCancellable        *cancellable,
                         GError             **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  ql_template_start_clone_async (self, clone, flags, extra_devices, timeout_ms, cancellable,
                                 ql_store_result, &result);
  ql_wait_result (&result);
  return ql_template_start_clone_finish (self, result, error);
}

static void
clone_started (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  GTask *task = data;
  GError *error = NULL;

  if (!ql_template_start_clone_finish (QL_TEMPLATE (source), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_object_ref (g_task_get_task_data (task)), g_object_unref);
  g_object_unref (task);
}

/**
 * ql_template_clone_async:
 * @self: a #QlTemplate
 * @flags: how to start the clone
 * @extra_devices: (nullable) (element-type QlDevice): devices to hot-plug
 * @timeout_ms: a deadline for the whole start (0: 120 s)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the clone runs, or on failure
 * @user_data: data for @callback
 *
 * ql_template_new_clone() and ql_template_start_clone_async() in one.
 * Finish with ql_template_clone_finish().
 */
void
ql_template_clone_async (QlTemplate          *self,
                         QlTemplateCloneFlags flags,
                         GPtrArray           *extra_devices,
                         guint                timeout_ms,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  GTask *task;
  GError *error = NULL;
  QlVm *clone;

  g_return_if_fail (QL_IS_TEMPLATE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ql_template_clone_async);
  g_task_set_check_cancellable (task, FALSE);
  clone = ql_template_new_clone (self, &error);
  if (clone == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  g_task_set_task_data (task, clone, g_object_unref);
  ql_template_start_clone_async (self, clone, flags, extra_devices, timeout_ms, cancellable,
                                 clone_started, task);
}

/**
 * ql_template_clone_finish:
 * @self: a #QlTemplate
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #QL_TEMPLATE_ERROR error
 *
 * Finishes ql_template_clone_async().
 *
 * Returns: (transfer full): the running clone, or %NULL
 */
QlVm *
ql_template_clone_finish (QlTemplate    *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * ql_template_clone:
 * @self: a #QlTemplate
 * @flags: how to start the clone
 * @extra_devices: (nullable) (element-type QlDevice): devices to hot-plug
 * @timeout_ms: a deadline for the whole start (0: 120 s)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #QL_TEMPLATE_ERROR error
 *
 * The synchronous form of ql_template_clone_async().
 *
 * Returns: (transfer full): the running clone, or %NULL
 */
QlVm *
ql_template_clone (QlTemplate          *self,
                   QlTemplateCloneFlags flags,
                   GPtrArray           *extra_devices,
                   guint                timeout_ms,
                   GCancellable        *cancellable,
                   GError             **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  ql_template_clone_async (self, flags, extra_devices, timeout_ms, cancellable,
                           ql_store_result, &result);
  ql_wait_result (&result);
  return ql_template_clone_finish (self, result, error);
}

/* ---- GObject ------------------------------------------------------------ */

static void
ql_template_finalize (GObject *object)
{
  QlTemplate *self = QL_TEMPLATE (object);

  g_free (self->dir);
  g_clear_pointer (&self->manifest, json_object_unref);
  g_clear_object (&self->registry);
  g_clear_object (&self->config);
  g_free (self->qemu);
  g_free (self->qemu_version);
  g_free (self->machine_type);
  G_OBJECT_CLASS (ql_template_parent_class)->finalize (object);
}

static void
ql_template_class_init (QlTemplateClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = ql_template_finalize;
}

static void
ql_template_init (QlTemplate *self)
{
  (void) self;
}
