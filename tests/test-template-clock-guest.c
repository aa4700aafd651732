/* Suite guest: the guest clock of a template's clone, before and after the
 * guest sets it from the RTC.
 *
 * A clone resumes the template's guest where the snapshot left it, its
 * system clock too: the clock is behind the host by the template's age.
 * QEMU's RTC (mc146818, clock=host, the default) keeps counting host time
 * across the snapshot, and every clone gets a new VM generation ID (the
 * vmgenid device of identity fix-up), which the guest kernel notices and
 * logs ("crng reseeded due to virtual machine fork"). The test guest with
 * qltest.clocksync=1 (tests/guest/init) watches its kernel log for that
 * and sets its clock from the RTC (`hwclock -s -u` at the start of an RTC
 * second), recording it in /tmp/clock-sync.
 *
 * /template-clock-guest/skew: two templates of the test guest at its shell
 * (TCG, 256 MiB, --ready-pattern QLTEST-SHELL), one without the hook, one
 * with it; once both are at least AGE_S seconds old, a clone of each:
 *   - without the hook, the guest's clock (its adjtimex) is behind the
 *     host's by at least the template's age minus 2 s, and nothing synced;
 *   - with it, the guest records one sync from the RTC, after which its
 *     clock is within 2 s of the host's (the RTC counts whole seconds from
 *     a phase of QEMU's start: up to 1 s behind).
 * The skews are printed (g_test_message), with the half round trip of the
 * measurement.
 *
 * Skipped when the test guest is not built.
 */
#include "ql-test-guest.h"
#include "ql-test-proc.h"
#include "ql-test-util.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define AGE_S             10
#define CREATE_TIMEOUT_S  300
#define COMMAND_TIMEOUT_S 60

static char *work_dir;

/* Makes a template of the test guest's shell in WORK/NAME (from
 * WORK/NAME.vm); returns the host time (seconds) when it was done. */
static double
make_template (const char *name,
               gboolean    clocksync)
{
  g_autofree char *vm_file = g_strdup_printf ("%s/%s.vm", work_dir, name);
  g_autofree char *dir = g_build_filename (work_dir, name, NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  const char *args[] = { "template", "create", "--ready-pattern", QL_TEST_SHELL_PROMPT, vm_file, dir, NULL };
  const char *guest = ql_test_guest_dir ();
  QlTestProc *p;
  int status;

  text = g_strdup_printf ("[vm]\nname = qlclock-%s-%d\n"
                          "[machine]\ntype = pc\nacceleration = tcg\n"
                          "[memory]\nsize = 256M\n"
                          "[knobs]\nno-user-config = true\nno-graphic = true\n"
                          "[kernel]\npath = %s/vmlinux\ninitrd = %s/initramfs.img\n"
                          "params = " QL_TEST_GUEST_PARAMS " qltest=shell%s\n",
                          name, (int) getpid (), guest, guest, clocksync ? " qltest.clocksync=1" : "");
  g_file_set_contents (vm_file, text, -1, &error);
  g_assert_no_error (error);
  p = ql_test_proc_qlaunch (args);
  status = ql_test_proc_wait (p, CREATE_TIMEOUT_S);
  if (status != 0)
    ql_test_proc_fail (p, "template create failed");
  ql_test_proc_free (p);
  return g_get_real_time () / 1e6;
}

/* `cat /tmp/clock-sync` until it has a line (at most 30 s); returns it. */
static char *
wait_for_sync (QlTestProc *p)
{
  for (guint i = 0; i < 60; i++)
    {
      g_autofree char *out = ql_test_proc_shell (p, "cat /tmp/clock-sync 2>/dev/null || true", COMMAND_TIMEOUT_S);

      if (out[0] != '\0')
        return g_steal_pointer (&out);
      g_usleep (G_USEC_PER_SEC / 2);
    }
  ql_test_proc_fail (p, "the guest did not set its clock from the RTC within 30 s");
}

static void
test_skew (void)
{
  g_autofree char *plain = NULL;
  g_autofree char *synced = NULL;
  g_autofree char *sync_line = NULL;
  g_autofree char *none = NULL;
  double plain_done, synced_done, age, skew, unc, first_skew, first_unc;
  QlTestProc *p;

  if (ql_test_guest_dir () == NULL)
    {
      g_test_skip ("no test guest (meson compile -C BUILDDIR guest)");
      return;
    }
  plain = g_build_filename (work_dir, "plain", NULL);
  synced = g_build_filename (work_dir, "synced", NULL);
  plain_done = make_template ("plain", FALSE);
  synced_done = make_template ("synced", TRUE);
  age = g_get_real_time () / 1e6 - synced_done;
  if (age < AGE_S)
    g_usleep ((gulong) ((AGE_S - age) * G_USEC_PER_SEC));

  /* Without the hook: behind by the template's age. */
  {
    const char *args[] = { "template", "clone", plain, NULL };

    p = ql_test_proc_qlaunch (args);
    g_free (ql_test_proc_shell (p, " true", COMMAND_TIMEOUT_S));
    skew = ql_test_proc_clock_skew (p, &unc);
    age = g_get_real_time () / 1e6 - plain_done;
    none = ql_test_proc_shell (p, "cat /tmp/clock-sync 2>/dev/null || echo none", COMMAND_TIMEOUT_S);
    g_test_message ("without the hook: template %.1f s old (since its create ended), "
                    "guest clock behind by %.3f s (+- %.3f s); /tmp/clock-sync: %s",
                    age, skew, unc, none);
    ql_test_proc_poweroff (p);
    ql_test_proc_free (p);
  }
  g_assert_cmpstr (none, ==, "none");
  g_assert_cmpfloat (skew, >=, age - 2.0);

  /* With it: set from the RTC once the VM generation ID changed. */
  {
    const char *args[] = { "template", "clone", synced, NULL };

    p = ql_test_proc_qlaunch (args);
    g_free (ql_test_proc_shell (p, " true", COMMAND_TIMEOUT_S));
    first_skew = ql_test_proc_clock_skew (p, &first_unc);
    sync_line = wait_for_sync (p);
    skew = ql_test_proc_clock_skew (p, &unc);
    age = g_get_real_time () / 1e6 - synced_done;
    g_test_message ("with the hook: template %.1f s old; first command: behind by %.3f s (+- %.3f s); "
                    "after the sync from the RTC ('%s': number, guest seconds before, RTC seconds): "
                    "behind by %.3f s (+- %.3f s)",
                    age, first_skew, first_unc, sync_line, skew, unc);
    ql_test_proc_poweroff (p);
    ql_test_proc_free (p);
  }
  g_assert_true (g_str_has_prefix (sync_line, "1 "));
  g_assert_cmpfloat (skew, <=, 2.0);
  g_assert_cmpfloat (skew, >=, -2.0);
}

int
main (int    argc,
      char **argv)
{
  int ret;

  signal (SIGPIPE, SIG_IGN);
  g_test_init (&argc, &argv, NULL);
  work_dir = ql_test_make_tmpdir ();
  ql_test_proc_guard (work_dir, NULL);
  g_test_add_func ("/template-clock-guest/skew", test_skew);
  ret = g_test_run ();
  ql_test_proc_remove_dir (work_dir);
  return ret;
}
