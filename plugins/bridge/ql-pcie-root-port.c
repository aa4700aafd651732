/* qlaunch bridge plugin — QlPcieRootPort: a PCI Express root port, the
 * slot a device is hot-plugged into (and unplugged from) on q35, whose root
 * bus pcie.0 takes no hot-plug.
 *
 *   -device pcie-root-port,id=ID,bus=pcie.0,chassis=C,slot=S[,addr=A]
 *           [,multifunction=on][,bus-reserve=N][,io-reserve=B]
 *           [,mem-reserve=B][,pref32-reserve=B|,pref64-reserve=B]
 *
 * The core already gives every PCI device that names no bus a port of its
 * own, and [machine] hotplug-slots reserves empty ones; a port of the VM
 * file is for a device that must sit in a known port (bus=ID), for a port
 * that hot-plug may only use when named, or for the firmware's reservation
 * hints (the *-reserve sizes of QEMU's resource reserve capability).
 *
 * Rules QEMU 7.2 does not make, or makes late:
 * - q35 only: QEMU accepts a pcie-root-port on pc's conventional root bus;
 * - the port plugs into the root complex (pcie.0, or an expander bus of
 *   the VM), never behind a bridge or another port, which QEMU accepts too;
 * - each (chassis, slot) pair is the VM's own (QEMU: "Can't add chassis
 *   slot, error -16", comparing slot numbers modulo 256: slot is 0..255
 *   here); with neither given, the core numbers the port as its own;
 * - pref32-reserve and pref64-reserve exclude each other, mem-reserve and
 *   pref32-reserve stay below 4 GiB (QEMU: "PCI resource reserve cap: ..."),
 *   io-reserve within x86's 64 KiB I/O space (QEMU takes any size).
 */
#include "ql-pcie-root-port.h"
#include "ql-bridge-common.h"
#include "ql-bridge-device.h"

#define MAX_CHASSIS 255
#define MAX_SLOT 255
#define MAX_BUS_RESERVE 254
#define MAX_IO_RESERVE (G_GUINT64_CONSTANT (64) * 1024)
/* QEMU: "must be less than 4G" (compared with UINT32_MAX). */
#define MAX_32BIT_RESERVE (G_GUINT64_CONSTANT (0xfffffffe))
/* QEMU's "unset" is all ones. */
#define MAX_RESERVE (G_MAXUINT64 - 1)

enum
{
  PROP_0,
  PROP_BUS,
  PROP_ADDR,
  PROP_CHASSIS,
  PROP_SLOT,
  PROP_MULTIFUNCTION,
  PROP_BUS_RESERVE,
  PROP_IO_RESERVE,
  PROP_MEM_RESERVE,
  PROP_PREF32_RESERVE,
  PROP_PREF64_RESERVE,
  N_PROPS
};

struct _QlPcieRootPort
{
  QlDevice  parent_instance;

  char     *bus;
  char     *addr;
  guint     chassis;
  guint     slot;
  gboolean  multifunction;
  guint     bus_reserve;
  guint64   io_reserve;
  guint64   mem_reserve;
  guint64   pref32_reserve;
  guint64   pref64_reserve;
  gboolean  set[N_PROPS];   /* properties given a value */
};

G_DEFINE_FINAL_TYPE (QlPcieRootPort, ql_pcie_root_port, QL_TYPE_DEVICE)

static GParamSpec *properties[N_PROPS];

#define ROOT_BUS "pcie.0"

const char *
ql_pcie_root_port_get_bus (QlPcieRootPort *self)
{
  return self->bus != NULL ? self->bus : ROOT_BUS;
}

const char *
ql_pcie_root_port_get_addr (QlPcieRootPort *self)
{
  return self->addr;
}

/* Whether the VM file numbers the port (else the core does). */
static gboolean
has_numbers (QlPcieRootPort *self)
{
  return self->set[PROP_CHASSIS] || self->set[PROP_SLOT];
}

static gboolean
check_machine (QlPcieRootPort  *self,
               QlVmConfig      *vm,
               GError         **error)
{
  const char *machine_type = NULL;
  QlBridgeMachine machine = ql_bridge_machine (vm, &machine_type);

  if (machine == QL_BRIDGE_MACHINE_Q35)
    return TRUE;
  if (machine_type == NULL)
    ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_MISSING, "bus",
                         "no [machine] type, and a pcie-root-port plugs into the PCI Express root bus "
                         "'pcie.0' of machine type q35: set [machine] type = q35");
  else
    ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_UNSUPPORTED, "bus",
                         "machine type '%s' has no PCI Express root bus for a pcie-root-port "
                         "(only q35 has one, 'pcie.0'): use [machine] type = q35 "
                         "(pc hot-plugs into its root bus 'pci.0' without root ports)",
                         machine_type);
  return FALSE;
}

static gboolean
check_bus (QlPcieRootPort  *self,
           QlVmConfig      *vm,
           GError         **error)
{
  QlDevice *device = QL_DEVICE (self);
  GPtrArray *devices = vm != NULL ? ql_vm_config_get_devices (vm) : NULL;
  gboolean before = TRUE;

  if (self->bus == NULL || g_str_equal (self->bus, ROOT_BUS))
    return TRUE;
  if (*self->bus == '\0')
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "bus",
                           "the value is empty: leave it unset for the root bus 'pcie.0' or give a bus");
      return FALSE;
    }
  if (!ql_is_valid_id (self->bus))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "bus",
                           "'%s' is not a bus name: expected the root bus 'pcie.0' or the id of a PCI Express "
                           "expander bus of the VM (a letter, then letters, digits, '-', '.', '_')",
                           self->bus);
      return FALSE;
    }
  if (g_strcmp0 (self->bus, ql_device_get_id (device)) == 0)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "bus",
                           "'%s' is this root port's own bus: a root port plugs into the root bus 'pcie.0'",
                           self->bus);
      return FALSE;
    }
  if (g_str_equal (self->bus, "pci.0"))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "bus",
                           "q35 has no bus 'pci.0' (the root bus of pc): a root port plugs into 'pcie.0'");
      return FALSE;
    }

  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other == device)
        {
          before = FALSE;
          continue;
        }
      if (g_strcmp0 (ql_device_get_id (other), self->bus) != 0)
        continue;
      if (QL_IS_PCIE_ROOT_PORT (other) || QL_IS_BRIDGE_DEVICE (other))
        {
          /* QEMU 7.2 accepts it, and the guest sees a root port where no
           * root port can be. */
          ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "bus",
                               "'%s' is a %s: a PCIe root port belongs to the root complex and plugs into "
                               "the root bus 'pcie.0', not behind a bridge or another port",
                               self->bus, QL_IS_PCIE_ROOT_PORT (other) ? "root port" : "bridge");
          return FALSE;
        }
      if (!before)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "bus",
                               "'%s' is a device defined after this root port, and QEMU creates devices in order: "
                               "move device '%s' before this one",
                               self->bus, self->bus);
          return FALSE;
        }
      return TRUE;
    }
  ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "bus",
                       "the VM has no bus '%s': a root port plugs into the root bus 'pcie.0' (leave bus unset) "
                       "or a PCI Express expander bus of the VM",
                       self->bus);
  return FALSE;
}

static gboolean
check_reserves (QlPcieRootPort  *self,
                GError         **error)
{
  QlDevice *device = QL_DEVICE (self);

  if (self->set[PROP_IO_RESERVE] && self->io_reserve > MAX_IO_RESERVE)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "io-reserve",
                           "%" G_GUINT64_FORMAT " bytes is more than the 64K of x86's I/O space: "
                           "give at most 64K (0 gives the port no I/O window)",
                           self->io_reserve);
      return FALSE;
    }
  if (self->set[PROP_MEM_RESERVE] && self->mem_reserve > MAX_32BIT_RESERVE)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "mem-reserve",
                           "%" G_GUINT64_FORMAT " bytes is not below 4G: the non-prefetchable window is 32-bit "
                           "(QEMU: \"mem-reserve must be less than 4G\")",
                           self->mem_reserve);
      return FALSE;
    }
  if (self->set[PROP_PREF32_RESERVE] && self->pref32_reserve > MAX_32BIT_RESERVE)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "pref32-reserve",
                           "%" G_GUINT64_FORMAT " bytes is not below 4G: use pref64-reserve for a 64-bit "
                           "prefetchable window",
                           self->pref32_reserve);
      return FALSE;
    }
  if (self->set[PROP_PREF32_RESERVE] && self->set[PROP_PREF64_RESERVE])
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "pref64-reserve",
                           "cannot be set with pref32-reserve: a root port's prefetchable window is either "
                           "32-bit or 64-bit (QEMU: \"PREF32 and PREF64 conflict\"); keep one of them");
      return FALSE;
    }
  return TRUE;
}

/* Each root port's (chassis, slot) pair is its own; its address is free
 * among the bridges and root ports defined before it on its bus. */
static gboolean
check_other_devices (QlPcieRootPort  *self,
                     QlVmConfig      *vm,
                     GError         **error)
{
  QlDevice *device = QL_DEVICE (self);
  GPtrArray *devices = vm != NULL ? ql_vm_config_get_devices (vm) : NULL;

  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other == device)
        break;
      if (QL_IS_PCIE_ROOT_PORT (other) && has_numbers (self) && has_numbers (QL_PCIE_ROOT_PORT (other)))
        {
          QlPcieRootPort *port = QL_PCIE_ROOT_PORT (other);

          if (port->chassis == self->chassis && port->slot == self->slot)
            {
              ql_device_set_error (device, error, QL_CONFIG_ERROR_DUPLICATE,
                                   self->set[PROP_SLOT] ? "slot" : "chassis",
                                   "chassis %u slot %u is also the chassis and slot of root port '%s': "
                                   "each root port needs a pair of its own (give another slot or chassis, "
                                   "or neither: qlaunch then numbers the port)",
                                   self->chassis, self->slot, ql_device_get_id (other));
              return FALSE;
            }
        }
      if (!ql_bridge_check_addr_free (device, other, QL_BRIDGE_MACHINE_Q35,
                                      ql_pcie_root_port_get_bus (self), self->addr, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
ql_pcie_root_port_valid (QlDevice    *device,
                         QlVmConfig  *vm,
                         GError     **error)
{
  QlPcieRootPort *self = QL_PCIE_ROOT_PORT (device);
  const char *machine_type = NULL;

  if (!check_machine (self, vm, error) || !check_bus (self, vm, error))
    return FALSE;
  ql_bridge_machine (vm, &machine_type);
  if (!ql_bridge_check_addr (device, vm, QL_BRIDGE_MACHINE_Q35, machine_type,
                             ql_pcie_root_port_get_bus (self), self->addr, error))
    return FALSE;
  if (self->multifunction && self->addr != NULL && ql_is_valid_pci_addr (self->addr))
    {
      guint slot, function;

      ql_bridge_parse_pci_addr (self->addr, &slot, &function);
      if (function != 0)
        {
          /* QEMU reads multifunction on function 0 only. */
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "multifunction",
                               "set on a port at function %u ('%s'): a slot is multifunction through its "
                               "function 0; set it on the port at '%x.0'",
                               function, self->addr, slot);
          return FALSE;
        }
    }
  return check_reserves (self, error) && check_other_devices (self, vm, error);
}

static gboolean
ql_pcie_root_port_qemu_params (QlDevice    *device,
                               QlVmConfig  *vm,
                               QlCmdline   *cmdline,
                               GError     **error)
{
  QlPcieRootPort *self = QL_PCIE_ROOT_PORT (device);
  QlOption *dev;

  dev = ql_cmdline_add_option (cmdline, "-device", "pcie-root-port",
                               "id", ql_device_get_id (device),
                               "bus", ql_pcie_root_port_get_bus (self),
                               NULL);
  /* A port is no endpoint: the core never puts it behind another. */
  ql_option_set_pci_placement (dev, QL_PCI_PLACEMENT_NONE);
  /* Without either, the core numbers the port (ql_vm_config_build_cmdline()). */
  if (has_numbers (self))
    {
      ql_option_set_uint (dev, "chassis", self->chassis);
      ql_option_set_uint (dev, "slot", self->slot);
    }
  if (self->addr != NULL)
    ql_option_set (dev, "addr", self->addr);
  if (self->multifunction)
    ql_option_set_bool (dev, "multifunction", TRUE);
  if (self->set[PROP_BUS_RESERVE])
    ql_option_set_uint (dev, "bus-reserve", self->bus_reserve);
  if (self->set[PROP_IO_RESERVE])
    ql_option_set_uint (dev, "io-reserve", self->io_reserve);
  if (self->set[PROP_MEM_RESERVE])
    ql_option_set_uint (dev, "mem-reserve", self->mem_reserve);
  if (self->set[PROP_PREF32_RESERVE])
    ql_option_set_uint (dev, "pref32-reserve", self->pref32_reserve);
  if (self->set[PROP_PREF64_RESERVE])
    ql_option_set_uint (dev, "pref64-reserve", self->pref64_reserve);
  return TRUE;
}

static void
set_string (char         **field,
            const GValue  *value)
{
  g_free (*field);
  *field = g_value_dup_string (value);
}

static void
ql_pcie_root_port_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  QlPcieRootPort *self = QL_PCIE_ROOT_PORT (object);

  switch (prop_id)
    {
    case PROP_BUS:
      set_string (&self->bus, value);
      break;
    case PROP_ADDR:
      set_string (&self->addr, value);
      break;
    case PROP_CHASSIS:
      self->chassis = g_value_get_uint (value);
      break;
    case PROP_SLOT:
      self->slot = g_value_get_uint (value);
      break;
    case PROP_MULTIFUNCTION:
      self->multifunction = g_value_get_boolean (value);
      break;
    case PROP_BUS_RESERVE:
      self->bus_reserve = g_value_get_uint (value);
      break;
    case PROP_IO_RESERVE:
      self->io_reserve = g_value_get_uint64 (value);
      break;
    case PROP_MEM_RESERVE:
      self->mem_reserve = g_value_get_uint64 (value);
      break;
    case PROP_PREF32_RESERVE:
      self->pref32_reserve = g_value_get_uint64 (value);
      break;
    case PROP_PREF64_RESERVE:
      self->pref64_reserve = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      return;
    }
  self->set[prop_id] = TRUE;
}

static void
ql_pcie_root_port_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  QlPcieRootPort *self = QL_PCIE_ROOT_PORT (object);

  switch (prop_id)
    {
    case PROP_BUS:
      g_value_set_string (value, self->bus);
      break;
    case PROP_ADDR:
      g_value_set_string (value, self->addr);
      break;
    case PROP_CHASSIS:
      g_value_set_uint (value, self->chassis);
      break;
    case PROP_SLOT:
      g_value_set_uint (value, self->slot);
      break;
    case PROP_MULTIFUNCTION:
      g_value_set_boolean (value, self->multifunction);
      break;
    case PROP_BUS_RESERVE:
      g_value_set_uint (value, self->bus_reserve);
      break;
    case PROP_IO_RESERVE:
      g_value_set_uint64 (value, self->io_reserve);
      break;
    case PROP_MEM_RESERVE:
      g_value_set_uint64 (value, self->mem_reserve);
      break;
    case PROP_PREF32_RESERVE:
      g_value_set_uint64 (value, self->pref32_reserve);
      break;
    case PROP_PREF64_RESERVE:
      g_value_set_uint64 (value, self->pref64_reserve);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_pcie_root_port_finalize (GObject *object)
{
  QlPcieRootPort *self = QL_PCIE_ROOT_PORT (object);

  g_free (self->bus);
  g_free (self->addr);

  G_OBJECT_CLASS (ql_pcie_root_port_parent_class)->finalize (object);
}

static void
ql_pcie_root_port_class_init (QlPcieRootPortClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = ql_pcie_root_port_set_property;
  object_class->get_property = ql_pcie_root_port_get_property;
  object_class->finalize = ql_pcie_root_port_finalize;

  device_class->valid = ql_pcie_root_port_valid;
  device_class->qemu_params = ql_pcie_root_port_qemu_params;

  properties[PROP_BUS] =
    g_param_spec_string ("bus", "Bus",
                         "PCI Express bus the port plugs into (bus=): the root bus 'pcie.0' of machine type q35, "
                         "or a PCI Express expander bus of the VM; default unset: 'pcie.0'",
                         NULL, flags);
  properties[PROP_ADDR] =
    g_param_spec_string ("addr", "PCI address",
                         "PCI address on its bus (addr=) in QEMU's hex syntax slot[.function], such as '5' or '1e.0'; "
                         "default unset: QEMU picks a free slot",
                         NULL, flags);
  properties[PROP_CHASSIS] =
    g_param_spec_uint ("chassis", "Chassis",
                       "Chassis number (chassis=), 0 to 255; each root port's chassis and slot pair is its own; "
                       "default unset: with neither chassis nor slot, qlaunch numbers the port, with slot alone it is 0",
                       0, MAX_CHASSIS, 0, flags);
  properties[PROP_SLOT] =
    g_param_spec_uint ("slot", "Slot",
                       "Physical slot number (slot=), 0 to 255, by which the guest names the slot; "
                       "default unset: with neither chassis nor slot, qlaunch numbers the port, with chassis alone it is 0",
                       0, MAX_SLOT, 0, flags);
  properties[PROP_MULTIFUNCTION] =
    g_param_spec_boolean ("multifunction", "Multifunction",
                          "Make the port's slot multifunction (multifunction=on), so that more root ports can take "
                          "functions 1 to 7 of it (each with addr slot.function); only at function 0; default false",
                          FALSE, flags);
  properties[PROP_BUS_RESERVE] =
    g_param_spec_uint ("bus-reserve", "Bus reserve",
                       "Bus numbers the firmware reserves behind the port for bridges hot-plugged later (bus-reserve=), "
                       "0 to 254; default unset: the firmware decides",
                       0, MAX_BUS_RESERVE, 0, flags);
  properties[PROP_IO_RESERVE] =
    ql_param_spec_size ("io-reserve", "I/O reserve",
                        "I/O space the firmware reserves behind the port (io-reserve=), such as 4K, at most 64K; "
                        "0 gives the port no I/O window (many ports would exhaust x86's 64K); default unset: the firmware decides",
                        0, MAX_RESERVE, 0, flags);
  properties[PROP_MEM_RESERVE] =
    ql_param_spec_size ("mem-reserve", "Memory reserve",
                        "Non-prefetchable memory the firmware reserves behind the port (mem-reserve=), such as 2M, "
                        "below 4G; default unset: the firmware decides",
                        0, MAX_RESERVE, 0, flags);
  properties[PROP_PREF32_RESERVE] =
    ql_param_spec_size ("pref32-reserve", "Prefetchable 32-bit reserve",
                        "32-bit prefetchable memory the firmware reserves behind the port (pref32-reserve=), below 4G; "
                        "not with pref64-reserve; default unset: the firmware decides",
                        0, MAX_RESERVE, 0, flags);
  properties[PROP_PREF64_RESERVE] =
    ql_param_spec_size ("pref64-reserve", "Prefetchable 64-bit reserve",
                        "64-bit prefetchable memory the firmware reserves behind the port (pref64-reserve=), such as 1G; "
                        "not with pref32-reserve; default unset: the firmware decides",
                        0, MAX_RESERVE, 0, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_pcie_root_port_init (QlPcieRootPort *self)
{
  (void) self;
}
