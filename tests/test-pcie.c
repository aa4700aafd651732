/* qlaunch tests — the PCIe topology of q35: the `pcie-root-port` device type
 * (every property, every rule), the root ports the core adds for PCI
 * devices that name no bus and for [machine] hotplug-slots (numbering,
 * determinism, what is left alone), the machine-type helpers, and the
 * ports a hot-plug plan takes. */
#include "ql-device-test.h"

#include <json-glib/json-glib.h>

/* A VM of @machine_type (NULL: unset), host checks off. */
static QlVmConfig *
pcie_vm_new (const char *machine_type)
{
  QlVmConfig *vm = test_vm_new (NULL);

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

/* The argv of a VM whose only option before the devices is -machine TYPE:
 * the devices' lines, as test_assert_device_lines() gives them for a VM
 * without machine type. */
#define assert_device_lines(vm, type, expected) \
  assert_argv ((vm), "-machine\n" type "\n" expected "\n")

/* The VM does not build; its error holds every fragment. */
static void
assert_vm_error (QlVmConfig *vm,
                 gint        code,
                 ...) G_GNUC_NULL_TERMINATED;

static void
assert_vm_error (QlVmConfig *vm,
                 gint        code,
                 ...)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = ql_vm_config_to_argv (vm, &error);
  const char *fragment;
  va_list ap;

  g_assert_null (argv);
  g_assert_error (error, QL_CONFIG_ERROR, code);
  va_start (ap, code);
  while ((fragment = va_arg (ap, const char *)) != NULL)
    if (strstr (error->message, fragment) == NULL)
      g_error ("error does not hold \"%s\": %s", fragment, error->message);
  va_end (ap);
}

/* ---- the pcie-root-port device: output ---- */

/* Neither chassis nor slot: the core numbers the port as its own. */
static void
test_port_defaults (void)
{
  g_autoptr(QlVmConfig) vm = pcie_vm_new ("q35");
  QlDevice *dev = test_add_device (vm, "pcie-root-port", "rp0", NULL);
  g_autofree char *bus = NULL;
  g_autofree char *addr = NULL;
  guint chassis = 1, slot = 1, bus_reserve = 1;
  guint64 io = 1, mem = 1, pref32 = 1, pref64 = 1;
  gboolean multifunction = TRUE;

  g_object_get (dev, "bus", &bus, "addr", &addr, "chassis", &chassis, "slot", &slot,
                "multifunction", &multifunction, "bus-reserve", &bus_reserve, "io-reserve", &io,
                "mem-reserve", &mem, "pref32-reserve", &pref32, "pref64-reserve", &pref64, NULL);
  g_assert_null (bus);
  g_assert_null (addr);
  g_assert_cmpuint (chassis, ==, 0);
  g_assert_cmpuint (slot, ==, 0);
  g_assert_false (multifunction);
  g_assert_cmpuint (bus_reserve + io + mem + pref32 + pref64, ==, 0);

  assert_argv (vm,
               "-machine\nq35\n"
               "-device\npcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=1\n");
}

static void
test_port_all_options (void)
{
  g_autoptr(QlVmConfig) vm = pcie_vm_new ("q35");

  test_add_device (vm, "pcie-root-port", "rp0",
                   "bus", "pcie.0", "addr", "3", "chassis", "4", "slot", "9", "multifunction", "true",
                   "bus-reserve", "2", "io-reserve", "4K", "mem-reserve", "2M", "pref64-reserve", "1G", NULL);
  test_add_device (vm, "pcie-root-port", "rp1",
                   "addr", "3.1", "chassis", "4", "slot", "10", "io-reserve", "0", "pref32-reserve", "64M", NULL);
  assert_argv (vm,
               "-machine\nq35\n"
               "-device\npcie-root-port,id=rp0,bus=pcie.0,chassis=4,slot=9,addr=3,multifunction=on,"
               "bus-reserve=2,io-reserve=4096,mem-reserve=2097152,pref64-reserve=1073741824\n"
               "-device\npcie-root-port,id=rp1,bus=pcie.0,chassis=4,slot=10,addr=3.1,io-reserve=0,"
               "pref32-reserve=67108864\n");
}

/* One number given: the other is QEMU's default, 0, and the core leaves
 * the port alone. */
static void
test_port_half_numbered (void)
{
  g_autoptr(QlVmConfig) vm = pcie_vm_new ("q35");

  test_add_device (vm, "pcie-root-port", "rp0", "chassis", "3", NULL);
  test_add_device (vm, "pcie-root-port", "rp1", "slot", "3", NULL);
  test_add_device (vm, "pcie-root-port", "rp2", "slot", "0", NULL);
  assert_argv (vm,
               "-machine\nq35\n"
               "-device\npcie-root-port,id=rp0,bus=pcie.0,chassis=3,slot=0\n"
               "-device\npcie-root-port,id=rp1,bus=pcie.0,chassis=0,slot=3\n"
               "-device\npcie-root-port,id=rp2,bus=pcie.0,chassis=0,slot=0\n");
}

/* The 9.2 form (JSON): numbers are numbers. */
static void
test_port_json (void)
{
  g_autoptr(QlVmConfig) vm = pcie_vm_new ("q35");

  ql_vm_config_set_qemu_version (vm, 9, 2);
  test_add_device (vm, "pcie-root-port", "rp0", "io-reserve", "0", NULL);
  assert_argv (vm,
               "-machine\nq35\n"
               "-device\n{\"driver\":\"pcie-root-port\",\"id\":\"rp0\",\"bus\":\"pcie.0\",\"io-reserve\":0,"
               "\"chassis\":1,\"slot\":1}\n");
}

/* ---- the pcie-root-port device: rules ---- */

static void
test_port_rule_machine (void)
{
  const char *machines[] = { "pc", "pc-i440fx-7.2", "isapc", "microvm" };
  g_autoptr(QlVmConfig) unset = pcie_vm_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (machines); i++)
    {
      g_autoptr(QlVmConfig) vm = pcie_vm_new (machines[i]);
      g_autofree char *fragment = g_strdup_printf ("machine type '%s' has no PCI Express root bus", machines[i]);

      test_assert_invalid (vm, test_add_device (vm, "pcie-root-port", "rp0", NULL),
                           QL_CONFIG_ERROR_UNSUPPORTED, "bus", fragment);
    }
  test_assert_invalid (unset, test_add_device (unset, "pcie-root-port", "rp0", "chassis", "1", NULL),
                       QL_CONFIG_ERROR_MISSING, "bus", "no [machine] type");
}

static void
test_port_rule_bus (void)
{
  const struct { const char *bus; gint code; const char *fragment; } cases[] = {
    { "", QL_CONFIG_ERROR_INVALID_VALUE, "empty" },
    { "pcie.0,addr=3", QL_CONFIG_ERROR_INVALID_VALUE, "is not a bus name" },
    { "/machine/q35/pcie.0", QL_CONFIG_ERROR_INVALID_VALUE, "is not a bus name" },
    { "rp0", QL_CONFIG_ERROR_INVALID_VALUE, "this root port's own bus" },
    { "pci.0", QL_CONFIG_ERROR_INVALID_VALUE, "the root bus of pc" },
    { "br0", QL_CONFIG_ERROR_INVALID_VALUE, "'br0' is a bridge" },
    { "port", QL_CONFIG_ERROR_INVALID_VALUE, "'port' is a root port" },
    { "nosuch", QL_CONFIG_ERROR_INVALID_VALUE, "the VM has no bus 'nosuch'" },
    { "later", QL_CONFIG_ERROR_CONFLICT, "defined after this root port" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = pcie_vm_new ("q35");
      QlDevice *dev;

      test_add_device (vm, "bridge", "br0", "chassis", "1", NULL);
      test_add_device (vm, "pcie-root-port", "port", NULL);
      dev = test_add_device (vm, "pcie-root-port", "rp0", "bus", cases[i].bus, NULL);
      test_add_device (vm, "serial", "later", NULL);
      test_assert_invalid (vm, dev, cases[i].code, "bus", cases[i].fragment);
    }
}

/* A bus of the VM that is no bridge (a PCI Express expander of another
 * plugin would be one), defined before the port. */
static void
test_port_bus_of_the_vm (void)
{
  g_autoptr(QlVmConfig) vm = pcie_vm_new ("q35");
  QlDevice *dev;

  test_add_device (vm, "serial", "expander", "bus", "pcie.0", NULL);
  dev = test_add_device (vm, "pcie-root-port", "rp0", "bus", "expander", NULL);
  test_assert_valid (vm, dev);
}

static void
test_port_rule_addr (void)
{
  const struct { const char *addr; gint code; const char *fragment; } cases[] = {
    { "", QL_CONFIG_ERROR_INVALID_VALUE, "empty" },
    { "0x3", QL_CONFIG_ERROR_INVALID_VALUE, "is not a PCI address" },
    { "20", QL_CONFIG_ERROR_INVALID_VALUE, "is not a PCI address" },
    { "3.8", QL_CONFIG_ERROR_INVALID_VALUE, "is not a PCI address" },
    { "0", QL_CONFIG_ERROR_CONFLICT, "host bridge (mch)" },
    { "1f", QL_CONFIG_ERROR_CONFLICT, "ICH9 LPC/ISA bridge" },
    { "1f.2", QL_CONFIG_ERROR_CONFLICT, "ICH9 SATA controller" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = pcie_vm_new ("q35");
      QlDevice *dev = test_add_device (vm, "pcie-root-port", "rp0", "addr", cases[i].addr, NULL);

      test_assert_invalid (vm, dev, cases[i].code, "addr", cases[i].fragment);
    }
}

/* QEMU: "PCI: slot 3 function 0 not available for pcie-root-port, in use
 * by ...": against earlier ports and bridges, and a bridge against an
 * earlier port. */
static void
test_port_rule_addr_taken (void)
{
  g_autoptr(QlVmConfig) vm = pcie_vm_new ("q35");
  QlDevice *rp0 = test_add_device (vm, "pcie-root-port", "rp0", "addr", "3", NULL);
  QlDevice *rp1 = test_add_device (vm, "pcie-root-port", "rp1", "addr", "3.0", NULL);
  QlDevice *br0 = test_add_device (vm, "bridge", "br0", "chassis", "1", "addr", "3", NULL);
  QlDevice *br1 = test_add_device (vm, "bridge", "br1", "chassis", "2", "addr", "4", NULL);
  QlDevice *rp2 = test_add_device (vm, "pcie-root-port", "rp2", "bus", "pcie.0", "addr", "04.0", NULL);
  QlDevice *rp3 = test_add_device (vm, "pcie-root-port", "rp3", "addr", "3.1", NULL);

  test_assert_valid (vm, rp0);
  test_assert_invalid (vm, rp1, QL_CONFIG_ERROR_CONFLICT, "addr", "taken by root port 'rp0'");
  test_assert_invalid (vm, br0, QL_CONFIG_ERROR_CONFLICT, "addr", "taken by root port 'rp0'");
  test_assert_valid (vm, br1);
  test_assert_invalid (vm, rp2, QL_CONFIG_ERROR_CONFLICT, "addr", "taken by bridge 'br1'");
  test_assert_valid (vm, rp3);
}

static void
test_port_rule_multifunction (void)
{
  g_autoptr(QlVmConfig) vm = pcie_vm_new ("q35");
  QlDevice *ok = test_add_device (vm, "pcie-root-port", "rp0", "addr", "5", "multifunction", "true", NULL);
  QlDevice *no_addr = test_add_device (vm, "pcie-root-port", "rp1", "multifunction", "true", NULL);
  QlDevice *bad = test_add_device (vm, "pcie-root-port", "rp2", "addr", "6.2", "multifunction", "true", NULL);

  test_assert_valid (vm, ok);
  test_assert_valid (vm, no_addr);
  test_assert_invalid (vm, bad, QL_CONFIG_ERROR_CONFLICT, "multifunction", "'6.0'");
}

static void
test_port_rule_reserves (void)
{
  const struct { const char *key; const char *value; const char *other_key; const char *other;
                 gint code; const char *fragment; } cases[] = {
    { "io-reserve", "65537", NULL, NULL, QL_CONFIG_ERROR_INVALID_VALUE, "64K" },
    { "mem-reserve", "4G", NULL, NULL, QL_CONFIG_ERROR_INVALID_VALUE, "not below 4G" },
    { "mem-reserve", "4294967295", NULL, NULL, QL_CONFIG_ERROR_INVALID_VALUE, "not below 4G" },
    { "pref32-reserve", "4G", NULL, NULL, QL_CONFIG_ERROR_INVALID_VALUE, "pref64-reserve" },
    { "pref64-reserve", "1G", "pref32-reserve", "16M", QL_CONFIG_ERROR_CONFLICT, "PREF32 and PREF64 conflict" },
  };
  const char *fine[][2] = {
    { "io-reserve", "64K" }, { "mem-reserve", "4294967294" }, { "pref32-reserve", "2G" },
    { "pref64-reserve", "64G" }, { "bus-reserve", "254" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = pcie_vm_new ("q35");
      QlDevice *dev = test_add_device (vm, "pcie-root-port", "rp0", cases[i].key, cases[i].value,
                                       cases[i].other_key, cases[i].other, NULL);

      test_assert_invalid (vm, dev, cases[i].code, cases[i].key, cases[i].fragment);
    }
  for (guint i = 0; i < G_N_ELEMENTS (fine); i++)
    {
      g_autoptr(QlVmConfig) vm = pcie_vm_new ("q35");

      test_assert_valid (vm, test_add_device (vm, "pcie-root-port", "rp0", fine[i][0], fine[i][1], NULL));
    }
}

/* QEMU 7.2: "Can't add chassis slot, error -16". */
static void
test_port_rule_pair_unique (void)
{
  g_autoptr(QlVmConfig) vm = pcie_vm_new ("q35");
  QlDevice *rp0 = test_add_device (vm, "pcie-root-port", "rp0", "chassis", "1", "slot", "2", NULL);
  QlDevice *rp1 = test_add_device (vm, "pcie-root-port", "rp1", "chassis", "1", "slot", "3", NULL);
  QlDevice *rp2 = test_add_device (vm, "pcie-root-port", "rp2", "chassis", "1", "slot", "2", NULL);
  QlDevice *rp3 = test_add_device (vm, "pcie-root-port", "rp3", "chassis", "5", NULL);
  QlDevice *rp4 = test_add_device (vm, "pcie-root-port", "rp4", "chassis", "5", NULL);
  QlDevice *rp5 = test_add_device (vm, "pcie-root-port", "rp5", NULL);
  QlDevice *rp6 = test_add_device (vm, "pcie-root-port", "rp6", NULL);

  test_assert_valid (vm, rp0);
  test_assert_valid (vm, rp1);
  test_assert_invalid (vm, rp2, QL_CONFIG_ERROR_DUPLICATE, "slot",
                       "chassis 1 slot 2 is also the chassis and slot of root port 'rp0'");
  test_assert_valid (vm, rp3);
  test_assert_invalid (vm, rp4, QL_CONFIG_ERROR_DUPLICATE, "chassis",
                       "chassis 5 slot 0 is also the chassis and slot of root port 'rp3'");
  /* Numbered by qlaunch: never a clash. */
  test_assert_valid (vm, rp5);
  test_assert_valid (vm, rp6);
}

static void
test_port_bad_text (void)
{
  g_autoptr(QlVmConfig) vm = pcie_vm_new ("q35");
  QlDevice *dev = test_add_device (vm, "pcie-root-port", "rp0", NULL);

  test_assert_bad_text (dev, "chassis", "256");
  test_assert_bad_text (dev, "chassis", "-1");
  test_assert_bad_text (dev, "chassis", "one");
  test_assert_bad_text (dev, "slot", "256");
  test_assert_bad_text (dev, "slot", "0x3");
  test_assert_bad_text (dev, "multifunction", "maybe");
  test_assert_bad_text (dev, "bus-reserve", "255");
  test_assert_bad_text (dev, "bus-reserve", "-1");
  test_assert_bad_text (dev, "io-reserve", "4Q");
  test_assert_bad_text (dev, "io-reserve", "-1");
  test_assert_bad_text (dev, "mem-reserve", "2 M");
  test_assert_bad_text (dev, "pref32-reserve", "lots");
  test_assert_bad_text (dev, "pref64-reserve", "18446744073709551615");
  test_assert_bad_text (dev, "pref64-reserve", "16777216T");
  test_assert_bad_text (dev, "port", "1");
}

/* Every property has a blurb naming its QEMU key and its default. */
static void
test_port_blurbs (void)
{
  g_autofree GParamSpec **pspecs = NULL;
  const char *keys[] = { "bus", "addr", "chassis", "slot", "multifunction", "bus-reserve", "io-reserve",
                         "mem-reserve", "pref32-reserve", "pref64-reserve" };
  guint n = 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(QlDevice) dev = ql_registry_create_device (test_registry, "pcie-root-port", "rp0", &error);

  g_assert_no_error (error);
  pspecs = g_object_class_list_properties (G_OBJECT_GET_CLASS (dev), &n);
  /* Its own keys, and QlDevice's id, qemu-set and qemu-unset. */
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (keys) + 3);
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (dev), keys[i]);
      g_autofree char *qemu_key = g_strdup_printf ("(%s=", keys[i]);
      const char *blurb;

      g_assert_nonnull (pspec);
      blurb = g_param_spec_get_blurb (pspec);
      g_assert_nonnull (blurb);
      if (strstr (blurb, qemu_key) == NULL)
        g_error ("the blurb of '%s' does not name QEMU's key: %s", keys[i], blurb);
      if (strstr (blurb, "default") == NULL)
        g_error ("the blurb of '%s' does not give the default: %s", keys[i], blurb);
    }
}

/* ---- the ports the core adds ---- */

static void
test_auto_placement (void)
{
  g_autoptr(QlVmConfig) vm = pcie_vm_new ("q35");

  test_add_device (vm, "rng", "rng0", "backend", "builtin", NULL);
  test_add_device (vm, "serial", "vser0", NULL);
  test_add_device (vm, "char", "con0", "driver", "virtconsole", "backend", "pty", "bus", "vser0.0", NULL);
  test_add_device (vm, "scsi-controller", "scsi0", NULL);
  test_add_device (vm, "block", "sd0", "file", "/d.raw", "format", "raw", "interface", "scsi", "bus", "scsi0.0", NULL);
  assert_device_lines (vm, "q35",
                       "-object\nrng-builtin,id=rng0\n"
                       "-device\npcie-root-port,id=ql-port1,bus=pcie.0,chassis=1,slot=1\n"
                       "-device\nvirtio-rng-pci,id=rng0,rng=rng0,bus=ql-port1\n"
                       "-device\npcie-root-port,id=ql-port2,bus=pcie.0,chassis=2,slot=2\n"
                       "-device\nvirtio-serial-pci,id=vser0,bus=ql-port2\n"
                       "-device\nvirtconsole,id=con0,chardev=con0,bus=vser0.0\n"
                       "-chardev\npty,id=con0\n"
                       "-device\npcie-root-port,id=ql-port3,bus=pcie.0,chassis=3,slot=3\n"
                       "-device\nvirtio-scsi-pci,id=scsi0,bus=ql-port3\n"
                       "-device\nscsi-hd,id=sd0,drive=sd0,bus=scsi0.0\n"
                       "-drive\nid=sd0,file=/d.raw,aio=threads,format=raw,if=none");
}

/* A bus or an address (on the root bus) is the VM file's choice. */
static void
test_auto_leaves_bus_and_addr (void)
{
  g_autoptr(QlVmConfig) vm = pcie_vm_new ("q35");

  test_add_device (vm, "rng", "rng0", "backend", "builtin", "bus", "pcie.0", NULL);
  test_add_device (vm, "rng", "rng1", "backend", "builtin", "addr", "7", NULL);
  test_add_device (vm, "pcie-root-port", "rp0", "chassis", "1", "slot", "1", NULL);
  test_add_device (vm, "rng", "rng2", "backend", "builtin", "bus", "rp0", NULL);
  assert_device_lines (vm, "q35",
                       "-object\nrng-builtin,id=rng0\n"
                       "-device\nvirtio-rng-pci,id=rng0,rng=rng0,bus=pcie.0\n"
                       "-object\nrng-builtin,id=rng1\n"
                       "-device\nvirtio-rng-pci,id=rng1,rng=rng1,addr=7\n"
                       "-device\npcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=1\n"
                       "-object\nrng-builtin,id=rng2\n"
                       "-device\nvirtio-rng-pci,id=rng2,rng=rng2,bus=rp0");
}

/* Numbers no bridge chassis, root port chassis or root port slot uses, and
 * ids no device uses; ports without numbers take the next in order. */
static void
test_auto_numbering (void)
{
  g_autoptr(QlVmConfig) vm = pcie_vm_new ("q35");

  test_add_device (vm, "rng", "ql-port1", "backend", "builtin", NULL);
  test_add_device (vm, "bridge", "br0", "chassis", "2", NULL);
  test_add_device (vm, "pcie-root-port", "rp0", "chassis", "4", "slot", "3", NULL);
  test_add_device (vm, "pcie-root-port", "rp1", NULL);
  test_add_device (vm, "serial", "vser0", NULL);
  g_object_set (vm, "machine-hotplug-slots", 1, NULL);
  assert_device_lines (vm, "q35",
                       "-object\nrng-builtin,id=ql-port1\n"
                       "-device\npcie-root-port,id=ql-port5,bus=pcie.0,chassis=5,slot=5\n"
                       "-device\nvirtio-rng-pci,id=ql-port1,rng=ql-port1,bus=ql-port5\n"
                       "-device\npci-bridge,bus=pcie.0,id=br0,chassis_nr=2,shpc=off\n"
                       "-device\npcie-root-port,id=rp0,bus=pcie.0,chassis=4,slot=3\n"
                       "-device\npcie-root-port,id=rp1,bus=pcie.0,chassis=6,slot=6\n"
                       "-device\npcie-root-port,id=ql-port7,bus=pcie.0,chassis=7,slot=7\n"
                       "-device\nvirtio-serial-pci,id=vser0,bus=ql-port7\n"
                       "-device\npcie-root-port,id=ql-hotplug8,bus=pcie.0,chassis=8,slot=8");
}

/* The same VM file gives the same topology, byte for byte. */
static void
test_auto_deterministic (void)
{
  const char *text =
    "[machine]\ntype = q35\nhotplug-slots = 2\n"
    "[device br0]\ntype = bridge\nchassis = 3\n"
    "[device rng0]\ntype = rng\nbackend = builtin\n"
    "[device rp0]\ntype = pcie-root-port\n"
    "[device vser0]\ntype = serial\n"
    "[device disk0]\ntype = block\nfile = /d.raw\nformat = raw\n";
  g_autoptr(QlVmConfig) first = ql_test_load_vm (test_registry, text);
  g_autoptr(QlVmConfig) second = ql_test_load_vm (test_registry, text);
  g_autoptr(GError) error = NULL;
  g_autofree char *a = ql_test_argv_string (first, &error);
  g_autofree char *b = NULL;
  g_autofree char *c = NULL;

  g_assert_no_error (error);
  b = ql_test_argv_string (first, &error);
  g_assert_no_error (error);
  c = ql_test_argv_string (second, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (a, ==, b);
  g_assert_cmpstr (a, ==, c);
  g_assert_nonnull (strstr (a, "pcie-root-port,id=ql-port1,bus=pcie.0,chassis=1,slot=1\n-device\nvirtio-rng-pci"));
  g_assert_nonnull (strstr (a, "pcie-root-port,id=rp0,bus=pcie.0,chassis=2,slot=2\n"));
  g_assert_nonnull (strstr (a, "pcie-root-port,id=ql-hotplug6,bus=pcie.0,chassis=6,slot=6\n"
                               "-device\npcie-root-port,id=ql-hotplug7,bus=pcie.0,chassis=7,slot=7\n"));
}

static void
test_hotplug_slots (void)
{
  g_autoptr(QlVmConfig) vm = pcie_vm_new ("pc-q35-7.2");

  g_object_set (vm, "machine-hotplug-slots", 3, "memory-size", (guint64) 256 << 20, NULL);
  assert_argv (vm,
               "-machine\npc-q35-7.2\n"
               "-m\n256M\n"
               "-device\npcie-root-port,id=ql-hotplug1,bus=pcie.0,chassis=1,slot=1\n"
               "-device\npcie-root-port,id=ql-hotplug2,bus=pcie.0,chassis=2,slot=2\n"
               "-device\npcie-root-port,id=ql-hotplug3,bus=pcie.0,chassis=3,slot=3\n");
}

static void
test_hotplug_slots_rules (void)
{
  const char *not_pcie[] = { "pc", "pc-i440fx-7.2", "isapc", "microvm", "virt" };
  g_autoptr(QlVmConfig) unset = pcie_vm_new (NULL);
  g_autoptr(QlVmConfig) zero = pcie_vm_new ("pc");
  g_autoptr(QlVmConfig) range = pcie_vm_new ("q35");
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (not_pcie); i++)
    {
      g_autoptr(QlVmConfig) vm = pcie_vm_new (not_pcie[i]);
      g_autofree char *fragment = g_strdup_printf ("machine type '%s' has no PCIe root ports", not_pcie[i]);

      g_object_set (vm, "machine-hotplug-slots", 1, NULL);
      assert_vm_error (vm, QL_CONFIG_ERROR_UNSUPPORTED, "[machine] hotplug-slots: ", fragment,
                       "type = q35", NULL);
    }
  g_object_set (unset, "machine-hotplug-slots", 2, NULL);
  assert_vm_error (unset, QL_CONFIG_ERROR_MISSING, "[machine] hotplug-slots: ", "no [machine] type", NULL);
  /* 0 reserves nothing, anywhere. */
  g_object_set (zero, "machine-hotplug-slots", 0, NULL);
  assert_argv (zero, "-machine\npc\n");
  /* At most the 30 free slots of pcie.0. */
  g_assert_false (ql_vm_config_set_from_string (range, "machine-hotplug-slots", "31", &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE);
  g_assert_nonnull (strstr (error->message, "0..30"));
}

static void
test_auto_root_ports_off (void)
{
  g_autoptr(QlVmConfig) vm = pcie_vm_new ("q35");
  g_autoptr(QlVmConfig) pc = pcie_vm_new ("pc");
  g_autoptr(QlVmConfig) pc_off = pcie_vm_new ("pc");
  gboolean on = FALSE;

  g_object_get (vm, "machine-auto-root-ports", &on, NULL);
  g_assert_true (on);
  g_object_set (vm, "machine-auto-root-ports", FALSE, "machine-hotplug-slots", 1, NULL);
  test_add_device (vm, "rng", "rng0", "backend", "builtin", NULL);
  assert_argv (vm,
               "-machine\nq35\n"
               "-object\nrng-builtin,id=rng0\n"
               "-device\nvirtio-rng-pci,id=rng0,rng=rng0\n"
               "-device\npcie-root-port,id=ql-hotplug1,bus=pcie.0,chassis=1,slot=1\n");
  /* Asking for it where there are no root ports is an error; turning it
   * off there changes nothing. */
  g_object_set (pc, "machine-auto-root-ports", TRUE, NULL);
  assert_vm_error (pc, QL_CONFIG_ERROR_UNSUPPORTED, "[machine] auto-root-ports: ", "machine type 'pc'", NULL);
  g_object_set (pc_off, "machine-auto-root-ports", FALSE, NULL);
  assert_argv (pc_off, "-machine\npc\n");
}

/* pc: the same devices, not a byte more. */
static void
test_pc_unaffected (void)
{
  const char *machines[] = { "pc", "pc-i440fx-7.2" };

  for (guint i = 0; i < G_N_ELEMENTS (machines); i++)
    {
      g_autoptr(QlVmConfig) vm = pcie_vm_new (machines[i]);
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;
      g_autofree char *expected = g_strdup_printf ("-machine\n%s\n"
                                                   "-object\nrng-builtin,id=rng0\n"
                                                   "-device\nvirtio-rng-pci,id=rng0,rng=rng0\n"
                                                   "-device\nvirtio-serial-pci,id=vser0\n"
                                                   "-device\nvirtio-blk-pci,id=disk0,drive=disk0,config-wce=off\n"
                                                   "-drive\nid=disk0,file=/d.raw,aio=threads,format=raw,if=none\n",
                                                   machines[i]);

      test_add_device (vm, "rng", "rng0", "backend", "builtin", NULL);
      test_add_device (vm, "serial", "vser0", NULL);
      test_add_device (vm, "block", "disk0", "file", "/d.raw", "format", "raw", NULL);
      text = ql_test_argv_string (vm, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (text, ==, expected);
    }
}

/* No machine type (QEMU's default, pc on x86): nothing is added. */
static void
test_no_machine_type (void)
{
  g_autoptr(QlVmConfig) vm = pcie_vm_new (NULL);

  test_add_device (vm, "rng", "rng0", "backend", "builtin", NULL);
  test_add_device (vm, "serial", "vser0", NULL);
  test_assert_device_lines (vm,
                            "-object\nrng-builtin,id=rng0\n"
                            "-device\nvirtio-rng-pci,id=rng0,rng=rng0\n"
                            "-device\nvirtio-serial-pci,id=vser0");
}

/* q35's root bus has 30 free slots: 29 devices and 2 reserved ports are
 * too many; QEMU would say "PCI: no slot/function available". */
static void
test_root_bus_full (void)
{
  g_autoptr(QlVmConfig) reserved = pcie_vm_new ("q35");
  g_autoptr(QlVmConfig) devices = pcie_vm_new ("q35");
  g_autoptr(QlVmConfig) fits = pcie_vm_new ("q35");

  g_object_set (reserved, "machine-hotplug-slots", 2, NULL);
  g_object_set (fits, "machine-hotplug-slots", 1, NULL);
  for (guint i = 0; i < 29; i++)
    {
      g_autofree char *id = g_strdup_printf ("rng%u", i);

      test_add_device (reserved, "rng", id, "backend", "builtin", NULL);
      test_add_device (fits, "rng", id, "backend", "builtin", NULL);
    }
  for (guint i = 0; i < 31; i++)
    {
      g_autofree char *id = g_strdup_printf ("rng%u", i);

      test_add_device (devices, "rng", id, "backend", "builtin", i == 30 ? "addr" : NULL, "3", NULL);
    }
  /* Validation says it (what validates builds). */
  {
    g_autoptr(GError) error = NULL;

    g_assert_false (ql_vm_config_validate (reserved, &error));
    g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT);
  }
  assert_vm_error (reserved, QL_CONFIG_ERROR_CONFLICT, "[machine] hotplug-slots: ", "needs 31 slots",
                   "2 root ports reserved", "29 root ports qlaunch adds", NULL);
  assert_vm_error (devices, QL_CONFIG_ERROR_CONFLICT, "[machine] auto-root-ports: ", "needs 31 slots",
                   "30 root ports qlaunch adds", "1 other devices", NULL);
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *text = ql_test_argv_string (fits, &error);

    g_assert_no_error (error);
    g_assert_nonnull (strstr (text, "id=ql-hotplug30,bus=pcie.0,chassis=30,slot=30\n"));
  }
}

/* Every number taken (root ports' chassis and slots, a bridge's chassis):
 * none left for the port of a device. */
static void
test_numbers_exhausted (void)
{
  g_autoptr(QlVmConfig) vm = pcie_vm_new ("q35");

  for (guint i = 0; i < 127; i++)
    {
      g_autofree char *id = g_strdup_printf ("rp%u", i);
      g_autofree char *chassis = g_strdup_printf ("%u", 2 * i + 1);
      g_autofree char *slot = g_strdup_printf ("%u", 2 * i + 2);

      test_add_device (vm, "pcie-root-port", id, "chassis", chassis, "slot", slot, NULL);
    }
  test_add_device (vm, "bridge", "br0", "chassis", "255", NULL);
  test_add_device (vm, "rng", "rng0", "backend", "builtin", NULL);
  assert_vm_error (vm, QL_CONFIG_ERROR_CONFLICT, "[machine] auto-root-ports: ",
                   "more than 255 chassis numbers", NULL);
}

/* QEMU 7.2 takes `bus=PORT,addr=5` and the guest never sees the device. */
static void
test_addr_behind_port (void)
{
  g_autoptr(QlVmConfig) vm = pcie_vm_new ("q35");
  g_autoptr(QlVmConfig) slot0 = pcie_vm_new ("q35");

  test_add_device (vm, "pcie-root-port", "rp0", NULL);
  test_add_device (vm, "rng", "rng0", "backend", "builtin", "bus", "rp0", "addr", "5", NULL);
  g_assert_false (ql_vm_config_validate (vm, NULL));
  assert_vm_error (vm, QL_CONFIG_ERROR_INVALID_VALUE, "device 'rng0': property 'addr': '5' on bus 'rp0'",
                   "one slot, 0", NULL);
  test_add_device (slot0, "pcie-root-port", "rp0", NULL);
  test_add_device (slot0, "rng", "rng0", "backend", "builtin", "bus", "rp0", "addr", "0.0", NULL);
  assert_device_lines (slot0, "q35",
                       "-device\npcie-root-port,id=rp0,bus=pcie.0,chassis=1,slot=1\n"
                       "-object\nrng-builtin,id=rng0\n"
                       "-device\nvirtio-rng-pci,id=rng0,rng=rng0,bus=rp0,addr=0.0");
}

/* ---- which -device is a PCI endpoint ---- */

static void
test_endpoint_rule (void)
{
  g_autoptr(QlCmdline) cl = ql_cmdline_new ("qemu");
  const struct { const char *flag; const char *driver; QlPciPlacement mark; gboolean endpoint; } cases[] = {
    { "-device", "virtio-net-pci", QL_PCI_PLACEMENT_AUTO, TRUE },
    { "-device", "vfio-pci", QL_PCI_PLACEMENT_AUTO, TRUE },
    { "-device", "virtio-net-pci-non-transitional", QL_PCI_PLACEMENT_AUTO, TRUE },
    { "-device", "virtio-9p-pci-transitional", QL_PCI_PLACEMENT_AUTO, TRUE },
    { "-device", "virtio-blk", QL_PCI_PLACEMENT_AUTO, TRUE },
    { "-device", "virtio-serial", QL_PCI_PLACEMENT_AUTO, TRUE },
    { "-device", "scsi-hd", QL_PCI_PLACEMENT_AUTO, FALSE },
    { "-device", "virtserialport", QL_PCI_PLACEMENT_AUTO, FALSE },
    { "-device", "nvdimm", QL_PCI_PLACEMENT_AUTO, FALSE },
    { "-device", "pcie-root-port", QL_PCI_PLACEMENT_AUTO, FALSE },
    { "-device", "pci-bridge", QL_PCI_PLACEMENT_AUTO, FALSE },
    { "-device", "e1000e", QL_PCI_PLACEMENT_AUTO, FALSE },
    { "-device", "e1000", QL_PCI_PLACEMENT_AUTO, FALSE },
    { "-device", "-pci", QL_PCI_PLACEMENT_AUTO, FALSE },
    { "-device", "e1000e", QL_PCI_PLACEMENT_ROOT_PORT, TRUE },
    { "-device", "virtio-gpu-pci", QL_PCI_PLACEMENT_NONE, FALSE },
    { "-netdev", "virtio-net-pci", QL_PCI_PLACEMENT_AUTO, FALSE },
    { "-object", "rng-random", QL_PCI_PLACEMENT_ROOT_PORT, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      QlOption *option = ql_cmdline_add_option (cl, cases[i].flag, cases[i].driver, NULL);

      g_assert_cmpint (ql_option_get_pci_placement (option), ==, QL_PCI_PLACEMENT_AUTO);
      ql_option_set_pci_placement (option, cases[i].mark);
      g_assert_cmpint (ql_option_get_pci_placement (option), ==, cases[i].mark);
      if (ql_option_is_pci_endpoint (option) != cases[i].endpoint)
        g_error ("%s %s (mark %d): expected %s", cases[i].flag, cases[i].driver, cases[i].mark,
                 cases[i].endpoint ? "a PCI endpoint" : "no PCI endpoint");
    }
}

/* ---- the machine type ---- */

static void
test_machine_type (void)
{
  const struct { const char *type; gboolean pcie; } cases[] = {
    { "q35", TRUE }, { "pc-q35-7.2", TRUE }, { "pc-q35-2.12", TRUE }, { "pc-q35-rhel9.2.0", TRUE },
    { "pc", FALSE }, { "pc-i440fx-7.2", FALSE }, { "isapc", FALSE }, { "microvm", FALSE },
    { "virt", FALSE }, { "q35x", FALSE }, { NULL, FALSE },
  };
  g_autoptr(QlQemuCaps) unprobed = ql_qemu_caps_new_for_version ("7.2", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlVmConfig) vm = pcie_vm_new (cases[i].type);

      /* Without a probed binary, the type as written. */
      g_assert_cmpstr (ql_vm_config_resolve_machine_type (vm), ==, cases[i].type);
      g_assert_cmpint (ql_vm_config_is_pcie_machine (vm), ==, cases[i].pcie);
      /* Capabilities of a version alone know no machine: the same. */
      ql_vm_config_set_qemu_caps (vm, unprobed);
      g_assert_true (ql_vm_config_get_qemu_caps (vm) == unprobed);
      g_assert_cmpstr (ql_vm_config_resolve_machine_type (vm), ==, cases[i].type);
      g_assert_cmpint (ql_vm_config_is_pcie_machine (vm), ==, cases[i].pcie);
      ql_vm_config_set_qemu_caps (vm, NULL);
      g_assert_null (ql_vm_config_get_qemu_caps (vm));
    }
}

/* ---- hot-plug plans ---- */

static QlDevice *
spec_device (const char *spec)
{
  g_autoptr(GError) error = NULL;
  QlDevice *device = ql_registry_create_device_from_spec (test_registry, spec, &error);

  g_assert_no_error (error);
  return device;
}

/* The bus of the plan's device_add (NULL: none). */
static char *
plan_bus (JsonArray *plan)
{
  JsonObject *last = json_array_get_object_element (plan, json_array_get_length (plan) - 1);
  JsonObject *args = json_object_get_object_member (last, "arguments");

  g_assert_cmpstr (json_object_get_string_member (last, "execute"), ==, "device_add");
  return g_strdup (json_object_get_string_member_with_default (args, "bus", NULL));
}

static void
test_plan_reserved_ports (void)
{
  g_autoptr(QlVmConfig) vm = ql_test_load_vm (test_registry,
                                              "[machine]\ntype = q35\nhotplug-slots = 2\n"
                                              "[device br0]\ntype = bridge\nchassis = 1\n"
                                              "[device rng0]\ntype = rng\nbackend = builtin\n");
  g_autoptr(QlDevice) hd1 = spec_device ("block,id=hd1,file=/a.raw,format=raw");
  g_autoptr(QlDevice) hd2 = spec_device ("block,id=hd2,file=/b.raw,format=raw");
  g_autoptr(QlDevice) hd3 = spec_device ("block,id=hd3,file=/c.raw,format=raw");
  g_autoptr(QlDevice) named = spec_device ("block,id=hd4,file=/d.raw,format=raw,bus=br0,addr=3");
  g_autoptr(QlDevice) port = spec_device ("char,id=con1,driver=virtconsole,backend=pty,bus=vser0.0");
  g_autoptr(QlDevice) vser = spec_device ("serial,id=vser0,bus=br0,addr=4");
  g_autoptr(JsonArray) plan = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *bus = NULL;

  /* The ports: ql-port2 for rng0 (1 is the bridge's chassis), then
   * ql-hotplug3 and ql-hotplug4. */
  plan = ql_hotplug_plan (hd1, vm, NULL, &error);
  g_assert_no_error (error);
  bus = plan_bus (plan);
  g_assert_cmpstr (bus, ==, "ql-hotplug3");
  /* Planned again (it did not join): the same port. */
  g_clear_pointer (&plan, json_array_unref);
  g_clear_pointer (&bus, g_free);
  plan = ql_hotplug_plan (hd1, vm, NULL, &error);
  g_assert_no_error (error);
  bus = plan_bus (plan);
  g_assert_cmpstr (bus, ==, "ql-hotplug3");
  ql_vm_config_add_device (vm, hd1);

  g_clear_pointer (&plan, json_array_unref);
  g_clear_pointer (&bus, g_free);
  plan = ql_hotplug_plan (hd2, vm, NULL, &error);
  g_assert_no_error (error);
  bus = plan_bus (plan);
  g_assert_cmpstr (bus, ==, "ql-hotplug4");
  ql_vm_config_add_device (vm, hd2);

  /* A device with a bus of its own, and one on no PCI bus, need none. */
  g_clear_pointer (&plan, json_array_unref);
  g_clear_pointer (&bus, g_free);
  plan = ql_hotplug_plan (named, vm, NULL, &error);
  g_assert_no_error (error);
  bus = plan_bus (plan);
  g_assert_cmpstr (bus, ==, "br0");
  g_clear_pointer (&plan, json_array_unref);
  plan = ql_hotplug_plan (vser, vm, NULL, &error);
  g_assert_no_error (error);
  ql_vm_config_add_device (vm, vser);
  g_clear_pointer (&plan, json_array_unref);
  plan = ql_hotplug_plan (port, vm, NULL, &error);
  g_assert_no_error (error);

  /* Both reserved ports are planned: no third. */
  g_clear_pointer (&plan, json_array_unref);
  plan = ql_hotplug_plan (hd3, vm, NULL, &error);
  g_assert_null (plan);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT);
  g_assert_true (g_str_has_prefix (error->message, "device 'hd3': no free PCIe root port"));
  g_assert_nonnull (strstr (error->message, "reserves 2 root ports for hot-plug ([machine] hotplug-slots = 2)"));
  g_assert_nonnull (strstr (error->message, "larger [machine] hotplug-slots = N"));
}

static void
test_plan_no_reserved_port (void)
{
  g_autoptr(QlVmConfig) q35 = ql_test_load_vm (test_registry, "[machine]\ntype = q35\n");
  g_autoptr(QlVmConfig) pc = ql_test_load_vm (test_registry, "[machine]\ntype = pc\n");
  g_autoptr(QlDevice) disk = spec_device ("block,id=hd1,file=/a.raw,format=raw");
  g_autoptr(QlDevice) host_disk = spec_device ("block,id=hd2,file=/dev/null,format=raw");
  g_autoptr(JsonArray) plan = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *bus = NULL;

  plan = ql_hotplug_plan (disk, q35, NULL, &error);
  g_assert_null (plan);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT);
  g_assert_nonnull (strstr (error->message, "device 'hd1'"));
  g_assert_nonnull (strstr (error->message, "reserves no root port for hot-plug"));
  g_assert_nonnull (strstr (error->message, "[machine] hotplug-slots = N"));
  g_clear_error (&error);

  /* pc, and no VM at all: QEMU's root bus, as before. */
  plan = ql_hotplug_plan (disk, pc, NULL, &error);
  g_assert_no_error (error);
  bus = plan_bus (plan);
  g_assert_null (bus);
  g_clear_pointer (&plan, json_array_unref);
  g_clear_pointer (&bus, g_free);
  /* (An empty VM checks the host: the file must be there.) */
  plan = ql_hotplug_plan (host_disk, NULL, NULL, &error);
  g_assert_no_error (error);
  bus = plan_bus (plan);
  g_assert_null (bus);
}

/* `qlaunch hotplug --dry-run --vm`: several devices in one command take
 * the reserved ports in turn, and the third finds none. */
static void
test_cli_dry_run (void)
{
  g_autofree char *dir = ql_test_make_tmpdir ();
  g_autofree char *vm = g_build_filename (dir, "vm.vm", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  const char *plugins = g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR");
  const char *two[] = { "--plugin-dir", plugins, "hotplug", "--dry-run", "--vm", vm,
                        "-d", "rng,id=rng1,backend=builtin", "-d", "serial,id=vser1", NULL };
  const char *three[] = { "--plugin-dir", plugins, "hotplug", "--dry-run", "--vm", vm,
                          "-d", "rng,id=rng1,backend=builtin", "-d", "serial,id=vser1",
                          "-d", "rng,id=rng2,backend=builtin", NULL };

  g_assert_true (g_file_set_contents (vm, "[machine]\ntype = q35\nhotplug-slots = 2\n"
                                          "[device rng0]\ntype = rng\nbackend = builtin\n", -1, &error));
  g_assert_cmpint (ql_test_run_cli (two, &out, &err), ==, 0);
  g_assert_cmpstr (err, ==, "");
  g_assert_nonnull (strstr (out, "\"bus\" : \"ql-hotplug2\""));
  g_assert_nonnull (strstr (out, "\"bus\" : \"ql-hotplug3\""));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (ql_test_run_cli (three, &out, &err), ==, 1);
  g_assert_cmpstr (out, ==, "");
  g_assert_nonnull (strstr (err, "qlaunch: hotplug: device 'rng2' (rng): no free PCIe root port"));
  g_assert_nonnull (strstr (err, "[machine] hotplug-slots = 2"));
  ql_test_rm_rf (dir);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  test_registry = ql_test_registry_new ();

  g_test_add_func ("/pcie/port/defaults", test_port_defaults);
  g_test_add_func ("/pcie/port/all-options", test_port_all_options);
  g_test_add_func ("/pcie/port/half-numbered", test_port_half_numbered);
  g_test_add_func ("/pcie/port/json", test_port_json);
  g_test_add_func ("/pcie/port/rule/machine", test_port_rule_machine);
  g_test_add_func ("/pcie/port/rule/bus", test_port_rule_bus);
  g_test_add_func ("/pcie/port/bus-of-the-vm", test_port_bus_of_the_vm);
  g_test_add_func ("/pcie/port/rule/addr", test_port_rule_addr);
  g_test_add_func ("/pcie/port/rule/addr-taken", test_port_rule_addr_taken);
  g_test_add_func ("/pcie/port/rule/multifunction", test_port_rule_multifunction);
  g_test_add_func ("/pcie/port/rule/reserves", test_port_rule_reserves);
  g_test_add_func ("/pcie/port/rule/pair-unique", test_port_rule_pair_unique);
  g_test_add_func ("/pcie/port/bad-text", test_port_bad_text);
  g_test_add_func ("/pcie/port/blurbs", test_port_blurbs);

  g_test_add_func ("/pcie/auto/placement", test_auto_placement);
  g_test_add_func ("/pcie/auto/leaves-bus-and-addr", test_auto_leaves_bus_and_addr);
  g_test_add_func ("/pcie/auto/numbering", test_auto_numbering);
  g_test_add_func ("/pcie/auto/deterministic", test_auto_deterministic);
  g_test_add_func ("/pcie/auto/hotplug-slots", test_hotplug_slots);
  g_test_add_func ("/pcie/auto/hotplug-slots-rules", test_hotplug_slots_rules);
  g_test_add_func ("/pcie/auto/off", test_auto_root_ports_off);
  g_test_add_func ("/pcie/auto/pc-unaffected", test_pc_unaffected);
  g_test_add_func ("/pcie/auto/no-machine-type", test_no_machine_type);
  g_test_add_func ("/pcie/auto/root-bus-full", test_root_bus_full);
  g_test_add_func ("/pcie/auto/numbers-exhausted", test_numbers_exhausted);
  g_test_add_func ("/pcie/auto/addr-behind-port", test_addr_behind_port);
  g_test_add_func ("/pcie/endpoint-rule", test_endpoint_rule);
  g_test_add_func ("/pcie/machine-type", test_machine_type);

  g_test_add_func ("/pcie/plan/reserved-ports", test_plan_reserved_ports);
  g_test_add_func ("/pcie/plan/no-reserved-port", test_plan_no_reserved_port);
  g_test_add_func ("/pcie/plan/cli-dry-run", test_cli_dry_run);

  ret = g_test_run ();
  g_clear_object (&test_registry);
  return ret;
}
