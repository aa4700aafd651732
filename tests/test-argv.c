/* Unit tests: a VM built field by field through the C API, and its argv:
 * govmm's order, fd numbering, memory knobs, determinism, host checks. */
#include "ql-test-util.h"
#include "ql-fake-host-probe.h"

#include <string.h>
#include <unistd.h>

static QlRegistry *registry;

static QlDevice *
device (const char *type,
        const char *id)
{
  g_autoptr(GError) error = NULL;
  QlDevice *d = ql_registry_create_device (registry, type, id, &error);

  g_assert_no_error (error);
  return d;
}

static char *
argv_text (QlVmConfig *vm)
{
  g_autoptr(GError) error = NULL;
  char *text = ql_test_argv_string (vm, &error);

  g_assert_no_error (error);
  return text;
}

static void
test_full_config_in_govmm_order (void)
{
  g_autoptr(QlVmConfig) vm = ql_vm_config_new ();
  g_autoptr(QlDevice) net = device ("net", "net0");
  g_autoptr(QlDevice) scsi = device ("scsi-controller", "scsi0");
  g_autoptr(QlDevice) disk = device ("block", "disk0");
  const char *globals[] = { "kvm-pit.lost_tick_policy=discard", NULL };
  g_autofree char *text = NULL;
  g_auto(GStrv) argv = NULL;

  ql_vm_config_set_host_probe (vm, NULL);
  g_object_set (vm,
                "name", "vm,1", "uuid", "4a5c6e1b-8a2b-4d4e-9f00-123456789abc",
                "qemu", "/usr/bin/qemu-system-x86_64", "cpu-model", "max",
                "machine-type", "q35", "machine-acceleration", "tcg", "machine-options", "usb=off",
                "smp-cpus", 2, "smp-cores", 1, "smp-threads", 1, "smp-sockets", 4, "smp-max-cpus", 4,
                "memory-size", (guint64) 256 << 20, "memory-slots", 2, "memory-max-mem", (guint64) 1 << 30,
                "kernel-path", "/k/vmlinuz", "kernel-initrd", "/k/initrd", "kernel-params", "console=ttyS0 quiet",
                "knobs-no-user-config", TRUE, "knobs-no-defaults", TRUE, "knobs-no-graphic", TRUE,
                "knobs-mlock", TRUE, "knobs-realtime", TRUE, "knobs-stopped", TRUE,
                "rtc-base", QL_RTC_BASE_UTC, "rtc-clock", QL_RTC_CLOCK_HOST, "rtc-drift-fix", QL_RTC_DRIFT_FIX_SLEW,
                "global", globals, "vga", "none", "bios", "bios-256k.bin",
                "incoming-type", QL_INCOMING_DEFER,
                NULL);
  ql_vm_config_add_qmp_socket (vm, "control", "/run/q,1.sock", TRUE, TRUE);
  ql_vm_config_add_qmp_socket (vm, "client", "/run/q2.sock", FALSE, FALSE);
  ql_vm_config_add_iothread (vm, "io0");
  g_object_set (net, "if-name", "tap0", "mac-address", "02:00:ca:fe:00:01", NULL);
  g_object_set (scsi, "io-thread", "io0", NULL);
  g_object_set (disk, "file", "/img/a,b.qcow2", "interface", 1 /* scsi */, NULL);
  ql_vm_config_add_device (vm, net);
  ql_vm_config_add_device (vm, scsi);
  ql_vm_config_add_device (vm, disk);

  text = argv_text (vm);
  g_assert_cmpstr (text, ==,
                   "-name\nguest=vm,,1\n"
                   "-uuid\n4a5c6e1b-8a2b-4d4e-9f00-123456789abc\n"
                   "-machine\nq35,accel=tcg,usb=off\n"
                   "-cpu\nmax\n"
                   "-qmp\nunix:/run/q,,1.sock,server=on,wait=off\n"
                   "-qmp\nunix:/run/q2.sock\n"
                   "-m\n256M,slots=2,maxmem=1G\n"
                   "-netdev\ntap,id=net0,ifname=tap0,script=no,downscript=no\n"
                   /* q35: each PCI device in a root port of its own. */
                   "-device\npcie-root-port,id=ql-port1,bus=pcie.0,chassis=1,slot=1\n"
                   "-device\nvirtio-net-pci,id=net0,netdev=net0,mac=02:00:ca:fe:00:01,bus=ql-port1\n"
                   "-device\npcie-root-port,id=ql-port2,bus=pcie.0,chassis=2,slot=2\n"
                   "-device\nvirtio-scsi-pci,id=scsi0,iothread=io0,bus=ql-port2\n"
                   "-device\nscsi-hd,id=disk0,drive=disk0\n"
                   "-drive\nid=disk0,file=/img/a,,b.qcow2,aio=threads,format=qcow2,if=none\n"
                   "-rtc\nbase=utc,driftfix=slew,clock=host\n"
                   "-global\nkvm-pit.lost_tick_policy=discard\n"
                   "-vga\nnone\n"
                   "-no-user-config\n-nodefaults\n-nographic\n"
                   "-overcommit\nmem-lock=on\n"
                   "-S\n"
                   "-kernel\n/k/vmlinuz\n-initrd\n/k/initrd\n-append\nconsole=ttyS0 quiet\n"
                   "-bios\nbios-256k.bin\n"
                   "-object\niothread,id=io0\n"
                   "-incoming\ndefer\n"
                   "-smp\n2,cores=1,threads=1,sockets=4,maxcpus=4\n");

  argv = ql_vm_config_to_argv (vm, NULL);
  g_assert_cmpstr (argv[0], ==, "/usr/bin/qemu-system-x86_64");
}

static void
test_deterministic (void)
{
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry,
                                              "[machine]\ntype = q35\n[memory]\nsize = 1G\n"
                                              "[device a]\ntype = net\nif-name = t0\n"
                                              "[device b]\ntype = block\nfile = /x.qcow2\n");
  g_autofree char *first = argv_text (vm);
  g_autofree char *second = argv_text (vm);

  g_assert_cmpstr (first, ==, second);
}

static void
test_fd_numbering (void)
{
  g_autoptr(QlVmConfig) vm = ql_vm_config_new ();
  g_autoptr(QlDevice) a = device ("net", "a");
  g_autoptr(QlDevice) b = device ("net", "b");
  g_autoptr(QlFdList) fds_a = ql_fd_list_new ();
  g_autoptr(QlFdList) vhost_a = ql_fd_list_new ();
  g_autoptr(QlFdList) fds_b = ql_fd_list_new ();
  g_autoptr(QlCmdline) cl = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  g_autofree char *joined = NULL;
  int p[2][2];
  GArray *fds;

  /* Real open descriptors: the real host probe checks them. */
  g_assert_cmpint (pipe (p[0]), ==, 0);
  g_assert_cmpint (pipe (p[1]), ==, 0);
  ql_fd_list_append (fds_a, p[0][0]);
  ql_fd_list_append (fds_a, p[0][1]);
  ql_fd_list_append (vhost_a, p[1][0]);
  ql_fd_list_append (vhost_a, p[1][1]);
  ql_fd_list_append (fds_b, p[1][1]);
  g_object_set (a, "fds", fds_a, "vhost", TRUE, "vhost-fds", vhost_a, NULL);
  g_object_set (b, "net-type", 1 /* macvtap */, "fds", fds_b, NULL);
  g_object_set (vm, "incoming-type", QL_INCOMING_FD, "incoming-fd", p[0][0], NULL);
  ql_vm_config_add_device (vm, a);
  ql_vm_config_add_device (vm, b);

  cl = ql_vm_config_build_cmdline (vm, &error);
  g_assert_no_error (error);
  argv = ql_cmdline_to_argv (cl, &error);
  g_assert_no_error (error);
  joined = g_strjoinv (" ", argv + 1);
  /* Per device in order: fds, then vhost fds; the incoming fd last. */
  g_assert_nonnull (strstr (joined, "-netdev tap,id=a,fds=3:4,vhost=on,vhostfds=5:6 "));
  g_assert_nonnull (strstr (joined, "-netdev tap,id=b,fds=7 "));
  g_assert_nonnull (strstr (joined, "-S -incoming fd:8"));
  fds = ql_cmdline_get_fds (cl);
  g_assert_cmpuint (fds->len, ==, 6);
  g_assert_cmpint (g_array_index (fds, int, 0), ==, p[0][0]);
  g_assert_cmpint (g_array_index (fds, int, 1), ==, p[0][1]);
  g_assert_cmpint (g_array_index (fds, int, 2), ==, p[1][0]);
  g_assert_cmpint (g_array_index (fds, int, 3), ==, p[1][1]);
  g_assert_cmpint (g_array_index (fds, int, 4), ==, p[1][1]);
  g_assert_cmpint (g_array_index (fds, int, 5), ==, p[0][0]);

  /* A closed descriptor is a host error. */
  close (p[1][0]);
  g_clear_pointer (&argv, g_strfreev);
  argv = ql_vm_config_to_argv (vm, &error);
  g_assert_null (argv);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST);
  close (p[0][0]);
  close (p[0][1]);
  close (p[1][1]);
}

static void
check_knob (const char *knobs,
            const char *memory_extra,
            const char *expected_object,
            const char *expected_machine)
{
  g_autofree char *text = g_strdup_printf ("[machine]\ntype = q35\n[memory]\nsize = 512M\n%s[knobs]\n%s",
                                           memory_extra, knobs);
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry, text);
  g_autofree char *args = argv_text (vm);

  g_assert_nonnull (strstr (args, expected_object));
  g_assert_nonnull (strstr (args, expected_machine));
  g_assert_null (strstr (args, "-numa"));
  g_assert_null (strstr (args, "pc-dimm"));
}

static void
test_memory_knobs (void)
{
  check_knob ("hugepages = true\n", "",
              "-object\nmemory-backend-file,id=dimm1,size=536870912,mem-path=/dev/hugepages,share=on,prealloc=on\n",
              "-machine\nq35,memory-backend=dimm1\n");
  check_knob ("mem-prealloc = true\n", "",
              "-object\nmemory-backend-ram,id=dimm1,size=536870912,prealloc=on\n",
              "-machine\nq35,memory-backend=dimm1\n");
  check_knob ("file-backed-mem = true\n", "path = /dev/shm/vm,1\n",
              "-object\nmemory-backend-file,id=dimm1,size=536870912,mem-path=/dev/shm/vm,,1\n",
              "-machine\nq35,memory-backend=dimm1\n");
  check_knob ("file-backed-mem = true\nfile-backed-mem-shared = true\n", "path = /dev/shm/vm\n",
              "-object\nmemory-backend-file,id=dimm1,size=536870912,mem-path=/dev/shm/vm,share=on\n",
              "-machine\nq35,memory-backend=dimm1\n");
}

static void
test_realtime_mlock_mapping (void)
{
  struct { const char *knobs; gboolean mem_lock; } cases[] = {
    { "", FALSE }, { "realtime = true\n", FALSE }, { "mlock = true\n", TRUE },
    { "realtime = true\nmlock = true\n", TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strdup_printf ("[knobs]\nno-defaults = true\n%s", cases[i].knobs);
      g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry, text);
      g_autofree char *args = argv_text (vm);

      g_assert_null (strstr (args, "-realtime"));
      g_assert_cmpint (strstr (args, "-overcommit\nmem-lock=on\n") != NULL, ==, cases[i].mem_lock);
    }
}

static void
test_host_checks_with_fake_probe (void)
{
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry,
                                              "[memory]\nsize = 256M\n[knobs]\nhugepages = true\n"
                                              "[device n]\ntype = net\nif-name = t0\nvhost = true\n");
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(GError) error = NULL;

  ql_vm_config_set_host_probe (vm, probe);
  g_assert_false (ql_vm_config_validate (vm, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MULTIPLE);
  g_assert_nonnull (strstr (error->message, "[knobs] hugepages: '/dev/hugepages' is not a hugetlbfs mount"));
  g_assert_nonnull (strstr (error->message, "/dev/vhost-net"));
  g_clear_error (&error);

  ql_fake_host_probe_set_hugetlbfs (probe, "/dev/hugepages", TRUE);
  ql_fake_host_probe_set_device_usable (probe, "/dev/vhost-net", TRUE);
  g_assert_true (ql_vm_config_validate (vm, &error));
  g_assert_no_error (error);

  /* No probe: no host checks at all. */
  ql_fake_host_probe_set_hugetlbfs (probe, "/dev/hugepages", FALSE);
  ql_vm_config_set_host_probe (vm, NULL);
  g_assert_true (ql_vm_config_validate (vm, &error));
}

static void
test_id_allocation (void)
{
  g_autoptr(QlVmConfig) vm = ql_vm_config_new ();
  g_autoptr(QlDevice) a = device ("net", NULL);
  g_autoptr(QlDevice) b = device ("net", NULL);
  g_autoptr(QlDevice) c = device ("block", NULL);

  ql_vm_config_add_iothread (vm, "net1");
  ql_vm_config_add_device (vm, a);
  ql_vm_config_add_device (vm, b);
  ql_vm_config_add_device (vm, c);
  g_assert_cmpstr (ql_device_get_id (a), ==, "net0");
  g_assert_cmpstr (ql_device_get_id (b), ==, "net2");   /* net1 is the iothread's */
  g_assert_cmpstr (ql_device_get_id (c), ==, "block0");
  g_assert_true (ql_vm_config_lookup_device (vm, "net2") == b);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  registry = ql_test_registry_new ();
  g_test_add_func ("/argv/full-config-in-govmm-order", test_full_config_in_govmm_order);
  g_test_add_func ("/argv/deterministic", test_deterministic);
  g_test_add_func ("/argv/fd-numbering", test_fd_numbering);
  g_test_add_func ("/argv/memory-knobs", test_memory_knobs);
  g_test_add_func ("/argv/realtime-mlock-mapping", test_realtime_mlock_mapping);
  g_test_add_func ("/argv/host-checks-with-fake-probe", test_host_checks_with_fake_probe);
  g_test_add_func ("/argv/id-allocation", test_id_allocation);
  status = g_test_run ();
  g_object_unref (registry);
  return status;
}
