/* qlaunch tests — the `virtio-fs` device and the helper declarations it
 * makes: every property, every rule, the shared guest RAM it asks for, the
 * host checks with a fake host, the hot-plug plan, and how virtiofsd is
 * found through QEMU's vhost-user descriptors. */
#include "ql-device-test.h"

#include <errno.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#define RUNTIME "/run/qlt"
#define FAKE_VIRTIOFSD "/usr/lib/qemu/virtiofsd"

static char *descriptor_dir;

/* A VM of 256 MiB with the test's runtime directory. */
static QlVmConfig *
vm_new (QlHostProbe *probe)
{
  QlVmConfig *vm = test_vm_new (probe);
  g_autoptr(GError) error = NULL;

  g_assert_true (ql_vm_config_set_from_string (vm, "memory-size", "256M", &error));
  g_assert_no_error (error);
  ql_vm_config_set_runtime_dir (vm, RUNTIME);
  return vm;
}

static QlCmdline *
build (QlVmConfig *vm)
{
  g_autoptr(GError) error = NULL;
  QlCmdline *cmdline = ql_vm_config_build_cmdline (vm, &error);

  g_assert_no_error (error);
  return cmdline;
}

static char *
argv_text (QlVmConfig *vm)
{
  g_autoptr(GError) error = NULL;
  char *text = ql_test_argv_string (vm, &error);

  g_assert_no_error (error);
  return text;
}

static char *
helper_argv_text (QlHelper *helper)
{
  g_auto(GStrv) argv = ql_helper_get_argv (helper);

  return g_strjoinv (" ", argv);
}

/* ---- output ---- */

static void
test_defaults (void)
{
  g_autoptr(QlVmConfig) vm = vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "virtio-fs", "fs0", NULL);
  g_autofree char *path = NULL, *tag = NULL, *binary = NULL, *bus = NULL, *addr = NULL;
  gint cache = -1, sandbox = -1, pool = 0;
  guint queue_size = 1;
  gboolean xattr = TRUE, read_only = TRUE;

  g_object_get (dev, "path", &path, "tag", &tag, "cache", &cache, "xattr", &xattr,
                "queue-size", &queue_size, "read-only", &read_only, "binary", &binary,
                "sandbox", &sandbox, "thread-pool-size", &pool, "bus", &bus, "addr", &addr, NULL);
  g_assert_null (path);
  g_assert_null (tag);
  g_assert_cmpint (cache, ==, 0);
  g_assert_false (xattr);
  g_assert_cmpuint (queue_size, ==, 0);
  g_assert_false (read_only);
  g_assert_null (binary);
  g_assert_cmpint (sandbox, ==, 0);
  g_assert_cmpint (pool, ==, -1);
  g_assert_null (bus);
  g_assert_null (addr);
}

static void
test_minimal (void)
{
  g_autoptr(QlVmConfig) vm = vm_new (NULL);
  g_autoptr(QlCmdline) cmdline = NULL;
  g_autofree char *text = NULL;
  g_autofree char *helper_text = NULL;
  QlHelper *helper;

  test_add_device (vm, "virtio-fs", "fs0", "path", "/srv/share", "tag", "share", NULL);
  text = argv_text (vm);
  /* Guest RAM becomes a shared memfd; the chardev is a client of the
   * helper's socket in the runtime directory. */
  g_assert_cmpstr (text, ==,
                   "-machine\n"
                   "memory-backend=dimm1\n"
                   "-m\n"
                   "256M\n"
                   "-chardev\n"
                   "socket,id=fs0-vfsd,path=" RUNTIME "/fs0.virtiofsd.sock\n"
                   "-device\n"
                   "vhost-user-fs-pci,id=fs0,chardev=fs0-vfsd,tag=share\n"
                   "-object\n"
                   "memory-backend-memfd,id=dimm1,size=268435456,share=on\n");

  cmdline = build (vm);
  g_assert_cmpuint (ql_cmdline_get_n_helpers (cmdline), ==, 1);
  helper = ql_cmdline_get_helper (cmdline, 0);
  g_assert_cmpstr (ql_helper_get_name (helper), ==, "virtiofsd");
  g_assert_cmpstr (ql_helper_get_device_id (helper), ==, "fs0");
  g_assert_cmpstr (ql_helper_get_socket (helper), ==, RUNTIME "/fs0.virtiofsd.sock");
  g_assert_cmpstr (ql_cmdline_get_runtime_dir (cmdline), ==, RUNTIME);
  g_assert_cmpstr (ql_cmdline_get_shared_memory_reason (cmdline), ==, "device 'fs0' (vhost-user-fs-pci)");
  helper_text = helper_argv_text (helper);
  /* Socket activation: descriptor 3 is the socket qlaunch makes. */
  g_assert_cmpstr (helper_text, ==,
                   FAKE_VIRTIOFSD " --fd=3 -o source=/srv/share -o cache=auto -o no_xattr");
  g_assert_cmpstr (ql_helper_get_listen_socket (helper, 3), ==, RUNTIME "/fs0.virtiofsd.sock");
  g_assert_null (ql_helper_get_listen_socket (helper, 4));
  g_assert_cmpuint (ql_helper_get_fds (helper)->len, ==, 1);
  g_assert_cmpint (g_array_index (ql_helper_get_fds (helper), int, 0), ==, -1);
  {
    g_auto(GStrv) ro = ql_helper_get_read_only_paths (helper);

    g_assert_cmpuint (g_strv_length (ro), ==, 0);
  }
}

static void
test_every_property (void)
{
  g_autoptr(QlVmConfig) vm = vm_new (NULL);
  g_autoptr(QlCmdline) cmdline = NULL;
  g_autofree char *text = NULL;
  g_autofree char *helper_text = NULL;
  g_auto(GStrv) ro = NULL;
  QlHelper *helper;

  test_add_device (vm, "virtio-fs", "fs1", "path", "/srv/a,b\\c", "tag", "t", "cache", "always",
                   "xattr", "true", "queue-size", "1024", "read-only", "true",
                   "binary", "/opt/vfsd/virtiofsd", "sandbox", "chroot", "thread-pool-size", "0",
                   "bus", "pcie.0", "addr", "1f.2", NULL);
  text = argv_text (vm);
  g_assert_nonnull (strstr (text, "-device\nvhost-user-fs-pci,id=fs1,chardev=fs1-vfsd,tag=t,queue-size=1024,bus=pcie.0,addr=1f.2\n"));
  cmdline = build (vm);
  helper = ql_cmdline_get_helper (cmdline, 0);
  helper_text = helper_argv_text (helper);
  /* libfuse's option list: ',' and '\' are escaped with '\'. */
  g_assert_cmpstr (helper_text, ==,
                   "/opt/vfsd/virtiofsd --fd=3 "
                   "-o source=/srv/a\\,b\\\\c -o cache=always -o xattr -o sandbox=chroot --thread-pool-size=0");
  ro = ql_helper_get_read_only_paths (helper);
  g_assert_cmpuint (g_strv_length (ro), ==, 1);
  g_assert_cmpstr (ro[0], ==, "/srv/a,b\\c");
}

static void
test_cache_none (void)
{
  g_autoptr(QlVmConfig) vm = vm_new (NULL);
  g_autoptr(QlCmdline) cmdline = NULL;
  g_autofree char *helper_text = NULL;

  test_add_device (vm, "virtio-fs", "fs0", "path", "/srv", "tag", "t", "cache", "none", NULL);
  cmdline = build (vm);
  helper_text = helper_argv_text (ql_cmdline_get_helper (cmdline, 0));
  g_assert_nonnull (strstr (helper_text, " -o cache=none "));
}

/* Two shares: two helpers, in device order, one memory backend. */
static void
test_two_shares (void)
{
  g_autoptr(QlVmConfig) vm = vm_new (NULL);
  g_autoptr(QlCmdline) cmdline = NULL;
  g_autofree char *text = NULL;

  test_add_device (vm, "virtio-fs", "a", "path", "/srv/a", "tag", "a", NULL);
  test_add_device (vm, "virtio-fs", "b", "path", "/srv/b", "tag", "b", NULL);
  cmdline = build (vm);
  g_assert_cmpuint (ql_cmdline_get_n_helpers (cmdline), ==, 2);
  g_assert_cmpstr (ql_helper_get_device_id (ql_cmdline_get_helper (cmdline, 0)), ==, "a");
  g_assert_cmpstr (ql_helper_get_device_id (ql_cmdline_get_helper (cmdline, 1)), ==, "b");
  text = argv_text (vm);
  g_assert_nonnull (strstr (text, "memory-backend-memfd"));
  g_assert_null (strstr (strstr (text, "memory-backend-memfd") + 1, "memory-backend-memfd"));
}

/* The memory knobs that give shared RAM are kept; mem-prealloc becomes a
 * shared memfd. */
static void
test_memory_knobs (void)
{
  static const struct { const char *key; const char *value; const char *expected; } cases[] = {
    { "knobs-hugepages", "true", "memory-backend-file,id=dimm1,size=268435456,mem-path=/dev/hugepages,share=on,prealloc=on" },
    { "knobs-mem-prealloc", "true", "memory-backend-memfd,id=dimm1,size=268435456,prealloc=on,share=on" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = vm_new (NULL);
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;

      g_assert_true (ql_vm_config_set_from_string (vm, cases[i].key, cases[i].value, &error));
      test_add_device (vm, "virtio-fs", "fs0", "path", "/srv", "tag", "t", NULL);
      text = argv_text (vm);
      if (strstr (text, cases[i].expected) == NULL)
        g_error ("%s: no '%s' in:\n%s", cases[i].key, cases[i].expected, text);
    }

  {
    g_autoptr(QlVmConfig) vm = vm_new (NULL);
    g_autoptr(GError) error = NULL;
    g_autofree char *text = NULL;

    g_assert_true (ql_vm_config_set_from_string (vm, "knobs-file-backed-mem", "true", &error));
    g_assert_true (ql_vm_config_set_from_string (vm, "knobs-file-backed-mem-shared", "true", &error));
    g_assert_true (ql_vm_config_set_from_string (vm, "memory-path", "/dev/shm", &error));
    test_add_device (vm, "virtio-fs", "fs0", "path", "/srv", "tag", "t", NULL);
    text = argv_text (vm);
    g_assert_nonnull (strstr (text, "memory-backend-file,id=dimm1,size=268435456,mem-path=/dev/shm,share=on"));
  }
}

/* ---- rules ---- */

static void
test_rule_missing (void)
{
  g_autoptr(QlVmConfig) vm = vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "virtio-fs", "fs0", "tag", "t", NULL);
  QlDevice *dev2 = test_add_device (vm2, "virtio-fs", "fs0", "path", "/srv", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "path", "no directory given");
  test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_MISSING, "tag", "mount -t virtiofs");

  /* A device made without an id (a spec without one): its chardev and
   * socket are named after it. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(QlVmConfig) vm3 = vm_new (NULL);
    g_autoptr(QlDevice) anon = ql_registry_create_device (test_registry, "virtio-fs", NULL, &error);

    g_assert_no_error (error);
    g_assert_true (ql_device_set_property_from_string (anon, "path", "/srv", &error));
    g_assert_true (ql_device_set_property_from_string (anon, "tag", "t", &error));
    g_assert_false (ql_device_valid (anon, vm3, &error));
    g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MISSING);
    g_assert_nonnull (strstr (error->message, "property 'id'"));
  }
}

static void
test_rule_tag (void)
{
  g_autoptr(QlVmConfig) vm = vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = vm_new (NULL);
  g_autoptr(QlVmConfig) vm3 = vm_new (NULL);
  g_autofree char *tag36 = g_strnfill (36, 'x');
  g_autofree char *tag37 = g_strnfill (37, 'x');
  QlDevice *dev;

  dev = test_add_device (vm, "virtio-fs", "fs0", "path", "/srv", "tag", tag36, NULL);
  test_assert_valid (vm, dev);
  dev = test_add_device (vm2, "virtio-fs", "fs0", "path", "/srv", "tag", tag37, NULL);
  test_assert_invalid (vm2, dev, QL_CONFIG_ERROR_INVALID_VALUE, "tag", "37 bytes long");
  test_add_device (vm3, "virtio-fs", "fs0", "path", "/srv", "tag", "same", NULL);
  dev = test_add_device (vm3, "virtio-fs", "fs1", "path", "/srv2", "tag", "same", NULL);
  test_assert_invalid (vm3, dev, QL_CONFIG_ERROR_DUPLICATE, "tag", "device 'fs0'");
}

static void
test_rule_queue_size (void)
{
  static const char * const bad[] = { "100", "3", "2048" };
  static const char * const good[] = { "1", "64", "1024" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(QlVmConfig) vm = vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "virtio-fs", "fs0", "path", "/srv", "tag", "t", NULL);
      g_autoptr(GError) error = NULL;

      if (!ql_device_set_property_from_string (dev, "queue-size", bad[i], &error))
        {
          /* Out of the property's range: refused by the property layer. */
          g_assert_nonnull (strstr (error->message, "queue-size"));
          continue;
        }
      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "queue-size", "power of two");
    }
  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(QlVmConfig) vm = vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "virtio-fs", "fs0", "path", "/srv", "tag", "t",
                                       "queue-size", good[i], NULL);

      test_assert_valid (vm, dev);
    }
}

static void
test_rule_bad_values (void)
{
  g_autoptr(QlVmConfig) vm = vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = vm_new (NULL);
  g_autoptr(QlVmConfig) vm3 = vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "virtio-fs", "fs0", "path", "/srv", "tag", "t", NULL);
  QlDevice *dev2;
  QlDevice *dev3;

  test_assert_bad_text (dev, "cache", "sometimes");
  test_assert_bad_text (dev, "sandbox", "jail");
  test_assert_bad_text (dev, "xattr", "maybe");
  test_assert_bad_text (dev, "thread-pool-size", "-2");
  test_assert_bad_text (dev, "queue-size", "big");

  dev = test_add_device (vm2, "virtio-fs", "fs0", "path", "/srv", "tag", "t", "addr", "zz", NULL);
  test_assert_invalid (vm2, dev, QL_CONFIG_ERROR_INVALID_VALUE, "addr", "not a PCI address");
  dev2 = test_add_device (vm3, "virtio-fs", "fs0", "path", "/srv", "tag", "t", "bus", "", NULL);
  test_assert_invalid (vm3, dev2, QL_CONFIG_ERROR_INVALID_VALUE, "bus", NULL);

  {
    g_autoptr(QlVmConfig) vm4 = vm_new (NULL);
    g_autoptr(GError) error = NULL;

    /* A relative binary set through the API (a VM file makes it absolute). */
    dev3 = test_add_device (vm4, "virtio-fs", "fs0", "path", "/srv", "tag", "t", NULL);
    g_object_set (dev3, "binary", "virtiofsd", NULL);
    test_assert_invalid (vm4, dev3, QL_CONFIG_ERROR_INVALID_VALUE, "binary", "not an absolute path");
  }
}

static void
test_rule_private_memory (void)
{
  g_autoptr(QlVmConfig) vm = vm_new (NULL);
  g_autoptr(GError) error = NULL;
  QlDevice *dev;

  g_assert_true (ql_vm_config_set_from_string (vm, "knobs-file-backed-mem", "true", &error));
  g_assert_true (ql_vm_config_set_from_string (vm, "memory-path", "/dev/shm", &error));
  dev = test_add_device (vm, "virtio-fs", "fs0", "path", "/srv", "tag", "t", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "path", "[memory]");
}

/* Without [memory] size the core cannot size the shared backend: caught
 * by validation, so that what validates builds. */
static void
test_rule_memory_size (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = test_vm_new (NULL);
  g_autoptr(GError) error = NULL;
  QlDevice *dev;

  ql_vm_config_set_runtime_dir (vm, RUNTIME);
  dev = test_add_device (vm, "virtio-fs", "fs0", "path", "/srv", "tag", "t", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "path", "[memory]: size");

  /* Hugepages give a shared backend of QEMU's default size: no size
   * needed. */
  g_assert_true (ql_vm_config_set_from_string (vm2, "knobs-hugepages", "true", &error));
  ql_vm_config_set_runtime_dir (vm2, RUNTIME);
  dev = test_add_device (vm2, "virtio-fs", "fs0", "path", "/srv", "tag", "t", NULL);
  test_assert_valid (vm2, dev);
}

/* A runtime directory so long that the socket path does not fit in a
 * unix socket address: refused at validation, naming the id; a long id
 * under a short directory is shortened, and fits. */
static void
test_rule_socket_path_length (void)
{
  g_autoptr(QlVmConfig) vm = vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = vm_new (NULL);
  g_autoptr(QlCmdline) cmdline = NULL;
  g_autofree char *name = g_strnfill (90, 'd');
  g_autofree char *dir = g_strconcat ("/", name, NULL);
  g_autofree char *long_id = g_strnfill (100, 'i');
  const char *socket;
  QlDevice *dev;

  ql_vm_config_set_runtime_dir (vm, dir);
  dev = test_add_device (vm, "virtio-fs", "fs0", "path", "/srv", "tag", "t", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "id", "at most 107");

  test_add_device (vm2, "virtio-fs", long_id, "path", "/srv", "tag", "t", NULL);
  cmdline = build (vm2);
  socket = ql_helper_get_socket (ql_cmdline_get_helper (cmdline, 0));
  g_assert_cmpuint (strlen (socket), <=, QL_HELPER_SOCKET_PATH_MAX);
  g_assert_true (g_str_has_prefix (socket, RUNTIME "/iiiiiiiiiiiiiiiiiiiiiii-"));
  g_assert_true (g_str_has_suffix (socket, ".virtiofsd.sock"));
}

static void
test_rule_relative_path (void)
{
  g_autoptr(QlVmConfig) vm = vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "virtio-fs", "fs0", "tag", "t", NULL);

  /* Through the API (a VM file makes it absolute). */
  g_object_set (dev, "path", "relative/dir", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "path", "not an absolute path");
}

/* ---- host checks ---- */

static void
test_host_directory (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = vm_new (probe);
  g_autoptr(QlVmConfig) vm2 = vm_new (probe);
  g_autoptr(QlVmConfig) vm3 = vm_new (probe);
  QlDevice *dev;

  ql_fake_host_probe_set_file (probe, "/srv/dir", G_FILE_TYPE_DIRECTORY, 0);
  ql_fake_host_probe_set_file (probe, "/srv/file", G_FILE_TYPE_REGULAR, 10);
  dev = test_add_device (vm, "virtio-fs", "fs0", "path", "/srv/dir", "tag", "t", NULL);
  test_assert_valid (vm, dev);
  dev = test_add_device (vm2, "virtio-fs", "fs0", "path", "/srv/file", "tag", "t", NULL);
  test_assert_invalid (vm2, dev, QL_CONFIG_ERROR_HOST, "path", "not a directory");
  dev = test_add_device (vm3, "virtio-fs", "fs0", "path", "/srv/none", "tag", "t", NULL);
  test_assert_invalid (vm3, dev, QL_CONFIG_ERROR_HOST, "path", "expected an existing directory");
}

static void
test_host_no_virtiofsd (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = vm_new (probe);
  g_autofree char *empty = ql_test_make_tmpdir ();
  QlDevice *dev;

  ql_fake_host_probe_set_file (probe, "/srv", G_FILE_TYPE_DIRECTORY, 0);
  g_setenv ("QLAUNCH_VHOST_USER_DIRS", empty, TRUE);
  dev = test_add_device (vm, "virtio-fs", "fs0", "path", "/srv", "tag", "t", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "binary", "no virtiofsd found");
  /* Without host checks (a command line for another host) it still
   * builds: the program is then looked for in PATH. */
  {
    g_autoptr(QlVmConfig) other = vm_new (NULL);
    g_autoptr(QlCmdline) cmdline = NULL;
    const char *binary;

    test_add_device (other, "virtio-fs", "fs0", "path", "/srv", "tag", "t", NULL);
    cmdline = build (other);
    binary = ql_helper_get_binary (ql_cmdline_get_helper (cmdline, 0));
    g_assert_true (g_str_equal (binary, "virtiofsd") || g_str_has_suffix (binary, "/virtiofsd"));
  }
  g_setenv ("QLAUNCH_VHOST_USER_DIRS", descriptor_dir, TRUE);
  ql_test_rm_rf (empty);
}

/* The core checks every helper program before anything runs. */
static void
test_host_untrusted_binary (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = vm_new (probe);
  g_autoptr(QlVmConfig) vm2 = vm_new (probe);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlCmdline) cmdline = NULL;
  g_autofree char *dir = ql_test_make_tmpdir ();
  g_autofree char *program = g_build_filename (dir, "virtiofsd", NULL);

  ql_fake_host_probe_set_file (probe, "/srv", G_FILE_TYPE_DIRECTORY, 0);
  test_add_device (vm, "virtio-fs", "fs0", "path", "/srv", "tag", "t", "binary", "/nonexistent/virtiofsd", NULL);
  cmdline = ql_vm_config_build_cmdline (vm, &error);
  g_assert_null (cmdline);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "device 'fs0': helper virtiofsd: '/nonexistent/virtiofsd' cannot be run"));
  g_clear_error (&error);

  /* Group-writable: another user could replace it. */
  g_assert_true (g_file_set_contents (program, "#!/bin/sh\n", -1, NULL));
  g_assert_cmpint (g_chmod (program, 0775), ==, 0);
  test_add_device (vm2, "virtio-fs", "fs0", "path", "/srv", "tag", "t", "binary", program, NULL);
  cmdline = ql_vm_config_build_cmdline (vm2, &error);
  g_assert_null (cmdline);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "can be changed by another user"));
  ql_test_rm_rf (dir);
}

/* ---- hot-plug ---- */

static void
test_hotplug_plan (void)
{
  g_autoptr(QlVmConfig) vm = vm_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) plan = NULL;
  g_autoptr(QlDevice) dev = ql_registry_create_device (test_registry, "virtio-fs", "hot0", &error);
  JsonObject *step;
  JsonObject *data;

  g_assert_true (ql_device_set_property_from_string (dev, "path", "/srv/hot", &error));
  g_assert_true (ql_device_set_property_from_string (dev, "tag", "hot", &error));
  plan = ql_hotplug_plan (dev, vm, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (plan), ==, 3);

  step = json_array_get_object_element (plan, 0);
  g_assert_cmpstr (json_object_get_string_member (step, "helper"), ==, "virtiofsd");
  g_assert_cmpstr (json_object_get_string_member (step, "device"), ==, "hot0");
  g_assert_true (g_str_has_suffix (json_object_get_string_member (step, "socket"), "/hot0.hotplug/hot0.virtiofsd.sock"));

  step = json_array_get_object_element (plan, 1);
  g_assert_cmpstr (json_object_get_string_member (step, "execute"), ==, "chardev-add");
  data = json_object_get_object_member (json_object_get_object_member (json_object_get_object_member (step, "arguments"),
                                                                       "backend"), "data");
  /* A client: QMP's ChardevSocket is a server unless told. */
  g_assert_true (json_object_has_member (data, "server"));
  g_assert_false (json_object_get_boolean_member (data, "server"));

  step = json_array_get_object_element (plan, 2);
  g_assert_cmpstr (json_object_get_string_member (step, "execute"), ==, "device_add");

  /* Without the VM's configuration (qlaunch hotplug without --vm): the
   * running VM's RAM is what it is, no [memory] size is asked for. */
  {
    g_autoptr(QlVmConfig) empty = test_vm_new (NULL);
    g_autoptr(JsonArray) plan2 = ql_hotplug_plan (dev, empty, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (json_array_get_length (plan2), >=, 3);
  }
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (step, "arguments"), "driver"),
                   ==, "vhost-user-fs-pci");
}

/* ---- finding virtiofsd ---- */

static char *
write_descriptor (const char *dir,
                  const char *name,
                  const char *text,
                  mode_t      mode)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
  return g_steal_pointer (&path);
}

static void
test_find_descriptors (void)
{
  g_autofree char *top = ql_test_make_tmpdir ();
  g_autofree char *low = g_build_filename (top, "share", NULL);
  g_autofree char *high = g_build_filename (top, "etc", NULL);
  g_autofree char *dirs = g_strdup_printf ("%s:%s", low, high);
  g_autoptr(GError) error = NULL;
  g_autofree char *found = NULL;

  g_free (write_descriptor (low, "50-vfsd.json", "{\"type\":\"fs\",\"binary\":\"/low/virtiofsd\"}", 0644));
  g_free (write_descriptor (low, "60-gpu.json", "{\"type\":\"gpu\",\"binary\":\"/low/gpu\"}", 0644));
  g_setenv ("QLAUNCH_VHOST_USER_DIRS", dirs, TRUE);

  found = ql_helper_find_vhost_user_binary ("fs", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (found, ==, "/low/virtiofsd");
  g_clear_pointer (&found, g_free);

  /* A file of the same name in a later directory wins. */
  g_free (write_descriptor (high, "50-vfsd.json", "{\"type\":\"fs\",\"binary\":\"/high/virtiofsd\"}", 0644));
  found = ql_helper_find_vhost_user_binary ("fs", &error);
  g_assert_cmpstr (found, ==, "/high/virtiofsd");
  g_clear_pointer (&found, g_free);

  /* Names sort: 40- comes first. */
  g_free (write_descriptor (low, "40-other.json", "{\"type\":\"fs\",\"binary\":\"/low/other\"}", 0644));
  found = ql_helper_find_vhost_user_binary ("fs", &error);
  g_assert_cmpstr (found, ==, "/low/other");
  g_clear_pointer (&found, g_free);

  /* An empty file hides the lower one of its name. */
  g_free (write_descriptor (high, "40-other.json", "", 0644));
  found = ql_helper_find_vhost_user_binary ("fs", &error);
  g_assert_cmpstr (found, ==, "/high/virtiofsd");
  g_clear_pointer (&found, g_free);

  /* No backend of a type: an error naming the directories. */
  found = ql_helper_find_vhost_user_binary ("input", &error);
  g_assert_null (found);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "'input'"));
  g_assert_nonnull (strstr (error->message, low));
  g_clear_error (&error);

  /* A descriptor another user could change is refused. */
  g_free (write_descriptor (high, "30-evil.json", "{\"type\":\"fs\",\"binary\":\"/tmp/evil\"}", 0666));
  g_assert_cmpint (g_chmod (high, 0755), ==, 0);
  {
    g_autofree char *evil = g_build_filename (high, "30-evil.json", NULL);

    g_assert_cmpint (g_chmod (evil, 0666), ==, 0);
  }
  found = ql_helper_find_vhost_user_binary ("fs", &error);
  g_assert_null (found);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST);
  g_assert_nonnull (strstr (error->message, "another user can change it"));
  g_clear_error (&error);

  /* Not JSON: an error naming the file. */
  {
    g_autofree char *evil = g_build_filename (high, "30-evil.json", NULL);

    g_unlink (evil);
  }
  g_free (write_descriptor (high, "20-broken.json", "{type: fs", 0644));
  found = ql_helper_find_vhost_user_binary ("fs", &error);
  g_assert_null (found);
  g_assert_nonnull (error);
  g_clear_error (&error);

  g_setenv ("QLAUNCH_VHOST_USER_DIRS", descriptor_dir, TRUE);
  ql_test_rm_rf (top);
}

/* ---- the helper description API ---- */

static void
test_helper_api (void)
{
  g_autoptr(QlCmdline) cmdline = ql_cmdline_new ("qemu");
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_auto(GStrv) argv = NULL;
  g_auto(GStrv) env = NULL;
  QlHelper *helper;

  /* No runtime directory: a path in it fails the build. */
  path = ql_cmdline_build_runtime_path (cmdline, "x.sock");
  g_assert_false (ql_cmdline_check (cmdline, &error));
  g_assert_nonnull (strstr (error->message, "needs a runtime directory"));
  g_clear_error (&error);
  g_clear_object (&cmdline);
  g_clear_pointer (&path, g_free);

  cmdline = ql_cmdline_new ("qemu");
  ql_cmdline_set_runtime_dir (cmdline, "/run/x");
  path = ql_cmdline_build_runtime_path (cmdline, "a.sock");
  g_assert_cmpstr (path, ==, "/run/x/a.sock");
  helper = ql_cmdline_add_helper (cmdline, "h1", "/bin/true");
  ql_helper_add_args (helper, "--one", "two words", NULL);
  ql_helper_add_arg_printf (helper, "--n=%d", 3);
  ql_helper_set_env (helper, "A", "1");
  ql_helper_set_env (helper, "A", "2");
  ql_helper_set_socket (helper, path);
  g_assert_cmpint (ql_helper_add_fd (helper, 9), ==, 3);
  g_assert_cmpint (ql_helper_add_fd (helper, 7), ==, 4);
  ql_helper_set_ready_timeout (helper, 1234);
  g_assert_true (ql_cmdline_check (cmdline, &error));
  argv = ql_helper_get_argv (helper);
  env = ql_helper_get_environ (helper);
  g_assert_cmpuint (g_strv_length (argv), ==, 4);
  g_assert_cmpstr (argv[2], ==, "two words");
  g_assert_cmpuint (g_strv_length (env), ==, 1);
  g_assert_cmpstr (env[0], ==, "A=2");
  g_assert_cmpuint (ql_helper_get_fds (helper)->len, ==, 2);
  g_assert_cmpuint (ql_helper_get_ready_timeout (helper), ==, 1234);
  g_assert_null (ql_helper_get_device_id (helper));

  /* A name in PATH is resolved. */
  helper = ql_cmdline_add_helper (cmdline, "h2", "true");
  g_assert_true (g_path_is_absolute (ql_helper_get_binary (helper)));
  g_assert_true (ql_cmdline_check (cmdline, &error));

  /* Bad values make the build fail, naming the helper. */
  {
    static const char *const cases[][2] = {
      { "socket", "relative.sock" }, { "env", "BAD NAME" }, { "arg", "line\nbreak" }, { "name", "Bad Name" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autoptr(QlCmdline) bad = ql_cmdline_new ("qemu");
        QlHelper *h = ql_cmdline_add_helper (bad, g_str_equal (cases[i][0], "name") ? cases[i][1] : "h", "/bin/true");

        if (g_str_equal (cases[i][0], "socket"))
          ql_helper_set_socket (h, cases[i][1]);
        else if (g_str_equal (cases[i][0], "env"))
          ql_helper_set_env (h, cases[i][1], "x");
        else if (g_str_equal (cases[i][0], "arg"))
          ql_helper_add_arg (h, cases[i][1]);
        g_assert_false (ql_cmdline_check (bad, &error));
        g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE);
        g_clear_error (&error);
      }
  }
}

/* ---- qlaunch args ---- */

static void
test_cli_args (void)
{
  g_autofree char *dir = ql_test_make_tmpdir ();
  g_autofree char *vm_file = g_build_filename (dir, "fs.vm", NULL);
  g_autofree char *runtime = g_build_filename (dir, "rt", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *sock = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  const char *plugin_dir = g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR");
  JsonObject *root;
  JsonObject *helper;
  int status;

  g_assert_true (g_file_set_contents (vm_file,
                                      "[vm]\nname=fsvm\n[memory]\nsize=256M\n"
                                      "[device fs0]\ntype=virtio-fs\npath=/srv/share\ntag=t\n", -1, NULL));
  sock = g_build_filename (runtime, "fs0.virtiofsd.sock", NULL);

  /* JSON: an object with QEMU's argv and the helper, so that a program
   * that only knows the array cannot start QEMU without virtiofsd. */
  {
    const char *args[] = { "--plugin-dir", plugin_dir, "args", "--no-host-checks", "--format", "json",
                           "--runtime-dir", runtime, vm_file, NULL };

    status = ql_test_run_cli (args, &out, &err);
  }
  g_assert_cmpint (status, ==, 0);
  g_assert_nonnull (strstr (err, "note: guest RAM is memory-backend-memfd with share=on: device 'fs0'"));
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (root, "runtime-dir"), ==, runtime);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (root, "qemu"), 0), ==,
                   "qemu-system-x86_64");
  helper = json_array_get_object_element (json_object_get_array_member (root, "helpers"), 0);
  g_assert_cmpstr (json_object_get_string_member (helper, "device"), ==, "fs0");
  g_assert_cmpstr (json_object_get_string_member (helper, "name"), ==, "virtiofsd");
  g_assert_cmpstr (json_object_get_string_member (helper, "socket"), ==, sock);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (helper, "argv"), 0), ==,
                   FAKE_VIRTIOFSD);
  {
    JsonArray *listen = json_object_get_array_member (helper, "listen-sockets");
    JsonObject *first = json_array_get_object_element (listen, 0);

    g_assert_cmpuint (json_array_get_length (listen), ==, 1);
    g_assert_cmpint (json_object_get_int_member (first, "fd"), ==, 3);
    g_assert_cmpstr (json_object_get_string_member (first, "path"), ==, sock);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (helper, "fds")), ==, 0);
  }
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Shell: the runtime directory, then the helper in the background, then
   * QEMU. */
  {
    const char *args[] = { "--plugin-dir", plugin_dir, "args", "--no-host-checks",
                           "--runtime-dir", runtime, vm_file, NULL };
    g_auto(GStrv) lines = NULL;

    status = ql_test_run_cli (args, &out, &err);
    g_assert_cmpint (status, ==, 0);
    lines = g_strsplit (out, "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, 6);
    g_assert_true (g_str_has_prefix (lines[0], "# helper processes"));
    g_assert_true (g_str_has_prefix (lines[1], "mkdir -p -m 0700 "));
    g_assert_true (g_str_has_prefix (lines[2], "# device 'fs0': virtiofsd, listens on "));
    /* Its descriptor 3 is a listening socket: systemd-socket-activate
     * makes one by hand. */
    g_assert_true (g_str_has_prefix (lines[3], "systemd-socket-activate -l "));
    g_assert_nonnull (strstr (lines[3], " " FAKE_VIRTIOFSD " --fd=3 "));
    g_assert_true (g_str_has_suffix (lines[3], " &"));
    g_assert_true (g_str_has_prefix (lines[4], "qemu-system-x86_64 "));
  }
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Lines: QEMU's argv only, and a note per helper. */
  {
    const char *args[] = { "--plugin-dir", plugin_dir, "args", "--no-host-checks", "--format", "lines",
                           vm_file, NULL };

    status = ql_test_run_cli (args, &out, &err);
    g_assert_cmpint (status, ==, 0);
    g_assert_true (g_str_has_prefix (out, "qemu-system-x86_64\n"));
    g_assert_nonnull (strstr (err, "note: device 'fs0' needs its helper virtiofsd running before QEMU starts"));
  }
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* An empty --runtime-dir is refused. */
  {
    const char *args[] = { "--plugin-dir", plugin_dir, "args", "--no-host-checks", "--runtime-dir", "",
                           vm_file, NULL };

    status = ql_test_run_cli (args, &out, &err);
    g_assert_cmpint (status, !=, 0);
    g_assert_nonnull (strstr (err, "--runtime-dir"));
  }
  ql_test_rm_rf (dir);
}

int
main (int   argc,
      char *argv[])
{
  int ret;
  g_autofree char *top = NULL;

  g_test_init (&argc, &argv, NULL);
  (void) test_device_lines;   /* shared helper this test does not need */
  /* virtiofsd is found through a descriptor of the test's own. */
  top = ql_test_make_tmpdir ();
  descriptor_dir = g_build_filename (top, "vhost-user", NULL);
  g_free (write_descriptor (descriptor_dir, "50-test.json",
                            "{\"description\":\"test\",\"type\":\"fs\",\"binary\":\"" FAKE_VIRTIOFSD "\"}", 0644));
  g_setenv ("QLAUNCH_VHOST_USER_DIRS", descriptor_dir, TRUE);

  test_registry = ql_test_registry_new ();

  g_test_add_func ("/virtio-fs/output/defaults", test_defaults);
  g_test_add_func ("/virtio-fs/output/minimal", test_minimal);
  g_test_add_func ("/virtio-fs/output/every-property", test_every_property);
  g_test_add_func ("/virtio-fs/output/cache-none", test_cache_none);
  g_test_add_func ("/virtio-fs/output/two-shares", test_two_shares);
  g_test_add_func ("/virtio-fs/output/memory-knobs", test_memory_knobs);
  g_test_add_func ("/virtio-fs/rule/missing", test_rule_missing);
  g_test_add_func ("/virtio-fs/rule/tag", test_rule_tag);
  g_test_add_func ("/virtio-fs/rule/queue-size", test_rule_queue_size);
  g_test_add_func ("/virtio-fs/rule/bad-values", test_rule_bad_values);
  g_test_add_func ("/virtio-fs/rule/private-memory", test_rule_private_memory);
  g_test_add_func ("/virtio-fs/rule/memory-size", test_rule_memory_size);
  g_test_add_func ("/virtio-fs/rule/socket-path-length", test_rule_socket_path_length);
  g_test_add_func ("/virtio-fs/rule/relative-path", test_rule_relative_path);
  g_test_add_func ("/virtio-fs/host/directory", test_host_directory);
  g_test_add_func ("/virtio-fs/host/no-virtiofsd", test_host_no_virtiofsd);
  g_test_add_func ("/virtio-fs/host/untrusted-binary", test_host_untrusted_binary);
  g_test_add_func ("/virtio-fs/hotplug/plan", test_hotplug_plan);
  g_test_add_func ("/virtio-fs/find/descriptors", test_find_descriptors);
  g_test_add_func ("/virtio-fs/helper/api", test_helper_api);
  g_test_add_func ("/virtio-fs/cli/args", test_cli_args);

  ret = g_test_run ();
  g_clear_object (&test_registry);
  ql_test_rm_rf (top);
  g_free (descriptor_dir);
  return ret;
}
