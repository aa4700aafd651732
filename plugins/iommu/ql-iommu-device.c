/* qlaunch iommu plugin — QlIommuDevice: a virtual IOMMU for the guest.
 *
 * What it produces:
 *
 *   -device intel-iommu,id=ID[,intremap=on|off][,caching-mode=on][,device-iotlb=on]   (model intel)
 *   -device virtio-iommu-pci,id=ID                                                   (model virtio)
 *
 * Only the keys that are set are written (QEMU's defaults: intremap auto,
 * caching-mode and device-iotlb off).
 *
 * The rules, checked against QEMU 7.2 (TCG, and KVM at -S):
 * - intel-iommu is a q35 device: on `pc` QEMU says "Parameter 'driver'
 *   expects a dynamic sysbus device type for the machine";
 * - one IOMMU per VM, whatever the models: "QEMU does not support multiple
 *   vIOMMUs for x86 yet";
 * - intremap=on under KVM with the kernel's irqchip (QEMU's default) fails
 *   late: "Interrupt Remapping cannot work with kernel-irqchip=on, please
 *   use 'split|off'." [machine] options must say kernel-irqchip=split
 *   (off works but QEMU warns that a userspace local APIC is deprecated
 *   for KVM). Under TCG there is no kernel irqchip and QEMU 7.2 accepts
 *   intremap=on with or without the option (which only KVM reads);
 * - a vfio device needs caching-mode=on: intel-iommu refuses to map for
 *   vfio otherwise ("We need to set caching-mode=on for intel-iommu to
 *   enable device assignment with IOMMU protection.");
 * - a vfio device takes its DMA address space when it is realized, so one
 *   written before the IOMMU would bypass it; the other PCI devices are
 *   bound when the machine is complete, in any order (QEMU 7.2 gave a
 *   virtio-net-pci written before intel-iommu its vtd address space);
 * - device-iotlb has no rule of its own in QEMU 7.2 (it advertises the
 *   device-TLB capability; endpoints use it through ATS);
 * - intremap, caching-mode and device-iotlb belong to intel-iommu:
 *   virtio-iommu-pci has none of them ("Property
 *   'virtio-iommu-pci.intremap' not found");
 * - virtio-iommu-pci must sit on the root bus ("virtio-iommu-pci must be
 *   plugged on the root bus"): it never gets a root port of its own;
 * - both are described to the guest by ACPI tables (DMAR, VIOT): with
 *   [machine] options acpi=off QEMU starts and the guest finds no IOMMU;
 * - neither can be hot-plugged ("Parameter 'driver' expects a pluggable
 *   device type").
 */
#include "ql-iommu-device.h"

#include <string.h>

struct _QlIommuDevice
{
  QlDevice       parent_instance;

  QlIommuModel   model;
  QlIommuSwitch  intremap;
  gboolean       caching_mode;
  gboolean       device_iotlb;
};

G_DEFINE_FINAL_TYPE (QlIommuDevice, ql_iommu_device, QL_TYPE_DEVICE)

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_INTREMAP,
  PROP_CACHING_MODE,
  PROP_DEVICE_IOTLB,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char *
model_driver (QlIommuModel model)
{
  return model == QL_IOMMU_MODEL_VIRTIO ? "virtio-iommu-pci" : "intel-iommu";
}

static gboolean
machine_option_is (QlVmConfig         *vm,
                   const char         *key,
                   const char * const *values)
{
  g_autofree char *value = ql_vm_config_lookup_machine_option (vm, key);

  return value != NULL && g_strv_contains (values, value);
}

/* Whether [machine] acceleration lets QEMU pick KVM. */
static gboolean
may_use_kvm (QlVmConfig *vm)
{
  g_autofree char *accel = NULL;
  g_auto(GStrv) names = NULL;

  g_object_get (vm, "machine-acceleration", &accel, NULL);
  if (accel == NULL)
    return FALSE;   /* QEMU 7.2's default for qemu-system-x86_64: tcg */
  names = g_strsplit (accel, ":", -1);
  return g_strv_contains ((const char * const *) names, "kvm");
}

static gboolean
check_intel (QlIommuDevice  *self,
             QlVmConfig     *vm,
             GError        **error)
{
  QlDevice *device = QL_DEVICE (self);
  static const char * const split[] = { "split", NULL };
  GPtrArray *devices;
  gboolean after_self = FALSE;

  if (!ql_vm_config_is_pcie_machine (vm))
    {
      const char *type = ql_vm_config_resolve_machine_type (vm);
      g_autofree char *machine = type != NULL ? g_strdup_printf ("'%s'", type)
                                              : g_strdup ("QEMU's default, pc");

      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "model",
                           "'intel' (intel-iommu) needs a q35 machine, and the machine is %s "
                           "(QEMU: \"Parameter 'driver' expects a dynamic sysbus device type for the machine\"): "
                           "set [machine] type = q35, or model = virtio",
                           machine);
      return FALSE;
    }

  if (self->intremap == QL_IOMMU_SWITCH_ON && may_use_kvm (vm) && !machine_option_is (vm, "kernel-irqchip", split))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "intremap",
                           "'on' under KVM needs the split irqchip (QEMU: \"Interrupt Remapping cannot work with "
                           "kernel-irqchip=on, please use 'split|off'.\"): add kernel-irqchip=split to [machine] options, "
                           "or set intremap = auto");
      return FALSE;
    }

  devices = ql_vm_config_get_devices (vm);
  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other == device)
        {
          after_self = TRUE;
          continue;
        }
      if (g_strcmp0 (ql_device_get_type_name (other), "vfio") != 0)
        continue;
      if (!self->caching_mode)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "caching-mode",
                               "vfio device '%s' needs caching-mode = true (QEMU: \"We need to set caching-mode=on for "
                               "intel-iommu to enable device assignment with IOMMU protection.\")",
                               ql_device_get_id (other));
          return FALSE;
        }
      if (!after_self)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "type",
                               "vfio device '%s' comes before the IOMMU in the VM, and QEMU binds a vfio device's DMA "
                               "when it creates it: it would bypass the IOMMU: list the IOMMU before '%s'",
                               ql_device_get_id (other), ql_device_get_id (other));
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
check_virtio (QlIommuDevice  *self,
              QlVmConfig     *vm,
              GError        **error)
{
  QlDevice *device = QL_DEVICE (self);
  const char *key = NULL;
  GPtrArray *devices;

  if (self->intremap != QL_IOMMU_SWITCH_AUTO)
    key = "intremap";
  else if (self->caching_mode)
    key = "caching-mode";
  else if (self->device_iotlb)
    key = "device-iotlb";
  if (key != NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, key,
                           "is a property of model intel (intel-iommu); virtio-iommu-pci has none "
                           "(QEMU: \"Property 'virtio-iommu-pci.%s' not found\"): unset %s, or set model = intel",
                           key, key);
      return FALSE;
    }

  devices = vm != NULL ? ql_vm_config_get_devices (vm) : NULL;
  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other == device)
        break;
      if (g_strcmp0 (ql_device_get_type_name (other), "vfio") == 0)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "type",
                               "vfio device '%s' comes before the IOMMU in the VM, and QEMU binds a vfio device's DMA "
                               "when it creates it: it would bypass the IOMMU: list the IOMMU before '%s'",
                               ql_device_get_id (other), ql_device_get_id (other));
          return FALSE;
        }
    }
  return TRUE;
}

/* The IOMMU of @vm before @self (any when @self is not in @vm). */
static QlDevice *
find_other_iommu (QlIommuDevice *self,
                  QlVmConfig    *vm)
{
  GPtrArray *devices = vm != NULL ? ql_vm_config_get_devices (vm) : NULL;

  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other == QL_DEVICE (self))
        return NULL;
      if (QL_IS_IOMMU_DEVICE (other))
        return other;
    }
  return NULL;
}

static gboolean
ql_iommu_device_valid (QlDevice    *device,
                       QlVmConfig  *vm,
                       GError     **error)
{
  QlIommuDevice *self = QL_IOMMU_DEVICE (device);
  static const char * const off[] = { "off", "false", "no", NULL };
  QlDevice *other;

  other = find_other_iommu (self, vm);
  if (other != NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "type",
                           "the VM has an IOMMU already, '%s', and QEMU supports one (\"QEMU does not support "
                           "multiple vIOMMUs for x86 yet.\"): remove '%s' or '%s'",
                           ql_device_get_id (other), ql_device_get_id (other), ql_device_get_id (device));
      return FALSE;
    }

  if (self->model == QL_IOMMU_MODEL_VIRTIO)
    {
      if (!check_virtio (self, vm, error))
        return FALSE;
    }
  else if (vm != NULL && !check_intel (self, vm, error))
    return FALSE;

  if (vm != NULL && machine_option_is (vm, "acpi", off))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "model",
                           "%s is described to the guest by an ACPI table (%s), and [machine] options turn ACPI off: "
                           "QEMU starts, the guest finds no IOMMU; remove acpi=off",
                           model_driver (self->model), self->model == QL_IOMMU_MODEL_VIRTIO ? "VIOT" : "DMAR");
      return FALSE;
    }
  return TRUE;
}

static gboolean
ql_iommu_device_qemu_params (QlDevice    *device,
                             QlVmConfig  *vm,
                             QlCmdline   *cmdline,
                             GError     **error)
{
  QlIommuDevice *self = QL_IOMMU_DEVICE (device);
  QlOption *dev;

  dev = ql_cmdline_add_option (cmdline, "-device", model_driver (self->model),
                               "id", ql_device_get_id (device),
                               NULL);
  if (self->model == QL_IOMMU_MODEL_VIRTIO)
    {
      /* QEMU refuses it anywhere but on the root bus. */
      ql_option_set_pci_placement (dev, QL_PCI_PLACEMENT_NONE);
      return TRUE;
    }
  if (self->intremap != QL_IOMMU_SWITCH_AUTO)
    ql_option_set (dev, "intremap", self->intremap == QL_IOMMU_SWITCH_ON ? "on" : "off");
  if (self->caching_mode)
    ql_option_set_bool (dev, "caching-mode", TRUE);
  if (self->device_iotlb)
    ql_option_set_bool (dev, "device-iotlb", TRUE);
  return TRUE;
}

static gboolean
ql_iommu_device_hotplug_params (QlDevice    *device,
                                QlVmConfig  *vm,
                                QlCmdline   *cmdline,
                                GError     **error)
{
  QlIommuDevice *self = QL_IOMMU_DEVICE (device);

  ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "type",
                       "an IOMMU is part of the machine from its start: %s cannot be hot-plugged "
                       "(QEMU: \"Parameter 'driver' expects a pluggable device type\")",
                       model_driver (self->model));
  return FALSE;
}

static void
ql_iommu_device_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  QlIommuDevice *self = QL_IOMMU_DEVICE (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      self->model = g_value_get_enum (value);
      break;
    case PROP_INTREMAP:
      self->intremap = g_value_get_enum (value);
      break;
    case PROP_CACHING_MODE:
      self->caching_mode = g_value_get_boolean (value);
      break;
    case PROP_DEVICE_IOTLB:
      self->device_iotlb = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_iommu_device_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  QlIommuDevice *self = QL_IOMMU_DEVICE (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      g_value_set_enum (value, self->model);
      break;
    case PROP_INTREMAP:
      g_value_set_enum (value, self->intremap);
      break;
    case PROP_CACHING_MODE:
      g_value_set_boolean (value, self->caching_mode);
      break;
    case PROP_DEVICE_IOTLB:
      g_value_set_boolean (value, self->device_iotlb);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_iommu_device_class_init (QlIommuDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = ql_iommu_device_set_property;
  object_class->get_property = ql_iommu_device_get_property;

  device_class->valid = ql_iommu_device_valid;
  device_class->qemu_params = ql_iommu_device_qemu_params;
  device_class->hotplug_params = ql_iommu_device_hotplug_params;

  properties[PROP_MODEL] =
    g_param_spec_enum ("model", "Model",
                       "Which IOMMU: intel (-device intel-iommu, Intel VT-d; q35 only; the guest kernel needs intel_iommu=on) "
                       "or virtio (-device virtio-iommu-pci on the root bus; the guest kernel needs CONFIG_VIRTIO_IOMMU); "
                       "one IOMMU per VM; default intel",
                       QL_TYPE_IOMMU_MODEL, QL_IOMMU_MODEL_INTEL, flags);
  properties[PROP_INTREMAP] =
    g_param_spec_enum ("intremap", "Interrupt remapping",
                       "Interrupt remapping of intel-iommu (intremap=): auto (QEMU decides: on, but off under KVM with the "
                       "kernel irqchip), on or off; on under KVM needs kernel-irqchip=split in [machine] options; model intel only",
                       QL_TYPE_IOMMU_SWITCH, QL_IOMMU_SWITCH_AUTO, flags);
  properties[PROP_CACHING_MODE] =
    g_param_spec_boolean ("caching-mode", "Caching mode",
                          "The guest reports every mapping it makes (caching-mode=on), which vfio devices need; model intel only; default false",
                          FALSE, flags);
  properties[PROP_DEVICE_IOTLB] =
    g_param_spec_boolean ("device-iotlb", "Device IOTLB",
                          "Advertise device-TLB support (device-iotlb=on), used by endpoints with ATS and by vhost backends "
                          "that ask for device IOTLB invalidations; model intel only; default false",
                          FALSE, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_iommu_device_init (QlIommuDevice *self)
{
  self->model = QL_IOMMU_MODEL_INTEL;
  self->intremap = QL_IOMMU_SWITCH_AUTO;
}
