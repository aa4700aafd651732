/* qlaunch tests — the `char` and `serial` devices: every rule, every output
 * form, the host checks (with fake hosts and with the real one). */
#include <errno.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <gio/gio.h>

#include "ql-device-test.h"

#define SOCK "/run/vm/con0.sock"

/* A host whose only directory is @dir and whose files are the
 * NULL-terminated list that follows. */
static G_GNUC_NULL_TERMINATED QlHostProbe *
test_dir_probe_new (const char *dir,
                    ...)
{
  QlHostProbe *probe = ql_fake_host_probe_new ();
  const char *file;
  va_list ap;

  if (dir != NULL)
    ql_fake_host_probe_set_file (probe, dir, G_FILE_TYPE_DIRECTORY, 4096);
  va_start (ap, dir);
  while ((file = va_arg (ap, const char *)) != NULL)
    {
      ql_fake_host_probe_set_file (probe, file, G_FILE_TYPE_SPECIAL, 0);
      ql_fake_host_probe_set_file_readable (probe, file, TRUE);
    }
  va_end (ap);
  return probe;
}

/* ---- char: output ---- */

static void
test_char_defaults (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev;
  g_autofree char *driver = NULL;
  g_autofree char *device_id = NULL;
  int backend = -1;
  gboolean server = FALSE, wait = TRUE, disable_modern = TRUE;

  test_add_device (vm, "serial", "serial0", NULL);
  dev = test_add_device (vm, "char", "con0", "driver", "virtconsole",
                         "path", SOCK, NULL);
  g_object_get (dev, "backend", &backend, "device-id", &device_id,
                "server", &server, "wait", &wait,
                "disable-modern", &disable_modern, NULL);
  g_assert_cmpint (backend, ==, 1);
  g_assert_null (device_id);
  g_assert_true (server);
  g_assert_false (wait);
  g_assert_false (disable_modern);

  /* socket by default, server=on,wait=off, never govmm's server,nowait;
   * the -device takes the id too (chardev ids are their own namespace). */
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-serial-pci,id=serial0\n"
                            "-device\n"
                            "virtconsole,id=con0,chardev=con0\n"
                            "-chardev\n"
                            "socket,id=con0,path=" SOCK ",server=on,wait=off");

  g_object_get (dev, "driver", &driver, NULL);
  g_assert_cmpstr (driver, ==, "virtconsole");
}

/* govmm TestAppendDeviceSerialPort, on a controller QEMU can attach it to. */
static void
test_char_govmm_virtserialport (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "serial", "serial0", NULL);
  test_add_device (vm, "char", "char0",
                   "driver", "virtserialport",
                   "backend", "socket",
                   "device-id", "channel0",
                   "path", "/tmp/char.sock",
                   "name", "channel.0",
                   NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-serial-pci,id=serial0\n"
                            "-device\n"
                            "virtserialport,id=channel0,chardev=char0,name=channel.0\n"
                            "-chardev\n"
                            "socket,id=char0,path=/tmp/char.sock,server=on,wait=off");
}

/* A govmm virtconsole as kata used it, with an agent port on the bus. */
static void
test_char_govmm_virtconsole (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "serial", "serial0", "disable-modern", "true", NULL);
  test_add_device (vm, "char", "charconsole0",
                   "driver", "virtconsole",
                   "device-id", "console0",
                   "path", "/run/vm/console.sock",
                   NULL);
  test_add_device (vm, "char", "charch0",
                   "driver", "virtserialport",
                   "bus", "serial0.0",
                   "device-id", "channel0",
                   "path", "/run/vm/kata.sock",
                   "name", "agent.channel.0",
                   NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-serial-pci,id=serial0,disable-modern=on\n"
                            "-device\n"
                            "virtconsole,id=console0,chardev=charconsole0\n"
                            "-chardev\n"
                            "socket,id=charconsole0,path=/run/vm/console.sock,server=on,wait=off\n"
                            "-device\n"
                            "virtserialport,id=channel0,chardev=charch0,bus=serial0.0,name=agent.channel.0\n"
                            "-chardev\n"
                            "socket,id=charch0,path=/run/vm/kata.sock,server=on,wait=off");
}

static void
test_char_backends (void)
{
  static const struct {
    const char *backend;
    const char *path;
    const char *chardev;
  } cases[] = {
    { "socket", SOCK, "socket,id=c0,path=" SOCK ",server=on,wait=off" },
    { "pipe", "/run/vm/pipe", "pipe,id=c0,path=/run/vm/pipe" },
    { "serial", "/dev/ttyS1", "serial,id=c0,path=/dev/ttyS1" },
    /* QEMU's 'tty' alias is deprecated: written as 'serial'. */
    { "tty", "/dev/ttyUSB0", "serial,id=c0,path=/dev/ttyUSB0" },
    { "pty", NULL, "pty,id=c0" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autofree char *expected = NULL;
      QlDevice *dev;

      test_add_device (vm, "serial", "s0", NULL);
      dev = test_add_device (vm, "char", "c0", "driver", "virtconsole",
                             "backend", cases[i].backend, NULL);
      if (cases[i].path != NULL)
        g_object_set (dev, "path", cases[i].path, NULL);
      expected = g_strdup_printf ("-device\n"
                                  "virtio-serial-pci,id=s0\n"
                                  "-device\n"
                                  "virtconsole,id=c0,chardev=c0\n"
                                  "-chardev\n"
                                  "%s",
                                  cases[i].chardev);
      test_assert_device_lines (vm, expected);
    }
}

static void
test_char_socket_modes (void)
{
  static const struct {
    const char *server;
    const char *wait;
    const char *chardev;
  } cases[] = {
    { "true", "false", "socket,id=c0,path=" SOCK ",server=on,wait=off" },
    { "true", "true", "socket,id=c0,path=" SOCK ",server=on" },
    { "false", "false", "socket,id=c0,path=" SOCK },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autofree char *expected = NULL;

      test_add_device (vm, "serial", "s0", NULL);
      test_add_device (vm, "char", "c0", "driver", "virtserialport",
                       "path", SOCK, "server", cases[i].server,
                       "wait", cases[i].wait, NULL);
      expected = g_strdup_printf ("-device\n"
                                  "virtio-serial-pci,id=s0\n"
                                  "-device\n"
                                  "virtserialport,id=c0,chardev=c0\n"
                                  "-chardev\n"
                                  "%s",
                                  cases[i].chardev);
      test_assert_device_lines (vm, expected);
    }
}

static void
test_char_two_controllers (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "serial", "s0", NULL);
  test_add_device (vm, "serial", "s1", NULL);
  test_add_device (vm, "char", "con0", "driver", "virtconsole",
                   "bus", "s1.0", "backend", "pty", NULL);
  test_add_device (vm, "char", "port0", "driver", "virtserialport",
                   "bus", "s0.0", "device-id", "port0dev",
                   "backend", "pty", "name", "org.example.0", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-serial-pci,id=s0\n"
                            "-device\n"
                            "virtio-serial-pci,id=s1\n"
                            "-device\n"
                            "virtconsole,id=con0,chardev=con0,bus=s1.0\n"
                            "-chardev\n"
                            "pty,id=con0\n"
                            "-device\n"
                            "virtserialport,id=port0dev,chardev=port0,bus=s0.0,name=org.example.0\n"
                            "-chardev\n"
                            "pty,id=port0");
}

static void
test_char_comma_escaping (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "serial", "s0", NULL);
  test_add_device (vm, "char", "port0", "driver", "virtserialport",
                   "path", "/run/vm/a,server=off.sock",
                   "name", "x,bus=nope.0", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-serial-pci,id=s0\n"
                            "-device\n"
                            "virtserialport,id=port0,chardev=port0,name=x,,bus=nope.0\n"
                            "-chardev\n"
                            "socket,id=port0,path=/run/vm/a,,server=off.sock,server=on,wait=off");
}

static void
test_char_socket_path_limit (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autofree char *name = g_strnfill (107 - strlen ("/run/"), 'a');
  g_autofree char *path = g_strconcat ("/run/", name, NULL);
  QlDevice *dev;

  /* 107 bytes and the NUL fill sun_path exactly. */
  g_assert_cmpuint (strlen (path), ==, 107);
  test_add_device (vm, "serial", "s0", NULL);
  dev = test_add_device (vm, "char", "c0", "driver", "virtconsole",
                         "path", path, NULL);
  test_assert_valid (vm, dev);
}

/* ---- char: rules ---- */

/* A VM with a controller and one char device of @driver with the
 * NULL-terminated properties that follow; returns the char device. */
static G_GNUC_NULL_TERMINATED QlDevice *
add_port (QlVmConfig *vm,
          const char *driver,
          ...)
{
  g_autoptr(GError) error = NULL;
  const char *key;
  QlDevice *dev;
  va_list ap;

  test_add_device (vm, "serial", "serial0", NULL);
  dev = test_add_device (vm, "char", "con0", "driver", driver, NULL);
  va_start (ap, driver);
  while ((key = va_arg (ap, const char *)) != NULL)
    {
      const char *value = va_arg (ap, const char *);

      ql_device_set_property_from_string (dev, key, value, &error);
      g_assert_no_error (error);
    }
  va_end (ap);
  return dev;
}

static void
test_char_rule_console (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = add_port (vm, "virtconsole", "backend", "console",
                            "path", "/tmp/console", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_UNSUPPORTED, "backend",
                       "'console' is a Windows-only QEMU backend");
}

static void
test_char_rule_driver (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm3 = test_vm_new (NULL);
  QlDevice *dev, *dev2, *dev3;

  test_add_device (vm, "serial", "serial0", NULL);
  dev = test_add_device (vm, "char", "con0", "path", SOCK, NULL);
  dev2 = add_port (vm2, "", "path", SOCK, NULL);
  dev3 = add_port (vm3, "isa-serial", "path", SOCK, NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "driver",
                       "no driver given: set driver to virtconsole");
  test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_MISSING, "driver",
                       "no driver given");
  test_assert_invalid (vm3, dev3, QL_CONFIG_ERROR_INVALID_VALUE, "driver",
                       "'isa-serial' is not a supported driver: expected virtconsole or virtserialport");
}

static void
test_char_rule_disable_modern (void)
{
  static const char * const drivers[] = { "virtconsole", "virtserialport" };

  for (guint i = 0; i < G_N_ELEMENTS (drivers); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autofree char *fragment =
        g_strdup_printf ("Property '%s.disable-modern' not found", drivers[i]);
      QlDevice *dev = add_port (vm, drivers[i], "path", SOCK,
                                "disable-modern", "true", NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT,
                           "disable-modern", fragment);
    }
}

static void
test_char_rule_empty_values (void)
{
  static const char * const properties[] = { "bus", "device-id", "name" };

  for (guint i = 0; i < G_N_ELEMENTS (properties); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = add_port (vm, "virtserialport", "path", SOCK,
                                properties[i], "", NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE,
                           properties[i], "the value is empty");
    }
}

static void
test_char_rule_device_id (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm3 = test_vm_new (NULL);
  QlDevice *dev, *dev2, *first, *second;

  dev = add_port (vm, "virtconsole", "path", SOCK,
                  "device-id", "0console", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "device-id",
                       "'0console' is not a valid id");

  /* The controller's id is a -device id too. */
  dev2 = add_port (vm2, "virtconsole", "path", SOCK,
                   "device-id", "serial0", NULL);
  test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_DUPLICATE, "device-id",
                       "'serial0' is the QEMU device id of device 'serial0' already");

  /* A port without device-id uses its id as -device id: the port that
   * sets a clashing device-id is the one at fault. */
  test_add_device (vm3, "serial", "serial0", NULL);
  first = test_add_device (vm3, "char", "c0", "driver", "virtconsole",
                           "backend", "pty", "device-id", "c1", NULL);
  second = test_add_device (vm3, "char", "c1", "driver", "virtserialport",
                            "backend", "pty", NULL);
  test_assert_invalid (vm3, first, QL_CONFIG_ERROR_DUPLICATE, "device-id",
                       "'c1' is the QEMU device id of device 'c1' already");
  test_assert_valid (vm3, second);
}

static void
test_char_rule_device_id_twice (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *first, *second;

  test_add_device (vm, "serial", "serial0", NULL);
  first = test_add_device (vm, "char", "c0", "driver", "virtconsole",
                           "backend", "pty", "device-id", "port", NULL);
  second = test_add_device (vm, "char", "c1", "driver", "virtserialport",
                            "backend", "pty", "device-id", "port", NULL);
  test_assert_invalid (vm, first, QL_CONFIG_ERROR_DUPLICATE, "device-id",
                       "of device 'c1' already");
  test_assert_invalid (vm, second, QL_CONFIG_ERROR_DUPLICATE, "device-id",
                       "of device 'c0' already");
}

static void
test_char_rule_path (void)
{
  static const char * const backends[] = { "socket", "pipe", "serial", "tty" };

  for (guint i = 0; i < G_N_ELEMENTS (backends); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
      g_autofree char *fragment =
        g_strdup_printf ("backend '%s' needs a path", backends[i]);
      QlDevice *dev = add_port (vm, "virtconsole", "backend", backends[i],
                                NULL);
      QlDevice *dev2 = add_port (vm2, "virtconsole", "backend", backends[i],
                                 "path", "", NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "path", fragment);
      test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_MISSING, "path",
                           fragment);
    }
}

static void
test_char_rule_pty_path (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = add_port (vm, "virtconsole", "backend", "pty",
                            "path", "/run/vm/console-pty", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "path",
                       "backend 'pty' takes no path: QEMU allocates a new /dev/pts/N and ignores path");
}

static void
test_char_rule_socket_path_too_long (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autofree char *name = g_strnfill (108 - strlen ("/run/"), 'a');
  g_autofree char *path = g_strconcat ("/run/", name, NULL);
  QlDevice *dev = add_port (vm, "virtconsole", "path", path, NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "path",
                       "is 108 bytes long: a unix socket path has at most 107 bytes");
}

static void
test_char_rule_server_wait (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = add_port (vm, "virtconsole", "path", SOCK,
                            "server", "false", "wait", "true", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "wait",
                       "only a server socket can wait for a client");

  /* server and wait belong to the socket backend. */
  {
    g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
    g_autoptr(QlVmConfig) vm3 = test_vm_new (NULL);
    QlDevice *dev2 = add_port (vm2, "virtconsole", "backend", "pipe",
                               "path", "/run/vm/p", "server", "false", NULL);
    QlDevice *dev3 = add_port (vm3, "virtconsole", "backend", "pty",
                               "wait", "true", NULL);

    test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_CONFLICT, "server",
                         "only applies to backend 'socket', not to 'pipe'");
    test_assert_invalid (vm3, dev3, QL_CONFIG_ERROR_CONFLICT, "wait",
                         "only applies to backend 'socket', not to 'pty'");
  }
}

static void
test_char_rule_duplicate_name (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *first, *second;

  /* QEMU wants a port name once across every virtio-serial bus. */
  test_add_device (vm, "serial", "s0", NULL);
  test_add_device (vm, "serial", "s1", NULL);
  first = test_add_device (vm, "char", "p0", "driver", "virtserialport",
                           "bus", "s0.0", "backend", "pty",
                           "name", "org.example.0", NULL);
  second = test_add_device (vm, "char", "p1", "driver", "virtconsole",
                            "bus", "s1.0", "backend", "pty",
                            "name", "org.example.0", NULL);
  test_assert_valid (vm, first);
  test_assert_invalid (vm, second, QL_CONFIG_ERROR_DUPLICATE, "name",
                       "'org.example.0' is the port name of device 'p0' already");
}

static void
test_char_rule_no_controller (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
  QlDevice *dev, *dev2;

  dev = test_add_device (vm, "char", "con0", "driver", "virtconsole",
                         "path", SOCK, NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "bus",
                       "a virtconsole needs a virtio-serial controller created before it");

  dev2 = test_add_device (vm2, "char", "con0", "driver", "virtserialport",
                          "path", SOCK, NULL);
  test_add_device (vm2, "serial", "serial0", NULL);
  test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_CONFLICT, "bus",
                       "the virtio-serial controller 'serial0' comes after this virtserialport");
}

static void
test_char_rule_bus (void)
{
  static const struct {
    const char *bus;
    gint code;
    const char *fragment;
  } cases[] = {
    { "nope.0", QL_CONFIG_ERROR_INVALID_VALUE,
      "'nope.0' is not the bus of a virtio-serial controller of this VM" },
    { "serial0", QL_CONFIG_ERROR_INVALID_VALUE,
      "'serial0' is not the bus of a virtio-serial controller of this VM" },
    { "serial0.1", QL_CONFIG_ERROR_INVALID_VALUE,
      "'serial0.1' does not exist: a virtio-serial controller has one bus, 'serial0.0'" },
    { "scsi0.0", QL_CONFIG_ERROR_INVALID_VALUE,
      "'scsi0.0' is a bus of device 'scsi0' of type 'scsi-controller'" },
    { "late.0", QL_CONFIG_ERROR_CONFLICT,
      "'late.0' belongs to the controller 'late', which comes after this virtconsole" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev;

      test_add_device (vm, "scsi-controller", "scsi0", NULL);
      dev = add_port (vm, "virtconsole", "path", SOCK, "bus", cases[i].bus,
                      NULL);
      test_add_device (vm, "serial", "late", NULL);
      test_assert_invalid (vm, dev, cases[i].code, "bus", cases[i].fragment);
    }
}

static void
test_char_rule_bad_text (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "char", "con0", NULL);

  test_assert_bad_text (dev, "backend", "stdio");
  test_assert_bad_text (dev, "backend", "file");
  test_assert_bad_text (dev, "server", "maybe");
  test_assert_bad_text (dev, "wait", "nowait");
}

/* ---- char: host checks ---- */

static void
test_char_host_socket_server (void)
{
  g_autoptr(QlHostProbe) fake = ql_fake_host_probe_new ();
  g_autoptr(QlHostProbe) dirs = test_dir_probe_new ("/run/vm", NULL);

  {
    g_autoptr(QlVmConfig) vm = test_vm_new (fake);
    QlDevice *dev = add_port (vm, "virtconsole", "path", SOCK, NULL);

    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "path",
                         "cannot create the socket '" SOCK "': its directory '/run/vm' is not usable: No such file or directory");
  }
  {
    g_autoptr(QlHostProbe) file = ql_fake_host_probe_new ();
    g_autoptr(QlVmConfig) vm = test_vm_new (file);
    QlDevice *dev = add_port (vm, "virtconsole", "path", SOCK, NULL);

    ql_fake_host_probe_set_file (file, "/run/vm", G_FILE_TYPE_REGULAR, 10);
    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "path",
                         "its directory '/run/vm' is not usable: Not a directory");
  }
  {
    g_autoptr(QlVmConfig) vm = test_vm_new (dirs);
    QlDevice *dev = add_port (vm, "virtconsole", "path", SOCK, NULL);

    test_assert_valid (vm, dev);
  }
  {
    g_autoptr(QlHostProbe) both = test_dir_probe_new ("/run/vm", NULL);
    g_autoptr(QlVmConfig) vm = test_vm_new (both);
    QlDevice *dev = add_port (vm, "virtconsole", "path", "/run/vm", NULL);

    /* QEMU 7.2: "Failed to unlink socket /run/vm: Is a directory". */
    ql_fake_host_probe_set_file (both, "/run", G_FILE_TYPE_DIRECTORY, 4096);
    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "path",
                         "'/run/vm' is a directory: QEMU cannot create its socket there");
  }
  {
    g_autoptr(QlHostProbe) data = test_dir_probe_new ("/run/vm", NULL);
    g_autoptr(QlVmConfig) vm = test_vm_new (data);
    QlDevice *dev = add_port (vm, "virtconsole", "path", SOCK, NULL);

    /* QEMU would unlink a regular file at the socket path without a word. */
    ql_fake_host_probe_set_file (data, SOCK, G_FILE_TYPE_REGULAR, 100);
    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "path",
                         "is a regular file, which QEMU would delete");
  }
}

static void
test_char_host_socket_client (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = add_port (vm, "virtserialport", "path", SOCK,
                            "server", "false", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "path",
                       "no socket to connect to at '" SOCK "': No such file or directory (with server=false the peer must listen before QEMU starts)");
  ql_fake_host_probe_set_file_readable (probe, SOCK, TRUE);
  test_assert_valid (vm, dev);
}

static void
test_char_host_pipe (void)
{
  static const struct {
    const char *in;
    const char *out;
    const char *plain;
    gboolean valid;
  } cases[] = {
    { "/run/vm/p.in", "/run/vm/p.out", NULL, TRUE },
    { NULL, NULL, "/run/vm/p", TRUE },
    { "/run/vm/p.in", NULL, "/run/vm/p", TRUE },
    { "/run/vm/p.in", NULL, NULL, FALSE },
    { NULL, NULL, NULL, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
      g_autoptr(QlVmConfig) vm = test_vm_new (probe);
      QlDevice *dev = add_port (vm, "virtserialport", "backend", "pipe",
                                "path", "/run/vm/p", NULL);

      if (cases[i].in != NULL)
        ql_fake_host_probe_set_file_readable (probe, cases[i].in, TRUE);
      if (cases[i].out != NULL)
        ql_fake_host_probe_set_file_readable (probe, cases[i].out, TRUE);
      if (cases[i].plain != NULL)
        ql_fake_host_probe_set_file_readable (probe, cases[i].plain, TRUE);

      if (cases[i].valid)
        test_assert_valid (vm, dev);
      else
        test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "path",
                             "no pipe at '/run/vm/p': neither '/run/vm/p.in' and '/run/vm/p.out' nor '/run/vm/p' itself can be opened: No such file or directory (create them with mkfifo)");
    }
}

static void
test_char_host_serial (void)
{
  static const char * const backends[] = { "serial", "tty" };

  for (guint i = 0; i < G_N_ELEMENTS (backends); i++)
    {
      g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
      g_autoptr(QlVmConfig) vm = test_vm_new (probe);
      QlDevice *dev = add_port (vm, "virtconsole", "backend", backends[i],
                                "path", "/dev/ttyS1", NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "path",
                           "cannot open the serial device '/dev/ttyS1' read-write: No such file or directory");
      ql_fake_host_probe_set_device_usable (probe, "/dev/ttyS1", TRUE);
      test_assert_valid (vm, dev);
    }
}

static void
test_char_host_pty (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = add_port (vm, "virtconsole", "backend", "pty", NULL);

  /* Nothing on the host to check: QEMU makes the pty. */
  test_assert_valid (vm, dev);
}

static void
test_char_host_checks_off (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = add_port (vm, "virtconsole", "backend", "serial",
                            "path", "/dev/nonexistent", NULL);

  test_assert_valid (vm, dev);
}

/* Against the real host: a socket in an existing directory, FIFOs. */
static void
test_char_host_real (void)
{
  g_autoptr(QlHostProbe) probe = ql_host_probe_new ();
  g_autofree char *tmpdir = ql_test_make_tmpdir ();
  g_autofree char *sock = g_build_filename (tmpdir, "con.sock", NULL);
  g_autofree char *nodir_sock = g_build_filename (tmpdir, "nodir", "con.sock", NULL);
  g_autofree char *pipe = g_build_filename (tmpdir, "pipe", NULL);
  g_autofree char *pipe_in = g_strconcat (pipe, ".in", NULL);
  g_autofree char *pipe_out = g_strconcat (pipe, ".out", NULL);

  g_assert_cmpint (mkfifo (pipe_in, 0600), ==, 0);

  {
    g_autoptr(QlVmConfig) vm = test_vm_new (probe);
    QlDevice *dev = add_port (vm, "virtconsole", "path", sock, NULL);

    test_assert_valid (vm, dev);
  }
  {
    g_autoptr(QlVmConfig) vm = test_vm_new (probe);
    QlDevice *dev = add_port (vm, "virtconsole", "path", tmpdir, NULL);

    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "path",
                         "is a directory: QEMU cannot create its socket there");
  }
  {
    g_autoptr(QlVmConfig) vm = test_vm_new (probe);
    QlDevice *dev = add_port (vm, "virtconsole", "path", nodir_sock, NULL);

    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "path",
                         "No such file or directory");
  }
  {
    g_autoptr(QlVmConfig) vm = test_vm_new (probe);
    QlDevice *dev = add_port (vm, "virtserialport", "backend", "pipe",
                              "path", pipe, NULL);

    /* Only pipe.in: QEMU falls back to 'pipe' itself, which is missing. */
    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "path",
                         "No such file or directory");
    g_assert_cmpint (mkfifo (pipe_out, 0600), ==, 0);
    test_assert_valid (vm, dev);
  }

  ql_test_rm_rf (tmpdir);
}

/* ---- serial ---- */

static void
test_serial_defaults (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "serial", "serial0", NULL);
  g_autofree char *driver = NULL;
  gboolean disable_modern = TRUE;

  g_object_get (dev, "driver", &driver, "disable-modern", &disable_modern,
                NULL);
  g_assert_cmpstr (driver, ==, "virtio-serial-pci");
  g_assert_false (disable_modern);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-serial-pci,id=serial0");
}

/* govmm TestAppendDeviceSerial. */
static void
test_serial_govmm (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "serial", "serial0", "driver", "virtio-serial-pci",
                   "disable-modern", "true", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-serial-pci,id=serial0,disable-modern=on");
}

static void
test_serial_drivers (void)
{
  static const struct {
    const char *driver;
    const char *disable_modern;
    const char *suffix;
  } cases[] = {
    { "virtio-serial-pci", "true", ",disable-modern=on" },
    { "virtio-serial", "true", ",disable-modern=on" },
    { "virtio-serial-pci-transitional", "false", "" },
    { "virtio-serial-pci-non-transitional", "false", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autofree char *expected = NULL;

      test_add_device (vm, "serial", "s0", "driver", cases[i].driver,
                       "disable-modern", cases[i].disable_modern, NULL);
      expected = g_strdup_printf ("-device\n%s,id=s0%s", cases[i].driver,
                                  cases[i].suffix);
      test_assert_device_lines (vm, expected);
    }
}

static void
test_serial_bus_addr (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "serial", "serial0", "bus", "pcie.0", "addr", "6",
                   "disable-modern", "true", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-serial-pci,id=serial0,bus=pcie.0,addr=6,disable-modern=on");
}

static void
test_serial_rules (void)
{
  {
    g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
    QlDevice *dev = test_add_device (vm, "serial", "s0", "driver",
                                     "isa-serial", NULL);

    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "driver",
                         "'isa-serial' is not a supported driver: expected one of virtio-serial-pci, virtio-serial, virtio-serial-pci-transitional, virtio-serial-pci-non-transitional");
  }
  {
    g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
    QlDevice *dev = test_add_device (vm, "serial", "s0", "addr", "0x6", NULL);

    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "addr",
                         "'0x6' is not a PCI address");
  }
  for (guint i = 0; i < 2; i++)
    {
      static const char * const drivers[] = {
        "virtio-serial-pci-transitional", "virtio-serial-pci-non-transitional",
      };
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "serial", "s0",
                                       "driver", drivers[i],
                                       "disable-modern", "true", NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT,
                           "disable-modern",
                           "only applies to drivers virtio-serial-pci and virtio-serial");
    }
  for (guint i = 0; i < 3; i++)
    {
      static const char * const properties[] = { "driver", "bus", "addr" };
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "serial", "s0",
                                       properties[i], "", NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE,
                           properties[i], "the value is empty");
    }
  {
    g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
    QlDevice *dev = test_add_device (vm, "serial", "s0", NULL);

    test_assert_bad_text (dev, "disable-modern", "sometimes");
  }
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  test_registry = ql_test_registry_new ();

  g_test_add_func ("/char/output/defaults", test_char_defaults);
  g_test_add_func ("/char/output/govmm-virtserialport", test_char_govmm_virtserialport);
  g_test_add_func ("/char/output/govmm-virtconsole", test_char_govmm_virtconsole);
  g_test_add_func ("/char/output/backends", test_char_backends);
  g_test_add_func ("/char/output/socket-modes", test_char_socket_modes);
  g_test_add_func ("/char/output/two-controllers", test_char_two_controllers);
  g_test_add_func ("/char/output/comma-escaping", test_char_comma_escaping);
  g_test_add_func ("/char/output/socket-path-limit", test_char_socket_path_limit);

  g_test_add_func ("/char/rule/console", test_char_rule_console);
  g_test_add_func ("/char/rule/driver", test_char_rule_driver);
  g_test_add_func ("/char/rule/disable-modern", test_char_rule_disable_modern);
  g_test_add_func ("/char/rule/empty-values", test_char_rule_empty_values);
  g_test_add_func ("/char/rule/device-id", test_char_rule_device_id);
  g_test_add_func ("/char/rule/device-id-twice", test_char_rule_device_id_twice);
  g_test_add_func ("/char/rule/path", test_char_rule_path);
  g_test_add_func ("/char/rule/pty-path", test_char_rule_pty_path);
  g_test_add_func ("/char/rule/socket-path-too-long", test_char_rule_socket_path_too_long);
  g_test_add_func ("/char/rule/server-wait", test_char_rule_server_wait);
  g_test_add_func ("/char/rule/duplicate-name", test_char_rule_duplicate_name);
  g_test_add_func ("/char/rule/no-controller", test_char_rule_no_controller);
  g_test_add_func ("/char/rule/bus", test_char_rule_bus);
  g_test_add_func ("/char/rule/bad-text", test_char_rule_bad_text);

  g_test_add_func ("/char/host/socket-server", test_char_host_socket_server);
  g_test_add_func ("/char/host/socket-client", test_char_host_socket_client);
  g_test_add_func ("/char/host/pipe", test_char_host_pipe);
  g_test_add_func ("/char/host/serial", test_char_host_serial);
  g_test_add_func ("/char/host/pty", test_char_host_pty);
  g_test_add_func ("/char/host/checks-off", test_char_host_checks_off);
  g_test_add_func ("/char/host/real", test_char_host_real);

  g_test_add_func ("/serial/output/defaults", test_serial_defaults);
  g_test_add_func ("/serial/output/govmm", test_serial_govmm);
  g_test_add_func ("/serial/output/drivers", test_serial_drivers);
  g_test_add_func ("/serial/output/bus-addr", test_serial_bus_addr);
  g_test_add_func ("/serial/rules", test_serial_rules);

  ret = g_test_run ();
  g_clear_object (&test_registry);
  return ret;
}
