/* qlaunch tests — the `bridge` device: every rule, every output form. */
#include "ql-device-test.h"

/* A VM of @machine_type (NULL: unset) with @probe as its host. */
static QlVmConfig *
bridge_vm_new (const char  *machine_type,
               QlHostProbe *probe)
{
  QlVmConfig *vm = test_vm_new (probe);

  g_object_set (vm, "machine-type", machine_type, NULL);
  return vm;
}

/* The whole argv of @vm without argv[0], one argument a line. */
#define assert_argv(vm, expected) \
  G_STMT_START {                                                   \
    g_autoptr(GError) _error = NULL;                               \
    g_autofree char *_text = ql_test_argv_string ((vm), &_error);  \
    g_assert_no_error (_error);                                    \
    g_assert_cmpstr (_text, ==, (expected));                       \
  } G_STMT_END

/* ---- output ---- */

static void
test_pci_defaults (void)
{
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "bridge", "br0", "chassis", "1", NULL);
  g_autofree char *bus = NULL;
  g_autofree char *addr = NULL;
  int bridge_type = -1;
  guint chassis = 0;
  gboolean shpc = TRUE;

  g_object_get (dev, "bridge-type", &bridge_type, "bus", &bus, "addr", &addr,
                "chassis", &chassis, "shpc", &shpc, NULL);
  g_assert_cmpint (bridge_type, ==, 0);
  g_assert_null (bus);
  g_assert_null (addr);
  g_assert_cmpuint (chassis, ==, 1);
  g_assert_false (shpc);

  assert_argv (vm,
               "-machine\nq35\n"
               "-device\npci-bridge,bus=pcie.0,id=br0,chassis_nr=1,shpc=off\n");
}

/* govmm TestAppendPCIBridgeDevice, with a bus and address QEMU accepts
 * (govmm's "/pci-bus/pcie.0" and decimal "255" are not: see rule tests). */
static void
test_pci_all_options (void)
{
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("q35", NULL);

  test_add_device (vm, "bridge", "mybridge",
                   "bridge-type", "pci",
                   "bus", "pcie.0",
                   "chassis", "5",
                   "shpc", "true",
                   "addr", "1e",
                   NULL);
  assert_argv (vm,
               "-machine\nq35\n"
               "-device\npci-bridge,bus=pcie.0,id=mybridge,chassis_nr=5,shpc=on,addr=1e\n");
}

static void
test_pci_on_pc (void)
{
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("pc", NULL);

  test_add_device (vm, "bridge", "br0", "chassis", "255", "addr", "2.0", NULL);
  assert_argv (vm,
               "-machine\npc\n"
               "-device\npci-bridge,bus=pci.0,id=br0,chassis_nr=255,shpc=off,addr=2.0\n");
}

/* govmm TestAppendPCIEBridgeDevice: QEMU 7.2's pcie-pci-bridge takes
 * neither chassis_nr nor shpc, so neither is written. */
static void
test_pcie (void)
{
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("q35", NULL);

  test_add_device (vm, "bridge", "mybridge",
                   "bridge-type", "pcie",
                   "bus", "pcie.0",
                   "addr", "1e",
                   NULL);
  assert_argv (vm,
               "-machine\nq35\n"
               "-device\npcie-pci-bridge,bus=pcie.0,id=mybridge,addr=1e\n");
}

static void
test_pcie_defaults (void)
{
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("q35", NULL);

  test_add_device (vm, "bridge", "br0", "bridge-type", "pcie", NULL);
  assert_argv (vm,
               "-machine\nq35\n"
               "-device\npcie-pci-bridge,bus=pcie.0,id=br0\n");
}

/* QEMU 7.2 accepts a pcie-pci-bridge on pc's conventional root bus. */
static void
test_pcie_on_pc (void)
{
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("pc", NULL);

  test_add_device (vm, "bridge", "br0", "bridge-type", "pcie", NULL);
  assert_argv (vm,
               "-machine\npc\n"
               "-device\npcie-pci-bridge,bus=pci.0,id=br0\n");
}

static void
test_versioned_machine_types (void)
{
  g_autoptr(QlVmConfig) q35 = bridge_vm_new ("pc-q35-7.2", NULL);
  g_autoptr(QlVmConfig) pc = bridge_vm_new ("pc-i440fx-7.2", NULL);

  test_add_device (q35, "bridge", "br0", "chassis", "1", NULL);
  test_add_device (pc, "bridge", "br0", "chassis", "1", NULL);
  assert_argv (q35,
               "-machine\npc-q35-7.2\n"
               "-device\npci-bridge,bus=pcie.0,id=br0,chassis_nr=1,shpc=off\n");
  assert_argv (pc,
               "-machine\npc-i440fx-7.2\n"
               "-device\npci-bridge,bus=pci.0,id=br0,chassis_nr=1,shpc=off\n");
}

/* With an explicit bus the machine type does not matter. */
static void
test_explicit_bus_any_machine (void)
{
  g_autoptr(QlVmConfig) unset = bridge_vm_new (NULL, NULL);
  g_autoptr(QlVmConfig) virt = bridge_vm_new ("virt", NULL);

  test_add_device (unset, "bridge", "br0", "bus", "pci.0", "chassis", "1", NULL);
  test_add_device (virt, "bridge", "br0", "bridge-type", "pcie", "bus", "pcie.0", NULL);
  test_assert_device_lines (unset, "-device\npci-bridge,bus=pci.0,id=br0,chassis_nr=1,shpc=off");
  assert_argv (virt, "-machine\nvirt\n-device\npcie-pci-bridge,bus=pcie.0,id=br0\n");
}

/* Bridges behind bridges: a bridge's id is the name of its bus. */
static void
test_nested (void)
{
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("q35", NULL);

  test_add_device (vm, "bridge", "pb0", "bridge-type", "pcie", "addr", "2", NULL);
  test_add_device (vm, "bridge", "br0", "bus", "pb0", "chassis", "1", "shpc", "true", "addr", "1", NULL);
  test_add_device (vm, "bridge", "br1", "bus", "br0", "chassis", "2", "addr", "1", NULL);
  test_add_device (vm, "bridge", "br2", "bus", "br0", "chassis", "3", "addr", "2", NULL);
  assert_argv (vm,
               "-machine\nq35\n"
               "-device\npcie-pci-bridge,bus=pcie.0,id=pb0,addr=2\n"
               "-device\npci-bridge,bus=pb0,id=br0,chassis_nr=1,shpc=on,addr=1\n"
               "-device\npci-bridge,bus=br0,id=br1,chassis_nr=2,shpc=off,addr=1\n"
               "-device\npci-bridge,bus=br0,id=br2,chassis_nr=3,shpc=off,addr=2\n");
}

/* A machine option that frees a chipset function frees its address. */
static void
test_freed_chipset_functions (void)
{
  g_autoptr(QlVmConfig) q35 = bridge_vm_new ("q35", NULL);
  g_autoptr(QlVmConfig) pc = bridge_vm_new ("pc", NULL);

  g_object_set (q35, "machine-options", "sata=off,smbus=off", NULL);
  g_object_set (pc, "machine-options", "acpi=off", NULL);
  test_assert_valid (q35, test_add_device (q35, "bridge", "br0", "chassis", "1", "addr", "1f.2", NULL));
  test_assert_valid (q35, test_add_device (q35, "bridge", "br1", "chassis", "2", "addr", "1f.3", NULL));
  test_assert_valid (pc, test_add_device (pc, "bridge", "br0", "chassis", "1", "addr", "1.3", NULL));
}

/* ... and only when it turns it off. */
static void
test_rule_chipset_function_kept_on (void)
{
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("q35", NULL);
  QlDevice *dev;

  g_object_set (vm, "machine-options", "sata=on", NULL);
  dev = test_add_device (vm, "bridge", "br0", "chassis", "1", "addr", "1f.2", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "addr", "ICH9 SATA controller");
}

/* Addresses the chipset does not take, and any address off the root bus. */
static void
test_free_addresses (void)
{
  g_autoptr(QlVmConfig) q35 = bridge_vm_new ("q35", NULL);
  g_autoptr(QlVmConfig) pc = bridge_vm_new ("pc", NULL);

  test_assert_valid (q35, test_add_device (q35, "bridge", "br0", "chassis", "1", "addr", "1f.4", NULL));
  test_assert_valid (q35, test_add_device (q35, "bridge", "br1", "chassis", "2", "addr", "0", "bus", "br0", NULL));
  test_assert_valid (pc, test_add_device (pc, "bridge", "br0", "chassis", "1", "addr", "1.2", NULL));
  test_assert_valid (pc, test_add_device (pc, "bridge", "br1", "chassis", "2", "addr", "1f", NULL));
}

/* ---- rules ---- */

static void
test_rule_isapc (void)
{
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("isapc", NULL);
  QlDevice *dev = test_add_device (vm, "bridge", "br0", "chassis", "1", "bus", "pci.0", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_UNSUPPORTED, "bridge-type",
                       "machine type 'isapc' has no PCI bus");
}

static void
test_rule_bus_missing (void)
{
  g_autoptr(QlVmConfig) unset = bridge_vm_new (NULL, NULL);
  g_autoptr(QlVmConfig) virt = bridge_vm_new ("virt", NULL);
  g_autoptr(QlVmConfig) microvm = bridge_vm_new ("microvm", NULL);

  test_assert_invalid (unset, test_add_device (unset, "bridge", "br0", "chassis", "1", NULL),
                       QL_CONFIG_ERROR_MISSING, "bus", "no [machine] type");
  test_assert_invalid (virt, test_add_device (virt, "bridge", "br0", "chassis", "1", NULL),
                       QL_CONFIG_ERROR_MISSING, "bus", "machine type 'virt'");
  test_assert_invalid (microvm, test_add_device (microvm, "bridge", "br0", "chassis", "1", NULL),
                       QL_CONFIG_ERROR_MISSING, "bus", "machine type 'microvm'");
}

static void
test_rule_bus_empty (void)
{
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "bridge", "br0", "chassis", "1", "bus", "", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "bus", "empty");
}

/* QEMU: "Bus 'pci.0' not found" on q35, "Bus 'pcie.0' not found" on pc. */
/* govmm's test bus "/pci-bus/pcie.0" (QEMU: "Device 'pci-bus' not
 * found"); a ',' cannot smuggle in options either. */
static void
test_rule_bus_name (void)
{
  const char *bad[] = { "/pci-bus/pcie.0", "pci.0,addr=3", "0bus", "pcie 0" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(QlVmConfig) vm = bridge_vm_new ("q35", NULL);
      QlDevice *dev = test_add_device (vm, "bridge", "br0", "chassis", "1", "bus", bad[i], NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "bus", "is not a bus name");
    }
}

static void
test_rule_other_machines_root_bus (void)
{
  g_autoptr(QlVmConfig) q35 = bridge_vm_new ("q35", NULL);
  g_autoptr(QlVmConfig) pc = bridge_vm_new ("pc-i440fx-7.2", NULL);

  test_assert_invalid (q35, test_add_device (q35, "bridge", "br0", "chassis", "1", "bus", "pci.0", NULL),
                       QL_CONFIG_ERROR_INVALID_VALUE, "bus", "its root bus is 'pcie.0'");
  test_assert_invalid (pc, test_add_device (pc, "bridge", "br0", "chassis", "1", "bus", "pcie.0", NULL),
                       QL_CONFIG_ERROR_INVALID_VALUE, "bus", "its root bus is 'pci.0'");
}

static void
test_rule_own_bus (void)
{
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "bridge", "br0", "chassis", "1", "bus", "br0", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "bus", "own bus");
}

/* QEMU creates devices in order: a bus defined later does not exist yet. */
static void
test_rule_bus_defined_later (void)
{
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "bridge", "br1", "chassis", "2", "bus", "br0", NULL);

  test_add_device (vm, "bridge", "br0", "chassis", "1", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "bus", "defined after this bridge");
}

/* govmm wrote chassis_nr= and shpc= on pcie-pci-bridge; QEMU 7.2: "Property
 * 'pcie-pci-bridge.chassis_nr' not found". */
static void
test_rule_pcie_chassis (void)
{
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "bridge", "br0", "bridge-type", "pcie", "chassis", "5", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "chassis", "has no chassis number");
}

static void
test_rule_pcie_shpc (void)
{
  g_autoptr(QlVmConfig) on = bridge_vm_new ("q35", NULL);
  g_autoptr(QlVmConfig) off = bridge_vm_new ("q35", NULL);

  test_assert_invalid (on, test_add_device (on, "bridge", "br0", "bridge-type", "pcie", "shpc", "true", NULL),
                       QL_CONFIG_ERROR_CONFLICT, "shpc", "has no shpc switch");
  /* Even false: the bridge has an SHPC that this cannot turn off. */
  test_assert_invalid (off, test_add_device (off, "bridge", "br0", "bridge-type", "pcie", "shpc", "false", NULL),
                       QL_CONFIG_ERROR_CONFLICT, "shpc", "has no shpc switch");
}

/* QEMU: "Bridge chassis not specified. Each bridge is required to be
 * assigned a unique chassis id > 0." */
static void
test_rule_pci_chassis_missing (void)
{
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "bridge", "br0", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "chassis", "from 1 to 255");
}

static void
test_rule_chassis_unique (void)
{
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("q35", NULL);
  QlDevice *first = test_add_device (vm, "bridge", "br0", "chassis", "3", NULL);
  QlDevice *second = test_add_device (vm, "bridge", "br1", "chassis", "3", NULL);

  test_assert_valid (vm, first);
  test_assert_invalid (vm, second, QL_CONFIG_ERROR_DUPLICATE, "chassis",
                       "'3' is also the chassis of bridge 'br0'");
}

static void
test_rule_addr (void)
{
  const char *bad[] = { "ff", "20", "pcie.0:5", "2.8", "0x2", "2.", "00:02.0", "-1" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(QlVmConfig) vm = bridge_vm_new ("q35", NULL);
      QlDevice *dev = test_add_device (vm, "bridge", "br0", "chassis", "1", "addr", bad[i], NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "addr", "is not a PCI address");
    }
}

static void
test_rule_addr_empty (void)
{
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "bridge", "br0", "chassis", "1", "addr", "", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "addr", "empty");
}

/* QEMU: "PCI: slot 0 function 0 not available for pci-bridge, in use by
 * mch" and the like, for each function the chipset takes. */
static void
test_rule_addr_taken_by_chipset (void)
{
  const struct { const char *machine; const char *addr; const char *occupant; } cases[] = {
    { "q35", "0", "host bridge (mch)" },
    { "q35", "0.3", "host bridge (mch)" },
    { "q35", "1f", "ICH9 LPC/ISA bridge" },
    { "q35", "1f.2", "ICH9 SATA controller" },
    { "q35", "1f.3", "ICH9 SMBus controller" },
    { "pc", "0", "host bridge (i440FX)" },
    { "pc", "1", "PIIX3 ISA bridge" },
    { "pc", "01.1", "PIIX3 IDE controller" },
    { "pc", "1.3", "PIIX4 power management controller" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = bridge_vm_new (cases[i].machine, NULL);
      QlDevice *dev = test_add_device (vm, "bridge", "br0", "bridge-type", "pcie",
                                       "addr", cases[i].addr, NULL);

      test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "addr", cases[i].occupant);
    }
}

/* Also on the root bus named explicitly. */
static void
test_rule_addr_taken_explicit_bus (void)
{
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "bridge", "br0", "chassis", "1", "bus", "pcie.0", "addr", "0", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "addr", "on the root bus 'pcie.0'");
}

/* QEMU: "PCI: slot 2 function 0 not available for pci-bridge, in use by
 * pci-bridge,id=br0". "2" and "02.0" are one address. */
static void
test_rule_addr_twice_on_bus (void)
{
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("q35", NULL);
  QlDevice *first = test_add_device (vm, "bridge", "br0", "chassis", "1", "addr", "2", NULL);
  QlDevice *other_bus = test_add_device (vm, "bridge", "br1", "chassis", "2", "bus", "br0", "addr", "2", NULL);
  QlDevice *second = test_add_device (vm, "bridge", "br2", "bridge-type", "pcie", "addr", "02.0", NULL);

  test_assert_valid (vm, first);
  test_assert_valid (vm, other_bus);
  test_assert_invalid (vm, second, QL_CONFIG_ERROR_CONFLICT, "addr",
                       "'02.0' on bus 'pcie.0' is taken by bridge 'br0'");
}

static void
test_rule_bad_text (void)
{
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "bridge", "br0", NULL);

  test_assert_bad_text (dev, "bridge-type", "pxb");
  test_assert_bad_text (dev, "bridge-type", "PCI");
  test_assert_bad_text (dev, "chassis", "256");
  test_assert_bad_text (dev, "chassis", "-1");
  test_assert_bad_text (dev, "chassis", "one");
  test_assert_bad_text (dev, "shpc", "maybe");
  test_assert_bad_text (dev, "type", "pci");
}

/* Bridges need no host: a fake host that has nothing changes nothing. */
static void
test_host_nothing_needed (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = bridge_vm_new ("q35", probe);

  test_add_device (vm, "bridge", "br0", "chassis", "1", "addr", "2", NULL);
  assert_argv (vm,
               "-machine\nq35\n"
               "-device\npci-bridge,bus=pcie.0,id=br0,chassis_nr=1,shpc=off,addr=2\n");
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  test_registry = ql_test_registry_new ();

  g_test_add_func ("/bridge/output/pci-defaults", test_pci_defaults);
  g_test_add_func ("/bridge/output/pci-all-options", test_pci_all_options);
  g_test_add_func ("/bridge/output/pci-on-pc", test_pci_on_pc);
  g_test_add_func ("/bridge/output/pcie", test_pcie);
  g_test_add_func ("/bridge/output/pcie-defaults", test_pcie_defaults);
  g_test_add_func ("/bridge/output/pcie-on-pc", test_pcie_on_pc);
  g_test_add_func ("/bridge/output/versioned-machine-types", test_versioned_machine_types);
  g_test_add_func ("/bridge/output/explicit-bus-any-machine", test_explicit_bus_any_machine);
  g_test_add_func ("/bridge/output/nested", test_nested);
  g_test_add_func ("/bridge/output/freed-chipset-functions", test_freed_chipset_functions);
  g_test_add_func ("/bridge/output/free-addresses", test_free_addresses);

  g_test_add_func ("/bridge/rule/isapc", test_rule_isapc);
  g_test_add_func ("/bridge/rule/bus-missing", test_rule_bus_missing);
  g_test_add_func ("/bridge/rule/bus-empty", test_rule_bus_empty);
  g_test_add_func ("/bridge/rule/bus-name", test_rule_bus_name);
  g_test_add_func ("/bridge/rule/other-machines-root-bus", test_rule_other_machines_root_bus);
  g_test_add_func ("/bridge/rule/own-bus", test_rule_own_bus);
  g_test_add_func ("/bridge/rule/bus-defined-later", test_rule_bus_defined_later);
  g_test_add_func ("/bridge/rule/pcie-chassis", test_rule_pcie_chassis);
  g_test_add_func ("/bridge/rule/pcie-shpc", test_rule_pcie_shpc);
  g_test_add_func ("/bridge/rule/pci-chassis-missing", test_rule_pci_chassis_missing);
  g_test_add_func ("/bridge/rule/chassis-unique", test_rule_chassis_unique);
  g_test_add_func ("/bridge/rule/addr", test_rule_addr);
  g_test_add_func ("/bridge/rule/addr-empty", test_rule_addr_empty);
  g_test_add_func ("/bridge/rule/addr-taken-by-chipset", test_rule_addr_taken_by_chipset);
  g_test_add_func ("/bridge/rule/chipset-function-kept-on", test_rule_chipset_function_kept_on);
  g_test_add_func ("/bridge/rule/addr-taken-explicit-bus", test_rule_addr_taken_explicit_bus);
  g_test_add_func ("/bridge/rule/addr-twice-on-bus", test_rule_addr_twice_on_bus);
  g_test_add_func ("/bridge/rule/bad-text", test_rule_bad_text);

  g_test_add_func ("/bridge/host/nothing-needed", test_host_nothing_needed);

  ret = g_test_run ();
  g_clear_object (&test_registry);
  return ret;
}
