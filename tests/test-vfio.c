/* qlaunch tests — the `vfio` device: every rule, the output, the host
 * checks with a fake host. */
#include "ql-device-test.h"

#define BDF "0000:01:00.0"

/* A fake host where the function @bdf exists (if not NULL), is in an IOMMU
 * group and bound to vfio-pci as asked, and /dev/vfio/vfio is usable as
 * asked. */
static QlHostProbe *
fake_host_new (const char *bdf,
               gboolean    in_group,
               gboolean    bound,
               gboolean    vfio_usable)
{
  QlHostProbe *probe = ql_fake_host_probe_new ();

  if (bdf != NULL)
    {
      g_autofree char *config = g_strdup_printf ("/sys/bus/pci/devices/%s/config", bdf);
      g_autofree char *group = g_strdup_printf ("/sys/bus/pci/devices/%s/iommu_group/reserved_regions", bdf);
      g_autofree char *driver = g_strdup_printf ("/sys/bus/pci/drivers/vfio-pci/%s/config", bdf);

      ql_fake_host_probe_set_file_readable (probe, config, TRUE);
      ql_fake_host_probe_set_file_readable (probe, group, in_group);
      ql_fake_host_probe_set_file_readable (probe, driver, bound);
    }
  ql_fake_host_probe_set_device_usable (probe, "/dev/vfio/vfio", vfio_usable);
  return probe;
}

/* ---- output ---- */

static void
test_defaults (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vfio", "hostdev0", NULL);
  g_autofree char *bdf = NULL;

  g_object_get (dev, "bdf", &bdf, NULL);
  g_assert_null (bdf);
}

static void
test_full_bdf (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "vfio", "hostdev0", "bdf", BDF, NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "vfio-pci,id=hostdev0,host=0000:01:00.0");
}

static void
test_canonical_forms (void)
{
  static const struct {
    const char *bdf;
    const char *host;
  } cases[] = {
    { "02:10.0", "0000:02:10.0" },          /* govmm TestAppendDeviceVFIO */
    { "1:0.0", "0000:01:00.0" },
    { "0:1f.7", "0000:00:1f.7" },
    { "ABCD:EF:1F.7", "abcd:ef:1f.7" },
    { "ffff:ff:1f.7", "ffff:ff:1f.7" },
    { "1:2:3.4", "0001:02:03.4" },
    { "0000:00:00.0", "0000:00:00.0" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autofree char *expected = g_strdup_printf ("-device\nvfio-pci,id=hostdev0,host=%s",
                                                   cases[i].host);

      test_add_device (vm, "vfio", "hostdev0", "bdf", cases[i].bdf, NULL);
      test_assert_device_lines (vm, expected);
    }
}

static void
test_two_functions (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* Two functions of one card are two devices. */
  test_add_device (vm, "vfio", "gpu", "bdf", "01:00.0", NULL);
  test_add_device (vm, "vfio", "gpu-audio", "bdf", "01:00.1", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "vfio-pci,id=gpu,host=0000:01:00.0\n"
                            "-device\n"
                            "vfio-pci,id=gpu-audio,host=0000:01:00.1");
}

static void
test_same_bus_other_domain (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "vfio", "a", "bdf", "0000:01:00.0", NULL);
  test_add_device (vm, "vfio", "b", "bdf", "0001:01:00.0", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "vfio-pci,id=a,host=0000:01:00.0\n"
                            "-device\n"
                            "vfio-pci,id=b,host=0001:01:00.0");
}

/* ---- rules ---- */

static void
test_rule_missing (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vfio", "hostdev0", NULL);
  QlDevice *dev2 = test_add_device (vm2, "vfio", "hostdev0", "bdf", "", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "bdf",
                       "no host PCI function given: set bdf to its address, such as '0000:01:00.0' or '01:00.0'");
  test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_MISSING, "bdf",
                       "no host PCI function given");
}

static void
test_rule_syntax (void)
{
  static const char * const bad[] = {
    "1.0",              /* no bus: QEMU's parser refuses it too */
    "01:00",            /* no function */
    "01:00.8",          /* function 0..7 */
    "01:20.0",          /* slot 0..1f */
    "100:00.0",         /* bus 0..ff */
    "10000:01:00.0",    /* domain 0..ffff */
    "00000:01:00.0",    /* domain: 4 digits at most */
    "001:00.0",         /* bus: 2 digits at most */
    "01:001.0",         /* slot: 2 digits at most */
    "01:00.00",         /* function: 1 digit */
    "0x01:00.0",
    "01:00.0,",
    " 01:00.0",
    "01:00.0 ",
    "1:2:3:4.0",
    ":01:00.0",
    "01::00.0",
    "01:.0",
    "01:00.",
    "g1:00.0",
    "pci_0000_01_00_0",
    "/sys/bus/pci/devices/0000:01:00.0",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autofree char *fragment = g_strdup_printf ("'%s' is not a host PCI address: expected [domain:]bus:slot.function in hex (domain up to ffff, bus up to ff, slot up to 1f, function up to 7), such as '0000:01:00.0' or '01:00.0'",
                                                   bad[i]);
      QlDevice *dev = test_add_device (vm, "vfio", "hostdev0", "bdf", bad[i], NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "bdf", fragment);
    }
}

static void
test_rule_same_function_twice (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *first;
  QlDevice *second;

  /* The same function, written two ways. */
  first = test_add_device (vm, "vfio", "a", "bdf", "01:00.0", NULL);
  second = test_add_device (vm, "vfio", "b", "bdf", "0000:01:00.0", NULL);
  g_assert_true (ql_device_valid (first, vm, &error));
  g_assert_no_error (error);
  test_assert_invalid (vm, second, QL_CONFIG_ERROR_DUPLICATE, "bdf",
                       "host PCI function '0000:01:00.0' is already assigned by device 'a': a function can be passed to the guest once");
}

static void
test_rule_qemu_property_names (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vfio", "hostdev0", NULL);

  /* QEMU's names are not properties of the device: bdf is. */
  test_assert_bad_text (dev, "host", BDF);
  test_assert_bad_text (dev, "sysfsdev", "/sys/bus/pci/devices/" BDF);
}

/* ---- host checks ---- */

static void
test_host_ready (void)
{
  g_autoptr(QlHostProbe) probe = fake_host_new (BDF, TRUE, TRUE, TRUE);
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "vfio", "hostdev0", "bdf", "1:0.0", NULL);

  /* The short form is looked up under its canonical sysfs name. */
  test_assert_valid (vm, dev);
  test_assert_device_lines (vm,
                            "-device\n"
                            "vfio-pci,id=hostdev0,host=0000:01:00.0");
}

static void
test_host_no_such_function (void)
{
  g_autoptr(QlHostProbe) probe = fake_host_new (NULL, FALSE, FALSE, TRUE);
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "vfio", "hostdev0", "bdf", BDF, NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "bdf",
                       "the host has no PCI function '0000:01:00.0' (/sys/bus/pci/devices/0000:01:00.0/config: No such file or directory), and QEMU would fail with \"no such host device\": check the address with 'lspci -D'");
}

static void
test_host_no_iommu_group (void)
{
  g_autoptr(QlHostProbe) probe = fake_host_new (BDF, FALSE, FALSE, TRUE);
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "vfio", "hostdev0", "bdf", BDF, NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "bdf",
                       "host PCI function '0000:01:00.0' is in no IOMMU group (/sys/bus/pci/devices/0000:01:00.0/iommu_group/reserved_regions: No such file or directory), and QEMU would fail with \"no iommu_group found\": turn the host's IOMMU on");
}

static void
test_host_not_bound (void)
{
  g_autoptr(QlHostProbe) probe = fake_host_new (BDF, TRUE, FALSE, TRUE);
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "vfio", "hostdev0", "bdf", BDF, NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "bdf",
                       "host PCI function '0000:01:00.0' is not bound to the vfio-pci driver (/sys/bus/pci/drivers/vfio-pci/0000:01:00.0/config: No such file or directory): bind it first, for example with 'driverctl set-override 0000:01:00.0 vfio-pci'");
}

static void
test_host_no_vfio (void)
{
  g_autoptr(QlHostProbe) probe = fake_host_new (BDF, TRUE, TRUE, FALSE);
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "vfio", "hostdev0", "bdf", BDF, NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "bdf",
                       "VFIO is not usable on this host: '/dev/vfio/vfio' cannot be opened: No such file or directory; load the vfio-pci module");
}

static void
test_host_checks_off (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vfio", "hostdev0", "bdf", "ffff:ff:1f.7", NULL);

  /* --no-host-checks: argv for another host. */
  test_assert_valid (vm, dev);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  test_registry = ql_test_registry_new ();

  g_test_add_func ("/vfio/output/defaults", test_defaults);
  g_test_add_func ("/vfio/output/full-bdf", test_full_bdf);
  g_test_add_func ("/vfio/output/canonical-forms", test_canonical_forms);
  g_test_add_func ("/vfio/output/two-functions", test_two_functions);
  g_test_add_func ("/vfio/output/same-bus-other-domain", test_same_bus_other_domain);

  g_test_add_func ("/vfio/rule/missing", test_rule_missing);
  g_test_add_func ("/vfio/rule/syntax", test_rule_syntax);
  g_test_add_func ("/vfio/rule/same-function-twice", test_rule_same_function_twice);
  g_test_add_func ("/vfio/rule/qemu-property-names", test_rule_qemu_property_names);

  g_test_add_func ("/vfio/host/ready", test_host_ready);
  g_test_add_func ("/vfio/host/no-such-function", test_host_no_such_function);
  g_test_add_func ("/vfio/host/no-iommu-group", test_host_no_iommu_group);
  g_test_add_func ("/vfio/host/not-bound", test_host_not_bound);
  g_test_add_func ("/vfio/host/no-vfio", test_host_no_vfio);
  g_test_add_func ("/vfio/host/checks-off", test_host_checks_off);

  ret = g_test_run ();
  g_clear_object (&test_registry);
  return ret;
}
