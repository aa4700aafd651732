/* qlaunch tests — the `balloon` device: every property and output form,
 * every rule with the device and the property named, one balloon per VM
 * (also for a device hot-plugged into a VM that has one), the hot-plug
 * plan. */
#include "ql-device-test.h"

/* ---- output ---- */

static void
test_defaults (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "balloon", "balloon0", NULL);
  g_autofree char *bus = NULL;
  g_autofree char *addr = NULL;
  gboolean deflate = TRUE, reporting = TRUE, disable_modern = TRUE;

  g_object_get (dev, "deflate-on-oom", &deflate, "free-page-reporting", &reporting,
                "bus", &bus, "addr", &addr, "disable-modern", &disable_modern, NULL);
  g_assert_false (deflate);
  g_assert_false (reporting);
  g_assert_null (bus);
  g_assert_null (addr);
  g_assert_false (disable_modern);
}

static void
test_minimal (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "balloon", "balloon0", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-balloon-pci,id=balloon0");
}

static void
test_each_option (void)
{
  static const struct
  {
    const char *key;
    const char *value;
    const char *line;
  } cases[] = {
    { "deflate-on-oom", "true", "virtio-balloon-pci,id=b0,deflate-on-oom=on" },
    { "free-page-reporting", "on", "virtio-balloon-pci,id=b0,free-page-reporting=on" },
    { "disable-modern", "yes", "virtio-balloon-pci,id=b0,disable-modern=on" },
    { "bus", "pcie.0", "virtio-balloon-pci,id=b0,bus=pcie.0" },
    { "addr", "1f.7", "virtio-balloon-pci,id=b0,addr=1f.7" },
    /* false is QEMU's default: nothing written. */
    { "deflate-on-oom", "false", "virtio-balloon-pci,id=b0" },
    { "free-page-reporting", "off", "virtio-balloon-pci,id=b0" },
    { "disable-modern", "no", "virtio-balloon-pci,id=b0" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autofree char *expected = g_strdup_printf ("-device\n%s", cases[i].line);

      test_add_device (vm, "balloon", "b0", cases[i].key, cases[i].value, NULL);
      test_assert_device_lines (vm, expected);
    }
}

static void
test_all_options (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "balloon", "balloon0", "deflate-on-oom", "true",
                   "free-page-reporting", "true", "bus", "pcie.0", "addr", "6",
                   "disable-modern", "true", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-balloon-pci,id=balloon0,bus=pcie.0,addr=6,deflate-on-oom=on,free-page-reporting=on,disable-modern=on");
}

static void
test_bus_comma (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* A ',' cannot add options. */
  test_add_device (vm, "balloon", "b0", "bus", "br0,addr=3", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-balloon-pci,id=b0,bus=br0,,addr=3");
}

/* ---- rules ---- */

static void
test_rule_bad_addr (void)
{
  static const char * const addrs[] = { "0x6", "20", "6.8", "six", "6." };

  for (guint i = 0; i < G_N_ELEMENTS (addrs); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "balloon", "b0", "addr", addrs[i], NULL);
      g_autofree char *fragment =
        g_strdup_printf ("'%s' is not a PCI address: expected a hex slot with an optional function, such as '5' or '1f.2'",
                         addrs[i]);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "addr", fragment);
    }
}

static void
test_rule_empty (void)
{
  static const char * const keys[] = { "bus", "addr" };

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "balloon", "b0", keys[i], "", NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, keys[i], "the value is empty");
    }
}

static void
test_rule_one_per_vm (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *first = test_add_device (vm, "balloon", "balloon0", NULL);
  QlDevice *second = NULL;

  /* Other device types in between do not matter. */
  test_add_device (vm, "rng", "rng0", NULL);
  second = test_add_device (vm, "balloon", "balloon1", "deflate-on-oom", "true", NULL);
  test_assert_valid (vm, first);
  test_assert_invalid (vm, second, QL_CONFIG_ERROR_CONFLICT, "type",
                       "the VM has a balloon device already, 'balloon0', and QEMU supports only one (\"Only one balloon device is supported\"): remove 'balloon0' or 'balloon1'");
}

static void
test_rule_one_per_vm_hotplug (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) running = test_vm_new (NULL);
  g_autoptr(QlDevice) extra = ql_registry_create_device (test_registry, "balloon", "b1", &error);
  g_autoptr(JsonArray) plan = NULL;

  g_assert_no_error (error);
  test_add_device (running, "balloon", "b0", NULL);
  /* The device is not in the running VM's configuration: its balloon is
   * found all the same. */
  plan = ql_hotplug_plan (extra, running, NULL, &error);
  g_assert_null (plan);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT);
  g_assert_cmpstr (error->message, ==,
                   "device 'b1': property 'type': the VM has a balloon device already, 'b0', and QEMU supports only one (\"Only one balloon device is supported\"): remove 'b0' or 'b1'");
}

static void
test_rule_bad_text (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "balloon", "b0", NULL);

  test_assert_bad_text (dev, "deflate-on-oom", "maybe");
  test_assert_bad_text (dev, "deflate-on-oom", "");
  test_assert_bad_text (dev, "free-page-reporting", "2");
  test_assert_bad_text (dev, "disable-modern", "enabled");
  /* Not a property of this type (QEMU's free-page-hint is not offered). */
  test_assert_bad_text (dev, "free-page-hint", "true");
  test_assert_bad_text (dev, "size", "128M");
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-balloon-pci,id=b0");
}

static void
test_host_checks_change_nothing (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "balloon", "b0", "deflate-on-oom", "true", NULL);

  /* A balloon needs nothing of the host: a host that has nothing is fine. */
  test_assert_valid (vm, dev);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-balloon-pci,id=b0,deflate-on-oom=on");
}

/* ---- hot-plug ---- */

static void
test_hotplug (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "balloon", "balloon0", "deflate-on-oom", "true",
                                   "free-page-reporting", "true", "bus", "pci.0",
                                   "addr", "7", NULL);

  /* Booleans stay JSON booleans: device_add refuses "on" strings. */
  test_assert_plan (dev, NULL,
                    "[{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"virtio-balloon-pci\", \"id\": \"balloon0\","
                    " \"bus\": \"pci.0\", \"addr\": \"7\", \"deflate-on-oom\": true, \"free-page-reporting\": true}}]");
}

static void
test_hotplug_minimal (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "balloon", "b0", NULL);

  test_assert_plan (dev, NULL,
                    "[{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"virtio-balloon-pci\", \"id\": \"b0\"}}]");
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  test_registry = ql_test_registry_new ();

  g_test_add_func ("/balloon/output/defaults", test_defaults);
  g_test_add_func ("/balloon/output/minimal", test_minimal);
  g_test_add_func ("/balloon/output/each-option", test_each_option);
  g_test_add_func ("/balloon/output/all-options", test_all_options);
  g_test_add_func ("/balloon/output/bus-comma", test_bus_comma);

  g_test_add_func ("/balloon/rule/bad-addr", test_rule_bad_addr);
  g_test_add_func ("/balloon/rule/empty", test_rule_empty);
  g_test_add_func ("/balloon/rule/one-per-vm", test_rule_one_per_vm);
  g_test_add_func ("/balloon/rule/one-per-vm-hotplug", test_rule_one_per_vm_hotplug);
  g_test_add_func ("/balloon/rule/bad-text", test_rule_bad_text);
  g_test_add_func ("/balloon/host/checks-change-nothing", test_host_checks_change_nothing);

  g_test_add_func ("/balloon/hotplug/all-options", test_hotplug);
  g_test_add_func ("/balloon/hotplug/minimal", test_hotplug_minimal);

  ret = g_test_run ();
  g_clear_object (&test_registry);
  return ret;
}
