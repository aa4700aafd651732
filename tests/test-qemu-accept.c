/* Suite qemu: real QEMU 7.2 (TCG) accepts the argv `qlaunch args` prints,
 * every device exists with the configured properties (checked over QMP),
 * a file name with commas reaches QEMU as one value, and QEMU prints no
 * warning at all. */
#include "ql-test-net.h"
#include "ql-test-util.h"
#include "ql-test-qmp.h"

#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

typedef struct
{
  char *dir;
  GSubprocess *qemu;
  QlTestQmp *qmp;
  GInputStream *stderr_stream;
} Vm;

static void
run_or_die (const char * const *argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_NONE, &error);

  g_assert_no_error (error);
  g_subprocess_wait_check (p, NULL, &error);
  g_assert_no_error (error);
}

static void
make_qcow2 (const char *path)
{
  const char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", path, "16M", NULL };

  run_or_die (argv);
}

/* Runs `qlaunch args --format json` on @vm_text and starts QEMU with it. */
static void
vm_start (Vm         *vm,
          const char *vm_text)
{
  g_autofree char *vm_file = g_build_filename (vm->dir, "test.vm", NULL);
  g_autofree char *qmp_path = g_build_filename (vm->dir, "qmp.sock", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (vm_file, vm_text, -1, NULL));
  vm->qemu = ql_test_qemu_start_vm_file (vm_file);
  vm->qmp = ql_test_qmp_connect (qmp_path, 20000, &error);
  if (vm->qmp == NULL)
    {
      g_autofree char *stderr_text = NULL;

      g_subprocess_communicate_utf8 (vm->qemu, NULL, NULL, NULL, &stderr_text, NULL);
      g_printerr ("QEMU stderr: %s\n", stderr_text);
    }
  g_assert_no_error (error);
}

/* Quits QEMU over QMP; asserts a clean exit and an empty stderr (no
 * deprecation warning, no warning of any kind). */
static void
vm_quit (Vm *vm)
{
  ql_test_qemu_quit_clean (vm->qmp, vm->qemu);
}

static void
vm_clear (Vm *vm)
{
  g_clear_pointer (&vm->qmp, ql_test_qmp_free);
  if (vm->qemu != NULL)
    {
      g_subprocess_force_exit (vm->qemu);
      g_subprocess_wait (vm->qemu, NULL, NULL);
      g_clear_object (&vm->qemu);
    }
  if (vm->dir != NULL)
    ql_test_rm_rf (vm->dir);
  g_clear_pointer (&vm->dir, g_free);
}

static JsonNode *
qmp (Vm         *vm,
     const char *command,
     const char *arg_name,
     const char *arg_value)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) args = json_object_new ();
  JsonNode *reply;

  if (arg_name != NULL)
    json_object_set_string_member (args, arg_name, arg_value);
  reply = ql_test_qmp_execute (vm->qmp, command, arg_name != NULL ? args : NULL, &error);
  g_assert_no_error (error);
  return reply;
}

static char *
hmp (Vm         *vm,
     const char *command)
{
  g_autoptr(JsonNode) reply = qmp (vm, "human-monitor-command", "command-line", command);

  return g_strdup (json_node_get_string (reply));
}

static JsonNode *
qom_get (Vm         *vm,
         const char *path,
         const char *property)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) args = json_object_new ();
  JsonNode *reply;

  json_object_set_string_member (args, "path", path);
  json_object_set_string_member (args, "property", property);
  reply = ql_test_qmp_execute (vm->qmp, "qom-get", args, &error);
  g_assert_no_error (error);
  return reply;
}

static JsonObject *
find_block (JsonArray  *blocks,
            const char *device)
{
  for (guint i = 0; i < json_array_get_length (blocks); i++)
    {
      JsonObject *b = json_array_get_object_element (blocks, i);

      if (g_strcmp0 (json_object_get_string_member (b, "device"), device) == 0)
        return b;
    }
  return NULL;
}

static gboolean
can_make_taps (void)
{
  return getuid () == 0 && g_file_test ("/dev/net/tun", G_FILE_TEST_EXISTS);
}

static void
test_tap_multiqueue_scsi_iothread_disks (void)
{
  Vm vm = { 0 };
  g_autofree char *tap = g_strdup_printf ("qlt%u", (guint) getpid () % 100000);
  g_autofree char *injected = NULL;
  g_autofree char *plain = NULL;
  g_autofree char *comma = NULL;
  g_autofree char *text = NULL;
  g_autofree char *network = NULL;
  g_autoptr(JsonNode) mac = NULL;
  g_autoptr(JsonNode) vectors = NULL;
  g_autoptr(JsonNode) mq = NULL;
  g_autoptr(JsonNode) iothread = NULL;
  g_autoptr(JsonNode) blocks = NULL;
  g_autoptr(JsonNode) iothreads = NULL;
  JsonObject *b;

  if (!can_make_taps ())
    {
      g_test_skip ("needs root and /dev/net/tun to create a tap");
      return;
    }

  vm.dir = ql_test_make_tmpdir ();
  injected = g_build_filename (vm.dir, "x,readonly=on.qcow2", NULL);
  plain = g_build_filename (vm.dir, "x", NULL);
  comma = g_build_filename (vm.dir, "a,b.qcow2", NULL);
  make_qcow2 (injected);
  make_qcow2 (plain);       /* what an unescaped ",readonly=on" would open */
  make_qcow2 (comma);

  text = g_strdup_printf ("[vm]\nname = accept,test\ncpu-model = max\n"
                          "[machine]\ntype = q35\nacceleration = tcg\n"
                          "[memory]\nsize = 128M\n"
                          "[knobs]\nno-defaults = true\nno-user-config = true\nstopped = true\n"
                          "[qmp control]\npath = qmp.sock\n"
                          "[iothread io0]\n"
                          "[device net0]\ntype = net\nif-name = %s\nqueues = 2\nmac-address = 02:00:ca:fe:00:07\n"
                          "[device scsi0]\ntype = scsi-controller\nio-thread = io0\n"
                          "[device disk0]\ntype = block\ninterface = scsi\nbus = scsi0.0\nfile = x,readonly=on.qcow2\n"
                          "[device disk1]\ntype = block\nfile = a,b.qcow2\nformat = qcow2\n",
                          tap);
  vm_start (&vm, text);

  mac = qom_get (&vm, "/machine/peripheral/net0", "mac");
  g_assert_cmpstr (json_node_get_string (mac), ==, "02:00:ca:fe:00:07");
  vectors = qom_get (&vm, "/machine/peripheral/net0", "vectors");
  g_assert_cmpint (json_node_get_int (vectors), ==, 6);
  mq = qom_get (&vm, "/machine/peripheral/net0/virtio-backend", "mq");
  g_assert_true (json_node_get_boolean (mq));
  network = hmp (&vm, "info network");
  /* One tap queue per line: net0.0 and net0.1 (or index=0/1 on net0). */
  g_assert_nonnull (strstr (network, tap));
  g_assert_nonnull (strstr (network, "index=1"));

  iothread = qom_get (&vm, "/machine/peripheral/scsi0/virtio-backend", "iothread");
  g_assert_true (g_str_has_suffix (json_node_get_string (iothread), "io0"));
  iothreads = qmp (&vm, "query-iothreads", NULL, NULL);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (iothreads)), ==, 1);

  blocks = qmp (&vm, "query-block", NULL, NULL);
  b = find_block (json_node_get_array (blocks), "disk0");
  g_assert_nonnull (b);
  b = json_object_get_object_member (b, "inserted");
  /* The exact file, read-write: ",readonly=on" was not injected. */
  g_assert_cmpstr (json_object_get_string_member (b, "file"), ==, injected);
  g_assert_false (json_object_get_boolean_member (b, "ro"));
  g_assert_cmpstr (json_object_get_string_member (b, "drv"), ==, "qcow2");
  b = json_object_get_object_member (find_block (json_node_get_array (blocks), "disk1"), "inserted");
  g_assert_cmpstr (json_object_get_string_member (b, "file"), ==, comma);

  {
    g_autofree char *qtree = hmp (&vm, "info qtree");

    g_assert_nonnull (strstr (qtree, "dev: scsi-hd, id \"disk0\""));
    g_assert_nonnull (strstr (qtree, "dev: virtio-blk-pci, id \"disk1\""));
  }

  vm_quit (&vm);
  vm_clear (&vm);
}

static void
test_knobs_and_memory_backends (void)
{
  const char *knobs[] = {
    "no-defaults = true\nstopped = true\nmem-prealloc = true\nmlock = true\nrealtime = true\n",
    "no-defaults = true\nstopped = true\nfile-backed-mem = true\nfile-backed-mem-shared = true\n",
  };
  const char *memory_path[] = { "", "path = ram.img\n" };

  for (guint k = 0; k < G_N_ELEMENTS (knobs); k++)
    {
      Vm vm = { 0 };
      g_autofree char *text = NULL;
      g_autoptr(JsonNode) memdev = NULL;
      g_autoptr(JsonNode) name = NULL;
      g_autoptr(JsonNode) status = NULL;
      JsonObject *m;

      vm.dir = ql_test_make_tmpdir ();
      text = g_strdup_printf ("[vm]\nname = knobs\nuuid = 4a5c6e1b-8a2b-4d4e-9f00-123456789abc\n"
                              "global = kvm-pit.lost_tick_policy=discard\nvga = none\n"
                              "[machine]\ntype = q35\nacceleration = tcg\noptions = usb=off,dump-guest-core=off\n"
                              "[smp]\ncpus = 2\ncores = 1\nthreads = 1\nmax-cpus = 4\n"
                              "[memory]\nsize = 128M\nslots = 2\nmax-mem = 1G\n%s"
                              "[rtc]\nbase = utc\nclock = host\ndrift-fix = slew\n"
                              "[qmp control]\npath = qmp.sock\n"
                              "[knobs]\n%s", memory_path[k], knobs[k]);
      vm_start (&vm, text);

      memdev = qmp (&vm, "query-memdev", NULL, NULL);
      g_assert_cmpuint (json_array_get_length (json_node_get_array (memdev)), ==, 1);
      m = json_array_get_object_element (json_node_get_array (memdev), 0);
      g_assert_cmpstr (json_object_get_string_member (m, "id"), ==, "dimm1");
      g_assert_cmpint (json_object_get_int_member (m, "size"), ==, 128 << 20);
      if (k == 0)
        g_assert_true (json_object_get_boolean_member (m, "prealloc"));
      else
        g_assert_true (json_object_get_boolean_member (m, "share"));
      name = qmp (&vm, "query-name", NULL, NULL);
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (name), "name"), ==, "knobs");
      status = qmp (&vm, "query-status", NULL, NULL);
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (status), "status"), ==, "prelaunch");

      vm_quit (&vm);
      vm_clear (&vm);
    }
}

/* The entropy and balloon devices: every property reaches QEMU 7.2 (read
 * back over QMP), a ',' in the backend's file name stays in the name, and
 * QEMU prints nothing on stderr. */
static void
test_rng_balloon (void)
{
  Vm vm = { 0 };
  g_autofree char *seed = NULL;
  g_autofree char *text = NULL;
  g_autoptr(JsonNode) balloon = NULL;
  static const struct
  {
    const char *path;
    const char *property;
    gint64 value;
  } numbers[] = {
    { "/machine/peripheral/rng1", "max-bytes", 1024 },
    { "/machine/peripheral/rng1", "period", 500 },
    /* max-bytes without period: QEMU 7.2's default period. */
    { "/machine/peripheral/rng3", "max-bytes", 2147483648 },
    { "/machine/peripheral/rng3", "period", 65536 },
    /* Nothing set: no limit. */
    { "/machine/peripheral/rng0", "max-bytes", G_MAXINT64 },
  };
  static const struct
  {
    const char *path;
    const char *property;
    gboolean value;
  } booleans[] = {
    { "/machine/peripheral/rng1", "disable-modern", TRUE },
    { "/machine/peripheral/rng0", "disable-modern", FALSE },
    { "/machine/peripheral/balloon0/virtio-backend", "deflate-on-oom", TRUE },
    { "/machine/peripheral/balloon0/virtio-backend", "free-page-reporting", TRUE },
    { "/machine/peripheral/balloon0", "disable-modern", FALSE },
  };

  vm.dir = ql_test_make_tmpdir ();
  seed = g_build_filename (vm.dir, "seed,filename=x", NULL);
  g_assert_true (g_file_set_contents (seed, "0123456789abcdef", -1, NULL));

  text = g_strdup ("[machine]\ntype = q35\nacceleration = tcg\n"
                   "[memory]\nsize = 256M\n"
                   "[knobs]\nno-defaults = true\nno-user-config = true\nstopped = true\n"
                   "[qmp control]\npath = qmp.sock\n"
                   "[device rng0]\ntype = rng\n"
                   "[device rng1]\ntype = rng\nbackend = builtin\nmax-bytes = 1K\nperiod = 500\n"
                   "bus = pcie.0\naddr = 5\ndisable-modern = true\n"
                   "[device rng2]\ntype = rng\nfile = seed,filename=x\n"
                   "[device rng3]\ntype = rng\nmax-bytes = 2G\n"
                   "[device balloon0]\ntype = balloon\ndeflate-on-oom = true\nfree-page-reporting = true\n"
                   "addr = 6\n");
  vm_start (&vm, text);

  for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
    {
      g_autoptr(JsonNode) v = qom_get (&vm, numbers[i].path, numbers[i].property);

      g_assert_cmpint (json_node_get_int (v), ==, numbers[i].value);
    }
  for (guint i = 0; i < G_N_ELEMENTS (booleans); i++)
    {
      g_autoptr(JsonNode) v = qom_get (&vm, booleans[i].path, booleans[i].property);

      g_assert_cmpint (json_node_get_boolean (v), ==, booleans[i].value);
    }
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *dev = g_strdup_printf ("/machine/peripheral/rng%u", i);
      g_autofree char *obj = g_strdup_printf ("/objects/rng%u", i);
      g_autoptr(JsonNode) link = qom_get (&vm, dev, "rng");
      g_autoptr(JsonNode) type = qom_get (&vm, obj, "type");

      g_assert_cmpstr (json_node_get_string (link), ==, obj);
      g_assert_cmpstr (json_node_get_string (type), ==, i == 1 ? "rng-builtin" : "rng-random");
    }
  {
    g_autoptr(JsonNode) f0 = qom_get (&vm, "/objects/rng0", "filename");
    g_autoptr(JsonNode) f2 = qom_get (&vm, "/objects/rng2", "filename");

    g_assert_cmpstr (json_node_get_string (f0), ==, "/dev/urandom");
    /* The exact file: ",filename=x" was not taken as an option. */
    g_assert_cmpstr (json_node_get_string (f2), ==, seed);
  }
  {
    g_autoptr(JsonNode) pci = qmp (&vm, "query-pci", NULL, NULL);
    JsonArray *devices = json_object_get_array_member (json_array_get_object_element (json_node_get_array (pci), 0),
                                                       "devices");
    guint found = 0;

    /* addr 5 and 6 on the root bus, as written. */
    for (guint i = 0; i < json_array_get_length (devices); i++)
      {
        JsonObject *d = json_array_get_object_element (devices, i);
        const char *qdev_id = json_object_get_string_member_with_default (d, "qdev_id", "");

        if (g_str_equal (qdev_id, "rng1"))
          {
            g_assert_cmpint (json_object_get_int_member (d, "slot"), ==, 5);
            found++;
          }
        else if (g_str_equal (qdev_id, "balloon0"))
          {
            g_assert_cmpint (json_object_get_int_member (d, "slot"), ==, 6);
            found++;
          }
      }
    g_assert_cmpuint (found, ==, 2);
  }
  balloon = qmp (&vm, "query-balloon", NULL, NULL);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (balloon), "actual"), ==, 256 << 20);

  vm_quit (&vm);
  vm_clear (&vm);
}

/* A user-mode card (no root, no tap), restricted, with two forwards on
 * free ports (host checks on: `qlaunch args` checks the ports), written as
 * a repeated hostfwd key: QEMU takes it without a word, its slirp stack
 * has the network and both forwards, and while QEMU holds the port the
 * host probe says so. (dns is refused with restrict; test-user-net-guest
 * sees it in the guest's DHCP lease.) */
static void
test_user_net_forward (void)
{
  Vm vm = { 0 };
  guint port = ql_test_free_port (SOCK_STREAM);
  guint udp_port = ql_test_free_port (SOCK_DGRAM);
  gboolean found_udp = FALSE;
  g_autoptr(QlHostProbe) probe = ql_host_probe_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) mac = NULL;
  g_autofree char *text = NULL;
  g_autofree char *network = NULL;
  g_autofree char *usernet = NULL;
  g_auto(GStrv) lines = NULL;
  gboolean found = FALSE;

  vm.dir = ql_test_make_tmpdir ();
  text = g_strdup_printf ("[vm]\nname = user-net\n"
                          "[machine]\ntype = q35\nacceleration = tcg\n"
                          "[memory]\nsize = 128M\n"
                          "[knobs]\nno-defaults = true\nno-user-config = true\nstopped = true\n"
                          "[qmp control]\npath = qmp.sock\n"
                          "[device nic0]\ntype = net\nnet-type = user\nmac-address = 52:54:00:12:34:57\n"
                          "guest-network = 10.0.5.0/24\nrestrict = true\nipv6 = false\n"
                          "hostname = qlguest\nhost-forwards = tcp:127.0.0.1:%u-:22;udp:127.0.0.1:%u-:53\n"
                          "rom-file =\n",
                          port, udp_port);
  vm_start (&vm, text);

  mac = qom_get (&vm, "/machine/peripheral/nic0", "mac");
  g_assert_cmpstr (json_node_get_string (mac), ==, "52:54:00:12:34:57");
  network = hmp (&vm, "info network");
  g_assert_nonnull (strstr (network, "type=user,net=10.0.5.0,restrict=on"));
  /* "TCP[HOST_FORWARD]  FD  127.0.0.1  PORT  10.0.5.15  22  0  0": to the
   * guest's first DHCP lease in the configured network. */
  usernet = hmp (&vm, "info usernet");
  lines = g_strsplit (usernet, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) words = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
      g_autoptr(GPtrArray) tokens = g_ptr_array_new ();

      for (guint k = 0; words[k] != NULL; k++)
        if (*words[k] != '\0')
          g_ptr_array_add (tokens, words[k]);
      if (tokens->len >= 6 && g_str_equal (g_ptr_array_index (tokens, 0), "UDP[HOST_FORWARD]"))
        {
          g_assert_cmpstr (g_ptr_array_index (tokens, 2), ==, "127.0.0.1");
          g_assert_cmpuint (g_ascii_strtoull (g_ptr_array_index (tokens, 3), NULL, 10), ==, udp_port);
          g_assert_cmpstr (g_ptr_array_index (tokens, 4), ==, "10.0.5.15");
          g_assert_cmpstr (g_ptr_array_index (tokens, 5), ==, "53");
          found_udp = TRUE;
        }
      if (tokens->len < 6 || !g_str_equal (g_ptr_array_index (tokens, 0), "TCP[HOST_FORWARD]"))
        continue;
      g_assert_cmpstr (g_ptr_array_index (tokens, 2), ==, "127.0.0.1");
      g_assert_cmpuint (g_ascii_strtoull (g_ptr_array_index (tokens, 3), NULL, 10), ==, port);
      g_assert_cmpstr (g_ptr_array_index (tokens, 4), ==, "10.0.5.15");
      g_assert_cmpstr (g_ptr_array_index (tokens, 5), ==, "22");
      found = TRUE;
    }
  if (!found || !found_udp)
    g_error ("no TCP or no UDP host forward in 'info usernet':\n%s", usernet);
  g_assert_false (ql_host_probe_port_available (probe, FALSE, "127.0.0.1", port, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);

  vm_quit (&vm);
  vm_clear (&vm);
}

/* Finds the device with @qdev_id on the root bus in query-pci; NULL when
 * it is not there. */
static JsonObject *
find_root_pci (JsonNode   *pci,
               const char *qdev_id)
{
  JsonArray *devices = json_object_get_array_member (json_array_get_object_element (json_node_get_array (pci), 0),
                                                     "devices");

  for (guint i = 0; i < json_array_get_length (devices); i++)
    {
      JsonObject *d = json_array_get_object_element (devices, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (d, "qdev_id", ""), qdev_id) == 0)
        return d;
    }
  return NULL;
}

/* intel-iommu with every key, a watchdog and a fixed vmgenid: QEMU 7.2
 * starts on the argv without a word, and reads back what was asked. */
static void
test_intel_iommu_watchdog_vmgenid (void)
{
  Vm vm = { 0 };
  g_autoptr(JsonNode) intremap = NULL;
  g_autoptr(JsonNode) caching = NULL;
  g_autoptr(JsonNode) iotlb = NULL;
  g_autoptr(JsonNode) type = NULL;
  g_autoptr(JsonNode) genid = NULL;
  g_autoptr(JsonNode) pci = NULL;
  JsonObject *wd;

  vm.dir = ql_test_make_tmpdir ();
  vm_start (&vm, "[machine]\ntype = q35\nacceleration = tcg\n"
                 "[memory]\nsize = 256M\n"
                 "[knobs]\nno-defaults = true\nno-user-config = true\nstopped = true\n"
                 "[qmp control]\npath = qmp.sock\n"
                 "[device vtd]\ntype = iommu\nintremap = on\ncaching-mode = true\ndevice-iotlb = true\n"
                 "[device rng0]\ntype = rng\n"
                 "[device wd]\ntype = watchdog\naction = poweroff\n"
                 "[device gen]\ntype = vmgenid\nguid = 324E6EAF-D1D1-4BF6-BF41-B9BB6C91FB87\n");
  type = qom_get (&vm, "/machine/peripheral/vtd", "type");
  g_assert_cmpstr (json_node_get_string (type), ==, "intel-iommu");
  intremap = qom_get (&vm, "/machine/peripheral/vtd", "intremap");
  g_assert_cmpstr (json_node_get_string (intremap), ==, "on");
  caching = qom_get (&vm, "/machine/peripheral/vtd", "caching-mode");
  g_assert_true (json_node_get_boolean (caching));
  iotlb = qom_get (&vm, "/machine/peripheral/vtd", "device-iotlb");
  g_assert_true (json_node_get_boolean (iotlb));
  genid = qmp (&vm, "query-vm-generation-id", NULL, NULL);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (genid), "guid"), ==,
                   "324e6eaf-d1d1-4bf6-bf41-b9bb6c91fb87");
  pci = qmp (&vm, "query-pci", NULL, NULL);
  wd = find_root_pci (pci, "wd");
  g_assert_nonnull (wd);
  /* Intel 6300ESB watchdog: 8086:25ab. */
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (wd, "id"), "vendor"), ==, 0x8086);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (wd, "id"), "device"), ==, 0x25ab);
  vm_quit (&vm);
  vm_clear (&vm);
}

/* virtio-iommu-pci on the root bus of q35 (beside a device that gets a
 * root port), and on pc; vmgenid with guid=auto gets a GUID of QEMU's. */
static void
test_virtio_iommu (void)
{
  static const char * const machines[] = { "q35", "pc" };

  for (guint i = 0; i < G_N_ELEMENTS (machines); i++)
    {
      Vm vm = { 0 };
      g_autofree char *text = NULL;
      g_autoptr(JsonNode) type = NULL;
      g_autoptr(JsonNode) pci = NULL;
      g_autoptr(JsonNode) genid = NULL;
      const char *guid;

      vm.dir = ql_test_make_tmpdir ();
      text = g_strdup_printf ("[machine]\ntype = %s\nacceleration = tcg\n"
                              "[memory]\nsize = 256M\n"
                              "[knobs]\nno-defaults = true\nno-user-config = true\nstopped = true\n"
                              "[qmp control]\npath = qmp.sock\n"
                              "[device rng0]\ntype = rng\n"
                              "[device viommu]\ntype = iommu\nmodel = virtio\n"
                              "[device gen]\ntype = vmgenid\n",
                              machines[i]);
      vm_start (&vm, text);
      type = qom_get (&vm, "/machine/peripheral/viommu", "type");
      g_assert_cmpstr (json_node_get_string (type), ==, "virtio-iommu-pci");
      pci = qmp (&vm, "query-pci", NULL, NULL);
      g_assert_nonnull (find_root_pci (pci, "viommu"));
      genid = qmp (&vm, "query-vm-generation-id", NULL, NULL);
      guid = json_object_get_string_member (json_node_get_object (genid), "guid");
      g_assert_true (g_uuid_string_is_valid (guid));
      g_assert_cmpstr (guid, !=, "00000000-0000-0000-0000-000000000000");
      vm_quit (&vm);
      vm_clear (&vm);
    }
}

/* qom-get that QEMU refuses: the object is absent. */
static gboolean
qom_exists (Vm         *vm,
            const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) args = json_object_new ();
  g_autoptr(JsonNode) reply = NULL;

  json_object_set_string_member (args, "path", path);
  json_object_set_string_member (args, "property", "type");
  reply = ql_test_qmp_execute (vm->qmp, "qom-get", args, &error);
  return reply != NULL && error == NULL;
}

/* The path of the child of @parent whose QOM type is @type, or NULL. */
static char *
find_child_of_type (Vm         *vm,
                    const char *parent,
                    const char *type)
{
  g_autoptr(JsonNode) list = qmp (vm, "qom-list", "path", parent);
  JsonArray *array = json_node_get_array (list);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *o = json_array_get_object_element (array, i);

      if (g_strcmp0 (json_object_get_string_member (o, "type"), type) == 0)
        return g_strdup_printf ("%s/%s", parent, json_object_get_string_member (o, "name"));
    }
  return NULL;
}

/* The escape hatch on a real QEMU: a device's qemu-set reaches its
 * -device (typed by the probed QEMU: mq is a bool, host_mtu a uint16) and
 * its -netdev; [qemu] adds a device, replaces one in place and removes
 * another, which QEMU then does not have. */
static void
test_escape_hatch (void)
{
  Vm vm = { 0 };
  g_autoptr(JsonNode) mq = NULL;
  g_autoptr(JsonNode) mtu = NULL;
  g_autoptr(JsonNode) period9 = NULL;
  g_autoptr(JsonNode) period0 = NULL;
  g_autoptr(JsonNode) bytes0 = NULL;
  g_autoptr(JsonNode) s3 = NULL;
  g_autofree char *network = NULL;
  g_autofree char *lpc = NULL;

  vm.dir = ql_test_make_tmpdir ();
  vm_start (&vm,
            "[machine]\ntype = q35\nacceleration = tcg\n"
            "[memory]\nsize = 256M\n"
            "[knobs]\nno-defaults = true\nno-user-config = true\nstopped = true\n"
            "[qmp control]\npath = qmp.sock\n"
            "[device net0]\ntype = net\nnet-type = user\n"
            "qemu-set = mq=on,host_mtu=1400,netdev.domainname=qlaunch.test\n"
            "[device rng0]\ntype = rng\nbackend = builtin\n"
            "[device balloon0]\ntype = balloon\n"
            "[qemu]\n"
            "add = -device virtio-rng-pci,id=rng9,max-bytes=1024,period=1000;"
            "-global ICH9-LPC.disable_s3=1\n"
            "remove = -device id=balloon0\n"
            "replace = -device virtio-rng-pci,id=rng0,rng=rng0,max-bytes=2048,period=500\n");
  mq = qom_get (&vm, "/machine/peripheral/net0", "mq");
  g_assert_true (json_node_get_boolean (mq));
  mtu = qom_get (&vm, "/machine/peripheral/net0", "host_mtu");
  g_assert_cmpint (json_node_get_int (mtu), ==, 1400);
  period9 = qom_get (&vm, "/machine/peripheral/rng9", "period");
  g_assert_cmpint (json_node_get_int (period9), ==, 1000);
  period0 = qom_get (&vm, "/machine/peripheral/rng0", "period");
  g_assert_cmpint (json_node_get_int (period0), ==, 500);
  bytes0 = qom_get (&vm, "/machine/peripheral/rng0", "max-bytes");
  g_assert_cmpint (json_node_get_int (bytes0), ==, 2048);
  g_assert_true (qom_exists (&vm, "/machine/peripheral/rng0"));
  g_assert_false (qom_exists (&vm, "/machine/peripheral/balloon0"));
  lpc = find_child_of_type (&vm, "/machine/unattached", "child<ICH9-LPC>");
  g_assert_nonnull (lpc);
  s3 = qom_get (&vm, lpc, "disable_s3");
  g_assert_cmpint (json_node_get_int (s3), ==, 1);
  /* The -netdev got domainname: QEMU's user stack reports it. */
  network = hmp (&vm, "info usernet");
  g_assert_nonnull (network);
  vm_quit (&vm);
  vm_clear (&vm);
}

/* Every escape-hatch golden case that builds (tests/golden/qemu-*.vm with
 * a .args file, but the block one, whose disk is not there; a tap one only
 * where taps can be made) is accepted by QEMU 7.2 through `qlaunch args`
 * with host checks: no warning at all. */
static void
test_escape_hatch_goldens (void)
{
  g_autofree char *golden = g_build_filename (g_getenv ("QLAUNCH_TEST_SRCDIR"), "golden", NULL);
  g_autoptr(GDir) dir = g_dir_open (golden, 0, NULL);
  const char *name;
  guint started = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      Vm vm = { 0 };
      g_autofree char *stem = NULL;
      g_autofree char *args = NULL;
      g_autofree char *path = NULL;
      g_autofree char *text = NULL;
      g_autofree char *full = NULL;

      if (!g_str_has_prefix (name, "qemu-") || !g_str_has_suffix (name, ".vm")
          || g_str_equal (name, "qemu-set-block.vm"))
        continue;
      stem = g_strndup (name, strlen (name) - 3);
      args = g_strdup_printf ("%s/%s.args", golden, stem);
      if (!g_file_test (args, G_FILE_TEST_EXISTS))
        continue;
      path = g_build_filename (golden, name, NULL);
      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      if (strstr (text, "-netdev tap") != NULL && !can_make_taps ())
        {
          g_test_message ("%s: skipped: QEMU cannot make a tap device here (not root, or no /dev/net/tun)", name);
          continue;
        }
      g_test_message ("%s", name);
      full = g_strconcat (text, "[qmp control]\npath = qmp.sock\n", NULL);
      vm.dir = ql_test_make_tmpdir ();
      vm_start (&vm, full);
      vm_quit (&vm);
      vm_clear (&vm);
      started++;
    }
  g_assert_cmpuint (started, >=, 5);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/qemu/tap-multiqueue-scsi-iothread-disks", test_tap_multiqueue_scsi_iothread_disks);
  g_test_add_func ("/qemu/knobs-and-memory-backends", test_knobs_and_memory_backends);
  g_test_add_func ("/qemu/rng-balloon", test_rng_balloon);
  g_test_add_func ("/qemu/intel-iommu-watchdog-vmgenid", test_intel_iommu_watchdog_vmgenid);
  g_test_add_func ("/qemu/virtio-iommu", test_virtio_iommu);
  g_test_add_func ("/qemu/user-net-forward", test_user_net_forward);
  g_test_add_func ("/qemu/escape-hatch", test_escape_hatch);
  g_test_add_func ("/qemu/escape-hatch-goldens", test_escape_hatch_goldens);
  return g_test_run ();
}
