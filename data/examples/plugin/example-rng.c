/* An out-of-tree qlaunch plugin: the `example-rng` family, one device
 * type, `example-rng`, a virtio entropy source for the guest (/dev/hwrng),
 * fed by QEMU's built-in backend (the host's getrandom()). Its names are
 * its own: a plugin must not take a family or a device type of another
 * plugin (the stock `rng` plugin does the same job with more options).
 *
 * What it produces:
 *
 *   -device virtio-rng-pci,id=ID[,bus=B][,addr=A][,max-bytes=N][,period=MS]
 *
 * It builds against the installed qlaunch-1.pc only (see meson.build and the
 * README's "Writing a plugin"). The file name, libqlaunch-example-rng.so,
 * names the family; QL_PLUGIN_DEFINE() at the end exports the one symbol
 * the loader looks for, ql_plugin_example_rng_get_desc (the family's '-'
 * becomes '_'). */
#include <qlaunch/qlaunch.h>

/* A device type is a final GObject subclass of QlDevice. Its GType name must
 * be unique in the process: prefix it with something of your own. */
#define EXAMPLE_TYPE_RNG (example_rng_get_type ())
G_DECLARE_FINAL_TYPE (ExampleRng, example_rng, EXAMPLE, RNG, QlDevice)

struct _ExampleRng
{
  QlDevice  parent_instance;

  char     *bus;
  char     *addr;
  guint64   max_bytes;
  guint     period;
};

G_DEFINE_FINAL_TYPE (ExampleRng, example_rng, QL_TYPE_DEVICE)

/* One GObject property per option: `id` comes from QlDevice. */
enum
{
  PROP_0,
  PROP_BUS,
  PROP_ADDR,
  PROP_MAX_BYTES,
  PROP_PERIOD,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* valid: check the properties against each other and the VM, with no side
 * effect on the host. Every error names the device and the property
 * (ql_device_set_error() writes "device 'ID': property 'KEY': ..."). */
static gboolean
example_rng_valid (QlDevice    *device,
                   QlVmConfig  *vm,
                   GError     **error)
{
  ExampleRng *self = EXAMPLE_RNG (device);

  /* `bus =` in a VM file would become an empty `bus=` for QEMU. */
  if (!ql_device_check_not_empty (device, self->bus, "bus", error) ||
      !ql_device_check_not_empty (device, self->addr, "addr", error))
    return FALSE;

  if (self->addr != NULL && !ql_is_valid_pci_addr (self->addr))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "addr",
                           "'%s' is not a PCI address: expected a hex slot with an optional function, such as '5' or '1e.0'",
                           self->addr);
      return FALSE;
    }

  /* QEMU refuses period=0; here 0 means "unset" and the properties' ranges
   * keep every value QEMU accepts: nothing else to check. Host facts, if a
   * device needed any, come from ql_vm_config_get_host_probe (vm), which is
   * NULL when host checks are off (`--no-host-checks`). */
  return TRUE;
}

/* qemu_params: append the options through QlCmdline only. It is called only
 * after valid() succeeded; values are never pasted into strings, so a ',' in
 * a value cannot inject an option. */
static gboolean
example_rng_qemu_params (QlDevice    *device,
                         QlVmConfig  *vm,
                         QlCmdline   *cmdline,
                         GError     **error)
{
  ExampleRng *self = EXAMPLE_RNG (device);
  QlOption *dev;

  /* A NULL value leaves its key out. */
  dev = ql_cmdline_add_option (cmdline, "-device", "virtio-rng-pci",
                               "id", ql_device_get_id (device),
                               "bus", self->bus,
                               "addr", self->addr,
                               NULL);
  if (self->max_bytes != 0)
    ql_option_set_uint (dev, "max-bytes", self->max_bytes);
  if (self->period != 0)
    ql_option_set_uint (dev, "period", self->period);

  return TRUE;
}

static void
example_rng_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  ExampleRng *self = EXAMPLE_RNG (object);

  switch (prop_id)
    {
    case PROP_BUS:
      g_free (self->bus);
      self->bus = g_value_dup_string (value);
      break;
    case PROP_ADDR:
      g_free (self->addr);
      self->addr = g_value_dup_string (value);
      break;
    case PROP_MAX_BYTES:
      self->max_bytes = g_value_get_uint64 (value);
      break;
    case PROP_PERIOD:
      self->period = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
example_rng_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  ExampleRng *self = EXAMPLE_RNG (object);

  switch (prop_id)
    {
    case PROP_BUS:
      g_value_set_string (value, self->bus);
      break;
    case PROP_ADDR:
      g_value_set_string (value, self->addr);
      break;
    case PROP_MAX_BYTES:
      g_value_set_uint64 (value, self->max_bytes);
      break;
    case PROP_PERIOD:
      g_value_set_uint (value, self->period);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
example_rng_finalize (GObject *object)
{
  ExampleRng *self = EXAMPLE_RNG (object);

  g_free (self->bus);
  g_free (self->addr);

  G_OBJECT_CLASS (example_rng_parent_class)->finalize (object);
}

static void
example_rng_class_init (ExampleRngClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = example_rng_set_property;
  object_class->get_property = example_rng_get_property;
  object_class->finalize = example_rng_finalize;

  device_class->valid = example_rng_valid;
  device_class->qemu_params = example_rng_qemu_params;

  /* Kebab-case names, a non-empty blurb (`qlaunch inspect example-rng`
   * prints it), a default that a new instance holds (the loader checks all
   * three: GObject sets no default by itself, so a non-zero one belongs in
   * example_rng_init()). The range is checked before a value is set: a
   * VM file with `period = 0x10` or `max-bytes = -1` is an error naming
   * the key. */
  properties[PROP_BUS] =
    g_param_spec_string ("bus", "Bus",
                         "PCI bus the device plugs into, such as 'pcie.0' or a bridge id; QEMU picks one when unset",
                         NULL, flags);
  properties[PROP_ADDR] =
    g_param_spec_string ("addr", "PCI address",
                         "PCI address on the bus in QEMU's hex syntax slot[.function], such as '5' or '1f.2'",
                         NULL, flags);
  /* A size: takes K, M, G, T suffixes (`max-bytes = 1K`). */
  properties[PROP_MAX_BYTES] =
    ql_param_spec_size ("max-bytes", "Max bytes",
                        "Most bytes of entropy the guest gets per period (max-bytes=); 0 = no limit",
                        0, G_MAXINT64, 0, flags);
  properties[PROP_PERIOD] =
    g_param_spec_uint ("period", "Period",
                       "Length of the max-bytes period in milliseconds (period=); 0 = QEMU's default, 65536",
                       0, G_MAXUINT32, 0, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
example_rng_init (ExampleRng *self)
{
}

/* The plugin's init: register the device types. */
static gboolean
example_rng_plugin_init (QlPlugin  *plugin,
                         GError   **error)
{
  return ql_plugin_register_device (plugin, "example-rng", EXAMPLE_TYPE_RNG, error);
}

/* family (C identifier: '-' written '_'), name (= the file's family),
 * description, version, license (SPDX), init. */
QL_PLUGIN_DEFINE (example_rng, "example-rng", "Entropy for the guest (virtio-rng-pci); an out-of-tree example",
                  "1.0", "Apache-2.0", example_rng_plugin_init)
