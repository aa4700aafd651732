/* Tests: the registry cache, through the qlaunch command (each call is a
 * new process, as in real use).
 *
 * A private plugin directory holds copies of some of the build's plugins
 * and a broken fixture; $QLAUNCH_CACHE_DIR is private too. Which plugin
 * files a call opened, in qlaunch or in its plugin scanner, is read from
 * the library's debug messages ("loaded plugin 'F' from ...", "plugin
 * scanner opened 'F' from ..."; G_MESSAGES_DEBUG=qlaunch). Checked:
 *   - a cold call opens every file and writes the cache (0600 in a 0700
 *     directory); a warm `args` opens only the plugin the VM uses;
 *   - touching, replacing, adding or removing a plugin file is seen by the
 *     next call, which opens just that file;
 *   - a plugin directory that has not changed since its listing in the
 *     cache was read is not read again; adding or removing a file is
 *     still seen by the next call; a listing that makes no sense is
 *     ignored;
 *   - with a warm cache, the files the cache file vouches for are taken
 *     without decoding their records, and a device type is found through
 *     the file's type index; an index out of order, lying, or naming a
 *     non-type, two files with one type cached apart, a family in two
 *     directories and an unknown type all print what they would without
 *     the cache;
 *   - a failed plugin is reported at every call but opened only once;
 *   - a cache that is truncated, damaged, of another format or written by
 *     another qlaunch version is ignored and rewritten; one in a directory
 *     others may write is neither read nor written;
 *   - `inspect` (all, and one type) and `args` print the same bytes with
 *     and without the cache, `inspect` of every device type of the build's
 *     plugins included; with a warm cache, `inspect` (all, or one type:
 *     what bash completion runs) opens no plugin file;
 *     QLAUNCH_REGISTRY_CACHE=0 and --no-registry-cache open every file;
 *   - the device type descriptions of the cache are read as untrusted
 *     input: an entry whose descriptions lie past the end of their
 *     section is ignored and its file scanned again; descriptions cut
 *     short or that make no sense are found out when a type is described,
 *     which then opens the plugin and writes its entry again;
 *   - plugins that crash, abort or hang in their init are found out by
 *     the plugin scanner once, reported once per call, and qlaunch goes on
 *     with the others; the new files are scanned in one scanner process,
 *     and a new one after each file that took its scanner down.
 */
#include "ql-test-cache.h"
#include "ql-test-util.h"

#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <utime.h>

#include <glib/gstdio.h>

typedef struct
{
  char *root;
  char *plugin_dir;
  char *cache_dir;
  char *cache_file;
  char *vm_file;
} Fixture;

/* What the last run_opened() printed, debug messages included. */
static char *last_said;

static const char * const copied[] = { "balloon", "block", "rng", NULL };

static void
copy_file (const char *from,
           const char *to)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *tmp = g_strconcat (to, ".tmp", NULL);
  gsize len = 0;

  g_file_get_contents (from, &contents, &len, &error);
  g_assert_no_error (error);
  g_file_set_contents_full (tmp, contents, (gssize) len, G_FILE_SET_CONTENTS_NONE, 0755, &error);
  g_assert_no_error (error);
  /* A new inode, as an install or a rebuild gives. */
  g_assert_cmpint (g_rename (tmp, to), ==, 0);
}

static char *
plugin_path (Fixture    *f,
             const char *family)
{
  g_autofree char *name = g_strdup_printf ("libqlaunch-%s.so", family);

  return g_build_filename (f->plugin_dir, name, NULL);
}

static void
install_plugin (Fixture    *f,
                const char *family)
{
  g_autofree char *name = g_strdup_printf ("libqlaunch-%s.so", family);
  g_autofree char *from = g_build_filename (g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"), name, NULL);
  g_autofree char *to = plugin_path (f, family);

  copy_file (from, to);
}

/* The one registry cache file, registry-ARCH.cache. */
static char *
cache_file_path (const char *cache_dir)
{
  struct utsname u;
  g_autofree char *name = NULL;

  g_assert_cmpint (uname (&u), ==, 0);
  name = g_strdup_printf ("registry-%s.cache", u.machine);
  return g_build_filename (cache_dir, name, NULL);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *initfail = NULL;
  g_autofree char *initfail_to = NULL;

  (void) data;
  f->root = ql_test_make_safe_tmpdir ();
  f->plugin_dir = g_build_filename (f->root, "plugins", NULL);
  f->cache_dir = g_build_filename (f->root, "cache", NULL);
  f->cache_file = cache_file_path (f->cache_dir);
  f->vm_file = g_build_filename (f->root, "vm.vm", NULL);
  g_assert_cmpint (g_mkdir (f->plugin_dir, 0755), ==, 0);
  g_assert_cmpint (chmod (f->root, 0755), ==, 0);
  for (guint i = 0; copied[i] != NULL; i++)
    install_plugin (f, copied[i]);
  initfail = g_build_filename (g_getenv ("QLAUNCH_FIXTURE_DIR"), "libqlaunch-initfail.so", NULL);
  initfail_to = plugin_path (f, "initfail");
  copy_file (initfail, initfail_to);
  g_file_set_contents (f->vm_file, "[vm]\nname = cached\n[device rng0]\ntype = rng\n", -1, &error);
  g_assert_no_error (error);
  g_setenv ("QLAUNCH_CACHE_DIR", f->cache_dir, TRUE);
  g_setenv ("G_MESSAGES_DEBUG", "qlaunch", TRUE);
  g_unsetenv ("QLAUNCH_REGISTRY_CACHE");
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  (void) data;
  g_unsetenv ("G_MESSAGES_DEBUG");
  g_unsetenv ("QLAUNCH_CACHE_DIR");
  g_unsetenv ("QLAUNCH_REGISTRY_CACHE");
  g_clear_pointer (&last_said, g_free);
  ql_test_rm_rf (f->root);
  g_free (f->root);
  g_free (f->plugin_dir);
  g_free (f->cache_dir);
  g_free (f->cache_file);
  g_free (f->vm_file);
}

/* Runs qlaunch with the private plugin directory and @args; returns the
 * families it opened, sorted and joined with ','. Asserts exit 0. */
static char *
run_opened (Fixture     *f,
            const char  *first_arg,
            ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(GPtrArray) opened = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *both = NULL;
  g_auto(GStrv) lines = NULL;
  va_list ap;
  int status;

  g_ptr_array_add (args, (gpointer) "--plugin-dir");
  g_ptr_array_add (args, f->plugin_dir);
  va_start (ap, first_arg);
  for (const char *a = first_arg; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  status = ql_test_run_cli ((const char * const *) args->pdata, &out, &err);
  if (status != 0)
    g_error ("qlaunch exited %d:\n%s\n%s", status, out, err);
  both = g_strconcat (out, "\n", err, NULL);
  g_test_message ("qlaunch said:\n%s", both);
  g_free (last_said);
  last_said = g_strdup (both);
  lines = g_strsplit (both, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *markers[] = { "loaded plugin '", "plugin scanner opened '" };

      /* A plugin that fails in-process never gets as far as "loaded":
       * its error's debug line, not from the cache, tells. */
      if (strstr (lines[i], "-DEBUG") != NULL && strstr (lines[i], "cannot find its firmware") != NULL
          && strstr (lines[i], "(from the registry cache)") == NULL
          && !g_ptr_array_find_with_equal_func (opened, "initfail", g_str_equal, NULL))
        g_ptr_array_add (opened, g_strdup ("initfail"));

      for (guint m = 0; m < G_N_ELEMENTS (markers); m++)
        {
          const char *p = strstr (lines[i], markers[m]);
          const char *end;
          g_autofree char *family = NULL;

          if (p == NULL)
            continue;
          p += strlen (markers[m]);
          end = strchr (p, '\'');
          g_assert_nonnull (end);
          family = g_strndup (p, (gsize) (end - p));
          if (!g_ptr_array_find_with_equal_func (opened, family, g_str_equal, NULL))
            g_ptr_array_add (opened, g_steal_pointer (&family));
        }
    }
  g_ptr_array_sort (opened, compare_strings);
  g_ptr_array_add (opened, NULL);
  return g_strjoinv (",", (char **) opened->pdata);
}

static char *
args_opened (Fixture *f)
{
  return run_opened (f, "args", "--no-host-checks", f->vm_file, NULL);
}

static void
assert_opened (char       *got,
               const char *expected)
{
  g_assert_cmpstr (got, ==, expected);
  g_free (got);
}

static void
test_cold_then_warm (Fixture       *f,
                     gconstpointer  data)
{
  struct stat st;

  (void) data;
  assert_opened (args_opened (f), "balloon,block,initfail,rng");
  g_assert_cmpint (g_stat (f->cache_file, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (f->cache_dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  /* Warm: only what the VM uses; the broken plugin is not reopened. */
  assert_opened (args_opened (f), "rng");
  assert_opened (args_opened (f), "rng");
  assert_opened (run_opened (f, "check", "--no-host-checks", f->vm_file, NULL), "rng");
  /* What `inspect` shows is in the cache: nothing is opened. */
  assert_opened (run_opened (f, "inspect", "balloon", NULL), "");
  assert_opened (run_opened (f, "inspect", NULL), "");
}

static void
test_changes_seen (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *balloon = plugin_path (f, "balloon");
  g_autofree char *block = plugin_path (f, "block");
  g_autofree char *vsock = plugin_path (f, "vsock");
  (void) data;
  assert_opened (args_opened (f), "balloon,block,initfail,rng");

  /* Touched: a new mtime. */
  {
    struct utimbuf times = { .actime = 1000000000, .modtime = 1000000000 };

    g_assert_cmpint (utime (balloon, &times), ==, 0);
  }
  assert_opened (args_opened (f), "balloon,rng");
  assert_opened (args_opened (f), "rng");

  /* Replaced (a new inode, same size and contents). */
  install_plugin (f, "block");
  assert_opened (args_opened (f), "block,rng");

  /* chmod changes only the ctime. */
  g_assert_cmpint (chmod (block, 0700), ==, 0);
  assert_opened (args_opened (f), "block,rng");
  assert_opened (args_opened (f), "rng");

  /* Added. */
  install_plugin (f, "vsock");
  assert_opened (args_opened (f), "rng,vsock");
  assert_opened (args_opened (f), "rng");
  assert_opened (run_opened (f, "inspect", NULL), "");

  /* Removed: gone from `inspect`, and the cache no longer lists it. */
  g_assert_cmpint (g_unlink (vsock), ==, 0);
  {
    g_autofree char *out = NULL;
    const char *args[] = { "--plugin-dir", f->plugin_dir, "inspect", NULL };

    g_assert_cmpint (ql_test_run_cli (args, &out, NULL), ==, 0);
    g_assert_null (strstr (out, "vsock"));
    g_assert_nonnull (strstr (out, "balloon"));
  }
  /* The broken plugin changed: opened again, once. */
  {
    g_autofree char *initfail = plugin_path (f, "initfail");
    struct utimbuf times = { .actime = 1000000000, .modtime = 1000000000 };

    g_assert_cmpint (utime (initfail, &times), ==, 0);
  }
  assert_opened (args_opened (f), "initfail,rng");
  assert_opened (args_opened (f), "rng");
}

static void
rewrite_cache (Fixture    *f,
               const char *contents,
               gsize       len)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents_full (f->cache_file, contents, (gssize) len, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error);
  g_assert_no_error (error);
}

static void
rewrite_cache_hashed (Fixture *f,
                      char    *copy,
                      gsize    len)
{
  ql_test_cache_rehash (copy);
  rewrite_cache (f, copy, len);
}

static void
test_bad_cache_rewritten (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *good = NULL;
  gsize good_len = 0;
  g_autofree char *copy = NULL;

  (void) data;
  assert_opened (args_opened (f), "balloon,block,initfail,rng");
  g_file_get_contents (f->cache_file, &good, &good_len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (good_len, >, 64);

  /* Truncated. */
  rewrite_cache (f, good, good_len / 2);
  assert_opened (args_opened (f), "balloon,block,initfail,rng");
  assert_opened (args_opened (f), "rng");

  /* Damaged: one payload byte flipped. */
  copy = g_memdup2 (good, good_len);
  copy[24 + ql_test_cache_payload_length (good) - 20] ^= 0x5a;
  rewrite_cache (f, copy, good_len);
  assert_opened (args_opened (f), "balloon,block,initfail,rng");
  assert_opened (args_opened (f), "rng");

  /* Another format (the magic's format byte). */
  memcpy (copy, good, good_len);
  copy[7] ^= 0x7f;
  rewrite_cache (f, copy, good_len);
  assert_opened (args_opened (f), "balloon,block,initfail,rng");
  assert_opened (args_opened (f), "rng");

  /* Written by another qlaunch version: a well-formed file, hash right,
   * whose version string differs. */
  {
    const char *from = QL_VERSION;
    char *at = memmem (good, good_len, from, strlen (from));

    g_assert_nonnull (at);
    memcpy (copy, good, good_len);
    copy[at - good] = at[0] == '9' ? '8' : '9';
    rewrite_cache_hashed (f, copy, good_len);
  }
  assert_opened (args_opened (f), "balloon,block,initfail,rng");
  assert_opened (args_opened (f), "rng");

  /* Edited, and its hash recomputed: the paths out of order ('balloon'
   * renamed 'zalloon' in the paths, not in the plugin directory's
   * listing). */
  {
    char *at;

    memcpy (copy, good, good_len);
    at = memmem (copy, good_len, "plugins/libqlaunch-balloon.so", 29);
    g_assert_nonnull (at);
    at[strlen ("plugins/libqlaunch-")] = 'z';
    rewrite_cache_hashed (f, copy, good_len);
  }
  assert_opened (args_opened (f), "balloon,block,initfail,rng");
  assert_opened (args_opened (f), "rng");

  /* Edited, and its hash recomputed: the payload's last framing offset
   * (where its first string, the format, ends; 2 bytes at this size) set
   * to 0, so that the string has no bytes. */
  g_assert_cmpuint (ql_test_cache_payload_length (good), >, 255);
  g_assert_cmpuint (ql_test_cache_payload_length (good), <, 65536);
  memcpy (copy, good, good_len);
  copy[24 + ql_test_cache_payload_length (good) - 1] = 0;
  copy[24 + ql_test_cache_payload_length (good) - 2] = 0;
  rewrite_cache_hashed (f, copy, good_len);
  assert_opened (args_opened (f), "balloon,block,initfail,rng");
  assert_opened (args_opened (f), "rng");

  /* Garbage of the right size. */
  memset (copy, 'x', good_len);
  rewrite_cache (f, copy, good_len);
  assert_opened (args_opened (f), "balloon,block,initfail,rng");
  assert_opened (args_opened (f), "rng");
}

static void
test_unsafe_cache_dir (Fixture       *f,
                       gconstpointer  data)
{
  struct stat before, after;

  (void) data;
  assert_opened (args_opened (f), "balloon,block,initfail,rng");
  g_assert_cmpint (chmod (f->cache_dir, 0777), ==, 0);
  g_assert_cmpint (g_stat (f->cache_file, &before), ==, 0);
  /* Neither read nor written. */
  assert_opened (args_opened (f), "balloon,block,initfail,rng");
  assert_opened (args_opened (f), "balloon,block,initfail,rng");
  g_assert_cmpint (g_stat (f->cache_file, &after), ==, 0);
  g_assert_cmpint (before.st_ino, ==, after.st_ino);
  g_assert_cmpint (before.st_mtim.tv_nsec, ==, after.st_mtim.tv_nsec);
  g_assert_cmpint (chmod (f->cache_dir, 0700), ==, 0);
  g_assert_cmpint (chmod (f->cache_file, 0666), ==, 0);
  assert_opened (args_opened (f), "balloon,block,initfail,rng");
}

static void
test_switches (Fixture       *f,
               gconstpointer  data)
{
  (void) data;
  assert_opened (args_opened (f), "balloon,block,initfail,rng");
  assert_opened (run_opened (f, "--no-registry-cache", "args", "--no-host-checks", f->vm_file, NULL),
                 "balloon,block,initfail,rng");
  g_setenv ("QLAUNCH_REGISTRY_CACHE", "0", TRUE);
  assert_opened (args_opened (f), "balloon,block,initfail,rng");
  g_unsetenv ("QLAUNCH_REGISTRY_CACHE");
  assert_opened (args_opened (f), "rng");
}

static char *
cli_output (Fixture    *f,
            gboolean    cache,
            const char *first_arg,
            ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  va_list ap;
  int status;

  if (!cache)
    g_ptr_array_add (args, (gpointer) "--no-registry-cache");
  g_ptr_array_add (args, (gpointer) "--plugin-dir");
  g_ptr_array_add (args, f->plugin_dir);
  va_start (ap, first_arg);
  for (const char *a = first_arg; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  status = ql_test_run_cli ((const char * const *) args->pdata, &out, &err);
  return g_strdup_printf ("status %d\nstdout:\n%s\nstderr:\n%s", status, out, err);
}

static void
test_same_output (Fixture       *f,
                  gconstpointer  data)
{
  (void) data;
  g_unsetenv ("G_MESSAGES_DEBUG");
  /* Warm the cache, then compare each command both ways. */
  g_free (cli_output (f, TRUE, "inspect", NULL));
  {
    g_autofree char *with = cli_output (f, TRUE, "inspect", NULL);
    g_autofree char *without = cli_output (f, FALSE, "inspect", NULL);

    g_assert_cmpstr (with, ==, without);
    g_assert_nonnull (strstr (with, "cannot find its firmware"));
  }
  {
    g_autofree char *with = cli_output (f, TRUE, "inspect", "rng", NULL);
    g_autofree char *without = cli_output (f, FALSE, "inspect", "rng", NULL);

    g_assert_cmpstr (with, ==, without);
  }
  {
    g_autofree char *with = cli_output (f, TRUE, "args", "--no-host-checks", "--format", "json", f->vm_file, NULL);
    g_autofree char *without = cli_output (f, FALSE, "args", "--no-host-checks", "--format", "json", f->vm_file, NULL);

    g_assert_cmpstr (with, ==, without);
  }
  {
    /* An unknown type lists the cached types too. */
    g_autofree char *with = cli_output (f, TRUE, "args", "--no-host-checks", "-d", "rgn", f->vm_file, NULL);
    g_autofree char *without = cli_output (f, FALSE, "args", "--no-host-checks", "-d", "rgn", f->vm_file, NULL);

    g_assert_cmpstr (with, ==, without);
    g_assert_nonnull (strstr (with, "did you mean 'rng'"));
  }
}

/* The device types of `inspect`'s listing. */
static GPtrArray *
listed_types (const char *listing)
{
  g_autoptr(GPtrArray) types = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) lines = g_strsplit (listing, "\n", -1);
  gboolean in_list = FALSE;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (strcmp (lines[i], "Device types:") == 0)
        in_list = TRUE;
      else if (in_list && lines[i][0] == '\0')
        break;
      else if (in_list)
        {
          g_auto(GStrv) words = g_strsplit_set (g_strstrip (lines[i]), " ", 2);

          g_ptr_array_add (types, g_strdup (words[0]));
        }
    }
  return g_steal_pointer (&types);
}

/* Every device type of the build's plugins: `inspect TYPE` prints the
 * same bytes with a warm cache as without one, and opens no plugin. */
static void
test_all_types_from_cache (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *without = NULL;
  g_autofree char *with = NULL;
  g_autofree char *summary = NULL;
  g_autoptr(GPtrArray) types = NULL;

  (void) data;
  g_free (f->plugin_dir);
  f->plugin_dir = g_strdup (g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"));
  g_unsetenv ("G_MESSAGES_DEBUG");
  without = cli_output (f, FALSE, "inspect", NULL);
  g_free (cli_output (f, TRUE, "inspect", NULL));
  with = cli_output (f, TRUE, "inspect", NULL);
  g_assert_cmpstr (with, ==, without);
  types = listed_types (without);
  summary = g_strdup_printf (" plugins, %u device types.", types->len);
  g_assert_nonnull (strstr (without, summary));
  g_assert_cmpuint (types->len, >, 1);
  for (guint i = 0; i < types->len; i++)
    {
      const char *type = g_ptr_array_index (types, i);
      g_autofree char *type_with = cli_output (f, TRUE, "inspect", type, NULL);
      g_autofree char *type_without = cli_output (f, FALSE, "inspect", type, NULL);

      g_test_message ("inspect %s", type);
      g_assert_cmpstr (type_with, ==, type_without);
      g_assert_nonnull (strstr (type_with, "status 0\n"));
      g_assert_nonnull (strstr (type_with, "\nProperties:\n  id\n"));
    }
  g_setenv ("G_MESSAGES_DEBUG", "qlaunch", TRUE);
  for (guint i = 0; i < types->len; i++)
    assert_opened (run_opened (f, "inspect", g_ptr_array_index (types, i), NULL), "");
  assert_opened (run_opened (f, "inspect", NULL), "");
}

/* Writes @copy as the cache, its header's hash made right: what only the
 * checks of the content can find out. */

/* Where the identity of @path's entry is in the cache @data: its device
 * and inode, the first fields of the record. */
static gsize
identity_offset (const char *data,
                 gsize       len,
                 const char *path)
{
  struct stat st;
  guint64 key[2];
  const char *at;

  g_assert_cmpint (stat (path, &st), ==, 0);
  key[0] = (guint64) st.st_dev;
  key[1] = (guint64) st.st_ino;
  at = memmem (data, len, key, sizeof key);
  g_assert_nonnull (at);
  g_assert_null (memmem (at + 1, len - (gsize) (at + 1 - data), key, sizeof key));
  return (gsize) (at - data);
}

static void
set_u32 (char    *data,
         gsize    offset,
         guint32  value)
{
  memcpy (data + offset, &value, sizeof value);
}

static guint32
get_u32 (const char *data,
         gsize       offset)
{
  guint32 value;

  memcpy (&value, data + offset, sizeof value);
  return value;
}

/* The identity record: 5 64-bit words, then the error code, ABI major and
 * minor, texts offset and length, types offset and length (32 bits), then
 * the types' hash (64 bits, 8-aligned). */
#define TYPES_OFFSET_AT 60
#define TYPES_LENGTH_AT 64
#define TYPES_HASH_AT 72

/* Where the descriptions of the entry whose identity is @at are in @data:
 * in the tail, after the payload (8-aligned). */
static gsize
types_offset (const char *data,
              gsize       at)
{
  return 24 + ((ql_test_cache_payload_length (data) + 7) & ~(gsize) 7) + get_u32 (data, at + TYPES_OFFSET_AT);
}

/* Makes the hash of the descriptions of the entry whose identity is @at
 * right, so that only the checks of what they say can find them out. */
static void
rehash_types (char  *data,
              gsize  at)
{
  guint64 hash = ql_test_cache_hash ((const guint8 *) data + types_offset (data, at), get_u32 (data, at + TYPES_LENGTH_AT));

  memcpy (data + at + TYPES_HASH_AT, &hash, sizeof hash);
}

/* The device type descriptions of the cache are untrusted input. */
static void
test_bad_descriptions (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *balloon = plugin_path (f, "balloon");
  g_autofree char *good = NULL;
  g_autofree char *copy = NULL;
  g_autofree char *expected = NULL;
  gsize good_len = 0, at;
  guint n_names = 0;

  (void) data;
  assert_opened (args_opened (f), "balloon,block,initfail,rng");
  g_file_get_contents (f->cache_file, &good, &good_len, &error);
  g_assert_no_error (error);
  copy = g_memdup2 (good, good_len);
  at = identity_offset (good, good_len, balloon);
  g_assert_cmpuint (get_u32 (good, at + TYPES_LENGTH_AT), >, 0);
  g_unsetenv ("G_MESSAGES_DEBUG");
  expected = cli_output (f, FALSE, "inspect", "balloon", NULL);
  g_setenv ("G_MESSAGES_DEBUG", "qlaunch", TRUE);

  /* Pointing past the end of their section, or reaching past it: the
   * entry is ignored when met, and the file scanned again. */
  set_u32 (copy, at + TYPES_OFFSET_AT, 0x7fffff00);
  rewrite_cache_hashed (f, copy, good_len);
  assert_opened (args_opened (f), "balloon,rng");
  assert_opened (args_opened (f), "rng");
  assert_opened (run_opened (f, "inspect", "balloon", NULL), "");

  memcpy (copy, good, good_len);
  set_u32 (copy, at + TYPES_LENGTH_AT, get_u32 (good, at + TYPES_LENGTH_AT) + (guint32) good_len);
  rewrite_cache_hashed (f, copy, good_len);
  assert_opened (args_opened (f), "balloon,rng");
  assert_opened (run_opened (f, "inspect", "balloon", NULL), "");

  /* An entry that loaded but has none. */
  memcpy (copy, good, good_len);
  set_u32 (copy, at + TYPES_LENGTH_AT, 0);
  rewrite_cache_hashed (f, copy, good_len);
  assert_opened (args_opened (f), "balloon,rng");
  assert_opened (run_opened (f, "inspect", "balloon", NULL), "");

  /* A byte changed (its hash tells), cut short, a count of types that
   * lies, a property name that is no name: `args` does not read
   * descriptions (nothing opened but what the VM uses); `inspect` finds
   * them out, opens the plugin instead, prints what it would have
   * without the cache, and writes the entry again. */
  for (guint round = 0; round < 4; round++)
    {
      gsize types = types_offset (good, at);

      memcpy (copy, good, good_len);
      if (round == 0)
        copy[types + 40] ^= 0x20;
      else if (round == 1)
        set_u32 (copy, at + TYPES_LENGTH_AT, get_u32 (good, at + TYPES_LENGTH_AT) / 2);
      else if (round == 2)
        set_u32 (copy, types, 1000);
      else
        for (char *p = copy + types; (p = memmem (p, good_len - (gsize) (p - copy), "deflate-on-oom", 15)) != NULL; p++)
          {
            *p = 'D';
            n_names++;
          }
      if (round > 0)
        rehash_types (copy, at);
      rewrite_cache_hashed (f, copy, good_len);
      assert_opened (args_opened (f), "rng");
      assert_opened (run_opened (f, "inspect", "balloon", NULL), "balloon");
      assert_opened (run_opened (f, "inspect", "balloon", NULL), "");

      rewrite_cache_hashed (f, copy, good_len);
      g_unsetenv ("G_MESSAGES_DEBUG");
      {
        g_autofree char *with = cli_output (f, TRUE, "inspect", "balloon", NULL);

        g_assert_cmpstr (with, ==, expected);
      }
      g_setenv ("G_MESSAGES_DEBUG", "qlaunch", TRUE);
    }
  g_assert_cmpuint (n_names, >, 0);

  /* The previous format's string: the whole file is ignored. */
  {
    char *format = memmem (good, good_len, "qlaunch-registry-6", 18);

    g_assert_nonnull (format);
    memcpy (copy, good, good_len);
    copy[format - good + 17] = '5';
    rewrite_cache_hashed (f, copy, good_len);
    assert_opened (args_opened (f), "balloon,block,initfail,rng");
    assert_opened (args_opened (f), "rng");
  }
}

/* Whether the last call took the plugin directory's files from the
 * cache's listing instead of reading the directory. */
static gboolean
listed_from_cache (void)
{
  return strstr (last_said, "unchanged: its files as the registry cache listed them") != NULL;
}

/* Waits until the plugin directory's last change is more than 2 s old: a
 * listing read from then on is one the cache trusts. */
static void
settle (Fixture *f)
{
  struct stat st;
  gint64 settled_us;

  g_assert_cmpint (g_stat (f->plugin_dir, &st), ==, 0);
  settled_us = (gint64) st.st_ctim.tv_sec * G_USEC_PER_SEC + st.st_ctim.tv_nsec / 1000 + 2200 * 1000;
  while (g_get_real_time () < settled_us)
    g_usleep ((gulong) (settled_us - g_get_real_time ()));
}

/* Edits the cache file as a user with an editor could: the byte @offset
 * bytes into the first @needle (@len bytes) becomes @byte, and the hash is
 * recomputed. */
static void
edit_cache (Fixture    *f,
            const char *needle,
            gsize       len,
            gsize       offset,
            char        byte)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize contents_len = 0;
  char *at;

  g_file_get_contents (f->cache_file, &contents, &contents_len, &error);
  g_assert_no_error (error);
  at = memmem (contents, contents_len, needle, len);
  g_assert_nonnull (at);
  at[offset] = byte;
  rewrite_cache_hashed (f, contents, contents_len);
}

static void
test_dir_listing (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *vsock = plugin_path (f, "vsock");

  (void) data;
  assert_opened (args_opened (f), "balloon,block,initfail,rng");
  settle (f);
  /* The first call after the directory settled reads it again (the
   * listing it had was read too soon after the last change); the next
   * takes the listing. */
  assert_opened (args_opened (f), "rng");
  assert_opened (args_opened (f), "rng");
  g_assert_true (listed_from_cache ());
  assert_opened (run_opened (f, "inspect", NULL), "");
  g_assert_true (listed_from_cache ());
  g_assert_nonnull (strstr (last_said, "balloon"));

  /* Added: the directory changed, so it is read. */
  install_plugin (f, "vsock");
  assert_opened (args_opened (f), "rng,vsock");
  g_assert_false (listed_from_cache ());
  /* That listing was read less than 2 s after the change (if this call
   * returned by then): the next call reads the directory again. */
  {
    struct stat st;
    gint64 changed_us;

    g_assert_cmpint (g_stat (f->plugin_dir, &st), ==, 0);
    changed_us = (gint64) st.st_ctim.tv_sec * G_USEC_PER_SEC + st.st_ctim.tv_nsec / 1000;
    if (g_get_real_time () < changed_us + 2 * G_USEC_PER_SEC)
      {
        assert_opened (args_opened (f), "rng");
        g_assert_false (listed_from_cache ());
      }
    else
      g_test_message ("slow machine: the call took 2 s, the unsettled listing not checked");
  }

  /* Removed, after a listing with it. */
  settle (f);
  assert_opened (args_opened (f), "rng");
  assert_opened (args_opened (f), "rng");
  g_assert_true (listed_from_cache ());
  g_assert_cmpint (g_unlink (vsock), ==, 0);
  assert_opened (run_opened (f, "inspect", NULL), "");
  g_assert_false (listed_from_cache ());
  g_assert_null (strstr (last_said, "vsock"));

  /* A listing out of order: ignored, the directory read, the listing
   * written again. */
  settle (f);
  assert_opened (args_opened (f), "rng");
  assert_opened (args_opened (f), "rng");
  g_assert_true (listed_from_cache ());
  edit_cache (f, "libqlaunch-balloon.so\0libqlaunch-block.so", 41, strlen ("libqlaunch-"), 'z');
  assert_opened (args_opened (f), "rng");
  g_assert_false (listed_from_cache ());
  assert_opened (args_opened (f), "rng");
  g_assert_true (listed_from_cache ());

  /* A listing in order that names a file the directory does not have
   * ('rng' listed as 'rnz'): found out by that file's check, the
   * directory read, the rng plugin still found. */
  edit_cache (f, "initfail.so\0libqlaunch-rng.so", 30, strlen ("initfail.so_libqlaunch-rn"), 'z');
  assert_opened (args_opened (f), "rng");
  g_assert_nonnull (strstr (last_said, "libqlaunch-rnz.so' of the registry cache's listing is missing"));
  assert_opened (args_opened (f), "rng");
  g_assert_true (listed_from_cache ());
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Plugins that crash, abort and hang in their init: the scanner finds
 * each out once, qlaunch reports each once per call and goes on. */
static void
test_unsafe_plugins (Fixture       *f,
                     gconstpointer  data)
{
  const char * const unsafe[] = { "crash", "abort", "hang", NULL };
  const char * const reasons[] = { "signal 11", "signal 6", "hung while loading", NULL };

  (void) data;
  if (g_getenv ("QLAUNCH_PLUGIN_SCANNER") == NULL)
    {
      g_test_skip ("no plugin scanner ($QLAUNCH_PLUGIN_SCANNER)");
      return;
    }
  for (guint i = 0; unsafe[i] != NULL; i++)
    {
      g_autofree char *name = g_strdup_printf ("libqlaunch-%s.so", unsafe[i]);
      g_autofree char *from = g_build_filename (g_getenv ("QLAUNCH_UNSAFE_FIXTURE_DIR"), name, NULL);
      g_autofree char *to = g_build_filename (f->plugin_dir, name, NULL);

      copy_file (from, to);
    }
  g_setenv ("QLAUNCH_PLUGIN_SCAN_TIMEOUT_MS", "1500", TRUE);
  for (guint round = 0; round < 2; round++)
    {
      const char *args[] = { "--plugin-dir", f->plugin_dir, "args", "--no-host-checks", f->vm_file, NULL };
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;

      /* The first call scans every file in one scanner process, and in a
       * new one after each file that took its scanner down: one more
       * process than there are unsafe files, unless the last file (in
       * name order) is one of them. */
      if (round == 0)
        {
          g_autoptr(GDir) dir = g_dir_open (f->plugin_dir, 0, NULL);
          g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
          g_autofree char *expected = NULL;
          g_autofree char *debug_err = NULL;
          g_autofree char *both = NULL;
          const char *name;
          guint processes = g_strv_length ((char **) unsafe);
          const char *tail;

          while ((name = g_dir_read_name (dir)) != NULL)
            if (g_str_has_prefix (name, "libqlaunch-") && g_str_has_suffix (name, ".so"))
              g_ptr_array_add (names, g_strdup (name));
          g_ptr_array_sort (names, compare_names);
          tail = g_ptr_array_index (names, names->len - 1);
          if (!g_str_has_prefix (tail, "libqlaunch-crash") && !g_str_has_prefix (tail, "libqlaunch-abort")
              && !g_str_has_prefix (tail, "libqlaunch-hang"))
            processes++;
          expected = g_strdup_printf ("plugin scanner: %u new or changed files in %u processes",
                                      names->len, processes);
          g_setenv ("G_MESSAGES_DEBUG", "qlaunch", TRUE);
          g_assert_cmpint (ql_test_run_cli (args, &out, &debug_err), ==, 0);
          /* Debug messages go to standard output. */
          both = g_strconcat (out, debug_err, NULL);
          g_test_message ("expected '%s' in:\n%s", expected, both);
          g_assert_nonnull (strstr (both, expected));
          g_clear_pointer (&out, g_free);
          /* The same call, now warm, for the checks below. */
          ql_test_rm_rf (f->cache_dir);
          g_assert_cmpint (g_mkdir (f->cache_dir, 0700), ==, 0);
        }
      g_unsetenv ("G_MESSAGES_DEBUG");
      g_assert_cmpint (ql_test_run_cli (args, &out, &err), ==, 0);
      g_assert_nonnull (strstr (out, "virtio-rng-pci"));
      for (guint i = 0; unsafe[i] != NULL; i++)
        {
          g_autofree char *file = g_strdup_printf ("libqlaunch-%s.so'", unsafe[i]);
          const char *first = strstr (err, file);

          g_assert_nonnull (first);
          /* Once per call. */
          g_assert_null (strstr (first + 1, file));
          g_assert_nonnull (strstr (first, reasons[i]));
        }
      /* No core dump message, no GLib warning: only the four skipped plugins. */
      {
        g_auto(GStrv) lines = g_strsplit (g_strstrip (err), "\n", -1);

        g_assert_cmpuint (g_strv_length (lines), ==, 4);
        for (guint i = 0; lines[i] != NULL; i++)
          g_assert_true (g_str_has_prefix (lines[i], "qlaunch: warning: plugin skipped: "));
      }
    }
  /* The second call ran no scanner: every answer came from the cache. */
  g_setenv ("G_MESSAGES_DEBUG", "qlaunch", TRUE);
  {
    const char *args[] = { "--plugin-dir", f->plugin_dir, "args", "--no-host-checks", f->vm_file, NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;
    g_autofree char *both = NULL;
    guint cached = 0;

    g_assert_cmpint (ql_test_run_cli (args, &out, &err), ==, 0);
    both = g_strconcat (out, err, NULL);
    for (const char *p = both; (p = strstr (p, "(from the registry cache)")) != NULL; p++)
      cached++;
    g_assert_cmpuint (cached, ==, 4);
  }
  g_unsetenv ("QLAUNCH_PLUGIN_SCAN_TIMEOUT_MS");
}

/* cli_output() without the debug messages run_opened() reads. */
#define quiet_output(...) \
  (g_unsetenv ("G_MESSAGES_DEBUG"), \
   quiet_output_end (cli_output (__VA_ARGS__)))

static char *
quiet_output_end (char *output)
{
  g_setenv ("G_MESSAGES_DEBUG", "qlaunch", TRUE);
  return output;
}

/* Where in @contents (a cache file) child @child of the payload starts
 * (it must be a fixed-size array of @elem_size bytes), and its length in
 * elements. The payload's type, as qlaunch writes it. */
static gsize
payload_array_at (const char *contents,
                  int         child,
                  gsize       elem_size,
                  gsize      *n)
{
  gsize payload_len = ql_test_cache_payload_length (contents);
  g_autoptr(GBytes) bytes = g_bytes_new (contents + QL_TEST_CACHE_HEADER_SIZE, payload_len);
  g_autoptr(GVariant) data = g_variant_ref_sink (
    g_variant_new_from_bytes (G_VARIANT_TYPE ("(ssaya(tttxxiuuuuuuut)aya(ttxxxuuuu)aya(uu))"), bytes, TRUE));
  g_autoptr(GVariant) array = g_variant_get_child_value (data, child);
  const char *start = g_variant_get_fixed_array (array, n, elem_size);

  return QL_TEST_CACHE_HEADER_SIZE + (gsize) (start - (const char *) g_bytes_get_data (bytes, NULL));
}

/* With a warm cache, a first scan takes the plugin files the cache file
 * vouches for without decoding their entries, and finds a device type
 * through the file's sorted type index; anything else (all plugins
 * listed, an unknown type, an index that makes no sense or lies) makes
 * them ordinary pending files first. What qlaunch prints is the same as
 * without the cache, each way. */
static void
test_lazy (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *good = NULL;
  g_autofree char *copy = NULL;
  g_autofree char *unknown_vm = g_build_filename (f->root, "unknown.vm", NULL);
  g_autofree char *dir2 = g_build_filename (f->root, "plugins2", NULL);
  g_autofree char *dir3 = g_build_filename (f->root, "plugins3", NULL);
  gsize good_len = 0, n_refs = 0, n_texts = 0, refs_at, texts_at;

  (void) data;
  assert_opened (args_opened (f), "balloon,block,initfail,rng");
  expected = quiet_output (f, FALSE, "args", "--no-host-checks", f->vm_file, NULL);

  /* Warm: balloon, block and rng taken in place, initfail's failure
   * reported from the cache; only rng opened. */
  assert_opened (args_opened (f), "rng");
  g_assert_nonnull (strstr (last_said, "3 plugin files taken as the registry cache vouches for them"));
  g_assert_null (strstr (last_said, "made pending"));
  g_assert_nonnull (strstr (last_said, "cannot find its firmware"));
  {
    g_autofree char *with = quiet_output (f, TRUE, "args", "--no-host-checks", f->vm_file, NULL);

    g_assert_cmpstr (with, ==, expected);
  }
  assert_opened (run_opened (f, "inspect", NULL), "");
  g_assert_nonnull (strstr (last_said, "3 plugin files the registry cache vouched for made pending"));

  /* An unknown device type: the error lists the known ones. */
  g_file_set_contents (unknown_vm, "[vm]\nname = unknown\n[device x0]\ntype = nosuch\n", -1, &error);
  g_assert_no_error (error);
  {
    g_autofree char *without = quiet_output (f, FALSE, "args", "--no-host-checks", unknown_vm, NULL);
    g_autofree char *with = quiet_output (f, TRUE, "args", "--no-host-checks", unknown_vm, NULL);

    g_assert_nonnull (strstr (without, "status 1"));
    g_assert_nonnull (strstr (without, "balloon"));
    g_assert_cmpstr (with, ==, without);
  }

  /* The type index edited (its hash recomputed): out of order; rng's
   * name given to another entry; a name outside its entry. Each is found
   * out, the files made pending, and the answer is the same. */
  g_file_get_contents (f->cache_file, &good, &good_len, &error);
  g_assert_no_error (error);
  refs_at = payload_array_at (good, 7, 8, &n_refs);
  texts_at = payload_array_at (good, 4, 1, &n_texts);
  g_assert_cmpuint (n_refs, >=, 3);
  for (guint round = 0; round < 3; round++)
    {
      copy = g_memdup2 (good, good_len);
      if (round == 0)
        {
          char first[8];

          memcpy (first, copy + refs_at, 8);
          memmove (copy + refs_at, copy + refs_at + (n_refs - 1) * 8, 8);
          memcpy (copy + refs_at + (n_refs - 1) * 8, first, 8);
        }
      else if (round == 1)
        {
          gboolean found = FALSE;

          for (gsize i = 0; i < n_refs; i++)
            {
              gsize at = refs_at + i * 8;

              g_assert_cmpuint (get_u32 (copy, at + 4), <, n_texts);
              if (strcmp (copy + texts_at + get_u32 (copy, at + 4), "rng") == 0)
                {
                  /* The entry of the first ref: balloon's, not rng's. */
                  g_assert_cmpuint (get_u32 (copy, refs_at), !=, get_u32 (copy, at));
                  set_u32 (copy, at, get_u32 (copy, refs_at));
                  found = TRUE;
                }
            }
          g_assert_true (found);
        }
      else
        set_u32 (copy, refs_at + 4, 0x7ffffff0);
      rewrite_cache_hashed (f, copy, good_len);
      assert_opened (args_opened (f), "rng");
      g_assert_nonnull (strstr (last_said, "made pending"));
      {
        g_autofree char *with = quiet_output (f, TRUE, "args", "--no-host-checks", f->vm_file, NULL);

        g_assert_cmpstr (with, ==, expected);
      }
      g_clear_pointer (&copy, g_free);
    }
  rewrite_cache (f, good, good_len);

  /* A name inside an entry's texts that is not one of its types (rng's
   * type name, but for its first letter, sorted last still): found for
   * that name, checked, and not taken for it. */
  copy = g_memdup2 (good, good_len);
  {
    gsize last = 0;
    g_autofree char *ng_vm = g_build_filename (f->root, "ng.vm", NULL);
    g_autofree char *without = NULL;
    g_autofree char *with = NULL;
    const char *ng_args[] = { "--plugin-dir", f->plugin_dir, "args", "--no-host-checks", ng_vm, NULL };

    for (gsize i = 0; i < n_refs; i++)
      if (strcmp (copy + texts_at + get_u32 (copy, refs_at + i * 8 + 4), "rng") == 0)
        {
          last = refs_at + i * 8;
          /* Still in order as "ng". */
          g_assert_true (i == 0 || strcmp (copy + texts_at + get_u32 (copy, last - 4), "ng") < 0);
        }
    g_assert_cmpuint (last, >, 0);
    set_u32 (copy, last + 4, get_u32 (copy, last + 4) + 1);
    rewrite_cache_hashed (f, copy, good_len);
    g_file_set_contents (ng_vm, "[vm]\nname = ng\n[device x0]\ntype = ng\n", -1, &error);
    g_assert_no_error (error);
    without = quiet_output (f, FALSE, "args", "--no-host-checks", ng_vm, NULL);
    g_assert_nonnull (strstr (without, "status 1"));
    g_assert_cmpint (ql_test_run_cli (ng_args, &with, NULL), ==, 1);
    g_assert_null (strstr (with, "loaded plugin"));
    g_assert_nonnull (strstr (with, "made pending"));
    g_clear_pointer (&with, g_free);
    with = quiet_output (f, TRUE, "args", "--no-host-checks", ng_vm, NULL);
    g_assert_cmpstr (with, ==, without);
  }
  g_clear_pointer (&copy, g_free);
  rewrite_cache (f, good, good_len);

  /* Two files with one device type (the dupa and dupb fixtures), each
   * in the cache from a call that had only its own directory: not taken
   * in place together; the second's error as without the cache. */
  g_assert_cmpint (g_mkdir (dir3, 0755), ==, 0);
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *name = g_strdup_printf ("libqlaunch-dup%c.so", 'a' + i);
      g_autofree char *from = g_build_filename (g_getenv ("QLAUNCH_FIXTURE_DIR"), name, NULL);
      g_autofree char *to = g_build_filename (i == 0 ? f->plugin_dir : dir3, name, NULL);

      copy_file (from, to);
    }
  for (guint i = 0; i < 2; i++)
    {
      const char *alone[] = { "--plugin-dir", i == 0 ? f->plugin_dir : dir3, "inspect", NULL };
      g_autofree char *out = NULL;

      g_assert_cmpint (ql_test_run_cli (alone, &out, NULL), ==, 0);
      g_assert_nonnull (strstr (out, "fixture-dup"));
    }
  g_free (expected);
  expected = quiet_output (f, FALSE, "--plugin-dir", dir3, "args", "--no-host-checks", f->vm_file, NULL);
  g_assert_nonnull (strstr (expected, "libqlaunch-dupb.so"));
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *with = quiet_output (f, TRUE, "--plugin-dir", dir3, "args", "--no-host-checks",
                                            f->vm_file, NULL);

      g_assert_cmpstr (with, ==, expected);
    }
  {
    g_autofree char *dupa = plugin_path (f, "dupa");

    g_assert_cmpint (g_unlink (dupa), ==, 0);
  }

  /* A family in two plugin directories: the second's file is skipped. */
  g_assert_cmpint (g_mkdir (dir2, 0755), ==, 0);
  {
    g_autofree char *from = plugin_path (f, "rng");
    g_autofree char *to = g_build_filename (dir2, "libqlaunch-rng.so", NULL);
    g_autofree char *without = NULL;

    copy_file (from, to);
    without = quiet_output (f, FALSE, "--plugin-dir", dir2, "inspect", NULL);
    for (guint i = 0; i < 2; i++)
      {
        g_autofree char *with = quiet_output (f, TRUE, "--plugin-dir", dir2, "inspect", NULL);

        g_assert_cmpstr (with, ==, without);
      }
    g_free (without);
    without = quiet_output (f, FALSE, "--plugin-dir", dir2, "args", "--no-host-checks", f->vm_file, NULL);
    for (guint i = 0; i < 2; i++)
      {
        g_autofree char *with = quiet_output (f, TRUE, "--plugin-dir", dir2, "args", "--no-host-checks",
                                            f->vm_file, NULL);

        g_assert_cmpstr (with, ==, without);
      }
    assert_opened (run_opened (f, "--plugin-dir", dir2, "args", "--no-host-checks", f->vm_file, NULL), "rng");
    g_assert_nonnull (strstr (last_said, "comes from an earlier file"));
    g_assert_null (strstr (last_said, "made pending"));

    /* A new file after the first directory's rng (vsock) makes the files
     * before it pending: the second directory's rng is still skipped. */
    install_plugin (f, "vsock");
    g_free (without);
    without = quiet_output (f, FALSE, "--plugin-dir", dir2, "args", "--no-host-checks", f->vm_file, NULL);
    assert_opened (run_opened (f, "--plugin-dir", dir2, "args", "--no-host-checks", f->vm_file, NULL),
                   "rng,vsock");
    g_assert_nonnull (strstr (last_said, "made pending"));
    g_assert_nonnull (strstr (last_said, "comes from an earlier file"));
    install_plugin (f, "vsock");
    {
      g_autofree char *with = quiet_output (f, TRUE, "--plugin-dir", dir2, "args", "--no-host-checks",
                                            f->vm_file, NULL);

      g_assert_cmpstr (with, ==, without);
    }
  }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add (path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/registry-cache/cold-then-warm", test_cold_then_warm);
  ADD ("/registry-cache/changes-seen", test_changes_seen);
  ADD ("/registry-cache/dir-listing", test_dir_listing);
  ADD ("/registry-cache/bad-cache-rewritten", test_bad_cache_rewritten);
  ADD ("/registry-cache/unsafe-cache-dir", test_unsafe_cache_dir);
  ADD ("/registry-cache/switches", test_switches);
  ADD ("/registry-cache/same-output", test_same_output);
  ADD ("/registry-cache/all-types-from-cache", test_all_types_from_cache);
  ADD ("/registry-cache/bad-descriptions", test_bad_descriptions);
  ADD ("/registry-cache/unsafe-plugins", test_unsafe_plugins);
  ADD ("/registry-cache/lazy", test_lazy);
#undef ADD

  return g_test_run ();
}
