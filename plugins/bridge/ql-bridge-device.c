/* qlaunch bridge plugin — QlBridgeDevice: a PCI bridge, the bus other PCI
 * devices can plug into (by giving the bridge's id as their `bus`).
 *
 * What it produces (govmm's BridgeDevice, corrected for QEMU 7.2):
 *
 *   bridge-type=pci:   -device pci-bridge,bus=B,id=ID,chassis_nr=N,shpc=on|off[,addr=A]
 *   bridge-type=pcie:  -device pcie-pci-bridge,bus=B,id=ID[,addr=A]
 *
 * Differences from govmm, on purpose:
 * - govmm wrote `chassis_nr=` and `shpc=` on pcie-pci-bridge too; QEMU 7.2
 *   refuses both ("Property 'pcie-pci-bridge.chassis_nr' not found"), so a
 *   pcie bridge never gets them, and setting chassis or shpc on one is an
 *   error instead of a value silently dropped;
 * - a pci bridge needs a chassis number from 1 to 255 (QEMU: "Bridge chassis
 *   not specified. Each bridge is required to be assigned a unique chassis
 *   id > 0"; chassis_nr is a uint8), unique among the VM's bridges;
 * - `addr` is QEMU's hex `slot[.fn]` syntax, validated (govmm read a decimal
 *   number and printed it in hex, dropping it silently when it was not one);
 * - `bus` is a bus name ('pcie.0', a bridge's id), not a QEMU bus path
 *   (govmm's example "/pci-bus/pcie.0" is a path QEMU refuses), and
 *   defaults to the machine's root bus: `pcie.0` on q35, `pci.0` on pc
 *   ([machine] type, as the probed QEMU resolves it:
 *   ql_vm_config_resolve_machine_type()); with another or no machine type
 *   it is required,
 *   as govmm required it. The other machine's root bus is an error (QEMU:
 *   "Bus 'pci.0' not found" on q35), and so is a root-bus address that the
 *   machine's own chipset occupies (QEMU: "PCI: slot 0 function 0 not
 *   available for pci-bridge, in use by mch").
 */
#include "ql-bridge-device.h"
#include "ql-pcie-root-port.h"

#include <string.h>

/* QEMU's chassis_nr is a uint8 and 0 means "not specified". */
#define QL_BRIDGE_MAX_CHASSIS 255

struct _QlBridgeDevice
{
  QlDevice      parent_instance;

  QlBridgeType  bridge_type;
  char         *bus;
  guint         chassis;
  gboolean      shpc;
  gboolean      shpc_set;    /* shpc was given: an error on a pcie bridge */
  char         *addr;
};

G_DEFINE_FINAL_TYPE (QlBridgeDevice, ql_bridge_device, QL_TYPE_DEVICE)

enum
{
  PROP_0,
  PROP_BRIDGE_TYPE,
  PROP_BUS,
  PROP_CHASSIS,
  PROP_SHPC,
  PROP_ADDR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The bus the bridge plugs into: its own, or the machine's root bus. */
const char *
ql_bridge_device_get_bus_on (QlBridgeDevice  *self,
                             QlBridgeMachine  machine)
{
  return self->bus != NULL ? self->bus : ql_bridge_machine_root_bus (machine);
}

const char *
ql_bridge_device_get_addr (QlBridgeDevice *self)
{
  return self->addr;
}

/* Chassis numbers, and addresses on one bus, do not repeat among bridges:
 * @self against @other, a bridge defined before it. */
static gboolean
check_earlier_bridge (QlBridgeDevice   *self,
                      QlBridgeDevice   *other,
                      const char       *bus,
                      QlBridgeMachine   machine,
                      GError          **error)
{
  const char *other_id = ql_device_get_id (QL_DEVICE (other));

  if (self->bridge_type == QL_BRIDGE_TYPE_PCI &&
      other->bridge_type == QL_BRIDGE_TYPE_PCI &&
      other->chassis == self->chassis)
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_DUPLICATE, "chassis",
                           "'%u' is also the chassis of bridge '%s': each PCI bridge needs a chassis number of its own",
                           self->chassis, other_id);
      return FALSE;
    }

  return ql_bridge_check_addr_free (QL_DEVICE (self), QL_DEVICE (other), machine, bus, self->addr, error);
}

/* Rules that involve the other devices of @vm: the bus must exist when
 * QEMU creates the bridge (QEMU creates devices in command-line order), the
 * rules of check_earlier_bridge(), and no root port defined before it at
 * the same address. */
static gboolean
check_other_devices (QlBridgeDevice   *self,
                     QlVmConfig       *vm,
                     QlBridgeMachine   machine,
                     GError          **error)
{
  QlDevice *device = QL_DEVICE (self);
  GPtrArray *devices = vm != NULL ? ql_vm_config_get_devices (vm) : NULL;
  const char *bus = ql_bridge_device_get_bus_on (self, machine);
  gboolean before = TRUE;

  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other == device)
        {
          before = FALSE;
        }
      else if (!before)
        {
          if (g_strcmp0 (ql_device_get_id (other), bus) == 0)
            {
              ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "bus",
                                   "'%s' is a device defined after this bridge, and QEMU creates devices in order: move device '%s' before this one",
                                   bus, bus);
              return FALSE;
            }
        }
      else if (QL_IS_BRIDGE_DEVICE (other) &&
               !check_earlier_bridge (self, QL_BRIDGE_DEVICE (other), bus, machine, error))
        {
          return FALSE;
        }
      else if (QL_IS_PCIE_ROOT_PORT (other) &&
               !ql_bridge_check_addr_free (device, other, machine, bus, self->addr, error))
        {
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
ql_bridge_device_valid (QlDevice    *device,
                        QlVmConfig  *vm,
                        GError     **error)
{
  QlBridgeDevice *self = QL_BRIDGE_DEVICE (device);
  const char *machine_type = NULL;
  QlBridgeMachine machine = ql_bridge_machine (vm, &machine_type);
  const char *root_bus = ql_bridge_machine_root_bus (machine);
  const char *bus;

  if (machine == QL_BRIDGE_MACHINE_ISAPC)
    {
      /* QEMU: "No 'PCI' bus found for device 'pci-bridge'". */
      ql_device_set_error (device, error, QL_CONFIG_ERROR_UNSUPPORTED, "bridge-type",
                           "machine type '%s' has no PCI bus to put a bridge on: use machine type q35 or pc",
                           machine_type);
      return FALSE;
    }

  if (self->bus != NULL && *self->bus == '\0')
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "bus",
                           "the value is empty: leave it unset for the machine's root bus or give a bus");
      return FALSE;
    }

  /* Bus names are ids, or ids with a ".N" suffix. A QEMU bus path is not
   * taken: govmm's own example, "/pci-bus/pcie.0", is one QEMU refuses
   * ("Device 'pci-bus' not found"). */
  if (self->bus != NULL && !ql_is_valid_id (self->bus))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "bus",
                           "'%s' is not a bus name: expected a PCI bus such as 'pcie.0', 'pci.0' or a bridge's id (a letter, then letters, digits, '-', '.', '_')",
                           self->bus);
      return FALSE;
    }

  bus = ql_bridge_device_get_bus_on (self, machine);
  if (bus == NULL)
    {
      if (machine_type != NULL)
        ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "bus",
                             "no bus given, and qlaunch knows no root bus for machine type '%s': set bus to the PCI bus the bridge plugs into",
                             machine_type);
      else
        ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "bus",
                             "no bus given and no [machine] type to take the root bus from: set bus ('pcie.0' on q35, 'pci.0' on pc) or the machine type");
      return FALSE;
    }

  if (machine == QL_BRIDGE_MACHINE_Q35 && g_str_equal (bus, "pci.0"))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "bus",
                           "machine type '%s' has no bus 'pci.0' (the root bus of pc): its root bus is 'pcie.0'",
                           machine_type);
      return FALSE;
    }
  if (machine == QL_BRIDGE_MACHINE_PC && g_str_equal (bus, "pcie.0"))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "bus",
                           "machine type '%s' has no bus 'pcie.0' (the root bus of q35): its root bus is 'pci.0'",
                           machine_type);
      return FALSE;
    }
  if (g_strcmp0 (bus, ql_device_get_id (device)) == 0)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "bus",
                           "'%s' is this bridge's own bus: a bridge plugs into another bus, such as '%s'",
                           bus, root_bus != NULL ? root_bus : "pcie.0");
      return FALSE;
    }

  switch (self->bridge_type)
    {
    case QL_BRIDGE_TYPE_PCIE:
      if (self->chassis != 0)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "chassis",
                               "'%u' cannot be used with bridge-type 'pcie': QEMU's pcie-pci-bridge has no chassis number; remove chassis or use bridge-type 'pci'",
                               self->chassis);
          return FALSE;
        }
      if (self->shpc_set)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "shpc",
                               "cannot be used with bridge-type 'pcie': QEMU's pcie-pci-bridge has no shpc switch; remove shpc or use bridge-type 'pci'");
          return FALSE;
        }
      break;
    case QL_BRIDGE_TYPE_PCI:
    default:
      if (self->chassis == 0)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "chassis",
                               "a pci bridge needs a chassis number: set chassis to a number from 1 to 255, unique among the VM's bridges");
          return FALSE;
        }
      break;
    }

  if (!ql_bridge_check_addr (device, vm, machine, machine_type, bus, self->addr, error))
    return FALSE;

  return check_other_devices (self, vm, machine, error);
}

static gboolean
ql_bridge_device_qemu_params (QlDevice    *device,
                              QlVmConfig  *vm,
                              QlCmdline   *cmdline,
                              GError     **error)
{
  QlBridgeDevice *self = QL_BRIDGE_DEVICE (device);
  const char *bus = ql_bridge_device_get_bus_on (self, ql_bridge_machine (vm, NULL));
  QlOption *dev;

  if (bus == NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "bus",
                           "no bus given and none known for the machine type: set bus");
      return FALSE;
    }

  if (self->bridge_type == QL_BRIDGE_TYPE_PCIE)
    {
      /* Not govmm's chassis_nr=/shpc=: pcie-pci-bridge has neither. */
      dev = ql_cmdline_add_option (cmdline, "-device", "pcie-pci-bridge",
                                   "bus", bus,
                                   "id", ql_device_get_id (device),
                                   NULL);
    }
  else
    {
      dev = ql_cmdline_add_option (cmdline, "-device", "pci-bridge",
                                   "bus", bus,
                                   "id", ql_device_get_id (device),
                                   NULL);
      ql_option_set_uint (dev, "chassis_nr", self->chassis);
      ql_option_set_bool (dev, "shpc", self->shpc);
    }
  if (self->addr != NULL)
    ql_option_set (dev, "addr", self->addr);

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
ql_bridge_device_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  QlBridgeDevice *self = QL_BRIDGE_DEVICE (object);

  switch (prop_id)
    {
    case PROP_BRIDGE_TYPE:
      self->bridge_type = g_value_get_enum (value);
      break;
    case PROP_BUS:
      set_string (&self->bus, value);
      break;
    case PROP_CHASSIS:
      self->chassis = g_value_get_uint (value);
      break;
    case PROP_SHPC:
      self->shpc = g_value_get_boolean (value);
      self->shpc_set = TRUE;
      break;
    case PROP_ADDR:
      set_string (&self->addr, value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_bridge_device_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  QlBridgeDevice *self = QL_BRIDGE_DEVICE (object);

  switch (prop_id)
    {
    case PROP_BRIDGE_TYPE:
      g_value_set_enum (value, self->bridge_type);
      break;
    case PROP_BUS:
      g_value_set_string (value, self->bus);
      break;
    case PROP_CHASSIS:
      g_value_set_uint (value, self->chassis);
      break;
    case PROP_SHPC:
      g_value_set_boolean (value, self->shpc);
      break;
    case PROP_ADDR:
      g_value_set_string (value, self->addr);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_bridge_device_finalize (GObject *object)
{
  QlBridgeDevice *self = QL_BRIDGE_DEVICE (object);

  g_free (self->bus);
  g_free (self->addr);

  G_OBJECT_CLASS (ql_bridge_device_parent_class)->finalize (object);
}

static void
ql_bridge_device_class_init (QlBridgeDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = ql_bridge_device_set_property;
  object_class->get_property = ql_bridge_device_get_property;
  object_class->finalize = ql_bridge_device_finalize;

  device_class->valid = ql_bridge_device_valid;
  device_class->qemu_params = ql_bridge_device_qemu_params;

  properties[PROP_BRIDGE_TYPE] =
    g_param_spec_enum ("bridge-type", "Bridge type",
                       "Kind of bridge: pci (QEMU pci-bridge, with chassis and shpc) or pcie (QEMU pcie-pci-bridge, a PCIe-to-PCI bridge without them)",
                       QL_TYPE_BRIDGE_TYPE, QL_BRIDGE_TYPE_PCI, flags);
  properties[PROP_BUS] =
    g_param_spec_string ("bus", "Bus",
                         "PCI bus the bridge plugs into, such as 'pcie.0' or another bridge's id; unset means the root bus of [machine] type q35 ('pcie.0') or pc ('pci.0'), required for other machine types",
                         NULL, flags);
  properties[PROP_CHASSIS] =
    g_param_spec_uint ("chassis", "Chassis",
                       "Chassis number of a pci bridge (chassis_nr), from 1 to 255 and unique among the VM's bridges; required for bridge-type pci, not allowed for pcie (0 = unset)",
                       0, QL_BRIDGE_MAX_CHASSIS, 0, flags);
  properties[PROP_SHPC] =
    g_param_spec_boolean ("shpc", "SHPC",
                          "Give a pci bridge a standard hot-plug controller (shpc=on); written shpc=off when false; not allowed for bridge-type pcie",
                          FALSE, flags);
  properties[PROP_ADDR] =
    g_param_spec_string ("addr", "PCI address",
                         "PCI address on the bus in QEMU's hex syntax slot[.function], such as '5' or '1e.0'; QEMU picks a free slot when unset",
                         NULL, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_bridge_device_init (QlBridgeDevice *self)
{
  self->bridge_type = QL_BRIDGE_TYPE_PCI;
}
