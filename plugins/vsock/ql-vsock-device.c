/* qlaunch vsock plugin — QlVsockDevice: the guest's AF_VSOCK device, served
 * by the host kernel's vhost-vsock.
 *
 * What it produces (govmm's VSOCKDevice):
 *
 *   -device vhost-vsock-pci,id=ID,guest-cid=CID[,vhostfd=N]
 *
 * Differences from govmm, on purpose:
 * - the CID is checked against the whole reserved range: 0 (the
 *   hypervisor), 1 (local loopback) and 2 (the host) are refused by QEMU
 *   ("guest-cid property must be greater than 2"), 4294967295
 *   (VMADDR_CID_ANY) by the kernel; govmm checked the lower bound only;
 * - `vhost-fd` (new) hands QEMU an open /dev/vhost-vsock descriptor
 *   (vhostfd=N, numbered like every passed fd), for a QEMU that may not
 *   open the device itself;
 * - disable-modern=true is an error: virtio-vsock has no legacy (virtio
 *   0.9) interface, and QEMU 7.2 forces vhost-vsock-pci to virtio 1.0 on
 *   every machine type since 5.1, so `disable-modern=on` would be ignored
 *   without a word;
 * - a second vsock device is an error: the guest's driver drives only the
 *   first (libvirt allows one too);
 * - with host checks on, /dev/vhost-vsock must be usable unless vhost-fd is
 *   given (QEMU 7.2: "vhost-vsock: failed to open vhost device").
 */
#include "ql-vsock-device.h"

/* Guest CIDs: 0, 1, 2 and VMADDR_CID_ANY (-1U) are reserved. */
#define QL_VSOCK_MIN_CID 3u
#define QL_VSOCK_MAX_CID (G_MAXUINT32 - 1u)

struct _QlVsockDevice
{
  QlDevice  parent_instance;

  guint     context_id;
  int       vhost_fd;
  gboolean  disable_modern;
};

G_DEFINE_FINAL_TYPE (QlVsockDevice, ql_vsock_device, QL_TYPE_DEVICE)

enum
{
  PROP_0,
  PROP_CONTEXT_ID,
  PROP_VHOST_FD,
  PROP_DISABLE_MODERN,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
check_context_id (QlVsockDevice  *self,
                  GError        **error)
{
  QlDevice *device = QL_DEVICE (self);

  if (self->context_id == 0)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "context-id",
                           "no guest CID given: set context-id to a number from 3 to 4294967294, unique among the host's VMs");
      return FALSE;
    }
  if (self->context_id < QL_VSOCK_MIN_CID)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "context-id",
                           "'%u' is a reserved CID (1 is local loopback, 2 the host), and QEMU says \"guest-cid property must be greater than 2\": expected a number from 3 to 4294967294",
                           self->context_id);
      return FALSE;
    }
  if (self->context_id > QL_VSOCK_MAX_CID)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "context-id",
                           "'%u' is VMADDR_CID_ANY, which the kernel refuses as a guest CID: expected a number from 3 to 4294967294",
                           self->context_id);
      return FALSE;
    }

  return TRUE;
}

/* An earlier vsock device of @vm. */
static QlDevice *
find_earlier_vsock (QlVsockDevice *self,
                    QlVmConfig    *vm)
{
  GPtrArray *devices = ql_vm_config_get_devices (vm);

  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other == QL_DEVICE (self))
        return NULL;
      if (QL_IS_VSOCK_DEVICE (other))
        return other;
    }

  return NULL;
}

static gboolean
ql_vsock_device_valid (QlDevice    *device,
                       QlVmConfig  *vm,
                       GError     **error)
{
  QlVsockDevice *self = QL_VSOCK_DEVICE (device);
  QlHostProbe *probe = ql_vm_config_get_host_probe (vm);
  g_autoptr(GError) local_error = NULL;
  QlDevice *other;

  if (!check_context_id (self, error))
    return FALSE;

  if (self->disable_modern)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_UNSUPPORTED,
                           "disable-modern",
                           "virtio-vsock has no legacy (virtio 0.9) interface: QEMU 7.2 forces vhost-vsock-pci to virtio 1.0 and would ignore disable-modern=on; unset disable-modern");
      return FALSE;
    }

  other = find_earlier_vsock (self, vm);
  if (other != NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "context-id",
                           "the VM has a vsock device already, '%s': a guest drives only one (its virtio-vsock driver ignores the others); remove one",
                           ql_device_get_id (other));
      return FALSE;
    }

  if (probe == NULL)
    return TRUE;

  if (self->vhost_fd >= 0)
    {
      if (!ql_host_probe_fd_is_open (probe, self->vhost_fd, &local_error))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "vhost-fd",
                               "file descriptor '%d' cannot be handed to QEMU: %s",
                               self->vhost_fd, local_error->message);
          return FALSE;
        }
    }
  else if (!ql_host_probe_device_usable (probe, "/dev/vhost-vsock", &local_error))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "vhost-fd",
                           "a vsock device needs '/dev/vhost-vsock', which cannot be used: %s (QEMU fails with \"vhost-vsock: failed to open vhost device\"); load the vhost_vsock module, or pass an open descriptor of it as vhost-fd",
                           local_error->message);
      return FALSE;
    }

  return TRUE;
}

static gboolean
ql_vsock_device_qemu_params (QlDevice    *device,
                             QlVmConfig  *vm,
                             QlCmdline   *cmdline,
                             GError     **error)
{
  QlVsockDevice *self = QL_VSOCK_DEVICE (device);
  QlOption *dev;

  dev = ql_cmdline_add_option (cmdline, "-device", "vhost-vsock-pci",
                               "id", ql_device_get_id (device),
                               NULL);
  ql_option_set_uint (dev, "guest-cid", self->context_id);

  if (self->vhost_fd >= 0)
    {
      int qemu_fd = ql_cmdline_add_fd (cmdline, self->vhost_fd);

      ql_option_set_fds (dev, "vhostfd", &qemu_fd, 1);
    }

  return TRUE;
}

static void
ql_vsock_device_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  QlVsockDevice *self = QL_VSOCK_DEVICE (object);

  switch (prop_id)
    {
    case PROP_CONTEXT_ID:
      self->context_id = g_value_get_uint (value);
      break;
    case PROP_VHOST_FD:
      self->vhost_fd = g_value_get_int (value);
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
ql_vsock_device_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  QlVsockDevice *self = QL_VSOCK_DEVICE (object);

  switch (prop_id)
    {
    case PROP_CONTEXT_ID:
      g_value_set_uint (value, self->context_id);
      break;
    case PROP_VHOST_FD:
      g_value_set_int (value, self->vhost_fd);
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
ql_vsock_device_class_init (QlVsockDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = ql_vsock_device_set_property;
  object_class->get_property = ql_vsock_device_get_property;

  device_class->valid = ql_vsock_device_valid;
  device_class->qemu_params = ql_vsock_device_qemu_params;

  properties[PROP_CONTEXT_ID] =
    g_param_spec_uint ("context-id", "Context id",
                       "Guest CID (guest-cid=), required: 3 to 4294967294, unique among the host's VMs (0 = unset; 1, 2 and 4294967295 are reserved)",
                       0, G_MAXUINT32, 0, flags);
  properties[PROP_VHOST_FD] =
    g_param_spec_int ("vhost-fd", "Vhost fd",
                      "Open /dev/vhost-vsock descriptor handed to QEMU (vhostfd=); -1 = none, QEMU opens /dev/vhost-vsock itself",
                      -1, G_MAXINT, -1, flags);
  properties[PROP_DISABLE_MODERN] =
    g_param_spec_boolean ("disable-modern", "Disable modern",
                          "govmm's legacy-only switch; not supported: virtio-vsock has no legacy interface and QEMU 7.2 ignores disable-modern on vhost-vsock-pci, so true is an error",
                          FALSE, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_vsock_device_init (QlVsockDevice *self)
{
  self->vhost_fd = -1;
}
