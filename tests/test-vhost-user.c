/* qlaunch tests — the `vhost-user` device: every rule, every output form,
 * the host check with a fake host. */
#include "ql-device-test.h"

/* Every vhost-user device needs shared guest RAM, so its argv is compared
 * whole (assert_shared_vm_lines), not against a VM without memory knobs. */
static char *test_device_lines (QlVmConfig *vm) G_GNUC_UNUSED;

#define SOCK "/run/vhu/backend.sock"

/* A VM whose guest RAM is shared with the backends (file-backed-mem +
 * file-backed-mem-shared), as every vhost-user device needs. */
static QlVmConfig *
shared_vm_new (QlHostProbe *probe)
{
  g_autoptr(GError) error = NULL;
  QlVmConfig *vm = test_vm_new (probe);

  ql_vm_config_set_from_string (vm, "memory-size", "256M", &error);
  g_assert_no_error (error);
  ql_vm_config_set_from_string (vm, "memory-path", "/dev/shm/ql-guest", &error);
  g_assert_no_error (error);
  ql_vm_config_set_from_string (vm, "knobs-file-backed-mem", "true", &error);
  g_assert_no_error (error);
  ql_vm_config_set_from_string (vm, "knobs-file-backed-mem-shared", "true", &error);
  g_assert_no_error (error);
  return vm;
}

/* The whole argv of a shared_vm_new() VM: the memory options around the
 * devices' lines. */
static void
assert_shared_vm_lines (QlVmConfig *vm,
                        const char *device_lines)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = ql_test_argv_string (vm, &error);
  g_autofree char *expected = NULL;

  g_assert_no_error (error);
  expected = g_strconcat ("-machine\n"
                          "memory-backend=dimm1\n"
                          "-m\n"
                          "256M\n",
                          device_lines, "\n",
                          "-object\n"
                          "memory-backend-file,id=dimm1,size=268435456,mem-path=/dev/shm/ql-guest,share=on\n",
                          NULL);
  g_assert_cmpstr (text, ==, expected);
}

/* A fake host where @socket (if not NULL) exists. */
static QlHostProbe *
fake_host_new (const char *socket)
{
  QlHostProbe *probe = ql_fake_host_probe_new ();

  if (socket != NULL)
    ql_fake_host_probe_set_file_readable (probe, socket, TRUE);
  return probe;
}

/* ---- output ---- */

static void
test_defaults (void)
{
  g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vhost-user", "vhu0", NULL);
  g_autofree char *socket_path = NULL;
  g_autofree char *char_dev_id = NULL;
  g_autofree char *type_dev_id = NULL;
  g_autofree char *address = NULL;
  guint64 size = 1, block_size = 1;
  int type = -1;

  g_object_get (dev, "vhost-user-type", &type, "socket-path", &socket_path,
                "char-dev-id", &char_dev_id, "type-dev-id", &type_dev_id,
                "address", &address, "size", &size,
                "logical-block-size", &block_size, NULL);
  g_assert_cmpint (type, ==, 0);
  g_assert_null (socket_path);
  g_assert_null (char_dev_id);
  g_assert_null (type_dev_id);
  g_assert_null (address);
  g_assert_cmpuint (size, ==, 0);
  g_assert_cmpuint (block_size, ==, 0);
}

static void
test_net_minimal (void)
{
  g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);

  /* Chardev, netdev and card take the device's id: QEMU keeps them apart. */
  test_add_device (vm, "vhost-user", "vhu0",
                   "vhost-user-type", "net",
                   "socket-path", SOCK,
                   "address", "52:54:00:12:34:56",
                   NULL);
  assert_shared_vm_lines (vm,
                          "-chardev\n"
                          "socket,id=vhu0,path=" SOCK "\n"
                          "-netdev\n"
                          "type=vhost-user,id=vhu0,chardev=vhu0,vhostforce=on\n"
                          "-device\n"
                          "virtio-net-pci,id=vhu0,netdev=vhu0,mac=52:54:00:12:34:56");
}

static void
test_net_ids (void)
{
  g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);

  /* govmm TestAppendDeviceVhostUserNet: CharDevID, TypeDevID, Address. */
  test_add_device (vm, "vhost-user", "vhu0",
                   "vhost-user-type", "net",
                   "socket-path", "/tmp/nonexistentsocket.socket",
                   "char-dev-id", "char1",
                   "type-dev-id", "net1",
                   "address", "00:11:22:33:44:55",
                   NULL);
  assert_shared_vm_lines (vm,
                          "-chardev\n"
                          "socket,id=char1,path=/tmp/nonexistentsocket.socket\n"
                          "-netdev\n"
                          "type=vhost-user,id=net1,chardev=char1,vhostforce=on\n"
                          "-device\n"
                          "virtio-net-pci,id=vhu0,netdev=net1,mac=00:11:22:33:44:55");
}

static void
test_blk (void)
{
  g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);

  /* No logical_block_size=, no size=: QEMU 7.2's device has neither. */
  test_add_device (vm, "vhost-user", "vub0",
                   "vhost-user-type", "blk",
                   "socket-path", SOCK,
                   NULL);
  assert_shared_vm_lines (vm,
                          "-chardev\n"
                          "socket,id=vub0,path=" SOCK "\n"
                          "-device\n"
                          "vhost-user-blk-pci,id=vub0,chardev=vub0");
}

static void
test_blk_ids (void)
{
  g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);

  test_add_device (vm, "vhost-user", "vub0",
                   "vhost-user-type", "blk",
                   "socket-path", SOCK,
                   "char-dev-id", "char2",
                   "type-dev-id", "blk2",
                   NULL);
  assert_shared_vm_lines (vm,
                          "-chardev\n"
                          "socket,id=char2,path=" SOCK "\n"
                          "-device\n"
                          "vhost-user-blk-pci,id=blk2,chardev=char2");
}

static void
test_scsi (void)
{
  g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);

  test_add_device (vm, "vhost-user", "vus0",
                   "vhost-user-type", "scsi",
                   "socket-path", SOCK,
                   NULL);
  assert_shared_vm_lines (vm,
                          "-chardev\n"
                          "socket,id=vus0,path=" SOCK "\n"
                          "-device\n"
                          "vhost-user-scsi-pci,id=vus0,chardev=vus0");
}

static void
test_scsi_ids (void)
{
  g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);

  /* govmm TestAppendDeviceVhostUserSCSI: TypeDevID names the controller. */
  test_add_device (vm, "vhost-user", "vus0",
                   "vhost-user-type", "scsi",
                   "socket-path", "/tmp/nonexistentsocket.socket",
                   "char-dev-id", "char1",
                   "type-dev-id", "scsi1",
                   NULL);
  assert_shared_vm_lines (vm,
                          "-chardev\n"
                          "socket,id=char1,path=/tmp/nonexistentsocket.socket\n"
                          "-device\n"
                          "vhost-user-scsi-pci,id=scsi1,chardev=char1");
}

static void
test_same_char_and_type_id (void)
{
  g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);

  /* A chardev and a -device may share an id: different QEMU namespaces. */
  test_add_device (vm, "vhost-user", "vus0",
                   "vhost-user-type", "scsi",
                   "socket-path", SOCK,
                   "char-dev-id", "scsi1",
                   "type-dev-id", "scsi1",
                   NULL);
  assert_shared_vm_lines (vm,
                          "-chardev\n"
                          "socket,id=scsi1,path=" SOCK "\n"
                          "-device\n"
                          "vhost-user-scsi-pci,id=scsi1,chardev=scsi1");
}

static void
test_all_types_together (void)
{
  g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);

  test_add_device (vm, "vhost-user", "net0", "vhost-user-type", "net",
                   "socket-path", "/run/net.sock", "address", "02:00:ca:fe:00:01",
                   NULL);
  test_add_device (vm, "vhost-user", "disk0", "vhost-user-type", "blk",
                   "socket-path", "/run/blk.sock", NULL);
  test_add_device (vm, "vhost-user", "scsi0", "vhost-user-type", "scsi",
                   "socket-path", "/run/scsi.sock", NULL);
  assert_shared_vm_lines (vm,
                          "-chardev\n"
                          "socket,id=net0,path=/run/net.sock\n"
                          "-netdev\n"
                          "type=vhost-user,id=net0,chardev=net0,vhostforce=on\n"
                          "-device\n"
                          "virtio-net-pci,id=net0,netdev=net0,mac=02:00:ca:fe:00:01\n"
                          "-chardev\n"
                          "socket,id=disk0,path=/run/blk.sock\n"
                          "-device\n"
                          "vhost-user-blk-pci,id=disk0,chardev=disk0\n"
                          "-chardev\n"
                          "socket,id=scsi0,path=/run/scsi.sock\n"
                          "-device\n"
                          "vhost-user-scsi-pci,id=scsi0,chardev=scsi0");
}

static void
test_comma_escaping (void)
{
  g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);

  /* A comma in the socket path cannot add a chardev option. */
  test_add_device (vm, "vhost-user", "vub0",
                   "vhost-user-type", "blk",
                   "socket-path", "/run/a,server=on,wait=off.sock",
                   NULL);
  assert_shared_vm_lines (vm,
                          "-chardev\n"
                          "socket,id=vub0,path=/run/a,,server=on,,wait=off.sock\n"
                          "-device\n"
                          "vhost-user-blk-pci,id=vub0,chardev=vub0");
}

static void
test_hugepages_memory (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev;

  /* hugepages are mapped share=on: a backend can map them. */
  ql_vm_config_set_from_string (vm, "memory-size", "1G", &error);
  g_assert_no_error (error);
  ql_vm_config_set_from_string (vm, "knobs-hugepages", "true", &error);
  g_assert_no_error (error);
  dev = test_add_device (vm, "vhost-user", "vub0", "vhost-user-type", "blk",
                         "socket-path", SOCK, NULL);
  test_assert_valid (vm, dev);
  g_assert_true (ql_vm_config_validate (vm, &error));
  g_assert_no_error (error);
}

static void
test_socket_path_107_bytes (void)
{
  g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);
  g_autofree char *path = g_strnfill (107, 's');
  QlDevice *dev;

  path[0] = '/';
  dev = test_add_device (vm, "vhost-user", "vub0", "vhost-user-type", "blk",
                         "socket-path", path, NULL);
  test_assert_valid (vm, dev);
}

/* ---- rules ---- */

static void
test_rule_type_unset (void)
{
  static const char * const values[] = { NULL, "unset" };

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "vhost-user", "vhu0",
                                       "socket-path", SOCK, NULL);

      if (values[i] != NULL)
        {
          g_autoptr(GError) error = NULL;

          ql_device_set_property_from_string (dev, "vhost-user-type", values[i], &error);
          g_assert_no_error (error);
        }
      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "vhost-user-type",
                           "no vhost-user type given: set vhost-user-type to net, blk or scsi");
    }
}

static void
test_rule_socket_path (void)
{
  g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);
  g_autoptr(QlVmConfig) vm2 = shared_vm_new (NULL);
  g_autoptr(QlVmConfig) vm3 = shared_vm_new (NULL);
  g_autofree char *long_path = g_strnfill (108, 's');
  QlDevice *dev;

  dev = test_add_device (vm, "vhost-user", "vub0", "vhost-user-type", "blk", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "socket-path",
                       "no socket given: set socket-path to the unix socket the vhost-user backend listens on");

  dev = test_add_device (vm2, "vhost-user", "vub0", "vhost-user-type", "blk",
                         "socket-path", "", NULL);
  test_assert_invalid (vm2, dev, QL_CONFIG_ERROR_MISSING, "socket-path",
                       "no socket given");

  long_path[0] = '/';
  dev = test_add_device (vm3, "vhost-user", "vub0", "vhost-user-type", "blk",
                         "socket-path", long_path, NULL);
  test_assert_invalid (vm3, dev, QL_CONFIG_ERROR_INVALID_VALUE, "socket-path",
                       "is too long for a unix socket (QEMU: \"Path must be less than 108 bytes\"): use a path of at most 107 bytes");
}

static void
test_rule_id_syntax (void)
{
  static const char * const properties_[] = { "char-dev-id", "type-dev-id" };
  static const char * const bad[] = { "0char", "a,b", "a b", "-x", "é" };

  for (guint p = 0; p < G_N_ELEMENTS (properties_); p++)
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);
        g_autofree char *fragment = g_strdup_printf ("'%s' is not a valid id: expected a letter, then letters, digits, '-', '.', '_'",
                                                     bad[i]);
        QlDevice *dev = test_add_device (vm, "vhost-user", "vus0",
                                         "vhost-user-type", "scsi",
                                         "socket-path", SOCK,
                                         properties_[p], bad[i], NULL);

        test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE,
                             properties_[p], fragment);
      }
}

static void
test_rule_empty_values (void)
{
  static const char * const properties_[] = { "char-dev-id", "type-dev-id", "address" };

  for (guint i = 0; i < G_N_ELEMENTS (properties_); i++)
    {
      g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);
      QlDevice *dev = test_add_device (vm, "vhost-user", "vhu0",
                                       "vhost-user-type", "net",
                                       "socket-path", SOCK,
                                       "address", "02:00:00:00:00:01",
                                       properties_[i], "", NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, properties_[i],
                           "the value is empty: leave it unset or give a value");
    }
}

static void
test_rule_net_address (void)
{
  static const char * const bad[] = {
    "52:54:00:12:34", "52:54:00:12:34:56:78", "52-54-00-12-34-56",
    "5254.0012.3456", "52:54:00:12:34:5g", "52:54:00:12:34:5", "",
  };
  g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vhost-user", "vhu0",
                                   "vhost-user-type", "net",
                                   "socket-path", SOCK, NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "address",
                       "a vhost-user network card needs its MAC address (the backend's port is set up for it): set address, such as '52:54:00:12:34:56'");

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(QlVmConfig) vm2 = shared_vm_new (NULL);
      g_autofree char *fragment = g_strdup_printf ("'%s' is not a MAC address: expected six hex bytes separated by ':'",
                                                   bad[i]);
      QlDevice *dev2 = test_add_device (vm2, "vhost-user", "vhu0",
                                        "vhost-user-type", "net",
                                        "socket-path", SOCK,
                                        "address", bad[i], NULL);

      test_assert_invalid (vm2, dev2, QL_CONFIG_ERROR_INVALID_VALUE, "address",
                           *bad[i] == '\0' ? "the value is empty" : fragment);
    }

  {
    g_autoptr(QlVmConfig) vm3 = shared_vm_new (NULL);
    QlDevice *dev3 = test_add_device (vm3, "vhost-user", "vhu0",
                                      "vhost-user-type", "net",
                                      "socket-path", SOCK,
                                      "address", "01:00:5e:00:00:01", NULL);

    test_assert_invalid (vm3, dev3, QL_CONFIG_ERROR_INVALID_VALUE, "address",
                         "'01:00:5e:00:00:01' is a multicast address, which a network card cannot have");
  }
}

static void
test_rule_address_not_for_blk_scsi (void)
{
  static const char * const types[] = { "blk", "scsi" };

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);
      g_autofree char *fragment = g_strdup_printf ("'02:00:00:00:00:01' is the MAC address of a network card, but vhost-user-type is '%s': only vhost-user-type=net takes an address; unset it",
                                                   types[i]);
      QlDevice *dev = test_add_device (vm, "vhost-user", "vhu0",
                                       "vhost-user-type", types[i],
                                       "socket-path", SOCK,
                                       "address", "02:00:00:00:00:01", NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "address", fragment);
    }
}

static void
test_rule_size_and_block_size (void)
{
  static const char * const types[] = { "blk", "net", "scsi" };

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);
      g_autoptr(QlVmConfig) vm2 = shared_vm_new (NULL);
      const char *mac = g_str_equal (types[i], "net") ? "02:00:00:00:00:01" : NULL;
      QlDevice *dev;

      /* govmm's hard-coded values: written for a disk (the capability
       * check refuses them on QEMU 7.2: test-caps-qemu), refused by name on
       * a net card or SCSI controller. */
      dev = test_add_device (vm, "vhost-user", "vub0", "vhost-user-type", types[i],
                             "socket-path", SOCK, "size", "512M",
                             "logical-block-size", "4096",
                             mac != NULL ? "address" : NULL, mac, NULL);
      if (g_str_equal (types[i], "blk"))
        {
          g_auto(GStrv) argv = ql_vm_config_to_argv (vm, NULL);
          g_autofree char *joined = NULL;

          g_assert_nonnull (argv);
          joined = g_strjoinv (" ", argv);
          g_assert_nonnull (strstr (joined, "-device vhost-user-blk-pci,id=vub0,chardev=vub0,"
                                            "logical_block_size=4096,size=536870912"));
          continue;
        }
      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_UNSUPPORTED, "size",
                           "only a vhost-user blk disk has a size; unset size");

      dev = test_add_device (vm2, "vhost-user", "vub0", "vhost-user-type", types[i],
                             "socket-path", SOCK, "logical-block-size", "4K",
                             mac != NULL ? "address" : NULL, mac, NULL);
      test_assert_invalid (vm2, dev, QL_CONFIG_ERROR_UNSUPPORTED, "logical-block-size",
                           "only a vhost-user blk disk has a logical block size; unset logical-block-size");
    }
}

static void
test_rule_ids_unique (void)
{
  /* char-dev-id or type-dev-id equal to another device's id. */
  static const char * const properties_[] = { "char-dev-id", "type-dev-id" };

  for (guint i = 0; i < G_N_ELEMENTS (properties_); i++)
    {
      g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);
      QlDevice *dev;

      test_add_device (vm, "vhost-user", "disk0", "vhost-user-type", "blk",
                       "socket-path", "/run/a.sock", NULL);
      dev = test_add_device (vm, "vhost-user", "disk1", "vhost-user-type", "blk",
                             "socket-path", "/run/b.sock",
                             properties_[i], "disk0", NULL);
      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_DUPLICATE, properties_[i],
                           "'disk0' is already used by device 'disk0' (its id): every id must be unique in the VM");
    }
}

static void
test_rule_ids_unique_later_device (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);
  QlDevice *dev;
  QlDevice *later;

  /* The clash is found against a device that comes later, too. */
  dev = test_add_device (vm, "vhost-user", "disk0", "vhost-user-type", "blk",
                         "socket-path", "/run/a.sock", "char-dev-id", "disk1", NULL);
  later = test_add_device (vm, "vhost-user", "disk1", "vhost-user-type", "blk",
                           "socket-path", "/run/b.sock", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_DUPLICATE, "char-dev-id",
                       "'disk1' is already used by device 'disk1' (its id)");
  /* ... and reported once, on the device that adds the id. */
  g_assert_true (ql_device_valid (later, vm, &error));
  g_assert_no_error (error);
}

static void
test_rule_extra_ids_of_two_devices (void)
{
  static const struct {
    const char *first_property;
    const char *second_property;
    const char *fragment;
  } cases[] = {
    { "char-dev-id", "char-dev-id", "'shared' is already used by device 'disk0' (its char-dev-id)" },
    { "type-dev-id", "type-dev-id", "'shared' is already used by device 'disk0' (its type-dev-id)" },
    { "char-dev-id", "type-dev-id", "'shared' is already used by device 'disk0' (its char-dev-id)" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);
      QlDevice *first;
      QlDevice *second;

      first = test_add_device (vm, "vhost-user", "disk0", "vhost-user-type", "blk",
                               "socket-path", "/run/a.sock",
                               cases[i].first_property, "shared", NULL);
      second = test_add_device (vm, "vhost-user", "disk1", "vhost-user-type", "blk",
                                "socket-path", "/run/b.sock",
                                cases[i].second_property, "shared", NULL);
      /* Reported once, on the second device. */
      g_assert_true (ql_device_valid (first, vm, &error));
      g_assert_no_error (error);
      test_assert_invalid (vm, second, QL_CONFIG_ERROR_DUPLICATE,
                           cases[i].second_property, cases[i].fragment);
    }
}

static void
test_rule_id_of_other_family (void)
{
  g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);
  QlDevice *dev;

  /* A net card's netdev takes its id: a vhost-user netdev may not. */
  test_add_device (vm, "net", "net0", "if-name", "tap0", NULL);
  dev = test_add_device (vm, "vhost-user", "vhu0", "vhost-user-type", "net",
                         "socket-path", SOCK, "address", "02:00:00:00:00:01",
                         "type-dev-id", "net0", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_DUPLICATE, "type-dev-id",
                       "'net0' is already used by device 'net0' (its id)");
}

static void
test_rule_device_id_of_other_family (void)
{
  g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);
  g_autoptr(QlDevice) probe_device = NULL;
  QlDevice *dev;

  /* A device type of another family whose -device id is its device-id
   * property (char: the virtconsole's id). */
  probe_device = ql_registry_create_device (test_registry, "char", "probe", NULL);
  if (probe_device == NULL ||
      g_object_class_find_property (G_OBJECT_GET_CLASS (probe_device), "device-id") == NULL)
    {
      g_test_skip ("no device type 'char' with a device-id property is loaded");
      return;
    }

  test_add_device (vm, "char", "charconsole0", "driver", "virtconsole",
                   "backend", "socket", "device-id", "console0",
                   "path", "/run/vm/console.sock", NULL);
  dev = test_add_device (vm, "vhost-user", "vub0", "vhost-user-type", "blk",
                         "socket-path", SOCK, "type-dev-id", "console0", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_DUPLICATE, "type-dev-id",
                       "'console0' is already used by device 'charconsole0' (its device-id): every id must be unique in the VM");
}

static void
test_rule_memory_not_shared (void)
{
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vhost-user", "vub0",
                                   "vhost-user-type", "blk",
                                   "socket-path", SOCK, NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "vhost-user-type",
                       "a vhost-user backend maps guest RAM, which must be shared: set [knobs] file-backed-mem = true and file-backed-mem-shared = true (with [memory] size and path), or [knobs] hugepages = true");
}

static void
test_rule_memory_mem_prealloc (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = test_vm_new (NULL);
  QlDevice *dev;

  /* Preallocated anonymous RAM is private. */
  ql_vm_config_set_from_string (vm, "memory-size", "256M", &error);
  g_assert_no_error (error);
  ql_vm_config_set_from_string (vm, "knobs-mem-prealloc", "true", &error);
  g_assert_no_error (error);
  dev = test_add_device (vm, "vhost-user", "vub0", "vhost-user-type", "blk",
                         "socket-path", SOCK, NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "vhost-user-type",
                       "which must be shared");
}

static void
test_rule_memory_file_backed_private (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);
  QlDevice *dev;

  ql_vm_config_set_from_string (vm, "knobs-file-backed-mem-shared", "false", &error);
  g_assert_no_error (error);
  dev = test_add_device (vm, "vhost-user", "vub0", "vhost-user-type", "blk",
                         "socket-path", SOCK, NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "vhost-user-type",
                       "guest RAM is file-backed but private, and a vhost-user backend must map it: set [knobs] file-backed-mem-shared = true");
}

static void
test_rule_bad_text (void)
{
  g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vhost-user", "vhu0", NULL);

  test_assert_bad_text (dev, "vhost-user-type", "virtio");
  test_assert_bad_text (dev, "vhost-user-type", "vhost-user-blk-pci");
  test_assert_bad_text (dev, "size", "512Q");
  test_assert_bad_text (dev, "logical-block-size", "-1");
}

/* ---- host checks ---- */

static void
test_host_socket_missing (void)
{
  g_autoptr(QlHostProbe) probe = fake_host_new (NULL);
  g_autoptr(QlVmConfig) vm = shared_vm_new (probe);
  QlDevice *dev = test_add_device (vm, "vhost-user", "vub0",
                                   "vhost-user-type", "blk",
                                   "socket-path", SOCK, NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "socket-path",
                       "cannot use the backend's socket '" SOCK "': No such file or directory; start the vhost-user backend first: it must listen there, QEMU connects to it as a client");
}

static void
test_host_socket_present (void)
{
  static const char * const types[] = { "blk", "scsi", "net" };

  for (guint i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autoptr(QlHostProbe) probe = fake_host_new (SOCK);
      g_autoptr(QlVmConfig) vm = shared_vm_new (probe);
      QlDevice *dev = test_add_device (vm, "vhost-user", "vhu0",
                                       "vhost-user-type", types[i],
                                       "socket-path", SOCK, NULL);

      if (g_str_equal (types[i], "net"))
        g_object_set (dev, "address", "02:00:00:00:00:01", NULL);
      test_assert_valid (vm, dev);
    }
}

static void
test_host_checks_off (void)
{
  g_autoptr(QlVmConfig) vm = shared_vm_new (NULL);
  QlDevice *dev = test_add_device (vm, "vhost-user", "vub0",
                                   "vhost-user-type", "blk",
                                   "socket-path", "/nonexistent/backend.sock", NULL);

  /* --no-host-checks: the socket is not looked for. */
  test_assert_valid (vm, dev);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  test_registry = ql_test_registry_new ();

  g_test_add_func ("/vhost-user/output/defaults", test_defaults);
  g_test_add_func ("/vhost-user/output/net-minimal", test_net_minimal);
  g_test_add_func ("/vhost-user/output/net-ids", test_net_ids);
  g_test_add_func ("/vhost-user/output/blk", test_blk);
  g_test_add_func ("/vhost-user/output/blk-ids", test_blk_ids);
  g_test_add_func ("/vhost-user/output/scsi", test_scsi);
  g_test_add_func ("/vhost-user/output/scsi-ids", test_scsi_ids);
  g_test_add_func ("/vhost-user/output/same-char-and-type-id", test_same_char_and_type_id);
  g_test_add_func ("/vhost-user/output/all-types-together", test_all_types_together);
  g_test_add_func ("/vhost-user/output/comma-escaping", test_comma_escaping);
  g_test_add_func ("/vhost-user/output/hugepages-memory", test_hugepages_memory);
  g_test_add_func ("/vhost-user/output/socket-path-107-bytes", test_socket_path_107_bytes);

  g_test_add_func ("/vhost-user/rule/type-unset", test_rule_type_unset);
  g_test_add_func ("/vhost-user/rule/socket-path", test_rule_socket_path);
  g_test_add_func ("/vhost-user/rule/id-syntax", test_rule_id_syntax);
  g_test_add_func ("/vhost-user/rule/empty-values", test_rule_empty_values);
  g_test_add_func ("/vhost-user/rule/net-address", test_rule_net_address);
  g_test_add_func ("/vhost-user/rule/address-not-for-blk-scsi", test_rule_address_not_for_blk_scsi);
  g_test_add_func ("/vhost-user/rule/size-and-block-size", test_rule_size_and_block_size);
  g_test_add_func ("/vhost-user/rule/ids-unique", test_rule_ids_unique);
  g_test_add_func ("/vhost-user/rule/ids-unique-later-device", test_rule_ids_unique_later_device);
  g_test_add_func ("/vhost-user/rule/extra-ids-of-two-devices", test_rule_extra_ids_of_two_devices);
  g_test_add_func ("/vhost-user/rule/id-of-other-family", test_rule_id_of_other_family);
  g_test_add_func ("/vhost-user/rule/device-id-of-other-family", test_rule_device_id_of_other_family);
  g_test_add_func ("/vhost-user/rule/memory-not-shared", test_rule_memory_not_shared);
  g_test_add_func ("/vhost-user/rule/memory-mem-prealloc", test_rule_memory_mem_prealloc);
  g_test_add_func ("/vhost-user/rule/memory-file-backed-private", test_rule_memory_file_backed_private);
  g_test_add_func ("/vhost-user/rule/bad-text", test_rule_bad_text);

  g_test_add_func ("/vhost-user/host/socket-missing", test_host_socket_missing);
  g_test_add_func ("/vhost-user/host/socket-present", test_host_socket_present);
  g_test_add_func ("/vhost-user/host/checks-off", test_host_checks_off);

  ret = g_test_run ();
  g_clear_object (&test_registry);
  return ret;
}
