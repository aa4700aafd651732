/* Suite qemu: what qlaunch does to confine the QEMU it starts, checked with
 * the real qemu-system-x86_64 (TCG, stopped at start, no devices).
 *
 * - ql_vm_set_die_with_parent(): a child process of this test launches
 *   QEMU and is then SIGKILLed; its QEMU must be gone within 2 s (and,
 *   as a control, survives without the setting);
 * - QEMU runs in a process group of its own;
 * - what QEMU creates (QMP socket, pid file) is 0600 whatever our umask;
 * - QEMU's environment holds only the allowed variables of ours (a canary
 *   set in ours does not reach it), or exactly what ql_vm_set_environ()
 *   gave.
 *
 * The private runtime directory of clones (0700) needs a template, which
 * needs the test guest: it is covered by the guest suite, not here.
 */
#include "ql-test-util.h"
#include "ql-test-vm-guard.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#define CHILD_ARG "--hardening-child"
#define CANARY "QLAUNCH_HARDENING_CANARY"

static QlVmConfig *
load_config (QlRegistry *registry)
{
  static const char text[] =
    "[vm]\n"
    "name = hardening\n"
    "[machine]\n"
    "type = pc\n"
    "acceleration = tcg\n"
    "[memory]\n"
    "size = 64M\n"
    "[knobs]\n"
    "no-defaults = true\n"
    "no-user-config = true\n"
    "no-graphic = true\n"
    "stopped = true\n";
  g_autoptr(GError) error = NULL;
  QlVmConfig *config = ql_vm_config_new_from_data (text, -1, "hardening.vm", g_get_tmp_dir (),
                                                   registry, &error);

  g_assert_no_error (error);
  return config;
}

static QlVm *
new_vm (void)
{
  g_autoptr(QlRegistry) registry = ql_test_registry_new ();
  g_autoptr(QlVmConfig) config = load_config (registry);
  QlVm *vm = ql_vm_new (config);

  ql_test_vm_guard (vm);
  return vm;
}

static void
stop_vm (QlVm *vm)
{
  g_autoptr(GError) error = NULL;

  ql_vm_stop (vm);
  g_assert_true (ql_vm_wait (vm, NULL, &error));
  g_assert_no_error (error);
}

/* Whether @pid runs (a zombie does not: it waits for its reaper). */
static gboolean
process_running (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *stat = NULL;
  const char *paren;

  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return FALSE;
  paren = strrchr (stat, ')');
  return paren == NULL || paren[1] == '\0' || paren[2] != 'Z';
}

/* The child: launches QEMU (with die-with-parent when asked), prints its
 * pid on stdout, runs until killed. */
static int
child_main (gboolean die_with_parent)
{
  g_autoptr(QlVm) vm = new_vm ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);

  ql_vm_set_die_with_parent (vm, die_with_parent);
  if (!ql_vm_launch (vm, NULL, &error))
    {
      fprintf (stderr, "launch: %s\n", error->message);
      return 1;
    }
  printf ("%d\n", (int) ql_vm_get_pid (vm));
  fflush (stdout);
  g_main_loop_run (loop);
  return 0;
}

/* Starts the child, returns its QEMU's pid; the child in @out_child. */
static GPid
start_child (gboolean      die_with_parent,
             GSubprocess **out_child)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) in = NULL;
  g_autofree char *line = NULL;
  GSubprocess *child;
  g_autofree char *self = g_file_read_link ("/proc/self/exe", &error);
  const char *argv[] = { self, CHILD_ARG, die_with_parent ? "die" : "live", NULL };

  g_assert_no_error (error);
  child = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (child));
  line = g_data_input_stream_read_line (in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  *out_child = child;
  return (GPid) atoi (line);
}

static void
kill_child (GSubprocess *child)
{
  g_autoptr(GError) error = NULL;

  g_subprocess_force_exit (child);
  g_assert_true (g_subprocess_wait (child, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_signaled (child));
  g_assert_cmpint (g_subprocess_get_term_sig (child), ==, SIGKILL);
}

static void
test_die_with_parent (void)
{
  g_autoptr(GSubprocess) child = NULL;
  GPid qemu = start_child (TRUE, &child);
  gint64 start;

  g_assert_cmpint (qemu, >, 0);
  g_assert_true (process_running (qemu));
  start = g_get_monotonic_time ();
  kill_child (child);
  while (process_running (qemu) && g_get_monotonic_time () - start < 2 * G_USEC_PER_SEC)
    g_usleep (10000);
  if (process_running (qemu))
    {
      kill (qemu, SIGKILL);
      g_error ("QEMU %d still runs 2 s after its launcher was killed", (int) qemu);
    }
  g_test_message ("QEMU gone %" G_GINT64_FORMAT " ms after its launcher was killed",
                  (g_get_monotonic_time () - start) / 1000);
}

/* The control: without die-with-parent, QEMU outlives its launcher. */
static void
test_outlives_parent_by_default (void)
{
  g_autoptr(GSubprocess) child = NULL;
  GPid qemu = start_child (FALSE, &child);
  gboolean survived;

  g_assert_cmpint (qemu, >, 0);
  kill_child (child);
  g_usleep (500 * 1000);
  survived = process_running (qemu);
  kill (qemu, SIGKILL);
  g_assert_true (survived);
}

static void
test_process_group (void)
{
  g_autoptr(QlVm) vm = new_vm ();
  g_autoptr(GError) error = NULL;
  GPid pid;

  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_no_error (error);
  pid = ql_vm_get_pid (vm);
  g_test_message ("our process group %d, QEMU's %d", (int) getpgrp (), (int) getpgid (pid));
  g_assert_cmpint (getpgid (pid), !=, getpgrp ());
  g_assert_cmpint (getpgid (pid), ==, pid);
  stop_vm (vm);
}

/* QEMU's environment, from /proc. */
static GPtrArray *
environ_of (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/environ", (int) pid);
  g_autofree char *data = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *env = g_ptr_array_new_with_free_func (g_free);
  gsize len;

  g_assert_true (g_file_get_contents (path, &data, &len, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < len; i += strlen (data + i) + 1)
    g_ptr_array_add (env, g_strdup (data + i));
  return env;
}

static gboolean
allowed (const char *entry)
{
  static const char * const names[] = { "PATH=", "HOME=", "LANG=", "TMPDIR=", "XDG_RUNTIME_DIR=" };

  if (g_str_has_prefix (entry, "LC_"))
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_str_has_prefix (entry, names[i]))
      return TRUE;
  return FALSE;
}

/* What QEMU creates is its user's only, whatever our umask: with ours at
 * 000, the QMP socket and the pid file QEMU makes are still 0600. */
static void
test_created_files_private (void)
{
  g_autofree char *dir = ql_test_make_tmpdir ();
  g_autofree char *qmp = g_build_filename (dir, "qmp.sock", NULL);
  g_autofree char *pidfile = g_build_filename (dir, "qemu.pid", NULL);
  g_autofree char *text = g_strdup_printf (
    "[vm]\nname = umask\npid-file = %s\n[machine]\ntype = pc\nacceleration = tcg\n"
    "[memory]\nsize = 64M\n[knobs]\nno-defaults = true\nno-user-config = true\n"
    "no-graphic = true\nstopped = true\n[qmp ctl]\npath = %s\n", pidfile, qmp);
  g_autoptr(QlRegistry) registry = ql_test_registry_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) config = ql_vm_config_new_from_data (text, -1, "umask.vm", dir, registry, &error);
  g_autoptr(QlVm) vm = NULL;
  struct stat st;
  mode_t saved;

  g_assert_no_error (error);
  vm = ql_vm_new (config);
  ql_test_vm_guard (vm);
  saved = umask (0);
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  umask (saved);
  g_assert_no_error (error);
  g_assert_true (ql_vm_connect_qmp (vm, 20000, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (stat (qmp, &st), ==, 0);
  g_test_message ("QMP socket mode %04o", (guint) (st.st_mode & 07777));
  g_assert_true (S_ISSOCK (st.st_mode));
  g_assert_cmpint (st.st_mode & 0077, ==, 0);
  g_assert_cmpint (stat (pidfile, &st), ==, 0);
  g_test_message ("pid file mode %04o", (guint) (st.st_mode & 07777));
  g_assert_cmpint (st.st_mode & 0077, ==, 0);
  stop_vm (vm);
  ql_test_rm_rf (dir);
}

static void
test_environment_default (void)
{
  g_autoptr(QlVm) vm = new_vm ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) env = NULL;
  g_autofree char *path_entry = g_strdup_printf ("PATH=%s", g_getenv ("PATH"));
  gboolean has_path = FALSE;

  g_assert_nonnull (g_getenv ("PATH"));
  g_setenv (CANARY, "secret", TRUE);
  g_setenv ("LC_QLAUNCH_TEST", "kept", TRUE);
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_unsetenv (CANARY);
  g_unsetenv ("LC_QLAUNCH_TEST");
  g_assert_no_error (error);
  env = environ_of (ql_vm_get_pid (vm));
  for (guint i = 0; i < env->len; i++)
    {
      const char *entry = g_ptr_array_index (env, i);

      g_test_message ("QEMU's environment: %s", entry);
      g_assert_false (g_str_has_prefix (entry, CANARY "="));
      g_assert_true (allowed (entry));
      if (g_strcmp0 (entry, path_entry) == 0)
        has_path = TRUE;
    }
  g_assert_true (has_path);
  g_assert_true (g_ptr_array_find_with_equal_func (env, "LC_QLAUNCH_TEST=kept", g_str_equal, NULL));
  stop_vm (vm);
}

static void
test_environment_explicit (void)
{
  g_autoptr(QlVm) vm = new_vm ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) env = NULL;
  const char * const mine[] = { "QLAUNCH_EXPLICIT=value with spaces", NULL };

  g_setenv (CANARY, "secret", TRUE);
  ql_vm_set_environ (vm, mine);
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_unsetenv (CANARY);
  g_assert_no_error (error);
  env = environ_of (ql_vm_get_pid (vm));
  g_assert_cmpuint (env->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (env, 0), ==, "QLAUNCH_EXPLICIT=value with spaces");
  stop_vm (vm);
}

int
main (int    argc,
      char **argv)
{
  if (argc == 3 && strcmp (argv[1], CHILD_ARG) == 0)
    return child_main (strcmp (argv[2], "die") == 0);

  g_test_init (&argc, &argv, NULL);
  ql_test_vm_guard_install ();
  g_test_add_func ("/hardening/die-with-parent", test_die_with_parent);
  g_test_add_func ("/hardening/outlives-parent-by-default", test_outlives_parent_by_default);
  g_test_add_func ("/hardening/process-group", test_process_group);
  g_test_add_func ("/hardening/created-files-private", test_created_files_private);
  g_test_add_func ("/hardening/environment-default", test_environment_default);
  g_test_add_func ("/hardening/environment-explicit", test_environment_explicit);
  return g_test_run ();
}
