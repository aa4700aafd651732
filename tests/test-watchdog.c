/* qlaunch tests — the `watchdog` device: the argv for each action (and
 * the one-action rule with both devices
 * named, bad text, and the hot-plug refusal. */
#include "ql-device-test.h"

static void
test_defaults (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "watchdog", "wd", NULL);
  int model = -1, action = -1;

  g_object_get (dev, "model", &model, "action", &action, NULL);
  g_assert_cmpint (model, ==, 0);
  g_assert_cmpint (action, ==, 0);
  test_assert_valid (vm, dev);
  test_assert_device_lines (vm, "-device\ni6300esb,id=wd\n-action\nwatchdog=reset");
}

static void
test_actions (void)
{
  static const char * const actions[] = { "reset", "shutdown", "poweroff", "pause", "debug", "none", "inject-nmi" };

  for (guint i = 0; i < G_N_ELEMENTS (actions); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "watchdog", "wd", "model", "i6300esb", "action", actions[i], NULL);
      g_autofree char *want = g_strdup_printf ("-device\ni6300esb,id=wd\n-action\nwatchdog=%s", actions[i]);

      test_assert_valid (vm, dev);
      test_assert_device_lines (vm, want);
    }
}

static void
test_two_same_action (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *a = test_add_device (vm, "watchdog", "wd0", "action", "poweroff", NULL);
  QlDevice *b = test_add_device (vm, "watchdog", "wd1", "action", "poweroff", NULL);

  test_assert_valid (vm, a);
  test_assert_valid (vm, b);
  /* One -action for the VM. */
  test_assert_device_lines (vm, "-device\ni6300esb,id=wd0\n-action\nwatchdog=poweroff\n-device\ni6300esb,id=wd1");
}

static void
test_rule_two_actions (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *a = test_add_device (vm, "watchdog", "wd0", "action", "poweroff", NULL);
  QlDevice *b = test_add_device (vm, "watchdog", "wd1", NULL);

  test_assert_valid (vm, a);
  test_assert_invalid (vm, b, QL_CONFIG_ERROR_CONFLICT, "action",
                       "'reset' differs from the action 'poweroff' of watchdog 'wd0', and QEMU has one watchdog action "
                       "for the whole VM (-action watchdog=): give both the same action");
}

static void
test_rule_bad_text (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "watchdog", "wd", NULL);

  /* QEMU: "Parameter 'watchdog' does not accept value 'bogus'". */
  test_assert_bad_text (dev, "action", "bogus");
  test_assert_bad_text (dev, "action", "inject_nmi");
  test_assert_bad_text (dev, "action", "Poweroff");
  test_assert_bad_text (dev, "action", "");
  test_assert_bad_text (dev, "model", "ib700");
  test_assert_bad_text (dev, "model", "diag288");
  test_assert_bad_text (dev, "timeout", "1");
  test_assert_device_lines (vm, "-device\ni6300esb,id=wd\n-action\nwatchdog=reset");
}

static void
test_hotplug_refused (void)
{
  g_autoptr(QlVmConfig) running = test_vm_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlDevice) dev = ql_registry_create_device (test_registry, "watchdog", "wd", &error);
  g_autoptr(JsonArray) plan = NULL;

  g_assert_no_error (error);
  plan = ql_hotplug_plan (dev, running, NULL, &error);
  g_assert_null (plan);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE);
  g_assert_true (g_str_has_prefix (error->message, "device 'wd': property 'type': a watchdog cannot be hot-plugged"));
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  test_registry = ql_test_registry_new ();

  g_test_add_func ("/watchdog/output/defaults", test_defaults);
  g_test_add_func ("/watchdog/output/actions", test_actions);
  g_test_add_func ("/watchdog/output/two-same-action", test_two_same_action);
  g_test_add_func ("/watchdog/rule/two-actions", test_rule_two_actions);
  g_test_add_func ("/watchdog/rule/bad-text", test_rule_bad_text);
  g_test_add_func ("/watchdog/hotplug/refused", test_hotplug_refused);

  ret = g_test_run ();
  g_clear_object (&test_registry);
  return ret;
}
