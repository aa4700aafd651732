/* qlaunch tests — the `rng` device: every property and output form, every
 * rule with the device and the property named, the host checks with a fake
 * host, and the hot-plug plan (object-add then device_add). */
#include "ql-device-test.h"

#define URANDOM "/dev/urandom"

/* A fake host on which only @readable (NULL-terminated) can be read. */
static QlHostProbe *
fake_host_new (const char *readable,
               ...)
{
  QlHostProbe *probe = ql_fake_host_probe_new ();
  const char *path = readable;
  va_list ap;

  va_start (ap, readable);
  while (path != NULL)
    {
      ql_fake_host_probe_set_file_readable (probe, path, TRUE);
      path = va_arg (ap, const char *);
    }
  va_end (ap);
  return probe;
}

/* ---- output ---- */

static void
test_defaults (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "rng", "rng0", NULL);
  g_autofree char *file = NULL;
  g_autofree char *bus = NULL;
  g_autofree char *addr = NULL;
  int backend = -1;
  guint64 max_bytes = 1;
  guint period = 1;
  gboolean disable_modern = TRUE;

  g_object_get (dev, "backend", &backend, "file", &file, "max-bytes", &max_bytes,
                "period", &period, "bus", &bus, "addr", &addr,
                "disable-modern", &disable_modern, NULL);
  g_assert_cmpint (backend, ==, 0);
  g_assert_cmpstr (file, ==, URANDOM);
  g_assert_cmpuint (max_bytes, ==, 0);
  g_assert_cmpuint (period, ==, 0);
  g_assert_null (bus);
  g_assert_null (addr);
  g_assert_false (disable_modern);
}

static void
test_minimal (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* backend random on /dev/urandom; the backend object takes the id. */
  test_add_device (vm, "rng", "rng0", NULL);
  test_assert_device_lines (vm,
                            "-object\n"
                            "rng-random,id=rng0,filename=/dev/urandom\n"
                            "-device\n"
                            "virtio-rng-pci,id=rng0,rng=rng0");
}

static void
test_backend_random_file (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "rng", "rng0", "backend", "random", "file", "/dev/hwrng", NULL);
  test_assert_device_lines (vm,
                            "-object\n"
                            "rng-random,id=rng0,filename=/dev/hwrng\n"
                            "-device\n"
                            "virtio-rng-pci,id=rng0,rng=rng0");
}

static void
test_backend_builtin (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "rng", "rng0", "backend", "builtin", NULL);
  test_assert_device_lines (vm,
                            "-object\n"
                            "rng-builtin,id=rng0\n"
                            "-device\n"
                            "virtio-rng-pci,id=rng0,rng=rng0");
}

static void
test_file_comma (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* A ',' cannot add options to the backend object. */
  test_add_device (vm, "rng", "rng0", "file", "/srv/a,readonly=on", NULL);
  test_assert_device_lines (vm,
                            "-object\n"
                            "rng-random,id=rng0,filename=/srv/a,,readonly=on\n"
                            "-device\n"
                            "virtio-rng-pci,id=rng0,rng=rng0");
}

static void
test_all_options (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "rng", "rng0", "backend", "builtin", "max-bytes", "1K",
                   "period", "1000", "bus", "pcie.0", "addr", "1f.2",
                   "disable-modern", "true", NULL);
  test_assert_device_lines (vm,
                            "-object\n"
                            "rng-builtin,id=rng0\n"
                            "-device\n"
                            "virtio-rng-pci,id=rng0,rng=rng0,bus=pcie.0,addr=1f.2,max-bytes=1024,period=1000,disable-modern=on");
}

static void
test_max_bytes_without_period (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* QEMU's own period (65536 ms) applies: no period key. */
  test_add_device (vm, "rng", "rng0", "max-bytes", "2G", NULL);
  test_assert_device_lines (vm,
                            "-object\n"
                            "rng-random,id=rng0,filename=/dev/urandom\n"
                            "-device\n"
                            "virtio-rng-pci,id=rng0,rng=rng0,max-bytes=2147483648");
}

static void
test_limits (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* The largest values QEMU 7.2 takes: max-bytes 2^63-1, period 2^32-1. */
  test_add_device (vm, "rng", "rng0", "max-bytes", "9223372036854775807",
                   "period", "4294967295", NULL);
  test_assert_device_lines (vm,
                            "-object\n"
                            "rng-random,id=rng0,filename=/dev/urandom\n"
                            "-device\n"
                            "virtio-rng-pci,id=rng0,rng=rng0,max-bytes=9223372036854775807,period=4294967295");
}

static void
test_file_unset_restores_default (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "rng", "rng0", "file", "/dev/hwrng", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *file = NULL;

  g_object_set (dev, "file", NULL, NULL);
  g_object_get (dev, "file", &file, NULL);
  g_assert_cmpstr (file, ==, URANDOM);
  /* Unset again, so backend builtin takes it. */
  g_assert_true (ql_device_set_property_from_string (dev, "backend", "builtin", &error));
  g_assert_no_error (error);
  test_assert_valid (vm, dev);
  test_assert_device_lines (vm,
                            "-object\n"
                            "rng-builtin,id=rng0\n"
                            "-device\n"
                            "virtio-rng-pci,id=rng0,rng=rng0");
}

static void
test_two_devices (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* QEMU takes several; each has a backend of its own. */
  test_add_device (vm, "rng", "rng0", NULL);
  test_add_device (vm, "rng", "rng1", "backend", "builtin", NULL);
  test_assert_device_lines (vm,
                            "-object\n"
                            "rng-random,id=rng0,filename=/dev/urandom\n"
                            "-device\n"
                            "virtio-rng-pci,id=rng0,rng=rng0\n"
                            "-object\n"
                            "rng-builtin,id=rng1\n"
                            "-device\n"
                            "virtio-rng-pci,id=rng1,rng=rng1");
}

/* ---- rules ---- */

static void
test_rule_bad_addr (void)
{
  static const char * const addrs[] = { "0x5", "20", "5.8", "zz", "1f.2.1" };

  for (guint i = 0; i < G_N_ELEMENTS (addrs); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "rng", "rng0", "addr", addrs[i], NULL);
      g_autofree char *fragment =
        g_strdup_printf ("'%s' is not a PCI address: expected a hex slot with an optional function, such as '5' or '1f.2'",
                         addrs[i]);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "addr", fragment);
    }
}

static void
test_rule_empty (void)
{
  static const char * const keys[] = { "bus", "addr", "file" };

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "rng", "rng0", keys[i], "", NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, keys[i], "the value is empty");
    }
}

static void
test_rule_file_with_builtin (void)
{
  static const char * const files[] = { "/dev/hwrng", URANDOM };

  /* Even the default, when given: it would be dropped. */
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "rng", "rng0", "backend", "builtin",
                                       "file", files[i], NULL);
      g_autofree char *fragment =
        g_strdup_printf ("'%s' is read by backend random only; backend builtin is QEMU's own generator and takes no file: unset file, or set backend=random",
                         files[i]);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "file", fragment);
    }
}

static void
test_rule_period_without_max_bytes (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "rng", "rng0", "period", "1000", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "period",
                       "a period of '1000' ms limits nothing without max-bytes (QEMU then allows 2^63-1 bytes per period): set max-bytes too, or unset period");
}

static void
test_rule_bad_text (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "rng", "rng0", NULL);

  test_assert_bad_text (dev, "backend", "egd");
  test_assert_bad_text (dev, "backend", "Random");
  test_assert_bad_text (dev, "backend", "");
  /* QEMU: "'max-bytes' parameter must be non-negative, and less than 2^63". */
  test_assert_bad_text (dev, "max-bytes", "9223372036854775808");
  test_assert_bad_text (dev, "max-bytes", "8388608T");
  test_assert_bad_text (dev, "max-bytes", "-1");
  test_assert_bad_text (dev, "max-bytes", "1X");
  test_assert_bad_text (dev, "max-bytes", "");
  test_assert_bad_text (dev, "period", "-1");
  test_assert_bad_text (dev, "period", "4294967296");
  test_assert_bad_text (dev, "period", "1.5");
  test_assert_bad_text (dev, "period", "1s");
  test_assert_bad_text (dev, "disable-modern", "maybe");
  test_assert_bad_text (dev, "no-such-key", "1");
  /* Nothing was set by the refused values. */
  test_assert_device_lines (vm,
                            "-object\n"
                            "rng-random,id=rng0,filename=/dev/urandom\n"
                            "-device\n"
                            "virtio-rng-pci,id=rng0,rng=rng0");
}

/* ---- host checks ---- */

static void
test_host_default_file_readable (void)
{
  g_autoptr(QlHostProbe) probe = fake_host_new (URANDOM, NULL);
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "rng", "rng0", NULL);

  test_assert_valid (vm, dev);
}

static void
test_host_default_file_missing (void)
{
  g_autoptr(QlHostProbe) probe = fake_host_new (NULL);
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "rng", "rng0", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "file",
                       "cannot read '/dev/urandom': No such file or directory: expected a readable file or character device such as /dev/urandom (QEMU's rng-random opens it at start-up)");
}

static void
test_host_file (void)
{
  g_autoptr(QlHostProbe) probe = fake_host_new ("/dev/hwrng", NULL);
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  g_autoptr(QlVmConfig) vm2 = test_vm_new (probe);
  QlDevice *good = test_add_device (vm, "rng", "rng0", "file", "/dev/hwrng", NULL);
  QlDevice *bad = test_add_device (vm2, "rng", "rng1", "file", "/srv/entropy", NULL);

  test_assert_valid (vm, good);
  test_assert_invalid (vm2, bad, QL_CONFIG_ERROR_HOST, "file",
                       "cannot read '/srv/entropy': No such file or directory");
}

static void
test_host_real_directory (void)
{
  g_autoptr(QlHostProbe) probe = ql_host_probe_new ();
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  g_autofree char *dir = ql_test_make_tmpdir ();
  QlDevice *dev = test_add_device (vm, "rng", "rng0", "file", dir, NULL);
  g_autofree char *fragment = g_strdup_printf ("cannot read '%s': ", dir);

  /* QEMU would open a directory and never deliver a byte. */
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "file", fragment);
  ql_test_rm_rf (dir);
}

static void
test_host_builtin_reads_nothing (void)
{
  g_autoptr(QlHostProbe) probe = fake_host_new (NULL);
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "rng", "rng0", "backend", "builtin", NULL);

  test_assert_valid (vm, dev);
}

static void
test_host_checks_off (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "rng", "rng0", "file", "/nonexistent/entropy", NULL);

  test_assert_valid (vm, dev);
}

/* ---- hot-plug ---- */

static void
test_hotplug_random (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "rng", "rng0", "max-bytes", "1K", "period", "1000",
                                   "bus", "pci.0", "addr", "6", NULL);

  /* The backend first; numbers stay JSON numbers (device_add needs them). */
  test_assert_plan (dev, NULL,
                    "[{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": \"rng-random\", \"id\": \"rng0\", \"filename\": \"/dev/urandom\"}},"
                    " {\"execute\": \"device_add\", \"arguments\": {\"driver\": \"virtio-rng-pci\", \"id\": \"rng0\", \"rng\": \"rng0\","
                    " \"bus\": \"pci.0\", \"addr\": \"6\", \"max-bytes\": 1024, \"period\": 1000}}]");
}

static void
test_hotplug_builtin (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "rng", "hwrng1", "backend", "builtin",
                                   "disable-modern", "true", NULL);

  test_assert_plan (dev, NULL,
                    "[{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": \"rng-builtin\", \"id\": \"hwrng1\"}},"
                    " {\"execute\": \"device_add\", \"arguments\": {\"driver\": \"virtio-rng-pci\", \"id\": \"hwrng1\", \"rng\": \"hwrng1\","
                    " \"disable-modern\": true}}]");
}

static void
test_hotplug_invalid (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "rng", "rng0", "backend", "builtin",
                                   "file", "/dev/hwrng", NULL);
  g_autoptr(JsonArray) plan = ql_hotplug_plan (dev, NULL, NULL, &error);

  g_assert_null (plan);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT);
  g_assert_true (g_str_has_prefix (error->message, "device 'rng0': property 'file': "));
}

static void
test_hotplug_host_check (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlHostProbe) probe = fake_host_new (NULL);
  g_autoptr(QlVmConfig) running = test_vm_new (probe);
  g_autoptr(QlDevice) dev = ql_registry_create_device (test_registry, "rng", "rng0", &error);
  g_autoptr(JsonArray) plan = NULL;

  g_assert_no_error (error);
  /* Against the running VM's configuration, with its host checks. */
  plan = ql_hotplug_plan (dev, running, NULL, &error);
  g_assert_null (plan);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST);
  g_assert_true (g_str_has_prefix (error->message, "device 'rng0': property 'file': cannot read '/dev/urandom'"));
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  test_registry = ql_test_registry_new ();

  g_test_add_func ("/rng/output/defaults", test_defaults);
  g_test_add_func ("/rng/output/minimal", test_minimal);
  g_test_add_func ("/rng/output/backend-random-file", test_backend_random_file);
  g_test_add_func ("/rng/output/backend-builtin", test_backend_builtin);
  g_test_add_func ("/rng/output/file-comma", test_file_comma);
  g_test_add_func ("/rng/output/all-options", test_all_options);
  g_test_add_func ("/rng/output/max-bytes-without-period", test_max_bytes_without_period);
  g_test_add_func ("/rng/output/limits", test_limits);
  g_test_add_func ("/rng/output/file-unset-restores-default", test_file_unset_restores_default);
  g_test_add_func ("/rng/output/two-devices", test_two_devices);

  g_test_add_func ("/rng/rule/bad-addr", test_rule_bad_addr);
  g_test_add_func ("/rng/rule/empty", test_rule_empty);
  g_test_add_func ("/rng/rule/file-with-builtin", test_rule_file_with_builtin);
  g_test_add_func ("/rng/rule/period-without-max-bytes", test_rule_period_without_max_bytes);
  g_test_add_func ("/rng/rule/bad-text", test_rule_bad_text);

  g_test_add_func ("/rng/host/default-file-readable", test_host_default_file_readable);
  g_test_add_func ("/rng/host/default-file-missing", test_host_default_file_missing);
  g_test_add_func ("/rng/host/file", test_host_file);
  g_test_add_func ("/rng/host/real-directory", test_host_real_directory);
  g_test_add_func ("/rng/host/builtin-reads-nothing", test_host_builtin_reads_nothing);
  g_test_add_func ("/rng/host/checks-off", test_host_checks_off);

  g_test_add_func ("/rng/hotplug/random", test_hotplug_random);
  g_test_add_func ("/rng/hotplug/builtin", test_hotplug_builtin);
  g_test_add_func ("/rng/hotplug/invalid", test_hotplug_invalid);
  g_test_add_func ("/rng/hotplug/host-check", test_hotplug_host_check);

  ret = g_test_run ();
  g_clear_object (&test_registry);
  return ret;
}
