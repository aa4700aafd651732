/* Suite qemu: the PCIe topology of q35 against the real QEMU 7.2 (TCG).
 *
 * /pcie-qemu/topology: a q35 VM with several PCI devices that name no bus,
 *   a root port of the VM file with a disk on it and [machine]
 *   hotplug-slots = 2 starts from the argv `qlaunch args` prints (-S) with
 *   an empty stderr; once the firmware has numbered the buses, query-pci
 *   shows each device alone behind its own root port and the two reserved
 *   ports empty. Then ql_qmp_hotplug_device() puts two devices that name
 *   no bus into the reserved ports, in order, and refuses a third with the
 *   "how many reserved, how to reserve more" message, sending nothing.
 * /pcie-qemu/machine-aliases: the probed binary's machine types: q35 is
 *   pc-q35-7.2 (the same command line but for -machine), an unset type is
 *   the default machine pc-i440fx-7.2 (no root ports; hotplug-slots is an
 *   error naming it, also through `qlaunch check`, which probes).
 * /pcie-qemu/pc-hotplug: on pc a device that names no bus is hot-plugged
 *   onto the root bus pci.0, as before.
 */
#include "ql-test-util.h"
#include "ql-test-qmp.h"

#include <string.h>

typedef struct
{
  char *dir;
  GSubprocess *qemu;
  QlTestQmp *qmp;       /* [qmp a] */
  QlQmp *client;        /* [qmp b]: the library's client, for hot-plug */
} Vm;

static gboolean
have_qemu (void)
{
  g_autofree char *qemu = g_find_program_in_path ("qemu-system-x86_64");

  if (qemu != NULL)
    return TRUE;
  g_test_skip ("no qemu-system-x86_64 in PATH");
  return FALSE;
}

/* `qlaunch args --format json` on @vm_text (its [qmp a] and [qmp b] are
 * written here), then QEMU on that argv. */
static void
vm_start (Vm         *vm,
          const char *vm_text)
{
  g_autofree char *vm_file = g_build_filename (vm->dir, "test.vm", NULL);
  g_autofree char *text = g_strdup_printf ("%s\n[qmp a]\npath = a.sock\n[qmp b]\npath = b.sock\n", vm_text);
  g_autofree char *a_path = g_build_filename (vm->dir, "a.sock", NULL);
  g_autofree char *b_path = g_build_filename (vm->dir, "b.sock", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (vm_file, text, -1, NULL));
  vm->qemu = ql_test_qemu_start_vm_file (vm_file);
  vm->qmp = ql_test_qmp_connect (a_path, 20000, &error);
  g_assert_no_error (error);
  vm->client = ql_qmp_new ();
  g_assert_true (ql_qmp_connect (vm->client, b_path, 20000, NULL, &error));
  g_assert_no_error (error);
}

/* Quits QEMU; asserts a clean exit and an empty stderr. */
static void
vm_quit (Vm *vm)
{
  ql_qmp_close (vm->client);
  ql_test_qemu_quit_clean (vm->qmp, vm->qemu);
}

static void
vm_clear (Vm *vm)
{
  g_clear_pointer (&vm->qmp, ql_test_qmp_free);
  g_clear_object (&vm->client);
  if (vm->qemu != NULL)
    {
      g_subprocess_force_exit (vm->qemu);
      g_subprocess_wait (vm->qemu, NULL, NULL);
      g_clear_object (&vm->qemu);
    }
  if (vm->dir != NULL)
    ql_test_rm_rf (vm->dir);
  g_clear_pointer (&vm->dir, g_free);
}

static JsonNode *
execute (Vm         *vm,
         const char *command,
         JsonObject *args)
{
  g_autoptr(GError) error = NULL;
  JsonNode *reply = ql_test_qmp_execute (vm->qmp, command, args, &error);

  g_assert_no_error (error);
  return reply;
}

static char *
parent_bus (Vm         *vm,
            const char *id)
{
  g_autoptr(JsonObject) args = json_object_new ();
  g_autofree char *path = g_strconcat ("/machine/peripheral/", id, NULL);
  g_autoptr(JsonNode) reply = NULL;

  json_object_set_string_member (args, "path", path);
  json_object_set_string_member (args, "property", "parent_bus");
  reply = execute (vm, "qom-get", args);
  return g_strdup (json_node_get_string (reply));
}

/* The devices of bus 0, once the firmware numbered every bridge's
 * secondary bus (before that, query-pci shows nothing behind them). */
static JsonArray *
root_devices_numbered (Vm    *vm,
                       guint  n_bridges)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonNode) reply = execute (vm, "query-pci", NULL);
      JsonObject *bus0 = json_array_get_object_element (json_node_get_array (reply), 0);
      JsonArray *devices = json_object_get_array_member (bus0, "devices");
      guint numbered = 0;

      for (guint i = 0; i < json_array_get_length (devices); i++)
        {
          JsonObject *dev = json_array_get_object_element (devices, i);

          if (json_object_has_member (dev, "pci_bridge")
              && json_object_get_int_member (json_object_get_object_member (json_object_get_object_member (dev, "pci_bridge"),
                                                                            "bus"), "secondary") != 0)
            numbered++;
        }
      if (numbered == n_bridges)
        return json_array_ref (devices);
      g_usleep (100000);
    }
  g_error ("the firmware did not number the %u bridges' buses within 60 s", n_bridges);
}

static JsonObject *
find_device (JsonArray  *devices,
             const char *qdev_id)
{
  for (guint i = 0; devices != NULL && i < json_array_get_length (devices); i++)
    {
      JsonObject *dev = json_array_get_object_element (devices, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (dev, "qdev_id", NULL), qdev_id) == 0)
        return dev;
    }
  return NULL;
}

/* The qdev ids behind bridge @port, joined with ','. */
static char *
behind (JsonArray  *root,
        const char *port)
{
  JsonObject *dev = find_device (root, port);
  JsonObject *bridge;
  JsonArray *devices;
  g_autoptr(GString) ids = g_string_new (NULL);

  g_assert_nonnull (dev);
  /* A PCI bridge: class 0x0604, Red Hat's pcie-root-port 1b36:000c. */
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (dev, "class_info"), "class"), ==, 0x0604);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (dev, "id"), "vendor"), ==, 0x1b36);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (dev, "id"), "device"), ==, 0x000c);
  bridge = json_object_get_object_member (dev, "pci_bridge");
  if (!json_object_has_member (bridge, "devices"))
    return g_strdup ("");
  devices = json_object_get_array_member (bridge, "devices");
  for (guint i = 0; i < json_array_get_length (devices); i++)
    g_string_append_printf (ids, "%s%s", i > 0 ? "," : "",
                            json_object_get_string_member (json_array_get_object_element (devices, i), "qdev_id"));
  return g_string_free (g_steal_pointer (&ids), FALSE);
}

static QlDevice *
spec_device (QlRegistry *registry,
             const char *spec)
{
  g_autoptr(GError) error = NULL;
  QlDevice *device = ql_registry_create_device_from_spec (registry, spec, &error);

  g_assert_no_error (error);
  return device;
}

static void
test_topology (void)
{
  Vm vm = { 0 };
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(JsonArray) root = NULL;
  g_autoptr(QlDevice) rng1 = NULL;
  g_autoptr(QlDevice) rng2 = NULL;
  g_autoptr(QlDevice) rng3 = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *disk0 = NULL;
  g_autofree char *disk1 = NULL;
  const struct { const char *port; const char *ids; } expected[] = {
    { "rp0", "disk1" },
    { "ql-port2", "disk0" },
    { "ql-port3", "rng0" },
    { "ql-port4", "vser0" },
    { "ql-port5", "scsi0" },
    { "ql-hotplug6", "" },
    { "ql-hotplug7", "" },
  };

  if (!have_qemu ())
    return;
  vm.dir = ql_test_make_tmpdir ();
  disk0 = g_build_filename (vm.dir, "disk0.raw", NULL);
  disk1 = g_build_filename (vm.dir, "disk1.raw", NULL);
  {
    g_autofree char *zeros = g_malloc0 (64 * 1024);

    g_assert_true (g_file_set_contents (disk0, zeros, 64 * 1024, NULL));
    g_assert_true (g_file_set_contents (disk1, zeros, 64 * 1024, NULL));
  }
  text = g_strdup_printf ("[machine]\ntype = q35\nacceleration = tcg\nhotplug-slots = 2\n"
                          "[memory]\nsize = 128M\n"
                          "[knobs]\nno-defaults = true\nno-user-config = true\nstopped = true\n"
                          "[device rp0]\ntype = pcie-root-port\nchassis = 1\nslot = 1\n"
                          "[device disk1]\ntype = block\nfile = %s\nformat = raw\nbus = rp0\n"
                          "[device disk0]\ntype = block\nfile = %s\nformat = raw\n"
                          "[device rng0]\ntype = rng\nbackend = builtin\n"
                          "[device vser0]\ntype = serial\n"
                          "[device scsi0]\ntype = scsi-controller\n",
                          disk1, disk0);
  vm_start (&vm, text);

  /* The firmware numbers the buses once the vCPUs run. */
  json_node_unref (execute (&vm, "cont", NULL));
  root = root_devices_numbered (&vm, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autofree char *ids = behind (root, expected[i].port);

      g_test_message ("%s: %s", expected[i].port, ids);
      g_assert_cmpstr (ids, ==, expected[i].ids);
    }
  /* Nothing but the root ports (and the chipset) on the root bus. */
  for (guint i = 0; i < json_array_get_length (root); i++)
    {
      JsonObject *dev = json_array_get_object_element (root, i);
      const char *qdev_id = json_object_get_string_member_with_default (dev, "qdev_id", "");

      if (*qdev_id != '\0')
        g_assert_true (json_object_has_member (dev, "pci_bridge"));
    }

  /* Hot-plug: the reserved ports in order, then none left. */
  registry = ql_test_registry_new ();
  rng1 = spec_device (registry, "rng,id=rng1,backend=builtin");
  rng2 = spec_device (registry, "rng,id=rng2,backend=builtin");
  rng3 = spec_device (registry, "rng,id=rng3,backend=builtin");
  g_assert_true (ql_qmp_hotplug_device (vm.client, rng1, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ql_qmp_hotplug_device (vm.client, rng2, NULL, NULL, &error));
  g_assert_no_error (error);
  {
    g_autofree char *bus1 = parent_bus (&vm, "rng1");
    g_autofree char *bus2 = parent_bus (&vm, "rng2");

    g_assert_cmpstr (bus1, ==, "/machine/peripheral/ql-hotplug6/ql-hotplug6");
    g_assert_cmpstr (bus2, ==, "/machine/peripheral/ql-hotplug7/ql-hotplug7");
  }
  g_assert_false (ql_qmp_hotplug_device (vm.client, rng3, NULL, NULL, &error));
  g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_FAILED);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "device 'rng3': no free PCIe root port"));
  g_assert_nonnull (strstr (error->message, "2 root ports reserved for hot-plug ([machine] hotplug-slots = 2)"));
  g_assert_nonnull (strstr (error->message, "larger [machine] hotplug-slots = N"));
  /* Nothing was sent: no backend object either. */
  {
    g_autoptr(JsonObject) args = json_object_new ();
    g_autoptr(JsonNode) list = NULL;
    g_autoptr(GError) qom_error = NULL;

    json_object_set_string_member (args, "path", "/objects/rng3");
    list = ql_test_qmp_execute (vm.qmp, "qom-list", args, &qom_error);
    g_assert_null (list);
    g_assert_nonnull (qom_error);
  }
  vm_quit (&vm);
  vm_clear (&vm);
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
test_machine_aliases (void)
{
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlQemuCaps) caps = NULL;
  g_autoptr(QlVmConfig) alias = NULL;
  g_autoptr(QlVmConfig) versioned = NULL;
  g_autoptr(QlVmConfig) unset = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *alias_text = NULL;
  g_autofree char *versioned_text = NULL;
  g_autofree char *unset_text = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *vm_file = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_auto(GStrv) argv = NULL;
  const char *devices = "[device rng0]\ntype = rng\nbackend = builtin\n[device vser0]\ntype = serial\n";
  const char *check[] = { "--plugin-dir", g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"), "check", NULL, NULL };

  if (!have_qemu ())
    return;
  caps = ql_qemu_caps_lookup ("qemu-system-x86_64", NULL, QL_QEMU_CAPS_LOOKUP_NO_CACHE, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ql_qemu_caps_resolve_machine (caps, "q35"), ==, "pc-q35-7.2");

  registry = ql_test_registry_new ();
  {
    g_autofree char *t1 = g_strconcat ("[machine]\ntype = q35\n", devices, NULL);
    g_autofree char *t2 = g_strconcat ("[machine]\ntype = pc-q35-7.2\n", devices, NULL);

    alias = ql_test_load_vm (registry, t1);
    versioned = ql_test_load_vm (registry, t2);
    unset = ql_test_load_vm (registry, devices);
  }
  ql_vm_config_set_qemu_caps (alias, caps);
  ql_vm_config_set_qemu_caps (versioned, caps);
  ql_vm_config_set_qemu_caps (unset, caps);
  g_assert_cmpstr (ql_vm_config_resolve_machine_type (alias), ==, "pc-q35-7.2");
  g_assert_cmpstr (ql_vm_config_resolve_machine_type (versioned), ==, "pc-q35-7.2");
  g_assert_cmpstr (ql_vm_config_resolve_machine_type (unset), ==, "pc-i440fx-7.2");
  g_assert_true (ql_vm_config_is_pcie_machine (alias));
  g_assert_true (ql_vm_config_is_pcie_machine (versioned));
  g_assert_false (ql_vm_config_is_pcie_machine (unset));

  /* One machine, one topology. */
  alias_text = argv_text (alias);
  versioned_text = argv_text (versioned);
  g_assert_true (g_str_has_prefix (alias_text, "-machine\nq35\n"));
  g_assert_true (g_str_has_prefix (versioned_text, "-machine\npc-q35-7.2\n"));
  g_assert_cmpstr (alias_text + strlen ("-machine\nq35\n"), ==, versioned_text + strlen ("-machine\npc-q35-7.2\n"));
  g_assert_nonnull (strstr (alias_text, "bus=ql-port1"));
  g_assert_nonnull (strstr (alias_text, "bus=ql-port2"));
  /* The default machine is pc: nothing added. */
  unset_text = argv_text (unset);
  g_assert_null (strstr (unset_text, "pcie-root-port"));
  g_object_set (unset, "machine-hotplug-slots", 1, NULL);
  argv = ql_vm_config_to_argv (unset, &error);
  g_assert_null (argv);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "[machine] hotplug-slots: machine type 'pc-i440fx-7.2'"));

  /* `qlaunch check` probes the binary, and says the same. */
  dir = ql_test_make_tmpdir ();
  vm_file = g_build_filename (dir, "default.vm", NULL);
  g_assert_true (g_file_set_contents (vm_file, "[machine]\nhotplug-slots = 1\n", -1, NULL));
  check[3] = vm_file;
  g_assert_cmpint (ql_test_run_cli (check, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "[machine] hotplug-slots: machine type 'pc-i440fx-7.2' has no PCIe root ports"));
  ql_test_rm_rf (dir);
}

static void
test_pc_hotplug (void)
{
  Vm vm = { 0 };
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlDevice) rng1 = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *bus = NULL;

  if (!have_qemu ())
    return;
  vm.dir = ql_test_make_tmpdir ();
  vm_start (&vm, "[machine]\ntype = pc\nacceleration = tcg\n"
                 "[memory]\nsize = 128M\n"
                 "[knobs]\nno-defaults = true\nno-user-config = true\nstopped = true\n"
                 "[device rng0]\ntype = rng\nbackend = builtin\n");
  registry = ql_test_registry_new ();
  rng1 = spec_device (registry, "rng,id=rng1,backend=builtin");
  g_assert_true (ql_qmp_hotplug_device (vm.client, rng1, NULL, NULL, &error));
  g_assert_no_error (error);
  bus = parent_bus (&vm, "rng1");
  g_assert_cmpstr (bus, ==, "/machine/i440fx/pci.0");
  vm_quit (&vm);
  vm_clear (&vm);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/pcie-qemu/topology", test_topology);
  g_test_add_func ("/pcie-qemu/machine-aliases", test_machine_aliases);
  g_test_add_func ("/pcie-qemu/pc-hotplug", test_pc_hotplug);
  return g_test_run ();
}
