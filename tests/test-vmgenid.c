/* qlaunch tests — the `vmgenid` device: auto and fixed GUIDs in the argv,
 * the GUID's syntax, one per VM, ACPI, with the device and key named, and
 * the hot-plug refusal. */
#include "ql-device-test.h"

static void
test_defaults (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vmgenid", "gen", NULL);
  g_autofree char *guid = NULL;

  g_object_get (dev, "guid", &guid, NULL);
  g_assert_cmpstr (guid, ==, "auto");
  test_assert_valid (vm, dev);
  test_assert_device_lines (vm, "-device\nvmgenid,id=gen,guid=auto");
}

static void
test_fixed (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vmgenid", "gen", "guid", "324E6EAF-d1d1-4BF6-bf41-B9BB6C91FB87", NULL);

  test_assert_valid (vm, dev);
  test_assert_device_lines (vm, "-device\nvmgenid,id=gen,guid=324e6eaf-d1d1-4bf6-bf41-b9bb6c91fb87");
}

static void
test_unset_restores_auto (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vmgenid", "gen", "guid", "324e6eaf-d1d1-4bf6-bf41-b9bb6c91fb87", NULL);

  g_object_set (dev, "guid", NULL, NULL);
  test_assert_device_lines (vm, "-device\nvmgenid,id=gen,guid=auto");
}

static void
test_rule_bad_guid (void)
{
  static const char * const bad[] = {
    "nope", "AUTO", "324e6eafd1d14bf6bf41b9bb6c91fb87", "324e6eaf-d1d1-4bf6-bf41-b9bb6c91fb8",
    "324e6eaf-d1d1-4bf6-bf41-b9bb6c91fb870", "{324e6eaf-d1d1-4bf6-bf41-b9bb6c91fb87}",
    "324e6eaf-d1d1-4bf6-bf41-b9bb6c91fbzz", "324e6eaf-d1d1-4bf6-bf41,b9bb6c91fb87",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "vmgenid", "gen", "guid", bad[i], NULL);
      g_autofree char *fragment = g_strdup_printf ("'%s' is not a GUID: expected 'auto' or a UUID", bad[i]);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "guid", fragment);
    }
}

static void
test_rule_empty (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vmgenid", "gen", "guid", "", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "guid", "the value is empty");
}

static void
test_rule_bad_text (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vmgenid", "gen", NULL);

  test_assert_bad_text (dev, "uuid", "324e6eaf-d1d1-4bf6-bf41-b9bb6c91fb87");
  test_assert_bad_text (dev, "guid-auto", "true");
  test_assert_device_lines (vm, "-device\nvmgenid,id=gen,guid=auto");
}

static void
test_rule_one_vmgenid (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *a = test_add_device (vm, "vmgenid", "gen0", NULL);
  QlDevice *b = test_add_device (vm, "vmgenid", "gen1", "guid", "324e6eaf-d1d1-4bf6-bf41-b9bb6c91fb87", NULL);

  test_assert_valid (vm, a);
  test_assert_invalid (vm, b, QL_CONFIG_ERROR_CONFLICT, "type",
                       "the VM has a vmgenid device already, 'gen0', and QEMU allows one (\"at most one vmgenid "
                       "device is permitted\"): remove 'gen0' or 'gen1'");
}

static void
test_rule_acpi_off (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vmgenid", "gen", NULL);

  g_object_set (vm, "machine-type", "q35", "machine-options", "acpi=off", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "type",
                       "the guest finds the generation ID through ACPI, and [machine] options say acpi=off");
}

static void
test_hotplug_refused (void)
{
  g_autoptr(QlVmConfig) running = test_vm_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlDevice) dev = ql_registry_create_device (test_registry, "vmgenid", "gen", &error);
  g_autoptr(JsonArray) plan = NULL;

  g_assert_no_error (error);
  plan = ql_hotplug_plan (dev, running, NULL, &error);
  g_assert_null (plan);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE);
  g_assert_true (g_str_has_prefix (error->message, "device 'gen': property 'type': vmgenid is part of the machine's ACPI tables"));
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  test_registry = ql_test_registry_new ();

  g_test_add_func ("/vmgenid/output/defaults", test_defaults);
  g_test_add_func ("/vmgenid/output/fixed", test_fixed);
  g_test_add_func ("/vmgenid/output/unset-restores-auto", test_unset_restores_auto);
  g_test_add_func ("/vmgenid/rule/bad-guid", test_rule_bad_guid);
  g_test_add_func ("/vmgenid/rule/empty", test_rule_empty);
  g_test_add_func ("/vmgenid/rule/bad-text", test_rule_bad_text);
  g_test_add_func ("/vmgenid/rule/one-vmgenid", test_rule_one_vmgenid);
  g_test_add_func ("/vmgenid/rule/acpi-off", test_rule_acpi_off);
  g_test_add_func ("/vmgenid/hotplug/refused", test_hotplug_refused);

  ret = g_test_run ();
  g_clear_object (&test_registry);
  return ret;
}
