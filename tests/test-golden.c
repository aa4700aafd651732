/* qlaunch tests — golden files.
 *
 * Every tests/golden/<case>.vm is loaded (no host checks) and turned into
 * an argv, written one argument a line with argv[0] included; the text must
 * equal <case>.args. When loading or validation fails, the error message
 * plus a newline must equal <case>.err instead. Exactly one of the two files
 * exists per case, and the outcome must match its kind.
 *
 * The test chdir()s into the golden directory and loads "<case>.vm", so
 * messages name the file the same way on every checkout. Relative paths in a
 * VM file resolve against the golden directory: its absolute name is
 * replaced by the literal @GOLDEN_DIR@ in the produced text. A VM file
 * without [vm] qemu gets the host's default binary, qemu-system-<arch>:
 * that argv[0] is written as @DEFAULT_QEMU@. The runtime directory (where
 * the sockets of helper processes go) is /run/qlaunch/golden, virtiofsd
 * is found through golden/vhost-user/ and UEFI firmware through
 * golden/firmware/.
 *
 * Each argv case also checks determinism: the same
 * configuration built twice, and the file loaded again, give the same argv
 * byte for byte.
 *
 * QLAUNCH_REGENERATE_GOLDEN=1 writes the expected files from the current
 * output instead of comparing (removing a stale file of the other kind).
 * Read every regenerated file before committing it: a golden file that
 * records a bug is worse than none.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>
#include <qlaunch/qlaunch.h>

#include "ql-test-util.h"

#define GOLDEN_DIR_TOKEN "@GOLDEN_DIR@"
#define DEFAULT_QEMU_TOKEN "@DEFAULT_QEMU@"
/* The runtime directory of every case: the sockets between QEMU and the
 * devices' helper processes (virtio-fs) are written in it. */
#define GOLDEN_RUNTIME_DIR "/run/qlaunch/golden"

static QlRegistry *registry;
static gint compare_names (gconstpointer a, gconstpointer b);
static char *golden_dir;         /* absolute, as the library sees it */
static gboolean regenerate;

/* Replaces every occurrence of @from in @text by @to. */
static char *
replace_all (const char *text,
             const char *from,
             const char *to)
{
  g_autoptr(GString) s = g_string_new (NULL);
  gsize from_len = strlen (from);
  const char *p = text;
  const char *hit;

  if (from_len == 0)
    return g_strdup (text);
  while ((hit = strstr (p, from)) != NULL)
    {
      g_string_append_len (s, p, hit - p);
      g_string_append (s, to);
      p = hit + from_len;
    }
  g_string_append (s, p);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* Makes @text checkout-independent: the golden directory, also in its
 * key=value-escaped form (commas doubled), becomes @GOLDEN_DIR@. */
static char *
normalize (const char *text)
{
  g_autofree char *escaped_dir = replace_all (golden_dir, ",", ",,");
  g_autofree char *step = replace_all (text, escaped_dir, GOLDEN_DIR_TOKEN);

  return replace_all (step, golden_dir, GOLDEN_DIR_TOKEN);
}

/* One argument a line; argv[0] as @DEFAULT_QEMU@ when @vm sets no binary
 * (it depends on the host's architecture). */
static char *
argv_to_lines (QlVmConfig  *vm,
               char       **argv)
{
  g_autoptr(GString) s = g_string_new (NULL);
  g_autofree char *qemu = NULL;

  g_object_get (vm, "qemu", &qemu, NULL);
  for (guint i = 0; argv[i] != NULL; i++)
    {
      g_string_append (s, i == 0 && qemu == NULL ? DEFAULT_QEMU_TOKEN : argv[i]);
      g_string_append_c (s, '\n');
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* Loads @vm_file with host checks off and builds its argv; returns the
 * argv lines, or NULL with @error set. */
static char *
build_lines (const char  *vm_file,
             guint        major,
             guint        minor,
             GError     **error)
{
  g_autoptr(QlVmConfig) vm = ql_vm_config_new_from_file (vm_file, registry, error);
  g_auto(GStrv) argv = NULL;

  if (vm == NULL)
    return NULL;
  ql_vm_config_set_host_probe (vm, NULL);
  ql_vm_config_set_runtime_dir (vm, GOLDEN_RUNTIME_DIR);
  ql_vm_config_set_qemu_version (vm, major, minor);
  argv = ql_vm_config_to_argv (vm, error);
  if (argv == NULL)
    return NULL;
  return argv_to_lines (vm, argv);
}

/* The same configuration built twice, and a second load of the same file,
 * give the same argv byte for byte. */
static void
check_determinism (const char *vm_file,
                   const char *first)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = ql_vm_config_new_from_file (vm_file, registry, &error);
  g_auto(GStrv) argv1 = NULL;
  g_auto(GStrv) argv2 = NULL;
  g_autofree char *lines1 = NULL;
  g_autofree char *lines2 = NULL;

  g_assert_no_error (error);
  if (vm == NULL)
    return;
  ql_vm_config_set_host_probe (vm, NULL);
  ql_vm_config_set_runtime_dir (vm, GOLDEN_RUNTIME_DIR);
  argv1 = ql_vm_config_to_argv (vm, &error);
  g_assert_no_error (error);
  if (argv1 == NULL)
    return;
  argv2 = ql_vm_config_to_argv (vm, &error);
  g_assert_no_error (error);
  if (argv2 == NULL)
    return;
  lines1 = argv_to_lines (vm, argv1);
  lines2 = argv_to_lines (vm, argv2);
  g_assert_cmpstr (lines1, ==, lines2);
  g_assert_cmpstr (lines1, ==, first);
}

static void
write_or_die (const char *path,
              const char *contents)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

static void
remove_if_exists (const char *path)
{
  if (g_unlink (path) != 0 && errno != ENOENT)
    g_error ("cannot remove %s: %s", path, g_strerror (errno));
}

static void
test_golden_case (gconstpointer data)
{
  const char *name = data;
  g_autofree char *vm_file = g_strconcat (name, ".vm", NULL);
  g_autofree char *args_file = g_strconcat (name, ".args", NULL);
  g_autofree char *err_file = g_strconcat (name, ".err", NULL);
  gboolean has_args = g_file_test (args_file, G_FILE_TEST_EXISTS);
  gboolean has_err = g_file_test (err_file, G_FILE_TEST_EXISTS);
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) read_error = NULL;
  g_autofree char *lines = build_lines (vm_file, 0, 0, &error);
  g_autofree char *produced = NULL;
  g_autofree char *expected = NULL;
  const char *expected_file;
  gboolean ok = lines != NULL;

  if (ok)
    {
      produced = normalize (lines);
      check_determinism (vm_file, lines);
    }
  else
    {
      g_autofree char *message = g_strconcat (error->message, "\n", NULL);

      produced = normalize (message);
    }

  if (regenerate)
    {
      write_or_die (ok ? args_file : err_file, produced);
      remove_if_exists (ok ? err_file : args_file);
      g_test_message ("%s: wrote %s", name, ok ? args_file : err_file);
      return;
    }

  if (has_args && has_err)
    {
      g_test_fail_printf ("%s: both %s and %s exist; keep the one that matches the case", name,
                          args_file, err_file);
      return;
    }
  if (!has_args && !has_err)
    {
      g_test_fail_printf ("%s: neither %s nor %s exists (regenerate with QLAUNCH_REGENERATE_GOLDEN=1); output:\n%s",
                          name, args_file, err_file, produced);
      return;
    }
  if (ok && !has_args)
    {
      g_test_fail_printf ("%s: expected an error (%s) but built an argv:\n%s", name, err_file, produced);
      return;
    }
  if (!ok && !has_err)
    {
      g_test_fail_printf ("%s: expected an argv (%s) but failed:\n%s", name, args_file, produced);
      return;
    }

  expected_file = ok ? args_file : err_file;
  g_file_get_contents (expected_file, &expected, NULL, &read_error);
  g_assert_no_error (read_error);
  if (g_strcmp0 (produced, expected) != 0)
    g_test_message ("%s: produced:\n%s\nexpected (%s):\n%s", name, produced, expected_file, expected);
  g_assert_cmpstr (produced, ==, expected);
}

/* A case built for another QEMU version: golden/qemu-X.Y/<case>.args (or
 * .err) holds what golden/<case>.vm gives for QEMU X.Y. Which cases have a
 * version file is chosen by hand (regeneration rewrites only those). */
typedef struct
{
  char *dir;       /* "qemu-9.2" */
  char *name;      /* the case */
  guint major, minor;
} VersionCase;

static void
version_case_free (gpointer data)
{
  VersionCase *c = data;

  g_free (c->dir);
  g_free (c->name);
  g_free (c);
}

static void
test_golden_version_case (gconstpointer data)
{
  const VersionCase *c = data;
  g_autofree char *vm_file = g_strconcat (c->name, ".vm", NULL);
  g_autofree char *args_file = g_strconcat (c->dir, "/", c->name, ".args", NULL);
  g_autofree char *err_file = g_strconcat (c->dir, "/", c->name, ".err", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) read_error = NULL;
  g_autofree char *lines = build_lines (vm_file, c->major, c->minor, &error);
  g_autofree char *produced = NULL;
  g_autofree char *expected = NULL;
  const char *expected_file = lines != NULL ? args_file : err_file;

  if (!g_file_test (vm_file, G_FILE_TEST_EXISTS))
    {
      g_test_fail_printf ("%s/%s has no case %s", c->dir, c->name, vm_file);
      return;
    }
  if (lines != NULL)
    produced = normalize (lines);
  else
    {
      g_autofree char *message = g_strconcat (error->message, "\n", NULL);

      produced = normalize (message);
    }
  if (regenerate)
    {
      write_or_die (expected_file, produced);
      remove_if_exists (lines != NULL ? err_file : args_file);
      return;
    }
  if (!g_file_test (expected_file, G_FILE_TEST_EXISTS))
    {
      g_test_fail_printf ("%s: QEMU %u.%u: expected %s but got:\n%s", c->name, c->major, c->minor,
                          lines != NULL ? err_file : args_file, produced);
      return;
    }
  g_file_get_contents (expected_file, &expected, NULL, &read_error);
  g_assert_no_error (read_error);
  if (g_strcmp0 (produced, expected) != 0)
    g_test_message ("%s: produced:\n%s\nexpected (%s):\n%s", c->name, produced, expected_file, expected);
  g_assert_cmpstr (produced, ==, expected);
}

/* Adds a test for every golden/qemu-X.Y/<case>.{args,err}. */
static void
add_version_cases (GPtrArray *keep)
{
  g_autoptr(GDir) top = g_dir_open (".", 0, NULL);
  const char *entry;

  while (top != NULL && (entry = g_dir_read_name (top)) != NULL)
    {
      g_autoptr(GDir) dir = NULL;
      g_autoptr(GPtrArray) names = NULL;
      const char *file;
      guint major, minor;

      if (!g_str_has_prefix (entry, "qemu-") || !g_file_test (entry, G_FILE_TEST_IS_DIR))
        continue;
      if (sscanf (entry, "qemu-%u.%u", &major, &minor) != 2)
        g_error ("golden/%s: expected qemu-MAJOR.MINOR", entry);
      dir = g_dir_open (entry, 0, NULL);
      names = g_ptr_array_new_with_free_func (g_free);
      while ((file = g_dir_read_name (dir)) != NULL)
        {
          const char *dot = strrchr (file, '.');

          if (dot != NULL && (strcmp (dot, ".args") == 0 || strcmp (dot, ".err") == 0))
            g_ptr_array_add (names, g_strndup (file, dot - file));
        }
      g_ptr_array_sort (names, compare_names);
      for (guint i = 0; i < names->len; i++)
        {
          VersionCase *c = g_new0 (VersionCase, 1);
          g_autofree char *path = NULL;

          c->dir = g_strdup (entry);
          c->name = g_strdup (g_ptr_array_index (names, i));
          c->major = major;
          c->minor = minor;
          path = g_strconcat ("/golden/", entry, "/", c->name, NULL);
          g_ptr_array_add (keep, c);
          g_test_add_data_func (path, c, test_golden_version_case);
        }
    }
}

/* Every .args/.err file belongs to a .vm case (a leftover of a renamed
 * case would otherwise never be noticed). */
static void
test_golden_no_orphans (gconstpointer data)
{
  GPtrArray *others = (GPtrArray *) data;

  for (guint i = 0; i < others->len; i++)
    {
      const char *file = g_ptr_array_index (others, i);
      const char *dot = strrchr (file, '.');
      g_autofree char *stem = g_strndup (file, dot - file);
      g_autofree char *vm_file = g_strconcat (stem, ".vm", NULL);

      if (!g_file_test (vm_file, G_FILE_TEST_EXISTS))
        g_test_fail_printf ("%s has no %s", file, vm_file);
    }
}

static gint
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

int
main (int    argc,
      char **argv)
{
  const char *srcdir = g_getenv ("QLAUNCH_TEST_SRCDIR");
  g_autofree char *dir = NULL;
  g_autoptr(GDir) gdir = NULL;
  g_autoptr(GPtrArray) cases = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) others = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) version_cases = NULL;
  g_autoptr(GError) error = NULL;
  const char *entry;
  int ret;

  /* Messages that come from GLib (a key file syntax error) must not be
   * translated: golden files are in the C locale. */
  g_setenv ("LC_ALL", "C", TRUE);
  g_unsetenv ("LANGUAGE");
  g_test_init (&argc, &argv, NULL);
  /* A failing case is reported and the others still run. */
  g_test_set_nonfatal_assertions ();

  if (srcdir == NULL)
    g_error ("QLAUNCH_TEST_SRCDIR is not set (run through meson test)");
  regenerate = g_strcmp0 (g_getenv ("QLAUNCH_REGENERATE_GOLDEN"), "1") == 0;

  dir = g_build_filename (srcdir, "golden", NULL);
  if (g_chdir (dir) != 0)
    g_error ("cannot enter %s: %s", dir, g_strerror (errno));
  /* The library resolves relative paths against the directory it sees;
   * ask the same function it uses. */
  golden_dir = g_get_current_dir ();

  registry = ql_test_registry_new ();
  /* virtiofsd is found through the golden directory's own vhost-user
   * descriptor, whatever the host has. */
  {
    g_autofree char *descriptors = g_build_filename (golden_dir, "vhost-user", NULL);

    g_setenv ("QLAUNCH_VHOST_USER_DIRS", descriptors, TRUE);
  }
  /* UEFI firmware through golden/firmware's descriptors (Debian 12's). */
  {
    g_autofree char *descriptors = g_build_filename (golden_dir, "firmware", NULL);

    g_setenv ("QLAUNCH_FIRMWARE_DIRS", descriptors, TRUE);
  }

  gdir = g_dir_open (".", 0, &error);
  g_assert_no_error (error);
  while ((entry = g_dir_read_name (gdir)) != NULL)
    {
      if (g_str_has_suffix (entry, ".vm"))
        g_ptr_array_add (cases, g_strndup (entry, strlen (entry) - strlen (".vm")));
      else if (g_str_has_suffix (entry, ".args") || g_str_has_suffix (entry, ".err"))
        g_ptr_array_add (others, g_strdup (entry));
    }
  g_ptr_array_sort (cases, compare_names);
  g_ptr_array_sort (others, compare_names);

  for (guint i = 0; i < cases->len; i++)
    {
      const char *name = g_ptr_array_index (cases, i);
      g_autofree char *path = g_strconcat ("/golden/", name, NULL);

      g_test_add_data_func (path, name, test_golden_case);
    }
  if (!regenerate)
    g_test_add_data_func ("/golden-files/no-orphans", others, test_golden_no_orphans);
  version_cases = g_ptr_array_new_with_free_func (version_case_free);
  add_version_cases (version_cases);

  ret = g_test_run ();

  g_clear_object (&registry);
  g_free (golden_dir);
  return ret;
}
