/* qlaunch tests — `qlaunch run`: the built
 * qlaunch ($QLAUNCH_BIN) launches the real qemu-system-x86_64 (TCG) on VM
 * files written to a temporary directory.
 *
 *  - exit status: QEMU's (0 when the guest powers off; QEMU's 1 with its own
 *    message on stderr when it refuses the VM), 1 when the VM is invalid or
 *    QEMU cannot start, 2 usage;
 *  - a status line on stderr when QEMU starts (its pid) and when it ends;
 *  - SIGINT/SIGTERM stop QEMU within the grace period (SIGTERM, then
 *    SIGKILL), a second SIGINT kills it at once (but not the same SIGINT
 *    delivered twice within a few ms), exit 128+signal, and no QEMU process
 *    is left (the pid of the status line is gone);
 *  - on a terminal (a pty as qlaunch's controlling terminal) the console is
 *    raw, but Ctrl-C still stops the VM, and the terminal is restored;
 *  - the test guest booted by data/examples/boot.vm prints its ready marker
 *    on qlaunch's standard output (QEMU inherits it: -nographic console);
 *  - seccomp: with the guest at its shell, /proc/<QEMU>/status shows
 *    Seccomp: 2 by default and 0 with [knobs] sandbox = off; a tap script
 *    relaxes spawn with a note and runs under the filter; with
 *    sandbox-spawn = deny the same VM is refused.
 *
 * Suite `guest` (the last case boots the test guest; it is skipped when the
 * guest image is not built). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <termios.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>

#include "ql-test-bios.h"
#include "ql-test-guest.h"
#include "ql-test-pids.h"
#include "ql-test-util.h"

/* ---- a running qlaunch, its output read as it comes ---- */

typedef struct
{
  GSubprocess *proc;
  GString     *out;
  GString     *err;
  guint        open_streams;
  gboolean     exited;
} Run;

static void read_more (GInputStream *stream, GString *buf, Run *run);

typedef struct
{
  Run     *run;
  GString *buf;
} ReadOp;

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  ReadOp *op = user_data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, NULL);

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    op->run->open_streams--;
  else
    {
      g_string_append_len (op->buf, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
      read_more (G_INPUT_STREAM (source), op->buf, op->run);
    }
  g_free (op);
}

static void
read_more (GInputStream *stream,
           GString      *buf,
           Run          *run)
{
  ReadOp *op = g_new0 (ReadOp, 1);

  op->run = run;
  op->buf = buf;
  g_input_stream_read_bytes_async (stream, 4096, G_PRIORITY_DEFAULT, NULL, on_read, op);
}

static void
on_exited (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Run *run = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  run->exited = TRUE;
}

static void
child_setup (gpointer data)
{
  /* When the test dies (a failed assertion), qlaunch is told to stop:
   * it stops QEMU as on Ctrl-C, so no QEMU is left behind. */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

/* Starts `qlaunch --plugin-dir BUILD run ARGS...` with stdin /dev/null. */
static Run *
run_start (const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  Run *run = g_new0 (Run, 1);

  g_ptr_array_add (argv, (gpointer) g_getenv ("QLAUNCH_BIN"));
  g_ptr_array_add (argv, (gpointer) "--plugin-dir");
  g_ptr_array_add (argv, (gpointer) g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"));
  g_ptr_array_add (argv, (gpointer) "run");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_nonnull (argv->pdata[0]);
  g_assert_nonnull (argv->pdata[2]);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);
  g_subprocess_launcher_set_stdin_file_path (launcher, "/dev/null");
  g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
  run->proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  run->out = g_string_new (NULL);
  run->err = g_string_new (NULL);
  run->open_streams = 2;
  read_more (g_subprocess_get_stdout_pipe (run->proc), run->out, run);
  read_more (g_subprocess_get_stderr_pipe (run->proc), run->err, run);
  g_subprocess_wait_async (run->proc, NULL, on_exited, run);
  return run;
}

static gboolean
on_deadline (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the main context until @done (run) is TRUE or @timeout_ms. */
static gboolean
run_iterate_until (Run      *run,
                   gboolean (*done) (Run *run),
                   guint     timeout_ms)
{
  gboolean expired = FALSE;
  guint source = g_timeout_add (timeout_ms, on_deadline, &expired);

  while (!done (run) && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (source);
  return done (run);
}

static gboolean
run_finished (Run *run)
{
  return run->exited && run->open_streams == 0;
}

static gboolean
run_has_pid (Run *run)
{
  return strstr (run->err->str, "QEMU started (pid ") != NULL || run_finished (run);
}

/* QEMU's pid from the status line "qlaunch: QEMU started (pid N)", or 0. */
static GPid
run_qemu_pid (Run *run)
{
  const char *line = strstr (run->err->str, "QEMU started (pid ");

  if (line == NULL)
    return 0;
  return (GPid) atoi (line + strlen ("QEMU started (pid "));
}

static void
run_free (Run *run)
{
  if (!run->exited)
    {
      /* As if the test had died: qlaunch stops QEMU. */
      g_subprocess_send_signal (run->proc, SIGTERM);
      if (!run_iterate_until (run, run_finished, 10000))
        {
          g_subprocess_force_exit (run->proc);
          run_iterate_until (run, run_finished, 5000);
        }
    }
  g_object_unref (run->proc);
  g_string_free (run->out, TRUE);
  g_string_free (run->err, TRUE);
  g_free (run);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Run, run_free)

/* Waits for qlaunch to end (failing the test after @timeout_ms); returns
 * its exit status, or 128+N when it was killed by signal N. */
static int
run_wait (Run  *run,
          guint timeout_ms)
{
  if (!run_iterate_until (run, run_finished, timeout_ms))
    g_error ("qlaunch did not end in %u ms; stderr so far:\n%s", timeout_ms, run->err->str);
  if (g_subprocess_get_if_signaled (run->proc))
    return 128 + g_subprocess_get_term_sig (run->proc);
  return g_subprocess_get_exit_status (run->proc);
}

/* TRUE once no process @pid exists (up to @timeout_ms: an orphan is reaped
 * by init). A zombie counts as existing. */
static gboolean
pid_gone (GPid  pid,
          guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  for (;;)
    {
      if (kill (pid, 0) != 0 && errno == ESRCH)
        return TRUE;
      if (g_get_monotonic_time () >= deadline)
        return FALSE;
      g_usleep (20 * 1000);
    }
}

/* ---- fixtures ---- */

typedef struct
{
  char *dir;
} Fixture;

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  /* Its stand-ins for QEMU must be where nobody else can write. */
  fx->dir = ql_test_make_safe_tmpdir ();
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  ql_test_rm_rf (fx->dir);
  g_free (fx->dir);
}

static char *
write_file (Fixture    *fx,
            const char *name,
            const char *text,
            int         mode)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (fx->dir, name, NULL);

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
  return path;
}

/* A q35/TCG VM with no devices and no console, written as test.vm:
 * @vm_keys go in [vm], @knob_keys in [knobs], @groups after (each nullable). */
static char *
write_vm (Fixture    *fx,
          const char *vm_keys,
          const char *knob_keys,
          const char *groups)
{
  g_autofree char *text = g_strdup_printf ("[vm]\nname = runtest\n%s\n"
                                           "[machine]\ntype = q35\nacceleration = tcg\n\n"
                                           "[memory]\nsize = 128M\n\n"
                                           "[knobs]\nno-user-config = true\nno-defaults = true\n"
                                           "no-graphic = true\n%s\n%s",
                                           vm_keys ? vm_keys : "", knob_keys ? knob_keys : "",
                                           groups ? groups : "");

  return write_file (fx, "test.vm", text, 0644);
}

/* A stand-in for QEMU that ignores SIGTERM (and SIGINT, SIGHUP): only
 * SIGKILL ends it. `exec` keeps the pid qlaunch started; ignored signals
 * stay ignored across exec. Its capability probe (-machine none) fails at
 * once, rather than after the probe's 5 s wait for a QMP socket: qlaunch
 * then launches it unchecked. */
static char *
write_stubborn_qemu (Fixture *fx)
{
  return write_file (fx, "stubborn-qemu",
                     "#!/bin/sh\n"
                     "case \" $* \" in *\" -machine none \"*) echo 'no probing' >&2; exit 1 ;; esac\n"
                     "trap '' TERM INT HUP\nexec sleep 30\n", 0755);
}

/* ---- cases ---- */

static void
test_usage (Fixture       *fx,
            gconstpointer  data)
{
  g_autofree char *vm = write_vm (fx, NULL, NULL, NULL);

  {
    const char *args[] = { NULL };
    g_autoptr(Run) run = run_start (args);

    g_assert_cmpint (run_wait (run, 10000), ==, 2);
    g_assert_nonnull (strstr (run->err->str, "run needs exactly one VMFILE"));
  }
  {
    const char *args[] = { "--grace-period", "soon", vm, NULL };
    g_autoptr(Run) run = run_start (args);

    g_assert_cmpint (run_wait (run, 10000), ==, 2);
    g_assert_nonnull (strstr (run->err->str, "--grace-period"));
    g_assert_null (strstr (run->err->str, "QEMU started"));
  }
  {
    const char *args[] = { "--no-host-checks", vm, NULL };
    g_autoptr(Run) run = run_start (args);

    /* Host checks are never off for run. */
    g_assert_cmpint (run_wait (run, 10000), ==, 2);
    g_assert_null (strstr (run->err->str, "QEMU started"));
  }
}

static void
test_invalid_vm (Fixture       *fx,
                 gconstpointer  data)
{
  /* A kernel file that does not exist: a host check, caught before QEMU. */
  g_autofree char *vm = write_vm (fx, NULL, NULL, "[kernel]\npath = no-such-vmlinuz\n");
  const char *args[] = { vm, NULL };
  g_autoptr(Run) run = run_start (args);

  g_assert_cmpint (run_wait (run, 10000), ==, 1);
  g_test_message ("stderr: %s", run->err->str);
  g_assert_nonnull (strstr (run->err->str, "no-such-vmlinuz"));
  g_assert_null (strstr (run->err->str, "QEMU started"));
  g_assert_cmpstr (run->out->str, ==, "");
}

static void
test_missing_binary (Fixture       *fx,
                     gconstpointer  data)
{
  g_autofree char *vm = write_vm (fx, "qemu = /nonexistent/qemu-system-x86_64\n", NULL, NULL);
  const char *args[] = { vm, NULL };
  g_autoptr(Run) run = run_start (args);

  g_assert_cmpint (run_wait (run, 10000), ==, 1);
  g_test_message ("stderr: %s", run->err->str);
  g_assert_nonnull (strstr (run->err->str, "/nonexistent/qemu-system-x86_64"));
  g_assert_null (strstr (run->err->str, "QEMU started"));
}

static void
test_qemu_fails (Fixture       *fx,
                 gconstpointer  data)
{
  /* QEMU 7.2 refuses a bad value for an existing device's global. */
  g_autofree char *vm = write_vm (fx, "global = ICH9-LPC.noreboot=maybe\n", NULL, NULL);
  const char *args[] = { vm, NULL };
  g_autoptr(Run) run = run_start (args);
  const char *first;
  GPid pid;

  g_assert_cmpint (run_wait (run, 60000), ==, 1);
  g_test_message ("stderr: %s", run->err->str);
  pid = run_qemu_pid (run);
  g_assert_cmpint (pid, >, 0);
  /* QEMU's own message, once (QlVm copies QEMU's stderr as it comes;
   * qlaunch does not repeat it). */
  first = strstr (run->err->str, "can't apply global ICH9-LPC.noreboot=maybe");
  g_assert_nonnull (first);
  g_assert_null (strstr (first + 1, "can't apply global"));
  g_assert_nonnull (strstr (run->err->str, "exited with status 1"));
  g_assert_true (pid_gone (pid, 2000));
}

static void
test_poweroff (Fixture       *fx,
               gconstpointer  data)
{
  g_autofree char *bios = g_build_filename (fx->dir, "poweroff.bin", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *vm = NULL;
  g_autofree char *end_line = NULL;
  const char *args[] = { NULL, NULL };
  g_autoptr(Run) run = NULL;
  GPid pid;

  ql_test_write_poweroff_bios (bios, &error);
  g_assert_no_error (error);
  /* Relative to the VM file's directory (a bare name would be QEMU's). */
  vm = write_vm (fx, "bios = ./poweroff.bin\n", NULL, NULL);
  args[0] = vm;
  run = run_start (args);
  g_assert_cmpint (run_wait (run, 60000), ==, 0);
  g_test_message ("stderr: %s", run->err->str);
  pid = run_qemu_pid (run);
  g_assert_cmpint (pid, >, 0);
  end_line = g_strdup_printf ("qlaunch: QEMU (pid %d) exited with status 0\n", (int) pid);
  g_assert_nonnull (strstr (run->err->str, end_line));
  g_assert_true (pid_gone (pid, 2000));
}

/* Sends @signo to qlaunch once QEMU has started, then (if @second_signo)
 * once more when qlaunch said it is stopping QEMU. Checks the exit status,
 * that it took at most @max_ms after the first signal (and at least
 * @min_ms) and that QEMU is gone. */
static void
check_stop (const char * const *args,
            int                 signo,
            int                 second_signo,
            guint               min_ms,
            guint               max_ms)
{
  g_autoptr(Run) run = run_start (args);
  gint64 t0, elapsed_ms;
  GPid pid;
  int status;

  g_assert_true (run_iterate_until (run, run_has_pid, 60000));
  pid = run_qemu_pid (run);
  g_assert_cmpint (pid, >, 0);
  g_assert_false (run->exited);
  /* Let QEMU get past its start-up (signal handlers installed). */
  g_usleep (300 * 1000);

  t0 = g_get_monotonic_time ();
  g_subprocess_send_signal (run->proc, signo);
  if (second_signo != 0)
    {
      gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

      while (strstr (run->err->str, "stopping QEMU") == NULL && g_get_monotonic_time () < deadline)
        g_main_context_iteration (NULL, FALSE), g_usleep (5000);
      g_assert_nonnull (strstr (run->err->str, "stopping QEMU"));
      /* A human's second Ctrl-C, not the first one forwarded (qlaunch
       * takes a repeat within 100 ms as the same request). */
      g_usleep (200 * 1000);
      g_subprocess_send_signal (run->proc, second_signo);
    }
  status = run_wait (run, max_ms + 10000);
  elapsed_ms = (g_get_monotonic_time () - t0) / 1000;
  g_test_message ("stopped in %" G_GINT64_FORMAT " ms; stderr:\n%s", elapsed_ms, run->err->str);
  g_assert_cmpint (status, ==, 128 + signo);
  g_assert_cmpint (elapsed_ms, <=, max_ms);
  g_assert_cmpint (elapsed_ms, >=, min_ms);
  g_assert_true (pid_gone (pid, 2000));
}

static void
test_sigint (Fixture       *fx,
             gconstpointer  data)
{
  /* Stopped with -S: it would run forever. QEMU ends on SIGTERM at once,
   * well within the grace period. */
  g_autofree char *vm = write_vm (fx, NULL, "stopped = true\n", NULL);
  const char *args[] = { "--grace-period", "3000", vm, NULL };

  check_stop (args, SIGINT, 0, 0, 3000);
}

static void
test_sigterm_grace (Fixture       *fx,
                    gconstpointer  data)
{
  /* A "QEMU" that ignores SIGTERM is killed when the grace period ends. */
  g_autofree char *qemu = write_stubborn_qemu (fx);
  g_autofree char *extra = g_strdup_printf ("qemu = %s\n", qemu);
  g_autofree char *vm = write_vm (fx, extra, NULL, NULL);
  const char *args[] = { "--grace-period", "700", vm, NULL };

  check_stop (args, SIGTERM, 0, 600, 5000);
}

static void
test_second_sigint (Fixture       *fx,
                    gconstpointer  data)
{
  /* A second Ctrl-C does not wait for the (long) grace period. */
  g_autofree char *qemu = write_stubborn_qemu (fx);
  g_autofree char *extra = g_strdup_printf ("qemu = %s\n", qemu);
  g_autofree char *vm = write_vm (fx, extra, NULL, NULL);
  const char *args[] = { "--grace-period", "30000", vm, NULL };

  check_stop (args, SIGINT, SIGINT, 0, 5000);
}

static void
test_duplicate_signal (Fixture       *fx,
                       gconstpointer  data)
{
  /* SIGINT from the terminal and the same SIGINT forwarded by a parent
   * (timeout(1) does that) within a few ms: one request, a clean stop with
   * its grace period, not an immediate kill. */
  g_autofree char *qemu = write_stubborn_qemu (fx);
  g_autofree char *extra = g_strdup_printf ("qemu = %s\n", qemu);
  g_autofree char *vm = write_vm (fx, extra, NULL, NULL);
  const char *args[] = { "--grace-period", "700", vm, NULL };
  g_autoptr(Run) run = run_start (args);
  gint64 t0, elapsed_ms;
  GPid pid;

  g_assert_true (run_iterate_until (run, run_has_pid, 60000));
  pid = run_qemu_pid (run);
  g_assert_cmpint (pid, >, 0);
  g_usleep (100 * 1000);
  t0 = g_get_monotonic_time ();
  g_subprocess_send_signal (run->proc, SIGINT);
  g_usleep (10 * 1000);
  g_subprocess_send_signal (run->proc, SIGINT);
  g_assert_cmpint (run_wait (run, 10000), ==, 128 + SIGINT);
  elapsed_ms = (g_get_monotonic_time () - t0) / 1000;
  g_test_message ("stopped in %" G_GINT64_FORMAT " ms; stderr:\n%s", elapsed_ms, run->err->str);
  g_assert_cmpint (elapsed_ms, >=, 600);
  g_assert_null (strstr (run->err->str, "killing QEMU"));
  g_assert_true (pid_gone (pid, 2000));
}

static void
pty_child_setup (gpointer data)
{
  /* A session of its own with the pty (its stdin) as controlling terminal:
   * qlaunch's process group is the terminal's foreground group, as in an
   * interactive shell, so Ctrl-C on the pty signals qlaunch and QEMU. */
  setsid ();
  ioctl (STDIN_FILENO, TIOCSCTTY, 0);
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

static gboolean
termios_is (int      fd,
            tcflag_t on,
            tcflag_t off)
{
  struct termios t;

  return tcgetattr (fd, &t) == 0 && (t.c_lflag & on) == on && (t.c_lflag & off) == 0;
}

/* /proc/PID/status says the process has a handler for SIGINT (SigCgt). */
static gboolean
catches_sigint (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *text = NULL;
  const char *line;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  line = strstr (text, "\nSigCgt:\t");
  if (line == NULL)
    return FALSE;
  return (g_ascii_strtoull (line + strlen ("\nSigCgt:\t"), NULL, 16) & (1ull << (SIGINT - 1))) != 0;
}

static void
test_terminal_ctrl_c (Fixture       *fx,
                      gconstpointer  data)
{
  /* The console on a terminal (QEMU's default serial with -nographic, no
   * no-defaults): QEMU makes it raw and turns ISIG off (Ctrl-C would go to
   * the guest); qlaunch turns ISIG back on, so Ctrl-C stops the VM, and the
   * terminal's settings are restored at the end. */
  g_autofree char *vm = write_file (fx, "tty.vm",
                                    "[vm]\nname = ttytest\n\n"
                                    "[machine]\ntype = q35\nacceleration = tcg\n\n"
                                    "[memory]\nsize = 128M\n\n"
                                    "[knobs]\nno-user-config = true\nno-graphic = true\nstopped = true\n", 0644);
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { g_getenv ("QLAUNCH_BIN"), "--plugin-dir", g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"),
                         "run", "--grace-period", "3000", vm, NULL };
  Run *run = g_new0 (Run, 1);
  g_autoptr(Run) run_owner = run;
  int master, slave;
  gint64 deadline, t0, elapsed_ms;
  GPid pid;
  int status;

  master = posix_openpt (O_RDWR | O_NOCTTY | O_CLOEXEC);
  g_assert_cmpint (master, >=, 0);
  g_assert_cmpint (grantpt (master), ==, 0);
  g_assert_cmpint (unlockpt (master), ==, 0);
  slave = open (ptsname (master), O_RDWR | O_NOCTTY | O_CLOEXEC);
  g_assert_cmpint (slave, >=, 0);
  g_assert_true (termios_is (master, ICANON | ISIG, 0));

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);
  g_subprocess_launcher_take_stdin_fd (launcher, slave);
  g_subprocess_launcher_take_stdout_fd (launcher, dup (slave));
  g_subprocess_launcher_set_child_setup (launcher, pty_child_setup, NULL, NULL);
  run->proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_clear_object (&launcher);    /* closes our copies of the slave */
  run->out = g_string_new (NULL);
  run->err = g_string_new (NULL);
  run->open_streams = 1;
  read_more (g_subprocess_get_stderr_pipe (run->proc), run->err, run);
  g_subprocess_wait_async (run->proc, NULL, on_exited, run);

  g_assert_true (run_iterate_until (run, run_has_pid, 60000));
  pid = run_qemu_pid (run);
  g_assert_cmpint (pid, >, 0);

  /* QEMU's raw mode (no ICANON, no ECHO) with ISIG on again. */
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (!termios_is (master, ISIG, ICANON | ECHO) && g_get_monotonic_time () < deadline)
    {
      char buf[4096];

      while (g_main_context_iteration (NULL, FALSE))
        ;
      /* Drain the console (a full pty would block QEMU). */
      if (g_unix_set_fd_nonblocking (master, TRUE, NULL))
        while (read (master, buf, sizeof buf) > 0)
          ;
      g_usleep (20 * 1000);
    }
  g_assert_true (termios_is (master, ISIG, ICANON | ECHO));
  /* QEMU sets the terminal up before it installs its signal handlers: a
   * Ctrl-C in between kills it by the default action before qlaunch's
   * handler runs. Wait until it catches SIGINT, as it does for its life. */
  while (!catches_sigint (pid) && g_get_monotonic_time () < deadline)
    g_usleep (20 * 1000);
  g_assert_true (catches_sigint (pid));

  t0 = g_get_monotonic_time ();
  g_assert_cmpint (write (master, "\003", 1), ==, 1);
  status = run_wait (run, 10000);
  elapsed_ms = (g_get_monotonic_time () - t0) / 1000;
  g_test_message ("stopped in %" G_GINT64_FORMAT " ms; stderr:\n%s", elapsed_ms, run->err->str);
  /* qlaunch ends with SIGINT, as an interrupted command. */
  g_assert_cmpint (status, ==, 128 + SIGINT);
  g_assert_nonnull (strstr (run->err->str, "stopping QEMU"));
  g_assert_cmpint (elapsed_ms, <=, 3000);
  g_assert_true (pid_gone (pid, 2000));
  /* The terminal is as it was. */
  g_assert_true (termios_is (master, ICANON | ISIG | ECHO, 0));
  close (master);
}

static void
test_guest_ready (Fixture       *fx,
                  gconstpointer  data)
{
  const char *guest_dir = ql_test_guest_dir ();
  g_autofree char *example = NULL;
  g_autofree char *example_kernel = NULL;
  g_autofree char *example_kernel_name = NULL;
  g_autofree char *kernel = NULL;
  g_autofree char *initrd = NULL;
  g_autofree char *text = NULL;
  g_autofree char *vm = NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  const char *args[] = { NULL, NULL };
  g_autoptr(Run) run = NULL;
  GPid pid;
  int status;

  if (guest_dir == NULL)
    {
      g_test_skip ("the test guest is not built (meson compile -C BUILDDIR guest)");
      return;
    }
  /* data/examples/boot.vm, its kernel and initrd taken from this build. */
  example = g_build_filename (g_getenv ("QLAUNCH_TEST_SRCDIR"), "..", "data", "examples", "boot.vm", NULL);
  g_key_file_load_from_file (kf, example, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  g_assert_true (g_key_file_has_key (kf, "kernel", "params", NULL));
  example_kernel = g_key_file_get_string (kf, "kernel", "path", &error);
  g_assert_no_error (error);
  example_kernel_name = g_path_get_basename (example_kernel);
  kernel = g_build_filename (guest_dir, example_kernel_name, NULL);
  initrd = g_build_filename (guest_dir, "initramfs.img", NULL);
  g_key_file_set_value (kf, "kernel", "path", kernel);
  g_key_file_set_value (kf, "kernel", "initrd", initrd);
  text = g_key_file_to_data (kf, NULL, NULL);
  vm = write_file (fx, "boot.vm", text, 0644);

  args[0] = vm;
  run = run_start (args);
  status = run_wait (run, 180000);
  g_test_message ("stdout:\n%s\nstderr:\n%s", run->out->str, run->err->str);
  /* The guest's serial console is QEMU's stdout, which is qlaunch's. */
  g_assert_nonnull (strstr (run->out->str, "QLTEST-READY "));
  g_assert_nonnull (strstr (run->out->str, "QLTEST-PASS ready"));
  /* It powered off: QEMU's status 0. */
  g_assert_cmpint (status, ==, 0);
  pid = run_qemu_pid (run);
  g_assert_cmpint (pid, >, 0);
  g_assert_true (pid_gone (pid, 2000));
}

/* ---- seccomp: QEMU under its filter ------------------------------------ */

#define SANDBOX_DEFAULT "-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny "

static gboolean
run_at_shell (Run *run)
{
  return strstr (run->out->str, "QLTEST-SHELL") != NULL || run_finished (run);
}

/* The test guest (kernel and initramfs of this build) at its shell,
 * `qlaunch run` of it (stdin /dev/null: the guest waits for a line that
 * never comes), with @knobs in [knobs] and @groups after. Once the guest
 * prints its prompt (QEMU is long past its start-up): QEMU's pid, its
 * arguments in @args; the stop is left to the caller. NULL when there is
 * no test guest (the test is skipped). */
static Run *
run_guest_shell (Fixture     *fx,
                 const char  *knobs,
                 const char  *groups,
                 GPid        *pid,
                 char       **args)
{
  const char *guest_dir = ql_test_guest_dir ();
  g_autofree char *text = NULL;
  g_autofree char *vm = NULL;
  const char *argv[] = { NULL, NULL };
  Run *run;

  if (guest_dir == NULL)
    {
      g_test_skip ("the test guest is not built (meson compile -C BUILDDIR guest)");
      return NULL;
    }
  text = g_strdup_printf ("[vm]\nname = seccomp\n"
                          "[machine]\ntype = q35\nacceleration = tcg\n"
                          "[memory]\nsize = 256M\n"
                          "[knobs]\nno-user-config = true\nno-graphic = true\n%s\n"
                          "[kernel]\npath = %s/vmlinux\ninitrd = %s/initramfs.img\n"
                          "params = " QL_TEST_GUEST_PARAMS " qltest=shell\n%s",
                          knobs, guest_dir, guest_dir, groups != NULL ? groups : "");
  vm = write_file (fx, "seccomp.vm", text, 0644);
  argv[0] = vm;
  run = run_start (argv);
  if (!run_iterate_until (run, run_at_shell, 180000) || run->exited)
    g_error ("the guest did not reach its shell; stdout:\n%s\nstderr:\n%s", run->out->str, run->err->str);
  *pid = run_qemu_pid (run);
  g_assert_cmpint (*pid, >, 0);
  *args = ql_test_process_args (*pid);
  g_assert_nonnull (*args);
  return run;
}

/* Stops the guest of run_guest_shell(): SIGTERM to qlaunch, QEMU gone. */
static void
stop_guest_shell (Run  *run,
                  GPid  pid)
{
  g_subprocess_send_signal (run->proc, SIGTERM);
  g_assert_cmpint (run_wait (run, 30000), ==, 128 + SIGTERM);
  g_assert_true (pid_gone (pid, 2000));
}

/* By default QEMU runs under its seccomp filter with every class denied:
 * Seccomp: 2, and no note (nothing was relaxed). */
static void
test_seccomp_default (Fixture       *fx,
                      gconstpointer  data)
{
  g_autoptr(Run) run = NULL;
  g_autofree char *args = NULL;
  GPid pid = 0;
  int mode;

  run = run_guest_shell (fx, "", NULL, &pid, &args);
  if (run == NULL)
    return;
  mode = ql_test_seccomp_mode (pid);
  g_test_message ("QEMU pid %d: Seccomp %d; %s", (int) pid, mode, args);
  g_assert_cmpint (mode, ==, 2);
  g_assert_nonnull (strstr (args, SANDBOX_DEFAULT));
  g_assert_null (strstr (run->err->str, "note:"));
  stop_guest_shell (run, pid);
}

/* [knobs] sandbox = off: no -sandbox, Seccomp: 0. */
static void
test_seccomp_off (Fixture       *fx,
                  gconstpointer  data)
{
  g_autoptr(Run) run = NULL;
  g_autofree char *args = NULL;
  GPid pid = 0;
  int mode;

  run = run_guest_shell (fx, "sandbox = off", NULL, &pid, &args);
  if (run == NULL)
    return;
  mode = ql_test_seccomp_mode (pid);
  g_test_message ("QEMU pid %d: Seccomp %d; %s", (int) pid, mode, args);
  g_assert_cmpint (mode, ==, 0);
  g_assert_null (strstr (args, "-sandbox"));
  stop_guest_shell (run, pid);
}

/* A tap up script needs QEMU to fork and exec: spawn is allowed for this
 * VM, a note on qlaunch's stderr says why, the filter is on (Seccomp: 2)
 * and QEMU ran the script under it. With sandbox-spawn = deny the same VM
 * is refused before QEMU starts. */
static void
test_seccomp_tap_script (Fixture       *fx,
                         gconstpointer  data)
{
  g_autofree char *marker = g_build_filename (fx->dir, "script-ran", NULL);
  g_autofree char *script_text = g_strdup_printf ("#!/bin/sh\necho \"$1\" > %s\n", marker);
  g_autofree char *script = NULL;
  g_autofree char *tap = g_strdup_printf ("qls%u", (guint) getpid () % 1000000);
  g_autofree char *device = NULL;
  g_autofree char *args = NULL;
  g_autofree char *ran = NULL;
  g_autoptr(Run) run = NULL;
  GPid pid = 0;
  int mode;

  if (geteuid () != 0 || !g_file_test ("/dev/net/tun", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("needs root and /dev/net/tun: QEMU creates the tap");
      return;
    }
  script = write_file (fx, "ifup", script_text, 0755);
  device = g_strdup_printf ("[device net0]\ntype = net\nif-name = %s\nscript = %s\nrom-file =\n", tap, script);

  run = run_guest_shell (fx, "", device, &pid, &args);
  if (run == NULL)
    return;
  mode = ql_test_seccomp_mode (pid);
  g_test_message ("QEMU pid %d: Seccomp %d; %s\nstderr:\n%s", (int) pid, mode, args, run->err->str);
  g_assert_cmpint (mode, ==, 2);
  g_assert_nonnull (strstr (args, "-sandbox on,obsolete=deny,elevateprivileges=deny,spawn=allow,resourcecontrol=deny "));
  g_assert_nonnull (strstr (run->err->str, "qlaunch: note: [knobs] sandbox-spawn: allowed for this VM, since "
                                           "device 'net0' runs its script"));
  g_assert_true (g_file_get_contents (marker, &ran, NULL, NULL));
  g_assert_cmpstr (g_strstrip (ran), ==, tap);
  stop_guest_shell (run, pid);

  /* Denied explicitly: refused, naming the key and the device. */
  {
    g_autofree char *text = g_strdup_printf ("[machine]\ntype = q35\nacceleration = tcg\n"
                                             "[knobs]\nsandbox-spawn = deny\n%s", device);
    g_autofree char *vm = write_file (fx, "denied.vm", text, 0644);
    const char *argv[] = { vm, NULL };
    g_autoptr(Run) denied = run_start (argv);

    g_assert_cmpint (run_wait (denied, 60000), ==, 1);
    g_test_message ("stderr: %s", denied->err->str);
    g_assert_nonnull (strstr (denied->err->str, "[knobs] sandbox-spawn: deny, but device 'net0' runs its script"));
    g_assert_null (strstr (denied->err->str, "QEMU started"));
  }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/cli-run/usage", Fixture, NULL, fixture_setup, test_usage, fixture_teardown);
  g_test_add ("/cli-run/invalid-vm", Fixture, NULL, fixture_setup, test_invalid_vm, fixture_teardown);
  g_test_add ("/cli-run/missing-binary", Fixture, NULL, fixture_setup, test_missing_binary, fixture_teardown);
  g_test_add ("/cli-run/qemu-fails", Fixture, NULL, fixture_setup, test_qemu_fails, fixture_teardown);
  g_test_add ("/cli-run/poweroff", Fixture, NULL, fixture_setup, test_poweroff, fixture_teardown);
  g_test_add ("/cli-run/sigint", Fixture, NULL, fixture_setup, test_sigint, fixture_teardown);
  g_test_add ("/cli-run/sigterm-grace", Fixture, NULL, fixture_setup, test_sigterm_grace, fixture_teardown);
  g_test_add ("/cli-run/second-sigint", Fixture, NULL, fixture_setup, test_second_sigint, fixture_teardown);
  g_test_add ("/cli-run/duplicate-signal", Fixture, NULL, fixture_setup, test_duplicate_signal, fixture_teardown);
  g_test_add ("/cli-run/terminal-ctrl-c", Fixture, NULL, fixture_setup, test_terminal_ctrl_c, fixture_teardown);
  g_test_add ("/cli-run/guest-ready", Fixture, NULL, fixture_setup, test_guest_ready, fixture_teardown);
  g_test_add ("/cli-run/seccomp/default", Fixture, NULL, fixture_setup, test_seccomp_default, fixture_teardown);
  g_test_add ("/cli-run/seccomp/off", Fixture, NULL, fixture_setup, test_seccomp_off, fixture_teardown);
  g_test_add ("/cli-run/seccomp/tap-script", Fixture, NULL, fixture_setup, test_seccomp_tap_script,
              fixture_teardown);
  return g_test_run ();
}
