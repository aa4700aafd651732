/* Suite guest: fault injection against real QEMU (TCG) and a hostile QMP
 * peer.
 *
 * QEMU is killed with SIGKILL at random points, and a fake QMP peer (a unix
 * socket server in a thread of this program) misbehaves; every case must end
 * in a GError (or a defined result, named below) within a bounded time, and
 * leave nothing behind: no process (the test is a child subreaper, so the
 * processes a killed QEMU started come to it and are counted too; templates
 * pass their state as a descriptor, so QEMU starts none there), no
 * descriptor (/proc/self/fd counted before and after each kill point), no
 * file (a template's `.DIR.partial-*`, a
 * clone's private runtime directory), no half-written template.
 *
 * /fault/launch: a stopped QEMU (-S, no devices) launched with
 *   ql_vm_launch_async() and connected with ql_vm_connect_qmp_async(), killed
 *   at a random point: in the notify::pid handler (spawned, not yet
 *   followed), after a random delay scaled to a measured clean launch
 *   (spawn, QMP socket, greeting, capabilities, query-status), or when the
 *   VM's QMP client appears (its first query-status in flight). The connect
 *   fails with a GError or had succeeded; the wait fails with
 *   QL_LAUNCH_ERROR_SIGNALED; the VM is FAILED.
 * /fault/qmp-command: a connected stopped QEMU runs three query-status
 *   loops, a loop of ql_qmp_hotplug_device() (virtio-blk disks through the
 *   block plugin: blockdev-add + device_add), a loop of ql_qmp_device_add()
 *   (virtio-rng-pci), a DEVICE_DELETED waiter without a timeout, and once a
 *   synchronous query-status from inside a completion callback (a nested
 *   main loop); killed after a random delay or inside the Nth completion.
 *   Everything in flight fails with a GError, `disconnected` is emitted
 *   once, a new command fails at once.
 * /fault/template-create: ql_template_create_async() of the test guest (no
 *   `quiet`, ready at the kernel's first console line, so the late phases
 *   are reached in a few seconds) with the template's QEMU killed at a
 *   random point: during boot (random delay), just after the ready line
 *   (stop, migrate-set-capabilities), when `state` is created (the
 *   migration to the state file starts), when it is first written, when it
 *   is closed (wait for the migration, quit). Watched with inotify on the
 *   partial directory. Result: a QL_TEMPLATE_ERROR, DIR absent and no
 *   `.DIR.partial-*`; or, when the kill came after QEMU's part was done, a
 *   whole template (it loads, a clone passes the state hash check, the
 *   migration stream ends with its VM description).
 * /fault/clone: a template of the test guest at its shell is made once; a
 *   clone (ql_template_start_clone_async(), running or paused) is killed at
 *   a random point: after a random delay scaled to a measured clean clone,
 *   when its QMP client appears, when QEMU's `cat` opens the state file
 *   (incoming migration), when it closes it (loading), when the guest
 *   resumes (the reply to `cont` on its way). Result: a QL_TEMPLATE_ERROR,
 *   or the clone had started and is killed running; the clone's runtime
 *   directory is gone. A clean clone runs afterwards.
 * /fault/hung-qemu: QEMU stopped (SIGSTOP) while an operation with a
 *   deadline waits for a QMP reply: ql_vm_connect_qmp() after the greeting,
 *   a clone in its incoming migration, a template create when the guest is
 *   ready. Each must fail once its deadline passed (5 s of slack); then
 *   QEMU is killed and the operation must end at once, leaving nothing.
 *   (This test found that none of the three honoured its deadline: the
 *   deadlines were only checked between steps, or not armed in these
 *   phases. Fixed: one timer covers each operation.)
 * /fault/kill-then-stop: QEMU killed from outside, then ql_vm_stop()
 *   before the VM saw the exit (what a failing clone does): the VM should
 *   say FAILED / QL_LAUNCH_ERROR_SIGNALED (it said EXITED and the wait
 *   succeeded until begin_stop() looked for the exit first).
 * /fault/peer-stops-reading: the peer stops reading after the handshake: a
 *   command of 1-4 MiB backs up in the client (the main loop keeps running;
 *   the peer finds less than the command in its socket); commands cancelled
 *   by a timer fail with G_IO_ERROR_CANCELLED, an event wait with
 *   QL_QMP_ERROR_TIMEOUT, a synchronous call with a cancellable returns;
 *   then the peer closes with commands backed up: they fail with
 *   QL_QMP_ERROR_DISCONNECTED.
 * /fault/peer-half-message: half a greeting, a reply or an event (cut at a
 *   random byte) then a stall or a close: connect times out / fails,
 *   a command is cancelled or fails with QL_QMP_ERROR_PROTOCOL, a waiter
 *   fails; the other half after a stall completes the command.
 * /fault/peer-event-flood: 10000-30000 events as fast as the socket takes
 *   them, a command's reply after them and a command sent in the middle:
 *   every event arrives in order, both replies arrive, a 10 ms timer keeps
 *   firing (the largest gap is bounded), the peak RSS grows by less than
 *   64 MiB, event names nobody listens to make no quarks.
 *
 * Randomness: one seed per run (QL_TEST_FAULT_SEED, else random), printed
 * at the start; each case draws its kill points from a GRand seeded with
 * the seed and the case's name, so `-p /fault/clone` replays that case.
 * Time bounds are hang detectors, not benchmarks: a wait that does not end
 * in time aborts the program (an alarm also covers nested main loops), and
 * the abort handler kills every child first.
 */
#include "ql-test-util.h"
#include "ql-test-guest.h"
#include "ql-test-vm-guard.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>
#include <glib-unix.h>
#include <glib/gstdio.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define QEMU "qemu-system-x86_64"

/* Hang detectors (generous: 2 loaded cores, maybe AddressSanitizer). */
#define AFTER_KILL_BOUND_S 20   /* from the kill to every operation ended */
#define POINT_BOUND_S 30        /* one kill point of a -S QEMU or a clone */
#define CREATE_POINT_BOUND_S 60 /* one kill point of a template creation */
#define BASE_CREATE_TIMEOUT_S 180
#define SETTLE_MS 10000         /* descriptors, orphans, finalization */
#define PEER_TIMEOUT_S 30       /* every blocking call of the fake peer */
#define PEER_BOUND_MS 20000     /* a fake-peer case step */

#define LAUNCH_KILLS 5
#define COMMAND_KILLS 4
#define CREATE_KILLS 5
#define CLONE_KILLS 5

/* The kernel's first console line without `quiet`. */
#define EARLY_READY "Linux version"
#define SHELL_READY "QLTEST-SHELL"

static struct
{
  guint32 seed;
  char *work;                   /* everything this program writes */
  char *runtime;                /* $XDG_RUNTIME_DIR: the clones' directories */
  QlRegistry *registry;
  QlTemplate *base;             /* the clones' template, made once */
  gboolean base_tried;
} fx;

/* ---- randomness ---------------------------------------------------------- */

static GRand *
case_rand (const char *name)
{
  guint32 seed = fx.seed ^ g_str_hash (name);

  g_test_message ("seed %u: replay with QL_TEST_FAULT_SEED=%u (%s draws from %u)",
                  fx.seed, fx.seed, name, seed);
  return g_rand_new_with_seed (seed);
}

/* An integer in [@lo, @hi]. */
static guint
rnd (GRand *rand,
     guint  lo,
     guint  hi)
{
  return (guint) g_rand_int_range (rand, (gint32) lo, (gint32) hi + 1);
}

/* Fisher-Yates on @n guints. */
static void
shuffle (GRand *rand,
         guint *items,
         guint  n)
{
  for (guint i = n; i > 1; i--)
    {
      guint j = rnd (rand, 0, i - 1);
      guint t = items[i - 1];

      items[i - 1] = items[j];
      items[j] = t;
    }
}

static double
seconds_since (gint64 start)
{
  return (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
}

/* ---- bounded waits ------------------------------------------------------- */

typedef gboolean (*Cond) (gpointer data);

static gboolean
watchdog_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the default main context until @cond holds or @ms passed;
 * returns whether it holds. */
static gboolean
iterate_until (Cond     cond,
               gpointer data,
               guint    ms)
{
  gboolean expired = FALSE;
  GSource *watchdog;

  if (cond (data))
    return TRUE;
  watchdog = g_timeout_source_new (ms);
  g_source_set_callback (watchdog, watchdog_cb, &expired, NULL);
  g_source_attach (watchdog, NULL);
  while (!cond (data) && !expired)
    g_main_context_iteration (NULL, TRUE);
  g_source_destroy (watchdog);
  g_source_unref (watchdog);
  return cond (data);
}

/* The hang detector: aborts the program (whose handler kills every child)
 * when @cond does not hold after @ms. */
static void
wait_or_die (Cond        cond,
             gpointer    data,
             guint       ms,
             const char *what)
{
  if (!iterate_until (cond, data, ms))
    g_error ("%s: not done after %u ms: a hang (replay with QL_TEST_FAULT_SEED=%u)",
             what, ms, fx.seed);
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

static gboolean
pointer_cleared (gpointer data)
{
  return *(gpointer *) data == NULL;
}

/* A blocking call nested in a callback iterates its own loop: only an
 * alarm catches it hanging. */
static void
alarm_handler (int sig)
{
  static const char msg[] = "test-fault-injection: the alarm fired: a hang (nested main loop?)\n";
  ssize_t n = write (STDERR_FILENO, msg, sizeof msg - 1);

  (void) n;
  (void) sig;
  raise (SIGABRT);
}

static void
arm_alarm (guint seconds)
{
  alarm (seconds);
}

/* ---- processes ----------------------------------------------------------- */

typedef struct
{
  int pid;
  char state;
  char comm[64];
} Proc;

static int
pidfd_open_ (GPid pid)
{
  return (int) syscall (SYS_pidfd_open, (pid_t) pid, 0);
}

static gboolean
pidfd_signal (int pidfd,
              int sig)
{
  return syscall (SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0;
}

static gboolean
pidfd_kill (int pidfd)
{
  return pidfd_signal (pidfd, SIGKILL);
}

/* Whether the process of @pidfd has exited (it may still wait for its
 * reaper). */
static gboolean
pidfd_exited (int pidfd)
{
  struct pollfd p = { .fd = pidfd, .events = POLLIN };

  return poll (&p, 1, 0) == 1;
}

/* Parses /proc/PID/stat: state and parent; FALSE when it is gone. */
static gboolean
proc_stat (int    pid,
           char  *state,
           int   *ppid,
           char  *comm,
           gsize  comm_size)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *stat = NULL;
  const char *open_paren, *close_paren;

  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return FALSE;
  open_paren = strchr (stat, '(');
  close_paren = strrchr (stat, ')');
  if (open_paren == NULL || close_paren == NULL || close_paren[1] == '\0' || close_paren[2] == '\0')
    return FALSE;
  if (comm != NULL)
    g_strlcpy (comm, open_paren + 1, MIN (comm_size, (gsize) (close_paren - open_paren)));
  *state = close_paren[2];
  *ppid = atoi (close_paren + 4);
  return TRUE;
}

/* Our children now: the QEMUs we started and, since we are a child
 * subreaper, the orphans of the ones we killed. */
static GArray *
own_children (void)
{
  GArray *children = g_array_new (FALSE, TRUE, sizeof (Proc));
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;
  int self = getpid ();

  g_assert_nonnull (proc);
  while ((name = g_dir_read_name (proc)) != NULL)
    {
      Proc p = { 0 };
      int ppid = 0;

      if (!g_ascii_isdigit (name[0]))
        continue;
      p.pid = atoi (name);
      if (proc_stat (p.pid, &p.state, &ppid, p.comm, sizeof p.comm) && ppid == self)
        g_array_append_val (children, p);
    }
  return children;
}

/* The argv of @pid, NUL-separated, or NULL. */
static char *
proc_cmdline (int    pid,
              gsize *len)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/cmdline", pid);
  char *cmdline = NULL;

  if (!g_file_get_contents (path, &cmdline, len, NULL))
    return NULL;
  return cmdline;
}

static gboolean
cmdline_mentions (const char *cmdline,
                  gsize       len,
                  const char *needle)
{
  for (gsize at = 0; at < len; at += strlen (cmdline + at) + 1)
    if (strstr (cmdline + at, needle) != NULL)
      return TRUE;
  return FALSE;
}

/* Our child QEMU whose argv mentions @needle (0: none). */
static GPid
find_child_qemu (const char *needle)
{
  g_autoptr(GArray) children = own_children ();

  for (guint i = 0; i < children->len; i++)
    {
      Proc *p = &g_array_index (children, Proc, i);
      gsize len = 0;
      g_autofree char *cmdline = proc_cmdline (p->pid, &len);

      if (cmdline != NULL && len > 0 && g_str_has_prefix (p->comm, "qemu-system")
          && cmdline_mentions (cmdline, len, needle))
        return (GPid) p->pid;
    }
  return 0;
}

/* Call when none of our VMs runs: every child left is an orphan of a QEMU
 * we killed. Zombies are reaped (and named); the running ones get until the
 * deadline to exit (watched through pidfds); any still there fails the
 * test and is killed. */
static void
assert_no_children (const char *what)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) SETTLE_MS * 1000;

  for (;;)
    {
      g_autoptr(GArray) children = own_children ();
      g_autoptr(GArray) pidfds = g_array_new (FALSE, FALSE, sizeof (struct pollfd));
      g_autoptr(GString) running = g_string_new (NULL);
      gint64 left;

      for (guint i = 0; i < children->len; i++)
        {
          Proc *p = &g_array_index (children, Proc, i);
          int status;

          if (p->state == 'Z')
            {
              if (waitpid (p->pid, &status, WNOHANG) == p->pid)
                g_test_message ("%s: reaped %d (%s), an orphan of a killed QEMU", what, p->pid, p->comm);
              continue;
            }
          {
            struct pollfd pfd = { .fd = pidfd_open_ (p->pid), .events = POLLIN };

            g_string_append_printf (running, " %d (%s, %c)", p->pid, p->comm, p->state);
            if (pfd.fd >= 0)
              g_array_append_val (pidfds, pfd);
          }
        }
      if (running->len == 0)
        return;
      left = (deadline - g_get_monotonic_time ()) / 1000;
      if (left <= 0)
        {
          for (guint i = 0; i < pidfds->len; i++)
            {
              pidfd_kill (g_array_index (pidfds, struct pollfd, i).fd);
              close (g_array_index (pidfds, struct pollfd, i).fd);
            }
          g_test_fail_printf ("%s: processes left behind:%s", what, running->str);
          g_test_message ("%s: processes left behind:%s", what, running->str);
          return;
        }
      /* Event-driven: a pidfd is readable once its process exited. */
      if (pidfds->len > 0)
        poll ((struct pollfd *) (void *) pidfds->data, pidfds->len, (int) MIN (left, 100));
      for (guint i = 0; i < pidfds->len; i++)
        close (g_array_index (pidfds, struct pollfd, i).fd);
    }
}

/* The QEMU of @pidfd (@pid) has exited and was reaped. */
static void
assert_pid_gone (GPid        pid,
                 int         pidfd,
                 const char *what)
{
  char state = 0, comm[64];
  int ppid = 0;

  if (pidfd >= 0 && !pidfd_exited (pidfd))
    {
      g_test_fail_printf ("%s: QEMU %d still runs", what, (int) pid);
      pidfd_kill (pidfd);
      return;
    }
  if (proc_stat ((int) pid, &state, &ppid, comm, sizeof comm) && ppid == getpid ())
    g_test_fail_printf ("%s: QEMU %d is still our child (state %c, %s)", what, (int) pid, state, comm);
}

/* ---- descriptors --------------------------------------------------------- */

static guint
count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n - 1;       /* the GDir's own */
}

/* The descriptor count once it stopped moving (three reads 20 ms apart,
 * the main context running meanwhile): descriptors that GLib's worker
 * thread is about to close are not counted in a baseline. */
static guint
settled_fds (void)
{
  guint last = count_fds (), same = 1;
  gint64 deadline = g_get_monotonic_time () + (gint64) SETTLE_MS * 1000;

  while (same < 3 && g_get_monotonic_time () < deadline)
    {
      guint now;

      ql_test_spin (20);
      now = count_fds ();
      same = now == last ? same + 1 : 1;
      last = now;
    }
  return last;
}

static char *
list_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  GString *out = g_string_new (NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *link = g_build_filename ("/proc/self/fd", name, NULL);
      g_autofree char *target = g_file_read_link (link, NULL);

      g_string_append_printf (out, "  %s -> %s\n", name, target != NULL ? target : "?");
    }
  return g_string_free (out, FALSE);
}

/* GLib's worker thread drops a reaped child's descriptors a moment after
 * the wait completed: the count is read until it is back to @before or the
 * settle time passed (with the main context running meanwhile). */
static void
assert_fds (guint       before,
            const char *what)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) SETTLE_MS * 1000;
  guint now;

  while ((now = count_fds ()) != before && g_get_monotonic_time () < deadline)
    ql_test_spin (10);
  if (now != before)
    {
      g_autofree char *fds = list_fds ();

      g_test_fail_printf ("%s: %u descriptors open, %u before", what, now, before);
      g_test_message ("%s: descriptors now:\n%s", what, fds);
    }
}

/* ---- VMs ------------------------------------------------------------------ */

static gboolean
skip_without_qemu (void)
{
  g_autofree char *path = g_find_program_in_path (QEMU);

  if (path != NULL)
    return FALSE;
  g_test_skip (QEMU " is not installed");
  return TRUE;
}

static gboolean
skip_without_guest (void)
{
  return skip_without_qemu () || ql_test_skip_without_guest ();
}

/* A stopped QEMU without devices, its QMP socket at @qmp_path. */
static QlVm *
new_stopped_vm (const char *qmp_path)
{
  g_autofree char *text = g_strdup_printf ("[vm]\nname = qlfault\n"
                                           "[machine]\ntype = pc\nacceleration = tcg\n"
                                           "[memory]\nsize = 64M\n"
                                           "[knobs]\nno-defaults = true\nno-user-config = true\n"
                                           "no-graphic = true\nstopped = true\n"
                                           "[qmp control]\npath = %s\n", qmp_path);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) config = ql_vm_config_new_from_data (text, -1, "fault.vm", fx.work,
                                                             fx.registry, &error);
  QlVm *vm;

  g_assert_no_error (error);
  vm = ql_vm_new (config);
  ql_test_vm_guard (vm);
  ql_vm_set_die_with_parent (vm, TRUE);
  return vm;
}

/* The test guest at its shell, on a pc machine (TCG), for templates. */
static QlVmConfig *
guest_config (const char *name,
              gboolean    quiet,
              const char *memory)
{
  const char *guest = ql_test_guest_dir ();
  g_autofree char *text = g_strdup_printf ("[vm]\nname = %s\n"
                                           "[machine]\ntype = pc\nacceleration = tcg\n"
                                           "[memory]\nsize = %s\n"
                                           "[knobs]\nno-user-config = true\nno-graphic = true\n"
                                           "[kernel]\npath = %s/vmlinux\ninitrd = %s/initramfs.img\n"
                                           "params = console=ttyS0%s panic=-1 cryptomgr.notests qltest=shell\n",
                                           name, memory, guest, guest, quiet ? " quiet" : "");
  g_autoptr(GError) error = NULL;
  g_autofree char *file = g_strdup_printf ("%s.vm", name);
  QlVmConfig *config = ql_vm_config_new_from_data (text, -1, file, fx.work, fx.registry, &error);

  g_assert_no_error (error);
  return config;
}

/* The VM object is finalized once its last reference is dropped (nothing
 * of the library kept one). */
static void
drop_vm (QlVm      **vm,
         const char *what)
{
  gpointer weak = *vm;

  g_object_add_weak_pointer (G_OBJECT (weak), &weak);
  g_clear_object (vm);
  if (!iterate_until (pointer_cleared, &weak, SETTLE_MS))
    {
      g_test_fail_printf ("%s: the VM was not finalized (a reference leaked)", what);
      g_object_remove_weak_pointer (G_OBJECT (weak), &weak);
    }
}

/* ---- templates on disk ---------------------------------------------------- */

/* The `.BASE.partial-*` siblings of @dir. */
static guint
count_partials (const char *dir)
{
  g_autofree char *parent = g_path_get_dirname (dir);
  g_autofree char *base = g_path_get_basename (dir);
  g_autofree char *prefix = g_strdup_printf (".%s.partial-", base);
  g_autoptr(GDir) d = g_dir_open (parent, 0, NULL);
  const char *name;
  guint n = 0;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, prefix))
      n++;
  return n;
}

static char *
find_partial (const char *dir)
{
  g_autofree char *parent = g_path_get_dirname (dir);
  g_autofree char *base = g_path_get_basename (dir);
  g_autofree char *prefix = g_strdup_printf (".%s.partial-", base);
  g_autoptr(GDir) d = g_dir_open (parent, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, prefix))
      return g_build_filename (parent, name, NULL);
  return NULL;
}

/* Whether the migration stream in @path ends whole: QEMU 7.2 ends it with
 * QEMU_VM_EOF (0x00) and the VM description section (QEMU_VM_VMDESCRIPTION,
 * 0x06, a big-endian 32-bit length, that much JSON). A stream cut short
 * (e.g. its writer killed before it wrote the last bytes) does not. */
static gboolean
state_stream_complete (const char *path,
                       char      **why)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents (path, &data, &len, &error))
    {
      *why = g_strdup (error->message);
      return FALSE;
    }
  if (len < 8 || data[len - 1] != '}')
    {
      *why = g_strdup_printf ("%" G_GSIZE_FORMAT " bytes, not ending with the VM description's '}'", len);
      return FALSE;
    }
  for (gsize p = len - 7; p > 0 && len - p < 16 * 1024 * 1024; p--)
    {
      const guint8 *b = (const guint8 *) data + p;
      guint32 size = ((guint32) b[2] << 24) | ((guint32) b[3] << 16) | ((guint32) b[4] << 8) | b[5];

      if (b[0] == 0x00 && b[1] == 0x06 && b[6] == '{' && (gsize) size == len - p - 6)
        return TRUE;
    }
  *why = g_strdup_printf ("%" G_GSIZE_FORMAT " bytes, no QEMU_VM_EOF + VM description at the end", len);
  return FALSE;
}

/* A finished template directory: it loads, a clone VM passes the checks
 * (the state's size and hash against the manifest), its stream is whole. */
static void
assert_template_whole (const char *dir,
                       const char *what)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlTemplate) tpl = ql_template_load (dir, fx.registry, &error);
  g_autoptr(QlVm) clone = NULL;
  g_autofree char *state = g_build_filename (dir, "state", NULL);
  g_autofree char *why = NULL;

  if (tpl == NULL)
    {
      g_test_fail_printf ("%s: the template in place does not load: %s", what, error->message);
      return;
    }
  clone = ql_template_new_clone (tpl, &error);
  if (clone == NULL)
    {
      g_test_fail_printf ("%s: the template in place is not whole: %s", what, error->message);
      return;
    }
  if (!state_stream_complete (state, &why))
    g_test_fail_printf ("%s: the template's state is cut short: %s", what, why);
}

/* The clones' private directories left ($XDG_RUNTIME_DIR/qlaunch/). */
static guint
count_clone_dirs (void)
{
  g_autofree char *path = g_build_filename (fx.runtime, "qlaunch", NULL);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static gboolean
no_clone_dirs (gpointer data)
{
  (void) data;
  return count_clone_dirs () == 0;
}

/* ==== (a) launch ============================================================ */

typedef enum
{
  LAUNCH_KILL_NONE,             /* the calibration run */
  LAUNCH_KILL_AT_SPAWN,         /* in notify::pid, inside ql_vm_launch_async() */
  LAUNCH_KILL_DELAY,            /* a random delay after the launch call */
  LAUNCH_KILL_ON_QMP,           /* when the VM's QMP client appears */
} LaunchStep;

static const char *const launch_step_names[] = { "none", "at-spawn", "delay", "on-qmp" };

typedef struct
{
  QlVm *vm;
  GPid pid;
  int pidfd;
  LaunchStep step;
  int sig;                      /* what the kill sends (0: SIGKILL) */
  guint connect_timeout_ms;     /* 0: 30 s */
  guint delay_ms;
  GSource *timer;
  gint64 start, kill_time, connect_time, end;
  gboolean killed;
  gboolean launch_done, launch_ok;
  gboolean connect_done, connect_ok;
  gboolean wait_done, wait_ok;
  GError *launch_error, *connect_error, *wait_error;
} LaunchRun;

static void
launch_kill (LaunchRun *run)
{
  if (run->killed || run->step == LAUNCH_KILL_NONE)
    return;
  if (run->timer != NULL)
    {
      g_source_destroy (run->timer);
      g_clear_pointer (&run->timer, g_source_unref);
    }
  g_assert_cmpint (run->pidfd, >=, 0);
  run->killed = TRUE;
  run->kill_time = g_get_monotonic_time ();
  g_assert_true (pidfd_signal (run->pidfd, run->sig != 0 ? run->sig : SIGKILL));
}

static gboolean
launch_timer_cb (gpointer data)
{
  LaunchRun *run = data;

  g_clear_pointer (&run->timer, g_source_unref);
  if (run->pidfd >= 0)
    launch_kill (run);
  return G_SOURCE_REMOVE;
}

static void
launch_pid_cb (QlVm       *vm,
               GParamSpec *pspec,
               LaunchRun  *run)
{
  (void) pspec;
  if (ql_vm_get_pid (vm) <= 0 || run->pidfd >= 0)
    return;
  run->pid = ql_vm_get_pid (vm);
  run->pidfd = pidfd_open_ (run->pid);
  g_assert_cmpint (run->pidfd, >=, 0);
  if (run->step == LAUNCH_KILL_AT_SPAWN)
    launch_kill (run);
}

static void
launch_qmp_cb (QlVm       *vm,
               GParamSpec *pspec,
               LaunchRun  *run)
{
  (void) pspec;
  if (run->step == LAUNCH_KILL_ON_QMP && ql_vm_get_qmp (vm) != NULL)
    launch_kill (run);
}

static void
launch_connected_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      data)
{
  LaunchRun *run = data;

  run->connect_ok = ql_vm_connect_qmp_finish (QL_VM (source), result, &run->connect_error);
  run->connect_time = g_get_monotonic_time ();
  run->connect_done = TRUE;
}

static void
launch_launched_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      data)
{
  LaunchRun *run = data;

  run->launch_ok = ql_vm_launch_finish (QL_VM (source), result, &run->launch_error);
  run->launch_done = TRUE;
  if (run->launch_ok)
    ql_vm_connect_qmp_async (run->vm, run->connect_timeout_ms != 0 ? run->connect_timeout_ms : 30000,
                             NULL, launch_connected_cb, run);
}

static void
launch_waited_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  LaunchRun *run = data;

  run->wait_ok = ql_vm_wait_finish (QL_VM (source), result, &run->wait_error);
  run->wait_done = TRUE;
  run->end = g_get_monotonic_time ();
}

static gboolean
launch_connect_over (gpointer data)
{
  LaunchRun *run = data;

  return run->launch_done && (!run->launch_ok || run->connect_done);
}

static gboolean
launch_over (gpointer data)
{
  LaunchRun *run = data;

  return launch_connect_over (run) && run->wait_done
         && (run->killed || run->step == LAUNCH_KILL_NONE);
}

static void
launch_run_start (LaunchRun  *run,
                  const char *qmp_path)
{
  run->pidfd = -1;
  run->vm = new_stopped_vm (qmp_path);
  g_signal_connect (run->vm, "notify::pid", G_CALLBACK (launch_pid_cb), run);
  g_signal_connect (run->vm, "notify::qmp", G_CALLBACK (launch_qmp_cb), run);
  run->start = g_get_monotonic_time ();
  if (run->step == LAUNCH_KILL_DELAY)
    {
      run->timer = g_timeout_source_new (run->delay_ms);
      g_source_set_callback (run->timer, launch_timer_cb, run, NULL);
      g_source_attach (run->timer, NULL);
    }
  ql_vm_launch_async (run->vm, NULL, launch_launched_cb, run);
  ql_vm_wait_async (run->vm, NULL, launch_waited_cb, run);
}

static void
launch_run_clear (LaunchRun *run)
{
  if (run->vm != NULL)
    g_signal_handlers_disconnect_by_data (run->vm, run);
  if (run->timer != NULL)
    {
      g_source_destroy (run->timer);
      g_clear_pointer (&run->timer, g_source_unref);
    }
  if (run->pidfd >= 0)
    close (run->pidfd);
  run->pidfd = -1;
  g_clear_error (&run->launch_error);
  g_clear_error (&run->connect_error);
  g_clear_error (&run->wait_error);
}

typedef struct
{
  gboolean done;
  gboolean ok;
  GError *error;
  char *status;
  gint64 when;
} Outcome;

static void
outcome_clear (Outcome *o)
{
  g_clear_error (&o->error);
  g_clear_pointer (&o->status, g_free);
  memset (o, 0, sizeof *o);
}

static void
status_outcome_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      data)
{
  Outcome *o = data;

  o->ok = ql_qmp_query_status_finish (QL_QMP (source), result, &o->status, NULL, &o->error);
  o->when = g_get_monotonic_time ();
  o->done = TRUE;
}

/* A command on a client whose QEMU is gone fails at once. */
static void
assert_command_fails_now (QlQmp      *qmp,
                          const char *what)
{
  Outcome o = { 0 };
  gint64 start = g_get_monotonic_time ();

  g_assert_false (ql_qmp_is_connected (qmp));
  ql_qmp_query_status_async (qmp, NULL, status_outcome_cb, &o);
  wait_or_die (flag_set, &o.done, 5000, what);
  g_assert_false (o.ok);
  g_assert_error (o.error, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
  g_assert_cmpfloat (seconds_since (start), <, 5.0);
  outcome_clear (&o);
}

static void
test_launch (void)
{
  g_autoptr(GRand) rand = NULL;
  g_autofree char *dir = NULL;
  LaunchRun cal = { 0 };
  double clean_ms;
  guint steps[LAUNCH_KILLS];

  if (skip_without_qemu ())
    return;
  rand = case_rand ("/fault/launch");
  dir = g_build_filename (fx.work, "launch", NULL);
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);

  /* Calibration: a clean launch, connect, stop. */
  {
    g_autofree char *qmp = g_build_filename (dir, "cal.qmp", NULL);

    arm_alarm (2 * POINT_BOUND_S);
    cal.step = LAUNCH_KILL_NONE;
    launch_run_start (&cal, qmp);
    wait_or_die (launch_connect_over, &cal, POINT_BOUND_S * 1000, "clean launch");
    g_assert_no_error (cal.launch_error);
    g_assert_no_error (cal.connect_error);
    clean_ms = (cal.connect_time - cal.start) / 1000.0;
    ql_vm_stop (cal.vm);
    wait_or_die (launch_over, &cal, POINT_BOUND_S * 1000, "clean stop");
    g_assert_no_error (cal.wait_error);
    g_assert_cmpint (ql_vm_get_state (cal.vm), ==, QL_VM_STATE_EXITED);
    launch_run_clear (&cal);
    drop_vm (&cal.vm, "clean launch");
    assert_no_children ("clean launch");
    g_test_message ("clean launch to ready: %.0f ms", clean_ms);
  }

  /* The steps: each kind once, the rest delays. */
  for (guint i = 0; i < LAUNCH_KILLS; i++)
    steps[i] = i == 0 ? LAUNCH_KILL_AT_SPAWN : i == 1 ? LAUNCH_KILL_ON_QMP : LAUNCH_KILL_DELAY;
  shuffle (rand, steps, LAUNCH_KILLS);

  for (guint i = 0; i < LAUNCH_KILLS; i++)
    {
      g_autofree char *qmp = g_strdup_printf ("%s/kill-%u.qmp", dir, i);
      g_autofree char *what = NULL;
      LaunchRun run = { 0 };
      guint permille = rnd (rand, 0, 1200);
      guint fds = settled_fds ();
      QlQmp *qmp_client;

      run.step = steps[i];
      run.delay_ms = (guint) (clean_ms * permille / 1000.0);
      what = run.step == LAUNCH_KILL_DELAY
             ? g_strdup_printf ("launch kill %u (%s: %u ms, %u permille of a clean launch)", i,
                                launch_step_names[run.step], run.delay_ms, permille)
             : g_strdup_printf ("launch kill %u (%s)", i, launch_step_names[run.step]);
      arm_alarm (2 * POINT_BOUND_S);
      launch_run_start (&run, qmp);
      wait_or_die (launch_over, &run, POINT_BOUND_S * 1000, what);

      g_test_message ("%s: connect %s%s%s; wait: %s; %.0f ms after the launch, all over %.0f ms after the kill",
                      what, run.connect_ok ? "succeeded" : "failed",
                      run.connect_error != NULL ? ": " : "",
                      run.connect_error != NULL ? run.connect_error->message : "",
                      run.wait_error != NULL ? run.wait_error->message : "ok",
                      (run.kill_time - run.start) / 1000.0, (run.end - run.kill_time) / 1000.0);
      /* Spawning cannot fail; the kill is seen by the wait. */
      g_assert_no_error (run.launch_error);
      g_assert_true (run.launch_ok);
      g_assert_true (run.connect_ok || run.connect_error != NULL);
      if (run.connect_error != NULL)
        g_assert_true (run.connect_error->domain == QL_LAUNCH_ERROR
                       || run.connect_error->domain == QL_QMP_ERROR);
      g_assert_false (run.wait_ok);
      g_assert_error (run.wait_error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SIGNALED);
      g_assert_cmpint (ql_vm_get_state (run.vm), ==, QL_VM_STATE_FAILED);
      g_assert_cmpint (ql_vm_get_exit_status (run.vm), ==, 128 + SIGKILL);
      g_assert_cmpfloat ((run.end - run.kill_time) / (double) G_USEC_PER_SEC, <, AFTER_KILL_BOUND_S);
      g_assert_cmpfloat (seconds_since (run.start), <, POINT_BOUND_S);
      qmp_client = ql_vm_get_qmp (run.vm);
      if (qmp_client != NULL)
        assert_command_fails_now (qmp_client, what);

      assert_pid_gone (run.pid, run.pidfd, what);
      launch_run_clear (&run);
      drop_vm (&run.vm, what);
      assert_no_children (what);
      assert_fds (fds, what);
      arm_alarm (0);
    }
  ql_test_rm_rf (dir);
}

/* ==== (b) QMP commands in flight ============================================= */

typedef enum
{
  LOOP_STATUS,
  LOOP_HOTPLUG,
  LOOP_DEVICE_ADD,
  N_LOOP_KINDS,
} LoopKind;

#define N_LOOPS 5
#define MAX_DEVICES 6

typedef struct _CommandRun CommandRun;

typedef struct
{
  CommandRun *run;
  LoopKind kind;
  guint index;
  guint issued;
  guint ok;
  guint refused;                /* QMP errors while connected */
  gboolean ended;
  GError *error;
} Loop;

typedef enum
{
  COMMAND_KILL_DELAY,
  COMMAND_KILL_IN_CALLBACK,
} CommandStep;

struct _CommandRun
{
  QlVm *vm;
  QlQmp *qmp;
  int pidfd;
  CommandStep step;
  guint delay_ms;
  guint kill_at;                /* completion number (IN_CALLBACK) */
  guint sync_at;                /* completion of loop 0 that calls sync */
  guint completions;
  guint completions_at_kill;
  GSource *timer;
  gboolean killed;
  gint64 start, kill_time, end;
  Loop loops[N_LOOPS];
  gboolean waiter_done;
  GError *waiter_error;
  gboolean sync_done;
  gboolean sync_ok;
  GError *sync_error;
  gboolean wait_done;
  GError *wait_error;
  guint disconnected;
  GError *disconnect_reason;
  char *disk;
  GPtrArray *devices;
};

static void loop_issue (Loop *loop);

static void
command_kill (CommandRun *run)
{
  if (run->killed)
    return;
  if (run->timer != NULL)
    {
      g_source_destroy (run->timer);
      g_clear_pointer (&run->timer, g_source_unref);
    }
  run->killed = TRUE;
  run->kill_time = g_get_monotonic_time ();
  run->completions_at_kill = run->completions;
  g_assert_true (pidfd_kill (run->pidfd));
}

static gboolean
command_timer_cb (gpointer data)
{
  CommandRun *run = data;

  g_clear_pointer (&run->timer, g_source_unref);
  command_kill (run);
  return G_SOURCE_REMOVE;
}

/* One completion of @loop, with @error NULL on success. */
static void
loop_completed (Loop   *loop,
                GError *error)
{
  CommandRun *run = loop->run;

  run->completions++;
  if (error != NULL)
    {
      if (ql_qmp_is_connected (run->qmp))
        {
          /* QEMU refused it (a full bus...): not the fault under test. */
          loop->refused++;
          g_error_free (error);
        }
      else
        {
          loop->ended = TRUE;
          loop->error = error;
          return;
        }
    }
  else
    loop->ok++;
  if (run->step == COMMAND_KILL_IN_CALLBACK && run->completions == run->kill_at)
    command_kill (run);
  if (loop->index == 0 && loop->ok == run->sync_at && !run->sync_done)
    {
      g_autofree char *status = NULL;

      /* A blocking call inside a callback: its nested loop must end too. */
      run->sync_ok = ql_qmp_query_status (run->qmp, &status, NULL, NULL, &run->sync_error);
      run->sync_done = TRUE;
    }
  loop_issue (loop);
}

static void
loop_status_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  GError *error = NULL;
  g_autofree char *status = NULL;

  if (ql_qmp_query_status_finish (QL_QMP (source), result, &status, NULL, &error))
    g_assert_nonnull (status);
  loop_completed (data, error);
}

static void
loop_hotplug_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  GError *error = NULL;

  ql_qmp_hotplug_device_finish (QL_QMP (source), result, &error);
  loop_completed (data, error);
}

static void
loop_execute_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  GError *error = NULL;
  g_autoptr(JsonNode) ret = ql_qmp_execute_finish (QL_QMP (source), result, &error);

  loop_completed (data, error);
}

static void
loop_issue (Loop *loop)
{
  CommandRun *run = loop->run;
  guint n = loop->issued++;

  if (loop->kind == LOOP_HOTPLUG && n < MAX_DEVICES)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *spec = g_strdup_printf ("block,id=hd%u,file=%s,format=raw,read-only=true",
                                               n, run->disk);
      QlDevice *device = ql_registry_create_device_from_spec (fx.registry, spec, &error);

      g_assert_no_error (error);
      g_ptr_array_add (run->devices, device);
      ql_qmp_hotplug_device_async (run->qmp, device, NULL, NULL, loop_hotplug_cb, loop);
    }
  else if (loop->kind == LOOP_DEVICE_ADD && n < MAX_DEVICES)
    {
      g_autofree char *id = g_strdup_printf ("rng%u", n);

      ql_qmp_device_add_async (run->qmp, "virtio-rng-pci", id, NULL, NULL, loop_execute_cb, loop);
    }
  else
    ql_qmp_query_status_async (run->qmp, NULL, loop_status_cb, loop);
}

static void
command_waiter_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      data)
{
  CommandRun *run = data;
  g_autoptr(JsonObject) event = ql_qmp_wait_event_finish (QL_QMP (source), result, &run->waiter_error);

  run->waiter_done = TRUE;
}

static void
command_waited_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      data)
{
  CommandRun *run = data;

  ql_vm_wait_finish (QL_VM (source), result, &run->wait_error);
  run->wait_done = TRUE;
  run->end = g_get_monotonic_time ();
}

static void
command_disconnected_cb (QlQmp      *qmp,
                         GError     *reason,
                         CommandRun *run)
{
  (void) qmp;
  run->disconnected++;
  g_clear_error (&run->disconnect_reason);
  run->disconnect_reason = g_error_copy (reason);
}

static gboolean
command_over (gpointer data)
{
  CommandRun *run = data;

  for (guint i = 0; i < N_LOOPS; i++)
    if (!run->loops[i].ended)
      return FALSE;
  return run->killed && run->waiter_done && run->wait_done;
}

static void
test_qmp_command (void)
{
  g_autoptr(GRand) rand = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *disk = NULL;
  g_autoptr(GError) error = NULL;

  if (skip_without_qemu ())
    return;
  rand = case_rand ("/fault/qmp-command");
  dir = g_build_filename (fx.work, "command", NULL);
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  disk = g_build_filename (dir, "disk.img", NULL);
  {
    g_autofree char *zeros = g_malloc0 (1024 * 1024);

    g_assert_true (g_file_set_contents (disk, zeros, 1024 * 1024, &error));
    g_assert_no_error (error);
  }

  for (guint i = 0; i < COMMAND_KILLS; i++)
    {
      g_autofree char *qmp_path = g_strdup_printf ("%s/kill-%u.qmp", dir, i);
      g_autofree char *what = NULL;
      CommandRun run = { 0 };
      guint fds = settled_fds ();
      GPid pid;
      guint hotplugged = 0, added = 0, statuses = 0;

      run.step = i % 2 == 0 ? COMMAND_KILL_DELAY : COMMAND_KILL_IN_CALLBACK;
      run.delay_ms = rnd (rand, 0, 400);
      run.kill_at = rnd (rand, 1, 40);
      run.sync_at = rnd (rand, 1, 20);
      run.disk = disk;
      run.devices = g_ptr_array_new_with_free_func (g_object_unref);
      what = run.step == COMMAND_KILL_DELAY
             ? g_strdup_printf ("command kill %u (%u ms into the load)", i, run.delay_ms)
             : g_strdup_printf ("command kill %u (in completion %u)", i, run.kill_at);
      arm_alarm (2 * POINT_BOUND_S);

      run.vm = new_stopped_vm (qmp_path);
      g_assert_true (ql_vm_launch (run.vm, NULL, &error));
      g_assert_no_error (error);
      pid = ql_vm_get_pid (run.vm);
      run.pidfd = pidfd_open_ (pid);
      g_assert_cmpint (run.pidfd, >=, 0);
      g_assert_true (ql_vm_connect_qmp (run.vm, 30000, NULL, &error));
      g_assert_no_error (error);
      run.qmp = g_object_ref (ql_vm_get_qmp (run.vm));
      g_signal_connect (run.qmp, "disconnected", G_CALLBACK (command_disconnected_cb), &run);
      ql_vm_wait_async (run.vm, NULL, command_waited_cb, &run);

      /* The load, then the kill. */
      run.start = g_get_monotonic_time ();
      for (guint l = 0; l < N_LOOPS; l++)
        {
          run.loops[l].run = &run;
          run.loops[l].index = l;
          run.loops[l].kind = l == 3 ? LOOP_HOTPLUG : l == 4 ? LOOP_DEVICE_ADD : LOOP_STATUS;
        }
      ql_qmp_wait_event_async (run.qmp, "DEVICE_DELETED", NULL, NULL, 0, NULL, command_waiter_cb, &run);
      for (guint l = 0; l < N_LOOPS; l++)
        loop_issue (&run.loops[l]);
      if (run.step == COMMAND_KILL_DELAY)
        {
          run.timer = g_timeout_source_new (run.delay_ms);
          g_source_set_callback (run.timer, command_timer_cb, &run, NULL);
          g_source_attach (run.timer, NULL);
        }
      /* A kill in a completion that never comes (a failure) still happens. */
      wait_or_die (command_over, &run, POINT_BOUND_S * 1000, what);

      for (guint l = 0; l < N_LOOPS; l++)
        {
          Loop *loop = &run.loops[l];

          if (loop->kind == LOOP_HOTPLUG)
            hotplugged += MIN (loop->ok, MAX_DEVICES);
          else if (loop->kind == LOOP_DEVICE_ADD)
            added += MIN (loop->ok, MAX_DEVICES);
          statuses += loop->ok;
        }
      g_test_message ("%s: %u completions before the kill (%u disks, %u rng devices plugged), "
                      "all over %.0f ms after it; sync call %s%s; disconnected: %s",
                      what, run.completions_at_kill, hotplugged, added, (run.end - run.kill_time) / 1000.0,
                      !run.sync_done ? "not reached" : run.sync_ok ? "succeeded" : "failed: ",
                      run.sync_error != NULL ? run.sync_error->message : "",
                      run.disconnect_reason != NULL ? run.disconnect_reason->message : "(none)");
      /* Everything in flight ended with a GError. */
      for (guint l = 0; l < N_LOOPS; l++)
        {
          Loop *loop = &run.loops[l];

          g_assert_nonnull (loop->error);
          if (loop->kind != LOOP_HOTPLUG)
            g_assert_true (g_error_matches (loop->error, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED)
                           || g_error_matches (loop->error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL));
          if (loop->refused > 0)
            g_test_message ("%s: loop %u: QEMU refused %u commands", what, l, loop->refused);
        }
      g_assert_nonnull (run.waiter_error);
      g_assert_true (run.waiter_error->domain == QL_QMP_ERROR);
      if (run.sync_done && !run.sync_ok)
        g_assert_nonnull (run.sync_error);
      g_assert_cmpuint (run.disconnected, ==, 1);
      g_assert_nonnull (run.wait_error);
      g_assert_error (run.wait_error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SIGNALED);
      g_assert_cmpint (ql_vm_get_state (run.vm), ==, QL_VM_STATE_FAILED);
      g_assert_cmpfloat ((run.end - run.kill_time) / (double) G_USEC_PER_SEC, <, AFTER_KILL_BOUND_S);
      g_assert_cmpfloat (seconds_since (run.start), <, POINT_BOUND_S);
      assert_command_fails_now (run.qmp, what);
      g_assert_cmpuint (run.disconnected, ==, 1);

      assert_pid_gone (pid, run.pidfd, what);
      close (run.pidfd);
      g_signal_handlers_disconnect_by_data (run.qmp, &run);
      g_clear_object (&run.qmp);
      for (guint l = 0; l < N_LOOPS; l++)
        g_clear_error (&run.loops[l].error);
      g_clear_error (&run.waiter_error);
      g_clear_error (&run.sync_error);
      g_clear_error (&run.wait_error);
      g_clear_error (&run.disconnect_reason);
      g_ptr_array_unref (run.devices);
      drop_vm (&run.vm, what);
      assert_no_children (what);
      assert_fds (fds, what);
      arm_alarm (0);
    }
  ql_test_rm_rf (dir);
}

/* ==== (c) template create ===================================================== */

typedef enum
{
  CREATE_KILL_BOOT,             /* a random delay after the create call */
  CREATE_KILL_READY,            /* the ready line is in console.log */
  CREATE_KILL_STATE_CREATED,    /* `cat > state` opened it: migrating */
  CREATE_KILL_STATE_WRITTEN,    /* the first bytes of the state */
  CREATE_KILL_STATE_CLOSED,     /* the state is written: wait, quit */
  N_CREATE_STEPS,
} CreateStep;

static const char *const create_step_names[] = {
  "boot", "ready", "state-created", "state-written", "state-closed",
};

typedef struct
{
  CreateStep step;
  int sig;                      /* what the kill sends (0: SIGKILL) */
  guint delay_ms;
  char *dir;
  char *partial;
  GPid pid;
  int pidfd;
  int inotify_fd;
  guint inotify_id;
  gboolean ready_seen, state_created, state_written, state_closed;
  GSource *timer;
  gboolean killed, too_late;
  CreateStep reached;           /* the last step seen when the kill went */
  gint64 start, kill_time, end;
  gboolean done;
  QlTemplate *template_;
  GError *error;
} CreateRun;

static void
create_kill (CreateRun *run)
{
  if (run->killed || run->done)
    return;
  run->killed = TRUE;
  run->kill_time = g_get_monotonic_time ();
  run->reached = run->state_closed ? CREATE_KILL_STATE_CLOSED
                 : run->state_written ? CREATE_KILL_STATE_WRITTEN
                 : run->state_created ? CREATE_KILL_STATE_CREATED
                 : run->ready_seen ? CREATE_KILL_READY : CREATE_KILL_BOOT;
  /* ESRCH-free: the pidfd is QEMU's even if it has just exited. */
  pidfd_signal (run->pidfd, run->sig != 0 ? run->sig : SIGKILL);
}

static gboolean
create_timer_cb (gpointer data)
{
  CreateRun *run = data;

  g_clear_pointer (&run->timer, g_source_unref);
  create_kill (run);
  return G_SOURCE_REMOVE;
}

/* @step happened: the kill goes now, or after the planned delay. */
static void
create_trigger (CreateRun  *run,
                CreateStep  step)
{
  if (run->step != step || run->killed || run->timer != NULL)
    return;
  if (run->delay_ms == 0)
    {
      create_kill (run);
      return;
    }
  run->timer = g_timeout_source_new (run->delay_ms);
  g_source_set_callback (run->timer, create_timer_cb, run, NULL);
  g_source_attach (run->timer, NULL);
}

static gboolean
create_inotify_cb (gint         fd,
                   GIOCondition condition,
                   gpointer     data)
{
  CreateRun *run = data;
  char buf[8192] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
  ssize_t n;

  (void) condition;
  while ((n = read (fd, buf, sizeof buf)) > 0)
    {
      for (char *p = buf; p < buf + n;)
        {
          const struct inotify_event *ev = (const struct inotify_event *) (void *) p;

          p += sizeof (struct inotify_event) + ev->len;
          if (ev->len == 0)
            continue;
          if (strcmp (ev->name, "console.log") == 0 && (ev->mask & IN_MODIFY) && !run->ready_seen)
            {
              g_autofree char *path = g_build_filename (run->partial, "console.log", NULL);
              g_autofree char *text = NULL;
              const char *line;

              /* The whole line: the library matches complete lines. */
              if (g_file_get_contents (path, &text, NULL, NULL)
                  && (line = strstr (text, EARLY_READY)) != NULL && strchr (line, '\n') != NULL)
                {
                  run->ready_seen = TRUE;
                  create_trigger (run, CREATE_KILL_READY);
                }
            }
          else if (strcmp (ev->name, "state") == 0)
            {
              if ((ev->mask & IN_CREATE) && !run->state_created)
                {
                  run->state_created = TRUE;
                  create_trigger (run, CREATE_KILL_STATE_CREATED);
                }
              if ((ev->mask & IN_MODIFY) && !run->state_written)
                {
                  run->state_written = TRUE;
                  create_trigger (run, CREATE_KILL_STATE_WRITTEN);
                }
              if ((ev->mask & IN_CLOSE_WRITE) && !run->state_closed)
                {
                  run->state_closed = TRUE;
                  create_trigger (run, CREATE_KILL_STATE_CLOSED);
                }
            }
        }
    }
  return G_SOURCE_CONTINUE;
}

static void
create_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  CreateRun *run = data;

  (void) source;
  run->template_ = ql_template_create_finish (result, &run->error);
  run->end = g_get_monotonic_time ();
  run->done = TRUE;
  if (run->timer != NULL)
    {
      g_source_destroy (run->timer);
      g_clear_pointer (&run->timer, g_source_unref);
    }
  if (!run->killed)
    run->too_late = TRUE;
}

static void
test_template_create (void)
{
  g_autoptr(GRand) rand = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  guint steps[CREATE_KILLS];

  if (skip_without_guest ())
    return;
  rand = case_rand ("/fault/template-create");
  config = guest_config ("qlfault-early", FALSE, "128M");
  /* Every step once; more points draw a step at random. */
  for (guint i = 0; i < CREATE_KILLS; i++)
    steps[i] = i < N_CREATE_STEPS ? i : rnd (rand, 0, N_CREATE_STEPS - 1);
  shuffle (rand, steps, CREATE_KILLS);

  for (guint i = 0; i < CREATE_KILLS; i++)
    {
      g_autofree char *what = NULL;
      CreateRun run = { 0 };
      guint fds = settled_fds ();
      gsize len = 0;
      g_autofree char *cmdline = NULL;

      run.step = steps[i];
      switch (run.step)
        {
        case CREATE_KILL_BOOT: run.delay_ms = rnd (rand, 0, 2500); break;
        case CREATE_KILL_READY: run.delay_ms = rnd (rand, 0, 40); break;
        case CREATE_KILL_STATE_CREATED: run.delay_ms = rnd (rand, 0, 20); break;
        case CREATE_KILL_STATE_WRITTEN: run.delay_ms = rnd (rand, 0, 5); break;
        case CREATE_KILL_STATE_CLOSED: run.delay_ms = rnd (rand, 0, 30); break;
        case N_CREATE_STEPS:
        default: g_assert_not_reached ();
        }
      run.dir = g_strdup_printf ("%s/tpl-kill-%u", fx.work, i);
      what = g_strdup_printf ("create kill %u (%s + %u ms)", i, create_step_names[run.step], run.delay_ms);
      arm_alarm (2 * CREATE_POINT_BOUND_S);

      run.inotify_fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
      g_assert_cmpint (run.inotify_fd, >=, 0);
      run.start = g_get_monotonic_time ();
      ql_template_create_async (config, run.dir, EARLY_READY, 60000, NULL, create_done_cb, &run);
      /* The partial directory and QEMU exist once the call returned. */
      run.partial = find_partial (run.dir);
      g_assert_nonnull (run.partial);
      g_assert_cmpint (inotify_add_watch (run.inotify_fd, run.partial,
                                          IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE), >=, 0);
      run.inotify_id = g_unix_fd_add (run.inotify_fd, G_IO_IN, create_inotify_cb, &run);
      run.pid = find_child_qemu (run.partial);
      g_assert_cmpint (run.pid, >, 0);
      run.pidfd = pidfd_open_ (run.pid);
      g_assert_cmpint (run.pidfd, >=, 0);
      cmdline = proc_cmdline ((int) run.pid, &len);
      g_assert_true (cmdline != NULL && cmdline_mentions (cmdline, len, run.partial));
      if (run.step == CREATE_KILL_BOOT)
        {
          run.timer = g_timeout_source_new (run.delay_ms);
          g_source_set_callback (run.timer, create_timer_cb, &run, NULL);
          g_source_attach (run.timer, NULL);
        }
      wait_or_die (flag_set, &run.done, CREATE_POINT_BOUND_S * 1000, what);
      g_source_remove (run.inotify_id);
      close (run.inotify_fd);

      if (run.killed)
        g_test_message ("%s: killed %.0f ms after the create call (last step seen: %s); %s %.0f ms after the kill",
                        what, (run.kill_time - run.start) / 1000.0, create_step_names[run.reached],
                        run.error != NULL ? run.error->message : "created", (run.end - run.kill_time) / 1000.0);
      else
        g_test_message ("%s: the template was made (%.1f s) before the kill point", what, seconds_since (run.start));
      g_assert_cmpfloat (seconds_since (run.start), <, CREATE_POINT_BOUND_S);
      if (run.killed)
        g_assert_cmpfloat ((run.end - run.kill_time) / (double) G_USEC_PER_SEC, <, AFTER_KILL_BOUND_S);
      if (run.error != NULL)
        {
          g_assert_null (run.template_);
          g_assert_true (run.killed);
          g_assert_true (run.error->domain == QL_TEMPLATE_ERROR);
          /* No template, no partial directory. */
          g_assert_false (g_file_test (run.dir, G_FILE_TEST_EXISTS));
        }
      else
        {
          /* Too late to harm it: what is in place is whole. */
          g_assert_nonnull (run.template_);
          assert_template_whole (run.dir, what);
          g_clear_object (&run.template_);
          ql_test_rm_rf (run.dir);
        }
      g_assert_cmpuint (count_partials (run.dir), ==, 0);
      assert_pid_gone (run.pid, run.pidfd, what);
      close (run.pidfd);
      assert_no_children (what);
      /* Orphans may write into the partial directory after it went. */
      g_assert_cmpuint (count_partials (run.dir), ==, 0);
      g_assert_false (g_file_test (run.dir, G_FILE_TEST_EXISTS));
      assert_fds (fds, what);
      g_clear_error (&run.error);
      g_free (run.dir);
      g_free (run.partial);
      arm_alarm (0);
    }
}

/* ==== (d) clone =============================================================== */

/* The template at the guest's shell, made on first use (NULL after a
 * failure, reported). */
static QlTemplate *
base_template (void)
{
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *state = NULL;
  g_autofree char *why = NULL;
  guint fds;
  gint64 start;

  if (fx.base_tried)
    {
      if (fx.base == NULL)
        g_test_fail_printf ("the template could not be made (see above)");
      return fx.base;
    }
  fx.base_tried = TRUE;
  config = guest_config ("qlfault-base", TRUE, "256M");
  dir = g_build_filename (fx.work, "base", NULL);
  fds = settled_fds ();
  start = g_get_monotonic_time ();
  arm_alarm (2 * BASE_CREATE_TIMEOUT_S);
  fx.base = ql_template_create (config, dir, SHELL_READY, BASE_CREATE_TIMEOUT_S * 1000, NULL, &error);
  arm_alarm (0);
  if (fx.base == NULL)
    {
      g_test_fail_printf ("ql_template_create: %s", error->message);
      return NULL;
    }
  g_test_message ("base template made in %.1f s", seconds_since (start));
  g_assert_cmpuint (count_partials (dir), ==, 0);
  state = g_build_filename (dir, "state", NULL);
  if (!state_stream_complete (state, &why))
    g_test_fail_printf ("the base template's state is cut short: %s", why);
  assert_no_children ("base template");
  assert_fds (fds, "base template");
  return fx.base;
}

typedef enum
{
  CLONE_KILL_NONE,
  CLONE_KILL_DELAY,             /* random delay, scaled to a clean clone */
  CLONE_KILL_ON_QMP,            /* its QMP client appeared */
  CLONE_KILL_INCOMING,          /* QEMU's `cat` opened the state */
  CLONE_KILL_LOADED,            /* ... and closed it */
  CLONE_KILL_RESUMED,           /* RESUME: the reply to `cont` on its way */
  N_CLONE_STEPS,
} CloneStep;

static const char *const clone_step_names[] = { "none", "delay", "on-qmp", "incoming", "loaded", "resumed" };

typedef struct
{
  QlVm *vm;
  GPid pid;
  int pidfd;
  CloneStep step;
  int sig;                      /* what the kill sends (0: SIGKILL) */
  guint timeout_ms;             /* 0: 60 s */
  guint delay_ms;
  QlTemplateCloneFlags flags;
  int inotify_fd;
  guint inotify_id;
  gboolean opened, closed;
  GSource *timer;
  gboolean killed;
  gint64 start, kill_time, started_time, end;
  gboolean start_done, start_ok;
  GError *start_error;
  gboolean wait_done;
  GError *wait_error;
} CloneRun;

static void
clone_kill (CloneRun *run)
{
  if (run->killed)
    return;
  if (run->timer != NULL)
    {
      g_source_destroy (run->timer);
      g_clear_pointer (&run->timer, g_source_unref);
    }
  run->killed = TRUE;
  run->kill_time = g_get_monotonic_time ();
  pidfd_signal (run->pidfd, run->sig != 0 ? run->sig : SIGKILL);
}

static gboolean
clone_timer_cb (gpointer data)
{
  CloneRun *run = data;

  g_clear_pointer (&run->timer, g_source_unref);
  clone_kill (run);
  return G_SOURCE_REMOVE;
}

static void
clone_trigger (CloneRun  *run,
               CloneStep  step,
               guint      delay_ms)
{
  if (run->step != step || run->killed || run->timer != NULL)
    return;
  if (delay_ms == 0)
    {
      clone_kill (run);
      return;
    }
  run->timer = g_timeout_source_new (delay_ms);
  g_source_set_callback (run->timer, clone_timer_cb, run, NULL);
  g_source_attach (run->timer, NULL);
}

static void
clone_pid_cb (QlVm       *vm,
              GParamSpec *pspec,
              CloneRun   *run)
{
  (void) pspec;
  if (ql_vm_get_pid (vm) <= 0 || run->pidfd >= 0)
    return;
  run->pid = ql_vm_get_pid (vm);
  run->pidfd = pidfd_open_ (run->pid);
  g_assert_cmpint (run->pidfd, >=, 0);
  if (run->step == CLONE_KILL_DELAY)
    clone_trigger (run, CLONE_KILL_DELAY, run->delay_ms);
}

static void
clone_qmp_cb (QlVm       *vm,
              GParamSpec *pspec,
              CloneRun   *run)
{
  (void) pspec;
  if (ql_vm_get_qmp (vm) != NULL)
    clone_trigger (run, CLONE_KILL_ON_QMP, run->delay_ms);
}

static void
clone_run_state_cb (QlVm       *vm,
                    GParamSpec *pspec,
                    CloneRun   *run)
{
  (void) pspec;
  if (g_strcmp0 (ql_vm_get_run_state (vm), "running") == 0)
    clone_trigger (run, CLONE_KILL_RESUMED, run->delay_ms);
}

static gboolean
clone_inotify_cb (gint         fd,
                  GIOCondition condition,
                  gpointer     data)
{
  CloneRun *run = data;
  char buf[4096] __attribute__ ((aligned (__alignof__ (struct inotify_event))));
  ssize_t n;

  (void) condition;
  while ((n = read (fd, buf, sizeof buf)) > 0)
    for (char *p = buf; p < buf + n;)
      {
        const struct inotify_event *ev = (const struct inotify_event *) (void *) p;

        p += sizeof (struct inotify_event) + ev->len;
        if ((ev->mask & IN_OPEN) && !run->opened)
          {
            run->opened = TRUE;
            clone_trigger (run, CLONE_KILL_INCOMING, run->delay_ms);
          }
        if ((ev->mask & IN_CLOSE_NOWRITE) && run->opened && !run->closed)
          {
            run->closed = TRUE;
            clone_trigger (run, CLONE_KILL_LOADED, run->delay_ms);
          }
      }
  return G_SOURCE_CONTINUE;
}

static void
clone_started_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  CloneRun *run = data;

  run->start_ok = ql_template_start_clone_finish (QL_TEMPLATE (source), result, &run->start_error);
  run->started_time = g_get_monotonic_time ();
  run->start_done = TRUE;
}

static void
clone_waited_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  CloneRun *run = data;

  ql_vm_wait_finish (QL_VM (source), result, &run->wait_error);
  run->end = g_get_monotonic_time ();
  run->wait_done = TRUE;
}

static gboolean
clone_started_over (gpointer data)
{
  return ((CloneRun *) data)->start_done;
}

static gboolean
clone_over (gpointer data)
{
  CloneRun *run = data;

  return run->start_done && run->wait_done;
}

static void
clone_run_start (CloneRun   *run,
                 QlTemplate *tpl)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *state = g_build_filename (ql_template_get_dir (tpl), "state", NULL);

  run->pidfd = -1;
  run->vm = ql_template_new_clone (tpl, &error);
  g_assert_no_error (error);
  ql_test_vm_guard (run->vm);
  ql_vm_set_die_with_parent (run->vm, TRUE);
  g_signal_connect (run->vm, "notify::pid", G_CALLBACK (clone_pid_cb), run);
  g_signal_connect (run->vm, "notify::qmp", G_CALLBACK (clone_qmp_cb), run);
  g_signal_connect (run->vm, "notify::run-state", G_CALLBACK (clone_run_state_cb), run);
  /* After new_clone (which reads the state for its hash): only QEMU's
   * `cat` opens it now. */
  run->inotify_fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  g_assert_cmpint (run->inotify_fd, >=, 0);
  g_assert_cmpint (inotify_add_watch (run->inotify_fd, state, IN_OPEN | IN_CLOSE_NOWRITE), >=, 0);
  run->inotify_id = g_unix_fd_add (run->inotify_fd, G_IO_IN, clone_inotify_cb, run);
  run->start = g_get_monotonic_time ();
  ql_template_start_clone_async (tpl, run->vm, run->flags, NULL, run->timeout_ms != 0 ? run->timeout_ms : 60000,
                                 NULL, clone_started_cb, run);
  if (ql_vm_get_state (run->vm) != QL_VM_STATE_NEW)
    ql_vm_wait_async (run->vm, NULL, clone_waited_cb, run);
  else
    run->wait_done = TRUE;
}

static void
clone_run_clear (CloneRun *run)
{
  if (run->inotify_id != 0)
    g_source_remove (run->inotify_id);
  run->inotify_id = 0;
  if (run->inotify_fd >= 0)
    close (run->inotify_fd);
  run->inotify_fd = -1;
  if (run->vm != NULL)
    g_signal_handlers_disconnect_by_data (run->vm, run);
  if (run->timer != NULL)
    {
      g_source_destroy (run->timer);
      g_clear_pointer (&run->timer, g_source_unref);
    }
  if (run->pidfd >= 0)
    close (run->pidfd);
  run->pidfd = -1;
  g_clear_error (&run->start_error);
  g_clear_error (&run->wait_error);
}

/* A clone that runs is queried, then stopped. */
static void
clone_check_and_stop (CloneRun   *run,
                      const char *expected,
                      const char *what)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *status = NULL;

  g_assert_true (ql_qmp_query_status (ql_vm_get_qmp (run->vm), &status, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (status, ==, expected);
  ql_vm_set_grace_period (run->vm, 0);
  ql_vm_stop (run->vm);
  wait_or_die (clone_over, run, POINT_BOUND_S * 1000, what);
}

static void
test_clone (void)
{
  g_autoptr(GRand) rand = NULL;
  QlTemplate *tpl;
  CloneRun cal = { 0 };
  double clean_ms;
  guint steps[CLONE_KILLS];
  QlTemplateCloneFlags flags[CLONE_KILLS];
  guint delays[CLONE_KILLS];

  if (skip_without_guest ())
    return;
  rand = case_rand ("/fault/clone");
  /* Drawn before anything that takes time, so that a replay draws alike. */
  for (guint i = 0; i < CLONE_KILLS; i++)
    steps[i] = i < N_CLONE_STEPS - 1 ? i + 1 : rnd (rand, 1, N_CLONE_STEPS - 1);
  shuffle (rand, steps, CLONE_KILLS);
  for (guint i = 0; i < CLONE_KILLS; i++)
    {
      flags[i] = rnd (rand, 0, 1) ? QL_TEMPLATE_CLONE_PAUSED : QL_TEMPLATE_CLONE_NONE;
      if (steps[i] == CLONE_KILL_RESUMED)
        flags[i] = QL_TEMPLATE_CLONE_NONE;   /* a paused clone does not resume */
      switch (steps[i])
        {
        case CLONE_KILL_DELAY: delays[i] = rnd (rand, 0, 1100); break;   /* permille */
        case CLONE_KILL_ON_QMP: delays[i] = rnd (rand, 0, 5); break;
        case CLONE_KILL_INCOMING: delays[i] = rnd (rand, 0, 10); break;
        case CLONE_KILL_LOADED: delays[i] = rnd (rand, 0, 60); break;
        case CLONE_KILL_RESUMED: delays[i] = rnd (rand, 0, 20); delays[i] = delays[i] < 10 ? 0 : delays[i] - 10; break;
        case CLONE_KILL_NONE:
        case N_CLONE_STEPS:
        default: g_assert_not_reached ();
        }
    }
  if ((tpl = base_template ()) == NULL)
    return;
  g_assert_cmpuint (count_clone_dirs (), ==, 0);

  /* Calibration: a clean paused clone. */
  arm_alarm (2 * POINT_BOUND_S);
  cal.step = CLONE_KILL_NONE;
  cal.flags = QL_TEMPLATE_CLONE_PAUSED;
  clone_run_start (&cal, tpl);
  wait_or_die (clone_started_over, &cal, POINT_BOUND_S * 1000, "clean clone");
  g_assert_no_error (cal.start_error);
  clean_ms = (cal.started_time - cal.start) / 1000.0;
  clone_check_and_stop (&cal, "paused", "clean clone");
  g_assert_cmpint (ql_vm_get_state (cal.vm), ==, QL_VM_STATE_EXITED);
  clone_run_clear (&cal);
  drop_vm (&cal.vm, "clean clone");
  assert_no_children ("clean clone");
  wait_or_die (no_clone_dirs, NULL, SETTLE_MS, "the clean clone's runtime directory");
  arm_alarm (0);
  g_test_message ("clean clone: %.0f ms (the state was opened: %s, closed: %s)", clean_ms,
                  cal.opened ? "yes" : "no", cal.closed ? "yes" : "no");
  g_assert_true (cal.opened && cal.closed);

  for (guint i = 0; i < CLONE_KILLS; i++)
    {
      g_autofree char *what = NULL;
      CloneRun run = { 0 };
      guint fds = settled_fds ();

      run.step = steps[i];
      run.flags = flags[i];
      run.delay_ms = run.step == CLONE_KILL_DELAY ? (guint) (clean_ms * delays[i] / 1000.0) : delays[i];
      what = g_strdup_printf ("clone kill %u (%s + %u ms, %s)", i, clone_step_names[run.step], run.delay_ms,
                              run.flags & QL_TEMPLATE_CLONE_PAUSED ? "paused" : "running");
      arm_alarm (2 * POINT_BOUND_S);
      clone_run_start (&run, tpl);
      wait_or_die (clone_started_over, &run, POINT_BOUND_S * 1000, what);
      if (!run.killed)
        {
          /* It started before the kill point: a running clone dies. */
          g_assert_true (run.start_ok);
          clone_kill (&run);
        }
      wait_or_die (clone_over, &run, POINT_BOUND_S * 1000, what);

      g_test_message ("%s: killed %.0f ms after the start (state opened: %s, closed: %s); start %s%s; "
                      "wait: %s; all over %.0f ms after the kill", what,
                      (run.kill_time - run.start) / 1000.0, run.opened ? "yes" : "no", run.closed ? "yes" : "no",
                      run.start_ok ? "succeeded" : "failed: ",
                      run.start_error != NULL ? run.start_error->message : "",
                      run.wait_error != NULL ? run.wait_error->message : "ok",
                      (MAX (run.end, run.started_time) - run.kill_time) / 1000.0);
      g_assert_true (run.start_ok || run.start_error != NULL);
      if (run.start_error != NULL)
        g_assert_true (run.start_error->domain == QL_TEMPLATE_ERROR);
      /* Killed by us: FAILED; or EXITED when the failed start had stopped
       * it meanwhile (its stop came before the exit was seen). */
      g_assert_true (ql_vm_get_state (run.vm) == QL_VM_STATE_FAILED
                     || ql_vm_get_state (run.vm) == QL_VM_STATE_EXITED);
      if (ql_vm_get_state (run.vm) == QL_VM_STATE_EXITED)
        g_test_message ("%s: the clone's VM says EXITED (status %d), as if qlaunch had stopped it "
                        "(see /fault/kill-then-stop)", what, ql_vm_get_exit_status (run.vm));
      if (run.wait_error != NULL)
        g_assert_error (run.wait_error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SIGNALED);
      g_assert_cmpfloat ((MAX (run.end, run.started_time) - run.kill_time) / (double) G_USEC_PER_SEC,
                         <, AFTER_KILL_BOUND_S);
      g_assert_cmpfloat (seconds_since (run.start), <, POINT_BOUND_S);
      if (ql_vm_get_qmp (run.vm) != NULL)
        assert_command_fails_now (ql_vm_get_qmp (run.vm), what);

      assert_pid_gone (run.pid, run.pidfd, what);
      clone_run_clear (&run);
      drop_vm (&run.vm, what);
      assert_no_children (what);
      if (!iterate_until (no_clone_dirs, NULL, SETTLE_MS))
        g_test_fail_printf ("%s: %u clone runtime directories left", what, count_clone_dirs ());
      assert_fds (fds, what);
      arm_alarm (0);
    }

  /* The template took no harm: a clean clone runs. */
  {
    CloneRun last = { 0 };
    guint fds = settled_fds ();

    arm_alarm (2 * POINT_BOUND_S);
    last.step = CLONE_KILL_NONE;
    last.flags = QL_TEMPLATE_CLONE_NONE;
    clone_run_start (&last, tpl);
    wait_or_die (clone_started_over, &last, POINT_BOUND_S * 1000, "clone after the kills");
    g_assert_no_error (last.start_error);
    clone_check_and_stop (&last, "running", "clone after the kills");
    clone_run_clear (&last);
    drop_vm (&last.vm, "clone after the kills");
    assert_no_children ("clone after the kills");
    wait_or_die (no_clone_dirs, NULL, SETTLE_MS, "the last clone's runtime directory");
    assert_fds (fds, "clone after the kills");
    arm_alarm (0);
  }
}

/* ==== a QEMU that stops answering (SIGSTOP) ==================================== */

/* The real-QEMU form of a peer that stops reading: QEMU is stopped with
 * SIGSTOP while a step of an operation with a deadline waits for a QMP
 * reply. The operation must fail with a GError once its deadline passed
 * (HUNG_MARGIN_S of slack); a hang is reported, then QEMU is killed, which
 * must end the operation at once and leave nothing behind. */
#define HUNG_MARGIN_S 5

typedef struct
{
  guint hangs;
  GString *report;
} Hung;

/* @ended: the operation ended within its deadline and the margin. */
static void
hung_note (Hung       *hung,
           const char *what,
           gboolean    ended,
           double      seconds,
           guint       deadline_ms,
           GError     *error)
{
  if (ended)
    {
      g_test_message ("%s: ended after %.1f s (deadline %u ms): %s", what, seconds, deadline_ms,
                      error != NULL ? error->message : "(no error)");
      g_assert_nonnull (error);
      return;
    }
  hung->hangs++;
  g_string_append_printf (hung->report, "%s%s: still pending %.1f s after the call, its deadline was %u ms",
                          hung->report->len > 0 ? "; " : "", what, seconds, deadline_ms);
  g_test_message ("%s: HANG: still pending %.1f s after the call (deadline %u ms); QEMU is killed now",
                  what, seconds, deadline_ms);
}

static void
test_hung_qemu (void)
{
  g_autoptr(GRand) rand = NULL;
  g_autofree char *dir = NULL;
  Hung hung = { 0, NULL };

  if (skip_without_qemu ())
    return;
  rand = case_rand ("/fault/hung-qemu");
  hung.report = g_string_new (NULL);
  dir = g_build_filename (fx.work, "hung", NULL);
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);

  /* 1. ql_vm_connect_qmp(): stopped when its client appears (greeting and
   *    capabilities done, the first query-status in flight). */
  {
    g_autofree char *qmp = g_build_filename (dir, "connect.qmp", NULL);
    const char *what = "connect_qmp, QEMU stopped after the greeting";
    LaunchRun run = { 0 };
    guint fds = settled_fds ();
    gboolean ended;

    run.step = LAUNCH_KILL_ON_QMP;
    run.sig = SIGSTOP;
    run.connect_timeout_ms = rnd (rand, 1000, 3000);
    arm_alarm (4 * POINT_BOUND_S);
    launch_run_start (&run, qmp);
    ended = iterate_until (launch_connect_over, &run, run.connect_timeout_ms + HUNG_MARGIN_S * 1000);
    hung_note (&hung, what, ended, seconds_since (run.start), run.connect_timeout_ms, run.connect_error);
    g_assert_true (run.killed);
    pidfd_kill (run.pidfd);
    wait_or_die (launch_over, &run, AFTER_KILL_BOUND_S * 1000, what);
    g_assert_false (run.connect_ok);
    g_assert_nonnull (run.connect_error);
    g_assert_error (run.wait_error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SIGNALED);
    assert_pid_gone (run.pid, run.pidfd, what);
    launch_run_clear (&run);
    drop_vm (&run.vm, what);
    assert_no_children (what);
    assert_fds (fds, what);
    arm_alarm (0);
  }

  /* 2. A clone: stopped when its `cat` opens the state (migrate-incoming,
   *    then the wait for the incoming migration). */
  if (ql_test_guest_dir () != NULL && base_template () != NULL)
    {
      const char *what = "clone, QEMU stopped in the incoming migration";
      CloneRun run = { 0 };
      guint fds = settled_fds ();
      gboolean ended;

      run.step = CLONE_KILL_INCOMING;
      run.sig = SIGSTOP;
      run.flags = QL_TEMPLATE_CLONE_NONE;
      run.timeout_ms = rnd (rand, 2000, 4000);
      arm_alarm (4 * POINT_BOUND_S);
      clone_run_start (&run, fx.base);
      ended = iterate_until (clone_started_over, &run, run.timeout_ms + HUNG_MARGIN_S * 1000);
      hung_note (&hung, what, ended, seconds_since (run.start), run.timeout_ms, run.start_error);
      g_assert_true (run.killed);
      pidfd_kill (run.pidfd);
      wait_or_die (clone_over, &run, AFTER_KILL_BOUND_S * 1000, what);
      g_assert_false (run.start_ok);
      g_assert_nonnull (run.start_error);
      assert_pid_gone (run.pid, run.pidfd, what);
      clone_run_clear (&run);
      drop_vm (&run.vm, what);
      assert_no_children (what);
      if (!iterate_until (no_clone_dirs, NULL, SETTLE_MS))
        g_test_fail_printf ("%s: %u clone runtime directories left", what, count_clone_dirs ());
      assert_fds (fds, what);
      arm_alarm (0);
    }

  /* 3. A template: stopped when the guest is ready (`stop` in flight). */
  if (ql_test_guest_dir () != NULL)
    {
      g_autoptr(QlVmConfig) config = guest_config ("qlfault-hung", FALSE, "128M");
      const char *what = "template create, QEMU stopped when ready";
      CreateRun run = { 0 };
      guint fds = settled_fds ();
      guint timeout_ms = rnd (rand, 10000, 12000);
      gboolean ended;

      run.step = CREATE_KILL_READY;
      run.sig = SIGSTOP;
      run.dir = g_build_filename (dir, "tpl", NULL);
      arm_alarm (2 * CREATE_POINT_BOUND_S);
      run.inotify_fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
      g_assert_cmpint (run.inotify_fd, >=, 0);
      run.start = g_get_monotonic_time ();
      ql_template_create_async (config, run.dir, EARLY_READY, timeout_ms, NULL, create_done_cb, &run);
      run.partial = find_partial (run.dir);
      g_assert_nonnull (run.partial);
      g_assert_cmpint (inotify_add_watch (run.inotify_fd, run.partial, IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE), >=, 0);
      run.inotify_id = g_unix_fd_add (run.inotify_fd, G_IO_IN, create_inotify_cb, &run);
      run.pid = find_child_qemu (run.partial);
      g_assert_cmpint (run.pid, >, 0);
      run.pidfd = pidfd_open_ (run.pid);
      g_assert_cmpint (run.pidfd, >=, 0);
      ended = iterate_until (flag_set, &run.done, timeout_ms + HUNG_MARGIN_S * 1000);
      if (!run.killed)
        g_test_message ("%s: not ready in time, the stop was not tried: %s", what,
                        run.error != NULL ? run.error->message : "(no error)");
      else
        {
          hung_note (&hung, what, ended, seconds_since (run.start), timeout_ms, run.error);
          pidfd_kill (run.pidfd);
        }
      wait_or_die (flag_set, &run.done, AFTER_KILL_BOUND_S * 1000, what);
      g_source_remove (run.inotify_id);
      close (run.inotify_fd);
      g_assert_null (run.template_);
      g_assert_nonnull (run.error);
      g_assert_false (g_file_test (run.dir, G_FILE_TEST_EXISTS));
      assert_pid_gone (run.pid, run.pidfd, what);
      close (run.pidfd);
      assert_no_children (what);
      g_assert_cmpuint (count_partials (run.dir), ==, 0);
      assert_fds (fds, what);
      g_clear_error (&run.error);
      g_free (run.dir);
      g_free (run.partial);
      arm_alarm (0);
    }

  ql_test_rm_rf (dir);
  if (hung.hangs > 0)
    g_test_fail_printf ("deadlines not enforced while QEMU does not answer: %s", hung.report->str);
  g_string_free (hung.report, TRUE);
}

/* ==== a stop racing an external kill ============================================ */

/* QEMU is killed (not by qlaunch) and, before the VM has seen the exit,
 * ql_vm_stop() is called (as a failing template clone does when its QMP
 * connection drops first). QL_VM_STATE_EXITED means "exited with status 0,
 * or was stopped by qlaunch", QL_LAUNCH_ERROR_SIGNALED "killed by a signal
 * it was not sent by qlaunch": the VM should say FAILED, SIGNALED. */
static void
test_kill_then_stop (void)
{
  g_autofree char *qmp = NULL;
  g_autoptr(GError) error = NULL;
  struct pollfd p = { .fd = -1, .events = POLLIN };
  guint fds;
  QlVm *vm;
  GPid pid;
  gboolean ok;

  if (skip_without_qemu ())
    return;
  fds = settled_fds ();
  qmp = g_build_filename (fx.work, "kill-then-stop.qmp", NULL);
  vm = new_stopped_vm (qmp);
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_no_error (error);
  pid = ql_vm_get_pid (vm);
  p.fd = pidfd_open_ (pid);
  g_assert_cmpint (p.fd, >=, 0);
  g_assert_true (pidfd_kill (p.fd));
  /* Dead (a zombie, or reaped by GLib's worker); the VM's context has not
   * run since. */
  g_assert_cmpint (poll (&p, 1, AFTER_KILL_BOUND_S * 1000), ==, 1);
  ql_vm_stop (vm);
  ok = ql_vm_wait (vm, NULL, &error);
  g_test_message ("kill, then stop: wait %s%s, state %d, exit status %d", ok ? "succeeded" : "failed: ",
                  error != NULL ? error->message : "", ql_vm_get_state (vm), ql_vm_get_exit_status (vm));
  g_assert_cmpint (ql_vm_get_exit_status (vm), ==, 128 + SIGKILL);
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_FAILED);
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SIGNALED);
  close (p.fd);
  assert_pid_gone (pid, -1, "kill, then stop");
  drop_vm (&vm, "kill, then stop");
  assert_no_children ("kill, then stop");
  assert_fds (fds, "kill, then stop");
}

/* ==== the fake QMP peer ========================================================= */

#define GREETING \
  "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, " \
  "\"package\": \"fake\"}, \"capabilities\": [\"oob\"]}}\r\n"

typedef struct _Peer Peer;
typedef void (*PeerScript) (Peer *peer);

struct _Peer
{
  char *dir;
  char *path;
  GSocket *listener;
  GSocket *conn;
  GThread *thread;
  PeerScript script;
  gconstpointer data;
  GAsyncQueue *to_peer;
  GAsyncQueue *to_test;
  GByteArray *in;
  char *last_id;
  gsize received;               /* bytes read after the handshake */
  char *popped;
};

static gpointer
peer_thread (gpointer data)
{
  Peer *peer = data;

  peer->script (peer);
  if (peer->conn != NULL)
    g_socket_close (peer->conn, NULL);
  return NULL;
}

static Peer *
peer_new (PeerScript    script,
          gconstpointer data)
{
  Peer *peer = g_new0 (Peer, 1);
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) error = NULL;

  peer->dir = g_build_filename (fx.work, "peer", NULL);
  g_assert_cmpint (g_mkdir (peer->dir, 0700), ==, 0);
  peer->path = g_build_filename (peer->dir, "qmp.sock", NULL);
  peer->in = g_byte_array_new ();
  peer->script = script;
  peer->data = data;
  peer->to_peer = g_async_queue_new_full (g_free);
  peer->to_test = g_async_queue_new_full (g_free);
  address = g_unix_socket_address_new (peer->path);
  peer->listener = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT, &error);
  g_assert_no_error (error);
  g_socket_bind (peer->listener, address, FALSE, &error);
  g_assert_no_error (error);
  g_socket_listen (peer->listener, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (peer->listener, PEER_TIMEOUT_S);
  peer->thread = g_thread_new ("fake-qmp-peer", peer_thread, peer);
  return peer;
}

static void
peer_free (Peer *peer)
{
  g_thread_join (peer->thread);
  g_clear_object (&peer->conn);
  g_socket_close (peer->listener, NULL);
  g_clear_object (&peer->listener);
  g_byte_array_unref (peer->in);
  g_async_queue_unref (peer->to_peer);
  g_async_queue_unref (peer->to_test);
  ql_test_rm_rf (peer->dir);
  g_free (peer->dir);
  g_free (peer->path);
  g_free (peer->last_id);
  g_free (peer->popped);
  g_free (peer);
}

/* Peer thread: hand-over with the test. */
static void
peer_post (Peer       *peer,
           const char *tag)
{
  g_async_queue_push (peer->to_test, g_strdup (tag));
  g_main_context_wakeup (NULL);
}

static char *
peer_wait_any (Peer *peer)
{
  char *got = g_async_queue_timeout_pop (peer->to_peer, PEER_TIMEOUT_S * G_USEC_PER_SEC);

  if (got == NULL)
    g_error ("fake peer: no word from the test in %d s", PEER_TIMEOUT_S);
  return got;
}

static void
peer_wait (Peer       *peer,
           const char *tag)
{
  g_autofree char *got = peer_wait_any (peer);

  g_assert_cmpstr (got, ==, tag);
}

/* Test thread: the other end. */
static void
test_post (Peer       *peer,
           const char *tag)
{
  g_async_queue_push (peer->to_peer, g_strdup (tag));
}

static gboolean
popped_from_peer (gpointer data)
{
  Peer *peer = data;

  if (peer->popped == NULL)
    peer->popped = g_async_queue_try_pop (peer->to_test);
  return peer->popped != NULL;
}

static void
test_wait (Peer       *peer,
           const char *tag)
{
  wait_or_die (popped_from_peer, peer, PEER_BOUND_MS, tag);
  g_assert_cmpstr (peer->popped, ==, tag);
  g_clear_pointer (&peer->popped, g_free);
}

static void
peer_accept (Peer *peer)
{
  g_autoptr(GError) error = NULL;

  peer->conn = g_socket_accept (peer->listener, NULL, &error);
  if (peer->conn == NULL)
    g_error ("fake peer: accept: %s", error->message);
  g_socket_set_blocking (peer->conn, TRUE);
  g_socket_set_timeout (peer->conn, PEER_TIMEOUT_S);
}

/* FALSE when the client closed the connection. */
static gboolean
peer_send (Peer       *peer,
           const void *data,
           gsize       len)
{
  gsize done = 0;

  while (done < len)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send (peer->conn, (const char *) data + done, len - done, NULL, &error);

      if (n < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
            g_error ("fake peer: write timed out after %d s", PEER_TIMEOUT_S);
          return FALSE;
        }
      done += n;
    }
  return TRUE;
}

/* > 0 bytes read, 0 at EOF, -1 when the connection broke. */
static gssize
peer_fill (Peer *peer)
{
  guint8 buf[64 * 1024];
  g_autoptr(GError) error = NULL;
  gssize n = g_socket_receive (peer->conn, (char *) buf, sizeof buf, NULL, &error);

  if (n < 0)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        g_error ("fake peer: read timed out after %d s", PEER_TIMEOUT_S);
      return -1;
    }
  g_byte_array_append (peer->in, buf, n);
  return n;
}

static char *
peer_read_line (Peer *peer)
{
  for (;;)
    {
      guint8 *nl = peer->in->len > 0 ? memchr (peer->in->data, '\n', peer->in->len) : NULL;

      if (nl != NULL)
        {
          gsize len = nl - peer->in->data;
          char *line = g_strndup ((const char *) peer->in->data, len);

          g_byte_array_remove_range (peer->in, 0, len + 1);
          return line;
        }
      if (peer_fill (peer) <= 0)
        return NULL;
    }
}

/* Reads one command, checks its name, keeps its id. */
static void
peer_expect (Peer       *peer,
             const char *command)
{
  g_autofree char *line = peer_read_line (peer);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *message;

  if (line == NULL)
    g_error ("fake peer: EOF while waiting for '%s'", command);
  json_parser_load_from_data (parser, line, -1, &error);
  g_assert_no_error (error);
  message = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member_with_default (message, "execute", ""), ==, command);
  g_free (peer->last_id);
  peer->last_id = g_strdup (json_object_get_string_member (message, "id"));
}

static char *
peer_reply_text (Peer       *peer,
                 const char *json)
{
  return g_strdup_printf ("{\"return\": %s, \"id\": \"%s\"}\r\n", json, peer->last_id);
}

static void
peer_return (Peer       *peer,
             const char *json)
{
  g_autofree char *line = peer_reply_text (peer, json);

  g_assert_true (peer_send (peer, line, strlen (line)));
}

static void
peer_handshake (Peer *peer)
{
  peer_accept (peer);
  g_assert_true (peer_send (peer, GREETING, strlen (GREETING)));
  peer_expect (peer, "qmp_capabilities");
  peer_return (peer, "{}");
}

/* Reads until the client closes; the bytes in peer->received. */
static void
peer_drain (Peer *peer)
{
  gssize n;

  while ((n = peer_fill (peer)) > 0)
    {
      peer->received += n;
      g_byte_array_set_size (peer->in, 0);
    }
}

/* ---- the client side ----------------------------------------------------- */

typedef struct
{
  guint disconnected;
  GError *reason;
} Watch;

static void
watch_disconnected_cb (QlQmp  *qmp,
                       GError *reason,
                       Watch  *w)
{
  (void) qmp;
  w->disconnected++;
  g_clear_error (&w->reason);
  w->reason = g_error_copy (reason);
}

static QlQmp *
client_connect (Peer  *peer,
                Watch *w)
{
  QlQmp *qmp = ql_qmp_new ();
  g_autoptr(GError) error = NULL;

  g_signal_connect (qmp, "disconnected", G_CALLBACK (watch_disconnected_cb), w);
  g_assert_true (ql_qmp_connect (qmp, peer->path, PEER_BOUND_MS, NULL, &error));
  g_assert_no_error (error);
  return qmp;
}

static void
client_free (QlQmp *qmp,
             Watch *w)
{
  g_signal_handlers_disconnect_by_data (qmp, w);
  g_object_unref (qmp);
  g_clear_error (&w->reason);
}

static void
execute_outcome_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      data)
{
  Outcome *o = data;
  g_autoptr(JsonNode) ret = ql_qmp_execute_finish (QL_QMP (source), result, &o->error);

  o->ok = ret != NULL;
  o->when = g_get_monotonic_time ();
  o->done = TRUE;
}

static void
event_outcome_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  Outcome *o = data;
  g_autoptr(JsonObject) event = ql_qmp_wait_event_finish (QL_QMP (source), result, &o->error);

  o->ok = event != NULL;
  o->when = g_get_monotonic_time ();
  o->done = TRUE;
}

static JsonObject *
blob_args (gsize size)
{
  JsonObject *args = json_object_new ();
  char *blob = g_malloc (size + 1);

  memset (blob, 'b', size);
  blob[size] = '\0';
  json_object_set_string_member (args, "blob", blob);
  g_free (blob);
  return args;
}

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static gboolean
tick_cb (gpointer data)
{
  (*(guint *) data)++;
  return G_SOURCE_CONTINUE;
}

typedef struct
{
  Outcome *outcomes;
  guint n;
} Outcomes;

static gboolean
all_done (gpointer data)
{
  Outcomes *all = data;

  for (guint i = 0; i < all->n; i++)
    if (!all->outcomes[i].done)
      return FALSE;
  return TRUE;
}

/* ==== (e) the peer stops reading ============================================== */

static void
script_deaf (Peer *peer)
{
  g_autofree char *order = NULL;

  peer_handshake (peer);
  peer_post (peer, "deaf");
  /* Not a byte read until the test says what next. */
  order = peer_wait_any (peer);
  if (strcmp (order, "drain") == 0)
    {
      peer_drain (peer);
      peer_post (peer, "drained");
    }
  /* "close": the connection goes with the thread. */
}

#define N_DEAF 4

static void
test_peer_stops_reading (void)
{
  g_autoptr(GRand) rand = case_rand ("/fault/peer-stops-reading");
  guint fds = settled_fds ();

  /* 1. Commands back up; cancellables and timeouts end them. */
  {
    gsize size = rnd (rand, 1, 4) * 1024 * 1024 + rnd (rand, 0, 4095);
    guint cancel_ms = rnd (rand, 100, 600);
    guint event_ms = rnd (rand, 50, 500);
    Peer *peer = peer_new (script_deaf, NULL);
    Watch w = { 0 };
    QlQmp *qmp = client_connect (peer, &w);
    g_autoptr(JsonObject) big = blob_args (size);
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();
    g_autoptr(GCancellable) sync_cancellable = g_cancellable_new ();
    g_autoptr(GError) error = NULL;
    g_autofree char *status = NULL;
    Outcome o[N_DEAF + 1] = { { 0 } };
    Outcomes all = { o, G_N_ELEMENTS (o) };
    guint ticks = 0, tick_id;
    gint64 start;
    gboolean sync_ok;

    g_test_message ("stops reading: a %" G_GSIZE_FORMAT "-byte command, cancelled after %u ms, "
                    "an event wait of %u ms", size, cancel_ms, event_ms);
    test_wait (peer, "deaf");
    start = g_get_monotonic_time ();
    tick_id = g_timeout_add (10, tick_cb, &ticks);
    ql_qmp_execute_async (qmp, "big", big, cancellable, execute_outcome_cb, &o[0]);
    for (guint i = 1; i < N_DEAF; i++)
      ql_qmp_execute_async (qmp, "query-status", NULL, cancellable, execute_outcome_cb, &o[i]);
    ql_qmp_wait_event_async (qmp, "NEVER", NULL, NULL, event_ms, NULL, event_outcome_cb, &o[N_DEAF]);
    g_timeout_add (cancel_ms, cancel_cb, cancellable);
    wait_or_die (all_done, &all, PEER_BOUND_MS, "commands to a peer that stopped reading");
    g_source_remove (tick_id);
    for (guint i = 0; i < N_DEAF; i++)
      {
        g_assert_false (o[i].ok);
        g_assert_error (o[i].error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      }
    g_assert_error (o[N_DEAF].error, QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT);
    g_assert_cmpfloat (seconds_since (start), <, PEER_BOUND_MS / 1000.0);
    /* The main loop ran while the writes were blocked. */
    g_test_message ("stops reading: %u ticks of 10 ms in %.0f ms", ticks, seconds_since (start) * 1000);
    g_assert_cmpuint (ticks, >=, 3);
    g_assert_true (ql_qmp_is_connected (qmp));
    g_assert_cmpuint (w.disconnected, ==, 0);

    /* A blocking call with a cancellable returns too. */
    start = g_get_monotonic_time ();
    g_timeout_add (rnd (rand, 50, 300), cancel_cb, sync_cancellable);
    arm_alarm (PEER_BOUND_MS / 1000);
    sync_ok = ql_qmp_query_status (qmp, &status, NULL, sync_cancellable, &error);
    arm_alarm (0);
    g_assert_false (sync_ok);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_assert_cmpfloat (seconds_since (start), <, PEER_BOUND_MS / 1000.0);

    /* Closing with the output backed up: then the peer finds less than
     * the big command in its socket (the rest never left the client). */
    ql_qmp_close (qmp);
    g_assert_cmpuint (w.disconnected, ==, 1);
    g_assert_error (w.reason, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
    assert_command_fails_now (qmp, "after the close");
    test_post (peer, "drain");
    test_wait (peer, "drained");
    g_test_message ("stops reading: the peer found %" G_GSIZE_FORMAT " of the %" G_GSIZE_FORMAT
                    "-byte command", peer->received, size);
    g_assert_cmpuint (peer->received, <, size);
    for (guint i = 0; i < G_N_ELEMENTS (o); i++)
      outcome_clear (&o[i]);
    client_free (qmp, &w);
    peer_free (peer);
  }

  /* 2. The peer closes while commands are backed up: they all fail. */
  {
    gsize size = rnd (rand, 1, 4) * 1024 * 1024 + rnd (rand, 0, 4095);
    Peer *peer = peer_new (script_deaf, NULL);
    Watch w = { 0 };
    QlQmp *qmp = client_connect (peer, &w);
    g_autoptr(JsonObject) big = blob_args (size);
    Outcome o[N_DEAF + 1] = { { 0 } };
    Outcomes all = { o, G_N_ELEMENTS (o) };
    gint64 start;

    test_wait (peer, "deaf");
    ql_qmp_execute_async (qmp, "big", big, NULL, execute_outcome_cb, &o[0]);
    for (guint i = 1; i < N_DEAF; i++)
      ql_qmp_execute_async (qmp, "query-status", NULL, NULL, execute_outcome_cb, &o[i]);
    ql_qmp_wait_event_async (qmp, "NEVER", NULL, NULL, 0, NULL, event_outcome_cb, &o[N_DEAF]);
    start = g_get_monotonic_time ();
    test_post (peer, "close");
    wait_or_die (all_done, &all, PEER_BOUND_MS, "backed-up commands when the peer closes");
    for (guint i = 0; i < G_N_ELEMENTS (o); i++)
      {
        g_assert_false (o[i].ok);
        g_assert_error (o[i].error, QL_QMP_ERROR, QL_QMP_ERROR_DISCONNECTED);
      }
    g_test_message ("stops reading, then closes: all failed %.0f ms after the close (%s)",
                    seconds_since (start) * 1000, w.reason != NULL ? w.reason->message : "?");
    g_assert_cmpfloat (seconds_since (start), <, PEER_BOUND_MS / 1000.0);
    g_assert_cmpuint (w.disconnected, ==, 1);
    assert_command_fails_now (qmp, "after the peer closed");
    for (guint i = 0; i < G_N_ELEMENTS (o); i++)
      outcome_clear (&o[i]);
    client_free (qmp, &w);
    peer_free (peer);
  }
  assert_fds (fds, "peer stops reading");
}

/* ==== (f) half a message ======================================================= */

typedef enum
{
  HALF_GREETING_STALL,
  HALF_GREETING_CLOSE,
  HALF_REPLY_STALL,
  HALF_REPLY_CLOSE,
  HALF_REPLY_RESUME,
  HALF_EVENT_CLOSE,
  N_HALF,
} HalfCase;

static const char *const half_names[] = {
  "a greeting, then a stall", "a greeting, then a close", "a reply, then a stall", "a reply, then a close",
  "a reply, a stall, then the rest", "an event, then a close",
};

typedef struct
{
  HalfCase what;
  guint cut_permille;           /* where the message is cut */
} Half;

#define HALF_REPLY "{\"status\": \"running\", \"singlestep\": false, \"running\": true}"
#define HALF_EVENT "{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 1}, " \
  "\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"d1\", \"path\": \"/machine/peripheral/d1\"}}\r\n"

static gsize
cut_at (const Half *half,
        gsize       len)
{
  /* At least one byte sent and one kept (the "\r\n" ends the message). */
  return CLAMP ((len * half->cut_permille) / 1000, 1, len - 3);
}

static void
script_half (Peer *peer)
{
  const Half *half = peer->data;
  g_autofree char *line = NULL;
  const char *text;
  gsize len, cut;

  switch (half->what)
    {
    case HALF_GREETING_STALL:
    case HALF_GREETING_CLOSE:
      peer_accept (peer);
      text = GREETING;
      break;
    case HALF_REPLY_STALL:
    case HALF_REPLY_CLOSE:
    case HALF_REPLY_RESUME:
      peer_handshake (peer);
      peer_expect (peer, "query-status");
      text = line = peer_reply_text (peer, HALF_REPLY);
      break;
    case HALF_EVENT_CLOSE:
      peer_handshake (peer);
      peer_wait (peer, "waiting");
      text = HALF_EVENT;
      break;
    case N_HALF:
    default:
      g_assert_not_reached ();
    }
  len = strlen (text);
  cut = cut_at (half, len);
  g_assert_true (peer_send (peer, text, cut));
  peer_post (peer, "half");
  switch (half->what)
    {
    case HALF_GREETING_STALL:
    case HALF_REPLY_STALL:
      peer_wait (peer, "finish");
      break;
    case HALF_REPLY_RESUME:
      peer_wait (peer, "rest");
      g_assert_true (peer_send (peer, text + cut, len - cut));
      peer_wait (peer, "finish");
      break;
    case HALF_GREETING_CLOSE:
    case HALF_REPLY_CLOSE:
    case HALF_EVENT_CLOSE:
    case N_HALF:
    default:
      break;
    }
}

static void
connect_outcome_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      data)
{
  Outcome *o = data;

  o->ok = ql_qmp_connect_finish (QL_QMP (source), result, &o->error);
  o->when = g_get_monotonic_time ();
  o->done = TRUE;
}

static void
test_peer_half_message (void)
{
  g_autoptr(GRand) rand = case_rand ("/fault/peer-half-message");
  guint fds = settled_fds ();
  guint order[N_HALF];

  for (guint i = 0; i < N_HALF; i++)
    order[i] = i;
  shuffle (rand, order, N_HALF);
  for (guint k = 0; k < N_HALF; k++)
    {
      Half half = { order[k], rnd (rand, 1, 999) };
      Peer *peer = peer_new (script_half, &half);
      Watch w = { 0 };
      QlQmp *qmp = NULL;
      Outcome o = { 0 };
      g_autofree char *what = g_strdup_printf ("half of %s (cut at %u permille)",
                                               half_names[half.what], half.cut_permille);
      gint64 start = g_get_monotonic_time ();

      switch (half.what)
        {
        case HALF_GREETING_STALL:
        case HALF_GREETING_CLOSE:
          {
            /* A stall ends by the timeout; a close long before it. */
            guint timeout_ms = half.what == HALF_GREETING_STALL ? rnd (rand, 300, 1500) : 10000;

            qmp = ql_qmp_new ();
            g_signal_connect (qmp, "disconnected", G_CALLBACK (watch_disconnected_cb), &w);
            ql_qmp_connect_async (qmp, peer->path, timeout_ms, NULL, connect_outcome_cb, &o);
            wait_or_die (flag_set, &o.done, PEER_BOUND_MS, what);
            g_test_message ("%s: connect (timeout %u ms) failed after %.0f ms: %s", what, timeout_ms,
                            (o.when - start) / 1000.0, o.error != NULL ? o.error->message : "(no error)");
            g_assert_false (o.ok);
            g_assert_nonnull (o.error);
            g_assert_true (o.error->domain == QL_QMP_ERROR);
            if (half.what == HALF_GREETING_STALL)
              {
                test_wait (peer, "half");
                test_post (peer, "finish");
              }
            else
              {
                test_wait (peer, "half");
                g_assert_cmpint (o.error->code, !=, QL_QMP_ERROR_TIMEOUT);
              }
          }
          break;
        case HALF_REPLY_STALL:
          {
            g_autoptr(GCancellable) cancellable = g_cancellable_new ();
            Outcome e = { 0 };

            qmp = client_connect (peer, &w);
            ql_qmp_query_status_async (qmp, cancellable, status_outcome_cb, &o);
            ql_qmp_wait_event_async (qmp, "NEVER", NULL, NULL, rnd (rand, 50, 400), NULL, event_outcome_cb, &e);
            test_wait (peer, "half");
            g_timeout_add (rnd (rand, 50, 400), cancel_cb, cancellable);
            wait_or_die (flag_set, &o.done, PEER_BOUND_MS, what);
            wait_or_die (flag_set, &e.done, PEER_BOUND_MS, what);
            g_assert_error (o.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
            g_assert_error (e.error, QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT);
            g_assert_true (ql_qmp_is_connected (qmp));
            ql_qmp_close (qmp);
            g_assert_cmpuint (w.disconnected, ==, 1);
            assert_command_fails_now (qmp, what);
            test_post (peer, "finish");
            outcome_clear (&e);
          }
          break;
        case HALF_REPLY_CLOSE:
          qmp = client_connect (peer, &w);
          ql_qmp_query_status_async (qmp, NULL, status_outcome_cb, &o);
          wait_or_die (flag_set, &o.done, PEER_BOUND_MS, what);
          test_wait (peer, "half");
          g_test_message ("%s: %s", what, o.error != NULL ? o.error->message : "(no error)");
          g_assert_error (o.error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL);
          g_assert_cmpuint (w.disconnected, ==, 1);
          g_assert_error (w.reason, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL);
          assert_command_fails_now (qmp, what);
          break;
        case HALF_REPLY_RESUME:
          qmp = client_connect (peer, &w);
          ql_qmp_query_status_async (qmp, NULL, status_outcome_cb, &o);
          test_wait (peer, "half");
          /* Whatever the client does with half a message meanwhile... */
          ql_test_spin (rnd (rand, 0, 100));
          g_assert_false (o.done);
          test_post (peer, "rest");
          wait_or_die (flag_set, &o.done, PEER_BOUND_MS, what);
          g_assert_no_error (o.error);
          g_assert_cmpstr (o.status, ==, "running");
          g_assert_cmpuint (w.disconnected, ==, 0);
          ql_qmp_close (qmp);
          test_post (peer, "finish");
          break;
        case HALF_EVENT_CLOSE:
          qmp = client_connect (peer, &w);
          ql_qmp_wait_event_async (qmp, "DEVICE_DELETED", NULL, NULL, 0, NULL, event_outcome_cb, &o);
          test_post (peer, "waiting");
          wait_or_die (flag_set, &o.done, PEER_BOUND_MS, what);
          test_wait (peer, "half");
          g_test_message ("%s: %s", what, o.error != NULL ? o.error->message : "(no error)");
          g_assert_error (o.error, QL_QMP_ERROR, QL_QMP_ERROR_PROTOCOL);
          g_assert_cmpuint (w.disconnected, ==, 1);
          break;
        case N_HALF:
        default:
          g_assert_not_reached ();
        }
      g_assert_cmpfloat (seconds_since (start), <, PEER_BOUND_MS / 1000.0);
      outcome_clear (&o);
      client_free (qmp, &w);
      peer_free (peer);
    }
  assert_fds (fds, "half messages");
}

/* ==== (g) event flood ========================================================== */

typedef struct
{
  guint n_events;
  guint reply_after;            /* the pending command's reply after that many */
  guint batch;                  /* events per write */
  guint unique_every;           /* a never-seen event name every so many */
} Flood;

#define FLOOD_PAD "................................................................"

static void
script_flood (Peer *peer)
{
  const Flood *flood = peer->data;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *first_id = NULL;

  peer_handshake (peer);
  peer_expect (peer, "query-status");
  first_id = g_strdup (peer->last_id);
  for (guint i = 0; i < flood->n_events; i++)
    {
      if (i % flood->unique_every == flood->unique_every - 1)
        g_string_append_printf (out, "{\"event\": \"QLFAULT_UNIQUE_%u\", \"data\": {\"seq\": %u}}\r\n", i, i);
      else
        g_string_append_printf (out, "{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": %u}, "
                                "\"event\": \"QLFAULT_FLOOD\", \"data\": {\"seq\": %u, \"pad\": \"" FLOOD_PAD "\"}}\r\n",
                                i % 1000000, i);
      if (i + 1 == flood->reply_after)
        g_string_append_printf (out, "{\"return\": {\"status\": \"running\", \"singlestep\": false, "
                                "\"running\": true}, \"id\": \"%s\"}\r\n", first_id);
      if (out->len > 0 && ((i + 1) % flood->batch == 0 || i + 1 == flood->n_events))
        {
          g_assert_true (peer_send (peer, out->str, out->len));
          g_string_truncate (out, 0);
        }
    }
  /* The command sent in the middle of the flood. */
  peer_expect (peer, "query-status");
  peer_return (peer, "{\"status\": \"paused\", \"singlestep\": false, \"running\": false}");
  peer_drain (peer);
}

typedef struct
{
  QlQmp *qmp;
  const Flood *flood;
  guint events;
  guint unique;
  gint64 last_seq;
  gboolean out_of_order;
  guint send_second_at;
  Outcome *second;
  guint events_at_first_reply;
  Outcome *first;
  gint64 last_tick;
  gint64 max_gap;
} FloodClient;

static void
flood_event_cb (QlQmp       *qmp,
                const char  *name,
                JsonObject  *data,
                FloodClient *c)
{
  gint64 seq = json_object_get_int_member_with_default (data, "seq", -1);

  if (g_str_has_prefix (name, "QLFAULT_UNIQUE_"))
    c->unique++;
  if (seq != c->last_seq + 1)
    c->out_of_order = TRUE;
  c->last_seq = seq;
  c->events++;
  if (c->events == c->send_second_at)
    ql_qmp_query_status_async (qmp, NULL, status_outcome_cb, c->second);
}

static void
flood_first_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  FloodClient *c = data;

  c->events_at_first_reply = c->events;
  status_outcome_cb (source, result, c->first);
}

static gboolean
flood_tick_cb (gpointer data)
{
  FloodClient *c = data;
  gint64 now = g_get_monotonic_time ();

  if (c->last_tick != 0)
    c->max_gap = MAX (c->max_gap, now - c->last_tick);
  c->last_tick = now;
  return G_SOURCE_CONTINUE;
}

/* Resets the peak resident set to the current one (Linux >= 4.0). */
static gboolean
reset_peak_rss (void)
{
  int fd = open ("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = write (fd, "5", 1) == 1;
  close (fd);
  return ok;
}

/* Peak resident set (kB) since the last reset, and the current one. */
static gboolean
rss_kb (guint64 *hwm,
        guint64 *rss)
{
  g_autofree char *status = NULL;
  const char *p;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return FALSE;
  if ((p = strstr (status, "VmHWM:")) == NULL)
    return FALSE;
  *hwm = g_ascii_strtoull (p + 6, NULL, 10);
  if ((p = strstr (status, "VmRSS:")) == NULL)
    return FALSE;
  *rss = g_ascii_strtoull (p + 6, NULL, 10);
  return TRUE;
}

static gboolean
flood_over (gpointer data)
{
  FloodClient *c = data;

  return c->first->done && c->second->done && c->events == c->flood->n_events;
}

static void
test_peer_event_flood (void)
{
  g_autoptr(GRand) rand = case_rand ("/fault/peer-event-flood");
  guint fds = settled_fds ();
  Flood flood = { 0 };
  Peer *peer;
  Watch w = { 0 };
  QlQmp *qmp;
  FloodClient c = { 0 };
  Outcome first = { 0 }, second = { 0 };
  guint64 hwm_before = 0, rss_before = 0, hwm_after = 0, rss_after = 0;
  gboolean have_rss;
  guint tick_id;
  gint64 start;
  double seconds;

  flood.n_events = rnd (rand, 10000, 30000);
  flood.reply_after = rnd (rand, flood.n_events / 2, flood.n_events);
  flood.batch = rnd (rand, 1, 500);
  flood.unique_every = rnd (rand, 50, 200);
  peer = peer_new (script_flood, &flood);
  qmp = client_connect (peer, &w);
  c.qmp = qmp;
  c.flood = &flood;
  c.last_seq = -1;
  c.first = &first;
  c.second = &second;
  c.send_second_at = rnd (rand, 1, flood.n_events / 3);
  g_signal_connect (qmp, "event", G_CALLBACK (flood_event_cb), &c);

  /* The peak resident set is reset to the current one (Linux >= 4.0). */
  have_rss = reset_peak_rss () && rss_kb (&hwm_before, &rss_before);
  tick_id = g_timeout_add (10, flood_tick_cb, &c);
  start = g_get_monotonic_time ();
  ql_qmp_query_status_async (qmp, NULL, flood_first_cb, &c);
  arm_alarm (2 * PEER_BOUND_MS / 1000);
  wait_or_die (flood_over, &c, PEER_BOUND_MS, "the event flood");
  arm_alarm (0);
  seconds = seconds_since (start);
  g_source_remove (tick_id);
  if (have_rss)
    have_rss = rss_kb (&hwm_after, &rss_after);
  g_test_message ("flood: %u events (%u unique names) in %.2f s in batches of %u; first reply after "
                  "%u events (sent after %u); second command sent at event %u; largest gap between "
                  "10 ms ticks %.0f ms; peak RSS %" G_GUINT64_FORMAT " kB from %" G_GUINT64_FORMAT " kB",
                  c.events, c.unique, seconds, flood.batch, c.events_at_first_reply, flood.reply_after,
                  c.send_second_at, c.max_gap / 1000.0, hwm_after, rss_before);

  g_assert_no_error (first.error);
  g_assert_cmpstr (first.status, ==, "running");
  g_assert_no_error (second.error);
  g_assert_cmpstr (second.status, ==, "paused");
  g_assert_cmpuint (c.events, ==, flood.n_events);
  g_assert_false (c.out_of_order);
  /* The reply came after the events before it in the stream. */
  g_assert_cmpuint (c.events_at_first_reply, >=, flood.reply_after);
  g_assert_cmpuint (w.disconnected, ==, 0);
  /* Responsive: the timer was never held for long. */
  g_assert_cmpint (c.max_gap, <, 2 * G_USEC_PER_SEC);
  /* Bounded: the client holds one read chunk, not the flood. */
#if defined(__SANITIZE_ADDRESS__)
  g_test_message ("AddressSanitizer build: the peak RSS is not checked");
#else
  if (have_rss)
    g_assert_cmpuint (hwm_after - MIN (hwm_after, rss_before), <, 64 * 1024);
#endif
  /* Event names nobody listens to make no quarks. */
  g_assert_cmpuint (g_quark_try_string ("QLFAULT_UNIQUE_0") + g_quark_try_string ("QLFAULT_FLOOD"), ==, 0);
  for (guint i = flood.unique_every - 1; i < flood.n_events; i += flood.unique_every)
    {
      g_autofree char *name = g_strdup_printf ("QLFAULT_UNIQUE_%u", i);

      g_assert_cmpuint (g_quark_try_string (name), ==, 0);
    }
  g_assert_cmpfloat (seconds, <, PEER_BOUND_MS / 1000.0);

  g_signal_handlers_disconnect_by_data (qmp, &c);
  ql_qmp_close (qmp);
  client_free (qmp, &w);
  peer_free (peer);
  outcome_clear (&first);
  outcome_clear (&second);
  assert_fds (fds, "event flood");
}

/* ==== main ======================================================================= */

/* A failed assertion, the alarm or meson's timeout: every child dies (the
 * template's QEMU is not a QlVm of ours, the orphans of killed QEMUs are
 * our children), the work directory goes, then the guard's handler. */
static void
abort_handler (int sig)
{
  DIR *proc = opendir ("/proc");
  struct dirent *entry;
  pid_t self = getpid ();

  while (proc != NULL && (entry = readdir (proc)) != NULL)
    {
      char path[300], buf[512];
      int fd;
      ssize_t n;
      const char *paren;

      if (entry->d_name[0] < '0' || entry->d_name[0] > '9')
        continue;
      snprintf (path, sizeof path, "/proc/%s/stat", entry->d_name);
      fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        continue;
      n = read (fd, buf, sizeof buf - 1);
      close (fd);
      if (n <= 0)
        continue;
      buf[n] = '\0';
      paren = strrchr (buf, ')');
      if (paren != NULL && paren[1] != '\0' && paren[2] != '\0' && atoi (paren + 4) == self)
        kill (atoi (entry->d_name), SIGKILL);
    }
  if (proc != NULL)
    closedir (proc);
  if (fx.work != NULL)
    ql_test_rm_rf (fx.work);
  if (fx.runtime != NULL)
    ql_test_rm_rf (fx.runtime);
  ql_test_vm_guard_handler (sig);
}

static void
install_handlers (void)
{
  static const int signals[] = { SIGABRT, SIGTRAP, SIGTERM, SIGINT, SIGSEGV, SIGBUS };
  struct sigaction sa;

  ql_test_vm_guard_install ();
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = abort_handler;
  sigemptyset (&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;
  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    sigaction (signals[i], &sa, NULL);
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = alarm_handler;
  sigemptyset (&sa.sa_mask);
  sigaction (SIGALRM, &sa, NULL);
}

/* GLib creates some descriptors for good on first use (the worker
 * context's wakeup, the child watch's): made here, before any count. */
static void
warm_up (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, "true", NULL);

  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (proc, NULL, &error));
  g_assert_no_error (error);
}

int
main (int    argc,
      char **argv)
{
  const char *env_seed = g_getenv ("QL_TEST_FAULT_SEED");
  int status;

  /* The clones' private directories land in a directory of ours (set
   * before GLib reads it). */
  fx.runtime = g_dir_make_tmp ("qlaunch-fault-run-XXXXXX", NULL);
  g_assert_nonnull (fx.runtime);
  g_setenv ("XDG_RUNTIME_DIR", fx.runtime, TRUE);
  g_test_init (&argc, &argv, NULL);
  fx.seed = env_seed != NULL && *env_seed != '\0' ? (guint32) g_ascii_strtoull (env_seed, NULL, 10)
                                                  : g_random_int ();
  g_test_message ("seed %u: replay with QL_TEST_FAULT_SEED=%u", fx.seed, fx.seed);
  /* The processes a QEMU we kill started become our children: counted,
   * reaped, and killed if we die. */
  g_assert_cmpint (prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), ==, 0);
  install_handlers ();
  fx.work = ql_test_make_tmpdir ();
  fx.registry = ql_test_registry_new ();
  warm_up ();

  g_test_add_func ("/fault/launch", test_launch);
  g_test_add_func ("/fault/qmp-command", test_qmp_command);
  g_test_add_func ("/fault/template-create", test_template_create);
  g_test_add_func ("/fault/clone", test_clone);
  g_test_add_func ("/fault/hung-qemu", test_hung_qemu);
  g_test_add_func ("/fault/kill-then-stop", test_kill_then_stop);
  g_test_add_func ("/fault/peer-stops-reading", test_peer_stops_reading);
  g_test_add_func ("/fault/peer-half-message", test_peer_half_message);
  g_test_add_func ("/fault/peer-event-flood", test_peer_event_flood);
  status = g_test_run ();

  g_clear_object (&fx.base);
  g_clear_object (&fx.registry);
  ql_test_rm_rf (fx.work);
  g_free (fx.work);
  ql_test_rm_rf (fx.runtime);
  g_free (fx.runtime);
  return status;
}
