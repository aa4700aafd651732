/* qlaunch tests — the `iommu` device: both models and every key in the
 * argv, every rule QEMU 7.2 enforces late (or not at all) with the device
 * and the key named, and the hot-plug refusal. */
#include "ql-device-test.h"

static QlVmConfig *
vm_new (const char *machine_type,
        const char *acceleration,
        const char *options)
{
  QlVmConfig *vm = test_vm_new (NULL);

  g_object_set (vm, "machine-type", machine_type, "machine-acceleration", acceleration,
                "machine-options", options, NULL);
  return vm;
}

/* The argv of @vm holds the lines @expected, after -machine; the VM's
 * other options are the machine's only. */
#define assert_lines(vm, expected) \
  G_STMT_START {                                                        \
    g_autoptr(GError) _error = NULL;                                    \
    g_autofree char *_text = ql_test_argv_string ((vm), &_error);       \
    g_auto(GStrv) _lines = NULL;                                        \
    g_autofree char *_got = NULL;                                       \
                                                                        \
    g_assert_no_error (_error);                                         \
    _lines = g_strsplit (_text, "\n", -1);                              \
    g_assert_cmpstr (_lines[0], ==, "-machine");                        \
    _got = g_strjoinv ("\n", _lines + 2);                               \
    g_assert_cmpstr (_got, ==, expected "\n");                          \
  } G_STMT_END

/* ---- output ---- */

static void
test_defaults (void)
{
  g_autoptr(QlVmConfig) vm = vm_new ("q35", "tcg", NULL);
  QlDevice *dev = test_add_device (vm, "iommu", "iommu0", NULL);
  int model = -1, intremap = -1;
  gboolean caching_mode = TRUE, device_iotlb = TRUE;

  g_object_get (dev, "model", &model, "intremap", &intremap, "caching-mode", &caching_mode,
                "device-iotlb", &device_iotlb, NULL);
  g_assert_cmpint (model, ==, 0);
  g_assert_cmpint (intremap, ==, 0);
  g_assert_false (caching_mode);
  g_assert_false (device_iotlb);
  test_assert_valid (vm, dev);
  assert_lines (vm, "-device\nintel-iommu,id=iommu0");
}

static void
test_intel_all_options (void)
{
  g_autoptr(QlVmConfig) vm = vm_new ("q35", "tcg", NULL);
  QlDevice *dev = test_add_device (vm, "iommu", "vtd", "model", "intel", "intremap", "on",
                                   "caching-mode", "on", "device-iotlb", "true", NULL);

  test_assert_valid (vm, dev);
  assert_lines (vm, "-device\nintel-iommu,id=vtd,intremap=on,caching-mode=on,device-iotlb=on");
}

static void
test_intel_intremap_off (void)
{
  g_autoptr(QlVmConfig) vm = vm_new ("pc-q35-7.2", "kvm", NULL);
  QlDevice *dev = test_add_device (vm, "iommu", "vtd", "intremap", "off", NULL);

  test_assert_valid (vm, dev);
  assert_lines (vm, "-device\nintel-iommu,id=vtd,intremap=off");
}

static void
test_intremap_kvm_split (void)
{
  g_autoptr(QlVmConfig) vm = vm_new ("q35", "kvm", "kernel-irqchip=split");
  QlDevice *dev = test_add_device (vm, "iommu", "vtd", "intremap", "on", NULL);

  test_assert_valid (vm, dev);
}

static void
test_intremap_tcg (void)
{
  /* QEMU 7.2 under TCG: no kernel irqchip, intremap=on starts with or
   * without kernel-irqchip= (which only KVM reads). */
  g_autoptr(QlVmConfig) vm = vm_new ("q35", "tcg", NULL);
  QlDevice *dev = test_add_device (vm, "iommu", "vtd", "intremap", "on", NULL);

  test_assert_valid (vm, dev);
}

static void
test_virtio (void)
{
  g_autoptr(QlVmConfig) q35 = vm_new ("q35", "tcg", NULL);
  g_autoptr(QlVmConfig) pc = vm_new ("pc", "tcg", NULL);
  QlDevice *dev = test_add_device (q35, "iommu", "viommu", "model", "virtio", NULL);

  test_assert_valid (q35, dev);
  /* On the root bus: no root port of its own. */
  assert_lines (q35, "-device\nvirtio-iommu-pci,id=viommu");
  dev = test_add_device (pc, "iommu", "viommu", "model", "virtio", NULL);
  test_assert_valid (pc, dev);
  assert_lines (pc, "-device\nvirtio-iommu-pci,id=viommu");
}

static void
test_virtio_default_machine (void)
{
  /* QEMU's default machine (pc) takes virtio-iommu-pci. */
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "iommu", "viommu", "model", "virtio", NULL);

  test_assert_valid (vm, dev);
  test_assert_device_lines (vm, "-device\nvirtio-iommu-pci,id=viommu");
}

static void
test_vfio_after_iommu (void)
{
  g_autoptr(QlVmConfig) vm = vm_new ("q35", "tcg", NULL);
  QlDevice *dev = test_add_device (vm, "iommu", "vtd", "caching-mode", "true", NULL);

  test_add_device (vm, "vfio", "gpu", "bdf", "0000:01:00.0", NULL);
  test_assert_valid (vm, dev);
}

/* ---- rules ---- */

static void
test_rule_intel_needs_q35 (void)
{
  const char *machines[] = { "pc", "pc-i440fx-7.2", NULL };

  for (guint i = 0; i < G_N_ELEMENTS (machines); i++)
    {
      g_autoptr(QlVmConfig) vm = vm_new (machines[i], "tcg", NULL);
      QlDevice *dev = test_add_device (vm, "iommu", "vtd", NULL);
      g_autofree char *fragment = machines[i] != NULL
        ? g_strdup_printf ("'intel' (intel-iommu) needs a q35 machine, and the machine is '%s' (QEMU:", machines[i])
        : g_strdup ("'intel' (intel-iommu) needs a q35 machine, and the machine is QEMU's default, pc (QEMU:");

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "model", fragment);
    }
}

static void
test_rule_one_iommu (void)
{
  static const char * const models[][2] = {
    { "intel", "intel" }, { "intel", "virtio" }, { "virtio", "intel" }, { "virtio", "virtio" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (models); i++)
    {
      g_autoptr(QlVmConfig) vm = vm_new ("q35", "tcg", NULL);
      QlDevice *first = test_add_device (vm, "iommu", "first", "model", models[i][0], NULL);
      QlDevice *second = test_add_device (vm, "iommu", "second", "model", models[i][1], NULL);

      test_assert_valid (vm, first);
      test_assert_invalid (vm, second, QL_CONFIG_ERROR_CONFLICT, "type",
                           "the VM has an IOMMU already, 'first', and QEMU supports one (\"QEMU does not support "
                           "multiple vIOMMUs for x86 yet.\"): remove 'first' or 'second'");
    }
}

static void
test_rule_intremap_kvm (void)
{
  static const char * const cases[][2] = {
    { "kvm", NULL }, { "kvm:tcg", NULL }, { "tcg:kvm", "kernel-irqchip=on" }, { "kvm", "kernel-irqchip=off" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = vm_new ("q35", cases[i][0], cases[i][1]);
      QlDevice *dev = test_add_device (vm, "iommu", "vtd", "intremap", "on", NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "intremap",
                           "'on' under KVM needs the split irqchip (QEMU: \"Interrupt Remapping cannot work with "
                           "kernel-irqchip=on, please use 'split|off'.\"): add kernel-irqchip=split to [machine] options");
    }
}

static void
test_rule_vfio_needs_caching_mode (void)
{
  g_autoptr(QlVmConfig) vm = vm_new ("q35", "tcg", NULL);
  QlDevice *dev = test_add_device (vm, "iommu", "vtd", NULL);

  test_add_device (vm, "vfio", "gpu", "bdf", "0000:01:00.0", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "caching-mode",
                       "vfio device 'gpu' needs caching-mode = true (QEMU: \"We need to set caching-mode=on for "
                       "intel-iommu to enable device assignment with IOMMU protection.\")");
}

static void
test_rule_vfio_before_iommu (void)
{
  static const char * const models[] = { "intel", "virtio" };

  for (guint i = 0; i < G_N_ELEMENTS (models); i++)
    {
      g_autoptr(QlVmConfig) vm = vm_new ("q35", "tcg", NULL);
      QlDevice *dev;

      test_add_device (vm, "vfio", "gpu", "bdf", "0000:01:00.0", NULL);
      dev = test_add_device (vm, "iommu", "vtd", "model", models[i], NULL);
      if (i == 0)
        g_object_set (dev, "caching-mode", TRUE, NULL);
      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "type",
                           "vfio device 'gpu' comes before the IOMMU in the VM, and QEMU binds a vfio device's DMA "
                           "when it creates it: it would bypass the IOMMU: list the IOMMU before 'gpu'");
    }
}

static void
test_rule_virtio_intel_keys (void)
{
  static const char * const keys[][2] = {
    { "intremap", "on" }, { "intremap", "off" }, { "caching-mode", "true" }, { "device-iotlb", "true" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autoptr(QlVmConfig) vm = vm_new ("q35", "tcg", NULL);
      QlDevice *dev = test_add_device (vm, "iommu", "viommu", "model", "virtio", keys[i][0], keys[i][1], NULL);
      g_autofree char *fragment = g_strdup_printf ("is a property of model intel (intel-iommu); virtio-iommu-pci has none "
                                                   "(QEMU: \"Property 'virtio-iommu-pci.%s' not found\")", keys[i][0]);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, keys[i][0], fragment);
    }
}

static void
test_rule_acpi_off (void)
{
  static const char * const models[][2] = { { "intel", "DMAR" }, { "virtio", "VIOT" } };

  for (guint i = 0; i < G_N_ELEMENTS (models); i++)
    {
      g_autoptr(QlVmConfig) vm = vm_new ("q35", "tcg", "acpi=off");
      QlDevice *dev = test_add_device (vm, "iommu", "io", "model", models[i][0], NULL);
      g_autofree char *fragment = g_strdup_printf ("is described to the guest by an ACPI table (%s), and [machine] options turn ACPI off",
                                                   models[i][1]);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "model", fragment);
    }
}

static void
test_rule_bad_text (void)
{
  g_autoptr(QlVmConfig) vm = vm_new ("q35", "tcg", NULL);
  QlDevice *dev = test_add_device (vm, "iommu", "io", NULL);

  test_assert_bad_text (dev, "model", "amd");
  test_assert_bad_text (dev, "model", "intel-iommu");
  test_assert_bad_text (dev, "model", "");
  test_assert_bad_text (dev, "intremap", "maybe");
  test_assert_bad_text (dev, "intremap", "true");
  test_assert_bad_text (dev, "caching-mode", "auto");
  test_assert_bad_text (dev, "device-iotlb", "2");
  test_assert_bad_text (dev, "eim", "on");
  assert_lines (vm, "-device\nintel-iommu,id=io");
}

static void
test_hotplug_refused (void)
{
  static const char * const models[][2] = { { "intel", "intel-iommu" }, { "virtio", "virtio-iommu-pci" } };

  for (guint i = 0; i < G_N_ELEMENTS (models); i++)
    {
      g_autoptr(QlVmConfig) running = vm_new ("q35", "tcg", NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(QlDevice) dev = ql_registry_create_device (test_registry, "iommu", "io", &error);
      g_autoptr(JsonArray) plan = NULL;
      g_autofree char *want = g_strdup_printf ("device 'io': property 'type': an IOMMU is part of the machine from its "
                                               "start: %s cannot be hot-plugged", models[i][1]);

      g_assert_no_error (error);
      g_assert_true (ql_device_set_property_from_string (dev, "model", models[i][0], &error));
      plan = ql_hotplug_plan (dev, running, NULL, &error);
      g_assert_null (plan);
      g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE);
      if (!g_str_has_prefix (error->message, want))
        g_error ("'%s' does not start with '%s'", error->message, want);
    }
}

/* A vfio device hot-plugged into a VM with an IOMMU: refused unless the
 * IOMMU is an intel-iommu with caching-mode, or virtio-iommu. */
static void
test_hotplug_vfio (void)
{
  static const struct
  {
    const char *model;
    const char *caching_mode;
    gboolean    ok;
  } cases[] = {
    { "intel", "false", FALSE },
    { "intel", "true", TRUE },
    { "virtio", "false", TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) running = vm_new ("q35", "tcg", NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(QlDevice) gpu = ql_registry_create_device (test_registry, "vfio", "gpu", &error);
      g_autoptr(JsonArray) plan = NULL;
      QlDevice *iommu = test_add_device (running, "iommu", "vtd", "model", cases[i].model, NULL);

      /* A root port to plug it into. */
      g_object_set (running, "machine-hotplug-slots", 1, NULL);
      if (g_str_equal (cases[i].model, "intel"))
        g_assert_true (ql_device_set_property_from_string (iommu, "caching-mode", cases[i].caching_mode, &error));
      g_assert_true (ql_device_set_property_from_string (gpu, "bdf", "0000:01:00.0", &error));
      g_assert_no_error (error);
      plan = ql_hotplug_plan (gpu, running, NULL, &error);
      if (cases[i].ok)
        {
          g_assert_no_error (error);
          g_assert_nonnull (plan);
          continue;
        }
      g_assert_null (plan);
      g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT);
      g_assert_cmpstr (error->message, ==,
                       "device 'gpu': property 'type': the VM's IOMMU 'vtd' is an intel-iommu without caching-mode, "
                       "and QEMU maps nothing for a vfio device then (\"We need to set caching-mode=on for intel-iommu "
                       "to enable device assignment with IOMMU protection.\"): start the VM with caching-mode = true");
    }
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  test_registry = ql_test_registry_new ();

  g_test_add_func ("/iommu/output/defaults", test_defaults);
  g_test_add_func ("/iommu/output/intel-all-options", test_intel_all_options);
  g_test_add_func ("/iommu/output/intel-intremap-off", test_intel_intremap_off);
  g_test_add_func ("/iommu/output/intremap-kvm-split", test_intremap_kvm_split);
  g_test_add_func ("/iommu/output/intremap-tcg", test_intremap_tcg);
  g_test_add_func ("/iommu/output/virtio", test_virtio);
  g_test_add_func ("/iommu/output/virtio-default-machine", test_virtio_default_machine);
  g_test_add_func ("/iommu/output/vfio-after-iommu", test_vfio_after_iommu);

  g_test_add_func ("/iommu/rule/intel-needs-q35", test_rule_intel_needs_q35);
  g_test_add_func ("/iommu/rule/one-iommu", test_rule_one_iommu);
  g_test_add_func ("/iommu/rule/intremap-kvm", test_rule_intremap_kvm);
  g_test_add_func ("/iommu/rule/vfio-needs-caching-mode", test_rule_vfio_needs_caching_mode);
  g_test_add_func ("/iommu/rule/vfio-before-iommu", test_rule_vfio_before_iommu);
  g_test_add_func ("/iommu/rule/virtio-intel-keys", test_rule_virtio_intel_keys);
  g_test_add_func ("/iommu/rule/acpi-off", test_rule_acpi_off);
  g_test_add_func ("/iommu/rule/bad-text", test_rule_bad_text);

  g_test_add_func ("/iommu/hotplug/refused", test_hotplug_refused);
  g_test_add_func ("/iommu/hotplug/vfio", test_hotplug_vfio);

  ret = g_test_run ();
  g_clear_object (&test_registry);
  return ret;
}
