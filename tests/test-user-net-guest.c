/* Suite guest: user-mode networking (net-type user, QEMU's slirp) for a
 * user without root, with one boot of the test guest.
 *
 * Everything runs as nobody (uid/gid 65534, no supplementary groups):
 * `qlaunch args` and `qlaunch check` through a QLAUNCH_BIN wrapper that
 * drops to nobody with setpriv (so the host checks, including the forwarded
 * port's, and the probe of the QEMU binary run unprivileged), and QEMU
 * itself through a `[vm] qemu` wrapper that drops to nobody when the harness
 * (root) starts it. The work directory belongs to nobody; QEMU writes its
 * pid file there.
 *
 * /user-net-guest/unprivileged:
 * - as nobody, `qlaunch check` refuses a forward from a host port that a
 *   socket holds ("Address already in use") and, when the kernel reserves
 *   ports below ip_unprivileged_port_start, one from port 80 ("Permission
 *   denied", with the hint), naming the forward;
 * - the guest boots with a user-mode card (guest-network 10.0.5.0/24,
 *   dns 10.0.5.53, hostname, ipv6 off) and a forward
 *   127.0.0.1:<free port> -> :8080; QEMU's /proc status shows uid, gid
 *   65534 and no groups;
 * - the card, found by its MAC in /sys/class/net, gets its address by DHCP
 *   (busybox udhcpc): 10.0.5.15/24, router 10.0.5.2, DNS 10.0.5.53 and the
 *   host name;
 * - busybox httpd serves a random marker on port 8080 in the guest, and
 *   the host reads it over 127.0.0.1:<port>;
 * - a second user-mode card (its own network, 10.0.6.0/24) with two
 *   forwards is hot-plugged over QMP (netdev_add with hostfwd as a list
 *   of {"str": ...}, then device_add; machine type pc for ACPI hot-plug),
 *   gets 10.0.6.15 by DHCP in the guest, and its forward opens a second
 *   host port to the same server through the new card.
 *
 * Skipped when the test guest is not built, or without root or setpriv
 * (the test needs to become nobody).
 */
#include "ql-test-net.h"
#include "ql-test-pids.h"
#include "ql-test-util.h"
#include "ql-test-guest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define NOBODY            65534
#define MAC               "52:54:00:4c:55:01"
#define MAC2              "52:54:00:4c:55:02"
#define GUEST_PORT        8080
#define BOOT_TIMEOUT_S    120
#define COMMAND_TIMEOUT_S 60
#define HTTP_DEADLINE_S   30

typedef struct
{
  char *work_dir;       /* nobody's: the VM file, QEMU's pid file, the caps cache */
  char *bin_dir;        /* root's, 0755: the two wrappers */
  char *qemu_wrapper;
  char *qlaunch_wrapper;
} Setup;

static void
setup_clear (Setup *s)
{
  if (s->work_dir != NULL)
    ql_test_rm_rf (s->work_dir);
  if (s->bin_dir != NULL)
    ql_test_rm_rf (s->bin_dir);
  g_free (s->work_dir);
  g_free (s->bin_dir);
  g_free (s->qemu_wrapper);
  g_free (s->qlaunch_wrapper);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Setup, setup_clear)

static void
write_script (const char *path,
              const char *text)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, 0755), ==, 0);
}

/* The wrappers, and QLAUNCH_BIN pointed at the qlaunch one (the harness
 * runs `qlaunch args` through it) for the rest of the process: set before
 * any thread exists (GIO's come with the first socket). */
static void
setup_init (Setup      *s,
            const char *setpriv,
            const char *qemu)
{
  g_autofree char *cache = NULL;
  g_autofree char *text = NULL;
  const char *qlaunch = g_getenv ("QLAUNCH_BIN");

  g_assert_nonnull (qlaunch);
  s->work_dir = ql_test_make_tmpdir ();
  g_assert_cmpint (chown (s->work_dir, NOBODY, NOBODY), ==, 0);
  /* The QEMU wrapper must be where no other user can write (not /tmp). */
  s->bin_dir = ql_test_make_safe_tmpdir ();
  g_assert_cmpint (g_chmod (s->bin_dir, 0755), ==, 0);
  cache = g_build_filename (s->work_dir, "cache", NULL);
  /* Paths are written between single quotes. */
  g_assert_null (strchr (s->work_dir, '\''));
  g_assert_null (strchr (qlaunch, '\''));

  /* Started by root (the harness), QEMU drops to nobody and dies with the
   * harness; started by nobody (qlaunch's probe of the binary), it runs
   * as it is. */
  s->qemu_wrapper = g_build_filename (s->bin_dir, "qemu-as-nobody", NULL);
  text = g_strdup_printf ("#!/bin/sh\n"
                          "if [ \"$(id -u)\" = 0 ]; then\n"
                          "  exec '%s' --reuid=%d --regid=%d --clear-groups --pdeathsig KILL -- '%s' \"$@\"\n"
                          "fi\n"
                          "exec '%s' \"$@\"\n",
                          setpriv, NOBODY, NOBODY, qemu, qemu);
  write_script (s->qemu_wrapper, text);
  g_free (text);

  s->qlaunch_wrapper = g_build_filename (s->bin_dir, "qlaunch-as-nobody", NULL);
  text = g_strdup_printf ("#!/bin/sh\n"
                          "exec '%s' --reuid=%d --regid=%d --clear-groups --pdeathsig KILL -- "
                          "env HOME='%s' QLAUNCH_CACHE_DIR='%s' '%s' \"$@\"\n",
                          setpriv, NOBODY, NOBODY, s->work_dir, cache, qlaunch);
  write_script (s->qlaunch_wrapper, text);

  g_setenv ("QLAUNCH_BIN", s->qlaunch_wrapper, TRUE);
}

/* A socket of 127.0.0.1 on a port the kernel picks; listening if @listen. */
static int
bind_loopback (gboolean  listen_too,
               guint    *port)
{
  struct sockaddr_in sa = { 0 };
  socklen_t len = sizeof sa;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
  if (listen_too)
    g_assert_cmpint (listen (fd, 1), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &sa, &len), ==, 0);
  *port = ntohs (sa.sin_port);
  return fd;
}

/* `qlaunch check` (as nobody) on a user-mode card with @forward; returns
 * its stderr and expects status 1. */
static char *
check_refused (Setup      *s,
               const char *name,
               const char *forward)
{
  g_autofree char *vm_file = g_strdup_printf ("%s/%s.vm", s->work_dir, name);
  g_autofree char *text = g_strdup_printf ("[vm]\nqemu = %s\n"
                                           "[machine]\ntype = q35\nacceleration = tcg\n"
                                           "[device nic0]\ntype = net\nnet-type = user\n"
                                           "host-forwards = %s\n",
                                           s->qemu_wrapper, forward);
  const char *args[] = { "--plugin-dir", g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"), "check", vm_file, NULL };
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  g_file_set_contents (vm_file, text, -1, &error);
  g_assert_no_error (error);
  status = ql_test_run_cli (args, NULL, &err);
  g_test_message ("qlaunch check (as nobody), forward %s: status %d: %s", forward, status, err);
  g_assert_cmpint (status, ==, 1);
  return g_steal_pointer (&err);
}

static guint
read_unprivileged_port_start (void)
{
  g_autofree char *text = NULL;

  if (!g_file_get_contents ("/proc/sys/net/ipv4/ip_unprivileged_port_start", &text, NULL, NULL))
    return 1024;
  return (guint) g_ascii_strtoull (text, NULL, 10);
}

/* Runs @command in the guest; fails the test on a shell error or a
 * non-zero status. */
static char *
shell_ok (QlTestGuest *guest,
          const char  *command)
{
  return ql_test_guest_shell_ok (guest, command, COMMAND_TIMEOUT_S);
}

/* The line of @text that starts with @prefix, without it; NULL if none. */
static char *
find_line (const char *text,
           const char *prefix)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], prefix))
      return g_strdup (lines[i] + strlen (prefix));
  return NULL;
}

/* Reads the marker through 127.0.0.1:@port, retrying while the forward
 * or the server is not there yet; returns the reply. */
static char *
http_get_marker (guint       port,
                 const char *marker)
{
  gint64 deadline = g_get_monotonic_time () + HTTP_DEADLINE_S * G_USEC_PER_SEC;
  g_autoptr(GError) error = NULL;
  char *reply = NULL;

  do
    {
      g_clear_error (&error);
      g_free (reply);
      reply = ql_test_http_get (port, "/marker.txt", &error);
      if (reply != NULL && strstr (reply, marker) != NULL)
        break;
      g_usleep (G_USEC_PER_SEC / 2);
    }
  while (g_get_monotonic_time () < deadline);
  if (reply == NULL || strstr (reply, marker) == NULL)
    g_error ("no marker through 127.0.0.1:%u: %s", port,
             reply != NULL ? reply : error->message);
  g_test_message ("host read through 127.0.0.1:%u: %s", port, reply);
  g_assert_true (g_str_has_prefix (reply, "HTTP/1.") && strstr (reply, " 200 ") != NULL);
  return reply;
}

/* DHCP on @iface, through the image's event script (which prints
 * QLTEST-DHCP); returns that line (after "QLTEST-DHCP "). */
static char *
guest_dhcp (QlTestGuest *guest,
            const char  *iface,
            char       **hostname)
{
  g_autofree char *command = g_strdup_printf ("udhcpc -i %s -n -q -t 5 -s /tmp/qlhook 2>&1", iface);
  g_autofree char *out = shell_ok (guest, command);
  char *line;

  g_test_message ("udhcpc on %s:\n%s", iface, out);
  line = find_line (out, "QLTEST-DHCP ");
  g_assert_nonnull (line);
  *hostname = find_line (out, "QLTEST-HOSTNAME bound ");
  return line;
}

static void
test_unprivileged (void)
{
  g_autofree char *setpriv = g_find_program_in_path ("setpriv");
  g_autofree char *qemu = g_find_program_in_path ("qemu-system-x86_64");
  g_auto(Setup) s = { 0 };
  g_autoptr(QlTestGuest) guest = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *vm_text = NULL;
  g_autofree char *pid_file = NULL;
  g_autofree char *pid_text = NULL;
  g_autofree char *exe = NULL;
  g_autofree char *uid = NULL;
  g_autofree char *gid = NULL;
  g_autofree char *groups = NULL;
  g_autofree char *iface = NULL;
  g_autofree char *dhcp_line = NULL;
  g_autofree char *host_line = NULL;
  g_autofree char *marker = NULL;
  g_autofree char *command = NULL;
  g_autofree char *out = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *forward = NULL;
  g_autofree char *iface2 = NULL;
  g_autofree char *dhcp_line2 = NULL;
  g_autofree char *host_line2 = NULL;
  g_autofree char *spec = NULL;
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlQmp) qmp = NULL;
  g_autoptr(QlDevice) nic = NULL;
  struct stat st;
  guint port = 0;
  guint port2 = 0;
  guint busy_port = 0;
  int busy_fd;
  int fd;
  GPid pid;
  gint64 start = g_get_monotonic_time ();

  if (ql_test_guest_dir () == NULL)
    {
      g_test_skip ("no test guest in QLAUNCH_GUEST_DIR (meson compile -C BUILDDIR guest)");
      return;
    }
  if (getuid () != 0 || setpriv == NULL || qemu == NULL)
    {
      g_test_skip ("needs root, setpriv and qemu-system-x86_64 to run QEMU as nobody");
      return;
    }
  if (!ql_test_uid_can_run (NOBODY, g_getenv ("QLAUNCH_BIN")))
    {
      g_test_skip ("uid 65534 cannot run the built qlaunch (a directory above the build tree is "
                   "private): this test runs it as that user");
      return;
    }
  setup_init (&s, setpriv, qemu);

  /* As nobody, the host checks name the forward whose port is taken. */
  busy_fd = bind_loopback (TRUE, &busy_port);
  forward = g_strdup_printf ("tcp:127.0.0.1:%u-:22", busy_port);
  {
    g_autofree char *err = check_refused (&s, "busy", forward);
    g_autofree char *fragment = g_strdup_printf ("device 'nic0': property 'host-forwards': forward '%s': host port %u/tcp on 127.0.0.1 cannot be bound: Address already in use",
                                                 forward, busy_port);

    g_assert_nonnull (strstr (err, fragment));
  }
  close (busy_fd);
  if (read_unprivileged_port_start () > 80)
    {
      g_autofree char *err = check_refused (&s, "low", "tcp:127.0.0.1:80-:80");

      g_assert_nonnull (strstr (err, "forward 'tcp:127.0.0.1:80-:80': host port 80/tcp on 127.0.0.1 cannot be bound: Permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE"));
    }
  else
    g_test_message ("ip_unprivileged_port_start <= 80: every port is open to nobody here");

  /* One boot for the rest. */
  fd = bind_loopback (FALSE, &port);
  close (fd);
  vm_text = g_strdup_printf ("[vm]\nqemu = %s\npid-file = qemu.pid\n"
                             "[machine]\ntype = pc\n"
                             "[qmp q]\ntype = unix\npath = qmp.sock\nserver = true\nno-wait = true\n"
                             "[device nic0]\ntype = net\nnet-type = user\n"
                             "mac-address = " MAC "\n"
                             "guest-network = 10.0.5.0/24\ndns = 10.0.5.53\n"
                             "hostname = qlguest\nipv6 = false\n"
                             "host-forwards = tcp:127.0.0.1:%u-:%d\n"
                             "rom-file =\n",
                             s.qemu_wrapper, port, GUEST_PORT);
  guest = ql_test_guest_new (s.work_dir, vm_text, "shell", NULL);
  if (!ql_test_guest_start (guest))
    {
      g_autoptr(QlTestGuestResult) failed = ql_test_guest_wait (guest);
      g_autofree char *story = ql_test_guest_result_describe (failed);

      g_error ("the guest did not start:\n%s", story);
    }
  ql_test_guest_wait_for_shell (guest, BOOT_TIMEOUT_S, &error);
  g_assert_no_error (error);
  g_test_message ("guest shell after %.1f s", (g_get_monotonic_time () - start) / 1e6);

  /* QEMU runs as nobody, and wrote its pid file in nobody's directory. */
  pid_file = g_build_filename (s.work_dir, "qemu.pid", NULL);
  g_file_get_contents (pid_file, &pid_text, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (pid_file, &st), ==, 0);
  g_assert_cmpuint (st.st_uid, ==, NOBODY);
  pid = (GPid) g_ascii_strtoll (pid_text, NULL, 10);
  g_assert_cmpint (pid, >, 1);
  {
    g_autofree char *link = g_strdup_printf ("/proc/%d/exe", (int) pid);

    exe = g_file_read_link (link, &error);
    g_assert_no_error (error);
  }
  g_assert_true (g_str_has_suffix (exe, "/qemu-system-x86_64"));
  uid = ql_test_proc_status (pid, "Uid");
  gid = ql_test_proc_status (pid, "Gid");
  groups = ql_test_proc_status (pid, "Groups");
  g_test_message ("QEMU pid %d (%s): Uid %s, Gid %s, Groups '%s'", (int) pid, exe, uid, gid, groups);
  g_assert_cmpstr (uid, ==, "65534 65534 65534 65534");
  g_assert_cmpstr (gid, ==, "65534 65534 65534 65534");
  g_assert_cmpstr (groups, ==, "");

  /* The card, by its MAC; DHCP through the image's event script, wrapped
   * to show the host name the lease gives. */
  iface = ql_test_guest_interface (guest, MAC, COMMAND_TIMEOUT_S);
  g_free (out);
  out = shell_ok (guest, "printf '%s\\n' '#!/bin/sh' 'echo \"QLTEST-HOSTNAME $1 ${hostname:-none}\"' "
                         "'exec /usr/share/udhcpc/default.script \"$@\"' > /tmp/qlhook && chmod +x /tmp/qlhook");
  dhcp_line = guest_dhcp (guest, iface, &host_line);
  expected = g_strdup_printf ("%s 10.0.5.15/24 router=10.0.5.2 dns=10.0.5.53", iface);
  g_assert_cmpstr (dhcp_line, ==, expected);
  g_assert_cmpstr (host_line, ==, "qlguest");
  command = g_strdup_printf ("ip -4 addr show dev %s | grep -c 'inet 10.0.5.15/24'", iface);
  g_free (out);
  out = shell_ok (guest, command);
  g_assert_cmpstr (out, ==, "1");

  /* A server in the guest, reached from the host through the forward. */
  marker = g_strdup_printf ("QLUSERNET-%08x%08x", g_random_int (), g_random_int ());
  g_free (command);
  command = g_strdup_printf ("mkdir -p /tmp/www && echo %s > /tmp/www/marker.txt && "
                             "httpd -p %d -h /tmp/www", marker, GUEST_PORT);
  g_free (out);
  out = shell_ok (guest, command);
  reply = http_get_marker (port, marker);

  /* Hot-plug: a second card with two forwards (a list for netdev_add)
   * gets its own network's lease; its TCP forward reaches the server. */
  registry = ql_test_registry_new ();
  qmp = ql_qmp_new ();
  /* The test runs as root and QEMU as nobody: QlQmp talks to another
   * user's QEMU only when told to. */
  ql_qmp_set_peer_uid (qmp, NOBODY);
  g_assert_true (ql_qmp_connect (qmp, ql_test_guest_get_qmp_path (guest), 10000, NULL, &error));
  g_assert_no_error (error);
  fd = bind_loopback (FALSE, &port2);
  close (fd);
  spec = g_strdup_printf ("net,id=nic1,net-type=user,mac-address=" MAC2 ",guest-network=10.0.6.0/24,"
                          "hostname=qlguest2,rom-file=,host-forwards=tcp:127.0.0.1:%u-:%d;udp:127.0.0.1:%u-:53",
                          port2, GUEST_PORT, port2);
  nic = ql_registry_create_device_from_spec (registry, spec, &error);
  g_assert_no_error (error);
  g_assert_true (ql_qmp_hotplug_device (qmp, nic, NULL, NULL, &error));
  g_assert_no_error (error);
  iface2 = ql_test_guest_interface (guest, MAC2, COMMAND_TIMEOUT_S);
  g_assert_cmpstr (iface2, !=, iface);
  dhcp_line2 = guest_dhcp (guest, iface2, &host_line2);
  g_free (expected);
  expected = g_strdup_printf ("%s 10.0.6.15/24 router=10.0.6.2 dns=10.0.6.3", iface2);
  g_assert_cmpstr (dhcp_line2, ==, expected);
  g_assert_cmpstr (host_line2, ==, "qlguest2");

  /* The hot-plugged card's TCP forward, to the same server. */
  g_free (reply);
  reply = http_get_marker (port2, marker);

  result = ql_test_guest_poweroff_pass (guest, COMMAND_TIMEOUT_S, NULL);
  g_assert_cmpstr (result->qemu_stderr, ==, "");
  g_test_message ("whole test %.1f s (QEMU ran %.1f s)",
                  (g_get_monotonic_time () - start) / 1e6, result->seconds);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/user-net-guest/unprivileged", test_unprivileged);
  return g_test_run ();
}
