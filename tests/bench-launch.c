/* Benchmark (meson test --benchmark): the launch overhead of `qlaunch run`.
 *
 * The VM is real: qemu-system-x86_64 (q35, TCG, 256M, no devices) with a
 * 64 KiB firmware that powers the machine off at its first instructions
 * (tests/helpers/ql-test-bios.c), so QEMU starts, initialises the machine,
 * runs the guest and exits with status 0 — at once. Its argv is the one
 * `qlaunch args` prints.
 *
 * Interleaved rounds (the order alternates) time, from spawn to reap:
 *   direct:  exec of that argv (GSubprocess, stdin /dev/null, output discarded)
 *   qlaunch: `qlaunch run VMFILE` (same stdio; QEMU inherits it)
 * and report the medians and their ratio (target: at most 1.10), with
 * `qlaunch --version` as the floor: what starting any GLib program costs
 * on this machine (where a page fault is expensive, most of it). CPU: the
 * user+system time of the reaped children (getrusage RUSAGE_CHILDREN covers
 * QEMU through qlaunch), so qlaunch's own CPU per launch is the mean of
 * (qlaunch run) minus the mean of (direct). When valgrind is installed,
 * callgrind counts the instructions of the qlaunch process alone (QEMU is
 * not traced): `qlaunch run` against `qlaunch --version`, the difference
 * being the work of the library and the plugins for one launch.
 *
 * Prints figures only; asserts nothing about time. QLAUNCH_BENCH_ROUNDS
 * sets the number of rounds (default 20). */
#include "ql-test-bios.h"
#include "ql-test-stats.h"
#include "ql-test-util.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static double
child_cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_CHILDREN, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double
mean (GArray *values)
{
  double sum = 0;

  for (guint i = 0; i < values->len; i++)
    sum += g_array_index (values, double, i);
  return values->len ? sum / values->len : 0;
}

/* Runs @argv to its end; returns the wall time, adds the children's CPU
 * time to @cpu. Aborts unless it exits with status 0. */
static double
timed_run (const char * const *argv,
           double             *cpu)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  double cpu0 = child_cpu_seconds ();
  gint64 t0 = g_get_monotonic_time ();
  double wall;

  proc = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_wait (proc, NULL, &error);
  g_assert_no_error (error);
  wall = (g_get_monotonic_time () - t0) / 1e6;
  if (!g_subprocess_get_if_exited (proc) || g_subprocess_get_exit_status (proc) != 0)
    g_error ("'%s' did not exit with status 0", argv[0]);
  *cpu = child_cpu_seconds () - cpu0;
  return wall;
}

/* The argv `qlaunch args --format json VMFILE` prints. */
static char **
qemu_argv_of (const char *plugin_dir,
              const char *vm_file)
{
  const char *args[] = { "--plugin-dir", plugin_dir, "args", "--format", "json", vm_file, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  JsonArray *array;

  if (ql_test_run_cli (args, &out, &err) != 0)
    g_error ("qlaunch args failed: %s", err);
  json_parser_load_from_data (parser, out, -1, &error);
  g_assert_no_error (error);
  array = json_node_get_array (json_parser_get_root (parser));
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_ptr_array_add (argv, g_strdup (json_array_get_string_element (array, i)));
  g_ptr_array_add (argv, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&argv), FALSE);
}

/* The instructions callgrind counted in the process started by @argv
 * (children not traced), or 0 when it cannot tell. */
static guint64
callgrind_instructions (const char * const *argv)
{
  g_autoptr(GPtrArray) vg = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *err = NULL;
  const char *line;

  g_ptr_array_add (vg, (gpointer) "valgrind");
  g_ptr_array_add (vg, (gpointer) "--tool=callgrind");
  g_ptr_array_add (vg, (gpointer) "--callgrind-out-file=/dev/null");
  g_ptr_array_add (vg, (gpointer) "--trace-children=no");
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (vg, (gpointer) argv[i]);
  g_ptr_array_add (vg, NULL);
  proc = g_subprocess_newv ((const char * const *) vg->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  if (proc == NULL || !g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL, &err, NULL)
      || !g_subprocess_get_successful (proc))
    return 0;
  line = strstr (err, "Collected : ");
  return line != NULL ? g_ascii_strtoull (line + strlen ("Collected : "), NULL, 10) : 0;
}

int
main (int    argc,
      char **argv)
{
  const char *plugin_dir = g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR");
  const char *qlaunch = g_getenv ("QLAUNCH_BIN");
  const char *rounds_env = g_getenv ("QLAUNCH_BENCH_ROUNDS");
  guint rounds = rounds_env != NULL ? (guint) MAX (atoi (rounds_env), 1) : 20;
  g_autofree char *dir = ql_test_make_tmpdir ();
  g_autofree char *bios = g_build_filename (dir, "poweroff.bin", NULL);
  g_autofree char *vm_file = g_build_filename (dir, "bench.vm", NULL);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) qemu_argv = NULL;
  g_autoptr(GArray) wall_direct = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) wall_qlaunch = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) cpu_direct = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) cpu_qlaunch = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) wall_version = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) cpu_version = g_array_new (FALSE, FALSE, sizeof (double));
  const char *vm_text =
    "# A VM that powers off at once: QEMU starts, runs 18 guest instructions, exits 0.\n"
    "[vm]\nname = bench\nbios = ./poweroff.bin\n\n"
    "[machine]\ntype = q35\nacceleration = tcg\n\n"
    "[memory]\nsize = 256M\n\n"
    "[knobs]\nno-user-config = true\nno-defaults = true\nno-graphic = true\n";
  double cpu;

  g_assert_nonnull (plugin_dir);
  g_assert_nonnull (qlaunch);
  ql_test_write_poweroff_bios (bios, &error);
  g_assert_no_error (error);
  g_file_set_contents (vm_file, vm_text, -1, &error);
  g_assert_no_error (error);
  qemu_argv = qemu_argv_of (plugin_dir, vm_file);

  {
    g_autofree char *cmd = g_strjoinv (" ", qemu_argv);
    const char *run_argv[] = { qlaunch, "--plugin-dir", plugin_dir, "run", vm_file, NULL };
    const char *version_argv[] = { qlaunch, "--version", NULL };
    g_autofree char *valgrind = g_find_program_in_path ("valgrind");
    guint64 ir_run, ir_version;

    g_print ("QEMU argv (from qlaunch args): %s\n", cmd);

    /* Warm up the page cache and QEMU's modules. */
    for (guint i = 0; i < 2; i++)
      {
        timed_run ((const char * const *) qemu_argv, &cpu);
        timed_run (run_argv, &cpu);
      }

    for (guint r = 0; r < rounds; r++)
      {
        for (guint k = 0; k < 2; k++)
          {
            /* direct first in even rounds, qlaunch first in odd ones */
            gboolean direct = (k == 0) == (r % 2 == 0);
            double wall = timed_run (direct ? (const char * const *) qemu_argv : run_argv, &cpu);

            g_array_append_val (direct ? wall_direct : wall_qlaunch, wall);
            g_array_append_val (direct ? cpu_direct : cpu_qlaunch, cpu);
          }
        /* The floor of any launcher process: start qlaunch, load GLib,
         * GObject, GIO and json-glib, exit (no plugins, no VM). */
        {
          double wall = timed_run (version_argv, &cpu);

          g_array_append_val (wall_version, wall);
          g_array_append_val (cpu_version, cpu);
        }
      }

    g_print ("launch to exit, QEMU exec'd directly: median %.1f ms (min %.1f, mean %.1f; %u runs)\n",
             ql_test_median (wall_direct) * 1e3, ql_test_minimum (wall_direct) * 1e3,
             mean (wall_direct) * 1e3, rounds);
    g_print ("launch to exit, qlaunch run:             median %.1f ms (min %.1f, mean %.1f; %u runs)\n",
             ql_test_median (wall_qlaunch) * 1e3, ql_test_minimum (wall_qlaunch) * 1e3,
             mean (wall_qlaunch) * 1e3, rounds);
    g_print ("ratio qlaunch run / direct: %.3f (medians; target <= 1.10), overhead %.1f ms\n",
             ql_test_median (wall_qlaunch) / ql_test_median (wall_direct),
             (ql_test_median (wall_qlaunch) - ql_test_median (wall_direct)) * 1e3);
    g_print ("of which starting a GLib process (qlaunch --version: exec, dynamic linking, exit): "
             "median %.1f ms wall, %.1f ms CPU\n",
             ql_test_median (wall_version) * 1e3, mean (cpu_version) * 1e3);
    g_print ("CPU per launch (user+sys of the children): direct %.1f ms, qlaunch run %.1f ms "
             "=> qlaunch's own %.1f ms (%.1f ms beyond starting the process)\n",
             mean (cpu_direct) * 1e3, mean (cpu_qlaunch) * 1e3,
             (mean (cpu_qlaunch) - mean (cpu_direct)) * 1e3,
             (mean (cpu_qlaunch) - mean (cpu_direct) - mean (cpu_version)) * 1e3);

    if (valgrind == NULL)
      g_print ("callgrind: valgrind not installed, instruction counts skipped\n");
    else
      {
        ir_version = callgrind_instructions (version_argv);
        ir_run = callgrind_instructions (run_argv);
        if (ir_version == 0 || ir_run == 0)
          g_print ("callgrind: no instruction count (valgrind failed)\n");
        else
          g_print ("callgrind, instructions in the qlaunch process: run %" G_GUINT64_FORMAT
                   ", --version %" G_GUINT64_FORMAT " => launch work %" G_GUINT64_FORMAT
                   " (%.2f M)\n", ir_run, ir_version, ir_run - ir_version, (ir_run - ir_version) / 1e6);
      }
  }

  ql_test_rm_rf (dir);
  return 0;
}
