/* qlaunch tests — the `net` device: every rule, every output form. */
#include "ql-device-test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* A fake host where /dev/vhost-net and the given fds are usable. */
static QlHostProbe *
fake_host_new (gboolean    vhost_net,
               const int  *open_fds,
               guint       n_open_fds)
{
  QlHostProbe *probe = ql_fake_host_probe_new ();

  ql_fake_host_probe_set_device_usable (probe, "/dev/vhost-net", vhost_net);
  for (guint i = 0; i < n_open_fds; i++)
    ql_fake_host_probe_set_fd_open (probe, open_fds[i], TRUE);
  return probe;
}

/* ---- output ---- */

static void
test_tap_defaults (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "net", "net0", "if-name", "tap0", NULL);
  g_autofree char *driver = NULL;
  g_autofree char *script = NULL;
  g_autofree char *down_script = NULL;
  int net_type = -1;
  guint queues = 1;

  g_object_get (dev, "net-type", &net_type, "driver", &driver,
                "script", &script, "down-script", &down_script,
                "queues", &queues, NULL);
  g_assert_cmpint (net_type, ==, 0);
  g_assert_cmpstr (driver, ==, "virtio-net-pci");
  g_assert_cmpstr (script, ==, "no");
  g_assert_cmpstr (down_script, ==, "no");
  g_assert_cmpuint (queues, ==, 0);

  test_assert_device_lines (vm,
                            "-netdev\n"
                            "tap,id=net0,ifname=tap0,script=no,downscript=no\n"
                            "-device\n"
                            "virtio-net-pci,id=net0,netdev=net0");
  test_assert_fds (vm, NULL, 0);
}

static void
test_tap_all_device_options (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "net", "net0",
                   "if-name", "tap0",
                   "mac-address", "02:00:ca:fe:00:01",
                   "bus", "pcie.0",
                   "addr", "1f.2",
                   "disable-modern", "true",
                   "rom-file", "",
                   NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "tap,id=net0,ifname=tap0,script=no,downscript=no\n"
                            "-device\n"
                            "virtio-net-pci,id=net0,netdev=net0,mac=02:00:ca:fe:00:01,bus=pcie.0,addr=1f.2,disable-modern=on,romfile=");
}

static void
test_tap_scripts_and_rom (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "net", "net0",
                   "if-name", "tap0",
                   "script", "/etc/qemu-ifup",
                   "down-script", "/etc/qemu-ifdown",
                   "rom-file", "efi-virtio.rom",
                   "mac-address", "52:54:00:AB:cd:EF",
                   NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "tap,id=net0,ifname=tap0,script=/etc/qemu-ifup,downscript=/etc/qemu-ifdown\n"
                            "-device\n"
                            "virtio-net-pci,id=net0,netdev=net0,mac=52:54:00:AB:cd:EF,romfile=efi-virtio.rom");
}

/* Scripts and ROM files are host paths: relative to the VM file's
 * directory, and in a -d spec to the current directory, never left for
 * QEMU to find in its own; 'no' and a bare ROM name (QEMU's own file) stay. */
static void
test_paths_resolved (void)
{
  g_autoptr(QlVmConfig) vm =
    ql_test_load_vm (test_registry, "[device net0]\ntype = net\nif-name = tap0\nscript = ifup.sh\n"
                     "down-script = ./down/ifdown.sh\nrom-file = ./pxe.rom\n"
                     "[device net1]\ntype = net\nif-name = tap1\nrom-file = efi-virtio.rom\n");
  g_autoptr(GError) error = NULL;
  g_autoptr(QlDevice) spec = ql_registry_create_device_from_spec (test_registry,
                                                                  "net,id=net2,if-name=tap2,script=up.sh,down-script=no",
                                                                  &error);
  g_autofree char *cwd = g_get_current_dir ();
  g_autofree char *up = g_build_filename (cwd, "up.sh", NULL);
  g_autofree char *script = NULL, *down = NULL;
  g_autofree char *text = ql_test_argv_string (vm, &error);

  g_assert_no_error (error);
  g_assert_nonnull (strstr (text, "script=/base/ifup.sh,downscript=/base/down/ifdown.sh\n"));
  g_assert_nonnull (strstr (text, "romfile=/base/pxe.rom"));
  g_assert_nonnull (strstr (text, "romfile=efi-virtio.rom"));
  g_object_get (spec, "script", &script, "down-script", &down, NULL);
  g_assert_cmpstr (script, ==, up);
  g_assert_cmpstr (down, ==, "no");
}

static void
test_tap_queues (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "net", "net0", "if-name", "tap0", "queues", "4", NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "tap,id=net0,ifname=tap0,script=no,downscript=no,queues=4\n"
                            "-device\n"
                            "virtio-net-pci,id=net0,netdev=net0,mq=on,vectors=10");
}

static void
test_tap_one_queue (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* queues=1 is written as nothing: one queue is QEMU's default. */
  test_add_device (vm, "net", "net0", "if-name", "tap0", "queues", "1", NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "tap,id=net0,ifname=tap0,script=no,downscript=no\n"
                            "-device\n"
                            "virtio-net-pci,id=net0,netdev=net0");
}

static void
test_fds (void)
{
  static const int fds[] = { 5, 6 };
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "net", "net0", "fds", "5;6",
                   "mac-address", "02:00:ca:fe:00:01", NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "tap,id=net0,fds=3:4\n"
                            "-device\n"
                            "virtio-net-pci,id=net0,netdev=net0,mac=02:00:ca:fe:00:01,mq=on,vectors=6");
  test_assert_fds (vm, fds, G_N_ELEMENTS (fds));
}

static void
test_fds_explicit_queues (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* queues equal to the number of fds is allowed and not written. */
  test_add_device (vm, "net", "net0", "fds", "5;6", "queues", "2", NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "tap,id=net0,fds=3:4\n"
                            "-device\n"
                            "virtio-net-pci,id=net0,netdev=net0,mq=on,vectors=6");
}

static void
test_single_fd (void)
{
  static const int fds[] = { 7 };
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* Unlike govmm, one fd is one queue: no mq=on. */
  test_add_device (vm, "net", "net0", "fds", "7", NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "tap,id=net0,fds=3\n"
                            "-device\n"
                            "virtio-net-pci,id=net0,netdev=net0");
  test_assert_fds (vm, fds, G_N_ELEMENTS (fds));
}

static void
test_fds_vhost_fds (void)
{
  static const int fds[] = { 10, 11, 20, 21 };
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "net", "net0",
                   "net-type", "macvtap",
                   "fds", "10;11",
                   "vhost", "true",
                   "vhost-fds", "20;21",
                   NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "tap,id=net0,fds=3:4,vhost=on,vhostfds=5:6\n"
                            "-device\n"
                            "virtio-net-pci,id=net0,netdev=net0,mq=on,vectors=6");
  test_assert_fds (vm, fds, G_N_ELEMENTS (fds));
}

static void
test_fds_numbering_across_devices (void)
{
  static const int fds[] = { 10, 11, 20, 21, 30 };
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "net", "net0", "fds", "10;11",
                   "vhost", "true", "vhost-fds", "20;21", NULL);
  test_add_device (vm, "net", "net1", "net-type", "ipvtap", "fds", "30", NULL);
  test_add_device (vm, "net", "net2", "net-type", "vethtap",
                   "if-name", "veth-tap2", NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "tap,id=net0,fds=3:4,vhost=on,vhostfds=5:6\n"
                            "-device\n"
                            "virtio-net-pci,id=net0,netdev=net0,mq=on,vectors=6\n"
                            "-netdev\n"
                            "tap,id=net1,fds=7\n"
                            "-device\n"
                            "virtio-net-pci,id=net1,netdev=net1\n"
                            "-netdev\n"
                            "tap,id=net2,ifname=veth-tap2,script=no,downscript=no\n"
                            "-device\n"
                            "virtio-net-pci,id=net2,netdev=net2");
  test_assert_fds (vm, fds, G_N_ELEMENTS (fds));
}

static void
test_vhost_by_name (void)
{
  g_autoptr(QlHostProbe) probe = fake_host_new (TRUE, NULL, 0);
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);

  test_add_device (vm, "net", "net0", "if-name", "tap0", "vhost", "true", NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "tap,id=net0,ifname=tap0,script=no,downscript=no,vhost=on\n"
                            "-device\n"
                            "virtio-net-pci,id=net0,netdev=net0");
}

static void
test_vhost_no_host_checks (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* Host checks off (--no-host-checks): /dev/vhost-net is not asked for. */
  test_add_device (vm, "net", "net0", "if-name", "tap0", "vhost", "true",
                   "queues", "2", NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "tap,id=net0,ifname=tap0,script=no,downscript=no,queues=2,vhost=on\n"
                            "-device\n"
                            "virtio-net-pci,id=net0,netdev=net0,mq=on,vectors=6");
}

static void
test_net_types_are_tap (void)
{
  static const char * const types[] = { "tap", "macvtap", "ipvtap", "vethtap" };

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

      test_add_device (vm, "net", "net0", "net-type", types[i], "fds", "5", NULL);
      test_assert_device_lines (vm,
                                "-netdev\n"
                                "tap,id=net0,fds=3\n"
                                "-device\n"
                                "virtio-net-pci,id=net0,netdev=net0");
    }
}

static void
test_drivers (void)
{
  static const char * const drivers[] = {
    "virtio-net-pci", "virtio-net-pci-transitional",
    "virtio-net-pci-non-transitional", "virtio-net",
  };

  for (guint i = 0; i < G_N_ELEMENTS (drivers); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autofree char *expected = NULL;

      test_add_device (vm, "net", "net0", "driver", drivers[i],
                       "if-name", "tap0", NULL);
      expected = g_strdup_printf ("-netdev\n"
                                  "tap,id=net0,ifname=tap0,script=no,downscript=no\n"
                                  "-device\n"
                                  "%s,id=net0,netdev=net0", drivers[i]);
      test_assert_device_lines (vm, expected);
    }
}

static void
test_disable_modern_virtio_net_alias (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "net", "net0", "driver", "virtio-net",
                   "if-name", "tap0", "disable-modern", "true", NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "tap,id=net0,ifname=tap0,script=no,downscript=no\n"
                            "-device\n"
                            "virtio-net,id=net0,netdev=net0,disable-modern=on");
}

static void
test_comma_escaping (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* Commas in values are doubled, so no value can inject an option. */
  test_add_device (vm, "net", "net0",
                   "if-name", "tap,x",
                   "script", "/etc/up,vhost=on",
                   "down-script", "/etc/down,,x",
                   "bus", "pcie.0,addr=9",
                   "rom-file", "a,b.rom",
                   NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "tap,id=net0,ifname=tap,,x,script=/etc/up,,vhost=on,downscript=/etc/down,,,,x\n"
                            "-device\n"
                            "virtio-net-pci,id=net0,netdev=net0,bus=pcie.0,,addr=9,romfile=a,,b.rom");
}

/* ---- rules ---- */

static void
test_rule_vfio (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "vfio",
                                   "if-name", "eth0", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_UNSUPPORTED, "net-type",
                       "use a [device] of type 'vfio' with its bdf");
}

static void
test_rule_vhost_user (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "vhost-user",
                                   NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_UNSUPPORTED, "net-type",
                       "use device type 'vhost-user' with vhost-user-type=net");
}

static void
test_rule_driver (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "net", "net0", "driver", "e1000",
                                   "if-name", "tap0", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "driver",
                       "'e1000' is not a supported driver: expected one of virtio-net-pci, virtio-net-pci-transitional, virtio-net-pci-non-transitional, virtio-net");
}

static void
test_rule_needs_fds (void)
{
  static const char * const types[] = { "macvtap", "ipvtap" };

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autofree char *fragment = g_strdup_printf ("net-type '%s' needs fds", types[i]);
      QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", types[i],
                                       "if-name", "macvtap0", NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "fds", fragment);
    }
}

static void
test_rule_needs_if_name (void)
{
  static const char * const types[] = { "tap", "vethtap" };

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", types[i],
                                       NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "if-name",
                           "set if-name");
    }
}

static void
test_rule_fds_conflicts (void)
{
  static const struct {
    const char *property;
    const char *value;
  } cases[] = {
    { "if-name", "tap0" },
    { "script", "/etc/qemu-ifup" },
    { "down-script", "/etc/qemu-ifdown" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autofree char *fragment = g_strdup_printf ("'%s' cannot be used with fds",
                                                   cases[i].value);
      QlDevice *dev = test_add_device (vm, "net", "net0", "fds", "5",
                                       cases[i].property, cases[i].value, NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT,
                           cases[i].property, fragment);
    }
}

static void
test_rule_queues_vs_fds (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "net", "net0", "fds", "5;6",
                                   "queues", "3", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "queues",
                       "'3' differs from the number of fds (2)");
}

static void
test_rule_too_many_fds (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(GString) fds = g_string_new ("10");
  QlDevice *dev;

  for (guint i = 1; i < 257; i++)
    g_string_append_printf (fds, ";%u", 10 + i);
  dev = test_add_device (vm, "net", "net0", "fds", fds->str, NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "fds",
                       "257 fds given: a tap device has at most 256 queues");
}

static void
test_rule_vhost_fds_need_vhost (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "net", "net0", "fds", "5",
                                   "vhost-fds", "6", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "vhost-fds",
                       "set vhost=true");
}

static void
test_rule_vhost_fds_need_fds (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "net", "net0", "if-name", "tap0",
                                   "vhost", "true", "vhost-fds", "6", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "vhost-fds",
                       "only together with fds");
}

static void
test_rule_vhost_fds_per_queue (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "net", "net0", "fds", "5;6",
                                   "vhost", "true", "vhost-fds", "7", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "vhost-fds",
                       "1 vhost fds given for 2 queues");
}

static void
test_rule_fd_twice (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "net", "net0", "fds", "5;5", NULL);
  QlDevice *dev2 = test_add_device (vm2, "net", "net0", "fds", "5",
                                    "vhost", "true", "vhost-fds", "5", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "fds",
                       "'5' is listed twice");
  test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_CONFLICT, "vhost-fds",
                       "'5' is listed twice");
}

static void
test_rule_addr (void)
{
  static const char * const bad[] = { "g", "20", "1.8", "0x5", "5.", "" };
  static const char * const good[] = { "0", "5", "1f", "1F.7", "a.0" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "net0", "if-name", "tap0",
                                       "addr", bad[i], NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "addr", NULL);
    }
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "net0", "if-name", "tap0",
                                       "addr", good[i], NULL);

      test_assert_valid (vm, dev);
    }
}

static void
test_rule_mac_address (void)
{
  static const char * const bad[] = {
    "02:00:ca:fe:00", "02:00:ca:fe:00:01:02", "02-00-ca-fe-00-01",
    "02:00:ca:fe:00:011", "2:00:ca:fe:00:01", "02:00:ca:fe:00:0g",
    "020:0ca:fe0:001", "",
  };
  static const char * const multicast[] = {
    "01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff", "03:00:00:00:00:01",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "net0", "if-name", "tap0",
                                       "mac-address", bad[i], NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE,
                           "mac-address", NULL);
    }
  for (guint i = 0; i < G_N_ELEMENTS (multicast); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "net0", "if-name", "tap0",
                                       "mac-address", multicast[i], NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE,
                           "mac-address", "is a multicast address");
    }
}

static void
test_rule_if_name (void)
{
  static const char * const bad[] = {
    "a-name-of-16-chr", "tap/0", "tap:0", "tap 0", ".", "..",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "net0", "if-name", bad[i],
                                       NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "if-name",
                           "is not an interface name");
    }
}

static void
test_rule_empty_values (void)
{
  static const char * const properties[] = { "bus", "script", "down-script" };

  for (guint i = 0; i < G_N_ELEMENTS (properties); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "net0", "if-name", "tap0",
                                       properties[i], "", NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE,
                           properties[i], "the value is empty");
    }
}

static void
test_rule_disable_modern (void)
{
  static const char * const drivers[] = {
    "virtio-net-pci-transitional", "virtio-net-pci-non-transitional",
  };

  for (guint i = 0; i < G_N_ELEMENTS (drivers); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "net0", "if-name", "tap0",
                                       "driver", drivers[i],
                                       "disable-modern", "true", NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT,
                           "disable-modern", drivers[i]);
    }
}

static void
test_rule_bad_text (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "net", "net0", NULL);

  test_assert_bad_text (dev, "net-type", "bridge");
  test_assert_bad_text (dev, "queues", "257");
  test_assert_bad_text (dev, "queues", "-1");
  test_assert_bad_text (dev, "fds", "5;x");
  test_assert_bad_text (dev, "vhost", "maybe");
}

static void
test_null_restores_default (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "net", "net0", "if-name", "tap0",
                                   "driver", "virtio-net", "script", "/x", NULL);
  g_autofree char *driver = NULL;
  g_autofree char *script = NULL;

  g_object_set (dev, "driver", NULL, "script", NULL, NULL);
  g_object_get (dev, "driver", &driver, "script", &script, NULL);
  g_assert_cmpstr (driver, ==, "virtio-net-pci");
  g_assert_cmpstr (script, ==, "no");
}

/* ---- host checks ---- */

static void
test_host_vhost_net_missing (void)
{
  g_autoptr(QlHostProbe) probe = fake_host_new (FALSE, NULL, 0);
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "net", "net0", "if-name", "tap0",
                                   "vhost", "true", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "vhost",
                       "'/dev/vhost-net', which cannot be used: No such file or directory");
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "vhost",
                       "set vhost=false or pass vhost-fds");
}

static void
test_host_vhost_fds_without_vhost_net (void)
{
  static const int open_fds[] = { 5, 6 };
  g_autoptr(QlHostProbe) probe = fake_host_new (FALSE, open_fds,
                                                G_N_ELEMENTS (open_fds));
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "net", "net0", "fds", "5",
                                   "vhost", "true", "vhost-fds", "6", NULL);

  /* Passed vhost fds: QEMU does not open /dev/vhost-net itself. */
  test_assert_valid (vm, dev);
}

static void
test_host_fds_open (void)
{
  static const int open_fds[] = { 5, 6, 7, 8 };
  g_autoptr(QlHostProbe) probe = fake_host_new (FALSE, open_fds,
                                                G_N_ELEMENTS (open_fds));
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "net", "net0", "fds", "5;6",
                                   "vhost", "true", "vhost-fds", "7;8", NULL);

  test_assert_valid (vm, dev);
}

static void
test_host_fd_closed (void)
{
  static const int open_fds[] = { 5 };
  g_autoptr(QlHostProbe) probe = fake_host_new (TRUE, open_fds,
                                                G_N_ELEMENTS (open_fds));
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "net", "net0", "fds", "5;6", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "fds",
                       "file descriptor '6' cannot be handed to QEMU: No such file or directory");
}

static void
test_host_vhost_fd_closed (void)
{
  static const int open_fds[] = { 5 };
  g_autoptr(QlHostProbe) probe = fake_host_new (TRUE, open_fds,
                                                G_N_ELEMENTS (open_fds));
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "net", "net0", "fds", "5",
                                   "vhost", "true", "vhost-fds", "9", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "vhost-fds",
                       "file descriptor '9' cannot be handed to QEMU");
}

/* ---- net-type user (QEMU's user-mode stack) ---- */

static void
test_user_defaults (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user", NULL);
  g_auto(GStrv) forwards = NULL;
  g_autofree char *network = NULL;
  g_autofree char *dns = NULL;
  g_autofree char *hostname = NULL;
  gboolean restrict_ = TRUE;
  gboolean ipv6 = FALSE;
  int net_type = -1;

  g_object_get (dev, "net-type", &net_type, "host-forwards", &forwards,
                "guest-network", &network, "dns", &dns, "restrict", &restrict_,
                "ipv6", &ipv6, "hostname", &hostname, NULL);
  g_assert_cmpint (net_type, ==, 6);   /* QL_NET_TYPE_USER */
  g_assert_null (forwards);
  g_assert_null (network);
  g_assert_null (dns);
  g_assert_null (hostname);
  g_assert_false (restrict_);
  g_assert_true (ipv6);

  /* QEMU's defaults are not written: net=10.0.2.0/24, ipv6=on. */
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "user,id=net0\n"
                            "-device\n"
                            "virtio-net-pci,id=net0,netdev=net0");
  test_assert_fds (vm, NULL, 0);
}

static void
test_user_all_options (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "net", "nic0",
                   "net-type", "user",
                   "guest-network", "10.0.5.0/24",
                   "dns", "10.0.5.53",
                   "ipv6", "false",
                   "hostname", "qlguest.example",
                   "host-forwards", "tcp:127.0.0.1:2222-:22",
                   "mac-address", "52:54:00:12:34:56",
                   "bus", "pcie.0",
                   "addr", "5",
                   "disable-modern", "true",
                   "rom-file", "",
                   NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "user,id=nic0,net=10.0.5.0/24,dns=10.0.5.53,ipv6=off,hostname=qlguest.example,hostfwd=tcp:127.0.0.1:2222-:22\n"
                            "-device\n"
                            "virtio-net-pci,id=nic0,netdev=nic0,mac=52:54:00:12:34:56,bus=pcie.0,addr=5,disable-modern=on,romfile=");
}

static void
test_user_forward_forms (void)
{
  static const char * const forwards[] = {
    "tcp::2222-:22",
    "udp:127.0.0.1:5353-:53",
    "::8080-10.0.2.20:80",                /* empty protocol: tcp */
    "tcp:0.0.0.0:65535-:1",
    "udp:192.168.1.10:1-10.0.2.254:65535",
  };

  for (guint i = 0; i < G_N_ELEMENTS (forwards); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autofree char *expected = NULL;

      test_add_device (vm, "net", "net0", "net-type", "user",
                       "host-forwards", forwards[i], NULL);
      /* Written as given: validation accepts only what QEMU reads the
       * same way. */
      expected = g_strdup_printf ("-netdev\n"
                                  "user,id=net0,hostfwd=%s\n"
                                  "-device\n"
                                  "virtio-net-pci,id=net0,netdev=net0", forwards[i]);
      test_assert_device_lines (vm, expected);
    }
}

static void
test_user_restricted (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* Forwards still reach a restricted guest. */
  test_add_device (vm, "net", "net0", "net-type", "user", "restrict", "true",
                   "host-forwards", "tcp:127.0.0.1:2222-:22", NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22\n"
                            "-device\n"
                            "virtio-net-pci,id=net0,netdev=net0");
}

static void
test_user_custom_network (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* The smallest network: gateway .2, DNS .3 by default, leases .15-.30. */
  test_add_device (vm, "net", "net0", "net-type", "user",
                   "guest-network", "192.168.76.32/27",
                   "dns", "192.168.76.45",
                   "host-forwards", "tcp::2222-192.168.76.33:22",
                   NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "user,id=net0,net=192.168.76.32/27,dns=192.168.76.45,hostfwd=tcp::2222-192.168.76.33:22\n"
                            "-device\n"
                            "virtio-net-pci,id=net0,netdev=net0");
}

static void
test_user_beside_tap_fds (void)
{
  static const int fds[] = { 10, 11 };
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* A user card passes no descriptor: the tap's are still QEMU's 3, 4. */
  test_add_device (vm, "net", "net0", "net-type", "user", NULL);
  test_add_device (vm, "net", "net1", "fds", "10;11", NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "user,id=net0\n"
                            "-device\n"
                            "virtio-net-pci,id=net0,netdev=net0\n"
                            "-netdev\n"
                            "tap,id=net1,fds=3:4\n"
                            "-device\n"
                            "virtio-net-pci,id=net1,netdev=net1,mq=on,vectors=6");
  test_assert_fds (vm, fds, G_N_ELEMENTS (fds));
}

static void
test_user_json (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* QEMU 9.0 and later: JSON, booleans typed. */
  ql_vm_config_set_qemu_version (vm, 9, 2);
  test_add_device (vm, "net", "net0", "net-type", "user",
                   "guest-network", "10.0.5.0/24", "restrict", "true",
                   "ipv6", "false", "hostname", "h", NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "{\"type\":\"user\",\"id\":\"net0\",\"net\":\"10.0.5.0/24\",\"restrict\":true,\"ipv6\":false,\"hostname\":\"h\"}\n"
                            "-device\n"
                            "{\"driver\":\"virtio-net-pci\",\"id\":\"net0\",\"netdev\":\"net0\"}");
}

static void
test_rule_user_tap_properties (void)
{
  static const struct {
    const char *property;
    const char *value;
    const char *fragment;
  } cases[] = {
    { "if-name", "tap0", "'tap0' is for tap interfaces, not for net-type 'user'" },
    { "if-name", "", "'' is for tap interfaces" },
    { "script", "/etc/qemu-ifup", "'/etc/qemu-ifup' is for tap interfaces" },
    { "down-script", "/etc/qemu-ifdown", "'/etc/qemu-ifdown' is for tap interfaces" },
    { "fds", "5", "1 descriptor(s) is for tap interfaces" },
    { "vhost-fds", "5;6", "2 descriptor(s) is for tap interfaces" },
    { "vhost", "true", "vhost=true is for tap interfaces" },
    { "queues", "2", "queues=2 is for tap interfaces" },
    { "queues", "1", "queues=1 is for tap interfaces" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user",
                                       cases[i].property, cases[i].value, NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, cases[i].property,
                           cases[i].fragment);
    }
}

static void
test_rule_user_properties_elsewhere (void)
{
  static const char * const types[][2] = {
    { "tap", "if-name" }, { "vethtap", "if-name" },
    { "macvtap", "fds" }, { "ipvtap", "fds" },
  };
  static const struct {
    const char *property;
    const char *value;
    const char *shown;
    gboolean passt_too;
  } cases[] = {
    { "host-forwards", "tcp::2222-:22;udp::53-:53", "'tcp::2222-:22;udp::53-:53'", TRUE },
    { "guest-network", "10.0.5.0/24", "'10.0.5.0/24'", FALSE },
    { "dns", "10.0.2.3", "'10.0.2.3'", TRUE },
    { "restrict", "true", "restrict=true", FALSE },
    { "ipv6", "false", "ipv6=false", TRUE },
    { "hostname", "guest", "'guest'", FALSE },
    { "passt-binary", "/usr/bin/passt", "'/usr/bin/passt'", FALSE },
  };

  for (guint t = 0; t < G_N_ELEMENTS (types); t++)
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
        g_autofree char *fragment = NULL;
        QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", types[t][0],
                                         types[t][1], g_str_equal (types[t][1], "fds") ? "5" : "tap0",
                                         cases[i].property, cases[i].value, NULL);

        if (cases[i].passt_too)
          fragment = g_strdup_printf ("%s only applies to user-mode networking (net-type 'user' or 'passt'), not to '%s': set net-type=user or net-type=passt, or remove %s",
                                      cases[i].shown, types[t][0], cases[i].property);
        else if (g_str_equal (cases[i].property, "passt-binary"))
          fragment = g_strdup_printf ("%s only applies to net-type 'passt', not to '%s'",
                                      cases[i].shown, types[t][0]);
        else
          fragment = g_strdup_printf ("%s only applies to net-type 'user' (QEMU's user-mode stack), not to '%s'",
                                      cases[i].shown, types[t][0]);
        test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, cases[i].property, fragment);
      }

  /* The defaults, said explicitly, are no user-mode settings. */
  {
    g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
    QlDevice *dev = test_add_device (vm, "net", "net0", "if-name", "tap0",
                                     "restrict", "false", "ipv6", "true", NULL);

    test_assert_valid (vm, dev);
  }
}

static void
test_rule_user_common_checks (void)
{
  static const struct {
    const char *property;
    const char *value;
    gint code;
  } cases[] = {
    { "driver", "e1000", QL_CONFIG_ERROR_INVALID_VALUE },
    { "mac-address", "01:00:5e:00:00:01", QL_CONFIG_ERROR_INVALID_VALUE },
    { "addr", "20", QL_CONFIG_ERROR_INVALID_VALUE },
    { "bus", "", QL_CONFIG_ERROR_INVALID_VALUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user",
                                       cases[i].property, cases[i].value, NULL);

      test_assert_invalid (vm, dev, cases[i].code, cases[i].property, NULL);
    }

  {
    g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
    QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user",
                                     "driver", "virtio-net-pci-transitional",
                                     "disable-modern", "true", NULL);

    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "disable-modern",
                         "virtio-net-pci-transitional");
  }
}

static void
test_rule_user_forward_values (void)
{
  static const struct {
    const char *forward;
    const char *fragment;
  } cases[] = {
    { "2222:22", "'2222:22' is not a forward: expected [tcp|udp]:[host address]:host port-[guest address]:guest port" },
    { "tcp::2222:22", "'tcp::2222:22' is not a forward" },
    { "tcp::2222-22", "'tcp::2222-22' is not a forward" },
    { "tcp", "'tcp' is not a forward" },
    { "2222-:22", "'2222-:22' is not a forward" },
    { "sctp::2222-:22", "forward 'sctp::2222-:22': protocol 'sctp' is not tcp or udp" },
    { "TCP::2222-:22", "protocol 'TCP' is not tcp or udp" },
    { "unix::2222-:22", "forward 'unix::2222-:22': protocol 'unix' is not tcp or udp" },
    { " tcp::2222-:22", "protocol ' tcp' is not tcp or udp" },
    { "tcp:localhost:2222-:22", "forward 'tcp:localhost:2222-:22': host address 'localhost' is not an IPv4 address" },
    { "tcp:127.1:2222-:22", "host address '127.1' is not an IPv4 address" },
    { "tcp:127.0.0.01:2222-:22", "host address '127.0.0.01' is not an IPv4 address" },
    { "tcp:256.0.0.1:2222-:22", "host address '256.0.0.1' is not an IPv4 address" },
    { "tcp:1.2.3.4.5:2222-:22", "host address '1.2.3.4.5' is not an IPv4 address" },
    { "tcp::-:22", "forward 'tcp::-:22': host port '' is not a port: expected a decimal number from 1 to 65535" },
    { "tcp::0-:22", "host port '0' is not a port" },
    { "tcp::65536-:22", "host port '65536' is not a port" },
    { "tcp::022-:22", "host port '022' is not a port" },
    { "tcp::+22-:22", "host port '+22' is not a port" },
    { "tcp::0x16-:22", "host port '0x16' is not a port" },
    { "tcp::2222-:", "forward 'tcp::2222-:': guest port '' is not a port" },
    { "tcp::2222-:0", "guest port '0' is not a port" },
    { "tcp::2222-:22x", "guest port '22x' is not a port" },
    { "tcp::2222-:22:23", "guest port '22:23' is not a port" },
    { "tcp::2222-guest:22", "forward 'tcp::2222-guest:22': guest address 'guest' is not an IPv4 address: expected one in guest-network 10.0.2.0/24, or nothing for the guest's DHCP address 10.0.2.15" },
    { "tcp::2222-10.0.3.15:22", "guest address '10.0.3.15' is outside guest-network 10.0.2.0/24" },
    { "tcp::2222-10.0.2.0:22", "guest address '10.0.2.0' is the network's own address of guest-network 10.0.2.0/24, not a guest's" },
    { "tcp::2222-10.0.2.255:22", "guest address '10.0.2.255' is the broadcast address" },
    { "tcp::2222-10.0.2.2:22", "guest address '10.0.2.2' is slirp's gateway address" },
    { "tcp::2222-10.0.2.3:22", "guest address '10.0.2.3' is the DNS server address" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user",
                                       "host-forwards", cases[i].forward, NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "host-forwards",
                           cases[i].fragment);
    }

  /* The guest address is checked against guest-network and dns. */
  {
    g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
    g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
    QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user",
                                     "guest-network", "10.0.5.0/24",
                                     "host-forwards", "tcp::2222-10.0.2.15:22", NULL);
    QlDevice *dev2 = test_add_device (vm2, "net", "net0", "net-type", "user",
                                      "dns", "10.0.2.53",
                                      "host-forwards", "udp::5353-10.0.2.53:53", NULL);

    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "host-forwards",
                         "guest address '10.0.2.15' is outside guest-network 10.0.5.0/24");
    test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_INVALID_VALUE, "host-forwards",
                         "guest address '10.0.2.53' is the DNS server address");
  }
}

static void
test_rule_user_forward_list (void)
{
  static const struct {
    const char *forwards;
    const char *fragment;
  } cases[] = {
    { "", "the list is empty: leave it unset or give forwards such as 'tcp::2222-:22'" },
    { ";", "forward 1 of 1 is empty" },
    { "tcp::2222-:22;;udp::53-:53", "forward 2 of 3 is empty" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user",
                                       "host-forwards", cases[i].forwards, NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "host-forwards",
                           cases[i].fragment);
    }
}

static void
test_rule_user_forward_clash (void)
{
  static const struct {
    const char *forwards;
    const char *fragment;
  } clashes[] = {
    { "tcp::2222-:22;tcp::2222-:23",
      "forward 'tcp::2222-:23': host port 2222/tcp is already forwarded by 'tcp::2222-:22'" },
    { "tcp::2222-:22;::2222-:23", "host port 2222/tcp is already forwarded by 'tcp::2222-:22'" },
    { "tcp:127.0.0.1:2222-:22;tcp::2222-:23", "already forwarded by 'tcp:127.0.0.1:2222-:22'" },
    { "tcp::2222-:22;tcp:127.0.0.1:2222-:23", "already forwarded by 'tcp::2222-:22'" },
    { "udp:127.0.0.1:53-:53;udp:127.0.0.1:53-10.0.2.16:53", "host port 53/udp is already forwarded" },
    { "tcp:0.0.0.0:80-:80;tcp:10.1.1.1:80-:8080", "host port 80/tcp is already forwarded by 'tcp:0.0.0.0:80-:80'" },
  };
  /* No clash: another protocol, or two distinct addresses. */
  static const char * const distinct[] = {
    "tcp::2222-:22;udp::2222-:22",
    "tcp:127.0.0.1:2222-:22;tcp:127.0.0.2:2222-:22",
  };

  for (guint i = 0; i < G_N_ELEMENTS (clashes); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user",
                                       "host-forwards", clashes[i].forwards, NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "host-forwards",
                           clashes[i].fragment);
    }
  for (guint i = 0; i < G_N_ELEMENTS (distinct); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user",
                                       "host-forwards", distinct[i], NULL);

      test_assert_valid (vm, dev);
    }
}

static void
test_user_several_forwards (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* Every forward, in order, as a repeated hostfwd key (QEMU 7.2 to 8.x;
   * hostfwd.0.str= is refused there). */
  test_add_device (vm, "net", "net0", "net-type", "user",
                   "host-forwards", "tcp::2222-:22;udp:127.0.0.1:5353-:53;tcp::8080-10.0.2.20:80",
                   NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "user,id=net0,hostfwd=tcp::2222-:22,hostfwd=udp:127.0.0.1:5353-:53,hostfwd=tcp::8080-10.0.2.20:80\n"
                            "-device\n"
                            "virtio-net-pci,id=net0,netdev=net0");
}

static void
test_rule_user_guest_network (void)
{
  static const struct {
    const char *network;
    const char *fragment;
  } bad[] = {
    { "10.0.2.0", "'10.0.2.0' is not an IPv4 network: expected address/prefix, such as '10.0.2.0/24'" },
    { "10.0.2.0/", "is not an IPv4 network" },
    { "10.0.2/24", "is not an IPv4 network" },
    { "10.0.2.0/024", "is not an IPv4 network" },
    { "10.0.2.0/33", "is not an IPv4 network" },
    { "10.0.2.0/24 ", "is not an IPv4 network" },
    { "10.0.2.0/255.255.255.0", "is not an IPv4 network" },
    { "fec0::/64", "is not an IPv4 network" },
    { "10.0.2.0/28", "'10.0.2.0/28': a /28 network does not fit QEMU's user-mode stack: expected a prefix from /4 to /27" },
    { "10.0.2.0/30", "a /30 network does not fit" },
    { "0.0.0.0/0", "a /0 network does not fit" },
    { "0.0.0.0/3", "a /3 network does not fit" },
    { "10.0.2.5/24", "'10.0.2.5/24' has host bits set: expected the network's own address, '10.0.2.0/24'" },
    { "10.1.0.0/8", "expected the network's own address, '10.0.0.0/8'" },
    { "127.0.0.0/24", "'127.0.0.0/24' overlaps 127.0.0.0/8 (loopback)" },
    { "0.0.0.0/8", "overlaps 0.0.0.0/8 (this network)" },
    { "112.0.0.0/4", "overlaps 127.0.0.0/8 (loopback)" },
    { "224.0.0.0/24", "overlaps 224.0.0.0/3 (multicast and reserved)" },
    { "240.0.0.0/4", "overlaps 224.0.0.0/3" },
    { "", "the value is empty" },
  };
  static const char * const good[] = {
    "10.0.2.0/24", "10.0.0.0/8", "172.16.0.0/12", "192.168.100.0/27", "16.0.0.0/4",
    "1.0.0.0/8", "223.255.255.224/27",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user",
                                       "guest-network", bad[i].network, NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "guest-network",
                           bad[i].fragment);
    }
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user",
                                       "guest-network", good[i],
                                       "host-forwards", "tcp::2222-:22", NULL);

      test_assert_valid (vm, dev);
    }
}

static void
test_rule_user_dns (void)
{
  static const struct {
    const char *network;
    const char *dns;
    const char *fragment;
  } bad[] = {
    { NULL, "10.0.3.3", "'10.0.3.3' is outside guest-network 10.0.2.0/24: expected an address of the guest's network, such as '10.0.2.3'" },
    { NULL, "8.8.8.8", "is outside guest-network 10.0.2.0/24" },
    { NULL, "10.0.2.2", "'10.0.2.2' is slirp's gateway address of guest-network 10.0.2.0/24" },
    { NULL, "10.0.2.0", "is the network's own address" },
    { NULL, "10.0.2.255", "is the broadcast address" },
    { NULL, "10.0.2.15", "'10.0.2.15' is in the DHCP range 10.0.2.15 to 10.0.2.30 of guest-network 10.0.2.0/24" },
    { NULL, "10.0.2.30", "is in the DHCP range 10.0.2.15 to 10.0.2.30" },
    { NULL, "dns.example", "'dns.example' is not an IPv4 address: expected one in guest-network 10.0.2.0/24, such as '10.0.2.3'" },
    { NULL, "10.0.2.003", "is not an IPv4 address" },
    { NULL, "", "the value is empty" },
    { "192.168.76.32/27", "192.168.76.63", "is the broadcast address of guest-network 192.168.76.32/27" },
    { "192.168.76.32/27", "192.168.76.47", "is in the DHCP range 192.168.76.47 to 192.168.76.62" },
    { "10.0.0.0/16", "10.0.2.2", "is slirp's gateway address of guest-network 10.0.0.0/16" },
  };
  static const struct {
    const char *network;
    const char *dns;
  } good[] = {
    { NULL, "10.0.2.3" }, { NULL, "10.0.2.53" }, { NULL, "10.0.2.31" }, { NULL, "10.0.2.14" },
    { NULL, "10.0.2.1" }, { "10.0.0.0/16", "10.0.0.2" }, { "192.168.76.32/27", "192.168.76.46" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user",
                                       "dns", bad[i].dns, NULL);

      if (bad[i].network != NULL)
        g_object_set (dev, "guest-network", bad[i].network, NULL);
      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "dns", bad[i].fragment);
    }
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user",
                                       "dns", good[i].dns, NULL);

      if (good[i].network != NULL)
        g_object_set (dev, "guest-network", good[i].network, NULL);
      test_assert_valid (vm, dev);
    }
}

static void
test_rule_user_dns_restrict (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user",
                                   "restrict", "true", "dns", "10.0.2.3", NULL);

  /* libslirp's restricted stack announces no DNS server and drops the
   * queries: a dns there would do nothing. */
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "dns",
                       "'10.0.2.3' has no effect with restrict=true: the restricted stack announces no DNS server and relays no DNS query; remove dns or set restrict=false");
}

static void
test_rule_user_hostname (void)
{
  g_autofree char *label63 = g_strnfill (63, 'a');
  g_autofree char *label64 = g_strnfill (64, 'a');
  g_autofree char *label63b = g_strnfill (63, 'b');
  g_autofree char *long255 = g_strdup_printf ("%s.%s.%s.%s", label63, label63, label63, label63b);
  g_autofree char *long256 = g_strconcat (long255, "b", NULL);
  const char *bad[] = {
    "-guest", "guest-", "a..b", ".guest", "guest.", "has space", "under_score", "a,b",
    "gäst", label64, long256,
  };
  const char *good[] = { "guest", "guest-1.example.org", "G1", "1", label63, long255 };

  g_assert_cmpuint (strlen (long255), ==, 255);
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autofree char *fragment = g_strdup_printf ("'%s' is not a host name", bad[i]);
      QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user",
                                       "hostname", bad[i], NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "hostname", fragment);
    }
  {
    g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
    QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user",
                                     "hostname", "", NULL);

    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "hostname", "the value is empty");
  }
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user",
                                       "hostname", good[i], NULL);

      test_assert_valid (vm, dev);
    }
}

static void
test_rule_user_bad_text (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user", NULL);

  test_assert_bad_text (dev, "net-type", "slirp");
  test_assert_bad_text (dev, "restrict", "maybe");
  test_assert_bad_text (dev, "ipv6", "6");
  test_assert_bad_text (dev, "hostname", "a\nb");
  test_assert_bad_text (dev, "host-forwards", "tcp::2222-:22;udp::53-:53\n");
}

static void
test_user_forwards_json (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* QEMU 9.x reads -netdev as JSON, where hostfwd is QAPI's ['String']:
   * a list of {"str": RULE} (a string: "Invalid parameter type for
   * 'hostfwd', expected: array"). */
  ql_vm_config_set_qemu_version (vm, 9, 2);
  test_add_device (vm, "net", "net0", "net-type", "user",
                   "host-forwards", "tcp::2222-:22;udp:127.0.0.1:5353-:53", "ipv6", "false", NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "{\"type\":\"user\",\"id\":\"net0\",\"ipv6\":false,"
                            "\"hostfwd\":[{\"str\":\"tcp::2222-:22\"},{\"str\":\"udp:127.0.0.1:5353-:53\"}]}\n"
                            "-device\n"
                            "{\"driver\":\"virtio-net-pci\",\"id\":\"net0\",\"netdev\":\"net0\"}");
}

static void
test_host_user_ports (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user",
                                   "host-forwards", "tcp:127.0.0.1:2222-:22", NULL);

  /* Free: asked once, for that protocol, address and port. */
  test_assert_valid (vm, dev);
  g_assert_cmpuint (ql_fake_host_probe_get_n_port_queries (probe), ==, 1);

  ql_fake_host_probe_set_port_available (probe, FALSE, "127.0.0.1", 2222, FALSE);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "host-forwards",
                       "forward 'tcp:127.0.0.1:2222-:22': host port 2222/tcp on 127.0.0.1 cannot be bound: Address already in use; choose another host port or stop what holds it");

  /* The same port in UDP, or on every address, is another question. */
  g_object_set (dev, "host-forwards", (const char * const []) { "udp:127.0.0.1:2222-:22", NULL }, NULL);
  test_assert_valid (vm, dev);
  g_object_set (dev, "host-forwards", (const char * const []) { "tcp::2222-:22", NULL }, NULL);
  test_assert_valid (vm, dev);
  ql_fake_host_probe_set_port_available (probe, FALSE, "", 2222, FALSE);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "host-forwards",
                       "host port 2222/tcp on every address cannot be bound");
}

static void
test_host_user_no_port_check (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  g_autoptr(QlVmConfig) vm2 = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user", NULL);
  QlDevice *dev2 = test_add_device (vm2, "net", "net0", "net-type", "user",
                                    "host-forwards", "tcp:127.0.0.1:2222-:22", NULL);

  /* No forward, nothing to ask; host checks off: nothing asked. */
  ql_fake_host_probe_set_port_available (probe, FALSE, "127.0.0.1", 2222, FALSE);
  test_assert_valid (vm, dev);
  ql_vm_config_set_host_probe (vm2, NULL);
  test_assert_valid (vm2, dev2);
  g_assert_cmpuint (ql_fake_host_probe_get_n_port_queries (probe), ==, 0);
}

/* A socket of @type holding a port on 127.0.0.1 (listening for TCP). */
static int
hold_port (int    type,
           guint *port)
{
  struct sockaddr_in sa = { 0 };
  socklen_t len = sizeof sa;
  int fd = socket (AF_INET, type | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
  if (type == SOCK_STREAM)
    g_assert_cmpint (listen (fd, 1), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &sa, &len), ==, 0);
  *port = ntohs (sa.sin_port);
  return fd;
}

static void
test_host_probe_real_ports (void)
{
  g_autoptr(QlHostProbe) probe = ql_host_probe_new ();
  g_autoptr(GError) error = NULL;
  guint tcp_port = 0;
  guint udp_port = 0;
  int tcp_fd = hold_port (SOCK_STREAM, &tcp_port);
  int udp_fd = hold_port (SOCK_DGRAM, &udp_port);

  /* Held: refused on that address and on every address. */
  g_assert_false (ql_host_probe_port_available (probe, FALSE, "127.0.0.1", tcp_port, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  g_clear_error (&error);
  g_assert_false (ql_host_probe_port_available (probe, FALSE, NULL, tcp_port, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  g_clear_error (&error);
  g_assert_false (ql_host_probe_port_available (probe, TRUE, "127.0.0.1", udp_port, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  g_clear_error (&error);
  g_assert_false (ql_host_probe_port_available (probe, TRUE, "", udp_port, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  g_clear_error (&error);

  /* A whole VM with host checks: the forward is named. */
  {
    g_autoptr(QlVmConfig) vm = test_vm_new (probe);
    g_autofree char *forward = g_strdup_printf ("tcp:127.0.0.1:%u-:22", tcp_port);
    g_autofree char *fragment = g_strdup_printf ("forward '%s': host port %u/tcp on 127.0.0.1 cannot be bound: Address already in use",
                                                 forward, tcp_port);
    QlDevice *dev = test_add_device (vm, "net", "net0", "net-type", "user",
                                     "host-forwards", forward, NULL);

    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "host-forwards", fragment);
  }

  /* Released: free again (a closed listener leaves no TIME_WAIT). */
  close (tcp_fd);
  close (udp_fd);
  g_assert_true (ql_host_probe_port_available (probe, FALSE, "127.0.0.1", tcp_port, &error));
  g_assert_no_error (error);
  g_assert_true (ql_host_probe_port_available (probe, TRUE, "127.0.0.1", udp_port, &error));
  g_assert_no_error (error);

  g_assert_false (ql_host_probe_port_available (probe, FALSE, "127.1", 2222, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (ql_host_probe_port_available (probe, FALSE, NULL, 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

/* ---- net-type passt (a passt helper, -netdev stream) ---- */

#define PASST_RUNTIME "/run/qlaunch/test-net"

/* The VM's command line, built in PASST_RUNTIME. */
static QlCmdline *
passt_cmdline (QlVmConfig *vm)
{
  g_autoptr(GError) error = NULL;
  QlCmdline *cmdline;

  ql_vm_config_set_runtime_dir (vm, PASST_RUNTIME);
  cmdline = ql_vm_config_build_cmdline (vm, &error);
  g_assert_no_error (error);
  g_assert_nonnull (cmdline);
  return cmdline;
}

/* The argv of the VM's only helper, joined with ' ', its binary checked
 * and left out; and that the helper is @id's passt on its socket. */
static char *
passt_helper_args (QlVmConfig *vm,
                   const char *id,
                   const char *binary)
{
  g_autoptr(QlCmdline) cmdline = passt_cmdline (vm);
  g_autofree char *socket = g_strdup_printf (PASST_RUNTIME "/%s.passt.sock", id);
  QlHelper *helper;
  g_auto(GStrv) argv = NULL;

  g_assert_cmpuint (ql_cmdline_get_n_helpers (cmdline), ==, 1);
  helper = ql_cmdline_get_helper (cmdline, 0);
  g_assert_cmpstr (ql_helper_get_name (helper), ==, "passt");
  g_assert_cmpstr (ql_helper_get_device_id (helper), ==, id);
  g_assert_cmpstr (ql_helper_get_socket (helper), ==, socket);
  g_assert_cmpuint (ql_helper_get_fds (helper)->len, ==, 0);
  argv = ql_helper_get_argv (helper);
  g_assert_cmpstr (argv[0], ==, binary);
  return g_strjoinv (" ", argv + 1);
}

/* The arguments every passt gets: foreground, errors on stderr, one
 * client, the launcher's own user (as root, passt would become nobody,
 * who cannot create its socket in the private runtime directory). */
static char *
passt_common_args (const char *id)
{
  return g_strdup_printf ("--foreground --quiet --stderr --one-off --runas %u:%u --socket " PASST_RUNTIME "/%s.passt.sock",
                          (guint) geteuid (), (guint) getegid (), id);
}

static void
test_passt_defaults (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autofree char *found = g_find_program_in_path ("passt");
  g_autofree char *args = NULL;
  g_autofree char *common = passt_common_args ("nic0");
  g_autoptr(QlCmdline) cmdline = NULL;

  test_add_device (vm, "net", "nic0", "net-type", "passt", NULL);
  ql_vm_config_set_runtime_dir (vm, PASST_RUNTIME);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "stream,id=nic0,server=off,addr.type=unix,addr.path=" PASST_RUNTIME "/nic0.passt.sock\n"
                            "-device\n"
                            "virtio-net-pci,id=nic0,netdev=nic0");
  /* passt from PATH (the bare name when there is none: host checks then
   * refuse it, see test_passt_host). */
  args = passt_helper_args (vm, "nic0", found != NULL ? found : "passt");
  g_assert_cmpstr (args, ==, common);
  test_assert_fds (vm, NULL, 0);
}

/* Forwards become passt's port specs, in order: [ADDRESS/]PORT:GUEST_PORT
 * with --tcp-ports (tcp, or no protocol) or --udp-ports. */
static void
test_passt_forwards (void)
{
  static const struct {
    const char *forward;
    const char *passt;
  } cases[] = {
    { "tcp:127.0.0.1:2222-:22", "--tcp-ports 127.0.0.1/2222:22" },
    { "tcp::2222-:22", "--tcp-ports 2222:22" },
    { "::8080-:80", "--tcp-ports 8080:80" },
    { "udp:127.0.0.1:5353-:53", "--udp-ports 127.0.0.1/5353:53" },
    { "udp::5353-:53", "--udp-ports 5353:53" },
    { "tcp:0.0.0.0:65535-:1", "--tcp-ports 0.0.0.0/65535:1" },
    { "tcp:192.168.1.10:1-:65535", "--tcp-ports 192.168.1.10/1:65535" },
  };
  g_autofree char *common = passt_common_args ("nic0");
  g_autoptr(GString) all_forwards = g_string_new (NULL);
  g_autoptr(GString) all_specs = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autofree char *args = NULL;
      g_autofree char *expected = g_strdup_printf ("%s %s", common, cases[i].passt);

      test_add_device (vm, "net", "nic0", "net-type", "passt",
                       "passt-binary", "/opt/passt/bin/passt",
                       "host-forwards", cases[i].forward, NULL);
      args = passt_helper_args (vm, "nic0", "/opt/passt/bin/passt");
      g_assert_cmpstr (args, ==, expected);
    }

  /* Several at once (no two on one host port), in the order given. */
  for (guint i = 0; i < 3; i++)
    {
      g_string_append_printf (all_forwards, "%s%s", i > 0 ? ";" : "", cases[i * 3].forward);
      g_string_append_printf (all_specs, " %s", cases[i * 3].passt);
    }
  {
    g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
    g_autofree char *args = NULL;
    g_autofree char *expected = g_strdup_printf ("%s%s", common, all_specs->str);

    test_add_device (vm, "net", "nic0", "net-type", "passt", "passt-binary", "/opt/passt/bin/passt",
                     "host-forwards", all_forwards->str, NULL);
    args = passt_helper_args (vm, "nic0", "/opt/passt/bin/passt");
    g_assert_cmpstr (args, ==, expected);
  }
}

static void
test_passt_all_options (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autofree char *args = NULL;
  g_autofree char *common = passt_common_args ("net1");
  g_autofree char *expected = g_strdup_printf ("%s --ipv4-only --dns 192.0.2.53 --tcp-ports 127.0.0.1/2222:22 --udp-ports 5353:53",
                                               common);

  test_add_device (vm, "net", "net1", "net-type", "passt",
                   "passt-binary", "/usr/local/bin/passt",
                   "ipv6", "false", "dns", "192.0.2.53",
                   "host-forwards", "tcp:127.0.0.1:2222-:22;udp::5353-:53",
                   "mac-address", "52:54:00:12:34:56", "bus", "pcie.0", "addr", "5",
                   "disable-modern", "true", "rom-file", "", NULL);
  ql_vm_config_set_runtime_dir (vm, PASST_RUNTIME);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "stream,id=net1,server=off,addr.type=unix,addr.path=" PASST_RUNTIME "/net1.passt.sock\n"
                            "-device\n"
                            "virtio-net-pci,id=net1,netdev=net1,mac=52:54:00:12:34:56,bus=pcie.0,addr=5,disable-modern=on,romfile=");
  args = passt_helper_args (vm, "net1", "/usr/local/bin/passt");
  g_assert_cmpstr (args, ==, expected);
}

static void
test_passt_json (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* QEMU 9.x: typed JSON, the socket address nested. */
  ql_vm_config_set_qemu_version (vm, 9, 2);
  ql_vm_config_set_runtime_dir (vm, PASST_RUNTIME);
  test_add_device (vm, "net", "nic0", "net-type", "passt", "host-forwards", "tcp::2222-:22", NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "{\"type\":\"stream\",\"id\":\"nic0\",\"server\":false,"
                            "\"addr\":{\"type\":\"unix\",\"path\":\"" PASST_RUNTIME "/nic0.passt.sock\"}}\n"
                            "-device\n"
                            "{\"driver\":\"virtio-net-pci\",\"id\":\"nic0\",\"netdev\":\"nic0\"}");
}

/* Two passt cards: two helpers, one socket each, in card order. */
static void
test_passt_two_cards (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(QlCmdline) cmdline = NULL;

  test_add_device (vm, "net", "a", "net-type", "passt", "host-forwards", "tcp::2222-:22", NULL);
  test_add_device (vm, "net", "b", "net-type", "passt", "host-forwards", "tcp::2223-:22", NULL);
  cmdline = passt_cmdline (vm);
  g_assert_cmpuint (ql_cmdline_get_n_helpers (cmdline), ==, 2);
  g_assert_cmpstr (ql_helper_get_device_id (ql_cmdline_get_helper (cmdline, 0)), ==, "a");
  g_assert_cmpstr (ql_helper_get_socket (ql_cmdline_get_helper (cmdline, 0)), ==, PASST_RUNTIME "/a.passt.sock");
  g_assert_cmpstr (ql_helper_get_device_id (ql_cmdline_get_helper (cmdline, 1)), ==, "b");
  g_assert_cmpstr (ql_helper_get_socket (ql_cmdline_get_helper (cmdline, 1)), ==, PASST_RUNTIME "/b.passt.sock");
}

static void
test_rule_passt (void)
{
  static const struct {
    const char *property;
    const char *value;
    gint code;
    const char *fragment;
  } cases[] = {
    /* What passt cannot express. */
    { "host-forwards", "tcp::2222-10.0.2.15:22", QL_CONFIG_ERROR_INVALID_VALUE,
      "forward 'tcp::2222-10.0.2.15:22': guest address '10.0.2.15' cannot be given to passt, which forwards to the guest's one address" },
    { "guest-network", "10.0.5.0/24", QL_CONFIG_ERROR_CONFLICT,
      "'10.0.5.0/24' is for net-type 'user': passt gives the guest the address, prefix and gateway of the host's interface with the default route" },
    { "restrict", "true", QL_CONFIG_ERROR_CONFLICT, "restrict=true is for net-type 'user'" },
    { "hostname", "guest", QL_CONFIG_ERROR_CONFLICT, "'guest' is for net-type 'user'" },
    /* Forwards are checked as for user. */
    { "host-forwards", "tcp::022-:22", QL_CONFIG_ERROR_INVALID_VALUE, "host port '022' is not a port" },
    { "host-forwards", "sctp::2222-:22", QL_CONFIG_ERROR_INVALID_VALUE, "protocol 'sctp' is not tcp or udp" },
    { "host-forwards", "tcp:127.1:2222-:22", QL_CONFIG_ERROR_INVALID_VALUE, "host address '127.1' is not an IPv4 address" },
    { "host-forwards", "tcp::2222-:0", QL_CONFIG_ERROR_INVALID_VALUE, "guest port '0' is not a port" },
    { "host-forwards", "2222:22", QL_CONFIG_ERROR_INVALID_VALUE, "'2222:22' is not a forward" },
    { "host-forwards", "tcp::2222-:22;tcp:127.0.0.1:2222-:23", QL_CONFIG_ERROR_CONFLICT,
      "host port 2222/tcp is already forwarded by 'tcp::2222-:22'" },
    { "host-forwards", "", QL_CONFIG_ERROR_INVALID_VALUE, "the list is empty" },
    /* dns: a unicast address the guest can reach. */
    { "dns", "192.0.2.053", QL_CONFIG_ERROR_INVALID_VALUE, "'192.0.2.053' is not an IPv4 address" },
    { "dns", "127.0.0.53", QL_CONFIG_ERROR_INVALID_VALUE, "'127.0.0.53' is no DNS server the guest can reach" },
    { "dns", "0.0.0.0", QL_CONFIG_ERROR_INVALID_VALUE, "is no DNS server the guest can reach" },
    { "dns", "224.0.0.251", QL_CONFIG_ERROR_INVALID_VALUE, "is no DNS server the guest can reach" },
    { "dns", "", QL_CONFIG_ERROR_INVALID_VALUE, "the value is empty" },
    { "passt-binary", "", QL_CONFIG_ERROR_INVALID_VALUE, "the value is empty" },
    /* Tap settings, as on a user card. */
    { "if-name", "tap0", QL_CONFIG_ERROR_CONFLICT, "'tap0' is for tap interfaces, not for net-type 'passt'" },
    { "fds", "5", QL_CONFIG_ERROR_CONFLICT, "1 descriptor(s) is for tap interfaces, not for net-type 'passt'" },
    { "vhost", "true", QL_CONFIG_ERROR_CONFLICT, "vhost=true is for tap interfaces, not for net-type 'passt'" },
    { "queues", "2", QL_CONFIG_ERROR_CONFLICT, "queues=2 is for tap interfaces, not for net-type 'passt'" },
    /* And the card's own. */
    { "mac-address", "01:00:5e:00:00:01", QL_CONFIG_ERROR_INVALID_VALUE, "is a multicast address" },
    { "addr", "0x5", QL_CONFIG_ERROR_INVALID_VALUE, "is not a PCI address" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "net", "nic0", "net-type", "passt",
                                       cases[i].property, cases[i].value, NULL);

      test_assert_invalid (vm, dev, cases[i].code, cases[i].property, cases[i].fragment);
    }

  /* passt-binary is a path: from the API, a relative one is refused (a
   * VM file resolves it against its own directory). */
  {
    g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
    QlDevice *dev = test_add_device (vm, "net", "nic0", "net-type", "passt", NULL);

    g_object_set (dev, "passt-binary", "bin/passt", NULL);
    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "passt-binary",
                         "'bin/passt' is not an absolute path");
  }
  /* passt-binary on a user card. */
  {
    g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
    QlDevice *dev = test_add_device (vm, "net", "nic0", "net-type", "user",
                                     "passt-binary", "/usr/bin/passt", NULL);

    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "passt-binary",
                         "'/usr/bin/passt' only applies to net-type 'passt', not to 'user'");
  }
}

static void
test_passt_host (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "net", "nic0", "net-type", "passt",
                                   "passt-binary", "/opt/passt",
                                   "host-forwards", "tcp:127.0.0.1:2222-:22;udp::5353-:53", NULL);

  /* The program must be there; each forwarded port free, as for user. */
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "passt-binary",
                       "cannot run '/opt/passt': ");
  ql_fake_host_probe_set_file (probe, "/opt/passt", G_FILE_TYPE_DIRECTORY, 0);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "passt-binary",
                       "cannot run '/opt/passt': it is not a regular file");
  ql_fake_host_probe_set_file (probe, "/opt/passt", G_FILE_TYPE_REGULAR, 1000);
  test_assert_valid (vm, dev);
  g_assert_cmpuint (ql_fake_host_probe_get_n_port_queries (probe), ==, 2);
  ql_fake_host_probe_set_port_available (probe, TRUE, "", 5353, FALSE);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "host-forwards",
                       "forward 'udp::5353-:53': host port 5353/udp on every address cannot be bound: Address already in use");

  /* Unset, passt is looked up in PATH. */
  {
    g_autoptr(QlVmConfig) vm2 = test_vm_new (probe);
    g_autofree char *saved = g_strdup (g_getenv ("PATH"));
    QlDevice *dev2 = test_add_device (vm2, "net", "nic0", "net-type", "passt", NULL);

    g_setenv ("PATH", "/nonexistent", TRUE);
    test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_HOST, "passt-binary",
                         "net-type 'passt' needs the passt program, and there is none in PATH: install passt (Debian: passt) or name it in passt-binary");
    g_setenv ("PATH", saved, TRUE);
  }
}

/* passt's socket: RUNTIME_DIR/ID.passt.sock; a long id gives its first 23
 * bytes and a hash instead, so that the path fits under the default
 * runtime directory; a runtime directory the caller chose that leaves no
 * room is refused at validation, naming the device and its id. */
static void
test_passt_socket_name (void)
{
  g_autofree char *id32 = g_strnfill (32, 'n');
  g_autofree char *id33 = g_strnfill (33, 'n');
  g_autofree char *dirname = g_strnfill (59, 'd');
  g_autofree char *long_dir = g_strconcat ("/run/", dirname, NULL);

  {
    g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
    g_autoptr(QlCmdline) cmdline = NULL;
    g_autofree char *expected = g_strdup_printf (PASST_RUNTIME "/%s.passt.sock", id32);

    test_add_device (vm, "net", id32, "net-type", "passt", NULL);
    cmdline = passt_cmdline (vm);
    g_assert_cmpstr (ql_helper_get_socket (ql_cmdline_get_helper (cmdline, 0)), ==, expected);
  }
  {
    g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
    g_autoptr(QlCmdline) cmdline = NULL;
    g_autofree char *expected = g_strdup_printf (PASST_RUNTIME "/nnnnnnnnnnnnnnnnnnnnnnn-%08x.passt.sock",
                                                 g_str_hash (id33));

    test_add_device (vm, "net", id33, "net-type", "passt", NULL);
    cmdline = passt_cmdline (vm);
    g_assert_cmpstr (ql_helper_get_socket (ql_cmdline_get_helper (cmdline, 0)), ==, expected);
    g_assert_cmpstr (ql_option_lookup (ql_cmdline_find_option (cmdline, "-netdev", id33), "addr.path"),
                     ==, expected);
  }
  {
    g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
    g_autofree char *fragment = NULL;
    QlDevice *dev = test_add_device (vm, "net", "nic0", "net-type", "passt", NULL);

    /* 64 + 1 + 15 = 80 bytes fit; 64 + 1 + 43 = 108 do not. */
    ql_vm_config_set_runtime_dir (vm, long_dir);
    test_assert_valid (vm, dev);
    g_object_set (dev, "id", id32, NULL);
    fragment = g_strdup_printf ("passt's socket '%s/%s.passt.sock' would be 108 bytes long, and a unix socket path holds at most 107: use a shorter runtime directory",
                                long_dir, id32);
    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "id", fragment);
  }
}

/* Hot-plug: passt first (started, and listening, before any command; it
 * ends with QEMU's connection), then netdev_add of the stream and
 * device_add. */
static void
test_hotplug_passt (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) plan = NULL;
  QlDevice *dev = test_add_device (vm, "net", "nic3", "net-type", "passt",
                                   "passt-binary", "/usr/bin/passt",
                                   "host-forwards", "tcp:127.0.0.1:2222-:22",
                                   "mac-address", "52:54:00:12:34:58", NULL);
  JsonObject *helper;
  JsonObject *netdev;
  JsonObject *addr;
  JsonArray *argv;
  const char *socket;

  plan = ql_hotplug_plan (dev, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (plan), ==, 3);
  helper = json_array_get_object_element (plan, 0);
  g_assert_cmpstr (json_object_get_string_member (helper, "helper"), ==, "passt");
  g_assert_cmpstr (json_object_get_string_member (helper, "device"), ==, "nic3");
  socket = json_object_get_string_member (helper, "socket");
  g_assert_true (g_str_has_suffix (socket, "/nic3.passt.sock"));
  argv = json_object_get_array_member (helper, "argv");
  g_assert_cmpstr (json_array_get_string_element (argv, 0), ==, "/usr/bin/passt");
  g_assert_cmpstr (json_array_get_string_element (argv, json_array_get_length (argv) - 1), ==, "127.0.0.1/2222:22");

  netdev = json_array_get_object_element (plan, 1);
  g_assert_cmpstr (json_object_get_string_member (netdev, "execute"), ==, "netdev_add");
  netdev = json_object_get_object_member (netdev, "arguments");
  g_assert_cmpstr (json_object_get_string_member (netdev, "type"), ==, "stream");
  g_assert_cmpstr (json_object_get_string_member (netdev, "id"), ==, "nic3");
  g_assert_false (json_object_get_boolean_member (netdev, "server"));
  addr = json_object_get_object_member (netdev, "addr");
  g_assert_cmpstr (json_object_get_string_member (addr, "type"), ==, "unix");
  g_assert_cmpstr (json_object_get_string_member (addr, "path"), ==, socket);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (plan, 2), "execute"),
                   ==, "device_add");
}

/* ---- hot-plug ---- */

/* A tap with a script hot-plugged into a running VM: QEMU forks for the
 * script, which the VM's default seccomp filter (spawn=deny) punishes by
 * killing QEMU: refused, unless the VM started with spawn allowed (its
 * key, or a script of its own that relaxed it) or without the sandbox. */
static void
test_hotplug_script_sandbox (void)
{
  static const struct { const char *knobs; gboolean startup_script; gboolean ok; } cases[] = {
    { NULL, FALSE, FALSE },
    { "knobs-sandbox-spawn", FALSE, TRUE },
    { "knobs-sandbox", FALSE, TRUE },
    { NULL, TRUE, TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autoptr(QlDevice) hot = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonArray) plan = NULL;

      if (g_strcmp0 (cases[i].knobs, "knobs-sandbox-spawn") == 0)
        g_object_set (vm, "knobs-sandbox-spawn", QL_SANDBOX_ACTION_ALLOW, NULL);
      else if (g_strcmp0 (cases[i].knobs, "knobs-sandbox") == 0)
        g_object_set (vm, "knobs-sandbox", FALSE, NULL);
      if (cases[i].startup_script)
        test_add_device (vm, "net", "net0", "if-name", "tap0", "script", "/etc/qemu-ifup", NULL);
      hot = ql_registry_create_device (test_registry, "net", "hot0", &error);
      g_assert_no_error (error);
      g_assert_true (ql_device_set_property_from_string (hot, "if-name", "tap9", &error));
      g_assert_true (ql_device_set_property_from_string (hot, "script", "/etc/qemu-ifup", &error));
      plan = ql_hotplug_plan (hot, vm, NULL, &error);
      if (cases[i].ok)
        {
          g_assert_no_error (error);
          g_assert_nonnull (plan);
          continue;
        }
      g_assert_null (plan);
      g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_UNSUPPORTED);
      g_assert_nonnull (strstr (error->message, "device 'hot0'"));
      g_assert_nonnull (strstr (error->message, "runs its script '/etc/qemu-ifup'"));
      g_assert_nonnull (strstr (error->message, "sandbox-spawn = allow"));
    }
}

static void
test_hotplug_user (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "net", "nic1", "net-type", "user",
                                   "guest-network", "10.0.5.0/24", "dns", "10.0.5.53",
                                   "ipv6", "false", "hostname", "qlguest",
                                   "mac-address", "52:54:00:12:34:56", NULL);

  /* Typed for QMP: booleans are JSON booleans. */
  test_assert_plan (dev, NULL,
                    "[{\"execute\": \"netdev_add\", \"arguments\": {\"type\": \"user\", \"id\": \"nic1\", "
                    "\"net\": \"10.0.5.0/24\", \"dns\": \"10.0.5.53\", \"ipv6\": false, "
                    "\"hostname\": \"qlguest\"}},"
                    " {\"execute\": \"device_add\", \"arguments\": {\"driver\": \"virtio-net-pci\", "
                    "\"id\": \"nic1\", \"netdev\": \"nic1\", \"mac\": \"52:54:00:12:34:56\"}}]");
}

static void
test_hotplug_user_forward (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "net", "nic1", "net-type", "user",
                                   "host-forwards", "tcp:127.0.0.1:2222-:22;udp::5353-:53", NULL);

  /* netdev_add wants hostfwd as a list of {"str": RULE} (QEMU 7.2 refuses
   * a string: "Invalid parameter type for 'hostfwd', expected: array"). */
  test_assert_plan (dev, NULL,
                    "[{\"execute\": \"netdev_add\", \"arguments\": {\"type\": \"user\", \"id\": \"nic1\", "
                    "\"hostfwd\": [{\"str\": \"tcp:127.0.0.1:2222-:22\"}, {\"str\": \"udp::5353-:53\"}]}},"
                    " {\"execute\": \"device_add\", \"arguments\": {\"driver\": \"virtio-net-pci\", "
                    "\"id\": \"nic1\", \"netdev\": \"nic1\"}}]");
}

static void
test_hotplug_tap (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "net", "nic2", "if-name", "tap0", "queues", "2", NULL);

  /* The tap form is what it was before user-mode cards. */
  test_assert_plan (dev, NULL,
                    "[{\"execute\": \"netdev_add\", \"arguments\": {\"type\": \"tap\", \"id\": \"nic2\", "
                    "\"ifname\": \"tap0\", \"script\": \"no\", \"downscript\": \"no\", \"queues\": 2}},"
                    " {\"execute\": \"device_add\", \"arguments\": {\"driver\": \"virtio-net-pci\", "
                    "\"id\": \"nic2\", \"netdev\": \"nic2\", \"mq\": true, \"vectors\": 6}}]");
}

/* A card made from a spec without an id (found by fuzz-device-spec):
 * passt's socket is named after the id, so it is refused. */
static void
test_passt_no_id (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(QlDevice) anon = ql_registry_create_device_from_spec (test_registry,
                                                                  "net,net-type=passt,dns=126.0.0.53", &error);

  g_assert_no_error (error);
  g_assert_false (ql_device_valid (anon, vm, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MISSING);
  g_assert_nonnull (strstr (error->message, "property 'id'"));
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  test_registry = ql_test_registry_new ();

  g_test_add_func ("/net/output/tap-defaults", test_tap_defaults);
  g_test_add_func ("/net/output/tap-all-device-options", test_tap_all_device_options);
  g_test_add_func ("/net/output/tap-scripts-and-rom", test_tap_scripts_and_rom);
  g_test_add_func ("/net/output/tap-queues", test_tap_queues);
  g_test_add_func ("/net/paths-resolved", test_paths_resolved);
  g_test_add_func ("/net/output/tap-one-queue", test_tap_one_queue);
  g_test_add_func ("/net/output/fds", test_fds);
  g_test_add_func ("/net/output/fds-explicit-queues", test_fds_explicit_queues);
  g_test_add_func ("/net/output/single-fd", test_single_fd);
  g_test_add_func ("/net/output/fds-vhost-fds", test_fds_vhost_fds);
  g_test_add_func ("/net/output/fd-numbering-across-devices", test_fds_numbering_across_devices);
  g_test_add_func ("/net/output/vhost-by-name", test_vhost_by_name);
  g_test_add_func ("/net/output/vhost-no-host-checks", test_vhost_no_host_checks);
  g_test_add_func ("/net/output/net-types-are-tap", test_net_types_are_tap);
  g_test_add_func ("/net/output/drivers", test_drivers);
  g_test_add_func ("/net/output/disable-modern-virtio-net", test_disable_modern_virtio_net_alias);
  g_test_add_func ("/net/output/comma-escaping", test_comma_escaping);

  g_test_add_func ("/net/rule/vfio", test_rule_vfio);
  g_test_add_func ("/net/rule/vhost-user", test_rule_vhost_user);
  g_test_add_func ("/net/rule/driver", test_rule_driver);
  g_test_add_func ("/net/rule/needs-fds", test_rule_needs_fds);
  g_test_add_func ("/net/rule/needs-if-name", test_rule_needs_if_name);
  g_test_add_func ("/net/rule/fds-conflicts", test_rule_fds_conflicts);
  g_test_add_func ("/net/rule/queues-vs-fds", test_rule_queues_vs_fds);
  g_test_add_func ("/net/rule/too-many-fds", test_rule_too_many_fds);
  g_test_add_func ("/net/rule/vhost-fds-need-vhost", test_rule_vhost_fds_need_vhost);
  g_test_add_func ("/net/rule/vhost-fds-need-fds", test_rule_vhost_fds_need_fds);
  g_test_add_func ("/net/rule/vhost-fds-per-queue", test_rule_vhost_fds_per_queue);
  g_test_add_func ("/net/rule/fd-twice", test_rule_fd_twice);
  g_test_add_func ("/net/rule/addr", test_rule_addr);
  g_test_add_func ("/net/rule/mac-address", test_rule_mac_address);
  g_test_add_func ("/net/rule/if-name", test_rule_if_name);
  g_test_add_func ("/net/rule/empty-values", test_rule_empty_values);
  g_test_add_func ("/net/rule/disable-modern", test_rule_disable_modern);
  g_test_add_func ("/net/rule/bad-text", test_rule_bad_text);
  g_test_add_func ("/net/rule/null-restores-default", test_null_restores_default);

  g_test_add_func ("/net/host/vhost-net-missing", test_host_vhost_net_missing);
  g_test_add_func ("/net/host/vhost-fds-without-vhost-net", test_host_vhost_fds_without_vhost_net);
  g_test_add_func ("/net/host/fds-open", test_host_fds_open);
  g_test_add_func ("/net/host/fd-closed", test_host_fd_closed);
  g_test_add_func ("/net/host/vhost-fd-closed", test_host_vhost_fd_closed);

  g_test_add_func ("/net/user/output/defaults", test_user_defaults);
  g_test_add_func ("/net/user/output/all-options", test_user_all_options);
  g_test_add_func ("/net/user/output/forward-forms", test_user_forward_forms);
  g_test_add_func ("/net/user/output/restricted", test_user_restricted);
  g_test_add_func ("/net/user/output/custom-network", test_user_custom_network);
  g_test_add_func ("/net/user/output/beside-tap-fds", test_user_beside_tap_fds);
  g_test_add_func ("/net/user/output/json", test_user_json);
  g_test_add_func ("/net/user/output/several-forwards", test_user_several_forwards);
  g_test_add_func ("/net/user/output/forwards-json", test_user_forwards_json);
  g_test_add_func ("/net/user/rule/tap-properties", test_rule_user_tap_properties);
  g_test_add_func ("/net/user/rule/user-properties-elsewhere", test_rule_user_properties_elsewhere);
  g_test_add_func ("/net/user/rule/common-checks", test_rule_user_common_checks);
  g_test_add_func ("/net/user/rule/forward-values", test_rule_user_forward_values);
  g_test_add_func ("/net/user/rule/forward-list", test_rule_user_forward_list);
  g_test_add_func ("/net/user/rule/forward-clash", test_rule_user_forward_clash);
  g_test_add_func ("/net/user/rule/guest-network", test_rule_user_guest_network);
  g_test_add_func ("/net/user/rule/dns", test_rule_user_dns);
  g_test_add_func ("/net/user/rule/dns-restrict", test_rule_user_dns_restrict);
  g_test_add_func ("/net/user/rule/hostname", test_rule_user_hostname);
  g_test_add_func ("/net/user/rule/bad-text", test_rule_user_bad_text);
  g_test_add_func ("/net/user/host/ports", test_host_user_ports);
  g_test_add_func ("/net/user/host/no-port-check", test_host_user_no_port_check);
  g_test_add_func ("/net/user/host/real-probe-ports", test_host_probe_real_ports);
  g_test_add_func ("/net/user/hotplug/plan", test_hotplug_user);
  g_test_add_func ("/net/user/hotplug/forward", test_hotplug_user_forward);
  g_test_add_func ("/net/user/hotplug/tap", test_hotplug_tap);

  g_test_add_func ("/net/passt/rule/no-id", test_passt_no_id);
  g_test_add_func ("/net/passt/output/defaults", test_passt_defaults);
  g_test_add_func ("/net/passt/output/forwards", test_passt_forwards);
  g_test_add_func ("/net/passt/output/all-options", test_passt_all_options);
  g_test_add_func ("/net/passt/output/json", test_passt_json);
  g_test_add_func ("/net/passt/output/two-cards", test_passt_two_cards);
  g_test_add_func ("/net/passt/rule/all", test_rule_passt);
  g_test_add_func ("/net/passt/host/checks", test_passt_host);
  g_test_add_func ("/net/passt/output/socket-name", test_passt_socket_name);
  g_test_add_func ("/net/passt/hotplug/plan", test_hotplug_passt);
  g_test_add_func ("/net/hotplug/script-under-sandbox", test_hotplug_script_sandbox);

  ret = g_test_run ();
  g_clear_object (&test_registry);
  return ret;
}
