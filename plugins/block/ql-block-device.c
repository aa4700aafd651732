/* qlaunch block plugin — QlBlockDevice: a disk image attached as a
 * virtio-blk or scsi-hd device.
 *
 * What it produces (govmm's BlockDevice, corrected for QEMU 7.2):
 *
 *   -device DRIVER,id=ID,drive=ID[,bus=B][,addr=A]
 *     virtio-blk only: [,disable-modern=on][,scsi=on][,config-wce=off]
 *   -drive id=ID,file=FILE,aio=AIO,format=FMT,if=none[,cache.direct=on][,readonly=on]
 *
 * govmm wrote its Interface into `-drive if=` (`if=scsi` makes QEMU create
 * a legacy SCSI HBA of its own choosing next to the -device it also
 * emitted). qlaunch always writes `if=none` and expresses the interface by
 * the device model: interface=none is a virtio-blk PCI disk, interface=scsi
 * a scsi-hd disk on a SCSI controller's bus (see `scsi-controller`).
 *
 * Checked here because QEMU 7.2 refuses them only at start-up, or worse:
 * aio=native without cache.direct=on, scsi=on on a modern virtio-blk, and
 * virtio-blk properties on a scsi-hd.
 */
#include "ql-block-device.h"

struct _QlBlockDevice
{
  QlDevice          parent_instance;

  char             *driver;
  char             *file;
  QlBlockInterface  interface;
  QlBlockAio        aio;
  QlBlockFormat     format;
  gboolean          scsi;
  gboolean          wce;
  gboolean          disable_modern;
  gboolean          cache_direct;
  gboolean          read_only;
  char             *bus;
  char             *addr;
};

G_DEFINE_FINAL_TYPE (QlBlockDevice, ql_block_device, QL_TYPE_DEVICE)

enum
{
  PROP_0,
  PROP_DRIVER,
  PROP_FILE,
  PROP_INTERFACE,
  PROP_AIO,
  PROP_FORMAT,
  PROP_SCSI,
  PROP_WCE,
  PROP_DISABLE_MODERN,
  PROP_CACHE_DIRECT,
  PROP_READ_ONLY,
  PROP_BUS,
  PROP_ADDR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char * const ql_block_drivers[] = {
  "virtio-blk-pci",
  "virtio-blk",
  "scsi-hd",
  NULL
};

static const char * const ql_block_aio_nicks[] = {
  [QL_BLOCK_AIO_THREADS] = "threads",
  [QL_BLOCK_AIO_NATIVE] = "native",
};

static const char * const ql_block_format_nicks[] = {
  [QL_BLOCK_FORMAT_QCOW2] = "qcow2",
  [QL_BLOCK_FORMAT_RAW] = "raw",
  [QL_BLOCK_FORMAT_VMDK] = "vmdk",
  [QL_BLOCK_FORMAT_VDI] = "vdi",
  [QL_BLOCK_FORMAT_VHDX] = "vhdx",
  [QL_BLOCK_FORMAT_VPC] = "vpc",
};

/* The driver set, or the one that goes with the interface. */
static const char *
ql_block_device_get_driver (QlBlockDevice *self)
{
  if (self->driver != NULL)
    return self->driver;
  return self->interface == QL_BLOCK_INTERFACE_SCSI ? "scsi-hd" : "virtio-blk-pci";
}

static gboolean
driver_is_virtio_blk (const char *driver)
{
  return g_str_equal (driver, "virtio-blk-pci") ||
         g_str_equal (driver, "virtio-blk");
}

/* A virtio-blk property set on a scsi-hd disk. */
static gboolean
check_virtio_blk_only (QlBlockDevice  *self,
                       const char     *driver,
                       gboolean        is_set,
                       const char     *property,
                       GError        **error)
{
  if (is_set && !driver_is_virtio_blk (driver))
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_CONFLICT,
                           property,
                           "only applies to virtio-blk disks, not to driver '%s': unset it or use interface=none",
                           driver);
      return FALSE;
    }

  return TRUE;
}

/* Whether a scsi-controller comes before @self in @vm (QEMU creates
 * devices in command-line order, so a later one gives no bus). */
static gboolean
has_scsi_controller_before (QlBlockDevice *self,
                            QlVmConfig    *vm)
{
  GPtrArray *devices = vm != NULL ? ql_vm_config_get_devices (vm) : NULL;

  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other == QL_DEVICE (self))
        return FALSE;
      if (g_strcmp0 (ql_device_get_type_name (other), "scsi-controller") == 0)
        return TRUE;
    }

  return FALSE;
}

static gboolean
ql_block_device_valid (QlDevice    *device,
                       QlVmConfig  *vm,
                       GError     **error)
{
  QlBlockDevice *self = QL_BLOCK_DEVICE (device);
  QlHostProbe *probe = vm != NULL ? ql_vm_config_get_host_probe (vm) : NULL;
  const char *driver = ql_block_device_get_driver (self);

  if (self->file == NULL || *self->file == '\0')
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "file",
                           "no disk image given: set file to the path of the image");
      return FALSE;
    }

  if (!g_strv_contains (ql_block_drivers, driver))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "driver",
                           "'%s' is not a supported driver: expected one of virtio-blk-pci, virtio-blk, scsi-hd",
                           driver);
      return FALSE;
    }

  if (self->interface == QL_BLOCK_INTERFACE_SCSI && driver_is_virtio_blk (driver))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "driver",
                           "'%s' is not a SCSI disk but interface is 'scsi': use driver 'scsi-hd' or interface=none",
                           driver);
      return FALSE;
    }
  if (self->interface == QL_BLOCK_INTERFACE_NONE && !driver_is_virtio_blk (driver))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "driver",
                           "'%s' is a SCSI disk but interface is 'none': set interface=scsi or use driver 'virtio-blk-pci'",
                           driver);
      return FALSE;
    }

  if (!ql_device_check_not_empty (QL_DEVICE (self), self->bus, "bus", error) ||
      !ql_device_check_not_empty (QL_DEVICE (self), self->addr, "addr", error))
    return FALSE;

  /* QEMU: "No 'SCSI' bus found for device 'scsi-hd'". With an explicit bus
   * the disk may sit on any SCSI bus, such as a third-party controller's. */
  if (self->interface == QL_BLOCK_INTERFACE_SCSI && self->bus == NULL &&
      !has_scsi_controller_before (self, vm))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "bus",
                           "a SCSI disk needs a SCSI controller created before it: add a [device] of type 'scsi-controller' ahead of this one, or set bus to a SCSI bus such as 'scsi0.0'");
      return FALSE;
    }

  if (!check_virtio_blk_only (self, driver, self->scsi, "scsi", error) ||
      !check_virtio_blk_only (self, driver, self->wce, "wce", error) ||
      !check_virtio_blk_only (self, driver, self->disable_modern,
                              "disable-modern", error) ||
      !check_virtio_blk_only (self, driver, self->addr != NULL, "addr", error))
    return FALSE;

  if (self->addr != NULL && !ql_is_valid_pci_addr (self->addr))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "addr",
                           "'%s' is not a PCI address: expected a hex slot with an optional function, such as '5' or '1f.2'",
                           self->addr);
      return FALSE;
    }

  if (self->scsi && !self->disable_modern)
    {
      /* QEMU: "Please set scsi=off for virtio-blk devices in order to use
       * virtio 1.0". */
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "scsi",
                           "scsi=true needs a legacy device, since virtio 1.0 has no SCSI passthrough: set disable-modern=true or scsi=false");
      return FALSE;
    }

  if (self->aio == QL_BLOCK_AIO_NATIVE && !self->cache_direct)
    {
      /* QEMU 7.2 refuses it when it opens the image: "aio=native was
       * specified, but it requires cache.direct=on". */
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "aio",
                           "'native' needs cache-direct=true (O_DIRECT): set cache-direct=true or aio=threads");
      return FALSE;
    }

  if (probe != NULL)
    {
      g_autoptr(GError) local_error = NULL;

      if (!ql_host_probe_file_readable (probe, self->file, &local_error))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "file",
                               "cannot read '%s': %s", self->file,
                               local_error->message);
          return FALSE;
        }
    }

  return TRUE;
}

/* The disk's -device, shared by the start-up and the hotplug forms. */
static void
add_device_option (QlBlockDevice *self,
                   QlCmdline     *cmdline)
{
  const char *id = ql_device_get_id (QL_DEVICE (self));
  const char *driver = ql_block_device_get_driver (self);
  QlOption *dev;

  dev = ql_cmdline_add_option (cmdline, "-device", driver,
                               "id", id,
                               "drive", id,
                               "bus", self->bus,
                               "addr", self->addr,
                               NULL);
  if (driver_is_virtio_blk (driver))
    {
      if (self->disable_modern)
        ql_option_set_bool (dev, "disable-modern", TRUE);
      /* scsi=off is QEMU's default: only the non-default is written. */
      if (self->scsi)
        ql_option_set_bool (dev, "scsi", TRUE);
      /* As govmm: the guest may not toggle the write cache unless asked. */
      if (!self->wce)
        ql_option_set_bool (dev, "config-wce", FALSE);
    }
}

static gboolean
ql_block_device_qemu_params (QlDevice    *device,
                             QlVmConfig  *vm,
                             QlCmdline   *cmdline,
                             GError     **error)
{
  QlBlockDevice *self = QL_BLOCK_DEVICE (device);
  const char *id = ql_device_get_id (device);
  QlOption *drive;

  (void) vm;
  (void) error;
  add_device_option (self, cmdline);

  /* Always if=none: the -device above is the disk's interface. */
  drive = ql_cmdline_add_option (cmdline, "-drive", NULL,
                                 "id", id,
                                 "file", self->file,
                                 "aio", ql_block_aio_nicks[self->aio],
                                 "format", ql_block_format_nicks[self->format],
                                 "if", "none",
                                 NULL);
  if (self->cache_direct)
    ql_option_set_bool (drive, "cache.direct", TRUE);
  if (self->read_only)
    ql_option_set_bool (drive, "readonly", TRUE);

  return TRUE;
}

/* -drive has no QMP twin: a hot-plugged disk is a -blockdev node (format
 * over file, named after the device) and the same -device. */
static gboolean
ql_block_device_hotplug_params (QlDevice    *device,
                                QlVmConfig  *vm,
                                QlCmdline   *cmdline,
                                GError     **error)
{
  QlBlockDevice *self = QL_BLOCK_DEVICE (device);
  QlOption *node;

  (void) vm;
  (void) error;
  node = ql_cmdline_add_option (cmdline, "-blockdev", NULL,
                                "driver", ql_block_format_nicks[self->format],
                                "node-name", ql_device_get_id (device),
                                "file.driver", "file",
                                "file.filename", self->file,
                                "file.aio", ql_block_aio_nicks[self->aio],
                                NULL);
  if (self->cache_direct)
    ql_option_set_bool (node, "file.cache.direct", TRUE);
  if (self->read_only)
    ql_option_set_bool (node, "read-only", TRUE);
  add_device_option (self, cmdline);
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
ql_block_device_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  QlBlockDevice *self = QL_BLOCK_DEVICE (object);

  switch (prop_id)
    {
    case PROP_DRIVER:
      set_string (&self->driver, value);
      break;
    case PROP_FILE:
      set_string (&self->file, value);
      break;
    case PROP_INTERFACE:
      self->interface = g_value_get_enum (value);
      break;
    case PROP_AIO:
      self->aio = g_value_get_enum (value);
      break;
    case PROP_FORMAT:
      self->format = g_value_get_enum (value);
      break;
    case PROP_SCSI:
      self->scsi = g_value_get_boolean (value);
      break;
    case PROP_WCE:
      self->wce = g_value_get_boolean (value);
      break;
    case PROP_DISABLE_MODERN:
      self->disable_modern = g_value_get_boolean (value);
      break;
    case PROP_CACHE_DIRECT:
      self->cache_direct = g_value_get_boolean (value);
      break;
    case PROP_READ_ONLY:
      self->read_only = g_value_get_boolean (value);
      break;
    case PROP_BUS:
      set_string (&self->bus, value);
      break;
    case PROP_ADDR:
      set_string (&self->addr, value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_block_device_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  QlBlockDevice *self = QL_BLOCK_DEVICE (object);

  switch (prop_id)
    {
    case PROP_DRIVER:
      g_value_set_string (value, self->driver);
      break;
    case PROP_FILE:
      g_value_set_string (value, self->file);
      break;
    case PROP_INTERFACE:
      g_value_set_enum (value, self->interface);
      break;
    case PROP_AIO:
      g_value_set_enum (value, self->aio);
      break;
    case PROP_FORMAT:
      g_value_set_enum (value, self->format);
      break;
    case PROP_SCSI:
      g_value_set_boolean (value, self->scsi);
      break;
    case PROP_WCE:
      g_value_set_boolean (value, self->wce);
      break;
    case PROP_DISABLE_MODERN:
      g_value_set_boolean (value, self->disable_modern);
      break;
    case PROP_CACHE_DIRECT:
      g_value_set_boolean (value, self->cache_direct);
      break;
    case PROP_READ_ONLY:
      g_value_set_boolean (value, self->read_only);
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
ql_block_device_finalize (GObject *object)
{
  QlBlockDevice *self = QL_BLOCK_DEVICE (object);

  g_free (self->driver);
  g_free (self->file);
  g_free (self->bus);
  g_free (self->addr);

  G_OBJECT_CLASS (ql_block_device_parent_class)->finalize (object);
}

static void
ql_block_device_class_init (QlBlockDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = ql_block_device_set_property;
  object_class->get_property = ql_block_device_get_property;
  object_class->finalize = ql_block_device_finalize;

  device_class->valid = ql_block_device_valid;
  device_class->qemu_params = ql_block_device_qemu_params;
  device_class->hotplug_params = ql_block_device_hotplug_params;

  properties[PROP_DRIVER] =
    g_param_spec_string ("driver", "Driver",
                         "QEMU device model: virtio-blk-pci, virtio-blk (an alias) or scsi-hd; unset means virtio-blk-pci for interface none, scsi-hd for interface scsi",
                         NULL, flags);
  properties[PROP_FILE] =
    ql_param_spec_path ("file", "File",
                        "Disk image (required); a relative path in a VM file is relative to the VM file",
                        flags);
  properties[PROP_INTERFACE] =
    g_param_spec_enum ("interface", "Interface",
                       "How the guest sees the disk: none is a virtio-blk PCI disk, scsi a scsi-hd disk on a SCSI controller's bus",
                       QL_TYPE_BLOCK_INTERFACE, QL_BLOCK_INTERFACE_NONE, flags);
  properties[PROP_AIO] =
    g_param_spec_enum ("aio", "AIO",
                       "Host asynchronous I/O: threads, or native (Linux AIO, needs cache-direct=true)",
                       QL_TYPE_BLOCK_AIO, QL_BLOCK_AIO_THREADS, flags);
  properties[PROP_FORMAT] =
    g_param_spec_enum ("format", "Format",
                       "Image format of file",
                       QL_TYPE_BLOCK_FORMAT, QL_BLOCK_FORMAT_QCOW2, flags);
  properties[PROP_SCSI] =
    g_param_spec_boolean ("scsi", "SCSI passthrough",
                          "Let the guest send SCSI commands to a virtio-blk disk (scsi=on); needs disable-modern=true",
                          FALSE, flags);
  properties[PROP_WCE] =
    g_param_spec_boolean ("wce", "Write cache enable",
                          "Let the guest toggle the write cache of a virtio-blk disk (config-wce); false writes config-wce=off",
                          FALSE, flags);
  properties[PROP_DISABLE_MODERN] =
    g_param_spec_boolean ("disable-modern", "Disable modern",
                          "Expose a legacy (virtio 0.9) virtio-blk device only",
                          FALSE, flags);
  properties[PROP_CACHE_DIRECT] =
    g_param_spec_boolean ("cache-direct", "Direct I/O",
                          "Open the image with O_DIRECT, bypassing the host page cache (cache.direct=on); needed by aio=native",
                          FALSE, flags);
  properties[PROP_READ_ONLY] =
    g_param_spec_boolean ("read-only", "Read-only",
                          "Open the image read-only; the guest sees a read-only disk",
                          FALSE, flags);
  properties[PROP_BUS] =
    g_param_spec_string ("bus", "Bus",
                         "Bus the disk plugs into: a SCSI bus such as 'scsi0.0' for scsi-hd, a PCI bus for virtio-blk; QEMU picks one when unset",
                         NULL, flags);
  properties[PROP_ADDR] =
    g_param_spec_string ("addr", "PCI address",
                         "PCI address of a virtio-blk disk in QEMU's hex syntax slot[.function], such as '5' or '1f.2'",
                         NULL, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_block_device_init (QlBlockDevice *self)
{
  self->interface = QL_BLOCK_INTERFACE_NONE;
  self->aio = QL_BLOCK_AIO_THREADS;
  self->format = QL_BLOCK_FORMAT_QCOW2;
}
