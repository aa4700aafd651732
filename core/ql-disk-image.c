/* qlaunch — disk image files: qcow2 overlays and image records.
 *
 * A clone's overlay is written here, by qlaunch, and not by `qemu-img
 * create` or QMP `blockdev-create`:
 * - the clone's QEMU runs under its seccomp sandbox and may start no
 *   process; blockdev-create would need the overlay's node before the
 *   disk's -device exists, which the saved state needs on the command line;
 * - qemu-img is another package (qemu-utils, not qemu-system-*) that may
 *   be missing, one more program to trust, and a fork and exec (about
 *   20 ms under load) on every clone and every pooled VM;
 * - an empty qcow2 with a backing file is a fixed layout of four clusters
 *   (docs/interop/qcow2.txt in QEMU: header, refcount table, one refcount
 *   block, L1 table), stable since version 3 (QEMU 1.1); the tests check
 *   the result with `qemu-img check` and `qemu-img info`.
 *
 * The overlay is what `qemu-img create -f qcow2 -b BACKING -F FORMAT`
 * makes: version 3, 64 KiB clusters, 16-bit refcounts, no compression
 * type field (zlib), the backing format as a header extension.
 */
#include "ql-disk-image-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define QCOW2_MAGIC 0x514649fbu
#define QCOW2_CLUSTER_BITS 16
#define QCOW2_CLUSTER_SIZE (1u << QCOW2_CLUSTER_BITS)
#define QCOW2_HEADER_LENGTH 104
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_END 0u
/* qemu's limit on a backing file name (and ours: it must fit cluster 0). */
#define QCOW2_BACKING_MAX 1023
/* A virtual size no larger than this (QEMU's own limit is 32 MiB of L1
 * table: 2 EiB): the L1 table stays in a few clusters. */
#define QCOW2_SIZE_MAX (G_GUINT64_CONSTANT (1) << 50)

static gboolean
set_why (char      **why,
         const char *format,
         ...) G_GNUC_PRINTF (2, 3);

static gboolean
set_why (char      **why,
         const char *format,
         ...)
{
  va_list args;

  if (why != NULL)
    {
      va_start (args, format);
      *why = g_strdup_vprintf (format, args);
      va_end (args);
    }
  return FALSE;
}

static void
put_be32 (guint8 *p,
          guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static void
put_be64 (guint8 *p,
          guint64 v)
{
  put_be32 (p, v >> 32);
  put_be32 (p + 4, (guint32) v);
}

static guint32
get_be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static guint64
get_be64 (const guint8 *p)
{
  return ((guint64) get_be32 (p) << 32) | get_be32 (p + 4);
}

/* Reads up to @max bytes from the start of @fd; the count read, -1 on error. */
static gssize
read_head (int     fd,
           guint8 *buf,
           gsize   max)
{
  gsize done = 0;

  while (done < max)
    {
      gssize n = pread (fd, buf + done, max - done, done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      if (n == 0)
        break;
      done += n;
    }
  return done;
}

static gboolean
write_at (int           fd,
          const guint8 *data,
          gsize         length,
          goffset       offset)
{
  gsize done = 0;

  while (done < length)
    {
      gssize n = pwrite (fd, data + done, length - done, offset + done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      done += n;
    }
  return TRUE;
}

/* Opens @path for reading: a regular file, no symbolic link at the end. */
static int
open_image (const char  *path,
            char       **why)
{
  struct stat st;
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

  if (fd < 0)
    {
      int saved = errno;

      set_why (why, "cannot open %s: %s", path,
               saved == ELOOP ? "it is a symbolic link" : g_strerror (saved));
      return -1;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      set_why (why, "%s is not a regular file", path);
      return -1;
    }
  return fd;
}

gboolean
ql_disk_image_read_qcow2 (const char  *path,
                          guint64     *size,
                          char       **backing,
                          char       **backing_format,
                          char       **why)
{
  g_autofree guint8 *buf = g_malloc (QCOW2_CLUSTER_SIZE);
  guint32 version, header_length = 72, backing_size, cluster_bits;
  guint64 backing_offset;
  gssize n;
  int fd = open_image (path, why);

  if (fd < 0)
    return FALSE;
  n = read_head (fd, buf, QCOW2_CLUSTER_SIZE);
  close (fd);
  if (n < 72 || get_be32 (buf) != QCOW2_MAGIC)
    return set_why (why, "%s is not a qcow2 image (no qcow2 header)", path);
  version = get_be32 (buf + 4);
  if (version != 2 && version != 3)
    return set_why (why, "%s is a qcow2 image of version %u (2 or 3 expected)", path, version);
  backing_offset = get_be64 (buf + 8);
  backing_size = get_be32 (buf + 16);
  cluster_bits = get_be32 (buf + 20);
  if (cluster_bits < 9 || cluster_bits > 21)
    return set_why (why, "%s: qcow2 cluster_bits %u out of range", path, cluster_bits);
  if (size != NULL)
    *size = get_be64 (buf + 24);
  if (version == 3)
    {
      if (n < 104)
        return set_why (why, "%s: truncated qcow2 version 3 header", path);
      header_length = get_be32 (buf + 100);
      if (header_length < 104 || header_length > (guint32) n || header_length % 8 != 0)
        return set_why (why, "%s: bad qcow2 header length %u", path, header_length);
    }
  if (backing != NULL)
    *backing = NULL;
  if (backing_format != NULL)
    *backing_format = NULL;
  if (backing_offset != 0)
    {
      if (backing_size == 0 || backing_size > QCOW2_BACKING_MAX
          || backing_offset + backing_size > (guint64) n)
        return set_why (why, "%s: the qcow2 backing file name is out of bounds", path);
      if (memchr (buf + backing_offset, '\0', backing_size) != NULL)
        return set_why (why, "%s: the qcow2 backing file name has a NUL byte", path);
      if (backing != NULL)
        *backing = g_strndup ((const char *) buf + backing_offset, backing_size);
    }
  /* Header extensions (version 3; version 2 images have them after the
   * 72-byte header too). */
  for (gsize at = header_length; at + 8 <= (gsize) n;)
    {
      guint32 type = get_be32 (buf + at), length = get_be32 (buf + at + 4);

      if (type == QCOW2_EXT_END)
        break;
      if (length > (gsize) n - at - 8)
        break;
      if (type == QCOW2_EXT_BACKING_FORMAT && backing_format != NULL && length > 0
          && memchr (buf + at + 8, '\0', length) == NULL)
        {
          g_free (*backing_format);
          *backing_format = g_strndup ((const char *) buf + at + 8, length);
        }
      at += 8 + ((length + 7) & ~7u);
    }
  return TRUE;
}

gboolean
ql_disk_image_virtual_size (const char  *path,
                            const char  *format,
                            guint64     *size,
                            char       **why)
{
  if (g_strcmp0 (format, "raw") == 0)
    {
      struct stat st;
      int fd = open_image (path, why);

      if (fd < 0)
        return FALSE;
      if (fstat (fd, &st) != 0)
        {
          close (fd);
          return set_why (why, "cannot stat %s: %s", path, g_strerror (errno));
        }
      close (fd);
      *size = st.st_size;
      return TRUE;
    }
  if (g_strcmp0 (format, "qcow2") == 0)
    return ql_disk_image_read_qcow2 (path, size, NULL, NULL, why);
  return set_why (why, "%s is a %s image: only raw and qcow2 images can be the base of an overlay "
                  "(convert it with qemu-img convert -O qcow2)", path, format);
}

gboolean
ql_disk_image_create_overlay (const char  *path,
                              const char  *backing,
                              const char  *backing_format,
                              guint64      size,
                              gboolean     durable,
                              char       **why)
{
  /* Entries of 8 bytes, each mapping one L2 table of 8192 clusters. */
  const guint64 per_l1 = (guint64) QCOW2_CLUSTER_SIZE * (QCOW2_CLUSTER_SIZE / 8);
  guint64 l1_size, l1_clusters;
  gsize backing_len = strlen (backing), format_len = strlen (backing_format);
  gsize ext_len = 8 + ((format_len + 7) & ~(gsize) 7) + 8;
  g_autofree guint8 *head = NULL;
  guint8 *h, *refblock;
  int fd;

  if (!g_path_is_absolute (backing) || backing_len > QCOW2_BACKING_MAX
      || QCOW2_HEADER_LENGTH + ext_len + backing_len > QCOW2_CLUSTER_SIZE)
    return set_why (why, "the backing file name '%s' is not absolute or longer than %d bytes",
                    backing, QCOW2_BACKING_MAX);
  if (format_len == 0 || format_len > 16)
    return set_why (why, "bad backing format '%s'", backing_format);
  if (size == 0 || size > QCOW2_SIZE_MAX)
    return set_why (why, "a virtual size of %" G_GUINT64_FORMAT " bytes: it must be more than 0 "
                    "and up to 1 PiB", size);
  /* As qemu-img: whole sectors (a raw base of another size reads as zeros
   * past its end). */
  size = (size + 511) & ~G_GUINT64_CONSTANT (511);
  l1_size = (size + per_l1 - 1) / per_l1;
  l1_clusters = MAX ((l1_size * 8 + QCOW2_CLUSTER_SIZE - 1) / QCOW2_CLUSTER_SIZE, 1);

  /* Clusters 0 (header), 1 (refcount table), 2 (refcount block), then the
   * L1 table (zero: nothing allocated, every read goes to the backing
   * file). */
  head = g_malloc0 (3 * QCOW2_CLUSTER_SIZE);
  h = head;
  put_be32 (h + 0, QCOW2_MAGIC);
  put_be32 (h + 4, 3);
  put_be64 (h + 8, QCOW2_HEADER_LENGTH + ext_len);     /* backing file name offset */
  put_be32 (h + 16, backing_len);
  put_be32 (h + 20, QCOW2_CLUSTER_BITS);
  put_be64 (h + 24, size);
  put_be32 (h + 32, 0);                                 /* no encryption */
  put_be32 (h + 36, (guint32) l1_size);
  put_be64 (h + 40, 3 * (guint64) QCOW2_CLUSTER_SIZE);  /* L1 table */
  put_be64 (h + 48, QCOW2_CLUSTER_SIZE);                /* refcount table */
  put_be32 (h + 56, 1);                                 /* its clusters */
  /* 60: no snapshots; 72..95: no feature bits */
  put_be32 (h + 96, 4);                                 /* refcount_order: 16 bits */
  put_be32 (h + 100, QCOW2_HEADER_LENGTH);
  h += QCOW2_HEADER_LENGTH;
  put_be32 (h, QCOW2_EXT_BACKING_FORMAT);
  put_be32 (h + 4, format_len);
  memcpy (h + 8, backing_format, format_len);
  h += 8 + ((format_len + 7) & ~(gsize) 7);
  put_be32 (h, QCOW2_EXT_END);
  put_be32 (h + 4, 0);
  h += 8;
  memcpy (h, backing, backing_len);
  put_be64 (head + QCOW2_CLUSTER_SIZE, 2 * (guint64) QCOW2_CLUSTER_SIZE);  /* refcount block */
  refblock = head + 2 * QCOW2_CLUSTER_SIZE;
  for (guint64 c = 0; c < 3 + l1_clusters; c++)
    {
      refblock[2 * c] = 0;
      refblock[2 * c + 1] = 1;
    }

  fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return set_why (why, "cannot create %s: %s", path, g_strerror (errno));
  /* Only what is not zero: the rest of the clusters are holes. */
  if (!write_at (fd, head, QCOW2_HEADER_LENGTH + ext_len + backing_len, 0)
      || !write_at (fd, head + QCOW2_CLUSTER_SIZE, 8, QCOW2_CLUSTER_SIZE)
      || !write_at (fd, refblock, 2 * (3 + l1_clusters), 2 * QCOW2_CLUSTER_SIZE)
      || ftruncate (fd, 3 * (goffset) QCOW2_CLUSTER_SIZE + (goffset) l1_size * 8) != 0
      || (durable && fsync (fd) != 0))
    {
      int saved = errno;

      close (fd);
      unlink (path);
      return set_why (why, "cannot write %s: %s", path, g_strerror (saved));
    }
  if (close (fd) != 0)
    {
      int saved = errno;

      unlink (path);
      return set_why (why, "cannot write %s: %s", path, g_strerror (saved));
    }
  return TRUE;
}

char *
ql_disk_image_head_sha256 (const char  *path,
                           char       **why)
{
  g_autofree guint8 *buf = g_malloc (QL_DISK_IMAGE_HASHED_BYTES);
  gssize n;
  int fd = open_image (path, why);

  if (fd < 0)
    return NULL;
  n = read_head (fd, buf, QL_DISK_IMAGE_HASHED_BYTES);
  close (fd);
  if (n < 0)
    {
      set_why (why, "cannot read %s: %s", path, g_strerror (errno));
      return NULL;
    }
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, buf, n);
}

JsonObject *
ql_disk_image_record (const char  *path,
                      const char  *format,
                      char       **why)
{
  g_autoptr(JsonObject) record = json_object_new ();
  g_autofree char *sha = NULL;
  struct stat st;

  if (lstat (path, &st) != 0)
    {
      set_why (why, "cannot stat %s: %s", path, g_strerror (errno));
      return NULL;
    }
  sha = ql_disk_image_head_sha256 (path, why);
  if (sha == NULL)
    return NULL;
  json_object_set_string_member (record, "path", path);
  json_object_set_string_member (record, "format", format);
  json_object_set_int_member (record, "size", st.st_size);
  json_object_set_int_member (record, "mtime", st.st_mtime);
  json_object_set_int_member (record, "mtime-nsec", st.st_mtim.tv_nsec);
  json_object_set_string_member (record, "sha256-head", sha);
  return g_steal_pointer (&record);
}

static gint64
member_int (JsonObject *o,
            const char *name)
{
  JsonNode *node = json_object_get_member (o, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64)
    return G_MININT64;
  return json_node_get_int (node);
}

static const char *
member_string (JsonObject *o,
               const char *name)
{
  JsonNode *node = json_object_get_member (o, name);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

gboolean
ql_disk_image_check (JsonObject  *record,
                     char       **why)
{
  const char *path = member_string (record, "path");
  const char *sha = member_string (record, "sha256-head");
  const char *format = member_string (record, "format");
  g_autoptr(JsonObject) now = NULL;
  g_autofree char *local = NULL;

  if (path == NULL || sha == NULL || format == NULL || member_int (record, "size") < 0
      || member_int (record, "mtime") == G_MININT64)
    return set_why (why, "its record lacks path, format, size, mtime or sha256-head");
  now = ql_disk_image_record (path, format, &local);
  if (now == NULL)
    return set_why (why, "%s is gone or unreadable (%s)", path, local);
  if (member_int (now, "size") != member_int (record, "size"))
    return set_why (why, "%s changed size: %" G_GINT64_FORMAT " bytes, %" G_GINT64_FORMAT " when "
                    "the template was made", path, member_int (now, "size"), member_int (record, "size"));
  if (member_int (now, "mtime") != member_int (record, "mtime")
      || (json_object_has_member (record, "mtime-nsec")
          && member_int (now, "mtime-nsec") != member_int (record, "mtime-nsec")))
    return set_why (why, "%s was modified since the template was made (its modification time "
                    "changed)", path);
  if (g_strcmp0 (member_string (now, "sha256-head"), sha) != 0)
    return set_why (why, "%s changed since the template was made (the SHA-256 of its first "
                    "%d bytes differs)", path, QL_DISK_IMAGE_HASHED_BYTES);
  return TRUE;
}
