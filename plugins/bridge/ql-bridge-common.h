/* qlaunch bridge plugin — what the bridge and the PCIe root port share: the
 * machine's PCI layout, PCI addresses, the slots bridges take. */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

/* The machines whose PCI layout qlaunch knows for certain. */
typedef enum
{
  QL_BRIDGE_MACHINE_OTHER,   /* unset, or one qlaunch knows nothing certain about */
  QL_BRIDGE_MACHINE_Q35,
  QL_BRIDGE_MACHINE_PC,
  QL_BRIDGE_MACHINE_ISAPC,   /* no PCI at all */
} QlBridgeMachine;

/* The machine of @vm (NULL: none), as its QEMU binary resolves the type
 * (ql_vm_config_resolve_machine_type()); @type: (out) (optional) that
 * type, NULL when unset. */
QlBridgeMachine  ql_bridge_machine            (QlVmConfig       *vm,
                                               const char      **type);
/* pcie.0 on q35, pci.0 on pc, NULL otherwise. */
const char      *ql_bridge_machine_root_bus   (QlBridgeMachine   machine);

/* Splits a valid QEMU PCI address (ql_is_valid_pci_addr()). */
void             ql_bridge_parse_pci_addr     (const char       *addr,
                                               guint            *slot,
                                               guint            *function);

/* @device's `addr` (NULL: unset) on @bus: not empty, QEMU's syntax, and
 * not a function of the root bus that the machine's chipset takes. */
gboolean         ql_bridge_check_addr         (QlDevice         *device,
                                               QlVmConfig       *vm,
                                               QlBridgeMachine   machine,
                                               const char       *machine_type,
                                               const char       *bus,
                                               const char       *addr,
                                               GError          **error);

/* The bus and address a bridge or root port of the plugin plugs into
 * (@addr NULL when unset); FALSE for any other device. */
gboolean         ql_bridge_get_placement      (QlDevice         *device,
                                               QlBridgeMachine   machine,
                                               const char      **bus,
                                               const char      **addr);

/* @device (at @addr on @bus) against @other, a bridge or root port defined
 * before it: the same address on the same bus is an error. */
gboolean         ql_bridge_check_addr_free    (QlDevice         *device,
                                               QlDevice         *other,
                                               QlBridgeMachine   machine,
                                               const char       *bus,
                                               const char       *addr,
                                               GError          **error);

G_END_DECLS
