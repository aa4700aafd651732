/* qlaunch iommu plugin — QlIommuDevice: a virtual IOMMU (DMA remapping,
 * optionally interrupt remapping) for the guest. */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

/*
 * QlIommuModel:
 * @QL_IOMMU_MODEL_INTEL: Intel VT-d (`-device intel-iommu`), q35 only
 * @QL_IOMMU_MODEL_VIRTIO: paravirtual (`-device virtio-iommu-pci`),
 *   described to the guest by the ACPI VIOT table
 *
 * Which IOMMU QEMU emulates.
 */
typedef enum
{
  QL_IOMMU_MODEL_INTEL,
  QL_IOMMU_MODEL_VIRTIO,
} QlIommuModel;

/*
 * QlIommuSwitch:
 * @QL_IOMMU_SWITCH_AUTO: QEMU decides (the key is not written)
 * @QL_IOMMU_SWITCH_ON: on
 * @QL_IOMMU_SWITCH_OFF: off
 *
 * A QEMU on/off/auto property.
 */
typedef enum
{
  QL_IOMMU_SWITCH_AUTO,
  QL_IOMMU_SWITCH_ON,
  QL_IOMMU_SWITCH_OFF,
} QlIommuSwitch;

#include "ql-iommu-enums.h"

#define QL_TYPE_IOMMU_DEVICE (ql_iommu_device_get_type ())
G_DECLARE_FINAL_TYPE (QlIommuDevice, ql_iommu_device, QL, IOMMU_DEVICE, QlDevice)

G_END_DECLS
