/* Benchmark (meson test --benchmark): a VM with one virtio-fs share, from
 * the command to QMP ready, through `qlaunch run` and through a minimal
 * driver of the same processes.
 *
 * The VM: q35, TCG, 256 MiB (a shared memfd), stopped at start (-S), one
 * virtio-fs share and a QMP socket. Interleaved rounds (the order
 * alternates) time from the first spawn until QMP answers
 * `qmp_capabilities`:
 *   driver:  a minimal launcher (tests/helpers/min-driver.c: libc only)
 *            with the argv `qlaunch args --format json` prints: it makes
 *            the listening socket virtiofsd gets as descriptor 3 (--fd=3),
 *            starts virtiofsd and QEMU at once; the bench connects to QMP;
 *   qlaunch: spawn `qlaunch run VMFILE` (it probes nothing new: the
 *            capability cache is warm after the first rounds), connect to
 *            QMP.
 * Each round then sends `quit` and waits until every process is gone
 * (untimed). Reports, for each side, the median, the 90th percentile and
 * the minimum, the ratio of the medians (target: at most 1.10) and of the
 * 90th percentiles, and the median of the per-round ratios (each round's
 * two runs are next to each other in time: the least sensitive to a load
 * that changes during the run). The host's load averages before and after
 * are printed with them: on a shared machine only ratios measured side by
 * side mean anything. Prints figures only; asserts nothing about time.
 * QLAUNCH_BENCH_ROUNDS sets the number of rounds (default 30). */
#include "ql-test-stats.h"
#include "ql-test-util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

/* Reads one line (a QMP message) from @socket. */
static char *
read_line (GSocket *socket)
{
  GString *line = g_string_new (NULL);
  char c;

  while (g_socket_receive (socket, &c, 1, NULL, NULL) == 1)
    {
      if (c == '\n')
        break;
      g_string_append_c (line, c);
    }
  return g_string_free (line, FALSE);
}

/* Connects to QMP at @path (retrying every 1 ms while it is not there),
 * reads the greeting and completes qmp_capabilities. Returns the socket,
 * ready for commands. */
static GSocket *
qmp_ready (const char *path)
{
  static const char capabilities[] = "{\"execute\":\"qmp_capabilities\"}\n";
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (path);
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, 0, NULL);
      g_autofree char *greeting = NULL;
      g_autofree char *reply = NULL;

      if (g_socket_connect (socket, address, NULL, NULL))
        {
          greeting = read_line (socket);
          g_assert_nonnull (strstr (greeting, "\"QMP\""));
          g_socket_send (socket, capabilities, strlen (capabilities), NULL, NULL);
          reply = read_line (socket);
          g_assert_nonnull (strstr (reply, "\"return\""));
          return g_steal_pointer (&socket);
        }
      if (g_get_monotonic_time () > deadline)
        g_error ("no QMP at %s", path);
      g_usleep (1000);
    }
}

static void
qmp_quit (GSocket *socket)
{
  static const char quit[] = "{\"execute\":\"quit\"}\n";

  g_socket_send (socket, quit, strlen (quit), NULL, NULL);
  g_free (read_line (socket));
}

static GSubprocess *
spawn (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  GSubprocess *proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                               | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);

  g_assert_no_error (error);
  return proc;
}

typedef struct
{
  char **qemu;
  char **helper;
  char *helper_socket;
  char *runtime_dir;
} Plan;

/* `qlaunch args --format json --runtime-dir DIR VMFILE`: QEMU's argv and
 * the one helper's. */
static void
plan_of (const char *plugin_dir,
         const char *vm_file,
         const char *runtime_dir,
         Plan       *plan)
{
  const char *args[] = { "--plugin-dir", plugin_dir, "args", "--format", "json",
                         "--runtime-dir", runtime_dir, vm_file, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *root;
  JsonObject *helper;
  JsonArray *array;
  GPtrArray *argv;

  if (ql_test_run_cli (args, &out, &err) != 0)
    g_error ("qlaunch args failed: %s", err);
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  array = json_object_get_array_member (root, "qemu");
  argv = g_ptr_array_new ();
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_ptr_array_add (argv, g_strdup (json_array_get_string_element (array, i)));
  g_ptr_array_add (argv, NULL);
  plan->qemu = (char **) g_ptr_array_free (argv, FALSE);
  helper = json_array_get_object_element (json_object_get_array_member (root, "helpers"), 0);
  array = json_object_get_array_member (helper, "argv");
  argv = g_ptr_array_new ();
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_ptr_array_add (argv, g_strdup (json_array_get_string_element (array, i)));
  g_ptr_array_add (argv, NULL);
  plan->helper = (char **) g_ptr_array_free (argv, FALSE);
  plan->helper_socket = g_strdup (json_object_get_string_member (helper, "socket"));
  plan->runtime_dir = g_strdup (runtime_dir);
}

/* The minimal driver (tests/helpers/min-driver.c, libc only): virtiofsd,
 * its socket, QEMU; then QMP. */
static double
run_driver (const char * const *driver_argv,
            Plan               *plan,
            const char         *qmp_path)
{
  g_autoptr(GSubprocess) driver = NULL;
  g_autoptr(GSocket) qmp = NULL;
  gint64 t0;
  double seconds;

  g_mkdir (plan->runtime_dir, 0700);
  t0 = g_get_monotonic_time ();
  driver = spawn (driver_argv);
  qmp = qmp_ready (qmp_path);
  seconds = (g_get_monotonic_time () - t0) / 1e6;

  qmp_quit (qmp);
  g_subprocess_wait (driver, NULL, NULL);
  if (!g_subprocess_get_if_exited (driver) || g_subprocess_get_exit_status (driver) != 0)
    g_error ("min-driver did not exit with status 0");
  g_unlink (qmp_path);
  return seconds;
}

/* The first three fields of /proc/loadavg, or "unknown". */
static char *
load_average (void)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) fields = NULL;

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL))
    return g_strdup ("unknown");
  fields = g_strsplit (g_strstrip (text), " ", 4);
  if (g_strv_length (fields) < 3)
    return g_strdup ("unknown");
  return g_strdup_printf ("%s %s %s", fields[0], fields[1], fields[2]);
}

static double
run_qlaunch (const char * const *run_argv,
             const char         *qmp_path)
{
  g_autoptr(GSubprocess) qlaunch = NULL;
  g_autoptr(GSocket) qmp = NULL;
  gint64 t0 = g_get_monotonic_time ();
  double seconds;

  qlaunch = spawn (run_argv);
  qmp = qmp_ready (qmp_path);
  seconds = (g_get_monotonic_time () - t0) / 1e6;

  qmp_quit (qmp);
  g_subprocess_wait (qlaunch, NULL, NULL);
  if (!g_subprocess_get_if_exited (qlaunch) || g_subprocess_get_exit_status (qlaunch) != 0)
    g_error ("qlaunch run did not exit with status 0");
  g_unlink (qmp_path);
  return seconds;
}

int
main (int    argc,
      char **argv)
{
  const char *plugin_dir = g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR");
  const char *qlaunch = g_getenv ("QLAUNCH_BIN");
  const char *rounds_env = g_getenv ("QLAUNCH_BENCH_ROUNDS");
  guint rounds = rounds_env != NULL ? (guint) MAX (atoi (rounds_env), 1) : 30;
  g_autofree char *dir = ql_test_make_tmpdir ();
  g_autofree char *share = g_build_filename (dir, "share", NULL);
  g_autofree char *vm_file = g_build_filename (dir, "bench.vm", NULL);
  g_autofree char *qmp_path = g_build_filename (dir, "qmp.sock", NULL);
  g_autofree char *driver_runtime = g_build_filename (dir, "rt-driver", NULL);
  g_autofree char *xdg = g_build_filename (dir, "xdg", NULL);
  g_autofree char *vm_text = NULL;
  g_autoptr(GArray) driver = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) ql = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) paired = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *load_before = NULL;
  g_autofree char *load_after = NULL;
  g_autoptr(GError) error = NULL;
  Plan plan = { 0 };

  (void) argc;
  (void) argv;
  if (!g_file_test ("/usr/lib/qemu/virtiofsd", G_FILE_TEST_IS_EXECUTABLE))
    {
      g_print ("no /usr/lib/qemu/virtiofsd: nothing to measure\n");
      return 0;
    }
  g_assert_nonnull (plugin_dir);
  g_assert_nonnull (qlaunch);
  g_assert_cmpint (g_mkdir (share, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (xdg, 0700), ==, 0);
  g_setenv ("XDG_RUNTIME_DIR", xdg, TRUE);
  vm_text = g_strdup_printf ("[vm]\nname = bench\n"
                             "[machine]\ntype = q35\nacceleration = tcg\n"
                             "[memory]\nsize = 256M\n"
                             "[knobs]\nno-user-config = true\nno-defaults = true\nno-graphic = true\nstopped = true\n"
                             "[qmp q]\ntype = unix\npath = qmp.sock\nserver = true\nno-wait = true\n"
                             "[device fs0]\ntype = virtio-fs\npath = %s\ntag = share\n", share);
  g_file_set_contents (vm_file, vm_text, -1, &error);
  g_assert_no_error (error);
  plan_of (plugin_dir, vm_file, driver_runtime, &plan);

  {
    g_autofree char *qemu_cmd = g_strjoinv (" ", plan.qemu);
    g_autofree char *helper_cmd = g_strjoinv (" ", plan.helper);
    const char *run_argv[] = { qlaunch, "--plugin-dir", plugin_dir, "run", vm_file, NULL };
    g_autofree char *min_driver = g_build_filename (g_getenv ("QLAUNCH_TEST_BUILDDIR"), "min-driver", NULL);
    g_autoptr(GPtrArray) driver_argv = g_ptr_array_new ();

    g_ptr_array_add (driver_argv, min_driver);
    g_ptr_array_add (driver_argv, plan.helper_socket);
    for (guint i = 0; plan.helper[i] != NULL; i++)
      g_ptr_array_add (driver_argv, plan.helper[i]);
    g_ptr_array_add (driver_argv, (gpointer) "--");
    {
      /* QEMU by its full path: min-driver does not search PATH. */
      g_autofree char *qemu = g_find_program_in_path (plan.qemu[0]);

      g_free (plan.qemu[0]);
      plan.qemu[0] = g_steal_pointer (&qemu);
    }
    for (guint i = 0; plan.qemu[i] != NULL; i++)
      g_ptr_array_add (driver_argv, plan.qemu[i]);
    g_ptr_array_add (driver_argv, NULL);

    g_print ("virtiofsd argv: %s\nQEMU argv: %s\n", helper_cmd, qemu_cmd);
    /* Warm up: page cache, QEMU's modules, qlaunch's capability cache. */
    for (guint i = 0; i < 2; i++)
      {
        run_driver ((const char * const *) driver_argv->pdata, &plan, qmp_path);
        run_qlaunch (run_argv, qmp_path);
      }
    load_before = load_average ();
    for (guint r = 0; r < rounds; r++)
      {
        double pair[2];

        for (guint k = 0; k < 2; k++)
          {
            gboolean direct = (k == 0) == (r % 2 == 0);
            double seconds = direct ? run_driver ((const char * const *) driver_argv->pdata, &plan, qmp_path)
                                    : run_qlaunch (run_argv, qmp_path);

            g_array_append_val (direct ? driver : ql, seconds);
            pair[direct ? 0 : 1] = seconds;
          }
        pair[1] /= pair[0];
        g_array_append_val (paired, pair[1]);
      }
    load_after = load_average ();

    g_print ("host load averages (1, 5, 15 min): before %s, after %s; %u CPUs\n",
             load_before, load_after, g_get_num_processors ());
    g_print ("to QMP ready, minimal C driver (socket, virtiofsd, QEMU): median %.1f ms, p90 %.1f, min %.1f (%u runs)\n",
             ql_test_median (driver) * 1e3, ql_test_percentile (driver, 90) * 1e3,
             ql_test_minimum (driver) * 1e3, rounds);
    g_print ("to QMP ready, qlaunch run:                              median %.1f ms, p90 %.1f, min %.1f (%u runs)\n",
             ql_test_median (ql) * 1e3, ql_test_percentile (ql, 90) * 1e3, ql_test_minimum (ql) * 1e3, rounds);
    g_print ("ratio qlaunch run / driver: %.3f (medians; target <= 1.10), overhead %.1f ms; "
             "p90s %.3f; median of the per-round ratios %.3f\n",
             ql_test_median (ql) / ql_test_median (driver), (ql_test_median (ql) - ql_test_median (driver)) * 1e3,
             ql_test_percentile (ql, 90) / ql_test_percentile (driver, 90), ql_test_median (paired));
  }

  g_strfreev (plan.qemu);
  g_strfreev (plan.helper);
  g_free (plan.helper_socket);
  g_free (plan.runtime_dir);
  ql_test_rm_rf (dir);
  return 0;
}
