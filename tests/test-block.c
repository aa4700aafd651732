/* qlaunch tests — the `block` and `scsi-controller` devices: every rule,
 * every output form. */
#include "ql-device-test.h"

#define DISK "/images/disk.qcow2"

/* ---- block: output ---- */

static void
test_block_defaults (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "block", "disk0", "file", DISK, NULL);
  g_autofree char *driver = NULL;
  int interface = -1, aio = -1, format = -1;
  gboolean wce = TRUE, scsi = TRUE;

  g_object_get (dev, "driver", &driver, "interface", &interface, "aio", &aio,
                "format", &format, "wce", &wce, "scsi", &scsi, NULL);
  g_assert_null (driver);
  g_assert_cmpint (interface, ==, 0);
  g_assert_cmpint (aio, ==, 0);
  g_assert_cmpint (format, ==, 0);
  g_assert_false (wce);
  g_assert_false (scsi);

  /* virtio-blk by default; config-wce=off as govmm; always if=none. */
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-blk-pci,id=disk0,drive=disk0,config-wce=off\n"
                            "-drive\n"
                            "id=disk0,file=" DISK ",aio=threads,format=qcow2,if=none");
}

static void
test_block_virtio_blk_all (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "block", "disk0",
                   "file", DISK,
                   "driver", "virtio-blk",
                   "bus", "pcie.0",
                   "addr", "6",
                   "disable-modern", "true",
                   "scsi", "true",
                   NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-blk,id=disk0,drive=disk0,bus=pcie.0,addr=6,disable-modern=on,scsi=on,config-wce=off\n"
                            "-drive\n"
                            "id=disk0,file=" DISK ",aio=threads,format=qcow2,if=none");
}

static void
test_block_wce (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "block", "disk0", "file", DISK, "wce", "true", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-blk-pci,id=disk0,drive=disk0\n"
                            "-drive\n"
                            "id=disk0,file=" DISK ",aio=threads,format=qcow2,if=none");
}

static void
test_block_drive_options (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "block", "disk0",
                   "file", "/images/disk.img",
                   "aio", "native",
                   "cache-direct", "true",
                   "read-only", "true",
                   "format", "raw",
                   NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-blk-pci,id=disk0,drive=disk0,config-wce=off\n"
                            "-drive\n"
                            "id=disk0,file=/images/disk.img,aio=native,format=raw,if=none,cache.direct=on,readonly=on");
}

static void
test_block_cache_direct_threads (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "block", "disk0", "file", DISK,
                   "cache-direct", "true", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-blk-pci,id=disk0,drive=disk0,config-wce=off\n"
                            "-drive\n"
                            "id=disk0,file=" DISK ",aio=threads,format=qcow2,if=none,cache.direct=on");
}

static void
test_block_formats (void)
{
  static const char * const formats[] = {
    "qcow2", "raw", "vmdk", "vdi", "vhdx", "vpc",
  };

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autofree char *expected = NULL;

      test_add_device (vm, "block", "disk0", "file", DISK,
                       "format", formats[i], NULL);
      expected = g_strdup_printf ("-device\n"
                                  "virtio-blk-pci,id=disk0,drive=disk0,config-wce=off\n"
                                  "-drive\n"
                                  "id=disk0,file=" DISK ",aio=threads,format=%s,if=none",
                                  formats[i]);
      test_assert_device_lines (vm, expected);
    }
}

static void
test_block_scsi_disk (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "scsi-controller", "scsi0", NULL);
  test_add_device (vm, "block", "disk0", "file", DISK,
                   "interface", "scsi", "bus", "scsi0.0", NULL);
  test_add_device (vm, "block", "disk1", "file", "/images/data.img",
                   "interface", "scsi", "driver", "scsi-hd", "format", "raw",
                   "read-only", "true", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-scsi-pci,id=scsi0\n"
                            "-device\n"
                            "scsi-hd,id=disk0,drive=disk0,bus=scsi0.0\n"
                            "-drive\n"
                            "id=disk0,file=" DISK ",aio=threads,format=qcow2,if=none\n"
                            "-device\n"
                            "scsi-hd,id=disk1,drive=disk1\n"
                            "-drive\n"
                            "id=disk1,file=/images/data.img,aio=threads,format=raw,if=none,readonly=on");
}

static void
test_block_comma_escaping (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "block", "disk0", "file", "a,b.qcow2", NULL);
  test_add_device (vm, "block", "disk1", "file", "/images/x,readonly=on",
                   "bus", "pci.0,addr=4", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-blk-pci,id=disk0,drive=disk0,config-wce=off\n"
                            "-drive\n"
                            "id=disk0,file=a,,b.qcow2,aio=threads,format=qcow2,if=none\n"
                            "-device\n"
                            "virtio-blk-pci,id=disk1,drive=disk1,bus=pci.0,,addr=4,config-wce=off\n"
                            "-drive\n"
                            "id=disk1,file=/images/x,,readonly=on,aio=threads,format=qcow2,if=none");
}

/* ---- block: rules ---- */

static void
test_block_rule_file_missing (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "block", "disk0", NULL);
  QlDevice *dev2 = test_add_device (vm2, "block", "disk0", "file", "", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "file",
                       "no disk image given");
  test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_MISSING, "file", NULL);
}

static void
test_block_rule_driver (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "block", "disk0", "file", DISK,
                                   "driver", "ide-hd", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "driver",
                       "'ide-hd' is not a supported driver: expected one of virtio-blk-pci, virtio-blk, scsi-hd");
}

static void
test_block_rule_driver_vs_interface (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "block", "disk0", "file", DISK,
                                   "interface", "scsi",
                                   "driver", "virtio-blk-pci", NULL);
  QlDevice *dev2 = test_add_device (vm2, "block", "disk0", "file", DISK,
                                    "driver", "scsi-hd", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "driver",
                       "'virtio-blk-pci' is not a SCSI disk but interface is 'scsi'");
  test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_CONFLICT, "driver",
                       "'scsi-hd' is a SCSI disk but interface is 'none'");
}

static void
test_block_rule_scsi_needs_controller (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm3 = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "block", "disk0", "file", DISK,
                                   "interface", "scsi", NULL);
  QlDevice *dev2 = test_add_device (vm2, "block", "disk0", "file", DISK,
                                    "interface", "scsi", NULL);
  QlDevice *dev3;

  /* No controller, or one created after the disk: QEMU finds no bus. */
  test_add_device (vm2, "scsi-controller", "scsi0", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "bus",
                       "a SCSI disk needs a SCSI controller created before it");
  test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_MISSING, "bus", NULL);

  /* An explicit bus is taken as given. */
  dev3 = test_add_device (vm3, "block", "disk0", "file", DISK,
                          "interface", "scsi", "bus", "hba0.0", NULL);
  test_assert_valid (vm3, dev3);
}

static void
test_block_rule_aio_native (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "block", "disk0", "file", DISK,
                                   "aio", "native", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "aio",
                       "'native' needs cache-direct=true");
}

static void
test_block_rule_scsi_modern (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "block", "disk0", "file", DISK,
                                   "scsi", "true", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "scsi",
                       "set disable-modern=true or scsi=false");
}

static void
test_block_rule_virtio_blk_only (void)
{
  static const struct {
    const char *property;
    const char *value;
  } cases[] = {
    { "scsi", "true" },
    { "wce", "true" },
    { "disable-modern", "true" },
    { "addr", "5" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "block", "disk0", "file", DISK,
                                       "interface", "scsi", "bus", "scsi0.0",
                                       cases[i].property, cases[i].value,
                                       NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT,
                           cases[i].property,
                           "only applies to virtio-blk disks, not to driver 'scsi-hd'");
    }
}

static void
test_block_rule_addr (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "block", "disk0", "file", DISK,
                                   "addr", "zz", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "addr",
                       "'zz' is not a PCI address");
}

static void
test_block_rule_empty_values (void)
{
  static const char * const properties[] = { "bus", "addr" };

  for (guint i = 0; i < G_N_ELEMENTS (properties); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "block", "disk0", "file", DISK,
                                       properties[i], "", NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE,
                           properties[i], "the value is empty");
    }
}

static void
test_block_rule_bad_text (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "block", "disk0", NULL);

  test_assert_bad_text (dev, "interface", "ide");
  test_assert_bad_text (dev, "aio", "io_uring");
  test_assert_bad_text (dev, "format", "qed");
  test_assert_bad_text (dev, "read-only", "yes please");
}

/* ---- block: host checks ---- */

static void
test_block_host_file_missing (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "block", "disk0", "file", DISK, NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "file",
                       "cannot read '" DISK "': No such file or directory");
}

static void
test_block_host_file_readable (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "block", "disk0", "file", DISK, NULL);

  ql_fake_host_probe_set_file_readable (probe, DISK, TRUE);
  test_assert_valid (vm, dev);
}

/* ---- scsi-controller ---- */

static void
test_scsi_defaults (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "scsi-controller", "scsi0", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-scsi-pci,id=scsi0");
}

static void
test_scsi_all (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  ql_vm_config_add_iothread (vm, "io0");
  test_add_device (vm, "scsi-controller", "scsi0",
                   "bus", "pcie.0",
                   "addr", "6",
                   "disable-modern", "true",
                   "io-thread", "io0",
                   NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-scsi-pci,id=scsi0,bus=pcie.0,addr=6,disable-modern=on,iothread=io0");
}

static void
test_scsi_rule_io_thread (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev;

  ql_vm_config_add_iothread (vm, "io0");
  dev = test_add_device (vm, "scsi-controller", "scsi0",
                         "io-thread", "io9", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "io-thread",
                       "'io9' is not an I/O thread of the VM");
}

static void
test_scsi_rule_addr (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "scsi-controller", "scsi0",
                                   "addr", "6.9", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "addr",
                       "'6.9' is not a PCI address");
}

static void
test_scsi_rule_empty_values (void)
{
  static const char * const properties[] = { "bus", "addr", "io-thread" };

  for (guint i = 0; i < G_N_ELEMENTS (properties); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "scsi-controller", "scsi0",
                                       properties[i], "", NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE,
                           properties[i], "the value is empty");
    }
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  test_registry = ql_test_registry_new ();

  g_test_add_func ("/block/output/defaults", test_block_defaults);
  g_test_add_func ("/block/output/virtio-blk-all", test_block_virtio_blk_all);
  g_test_add_func ("/block/output/wce", test_block_wce);
  g_test_add_func ("/block/output/drive-options", test_block_drive_options);
  g_test_add_func ("/block/output/cache-direct-threads", test_block_cache_direct_threads);
  g_test_add_func ("/block/output/formats", test_block_formats);
  g_test_add_func ("/block/output/scsi-disk", test_block_scsi_disk);
  g_test_add_func ("/block/output/comma-escaping", test_block_comma_escaping);

  g_test_add_func ("/block/rule/file-missing", test_block_rule_file_missing);
  g_test_add_func ("/block/rule/driver", test_block_rule_driver);
  g_test_add_func ("/block/rule/driver-vs-interface", test_block_rule_driver_vs_interface);
  g_test_add_func ("/block/rule/scsi-needs-controller", test_block_rule_scsi_needs_controller);
  g_test_add_func ("/block/rule/aio-native", test_block_rule_aio_native);
  g_test_add_func ("/block/rule/scsi-modern", test_block_rule_scsi_modern);
  g_test_add_func ("/block/rule/virtio-blk-only", test_block_rule_virtio_blk_only);
  g_test_add_func ("/block/rule/addr", test_block_rule_addr);
  g_test_add_func ("/block/rule/empty-values", test_block_rule_empty_values);
  g_test_add_func ("/block/rule/bad-text", test_block_rule_bad_text);

  g_test_add_func ("/block/host/file-missing", test_block_host_file_missing);
  g_test_add_func ("/block/host/file-readable", test_block_host_file_readable);

  g_test_add_func ("/scsi-controller/output/defaults", test_scsi_defaults);
  g_test_add_func ("/scsi-controller/output/all", test_scsi_all);
  g_test_add_func ("/scsi-controller/rule/io-thread", test_scsi_rule_io_thread);
  g_test_add_func ("/scsi-controller/rule/addr", test_scsi_rule_addr);
  g_test_add_func ("/scsi-controller/rule/empty-values", test_scsi_rule_empty_values);

  ret = g_test_run ();
  g_clear_object (&test_registry);
  return ret;
}
