/* qlaunch — the on-disk cache of QEMU capabilities.
 *
 * One file per binary, `<cache dir>/<sha256 of the canonical path, 16 hex
 * digits>.caps`, in the layout and with the checks of ql-cache-file.c (magic
 * "QLCAPS\0" and a format byte); the payload is the probe's GVariant of type
 * QL_CAPS_TYPE. A lookup maps the file and reads the GVariant in place (no
 * parsing), so it costs microseconds. Besides what ql_cache_file_read()
 * refuses, another format string, qlaunch version or binary stamp make the
 * cache miss, and the caller probes and rewrites it.
 */
#include "ql-qemu-caps-private.h"
#include "ql-cache-file.h"

#include <string.h>

/* The last byte changes with QL_CAPS_TYPE: a file of another layout is
 * refused before its payload is read (as trusted) with the wrong type. */
static const char magic[QL_CACHE_FILE_MAGIC_SIZE] = { 'Q', 'L', 'C', 'A', 'P', 'S', '\0', 5 };

char *
ql_qemu_caps_cache_path (const char *cache_dir,
                         const char *binary)
{
  g_autofree char *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, binary, -1);
  g_autofree char *name = g_strdup_printf ("%.16s.caps", sum);

  return g_build_filename (cache_dir, name, NULL);
}

static gboolean
stamp_matches (GVariant          *data,
               const QlCapsStamp *stamp)
{
  g_autoptr(GVariant) format_v = g_variant_get_child_value (data, QL_CAPS_FIELD_FORMAT);
  g_autoptr(GVariant) qlaunch_version_v = g_variant_get_child_value (data, QL_CAPS_FIELD_QLAUNCH_VERSION);
  g_autoptr(GVariant) binary_v = g_variant_get_child_value (data, QL_CAPS_FIELD_BINARY);
  const char *format = ql_cache_file_string (format_v);
  const char *qlaunch_version = ql_cache_file_string (qlaunch_version_v);
  const char *binary = ql_cache_file_string (binary_v);
  gint64 size, mtime, inode;

  g_variant_get_child (data, QL_CAPS_FIELD_SIZE, "x", &size);
  g_variant_get_child (data, QL_CAPS_FIELD_MTIME, "x", &mtime);
  g_variant_get_child (data, QL_CAPS_FIELD_INODE, "x", &inode);
  return strcmp (format, QL_CAPS_FORMAT) == 0 && strcmp (qlaunch_version, QL_VERSION) == 0
         && strcmp (binary, stamp->path) == 0 && size == stamp->size
         && mtime == stamp->mtime && inode == stamp->inode;
}

GVariant *
ql_qemu_caps_cache_load (const char        *cache_dir,
                         const QlCapsStamp *stamp)
{
  g_autofree char *path = ql_qemu_caps_cache_path (cache_dir, stamp->path);
  g_autoptr(GVariant) data = ql_cache_file_read (path, magic, G_VARIANT_TYPE (QL_CAPS_TYPE));

  if (data == NULL)
    return NULL;
  if (!stamp_matches (data, stamp))
    {
      g_debug ("qlaunch: %s is stale (another binary, build, format or qlaunch)", path);
      return NULL;
    }
  return g_steal_pointer (&data);
}

gboolean
ql_qemu_caps_cache_save (const char  *cache_dir,
                         GVariant    *data,
                         GError     **error)
{
  g_autoptr(GVariant) binary = g_variant_get_child_value (data, QL_CAPS_FIELD_BINARY);
  g_autofree char *path = ql_qemu_caps_cache_path (cache_dir, g_variant_get_string (binary, NULL));

  return ql_cache_file_write (path, magic, data, error);
}
