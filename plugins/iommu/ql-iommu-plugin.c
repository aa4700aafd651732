/* qlaunch iommu plugin — entry point: registers the `iommu` device type. */
#include <qlaunch/qlaunch.h>

#include "ql-iommu-device.h"

static gboolean
ql_iommu_plugin_init (QlPlugin  *plugin,
                      GError   **error)
{
  return ql_plugin_register_device (plugin, "iommu", QL_TYPE_IOMMU_DEVICE, error);
}

QL_PLUGIN_DEFINE (iommu, "iommu",
                  "A virtual IOMMU for the guest: intel-iommu (q35) or virtio-iommu-pci",
                  QL_VERSION, "Apache-2.0", ql_iommu_plugin_init)
