/* Benchmark (meson test --benchmark): VM templates against cold boots.
 *
 * The VM is the test guest (tests/guest: TCG, machine pc, 256 MiB, serial
 * console on QEMU's stdio, the interactive shell of qltest=shell). A
 * template of it is made once (`qlaunch template create --ready-pattern
 * QLTEST-SHELL`). Then, in interleaved rounds (default 5,
 * QLAUNCH_BENCH_ROUNDS), request to answering, i.e. from spawning the
 * process to the guest's answer to its first shell command
 * (`cat /tmp/boot-id`, read back as `QLTEST-DONE 0` on the console):
 *
 *   cold:  `qlaunch run VMFILE` (the template's VM file): the guest boots,
 *          prints its prompt, the command is written
 *   clone: `qlaunch template clone DIR`: the command is written at once
 *          (the guest reads it when it runs)
 *   floor: the raw QEMU sequence, driven minimally by a libc-only
 *          program (tests/helpers/clone-floor.c): QEMU exec'd with the
 *          clone's argv (the manifest's, with the memory file, a QMP socket
 *          and `-S -incoming defer`), QMP connect, qmp_capabilities,
 *          migrate-set-capabilities x-ignore-shared (and events), getfd of
 *          STATE, migrate-incoming fd:state, the MIGRATION completed event,
 *          cont; the command written once it says so
 *
 * and prints the medians and the ratios clone/cold (target <= 0.05) and
 * clone/floor (target <= 1.5), with the floor's phases.
 *
 * Memory: N clones (default 10, QLAUNCH_BENCH_VMS) run at once, each
 * answered a command; the sum of their QEMUs' PSS (/proc/PID/smaps_rollup)
 * plus the template's memory file size once, against N cold-booted VMs
 * (QLAUNCH_BENCH_COLD_VMS, default N, booted at once; 0: one cold VM's PSS
 * times N), and the ratio (target <= 0.5).
 *
 * Prints figures only; asserts nothing about time or memory. Needs the
 * test guest (else it says so and exits 77, skipped).
 */
#include "ql-test-floor.h"
#include "ql-test-guest.h"
#include "ql-test-proc.h"
#include "ql-test-stats.h"
#include "ql-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixfdmessage.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#define SHELL_PROMPT QL_TEST_SHELL_PROMPT
#define COMMAND      "cat /tmp/boot-id"

/* ---- memory of a QEMU ------------------------------------------------------ */

/* The field @key ("Pss") of /proc/PID/smaps_rollup, in kB (0 if absent). */
static guint64
smaps_kb (const char *text,
          const char *key)
{
  g_autofree char *needle = g_strdup_printf ("\n%s:", key);
  const char *at = strstr (text, needle);

  return at != NULL ? g_ascii_strtoull (at + strlen (needle), NULL, 10) : 0;
}

/* Pss of /proc/PID/smaps_rollup, in kB; @detail: its parts. */
static guint64
pss_kb (int    pid,
        char **detail)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/smaps_rollup", pid);
  g_autofree char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    g_error ("cannot read %s", path);
  g_assert_nonnull (strstr (text, "\nPss:"));
  *detail = g_strdup_printf ("Rss %" G_GUINT64_FORMAT ", Pss_Anon %" G_GUINT64_FORMAT
                             ", Pss_File %" G_GUINT64_FORMAT ", Pss_Shmem %" G_GUINT64_FORMAT,
                             smaps_kb (text, "Rss"), smaps_kb (text, "Pss_Anon"),
                             smaps_kb (text, "Pss_File"), smaps_kb (text, "Pss_Shmem"));
  return smaps_kb (text, "Pss");
}

/* ---- statistics ---------------------------------------------------------- */

/* ---- the three ways to a guest that answers ------------------------------ */

static double
cold_once (const char *vm_file)
{
  const char *args[] = { "run", vm_file, NULL };
  QlTestProc *p = ql_test_proc_qlaunch (args);
  double t;

  ql_test_proc_wait_line (p, SHELL_PROMPT, 120);
  g_free (ql_test_proc_shell (p, COMMAND, 60));
  t = ql_test_seconds_since (p->start);
  ql_test_proc_poweroff (p);
  ql_test_proc_free (p);
  return t;
}

/* The first line gets a leading blank: a byte written before the clone
 * resumed is dropped by QEMU (tests/test-template-guest.c, type-ahead). */
static double
clone_once (const char *dir)
{
  const char *args[] = { "template", "clone", dir, NULL };
  QlTestProc *p = ql_test_proc_qlaunch (args);
  double t;

  g_free (ql_test_proc_shell (p, " " COMMAND, 60));
  t = ql_test_seconds_since (p->start);
  ql_test_proc_poweroff (p);
  ql_test_proc_free (p);
  return t;
}

typedef struct
{
  QlTestFloorPhases phases;
  double answered;   /* QLTEST-DONE */
} FloorTimes;

/* The floor (tests/helpers/clone-floor.c): the command is written once
 * its QEMU took `cont`. */
static void
floor_once (const char  *tpl,
            char       **argv,
            const char  *qmp_path,
            FloorTimes  *times)
{
  QlTestProc *p = ql_test_floor_spawn (tpl, argv, qmp_path);

  ql_test_floor_wait_resumed (p, 60, &times->phases);
  g_free (ql_test_proc_shell (p, COMMAND, 60));
  times->answered = ql_test_seconds_since (p->start);
  ql_test_proc_poweroff (p);
  ql_test_proc_free (p);
}
/* ---- memory -------------------------------------------------------------- */

/* Starts @n VMs at once (`qlaunch ARGS`), each answers a command; returns
 * the sum of their QEMUs' PSS in kB; powers them off. */
static guint64
pss_of_many (const char * const *args,
             guint               n,
             gboolean            cold,
             double             *seconds)
{
  g_autoptr(GPtrArray) procs = g_ptr_array_new ();
  gint64 start = g_get_monotonic_time ();
  guint64 total = 0;

  for (guint i = 0; i < n; i++)
    g_ptr_array_add (procs, ql_test_proc_qlaunch (args));
  for (guint i = 0; i < n; i++)
    {
      QlTestProc *p = g_ptr_array_index (procs, i);

      if (cold)
        {
          ql_test_proc_wait_line (p, SHELL_PROMPT, 600);
          g_free (ql_test_proc_shell (p, COMMAND, 120));
        }
      else
        g_free (ql_test_proc_shell (p, " " COMMAND, 120));
    }
  *seconds = ql_test_seconds_since (start);
  /* Let the guests settle, then measure. */
  g_usleep (G_USEC_PER_SEC);
  for (guint i = 0; i < n; i++)
    {
      QlTestProc *p = g_ptr_array_index (procs, i);
      int pid = ql_test_proc_qemu_pid (p, 10);
      g_autofree char *detail = NULL;
      guint64 kb = pss_kb (pid, &detail);

      g_print ("  %s %u: QEMU pid %d, PSS %" G_GUINT64_FORMAT " kB (%s)\n",
               cold ? "cold VM" : "clone", i, pid, kb, detail);
      total += kb;
    }
  for (guint i = 0; i < n; i++)
    ql_test_proc_write (g_ptr_array_index (procs, i), "poweroff");
  for (guint i = 0; i < n; i++)
    {
      QlTestProc *p = g_ptr_array_index (procs, i);

      if (ql_test_proc_wait (p, 120) != 0)
        ql_test_proc_fail (p, "did not exit with status 0");
      ql_test_proc_free (p);
    }
  return total;
}

static char *vm_name;     /* the cold VMs' QEMUs have it in their argv */

int
main (int    argc,
      char **argv)
{
  const char *guest = ql_test_guest_dir ();
  guint rounds = MAX (ql_test_env_uint ("QLAUNCH_BENCH_ROUNDS", 5), 1);
  guint vms = MAX (ql_test_env_uint ("QLAUNCH_BENCH_VMS", 10), 1);
  guint cold_vms = ql_test_env_uint ("QLAUNCH_BENCH_COLD_VMS", vms);
  g_autofree char *dir = NULL;
  g_autofree char *vm_file = NULL;
  g_autofree char *vm_text = NULL;
  g_autofree char *tpl = NULL;
  g_autofree char *state = NULL;
  g_autofree char *qmp_path = NULL;
  g_autofree char *memory = NULL;
  g_auto(GStrv) qemu_argv = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) cold = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) clone = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) floor_ = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) floor_qmp = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) floor_migrated = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) floor_resumed = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *l1 = NULL, *l2 = NULL, *l3 = NULL;
  double create_s, m_cold, m_clone, m_floor, t_clones = 0, t_cold = 0;
  guint64 clones_kb, cold_kb, file_kb;
  GStatBuf st;

  (void) argc;
  (void) argv;
  signal (SIGPIPE, SIG_IGN);
  if (guest == NULL)
    {
      g_print ("no test guest in QLAUNCH_GUEST_DIR (meson compile -C BUILDDIR guest): skipped\n");
      return 77;
    }
  g_assert_nonnull (g_getenv ("QLAUNCH_BIN"));
  g_assert_nonnull (g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"));

  dir = ql_test_make_tmpdir ();
  vm_name = g_strdup_printf ("qlbench-%d", (int) getpid ());
  ql_test_proc_guard (dir, vm_name);
  vm_file = g_build_filename (dir, "bench.vm", NULL);
  vm_text = g_strdup_printf ("[vm]\nname = %s\n"
                             "[machine]\ntype = pc\nacceleration = tcg\n"
                             "[memory]\nsize = 256M\n"
                             "[knobs]\nno-user-config = true\nno-graphic = true\n"
                             "[kernel]\npath = %s/vmlinux\ninitrd = %s/initramfs.img\n"
                             "params = " QL_TEST_GUEST_PARAMS " qltest=shell\n", vm_name, guest, guest);
  g_file_set_contents (vm_file, vm_text, -1, &error);
  g_assert_no_error (error);
  tpl = g_build_filename (dir, "tpl", NULL);
  state = g_build_filename (tpl, "state", NULL);
  memory = g_build_filename (tpl, "memory", NULL);
  qmp_path = g_build_filename (dir, "floor.qmp", NULL);

  g_print ("VM: the test guest, machine pc, TCG, 256 MiB, console on stdio (qltest=shell)\n");
  {
    const char *args[] = { "template", "create", "--ready-pattern", SHELL_PROMPT, vm_file, tpl, NULL };
    QlTestProc *p = ql_test_proc_qlaunch (args);

    if (ql_test_proc_wait (p, 300) != 0)
      ql_test_proc_fail (p, "template create failed");
    create_s = ql_test_seconds_since (p->start);
    ql_test_proc_free (p);
  }
  g_assert_cmpint (g_stat (state, &st), ==, 0);
  g_print ("template create: %.2f s (state %" G_GINT64_FORMAT " bytes)\n", create_s, (gint64) st.st_size);
  qemu_argv = ql_test_floor_qemu_argv (tpl, qmp_path);
  {
    g_autofree char *cmd = g_strjoinv (" ", qemu_argv);

    g_print ("floor QEMU argv: %s\n", cmd);
  }

  /* Warm-up (page cache, QEMU's modules): one of each, not counted. */
  {
    FloorTimes ft;

    clone_once (tpl);
    floor_once (tpl, qemu_argv, qmp_path, &ft);
  }

  for (guint r = 0; r < rounds; r++)
    {
      for (guint k = 0; k < 3; k++)
        {
          /* rotate the order from round to round */
          guint which = (k + r) % 3;
          double t;

          if (which == 0)
            {
              t = cold_once (vm_file);
              g_array_append_val (cold, t);
            }
          else if (which == 1)
            {
              t = clone_once (tpl);
              g_array_append_val (clone, t);
            }
          else
            {
              FloorTimes ft;

              floor_once (tpl, qemu_argv, qmp_path, &ft);
              g_array_append_val (floor_, ft.answered);
              g_array_append_val (floor_qmp, ft.phases.qmp);
              g_array_append_val (floor_migrated, ft.phases.migrated);
              g_array_append_val (floor_resumed, ft.phases.resumed);
            }
        }
    }
  m_cold = ql_test_median (cold);
  m_clone = ql_test_median (clone);
  m_floor = ql_test_median (floor_);
  l1 = ql_test_list_ms (cold);
  l2 = ql_test_list_ms (clone);
  l3 = ql_test_list_ms (floor_);
  g_print ("request to first command answered, median of %u runs:\n", rounds);
  g_print ("  cold boot (qlaunch run):         %8.1f ms   (runs: %s)\n", m_cold * 1e3, l1);
  g_print ("  clone (qlaunch template clone):  %8.1f ms   (runs: %s)\n", m_clone * 1e3, l2);
  g_print ("  raw QEMU floor (same argv, QMP): %8.1f ms   (runs: %s)\n", m_floor * 1e3, l3);
  g_print ("    floor phases (medians): QMP greeting %.1f ms, migration completed %.1f ms, "
           "cont returned %.1f ms, answered %.1f ms\n",
           ql_test_median (floor_qmp) * 1e3, ql_test_median (floor_migrated) * 1e3, ql_test_median (floor_resumed) * 1e3, m_floor * 1e3);
  g_print ("  clone / cold  = %.4f  (target <= 0.05)\n", m_clone / m_cold);
  g_print ("  clone / floor = %.3f   (target <= 1.5)\n", m_clone / m_floor);

  /* Memory. */
  g_assert_cmpint (g_stat (memory, &st), ==, 0);
  file_kb = st.st_size / 1024;
  g_print ("template memory file: %" G_GUINT64_FORMAT " kB, %" G_GUINT64_FORMAT " kB of it allocated\n",
           file_kb, (guint64) st.st_blocks / 2);
  {
    const char *args[] = { "template", "clone", tpl, NULL };

    g_print ("memory: %u clones at once:\n", vms);
    clones_kb = pss_of_many (args, vms, FALSE, &t_clones);
  }
  {
    const char *args[] = { "run", vm_file, NULL };

    if (cold_vms == 0)
      {
        g_print ("memory: 1 cold-booted VM (times %u):\n", vms);
        cold_kb = pss_of_many (args, 1, TRUE, &t_cold) * vms;
      }
    else
      {
        g_print ("memory: %u cold-booted VMs at once:\n", cold_vms);
        cold_kb = pss_of_many (args, cold_vms, TRUE, &t_cold);
        if (cold_vms != vms)
          cold_kb = cold_kb * vms / cold_vms;
      }
  }
  g_print ("memory, %u VMs answering: clones %" G_GUINT64_FORMAT " kB PSS + template memory file %"
           G_GUINT64_FORMAT " kB = %" G_GUINT64_FORMAT " kB (%.0f MiB; all answering after %.1f s)\n",
           vms, clones_kb, file_kb, clones_kb + file_kb, (clones_kb + file_kb) / 1024.0, t_clones);
  g_print ("memory, %u cold-booted VMs%s: %" G_GUINT64_FORMAT " kB PSS (%.0f MiB; all answering after %.1f s)\n",
           vms, cold_vms == 0 ? " (1 measured, times N)" : cold_vms != vms ? " (scaled)" : "",
           cold_kb, cold_kb / 1024.0, t_cold);
  g_print ("memory ratio (clones + file) / cold = %.3f  (target <= 0.5)\n",
           (double) (clones_kb + file_kb) / cold_kb);

  ql_test_proc_remove_dir (dir);
  return 0;
}
