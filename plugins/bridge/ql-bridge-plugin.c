/* qlaunch bridge plugin — entry point: registers the `bridge` and
 * `pcie-root-port` device types. */
#include <qlaunch/qlaunch.h>

#include "ql-bridge-device.h"
#include "ql-pcie-root-port.h"

static gboolean
ql_bridge_plugin_init (QlPlugin  *plugin,
                       GError   **error)
{
  return ql_plugin_register_device (plugin, "bridge", QL_TYPE_BRIDGE_DEVICE, error)
         && ql_plugin_register_device (plugin, "pcie-root-port", QL_TYPE_PCIE_ROOT_PORT, error);
}

QL_PLUGIN_DEFINE (bridge, "bridge",
                  "PCI bridges and PCIe root ports: pci-bridge, pcie-pci-bridge and pcie-root-port, a bus for more PCI devices",
                  QL_VERSION, "Apache-2.0", ql_bridge_plugin_init)
