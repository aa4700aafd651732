/* Suite guest: virtio-fs shares and the helper processes qlaunch owns,
 * with `qlaunch run` and the booted test guest.
 *
 * /virtio-fs-guest/share: one boot (machine pc: its root bus takes ACPI
 *   hot-plug) with a share:
 *   - the guest mounts it (mount -t virtiofs), reads a host file and
 *     writes one the host reads;
 *   - a second share is hot-plugged with `qlaunch hotplug` (its virtiofsd
 *     started first, detached), mounted and read in the guest, unplugged
 *     with `qlaunch unplug`, and its virtiofsd is gone;
 *   - virtiofsd of the first share is killed (SIGKILL): `qlaunch run`
 *     exits non-zero naming the device and the helper, QEMU is gone, and
 *     no helper, socket or runtime directory is left.
 * /virtio-fs-guest/launcher-killed: `qlaunch run` is SIGKILLed while QEMU
 *   and virtiofsd run: both are gone within 2 s (read in /proc); the
 *   runtime directory left behind is removed by the next launch, whose
 *   QEMU refuses to start: its virtiofsd is stopped and nothing is left.
 *
 * Every run has its own XDG_RUNTIME_DIR (0700), so runtime directories are
 * looked for in $XDG_RUNTIME_DIR/qlaunch only.
 */
#include "ql-test-pids.h"
#include "ql-test-util.h"
#include "ql-test-guest.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define HOST_MARKER "QLVFS-HOST-7f3a"
#define GUEST_MARKER "QLVFS-GUEST-91c2"
#define HOT_MARKER "QLVFS-HOT-5d10"

/* ---- the test's world ---- */

typedef struct
{
  char *work;
  char *runtime;        /* XDG_RUNTIME_DIR for qlaunch */
  char *base;           /* $XDG_RUNTIME_DIR/qlaunch */
  char *share;
  char *share2;
} World;

static void
world_init (World *w)
{
  g_autofree char *host_file = NULL;
  g_autofree char *hot_file = NULL;

  w->work = ql_test_make_tmpdir ();
  /* Short paths: unix socket paths are limited to 107 bytes. */
  w->runtime = g_build_filename (w->work, "rt", NULL);
  g_assert_cmpint (g_mkdir (w->runtime, 0700), ==, 0);
  w->base = g_build_filename (w->runtime, "qlaunch", NULL);
  w->share = g_build_filename (w->work, "share", NULL);
  w->share2 = g_build_filename (w->work, "share2", NULL);
  g_assert_cmpint (g_mkdir (w->share, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (w->share2, 0755), ==, 0);
  host_file = g_build_filename (w->share, "hostfile", NULL);
  hot_file = g_build_filename (w->share2, "hot", NULL);
  g_assert_true (g_file_set_contents (host_file, HOST_MARKER "\n", -1, NULL));
  g_assert_true (g_file_set_contents (hot_file, HOT_MARKER "\n", -1, NULL));
  g_setenv ("XDG_RUNTIME_DIR", w->runtime, TRUE);
}

static void
world_clear (World *w)
{
  g_unsetenv ("XDG_RUNTIME_DIR");
  ql_test_rm_rf (w->work);
  g_free (w->work);
  g_free (w->runtime);
  g_free (w->base);
  g_free (w->share);
  g_free (w->share2);
}

static char *
shell_ok (QlTestGuest *guest,
          const char  *command)
{
  return ql_test_guest_shell_ok (guest, command, 60);
}

static int
run_cli (char       **out,
         char       **err,
         const char  *first,
         ...) G_GNUC_NULL_TERMINATED;

static int
run_cli (char       **out,
         char       **err,
         const char  *first,
         ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  g_ptr_array_add (args, (gpointer) "--plugin-dir");
  g_ptr_array_add (args, (gpointer) g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"));
  va_start (ap, first);
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  return ql_test_run_cli ((const char * const *) args->pdata, out, err);
}

/* The QEMU pid `qlaunch run` reported. */
static GPid
qemu_pid_of (QlTestGuest *guest)
{
  g_autofree char *err = NULL;
  const char *at;

  g_assert_true (ql_test_guest_wait_for_stderr (guest, "QEMU started (pid ", 30000));
  err = ql_test_guest_get_stderr (guest);
  at = strstr (err, "QEMU started (pid ");
  return (GPid) atoi (at + strlen ("QEMU started (pid "));
}

/* The virtiofsd processes of @share that are children of @parent. */
static GArray *
virtiofsd_children (const char *share,
                    GPid        parent)
{
  g_autofree char *needle = g_strdup_printf ("source=%s", share);
  g_autoptr(GArray) all = ql_test_find_processes (NULL, needle);

  return ql_test_children_among (all, parent);
}

static void
test_share (void)
{
  World w = { 0 };
  g_autofree char *vm_text = NULL;
  g_autoptr(QlTestGuest) guest = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *guest_file = NULL;
  g_autofree char *written = NULL;
  g_autofree char *hot_spec = NULL;
  g_autofree char *needle1 = NULL;
  g_autofree char *needle2 = NULL;
  g_autoptr(GArray) helpers = NULL;
  const char *qmp;
  GPid qemu;
  GPid launcher;
  int status;

  if (ql_test_skip_without_guest ())
    return;
  world_init (&w);
  vm_text = g_strdup_printf ("[machine]\ntype=pc\n"
                             "[qmp q]\ntype=unix\npath=qmp.sock\nserver=true\nno-wait=true\n"
                             "[device fs0]\ntype=virtio-fs\npath=%s\ntag=hostshare\n",
                             w.share);
  guest = ql_test_guest_new (w.work, vm_text, "shell", NULL);
  ql_test_guest_use_run (guest, NULL);
  g_assert_true (ql_test_guest_start (guest));
  launcher = ql_test_guest_get_pid (guest);
  qemu = qemu_pid_of (guest);
  g_assert_cmpint (ql_test_parent_of (qemu), ==, launcher);
  /* Said on stderr: the helper, once it listens, before QEMU. */
  {
    g_autofree char *err_now = ql_test_guest_get_stderr (guest);
    const char *helper_line = strstr (err_now, "qlaunch: virtiofsd of device 'fs0' started (pid ");

    g_assert_nonnull (helper_line);
    g_assert_true (helper_line < strstr (err_now, "QEMU started (pid "));
  }

  /* The helper is the launcher's child, its socket in a private runtime
   * directory: one directory under the base. */
  helpers = virtiofsd_children (w.share, launcher);
  g_assert_cmpuint (helpers->len, ==, 1);
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 1);

  {
    g_autoptr(GError) error = NULL;

    if (!ql_test_guest_wait_for_shell (guest, 90, &error))
      g_error ("no shell: %s\nstderr: %s", error->message, ql_test_guest_get_stderr (guest));
  }

  /* Read a host file, write one the host reads. */
  out = shell_ok (guest, "mkdir -p /mnt/fs && mount -t virtiofs hostshare /mnt/fs && cat /mnt/fs/hostfile && "
                         "echo " GUEST_MARKER " > /mnt/fs/guestfile && sync && umount /mnt/fs");
  g_assert_nonnull (strstr (out, HOST_MARKER));
  guest_file = g_build_filename (w.share, "guestfile", NULL);
  g_assert_true (g_file_get_contents (guest_file, &written, NULL, NULL));
  g_assert_cmpstr (g_strstrip (written), ==, GUEST_MARKER);
  g_clear_pointer (&out, g_free);

  /* Hot-plug a second share: its virtiofsd runs on after `qlaunch
   * hotplug` exits, and its socket and directory are gone already. */
  qmp = ql_test_guest_get_qmp_path (guest);
  hot_spec = g_strdup_printf ("virtio-fs,id=fs1,path=%s,tag=hotshare", w.share2);
  status = run_cli (&out, &err, "hotplug", qmp, "-d", hot_spec, NULL);
  if (status != 0)
    g_error ("hotplug failed (%d): %s", status, err);
  g_assert_nonnull (strstr (out, "hotplugged fs1"));
  needle2 = g_strdup_printf ("source=%s", w.share2);
  {
    g_autoptr(GArray) hot = ql_test_find_processes (NULL, needle2);

    g_assert_cmpuint (hot->len, >=, 1);
  }
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 1);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  out = shell_ok (guest, "mkdir -p /mnt/hot && i=0; until mount -t virtiofs hotshare /mnt/hot 2>/dev/null; do "
                         "i=$((i+1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done; cat /mnt/hot/hot; umount /mnt/hot");
  g_assert_nonnull (strstr (out, HOT_MARKER));
  g_clear_pointer (&out, g_free);

  status = run_cli (&out, &err, "unplug", qmp, "fs1", NULL);
  if (status != 0)
    g_error ("unplug failed (%d): %s", status, err);
  g_assert_true (ql_test_wait_processes_gone (NULL, needle2, 5000));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* virtiofsd of fs0 dies: the VM fails, naming the device. */
  g_assert_cmpint (kill (g_array_index (helpers, GPid, 0), SIGKILL), ==, 0);
  result = ql_test_guest_wait (guest);
  g_assert_nonnull (strstr (result->qemu_stderr, "device 'fs0': helper virtiofsd"));
  g_assert_nonnull (strstr (result->qemu_stderr, "was killed by signal 9"));
  g_assert_false (ql_test_pid_alive (qemu));
  needle1 = g_strdup_printf ("source=%s", w.share);
  g_assert_true (ql_test_wait_processes_gone (NULL, needle1, 2000));
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 0);

  /* qlaunch run's own status: non-zero. */
  {
    g_autofree char *path = g_strdup_printf ("/proc/%d", (int) launcher);

    g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  }
  g_assert_nonnull (strstr (result->qemu_stderr, "qlaunch: "));
  world_clear (&w);
}

static void
test_launcher_killed (void)
{
  World w = { 0 };
  g_autofree char *vm_text = NULL;
  g_autofree char *vm_text2 = NULL;
  g_autoptr(QlTestGuest) guest = NULL;
  g_autoptr(QlTestGuest) second = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  g_autoptr(QlTestGuestResult) result2 = NULL;
  g_autoptr(GArray) helpers = NULL;
  g_autofree char *needle = NULL;
  GPid qemu;
  GPid launcher;
  gint64 killed_at;
  gboolean gone = FALSE;

  if (ql_test_skip_without_guest ())
    return;
  world_init (&w);
  vm_text = g_strdup_printf ("[device fs0]\ntype=virtio-fs\npath=%s\ntag=hostshare\n", w.share);
  guest = ql_test_guest_new (w.work, vm_text, "shell", NULL);
  ql_test_guest_use_run (guest, NULL);
  g_assert_true (ql_test_guest_start (guest));
  launcher = ql_test_guest_get_pid (guest);
  qemu = qemu_pid_of (guest);
  helpers = virtiofsd_children (w.share, launcher);
  g_assert_cmpuint (helpers->len, ==, 1);
  g_assert_true (ql_test_pid_alive (qemu));

  g_assert_cmpint (kill (launcher, SIGKILL), ==, 0);
  killed_at = g_get_monotonic_time ();
  while (g_get_monotonic_time () - killed_at < 2 * G_USEC_PER_SEC)
    {
      if (!ql_test_pid_alive (qemu) && !ql_test_pid_alive (g_array_index (helpers, GPid, 0)))
        {
          gone = TRUE;
          break;
        }
      g_usleep (10 * 1000);
    }
  g_test_message ("QEMU and virtiofsd gone %.0f ms after SIGKILL of qlaunch run",
                  (g_get_monotonic_time () - killed_at) / 1000.0);
  g_assert_true (gone);
  needle = g_strdup_printf ("source=%s", w.share);
  g_assert_true (ql_test_wait_processes_gone (NULL, needle, 1000));
  result = ql_test_guest_wait (guest);
  /* SIGKILL cannot be caught: the runtime directory is left... */
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 1);

  /* ...until the next launch, which sweeps it. That QEMU refuses its
   * command line after virtiofsd started: the helper is stopped and its
   * directory removed too. */
  vm_text2 = g_strdup_printf ("[vm]\nglobal=vhost-user-fs-pci.no-such-property=1\n"
                              "[device fs0]\ntype=virtio-fs\npath=%s\ntag=hostshare\n", w.share);
  second = ql_test_guest_new (w.work, vm_text2, "ready", NULL);
  ql_test_guest_use_run (second, NULL);
  g_assert_true (ql_test_guest_start (second));
  result2 = ql_test_guest_wait (second);
  g_assert_false (result2->ready);
  g_assert_nonnull (strstr (result2->qemu_stderr, "no-such-property"));
  g_assert_true (ql_test_wait_processes_gone (NULL, needle, 2000));
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 0);
  world_clear (&w);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/virtio-fs-guest/share", test_share);
  g_test_add_func ("/virtio-fs-guest/launcher-killed", test_launcher_killed);
  return g_test_run ();
}
