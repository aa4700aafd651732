/* Suite guest: the `rng` and `balloon` device types seen from inside the
 * test guest, with the library's balloon helpers.
 *
 * /rng-balloon-guest/shell boots the guest once (q35, TCG, 256 MiB, the
 * interactive `shell` check) with an rng device (backend random on
 * /dev/urandom) and a balloon, and checks:
 *   - the guest's hw_random core uses the virtio entropy device
 *     (/sys/class/misc/hw_random/rng_current names virtio_rng) and
 *     /dev/hwrng delivers bytes;
 *   - a balloon target of 128 MiB (ql_qmp_balloon()) makes the guest's
 *     MemTotal drop by at least 100 MiB within a deadline, and
 *     ql_qmp_query_balloon() then reports about 128 MiB;
 *   - a target of 256 MiB gives the memory back;
 *   - QEMU wrote nothing on stderr, and the guest powered off cleanly.
 *
 * QLAUNCH_GUEST_BREAK=rng leaves the rng device out, and
 * QLAUNCH_GUEST_BREAK=balloon sets deflate-on-oom (with which the guest's
 * driver keeps ballooned pages counted in MemTotal): each must make the
 * test fail, which shows that the checks catch what they claim to.
 */
#include "ql-test-util.h"
#include "ql-test-guest.h"

#include <string.h>

#define MIB (G_GUINT64_CONSTANT (1024) * 1024)
#define GUEST_MEMORY (256 * MIB)
#define BALLOON_TARGET (128 * MIB)
#define SHELL_TIMEOUT_S 30
#define BALLOON_DEADLINE_S 60

/* Runs @command in the guest; fails the test on a shell error or a
 * non-zero status. */
static char *
shell_ok (QlTestGuest *guest,
          const char  *command)
{
  return ql_test_guest_shell_ok (guest, command, SHELL_TIMEOUT_S);
}

static guint64
guest_mem_total_kb (QlTestGuest *guest)
{
  g_autofree char *out = shell_ok (guest, "sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' /proc/meminfo");
  guint64 kb = 0;

  if (!g_ascii_string_to_unsigned (out, 10, 1, G_MAXUINT64, &kb, NULL))
    g_error ("MemTotal of the guest is not a number: '%s'", out);
  return kb;
}

static guint64
query_balloon (QlQmp *qmp)
{
  g_autoptr(GError) error = NULL;
  guint64 actual = 0;

  g_assert_true (ql_qmp_query_balloon (qmp, &actual, NULL, &error));
  g_assert_no_error (error);
  return actual;
}

static guint64
distance (guint64 a,
          guint64 b)
{
  return a > b ? a - b : b - a;
}

static void
test_shell (void)
{
  gboolean break_rng = ql_test_guest_breaking ("rng");
  gboolean break_balloon = ql_test_guest_breaking ("balloon");
  g_autofree char *dir = NULL;
  g_autofree char *vm_text = NULL;
  g_autofree char *out = NULL;
  g_autofree char *describe = NULL;
  g_autoptr(QlTestGuest) guest = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  g_autoptr(QlQmp) qmp = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) bytes = NULL;
  guint64 before, after = 0, actual = 0, restored = 0;
  gint64 start, deadline, started;

  if (ql_test_guest_dir () == NULL)
    {
      g_test_skip ("no test guest in QLAUNCH_GUEST_DIR (meson compile -C BUILDDIR guest)");
      return;
    }
  dir = ql_test_make_tmpdir ();
  vm_text = g_strdup_printf ("[machine]\ntype = q35\nacceleration = tcg\n"
                             "[memory]\nsize = 256M\n"
                             "[qmp q]\npath = qmp.sock\n"
                             "%s"
                             "[device balloon0]\ntype = balloon\n%s",
                             break_rng ? "" : "[device rng0]\ntype = rng\n",
                             break_balloon ? "deflate-on-oom = true\n" : "");

  started = g_get_monotonic_time ();
  guest = ql_test_guest_new (dir, vm_text, "shell", NULL);
  if (!ql_test_guest_start (guest))
    {
      result = ql_test_guest_wait (guest);
      describe = ql_test_guest_result_describe (result);
      g_error ("the guest did not start:\n%s", describe);
    }
  g_assert_true (ql_test_guest_wait_for_shell (guest, 120, &error));
  g_assert_no_error (error);
  g_test_message ("guest shell after %.1f s", (g_get_monotonic_time () - started) / 1e6);

  /* The entropy device: the hw_random core picked it, and it delivers. */
  out = shell_ok (guest, "cat /sys/class/misc/hw_random/rng_available; cat /sys/class/misc/hw_random/rng_current");
  g_test_message ("hw_random: %s", out);
  g_assert_nonnull (strstr (out, "virtio_rng"));
  g_clear_pointer (&out, g_free);
  out = shell_ok (guest, "cat /sys/class/misc/hw_random/rng_current");
  g_assert_true (g_str_has_prefix (out, "virtio_rng"));
  g_clear_pointer (&out, g_free);
  out = shell_ok (guest, "dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1");
  g_test_message ("/dev/hwrng: %s", out);
  bytes = g_strsplit_set (out, " \n", -1);
  {
    guint n = 0;

    for (guint i = 0; bytes[i] != NULL; i++)
      {
        if (*bytes[i] == '\0')
          continue;
        g_assert_cmpuint (strlen (bytes[i]), ==, 2);
        g_assert_true (g_ascii_isxdigit (bytes[i][0]) && g_ascii_isxdigit (bytes[i][1]));
        n++;
      }
    g_assert_cmpuint (n, ==, 16);
  }

  /* The balloon, through the library's helpers. */
  qmp = ql_qmp_new ();
  g_assert_true (ql_qmp_connect (qmp, ql_test_guest_get_qmp_path (guest), 10000, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (query_balloon (qmp), ==, GUEST_MEMORY);
  before = guest_mem_total_kb (guest);

  start = g_get_monotonic_time ();
  g_assert_true (ql_qmp_balloon (qmp, BALLOON_TARGET, NULL, &error));
  g_assert_no_error (error);
  deadline = start + BALLOON_DEADLINE_S * G_USEC_PER_SEC;
  do
    {
      after = guest_mem_total_kb (guest);
      actual = query_balloon (qmp);
      if (before - MIN (after, before) >= 100 * 1024 && distance (actual, BALLOON_TARGET) <= 4 * MIB)
        break;
      g_usleep (200000);
    }
  while (g_get_monotonic_time () < deadline);
  g_test_message ("balloon 128M: MemTotal %" G_GUINT64_FORMAT " kB -> %" G_GUINT64_FORMAT
                  " kB, query-balloon actual %" G_GUINT64_FORMAT " bytes, after %.1f s",
                  before, after, actual, (g_get_monotonic_time () - start) / 1e6);
  g_assert_cmpuint (after, <=, before - 100 * 1024);
  g_assert_cmpuint (distance (actual, BALLOON_TARGET), <=, 4 * MIB);

  /* And back: the guest gets its memory again. */
  start = g_get_monotonic_time ();
  g_assert_true (ql_qmp_balloon (qmp, GUEST_MEMORY, NULL, &error));
  g_assert_no_error (error);
  deadline = start + BALLOON_DEADLINE_S * G_USEC_PER_SEC;
  do
    {
      restored = guest_mem_total_kb (guest);
      actual = query_balloon (qmp);
      if (restored == before && actual == GUEST_MEMORY)
        break;
      g_usleep (200000);
    }
  while (g_get_monotonic_time () < deadline);
  g_test_message ("balloon 256M: MemTotal %" G_GUINT64_FORMAT " kB, actual %" G_GUINT64_FORMAT
                  " bytes, after %.1f s", restored, actual, (g_get_monotonic_time () - start) / 1e6);
  g_assert_cmpuint (restored, ==, before);
  g_assert_cmpuint (actual, ==, GUEST_MEMORY);

  ql_qmp_close (qmp);
  result = ql_test_guest_poweroff_pass (guest, SHELL_TIMEOUT_S, NULL);
  g_test_message ("guest run: %.1f s", result->seconds);
  /* QEMU took every option without a word. */
  g_assert_cmpstr (result->qemu_stderr, ==, "");
  ql_test_rm_rf (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rng-balloon-guest/shell", test_shell);
  return g_test_run ();
}
