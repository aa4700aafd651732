/* qlaunch tests — the `net` device: every rule, every output form. */
#include "ql-device-test.h"

/* The host descriptors handed to QEMU, in order (QEMU's 3, 4, ...). */
static void
assert_fds (QlVmConfig *vm,
            const int  *expected,
            guint       n_expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlCmdline) cmdline = ql_vm_config_build_cmdline (vm, &error);
  GArray *fds;

  g_assert_no_error (error);
  fds = ql_cmdline_get_fds (cmdline);
  g_assert_cmpmem (fds->data, fds->len * sizeof (int),
                   expected, n_expected * sizeof (int));
}

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
  assert_fds (vm, NULL, 0);
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
  assert_fds (vm, fds, G_N_ELEMENTS (fds));
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
  assert_fds (vm, fds, G_N_ELEMENTS (fds));
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
  assert_fds (vm, fds, G_N_ELEMENTS (fds));
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
  assert_fds (vm, fds, G_N_ELEMENTS (fds));
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

  ret = g_test_run ();
  g_clear_object (&test_registry);
  return ret;
}
