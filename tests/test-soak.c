/* Suite slow: soak of the launcher with the real qemu-system-x86_64 (TCG).
 *
 * 500 launch/stop cycles of one VM configuration through the async API, in
 * one process and one main loop: ql_vm_launch_async(), then
 * ql_vm_connect_qmp_async() (so that QEMU is really up, not killed while
 * it starts), then ql_vm_stop() and ql_vm_wait_async(), then the next VM.
 * QEMU is stopped at start (-S), has no devices and no display; it must
 * end with status 0 (it handled the SIGTERM). Every 50 cycles, once the
 * main loop is idle, the process's descriptor
 * count (/proc/self/fd) and resident set (/proc/self/statm) are recorded;
 * the descriptor count must be the same at cycle 50 and at the last cycle,
 * and the resident set may grow by less than 1 MiB between them.
 *
 * QLAUNCH_SOAK_CYCLES overrides the number of cycles (default 500); with
 * fewer than 500 cycles the samples are every tenth of the run.
 * QLAUNCH_SOAK_DEBUG_FDS=1 lists the descriptors at every sample.
 */
#include "ql-test-util.h"
#include "ql-test-vm-guard.h"

#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_CYCLES 500
#define RSS_GROWTH_MAX (1024 * 1024)

typedef struct
{
  guint cycle;
  guint fds;
  guint64 rss;
  gint64 elapsed_ms;
} Sample;

typedef struct
{
  GMainLoop *loop;
  QlVmConfig *config;
  QlVm *vm;
  GPid pid;
  guint cycles;
  guint interval;
  guint done;
  gint64 start;
  GArray *samples;
  GError *error;
  guint settle_fds;
  guint settle_same;
} Soak;

static guint
count_own_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  const char *name;

  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *link = g_build_filename ("/proc/self/fd", name, NULL);
      g_autofree char *target = g_file_read_link (link, NULL);

      if (g_getenv ("QLAUNCH_SOAK_DEBUG_FDS") != NULL)
        g_test_message ("  fd %s -> %s", name, target);
      n++;
    }
  return n - 1;   /* the GDir's own */
}

static guint64
own_rss (void)
{
  g_autofree char *statm = NULL;
  g_auto(GStrv) fields = NULL;

  g_assert_true (g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL));
  fields = g_strsplit (statm, " ", -1);
  g_assert_nonnull (fields[1]);
  return g_ascii_strtoull (fields[1], NULL, 10) * (guint64) sysconf (_SC_PAGESIZE);
}

static QlVmConfig *
load_config (QlRegistry *registry,
             const char *dir)
{
  g_autofree char *qmp = g_build_filename (dir, "soak.qmp", NULL);
  g_autofree char *text = g_strdup_printf (
    "[vm]\n"
    "name = soak\n"
    "[machine]\n"
    "type = pc\n"
    "acceleration = tcg\n"
    "[memory]\n"
    "size = 64M\n"
    "[knobs]\n"
    "no-defaults = true\n"
    "no-user-config = true\n"
    "no-graphic = true\n"
    "stopped = true\n"
    "[qmp control]\n"
    "path = %s\n", qmp);
  g_autoptr(GError) error = NULL;
  QlVmConfig *config = ql_vm_config_new_from_data (text, -1, "soak.vm", dir, registry, &error);

  g_assert_no_error (error);
  return config;
}

static void start_cycle (Soak *soak);
static gboolean next_cycle (gpointer user_data);

static void
fail (Soak   *soak,
      GError *error)
{
  soak->error = error;
  g_main_loop_quit (soak->loop);
}

static void
waited_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Soak *soak = user_data;
  GError *error = NULL;
  g_autofree char *proc = g_strdup_printf ("/proc/%d", (int) soak->pid);
  int status;

  if (!ql_vm_wait_finish (QL_VM (source), result, &error))
    {
      g_prefix_error (&error, "cycle %u: wait: ", soak->done + 1);
      fail (soak, error);
      return;
    }
  if (ql_vm_get_state (soak->vm) != QL_VM_STATE_EXITED)
    {
      fail (soak, g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "cycle %u: state %d after the stop",
                               soak->done + 1, ql_vm_get_state (soak->vm)));
      return;
    }
  /* Reaped: not our child any more, and gone. */
  if (waitpid (soak->pid, &status, WNOHANG) != -1 || errno != ECHILD
      || g_file_test (proc, G_FILE_TEST_EXISTS))
    {
      fail (soak, g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "cycle %u: QEMU %d was not reaped",
                               soak->done + 1, (int) soak->pid));
      return;
    }
  if (ql_vm_get_exit_status (soak->vm) != 0)
    {
      fail (soak, g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "cycle %u: QEMU's exit status is %d",
                               soak->done + 1, ql_vm_get_exit_status (soak->vm)));
      return;
    }
  g_clear_object (&soak->vm);
  soak->done++;
  /* What the last VM left pending (the end of its stderr read) runs
   * first. */
  g_idle_add_full (G_PRIORITY_LOW, next_cycle, soak, NULL);
}

/* GSubprocess follows its child from GLib's worker thread, which closes
 * the child's pidfd and drops the last reference on the stderr pipe a
 * moment after our wait completed: a sample is taken once the descriptor
 * count is the same for SETTLE_READS reads SETTLE_MS apart (a leaked
 * descriptor stays, and is counted). */
#define SETTLE_READS 3
#define SETTLE_MS 10
#define SETTLE_FIRST_MS 50

static gboolean
settle_cb (gpointer user_data)
{
  Soak *soak = user_data;
  guint fds = count_own_fds ();

  if (fds != soak->settle_fds)
    {
      soak->settle_fds = fds;
      soak->settle_same = 1;
    }
  else
    soak->settle_same++;
  if (soak->settle_same < SETTLE_READS)
    return G_SOURCE_CONTINUE;

  {
    Sample sample = {
      .cycle = soak->done,
      .fds = fds,
      .rss = own_rss (),
      .elapsed_ms = (g_get_monotonic_time () - soak->start) / 1000,
    };

    g_array_append_val (soak->samples, sample);
    g_test_message ("cycle %4u: %u fds, RSS %" G_GUINT64_FORMAT " KiB, %" G_GINT64_FORMAT " ms",
                    sample.cycle, sample.fds, sample.rss / 1024, sample.elapsed_ms);
  }
  if (soak->done == soak->cycles)
    g_main_loop_quit (soak->loop);
  else
    start_cycle (soak);
  return G_SOURCE_REMOVE;
}

static gboolean
settle_start_cb (gpointer user_data)
{
  Soak *soak = user_data;

  soak->settle_fds = G_MAXUINT;
  soak->settle_same = 0;
  g_timeout_add (SETTLE_MS, settle_cb, soak);
  return G_SOURCE_REMOVE;
}

static gboolean
next_cycle (gpointer user_data)
{
  Soak *soak = user_data;

  if (soak->done % soak->interval == 0)
    g_timeout_add (SETTLE_FIRST_MS, settle_start_cb, soak);
  else if (soak->done == soak->cycles)
    g_main_loop_quit (soak->loop);
  else
    start_cycle (soak);
  return G_SOURCE_REMOVE;
}

static void
connected_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Soak *soak = user_data;
  GError *error = NULL;

  if (!ql_vm_connect_qmp_finish (QL_VM (source), result, &error))
    {
      g_prefix_error (&error, "cycle %u: QMP: ", soak->done + 1);
      fail (soak, error);
      return;
    }
  ql_vm_stop (soak->vm);
  ql_vm_wait_async (soak->vm, NULL, waited_cb, soak);
}

static void
launched_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Soak *soak = user_data;
  GError *error = NULL;

  if (!ql_vm_launch_finish (QL_VM (source), result, &error))
    {
      g_prefix_error (&error, "cycle %u: launch: ", soak->done + 1);
      fail (soak, error);
      return;
    }
  soak->pid = ql_vm_get_pid (soak->vm);
  ql_vm_connect_qmp_async (soak->vm, 30000, NULL, connected_cb, soak);
}

static void
start_cycle (Soak *soak)
{
  soak->vm = ql_vm_new (soak->config);
  ql_test_vm_guard (soak->vm);
  ql_vm_launch_async (soak->vm, NULL, launched_cb, soak);
}

static void
test_soak_launch_stop (void)
{
  g_autoptr(QlRegistry) registry = ql_test_registry_new ();
  g_autofree char *dir = ql_test_make_tmpdir ();
  const char *env = g_getenv ("QLAUNCH_SOAK_CYCLES");
  Soak soak = { 0 };
  const Sample *first;
  const Sample *last;
  gint64 growth;

  soak.cycles = DEFAULT_CYCLES;
  if (env != NULL && *env != '\0')
    {
      guint64 n = 0;
      g_autoptr(GError) error = NULL;

      g_assert_true (g_ascii_string_to_unsigned (env, 10, 2, 100000, &n, &error));
      soak.cycles = (guint) n;
    }
  soak.interval = soak.cycles >= DEFAULT_CYCLES ? 50 : MAX (1, soak.cycles / 10);
  soak.loop = g_main_loop_new (NULL, FALSE);
  soak.config = load_config (registry, dir);
  soak.samples = g_array_new (FALSE, FALSE, sizeof (Sample));
  g_test_message ("%u launch/stop cycles, a sample every %u", soak.cycles, soak.interval);

  soak.start = g_get_monotonic_time ();
  start_cycle (&soak);
  g_main_loop_run (soak.loop);
  if (soak.error != NULL)
    g_error ("%s; QEMU stderr: %s", soak.error->message,
             soak.vm != NULL ? ql_vm_get_stderr (soak.vm) : "");
  g_test_message ("%u cycles in %" G_GINT64_FORMAT " ms (%.1f ms a cycle)",
                  soak.done, (g_get_monotonic_time () - soak.start) / 1000,
                  (double) (g_get_monotonic_time () - soak.start) / 1000.0 / soak.done);

  g_assert_cmpuint (soak.done, ==, soak.cycles);
  g_assert_cmpuint (soak.samples->len, >=, 2);
  first = &g_array_index (soak.samples, Sample, 0);
  last = &g_array_index (soak.samples, Sample, soak.samples->len - 1);
  growth = (gint64) last->rss - (gint64) first->rss;
  g_test_message ("from cycle %u to %u: fds %u -> %u, RSS %+" G_GINT64_FORMAT " KiB",
                  first->cycle, last->cycle, first->fds, last->fds, growth / 1024);
  g_assert_cmpuint (last->fds, ==, first->fds);
#if defined(__SANITIZE_ADDRESS__)
  /* AddressSanitizer keeps freed memory in quarantine (256 MB by default):
   * RSS says nothing about leaks there; LeakSanitizer does. */
  g_test_message ("AddressSanitizer build: RSS growth not checked");
#else
  g_assert_cmpint (growth, <, RSS_GROWTH_MAX);
#endif

  g_array_unref (soak.samples);
  g_object_unref (soak.config);
  g_main_loop_unref (soak.loop);
  ql_test_rm_rf (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ql_test_vm_guard_install ();
  g_test_add_func ("/soak/launch-stop", test_soak_launch_stop);
  return g_test_run ();
}
