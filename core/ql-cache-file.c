/* qlaunch — the on-disk cache files: one layout, one set of checks.
 *
 * A cache file is 0600 in a 0700 directory the caller owns, replaced
 * atomically (g_file_set_contents_full). Layout: a 24-byte header — an
 * 8-byte magic naming the cache and its format, the tail's length and
 * the payload's length as little-endian 32-bit numbers, the payload's
 * 64-bit FNV-1a hash, little-endian — then the payload: a GVariant in its
 * serialized form, little-endian, 8-byte aligned; then, in a cache that
 * has one, the tail, 8-byte aligned: bytes the framing does not hash (a
 * read does not pay for them), which the caller checks where it uses
 * them (the registry cache's device type descriptions, each with a hash
 * of its own in the payload).
 *
 * A read maps the file and reads the GVariant in place (no parsing; the
 * registry cache splits its tuple itself, ql_gvariant_split_tuple(),
 * rather than have GLib build the type information of its type). A
 * wrong magic (another cache or format), length (a truncated file) or hash
 * (a damaged one) makes the read miss, and the caller rebuilds and rewrites
 * it. A file or directory another user owns or may write is never read:
 * whoever controls it would control what qlaunch believes about plugins
 * and QEMU. Every directory from the cache root down is checked, and made
 * 0700 when qlaunch creates it (or tightened to 0700 when it is ours,
 * except a $QLAUNCH_CACHE_DIR the user made): a
 * real directory (not a symbolic link), owned by us, writable by no one
 * else; the root's parent must not let another user swap the root. The
 * file is opened without following a link and without waiting (O_NOFOLLOW,
 * O_NONBLOCK: a FIFO would block), and must be a regular file of ours
 * writable by no one else. Such a refusal is said once on stderr; qlaunch
 * then works without the cache (a refused directory is neither read nor
 * written; a refused file is rebuilt). What passes these checks is a file this user wrote through
 * ql_cache_file_write(), in normal form, so it is read as trusted: GLib then
 * skips the offset checks that make each access to an untrusted array
 * cost a walk of it (they were a fifth of `qlaunch args`). GLib's
 * serialiser bounds every read by the data's size whatever the trust flag;
 * the callers still check what the values mean.
 */
#include "ql-cache-file.h"
#include "ql-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#define HEADER_SIZE 24

/* FNV-1a, 64 bits, over the payload's 64-bit little-endian words, then
 * its last bytes one by one: what tells a damaged payload, at an eighth
 * of the byte-wise cost (it is read at every start). */
guint64
ql_cache_file_hash (const guint8 *data,
                    gsize         size)
{
  guint64 hash = G_GUINT64_CONSTANT (0xcbf29ce484222325);
  gsize i = 0;

  for (; i + 8 <= size; i += 8)
    {
      guint64 word;

      memcpy (&word, data + i, sizeof word);
      hash ^= GUINT64_FROM_LE (word);
      hash *= G_GUINT64_CONSTANT (0x100000001b3);
    }
  for (; i < size; i++)
    {
      hash ^= data[i];
      hash *= G_GUINT64_CONSTANT (0x100000001b3);
    }
  return hash;
}

/**
 * ql_cache_file_get_dir:
 * @subdir: (nullable): a directory under qlaunch's cache directory
 *
 * qlaunch's cache directory: `$QLAUNCH_CACHE_DIR` when set, else
 * `$XDG_CACHE_HOME/qlaunch` (GLib's g_get_user_cache_dir()); with @subdir
 * appended.
 *
 * Returns: (transfer full): the directory
 */
char *
ql_cache_file_get_dir (const char *subdir)
{
  const char *over = g_getenv ("QLAUNCH_CACHE_DIR");

  if (over != NULL && over[0] != '\0')
    return g_build_filename (over, subdir, NULL);
  return g_build_filename (g_get_user_cache_dir (), "qlaunch", subdir, NULL);
}

/* Whether @st, of @what, is ours and written by no one else. */
static gboolean
owned_and_private (const char         *what,
                   const struct stat  *st,
                   GError            **error)
{
  if (st->st_uid != geteuid ())
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "cache %s is owned by uid %u, not by us (uid %u)",
                   what, (guint) st->st_uid, (guint) geteuid ());
      return FALSE;
    }
  if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "cache %s is writable by group or others (mode %04o)",
                   what, (guint) (st->st_mode & 07777));
      return FALSE;
    }
  return TRUE;
}

/* A refused cache is said once per process, as a notice
 * (ql_set_notice_func()): qlaunch then works without it (probes QEMU,
 * scans plugins). A refused directory is neither read nor written; a
 * refused file in a safe directory is not read, and replaced by what
 * qlaunch finds. */
static void
warn_refused (const GError *error,
              gboolean      file_only)
{
  static gsize said = 0;

  if (g_once_init_enter (&said))
    {
      ql_notice_take (g_error_new (error->domain, error->code, "%s: %s", error->message,
                                   file_only ? "not read; it is rebuilt"
                                             : "the cache is neither read nor written"));
      g_once_init_leave (&said, 1);
    }
}

/* @dir, one directory of the cache (made 0700 first when @create): a real
 * directory, not a symbolic link, ours, writable by no one else; with
 * @tighten, left readable by no one else either. A missing one is G_IO_ERROR_NOT_FOUND,
 * an unsafe one G_IO_ERROR_PERMISSION_DENIED. */
static gboolean
check_cache_dir (const char  *dir,
                 gboolean     create,
                 gboolean     tighten,
                 GError     **error)
{
  struct stat st;
  int fd;

  if (create && g_mkdir (dir, 0700) != 0 && errno != EEXIST)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot create cache directory %s: %s", dir, g_strerror (saved));
      return FALSE;
    }
  fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved = errno;

      if (saved == ENOENT)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "no cache directory %s", dir);
      else if (saved == ELOOP || saved == ENOTDIR)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                     "cache directory %s is a symbolic link or not a directory", dir);
      else
        g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                     "cache directory %s: %s", dir, g_strerror (saved));
      return FALSE;
    }
  if (fstat (fd, &st) != 0 || !owned_and_private (dir, &st, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot stat cache directory %s", dir);
      close (fd);
      return FALSE;
    }
  if (tighten && (st.st_mode & 077) != 0 && fchmod (fd, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot make cache directory %s private (0700): %s", dir, g_strerror (saved));
      close (fd);
      return FALSE;
    }
  close (fd);
  return TRUE;
}

/* Every directory from the cache root (ql_cache_file_get_dir()) down to
 * @dir, checked as check_cache_dir() says; and the root's parent, which
 * must not let another user swap the root (writable by others only when
 * sticky). A @dir outside the root (an application's choice) is checked
 * alone, and keeps its mode if it exists. */
static gboolean
cache_dirs_safe (const char  *dir,
                 gboolean     create,
                 GError     **error)
{
  g_autofree char *root = ql_cache_file_get_dir (NULL);
  g_autofree char *parent = g_path_get_dirname (root);
  gsize root_len = strlen (root);
  const char *over = g_getenv ("QLAUNCH_CACHE_DIR");
  gboolean overridden = over != NULL && over[0] != '\0';
  struct stat st;

  if (!g_str_has_prefix (dir, root) || (dir[root_len] != '\0' && dir[root_len] != '/'))
    return check_cache_dir (dir, create, !g_file_test (dir, G_FILE_TEST_EXISTS), error);
  if (create && g_mkdir_with_parents (parent, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   "cannot create %s: %s", parent, g_strerror (saved));
      return FALSE;
    }
  if (stat (parent, &st) == 0
      && ((st.st_uid != 0 && st.st_uid != geteuid ())
          || ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "another user could replace the cache directory %s: %s is owned by uid %u, mode %04o",
                   root, parent, (guint) st.st_uid, (guint) (st.st_mode & 07777));
      return FALSE;
    }
  /* A $QLAUNCH_CACHE_DIR the user chose keeps its mode (it may be a
   * directory of theirs with other uses); what qlaunch owns is made 0700. */
  if (!check_cache_dir (root, create, !overridden || !g_file_test (root, G_FILE_TEST_EXISTS), error))
    return FALSE;
  for (const char *p = dir + root_len; *p != '\0'; p++)
    if (p[1] == '/' || p[1] == '\0')
      {
        g_autofree char *sub = g_strndup (dir, p + 1 - dir);

        if (p[0] != '/' && !check_cache_dir (sub, create, TRUE, error))
          return FALSE;
      }
  return TRUE;
}

/**
 * ql_cache_file_read:
 * @path: the cache file
 * @magic: what its first 8 bytes must be
 * @type: the payload's type
 *
 * Reads a cache file written by ql_cache_file_write(). Every reason it
 * gives nothing (no file, another format, a damaged file) is a debug
 * message; a file or directory another user could have planted is also
 * said once on stderr.
 *
 * Returns: (transfer full) (nullable): the payload, in host byte order, or
 *   %NULL
 */
GVariant *
ql_cache_file_read (const char         *path,
                    const char          magic[QL_CACHE_FILE_MAGIC_SIZE],
                    const GVariantType *type)
{
  g_autoptr(GBytes) payload = ql_cache_file_read_payload (path, magic, type, NULL);

  return payload != NULL ? g_variant_ref_sink (g_variant_new_from_bytes (type, payload, TRUE)) : NULL;
}

/**
 * ql_cache_file_read_payload:
 * @path: the cache file
 * @magic: what its first 8 bytes must be
 * @type: the payload's type
 * @tail: (out) (optional): the file's tail, unchecked; without it, a file
 *   with a tail makes the read miss
 *
 * ql_cache_file_read() of a file written by
 * ql_cache_file_write_with_tail() (the payload is checked against its
 * hash, the tail only against the file's length), without making a
 * #GVariant of the payload: its serialized bytes, in host byte order, for a
 * caller that splits them itself (ql_gvariant_split_tuple()). Building the
 * type information of a large tuple type costs more than reading it.
 *
 * Returns: (transfer full) (nullable): the payload, or %NULL
 */
GBytes *
ql_cache_file_read_payload (const char         *path,
                            const char          magic[QL_CACHE_FILE_MAGIC_SIZE],
                            const GVariantType *type,
                            GBytes            **tail)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMappedFile) file = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  GBytes *payload;
  const guint8 *contents;
  struct stat st;
  gsize size;
  guint32 length, tail_length;
  gsize payload_end;
  guint64 hash;
  int fd;

  if (tail != NULL)
    *tail = NULL;
  if (!cache_dirs_safe (dir, FALSE, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
        warn_refused (error, FALSE);
      g_debug ("qlaunch: %s", error->message);
      return NULL;
    }
  /* Never waits: a FIFO planted as the file would block a plain open. */
  fd = g_open (path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0);
  if (fd < 0)
    {
      int saved = errno;

      if (saved == ELOOP)
        {
          g_set_error (&error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                       "cache file %s is a symbolic link", path);
          warn_refused (error, TRUE);
        }
      g_debug ("qlaunch: no cache %s: %s", path, ql_debug_strerror (saved));
      return NULL;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                   "cache file %s is not a regular file", path);
      warn_refused (error, TRUE);
      close (fd);
      return NULL;
    }
  if (!owned_and_private (path, &st, &error))
    {
      warn_refused (error, TRUE);
      close (fd);
      return NULL;
    }
  file = g_mapped_file_new_from_fd (fd, FALSE, &error);
  close (fd);
  if (file == NULL)
    {
      g_debug ("qlaunch: cannot map cache %s: %s", path, error->message);
      return NULL;
    }
  bytes = g_mapped_file_get_bytes (file);
  contents = g_bytes_get_data (bytes, &size);
  if (size < HEADER_SIZE || contents == NULL
      || memcmp (contents, magic, QL_CACHE_FILE_MAGIC_SIZE) != 0)
    {
      g_debug ("qlaunch: %s is not a qlaunch cache of this kind and format", path);
      return NULL;
    }
  memcpy (&tail_length, contents + 8, sizeof tail_length);
  tail_length = GUINT32_FROM_LE (tail_length);
  memcpy (&length, contents + 12, sizeof length);
  length = GUINT32_FROM_LE (length);
  payload_end = tail_length > 0 ? HEADER_SIZE + (((gsize) length + 7) & ~(gsize) 7) : HEADER_SIZE + (gsize) length;
  if ((tail_length > 0 && tail == NULL) || payload_end + tail_length != size)
    {
      g_debug ("qlaunch: %s is damaged (%" G_GSIZE_FORMAT " bytes, header says %u of payload "
               "and %u of tail)", path, size, length, tail_length);
      return NULL;
    }
  memcpy (&hash, contents + 16, sizeof hash);
  if (GUINT64_FROM_LE (hash) != ql_cache_file_hash (contents + HEADER_SIZE, length))
    {
      g_debug ("qlaunch: %s is damaged (its payload does not match its hash)", path);
      return NULL;
    }
  payload = g_bytes_new_from_bytes (bytes, HEADER_SIZE, length);
  if (tail != NULL)
    *tail = g_bytes_new_from_bytes (bytes, payload_end, tail_length);
#if G_BYTE_ORDER == G_BIG_ENDIAN
  {
    /* Written little-endian: GVariant swaps the values, never the framing
     * offsets (little-endian in every byte order). */
    g_autoptr(GVariant) data = g_variant_ref_sink (g_variant_new_from_bytes (type, payload, TRUE));
    g_autoptr(GVariant) swapped = g_variant_byteswap (data);

    g_bytes_unref (payload);
    payload = g_variant_get_data_as_bytes (swapped);
  }
#else
  (void) type;
#endif
  return payload;
}

/**
 * ql_cache_file_string:
 * @value: a string value (type `s`), from a cache file's data or not
 *
 * The string @value holds. A cache file that passed its checks is read as
 * trusted GVariant data, so GLib does not check the framing of what is in
 * it: in a file edited by hand and its hash recomputed, a string can have
 * no bytes (GLib then gives %NULL) or no NUL at its end. Either reads as
 * "" here, which callers take as they would any string that means nothing.
 *
 * Returns: (transfer none): the string, valid as long as @value's data
 */
const char *
ql_cache_file_string (GVariant *value)
{
  const char *s = g_variant_get_data (value);
  gsize size = g_variant_get_size (value);

  return s != NULL && size > 0 && s[size - 1] == '\0' ? s : "";
}

/**
 * ql_cache_file_write:
 * @path: the cache file
 * @magic: its first 8 bytes
 * @data: the payload
 * @error: return location for an error
 *
 * Writes @data to @path atomically, 0600, creating its directories 0700
 * if needed. Refuses a directory another user owns or may write, or a
 * symbolic link, anywhere from the cache root down.
 *
 * Returns: %TRUE if the file was written
 */
gboolean
ql_cache_file_write (const char  *path,
                     const char   magic[QL_CACHE_FILE_MAGIC_SIZE],
                     GVariant    *data,
                     GError     **error)
{
  return ql_cache_file_write_with_tail (path, magic, data, NULL, 0, error);
}

/**
 * ql_cache_file_write_with_tail:
 * @path: the cache file
 * @magic: its first 8 bytes
 * @data: the payload
 * @tail: (array length=tail_length) (nullable): the tail
 * @tail_length: its length (0: none)
 * @error: return location for an error
 *
 * ql_cache_file_write() with a tail after the payload, which the file's
 * hash does not cover (see ql_cache_file_read_payload()).
 *
 * Returns: %TRUE if the file was written
 */
gboolean
ql_cache_file_write_with_tail (const char    *path,
                               const char     magic[QL_CACHE_FILE_MAGIC_SIZE],
                               GVariant      *data,
                               const guint8  *tail,
                               gsize          tail_length,
                               GError       **error)
{
  g_autoptr(GVariant) normal = g_variant_get_normal_form (data);
  g_autoptr(GVariant) little = NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree guint8 *contents = NULL;
  gsize length, payload_end;
  guint32 le;
  guint64 hash;

  little = G_BYTE_ORDER == G_BIG_ENDIAN ? g_variant_byteswap (normal) : g_variant_ref (normal);
  length = g_variant_get_size (little);
  if (length > G_MAXUINT32 - 8 || tail_length > G_MAXUINT32)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "too large to cache");
      return FALSE;
    }
  if (!cache_dirs_safe (dir, TRUE, error))
    {
      if (error != NULL && g_error_matches (*error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED))
        warn_refused (*error, FALSE);
      return FALSE;
    }
  payload_end = tail_length > 0 ? HEADER_SIZE + ((length + 7) & ~(gsize) 7) : HEADER_SIZE + length;
  contents = g_malloc0 (payload_end + tail_length);
  memcpy (contents, magic, QL_CACHE_FILE_MAGIC_SIZE);
  le = GUINT32_TO_LE ((guint32) tail_length);
  memcpy (contents + 8, &le, sizeof le);
  le = GUINT32_TO_LE ((guint32) length);
  memcpy (contents + 12, &le, sizeof le);
  if (tail_length > 0)
    memcpy (contents + payload_end, tail, tail_length);
  g_variant_store (little, contents + HEADER_SIZE);
  hash = GUINT64_TO_LE (ql_cache_file_hash (contents + HEADER_SIZE, length));
  memcpy (contents + 16, &hash, sizeof hash);
  return g_file_set_contents_full (path, (const char *) contents, (gssize) (payload_end + tail_length),
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0600, error);
}
