/* qlaunch vfio plugin — QlVfioDevice: a host PCI function passed through to
 * the guest.
 *
 * What it produces (govmm's VFIODevice):
 *
 *   -device vfio-pci,id=ID,host=DDDD:BB:SS.F
 *
 * Differences from govmm, on purpose:
 * - the device gets an id (govmm wrote none);
 * - bdf is checked: [domain:]bus:slot.function in hex, each field in its
 *   range (QEMU's parser takes "0x01:00.0" or "01:00.0," and looks for
 *   whatever strtoul made of it); it is written in the canonical full form
 *   the kernel uses in sysfs (domain 0000 when not given, lower case);
 * - the same host function assigned twice is an error;
 * - with host checks on, the function must exist, sit in an IOMMU group and
 *   be bound to vfio-pci, and /dev/vfio/vfio must be usable; QEMU 7.2
 *   fails with "no such host device" or "no iommu_group found" otherwise;
 * - hot-plugged into a VM whose IOMMU is an intel-iommu without
 *   caching-mode, it is refused: QEMU 7.2 needs caching-mode=on to map
 *   for vfio. (At start-up the `iommu` device reports that rule.)
 */
#include "ql-vfio-device.h"

#include <string.h>

struct _QlVfioDevice
{
  QlDevice  parent_instance;

  char     *bdf;
};

G_DEFINE_FINAL_TYPE (QlVfioDevice, ql_vfio_device, QL_TYPE_DEVICE)

enum
{
  PROP_0,
  PROP_BDF,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* @len hex digits (1 .. @max_digits) at @text, at most @max_value. */
static gboolean
parse_hex_field (const char *text,
                 gsize       len,
                 gsize       max_digits,
                 guint       max_value,
                 guint      *out)
{
  guint value = 0;

  if (len == 0 || len > max_digits)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      if (!g_ascii_isxdigit (text[i]))
        return FALSE;
      value = value * 16 + (guint) g_ascii_xdigit_value (text[i]);
    }
  if (value > max_value)
    return FALSE;
  *out = value;
  return TRUE;
}

/* [domain:]bus:slot.function, hex: domain 0..ffff (4 digits at most), bus
 * 0..ff, slot 0..1f, function 0..7 (the ranges of QEMU's host= parser).
 * Returns the canonical form "dddd:bb:ss.f", or NULL. */
static char *
normalize_bdf (const char *bdf)
{
  g_auto(GStrv) parts = g_strsplit (bdf, ":", -1);
  guint n = g_strv_length (parts);
  guint domain = 0, bus, slot, function;
  const char *slot_fn;
  const char *dot;

  if (n != 2 && n != 3)
    return NULL;
  if (n == 3 && !parse_hex_field (parts[0], strlen (parts[0]), 4, 0xffff, &domain))
    return NULL;
  if (!parse_hex_field (parts[n - 2], strlen (parts[n - 2]), 2, 0xff, &bus))
    return NULL;

  slot_fn = parts[n - 1];
  dot = strchr (slot_fn, '.');
  if (dot == NULL ||
      !parse_hex_field (slot_fn, (gsize) (dot - slot_fn), 2, 0x1f, &slot) ||
      !parse_hex_field (dot + 1, strlen (dot + 1), 1, 7, &function))
    return NULL;

  return g_strdup_printf ("%04x:%02x:%02x.%x", domain, bus, slot, function);
}

/* An earlier vfio device of @vm that assigns the same host function. */
static QlDevice *
find_earlier_same_function (QlVfioDevice *self,
                            QlVmConfig   *vm,
                            const char   *canonical)
{
  GPtrArray *devices = ql_vm_config_get_devices (vm);

  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);
      g_autofree char *other_bdf = NULL;

      if (other == QL_DEVICE (self))
        return NULL;
      if (!QL_IS_VFIO_DEVICE (other) || QL_VFIO_DEVICE (other)->bdf == NULL)
        continue;
      other_bdf = normalize_bdf (QL_VFIO_DEVICE (other)->bdf);
      if (g_strcmp0 (other_bdf, canonical) == 0)
        return other;
    }

  return NULL;
}

/* An intel-iommu of @vm without caching-mode (an `iommu` device of model
 * intel, read through its properties), or NULL. */
static QlDevice *
find_intel_iommu_without_caching_mode (QlVmConfig *vm)
{
  GPtrArray *devices = ql_vm_config_get_devices (vm);

  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);
      GParamSpec *model_pspec;
      GEnumValue *model;
      gint model_value = 0;
      gboolean caching_mode = FALSE;

      if (g_strcmp0 (ql_device_get_type_name (other), "iommu") != 0)
        continue;
      model_pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (other), "model");
      if (model_pspec == NULL || !G_IS_PARAM_SPEC_ENUM (model_pspec)
          || g_object_class_find_property (G_OBJECT_GET_CLASS (other), "caching-mode") == NULL)
        continue;
      g_object_get (other, "model", &model_value, "caching-mode", &caching_mode, NULL);
      model = g_enum_get_value (G_PARAM_SPEC_ENUM (model_pspec)->enum_class, model_value);
      if (model != NULL && g_strcmp0 (model->value_nick, "intel") == 0 && !caching_mode)
        return other;
    }
  return NULL;
}

static gboolean
vm_has_device (QlVmConfig *vm,
               QlDevice   *device)
{
  GPtrArray *devices = ql_vm_config_get_devices (vm);

  for (guint i = 0; devices != NULL && i < devices->len; i++)
    if (g_ptr_array_index (devices, i) == device)
      return TRUE;
  return FALSE;
}

static gboolean
check_host (QlVfioDevice  *self,
            QlHostProbe   *probe,
            const char    *canonical,
            GError       **error)
{
  QlDevice *device = QL_DEVICE (self);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *config = g_strdup_printf ("/sys/bus/pci/devices/%s/config", canonical);
  g_autofree char *group = g_strdup_printf ("/sys/bus/pci/devices/%s/iommu_group/reserved_regions",
                                            canonical);
  g_autofree char *bound = g_strdup_printf ("/sys/bus/pci/drivers/vfio-pci/%s/config", canonical);

  if (!ql_host_probe_file_readable (probe, config, &local_error))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "bdf",
                           "the host has no PCI function '%s' (%s: %s), and QEMU would fail with \"no such host device\": check the address with 'lspci -D'",
                           canonical, config, local_error->message);
      return FALSE;
    }
  if (!ql_host_probe_file_readable (probe, group, &local_error))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "bdf",
                           "host PCI function '%s' is in no IOMMU group (%s: %s), and QEMU would fail with \"no iommu_group found\": turn the host's IOMMU on (intel_iommu=on or amd_iommu=on on its kernel command line)",
                           canonical, group, local_error->message);
      return FALSE;
    }
  if (!ql_host_probe_file_readable (probe, bound, &local_error))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "bdf",
                           "host PCI function '%s' is not bound to the vfio-pci driver (%s: %s): bind it first, for example with 'driverctl set-override %s vfio-pci'",
                           canonical, bound, local_error->message, canonical);
      return FALSE;
    }
  if (!ql_host_probe_device_usable (probe, "/dev/vfio/vfio", &local_error))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "bdf",
                           "VFIO is not usable on this host: '/dev/vfio/vfio' cannot be opened: %s; load the vfio-pci module",
                           local_error->message);
      return FALSE;
    }

  return TRUE;
}

static gboolean
ql_vfio_device_valid (QlDevice    *device,
                      QlVmConfig  *vm,
                      GError     **error)
{
  QlVfioDevice *self = QL_VFIO_DEVICE (device);
  QlHostProbe *probe = ql_vm_config_get_host_probe (vm);
  g_autofree char *canonical = NULL;
  QlDevice *other;

  if (self->bdf == NULL || *self->bdf == '\0')
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "bdf",
                           "no host PCI function given: set bdf to its address, such as '0000:01:00.0' or '01:00.0'");
      return FALSE;
    }

  canonical = normalize_bdf (self->bdf);
  if (canonical == NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "bdf",
                           "'%s' is not a host PCI address: expected [domain:]bus:slot.function in hex (domain up to ffff, bus up to ff, slot up to 1f, function up to 7), such as '0000:01:00.0' or '01:00.0'",
                           self->bdf);
      return FALSE;
    }

  other = find_earlier_same_function (self, vm, canonical);
  if (other != NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_DUPLICATE, "bdf",
                           "host PCI function '%s' is already assigned by device '%s': a function can be passed to the guest once",
                           canonical, ql_device_get_id (other));
      return FALSE;
    }

  /* Hot-plugged (not in the VM yet): the IOMMU's start-up rule. */
  if (!vm_has_device (vm, device))
    {
      QlDevice *iommu = find_intel_iommu_without_caching_mode (vm);

      if (iommu != NULL)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "type",
                               "the VM's IOMMU '%s' is an intel-iommu without caching-mode, and QEMU maps nothing "
                               "for a vfio device then (\"We need to set caching-mode=on for intel-iommu to enable "
                               "device assignment with IOMMU protection.\"): start the VM with caching-mode = true",
                               ql_device_get_id (iommu));
          return FALSE;
        }
    }

  if (probe != NULL && !check_host (self, probe, canonical, error))
    return FALSE;

  return TRUE;
}

static gboolean
ql_vfio_device_qemu_params (QlDevice    *device,
                            QlVmConfig  *vm,
                            QlCmdline   *cmdline,
                            GError     **error)
{
  QlVfioDevice *self = QL_VFIO_DEVICE (device);
  g_autofree char *canonical = normalize_bdf (self->bdf != NULL ? self->bdf : "");

  if (canonical == NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "bdf",
                           "'%s' is not a host PCI address: expected [domain:]bus:slot.function in hex (domain up to ffff, bus up to ff, slot up to 1f, function up to 7), such as '0000:01:00.0' or '01:00.0'",
                           self->bdf != NULL ? self->bdf : "");
      return FALSE;
    }

  ql_cmdline_add_option (cmdline, "-device", "vfio-pci",
                         "id", ql_device_get_id (device),
                         "host", canonical,
                         NULL);
  return TRUE;
}

static void
ql_vfio_device_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  QlVfioDevice *self = QL_VFIO_DEVICE (object);

  switch (prop_id)
    {
    case PROP_BDF:
      g_free (self->bdf);
      self->bdf = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_vfio_device_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  QlVfioDevice *self = QL_VFIO_DEVICE (object);

  switch (prop_id)
    {
    case PROP_BDF:
      g_value_set_string (value, self->bdf);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_vfio_device_finalize (GObject *object)
{
  QlVfioDevice *self = QL_VFIO_DEVICE (object);

  g_free (self->bdf);

  G_OBJECT_CLASS (ql_vfio_device_parent_class)->finalize (object);
}

static void
ql_vfio_device_class_init (QlVfioDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);

  object_class->set_property = ql_vfio_device_set_property;
  object_class->get_property = ql_vfio_device_get_property;
  object_class->finalize = ql_vfio_device_finalize;

  device_class->valid = ql_vfio_device_valid;
  device_class->qemu_params = ql_vfio_device_qemu_params;

  properties[PROP_BDF] =
    g_param_spec_string ("bdf", "BDF",
                         "Host PCI function to assign (required): [domain:]bus:slot.function in hex, such as '0000:01:00.0' or '01:00.0' (domain 0000); it must be bound to vfio-pci",
                         NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_vfio_device_init (QlVfioDevice *self)
{
}
