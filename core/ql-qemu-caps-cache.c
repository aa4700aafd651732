/* qlaunch — the on-disk cache of QEMU capabilities.
 *
 * One file per binary, `<cache dir>/<sha256 of the canonical path, 16 hex
 * digits>.caps`, 0600 in a 0700 directory, replaced atomically
 * (g_file_set_contents_full). Layout: a 24-byte header — the magic
 * "QLCAPS\0" and a format byte, 4 reserved bytes, the payload length as a
 * little-endian 32-bit number, the payload's 64-bit FNV-1a hash,
 * little-endian — then the payload, the probe's GVariant of type
 * QL_CAPS_TYPE in its serialized form, little-endian, 8-byte aligned.
 *
 * A lookup maps the file and reads the GVariant in place (no parsing), so
 * it costs microseconds. The file is not trusted: a wrong magic, format,
 * length (a truncated file) or hash (a damaged one), another format string,
 * qlaunch version or binary stamp all make the cache miss, and the caller
 * probes and rewrites it. GLib reads a GVariant that is not trusted safely
 * whatever its bytes (it checks each value as it is read), so the hash,
 * not a walk of the whole value (g_variant_is_normal_form(): a quarter of
 * a millisecond per lookup), tells a damaged file.
 */
#include "ql-qemu-caps-private.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define HEADER_SIZE 24
static const char magic[8] = { 'Q', 'L', 'C', 'A', 'P', 'S', '\0', 3 };

/* FNV-1a, 64 bits: what tells a damaged payload. */
static guint64
payload_hash (const guint8 *data,
              gsize         size)
{
  guint64 hash = G_GUINT64_CONSTANT (0xcbf29ce484222325);

  for (gsize i = 0; i < size; i++)
    {
      hash ^= data[i];
      hash *= G_GUINT64_CONSTANT (0x100000001b3);
    }
  return hash;
}

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
  const char *format, *qlaunch_version, *binary;
  gint64 size, mtime, inode;

  g_variant_get_child (data, QL_CAPS_FIELD_FORMAT, "&s", &format);
  g_variant_get_child (data, QL_CAPS_FIELD_QLAUNCH_VERSION, "&s", &qlaunch_version);
  g_variant_get_child (data, QL_CAPS_FIELD_BINARY, "&s", &binary);
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
  g_autoptr(GError) error = NULL;
  g_autoptr(GMappedFile) file = g_mapped_file_new (path, FALSE, &error);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GVariant) data = NULL;
  const guint8 *contents;
  gsize size;
  guint32 length;

  if (file == NULL)
    {
      g_debug ("qlaunch: no QEMU capabilities cache for %s: %s", stamp->path, error->message);
      return NULL;
    }
  bytes = g_mapped_file_get_bytes (file);
  contents = g_bytes_get_data (bytes, &size);
  if (size < HEADER_SIZE || memcmp (contents, magic, sizeof magic) != 0)
    {
      g_debug ("qlaunch: %s is not a qlaunch capabilities cache of this format", path);
      return NULL;
    }
  memcpy (&length, contents + 12, sizeof length);
  length = GUINT32_FROM_LE (length);
  if ((gsize) length != size - HEADER_SIZE)
    {
      g_debug ("qlaunch: %s is damaged (%" G_GSIZE_FORMAT " payload bytes, header says %u)",
               path, size - HEADER_SIZE, length);
      return NULL;
    }
  {
    guint64 hash;

    memcpy (&hash, contents + 16, sizeof hash);
    if (GUINT64_FROM_LE (hash) != payload_hash (contents + HEADER_SIZE, length))
      {
        g_debug ("qlaunch: %s is damaged (its payload does not match its hash)", path);
        return NULL;
      }
  }
  payload = g_bytes_new_from_bytes (bytes, HEADER_SIZE, length);
  data = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (QL_CAPS_TYPE), payload, FALSE));
  if (G_BYTE_ORDER == G_BIG_ENDIAN)
    {
      GVariant *swapped = g_variant_byteswap (data);

      g_variant_unref (data);
      data = swapped;
    }
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
  g_autoptr(GVariant) normal = g_variant_get_normal_form (data);
  g_autoptr(GVariant) little = NULL;
  g_autoptr(GVariant) binary = g_variant_get_child_value (data, QL_CAPS_FIELD_BINARY);
  g_autofree char *path = NULL;
  g_autofree guint8 *contents = NULL;
  gsize length;
  guint32 le;

  little = G_BYTE_ORDER == G_BIG_ENDIAN ? g_variant_byteswap (normal) : g_variant_ref (normal);
  length = g_variant_get_size (little);
  if (length > G_MAXUINT32)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "capabilities too large to cache");
      return FALSE;
    }
  if (g_mkdir_with_parents (cache_dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot create %s: %s", cache_dir, g_strerror (saved));
      return FALSE;
    }
  contents = g_malloc0 (HEADER_SIZE + length);
  memcpy (contents, magic, sizeof magic);
  le = GUINT32_TO_LE ((guint32) length);
  memcpy (contents + 12, &le, sizeof le);
  g_variant_store (little, contents + HEADER_SIZE);
  {
    guint64 hash = GUINT64_TO_LE (payload_hash (contents + HEADER_SIZE, length));

    memcpy (contents + 16, &hash, sizeof hash);
  }
  path = ql_qemu_caps_cache_path (cache_dir, g_variant_get_string (binary, NULL));
  return g_file_set_contents_full (path, (const char *) contents, (gssize) (HEADER_SIZE + length),
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}
