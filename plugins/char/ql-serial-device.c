/* qlaunch char plugin — QlSerialDevice: a virtio-serial PCI controller.
 *
 * What it produces (govmm's SerialDevice):
 *
 *   -device DRIVER,id=ID[,bus=B][,addr=A][,disable-modern=on]
 *
 * Its bus is ID.0: `char` devices (virtconsole, virtserialport) sit on it.
 * govmm's Valid() dropped a SerialDevice without driver or id; here the
 * driver defaults to virtio-serial-pci and the id to the group's label,
 * and anything else wrong is an error naming the property.
 */
#include "ql-serial-device.h"

#define QL_SERIAL_DEFAULT_DRIVER "virtio-serial-pci"

struct _QlSerialDevice
{
  QlDevice  parent_instance;

  char     *driver;
  gboolean  disable_modern;
  char     *bus;
  char     *addr;
};

G_DEFINE_FINAL_TYPE (QlSerialDevice, ql_serial_device, QL_TYPE_DEVICE)

enum
{
  PROP_0,
  PROP_DRIVER,
  PROP_DISABLE_MODERN,
  PROP_BUS,
  PROP_ADDR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char * const ql_serial_drivers[] = {
  "virtio-serial-pci",
  "virtio-serial",
  "virtio-serial-pci-transitional",
  "virtio-serial-pci-non-transitional",
  NULL
};

static gboolean
driver_has_disable_modern (const char *driver)
{
  return g_str_equal (driver, "virtio-serial-pci") ||
         g_str_equal (driver, "virtio-serial");
}

static gboolean
ql_serial_device_valid (QlDevice    *device,
                        QlVmConfig  *vm,
                        GError     **error)
{
  QlSerialDevice *self = QL_SERIAL_DEVICE (device);

  if (!ql_device_check_not_empty (device, self->driver, "driver", error) ||
      !ql_device_check_not_empty (device, self->bus, "bus", error) ||
      !ql_device_check_not_empty (device, self->addr, "addr", error))
    return FALSE;

  if (!g_strv_contains (ql_serial_drivers, self->driver))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "driver",
                           "'%s' is not a supported driver: expected one of virtio-serial-pci, virtio-serial, virtio-serial-pci-transitional, virtio-serial-pci-non-transitional",
                           self->driver);
      return FALSE;
    }

  if (self->addr != NULL && !ql_is_valid_pci_addr (self->addr))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "addr",
                           "'%s' is not a PCI address: expected a hex slot with an optional function, such as '5' or '1f.2'",
                           self->addr);
      return FALSE;
    }

  if (self->disable_modern && !driver_has_disable_modern (self->driver))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT,
                           "disable-modern",
                           "disable-modern=true only applies to drivers virtio-serial-pci and virtio-serial, not to '%s'",
                           self->driver);
      return FALSE;
    }

  return TRUE;
}

static gboolean
ql_serial_device_qemu_params (QlDevice    *device,
                              QlVmConfig  *vm,
                              QlCmdline   *cmdline,
                              GError     **error)
{
  QlSerialDevice *self = QL_SERIAL_DEVICE (device);
  QlOption *dev;

  dev = ql_cmdline_add_option (cmdline, "-device", self->driver,
                               "id", ql_device_get_id (device),
                               "bus", self->bus,
                               "addr", self->addr,
                               NULL);
  if (self->disable_modern)
    ql_option_set_bool (dev, "disable-modern", TRUE);

  return TRUE;
}

static void
set_string_or_default (char         **field,
                       const GValue  *value,
                       const char    *default_value)
{
  const char *text = g_value_get_string (value);

  g_free (*field);
  *field = g_strdup (text != NULL ? text : default_value);
}

static void
ql_serial_device_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  QlSerialDevice *self = QL_SERIAL_DEVICE (object);

  switch (prop_id)
    {
    case PROP_DRIVER:
      /* NULL restores the default. */
      set_string_or_default (&self->driver, value, QL_SERIAL_DEFAULT_DRIVER);
      break;
    case PROP_DISABLE_MODERN:
      self->disable_modern = g_value_get_boolean (value);
      break;
    case PROP_BUS:
      set_string_or_default (&self->bus, value, NULL);
      break;
    case PROP_ADDR:
      set_string_or_default (&self->addr, value, NULL);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_serial_device_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  QlSerialDevice *self = QL_SERIAL_DEVICE (object);

  switch (prop_id)
    {
    case PROP_DRIVER:
      g_value_set_string (value, self->driver);
      break;
    case PROP_DISABLE_MODERN:
      g_value_set_boolean (value, self->disable_modern);
      break;
    case PROP_BUS:
      g_value_set_string (value, self->bus);
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
ql_serial_device_finalize (GObject *object)
{
  QlSerialDevice *self = QL_SERIAL_DEVICE (object);

  g_free (self->driver);
  g_free (self->bus);
  g_free (self->addr);

  G_OBJECT_CLASS (ql_serial_device_parent_class)->finalize (object);
}

static void
ql_serial_device_class_init (QlSerialDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = ql_serial_device_set_property;
  object_class->get_property = ql_serial_device_get_property;
  object_class->finalize = ql_serial_device_finalize;

  device_class->valid = ql_serial_device_valid;
  device_class->qemu_params = ql_serial_device_qemu_params;

  properties[PROP_DRIVER] =
    g_param_spec_string ("driver", "Driver",
                         "QEMU device model: virtio-serial-pci, virtio-serial (an alias of virtio-serial-pci), virtio-serial-pci-transitional or virtio-serial-pci-non-transitional; its bus ID.0 takes 'char' ports",
                         QL_SERIAL_DEFAULT_DRIVER, flags);
  properties[PROP_DISABLE_MODERN] =
    g_param_spec_boolean ("disable-modern", "Disable modern",
                          "Expose a legacy (virtio 0.9) controller only; for drivers virtio-serial-pci and virtio-serial",
                          FALSE, flags);
  properties[PROP_BUS] =
    g_param_spec_string ("bus", "Bus",
                         "PCI bus the controller plugs into, such as 'pcie.0' or a bridge id; QEMU picks one when unset",
                         NULL, flags);
  properties[PROP_ADDR] =
    g_param_spec_string ("addr", "PCI address",
                         "PCI address on the bus in QEMU's hex syntax slot[.function], such as '5' or '1f.2'",
                         NULL, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_serial_device_init (QlSerialDevice *self)
{
  self->driver = g_strdup (QL_SERIAL_DEFAULT_DRIVER);
}
