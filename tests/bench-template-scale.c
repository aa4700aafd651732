/* Benchmark (meson test --benchmark): VM templates at scale.
 *
 * The VM is the test guest (tests/guest: TCG, machine pc, 256 MiB, serial
 * console on QEMU's stdio, the shell of qltest=shell); one template of it
 * (`qlaunch template create --ready-pattern QLTEST-SHELL`). Then:
 *
 * Concurrent clones: N (default 10, QLAUNCH_BENCH_VMS) started at once,
 * from the request (one instant before the first spawn) to each guest's
 * answer to its first console command (`cat /tmp/boot-id`, read back as
 * `QLTEST-DONE 0`):
 *   clone: N `qlaunch template clone DIR`, the command written at once
 *          (qlaunch holds it until the guest runs)
 *   floor: N raw sequences of tests/helpers/clone-floor.c (libc only: QEMU
 *          exec'd with the clone's argv, QMP, getfd of the state,
 *          migrate-incoming, cont), the command written once it says the
 *          guest runs
 * in rounds (default 3, QLAUNCH_BENCH_ROUNDS; the order alternates), each
 * batch powered off before the next. Prints every time, p50 and p99 of each
 * (nearest rank over all rounds) and clone p99 / floor p99 (target <= 1.3).
 *
 * Clock: after each clone batch, every clone's clock against the host's
 * (the guest's adjtimex, see ql_test_proc_clock_skew()), with the
 * template's age at the request: the clone's clock resumes where the
 * snapshot left it, so it is behind by the template's age at its resume.
 * The test guest here has no clock hook (qltest.clocksync; see
 * tests/test-template-clock-guest.c for the fix).
 *
 * Factory: a QlVmFactory of the same template (library API), pool of 4
 * (QLAUNCH_BENCH_POOL), filled; then 20 requests (QLAUNCH_BENCH_REQUESTS)
 * back to back: each ql_vm_factory_get() (hand-out: request to the VM in
 * the caller's hands), the VM's first command answered on its console,
 * `poweroff` written, the next request. Prints each request's hand-out
 * time, how many clones were ready when it came, the time to the answer,
 * and hand-out p50/p99 over all requests and over those that found a
 * ready clone (target p99 <= 15 ms); the others waited for the pool to
 * refill.
 *
 * Prints figures only; asserts nothing about time. Needs the test guest
 * (else it says so and exits 77, skipped).
 */
#include "ql-test-floor.h"
#include "ql-test-guest.h"
#include "ql-test-proc.h"
#include "ql-test-stats.h"
#include "ql-test-util.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#define COMMAND      "cat /tmp/boot-id"
#define BATCH_TIMEOUT_S 600

/* ---- N at once ----------------------------------------------------------- */

typedef struct
{
  QlTestProc *p;
  gboolean written;
  gboolean answered;
} Member;

/* Starts @n clones (or floors) at once; appends each one's request to
 * answer time to @times and, for clones, each one's clock skew to @skews
 * and the template's age at the request (since @created, host seconds)
 * to @ages;
 * powers them off. */
static void
batch (const char *tpl,
       const char *dir,
       guint       n,
       gboolean    floor,
       GArray     *times,
       double      created,
       GArray     *skews,
       GArray     *ages,
       double     *skew_unc)
{
  g_autofree Member *m = g_new0 (Member, n);
  g_autoptr(GPtrArray) argvs = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  g_autoptr(GPtrArray) qmps = g_ptr_array_new_with_free_func (g_free);
  gint64 t0, deadline;
  guint left = n;
  double age;

  if (floor)
    for (guint i = 0; i < n; i++)
      {
        char *qmp = g_strdup_printf ("%s/floor-%u.qmp", dir, i);

        g_ptr_array_add (qmps, qmp);
        g_ptr_array_add (argvs, ql_test_floor_qemu_argv (tpl, qmp));
      }

  t0 = g_get_monotonic_time ();
  age = g_get_real_time () / 1e6 - created;
  for (guint i = 0; i < n; i++)
    {
      if (floor)
        m[i].p = ql_test_floor_spawn (tpl, g_ptr_array_index (argvs, i), g_ptr_array_index (qmps, i));
      else
        {
          const char *args[] = { "template", "clone", tpl, NULL };

          m[i].p = ql_test_proc_qlaunch (args);
          /* A leading blank: see bench-template.c (type-ahead). */
          ql_test_proc_write (m[i].p, " " COMMAND);
          m[i].written = TRUE;
        }
    }
  deadline = t0 + (gint64) BATCH_TIMEOUT_S * G_USEC_PER_SEC;
  while (left > 0)
    {
      for (guint i = 0; i < n; i++)
        {
          if (m[i].answered)
            continue;
          if (!m[i].written && strstr (m[i].p->err.buf->str, "clone-floor: resumed: ") != NULL)
            {
              ql_test_proc_write (m[i].p, COMMAND);
              m[i].written = TRUE;
            }
          if (m[i].written && ql_test_proc_find_line (m[i].p, QL_TEST_SHELL_DONE))
            {
              double t = (g_get_monotonic_time () - t0) / 1e6;

              if (ql_test_proc_last_status (m[i].p) != 0)
                ql_test_proc_fail (m[i].p, "the command failed");
              g_array_append_val (times, t);
              m[i].answered = TRUE;
              left--;
            }
          else if (m[i].p->exited && m[i].p->out.eof)
            ql_test_proc_fail (m[i].p, "exited before answering");
        }
      if (left == 0)
        break;
      if (g_get_monotonic_time () > deadline)
        ql_test_proc_fail (m[0].p, "the batch did not answer in time");
      ql_test_proc_iterate ();
    }
  if (!floor)
    for (guint i = 0; i < n; i++)
      {
        double unc;
        double skew = ql_test_proc_clock_skew (m[i].p, &unc);

        g_array_append_val (skews, skew);
        g_array_append_val (ages, age);
        *skew_unc = MAX (*skew_unc, unc);
      }
  for (guint i = 0; i < n; i++)
    ql_test_proc_write (m[i].p, "poweroff");
  for (guint i = 0; i < n; i++)
    {
      if (ql_test_proc_wait (m[i].p, 120) != 0)
        ql_test_proc_fail (m[i].p, "did not exit with status 0");
      ql_test_proc_free (m[i].p);
    }
}

/* ---- the factory --------------------------------------------------------- */

static GPtrArray *consoles;     /* QlTestProc of every clone the factory made */

static void
on_prepare_clone (QlVmFactory *factory,
                  QlVm        *vm,
                  gpointer     data)
{
  g_autoptr(GError) error = NULL;
  QlTestProc *console;
  int in[2], out[2];

  if (!g_unix_open_pipe (in, FD_CLOEXEC, &error) || !g_unix_open_pipe (out, FD_CLOEXEC, &error))
    g_error ("pipe: %s", error->message);
  ql_vm_set_stdin_fd (vm, in[0]);
  close (in[0]);
  ql_vm_set_stdout_fd (vm, out[1]);
  close (out[1]);
  console = ql_test_proc_new_console (in[1], out[0], "factory clone");
  g_ptr_array_add (consoles, console);
  g_object_set_data (G_OBJECT (vm), "bench-console", console);
}

static void
on_clone_failed (QlVmFactory *factory,
                 GError      *error,
                 gpointer     data)
{
  g_print ("  factory: a clone failed: %s\n", error->message);
}

static void
factory_bench (const char *tpl,
               guint       pool,
               guint       requests)
{
  g_autoptr(QlRegistry) registry = ql_test_registry_new ();
  g_autoptr(QlTemplate) template_ = NULL;
  g_autoptr(QlVmFactory) factory = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) vms = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GArray) handout = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) handout_ready = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) answer = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *l1 = NULL, *l2 = NULL;
  GString *ready_list = g_string_new (NULL);
  gint64 start, deadline;

  consoles = g_ptr_array_new ();
  template_ = ql_template_load (tpl, registry, &error);
  g_assert_no_error (error);
  factory = ql_vm_factory_new (template_, pool);
  g_signal_connect (factory, "prepare-clone", G_CALLBACK (on_prepare_clone), NULL);
  g_signal_connect (factory, "clone-failed", G_CALLBACK (on_clone_failed), NULL);
  start = g_get_monotonic_time ();
  ql_vm_factory_start (factory);
  deadline = start + 300 * G_USEC_PER_SEC;
  while (ql_vm_factory_get_n_ready (factory) < pool)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("the factory's pool of %u was not filled within 300 s", pool);
      ql_test_proc_iterate ();
    }
  g_print ("factory: pool of %u filled in %.2f s\n", pool, ql_test_seconds_since (start));

  for (guint i = 0; i < requests; i++)
    {
      guint ready = ql_vm_factory_get_n_ready (factory);
      gint64 t = g_get_monotonic_time ();
      QlVm *vm = ql_vm_factory_get (factory, NULL, &error);
      double h = ql_test_seconds_since (t), a;
      QlTestProc *console;

      g_assert_no_error (error);
      g_array_append_val (handout, h);
      if (ready > 0)
        g_array_append_val (handout_ready, h);
      g_string_append_printf (ready_list, "%s%u", i ? " " : "", ready);
      console = g_object_get_data (G_OBJECT (vm), "bench-console");
      g_assert_nonnull (console);
      g_free (ql_test_proc_shell (console, " " COMMAND, 60));
      a = ql_test_seconds_since (t);
      g_array_append_val (answer, a);
      ql_test_proc_write (console, "poweroff");
      g_ptr_array_add (vms, vm);
    }
  l1 = ql_test_list_ms (handout);
  l2 = ql_test_list_ms (answer);
  g_print ("factory, pool of %u, %u requests back to back (each: get, first command answered, poweroff written):\n",
           pool, requests);
  g_print ("  hand-out (request to VM handed out), ms: %s\n", l1);
  g_print ("  clones ready at each request:           %s\n", ready_list->str);
  g_print ("  request to first command answered, ms:  %s\n", l2);
  g_print ("  hand-out p50 %.1f ms, p99 %.1f ms (all %u requests)\n",
           ql_test_median (handout) * 1e3, ql_test_percentile (handout, 99) * 1e3, handout->len);
  if (handout_ready->len > 0)
    g_print ("  hand-out p50 %.1f ms, p99 %.1f ms (the %u requests that found a ready clone; target p99 <= 15 ms)\n",
             ql_test_median (handout_ready) * 1e3, ql_test_percentile (handout_ready, 99) * 1e3,
             handout_ready->len);
  if (handout_ready->len < handout->len)
    {
      g_autoptr(GArray) waited = g_array_new (FALSE, FALSE, sizeof (double));
      const char *r = ready_list->str;

      for (guint i = 0; i < handout->len; i++)
        {
          if (atoi (r) == 0)
            g_array_append_val (waited, g_array_index (handout, double, i));
          r = strchr (r, ' ');
          r = r != NULL ? r + 1 : "";
        }
      g_print ("  %u requests found the pool empty and waited for a refill: p50 %.1f ms, max %.1f ms\n",
               waited->len, ql_test_median (waited) * 1e3, ql_test_percentile (waited, 100) * 1e3);
    }
  g_print ("  request to first command answered: p50 %.1f ms, p99 %.1f ms\n",
           ql_test_median (answer) * 1e3, ql_test_percentile (answer, 99) * 1e3);
  g_string_free (ready_list, TRUE);

  for (guint i = 0; i < vms->len; i++)
    if (!ql_vm_wait (g_ptr_array_index (vms, i), NULL, &error))
      g_error ("a handed-out clone: %s", error->message);
  if (!ql_vm_factory_shutdown (factory, NULL, &error))
    g_error ("factory shutdown: %s", error->message);
  g_clear_pointer (&vms, g_ptr_array_unref);
  for (guint i = 0; i < consoles->len; i++)
    ql_test_proc_free (g_ptr_array_index (consoles, i));
  g_ptr_array_free (consoles, TRUE);
}

int
main (int    argc,
      char **argv)
{
  const char *guest = ql_test_guest_dir ();
  guint rounds = MAX (ql_test_env_uint ("QLAUNCH_BENCH_ROUNDS", 3), 1);
  guint n = MAX (ql_test_env_uint ("QLAUNCH_BENCH_VMS", 10), 1);
  guint pool = MAX (ql_test_env_uint ("QLAUNCH_BENCH_POOL", 4), 1);
  guint requests = MAX (ql_test_env_uint ("QLAUNCH_BENCH_REQUESTS", 20), 1);
  g_autofree char *dir = NULL;
  g_autofree char *vm_file = NULL;
  g_autofree char *vm_text = NULL;
  g_autofree char *tpl = NULL;
  g_autofree char *loadavg = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) clones = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) floors = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) skews = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) ages = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *l1 = NULL, *l2 = NULL, *l3 = NULL, *l4 = NULL;
  double created, skew_unc = 0;

  (void) argc;
  (void) argv;
  signal (SIGPIPE, SIG_IGN);
  if (guest == NULL)
    {
      g_print ("no test guest in QLAUNCH_GUEST_DIR (meson compile -C BUILDDIR guest): skipped\n");
      return 77;
    }
  dir = ql_test_make_tmpdir ();
  ql_test_proc_guard (dir, NULL);
  vm_file = g_build_filename (dir, "bench.vm", NULL);
  vm_text = g_strdup_printf ("[vm]\nname = qlscale-%d\n"
                             "[machine]\ntype = pc\nacceleration = tcg\n"
                             "[memory]\nsize = 256M\n"
                             "[knobs]\nno-user-config = true\nno-graphic = true\n"
                             "[kernel]\npath = %s/vmlinux\ninitrd = %s/initramfs.img\n"
                             "params = " QL_TEST_GUEST_PARAMS " qltest=shell\n",
                             (int) getpid (), guest, guest);
  g_file_set_contents (vm_file, vm_text, -1, &error);
  g_assert_no_error (error);
  tpl = g_build_filename (dir, "tpl", NULL);
  if (g_file_get_contents ("/proc/loadavg", &loadavg, NULL, NULL))
    g_print ("load average at the start: %s", loadavg);

  g_print ("VM: the test guest, machine pc, TCG, 256 MiB, console on stdio (qltest=shell)\n");
  {
    const char *args[] = { "template", "create", "--ready-pattern", QL_TEST_SHELL_PROMPT, vm_file, tpl, NULL };
    QlTestProc *p = ql_test_proc_qlaunch (args);

    if (ql_test_proc_wait (p, 300) != 0)
      ql_test_proc_fail (p, "template create failed");
    g_print ("template create: %.2f s\n", ql_test_seconds_since (p->start));
    ql_test_proc_free (p);
    created = g_get_real_time () / 1e6;
  }

  /* Warm-up (page cache, QEMU's modules): one of each, not counted. */
  {
    g_autoptr(GArray) t = g_array_new (FALSE, FALSE, sizeof (double));
    g_autoptr(GArray) s = g_array_new (FALSE, FALSE, sizeof (double));
    g_autoptr(GArray) a = g_array_new (FALSE, FALSE, sizeof (double));
    double u = 0;

    batch (tpl, dir, 1, FALSE, t, created, s, a, &u);
    batch (tpl, dir, 1, TRUE, t, created, s, a, &u);
  }

  for (guint r = 0; r < rounds; r++)
    for (guint k = 0; k < 2; k++)
      {
        gboolean floor = (k + r) % 2 == 1;

        batch (tpl, dir, n, floor, floor ? floors : clones, created, skews, ages, &skew_unc);
      }
  l1 = ql_test_list_ms (clones);
  l2 = ql_test_list_ms (floors);
  g_print ("%u at once, request to each guest's first command answered, %u rounds:\n", n, rounds);
  g_print ("  clones (qlaunch template clone), ms: %s\n", l1);
  g_print ("  raw QEMU floor (clone-floor), ms:    %s\n", l2);
  g_print ("  clone p50 %.1f ms, p99 %.1f ms; floor p50 %.1f ms, p99 %.1f ms\n",
           ql_test_median (clones) * 1e3, ql_test_percentile (clones, 99) * 1e3,
           ql_test_median (floors) * 1e3, ql_test_percentile (floors, 99) * 1e3);
  g_print ("  clone p99 / floor p99 = %.3f  (target <= 1.3); p50 ratio %.3f\n",
           ql_test_percentile (clones, 99) / ql_test_percentile (floors, 99),
           ql_test_median (clones) / ql_test_median (floors));
  l3 = ql_test_list_ms (skews);
  l4 = ql_test_list_ms (ages);
  g_print ("guest clock after a clone (host minus guest, no clock hook in the guest), ms: %s\n", l3);
  g_print ("  the template's age at the request (since its create ended), ms:             %s\n", l4);
  g_print ("  behind by p50 %.2f s, min %.2f s, max %.2f s (+- %.3f s); template age at the requests: %.1f to %.1f s\n"
           "  (a clone's clock is behind by the template's age when it resumed, between request and answer)\n",
           ql_test_median (skews), ql_test_minimum (skews), ql_test_percentile (skews, 100), skew_unc,
           ql_test_minimum (ages), ql_test_percentile (ages, 100));

  factory_bench (tpl, pool, requests);

  g_free (loadavg);
  if (g_file_get_contents ("/proc/loadavg", &loadavg, NULL, NULL))
    g_print ("load average at the end: %s", loadavg);
  ql_test_proc_remove_dir (dir);
  return 0;
}
