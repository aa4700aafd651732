/* Suite guest: user-mode networking through passt (net-type passt), the
 * helper process qlaunch runs beside QEMU, with `qlaunch run`.
 *
 * /passt-guest/unprivileged: one boot, everything as nobody (uid/gid
 *   65534, no supplementary groups): `qlaunch run`, `qlaunch hotplug` and
 *   `qlaunch unplug` go through a QLAUNCH_BIN wrapper that drops to nobody
 *   with setpriv, so qlaunch, passt and QEMU all run as nobody, with their
 *   runtime directories under a private XDG_RUNTIME_DIR.
 *   - passt listens before QEMU starts (qlaunch run says so first), runs
 *     as nobody as a child of qlaunch run, and so does QEMU;
 *   - the card, found by its MAC, gets by DHCP (busybox udhcpc) what
 *     passt takes from the host: the address and prefix of the interface
 *     with the default route, its gateway, and the dns the card sets;
 *   - busybox httpd serves a random marker on port 8080 in the guest, and
 *     the host reads it over the card's forward on 127.0.0.1;
 *   - a second passt card is hot-plugged with `qlaunch hotplug` (its passt
 *     started first and left running), gets the same lease on its own
 *     interface (the first one taken down, so that replies leave through
 *     it) and forwards a second host port to the server; `qlaunch unplug`
 *     removes it and its passt ends with QEMU's connection. QEMU 7.2
 *     connects a hot-plugged -netdev stream in the background: qlaunch
 *     hotplug returns once passt has accepted QEMU's connection;
 *   - passt of the first card is killed (SIGKILL): `qlaunch run` fails,
 *     naming the device and the helper, QEMU is gone, and no passt
 *     process and no runtime directory is left.
 * /passt-guest/qemu-killed: as root (passt then keeps root's uid with
 *   --runas, or it could not create its socket), `qlaunch run` of a
 *   stopped VM (no boot): passt listens on a TCP forward; QEMU is killed
 *   (SIGKILL): passt ends with QEMU's connection, `qlaunch run` exits
 *   non-zero saying so, and nothing is left.
 *
 * Skipped without the test guest, root, setpriv, passt, or a default
 * route (passt takes the guest's address from it).
 */
#include "ql-test-pids.h"
#include "ql-test-net.h"
#include "ql-test-util.h"
#include "ql-test-guest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define NOBODY            65534
#define MAC               "52:54:00:70:61:01"
#define MAC2              "52:54:00:70:61:02"
#define DNS               "198.51.100.53"
#define GUEST_PORT        8080
#define BOOT_TIMEOUT_S    120
#define COMMAND_TIMEOUT_S 60
#define HTTP_DEADLINE_S   30

/* The qlaunch binary of the build, before the nobody wrapper replaces
 * QLAUNCH_BIN. */
static char *qlaunch_bin;

/* ---- the host: what passt gives the guest ---- */

typedef struct
{
  char *iface;          /* the interface with the default route */
  char *gateway;        /* its gateway */
  char *address;        /* its IPv4 address/prefix */
} HostRoute;

static void
host_route_clear (HostRoute *r)
{
  g_free (r->iface);
  g_free (r->gateway);
  g_free (r->address);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (HostRoute, host_route_clear)

/* The first IPv4 default route of /proc/net/route and the address of its
 * interface; FALSE when there is none. */
static gboolean
host_route_read (HostRoute *r)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  struct ifaddrs *addrs = NULL;

  if (!g_file_get_contents ("/proc/net/route", &text, NULL, NULL))
    return FALSE;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 1; lines[i] != NULL && r->iface == NULL; i++)
    {
      g_auto(GStrv) f = g_strsplit_set (lines[i], " \t", -1);
      g_autoptr(GPtrArray) w = g_ptr_array_new ();

      for (guint k = 0; f[k] != NULL; k++)
        if (*f[k] != '\0')
          g_ptr_array_add (w, f[k]);
      if (w->len >= 3 && g_str_equal (g_ptr_array_index (w, 1), "00000000"))
        {
          struct in_addr gw = { .s_addr = (in_addr_t) g_ascii_strtoull (g_ptr_array_index (w, 2), NULL, 16) };
          char buf[INET_ADDRSTRLEN];

          r->iface = g_strdup (g_ptr_array_index (w, 0));
          r->gateway = g_strdup (inet_ntop (AF_INET, &gw, buf, sizeof buf));
        }
    }
  if (r->iface == NULL || getifaddrs (&addrs) != 0)
    return FALSE;
  for (struct ifaddrs *a = addrs; a != NULL && r->address == NULL; a = a->ifa_next)
    if (a->ifa_addr != NULL && a->ifa_addr->sa_family == AF_INET && g_str_equal (a->ifa_name, r->iface))
      {
        char buf[INET_ADDRSTRLEN];
        guint32 mask = ntohl (((struct sockaddr_in *) a->ifa_netmask)->sin_addr.s_addr);
        guint prefix = 0;

        while (prefix < 32 && (mask & (0x80000000u >> prefix)) != 0)
          prefix++;
        inet_ntop (AF_INET, &((struct sockaddr_in *) a->ifa_addr)->sin_addr, buf, sizeof buf);
        r->address = g_strdup_printf ("%s/%u", buf, prefix);
      }
  freeifaddrs (addrs);
  return r->address != NULL;
}

/* ---- processes, read in /proc ---- */

/* The pid in "qlaunch: @what (pid N)" of @guest's stderr. */
static GPid
pid_said (QlTestGuest *guest,
          const char  *what)
{
  g_autofree char *needle = g_strdup_printf ("qlaunch: %s (pid ", what);
  g_autofree char *err = NULL;
  const char *at;

  if (!ql_test_guest_wait_for_stderr (guest, needle, 30000))
    {
      g_autofree char *now = ql_test_guest_get_stderr (guest);

      g_error ("qlaunch run never said \"%s\": %s", needle, now);
    }
  err = ql_test_guest_get_stderr (guest);
  at = strstr (err, needle);
  return (GPid) atoi (at + strlen (needle));
}

/* ---- sockets and HTTP ---- */

/* Reads the marker through 127.0.0.1:@port, retrying while the forward or
 * the server is not there yet. */
static void
http_expect_marker (guint       port,
                    const char *marker)
{
  gint64 deadline = g_get_monotonic_time () + HTTP_DEADLINE_S * G_USEC_PER_SEC;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;

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
    g_error ("no marker through 127.0.0.1:%u: %s", port, reply != NULL ? reply : error->message);
  g_test_message ("host read through 127.0.0.1:%u: %s", port, reply);
  g_assert_true (g_str_has_prefix (reply, "HTTP/1.") && strstr (reply, " 200 ") != NULL);
}

/* What QEMU says of netdev @id ("info network"): "unix:PATH" once its
 * -netdev stream connected, "connection error" when it could not. */
static char *
netdev_state (const char *qmp_path,
              const char *id)
{
  g_autoptr(QlQmp) qmp = ql_qmp_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) args = json_object_new ();
  g_autoptr(JsonNode) reply = NULL;
  g_autofree char *prefix = g_strdup_printf ("\\ %s: index=0,type=stream,", id);
  g_auto(GStrv) lines = NULL;

  /* The test runs as root, and QEMU as nobody in the unprivileged world:
   * QlQmp talks to another user's QEMU only when told to. */
  ql_qmp_set_peer_uid (qmp, NOBODY);
  g_assert_true (ql_qmp_connect (qmp, qmp_path, 10000, NULL, &error));
  g_assert_no_error (error);
  json_object_set_string_member (args, "command-line", "info network");
  reply = ql_qmp_execute (qmp, "human-monitor-command", args, NULL, &error);
  g_assert_no_error (error);
  lines = g_strsplit (json_node_get_string (reply), "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *at = strstr (lines[i], prefix);

      if (at != NULL)
        return g_strstrip (g_strdup (at + strlen (prefix)));
    }
  return g_strdup ("");
}

/* Waits until QEMU's netdev @id connected (TRUE) or failed to. */
static gboolean
wait_netdev_connected (const char *qmp_path,
                       const char *id)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  g_autofree char *state = NULL;

  do
    {
      g_free (state);
      state = netdev_state (qmp_path, id);
      if (g_str_has_prefix (state, "unix:"))
        return TRUE;
      if (strstr (state, "error") != NULL)
        break;
      g_usleep (50 * 1000);
    }
  while (g_get_monotonic_time () < deadline);
  g_test_message ("netdev %s: '%s'", id, state);
  return FALSE;
}

/* ---- the guest ---- */

static char *
shell_ok (QlTestGuest *guest,
          const char  *command)
{
  return ql_test_guest_shell_ok (guest, command, COMMAND_TIMEOUT_S);
}

/* DHCP on @iface through the image's event script; the QLTEST-DHCP line
 * it prints (after "QLTEST-DHCP "). */
static char *
guest_dhcp (QlTestGuest *guest,
            const char  *iface)
{
  g_autofree char *command = g_strdup_printf ("udhcpc -i %s -n -q -t 5 -s /usr/share/udhcpc/default.script 2>&1", iface);
  g_autofree char *out = shell_ok (guest, command);
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);

  g_test_message ("udhcpc on %s:\n%s", iface, out);
  for (guint i = 0; lines[i] != NULL; i++)
    if (g_str_has_prefix (lines[i], "QLTEST-DHCP "))
      return g_strdup (lines[i] + strlen ("QLTEST-DHCP "));
  g_error ("no lease on %s:\n%s", iface, out);
  return NULL;
}

/* ---- the world ---- */

typedef struct
{
  char *work;           /* nobody's: the VM file, QMP socket, caches */
  char *runtime;        /* nobody's XDG_RUNTIME_DIR (0700) */
  char *base;           /* $XDG_RUNTIME_DIR/qlaunch */
  char *bin_dir;        /* root's, 0755: the wrapper */
} World;

static void
world_clear (World *w)
{
  if (w->work != NULL)
    ql_test_rm_rf (w->work);
  if (w->bin_dir != NULL)
    ql_test_rm_rf (w->bin_dir);
  g_free (w->work);
  g_free (w->runtime);
  g_free (w->base);
  g_free (w->bin_dir);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (World, world_clear)

/* Work and runtime directories of @uid; with @setpriv, QLAUNCH_BIN for
 * the rest of the process becomes a wrapper that runs qlaunch as nobody
 * (set before any thread exists: GIO's come with the first socket). */
static void
world_init (World      *w,
            const char *setpriv)
{
  g_autofree char *cache = NULL;

  w->work = ql_test_make_tmpdir ();
  w->runtime = g_build_filename (w->work, "rt", NULL);
  g_assert_cmpint (g_mkdir (w->runtime, 0700), ==, 0);
  w->base = g_build_filename (w->runtime, "qlaunch", NULL);
  if (setpriv == NULL)
    return;

  g_assert_cmpint (chown (w->work, NOBODY, NOBODY), ==, 0);
  g_assert_cmpint (chown (w->runtime, NOBODY, NOBODY), ==, 0);
  w->bin_dir = ql_test_make_tmpdir ();
  g_assert_cmpint (g_chmod (w->bin_dir, 0755), ==, 0);
  cache = g_build_filename (w->work, "cache", NULL);
  g_assert_null (strchr (w->work, '\''));
  g_assert_null (strchr (qlaunch_bin, '\''));
  {
    g_autofree char *wrapper = g_build_filename (w->bin_dir, "qlaunch-as-nobody", NULL);
    g_autofree char *text = g_strdup_printf ("#!/bin/sh\n"
                                             "exec '%s' --reuid=%d --regid=%d --clear-groups --pdeathsig KILL -- "
                                             "env HOME='%s' XDG_RUNTIME_DIR='%s' QLAUNCH_CACHE_DIR='%s' '%s' \"$@\"\n",
                                             setpriv, NOBODY, NOBODY, w->work, w->runtime, cache, qlaunch_bin);
    g_autoptr(GError) error = NULL;

    g_file_set_contents (wrapper, text, -1, &error);
    g_assert_no_error (error);
    g_assert_cmpint (g_chmod (wrapper, 0755), ==, 0);
    g_setenv ("QLAUNCH_BIN", wrapper, TRUE);
  }
}

static gboolean
skip_unless_ready (gboolean    need_setpriv,
                   HostRoute  *route)
{
  g_autofree char *passt = g_find_program_in_path ("passt");
  g_autofree char *setpriv = g_find_program_in_path ("setpriv");

  if (ql_test_guest_dir () == NULL)
    {
      g_test_skip ("no test guest in QLAUNCH_GUEST_DIR (meson compile -C BUILDDIR guest)");
      return TRUE;
    }
  if (passt == NULL)
    {
      g_test_skip ("no passt in PATH (Debian: apt install passt)");
      return TRUE;
    }
  if (getuid () != 0 || (need_setpriv && setpriv == NULL))
    {
      g_test_skip ("needs root (and setpriv) to run as nobody and as root");
      return TRUE;
    }
  if (!host_route_read (route))
    {
      g_test_skip ("no IPv4 default route: passt takes the guest's address from it");
      return TRUE;
    }
  if (need_setpriv && !ql_test_uid_can_run (NOBODY, g_getenv ("QLAUNCH_BIN")))
    {
      g_test_skip ("uid 65534 cannot run the built qlaunch (a directory above the build tree is "
                   "private): this case runs it as that user");
      return TRUE;
    }
  return FALSE;
}

/* The hot-plugged card, connected: the same lease on its own interface
 * (the first one taken down, so that the guest's replies leave through
 * the second: both get the host's address) and a second host port to the
 * server; then `qlaunch unplug`, and its passt ends with QEMU's
 * connection. */
static void
test_hot_plugged (QlTestGuest     *guest,
                  const char      *qmp,
                  const char      *iface,
                  guint            port2,
                  const char      *marker,
                  const char      *needle2,
                  const HostRoute *route)
{
  g_autofree char *iface2 = ql_test_guest_interface (guest, MAC2, COMMAND_TIMEOUT_S);
  g_autofree char *command = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *lease2 = NULL;
  g_autofree char *expected = NULL;
  int status;

  g_assert_cmpstr (iface2, !=, iface);
  command = g_strdup_printf ("ip -4 addr flush dev %s && ip link set %s down", iface, iface);
  out = shell_ok (guest, command);
  lease2 = guest_dhcp (guest, iface2);
  expected = g_strdup_printf ("%s %s router=%s dns=" DNS, iface2, route->address, route->gateway);
  g_assert_cmpstr (lease2, ==, expected);
  http_expect_marker (port2, marker);
  {
    const char *args[] = { "--plugin-dir", g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"), "unplug", qmp, "nic1", NULL };

    g_clear_pointer (&out, g_free);
    status = ql_test_run_cli (args, &out, &err);
    if (status != 0)
      g_error ("unplug failed (%d): %s", status, err);
  }
  g_assert_true (ql_test_wait_processes_gone (NULL, needle2, 5000));
}

static void
test_unprivileged (void)
{
  g_auto(HostRoute) route = { 0 };
  g_auto(World) w = { 0 };
  g_autofree char *setpriv = g_find_program_in_path ("setpriv");
  g_autoptr(QlTestGuest) guest = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *vm_text = NULL;
  g_autofree char *iface = NULL;
  g_autofree char *lease = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *marker = NULL;
  g_autofree char *command = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *spec = NULL;
  g_autofree char *needle1 = NULL;
  g_autofree char *needle2 = NULL;
  const char *qmp;
  GPid launcher, passt, qemu, hot_passt;
  guint port, port2;
  int status;
  gint64 start = g_get_monotonic_time ();

  if (skip_unless_ready (TRUE, &route))
    return;
  world_init (&w, setpriv);
  g_test_message ("host: default route via %s on %s (%s)", route.gateway, route.iface, route.address);

  port = ql_test_free_port (SOCK_STREAM);
  vm_text = g_strdup_printf ("[machine]\ntype = pc\n"
                             "[qmp q]\ntype = unix\npath = qmp.sock\nserver = true\nno-wait = true\n"
                             "[device nic0]\ntype = net\nnet-type = passt\n"
                             "mac-address = " MAC "\n"
                             "dns = " DNS "\nipv6 = false\n"
                             "host-forwards = tcp:127.0.0.1:%u-:%d\n"
                             "rom-file =\n",
                             port, GUEST_PORT);
  guest = ql_test_guest_new (w.work, vm_text, "shell", NULL);
  ql_test_guest_use_run (guest, NULL);
  g_assert_true (ql_test_guest_start (guest));
  launcher = ql_test_guest_get_pid (guest);

  /* passt listens first, then QEMU starts; both children of qlaunch run,
   * all three nobody. */
  passt = pid_said (guest, "passt of device 'nic0' started");
  qemu = pid_said (guest, "QEMU started");
  {
    g_autofree char *now = ql_test_guest_get_stderr (guest);

    g_assert_true (strstr (now, "passt of device 'nic0' started") < strstr (now, "QEMU started"));
  }
  g_assert_cmpint (ql_test_parent_of (passt), ==, launcher);
  g_assert_cmpint (ql_test_parent_of (qemu), ==, launcher);
  for (guint i = 0; i < 3; i++)
    {
      GPid pid = i == 0 ? launcher : i == 1 ? passt : qemu;
      g_autofree char *uid = ql_test_proc_status (pid, "Uid");
      g_autofree char *gid = ql_test_proc_status (pid, "Gid");
      g_autofree char *groups = ql_test_proc_status (pid, "Groups");

      g_test_message ("pid %d: Uid %s, Gid %s, Groups '%s'", (int) pid, uid, gid, groups);
      g_assert_cmpstr (uid, ==, "65534 65534 65534 65534");
      g_assert_cmpstr (gid, ==, "65534 65534 65534 65534");
      g_assert_cmpstr (groups, ==, "");
    }
  /* One runtime directory, nobody's, with passt's socket in it. */
  needle1 = g_strdup_printf ("%s/", w.base);
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 1);

  if (!ql_test_guest_wait_for_shell (guest, BOOT_TIMEOUT_S, &error))
    g_error ("no shell: %s\nstderr: %s", error->message, ql_test_guest_get_stderr (guest));
  g_test_message ("guest shell after %.1f s", (g_get_monotonic_time () - start) / 1e6);

  /* DHCP: the host's address, prefix and gateway; the card's dns. */
  iface = ql_test_guest_interface (guest, MAC, COMMAND_TIMEOUT_S);
  lease = guest_dhcp (guest, iface);
  expected = g_strdup_printf ("%s %s router=%s dns=" DNS, iface, route.address, route.gateway);
  g_assert_cmpstr (lease, ==, expected);

  /* A server in the guest, reached from the host through the forward. */
  marker = g_strdup_printf ("QLPASST-%08x%08x", g_random_int (), g_random_int ());
  command = g_strdup_printf ("mkdir -p /tmp/www && echo %s > /tmp/www/marker.txt && httpd -p %d -h /tmp/www",
                             marker, GUEST_PORT);
  out = shell_ok (guest, command);
  http_expect_marker (port, marker);

  /* Hot-plug a second passt card: its passt runs on after `qlaunch
   * hotplug` exits. */
  qmp = ql_test_guest_get_qmp_path (guest);
  port2 = ql_test_free_port (SOCK_STREAM);
  spec = g_strdup_printf ("net,id=nic1,net-type=passt,mac-address=" MAC2 ",ipv6=false,dns=" DNS ","
                          "rom-file=,host-forwards=tcp:127.0.0.1:%u-:%d", port2, GUEST_PORT);
  {
    const char *args[] = { "--plugin-dir", g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"), "hotplug", qmp, "-d", spec, NULL };

    g_clear_pointer (&out, g_free);
    status = ql_test_run_cli (args, &out, &err);
    if (status != 0)
      g_error ("hotplug failed (%d): %s", status, err);
    g_clear_pointer (&err, g_free);
  }
  g_assert_nonnull (strstr (out, "hotplugged nic1"));
  needle2 = g_strdup_printf ("%s/nic1.", w.base);
  {
    g_autoptr(GArray) hot = ql_test_find_processes (NULL, needle2);

    g_assert_cmpuint (hot->len, ==, 1);
    hot_passt = g_array_index (hot, GPid, 0);
    g_assert_cmpint (ql_test_parent_of (hot_passt), !=, launcher);
  }
  /* QEMU 7.2 connects the stream after netdev_add returned: qlaunch
   * hotplug waits until passt has accepted it before it removes passt's
   * socket and returns, so the card is connected by now. */
  g_assert_true (wait_netdev_connected (qmp, "nic1"));
  test_hot_plugged (guest, qmp, iface, port2, marker, needle2, &route);

  /* passt of nic0 dies: the VM fails, naming the device and the helper. */
  g_assert_cmpint (kill (passt, SIGKILL), ==, 0);
  result = ql_test_guest_wait (guest);
  g_test_message ("qlaunch run's stderr:\n%s", result->qemu_stderr);
  g_assert_nonnull (strstr (result->qemu_stderr, "qlaunch: device 'nic0': helper passt"));
  g_assert_nonnull (strstr (result->qemu_stderr, "was killed by signal 9"));
  g_assert_false (ql_test_pid_alive (qemu));
  g_assert_false (ql_test_pid_alive (launcher));
  g_assert_true (ql_test_wait_processes_gone (NULL, needle1, 2000));
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 0);
  g_test_message ("whole test %.1f s", (g_get_monotonic_time () - start) / 1e6);
}

static void
test_qemu_killed (void)
{
  g_auto(HostRoute) route = { 0 };
  g_auto(World) w = { 0 };
  g_autoptr(GSubprocess) run = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *vm_file = NULL;
  g_autofree char *vm_text = NULL;
  g_autofree char *env_runtime = NULL;
  g_autofree char *err = NULL;
  g_autofree char *needle = NULL;
  g_autofree char *listen = NULL;
  g_autoptr(GArray) passts = NULL;
  g_autoptr(GArray) qemus = NULL;
  GPid passt, qemu;
  guint port;
  gint64 killed_at;
  gboolean gone = FALSE;

  if (skip_unless_ready (FALSE, &route))
    return;
  world_init (&w, NULL);
  port = ql_test_free_port (SOCK_STREAM);
  vm_file = g_build_filename (w.work, "stopped.vm", NULL);
  vm_text = g_strdup_printf ("[vm]\nname = passt-root\n"
                             "[machine]\ntype = q35\nacceleration = tcg\n"
                             "[memory]\nsize = 128M\n"
                             "[knobs]\nno-defaults = true\nno-user-config = true\nno-graphic = true\nstopped = true\n"
                             "[device nic0]\ntype = net\nnet-type = passt\n"
                             "host-forwards = tcp:127.0.0.1:%u-:22\n",
                             port);
  g_file_set_contents (vm_file, vm_text, -1, &error);
  g_assert_no_error (error);
  env_runtime = g_strdup_printf ("XDG_RUNTIME_DIR=%s", w.runtime);
  {
    const char *argv[] = { "env", env_runtime, qlaunch_bin, "--plugin-dir", g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"),
                           "run", vm_file, NULL };

    run = ql_test_spawn (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
    g_assert_no_error (error);
  }

  /* passt (root's uid, kept by --runas) listens on the forward; QEMU
   * connected to it. */
  needle = g_strdup_printf ("%s/", w.base);
  listen = g_strdup_printf ("127.0.0.1:%u", port);
  for (gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
       g_get_monotonic_time () < deadline; g_usleep (50 * 1000))
    {
      g_clear_pointer (&passts, g_array_unref);
      g_clear_pointer (&qemus, g_array_unref);
      passts = ql_test_find_processes (NULL, needle);
      qemus = ql_test_find_processes (NULL, "guest=passt-root");
      if (passts->len >= 2 && qemus->len == 1)
        break;
    }
  g_assert_nonnull (qemus);
  g_assert_cmpuint (qemus->len, ==, 1);
  qemu = g_array_index (qemus, GPid, 0);
  passt = 0;
  for (guint i = 0; i < passts->len; i++)
    if (g_array_index (passts, GPid, i) != qemu)
      passt = g_array_index (passts, GPid, i);
  g_assert_cmpint (passt, >, 0);
  {
    g_autofree char *uid = ql_test_proc_status (passt, "Uid");

    g_assert_cmpstr (uid, ==, "0 0 0 0");
  }
  {
    g_autoptr(GSocketClient) client = g_socket_client_new ();
    g_autoptr(GSocketConnection) connection = g_socket_client_connect_to_host (client, listen, 0, NULL, &error);

    g_assert_no_error (error);
    g_assert_nonnull (connection);
  }

  g_assert_cmpint (kill (qemu, SIGKILL), ==, 0);
  killed_at = g_get_monotonic_time ();
  while (g_get_monotonic_time () - killed_at < 2 * G_USEC_PER_SEC)
    {
      if (!ql_test_pid_alive (passt))
        {
          gone = TRUE;
          break;
        }
      g_usleep (10 * 1000);
    }
  g_test_message ("passt gone %.0f ms after SIGKILL of QEMU", (g_get_monotonic_time () - killed_at) / 1000.0);
  g_assert_true (gone);
  g_subprocess_communicate_utf8 (run, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  g_test_message ("qlaunch run's stderr:\n%s", err);
  g_assert_true (g_subprocess_get_if_exited (run));
  g_assert_cmpint (g_subprocess_get_exit_status (run), !=, 0);
  g_assert_nonnull (strstr (err, "was killed by SIGKILL"));
  g_assert_true (ql_test_wait_processes_gone (NULL, needle, 2000));
  g_assert_cmpuint (ql_test_count_entries (w.base), ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  qlaunch_bin = g_strdup (g_getenv ("QLAUNCH_BIN"));
  g_assert_nonnull (qlaunch_bin);
  /* The nobody test first: it replaces QLAUNCH_BIN before any thread. */
  g_test_add_func ("/passt-guest/unprivileged", test_unprivileged);
  g_test_add_func ("/passt-guest/qemu-killed", test_qemu_killed);
  return g_test_run ();
}
