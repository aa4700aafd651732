/* qlaunch tests — the VM file loader: every key of
 * every group, every error; whole-VM validation (ql_vm_config_validate)
 * rule by rule, host checks through a fake probe; device id allocation. */
#include <string.h>

#include <glib/gstdio.h>
#include <qlaunch/qlaunch.h>

#include "ql-fake-host-probe.h"
#include "ql-test-util.h"

static QlRegistry *registry;

/* ---- helpers ---- */

/* Loads @text as "test.vm" with relative paths resolved against "/base". */
static QlVmConfig *
load (const char  *text,
      GError     **error)
{
  return ql_vm_config_new_from_data (text, -1, "test.vm", "/base", registry, error);
}

/* Marks the test failed and goes on, so that one test reports every
 * failing case (TAP keeps only the last g_test_fail_printf() message). */
static void G_GNUC_PRINTF (1, 2)
fail_case (const char *format,
           ...)
{
  g_autofree char *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_test_message ("FAILED: %s", message);
  /* A TAP "not ok" line is one line. */
  g_strdelimit (message, "\n", ' ');
  g_test_fail_printf ("%s", message);
}

/* Fails the test (and goes on) unless @message holds @fragment. */
static void
assert_has (const char *message,
            const char *fragment)
{
  if (strstr (message, fragment) == NULL)
    fail_case ("message does not hold \"%s\": %s", fragment, message);
}

/* Asserts that @message holds every fragment of the NULL-terminated list. */
static void
assert_fragments_va (const char *message,
                     va_list     ap)
{
  const char *fragment;

  while ((fragment = va_arg (ap, const char *)) != NULL)
    assert_has (message, fragment);
}

/* Fails the test (and goes on) unless @error is @code in QL_CONFIG_ERROR. */
static gboolean
check_error (const char   *text,
             const GError *error,
             gint          code)
{
  g_autofree char *escaped = g_strescape (text, NULL);

  if (error == NULL)
    {
      fail_case ("no error for: %s", escaped);
      return FALSE;
    }
  if (error->domain != QL_CONFIG_ERROR || error->code != code)
    fail_case ("error %s %d instead of QL_CONFIG_ERROR %d for: %s -> %s",
               g_quark_to_string (error->domain), error->code, code, escaped, error->message);
  return TRUE;
}

/* Loading @text fails with @code and a message holding each fragment. */
static G_GNUC_NULL_TERMINATED void
assert_load_error (const char *text,
                   gint        code,
                   ...)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = load (text, &error);
  va_list ap;

  g_assert_true ((vm == NULL) == (error != NULL));
  if (!check_error (text, error, code))
    return;
  va_start (ap, code);
  assert_fragments_va (error->message, ap);
  va_end (ap);
}

/* @text loads, but validation with @probe (NULL: no host checks) fails with
 * @code and a message holding each fragment. */
static G_GNUC_NULL_TERMINATED void
assert_invalid (const char  *text,
                QlHostProbe *probe,
                gint         code,
                ...)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry, text);
  va_list ap;

  ql_vm_config_set_host_probe (vm, probe);
  g_assert_true (ql_vm_config_validate (vm, &error) == (error == NULL));
  if (!check_error (text, error, code))
    return;
  va_start (ap, code);
  assert_fragments_va (error->message, ap);
  va_end (ap);
}

/* @text loads and validates with @probe (NULL: no host checks). */
static void
assert_valid (const char  *text,
              QlHostProbe *probe)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry, text);

  ql_vm_config_set_host_probe (vm, probe);
  ql_vm_config_validate (vm, &error);
  g_assert_no_error (error);
}

static guint
count_lines (const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);

  return g_strv_length (lines);
}

static char *
device_string (QlDevice   *device,
               const char *property)
{
  char *value = NULL;

  g_object_get (device, property, &value, NULL);
  return value;
}

/* ---- every key of every fixed group ---- */

typedef enum
{
  K_STR,     /* string, read as is */
  K_UINT,    /* guint */
  K_SIZE,    /* guint64, bytes */
  K_INT,     /* gint */
  K_BOOL,
  K_ENUM,
  K_STRV,    /* expect: the items joined with '|' */
} KeyKind;

typedef struct
{
  const char *group;
  const char *key;
  const char *text;
  const char *property;
  KeyKind     kind;
  const char *expect_str;
  gint64      expect_num;
} KeyCase;

#define MiB (G_GINT64_CONSTANT (1) << 20)
#define GiB (G_GINT64_CONSTANT (1) << 30)

static const KeyCase key_cases[] = {
  { "vm", "name", "guest-1", "name", K_STR, "guest-1", 0 },
  { "vm", "uuid", "4a5c6e1b-8a2b-4d4e-9f00-123456789abc", "uuid", K_STR, "4a5c6e1b-8a2b-4d4e-9f00-123456789abc", 0 },
  /* A bare binary name is looked up in PATH: not a path to resolve. */
  { "vm", "qemu", "qemu-system-aarch64", "qemu", K_STR, "qemu-system-aarch64", 0 },
  { "vm", "qemu", "/opt/qemu/bin/qemu-system-x86_64", "qemu", K_STR, "/opt/qemu/bin/qemu-system-x86_64", 0 },
  { "vm", "cpu-model", "max", "cpu-model", K_STR, "max", 0 },
  { "vm", "vga", "virtio", "vga", K_STR, "virtio", 0 },
  /* A bare firmware name is looked up in QEMU's data directories. */
  { "vm", "bios", "OVMF.fd", "bios", K_STR, "OVMF.fd", 0 },
  { "vm", "global", "kvm-pit.lost_tick_policy=discard", "global", K_STRV, "kvm-pit.lost_tick_policy=discard", 0 },
  { "vm", "global", "kvm-pit.lost_tick_policy=discard;ICH9-LPC.disable_s3=1", "global", K_STRV,
    "kvm-pit.lost_tick_policy=discard|ICH9-LPC.disable_s3=1", 0 },
  { "vm", "global", "kvm-pit.lost_tick_policy=discard;ICH9-LPC.disable_s3=1;", "global", K_STRV,
    "kvm-pit.lost_tick_policy=discard|ICH9-LPC.disable_s3=1", 0 },
  { "vm", "pid-file", "/run/vm.pid", "pid-file", K_STR, "/run/vm.pid", 0 },
  { "vm", "pid-file", "vm.pid", "pid-file", K_STR, "/base/vm.pid", 0 },
  { "machine", "type", "q35", "machine-type", K_STR, "q35", 0 },
  { "machine", "acceleration", "kvm:tcg", "machine-acceleration", K_STR, "kvm:tcg", 0 },
  { "machine", "options", "usb=off,vmport=off", "machine-options", K_STR, "usb=off,vmport=off", 0 },
  { "machine", "hotplug-slots", "2", "machine-hotplug-slots", K_UINT, NULL, 2 },
  { "machine", "auto-root-ports", "false", "machine-auto-root-ports", K_BOOL, NULL, FALSE },
  { "smp", "cpus", "4", "smp-cpus", K_UINT, NULL, 4 },
  { "smp", "cores", "2", "smp-cores", K_UINT, NULL, 2 },
  { "smp", "threads", "2", "smp-threads", K_UINT, NULL, 2 },
  { "smp", "sockets", "3", "smp-sockets", K_UINT, NULL, 3 },
  { "smp", "max-cpus", "16", "smp-max-cpus", K_UINT, NULL, 16 },
  { "memory", "size", "512M", "memory-size", K_SIZE, NULL, 512 * MiB },
  { "memory", "size", "2G", "memory-size", K_SIZE, NULL, 2 * GiB },
  { "memory", "size", "1024", "memory-size", K_SIZE, NULL, 1024 * MiB },   /* bare = MiB */
  { "memory", "size", "4096B", "memory-size", K_SIZE, NULL, 4096 },
  { "memory", "size", "64k", "memory-size", K_SIZE, NULL, 64 * 1024 },
  { "memory", "size", "1T", "memory-size", K_SIZE, NULL, 1024 * GiB },
  { "memory", "slots", "4", "memory-slots", K_UINT, NULL, 4 },
  { "memory", "max-mem", "4G", "memory-max-mem", K_SIZE, NULL, 4 * GiB },
  { "memory", "max-mem", "8192", "memory-max-mem", K_SIZE, NULL, 8 * GiB },
  { "memory", "path", "/dev/hugepages", "memory-path", K_STR, "/dev/hugepages", 0 },
  { "memory", "path", "ram/backing", "memory-path", K_STR, "/base/ram/backing", 0 },
  { "kernel", "path", "/boot/vmlinuz", "kernel-path", K_STR, "/boot/vmlinuz", 0 },
  { "kernel", "path", "vmlinuz", "kernel-path", K_STR, "/base/vmlinuz", 0 },
  { "kernel", "initrd", "/boot/initrd.img", "kernel-initrd", K_STR, "/boot/initrd.img", 0 },
  { "kernel", "initrd", "boot/initrd.img", "kernel-initrd", K_STR, "/base/boot/initrd.img", 0 },
  { "kernel", "params", "console=ttyS0 root=/dev/vda quiet", "kernel-params", K_STR, "console=ttyS0 root=/dev/vda quiet", 0 },
  { "knobs", "no-user-config", "true", "knobs-no-user-config", K_BOOL, NULL, TRUE },
  { "knobs", "no-defaults", "true", "knobs-no-defaults", K_BOOL, NULL, TRUE },
  { "knobs", "no-graphic", "true", "knobs-no-graphic", K_BOOL, NULL, TRUE },
  { "knobs", "daemonize", "true", "knobs-daemonize", K_BOOL, NULL, TRUE },
  { "knobs", "hugepages", "true", "knobs-hugepages", K_BOOL, NULL, TRUE },
  { "knobs", "mem-prealloc", "true", "knobs-mem-prealloc", K_BOOL, NULL, TRUE },
  { "knobs", "file-backed-mem", "true", "knobs-file-backed-mem", K_BOOL, NULL, TRUE },
  { "knobs", "file-backed-mem-shared", "true", "knobs-file-backed-mem-shared", K_BOOL, NULL, TRUE },
  { "knobs", "mlock", "true", "knobs-mlock", K_BOOL, NULL, TRUE },
  { "knobs", "stopped", "true", "knobs-stopped", K_BOOL, NULL, TRUE },
  { "knobs", "realtime", "true", "knobs-realtime", K_BOOL, NULL, TRUE },
  { "knobs", "sandbox", "off", "knobs-sandbox", K_BOOL, NULL, FALSE },
  { "knobs", "sandbox", "on", "knobs-sandbox", K_BOOL, NULL, TRUE },
  { "knobs", "sandbox-obsolete", "allow", "knobs-sandbox-obsolete", K_ENUM, NULL, QL_SANDBOX_ACTION_ALLOW },
  { "knobs", "sandbox-elevate-privileges", "allow", "knobs-sandbox-elevate-privileges", K_ENUM, NULL,
    QL_SANDBOX_ACTION_ALLOW },
  { "knobs", "sandbox-spawn", "allow", "knobs-sandbox-spawn", K_ENUM, NULL, QL_SANDBOX_ACTION_ALLOW },
  { "knobs", "sandbox-spawn", "deny", "knobs-sandbox-spawn", K_ENUM, NULL, QL_SANDBOX_ACTION_DENY },
  { "knobs", "sandbox-resource-control", "allow", "knobs-sandbox-resource-control", K_ENUM, NULL,
    QL_SANDBOX_ACTION_ALLOW },
  { "rtc", "base", "utc", "rtc-base", K_ENUM, NULL, QL_RTC_BASE_UTC },
  { "rtc", "base", "localtime", "rtc-base", K_ENUM, NULL, QL_RTC_BASE_LOCALTIME },
  { "rtc", "clock", "host", "rtc-clock", K_ENUM, NULL, QL_RTC_CLOCK_HOST },
  { "rtc", "clock", "vm", "rtc-clock", K_ENUM, NULL, QL_RTC_CLOCK_VM },
  { "rtc", "clock", "rt", "rtc-clock", K_ENUM, NULL, QL_RTC_CLOCK_RT },
  { "rtc", "drift-fix", "slew", "rtc-drift-fix", K_ENUM, NULL, QL_RTC_DRIFT_FIX_SLEW },
  { "rtc", "drift-fix", "none", "rtc-drift-fix", K_ENUM, NULL, QL_RTC_DRIFT_FIX_NONE },
  { "incoming", "type", "fd", "incoming-type", K_ENUM, NULL, QL_INCOMING_FD },
  { "incoming", "type", "exec", "incoming-type", K_ENUM, NULL, QL_INCOMING_EXEC },
  { "incoming", "type", "defer", "incoming-type", K_ENUM, NULL, QL_INCOMING_DEFER },
  { "incoming", "fd", "5", "incoming-fd", K_INT, NULL, 5 },
  { "incoming", "exec", "cat /var/lib/vm/state", "incoming-exec", K_STR, "cat /var/lib/vm/state", 0 },
  { "firmware", "type", "bios", "firmware-type", K_ENUM, NULL, QL_FIRMWARE_BIOS },
  { "firmware", "type", "uefi", "firmware-type", K_ENUM, NULL, QL_FIRMWARE_UEFI },
  { "firmware", "code", "/usr/share/OVMF/OVMF_CODE_4M.fd", "firmware-code", K_STR, "/usr/share/OVMF/OVMF_CODE_4M.fd", 0 },
  { "firmware", "code", "fw/CODE.fd", "firmware-code", K_STR, "/base/fw/CODE.fd", 0 },
  { "firmware", "vars-template", "fw/VARS.fd", "firmware-vars-template", K_STR, "/base/fw/VARS.fd", 0 },
  { "firmware", "vars", "web.vars.fd", "firmware-vars", K_STR, "/base/web.vars.fd", 0 },
  { "firmware", "secure-boot", "true", "firmware-secure-boot", K_BOOL, NULL, TRUE },
  { "qemu", "add", "-device virtio-rng-pci,id=rng9;-no-hpet", "qemu-add", K_STRV,
    "-device virtio-rng-pci,id=rng9|-no-hpet", 0 },
  { "qemu", "remove", "-nodefaults;-device id=net0", "qemu-remove", K_STRV, "-nodefaults|-device id=net0", 0 },
  { "qemu", "replace", "-device virtio-rng-pci,id=rng0,period=500", "qemu-replace", K_STRV,
    "-device virtio-rng-pci,id=rng0,period=500", 0 },
};

static void
test_key (gconstpointer data)
{
  const KeyCase *c = data;
  g_autofree char *text = g_strdup_printf ("# a comment\n[%s]\n%s = %s\n", c->group, c->key, c->text);
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry, text);

  switch (c->kind)
    {
    case K_STR:
      {
        g_autofree char *v = NULL;

        g_object_get (vm, c->property, &v, NULL);
        g_assert_cmpstr (v, ==, c->expect_str);
        break;
      }
    case K_UINT:
      {
        guint v = 0;

        g_object_get (vm, c->property, &v, NULL);
        g_assert_cmpuint (v, ==, c->expect_num);
        break;
      }
    case K_SIZE:
      {
        guint64 v = 0;

        g_object_get (vm, c->property, &v, NULL);
        g_assert_cmpuint (v, ==, (guint64) c->expect_num);
        break;
      }
    case K_INT:
    case K_ENUM:
      {
        gint v = -100;

        g_object_get (vm, c->property, &v, NULL);
        g_assert_cmpint (v, ==, c->expect_num);
        break;
      }
    case K_BOOL:
      {
        gboolean v = !c->expect_num;

        g_object_get (vm, c->property, &v, NULL);
        g_assert_cmpint (v, ==, c->expect_num);
        break;
      }
    case K_STRV:
      {
        g_auto(GStrv) v = NULL;
        g_autofree char *joined = NULL;

        g_object_get (vm, c->property, &v, NULL);
        g_assert_nonnull (v);
        joined = g_strjoinv ("|", v);
        g_assert_cmpstr (joined, ==, c->expect_str);
        break;
      }
    default:
      g_assert_not_reached ();
    }
}

/* The table above covers every property of QlVmConfig, so every key of
 * every fixed group. */
static void
test_keys_cover_every_property (void)
{
  GObjectClass *klass = g_type_class_ref (QL_TYPE_VM_CONFIG);
  g_autofree GParamSpec **pspecs = NULL;
  guint n = 0;

  pspecs = g_object_class_list_properties (klass, &n);
  g_type_class_unref (klass);
  g_assert_cmpuint (n, >=, 40);
  for (guint i = 0; i < n; i++)
    {
      gboolean found = FALSE;

      for (guint k = 0; k < G_N_ELEMENTS (key_cases) && !found; k++)
        found = g_str_equal (key_cases[k].property, pspecs[i]->name);
      if (!found)
        g_error ("property '%s' of QlVmConfig has no VM file key test", pspecs[i]->name);
    }
}

/* Defaults: an empty file is a valid VM. */
static void
test_empty_file (void)
{
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry, "");
  g_autofree char *name = NULL;
  guint64 size = 1;
  gint fd = 0;
  int incoming = -1;
  gboolean stopped = TRUE;
  g_auto(GStrv) iothreads = NULL;
  g_autoptr(GError) error = NULL;

  g_object_get (vm, "name", &name, "memory-size", &size, "incoming-fd", &fd,
                "incoming-type", &incoming, "knobs-stopped", &stopped, NULL);
  g_assert_null (name);
  g_assert_cmpuint (size, ==, 0);
  g_assert_cmpint (fd, ==, -1);
  g_assert_cmpint (incoming, ==, QL_INCOMING_NONE);
  g_assert_false (stopped);
  g_assert_cmpuint (ql_vm_config_get_n_qmp_sockets (vm), ==, 0);
  g_assert_cmpuint (ql_vm_config_get_devices (vm)->len, ==, 0);
  iothreads = ql_vm_config_get_iothreads (vm);
  g_assert_cmpuint (g_strv_length (iothreads), ==, 0);
  g_assert_cmpstr (ql_vm_config_get_source_name (vm), ==, "test.vm");
  g_assert_true (ql_vm_config_validate (vm, &error));
  g_assert_no_error (error);
}

/* A whole file using many groups at once loads, validates and builds. */
static void
test_full_file (void)
{
  static const char text[] =
    "[vm]\n"
    "name = full\n"
    "uuid = 4a5c6e1b-8a2b-4d4e-9f00-123456789abc\n"
    "qemu = qemu-system-x86_64\n"
    "cpu-model = max\n"
    "vga = none\n"
    "global = kvm-pit.lost_tick_policy=discard\n"
    "pid-file = /run/full.pid\n"
    "\n"
    "[machine]\n"
    "type = q35\n"
    "acceleration = tcg\n"
    "options = usb=off,vmport=off\n"
    "\n"
    "[smp]\n"
    "cpus = 2\n"
    "sockets = 1\n"
    "cores = 2\n"
    "threads = 1\n"
    "max-cpus = 2\n"
    "\n"
    "[memory]\n"
    "size = 1G\n"
    "slots = 2\n"
    "max-mem = 4G\n"
    "\n"
    "[kernel]\n"
    "path = /boot/vmlinuz\n"
    "initrd = /boot/initrd.img\n"
    "params = console=ttyS0\n"
    "\n"
    "[knobs]\n"
    "no-user-config = true\n"
    "no-defaults = true\n"
    "no-graphic = true\n"
    "daemonize = true\n"
    "mem-prealloc = true\n"
    "mlock = true\n"
    "stopped = true\n"
    "\n"
    "[rtc]\n"
    "base = utc\n"
    "clock = host\n"
    "drift-fix = slew\n"
    "\n"
    "[incoming]\n"
    "type = defer\n"
    "\n"
    "[qmp control]\n"
    "path = /run/full.qmp\n"
    "\n"
    "[iothread io0]\n"
    "\n"
    "[device scsi0]\n"
    "type = scsi-controller\n"
    "io-thread = io0\n"
    "\n"
    "[device disk0]\n"
    "type = block\n"
    "file = /images/disk.qcow2\n";
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry, text);
  g_autoptr(GError) error = NULL;
  g_autofree char *argv = NULL;

  g_assert_true (ql_vm_config_validate (vm, &error));
  g_assert_no_error (error);
  argv = ql_test_argv_string (vm, &error);
  g_assert_no_error (error);
  g_assert_nonnull (argv);
  g_assert_nonnull (strstr (argv, "/images/disk.qcow2"));
  g_assert_cmpuint (ql_vm_config_get_devices (vm)->len, ==, 2);
}

/* ---- values: booleans, sizes ---- */

static void
test_bool_spellings (void)
{
  static const struct { const char *text; gboolean value; } cases[] = {
    { "true", TRUE }, { "on", TRUE }, { "yes", TRUE }, { "1", TRUE },
    { "false", FALSE }, { "off", FALSE }, { "no", FALSE }, { "0", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = NULL;
      g_autoptr(QlVmConfig) vm = NULL;
      gboolean knob = !cases[i].value, server = !cases[i].value;

      /* A knob defaults to false, a QMP socket's server to true: each
       * spelling must move one of them. */
      text = g_strdup_printf ("[knobs]\nmlock = %s\n[qmp m]\npath = /q\nserver = %s\nno-wait = false\n",
                              cases[i].text, cases[i].text);
      vm = ql_test_load_vm (registry, text);
      g_object_get (vm, "knobs-mlock", &knob, NULL);
      g_assert_cmpint (knob, ==, cases[i].value);
      g_assert_true (ql_vm_config_get_qmp_socket (vm, 0, NULL, NULL, &server, NULL));
      g_assert_cmpint (server, ==, cases[i].value);
    }
}

/* ---- [qmp NAME] ---- */

static void
test_qmp_all_keys (void)
{
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry,
                                              "[qmp mon]\n"
                                              "type = unix\n"
                                              "path = /run/vm/qmp.sock\n"
                                              "server = true\n"
                                              "no-wait = false\n");
  const char *name = NULL, *path = NULL;
  gboolean server = FALSE, no_wait = TRUE;

  g_assert_cmpuint (ql_vm_config_get_n_qmp_sockets (vm), ==, 1);
  g_assert_true (ql_vm_config_get_qmp_socket (vm, 0, &name, &path, &server, &no_wait));
  g_assert_cmpstr (name, ==, "mon");
  g_assert_cmpstr (path, ==, "/run/vm/qmp.sock");
  g_assert_true (server);
  g_assert_false (no_wait);
  g_assert_false (ql_vm_config_get_qmp_socket (vm, 1, NULL, NULL, NULL, NULL));
}

static void
test_qmp_defaults (void)
{
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry,
                                              "[qmp mon]\npath = qmp.sock\n"
                                              "[qmp second]\npath = /run/second.sock\n");
  g_autoptr(GError) error = NULL;
  const char *name = NULL, *path = NULL;
  gboolean server = FALSE, no_wait = FALSE;

  g_assert_cmpuint (ql_vm_config_get_n_qmp_sockets (vm), ==, 2);
  g_assert_true (ql_vm_config_get_qmp_socket (vm, 0, &name, &path, &server, &no_wait));
  g_assert_cmpstr (name, ==, "mon");
  g_assert_cmpstr (path, ==, "/base/qmp.sock");
  g_assert_true (server);
  g_assert_true (no_wait);
  g_assert_true (ql_vm_config_get_qmp_socket (vm, 1, &name, &path, NULL, NULL));
  g_assert_cmpstr (name, ==, "second");
  g_assert_cmpstr (path, ==, "/run/second.sock");
  g_assert_true (ql_vm_config_validate (vm, &error));
  g_assert_no_error (error);
}

/* A client socket waits: no-wait defaults to false with server=false. */
static void
test_qmp_client (void)
{
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry, "[qmp mon]\npath = /q\nserver = false\n");
  g_autoptr(GError) error = NULL;
  gboolean server = TRUE, no_wait = TRUE;

  g_assert_true (ql_vm_config_get_qmp_socket (vm, 0, NULL, NULL, &server, &no_wait));
  g_assert_false (server);
  g_assert_false (no_wait);
  g_assert_true (ql_vm_config_validate (vm, &error));
  g_assert_no_error (error);
}

static void
test_qmp_errors (void)
{
  assert_load_error ("[qmp mon]\ntype = tcp\npath = /q\n", QL_CONFIG_ERROR_INVALID_VALUE,
                     "test.vm:2:", "[qmp mon] type", "'tcp'", "unix", NULL);
  /* (That it is one error, MISSING, is checked in error/no-consequences.) */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(QlVmConfig) vm = load ("[qmp mon]\ntype = unix\n", &error);

    g_assert_null (vm);
    g_assert_nonnull (error);
    assert_has (error->message, "test.vm:1: [qmp mon]");
    assert_has (error->message, "'path'");
  }
  assert_load_error ("[qmp mon]\npath = /q\npaht = /r\n", QL_CONFIG_ERROR_UNKNOWN_KEY,
                     "test.vm:3:", "[qmp mon] paht", "did you mean 'path'", NULL);
  assert_load_error ("[qmp mon]\npath = /q\nserver = maybe\n", QL_CONFIG_ERROR_INVALID_VALUE,
                     "test.vm:3:", "[qmp mon] server", "'maybe'", NULL);
  assert_load_error ("[qmp mon]\npath = /q\nno-wait = perhaps\n", QL_CONFIG_ERROR_INVALID_VALUE,
                     "[qmp mon] no-wait", "'perhaps'", NULL);
  /* Only a listening socket can skip waiting: a validation error. */
  assert_invalid ("[qmp mon]\npath = /q\nserver = false\nno-wait = true\n", NULL,
                  QL_CONFIG_ERROR_CONFLICT, "[qmp mon] no-wait", "server", NULL);
}

/* ---- [iothread ID] ---- */

static void
test_iothreads (void)
{
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry, "[iothread io0]\n\n[iothread io1]\n");
  g_auto(GStrv) ids = ql_vm_config_get_iothreads (vm);

  g_assert_cmpuint (g_strv_length (ids), ==, 2);
  g_assert_cmpstr (ids[0], ==, "io0");
  g_assert_cmpstr (ids[1], ==, "io1");
  g_assert_true (ql_vm_config_has_iothread (vm, "io1"));
  g_assert_false (ql_vm_config_has_iothread (vm, "io2"));

  assert_load_error ("[iothread io0]\npoll-max-ns = 0\n", QL_CONFIG_ERROR_UNKNOWN_KEY,
                     "test.vm:2:", "[iothread io0] poll-max-ns", NULL);
}

/* ---- [device LABEL] ---- */

static void
test_device_id_is_label (void)
{
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry,
                                              "[device disk0]\ntype = block\nfile = disk.img\naio = native\n");
  GPtrArray *devices = ql_vm_config_get_devices (vm);
  QlDevice *device;
  g_autofree char *file = NULL;
  int aio = -1;

  g_assert_cmpuint (devices->len, ==, 1);
  device = g_ptr_array_index (devices, 0);
  g_assert_cmpstr (ql_device_get_id (device), ==, "disk0");
  g_assert_cmpstr (ql_device_get_type_name (device), ==, "block");
  g_assert_true (ql_vm_config_lookup_device (vm, "disk0") == device);
  file = device_string (device, "file");
  g_assert_cmpstr (file, ==, "/base/disk.img");
  g_object_get (device, "aio", &aio, NULL);
  g_assert_cmpint (aio, !=, 0);
}

static void
test_device_id_key (void)
{
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry,
                                              "[device first]\ntype = block\nid = disk7\nfile = /images/a.img\n");
  QlDevice *device = g_ptr_array_index (ql_vm_config_get_devices (vm), 0);

  g_assert_cmpstr (ql_device_get_id (device), ==, "disk7");
  g_assert_true (ql_vm_config_lookup_device (vm, "disk7") == device);
  g_assert_null (ql_vm_config_lookup_device (vm, "first"));
}

/* Devices keep the file's order. */
static void
test_device_order (void)
{
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry,
                                              "[device c]\ntype = block\nfile = /c\n"
                                              "[device a]\ntype = scsi-controller\n"
                                              "[device b]\ntype = block\nfile = /b\n");
  GPtrArray *devices = ql_vm_config_get_devices (vm);

  g_assert_cmpuint (devices->len, ==, 3);
  g_assert_cmpstr (ql_device_get_id (g_ptr_array_index (devices, 0)), ==, "c");
  g_assert_cmpstr (ql_device_get_id (g_ptr_array_index (devices, 1)), ==, "a");
  g_assert_cmpstr (ql_device_get_type_name (g_ptr_array_index (devices, 1)), ==, "scsi-controller");
  g_assert_cmpstr (ql_device_get_id (g_ptr_array_index (devices, 2)), ==, "b");
}

static void
test_device_errors (void)
{
  /* No type: the message lists the known types. */
  assert_load_error ("[device disk0]\nfile = /a.img\n", QL_CONFIG_ERROR_MISSING,
                     "test.vm:1:", "[device disk0]", "'type'", "block", "net", "scsi-controller", NULL);
  assert_load_error ("[device disk0]\ntype = blok\nfile = /a.img\n", QL_CONFIG_ERROR_UNKNOWN_DEVICE_TYPE,
                     "test.vm:2:", "[device disk0] type", "'blok'", "did you mean 'block'", NULL);
  assert_load_error ("[device disk0]\ntype = floppy\n", QL_CONFIG_ERROR_UNKNOWN_DEVICE_TYPE,
                     "[device disk0] type", "'floppy'", "balloon, block, bridge, char, confidential-guest, fs, iommu, memory-object, net, pcie-root-port, rng, scsi-controller", NULL);
  /* A device's own errors name the device (its id, the label here) and
   * the property. */
  assert_load_error ("[device disk0]\ntype = block\nfiel = /a.img\n", QL_CONFIG_ERROR_UNKNOWN_KEY,
                     "test.vm:3:", "device 'disk0'", "property 'fiel'", "did you mean 'file'", NULL);
  assert_load_error ("[device disk0]\ntype = block\nfile = /a.img\naio = fast\n", QL_CONFIG_ERROR_INVALID_VALUE,
                     "test.vm:4:", "device 'disk0'", "property 'aio'", "'fast'", "threads", NULL);
  assert_load_error ("[device eth0]\ntype = net\nif-name = tap0\nqueues = many\n", QL_CONFIG_ERROR_INVALID_VALUE,
                     "test.vm:4:", "device 'eth0'", "property 'queues'", "'many'", NULL);
  assert_load_error ("[device first]\ntype = block\nid = disk7\nfile = /a.img\naio = fast\n",
                     QL_CONFIG_ERROR_INVALID_VALUE, "test.vm:5:", "device 'disk7'", "property 'aio'", NULL);
}

/* ---- paths ---- */

static void
assert_paths (QlVmConfig *vm,
              const char *kernel,
              const char *memory,
              const char *pid_file,
              const char *qmp,
              const char *disk)
{
  g_autofree char *k = NULL, *m = NULL, *p = NULL, *d = NULL;
  const char *q = NULL;

  g_object_get (vm, "kernel-path", &k, "memory-path", &m, "pid-file", &p, NULL);
  g_assert_cmpstr (k, ==, kernel);
  g_assert_cmpstr (m, ==, memory);
  g_assert_cmpstr (p, ==, pid_file);
  g_assert_true (ql_vm_config_get_qmp_socket (vm, 0, NULL, &q, NULL, NULL));
  g_assert_cmpstr (q, ==, qmp);
  d = device_string (ql_vm_config_lookup_device (vm, "disk0"), "file");
  g_assert_cmpstr (d, ==, disk);
}

#define PATHS_FILE(kernel, memory, pid, qmp, disk) \
  "[vm]\npid-file = " pid "\n" \
  "[kernel]\npath = " kernel "\n" \
  "[memory]\npath = " memory "\n" \
  "[qmp mon]\npath = " qmp "\n" \
  "[device disk0]\ntype = block\nfile = " disk "\n"

static void
test_paths_relative (void)
{
  g_autoptr(QlVmConfig) vm =
    ql_test_load_vm (registry, PATHS_FILE ("vmlinuz", "ram/mem", "run/vm.pid", "qmp.sock", "../images/disk.img"));

  assert_paths (vm, "/base/vmlinuz", "/base/ram/mem", "/base/run/vm.pid", "/base/qmp.sock", "/images/disk.img");
}

static void
test_paths_absolute (void)
{
  g_autoptr(QlVmConfig) vm =
    ql_test_load_vm (registry, PATHS_FILE ("/boot/vmlinuz", "/dev/shm/mem", "/run/vm.pid", "/run/qmp.sock", "/images/disk.img"));

  assert_paths (vm, "/boot/vmlinuz", "/dev/shm/mem", "/run/vm.pid", "/run/qmp.sock", "/images/disk.img");
}

/* Without a base directory, a relative path stays as written. */
static void
test_paths_no_base_dir (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = ql_vm_config_new_from_data ("[kernel]\npath = vmlinuz\n", -1, NULL, NULL,
                                                         registry, &error);
  g_autofree char *kernel = NULL;

  g_assert_no_error (error);
  g_object_get (vm, "kernel-path", &kernel, NULL);
  g_assert_cmpstr (kernel, ==, "vmlinuz");
}

/* From a real file, relative paths resolve against the file's directory,
 * also when the file itself is named by a relative path. */
static void
test_paths_from_file (void)
{
  g_autofree char *tmp = ql_test_make_tmpdir ();
  g_autofree char *sub = g_build_filename (tmp, "vms", NULL);
  g_autofree char *file = g_build_filename (sub, "guest.vm", NULL);
  g_autofree char *expect_kernel = g_build_filename (sub, "vmlinuz", NULL);
  g_autofree char *expect_disk = g_build_filename (tmp, "images", "disk.img", NULL);
  g_autofree char *expect_pid = g_build_filename (sub, "guest.pid", NULL);
  g_autofree char *expect_qmp = g_build_filename (sub, "guest.qmp", NULL);
  g_autofree char *expect_mem = g_build_filename (sub, "mem", NULL);
  g_autofree char *cwd = g_get_current_dir ();
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);
  g_file_set_contents (file, PATHS_FILE ("vmlinuz", "mem", "guest.pid", "guest.qmp", "../images/disk.img"), -1, &error);
  g_assert_no_error (error);

  {
    g_autoptr(QlVmConfig) vm = ql_vm_config_new_from_file (file, registry, &error);

    g_assert_no_error (error);
    assert_paths (vm, expect_kernel, expect_mem, expect_pid, expect_qmp, expect_disk);
    g_assert_cmpstr (ql_vm_config_get_source_name (vm), ==, file);
  }

  g_assert_cmpint (g_chdir (tmp), ==, 0);
  {
    g_autoptr(QlVmConfig) vm = ql_vm_config_new_from_file ("vms/guest.vm", registry, &error);

    g_assert_cmpint (g_chdir (cwd), ==, 0);
    g_assert_no_error (error);
    assert_paths (vm, expect_kernel, expect_mem, expect_pid, expect_qmp, expect_disk);
  }

  /* A file that does not exist: a GFileError naming it. */
  {
    g_autofree char *missing = g_build_filename (tmp, "nosuch.vm", NULL);
    g_autoptr(QlVmConfig) vm = ql_vm_config_new_from_file (missing, registry, &error);

    g_assert_null (vm);
    g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
    assert_has (error->message, "nosuch.vm");
  }
  ql_test_rm_rf (tmp);
}

/* Errors in a real file name the file. */
static void
test_errors_name_file (void)
{
  g_autofree char *tmp = ql_test_make_tmpdir ();
  g_autofree char *file = g_build_filename (tmp, "bad.vm", NULL);
  g_autofree char *prefix = g_strdup_printf ("%s:2:", file);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = NULL;

  g_file_set_contents (file, "[vm]\ncpu-modle = max\n", -1, &error);
  g_assert_no_error (error);
  vm = ql_vm_config_new_from_file (file, registry, &error);
  g_assert_null (vm);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_UNKNOWN_KEY);
  g_assert_true (g_str_has_prefix (error->message, prefix));
  ql_test_rm_rf (tmp);
}

/* ---- loader errors ---- */

static void
test_unknown_group (void)
{
  assert_load_error ("[vm]\nname = a\n[machin]\ntype = q35\n", QL_CONFIG_ERROR_UNKNOWN_GROUP,
                     "test.vm:3:", "[machin]", "did you mean [machine]", NULL);
  assert_load_error ("[kernal]\npath = /k\n", QL_CONFIG_ERROR_UNKNOWN_GROUP,
                     "test.vm:1:", "[kernal]", "did you mean [kernel]", NULL);
  /* Nothing close: the message lists the groups. */
  assert_load_error ("[frobnicator]\n", QL_CONFIG_ERROR_UNKNOWN_GROUP,
                     "[frobnicator]", "[vm]", "[device LABEL]", NULL);
}

/* A misspelt labelled group: the suggestion names the labelled kind. */
static void
test_unknown_labelled_group (void)
{
  assert_load_error ("[devic disk0]\ntype = block\nfile = /a\n", QL_CONFIG_ERROR_UNKNOWN_GROUP,
                     "test.vm:1:", "[devic disk0]", "did you mean [device", NULL);
  assert_load_error ("[iothraed io0]\n", QL_CONFIG_ERROR_UNKNOWN_GROUP,
                     "[iothraed io0]", "did you mean [iothread", NULL);
  /* ...and not a fixed group that happens to be close to the kind. */
  assert_load_error ("[qpm mon]\npath = /q\n", QL_CONFIG_ERROR_UNKNOWN_GROUP,
                     "[qpm mon]", "did you mean [qmp", NULL);
}

static void
test_unknown_key (void)
{
  assert_load_error ("[vm]\ncpu-modle = max\n", QL_CONFIG_ERROR_UNKNOWN_KEY,
                     "test.vm:2:", "[vm] cpu-modle", "did you mean 'cpu-model'", NULL);
  assert_load_error ("\n[smp]\ncpus = 2\nmaxcpus = 4\n", QL_CONFIG_ERROR_UNKNOWN_KEY,
                     "test.vm:4:", "[smp] maxcpus", "did you mean 'max-cpus'", NULL);
  /* Nothing close: the message lists the group's keys. */
  assert_load_error ("[rtc]\nfrobnicate = 1\n", QL_CONFIG_ERROR_UNKNOWN_KEY,
                     "[rtc] frobnicate", "base", "clock", "drift-fix", NULL);
  /* A key of another group is unknown here. */
  assert_load_error ("[vm]\ncpus = 2\n", QL_CONFIG_ERROR_UNKNOWN_KEY, "[vm] cpus", NULL);
}

static void
test_duplicate_group (void)
{
  static const char text[] =
    "[vm]\n"              /* 1 */
    "name = a\n"          /* 2 */
    "[smp]\n"             /* 3 */
    "cpus = 2\n"          /* 4 */
    "[vm]\n"              /* 5 */
    "uuid = 4a5c6e1b-8a2b-4d4e-9f00-123456789abc\n";

  assert_load_error (text, QL_CONFIG_ERROR_DUPLICATE, "test.vm:5:", "[vm]", "line 1", NULL);
  assert_load_error ("[device d]\ntype = block\nfile = /a\n\n[device d]\nfile = /b\n",
                     QL_CONFIG_ERROR_DUPLICATE, "test.vm:5:", "[device d]", "line 1", NULL);
  assert_load_error ("[qmp m]\npath = /a\n[qmp m]\n", QL_CONFIG_ERROR_DUPLICATE,
                     "test.vm:3:", "[qmp m]", "line 1", NULL);
}

static void
test_duplicate_key (void)
{
  assert_load_error ("[vm]\nname = a\nname = b\n", QL_CONFIG_ERROR_DUPLICATE,
                     "test.vm:3:", "[vm] name", "line 2", NULL);
  assert_load_error ("[device d]\ntype = block\nfile = /a\n# comment\nfile = /b\n", QL_CONFIG_ERROR_DUPLICATE,
                     "test.vm:5:", "[device d] file", "line 3", NULL);
  /* The same key in two groups is no duplicate. */
  {
    g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry, "[kernel]\npath = /k\n[memory]\npath = /m\n");

    g_assert_nonnull (vm);
  }
}

static void
test_malformed_values (void)
{
  assert_load_error ("[memory]\nsize = 12Q\n", QL_CONFIG_ERROR_INVALID_VALUE,
                     "test.vm:2:", "[memory] size", "'12Q'", NULL);
  assert_load_error ("[memory]\nsize = G\n", QL_CONFIG_ERROR_INVALID_VALUE, "[memory] size", "'G'", NULL);
  assert_load_error ("[memory]\nmax-mem = 1GB\n", QL_CONFIG_ERROR_INVALID_VALUE, "[memory] max-mem", "'1GB'", NULL);
  assert_load_error ("[memory]\nsize = 99999999999999999999\n", QL_CONFIG_ERROR_INVALID_VALUE, "[memory] size", NULL);
  assert_load_error ("[memory]\nsize = 20000000T\n", QL_CONFIG_ERROR_INVALID_VALUE, "[memory] size", NULL);
  assert_load_error ("[knobs]\nmlock = maybe\n", QL_CONFIG_ERROR_INVALID_VALUE,
                     "test.vm:2:", "[knobs] mlock", "'maybe'", NULL);
  assert_load_error ("[smp]\ncpus = -1\n", QL_CONFIG_ERROR_INVALID_VALUE,
                     "test.vm:2:", "[smp] cpus", "'-1'", NULL);
  assert_load_error ("[smp]\ncpus = two\n", QL_CONFIG_ERROR_INVALID_VALUE, "[smp] cpus", "'two'", NULL);
  assert_load_error ("[rtc]\nbase = nope\n", QL_CONFIG_ERROR_INVALID_VALUE,
                     "test.vm:2:", "[rtc] base", "'nope'", "utc", "localtime", NULL);
  assert_load_error ("[incoming]\ntype = tcp\n", QL_CONFIG_ERROR_INVALID_VALUE,
                     "[incoming] type", "'tcp'", "defer", NULL);
  assert_load_error ("[incoming]\nfd = x\n", QL_CONFIG_ERROR_INVALID_VALUE, "[incoming] fd", "'x'", NULL);
}

static void
test_out_of_range (void)
{
  assert_load_error ("[memory]\nslots = 300\n", QL_CONFIG_ERROR_INVALID_VALUE,
                     "test.vm:2:", "[memory] slots", "'300'", "0..256", NULL);
  assert_load_error ("[smp]\ncpus = 5000\n", QL_CONFIG_ERROR_INVALID_VALUE, "[smp] cpus", "'5000'", NULL);
  assert_load_error ("[incoming]\nfd = -2\n", QL_CONFIG_ERROR_INVALID_VALUE, "[incoming] fd", "'-2'", NULL);
  assert_load_error ("[smp]\ncpus = 4294967296\n", QL_CONFIG_ERROR_INVALID_VALUE, "[smp] cpus", NULL);
}

static void
test_group_needs_label (void)
{
  assert_load_error ("[device]\ntype = block\nfile = /a\n", QL_CONFIG_ERROR_UNKNOWN_GROUP,
                     "test.vm:1:", "[device]", "label", NULL);
  assert_load_error ("[qmp]\npath = /q\n", QL_CONFIG_ERROR_UNKNOWN_GROUP, "[qmp]", "label", NULL);
  assert_load_error ("[iothread]\n", QL_CONFIG_ERROR_UNKNOWN_GROUP, "[iothread]", "label", NULL);
}

/* A fixed group does not take a label. */
static void
test_fixed_group_with_label (void)
{
  assert_load_error ("[vm extra]\nname = a\n", QL_CONFIG_ERROR_UNKNOWN_GROUP, "[vm extra]", NULL);
}

static void
test_not_text (void)
{
  static const char with_nul[] = "[vm]\nname = a\0b\n";

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(QlVmConfig) vm = ql_vm_config_new_from_data (with_nul, sizeof with_nul - 1, "test.vm", "/base",
                                                           registry, &error);

    g_assert_null (vm);
    g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE);
    assert_has (error->message, "test.vm");
  }
  assert_load_error ("[vm]\nname = \xff\xfe\n", QL_CONFIG_ERROR_PARSE, "test.vm", NULL);
  assert_load_error ("[vm]\nname = \xc3\n", QL_CONFIG_ERROR_PARSE, "test.vm", NULL);
}

/* What GKeyFile itself refuses. */
static void
test_syntax_errors (void)
{
  assert_load_error ("[vm]\nthis line is no key\n", QL_CONFIG_ERROR_PARSE, "test.vm", NULL);
  assert_load_error ("name = a\n[vm]\n", QL_CONFIG_ERROR_PARSE, "test.vm", NULL);
  assert_load_error ("[vm\nname = a\n", QL_CONFIG_ERROR_PARSE, "test.vm", NULL);
}

/* Several errors: one QL_CONFIG_ERROR_MULTIPLE error, one line each, each
 * naming file:line, group and key. */
static void
test_several_errors (void)
{
  static const char text[] =
    "[vm]\n"                  /* 1 */
    "cpu-modle = max\n"       /* 2 unknown key */
    "name = a\n"              /* 3 */
    "name = b\n"              /* 4 duplicate key */
    "[memory]\n"              /* 5 */
    "size = 12Q\n"            /* 6 malformed size */
    "[knobs]\n"               /* 7 */
    "mlock = maybe\n"         /* 8 malformed bool */
    "[machin]\n"              /* 9 unknown group */
    "type = q35\n"            /* 10 */
    "[device disk0]\n"        /* 11 */
    "type = block\n"          /* 12 */
    "fiel = /a.img\n";        /* 13 unknown property */
  static const char *const expected[] = {
    "test.vm:2: [vm] cpu-modle: ",
    "test.vm:4: [vm] name: ",
    "test.vm:6: [memory] size: ",
    "test.vm:8: [knobs] mlock: ",
    "test.vm:9: [machin]: ",
    "test.vm:13: device 'disk0': property 'fiel': ",
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = load (text, &error);
  g_auto(GStrv) lines = NULL;

  g_assert_null (vm);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MULTIPLE);
  lines = g_strsplit (error->message, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      gboolean found = FALSE;

      for (guint l = 0; lines[l] != NULL && !found; l++)
        found = g_str_has_prefix (lines[l], expected[i]);
      if (!found)
        fail_case ("no line starts with \"%s\": %s", expected[i], error->message);
    }
}

/* A file with loader errors also lists the whole-VM rules that what did
 * load breaks (without line numbers), so one run shows every mistake. */
static void
test_errors_with_rules (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = load ("[vm]\ncpu-modle = max\nuuid = nope\n", &error);
  g_auto(GStrv) lines = NULL;

  g_assert_null (vm);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MULTIPLE);
  lines = g_strsplit (error->message, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  assert_has (error->message, "test.vm:2: [vm] cpu-modle");
  assert_has (error->message, "test.vm: [vm] uuid");
  /* No host check runs for them. */
  assert_load_error ("[vm]\ncpu-modle = max\n[kernel]\npath = /nonexistent/qlaunch-test/vmlinuz\n",
                     QL_CONFIG_ERROR_UNKNOWN_KEY, "[vm] cpu-modle", NULL);
}

/* One mistake, one error: what a bad key leaves unset is not reported
 * again as a broken rule. */
static void
test_errors_no_consequences (void)
{
  /* A device with a bad key is left out: no "file missing" for it. */
  assert_load_error ("[device disk0]\ntype = block\nfiel = /a.img\n", QL_CONFIG_ERROR_UNKNOWN_KEY,
                     "property 'fiel'", NULL);
  assert_load_error ("[device disk0]\ntype = floppy\n[device disk1]\ntype = block\nid = disk0\nfile = /a\n",
                     QL_CONFIG_ERROR_UNKNOWN_DEVICE_TYPE, "'floppy'", NULL);
  /* A QMP socket without path is not reported missing twice. */
  assert_load_error ("[qmp mon]\ntype = unix\n", QL_CONFIG_ERROR_MISSING,
                     "test.vm:1:", "[qmp mon]", "'path'", NULL);
  /* Nor is a fixed key whose value was refused reported missing. */
  assert_load_error ("[smp]\ncpus = -1\nmax-cpus = 4\n", QL_CONFIG_ERROR_INVALID_VALUE,
                     "test.vm:2:", "[smp] cpus", "'-1'", NULL);
  assert_load_error ("[memory]\nsize = 12Q\n[knobs]\nmem-prealloc = true\n", QL_CONFIG_ERROR_INVALID_VALUE,
                     "test.vm:2:", "[memory] size", "'12Q'", NULL);
  assert_load_error ("[knobs]\ndaemonize = maybe\n[vm]\npid-file = /run/vm.pid\n", QL_CONFIG_ERROR_INVALID_VALUE,
                     "[knobs] daemonize", NULL);
}

/* ---- whole-VM validation ---- */

typedef struct
{
  const char *name;
  const char *text;
  gint        code;
  const char *fragments[4];
} RuleCase;

static const RuleCase rule_cases[] = {
  /* [smp] */
  { "max-cpus-below-cpus", "[smp]\ncpus = 4\nmax-cpus = 2\n",
    QL_CONFIG_ERROR_INVALID_VALUE, { "[smp] max-cpus", "cpus" } },
  { "topology-mismatch", "[smp]\ncpus = 4\nsockets = 3\ncores = 1\nthreads = 1\n",
    QL_CONFIG_ERROR_INVALID_VALUE, { "[smp] cpus", "topology", "3 sockets" } },
  { "topology-mismatch-computed", "[smp]\ncpus = 6\ncores = 4\n",
    QL_CONFIG_ERROR_INVALID_VALUE, { "[smp]", "topology" } },
  { "topology-mismatch-max-cpus", "[smp]\ncpus = 2\nmax-cpus = 8\nsockets = 1\ncores = 2\nthreads = 2\n",
    QL_CONFIG_ERROR_INVALID_VALUE, { "[smp]", "max-cpus" } },
  { "cores-without-cpus", "[smp]\ncores = 2\n",
    QL_CONFIG_ERROR_MISSING, { "[smp] cpus" } },
  { "max-cpus-without-cpus", "[smp]\nmax-cpus = 4\n",
    QL_CONFIG_ERROR_MISSING, { "[smp] cpus" } },
  /* [memory], [knobs] */
  { "two-memory-knobs", "[memory]\nsize = 1G\n[knobs]\nhugepages = true\nmem-prealloc = true\n",
    QL_CONFIG_ERROR_CONFLICT, { "[knobs]", "hugepages", "mem-prealloc" } },
  { "three-memory-knobs", "[memory]\nsize = 1G\npath = /dev/shm/m\n[knobs]\nhugepages = true\nmem-prealloc = true\nfile-backed-mem = true\n",
    QL_CONFIG_ERROR_CONFLICT, { "[knobs]", "file-backed-mem" } },
  { "hugepages-without-size", "[knobs]\nhugepages = true\n",
    QL_CONFIG_ERROR_MISSING, { "[memory] size", "hugepages" } },
  { "mem-prealloc-without-size", "[knobs]\nmem-prealloc = true\n",
    QL_CONFIG_ERROR_MISSING, { "[memory] size", "mem-prealloc" } },
  { "file-backed-mem-without-path", "[memory]\nsize = 1G\n[knobs]\nfile-backed-mem = true\n",
    QL_CONFIG_ERROR_MISSING, { "[memory] path", "file-backed-mem" } },
  { "file-backed-mem-shared-alone", "[knobs]\nfile-backed-mem-shared = true\n",
    QL_CONFIG_ERROR_CONFLICT, { "[knobs] file-backed-mem-shared" } },
  { "memory-path-without-knob", "[memory]\nsize = 1G\npath = /dev/shm/m\n",
    QL_CONFIG_ERROR_CONFLICT, { "[memory] path" } },
  { "slots-without-max-mem", "[memory]\nsize = 1G\nslots = 2\n",
    QL_CONFIG_ERROR_MISSING, { "[memory] max-mem", "slots" } },
  { "max-mem-below-size", "[memory]\nsize = 4G\nmax-mem = 1G\n",
    QL_CONFIG_ERROR_INVALID_VALUE, { "[memory] max-mem", "size" } },
  { "slots-without-size", "[memory]\nslots = 2\nmax-mem = 4G\n",
    QL_CONFIG_ERROR_MISSING, { "[memory] size" } },
  { "daemonize-without-pid-file", "[knobs]\ndaemonize = true\n",
    QL_CONFIG_ERROR_MISSING, { "[vm] pid-file", "daemon" } },
  { "daemonize-no-graphic-without-no-defaults", "[vm]\npid-file = /run/vm.pid\n[knobs]\ndaemonize = true\nno-graphic = true\n",
    QL_CONFIG_ERROR_CONFLICT, { "[knobs] daemonize", "no-graphic", "no-defaults" } },
  /* [kernel] */
  { "initrd-without-kernel", "[kernel]\ninitrd = /boot/initrd.img\n",
    QL_CONFIG_ERROR_MISSING, { "[kernel] path", "initrd" } },
  { "params-without-kernel", "[kernel]\nparams = console=ttyS0\n",
    QL_CONFIG_ERROR_MISSING, { "[kernel] path", "params" } },
  /* [vm] */
  { "bad-uuid", "[vm]\nuuid = not-a-uuid\n",
    QL_CONFIG_ERROR_INVALID_VALUE, { "[vm] uuid", "'not-a-uuid'" } },
  { "bad-uuid-short", "[vm]\nuuid = 4a5c6e1b-8a2b-4d4e-9f00-123456789ab\n",
    QL_CONFIG_ERROR_INVALID_VALUE, { "[vm] uuid" } },
  { "bad-vga", "[vm]\nvga = rainbow\n",
    QL_CONFIG_ERROR_INVALID_VALUE, { "[vm] vga", "'rainbow'", "virtio" } },
  { "bad-global-no-dot", "[vm]\nglobal = kvm-pit.lost_tick_policy=discard;nodot=1\n",
    QL_CONFIG_ERROR_INVALID_VALUE, { "[vm] global", "'nodot=1'", "DRIVER.PROPERTY=VALUE" } },
  { "bad-global-no-value", "[vm]\nglobal = kvm-pit.lost_tick_policy\n",
    QL_CONFIG_ERROR_INVALID_VALUE, { "[vm] global", "'kvm-pit.lost_tick_policy'" } },
  { "bad-global-no-property", "[vm]\nglobal = kvm-pit.=x\n",
    QL_CONFIG_ERROR_INVALID_VALUE, { "[vm] global", "'kvm-pit.=x'" } },
  { "empty-qemu", "[vm]\nqemu =\n",
    QL_CONFIG_ERROR_INVALID_VALUE, { "[vm] qemu" } },
  /* [machine] */
  { "machine-options-bare-flag", "[machine]\noptions = usb\n",
    QL_CONFIG_ERROR_INVALID_VALUE, { "[machine] options", "'usb'", "usb=on" } },
  { "machine-options-accel", "[machine]\noptions = accel=kvm\n",
    QL_CONFIG_ERROR_CONFLICT, { "[machine] options", "acceleration" } },
  { "machine-options-type", "[machine]\noptions = usb=off,type=q35\n",
    QL_CONFIG_ERROR_CONFLICT, { "[machine] options", "type" } },
  { "machine-options-duplicate", "[machine]\noptions = usb=on,vmport=off,usb=off\n",
    QL_CONFIG_ERROR_DUPLICATE, { "[machine] options", "'usb'" } },
  { "machine-options-empty-element", "[machine]\noptions = usb=on,\n",
    QL_CONFIG_ERROR_PARSE, { "[machine] options" } },
  { "machine-type-with-options", "[machine]\ntype = q35,usb=off\n",
    QL_CONFIG_ERROR_INVALID_VALUE, { "[machine] type", "options" } },
  { "bad-accelerator", "[machine]\nacceleration = kvmm\n",
    QL_CONFIG_ERROR_INVALID_VALUE, { "[machine] acceleration", "'kvmm'" } },
  { "bad-accelerator-in-list", "[machine]\nacceleration = tcg:warp\n",
    QL_CONFIG_ERROR_INVALID_VALUE, { "[machine] acceleration", "'warp'" } },
  { "cpu-host-with-tcg", "[vm]\ncpu-model = host\n[machine]\nacceleration = tcg\n",
    QL_CONFIG_ERROR_UNSUPPORTED, { "[vm] cpu-model", "'host'", "KVM" } },
  { "cpu-host-default-accel", "[vm]\ncpu-model = host\n",
    QL_CONFIG_ERROR_UNSUPPORTED, { "[vm] cpu-model", "KVM" } },
  /* [incoming] */
  { "incoming-fd-without-fd", "[incoming]\ntype = fd\n",
    QL_CONFIG_ERROR_MISSING, { "[incoming] fd" } },
  { "incoming-exec-without-command", "[incoming]\ntype = exec\n",
    QL_CONFIG_ERROR_MISSING, { "[incoming] exec" } },
  { "incoming-exec-with-fd", "[incoming]\ntype = exec\nexec = cat /state\nfd = 5\n",
    QL_CONFIG_ERROR_CONFLICT, { "[incoming] fd", "exec" } },
  { "incoming-fd-with-exec", "[incoming]\ntype = fd\nfd = 5\nexec = cat /state\n",
    QL_CONFIG_ERROR_CONFLICT, { "[incoming] exec" } },
  { "incoming-fd-without-type", "[incoming]\nfd = 5\n",
    QL_CONFIG_ERROR_CONFLICT, { "[incoming] type" } },
  /* ids */
  { "duplicate-device-id", "[device a]\ntype = block\nid = disk\nfile = /a.img\n[device b]\ntype = block\nid = disk\nfile = /b.img\n",
    QL_CONFIG_ERROR_DUPLICATE, { "device 'disk'", "'id'" } },
  { "device-id-is-iothread-id", "[iothread io0]\n[device io0]\ntype = block\nfile = /a.img\n",
    QL_CONFIG_ERROR_DUPLICATE, { "device 'io0'", "'id'" } },
  { "device-id-is-ram-backend-id", "[memory]\nsize = 1G\n[knobs]\nmem-prealloc = true\n[device dimm1]\ntype = block\nfile = /a.img\n",
    QL_CONFIG_ERROR_DUPLICATE, { "device 'dimm1'", "'id'" } },
  { "device-id-syntax", "[device 0disk]\ntype = block\nfile = /a.img\n",
    QL_CONFIG_ERROR_INVALID_VALUE, { "device '0disk'", "'id'" } },
  { "device-id-key-syntax", "[device d]\ntype = block\nid = my disk\nfile = /a.img\n",
    QL_CONFIG_ERROR_INVALID_VALUE, { "device 'my disk'", "'id'" } },
  { "iothread-id-syntax", "[iothread 9io]\n",
    QL_CONFIG_ERROR_INVALID_VALUE, { "[iothread 9io]", "'9io'" } },
  /* a device's own rule */
  { "device-rule", "[device disk0]\ntype = block\n",
    QL_CONFIG_ERROR_MISSING, { "device 'disk0'", "property 'file'" } },
};

static void
test_rule (gconstpointer data)
{
  const RuleCase *c = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry, c->text);

  g_assert_true (ql_vm_config_validate (vm, &error) == (error == NULL));
  if (!check_error (c->text, error, c->code))
    return;
  for (guint i = 0; i < G_N_ELEMENTS (c->fragments) && c->fragments[i] != NULL; i++)
    assert_has (error->message, c->fragments[i]);
}

/* The near misses of the rules above are valid. */
static void
test_rules_valid (void)
{
  static const char *const valid[] = {
    "[smp]\ncpus = 8\nsockets = 2\ncores = 2\nthreads = 2\n",
    "[smp]\ncpus = 4\nmax-cpus = 8\n",
    "[smp]\ncpus = 2\nmax-cpus = 8\nsockets = 2\ncores = 2\nthreads = 2\n",
    "[smp]\ncpus = 6\ncores = 3\n",
    "[memory]\nsize = 1G\nslots = 2\nmax-mem = 4G\n",
    /* QEMU 7.2 accepts maxmem above size without slots (virtio-mem uses it). */
    "[memory]\nsize = 1G\nmax-mem = 4G\n",
    "[smp]\ncpus = 4\nsockets = 1\ncores = 2\n",
    "[memory]\nsize = 1G\n[knobs]\nhugepages = true\n",
    "[memory]\nsize = 1G\npath = /dev/shm/m\n[knobs]\nfile-backed-mem = true\nfile-backed-mem-shared = true\n",
    "[memory]\nsize = 1G\npath = /mnt/huge\n[knobs]\nhugepages = true\n",
    "[vm]\npid-file = /run/vm.pid\n[knobs]\ndaemonize = true\n",
    "[vm]\npid-file = /run/vm.pid\n[knobs]\ndaemonize = true\nno-graphic = true\nno-defaults = true\n",
    "[kernel]\npath = /boot/vmlinuz\ninitrd = /boot/initrd.img\nparams = quiet\n",
    "[vm]\nuuid = 4A5C6E1B-8A2B-4D4E-9F00-123456789ABC\n",
    "[vm]\nglobal = ICH9-LPC.disable_s3=1;kvm-pit.lost_tick_policy=discard\n",
    "[machine]\ntype = pc\noptions = usb=off,dump-guest-core=off\n",
    "[machine]\nacceleration = kvm:tcg\n",
    "[vm]\ncpu-model = host\n[machine]\nacceleration = kvm\n",
    "[incoming]\ntype = fd\nfd = 5\n",
    "[incoming]\ntype = exec\nexec = cat /state\n",
    "[incoming]\ntype = defer\n",
    "[iothread io0]\n[device disk0]\ntype = block\nfile = /a.img\n[device dimm1]\ntype = block\nfile = /b.img\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    {
      g_autofree char *text = g_strescape (valid[i], NULL);

      g_test_message ("valid: %s", text);
      assert_valid (valid[i], NULL);
    }
}

/* Validation gathers every error. */
static void
test_rules_several (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry,
                                              "[vm]\nuuid = nope\nvga = rainbow\n"
                                              "[smp]\ncpus = 4\nmax-cpus = 2\n"
                                              "[device disk0]\ntype = block\n");

  g_assert_false (ql_vm_config_validate (vm, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MULTIPLE);
  g_assert_cmpuint (count_lines (error->message), ==, 4);
  assert_has (error->message, "[vm] uuid");
  assert_has (error->message, "[vm] vga");
  assert_has (error->message, "[smp] max-cpus");
  assert_has (error->message, "device 'disk0': property 'file'");
}

/* A key set to an empty value where QEMU needs one: refused before QEMU
 * sees it, with a message naming the group and key (host checks off). */
static void
test_empty_values (void)
{
  static const struct { const char *text; const char *names; } cases[] = {
    { "[machine]\nacceleration =\n", "[machine] acceleration" },
    { "[vm]\ncpu-model =\n", "[vm] cpu-model" },
    { "[kernel]\npath =\n", "[kernel] path" },
    { "[kernel]\npath = /boot/vmlinuz\ninitrd =\n", "[kernel] initrd" },
    { "[memory]\nsize = 1G\npath =\n[knobs]\nhugepages = true\n", "[memory] path" },
    { "[vm]\npid-file =\n", "[vm] pid-file" },
    { "[vm]\nqemu =\n", "[vm] qemu" },
    { "[incoming]\ntype = exec\nexec =\n", "[incoming] exec" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry, cases[i].text);
      g_autoptr(GError) error = NULL;
      g_auto(GStrv) argv = ql_vm_config_to_argv (vm, &error);

      if (argv != NULL)
        {
          g_autofree char *joined = g_strjoinv (" ", argv);

          g_autofree char *text = g_strescape (cases[i].text, NULL);

          fail_case ("an empty value is accepted: %s -> %s", text, joined);
          continue;
        }
      g_assert_error (error, QL_CONFIG_ERROR, error->code);
      assert_has (error->message, cases[i].names);
    }
}

/* ---- host checks through the fake probe ---- */

static void
test_host_hugepages (void)
{
  static const char text[] = "[memory]\nsize = 1G\npath = /mnt/huge\n[knobs]\nhugepages = true\n";
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();

  assert_invalid (text, probe, QL_CONFIG_ERROR_HOST, "[knobs] hugepages", "'/mnt/huge'", "hugetlbfs", NULL);
  /* Without a path: the default mount. */
  assert_invalid ("[memory]\nsize = 1G\n[knobs]\nhugepages = true\n", probe, QL_CONFIG_ERROR_HOST,
                  "[knobs] hugepages", "'/dev/hugepages'", NULL);
  ql_fake_host_probe_set_hugetlbfs (probe, "/mnt/huge", TRUE);
  assert_valid (text, probe);
  assert_valid (text, NULL);
}

static void
test_host_kvm (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();

  assert_invalid ("[machine]\nacceleration = kvm\n", probe, QL_CONFIG_ERROR_HOST,
                  "[machine] acceleration", "'kvm'", NULL);
  assert_invalid ("[vm]\ncpu-model = host\n[machine]\nacceleration = kvm\n", probe, QL_CONFIG_ERROR_HOST,
                  "[vm] cpu-model", "KVM", NULL);
  /* With a TCG fallback, no KVM is needed. */
  assert_valid ("[machine]\nacceleration = kvm:tcg\n", probe);
  assert_valid ("[machine]\nacceleration = kvm\n", NULL);
  ql_fake_host_probe_set_kvm (probe, TRUE);
  assert_valid ("[machine]\nacceleration = kvm\n", probe);
  assert_valid ("[vm]\ncpu-model = host\n[machine]\nacceleration = kvm\n", probe);
}

static void
test_host_kernel (void)
{
  static const char text[] = "[kernel]\npath = /boot/vmlinuz\ninitrd = /boot/initrd.img\n";
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();

  ql_fake_host_probe_set_file_readable (probe, "/boot/initrd.img", TRUE);
  assert_invalid (text, probe, QL_CONFIG_ERROR_HOST, "[kernel] path", "'/boot/vmlinuz'",
                  "No such file or directory", NULL);
  ql_fake_host_probe_set_file_readable (probe, "/boot/vmlinuz", TRUE);
  ql_fake_host_probe_set_file_readable (probe, "/boot/initrd.img", FALSE);
  assert_invalid (text, probe, QL_CONFIG_ERROR_HOST, "[kernel] initrd", "'/boot/initrd.img'", NULL);
  ql_fake_host_probe_set_file_readable (probe, "/boot/initrd.img", TRUE);
  assert_valid (text, probe);
}

static void
test_host_bios (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();

  assert_invalid ("[vm]\nbios = /fw/OVMF.fd\n", probe, QL_CONFIG_ERROR_HOST, "[vm] bios", "'/fw/OVMF.fd'", NULL);
  /* A bare name is QEMU's to find. */
  assert_valid ("[vm]\nbios = OVMF.fd\n", probe);
  ql_fake_host_probe_set_file_readable (probe, "/fw/OVMF.fd", TRUE);
  assert_valid ("[vm]\nbios = /fw/OVMF.fd\n", probe);
}

static void
test_host_incoming_fd (void)
{
  static const char text[] = "[incoming]\ntype = fd\nfd = 7\n";
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();

  assert_invalid (text, probe, QL_CONFIG_ERROR_HOST, "[incoming] fd", NULL);
  ql_fake_host_probe_set_fd_open (probe, 7, TRUE);
  assert_valid (text, probe);
}

/* Every host check at once: each reported; with the probe set to NULL the
 * same configuration passes. */
static void
test_host_checks_off (void)
{
  static const char text[] =
    "[vm]\nbios = /fw/OVMF.fd\n"
    "[machine]\nacceleration = kvm\n"
    "[memory]\nsize = 1G\npath = /mnt/huge\n"
    "[kernel]\npath = /boot/vmlinuz\n"
    "[knobs]\nhugepages = true\n"
    "[incoming]\ntype = fd\nfd = 7\n"
    "[device disk0]\ntype = block\nfile = /images/missing.img\n";
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry, text);
  g_autoptr(GError) error = NULL;

  ql_vm_config_set_host_probe (vm, probe);
  g_assert_true (ql_vm_config_get_host_probe (vm) == probe);
  g_assert_false (ql_vm_config_validate (vm, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MULTIPLE);
  g_assert_cmpuint (count_lines (error->message), ==, 6);
  assert_has (error->message, "[vm] bios");
  assert_has (error->message, "[machine] acceleration");
  assert_has (error->message, "[knobs] hugepages");
  assert_has (error->message, "[kernel] path");
  assert_has (error->message, "[incoming] fd");
  assert_has (error->message, "device 'disk0': property 'file'");
  g_clear_error (&error);

  ql_vm_config_set_host_probe (vm, NULL);
  g_assert_null (ql_vm_config_get_host_probe (vm));
  g_assert_true (ql_vm_config_validate (vm, &error));
  g_assert_no_error (error);
}

/* A new config checks the real host by default. */
static void
test_host_probe_default (void)
{
  g_autoptr(QlVmConfig) vm = ql_vm_config_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) loaded = load ("[kernel]\npath = /nonexistent/qlaunch-test/vmlinuz\n", &error);

  g_assert_nonnull (ql_vm_config_get_host_probe (vm));
  g_assert_no_error (error);
  g_assert_nonnull (ql_vm_config_get_host_probe (loaded));
  g_assert_false (ql_vm_config_validate (loaded, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST);
  assert_has (error->message, "[kernel] path");
}

/* ---- ids allocated by ql_vm_config_add_device ---- */

static QlDevice *
new_device (const char *type,
            const char *id)
{
  g_autoptr(GError) error = NULL;
  QlDevice *device = ql_registry_create_device (registry, type, id, &error);

  g_assert_no_error (error);
  return device;
}

static void
test_add_device_ids (void)
{
  g_autoptr(QlVmConfig) vm = ql_vm_config_new ();
  g_autoptr(QlDevice) a = new_device ("net", NULL);
  g_autoptr(QlDevice) b = new_device ("net", NULL);
  g_autoptr(QlDevice) c = new_device ("block", NULL);
  g_autoptr(QlDevice) named = new_device ("net", "uplink");

  g_assert_null (ql_device_get_id (a));
  ql_vm_config_add_device (vm, a);
  ql_vm_config_add_device (vm, b);
  ql_vm_config_add_device (vm, c);
  ql_vm_config_add_device (vm, named);
  g_assert_cmpstr (ql_device_get_id (a), ==, "net0");
  g_assert_cmpstr (ql_device_get_id (b), ==, "net1");
  g_assert_cmpstr (ql_device_get_id (c), ==, "block0");
  g_assert_cmpstr (ql_device_get_id (named), ==, "uplink");
  g_assert_cmpuint (ql_vm_config_get_devices (vm)->len, ==, 4);
  g_assert_true (ql_vm_config_get_devices (vm)->pdata[0] == a);
  g_assert_true (ql_vm_config_lookup_device (vm, "net1") == b);
}

/* The smallest number not taken by a device or an iothread. */
static void
test_add_device_ids_skip_taken (void)
{
  g_autoptr(QlVmConfig) vm = ql_vm_config_new ();
  g_autoptr(QlDevice) taken = new_device ("net", "net1");
  g_autoptr(QlDevice) a = new_device ("net", NULL);
  g_autoptr(QlDevice) b = new_device ("net", NULL);
  g_autoptr(QlDevice) c = new_device ("net", NULL);

  ql_vm_config_add_iothread (vm, "net0");
  ql_vm_config_add_device (vm, taken);
  ql_vm_config_add_device (vm, a);
  ql_vm_config_add_device (vm, b);
  ql_vm_config_add_device (vm, c);
  g_assert_cmpstr (ql_device_get_id (a), ==, "net2");
  g_assert_cmpstr (ql_device_get_id (b), ==, "net3");
  g_assert_cmpstr (ql_device_get_id (c), ==, "net4");
}

/* Devices added to a loaded file get ids that clash with none of it. */
static void
test_add_device_ids_after_file (void)
{
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (registry,
                                              "[device block0]\ntype = block\nfile = /a.img\n"
                                              "[iothread block1]\n");
  g_autoptr(QlDevice) extra = new_device ("block", NULL);
  g_autoptr(GError) error = NULL;

  g_object_set (extra, "file", "/b.img", NULL);
  ql_vm_config_add_device (vm, extra);
  g_assert_cmpstr (ql_device_get_id (extra), ==, "block2");
  g_assert_true (ql_vm_config_validate (vm, &error));
  g_assert_no_error (error);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  registry = ql_test_registry_new ();

  for (guint i = 0; i < G_N_ELEMENTS (key_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/vm-file/key/%s/%s/%u", key_cases[i].group, key_cases[i].key, i);

      g_test_add_data_func (path, &key_cases[i], test_key);
    }
  g_test_add_func ("/vm-file/key/cover-every-property", test_keys_cover_every_property);
  g_test_add_func ("/vm-file/empty", test_empty_file);
  g_test_add_func ("/vm-file/full", test_full_file);
  g_test_add_func ("/vm-file/value/bool-spellings", test_bool_spellings);

  g_test_add_func ("/vm-file/qmp/all-keys", test_qmp_all_keys);
  g_test_add_func ("/vm-file/qmp/defaults", test_qmp_defaults);
  g_test_add_func ("/vm-file/qmp/client", test_qmp_client);
  g_test_add_func ("/vm-file/qmp/errors", test_qmp_errors);
  g_test_add_func ("/vm-file/iothread", test_iothreads);
  g_test_add_func ("/vm-file/device/id-is-label", test_device_id_is_label);
  g_test_add_func ("/vm-file/device/id-key", test_device_id_key);
  g_test_add_func ("/vm-file/device/order", test_device_order);
  g_test_add_func ("/vm-file/device/errors", test_device_errors);

  g_test_add_func ("/vm-file/path/relative", test_paths_relative);
  g_test_add_func ("/vm-file/path/absolute", test_paths_absolute);
  g_test_add_func ("/vm-file/path/no-base-dir", test_paths_no_base_dir);
  g_test_add_func ("/vm-file/path/from-file", test_paths_from_file);

  for (guint i = 0; i < G_N_ELEMENTS (rule_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/vm-file/validate/%s", rule_cases[i].name);

      g_test_add_data_func (path, &rule_cases[i], test_rule);
    }
  g_test_add_func ("/vm-file/validate/near-misses-valid", test_rules_valid);
  g_test_add_func ("/vm-file/validate/several", test_rules_several);

  g_test_add_func ("/vm-file/host/hugepages", test_host_hugepages);
  g_test_add_func ("/vm-file/host/kvm", test_host_kvm);
  g_test_add_func ("/vm-file/host/kernel", test_host_kernel);
  g_test_add_func ("/vm-file/host/bios", test_host_bios);
  g_test_add_func ("/vm-file/host/incoming-fd", test_host_incoming_fd);
  g_test_add_func ("/vm-file/host/checks-off", test_host_checks_off);
  g_test_add_func ("/vm-file/host/probe-default", test_host_probe_default);

  g_test_add_func ("/vm-file/add-device/ids", test_add_device_ids);
  g_test_add_func ("/vm-file/add-device/ids-skip-taken", test_add_device_ids_skip_taken);
  g_test_add_func ("/vm-file/add-device/ids-after-file", test_add_device_ids_after_file);

  /* The loader's errors come last: a failing test ends a GLib test
   * program (without -k), and these are the tests most likely to. */
  g_test_add_func ("/vm-file/error/names-file", test_errors_name_file);
  g_test_add_func ("/vm-file/error/unknown-group", test_unknown_group);
  g_test_add_func ("/vm-file/error/unknown-key", test_unknown_key);
  g_test_add_func ("/vm-file/error/duplicate-group", test_duplicate_group);
  g_test_add_func ("/vm-file/error/duplicate-key", test_duplicate_key);
  g_test_add_func ("/vm-file/error/malformed-values", test_malformed_values);
  g_test_add_func ("/vm-file/error/out-of-range", test_out_of_range);
  g_test_add_func ("/vm-file/error/group-needs-label", test_group_needs_label);
  g_test_add_func ("/vm-file/error/fixed-group-with-label", test_fixed_group_with_label);
  g_test_add_func ("/vm-file/error/not-text", test_not_text);
  g_test_add_func ("/vm-file/error/syntax", test_syntax_errors);
  g_test_add_func ("/vm-file/error/several", test_several_errors);
  g_test_add_func ("/vm-file/error/with-rules", test_errors_with_rules);
  g_test_add_func ("/vm-file/error/no-consequences", test_errors_no_consequences);
  g_test_add_func ("/vm-file/error/unknown-labelled-group", test_unknown_labelled_group);
  g_test_add_func ("/vm-file/error/empty-value", test_empty_values);

  ret = g_test_run ();
  g_object_unref (registry);
  return ret;
}
