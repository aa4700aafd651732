/* qlaunch CLI — `qlaunch run`: launch QEMU with QlVm and wait for it.
 *
 * QEMU shares the terminal: stdin and stdout inherited, stderr copied by
 * QlVm as it comes. With the `no-graphic` knob the guest's serial console is
 * on the terminal.
 *
 * Stopping: SIGINT, SIGTERM and SIGHUP cancel the GCancellable of the wait,
 * and QlVm stops QEMU (SIGTERM, SIGKILL after the grace period); a second
 * such signal kills QEMU at once. A repeat within 100 ms of the first is the
 * same request forwarded (by `timeout`, a supervisor signalling the process
 * group), not a second Ctrl-C. QEMU puts a console terminal in raw mode and,
 * with the monitor muxed on stdio (what -nographic does), turns ISIG off so
 * that Ctrl-C goes to the guest; qlaunch turns ISIG back on once QEMU has set
 * the terminal up (with the quit and suspend characters disabled), so that
 * Ctrl-C stops the VM. QEMU's own Ctrl-A escapes still work.
 *
 * Exit status: QEMU's own (0 when the guest powered off, QEMU's 1 when it
 * refused the VM), 1 when QEMU could not start or the VM file is invalid,
 * 2 usage, 128+N when QEMU was killed by signal N. When a signal stopped
 * the VM, qlaunch ends itself with that signal once QEMU is gone, so that
 * the shell sees an interrupted command ($? = 128+N) and a script stops
 * (https://www.cons.org/cracauer/sigint.html). */
#include "cli-common.h"

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* A stop signal within this time of the first is the same request. */
#define DUPLICATE_SIGNAL_US (100 * 1000)

typedef struct
{
  GMainLoop    *loop;
  QlVm         *vm;
  QlCliStartFinish start_finish;
  gpointer      start_data;
  GCancellable *cancellable;
  gboolean      launched;       /* QEMU runs (or ran) */
  int           pidfd;          /* QEMU's, for the second signal; or -1 */
  int           signal_number;  /* the first stop signal received, or 0 */
  gint64        signal_time;    /* when it came (monotonic µs) */
  gboolean      done;
  GError       *error;          /* the launch's or the wait's */

  gboolean       tty;           /* stdin is our controlling terminal */
  struct termios tty_saved;     /* its settings before QEMU */
  guint          tty_watch;     /* waits for QEMU to set it up */
  gint64         tty_deadline;
} RunState;

/* How often and how long to look for QEMU's console set-up. */
#define TTY_POLL_MS      20
#define TTY_WATCH_US     (15 * G_USEC_PER_SEC)
/* How long QEMU gets to answer on the events socket. */
#define EVENTS_CONNECT_MS 30000

static const char *
signal_name (int signo)
{
  switch (signo)
    {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGUSR1: return "SIGUSR1";
    case SIGSEGV: return "SIGSEGV";
    case SIGUSR2: return "SIGUSR2";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGTERM: return "SIGTERM";
    default: return "unknown signal";
    }
}

typedef struct
{
  RunState *state;
  int       signo;
} SignalWatch;

/* SIGKILL to QEMU now. Through a pidfd opened while QEMU was our live
 * child: it cannot reach another process even if QEMU has been reaped and
 * its pid reused since. */
static void
kill_now (RunState *state)
{
  if (state->pidfd >= 0)
    syscall (SYS_pidfd_send_signal, state->pidfd, SIGKILL, NULL, 0);
  else if (ql_vm_get_state (state->vm) == QL_VM_STATE_RUNNING && ql_vm_get_pid (state->vm) > 0)
    kill (ql_vm_get_pid (state->vm), SIGKILL);   /* a kernel without pidfds (< 5.3) */
}

static gboolean
on_stop_signal (gpointer user_data)
{
  SignalWatch *watch = user_data;
  RunState *state = watch->state;
  int pid = (int) ql_vm_get_pid (state->vm);

  if (state->signal_number == 0)
    {
      state->signal_number = watch->signo;
      state->signal_time = g_get_monotonic_time ();
      if (state->launched)
        g_printerr ("qlaunch: %s: stopping QEMU (pid %d): SIGTERM, SIGKILL after %u ms "
                    "(%s again kills it now)\n",
                    signal_name (watch->signo), pid, ql_vm_get_grace_period (state->vm),
                    watch->signo == SIGINT ? "Ctrl-C" : signal_name (watch->signo));
      g_cancellable_cancel (state->cancellable);
    }
  else if (g_get_monotonic_time () - state->signal_time < DUPLICATE_SIGNAL_US)
    {
      /* The same request forwarded (the terminal and `timeout`, or a
       * supervisor signalling the process group): not a second Ctrl-C. */
    }
  else if (state->launched)
    {
      g_printerr ("qlaunch: %s again: killing QEMU (pid %d) now\n", signal_name (watch->signo), pid);
      kill_now (state);
    }
  return G_SOURCE_CONTINUE;
}

/* QEMU's console set-up is done when the terminal left canonical mode.
 * If it turned ISIG off, turn it on again: Ctrl-C then sends SIGINT to the
 * foreground process group (QEMU terminates cleanly on it, qlaunch stops
 * it). The quit and suspend keys (Ctrl-\ and Ctrl-Z) would kill or stop
 * the VM: they are disabled (and so reach the guest). */
static gboolean
watch_tty (gpointer user_data)
{
  RunState *state = user_data;
  struct termios now;

  if (tcgetattr (STDIN_FILENO, &now) != 0 || g_get_monotonic_time () > state->tty_deadline)
    goto done;
  if ((now.c_lflag & ICANON) == (state->tty_saved.c_lflag & ICANON))
    return G_SOURCE_CONTINUE;
  if ((now.c_lflag & ISIG) == 0 && (state->tty_saved.c_lflag & ISIG) != 0)
    {
      now.c_lflag |= ISIG;
      now.c_cc[VINTR] = state->tty_saved.c_cc[VINTR];
      now.c_cc[VQUIT] = _POSIX_VDISABLE;
      now.c_cc[VSUSP] = _POSIX_VDISABLE;
      tcsetattr (STDIN_FILENO, TCSANOW, &now);
    }
done:
  state->tty_watch = 0;
  return G_SOURCE_REMOVE;
}

static void
on_waited (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  RunState *state = user_data;

  ql_vm_wait_finish (QL_VM (source), result, &state->error);
  state->done = TRUE;
  g_main_loop_quit (state->loop);
}

static void
on_launched (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  RunState *state = user_data;
  GPid pid;

  (void) source;
  if (!state->start_finish (state->vm, state->start_data, result, &state->error))
    {
      state->done = TRUE;
      g_main_loop_quit (state->loop);
      return;
    }
  state->launched = TRUE;
  pid = ql_vm_get_pid (state->vm);
  state->pidfd = (int) syscall (SYS_pidfd_open, pid, 0);
  g_printerr ("qlaunch: QEMU started (pid %d)\n", (int) pid);
  if (state->tty)
    {
      state->tty_deadline = g_get_monotonic_time () + TTY_WATCH_US;
      state->tty_watch = g_timeout_add (TTY_POLL_MS, watch_tty, state);
    }
  /* The wait's cancellable is the one that stops QEMU. */
  ql_vm_wait_async (state->vm, state->cancellable, on_waited, state);
}

static gboolean
parse_grace_period (const char *text,
                    guint      *out_ms)
{
  guint64 value;

  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT, &value, NULL))
    return FALSE;
  *out_ms = (guint) value;
  return TRUE;
}

/* TRUE when QEMU ran and ended (well or not); FALSE when it never ran. */
static gboolean
qemu_ran (RunState *state)
{
  if (state->launched)
    return TRUE;
  /* A daemonizing QEMU that failed before it was found. */
  return state->error != NULL
         && (g_error_matches (state->error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_EXITED)
             || g_error_matches (state->error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SIGNALED));
}

/* Prints how QEMU ended; returns QEMU's status as `run` reports it. */
static int
report_end (RunState *state)
{
  int status = ql_vm_get_exit_status (state->vm);
  int pid = (int) ql_vm_get_pid (state->vm);
  g_autofree char *how = NULL;
  g_autofree char *why = NULL;

  if (status < 0)
    how = g_strdup ("ended (its status is unknown: a daemon is not our child)");
  else if (status > 128
           && (g_error_matches (state->error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SIGNALED)
               || state->signal_number != 0))
    how = g_strdup_printf ("was killed by %s (signal %d)", signal_name (status - 128), status - 128);
  else
    how = g_strdup_printf ("exited with status %d", status);
  if (state->signal_number != 0)
    why = g_strdup_printf (", stopped on %s", signal_name (state->signal_number));
  g_printerr ("qlaunch: QEMU (pid %d) %s%s\n", pid, how, why != NULL ? why : "");

  /* QEMU's stderr was copied to ours as it came (QlVm does that with
   * stdio inherited): its message is on the screen already. */
  if (status > 0)
    return status;
  if (state->error != NULL && !g_error_matches (state->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      ql_cli_print_error (NULL, state->error);
      return QL_EXIT_FAILURE;
    }
  return QL_EXIT_OK;
}

static void
start_launch (QlVm               *vm,
              gpointer            data,
              GCancellable       *cancellable,
              GAsyncReadyCallback callback,
              gpointer            user_data)
{
  (void) data;
  ql_vm_launch_async (vm, cancellable, callback, user_data);
}

/* The events `run` reports (a watchdog's): a QMP monitor of our own,
 * beside any [qmp] socket of the VM file, which stays free for its
 * users. */
typedef struct
{
  char  *dir;           /* private directory of the socket, or NULL */
  char  *path;
  QlQmp *qmp;
} EventWatch;

static gboolean
vm_has_watchdog (QlVmConfig *config)
{
  GPtrArray *devices = ql_vm_config_get_devices (config);

  for (guint i = 0; i < devices->len; i++)
    if (g_strcmp0 (ql_device_get_type_name (g_ptr_array_index (devices, i)), "watchdog") == 0)
      return TRUE;
  return FALSE;
}

static gboolean
event_watch_prepare (EventWatch  *watch,
                     QlVmConfig  *config,
                     GError     **error)
{
  if (!vm_has_watchdog (config))
    return TRUE;
  watch->dir = g_dir_make_tmp ("qlaunch-run-XXXXXX", error);
  if (watch->dir == NULL)
    return FALSE;
  watch->path = g_build_filename (watch->dir, "events.sock", NULL);
  ql_vm_config_add_qmp_socket (config, "qlaunch-events", watch->path, TRUE, TRUE);
  return TRUE;
}

static void
on_watchdog_event (QlQmp      *qmp,
                   const char *name,
                   JsonObject *data,
                   gpointer    user_data)
{
  const char *action = data != NULL && json_object_has_member (data, "action")
                       ? json_object_get_string_member (data, "action") : NULL;

  g_autofree char *safe = ql_cli_escape_untrusted (action != NULL ? action : "?");

  (void) qmp;
  (void) name;
  (void) user_data;
  /* QEMU's word: printed inert. */
  g_printerr ("qlaunch: the guest's watchdog fired: QEMU does '%s'\n", safe);
}

static void
on_events_connected (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  (void) user_data;
  /* QEMU gone meanwhile: its end is reported anyway. */
  if (!ql_qmp_connect_finish (QL_QMP (source), result, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_printerr ("qlaunch: cannot follow QEMU's watchdog events: %s\n", error->message);
}

static void
event_watch_clear (EventWatch *watch)
{
  if (watch->qmp != NULL)
    {
      ql_qmp_close (watch->qmp);
      g_clear_object (&watch->qmp);
    }
  if (watch->path != NULL)
    g_remove (watch->path);
  if (watch->dir != NULL)
    g_rmdir (watch->dir);
  g_clear_pointer (&watch->path, g_free);
  g_clear_pointer (&watch->dir, g_free);
}

static gboolean
finish_launch (QlVm          *vm,
               gpointer       data,
               GAsyncResult  *result,
               GError       **error)
{
  EventWatch *watch = data;

  if (!ql_vm_launch_finish (vm, result, error))
    return FALSE;
  if (watch->path != NULL)
    {
      watch->qmp = ql_qmp_new ();
      g_signal_connect (watch->qmp, "event::WATCHDOG", G_CALLBACK (on_watchdog_event), NULL);
      ql_qmp_connect_async (watch->qmp, watch->path, EVENTS_CONNECT_MS, NULL, on_events_connected, NULL);
    }
  return TRUE;
}

/* QlVm::helper-ready, on stderr; @user_data: a prefix for the message
 * ("" or, say, "template clone: "). */
void
ql_cli_on_helper_ready (QlVm       *vm,
                        const char *device_id,
                        const char *name,
                        int         pid,
                        gpointer    user_data)
{
  const char *prefix = user_data;

  (void) vm;
  g_printerr ("qlaunch: %s%s of device '%s' started (pid %d)\n", prefix, name, device_id, pid);
}

int
ql_cli_run (const QlCliGlobals *globals,
            int                 argc,
            char              **argv)
{
  g_auto(GStrv) specs = NULL;
  g_autofree char *grace_text = NULL;
  g_autofree char *runtime_dir = NULL;
  GOptionEntry entries[] = {
    { "runtime-dir", 0, 0, G_OPTION_ARG_FILENAME, &runtime_dir,
      "Put the helpers' sockets in DIR (default: a fresh directory under $XDG_RUNTIME_DIR/qlaunch or /run/qlaunch)", "DIR" },
    { "device", 'd', 0, G_OPTION_ARG_STRING_ARRAY, &specs, "Add a device: TYPE,key=value,...", "SPEC" },
    { "grace-period", 0, 0, G_OPTION_ARG_STRING, &grace_text,
      "On Ctrl-C or SIGTERM, wait MS milliseconds after QEMU's SIGTERM before SIGKILL (default 5000)", "MS" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("VMFILE - launch QEMU and wait for it");
  g_auto(QlCliQemuOptions) qemu = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;
  guint grace_ms = 0;
  gboolean grace_set;
  EventWatch events = { 0 };
  int status;

  g_option_context_set_description (context,
    "QEMU's standard input, output and error are qlaunch's: with the no-graphic\n"
    "knob the guest's serial console is on the terminal. Ctrl-C (SIGINT), SIGTERM\n"
    "and SIGHUP stop QEMU (SIGTERM, then SIGKILL after the grace period); a second\n"
    "one kills it at once. On the console Ctrl-C stops the VM too; QEMU's Ctrl-A\n"
    "escapes work (Ctrl-A x quits). Exit status: QEMU's (0 when the guest powered\n"
    "off), 1 when QEMU cannot start or the VM is invalid, 2 usage; stopped by\n"
    "signal N, qlaunch ends with that signal (the shell shows 128+N).\n");
  g_option_context_add_main_entries (context, entries, NULL);
  ql_cli_add_qemu_entries (context, &qemu);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return ql_cli_usage_error (context, error->message);
  if (argc != 2)
    return ql_cli_usage_error (context, "run needs exactly one VMFILE");
  grace_set = grace_text != NULL;
  if (grace_set && !parse_grace_period (grace_text, &grace_ms))
    return ql_cli_usage_error (context, "--grace-period must be a number of milliseconds");

  /* Host checks always run: this VM is for this host. */
  registry = ql_cli_registry_new (globals);
  config = ql_cli_load_vm (registry, argv[1], specs, &qemu, TRUE, &error);
  if (config != NULL && runtime_dir != NULL && !ql_cli_set_runtime_dir (config, runtime_dir, &error))
    g_clear_object (&config);
  if (config == NULL)
    {
      ql_cli_print_error (argv[1], error);
      return QL_EXIT_FAILURE;
    }

  if (!event_watch_prepare (&events, config, &error))
    {
      ql_cli_print_error (argv[1], error);
      return QL_EXIT_FAILURE;
    }

  vm = ql_vm_new (config);
  ql_vm_set_stdio_inherit (vm, TRUE);
  /* Nothing of the VM outlives qlaunch, even when it is killed (SIGKILL
   * cannot be caught): QEMU gets SIGKILL from the kernel then, and its
   * helpers too. */
  ql_vm_set_die_with_parent (vm, TRUE);
  g_signal_connect (vm, "helper-ready", G_CALLBACK (ql_cli_on_helper_ready), (gpointer) "");
  if (grace_set)
    ql_vm_set_grace_period (vm, grace_ms);

  /* The VM against what its QEMU offers, before anything starts: the
   * launch runs the command line built here. */
  if (ql_cli_build_vm_for_launch (vm, argv[1], &error) == NULL)
    {
      ql_cli_print_vm_error (argv[1], config, error);
      event_watch_clear (&events);
      return QL_EXIT_FAILURE;
    }
  status = ql_cli_run_vm (vm, argv[1], start_launch, finish_launch, &events);
  event_watch_clear (&events);
  return status;
}

/* Runs @vm as `qlaunch run` does, from @start to QEMU's end; @label names
 * it in messages. */
int
ql_cli_run_vm (QlVm            *vm,
               const char      *label,
               QlCliStartFunc   start,
               QlCliStartFinish start_finish,
               gpointer         start_data)
{
  g_autoptr(GCancellable) cancellable = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  SignalWatch watches[] = { { NULL, SIGINT }, { NULL, SIGTERM }, { NULL, SIGHUP } };
  guint sources[G_N_ELEMENTS (watches)];
  RunState state = { .pidfd = -1 };
  int status;

  state.start_finish = start_finish;
  state.start_data = start_data;
  cancellable = g_cancellable_new ();
  loop = g_main_loop_new (NULL, FALSE);
  state.loop = loop;
  state.vm = vm;
  state.cancellable = cancellable;
  for (guint i = 0; i < G_N_ELEMENTS (watches); i++)
    {
      watches[i].state = &state;
      sources[i] = g_unix_signal_add (watches[i].signo, on_stop_signal, &watches[i]);
    }

  /* QEMU puts the terminal in raw mode for the console and restores it
   * when it exits; if it is killed it cannot. */
  if (isatty (STDIN_FILENO) && tcgetpgrp (STDIN_FILENO) == getpgrp ()
      && tcgetattr (STDIN_FILENO, &state.tty_saved) == 0)
    state.tty = TRUE;

  start (vm, start_data, cancellable, on_launched, &state);
  while (!state.done)
    g_main_loop_run (loop);

  g_clear_handle_id (&state.tty_watch, g_source_remove);
  if (state.tty && tcgetpgrp (STDIN_FILENO) == getpgrp ())
    tcsetattr (STDIN_FILENO, TCSADRAIN, &state.tty_saved);

  if (qemu_ran (&state))
    {
      /* Firmware on a serial console (SeaBIOS) turns the terminal's line
       * wrapping off and nothing turns it on again. */
      if (isatty (STDOUT_FILENO))
        g_print ("\033[?7h");
      status = report_end (&state);
    }
  else
    {
      /* QEMU never ran: an invalid VM, a failed host check, no binary
       * (or a stop signal came first: nothing to say). */
      if (!(state.signal_number != 0 && g_error_matches (state.error, G_IO_ERROR, G_IO_ERROR_CANCELLED)))
        ql_cli_print_error (label, state.error);
      status = QL_EXIT_FAILURE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (sources); i++)
    g_source_remove (sources[i]);
  if (state.pidfd >= 0)
    close (state.pidfd);
  g_clear_error (&state.error);

  /* Stopped by a signal, QEMU gone: end with that signal, whatever QEMU
   * did, so the caller knows the command was interrupted. */
  if (state.signal_number != 0)
    {
      fflush (stdout);
      fflush (stderr);
      signal (state.signal_number, SIG_DFL);
      raise (state.signal_number);
      status = 128 + state.signal_number;
    }
  return status;
}
