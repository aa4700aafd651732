/* qlaunch bridge plugin — QlPcieRootPort: a PCI Express root port of q35. */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

#define QL_TYPE_PCIE_ROOT_PORT (ql_pcie_root_port_get_type ())
G_DECLARE_FINAL_TYPE (QlPcieRootPort, ql_pcie_root_port, QL, PCIE_ROOT_PORT, QlDevice)

/* The bus the port plugs into (pcie.0 when unset), and its address (NULL:
 * unset). */
const char *ql_pcie_root_port_get_bus  (QlPcieRootPort *self);
const char *ql_pcie_root_port_get_addr (QlPcieRootPort *self);

G_END_DECLS
