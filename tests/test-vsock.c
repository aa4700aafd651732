/* qlaunch tests — the `vsock` device: every rule, every output form, the
 * host checks with a fake host. */
#include "ql-device-test.h"

/* A fake host where /dev/vhost-vsock and the fd @open_fd (if >= 0) are
 * usable as asked. */
static QlHostProbe *
fake_host_new (gboolean vhost_vsock,
               int      open_fd)
{
  QlHostProbe *probe = ql_fake_host_probe_new ();

  ql_fake_host_probe_set_device_usable (probe, "/dev/vhost-vsock", vhost_vsock);
  if (open_fd >= 0)
    ql_fake_host_probe_set_fd_open (probe, open_fd, TRUE);
  return probe;
}

/* ---- output ---- */

static void
test_defaults (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vsock", "vsock0", NULL);
  guint cid = 1;
  int vhost_fd = 0;
  gboolean disable_modern = TRUE;

  g_object_get (dev, "context-id", &cid, "vhost-fd", &vhost_fd,
                "disable-modern", &disable_modern, NULL);
  g_assert_cmpuint (cid, ==, 0);
  g_assert_cmpint (vhost_fd, ==, -1);
  g_assert_false (disable_modern);
}

static void
test_minimal (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* govmm TestAppendVSOCK: ID "vhost-vsock-pci0", ContextID 4. */
  test_add_device (vm, "vsock", "vhost-vsock-pci0", "context-id", "4", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "vhost-vsock-pci,id=vhost-vsock-pci0,guest-cid=4");
  test_assert_fds (vm, NULL, 0);
}

static void
test_cid_bounds (void)
{
  static const char * const cids[] = { "3", "4294967294" };

  for (guint i = 0; i < G_N_ELEMENTS (cids); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autofree char *expected = g_strdup_printf ("-device\nvhost-vsock-pci,id=vsock0,guest-cid=%s",
                                                   cids[i]);

      test_add_device (vm, "vsock", "vsock0", "context-id", cids[i], NULL);
      test_assert_device_lines (vm, expected);
    }
}

static void
test_vhost_fd (void)
{
  static const int fds[] = { 9 };
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "vsock", "vsock0", "context-id", "3", "vhost-fd", "9", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "vhost-vsock-pci,id=vsock0,guest-cid=3,vhostfd=3");
  test_assert_fds (vm, fds, G_N_ELEMENTS (fds));
}

static void
test_vhost_fd_numbering_after_net (void)
{
  static const int fds[] = { 10, 11, 7 };
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* Numbered in config order, after the fds of the devices before. */
  test_add_device (vm, "net", "net0", "fds", "10;11", NULL);
  test_add_device (vm, "vsock", "vsock0", "context-id", "3", "vhost-fd", "7", NULL);
  test_assert_device_lines (vm,
                            "-netdev\n"
                            "tap,id=net0,fds=3:4\n"
                            "-device\n"
                            "virtio-net-pci,id=net0,netdev=net0,mq=on,vectors=6\n"
                            "-device\n"
                            "vhost-vsock-pci,id=vsock0,guest-cid=3,vhostfd=5");
  test_assert_fds (vm, fds, G_N_ELEMENTS (fds));
}

/* ---- rules ---- */

static void
test_rule_cid_missing (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vsock", "vsock0", NULL);
  QlDevice *dev2 = test_add_device (vm2, "vsock", "vsock0", "context-id", "0", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "context-id",
                       "no guest CID given: set context-id to a number from 3 to 4294967294, unique among the host's VMs");
  test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_MISSING, "context-id",
                       "no guest CID given");
}

static void
test_rule_cid_reserved (void)
{
  static const char * const cids[] = { "1", "2" };

  for (guint i = 0; i < G_N_ELEMENTS (cids); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autofree char *fragment = g_strdup_printf ("'%s' is a reserved CID (1 is local loopback, 2 the host), and QEMU says \"guest-cid property must be greater than 2\": expected a number from 3 to 4294967294",
                                                   cids[i]);
      QlDevice *dev = test_add_device (vm, "vsock", "vsock0", "context-id", cids[i], NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "context-id", fragment);
    }
}

static void
test_rule_cid_any (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vsock", "vsock0", "context-id", "4294967295", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "context-id",
                       "'4294967295' is VMADDR_CID_ANY, which the kernel refuses as a guest CID: expected a number from 3 to 4294967294");
}

static void
test_rule_disable_modern (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vsock", "vsock0", "context-id", "3",
                                   "disable-modern", "true", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_UNSUPPORTED, "disable-modern",
                       "virtio-vsock has no legacy (virtio 0.9) interface: QEMU 7.2 forces vhost-vsock-pci to virtio 1.0 and would ignore disable-modern=on; unset disable-modern");
}

static void
test_rule_one_per_vm (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *first = test_add_device (vm, "vsock", "vsock0", "context-id", "3", NULL);
  QlDevice *second = test_add_device (vm, "vsock", "vsock1", "context-id", "4", NULL);

  g_assert_true (ql_device_valid (first, vm, &error));
  g_assert_no_error (error);
  test_assert_invalid (vm, second, QL_CONFIG_ERROR_CONFLICT, "context-id",
                       "the VM has a vsock device already, 'vsock0': a guest drives only one (its virtio-vsock driver ignores the others); remove one");
}

static void
test_rule_bad_text (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vsock", "vsock0", NULL);

  test_assert_bad_text (dev, "context-id", "4294967296");
  test_assert_bad_text (dev, "context-id", "-3");
  test_assert_bad_text (dev, "context-id", "three");
  test_assert_bad_text (dev, "vhost-fd", "-2");
  test_assert_bad_text (dev, "vhost-fd", "/dev/vhost-vsock");
  test_assert_bad_text (dev, "disable-modern", "maybe");
}

/* ---- host checks ---- */

static void
test_host_vhost_vsock_usable (void)
{
  g_autoptr(QlHostProbe) probe = fake_host_new (TRUE, -1);
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "vsock", "vsock0", "context-id", "3", NULL);

  test_assert_valid (vm, dev);
}

static void
test_host_vhost_vsock_missing (void)
{
  g_autoptr(QlHostProbe) probe = fake_host_new (FALSE, -1);
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "vsock", "vsock0", "context-id", "3", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "vhost-fd",
                       "a vsock device needs '/dev/vhost-vsock', which cannot be used: No such file or directory (QEMU fails with \"vhost-vsock: failed to open vhost device\"); load the vhost_vsock module, or pass an open descriptor of it as vhost-fd");
}

static void
test_host_vhost_fd_without_device_node (void)
{
  g_autoptr(QlHostProbe) probe = fake_host_new (FALSE, 9);
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "vsock", "vsock0", "context-id", "3",
                                   "vhost-fd", "9", NULL);

  /* A passed descriptor: QEMU does not open /dev/vhost-vsock itself. */
  test_assert_valid (vm, dev);
}

static void
test_host_vhost_fd_closed (void)
{
  g_autoptr(QlHostProbe) probe = fake_host_new (TRUE, -1);
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "vsock", "vsock0", "context-id", "3",
                                   "vhost-fd", "9", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "vhost-fd",
                       "file descriptor '9' cannot be handed to QEMU: ");
}

static void
test_host_checks_off (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vsock", "vsock0", "context-id", "3",
                                   "vhost-fd", "99", NULL);

  test_assert_valid (vm, dev);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  test_registry = ql_test_registry_new ();

  g_test_add_func ("/vsock/output/defaults", test_defaults);
  g_test_add_func ("/vsock/output/minimal", test_minimal);
  g_test_add_func ("/vsock/output/cid-bounds", test_cid_bounds);
  g_test_add_func ("/vsock/output/vhost-fd", test_vhost_fd);
  g_test_add_func ("/vsock/output/vhost-fd-numbering-after-net", test_vhost_fd_numbering_after_net);

  g_test_add_func ("/vsock/rule/cid-missing", test_rule_cid_missing);
  g_test_add_func ("/vsock/rule/cid-reserved", test_rule_cid_reserved);
  g_test_add_func ("/vsock/rule/cid-any", test_rule_cid_any);
  g_test_add_func ("/vsock/rule/disable-modern", test_rule_disable_modern);
  g_test_add_func ("/vsock/rule/one-per-vm", test_rule_one_per_vm);
  g_test_add_func ("/vsock/rule/bad-text", test_rule_bad_text);

  g_test_add_func ("/vsock/host/vhost-vsock-usable", test_host_vhost_vsock_usable);
  g_test_add_func ("/vsock/host/vhost-vsock-missing", test_host_vhost_vsock_missing);
  g_test_add_func ("/vsock/host/vhost-fd-without-device-node", test_host_vhost_fd_without_device_node);
  g_test_add_func ("/vsock/host/vhost-fd-closed", test_host_vhost_fd_closed);
  g_test_add_func ("/vsock/host/checks-off", test_host_checks_off);

  ret = g_test_run ();
  g_clear_object (&test_registry);
  return ret;
}
