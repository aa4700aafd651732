/* Suite core: the qcow2 overlays and image records of templates' writable
 * disks (core/ql-disk-image.c, built into this test: it is private to the
 * library).
 *
 * /disk-image/overlay: an overlay over a raw image (of a size that is not
 *   whole sectors) and one over a qcow2 image pass `qemu-img check`;
 *   `qemu-img info` gives the virtual size, backing file and format;
 *   the file is mode 0600; written and read through `qemu-io` it holds
 *   the written bytes and the backing file's elsewhere, and the backing
 *   file is unchanged. A large (5 TiB) virtual size passes the check too.
 * /disk-image/overlay-refused: an existing file or a symbolic link at the
 *   path, a relative backing path, a size of 0: refused, nothing made or
 *   changed.
 * /disk-image/virtual-size: raw (the file's size), qcow2 (its header's),
 *   another format or a directory: refused with the reason.
 * /disk-image/read-qcow2: a file that is not qcow2, a truncated header, a
 *   backing name out of bounds: refused.
 * /disk-image/record: an unchanged image checks; a new mtime, another
 *   size, a byte changed in the first MiB (mtime restored), a removed
 *   image, a record without its members do not, each saying why; a byte
 *   changed after the first MiB with the mtime restored is not seen (only
 *   the start is hashed).
 */
#include "ql-test-util.h"
#include "ql-disk-image-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

static char *tmp;

static gboolean
have_qemu_img (void)
{
  g_autofree char *path = g_find_program_in_path ("qemu-img");

  if (path != NULL)
    return TRUE;
  g_test_skip ("no qemu-img");
  return FALSE;
}

/* Runs @argv; its stdout; asserts exit 0. */
static char *
run (const char * const *argv)
{
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  char *out = NULL;
  int status = -1;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, &error))
    g_error ("%s: %s", argv[0], error->message);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s %s: exit %d: %s%s", argv[0], argv[1], status, out, err);
  return out;
}

static char *
write_random (const char *name,
              gsize       size)
{
  g_autofree guint8 *data = g_malloc (size);
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (tmp, name, NULL);

  for (gsize i = 0; i < size; i++)
    data[i] = g_random_int_range (0, 256);
  g_assert_true (g_file_set_contents (path, (const char *) data, size, &error));
  g_assert_no_error (error);
  return path;
}

static void
check_overlay (const char *overlay,
               const char *backing,
               const char *format,
               guint64     size)
{
  const char *check[] = { "qemu-img", "check", overlay, NULL };
  const char *info[] = { "qemu-img", "info", "--output=json", overlay, NULL };
  g_autofree char *out = NULL;
  g_autofree char *expect = NULL;
  g_autofree char *read_backing = NULL;
  g_autofree char *read_format = NULL;
  g_autofree char *why = NULL;
  GStatBuf st;
  guint64 read_size = 0;

  g_free (run (check));
  out = run (info);
  expect = g_strdup_printf ("\"virtual-size\": %" G_GUINT64_FORMAT ",", size);
  g_assert_nonnull (strstr (out, expect));
  g_free (expect);
  expect = g_strdup_printf ("\"backing-filename\": \"%s\"", backing);
  g_assert_nonnull (strstr (out, expect));
  g_free (expect);
  expect = g_strdup_printf ("\"backing-filename-format\": \"%s\"", format);
  g_assert_nonnull (strstr (out, expect));
  g_assert_cmpint (g_lstat (overlay, &st), ==, 0);
  g_assert_cmphex (st.st_mode & 07777, ==, 0600);
  g_assert_true (ql_disk_image_read_qcow2 (overlay, &read_size, &read_backing, &read_format, &why));
  g_assert_null (why);
  g_assert_cmpuint (read_size, ==, size);
  g_assert_cmpstr (read_backing, ==, backing);
  g_assert_cmpstr (read_format, ==, format);
}

static void
test_overlay (void)
{
  g_autofree char *base = NULL;
  g_autofree char *base_sha = NULL;
  g_autofree char *overlay = g_build_filename (tmp, "o1.qcow2", NULL);
  g_autofree char *qbase = g_build_filename (tmp, "base.qcow2", NULL);
  g_autofree char *overlay2 = g_build_filename (tmp, "o2.qcow2", NULL);
  g_autofree char *big = g_build_filename (tmp, "big.qcow2", NULL);
  g_autofree char *why = NULL;
  g_autofree char *qemu_io = g_find_program_in_path ("qemu-io");
  guint64 size = 0;

  if (!have_qemu_img ())
    return;
  base = write_random ("base.raw", 3 * 1024 * 1024 + 100);
  base_sha = ql_test_file_sha256 (base);
  g_assert_true (ql_disk_image_virtual_size (base, "raw", &size, &why));
  g_assert_cmpuint (size, ==, 3 * 1024 * 1024 + 100);
  g_assert_true (ql_disk_image_create_overlay (overlay, base, "raw", size, TRUE, &why));
  g_assert_null (why);
  /* Whole sectors, as qemu-img makes them. */
  check_overlay (overlay, base, "raw", 3 * 1024 * 1024 + 512);
  if (qemu_io != NULL)
    {
      /* Bytes of the base at 0 come through; the overlay takes a write. */
      g_autofree char *pattern = NULL;
      g_autofree char *out = NULL;
      g_autofree char *in_base = NULL;
      const char *io[] = { "qemu-io", "-c", "write -P 0x5a 1M 64k", "-c", "read -P 0x5a 1M 64k",
                           "-c", "read -v 0 16", overlay, NULL };
      gsize len = 0;

      out = run (io);
      g_assert_null (strstr (out, "Pattern verification failed"));
      g_assert_true (g_file_get_contents (base, &in_base, &len, NULL));
      pattern = g_strdup_printf ("%02x %02x", (guint8) in_base[0], (guint8) in_base[1]);
      g_assert_nonnull (strstr (out, pattern));
      {
        const char *check[] = { "qemu-img", "check", overlay, NULL };

        g_free (run (check));
      }
    }
  {
    g_autofree char *now = ql_test_file_sha256 (base);

    g_assert_cmpstr (now, ==, base_sha);
  }

  /* Over a qcow2 image: its virtual size. */
  {
    const char *create[] = { "qemu-img", "create", "-f", "qcow2", qbase, "5G", NULL };

    g_free (run (create));
  }
  g_assert_true (ql_disk_image_virtual_size (qbase, "qcow2", &size, &why));
  g_assert_cmpuint (size, ==, G_GUINT64_CONSTANT (5) << 30);
  g_assert_true (ql_disk_image_create_overlay (overlay2, qbase, "qcow2", size, TRUE, &why));
  check_overlay (overlay2, qbase, "qcow2", size);

  /* An L1 table of more than one cluster. */
  g_assert_true (ql_disk_image_create_overlay (big, qbase, "qcow2", G_GUINT64_CONSTANT (5) << 40, TRUE, &why));
  check_overlay (big, qbase, "qcow2", G_GUINT64_CONSTANT (5) << 40);
}

static void
test_overlay_refused (void)
{
  g_autofree char *existing = write_random ("existing", 100);
  g_autofree char *sha = ql_test_file_sha256 (existing);
  g_autofree char *link = g_build_filename (tmp, "link.qcow2", NULL);
  g_autofree char *target = g_build_filename (tmp, "link-target", NULL);
  g_autofree char *fresh = g_build_filename (tmp, "fresh.qcow2", NULL);
  char *why = NULL;

  g_assert_false (ql_disk_image_create_overlay (existing, "/base", "raw", 1 << 20, TRUE, &why));
  g_assert_nonnull (strstr (why, "File exists"));
  g_clear_pointer (&why, g_free);
  {
    g_autofree char *now = ql_test_file_sha256 (existing);

    g_assert_cmpstr (now, ==, sha);
  }
  g_assert_cmpint (symlink (target, link), ==, 0);
  g_assert_false (ql_disk_image_create_overlay (link, "/base", "raw", 1 << 20, TRUE, &why));
  g_clear_pointer (&why, g_free);
  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));

  g_assert_false (ql_disk_image_create_overlay (fresh, "base.raw", "raw", 1 << 20, TRUE, &why));
  g_assert_nonnull (strstr (why, "not absolute"));
  g_clear_pointer (&why, g_free);
  g_assert_false (ql_disk_image_create_overlay (fresh, "/base", "raw", 0, TRUE, &why));
  g_assert_nonnull (strstr (why, "virtual size"));
  g_clear_pointer (&why, g_free);
  g_assert_false (g_file_test (fresh, G_FILE_TEST_EXISTS));
}

static void
test_virtual_size (void)
{
  g_autofree char *raw = write_random ("sized.raw", 4096);
  char *why = NULL;
  guint64 size = 0;

  g_assert_true (ql_disk_image_virtual_size (raw, "raw", &size, &why));
  g_assert_cmpuint (size, ==, 4096);
  g_assert_false (ql_disk_image_virtual_size (raw, "vmdk", &size, &why));
  g_assert_nonnull (strstr (why, "only raw and qcow2"));
  g_clear_pointer (&why, g_free);
  g_assert_false (ql_disk_image_virtual_size (tmp, "raw", &size, &why));
  g_assert_nonnull (strstr (why, "not a regular file"));
  g_clear_pointer (&why, g_free);
  g_assert_false (ql_disk_image_virtual_size (raw, "qcow2", &size, &why));
  g_assert_nonnull (strstr (why, "not a qcow2 image"));
  g_clear_pointer (&why, g_free);
}

static void
test_read_qcow2 (void)
{
  g_autofree char *path = g_build_filename (tmp, "forged.qcow2", NULL);
  guint8 header[128] = { 0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3 };
  char *why = NULL;
  guint64 size = 0;

  /* Truncated: version 3 needs 104 bytes. */
  g_assert_true (g_file_set_contents (path, (const char *) header, 80, NULL));
  g_assert_false (ql_disk_image_read_qcow2 (path, &size, NULL, NULL, &why));
  g_assert_nonnull (why);
  g_clear_pointer (&why, g_free);
  /* cluster_bits 16, header length 104, backing name at 4000 (past the end). */
  header[23] = 16;
  header[103] = 104;
  header[14] = 0x0f;
  header[15] = 0xa0;
  header[19] = 8;
  g_assert_true (g_file_set_contents (path, (const char *) header, sizeof header, NULL));
  g_assert_false (ql_disk_image_read_qcow2 (path, &size, NULL, NULL, &why));
  g_assert_nonnull (strstr (why, "out of bounds"));
  g_clear_pointer (&why, g_free);
}

static void
set_mtime (const char            *path,
           const struct timespec *mtime)
{
  struct timespec times[2] = { { 0, UTIME_OMIT }, *mtime };

  g_assert_cmpint (utimensat (AT_FDCWD, path, times, 0), ==, 0);
}

static void
poke (const char *path,
      goffset     offset)
{
  int fd = open (path, O_RDWR);
  guint8 byte = 0;

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (pread (fd, &byte, 1, offset), ==, 1);
  byte ^= 0xff;
  g_assert_cmpint (pwrite (fd, &byte, 1, offset), ==, 1);
  close (fd);
}

static void
test_record (void)
{
  g_autofree char *image = write_random ("recorded.raw", 2 * 1024 * 1024);
  g_autoptr(JsonObject) record = NULL;
  g_autoptr(JsonObject) empty = json_object_new ();
  char *why = NULL;
  struct stat st;
  struct timespec later;

  record = ql_disk_image_record (image, "raw", &why);
  g_assert_nonnull (record);
  g_assert_cmpstr (json_object_get_string_member (record, "format"), ==, "raw");
  g_assert_cmpint (strlen (json_object_get_string_member (record, "sha256-head")), ==, 64);
  g_assert_true (ql_disk_image_check (record, &why));
  g_assert_cmpint (stat (image, &st), ==, 0);

  later = st.st_mtim;
  later.tv_sec += 5;
  set_mtime (image, &later);
  g_assert_false (ql_disk_image_check (record, &why));
  g_assert_nonnull (strstr (why, "modified"));
  g_clear_pointer (&why, g_free);
  set_mtime (image, &st.st_mtim);
  g_assert_true (ql_disk_image_check (record, &why));

  poke (image, 1000);
  set_mtime (image, &st.st_mtim);
  g_assert_false (ql_disk_image_check (record, &why));
  g_assert_nonnull (strstr (why, "SHA-256"));
  g_clear_pointer (&why, g_free);
  poke (image, 1000);
  set_mtime (image, &st.st_mtim);
  g_assert_true (ql_disk_image_check (record, &why));

  /* Past the hashed start, with the mtime put back: not seen. */
  poke (image, 1536 * 1024);
  set_mtime (image, &st.st_mtim);
  g_assert_true (ql_disk_image_check (record, &why));

  g_assert_cmpint (truncate (image, 3 * 1024 * 1024), ==, 0);
  g_assert_false (ql_disk_image_check (record, &why));
  g_assert_nonnull (strstr (why, "changed size"));
  g_clear_pointer (&why, g_free);

  g_assert_cmpint (g_unlink (image), ==, 0);
  g_assert_false (ql_disk_image_check (record, &why));
  g_assert_nonnull (strstr (why, "gone"));
  g_clear_pointer (&why, g_free);

  g_assert_false (ql_disk_image_check (empty, &why));
  g_assert_nonnull (strstr (why, "lacks"));
  g_clear_pointer (&why, g_free);
}

int
main (int    argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  tmp = ql_test_make_tmpdir ();
  g_test_add_func ("/disk-image/overlay", test_overlay);
  g_test_add_func ("/disk-image/overlay-refused", test_overlay_refused);
  g_test_add_func ("/disk-image/virtual-size", test_virtual_size);
  g_test_add_func ("/disk-image/read-qcow2", test_read_qcow2);
  g_test_add_func ("/disk-image/record", test_record);
  ret = g_test_run ();
  ql_test_rm_rf (tmp);
  g_free (tmp);
  return ret;
}
