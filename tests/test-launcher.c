/* Suite core: QlVm against the fake QEMU (tests/helpers/fake-qemu.c), which
 * records the argv, descriptors and environment it was given, writes
 * stderr, sleeps, exits with a chosen status, and can imitate -daemonize.
 *
 * Host checks are off in every configuration here (the fake is not QEMU);
 * [vm] qemu names the fake ($QLAUNCH_FAKE_QEMU).
 */
#include "ql-test-util.h"
#include "ql-test-vm-guard.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

static const char * const fake_vars[] = {
  "FAKE_QEMU_RECORD", "FAKE_QEMU_STDERR", "FAKE_QEMU_STDERR_REPEAT", "FAKE_QEMU_SLEEP_MS",
  "FAKE_QEMU_EXIT", "FAKE_QEMU_IGNORE_TERM", "FAKE_QEMU_DAEMONIZE", "FAKE_QEMU_PIDFILE",
  "FAKE_QEMU_DAEMON_DELAY_MS",
};

typedef struct
{
  QlRegistry *registry;
  char *dir;
  char *record;       /* the fake's record file */
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  for (guint i = 0; i < G_N_ELEMENTS (fake_vars); i++)
    g_unsetenv (fake_vars[i]);
  f->registry = ql_test_registry_new ();
  f->dir = ql_test_make_tmpdir ();
  f->record = g_build_filename (f->dir, "record", NULL);
  g_setenv ("FAKE_QEMU_RECORD", f->record, TRUE);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  for (guint i = 0; i < G_N_ELEMENTS (fake_vars); i++)
    g_unsetenv (fake_vars[i]);
  ql_test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->record);
  g_object_unref (f->registry);
}

static const char *
fake_qemu (void)
{
  const char *path = g_getenv ("QLAUNCH_FAKE_QEMU");

  g_assert_nonnull (path);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_EXECUTABLE));
  return path;
}

/* A VM of @extra (VM file text after a [vm] group naming the fake; @vm_keys
 * are more [vm] keys). Host checks are off. */
static QlVmConfig *
load_config (Fixture    *f,
             const char *vm_keys,
             const char *extra)
{
  g_autofree char *text = g_strdup_printf ("[vm]\nqemu = %s\n%s\n%s", fake_qemu (),
                                           vm_keys != NULL ? vm_keys : "",
                                           extra != NULL ? extra : "");

  return ql_test_load_vm (f->registry, text);
}

static QlVm *
new_vm (Fixture    *f,
        const char *vm_keys,
        const char *extra)
{
  g_autoptr(QlVmConfig) config = load_config (f, vm_keys, extra);
  QlVm *vm = ql_vm_new (config);

  ql_test_vm_guard (vm);
  return vm;
}

/* QEMU gets only a few of our variables by default (ql_vm_set_environ());
 * the fake is driven by FAKE_QEMU_* variables, which the tests set after
 * making the VM: each launch gives it our whole environment as it is then. */
static void
pass_environ (QlVm *vm)
{
  g_auto(GStrv) env = g_get_environ ();

  if (ql_vm_get_state (vm) == QL_VM_STATE_NEW)
    ql_vm_set_environ (vm, (const char * const *) env);
}

static gboolean
launch (QlVm          *vm,
        GCancellable  *cancellable,
        GError       **error)
{
  pass_environ (vm);
  return ql_vm_launch (vm, cancellable, error);
}

static void
launch_async (QlVm                *vm,
              GCancellable        *cancellable,
              GAsyncReadyCallback  callback,
              gpointer             user_data)
{
  pass_environ (vm);
  ql_vm_launch_async (vm, cancellable, callback, user_data);
}

/* The fake's record: lines "KIND VALUE". */
typedef struct
{
  GPid pid;
  GPtrArray *argv;         /* char* */
  GHashTable *fds;         /* fd number -> target */
  GPtrArray *env;          /* char* */
} Record;

static void
record_free (Record *r)
{
  g_ptr_array_unref (r->argv);
  g_hash_table_unref (r->fds);
  g_ptr_array_unref (r->env);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Record, record_free)

static Record *
record_load (const char *path)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;
  Record *r = g_new0 (Record, 1);

  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  r->argv = g_ptr_array_new_with_free_func (g_free);
  r->fds = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  r->env = g_ptr_array_new_with_free_func (g_free);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];

      if (g_str_has_prefix (line, "pid "))
        r->pid = atoi (line + 4);
      else if (g_str_has_prefix (line, "argv "))
        g_ptr_array_add (r->argv, g_strdup (line + 5));
      else if (g_str_has_prefix (line, "env "))
        g_ptr_array_add (r->env, g_strdup (line + 4));
      else if (g_str_has_prefix (line, "fd "))
        {
          char *end = NULL;
          long fd = strtol (line + 3, &end, 10);

          g_assert_true (end != NULL && *end == ' ');
          g_hash_table_insert (r->fds, GINT_TO_POINTER ((int) fd), g_strdup (end + 1));
        }
    }
  return r;
}

/* Waits until the fake wrote its record (it then runs its main part). */
static Record *
record_wait (const char *path)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
  return record_load (path);
}

static char *
fd_target (int fd)
{
  g_autofree char *link = g_strdup_printf ("/proc/self/fd/%d", fd);
  char *target = g_file_read_link (link, NULL);

  g_assert_nonnull (target);
  return target;
}

/* GLib opens some descriptors of its own at the first spawn (child watch,
 * worker thread): let it, before counting ours. */
static void
warm_up_spawn (void)
{
  const char *argv[] = { "true", NULL };
  g_autoptr(GSubprocess) warm = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_NONE, NULL);

  g_assert_nonnull (warm);
  g_assert_true (g_subprocess_wait (warm, NULL, NULL));
  ql_test_spin (20);
}

static guint
count_own_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n - 1;   /* the directory's own descriptor */
}

/* The process @pid is gone: not our child any more (reaped) and not
 * running. A zombie whose parent is not us is gone too (a daemon's parent
 * is init, which reaps it; on hosts where it does not, it stays a zombie). */
static void
assert_process_gone (GPid pid)
{
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *stat = NULL;
  int status;

  g_assert_cmpint (pid, >, 0);
  g_assert_cmpint (waitpid (pid, &status, WNOHANG), ==, -1);
  g_assert_cmpint (errno, ==, ECHILD);
  if (g_file_get_contents (stat_path, &stat, NULL, NULL))
    {
      /* pid (comm) S ppid ... */
      const char *close_paren = strrchr (stat, ')');
      char state;
      int ppid;

      g_assert_nonnull (close_paren);
      g_assert_cmpint (sscanf (close_paren + 2, "%c %d", &state, &ppid), ==, 2);
      g_assert_cmpint (state, ==, 'Z');
      g_assert_cmpint (ppid, !=, getpid ());
    }
}

static gboolean
process_alive (GPid pid)
{
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *stat = NULL;
  const char *close_paren;

  if (!g_file_get_contents (stat_path, &stat, NULL, NULL))
    return FALSE;
  close_paren = strrchr (stat, ')');
  return close_paren != NULL && close_paren[2] != 'Z';
}

/* Tests */

typedef struct
{
  gboolean done;
  gboolean ok;
  GError *error;
  gint64 time;
} Result;

static void waited_cb (GObject *source, GAsyncResult *result, gpointer user_data);

static void
test_launch_wait_sync (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(QlVm) vm = new_vm (f, "name = sync-vm", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(Record) r = NULL;
  g_auto(GStrv) argv = NULL;

  g_setenv ("FAKE_QEMU_SLEEP_MS", "200", TRUE);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_NEW);
  g_assert_cmpint (ql_vm_get_pid (vm), ==, 0);
  g_assert_cmpint (ql_vm_get_exit_status (vm), ==, -1);
  g_assert_cmpuint (ql_vm_get_grace_period (vm), ==, 5000);

  g_assert_true (launch (vm, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_RUNNING);
  g_assert_cmpint (ql_vm_get_pid (vm), >, 0);
  g_assert_cmpint (ql_vm_get_exit_status (vm), ==, -1);

  g_assert_true (ql_vm_wait (vm, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_EXITED);
  g_assert_cmpint (ql_vm_get_exit_status (vm), ==, 0);
  assert_process_gone (ql_vm_get_pid (vm));

  /* The argv is the configuration's, byte for byte. */
  r = record_load (f->record);
  g_assert_cmpint (r->pid, ==, ql_vm_get_pid (vm));
  argv = ql_vm_config_to_argv (ql_vm_get_config (vm), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->argv->len, ==, g_strv_length (argv));
  for (guint i = 0; argv[i] != NULL; i++)
    g_assert_cmpstr (g_ptr_array_index (r->argv, i), ==, argv[i]);
  g_assert_cmpstr (g_ptr_array_index (r->argv, 1), ==, "-name");
  g_assert_cmpstr (g_ptr_array_index (r->argv, 2), ==, "guest=sync-vm");

  /* Waiting again answers at once; launching again is refused. */
  g_assert_true (ql_vm_wait (vm, NULL, &error));
  g_assert_false (launch (vm, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_STATE);
}

/* ql_vm_build_cmdline(): the launch runs the command line built before
 * it, not one built again from the configuration as it is then; a failed
 * build keeps nothing, and the launch builds its own. */
static void
test_build_cmdline (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(QlVm) vm = new_vm (f, "name = built-vm", NULL);
  g_autoptr(QlVm) fresh = new_vm (f, "name = fresh-vm", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(Record) r = NULL;
  g_auto(GStrv) built = NULL;
  QlCmdline *cmdline;

  (void) data;
  cmdline = ql_vm_build_cmdline (vm, &error);
  g_assert_no_error (error);
  g_assert_nonnull (cmdline);
  built = ql_cmdline_to_argv (cmdline, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (built[2], ==, "guest=built-vm");

  /* Seen by a new build, not by the launch. */
  g_object_set (ql_vm_get_config (vm), "name", "renamed-vm", NULL);
  g_assert_true (launch (vm, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ql_vm_wait (vm, NULL, &error));
  g_assert_no_error (error);
  r = record_load (f->record);
  g_assert_cmpuint (r->argv->len, ==, g_strv_length (built));
  for (guint i = 0; built[i] != NULL; i++)
    g_assert_cmpstr (g_ptr_array_index (r->argv, i), ==, built[i]);
  g_clear_pointer (&r, record_free);

  /* After the launch: refused. */
  g_assert_null (ql_vm_build_cmdline (vm, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_STATE);
  g_clear_error (&error);

  /* A failed build (an invalid configuration) keeps none: the launch
   * builds from the configuration as it is then. */
  g_object_set (ql_vm_get_config (fresh), "uuid", "not-a-uuid", NULL);
  g_assert_null (ql_vm_build_cmdline (fresh, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_object_set (ql_vm_get_config (fresh), "uuid", NULL, "name", "fixed-vm", NULL);
  g_assert_true (launch (fresh, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ql_vm_wait (fresh, NULL, &error));
  g_assert_no_error (error);
  r = record_load (f->record);
  g_assert_cmpstr (g_ptr_array_index (r->argv, 2), ==, "guest=fixed-vm");
}

static void
launched_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Result *r = user_data;

  r->ok = ql_vm_launch_finish (QL_VM (source), result, &r->error);
  r->time = g_get_monotonic_time ();
  r->done = TRUE;
}

static void
waited_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Result *r = user_data;

  r->ok = ql_vm_wait_finish (QL_VM (source), result, &r->error);
  r->time = g_get_monotonic_time ();
  r->done = TRUE;
}

static void
test_launch_wait_async (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(QlVm) vm = new_vm (f, NULL, NULL);
  Result launched = { 0 }, waited = { 0 };

  g_setenv ("FAKE_QEMU_SLEEP_MS", "200", TRUE);
  launch_async (vm, NULL, launched_cb, &launched);
  /* The callback runs from the main context, never inside the call. */
  g_assert_false (launched.done);
  ql_test_run_until (&launched.done, 5000);
  g_assert_no_error (launched.error);
  g_assert_true (launched.ok);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_RUNNING);

  ql_vm_wait_async (vm, NULL, waited_cb, &waited);
  ql_test_run_until (&waited.done, 5000);
  g_assert_no_error (waited.error);
  g_assert_true (waited.ok);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_EXITED);
  g_assert_cmpint (ql_vm_get_exit_status (vm), ==, 0);
  assert_process_gone (ql_vm_get_pid (vm));
}

static void
test_launch_in_thread_context (Fixture       *f,
                               gconstpointer  data)
{
  /* A VM launched under a pushed thread-default context is followed
   * there: the callbacks run in it, not in the global default context. */
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(QlVm) vm = new_vm (f, NULL, NULL);
  Result launched = { 0 }, waited = { 0 };

  g_setenv ("FAKE_QEMU_SLEEP_MS", "100", TRUE);
  g_main_context_push_thread_default (context);
  launch_async (vm, NULL, launched_cb, &launched);
  while (!launched.done)
    g_main_context_iteration (context, TRUE);
  g_assert_true (launched.ok);
  ql_vm_wait_async (vm, NULL, waited_cb, &waited);
  g_main_context_pop_thread_default (context);

  /* Iterating only the global default context does nothing for it. */
  ql_test_spin (400);
  g_assert_false (waited.done);
  while (!waited.done)
    g_main_context_iteration (context, TRUE);
  g_assert_true (waited.ok);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_EXITED);
}

static void
test_exit_status_stderr (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(QlVm) vm = new_vm (f, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *stderr_prop = NULL;
  int exit_status;

  g_setenv ("FAKE_QEMU_EXIT", "3", TRUE);
  g_setenv ("FAKE_QEMU_STDERR", "fake-qemu: -device foo: no such device 'foo'\n", TRUE);
  g_assert_true (launch (vm, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (ql_vm_wait (vm, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_EXITED);
  g_test_message ("error: %s", error->message);
  g_assert_nonnull (strstr (error->message, "status 3"));
  g_assert_nonnull (strstr (error->message, "fake-qemu: -device foo: no such device 'foo'"));
  g_assert_nonnull (strstr (error->message, fake_qemu ()));
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_FAILED);
  g_assert_cmpint (ql_vm_get_exit_status (vm), ==, 3);
  g_assert_cmpstr (ql_vm_get_stderr (vm), ==, "fake-qemu: -device foo: no such device 'foo'\n");
  g_object_get (vm, "stderr", &stderr_prop, "exit-status", &exit_status, NULL);
  g_assert_cmpstr (stderr_prop, ==, ql_vm_get_stderr (vm));
  g_assert_cmpint (exit_status, ==, 3);

  /* Later waits give the same error. */
  g_clear_error (&error);
  g_assert_false (ql_vm_wait (vm, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_EXITED);
  assert_process_gone (ql_vm_get_pid (vm));
}

static void
test_exit_no_stderr (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(QlVm) vm = new_vm (f, NULL, NULL);
  g_autoptr(GError) error = NULL;

  g_setenv ("FAKE_QEMU_EXIT", "1", TRUE);
  g_assert_true (launch (vm, NULL, &error));
  g_assert_false (ql_vm_wait (vm, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_EXITED);
  g_assert_nonnull (strstr (error->message, "status 1"));
  g_assert_nonnull (strstr (error->message, "nothing on stderr"));
}

static void
test_large_stderr (Fixture       *f,
                   gconstpointer  data)
{
  /* 400 KiB of stderr: QEMU must never block on the pipe; the last 64 KiB
   * (whole lines) are kept. */
  g_autoptr(QlVm) vm = new_vm (f, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *line = g_strdup_printf ("%0127d\n", 7);
  Result waited = { 0 };
  const char *text;
  gsize len;

  g_setenv ("FAKE_QEMU_STDERR", line, TRUE);
  g_setenv ("FAKE_QEMU_STDERR_REPEAT", "3200", TRUE);
  g_setenv ("FAKE_QEMU_EXIT", "2", TRUE);
  g_assert_true (launch (vm, NULL, &error));
  /* A fake blocked on a full pipe would never exit: bounded wait. */
  ql_vm_wait_async (vm, NULL, waited_cb, &waited);
  ql_test_run_until (&waited.done, 20000);
  g_assert_error (waited.error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_EXITED);
  g_clear_error (&waited.error);
  text = ql_vm_get_stderr (vm);
  len = strlen (text);
  g_assert_cmpuint (len, <=, 64 * 1024);
  g_assert_cmpuint (len, >, 63 * 1024);
  g_assert_cmpuint (len % 128, ==, 0);
  g_assert_true (g_str_has_prefix (text, line));
  g_assert_true (g_str_has_suffix (text, line));
}

static void
test_spawn_missing (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *missing = g_build_filename (f->dir, "no-such-qemu-system-x86_64", NULL);
  g_autofree char *text = g_strdup_printf ("[vm]\nqemu = %s\n", missing);
  g_autoptr(QlVmConfig) config = ql_test_load_vm (f->registry, text);
  g_autoptr(QlVm) vm = ql_vm_new (config);
  g_autoptr(GError) error = NULL;
  Result waited = { 0 };

  g_assert_false (launch (vm, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN);
  g_test_message ("error: %s", error->message);
  g_assert_nonnull (strstr (error->message, missing));
  g_assert_nonnull (strstr (error->message, g_strerror (ENOENT)));
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_FAILED);
  g_assert_cmpint (ql_vm_get_pid (vm), ==, 0);

  /* A wait reports the same failure. */
  ql_vm_wait_async (vm, NULL, waited_cb, &waited);
  ql_test_run_until (&waited.done, 1000);
  g_assert_error (waited.error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN);
  g_clear_error (&waited.error);

  /* Not in PATH either. */
  {
    g_autoptr(QlVmConfig) config2 = ql_test_load_vm (f->registry, "[vm]\nqemu = qemu-system-nonexistent-arch\n");
    g_autoptr(QlVm) vm2 = ql_vm_new (config2);

    g_clear_error (&error);
    g_assert_false (launch (vm2, NULL, &error));
    g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN);
    g_assert_nonnull (strstr (error->message, "'qemu-system-nonexistent-arch'"));
  }
}

static void
test_errors_before_launch (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  Result waited = { 0 };

  /* Waiting for a VM never launched. */
  {
    g_autoptr(QlVm) vm = new_vm (f, NULL, NULL);

    g_assert_false (ql_vm_wait (vm, NULL, &error));
    g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_STATE);
    g_clear_error (&error);
    ql_vm_wait_async (vm, NULL, waited_cb, &waited);
    ql_test_run_until (&waited.done, 1000);
    g_assert_error (waited.error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_STATE);
    g_clear_error (&waited.error);
    /* Stopping it does nothing. */
    ql_vm_stop (vm);
    g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_NEW);
  }

  /* An invalid configuration: nothing is spawned, the VM stays NEW. */
  {
    g_autoptr(QlVm) vm = new_vm (f, NULL, "[knobs]\ndaemonize = true\n");

    g_assert_false (launch (vm, NULL, &error));
    g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MISSING);
    g_test_message ("error: %s", error->message);
    g_clear_error (&error);
    g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_NEW);
    g_assert_false (g_file_test (f->record, G_FILE_TEST_EXISTS));
  }

  /* A cancellable cancelled before the launch: nothing is spawned. */
  {
    g_autoptr(QlVm) vm = new_vm (f, NULL, NULL);
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();

    g_cancellable_cancel (cancellable);
    g_assert_false (launch (vm, cancellable, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&error);
    g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_NEW);
    g_assert_false (g_file_test (f->record, G_FILE_TEST_EXISTS));
  }
}

static void
state_changed_cb (GObject    *object,
                  GParamSpec *pspec,
                  gpointer    user_data)
{
  GArray *states = user_data;
  QlVmState state = ql_vm_get_state (QL_VM (object));

  g_array_append_val (states, state);
}

static char *
states_string (GArray *states)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (QL_TYPE_VM_STATE);
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; i < states->len; i++)
    g_string_append_printf (s, "%s%s", i ? " " : "",
                            g_enum_get_value (klass, g_array_index (states, int, i))->value_nick);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
test_state_notifications (Fixture       *f,
                          gconstpointer  data)
{
  static const struct
  {
    const char *exit;
    gboolean missing_binary;
    const char *expected;
  } cases[] = {
    { "0", FALSE, "starting running exited" },
    { "4", FALSE, "starting running failed" },
    { "0", TRUE, "starting failed" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GArray) states = g_array_new (FALSE, FALSE, sizeof (int));
      g_autoptr(QlVmConfig) config = NULL;
      g_autoptr(QlVm) vm = NULL;
      g_autofree char *got = NULL;

      g_setenv ("FAKE_QEMU_EXIT", cases[i].exit, TRUE);
      config = cases[i].missing_binary
               ? ql_test_load_vm (f->registry, "[vm]\nqemu = /nonexistent/qemu\n")
               : load_config (f, NULL, NULL);
      vm = ql_vm_new (config);
      g_signal_connect (vm, "notify::state", G_CALLBACK (state_changed_cb), states);
      launch (vm, NULL, NULL);
      ql_vm_wait (vm, NULL, NULL);
      got = states_string (states);
      g_assert_cmpstr (got, ==, cases[i].expected);
    }
}

static void
test_stop (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(QlVm) vm = new_vm (f, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(Record) r = NULL;
  gint64 start;

  g_setenv ("FAKE_QEMU_SLEEP_MS", "60000", TRUE);
  g_assert_true (launch (vm, NULL, &error));
  r = record_wait (f->record);
  start = g_get_monotonic_time ();
  ql_vm_stop (vm);
  /* Never blocks: still RUNNING until the exit is seen. */
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_RUNNING);
  g_assert_true (ql_vm_wait (vm, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_EXITED);
  g_assert_cmpint (ql_vm_get_exit_status (vm), ==, 128 + SIGTERM);
  assert_process_gone (r->pid);
  /* Stopping again does nothing. */
  ql_vm_stop (vm);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_EXITED);
}

static void
test_killed_by_other (Fixture       *f,
                      gconstpointer  data)
{
  /* A signal qlaunch did not send: FAILED, SIGNALED, with the stderr. */
  g_autoptr(QlVm) vm = new_vm (f, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(Record) r = NULL;

  g_setenv ("FAKE_QEMU_SLEEP_MS", "60000", TRUE);
  g_setenv ("FAKE_QEMU_STDERR", "fake-qemu: about to be killed\n", TRUE);
  g_assert_true (launch (vm, NULL, &error));
  r = record_wait (f->record);
  g_assert_cmpint (kill (r->pid, SIGKILL), ==, 0);
  g_assert_false (ql_vm_wait (vm, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SIGNALED);
  g_test_message ("error: %s", error->message);
  g_assert_nonnull (strstr (error->message, "signal 9"));
  g_assert_nonnull (strstr (error->message, "about to be killed"));
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_FAILED);
  g_assert_cmpint (ql_vm_get_exit_status (vm), ==, 128 + SIGKILL);
}

/* Cancels a running fake through the wait's cancellable; returns the ms
 * from the cancellation to the callback. */
static gint64
cancel_and_measure (Fixture *f,
                    QlVm    *vm,
                    GPid    *out_pid)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(Record) r = NULL;
  Result launched = { 0 }, waited = { 0 };
  gint64 start;

  launch_async (vm, NULL, launched_cb, &launched);
  ql_test_run_until (&launched.done, 5000);
  g_assert_no_error (launched.error);
  /* The fake has set up its signal handling once it recorded. */
  r = record_wait (f->record);
  g_assert_cmpint (r->pid, ==, ql_vm_get_pid (vm));

  ql_vm_wait_async (vm, cancellable, waited_cb, &waited);
  ql_test_spin (50);
  g_assert_false (waited.done);
  start = g_get_monotonic_time ();
  g_cancellable_cancel (cancellable);
  ql_test_run_until (&waited.done, 20000);
  g_assert_false (waited.ok);
  g_assert_error (waited.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&waited.error);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_EXITED);
  assert_process_gone (r->pid);
  *out_pid = r->pid;
  return (waited.time - start) / 1000;
}

static void
test_cancel (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(QlVm) vm = new_vm (f, NULL, NULL);
  gint64 ms;
  GPid pid;

  g_setenv ("FAKE_QEMU_SLEEP_MS", "60000", TRUE);
  ql_vm_set_grace_period (vm, 3000);
  ms = cancel_and_measure (f, vm, &pid);
  g_test_message ("SIGTERM ended the fake %" G_GINT64_FORMAT " ms after the cancellation", ms);
  g_assert_cmpint (ms, <, 3000);
  g_assert_cmpint (ql_vm_get_exit_status (vm), ==, 128 + SIGTERM);
}

static void
test_cancel_ignores_term (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(QlVm) vm = new_vm (f, NULL, NULL);
  gint64 ms;
  GPid pid;

  g_setenv ("FAKE_QEMU_SLEEP_MS", "60000", TRUE);
  g_setenv ("FAKE_QEMU_IGNORE_TERM", "1", TRUE);
  g_object_set (vm, "grace-period", 400, NULL);
  ms = cancel_and_measure (f, vm, &pid);
  g_test_message ("SIGKILL ended the fake %" G_GINT64_FORMAT " ms after the cancellation (grace 400 ms)", ms);
  g_assert_cmpint (ms, >=, 400);
  g_assert_cmpint (ms, <, 400 + 1500);
  g_assert_cmpint (ql_vm_get_exit_status (vm), ==, 128 + SIGKILL);
}

static void
test_cancel_sync_wait (Fixture       *f,
                       gconstpointer  data)
{
  /* The synchronous wait: cancelled from a timeout in the context it
   * iterates. */
  g_autoptr(QlVm) vm = new_vm (f, NULL, NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  gint64 start;

  g_setenv ("FAKE_QEMU_SLEEP_MS", "60000", TRUE);
  g_assert_true (launch (vm, NULL, &error));
  g_timeout_add_once (300, (GSourceOnceFunc) g_cancellable_cancel, cancellable);
  start = g_get_monotonic_time ();
  g_assert_false (ql_vm_wait (vm, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * G_USEC_PER_SEC);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_EXITED);
  assert_process_gone (ql_vm_get_pid (vm));
}

/* The test's descriptor @fd now at number @target (closed at @fd). */
static int
move_fd (int fd,
         int target)
{
  g_assert_cmpint (dup2 (fd, target), ==, target);
  close (fd);
  return target;
}

static void
test_fds (Fixture       *f,
          gconstpointer  data)
{
  /* Passed: two tap fds, two vhost fds, the incoming fd (at numbers chosen
   * so that the sources are a permutation of targets elsewhere). Not
   * passed: the other pipe ends, a file, a socket pair. */
  g_autofree char *file_path = g_build_filename (f->dir, "passed-file", NULL);
  g_autofree char *other_path = g_build_filename (f->dir, "not-passed-file", NULL);
  int a[2], b[2], c[2], d[2], sv[2];
  int file_fd, other_fd;
  int passed[5];
  int not_passed[7];
  g_autofree char *extra = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(Record) r = NULL;
  g_autoptr(GString) expected_argv = NULL;
  guint n_fds, fds_before;

  g_assert_cmpint (pipe (a), ==, 0);
  g_assert_cmpint (pipe (b), ==, 0);
  g_assert_cmpint (pipe (c), ==, 0);
  g_assert_cmpint (pipe (d), ==, 0);
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
  file_fd = open (file_path, O_RDWR | O_CREAT, 0600);
  other_fd = open (other_path, O_RDWR | O_CREAT, 0600);
  g_assert_cmpint (file_fd, >=, 0);
  g_assert_cmpint (other_fd, >=, 0);

  /* fds = 104;103  vhost-fds = 102;101  incoming fd = 100: the library
   * must move 104 to 3, 100 to 7, ... */
  passed[0] = move_fd (a[0], 104);
  passed[1] = move_fd (file_fd, 103);
  passed[2] = move_fd (b[0], 102);
  passed[3] = move_fd (b[1], 101);
  passed[4] = move_fd (d[0], 100);
  /* (a[1] and d[1] share their pipe's target with a[0] and d[0]: they
   * are caught by the count of descriptors.) */
  not_passed[0] = a[1];
  not_passed[1] = d[1];
  not_passed[2] = c[0];
  not_passed[3] = c[1];
  not_passed[4] = other_fd;
  not_passed[5] = sv[0];
  not_passed[6] = sv[1];

  extra = g_strdup_printf ("[device net0]\ntype = net\nnet-type = tap\nfds = %d;%d\n"
                           "vhost = true\nvhost-fds = %d;%d\n"
                           "[incoming]\ntype = fd\nfd = %d\n",
                           passed[0], passed[1], passed[2], passed[3], passed[4]);
  vm = new_vm (f, NULL, extra);
  warm_up_spawn ();
  fds_before = count_own_fds ();
  g_assert_true (launch (vm, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ql_vm_wait (vm, NULL, &error));
  g_assert_no_error (error);
  /* No descriptor of the launch stays open here (duplicates, pipes). */
  g_clear_object (&vm);
  ql_test_spin (20);
  g_assert_cmpuint (count_own_fds (), ==, fds_before);

  r = record_load (f->record);
  /* The argv names 3..7. */
  expected_argv = g_string_new (NULL);
  for (guint i = 1; i < r->argv->len; i++)
    g_string_append_printf (expected_argv, "%s\n", (char *) g_ptr_array_index (r->argv, i));
  g_test_message ("argv:\n%s", expected_argv->str);
  g_assert_nonnull (strstr (expected_argv->str, "fds=3:4"));
  g_assert_nonnull (strstr (expected_argv->str, "vhostfds=5:6"));
  g_assert_nonnull (strstr (expected_argv->str, "-incoming\nfd:7\n"));

  /* Exactly 0, 1, 2 and 3..7, each at the object expected. */
  n_fds = g_hash_table_size (r->fds);
  {
    g_autoptr(GString) all = g_string_new (NULL);
    GHashTableIter iter;
    gpointer key, value;

    g_hash_table_iter_init (&iter, r->fds);
    while (g_hash_table_iter_next (&iter, &key, &value))
      g_string_append_printf (all, "%d -> %s\n", GPOINTER_TO_INT (key), (char *) value);
    g_test_message ("fds of the fake:\n%s", all->str);
  }
  g_assert_cmpuint (n_fds, ==, 3 + G_N_ELEMENTS (passed));
  g_assert_cmpstr (g_hash_table_lookup (r->fds, GINT_TO_POINTER (0)), ==, "/dev/null");
  g_assert_cmpstr (g_hash_table_lookup (r->fds, GINT_TO_POINTER (1)), ==, "/dev/null");
  g_assert_true (g_str_has_prefix (g_hash_table_lookup (r->fds, GINT_TO_POINTER (2)), "pipe:["));
  for (guint i = 0; i < G_N_ELEMENTS (passed); i++)
    {
      g_autofree char *target = fd_target (passed[i]);

      g_assert_cmpstr (g_hash_table_lookup (r->fds, GINT_TO_POINTER (3 + i)), ==, target);
    }
  /* Nothing of ours that was not asked for. */
  for (guint i = 2; i < G_N_ELEMENTS (not_passed); i++)
    {
      g_autofree char *target = fd_target (not_passed[i]);
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, r->fds);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        g_assert_cmpstr (value, !=, target);
    }

  /* The caller keeps its descriptors, open and without close-on-exec
   * changes; the library's duplicates are closed. */
  for (guint i = 0; i < G_N_ELEMENTS (passed); i++)
    g_assert_cmpint (fcntl (passed[i], F_GETFD), ==, 0);
  for (guint i = 0; i < G_N_ELEMENTS (passed); i++)
    close (passed[i]);
  for (guint i = 0; i < G_N_ELEMENTS (not_passed); i++)
    close (not_passed[i]);
}

static void
test_stdout_fd (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(QlVm) vm = new_vm (f, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(Record) r = NULL;
  g_autofree char *target = NULL;
  int p[2];

  g_assert_cmpint (pipe (p), ==, 0);
  ql_vm_set_stdout_fd (vm, p[1]);
  target = fd_target (p[1]);
  close (p[1]);   /* the VM has its own copy */
  g_assert_true (launch (vm, NULL, &error));
  g_assert_true (ql_vm_wait (vm, NULL, &error));
  g_assert_no_error (error);
  r = record_load (f->record);
  g_assert_cmpstr (g_hash_table_lookup (r->fds, GINT_TO_POINTER (0)), ==, "/dev/null");
  g_assert_cmpstr (g_hash_table_lookup (r->fds, GINT_TO_POINTER (1)), ==, target);
  g_assert_cmpuint (g_hash_table_size (r->fds), ==, 3);
  close (p[0]);
}

/* QEMU's environment is exactly what ql_vm_set_environ() gave: nothing of
 * ours is added (the default, a few variables of ours, is checked by
 * test-hardening on the real QEMU's /proc/PID/environ). */
static void
test_environment (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(QlVm) vm = new_vm (f, NULL, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(Record) r = NULL;
  g_autofree char *record = g_strdup_printf ("FAKE_QEMU_RECORD=%s", f->record);
  const char * const env[] = { record, "QLAUNCH_TEST_MARKER=value with spaces", NULL };

  g_setenv ("QLAUNCH_TEST_CANARY", "not for QEMU", TRUE);
  ql_vm_set_environ (vm, env);
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_true (ql_vm_wait (vm, NULL, &error));
  g_unsetenv ("QLAUNCH_TEST_CANARY");
  r = record_load (f->record);
  g_assert_cmpuint (r->env->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (r->env, 0), ==, record);
  g_assert_cmpstr (g_ptr_array_index (r->env, 1), ==, "QLAUNCH_TEST_MARKER=value with spaces");
}

/* With stdio inherited: QEMU's stdin and stdout are ours, its stderr is
 * captured and copied to ours as it comes. Run in a subprocess whose
 * stdout and stderr the test harness captures. */
static void
test_stdio_inherit (Fixture       *f,
                    gconstpointer  data)
{
  if (g_test_subprocess ())
    {
      g_autoptr(QlVm) vm = new_vm (f, NULL, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(Record) r = NULL;
      g_autofree char *in = fd_target (0);
      g_autofree char *out = fd_target (1);

      g_setenv ("FAKE_QEMU_STDERR", "fake-qemu: live on stderr\n", TRUE);
      g_setenv ("FAKE_QEMU_EXIT", "5", TRUE);
      ql_vm_set_stdio_inherit (vm, TRUE);
      g_assert_true (launch (vm, NULL, &error));
      g_assert_false (ql_vm_wait (vm, NULL, &error));
      g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_EXITED);
      g_assert_cmpstr (ql_vm_get_stderr (vm), ==, "fake-qemu: live on stderr\n");
      r = record_load (f->record);
      g_assert_cmpstr (g_hash_table_lookup (r->fds, GINT_TO_POINTER (0)), ==, in);
      g_assert_cmpstr (g_hash_table_lookup (r->fds, GINT_TO_POINTER (1)), ==, out);
      g_assert_cmpuint (g_hash_table_size (r->fds), ==, 3);
      return;
    }
  g_test_trap_subprocess (NULL, 20 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr ("fake-qemu: live on stderr\n");
}

/* Daemonize */

static QlVm *
new_daemon_vm (Fixture *f,
               char   **out_pid_file)
{
  g_autofree char *pid_file = g_build_filename (f->dir, "qemu.pid", NULL);
  g_autofree char *keys = g_strdup_printf ("pid-file = %s", pid_file);
  QlVm *vm = new_vm (f, keys, "[knobs]\ndaemonize = true\n");

  g_setenv ("FAKE_QEMU_DAEMONIZE", "1", TRUE);
  if (out_pid_file != NULL)
    *out_pid_file = g_steal_pointer (&pid_file);
  return vm;
}

static GPid
pid_from_file (const char *path)
{
  g_autofree char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return atoi (text);
}

static void
test_daemonize (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *pid_file = NULL;
  g_autoptr(QlVm) vm = new_daemon_vm (f, &pid_file);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) states = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(Record) r = NULL;
  g_autofree char *got = NULL;
  Result waited = { 0 };
  GPid daemon;
  gint64 start;

  g_setenv ("FAKE_QEMU_SLEEP_MS", "60000", TRUE);
  g_setenv ("FAKE_QEMU_DAEMON_DELAY_MS", "300", TRUE);
  g_signal_connect (vm, "notify::state", G_CALLBACK (state_changed_cb), states);
  start = g_get_monotonic_time ();
  g_assert_true (launch (vm, NULL, &error));
  g_assert_no_error (error);
  /* Completed only once the parent exited (after the daemon's 300 ms). */
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 300 * 1000);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_RUNNING);

  r = record_load (f->record);
  daemon = ql_vm_get_pid (vm);
  g_assert_cmpint (daemon, ==, pid_from_file (pid_file));
  g_assert_cmpint (daemon, !=, r->pid);   /* not the parent */
  g_assert_true (process_alive (daemon));
  assert_process_gone (r->pid);           /* the parent was reaped */

  /* It keeps running until stopped. */
  ql_vm_wait_async (vm, cancellable, waited_cb, &waited);
  ql_test_spin (300);
  g_assert_false (waited.done);
  g_assert_true (process_alive (daemon));
  start = g_get_monotonic_time ();
  g_cancellable_cancel (cancellable);
  ql_test_run_until (&waited.done, 10000);
  g_test_message ("the daemon ended %" G_GINT64_FORMAT " ms after the cancellation",
                  (waited.time - start) / 1000);
  g_assert_error (waited.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&waited.error);
  g_assert_cmpint (waited.time - start, <, 3 * G_USEC_PER_SEC);
  g_assert_false (process_alive (daemon));
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_EXITED);
  g_assert_cmpint (ql_vm_get_exit_status (vm), ==, -1);
  got = states_string (states);
  g_assert_cmpstr (got, ==, "starting running exited");
}

static void
test_daemonize_exits (Fixture       *f,
                      gconstpointer  data)
{
  /* The daemon ends by itself: the VM follows it to EXITED. */
  g_autoptr(QlVm) vm = new_daemon_vm (f, NULL);
  g_autoptr(GError) error = NULL;
  GPid daemon;

  g_setenv ("FAKE_QEMU_SLEEP_MS", "300", TRUE);
  launch (vm, NULL, &error);
  g_assert_no_error (error);
  daemon = ql_vm_get_pid (vm);
  g_assert_true (ql_vm_wait (vm, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (process_alive (daemon));
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_EXITED);
}

static void
test_daemonize_fails (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(QlVm) vm = new_daemon_vm (f, NULL);
  g_autoptr(GError) error = NULL;

  g_setenv ("FAKE_QEMU_EXIT", "1", TRUE);
  g_setenv ("FAKE_QEMU_STDERR", "fake-qemu: could not load kernel\n", TRUE);
  g_assert_false (launch (vm, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_EXITED);
  g_test_message ("error: %s", error->message);
  g_assert_nonnull (strstr (error->message, "fake-qemu: could not load kernel"));
  g_assert_nonnull (strstr (error->message, "status 1"));
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_FAILED);
  g_assert_cmpint (ql_vm_get_exit_status (vm), ==, 1);
}

static void
test_daemonize_bad_pid_file (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(QlVm) vm = new_daemon_vm (f, NULL);
  g_autoptr(GError) error = NULL;

  g_setenv ("FAKE_QEMU_PIDFILE", "bad", TRUE);
  g_assert_false (launch (vm, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_DAEMON);
  g_test_message ("error: %s", error->message);
  g_assert_nonnull (strstr (error->message, "'not-a-pid'"));
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_FAILED);
  g_clear_error (&error);
  g_assert_false (ql_vm_wait (vm, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_DAEMON);
}

static void
test_daemonize_no_pid_file (Fixture       *f,
                            gconstpointer  data)
{
  /* The parent says ready, but there is no pid file. */
  g_autofree char *pid_file = NULL;
  g_autoptr(QlVm) vm = new_daemon_vm (f, &pid_file);
  g_autoptr(GError) error = NULL;

  g_setenv ("FAKE_QEMU_PIDFILE", "none", TRUE);
  g_assert_false (launch (vm, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_DAEMON);
  g_test_message ("error: %s", error->message);
  g_assert_nonnull (strstr (error->message, pid_file));
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_FAILED);
}

/* Cancelling the launch of a daemonizing QEMU stops the daemon. */
static void
cancel_daemonizing (Fixture    *f,
                    guint       grace_ms,
                    const char *delay_ms)
{
  g_autofree char *pid_file = NULL;
  g_autoptr(QlVm) vm = new_daemon_vm (f, &pid_file);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(Record) r = NULL;
  Result launched = { 0 };
  GPid daemon;

  g_setenv ("FAKE_QEMU_SLEEP_MS", "60000", TRUE);
  g_setenv ("FAKE_QEMU_DAEMON_DELAY_MS", delay_ms, TRUE);
  ql_vm_set_grace_period (vm, grace_ms);
  launch_async (vm, cancellable, launched_cb, &launched);
  r = record_wait (f->record);
  while (!g_file_test (pid_file, G_FILE_TEST_EXISTS))
    ql_test_spin (5);
  ql_test_spin (20);
  daemon = pid_from_file (pid_file);
  g_assert_true (process_alive (daemon));
  g_assert_false (launched.done);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_STARTING);

  g_cancellable_cancel (cancellable);
  ql_test_run_until (&launched.done, 20000);
  g_assert_false (launched.ok);
  g_assert_error (launched.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&launched.error);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_EXITED);
  g_assert_false (process_alive (daemon));
  assert_process_gone (r->pid);
}

static void
test_daemonize_cancel_launch (Fixture       *f,
                              gconstpointer  data)
{
  /* The daemon gets ready within the grace period: stopped then. */
  cancel_daemonizing (f, 5000, "500");
}

static void
test_daemonize_cancel_launch_hung (Fixture       *f,
                                   gconstpointer  data)
{
  /* The daemon hangs in its initialization past the grace period: the
   * parent is killed and the daemon found through its pid file. */
  cancel_daemonizing (f, 300, "60000");
}

/* Many VMs from one main loop. */

typedef struct
{
  QlVm *vm;
  Result launched;
  Result waited;
  GPid pid;
} Many;

static void
test_concurrent (Fixture       *f,
                 gconstpointer  data)
{
  enum { N = 20 };
  Many vms[N] = { 0 };
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  guint fds_before;
  gint64 start;
  gboolean all;

  g_unsetenv ("FAKE_QEMU_RECORD");
  /* Warm up GLib's own descriptors (child watch, worker thread). */
  {
    g_autoptr(QlVm) vm = new_vm (f, NULL, NULL);

    g_assert_true (launch (vm, NULL, NULL));
    g_assert_true (ql_vm_wait (vm, NULL, NULL));
  }
  ql_test_spin (50);
  fds_before = count_own_fds ();

  g_setenv ("FAKE_QEMU_SLEEP_MS", "60000", TRUE);
  for (guint i = 0; i < N; i++)
    {
      vms[i].vm = new_vm (f, NULL, NULL);
      ql_vm_set_grace_period (vms[i].vm, 2000);
      launch_async (vms[i].vm, NULL, launched_cb, &vms[i].launched);
    }
  do
    {
      all = TRUE;
      g_main_context_iteration (NULL, FALSE);
      for (guint i = 0; i < N; i++)
        all = all && vms[i].launched.done;
    }
  while (!all);
  for (guint i = 0; i < N; i++)
    {
      g_assert_no_error (vms[i].launched.error);
      g_assert_cmpint (ql_vm_get_state (vms[i].vm), ==, QL_VM_STATE_RUNNING);
      vms[i].pid = ql_vm_get_pid (vms[i].vm);
      g_assert_true (process_alive (vms[i].pid));
      ql_vm_wait_async (vms[i].vm, cancellable, waited_cb, &vms[i].waited);
    }
  ql_test_spin (100);
  start = g_get_monotonic_time ();
  g_cancellable_cancel (cancellable);
  do
    {
      all = TRUE;
      g_main_context_iteration (NULL, FALSE);
      for (guint i = 0; i < N; i++)
        all = all && vms[i].waited.done;
      g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
    }
  while (!all);
  g_test_message ("20 VMs stopped %" G_GINT64_FORMAT " ms after the cancellation",
                  (g_get_monotonic_time () - start) / 1000);
  for (guint i = 0; i < N; i++)
    {
      g_assert_error (vms[i].waited.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_clear_error (&vms[i].waited.error);
      g_assert_cmpint (ql_vm_get_state (vms[i].vm), ==, QL_VM_STATE_EXITED);
      assert_process_gone (vms[i].pid);
      g_clear_object (&vms[i].vm);
    }
  ql_test_spin (50);
  g_assert_cmpuint (count_own_fds (), ==, fds_before);
}

static void
test_vm_outlives_ref (Fixture       *f,
                      gconstpointer  data)
{
  /* Dropping the last reference of a running VM: QEMU still runs, is
   * still reaped when it ends, and the VM is then finalized. */
  QlVm *vm = new_vm (f, NULL, NULL);
  g_autoptr(Record) r = NULL;
  gint64 end;

  g_setenv ("FAKE_QEMU_SLEEP_MS", "300", TRUE);
  g_assert_true (launch (vm, NULL, NULL));
  g_object_add_weak_pointer (G_OBJECT (vm), (gpointer *) &vm);
  g_object_unref (vm);
  g_assert_nonnull (vm);
  r = record_wait (f->record);
  end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (vm != NULL && g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_null (vm);
  assert_process_gone (r->pid);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ql_test_vm_guard_install ();

#define ADD(path, func) \
  g_test_add ("/launcher/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("launch-wait-sync", test_launch_wait_sync);
  ADD ("launch-wait-async", test_launch_wait_async);
  ADD ("build-cmdline", test_build_cmdline);
  ADD ("thread-default-context", test_launch_in_thread_context);
  ADD ("exit-status-stderr", test_exit_status_stderr);
  ADD ("exit-no-stderr", test_exit_no_stderr);
  ADD ("large-stderr", test_large_stderr);
  ADD ("spawn-missing-binary", test_spawn_missing);
  ADD ("errors-before-launch", test_errors_before_launch);
  ADD ("state-notifications", test_state_notifications);
  ADD ("stop", test_stop);
  ADD ("killed-by-other", test_killed_by_other);
  ADD ("cancel", test_cancel);
  ADD ("cancel-ignores-sigterm", test_cancel_ignores_term);
  ADD ("cancel-sync-wait", test_cancel_sync_wait);
  ADD ("fds", test_fds);
  ADD ("stdout-fd", test_stdout_fd);
  ADD ("environment", test_environment);
  ADD ("stdio-inherit", test_stdio_inherit);
  ADD ("daemonize", test_daemonize);
  ADD ("daemonize-exits", test_daemonize_exits);
  ADD ("daemonize-fails", test_daemonize_fails);
  ADD ("daemonize-bad-pid-file", test_daemonize_bad_pid_file);
  ADD ("daemonize-missing-pid-file", test_daemonize_no_pid_file);
  ADD ("daemonize-cancel-launch", test_daemonize_cancel_launch);
  ADD ("daemonize-cancel-launch-hung", test_daemonize_cancel_launch_hung);
  ADD ("concurrent-20", test_concurrent);
  ADD ("unref-while-running", test_vm_outlives_ref);

  return g_test_run ();
}
