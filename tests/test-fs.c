/* qlaunch tests — the `fs` device: every rule, every output form, the host
 * checks (with fake hosts and with the real one). */
#include <errno.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "ql-device-test.h"

#define SHARE "/srv/share"
#define PROXY_SOCKET "/run/virtfs-proxy.sock"

/* A host whose only directory is @dir. */
static QlHostProbe *
test_dir_probe_new (const char *dir)
{
  QlHostProbe *probe = ql_fake_host_probe_new ();

  ql_fake_host_probe_set_file (probe, dir, G_FILE_TYPE_DIRECTORY, 4096);
  return probe;
}

/* ---- output ---- */

static void
test_defaults (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "fs", "share0",
                                   "path", SHARE,
                                   "mount-tag", "share",
                                   "security-model", "mapped-xattr",
                                   NULL);
  g_autofree char *driver = NULL;
  g_autofree char *driver2 = NULL;
  g_autofree char *socket = NULL;
  int fs_driver = -1, sock_fd = 0;
  gboolean disable_modern = TRUE, read_only = TRUE;

  g_object_get (dev, "driver", &driver, "fs-driver", &fs_driver,
                "socket", &socket, "sock-fd", &sock_fd,
                "disable-modern", &disable_modern, "read-only", &read_only,
                NULL);
  g_assert_cmpstr (driver, ==, "virtio-9p-pci");
  g_assert_cmpint (fs_driver, ==, 0);
  g_assert_null (socket);
  g_assert_cmpint (sock_fd, ==, -1);
  g_assert_false (disable_modern);
  g_assert_false (read_only);

  /* The fsdev takes the device's id (its own namespace in QEMU). */
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-9p-pci,id=share0,fsdev=share0,mount_tag=share\n"
                            "-fsdev\n"
                            "local,id=share0,path=" SHARE ",security_model=mapped-xattr");
  test_assert_fds (vm, NULL, 0);

  /* Setting the driver to NULL restores its default. */
  g_object_set (dev, "driver", "virtio-9p", NULL);
  g_object_set (dev, "driver", NULL, NULL);
  g_object_get (dev, "driver", &driver2, NULL);
  g_assert_cmpstr (driver2, ==, "virtio-9p-pci");
}

/* govmm TestAppendDeviceFS. */
static void
test_govmm (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "fs", "workload9p",
                   "driver", "virtio-9p-pci",
                   "fs-driver", "local",
                   "path", "/var/lib/docker/devicemapper/mnt/e31ebda2",
                   "mount-tag", "rootfs",
                   "security-model", "none",
                   "disable-modern", "true",
                   NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-9p-pci,id=workload9p,fsdev=workload9p,mount_tag=rootfs,disable-modern=on\n"
                            "-fsdev\n"
                            "local,id=workload9p,path=/var/lib/docker/devicemapper/mnt/e31ebda2,security_model=none");
}

static void
test_security_models (void)
{
  static const char * const models[] = {
    "passthrough", "mapped-xattr", "mapped-file", "none",
  };

  for (guint i = 0; i < G_N_ELEMENTS (models); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autofree char *expected = NULL;

      test_add_device (vm, "fs", "fs0", "path", SHARE, "mount-tag", "t",
                       "security-model", models[i], NULL);
      expected = g_strdup_printf ("-device\n"
                                  "virtio-9p-pci,id=fs0,fsdev=fs0,mount_tag=t\n"
                                  "-fsdev\n"
                                  "local,id=fs0,path=" SHARE ",security_model=%s",
                                  models[i]);
      test_assert_device_lines (vm, expected);
    }
}

static void
test_read_only (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "fs", "fs0", "path", SHARE, "mount-tag", "t",
                   "security-model", "none", "read-only", "true", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-9p-pci,id=fs0,fsdev=fs0,mount_tag=t\n"
                            "-fsdev\n"
                            "local,id=fs0,path=" SHARE ",security_model=none,readonly=on");
}

static void
test_proxy_socket (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "fs", "px0", "fs-driver", "proxy",
                   "socket", PROXY_SOCKET, "mount-tag", "t",
                   "read-only", "true", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-9p-pci,id=px0,fsdev=px0,mount_tag=t\n"
                            "-fsdev\n"
                            "proxy,id=px0,socket=" PROXY_SOCKET ",readonly=on");
  test_assert_fds (vm, NULL, 0);
}

static void
test_proxy_sock_fd (void)
{
  static const int fds[] = { 9, 7 };
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  /* QEMU's numbers follow config order: 9 becomes 3, 7 becomes 4. */
  test_add_device (vm, "fs", "px0", "fs-driver", "proxy", "sock-fd", "9",
                   "mount-tag", "a", NULL);
  test_add_device (vm, "fs", "px1", "fs-driver", "proxy", "sock-fd", "7",
                   "mount-tag", "b", "disable-modern", "true", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-9p-pci,id=px0,fsdev=px0,mount_tag=a\n"
                            "-fsdev\n"
                            "proxy,id=px0,sock_fd=3\n"
                            "-device\n"
                            "virtio-9p-pci,id=px1,fsdev=px1,mount_tag=b,disable-modern=on\n"
                            "-fsdev\n"
                            "proxy,id=px1,sock_fd=4");
  test_assert_fds (vm, fds, G_N_ELEMENTS (fds));
}

static void
test_bus_addr (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "fs", "fs0", "path", SHARE, "mount-tag", "t",
                   "security-model", "none", "bus", "pcie.0", "addr", "5",
                   "disable-modern", "true", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-9p-pci,id=fs0,fsdev=fs0,mount_tag=t,bus=pcie.0,addr=5,disable-modern=on\n"
                            "-fsdev\n"
                            "local,id=fs0,path=" SHARE ",security_model=none");
}

static void
test_drivers (void)
{
  static const struct {
    const char *driver;
    const char *disable_modern;
    const char *suffix;
  } cases[] = {
    { "virtio-9p-pci", "true", ",disable-modern=on" },
    { "virtio-9p", "true", ",disable-modern=on" },
    { "virtio-9p-pci-transitional", "false", "" },
    { "virtio-9p-pci-non-transitional", "false", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autofree char *expected = NULL;

      test_add_device (vm, "fs", "fs0", "driver", cases[i].driver,
                       "path", SHARE, "mount-tag", "t",
                       "security-model", "none",
                       "disable-modern", cases[i].disable_modern, NULL);
      expected = g_strdup_printf ("-device\n"
                                  "%s,id=fs0,fsdev=fs0,mount_tag=t%s\n"
                                  "-fsdev\n"
                                  "local,id=fs0,path=" SHARE ",security_model=none",
                                  cases[i].driver, cases[i].suffix);
      test_assert_device_lines (vm, expected);
    }
}

static void
test_comma_escaping (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);

  test_add_device (vm, "fs", "fs0",
                   "path", "/srv/a,security_model=passthrough",
                   "mount-tag", "t,disable-modern=on",
                   "security-model", "none",
                   NULL);
  test_add_device (vm, "fs", "px0", "fs-driver", "proxy",
                   "socket", "/run/p,sock_fd=0", "mount-tag", "p", NULL);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-9p-pci,id=fs0,fsdev=fs0,mount_tag=t,,disable-modern=on\n"
                            "-fsdev\n"
                            "local,id=fs0,path=/srv/a,,security_model=passthrough,security_model=none\n"
                            "-device\n"
                            "virtio-9p-pci,id=px0,fsdev=px0,mount_tag=p\n"
                            "-fsdev\n"
                            "proxy,id=px0,socket=/run/p,,sock_fd=0");
}

static void
test_mount_tag_limit (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autofree char *tag = g_strnfill (31, 'x');
  g_autofree char *expected = NULL;
  QlDevice *dev;

  dev = test_add_device (vm, "fs", "fs0", "path", SHARE, "mount-tag", tag,
                         "security-model", "none", NULL);
  test_assert_valid (vm, dev);
  expected = g_strdup_printf ("-device\n"
                              "virtio-9p-pci,id=fs0,fsdev=fs0,mount_tag=%s\n"
                              "-fsdev\n"
                              "local,id=fs0,path=" SHARE ",security_model=none",
                              tag);
  test_assert_device_lines (vm, expected);
}

/* ---- rules ---- */

static void
test_rule_handle (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "fs", "fs0", "fs-driver", "handle",
                                   "path", SHARE, "mount-tag", "t",
                                   "security-model", "none", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_UNSUPPORTED, "fs-driver",
                       "'handle' was removed from QEMU in 6.0");
}

static void
test_rule_driver (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "fs", "fs0", "driver", "vhost-user-fs-pci",
                                   "path", SHARE, "mount-tag", "t",
                                   "security-model", "none", NULL);
  QlDevice *dev2 = test_add_device (vm2, "fs", "fs0", "driver", "",
                                    "path", SHARE, "mount-tag", "t",
                                    "security-model", "none", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "driver",
                       "'vhost-user-fs-pci' is not a supported driver: expected one of virtio-9p-pci, virtio-9p, virtio-9p-pci-transitional, virtio-9p-pci-non-transitional");
  test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_INVALID_VALUE, "driver",
                       "the value is empty");
}

static void
test_rule_mount_tag_missing (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "fs", "fs0", "path", SHARE,
                                   "security-model", "none", NULL);
  QlDevice *dev2 = test_add_device (vm2, "fs", "fs0", "path", SHARE,
                                    "mount-tag", "",
                                    "security-model", "none", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "mount-tag",
                       "no mount tag given");
  test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_MISSING, "mount-tag",
                       "no mount tag given");
}

static void
test_rule_mount_tag_too_long (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autofree char *tag = g_strnfill (32, 'x');
  QlDevice *dev = test_add_device (vm, "fs", "fs0", "path", SHARE,
                                   "mount-tag", tag,
                                   "security-model", "none", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "mount-tag",
                       "is 32 bytes long: QEMU 7.2 takes a mount tag of at most 31 bytes");
}

static void
test_rule_mount_tag_duplicate (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev0 = test_add_device (vm, "fs", "fs0", "path", "/srv/a",
                                    "mount-tag", "t",
                                    "security-model", "none", NULL);
  QlDevice *dev1 = test_add_device (vm, "fs", "fs1", "path", "/srv/b",
                                    "mount-tag", "t",
                                    "security-model", "none", NULL);

  /* The later share is at fault; the first one is fine. */
  test_assert_valid (vm, dev0);
  test_assert_invalid (vm, dev1, QL_CONFIG_ERROR_DUPLICATE, "mount-tag",
                       "'t' is the mount tag of device 'fs0' already");
}

static void
test_rule_path_missing (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "fs", "fs0", "mount-tag", "t",
                                   "security-model", "none", NULL);
  QlDevice *dev2 = test_add_device (vm2, "fs", "fs0", "path", "",
                                    "mount-tag", "t",
                                    "security-model", "none", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "path",
                       "no directory given");
  test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_MISSING, "path",
                       "no directory given");
}

static void
test_rule_security_model (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm3 = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "fs", "fs0", "path", SHARE,
                                   "mount-tag", "t", NULL);
  QlDevice *dev2 = test_add_device (vm2, "fs", "fs0", "path", SHARE,
                                    "mount-tag", "t",
                                    "security-model", "mapped", NULL);
  QlDevice *dev3 = test_add_device (vm3, "fs", "fs0", "path", SHARE,
                                    "mount-tag", "t",
                                    "security-model", "", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "security-model",
                       "no security model given, and QEMU requires one for fs-driver local");
  test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_INVALID_VALUE,
                       "security-model",
                       "'mapped' is not a security model: expected one of passthrough, mapped-xattr, mapped-file, none");
  test_assert_invalid (vm3, dev3, QL_CONFIG_ERROR_INVALID_VALUE,
                       "security-model", "the value is empty");
}

static void
test_rule_disable_modern (void)
{
  static const char * const drivers[] = {
    "virtio-9p-pci-transitional", "virtio-9p-pci-non-transitional",
  };

  for (guint i = 0; i < G_N_ELEMENTS (drivers); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      g_autofree char *fragment = g_strdup_printf ("not to '%s'", drivers[i]);
      QlDevice *dev = test_add_device (vm, "fs", "fs0", "driver", drivers[i],
                                       "path", SHARE, "mount-tag", "t",
                                       "security-model", "none",
                                       "disable-modern", "true", NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT,
                           "disable-modern", fragment);
    }
}

static void
test_rule_local_proxy_options (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "fs", "fs0", "path", SHARE,
                                   "mount-tag", "t", "security-model", "none",
                                   "socket", PROXY_SOCKET, NULL);
  QlDevice *dev2 = test_add_device (vm2, "fs", "fs0", "path", SHARE,
                                    "mount-tag", "t", "security-model", "none",
                                    "sock-fd", "5", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "socket",
                       "only applies to fs-driver proxy");
  test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_CONFLICT, "sock-fd",
                       "only applies to fs-driver proxy");
}

static void
test_rule_proxy_local_options (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "fs", "fs0", "fs-driver", "proxy",
                                   "socket", PROXY_SOCKET, "mount-tag", "t",
                                   "path", SHARE, NULL);
  QlDevice *dev2 = test_add_device (vm2, "fs", "fs0", "fs-driver", "proxy",
                                    "socket", PROXY_SOCKET, "mount-tag", "t",
                                    "security-model", "none", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "path",
                       "fs-driver proxy takes no path");
  test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_CONFLICT, "security-model",
                       "fs-driver proxy takes no security model");
}

static void
test_rule_proxy_socket (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm3 = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "fs", "fs0", "fs-driver", "proxy",
                                   "mount-tag", "t", NULL);
  QlDevice *dev2 = test_add_device (vm2, "fs", "fs0", "fs-driver", "proxy",
                                    "socket", PROXY_SOCKET, "sock-fd", "5",
                                    "mount-tag", "t", NULL);
  QlDevice *dev3 = test_add_device (vm3, "fs", "fs0", "fs-driver", "proxy",
                                    "socket", "", "mount-tag", "t", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "socket",
                       "fs-driver proxy needs virtfs-proxy-helper");
  test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_CONFLICT, "sock-fd",
                       "socket and sock-fd are both set");
  test_assert_invalid (vm3, dev3, QL_CONFIG_ERROR_INVALID_VALUE, "socket",
                       "the value is empty");
}

static void
test_rule_bus_addr (void)
{
  static const char * const properties[] = { "bus", "addr" };

  for (guint i = 0; i < G_N_ELEMENTS (properties); i++)
    {
      g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "fs", "fs0", "path", SHARE,
                                       "mount-tag", "t",
                                       "security-model", "none",
                                       properties[i], "", NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE,
                           properties[i], "the value is empty");
    }

  {
    g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
    QlDevice *dev = test_add_device (vm, "fs", "fs0", "path", SHARE,
                                     "mount-tag", "t",
                                     "security-model", "none",
                                     "addr", "20", NULL);

    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "addr",
                         "'20' is not a PCI address");
  }
}

static void
test_rule_bad_text (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "fs", "fs0", NULL);

  test_assert_bad_text (dev, "fs-driver", "virtiofs");
  test_assert_bad_text (dev, "sock-fd", "-2");
  test_assert_bad_text (dev, "sock-fd", "three");
  test_assert_bad_text (dev, "read-only", "maybe");
  test_assert_bad_text (dev, "disable-modern", "2");
}

/* ---- host checks ---- */

static void
test_host_path_missing (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "fs", "fs0", "path", SHARE,
                                   "mount-tag", "t", "security-model", "none",
                                   NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "path",
                       "cannot share '" SHARE "': No such file or directory: expected an existing directory");
}

static void
test_host_path_not_directory (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "fs", "fs0", "path", SHARE,
                                   "mount-tag", "t", "security-model", "none",
                                   NULL);

  /* A readable file: QEMU 7.2 "failed to open '...': Not a directory". */
  ql_fake_host_probe_set_file (probe, SHARE, G_FILE_TYPE_REGULAR, 10);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "path",
                       "cannot share '" SHARE "': Not a directory");
}

static void
test_host_path_directory (void)
{
  g_autoptr(QlHostProbe) probe = test_dir_probe_new (SHARE);
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "fs", "fs0", "path", SHARE,
                                   "mount-tag", "t", "security-model", "none",
                                   NULL);

  test_assert_valid (vm, dev);
  test_assert_device_lines (vm,
                            "-device\n"
                            "virtio-9p-pci,id=fs0,fsdev=fs0,mount_tag=t\n"
                            "-fsdev\n"
                            "local,id=fs0,path=" SHARE ",security_model=none");
}

static void
test_host_proxy_socket (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "fs", "px0", "fs-driver", "proxy",
                                   "socket", PROXY_SOCKET, "mount-tag", "t",
                                   NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "socket",
                       "no virtfs-proxy-helper socket at '" PROXY_SOCKET "': No such file or directory (start the helper before QEMU)");
  ql_fake_host_probe_set_file_readable (probe, PROXY_SOCKET, TRUE);
  test_assert_valid (vm, dev);
}

static void
test_host_proxy_sock_fd (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = test_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "fs", "px0", "fs-driver", "proxy",
                                   "sock-fd", "8", "mount-tag", "t", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "sock-fd",
                       "file descriptor '8' cannot be handed to QEMU");
  ql_fake_host_probe_set_fd_open (probe, 8, TRUE);
  test_assert_valid (vm, dev);
}

/* The directory check against the real host: a directory, a file, nothing. */
static void
test_host_real (void)
{
  g_autoptr(QlHostProbe) probe = ql_host_probe_new ();
  g_autofree char *tmpdir = ql_test_make_tmpdir ();
  g_autofree char *file = g_build_filename (tmpdir, "file", NULL);
  g_autofree char *missing = g_build_filename (tmpdir, "missing", NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (file, "x", 1, &error);
  g_assert_no_error (error);

  {
    g_autoptr(QlVmConfig) vm = test_vm_new (probe);
    QlDevice *dev = test_add_device (vm, "fs", "fs0", "path", tmpdir,
                                     "mount-tag", "t",
                                     "security-model", "none", NULL);

    test_assert_valid (vm, dev);
  }
  {
    g_autoptr(QlVmConfig) vm = test_vm_new (probe);
    QlDevice *dev = test_add_device (vm, "fs", "fs0", "path", file,
                                     "mount-tag", "t",
                                     "security-model", "none", NULL);

    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "path",
                         "Not a directory");
  }
  {
    g_autoptr(QlVmConfig) vm = test_vm_new (probe);
    QlDevice *dev = test_add_device (vm, "fs", "fs0", "path", missing,
                                     "mount-tag", "t",
                                     "security-model", "none", NULL);

    test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "path",
                         "No such file or directory");
  }

  ql_test_rm_rf (tmpdir);
}

static void
test_host_checks_off (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "fs", "fs0", "path", "/nonexistent",
                                   "mount-tag", "t", "security-model", "none",
                                   NULL);
  QlDevice *dev2 = test_add_device (vm, "fs", "px0", "fs-driver", "proxy",
                                    "sock-fd", "99", "mount-tag", "p", NULL);

  /* --no-host-checks: nothing is asked of the host. */
  test_assert_valid (vm, dev);
  test_assert_valid (vm, dev2);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  test_registry = ql_test_registry_new ();

  g_test_add_func ("/fs/output/defaults", test_defaults);
  g_test_add_func ("/fs/output/govmm", test_govmm);
  g_test_add_func ("/fs/output/security-models", test_security_models);
  g_test_add_func ("/fs/output/read-only", test_read_only);
  g_test_add_func ("/fs/output/proxy-socket", test_proxy_socket);
  g_test_add_func ("/fs/output/proxy-sock-fd", test_proxy_sock_fd);
  g_test_add_func ("/fs/output/bus-addr", test_bus_addr);
  g_test_add_func ("/fs/output/drivers", test_drivers);
  g_test_add_func ("/fs/output/comma-escaping", test_comma_escaping);
  g_test_add_func ("/fs/output/mount-tag-limit", test_mount_tag_limit);

  g_test_add_func ("/fs/rule/handle", test_rule_handle);
  g_test_add_func ("/fs/rule/driver", test_rule_driver);
  g_test_add_func ("/fs/rule/mount-tag-missing", test_rule_mount_tag_missing);
  g_test_add_func ("/fs/rule/mount-tag-too-long", test_rule_mount_tag_too_long);
  g_test_add_func ("/fs/rule/mount-tag-duplicate", test_rule_mount_tag_duplicate);
  g_test_add_func ("/fs/rule/path-missing", test_rule_path_missing);
  g_test_add_func ("/fs/rule/security-model", test_rule_security_model);
  g_test_add_func ("/fs/rule/disable-modern", test_rule_disable_modern);
  g_test_add_func ("/fs/rule/local-proxy-options", test_rule_local_proxy_options);
  g_test_add_func ("/fs/rule/proxy-local-options", test_rule_proxy_local_options);
  g_test_add_func ("/fs/rule/proxy-socket", test_rule_proxy_socket);
  g_test_add_func ("/fs/rule/bus-addr", test_rule_bus_addr);
  g_test_add_func ("/fs/rule/bad-text", test_rule_bad_text);

  g_test_add_func ("/fs/host/path-missing", test_host_path_missing);
  g_test_add_func ("/fs/host/path-not-directory", test_host_path_not_directory);
  g_test_add_func ("/fs/host/path-directory", test_host_path_directory);
  g_test_add_func ("/fs/host/proxy-socket", test_host_proxy_socket);
  g_test_add_func ("/fs/host/proxy-sock-fd", test_host_proxy_sock_fd);
  g_test_add_func ("/fs/host/real", test_host_real);
  g_test_add_func ("/fs/host/checks-off", test_host_checks_off);

  ret = g_test_run ();
  g_clear_object (&test_registry);
  return ret;
}
