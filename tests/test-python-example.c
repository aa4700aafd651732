/* qlaunch tests — the library from Python: data/examples/python/qlaunch-example.py
 * run with PyGObject against the build's typelib (GI_TYPELIB_PATH) and
 * library (LD_LIBRARY_PATH).
 *
 *   /python-example/args/...  the example's argv is byte for byte what
 *                             `qlaunch args` prints for the same VM file,
 *                             devices and format (JSON and lines), and an
 *                             invalid VM file fails both the same way
 *   /python-example/run       --run on a stopped (-S) TCG VM with a QMP
 *                             socket: launched, run state "prelaunch",
 *                             shut down with `quit`, exit 0, no QEMU left
 *
 * Skipped when no python3 can import gi and the Qlaunch typelib (no
 * python3-gi, or a build without introspection: sanitized builds leave it
 * out), and in sanitized builds (Python cannot load an ASan-instrumented
 * library). */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <qlaunch/qlaunch.h>

#include "ql-test-util.h"

#if defined(__SANITIZE_ADDRESS__)
#define QL_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define QL_TEST_SANITIZED 1
#endif
#endif

static char *python;       /* an interpreter that imports gi and Qlaunch */
static char *skip_reason;  /* why every test skips, or NULL */
static char *example;      /* the example script */
static char *lib_dir;      /* the build's core/: libqlaunch and the typelib */

/* A run that takes longer than this hangs. */
#define RUN_LIMIT_S 90

static void
prepend_path (GSubprocessLauncher *launcher,
              const char          *name,
              const char          *dir)
{
  const char *old = g_getenv (name);
  g_autofree char *value = old != NULL && *old != '\0'
                           ? g_strconcat (dir, ":", old, NULL) : g_strdup (dir);

  g_subprocess_launcher_setenv (launcher, name, value, TRUE);
}

/* Runs @argv (NULL-terminated) with the build's typelib and library on the
 * search paths and a UTF-8 C locale, capturing its output. */
static void
run_argv (QlTestRun          *r,
          const char * const *argv)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);

  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C.UTF-8", TRUE);
  prepend_path (launcher, "GI_TYPELIB_PATH", lib_dir);
  prepend_path (launcher, "LD_LIBRARY_PATH", lib_dir);
  ql_test_run_argv (r, launcher, RUN_LIMIT_S, argv);
}

/* The example with @args after `--plugin-dir BUILD_PLUGINS`. */
static void
run_example (QlTestRun          *r,
             const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, python);
  g_ptr_array_add (argv, example);
  g_ptr_array_add (argv, (gpointer) "--plugin-dir");
  g_ptr_array_add (argv, (gpointer) g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  run_argv (r, (const char * const *) argv->pdata);
  ql_test_run_assert_exited (r);
}

/* `qlaunch --plugin-dir BUILD_PLUGINS args @args`. */
static void
run_cli_args (QlTestRun          *r,
              const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (gpointer) g_getenv ("QLAUNCH_BIN"));
  g_ptr_array_add (argv, (gpointer) "--plugin-dir");
  g_ptr_array_add (argv, (gpointer) g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"));
  g_ptr_array_add (argv, (gpointer) "args");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  run_argv (r, (const char * const *) argv->pdata);
  ql_test_run_assert_exited (r);
}

static gboolean
skip_if_unavailable (void)
{
  if (skip_reason == NULL)
    return FALSE;
  g_test_skip (skip_reason);
  return TRUE;
}

/* One comparison: the VM file, the options both programs take, and the
 * device specs (`-d SPEC` for qlaunch, trailing SPEC arguments for the
 * example). */
typedef struct
{
  char  *vm_file;
  char  *format;        /* "json" or "lines" */
  gboolean host_checks;
  char **specs;
} ArgsCase;

static void
args_case_free (gpointer data)
{
  ArgsCase *c = data;

  g_free (c->vm_file);
  g_free (c->format);
  g_strfreev (c->specs);
  g_free (c);
}

static void
test_args (gconstpointer data)
{
  const ArgsCase *c = data;
  g_autoptr(GPtrArray) ex = g_ptr_array_new ();
  g_autoptr(GPtrArray) cli = g_ptr_array_new ();
  g_auto(QlTestRun) py_run = { 0, };
  g_auto(QlTestRun) cli_run = { 0, };

  if (skip_if_unavailable ())
    return;

  g_ptr_array_add (ex, (gpointer) "--format");
  g_ptr_array_add (ex, c->format);
  g_ptr_array_add (cli, (gpointer) "--format");
  g_ptr_array_add (cli, c->format);
  if (!c->host_checks)
    {
      g_ptr_array_add (ex, (gpointer) "--no-host-checks");
      g_ptr_array_add (cli, (gpointer) "--no-host-checks");
    }
  for (guint i = 0; c->specs != NULL && c->specs[i] != NULL; i++)
    {
      g_ptr_array_add (cli, (gpointer) "-d");
      g_ptr_array_add (cli, c->specs[i]);
    }
  g_ptr_array_add (ex, c->vm_file);
  g_ptr_array_add (cli, c->vm_file);
  for (guint i = 0; c->specs != NULL && c->specs[i] != NULL; i++)
    g_ptr_array_add (ex, c->specs[i]);
  g_ptr_array_add (ex, NULL);
  g_ptr_array_add (cli, NULL);

  run_example (&py_run, (const char * const *) ex->pdata);
  run_cli_args (&cli_run, (const char * const *) cli->pdata);
  g_test_message ("qlaunch args: status %d\n%s%s", cli_run.status, cli_run.out, cli_run.err);
  g_test_message ("example: status %d\n%s%s", py_run.status, py_run.out, py_run.err);

  g_assert_cmpint (py_run.status, ==, cli_run.status);
  g_assert_cmpstr (py_run.out, ==, cli_run.out);
  if (cli_run.status == 0)
    g_assert_cmpstr (py_run.out, !=, "");
  else
    /* Invalid: nothing on stdout, and the example names the error too. */
    g_assert_cmpstr (py_run.err, !=, "");
}

static void
add_args_case (const char *name,
               const char *vm_file,
               const char *format,
               gboolean    host_checks,
               const char *spec)
{
  ArgsCase *c = g_new0 (ArgsCase, 1);
  g_autofree char *path = g_strdup_printf ("/python-example/args/%s", name);

  c->vm_file = g_strdup (vm_file);
  c->format = g_strdup (format);
  c->host_checks = host_checks;
  if (spec != NULL)
    c->specs = g_strsplit (spec, " ", -1);
  g_test_add_data_func_full (path, c, test_args, args_case_free);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The first golden case of each prefix (`block-`, `char-`, `net-`, ...):
 * every device family once, without running the whole golden suite. */
static void
add_golden_cases (const char *golden_dir)
{
  g_autoptr(GDir) dir = g_dir_open (golden_dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GHashTable) prefixes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".args"))
      g_ptr_array_add (names, g_strndup (name, strlen (name) - strlen (".args")));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      const char *base = g_ptr_array_index (names, i);
      const char *dash = strchr (base, '-');
      g_autofree char *prefix = dash != NULL ? g_strndup (base, dash - base) : g_strdup (base);
      g_autofree char *vm = NULL;
      g_autofree char *test_name = NULL;

      if (g_hash_table_contains (prefixes, prefix))
        continue;
      g_hash_table_add (prefixes, g_steal_pointer (&prefix));
      vm = g_strdup_printf ("%s/%s.vm", golden_dir, base);
      test_name = g_strdup_printf ("golden-%s", base);
      add_args_case (test_name, vm, "json", FALSE, NULL);
    }
}

static gboolean
pid_gone (GPid pid)
{
  return kill (pid, 0) != 0 && errno == ESRCH;
}

static void
test_run (void)
{
  g_autofree char *tmp = NULL;
  g_autofree char *vm_file = NULL;
  g_autofree char *text = NULL;
  g_autofree char *qemu = g_find_program_in_path ("qemu-system-x86_64");
  g_autoptr(GError) error = NULL;
  g_auto(QlTestRun) py_run = { 0, };
  g_auto(QlTestRun) cli_run = { 0, };
  g_autofree char *expected = NULL;
  const char *started;
  GPid pid = 0;

  if (skip_if_unavailable ())
    return;
  if (qemu == NULL)
    {
      g_test_skip ("qemu-system-x86_64 is not installed");
      return;
    }

  tmp = ql_test_make_tmpdir ();
  vm_file = g_build_filename (tmp, "stopped.vm", NULL);
  text = g_strdup_printf ("[vm]\n"
                          "name = python-example\n"
                          "\n[machine]\ntype = q35\nacceleration = tcg\n"
                          "\n[memory]\nsize = 64M\n"
                          "\n[knobs]\nno-user-config = true\nno-defaults = true\n"
                          "no-graphic = true\nstopped = true\n"
                          "\n[qmp control]\npath = %s/qmp.sock\n",
                          tmp);
  g_file_set_contents (vm_file, text, -1, &error);
  g_assert_no_error (error);

  run_example (&py_run, (const char * const[]) { "--run", vm_file, "serial,id=vser0", NULL });
  g_test_message ("example: status %d\n%s%s", py_run.status, py_run.out, py_run.err);
  run_cli_args (&cli_run, (const char * const[]) { "--format", "lines", "-d", "serial,id=vser0", vm_file, NULL });
  g_assert_cmpint (cli_run.status, ==, 0);

  g_assert_cmpint (py_run.status, ==, 0);
  /* The argv first, as `qlaunch args --format lines` prints it (with -S),
   * then what QMP said and how the VM ended. */
  expected = g_strconcat (cli_run.out,
                          "run-state: prelaunch\n",
                          "query-status: prelaunch running=false\n",
                          "shutdown: quit\n",
                          NULL);
  g_assert_nonnull (strstr (cli_run.out, "\n-S\n"));
  g_assert_cmpstr (py_run.out, ==, expected);

  started = strstr (py_run.err, "QEMU started (pid ");
  g_assert_nonnull (started);
  pid = (GPid) g_ascii_strtoll (started + strlen ("QEMU started (pid "), NULL, 10);
  g_assert_cmpint (pid, >, 0);
  g_assert_nonnull (strstr (py_run.err, "exited with status 0"));
  g_assert_true (pid_gone (pid));

  ql_test_rm_rf (tmp);
}

/* Finds a python3 that can import gi and the build's Qlaunch typelib: the
 * one in PATH, else the system's (Debian's python3-gi is for
 * /usr/bin/python3, and PATH may lead to another Python first). */
static void
find_python (void)
{
  g_autofree char *in_path = g_find_program_in_path ("python3");
  const char *candidates[] = { in_path, "/usr/bin/python3" };
  g_autofree char *typelib = g_build_filename (lib_dir, "Qlaunch-1.0.typelib", NULL);
  g_autofree char *last_error = NULL;

#ifdef QL_TEST_SANITIZED
  skip_reason = g_strdup ("sanitized build: Python cannot load an ASan-instrumented libqlaunch");
  return;
#endif
  if (!g_file_test (example, G_FILE_TEST_EXISTS))
    {
      skip_reason = g_strdup_printf ("%s not found", example);
      return;
    }
  if (!g_file_test (typelib, G_FILE_TEST_EXISTS))
    {
      skip_reason = g_strdup_printf ("%s not built (introspection is off in this build)", typelib);
      return;
    }
  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      g_auto(QlTestRun) r = { 0, };

      if (candidates[i] == NULL || !g_file_test (candidates[i], G_FILE_TEST_IS_EXECUTABLE))
        continue;
      run_argv (&r, (const char * const[]) {
                  candidates[i], "-c",
                  "import gi; gi.require_version('Qlaunch', '1.0'); "
                  "from gi.repository import Qlaunch",
                  NULL });
      if (r.status == 0)
        {
          python = g_strdup (candidates[i]);
          return;
        }
      g_free (last_error);
      last_error = g_strdup_printf ("%s: %s", candidates[i], r.err);
    }
  skip_reason = g_strdup_printf ("no python3 imports gi and Qlaunch-1.0 (python3-gi missing?) %s",
                                 last_error != NULL ? last_error : "");
  g_strchomp (skip_reason);
}

int
main (int   argc,
      char *argv[])
{
  const char *srcdir;
  const char *builddir;
  g_autofree char *top = NULL;
  g_autofree char *minimal = NULL;
  g_autofree char *golden = NULL;
  g_autofree char *examples = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);
  /* In the build: the source and build trees' tests/ (G_TEST_SRCDIR,
   * G_TEST_BUILDDIR). Installed without the source tree, the example is
   * not found and every test skips. */
  srcdir = g_test_get_dir (G_TEST_DIST);
  builddir = g_test_get_dir (G_TEST_BUILT);

  top = g_build_filename (srcdir, "..", NULL);
  example = g_build_filename (top, "data", "examples", "python", "qlaunch-example.py", NULL);
  examples = g_build_filename (top, "data", "examples", NULL);
  minimal = g_build_filename (examples, "minimal.vm", NULL);
  golden = g_build_filename (srcdir, "golden", NULL);
  lib_dir = g_build_filename (builddir, "..", "core", NULL);

  if (g_getenv ("QLAUNCH_BIN") == NULL || g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR") == NULL)
    skip_reason = g_strdup ("QLAUNCH_BIN and QLAUNCH_BUILD_PLUGIN_DIR are not set");
  else
    find_python ();
  if (skip_reason != NULL)
    g_test_message ("skipping: %s", skip_reason);
  else
    g_test_message ("python: %s", python);

  /* The acceptance case: the same VM file, host checks on, both formats. */
  add_args_case ("minimal-json", minimal, "json", TRUE, NULL);
  add_args_case ("minimal-lines", minimal, "lines", TRUE, NULL);
  add_args_case ("minimal-device", minimal, "json", TRUE, "serial,id=vser0 char,driver=virtserialport,id=ch0,backend=pty,bus=vser0.0");
  {
    const char *others[] = { "boot", "server" };

    for (guint i = 0; i < G_N_ELEMENTS (others); i++)
      {
        g_autofree char *vm = g_strdup_printf ("%s/%s.vm", examples, others[i]);
        g_autofree char *name = g_strdup_printf ("%s-json", others[i]);

        add_args_case (name, vm, "json", FALSE, NULL);
      }
  }
  if (g_file_test (golden, G_FILE_TEST_IS_DIR))
    add_golden_cases (golden);
  /* Invalid: a bad device spec and a missing file fail both. */
  add_args_case ("invalid-spec", minimal, "json", TRUE, "no-such-type,id=x");
  add_args_case ("missing-file", "/nonexistent/qlaunch.vm", "json", TRUE, NULL);

  g_test_add_func ("/python-example/run", test_run);

  ret = g_test_run ();
  g_free (python);
  g_free (skip_reason);
  g_free (example);
  g_free (lib_dir);
  return ret;
}
