/* qlaunch bridge plugin — QlBridgeDevice: a PCI bridge (govmm's BridgeDevice). */
#pragma once

#include <qlaunch/qlaunch.h>

#include "ql-bridge-common.h"

G_BEGIN_DECLS

/*
 * QlBridgeType:
 * @QL_BRIDGE_TYPE_PCI: a conventional PCI-PCI bridge (QEMU `pci-bridge`),
 *   with a chassis number and an optional SHPC hotplug controller
 * @QL_BRIDGE_TYPE_PCIE: a PCIe-to-PCI bridge (QEMU `pcie-pci-bridge`),
 *   which takes neither chassis_nr nor shpc
 *
 * The kind of bridge (govmm's BridgeType).
 */
typedef enum
{
  QL_BRIDGE_TYPE_PCI,
  QL_BRIDGE_TYPE_PCIE,
} QlBridgeType;

#include "ql-bridge-enums.h"

#define QL_TYPE_BRIDGE_DEVICE (ql_bridge_device_get_type ())
G_DECLARE_FINAL_TYPE (QlBridgeDevice, ql_bridge_device, QL, BRIDGE_DEVICE, QlDevice)

/* The bus the bridge plugs into on @machine (its root bus when unset), and
 * its address (NULL: unset). */
const char *ql_bridge_device_get_bus_on (QlBridgeDevice  *self,
                                         QlBridgeMachine  machine);
const char *ql_bridge_device_get_addr   (QlBridgeDevice  *self);

G_END_DECLS
