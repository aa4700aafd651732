/* qlaunch rng plugin — QlRngDevice: a virtio entropy source for the guest
 * (its /dev/hwrng), fed by one of QEMU's rng backend objects.
 *
 * What it produces:
 *
 *   -object rng-random,id=ID,filename=FILE     (backend random, the default)
 *   -object rng-builtin,id=ID                  (backend builtin)
 *   -device virtio-rng-pci,id=ID,rng=ID[,bus=B][,addr=A][,max-bytes=N][,period=MS][,disable-modern=on]
 *
 * The backend object takes the device's own id: -object ids are a namespace
 * of their own in QEMU, apart from -device ids, and the core keeps device
 * ids unique against the other objects of the VM (iothreads, the RAM
 * backend). For hot-plug the same options become object-add and
 * device_add.
 *
 * The rules, checked against QEMU 7.2:
 * - `file` belongs to backend random only: rng-builtin has no property at
 *   all, so a file given with backend builtin would be dropped; an error;
 * - QEMU refuses period=0 ("'period' parameter expects a positive
 *   integer") and max-bytes of 2^63 or more ("must be non-negative, and
 *   less than 2^63"): here 0 means unset (the key is left out, QEMU's
 *   defaults apply: no limit, a period of 65536 ms), and the range of
 *   max-bytes stops at 2^63-1;
 * - max-bytes without period is QEMU's 65536 ms period; period without
 *   max-bytes limits nothing (QEMU allows 2^63-1 bytes per period), so it
 *   is an error rather than a setting that silently does nothing;
 * - with host checks on, the backend's file must be readable and not a
 *   directory (QEMU 7.2: "Could not open 'FILE'"; it opens a directory
 *   without complaint and then never delivers a byte).
 */
#include "ql-rng-device.h"

#define QL_RNG_DEFAULT_FILE "/dev/urandom"

struct _QlRngDevice
{
  QlDevice      parent_instance;

  QlRngBackend  backend;
  char         *file;
  gboolean      file_set;       /* file was given, not the default */
  guint64       max_bytes;
  guint         period;
  char         *bus;
  char         *addr;
  gboolean      disable_modern;
};

G_DEFINE_FINAL_TYPE (QlRngDevice, ql_rng_device, QL_TYPE_DEVICE)

enum
{
  PROP_0,
  PROP_BACKEND,
  PROP_FILE,
  PROP_MAX_BYTES,
  PROP_PERIOD,
  PROP_BUS,
  PROP_ADDR,
  PROP_DISABLE_MODERN,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
valid_host (QlRngDevice  *self,
            QlHostProbe  *probe,
            GError      **error)
{
  g_autoptr(GError) local_error = NULL;

  if (self->backend != QL_RNG_BACKEND_RANDOM)
    return TRUE;
  if (!ql_host_probe_file_readable (probe, self->file, &local_error))
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_HOST, "file",
                           "cannot read '%s': %s: expected a readable file or character device such as /dev/urandom (QEMU's rng-random opens it at start-up)",
                           self->file, local_error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
ql_rng_device_valid (QlDevice    *device,
                     QlVmConfig  *vm,
                     GError     **error)
{
  QlRngDevice *self = QL_RNG_DEVICE (device);
  QlHostProbe *probe = vm != NULL ? ql_vm_config_get_host_probe (vm) : NULL;

  if (!ql_device_check_not_empty (device, self->bus, "bus", error) ||
      !ql_device_check_not_empty (device, self->addr, "addr", error))
    return FALSE;
  if (self->addr != NULL && !ql_is_valid_pci_addr (self->addr))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "addr",
                           "'%s' is not a PCI address: expected a hex slot with an optional function, such as '5' or '1f.2'",
                           self->addr);
      return FALSE;
    }

  if (!ql_device_check_not_empty (device, self->file, "file", error))
    return FALSE;
  if (self->backend == QL_RNG_BACKEND_BUILTIN && self->file_set)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "file",
                           "'%s' is read by backend random only; backend builtin is QEMU's own generator and takes no file: unset file, or set backend=random",
                           self->file);
      return FALSE;
    }

  if (self->period != 0 && self->max_bytes == 0)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "period",
                           "a period of '%u' ms limits nothing without max-bytes (QEMU then allows 2^63-1 bytes per period): set max-bytes too, or unset period",
                           self->period);
      return FALSE;
    }

  if (probe != NULL && !valid_host (self, probe, error))
    return FALSE;

  return TRUE;
}

static gboolean
ql_rng_device_qemu_params (QlDevice    *device,
                           QlVmConfig  *vm,
                           QlCmdline   *cmdline,
                           GError     **error)
{
  QlRngDevice *self = QL_RNG_DEVICE (device);
  const char *id = ql_device_get_id (device);
  QlOption *dev;

  if (self->backend == QL_RNG_BACKEND_BUILTIN)
    ql_cmdline_add_option (cmdline, "-object", "rng-builtin",
                           "id", id,
                           NULL);
  else
    ql_cmdline_add_option (cmdline, "-object", "rng-random",
                           "id", id,
                           "filename", self->file,
                           NULL);

  dev = ql_cmdline_add_option (cmdline, "-device", "virtio-rng-pci",
                               "id", id,
                               "rng", id,
                               "bus", self->bus,
                               "addr", self->addr,
                               NULL);
  if (self->max_bytes != 0)
    ql_option_set_uint (dev, "max-bytes", self->max_bytes);
  if (self->period != 0)
    ql_option_set_uint (dev, "period", self->period);
  if (self->disable_modern)
    ql_option_set_bool (dev, "disable-modern", TRUE);

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
ql_rng_device_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  QlRngDevice *self = QL_RNG_DEVICE (object);

  switch (prop_id)
    {
    case PROP_BACKEND:
      self->backend = g_value_get_enum (value);
      break;
    case PROP_FILE:
      /* NULL restores the default. */
      self->file_set = g_value_get_string (value) != NULL;
      g_free (self->file);
      self->file = g_strdup (self->file_set ? g_value_get_string (value) : QL_RNG_DEFAULT_FILE);
      break;
    case PROP_MAX_BYTES:
      self->max_bytes = g_value_get_uint64 (value);
      break;
    case PROP_PERIOD:
      self->period = g_value_get_uint (value);
      break;
    case PROP_BUS:
      set_string (&self->bus, value);
      break;
    case PROP_ADDR:
      set_string (&self->addr, value);
      break;
    case PROP_DISABLE_MODERN:
      self->disable_modern = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_rng_device_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  QlRngDevice *self = QL_RNG_DEVICE (object);

  switch (prop_id)
    {
    case PROP_BACKEND:
      g_value_set_enum (value, self->backend);
      break;
    case PROP_FILE:
      g_value_set_string (value, self->file);
      break;
    case PROP_MAX_BYTES:
      g_value_set_uint64 (value, self->max_bytes);
      break;
    case PROP_PERIOD:
      g_value_set_uint (value, self->period);
      break;
    case PROP_BUS:
      g_value_set_string (value, self->bus);
      break;
    case PROP_ADDR:
      g_value_set_string (value, self->addr);
      break;
    case PROP_DISABLE_MODERN:
      g_value_set_boolean (value, self->disable_modern);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_rng_device_finalize (GObject *object)
{
  QlRngDevice *self = QL_RNG_DEVICE (object);

  g_free (self->file);
  g_free (self->bus);
  g_free (self->addr);

  G_OBJECT_CLASS (ql_rng_device_parent_class)->finalize (object);
}

static void
ql_rng_device_class_init (QlRngDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  GParamSpecString *file_pspec;

  object_class->set_property = ql_rng_device_set_property;
  object_class->get_property = ql_rng_device_get_property;
  object_class->finalize = ql_rng_device_finalize;

  device_class->valid = ql_rng_device_valid;
  device_class->qemu_params = ql_rng_device_qemu_params;

  properties[PROP_BACKEND] =
    g_param_spec_enum ("backend", "Backend",
                       "Where QEMU takes the entropy from: random (reads file; -object rng-random) or builtin (QEMU's own generator over the host's getrandom(); -object rng-builtin); default random",
                       QL_TYPE_RNG_BACKEND, QL_RNG_BACKEND_RANDOM, flags);
  /* A path (relative to the VM file in a VM file) with a default: the
   * default of ql_param_spec_path() is unset, so it is given here, before
   * anything reads the pspec's default. */
  properties[PROP_FILE] =
    ql_param_spec_path ("file", "File",
                        "Host file or character device that backend random reads (rng-random filename=); default /dev/urandom; only with backend random; must be readable (host check); a relative path in a VM file is relative to the VM file",
                        flags);
  file_pspec = G_PARAM_SPEC_STRING (properties[PROP_FILE]);
  g_free (file_pspec->default_value);
  file_pspec->default_value = g_strdup (QL_RNG_DEFAULT_FILE);
  properties[PROP_MAX_BYTES] =
    ql_param_spec_size ("max-bytes", "Max bytes",
                        "Most bytes of entropy the guest gets per period (virtio-rng-pci max-bytes=), up to 2^63-1; 0 = unset: no limit",
                        0, G_MAXINT64, 0, flags);
  properties[PROP_PERIOD] =
    g_param_spec_uint ("period", "Period",
                       "Length of the max-bytes period in milliseconds (virtio-rng-pci period=); needs max-bytes; 0 = unset: QEMU's default, 65536 ms",
                       0, G_MAXUINT32, 0, flags);
  properties[PROP_BUS] =
    g_param_spec_string ("bus", "Bus",
                         "PCI bus the device plugs into (bus=), such as 'pcie.0' or a bridge id; QEMU picks one when unset",
                         NULL, flags);
  properties[PROP_ADDR] =
    g_param_spec_string ("addr", "PCI address",
                         "PCI address on the bus (addr=) in QEMU's hex syntax slot[.function], such as '5' or '1f.2'; QEMU picks one when unset",
                         NULL, flags);
  properties[PROP_DISABLE_MODERN] =
    g_param_spec_boolean ("disable-modern", "Disable modern",
                          "Expose a legacy (virtio 0.9) device only (disable-modern=on); not behind a PCIe root port, where QEMU then has no interface left; default false",
                          FALSE, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_rng_device_init (QlRngDevice *self)
{
  self->backend = QL_RNG_BACKEND_RANDOM;
  self->file = g_strdup (QL_RNG_DEFAULT_FILE);
}
