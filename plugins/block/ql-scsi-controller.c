/* qlaunch block plugin — QlScsiController: a virtio-scsi PCI controller.
 *
 * What it produces (govmm's SCSIController):
 *
 *   -device virtio-scsi-pci,id=ID[,bus=B][,addr=A][,disable-modern=on][,iothread=IO]
 *
 * Its bus is ID.0: a `block` device with interface=scsi and bus=ID.0 sits
 * on it. `addr` is QEMU's hex PCI syntax, as govmm passed it; io-thread
 * must be an [iothread] of the VM (QEMU: "Device 'io9' not found").
 */
#include "ql-scsi-controller.h"

struct _QlScsiController
{
  QlDevice  parent_instance;

  char     *bus;
  char     *addr;
  gboolean  disable_modern;
  char     *io_thread;
};

G_DEFINE_FINAL_TYPE (QlScsiController, ql_scsi_controller, QL_TYPE_DEVICE)

enum
{
  PROP_0,
  PROP_BUS,
  PROP_ADDR,
  PROP_DISABLE_MODERN,
  PROP_IO_THREAD,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
ql_scsi_controller_valid (QlDevice    *device,
                          QlVmConfig  *vm,
                          GError     **error)
{
  QlScsiController *self = QL_SCSI_CONTROLLER (device);

  if (!ql_device_check_not_empty (device, self->bus, "bus", error) ||
      !ql_device_check_not_empty (device, self->addr, "addr", error) ||
      !ql_device_check_not_empty (device, self->io_thread, "io-thread", error))
    return FALSE;

  if (self->addr != NULL && !ql_is_valid_pci_addr (self->addr))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "addr",
                           "'%s' is not a PCI address: expected a hex slot with an optional function, such as '5' or '1f.2'",
                           self->addr);
      return FALSE;
    }

  if (self->io_thread != NULL &&
      (vm == NULL || !ql_vm_config_has_iothread (vm, self->io_thread)))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "io-thread",
                           "'%s' is not an I/O thread of the VM: add an [iothread %s] group or name an existing one",
                           self->io_thread, self->io_thread);
      return FALSE;
    }

  return TRUE;
}

static gboolean
ql_scsi_controller_qemu_params (QlDevice    *device,
                                QlVmConfig  *vm,
                                QlCmdline   *cmdline,
                                GError     **error)
{
  QlScsiController *self = QL_SCSI_CONTROLLER (device);
  QlOption *dev;

  dev = ql_cmdline_add_option (cmdline, "-device", "virtio-scsi-pci",
                               "id", ql_device_get_id (device),
                               "bus", self->bus,
                               "addr", self->addr,
                               NULL);
  if (self->disable_modern)
    ql_option_set_bool (dev, "disable-modern", TRUE);
  if (self->io_thread != NULL)
    ql_option_set (dev, "iothread", self->io_thread);

  return TRUE;
}

static void
set_string (char         **field,
            const GValue  *value)
{
  g_free (*field);
  *field = g_value_dup_string (value);
}

static void
ql_scsi_controller_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  QlScsiController *self = QL_SCSI_CONTROLLER (object);

  switch (prop_id)
    {
    case PROP_BUS:
      set_string (&self->bus, value);
      break;
    case PROP_ADDR:
      set_string (&self->addr, value);
      break;
    case PROP_DISABLE_MODERN:
      self->disable_modern = g_value_get_boolean (value);
      break;
    case PROP_IO_THREAD:
      set_string (&self->io_thread, value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_scsi_controller_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  QlScsiController *self = QL_SCSI_CONTROLLER (object);

  switch (prop_id)
    {
    case PROP_BUS:
      g_value_set_string (value, self->bus);
      break;
    case PROP_ADDR:
      g_value_set_string (value, self->addr);
      break;
    case PROP_DISABLE_MODERN:
      g_value_set_boolean (value, self->disable_modern);
      break;
    case PROP_IO_THREAD:
      g_value_set_string (value, self->io_thread);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_scsi_controller_finalize (GObject *object)
{
  QlScsiController *self = QL_SCSI_CONTROLLER (object);

  g_free (self->bus);
  g_free (self->addr);
  g_free (self->io_thread);

  G_OBJECT_CLASS (ql_scsi_controller_parent_class)->finalize (object);
}

static void
ql_scsi_controller_class_init (QlScsiControllerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = ql_scsi_controller_set_property;
  object_class->get_property = ql_scsi_controller_get_property;
  object_class->finalize = ql_scsi_controller_finalize;

  device_class->valid = ql_scsi_controller_valid;
  device_class->qemu_params = ql_scsi_controller_qemu_params;

  properties[PROP_BUS] =
    g_param_spec_string ("bus", "Bus",
                         "PCI bus the controller plugs into, such as 'pcie.0' or a bridge id; QEMU picks one when unset",
                         NULL, flags);
  properties[PROP_ADDR] =
    g_param_spec_string ("addr", "PCI address",
                         "PCI address on the bus in QEMU's hex syntax slot[.function], such as '6' or '1f.2'",
                         NULL, flags);
  properties[PROP_DISABLE_MODERN] =
    g_param_spec_boolean ("disable-modern", "Disable modern",
                          "Expose a legacy (virtio 0.9) device only",
                          FALSE, flags);
  properties[PROP_IO_THREAD] =
    g_param_spec_string ("io-thread", "I/O thread",
                         "Id of an [iothread] of the VM that handles the controller's I/O",
                         NULL, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_scsi_controller_init (QlScsiController *self)
{
}
