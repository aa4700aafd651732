/* qlaunch fs plugin — QlFsDevice: a host directory shared with the guest
 * over virtio-9p.
 *
 * What it produces (govmm's FSDevice, corrected for QEMU 7.2):
 *
 *   -device DRIVER,id=ID,fsdev=ID,mount_tag=TAG[,bus=B][,addr=A][,disable-modern=on]
 *   -fsdev local,id=ID,path=DIR,security_model=MODEL[,readonly=on]
 *   -fsdev proxy,id=ID,socket=SOCK[,readonly=on]
 *   -fsdev proxy,id=ID,sock_fd=N[,readonly=on]
 *
 * The fsdev takes the device's own id: -fsdev ids are a namespace of their
 * own in QEMU, apart from -device ids, and the device id is unique in the
 * VM already (govmm did the same, with no -device id at all).
 *
 * Differences from govmm, on purpose:
 * - fs-driver `handle` was removed from QEMU in 6.0 ("fsdriver handle not
 *   found"): an error naming the property;
 * - `proxy` gets what QEMU's proxy fsdev takes: the virtfs-proxy-helper's
 *   socket (socket=) or a connected descriptor (sock_fd=), never path= or
 *   security_model=, which QEMU rejects for it ("'path' is invalid for
 *   fsdriver 'proxy'");
 * - security-model has no default: QEMU requires it for `local`
 *   ("security_model property not set"), and the choice decides who owns
 *   the files the guest creates, so qlaunch does not guess it either;
 * - the mount tag is at most 31 bytes (QEMU: "mount tag '...' (32 bytes) is
 *   longer than maximum (31 bytes)") and unique in the VM (the guest mounts
 *   a share by its tag);
 * - disable-modern=on only on the drivers that have it (not on the
 *   -transitional/-non-transitional models: "Property ... not found").
 */
#include "ql-fs-device.h"

#include <errno.h>
#include <string.h>

#include <gio/gio.h>

/* QEMU 7.2 hw/9pfs/9p.c: MAX_TAG_LEN - 1. */
#define QL_FS_MAX_MOUNT_TAG 31

#define QL_FS_DEFAULT_DRIVER "virtio-9p-pci"

struct _QlFsDevice
{
  QlDevice    parent_instance;

  char       *driver;
  QlFsDriver  fs_driver;
  char       *path;
  char       *mount_tag;
  char       *security_model;
  gboolean    disable_modern;
  char       *socket;
  int         sock_fd;
  gboolean    read_only;
  char       *bus;
  char       *addr;
};

G_DEFINE_FINAL_TYPE (QlFsDevice, ql_fs_device, QL_TYPE_DEVICE)

enum
{
  PROP_0,
  PROP_DRIVER,
  PROP_FS_DRIVER,
  PROP_PATH,
  PROP_MOUNT_TAG,
  PROP_SECURITY_MODEL,
  PROP_DISABLE_MODERN,
  PROP_SOCKET,
  PROP_SOCK_FD,
  PROP_READ_ONLY,
  PROP_BUS,
  PROP_ADDR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char * const ql_fs_drivers[] = {
  "virtio-9p-pci",
  "virtio-9p",
  "virtio-9p-pci-transitional",
  "virtio-9p-pci-non-transitional",
  NULL
};

static const char * const ql_fs_security_models[] = {
  "passthrough",
  "mapped-xattr",
  "mapped-file",
  "none",
  NULL
};

static gboolean
driver_has_disable_modern (const char *driver)
{
  return g_str_equal (driver, "virtio-9p-pci") ||
         g_str_equal (driver, "virtio-9p");
}

/* Whether @path is an existing directory, asked through the host probe. */
static gboolean
probe_directory (QlHostProbe  *probe,
                 const char   *path,
                 GError      **error)
{
  GFileType type = G_FILE_TYPE_UNKNOWN;

  if (!ql_host_probe_query_file (probe, path, &type, NULL, error))
    return FALSE;
  if (type != G_FILE_TYPE_DIRECTORY)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY,
                           g_strerror (ENOTDIR));
      return FALSE;
    }
  return TRUE;
}

/* The driver-specific rules of fs-driver local. */
static gboolean
valid_local (QlFsDevice  *self,
             GError     **error)
{
  QlDevice *device = QL_DEVICE (self);

  if (self->path == NULL || *self->path == '\0')
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "path",
                           "no directory given: set path to the host directory to share");
      return FALSE;
    }

  if (self->security_model == NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING,
                           "security-model",
                           "no security model given, and QEMU requires one for fs-driver local: set security-model to passthrough, mapped-xattr, mapped-file or none");
      return FALSE;
    }
  if (!ql_device_check_not_empty (QL_DEVICE (self), self->security_model, "security-model", error))
    return FALSE;
  if (!g_strv_contains (ql_fs_security_models, self->security_model))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "security-model",
                           "'%s' is not a security model: expected one of passthrough, mapped-xattr, mapped-file, none",
                           self->security_model);
      return FALSE;
    }

  if (self->socket != NULL || self->sock_fd >= 0)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT,
                           self->socket != NULL ? "socket" : "sock-fd",
                           "only applies to fs-driver proxy: with fs-driver local QEMU opens path itself; unset it or set fs-driver=proxy");
      return FALSE;
    }

  return TRUE;
}

/* The driver-specific rules of fs-driver proxy. */
static gboolean
valid_proxy (QlFsDevice  *self,
             GError     **error)
{
  QlDevice *device = QL_DEVICE (self);

  if (self->path != NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "path",
                           "fs-driver proxy takes no path (QEMU: 'path' is invalid for fsdriver 'proxy'): the directory is exported by virtfs-proxy-helper (its -p option); give its socket in socket or sock-fd");
      return FALSE;
    }
  if (self->security_model != NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT,
                           "security-model",
                           "fs-driver proxy takes no security model (QEMU: 'security_model' is invalid for fsdriver 'proxy'): virtfs-proxy-helper accesses the files with its own credentials; unset it");
      return FALSE;
    }

  if (!ql_device_check_not_empty (QL_DEVICE (self), self->socket, "socket", error))
    return FALSE;
  if (self->socket == NULL && self->sock_fd < 0)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "socket",
                           "fs-driver proxy needs virtfs-proxy-helper: set socket to the path of its socket (helper option -s) or sock-fd to a connected descriptor (helper option -f)");
      return FALSE;
    }
  if (self->socket != NULL && self->sock_fd >= 0)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "sock-fd",
                           "socket and sock-fd are both set, and QEMU takes only one: unset one of them");
      return FALSE;
    }

  return TRUE;
}

/* Another fs device before @self with the same mount tag. */
static QlDevice *
find_same_mount_tag (QlFsDevice *self,
                     QlVmConfig *vm)
{
  GPtrArray *devices = vm != NULL ? ql_vm_config_get_devices (vm) : NULL;

  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other == QL_DEVICE (self))
        return NULL;
      if (QL_IS_FS_DEVICE (other) &&
          g_strcmp0 (QL_FS_DEVICE (other)->mount_tag, self->mount_tag) == 0)
        return other;
    }

  return NULL;
}

static gboolean
valid_host (QlFsDevice   *self,
            QlHostProbe  *probe,
            GError      **error)
{
  QlDevice *device = QL_DEVICE (self);
  g_autoptr(GError) local_error = NULL;

  if (self->fs_driver == QL_FS_DRIVER_LOCAL)
    {
      if (!probe_directory (probe, self->path, &local_error))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "path",
                               "cannot share '%s': %s: expected an existing directory",
                               self->path, local_error->message);
          return FALSE;
        }
    }
  else if (self->socket != NULL)
    {
      if (!ql_host_probe_file_readable (probe, self->socket, &local_error))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "socket",
                               "no virtfs-proxy-helper socket at '%s': %s (start the helper before QEMU)",
                               self->socket, local_error->message);
          return FALSE;
        }
    }
  else if (!ql_host_probe_fd_is_open (probe, self->sock_fd, &local_error))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "sock-fd",
                           "file descriptor '%d' cannot be handed to QEMU: %s",
                           self->sock_fd, local_error->message);
      return FALSE;
    }

  return TRUE;
}

static gboolean
ql_fs_device_valid (QlDevice    *device,
                    QlVmConfig  *vm,
                    GError     **error)
{
  QlFsDevice *self = QL_FS_DEVICE (device);
  QlHostProbe *probe = vm != NULL ? ql_vm_config_get_host_probe (vm) : NULL;
  QlDevice *same_tag;
  gsize tag_len;

  switch (self->fs_driver)
    {
    case QL_FS_DRIVER_HANDLE:
      ql_device_set_error (device, error, QL_CONFIG_ERROR_UNSUPPORTED,
                           "fs-driver",
                           "'handle' was removed from QEMU in 6.0 (QEMU 7.2: fsdriver handle not found): use fs-driver=local, or proxy");
      return FALSE;
    case QL_FS_DRIVER_LOCAL:
    case QL_FS_DRIVER_PROXY:
    default:
      break;
    }

  if (*self->driver == '\0')
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "driver",
                           "the value is empty: leave it unset for virtio-9p-pci or name a driver");
      return FALSE;
    }
  if (!g_strv_contains (ql_fs_drivers, self->driver))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "driver",
                           "'%s' is not a supported driver: expected one of virtio-9p-pci, virtio-9p, virtio-9p-pci-transitional, virtio-9p-pci-non-transitional",
                           self->driver);
      return FALSE;
    }

  if (self->mount_tag == NULL || *self->mount_tag == '\0')
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "mount-tag",
                           "no mount tag given: set mount-tag to the name the guest mounts the share by (mount -t 9p -o trans=virtio TAG DIR)");
      return FALSE;
    }
  tag_len = strlen (self->mount_tag);
  if (tag_len > QL_FS_MAX_MOUNT_TAG)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "mount-tag",
                           "'%s' is %" G_GSIZE_FORMAT " bytes long: QEMU 7.2 takes a mount tag of at most 31 bytes",
                           self->mount_tag, tag_len);
      return FALSE;
    }

  if (!ql_device_check_not_empty (QL_DEVICE (self), self->bus, "bus", error) ||
      !ql_device_check_not_empty (QL_DEVICE (self), self->addr, "addr", error))
    return FALSE;
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
                           "disable-modern=true only applies to drivers virtio-9p-pci and virtio-9p, not to '%s'",
                           self->driver);
      return FALSE;
    }

  if (self->fs_driver == QL_FS_DRIVER_LOCAL)
    {
      if (!valid_local (self, error))
        return FALSE;
    }
  else if (!valid_proxy (self, error))
    {
      return FALSE;
    }

  same_tag = find_same_mount_tag (self, vm);
  if (same_tag != NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_DUPLICATE,
                           "mount-tag",
                           "'%s' is the mount tag of device '%s' already: the guest mounts a share by its tag, so each must be unique",
                           self->mount_tag, ql_device_get_id (same_tag));
      return FALSE;
    }

  if (probe != NULL && !valid_host (self, probe, error))
    return FALSE;

  return TRUE;
}

static gboolean
ql_fs_device_qemu_params (QlDevice    *device,
                          QlVmConfig  *vm,
                          QlCmdline   *cmdline,
                          GError     **error)
{
  QlFsDevice *self = QL_FS_DEVICE (device);
  const char *id = ql_device_get_id (device);
  QlOption *dev;
  QlOption *fsdev;

  dev = ql_cmdline_add_option (cmdline, "-device", self->driver,
                               "id", id,
                               "fsdev", id,
                               "mount_tag", self->mount_tag,
                               "bus", self->bus,
                               "addr", self->addr,
                               NULL);
  if (self->disable_modern)
    ql_option_set_bool (dev, "disable-modern", TRUE);

  if (self->fs_driver == QL_FS_DRIVER_LOCAL)
    {
      fsdev = ql_cmdline_add_option (cmdline, "-fsdev", "local",
                                     "id", id,
                                     "path", self->path,
                                     "security_model", self->security_model,
                                     NULL);
    }
  else
    {
      fsdev = ql_cmdline_add_option (cmdline, "-fsdev", "proxy",
                                     "id", id,
                                     "socket", self->socket,
                                     NULL);
      if (self->sock_fd >= 0)
        {
          int qemu_fd = ql_cmdline_add_fd (cmdline, self->sock_fd);

          ql_option_set_fds (fsdev, "sock_fd", &qemu_fd, 1);
        }
    }
  if (self->read_only)
    ql_option_set_bool (fsdev, "readonly", TRUE);

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
ql_fs_device_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  QlFsDevice *self = QL_FS_DEVICE (object);

  switch (prop_id)
    {
    case PROP_DRIVER:
      /* NULL restores the default. */
      set_string_or_default (&self->driver, value, QL_FS_DEFAULT_DRIVER);
      break;
    case PROP_FS_DRIVER:
      self->fs_driver = g_value_get_enum (value);
      break;
    case PROP_PATH:
      set_string_or_default (&self->path, value, NULL);
      break;
    case PROP_MOUNT_TAG:
      set_string_or_default (&self->mount_tag, value, NULL);
      break;
    case PROP_SECURITY_MODEL:
      set_string_or_default (&self->security_model, value, NULL);
      break;
    case PROP_DISABLE_MODERN:
      self->disable_modern = g_value_get_boolean (value);
      break;
    case PROP_SOCKET:
      set_string_or_default (&self->socket, value, NULL);
      break;
    case PROP_SOCK_FD:
      self->sock_fd = g_value_get_int (value);
      break;
    case PROP_READ_ONLY:
      self->read_only = g_value_get_boolean (value);
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
ql_fs_device_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  QlFsDevice *self = QL_FS_DEVICE (object);

  switch (prop_id)
    {
    case PROP_DRIVER:
      g_value_set_string (value, self->driver);
      break;
    case PROP_FS_DRIVER:
      g_value_set_enum (value, self->fs_driver);
      break;
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_MOUNT_TAG:
      g_value_set_string (value, self->mount_tag);
      break;
    case PROP_SECURITY_MODEL:
      g_value_set_string (value, self->security_model);
      break;
    case PROP_DISABLE_MODERN:
      g_value_set_boolean (value, self->disable_modern);
      break;
    case PROP_SOCKET:
      g_value_set_string (value, self->socket);
      break;
    case PROP_SOCK_FD:
      g_value_set_int (value, self->sock_fd);
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
ql_fs_device_finalize (GObject *object)
{
  QlFsDevice *self = QL_FS_DEVICE (object);

  g_free (self->driver);
  g_free (self->path);
  g_free (self->mount_tag);
  g_free (self->security_model);
  g_free (self->socket);
  g_free (self->bus);
  g_free (self->addr);

  G_OBJECT_CLASS (ql_fs_device_parent_class)->finalize (object);
}

static void
ql_fs_device_class_init (QlFsDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = ql_fs_device_set_property;
  object_class->get_property = ql_fs_device_get_property;
  object_class->finalize = ql_fs_device_finalize;

  device_class->valid = ql_fs_device_valid;
  device_class->qemu_params = ql_fs_device_qemu_params;

  properties[PROP_DRIVER] =
    g_param_spec_string ("driver", "Driver",
                         "QEMU device model: virtio-9p-pci, virtio-9p (an alias of virtio-9p-pci), virtio-9p-pci-transitional or virtio-9p-pci-non-transitional",
                         QL_FS_DEFAULT_DRIVER, flags);
  properties[PROP_FS_DRIVER] =
    g_param_spec_enum ("fs-driver", "Filesystem driver",
                       "How QEMU reaches the files: local (QEMU opens path itself) or proxy (through virtfs-proxy-helper's socket); handle was removed from QEMU in 6.0",
                       QL_TYPE_FS_DRIVER, QL_FS_DRIVER_LOCAL, flags);
  properties[PROP_PATH] =
    ql_param_spec_path ("path", "Path",
                        "Host directory to share (required for fs-driver local, not allowed for proxy); a relative path in a VM file is relative to the VM file",
                        flags);
  properties[PROP_MOUNT_TAG] =
    g_param_spec_string ("mount-tag", "Mount tag",
                         "Name the guest mounts the share by (mount -t 9p -o trans=virtio TAG DIR); required, at most 31 bytes, unique in the VM",
                         NULL, flags);
  properties[PROP_SECURITY_MODEL] =
    g_param_spec_string ("security-model", "Security model",
                         "How guest file ownership and modes are stored (fs-driver local only, required: no default): passthrough (as the guest says, needs root), mapped-xattr (in extended attributes), mapped-file (in .virtfs_metadata files) or none (like passthrough, ignoring failures)",
                         NULL, flags);
  properties[PROP_DISABLE_MODERN] =
    g_param_spec_boolean ("disable-modern", "Disable modern",
                          "Expose a legacy (virtio 0.9) device only; for drivers virtio-9p-pci and virtio-9p",
                          FALSE, flags);
  properties[PROP_SOCKET] =
    ql_param_spec_path ("socket", "Proxy socket",
                        "fs-driver proxy: unix socket of a running virtfs-proxy-helper (its -s option; QEMU socket=); a relative path in a VM file is relative to the VM file",
                        flags);
  properties[PROP_SOCK_FD] =
    g_param_spec_int ("sock-fd", "Proxy descriptor",
                      "fs-driver proxy: open descriptor of a socket connected to virtfs-proxy-helper (its -f option; QEMU sock_fd=); -1 for none",
                      -1, G_MAXINT, -1, flags);
  properties[PROP_READ_ONLY] =
    g_param_spec_boolean ("read-only", "Read-only",
                          "Export the share read-only: the guest cannot change it (fsdev readonly=on)",
                          FALSE, flags);
  properties[PROP_BUS] =
    g_param_spec_string ("bus", "Bus",
                         "PCI bus the device plugs into, such as 'pcie.0' or a bridge id; QEMU picks one when unset",
                         NULL, flags);
  properties[PROP_ADDR] =
    g_param_spec_string ("addr", "PCI address",
                         "PCI address on the bus in QEMU's hex syntax slot[.function], such as '5' or '1f.2'",
                         NULL, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_fs_device_init (QlFsDevice *self)
{
  self->driver = g_strdup (QL_FS_DEFAULT_DRIVER);
  self->fs_driver = QL_FS_DRIVER_LOCAL;
  self->sock_fd = -1;
}
