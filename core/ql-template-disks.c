/* qlaunch — a template's writable disks: copy-on-write overlays.
 *
 *   user's image (raw or qcow2; never written)
 *     <- DIR/disk-ID.qcow2   the template's overlay: what the template's
 *                            guest wrote up to the snapshot; read-only after
 *       <- clone overlay     one per clone, empty when it starts; in the
 *                            clone's runtime directory, or kept
 *
 * The manifest's "disks" records, per disk: its id, the overlay's file
 * name, the virtual size, the base image (path, format, size, mtime and
 * the SHA-256 of its first MiB) and the overlay's own record. All of it is
 * checked before a clone's QEMU starts: a base image that changed under
 * the template's overlay would give the clone a disk that is neither (QEMU
 * notices nothing), and the manifest's paths are input to check, not to
 * trust: the overlay's own header must name the recorded base.
 *
 * The migration stream of a virtio-blk or scsi-hd disk names the device
 * (its id and bus address), not the image: the clone's -drive has the
 * template's id and device, only another file. QEMU opens it inactive on
 * `-incoming` and activates it when the state is loaded, before `cont`.
 */
#include "ql-template-disks-private.h"
#include "ql-disk-image-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#define DISK_PREFIX "disk-"
#define DISK_SUFFIX ".qcow2"
#define STAND_IN_DIR "/template"
/* On a clone's config: the images its VM text named (id -> path). */
#define BASES_KEY "ql-template-disk-bases"
/* On a clone's VM: its overlays (id -> path), and whether they are kept. */
#define CLONE_DISKS_KEY "ql-template-clone-disks"
#define CLONE_KEPT_KEY "ql-template-clone-disks-kept"

char *
ql_template_disk_file_name (const char *id)
{
  return g_strconcat (DISK_PREFIX, id, DISK_SUFFIX, NULL);
}

/* A device id that can be part of a file name. */
static gboolean
is_safe_id (const char *id)
{
  if (id == NULL || *id == '\0' || *id == '.' || strlen (id) > 128)
    return FALSE;
  for (const char *p = id; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  return TRUE;
}

/* A property of @device as text (an enum by its nick); NULL when it has
 * no such property or it is unset. */
static char *
device_prop (QlDevice   *device,
             const char *name)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (device), name);
  g_auto(GValue) value = G_VALUE_INIT;

  if (pspec == NULL)
    return NULL;
  g_value_init (&value, pspec->value_type);
  g_object_get_property (G_OBJECT (device), name, &value);
  return ql_param_value_to_string (pspec, &value);
}

GPtrArray *
ql_template_disks_writable (QlVmConfig *config)
{
  GPtrArray *devices = ql_vm_config_get_devices (config);
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; i < devices->len; i++)
    {
      QlDevice *device = g_ptr_array_index (devices, i);
      GParamSpec *ro = g_object_class_find_property (G_OBJECT_GET_CLASS (device), "read-only");
      gboolean read_only = TRUE;

      if (g_strcmp0 (ql_device_get_type_name (device), "block") != 0 || ro == NULL)
        continue;
      g_object_get (device, "read-only", &read_only, NULL);
      if (!read_only)
        g_ptr_array_add (out, device);
    }
  return out;
}

/* The image a writable disk's VM text names, resolved (symbolic links
 * followed: the template records the file itself). */
static char *
source_image (QlDevice  *device,
              char     **why)
{
  g_autofree char *file = device_prop (device, "file");
  char *real;

  if (file == NULL)
    {
      *why = g_strdup ("it names no image (file)");
      return NULL;
    }
  real = realpath (file, NULL);
  if (real == NULL)
    *why = g_strdup_printf ("its image %s: %s", file, g_strerror (errno));
  return real;
}

gboolean
ql_template_disk_check_source (QlDevice  *device,
                               GError   **error)
{
  g_autofree char *why = NULL;
  g_autofree char *image = NULL;
  g_autofree char *format = device_prop (device, "format");
  guint64 size = 0;

  if (!is_safe_id (ql_device_get_id (device)))
    return ql_template_set_unsupported (error, "this VM cannot be a template: ", NULL,
                                        "writable disk '%s': its id must be letters, digits, '-', '_' "
                                        "or '.' (it names the disk's overlay file)",
                                        ql_device_get_id (device));
  image = source_image (device, &why);
  if (image == NULL || !ql_disk_image_virtual_size (image, format, &size, &why))
    return ql_template_set_unsupported (error, "this VM cannot be a template: ", NULL,
                                        "writable disk '%s': %s", ql_device_get_id (device), why);
  return TRUE;
}

gboolean
ql_template_disks_redirect (QlVmConfig  *config,
                            GHashTable  *paths,
                            GError     **error)
{
  g_autoptr(GPtrArray) disks = ql_template_disks_writable (config);
  GHashTable *bases;

  if (disks->len == 0)
    return TRUE;
  bases = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_object_set_data_full (G_OBJECT (config), BASES_KEY, bases, (GDestroyNotify) g_hash_table_unref);
  for (guint i = 0; i < disks->len; i++)
    {
      QlDevice *device = g_ptr_array_index (disks, i);
      const char *id = ql_device_get_id (device);
      g_autofree char *name = ql_template_disk_file_name (id);
      g_autofree char *stand_in = g_build_filename (STAND_IN_DIR, name, NULL);
      const char *path = paths != NULL ? g_hash_table_lookup (paths, id) : stand_in;

      if (path == NULL)
        {
          g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_CORRUPT,
                       "writable disk '%s' has no overlay: refusing to open its image", id);
          return FALSE;
        }
      g_hash_table_insert (bases, g_strdup (id), device_prop (device, "file"));
      if (!ql_device_set_property_from_string (device, "file", path, error)
          || !ql_device_set_property_from_string (device, "format", "qcow2", error))
        return FALSE;
    }
  return TRUE;
}

JsonArray *
ql_template_disks_create (QlVmConfig  *source,
                          const char  *dir,
                          GHashTable **paths,
                          GError     **error)
{
  g_autoptr(GPtrArray) disks = ql_template_disks_writable (source);
  g_autoptr(JsonArray) out = json_array_new ();
  g_autoptr(GHashTable) made = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint i = 0; i < disks->len; i++)
    {
      QlDevice *device = g_ptr_array_index (disks, i);
      const char *id = ql_device_get_id (device);
      g_autofree char *format = device_prop (device, "format");
      g_autofree char *name = ql_template_disk_file_name (id);
      g_autofree char *overlay = g_build_filename (dir, name, NULL);
      g_autofree char *why = NULL;
      g_autofree char *image = NULL;
      JsonObject *base = NULL;
      JsonObject *entry;
      guint64 size = 0;

      if (!ql_template_disk_check_source (device, error))
        return NULL;
      image = source_image (device, &why);
      if (image == NULL || !ql_disk_image_virtual_size (image, format, &size, &why)
          || (base = ql_disk_image_record (image, format, &why)) == NULL)
        {
          g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_FAILED,
                       "writable disk '%s': %s", id, why);
          return NULL;
        }
      entry = json_object_new ();
      json_object_set_string_member (entry, "id", id);
      json_object_set_string_member (entry, "file", name);
      json_object_set_int_member (entry, "size", (gint64) ((size + 511) & ~G_GUINT64_CONSTANT (511)));
      json_object_set_object_member (entry, "base", base);
      json_array_add_object_element (out, entry);
      if (!ql_disk_image_create_overlay (overlay, image, format, size, TRUE, &why))
        {
          g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_FAILED,
                       "writable disk '%s': the template's overlay: %s", id, why);
          return NULL;
        }
      g_hash_table_insert (made, g_strdup (id), g_steal_pointer (&overlay));
    }
  *paths = g_steal_pointer (&made);
  return g_steal_pointer (&out);
}

gboolean
ql_template_disks_seal (JsonArray   *disks,
                        const char  *dir,
                        GError     **error)
{
  for (guint i = 0; disks != NULL && i < json_array_get_length (disks); i++)
    {
      JsonObject *entry = json_array_get_object_element (disks, i);
      g_autofree char *path = g_build_filename (dir, json_object_get_string_member (entry, "file"), NULL);
      g_autofree char *why = NULL;
      JsonObject *record;
      int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

      /* QEMU flushed it when the migration completed; this is the host's
       * cache. */
      if (fd < 0 || fsync (fd) != 0)
        {
          int saved = errno;

          if (fd >= 0)
            close (fd);
          g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_FAILED,
                       "cannot sync the overlay of disk '%s', %s: %s",
                       json_object_get_string_member (entry, "id"), path, g_strerror (saved));
          return FALSE;
        }
      close (fd);
      g_chmod (path, 0444);
      record = ql_disk_image_record (path, "qcow2", &why);
      if (record == NULL)
        {
          g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_FAILED,
                       "the overlay of disk '%s': %s", json_object_get_string_member (entry, "id"), why);
          return FALSE;
        }
      /* The directory is renamed after this: the name is what stays. */
      json_object_remove_member (record, "path");
      json_object_set_object_member (entry, "overlay", record);
    }
  return TRUE;
}

static gboolean
disk_error (GError    **error,
            gint        code,
            const char *dir,
            const char *id,
            const char *format,
            ...) G_GNUC_PRINTF (5, 6);

static gboolean
disk_error (GError    **error,
            gint        code,
            const char *dir,
            const char *id,
            const char *format,
            ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, QL_TEMPLATE_ERROR, code, "template %s: writable disk '%s': %s", dir, id, what);
  return FALSE;
}

/* One disk of the manifest against the host. */
static gboolean
check_disk (const char  *dir,
            JsonObject  *entry,
            GHashTable  *bases,
            GError     **error)
{
  const char *id = ql_json_string (entry, "id");
  const char *file = ql_json_string (entry, "file");
  JsonObject *base = ql_json_object (entry, "base");
  JsonObject *overlay = ql_json_object (entry, "overlay");
  const char *base_path = ql_json_string (base, "path");
  const char *base_format = ql_json_string (base, "format");
  g_autofree char *expected_file = NULL;
  g_autofree char *path = NULL;
  g_autofree char *why = NULL;
  g_autofree char *backing = NULL;
  g_autofree char *backing_format = NULL;
  g_autofree char *named = NULL;
  g_autoptr(JsonObject) record = NULL;
  guint64 size = 0;

  if (!is_safe_id (id) || file == NULL || base_path == NULL || base_format == NULL || overlay == NULL
      || ql_json_int (entry, "size", -1) <= 0)
    return disk_error (error, QL_TEMPLATE_ERROR_CORRUPT, dir, id != NULL ? id : "?",
                       "the manifest's entry lacks id, file, size, base or overlay");
  expected_file = ql_template_disk_file_name (id);
  if (!g_str_equal (file, expected_file))
    return disk_error (error, QL_TEMPLATE_ERROR_CORRUPT, dir, id,
                       "the manifest names its overlay '%s', not '%s'", file, expected_file);
  if (!g_hash_table_contains (bases, id))
    return disk_error (error, QL_TEMPLATE_ERROR_CORRUPT, dir, id,
                       "the template's VM has no writable disk of that id");

  /* The template's overlay: there, ours, what the template left. */
  path = g_build_filename (dir, file, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    return disk_error (error, QL_TEMPLATE_ERROR_CORRUPT, dir, id,
                       "its overlay %s is missing: make the template again", path);
  if (!ql_template_check_owner (path, "the template's disk overlay", FALSE, FALSE, error))
    return FALSE;
  record = json_object_new ();
  {
    GList *members = json_object_get_members (overlay);

    for (GList *m = members; m != NULL; m = m->next)
      json_object_set_member (record, m->data, json_node_copy (json_object_get_member (overlay, m->data)));
    g_list_free (members);
  }
  json_object_set_string_member (record, "path", path);
  json_object_set_string_member (record, "format", "qcow2");
  if (!ql_disk_image_check (record, &why))
    return disk_error (error, QL_TEMPLATE_ERROR_CORRUPT, dir, id,
                       "its overlay changed: %s: make the template again", why);
  if (!ql_disk_image_read_qcow2 (path, &size, &backing, &backing_format, &why))
    return disk_error (error, QL_TEMPLATE_ERROR_CORRUPT, dir, id, "its overlay: %s", why);
  if (g_strcmp0 (backing, base_path) != 0 || g_strcmp0 (backing_format, base_format) != 0
      || size != (guint64) ql_json_int (entry, "size", -1))
    return disk_error (error, QL_TEMPLATE_ERROR_CORRUPT, dir, id,
                       "its overlay %s is over %s (%s, %" G_GUINT64_FORMAT " bytes), the manifest "
                       "says %s (%s, %" G_GINT64_FORMAT " bytes)", path,
                       backing != NULL ? backing : "nothing", backing_format != NULL ? backing_format : "-",
                       size, base_path, base_format, ql_json_int (entry, "size", -1));

  /* The user's image: the one the VM text names, unchanged. */
  named = realpath (g_hash_table_lookup (bases, id) != NULL ? g_hash_table_lookup (bases, id) : "", NULL);
  if (named == NULL || !g_str_equal (named, base_path))
    return disk_error (error, QL_TEMPLATE_ERROR_MISMATCH, dir, id,
                       "the template's VM names the image %s, the template was made over %s%s",
                       (const char *) g_hash_table_lookup (bases, id), base_path,
                       named == NULL ? " (which is gone)" : "");
  if (!ql_disk_image_check (base, &why))
    return disk_error (error, QL_TEMPLATE_ERROR_MISMATCH, dir, id,
                       "its base image drifted: %s. The template's overlay holds only the blocks "
                       "the template's guest wrote: over a changed image the clone would see a "
                       "disk that is neither; make the template again", why);
  return TRUE;
}

gboolean
ql_template_disks_check (const char  *dir,
                         JsonObject  *manifest,
                         QlVmConfig  *config,
                         GError     **error)
{
  JsonNode *node = json_object_get_member (manifest, "disks");
  GHashTable *bases = g_object_get_data (G_OBJECT (config), BASES_KEY);
  JsonArray *disks;
  guint n;

  if (node == NULL && bases == NULL)
    return TRUE;
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_CORRUPT,
                   "template %s is corrupt: its VM has writable disks and the manifest no "
                   "\"disks\" list", dir);
      return FALSE;
    }
  disks = json_node_get_array (node);
  n = json_array_get_length (disks);
  if (n != (bases != NULL ? g_hash_table_size (bases) : 0))
    {
      g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_CORRUPT,
                   "template %s is corrupt: the manifest lists %u writable disks, its VM has %u",
                   dir, n, bases != NULL ? g_hash_table_size (bases) : 0);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      JsonObject *entry = ql_json_array_object (disks, i);

      if (entry == NULL)
        {
          g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_CORRUPT,
                       "template %s is corrupt: the manifest's disk %u is not an object", dir, i);
          return FALSE;
        }
      if (!check_disk (dir, entry, bases, error))
        return FALSE;
    }
  return TRUE;
}

GHashTable *
ql_template_disks_template_paths (const char *dir,
                                  JsonObject *manifest)
{
  JsonNode *node = json_object_get_member (manifest, "disks");
  JsonArray *disks = node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  GHashTable *paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (guint i = 0; disks != NULL && i < json_array_get_length (disks); i++)
    {
      const char *id = ql_json_string (ql_json_array_object (disks, i), "id");
      g_autofree char *name = NULL;

      if (!is_safe_id (id))
        continue;       /* ql_template_disks_check() says so */
      name = ql_template_disk_file_name (id);
      g_hash_table_insert (paths, g_strdup (id), g_build_filename (dir, name, NULL));
    }
  return paths;
}

static void
remove_all (GHashTable *paths)
{
  GHashTableIter iter;
  gpointer path;

  g_hash_table_iter_init (&iter, paths);
  while (g_hash_table_iter_next (&iter, NULL, &path))
    g_unlink (path);
}

GHashTable *
ql_template_disks_make_clone (const char  *dir,
                              JsonObject  *manifest,
                              const char  *runtime_dir,
                              const char  *keep_dir,
                              GError     **error)
{
  JsonNode *node = json_object_get_member (manifest, "disks");
  JsonArray *disks = node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  g_autoptr(GHashTable) paths = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *tpl_name = g_path_get_basename (dir);

  for (guint i = 0; disks != NULL && i < json_array_get_length (disks); i++)
    {
      JsonObject *entry = ql_json_array_object (disks, i);
      const char *id = ql_json_string (entry, "id");
      g_autofree char *backing = g_build_filename (dir, ql_json_string (entry, "file"), NULL);
      g_autofree char *path = NULL;
      g_autofree char *why = NULL;
      gboolean made = FALSE;

      if (keep_dir == NULL)
        {
          g_autofree char *name = ql_template_disk_file_name (id);

          path = g_build_filename (runtime_dir, name, NULL);
          made = ql_disk_image_create_overlay (path, backing, "qcow2", ql_json_int (entry, "size", 0),
                                               keep_dir != NULL, &why);
        }
      else
        /* A fresh name: several clones may keep their disks in one place. */
        for (guint attempt = 0; !made && attempt < 64; attempt++)
          {
            g_autofree char *name = g_strdup_printf ("%s-%s-%08x" DISK_SUFFIX, tpl_name, id, g_random_int ());

            g_free (path);
            g_clear_pointer (&why, g_free);
            path = g_build_filename (keep_dir, name, NULL);
            made = ql_disk_image_create_overlay (path, backing, "qcow2", ql_json_int (entry, "size", 0),
                                               keep_dir != NULL, &why);
            if (!made && !g_file_test (path, G_FILE_TEST_EXISTS) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
              break;
          }
      if (!made)
        {
          remove_all (paths);
          g_set_error (error, QL_TEMPLATE_ERROR, QL_TEMPLATE_ERROR_FAILED,
                       "writable disk '%s': the clone's overlay: %s", id, why);
          return NULL;
        }
      g_hash_table_insert (paths, g_strdup (id), g_steal_pointer (&path));
    }
  return g_steal_pointer (&paths);
}

void
ql_template_disks_attach (QlVm       *clone,
                          GHashTable *paths,
                          gboolean    kept)
{
  g_object_set_data_full (G_OBJECT (clone), CLONE_DISKS_KEY, g_hash_table_ref (paths),
                          (GDestroyNotify) g_hash_table_unref);
  g_object_set_data (G_OBJECT (clone), CLONE_KEPT_KEY, GINT_TO_POINTER (kept));
}

void
ql_template_disks_drop_kept (QlVm *clone)
{
  GHashTable *paths = g_object_get_data (G_OBJECT (clone), CLONE_DISKS_KEY);

  if (paths == NULL || !GPOINTER_TO_INT (g_object_get_data (G_OBJECT (clone), CLONE_KEPT_KEY)))
    return;
  remove_all (paths);
  g_hash_table_remove_all (paths);
}

/**
 * ql_template_get_clone_disk:
 * @clone: a VM made by ql_template_new_clone() or
 *   ql_template_new_clone_keeping_disks()
 * @id: the id of one of the template VM's writable disks
 *
 * Gets the clone's own overlay of a writable disk: an empty qcow2 image
 * when the clone starts, whose backing file is the template's overlay of
 * that disk (`DIR/disk-ID.qcow2`, read-only), whose backing file is the
 * image the template VM's file names. The clone writes only there.
 *
 * Returns: (nullable): the overlay's path, or %NULL when @clone has no
 *   such disk (or its kept overlay was removed because it failed to start)
 */
const char *
ql_template_get_clone_disk (QlVm       *clone,
                            const char *id)
{
  GHashTable *paths;

  g_return_val_if_fail (QL_IS_VM (clone), NULL);
  g_return_val_if_fail (id != NULL, NULL);
  paths = g_object_get_data (G_OBJECT (clone), CLONE_DISKS_KEY);
  return paths != NULL ? g_hash_table_lookup (paths, id) : NULL;
}
