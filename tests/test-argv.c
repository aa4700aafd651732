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
  char *text = ql_test_argv_string_all (vm, &error);

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
                   /* Seccomp, on by default: the last knob. */
                   "-sandbox\non,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny\n"
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

/* ---- [knobs] sandbox ---------------------------------------------------- */

#define SANDBOX_DEFAULT "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"

/* The value of -sandbox in @vm's argv, or NULL; @notes (nullable) gets the
 * command line's notes joined with '\n'. */
static char *
sandbox_of (QlVmConfig  *vm,
            char       **notes)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlCmdline) cl = ql_vm_config_build_cmdline (vm, &error);
  g_auto(GStrv) argv = NULL;
  char *value = NULL;

  g_assert_no_error (error);
  argv = ql_cmdline_to_argv (cl, &error);
  g_assert_no_error (error);
  for (guint i = 1; argv[i] != NULL; i++)
    if (g_str_equal (argv[i], "-sandbox"))
      {
        g_assert_null (value);   /* once */
        g_assert_nonnull (argv[i + 1]);
        value = g_strdup (argv[i + 1]);
      }
  if (notes != NULL)
    *notes = g_strjoinv ("\n", (char **) ql_cmdline_get_notes (cl));
  return value;
}

static QlVmConfig *
sandbox_vm (const char *knobs,
            const char *more)
{
  g_autofree char *text = g_strdup_printf ("[machine]\ntype = q35\n[memory]\nsize = 256M\n"
                                           "[knobs]\n%s\n%s", knobs, more != NULL ? more : "");

  return ql_test_load_vm (registry, text);
}

/* Building @knobs + @more fails with a message holding each of @needles. */
static void
assert_sandbox_error (const char *knobs,
                      const char *more,
                      ...) G_GNUC_NULL_TERMINATED;

static void
assert_sandbox_error (const char *knobs,
                      const char *more,
                      ...)
{
  g_autoptr(QlVmConfig) vm = sandbox_vm (knobs, more);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = ql_vm_config_to_argv (vm, &error);
  va_list ap;
  const char *needle;

  g_assert_null (argv);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT);
  va_start (ap, more);
  while ((needle = va_arg (ap, const char *)) != NULL)
    if (strstr (error->message, needle) == NULL)
      g_error ("'%s' is not in: %s", needle, error->message);
  va_end (ap);
}

static void
test_sandbox_default_and_off (void)
{
  g_autoptr(QlVmConfig) plain = sandbox_vm ("", NULL);
  g_autoptr(QlVmConfig) api = ql_vm_config_new ();
  g_autoptr(QlVmConfig) off = sandbox_vm ("sandbox = off", NULL);
  g_autoptr(QlVmConfig) on = sandbox_vm ("sandbox = on", NULL);
  g_autofree char *value = NULL;
  g_autofree char *notes = NULL;

  value = sandbox_of (plain, &notes);
  g_assert_cmpstr (value, ==, SANDBOX_DEFAULT);
  g_assert_cmpstr (notes, ==, "");
  g_clear_pointer (&value, g_free);
  /* Through the API too. */
  ql_vm_config_set_host_probe (api, NULL);
  value = sandbox_of (api, NULL);
  g_assert_cmpstr (value, ==, SANDBOX_DEFAULT);
  g_clear_pointer (&value, g_free);
  value = sandbox_of (on, NULL);
  g_assert_cmpstr (value, ==, SANDBOX_DEFAULT);
  g_clear_pointer (&value, g_free);
  g_assert_null (sandbox_of (off, NULL));
  g_object_set (api, "knobs-sandbox", FALSE, NULL);
  g_assert_null (sandbox_of (api, NULL));
}

static void
test_sandbox_finer_keys (void)
{
  static const struct { const char *knob; const char *expect; } cases[] = {
    { "sandbox-obsolete = allow", "on,obsolete=allow,elevateprivileges=deny,spawn=deny,resourcecontrol=deny" },
    { "sandbox-elevate-privileges = allow", "on,obsolete=deny,elevateprivileges=allow,spawn=deny,resourcecontrol=deny" },
    { "sandbox-spawn = allow", "on,obsolete=deny,elevateprivileges=deny,spawn=allow,resourcecontrol=deny" },
    { "sandbox-resource-control = allow", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=allow" },
    { "sandbox-spawn = deny", SANDBOX_DEFAULT },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = sandbox_vm (cases[i].knob, NULL);
      g_autofree char *value = sandbox_of (vm, NULL);

      g_assert_cmpstr (value, ==, cases[i].expect);
    }
  /* A finer key with the sandbox off is refused, naming it. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(QlVmConfig) vm = sandbox_vm ("sandbox = off\nsandbox-spawn = allow", NULL);
    g_auto(GStrv) argv = ql_vm_config_to_argv (vm, &error);

    g_assert_null (argv);
    g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT);
    g_assert_nonnull (strstr (error->message, "[knobs] sandbox-spawn: set, but sandbox is off"));
  }
}

/* What makes QEMU spawn relaxes spawn (and, for daemonize,
 * elevateprivileges) with a note, unless the key says deny. */
static void
test_sandbox_relaxed_with_note (void)
{
  static const struct { const char *knobs; const char *more; const char *expect; const char *note; } cases[] = {
    { "", "[device n0]\ntype = net\nif-name = t0\nscript = /etc/qemu-ifup\n",
      "on,obsolete=deny,elevateprivileges=deny,spawn=allow,resourcecontrol=deny",
      "[knobs] sandbox-spawn: allowed for this VM, since device 'n0' runs its script '/etc/qemu-ifup' "
      "(QEMU forks to run it); the rest of the seccomp filter stays on (set sandbox-spawn = deny to refuse "
      "such a VM instead)" },
    { "", "[device n0]\ntype = net\nif-name = t0\ndown-script = /etc/qemu-ifdown\n",
      "on,obsolete=deny,elevateprivileges=deny,spawn=allow,resourcecontrol=deny",
      "[knobs] sandbox-spawn: allowed for this VM, since device 'n0' runs its down-script '/etc/qemu-ifdown'" },
    { "", "[incoming]\ntype = exec\nexec = cat /tmp/state\n",
      "on,obsolete=deny,elevateprivileges=deny,spawn=allow,resourcecontrol=deny",
      "[knobs] sandbox-spawn: allowed for this VM, since [incoming] type exec runs 'cat /tmp/state'" },
    { "daemonize = true\nno-defaults = true", "[vm]\npid-file = /run/t.pid\n",
      "on,obsolete=deny,elevateprivileges=allow,spawn=allow,resourcecontrol=deny",
      "[knobs] sandbox-elevate-privileges: allowed for this VM, since [knobs] daemonize makes the detached "
      "QEMU call setsid" },
    { "sandbox-spawn = allow", "[device n0]\ntype = net\nif-name = t0\nscript = /etc/qemu-ifup\n",
      "on,obsolete=deny,elevateprivileges=deny,spawn=allow,resourcecontrol=deny", NULL },
    /* script=no: nothing runs. */
    { "", "[device n0]\ntype = net\nif-name = t0\nscript = no\n", SANDBOX_DEFAULT, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = sandbox_vm (cases[i].knobs, cases[i].more);
      g_autofree char *notes = NULL;
      g_autofree char *value = sandbox_of (vm, &notes);

      g_assert_cmpstr (value, ==, cases[i].expect);
      if (cases[i].note == NULL)
        g_assert_cmpstr (notes, ==, "");
      else if (strstr (notes, cases[i].note) == NULL)
        g_error ("case %u: note '%s' is not in:\n%s", i, cases[i].note, notes);
    }
}

static void
test_sandbox_refused (void)
{
  assert_sandbox_error ("sandbox-spawn = deny", "[device n0]\ntype = net\nif-name = t0\nscript = /etc/qemu-ifup\n",
                        "[knobs] sandbox-spawn: deny, but device 'n0' runs its script '/etc/qemu-ifup'",
                        "set sandbox-spawn = allow", NULL);
  assert_sandbox_error ("sandbox-spawn = deny", "[incoming]\ntype = exec\nexec = cat /tmp/state\n",
                        "[knobs] sandbox-spawn: deny, but [incoming] type exec runs 'cat /tmp/state'", NULL);
  assert_sandbox_error ("daemonize = true\nno-defaults = true\nsandbox-elevate-privileges = deny",
                        "[vm]\npid-file = /run/t.pid\n",
                        "[knobs] sandbox-elevate-privileges: deny, but [knobs] daemonize", NULL);
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
  g_test_add_func ("/argv/sandbox/default-and-off", test_sandbox_default_and_off);
  g_test_add_func ("/argv/sandbox/finer-keys", test_sandbox_finer_keys);
  g_test_add_func ("/argv/sandbox/relaxed-with-note", test_sandbox_relaxed_with_note);
  g_test_add_func ("/argv/sandbox/refused", test_sandbox_refused);
  status = g_test_run ();
  g_object_unref (registry);
  return status;
}
