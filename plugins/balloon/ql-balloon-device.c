/* qlaunch balloon plugin — QlBalloonDevice: a virtio memory balloon.
 *
 * What it produces:
 *
 *   -device virtio-balloon-pci,id=ID[,bus=B][,addr=A][,deflate-on-oom=on][,free-page-reporting=on][,disable-modern=on]
 *
 * Only the keys that are set are written: QEMU's defaults are off. The
 * balloon's size is not a start-up setting: the host sets a target at run
 * time over QMP (`balloon`, ql_qmp_balloon(); `query-balloon` reads what
 * the guest gave back), and the guest's driver inflates or deflates the
 * balloon towards it.
 *
 * The rules, checked against QEMU 7.2:
 * - one balloon per VM: QEMU refuses a second one ("Only one balloon
 *   device is supported"), at start-up and on hot-plug; the error names
 *   both devices;
 * - bus and addr as for every PCI device (addr is QEMU's hex slot[.fn]).
 */
#include "ql-balloon-device.h"

struct _QlBalloonDevice
{
  QlDevice  parent_instance;

  gboolean  deflate_on_oom;
  gboolean  free_page_reporting;
  char     *bus;
  char     *addr;
  gboolean  disable_modern;
};

G_DEFINE_FINAL_TYPE (QlBalloonDevice, ql_balloon_device, QL_TYPE_DEVICE)

enum
{
  PROP_0,
  PROP_DEFLATE_ON_OOM,
  PROP_FREE_PAGE_REPORTING,
  PROP_BUS,
  PROP_ADDR,
  PROP_DISABLE_MODERN,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* A balloon of @vm before @self (any balloon of @vm when @self is not in
 * it, as for a device being hot-plugged). */
static QlDevice *
find_other_balloon (QlBalloonDevice *self,
                    QlVmConfig      *vm)
{
  GPtrArray *devices = vm != NULL ? ql_vm_config_get_devices (vm) : NULL;

  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other == QL_DEVICE (self))
        return NULL;
      if (QL_IS_BALLOON_DEVICE (other))
        return other;
    }

  return NULL;
}

static gboolean
ql_balloon_device_valid (QlDevice    *device,
                         QlVmConfig  *vm,
                         GError     **error)
{
  QlBalloonDevice *self = QL_BALLOON_DEVICE (device);
  QlDevice *other;

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

  other = find_other_balloon (self, vm);
  if (other != NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "type",
                           "the VM has a balloon device already, '%s', and QEMU supports only one (\"Only one balloon device is supported\"): remove '%s' or '%s'",
                           ql_device_get_id (other), ql_device_get_id (other),
                           ql_device_get_id (device));
      return FALSE;
    }

  return TRUE;
}

static gboolean
ql_balloon_device_qemu_params (QlDevice    *device,
                               QlVmConfig  *vm,
                               QlCmdline   *cmdline,
                               GError     **error)
{
  QlBalloonDevice *self = QL_BALLOON_DEVICE (device);
  QlOption *dev;

  dev = ql_cmdline_add_option (cmdline, "-device", "virtio-balloon-pci",
                               "id", ql_device_get_id (device),
                               "bus", self->bus,
                               "addr", self->addr,
                               NULL);
  if (self->deflate_on_oom)
    ql_option_set_bool (dev, "deflate-on-oom", TRUE);
  if (self->free_page_reporting)
    ql_option_set_bool (dev, "free-page-reporting", TRUE);
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
ql_balloon_device_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  QlBalloonDevice *self = QL_BALLOON_DEVICE (object);

  switch (prop_id)
    {
    case PROP_DEFLATE_ON_OOM:
      self->deflate_on_oom = g_value_get_boolean (value);
      break;
    case PROP_FREE_PAGE_REPORTING:
      self->free_page_reporting = g_value_get_boolean (value);
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
ql_balloon_device_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  QlBalloonDevice *self = QL_BALLOON_DEVICE (object);

  switch (prop_id)
    {
    case PROP_DEFLATE_ON_OOM:
      g_value_set_boolean (value, self->deflate_on_oom);
      break;
    case PROP_FREE_PAGE_REPORTING:
      g_value_set_boolean (value, self->free_page_reporting);
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
ql_balloon_device_finalize (GObject *object)
{
  QlBalloonDevice *self = QL_BALLOON_DEVICE (object);

  g_free (self->bus);
  g_free (self->addr);

  G_OBJECT_CLASS (ql_balloon_device_parent_class)->finalize (object);
}

static void
ql_balloon_device_class_init (QlBalloonDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = ql_balloon_device_set_property;
  object_class->get_property = ql_balloon_device_get_property;
  object_class->finalize = ql_balloon_device_finalize;

  device_class->valid = ql_balloon_device_valid;
  device_class->qemu_params = ql_balloon_device_qemu_params;

  properties[PROP_DEFLATE_ON_OOM] =
    g_param_spec_boolean ("deflate-on-oom", "Deflate on OOM",
                          "Let the guest take pages back from the balloon when it runs out of memory, before its OOM killer runs (deflate-on-oom=on); the guest then keeps the ballooned pages counted in its MemTotal; default false",
                          FALSE, flags);
  properties[PROP_FREE_PAGE_REPORTING] =
    g_param_spec_boolean ("free-page-reporting", "Free page reporting",
                          "The guest reports the pages it frees and QEMU gives them back to the host (free-page-reporting=on); default false",
                          FALSE, flags);
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
ql_balloon_device_init (QlBalloonDevice *self)
{
}
