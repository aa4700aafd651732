/* qlaunch bridge plugin — the machine's PCI layout, PCI addresses and the
 * slots that bridges and root ports take (QEMU 7.2, checked with
 * -nodefaults). */
#include "ql-bridge-common.h"
#include "ql-bridge-device.h"
#include "ql-pcie-root-port.h"

#include <stdlib.h>

/* A function of the root bus that the machine's chipset takes, unless
 * [machine] options turn the machine property @option (when not NULL)
 * off. */
typedef struct
{
  QlBridgeMachine  machine;
  guint            slot;
  gint             function;   /* -1: every function of the slot */
  const char      *occupant;
  const char      *option;
} QlBridgeReservedFunction;

static const QlBridgeReservedFunction ql_bridge_reserved_functions[] = {
  { QL_BRIDGE_MACHINE_Q35, 0x00, -1, "the host bridge (mch)", NULL },
  { QL_BRIDGE_MACHINE_Q35, 0x1f, 0, "the ICH9 LPC/ISA bridge", NULL },
  { QL_BRIDGE_MACHINE_Q35, 0x1f, 2, "the ICH9 SATA controller", "sata" },
  { QL_BRIDGE_MACHINE_Q35, 0x1f, 3, "the ICH9 SMBus controller", "smbus" },
  { QL_BRIDGE_MACHINE_PC, 0x00, -1, "the host bridge (i440FX)", NULL },
  { QL_BRIDGE_MACHINE_PC, 0x01, 0, "the PIIX3 ISA bridge", NULL },
  { QL_BRIDGE_MACHINE_PC, 0x01, 1, "the PIIX3 IDE controller", NULL },
  { QL_BRIDGE_MACHINE_PC, 0x01, 3, "the PIIX4 power management controller", "acpi" },
};

QlBridgeMachine
ql_bridge_machine (QlVmConfig  *vm,
                   const char **type)
{
  const char *resolved = vm != NULL ? ql_vm_config_resolve_machine_type (vm) : NULL;

  if (type != NULL)
    *type = resolved;
  if (vm != NULL && ql_vm_config_is_pcie_machine (vm))
    return QL_BRIDGE_MACHINE_Q35;
  if (resolved == NULL)
    return QL_BRIDGE_MACHINE_OTHER;
  if (g_str_equal (resolved, "pc") || g_str_has_prefix (resolved, "pc-i440fx-"))
    return QL_BRIDGE_MACHINE_PC;
  if (g_str_equal (resolved, "isapc"))
    return QL_BRIDGE_MACHINE_ISAPC;
  return QL_BRIDGE_MACHINE_OTHER;
}

const char *
ql_bridge_machine_root_bus (QlBridgeMachine machine)
{
  switch (machine)
    {
    case QL_BRIDGE_MACHINE_Q35:
      return "pcie.0";
    case QL_BRIDGE_MACHINE_PC:
      return "pci.0";
    case QL_BRIDGE_MACHINE_ISAPC:
    case QL_BRIDGE_MACHINE_OTHER:
    default:
      return NULL;
    }
}

void
ql_bridge_parse_pci_addr (const char *addr,
                          guint      *slot,
                          guint      *function)
{
  char *end = NULL;

  *slot = (guint) strtoul (addr, &end, 16);
  *function = (end != NULL && *end == '.') ? (guint) strtoul (end + 1, NULL, 16) : 0;
}

/* Whether [machine] options (QEMU's key=value rule, ",," a literal comma)
 * turn @key off. */
static gboolean
machine_option_is_off (QlVmConfig *vm,
                       const char *key)
{
  static const char * const off[] = { "off", "false", "no", NULL };
  g_autofree char *value = vm != NULL ? ql_vm_config_lookup_machine_option (vm, key) : NULL;

  return value != NULL && g_strv_contains (off, value);
}

static const QlBridgeReservedFunction *
find_reserved_function (QlVmConfig      *vm,
                        QlBridgeMachine  machine,
                        guint            slot,
                        guint            function)
{
  for (guint i = 0; i < G_N_ELEMENTS (ql_bridge_reserved_functions); i++)
    {
      const QlBridgeReservedFunction *r = &ql_bridge_reserved_functions[i];

      if (r->machine != machine || r->slot != slot)
        continue;
      if (r->function >= 0 && (guint) r->function != function)
        continue;
      if (r->option != NULL && machine_option_is_off (vm, r->option))
        continue;
      return r;
    }

  return NULL;
}

gboolean
ql_bridge_check_addr (QlDevice         *device,
                      QlVmConfig       *vm,
                      QlBridgeMachine   machine,
                      const char       *machine_type,
                      const char       *bus,
                      const char       *addr,
                      GError          **error)
{
  const QlBridgeReservedFunction *reserved;
  guint slot, function;

  if (addr == NULL)
    return TRUE;
  if (*addr == '\0')
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "addr",
                           "the value is empty: leave it unset or give a value");
      return FALSE;
    }
  if (!ql_is_valid_pci_addr (addr))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "addr",
                           "'%s' is not a PCI address: expected a hex slot with an optional function, such as '5' or '1e.0'",
                           addr);
      return FALSE;
    }

  ql_bridge_parse_pci_addr (addr, &slot, &function);
  reserved = g_strcmp0 (bus, ql_bridge_machine_root_bus (machine)) == 0
             ? find_reserved_function (vm, machine, slot, function) : NULL;
  if (reserved != NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "addr",
                           "'%s' on the root bus '%s' of machine type '%s' is taken by %s: choose another slot",
                           addr, bus, machine_type, reserved->occupant);
      return FALSE;
    }
  return TRUE;
}

gboolean
ql_bridge_get_placement (QlDevice         *device,
                         QlBridgeMachine   machine,
                         const char      **bus,
                         const char      **addr)
{
  if (QL_IS_BRIDGE_DEVICE (device))
    {
      *bus = ql_bridge_device_get_bus_on (QL_BRIDGE_DEVICE (device), machine);
      *addr = ql_bridge_device_get_addr (QL_BRIDGE_DEVICE (device));
      return TRUE;
    }
  if (QL_IS_PCIE_ROOT_PORT (device))
    {
      *bus = ql_pcie_root_port_get_bus (QL_PCIE_ROOT_PORT (device));
      *addr = ql_pcie_root_port_get_addr (QL_PCIE_ROOT_PORT (device));
      return TRUE;
    }
  return FALSE;
}

gboolean
ql_bridge_check_addr_free (QlDevice         *device,
                           QlDevice         *other,
                           QlBridgeMachine   machine,
                           const char       *bus,
                           const char       *addr,
                           GError          **error)
{
  const char *other_bus = NULL, *other_addr = NULL;
  guint slot, function, other_slot, other_function;

  if (addr == NULL || !ql_is_valid_pci_addr (addr)
      || !ql_bridge_get_placement (other, machine, &other_bus, &other_addr)
      || other_addr == NULL || !ql_is_valid_pci_addr (other_addr)
      || g_strcmp0 (other_bus, bus) != 0)
    return TRUE;

  ql_bridge_parse_pci_addr (addr, &slot, &function);
  ql_bridge_parse_pci_addr (other_addr, &other_slot, &other_function);
  if (slot == other_slot && function == other_function)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "addr",
                           "'%s' on bus '%s' is taken by %s '%s' already: give each device on a bus its own address",
                           addr, bus, QL_IS_PCIE_ROOT_PORT (other) ? "root port" : "bridge",
                           ql_device_get_id (other));
      return FALSE;
    }
  return TRUE;
}
