/* qlaunch tests — the `memory-object` device (memory plugin): every rule,
 * every output form, the host checks. */
#include "ql-device-test.h"

/* A VM of @machine_type (NULL: unset) with -m 256M,slots=2,maxmem=1G and
 * @probe as its host. */
static QlVmConfig *
memory_vm_new (const char  *machine_type,
               QlHostProbe *probe)
{
  QlVmConfig *vm = test_vm_new (probe);

  g_object_set (vm,
                "machine-type", machine_type,
                "memory-size", (guint64) 256 << 20,
                "memory-slots", 2,
                "memory-max-mem", (guint64) 1 << 30,
                NULL);
  return vm;
}

/* An nvdimm with the given device-id, mem-path and size. */
static QlDevice *
add_nvdimm (QlVmConfig *vm,
            const char *id,
            const char *device_id,
            const char *mem_path,
            const char *size)
{
  return test_add_device (vm, "memory-object", id,
                          "device-id", device_id,
                          "mem-path", mem_path,
                          "size", size,
                          NULL);
}

/* The whole argv of @vm without argv[0], one argument a line. */
#define assert_argv(vm, expected) \
  G_STMT_START {                                                   \
    g_autoptr(GError) _error = NULL;                               \
    g_autofree char *_text = ql_test_argv_string ((vm), &_error);  \
    g_assert_no_error (_error);                                    \
    g_assert_cmpstr (_text, ==, (expected));                       \
  } G_STMT_END

#define MEMORY_ARGS "-m\n256M,slots=2,maxmem=1G\n"

/* ---- output ---- */

/* govmm TestAppendDeviceNVDIMM, plus the nvdimm=on QEMU needs. */
static void
test_govmm_nvdimm (void)
{
  g_autoptr(QlVmConfig) vm = memory_vm_new ("q35", NULL);
  QlDevice *dev = add_nvdimm (vm, "mem0", "nv0", "/root", "65536");
  g_autofree char *driver = NULL;
  int object_type = -1;
  gboolean share = TRUE;

  g_object_get (dev, "driver", &driver, "object-type", &object_type, "share", &share, NULL);
  g_assert_cmpstr (driver, ==, "nvdimm");
  g_assert_cmpint (object_type, ==, 0);
  g_assert_false (share);

  assert_argv (vm,
               "-machine\nq35,nvdimm=on\n"
               MEMORY_ARGS
               "-device\nnvdimm,id=nv0,memdev=mem0\n"
               "-object\nmemory-backend-file,id=mem0,mem-path=/root,size=65536\n");
}

static void
test_all_options (void)
{
  g_autoptr(QlVmConfig) vm = memory_vm_new ("pc", NULL);

  test_add_device (vm, "memory-object", "mem0",
                   "driver", "nvdimm",
                   "object-type", "memory-backend-file",
                   "device-id", "nv0",
                   "mem-path", "/var/lib/nv.img",
                   "size", "128M",
                   "share", "true",
                   NULL);
  assert_argv (vm,
               "-machine\npc,nvdimm=on\n"
               MEMORY_ARGS
               "-device\nnvdimm,id=nv0,memdev=mem0\n"
               "-object\nmemory-backend-file,id=mem0,mem-path=/var/lib/nv.img,size=134217728,share=on\n");
}

/* Without a machine type the machine option still goes into -machine. */
static void
test_no_machine_type (void)
{
  g_autoptr(QlVmConfig) vm = memory_vm_new (NULL, NULL);

  add_nvdimm (vm, "mem0", "nv0", "/n.img", "4K");
  assert_argv (vm,
               "-machine\nnvdimm=on\n"
               MEMORY_ARGS
               "-device\nnvdimm,id=nv0,memdev=mem0\n"
               "-object\nmemory-backend-file,id=mem0,mem-path=/n.img,size=4096\n");
}

/* nvdimm=on once for two nvdimms, next to the machine's own options; an
 * nvdimm=on already in the options is kept. */
static void
test_two_nvdimms_machine_options (void)
{
  g_autoptr(QlVmConfig) vm = memory_vm_new ("q35", NULL);

  g_object_set (vm, "machine-acceleration", "tcg", "machine-options", "nvdimm=on,hpet=off", NULL);
  add_nvdimm (vm, "mem0", "nv0", "/a.img", "512M");
  add_nvdimm (vm, "mem1", "nv1", "/b.img", "256M");
  assert_argv (vm,
               "-machine\nq35,accel=tcg,nvdimm=on,hpet=off\n"
               MEMORY_ARGS
               "-device\nnvdimm,id=nv0,memdev=mem0\n"
               "-object\nmemory-backend-file,id=mem0,mem-path=/a.img,size=536870912\n"
               "-device\nnvdimm,id=nv1,memdev=mem1\n"
               "-object\nmemory-backend-file,id=mem1,mem-path=/b.img,size=268435456\n");
}

/* A ',' in the path cannot add options to the backend. */
static void
test_comma_escaping (void)
{
  g_autoptr(QlVmConfig) vm = memory_vm_new ("q35", NULL);

  add_nvdimm (vm, "mem0", "nv0", "/x,share=on", "4K");
  assert_argv (vm,
               "-machine\nq35,nvdimm=on\n"
               MEMORY_ARGS
               "-device\nnvdimm,id=nv0,memdev=mem0\n"
               "-object\nmemory-backend-file,id=mem0,mem-path=/x,,share=on,size=4096\n");
}

/* In a VM file, a relative mem-path is relative to the VM file. */
static void
test_relative_mem_path (void)
{
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (test_registry,
                                              "[machine]\ntype = q35\n"
                                              "[memory]\nsize = 256M\nslots = 2\nmax-mem = 1G\n"
                                              "[device mem0]\ntype = memory-object\n"
                                              "device-id = nv0\nmem-path = images/nv.img\nsize = 2M\n");

  assert_argv (vm,
               "-machine\nq35,nvdimm=on\n"
               MEMORY_ARGS
               "-device\nnvdimm,id=nv0,memdev=mem0\n"
               "-object\nmemory-backend-file,id=mem0,mem-path=/base/images/nv.img,size=2097152\n");
}

/* Exactly max-mem minus size is room enough (QEMU 7.2 accepts it). */
static void
test_fills_max_mem (void)
{
  g_autoptr(QlVmConfig) vm = memory_vm_new ("q35", NULL);

  test_assert_valid (vm, add_nvdimm (vm, "mem0", "nv0", "/a.img", "128M"));
  test_assert_valid (vm, add_nvdimm (vm, "mem1", "nv1", "/b.img", "640M"));
}

/* ---- rules ---- */

static void
test_rule_driver (void)
{
  g_autoptr(QlVmConfig) vm = memory_vm_new ("q35", NULL);
  QlDevice *dev = add_nvdimm (vm, "mem0", "nv0", "/a.img", "4K");
  g_autoptr(GError) error = NULL;
  g_autofree char *driver = NULL;

  ql_device_set_property_from_string (dev, "driver", "pc-dimm", &error);
  g_assert_no_error (error);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "driver",
                       "'pc-dimm' is not a supported driver: expected nvdimm");

  /* NULL restores the default. */
  g_object_set (dev, "driver", NULL, NULL);
  g_object_get (dev, "driver", &driver, NULL);
  g_assert_cmpstr (driver, ==, "nvdimm");
  test_assert_valid (vm, dev);
}

static void
test_rule_device_id_missing (void)
{
  g_autoptr(QlVmConfig) vm = memory_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "memory-object", "mem0",
                                   "mem-path", "/a.img", "size", "4K", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "device-id", "set device-id");
}

static void
test_rule_device_id_syntax (void)
{
  const char *bad[] = { "0nv", "nv,0", "nv 0", "-nv", "nv/0" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(QlVmConfig) vm = memory_vm_new ("q35", NULL);
      QlDevice *dev = add_nvdimm (vm, "mem0", bad[i], "/a.img", "4K");

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "device-id", "is not a valid id");
    }
}

static void
test_rule_device_id_unique (void)
{
  g_autoptr(QlVmConfig) own = memory_vm_new ("q35", NULL);
  g_autoptr(QlVmConfig) other = memory_vm_new ("q35", NULL);
  g_autoptr(QlVmConfig) twice = memory_vm_new ("q35", NULL);
  g_autoptr(QlVmConfig) iothread = memory_vm_new ("q35", NULL);
  QlDevice *first;

  test_assert_invalid (own, add_nvdimm (own, "mem0", "mem0", "/a.img", "4K"),
                       QL_CONFIG_ERROR_DUPLICATE, "device-id", "also this device's id");

  /* QEMU: "Duplicate ID 'nv0' for device"; wherever the other device is. */
  first = add_nvdimm (other, "mem0", "nv0", "/a.img", "4K");
  add_nvdimm (other, "nv0", "nv1", "/b.img", "4K");
  test_assert_invalid (other, first, QL_CONFIG_ERROR_DUPLICATE, "device-id",
                       "'nv0' is the id of a 'memory-object' device already");

  first = add_nvdimm (twice, "mem0", "nv0", "/a.img", "4K");
  test_assert_valid (twice, first);
  test_assert_invalid (twice, add_nvdimm (twice, "mem1", "nv0", "/b.img", "4K"),
                       QL_CONFIG_ERROR_DUPLICATE, "device-id",
                       "'nv0' is the device-id of memory object 'mem0' already");

  ql_vm_config_add_iothread (iothread, "io0");
  test_assert_invalid (iothread, add_nvdimm (iothread, "mem0", "io0", "/a.img", "4K"),
                       QL_CONFIG_ERROR_DUPLICATE, "device-id", "[iothread]");
}

static void
test_rule_mem_path_missing (void)
{
  g_autoptr(QlVmConfig) vm = memory_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "memory-object", "mem0",
                                   "device-id", "nv0", "size", "4K", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "mem-path", "set mem-path");
  /* Through the C API, an empty path is missing too. */
  g_object_set (dev, "mem-path", "", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "mem-path", "set mem-path");
}

static void
test_rule_size_missing (void)
{
  g_autoptr(QlVmConfig) vm = memory_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "memory-object", "mem0",
                                   "device-id", "nv0", "mem-path", "/a.img", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "size", "no size given");
  g_object_set (dev, "size", (guint64) 0, NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "size", "no size given");
}

/* QEMU rounds up to the page size; 1000 bytes even fails: "the size of
 * memdev mem0 (0x3e8) is too small to contain nvdimm label (0x0) and
 * aligned PMEM (0x1000)". */
static void
test_rule_size_alignment (void)
{
  const char *bad[] = { "1000", "4097", "100000", "1536" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(QlVmConfig) vm = memory_vm_new ("q35", NULL);
      QlDevice *dev = add_nvdimm (vm, "mem0", "nv0", "/a.img", bad[i]);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "size", "is not a multiple of 4K");
    }
}

/* QEMU: "Property 'microvm-machine.nvdimm' not found"; isapc: "-memory
 * 'slots|maxmem'" is not supported by: isapc". */
static void
test_rule_machine_type (void)
{
  g_autoptr(QlVmConfig) microvm = memory_vm_new ("microvm", NULL);
  g_autoptr(QlVmConfig) isapc = memory_vm_new ("isapc", NULL);

  test_assert_invalid (microvm, add_nvdimm (microvm, "mem0", "nv0", "/a.img", "4K"),
                       QL_CONFIG_ERROR_UNSUPPORTED, "driver", "'microvm' has no nvdimm support");
  test_assert_invalid (isapc, add_nvdimm (isapc, "mem0", "nv0", "/a.img", "4K"),
                       QL_CONFIG_ERROR_UNSUPPORTED, "driver", "'isapc' has no memory slots");
}

/* The machine's nvdimm option can only be on. */
static void
test_rule_machine_nvdimm_off (void)
{
  const char *options[] = { "nvdimm=off", "hpet=off,nvdimm=true", "nvdimm=" };

  for (guint i = 0; i < G_N_ELEMENTS (options); i++)
    {
      g_autoptr(QlVmConfig) vm = memory_vm_new ("q35", NULL);
      QlDevice *dev = add_nvdimm (vm, "mem0", "nv0", "/a.img", "4K");

      g_object_set (vm, "machine-options", options[i], NULL);
      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "driver", "remove it from options");
    }
}

/* QEMU: "no slots where allocated, please specify the 'slots' option". */
static void
test_rule_needs_slots (void)
{
  g_autoptr(QlVmConfig) none = test_vm_new (NULL);
  g_autoptr(QlVmConfig) size_only = test_vm_new (NULL);

  test_assert_invalid (none, add_nvdimm (none, "mem0", "nv0", "/a.img", "4K"),
                       QL_CONFIG_ERROR_MISSING, "driver", "set [memory] size, slots and max-mem");

  g_object_set (size_only, "memory-size", (guint64) 256 << 20, NULL);
  test_assert_invalid (size_only, add_nvdimm (size_only, "mem0", "nv0", "/a.img", "4K"),
                       QL_CONFIG_ERROR_MISSING, "driver", "memory slot");
}

/* QEMU: "no free slots available", on the first nvdimm without one. */
static void
test_rule_slots_used_up (void)
{
  g_autoptr(QlVmConfig) vm = memory_vm_new ("q35", NULL);
  QlDevice *devs[3];

  for (guint i = 0; i < G_N_ELEMENTS (devs); i++)
    {
      g_autofree char *id = g_strdup_printf ("mem%u", i);
      g_autofree char *device_id = g_strdup_printf ("nv%u", i);

      devs[i] = add_nvdimm (vm, id, device_id, "/a.img", "4M");
    }
  test_assert_valid (vm, devs[0]);
  test_assert_valid (vm, devs[1]);
  test_assert_invalid (vm, devs[2], QL_CONFIG_ERROR_CONFLICT, "driver",
                       "[memory] slots is 2 and the memory objects before this one take them all");
}

/* QEMU: "not enough space, currently 0x8000000 in use of total space for
 * memory devices 0x30000000". */
static void
test_rule_no_room (void)
{
  g_autoptr(QlVmConfig) one = memory_vm_new ("q35", NULL);
  g_autoptr(QlVmConfig) two = memory_vm_new ("q35", NULL);
  QlDevice *first;

  test_assert_invalid (one, add_nvdimm (one, "mem0", "nv0", "/a.img", "805310464"),
                       QL_CONFIG_ERROR_INVALID_VALUE, "size",
                       "'786436K' does not fit: [memory] max-mem minus size leaves 768M for memory devices");

  first = add_nvdimm (two, "mem0", "nv0", "/a.img", "128M");
  test_assert_valid (two, first);
  test_assert_invalid (two, add_nvdimm (two, "mem1", "nv1", "/b.img", "768M"),
                       QL_CONFIG_ERROR_INVALID_VALUE, "size",
                       "'768M' does not fit: [memory] max-mem minus size leaves 768M for memory devices and the memory objects before this one take 128M");
}

static void
test_rule_bad_text (void)
{
  g_autoptr(QlVmConfig) vm = memory_vm_new ("q35", NULL);
  QlDevice *dev = add_nvdimm (vm, "mem0", "nv0", "/a.img", "4K");

  test_assert_bad_text (dev, "object-type", "memory-backend-ram");
  test_assert_bad_text (dev, "object-type", "file");
  test_assert_bad_text (dev, "size", "big");
  test_assert_bad_text (dev, "size", "-4K");
  test_assert_bad_text (dev, "size", "4Q");
  test_assert_bad_text (dev, "share", "sometimes");
  test_assert_bad_text (dev, "memdev", "mem0");
}

/* ---- host ---- */

/* An existing backing file must open read-write (QEMU: "can't open backing
 * store ... for guest RAM: Permission denied"). */
static void
test_host_file_read_only (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = memory_vm_new ("q35", probe);
  QlDevice *dev = add_nvdimm (vm, "mem0", "nv0", "/srv/nv.img", "4K");

  ql_fake_host_probe_set_file (probe, "/srv/nv.img", G_FILE_TYPE_REGULAR, 4096);
  ql_fake_host_probe_set_file_readable (probe, "/srv/nv.img", TRUE);
  ql_fake_host_probe_set_device_usable (probe, "/srv/nv.img", FALSE);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "mem-path",
                       "cannot open '/srv/nv.img' read-write, as QEMU maps it: No such file or directory");
}

static void
test_host_file_writable (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = memory_vm_new ("q35", probe);

  ql_fake_host_probe_set_file (probe, "/srv/nv.img", G_FILE_TYPE_REGULAR, 4096);
  ql_fake_host_probe_set_file_readable (probe, "/srv/nv.img", TRUE);
  ql_fake_host_probe_set_device_usable (probe, "/srv/nv.img", TRUE);
  add_nvdimm (vm, "mem0", "nv0", "/srv/nv.img", "4K");
  assert_argv (vm,
               "-machine\nq35,nvdimm=on\n"
               MEMORY_ARGS
               "-device\nnvdimm,id=nv0,memdev=mem0\n"
               "-object\nmemory-backend-file,id=mem0,mem-path=/srv/nv.img,size=4096\n");
}

/* A file that is not there yet is created by QEMU, in a directory that is. */
static void
test_host_file_missing (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = memory_vm_new ("q35", probe);
  QlDevice *dev;

  ql_fake_host_probe_set_file (probe, "/srv", G_FILE_TYPE_DIRECTORY, 4096);
  test_assert_valid (vm, add_nvdimm (vm, "mem0", "nv0", "/srv/new.img", "4K"));
  dev = add_nvdimm (vm, "mem1", "nv1", "/nodir/new.img", "4K");
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "mem-path",
                       "the directory '/nodir' does not exist");
}

/* QEMU: "backing store size 0x... does not match 'size' option". */
static void
test_host_file_size_differs (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = memory_vm_new ("q35", probe);
  QlDevice *dev = add_nvdimm (vm, "mem0", "nv0", "/srv/nv.img", "4K");

  ql_fake_host_probe_set_file (probe, "/srv/nv.img", G_FILE_TYPE_REGULAR, 8192);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "size",
                       "4096 bytes, but the backing file '/srv/nv.img' holds 8192 bytes");
}

/* With host checks off nothing is asked. */
static void
test_host_checks_off (void)
{
  g_autoptr(QlVmConfig) vm = memory_vm_new ("q35", NULL);

  test_assert_valid (vm, add_nvdimm (vm, "mem0", "nv0", "/srv/nv.img", "4K"));
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  /* ql-device-test.h's test_device_lines() diffs against a VM without
   * machine and memory settings, which every nvdimm changes: unused here. */
  (void) test_device_lines;

  test_registry = ql_test_registry_new ();

  g_test_add_func ("/memory/output/govmm-nvdimm", test_govmm_nvdimm);
  g_test_add_func ("/memory/output/all-options", test_all_options);
  g_test_add_func ("/memory/output/no-machine-type", test_no_machine_type);
  g_test_add_func ("/memory/output/two-nvdimms-machine-options", test_two_nvdimms_machine_options);
  g_test_add_func ("/memory/output/comma-escaping", test_comma_escaping);
  g_test_add_func ("/memory/output/relative-mem-path", test_relative_mem_path);
  g_test_add_func ("/memory/output/fills-max-mem", test_fills_max_mem);

  g_test_add_func ("/memory/rule/driver", test_rule_driver);
  g_test_add_func ("/memory/rule/device-id-missing", test_rule_device_id_missing);
  g_test_add_func ("/memory/rule/device-id-syntax", test_rule_device_id_syntax);
  g_test_add_func ("/memory/rule/device-id-unique", test_rule_device_id_unique);
  g_test_add_func ("/memory/rule/mem-path-missing", test_rule_mem_path_missing);
  g_test_add_func ("/memory/rule/size-missing", test_rule_size_missing);
  g_test_add_func ("/memory/rule/size-alignment", test_rule_size_alignment);
  g_test_add_func ("/memory/rule/machine-type", test_rule_machine_type);
  g_test_add_func ("/memory/rule/machine-nvdimm-off", test_rule_machine_nvdimm_off);
  g_test_add_func ("/memory/rule/needs-slots", test_rule_needs_slots);
  g_test_add_func ("/memory/rule/slots-used-up", test_rule_slots_used_up);
  g_test_add_func ("/memory/rule/no-room", test_rule_no_room);
  g_test_add_func ("/memory/rule/bad-text", test_rule_bad_text);

  g_test_add_func ("/memory/host/file-read-only", test_host_file_read_only);
  g_test_add_func ("/memory/host/file-writable", test_host_file_writable);
  g_test_add_func ("/memory/host/file-missing", test_host_file_missing);
  g_test_add_func ("/memory/host/file-size-differs", test_host_file_size_differs);
  g_test_add_func ("/memory/host/checks-off", test_host_checks_off);

  ret = g_test_run ();
  g_clear_object (&test_registry);
  return ret;
}
