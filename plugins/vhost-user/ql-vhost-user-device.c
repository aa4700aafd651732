/* qlaunch vhost-user plugin — QlVhostUserDevice: a net card, disk or SCSI
 * controller whose data path is a vhost-user backend process.
 *
 * What it produces (govmm's VhostUserDevice, corrected for QEMU 7.2):
 *
 *   -chardev socket,id=CHARID,path=SOCKET            (every type)
 *   net:  -netdev type=vhost-user,id=NETDEV,chardev=CHARID,vhostforce=on
 *         -device virtio-net-pci,id=ID,netdev=NETDEV,mac=ADDRESS
 *   blk:  -device vhost-user-blk-pci,id=DEVID,chardev=CHARID
 *   scsi: -device vhost-user-scsi-pci,id=DEVID,chardev=CHARID
 *
 * CHARID is char-dev-id, NETDEV and DEVID are type-dev-id; each defaults to
 * the device's id (QEMU keeps chardevs, netdevs and devices apart).
 *
 * Differences from govmm, on purpose:
 * - `vhostforce=on` instead of the bare `vhostforce` (deprecated short-form
 *   boolean: QEMU 7.2 warns);
 * - no `logical_block_size=4096,size=512M` on vhost-user-blk-pci unless
 *   asked for (govmm always wrote them): QEMU 7.2 has neither property, the
 *   size and block size of the disk are the backend export's. When set,
 *   they are written, and the check against the QEMU binary's capabilities
 *   refuses them before launch on a QEMU that lacks them (7.2 does);
 * - the virtio-net-pci card and the vhost-user-blk-pci disk get an id;
 * - the chardev is a plain client socket: no `server=on` (QEMU would wait
 *   for the backend to connect) and no `reconnect=` (QEMU 7.2 hangs in
 *   device realize while nobody listens);
 * - guest RAM must be shared with the backend (file-backed-mem with
 *   file-backed-mem-shared, or hugepages): without it the backend cannot
 *   map the guest's buffers once the guest driver starts the device;
 * - the socket must exist when host checks are on: QEMU fails with
 *   "Failed to connect to '...': No such file or directory".
 */
#include "ql-vhost-user-device.h"

#include <string.h>

/* sizeof (struct sockaddr_un.sun_path) on Linux, NUL included. QEMU 7.2:
 * "UNIX socket path '...' is too long" / "Path must be less than 108 bytes". */
#define QL_VHOST_USER_SUN_PATH_MAX 108

struct _QlVhostUserDevice
{
  QlDevice         parent_instance;

  QlVhostUserType  vhost_user_type;
  char            *socket_path;
  char            *char_dev_id;
  char            *type_dev_id;
  char            *address;
  guint64          size;
  guint64          logical_block_size;
};

G_DEFINE_FINAL_TYPE (QlVhostUserDevice, ql_vhost_user_device, QL_TYPE_DEVICE)

enum
{
  PROP_0,
  PROP_VHOST_USER_TYPE,
  PROP_SOCKET_PATH,
  PROP_CHAR_DEV_ID,
  PROP_TYPE_DEV_ID,
  PROP_ADDRESS,
  PROP_SIZE,
  PROP_LOGICAL_BLOCK_SIZE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char *
ql_vhost_user_type_to_nick (QlVhostUserType type)
{
  static const char * const nicks[] = {
    [QL_VHOST_USER_TYPE_UNSET] = "unset",
    [QL_VHOST_USER_TYPE_SCSI] = "scsi",
    [QL_VHOST_USER_TYPE_NET] = "net",
    [QL_VHOST_USER_TYPE_BLK] = "blk",
  };

  g_return_val_if_fail ((guint) type < G_N_ELEMENTS (nicks), "?");
  return nicks[type];
}

/* The chardev's id: char-dev-id, else the device's id. */
static const char *
get_char_dev_id (QlVhostUserDevice *self)
{
  return self->char_dev_id != NULL ? self->char_dev_id
                                   : ql_device_get_id (QL_DEVICE (self));
}

/* The netdev's id (net) or the -device's id (blk, scsi): type-dev-id,
 * else the device's id. */
static const char *
get_type_dev_id (QlVhostUserDevice *self)
{
  return self->type_dev_id != NULL ? self->type_dev_id
                                   : ql_device_get_id (QL_DEVICE (self));
}

/* Six hex bytes separated by ':'. Sets *multicast from the first octet's
 * low bit (the I/G bit): no station address, the guest's driver discards
 * it. */
static gboolean
parse_mac_address (const char *mac,
                   gboolean   *multicast)
{
  for (guint i = 0; i < 6; i++)
    {
      const char *p = mac + i * 3;

      if (!g_ascii_isxdigit (p[0]) || !g_ascii_isxdigit (p[1]))
        return FALSE;
      if (p[2] != (i == 5 ? '\0' : ':'))
        return FALSE;
    }

  *multicast = (g_ascii_xdigit_value (mac[1]) & 1) != 0;
  return TRUE;
}

static gboolean
check_id_syntax (QlVhostUserDevice  *self,
                 const char         *value,
                 const char         *property,
                 GError            **error)
{
  if (value != NULL && !ql_is_valid_id (value))
    {
      ql_device_set_error (QL_DEVICE (self), error,
                           QL_CONFIG_ERROR_INVALID_VALUE, property,
                           "'%s' is not a valid id: expected a letter, then letters, digits, '-', '.', '_'",
                           value);
      return FALSE;
    }

  return TRUE;
}

/* The string property @name of @object, if it has a readable one. */
static char *
dup_string_property (GObject    *object,
                     const char *name)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (object), name);
  char *value = NULL;

  if (pspec == NULL || pspec->value_type != G_TYPE_STRING ||
      !(pspec->flags & G_PARAM_READABLE))
    return NULL;
  g_object_get (object, name, &value, NULL);
  return value;
}

/* @value, the id of a chardev, netdev or device this device adds beside
 * its own id, must not be an id another device of @vm uses: its id, its
 * device-id (the -device of a `char` or `memory-object`), or the
 * char-dev-id/type-dev-id of a vhost-user device before this one (a clash
 * between two vhost-user devices is reported once, on the second). */
static gboolean
check_id_unique (QlVhostUserDevice  *self,
                 QlVmConfig         *vm,
                 const char         *value,
                 const char         *property,
                 GError            **error)
{
  GPtrArray *devices = ql_vm_config_get_devices (vm);
  gboolean before_self = TRUE;

  if (g_strcmp0 (value, ql_device_get_id (QL_DEVICE (self))) == 0)
    return TRUE;

  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);
      const char *other_id = ql_device_get_id (other);
      g_autofree char *other_device_id = NULL;
      const char *clash = NULL;

      if (other == QL_DEVICE (self))
        {
          before_self = FALSE;
          continue;
        }

      other_device_id = dup_string_property (G_OBJECT (other), "device-id");
      if (g_strcmp0 (value, other_id) == 0)
        clash = "id";
      else if (g_strcmp0 (value, other_device_id) == 0)
        clash = "device-id";
      else if (before_self && QL_IS_VHOST_USER_DEVICE (other))
        {
          QlVhostUserDevice *peer = QL_VHOST_USER_DEVICE (other);

          if (g_strcmp0 (value, get_char_dev_id (peer)) == 0)
            clash = "char-dev-id";
          else if (g_strcmp0 (value, get_type_dev_id (peer)) == 0)
            clash = "type-dev-id";
        }

      if (clash != NULL)
        {
          ql_device_set_error (QL_DEVICE (self), error,
                               QL_CONFIG_ERROR_DUPLICATE, property,
                               "'%s' is already used by device '%s' (its %s): every id must be unique in the VM",
                               value, other_id, clash);
          return FALSE;
        }
    }

  return TRUE;
}

/* size and logical-block-size are properties of a disk: refused on a net
 * card or SCSI controller. On a disk they are written as govmm wrote them,
 * and the capability check (ql_qemu_caps_check_cmdline()) refuses them
 * before launch on a QEMU whose vhost-user-blk-pci lacks them, as 7.2's
 * does: "device 'vhu0': QEMU 7.2 has no property 'logical_block_size' on
 * vhost-user-blk-pci". */
static gboolean
check_backend_only (QlVhostUserDevice  *self,
                    GError            **error)
{
  if (self->vhost_user_type == QL_VHOST_USER_TYPE_BLK)
    return TRUE;
  if (self->size != 0)
    {
      ql_device_set_error (QL_DEVICE (self), error,
                           QL_CONFIG_ERROR_UNSUPPORTED, "size",
                           "only a vhost-user blk disk has a size; unset size");
      return FALSE;
    }
  if (self->logical_block_size != 0)
    {
      ql_device_set_error (QL_DEVICE (self), error,
                           QL_CONFIG_ERROR_UNSUPPORTED, "logical-block-size",
                           "only a vhost-user blk disk has a logical block size; unset logical-block-size");
      return FALSE;
    }

  return TRUE;
}

static gboolean
check_address (QlVhostUserDevice  *self,
               GError            **error)
{
  QlDevice *device = QL_DEVICE (self);
  gboolean multicast = FALSE;

  if (self->vhost_user_type != QL_VHOST_USER_TYPE_NET)
    {
      if (self->address != NULL)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT,
                               "address",
                               "'%s' is the MAC address of a network card, but vhost-user-type is '%s': only vhost-user-type=net takes an address; unset it",
                               self->address,
                               ql_vhost_user_type_to_nick (self->vhost_user_type));
          return FALSE;
        }
      return TRUE;
    }

  if (self->address == NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "address",
                           "a vhost-user network card needs its MAC address (the backend's port is set up for it): set address, such as '52:54:00:12:34:56'");
      return FALSE;
    }
  if (!parse_mac_address (self->address, &multicast))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "address",
                           "'%s' is not a MAC address: expected six hex bytes separated by ':', such as '52:54:00:12:34:56'",
                           self->address);
      return FALSE;
    }
  if (multicast)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "address",
                           "'%s' is a multicast address, which a network card cannot have: the first byte must be even, such as '52:54:00:12:34:56'",
                           self->address);
      return FALSE;
    }

  return TRUE;
}

/* The backend reads and writes the guest's buffers in place: it maps guest
 * RAM through a descriptor QEMU sends, which needs RAM that is a shared
 * file mapping. */
static gboolean
check_shared_memory (QlVhostUserDevice  *self,
                     QlVmConfig         *vm,
                     GError            **error)
{
  gboolean hugepages = FALSE;
  gboolean file_backed = FALSE;
  gboolean file_backed_shared = FALSE;

  g_object_get (vm,
                "knobs-hugepages", &hugepages,
                "knobs-file-backed-mem", &file_backed,
                "knobs-file-backed-mem-shared", &file_backed_shared,
                NULL);

  if (hugepages || (file_backed && file_backed_shared))
    return TRUE;

  if (file_backed)
    ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_CONFLICT,
                         "vhost-user-type",
                         "guest RAM is file-backed but private, and a vhost-user backend must map it: set [knobs] file-backed-mem-shared = true");
  else
    ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_MISSING,
                         "vhost-user-type",
                         "a vhost-user backend maps guest RAM, which must be shared: set [knobs] file-backed-mem = true and file-backed-mem-shared = true (with [memory] size and path), or [knobs] hugepages = true");
  return FALSE;
}

static gboolean
ql_vhost_user_device_valid (QlDevice    *device,
                            QlVmConfig  *vm,
                            GError     **error)
{
  QlVhostUserDevice *self = QL_VHOST_USER_DEVICE (device);
  QlHostProbe *probe = ql_vm_config_get_host_probe (vm);

  if (self->vhost_user_type == QL_VHOST_USER_TYPE_UNSET)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING,
                           "vhost-user-type",
                           "no vhost-user type given: set vhost-user-type to net, blk or scsi, as the backend implements");
      return FALSE;
    }

  if (self->socket_path == NULL || *self->socket_path == '\0')
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING,
                           "socket-path",
                           "no socket given: set socket-path to the unix socket the vhost-user backend listens on");
      return FALSE;
    }
  if (strlen (self->socket_path) >= QL_VHOST_USER_SUN_PATH_MAX)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "socket-path",
                           "'%s' is too long for a unix socket (QEMU: \"Path must be less than 108 bytes\"): use a path of at most 107 bytes",
                           self->socket_path);
      return FALSE;
    }

  if (!ql_device_check_not_empty (QL_DEVICE (self), self->char_dev_id, "char-dev-id", error) ||
      !ql_device_check_not_empty (QL_DEVICE (self), self->type_dev_id, "type-dev-id", error) ||
      !ql_device_check_not_empty (QL_DEVICE (self), self->address, "address", error) ||
      !check_id_syntax (self, self->char_dev_id, "char-dev-id", error) ||
      !check_id_syntax (self, self->type_dev_id, "type-dev-id", error))
    return FALSE;

  if (!check_address (self, error) ||
      !check_backend_only (self, error))
    return FALSE;

  if (!check_id_unique (self, vm, get_char_dev_id (self), "char-dev-id", error) ||
      !check_id_unique (self, vm, get_type_dev_id (self), "type-dev-id", error))
    return FALSE;

  if (!check_shared_memory (self, vm, error))
    return FALSE;

  if (probe != NULL)
    {
      g_autoptr(GError) local_error = NULL;

      if (!ql_host_probe_file_readable (probe, self->socket_path, &local_error))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST,
                               "socket-path",
                               "cannot use the backend's socket '%s': %s; start the vhost-user backend first: it must listen there, QEMU connects to it as a client",
                               self->socket_path, local_error->message);
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
ql_vhost_user_device_qemu_params (QlDevice    *device,
                                  QlVmConfig  *vm,
                                  QlCmdline   *cmdline,
                                  GError     **error)
{
  QlVhostUserDevice *self = QL_VHOST_USER_DEVICE (device);
  const char *char_id = get_char_dev_id (self);
  const char *type_id = get_type_dev_id (self);
  QlOption *netdev;

  /* QEMU is the client: the backend listens on the socket. */
  ql_cmdline_add_option (cmdline, "-chardev", "socket",
                         "id", char_id,
                         "path", self->socket_path,
                         NULL);

  switch (self->vhost_user_type)
    {
    case QL_VHOST_USER_TYPE_NET:
      netdev = ql_cmdline_add_option (cmdline, "-netdev", NULL,
                                      "type", "vhost-user",
                                      "id", type_id,
                                      "chardev", char_id,
                                      NULL);
      ql_option_set_bool (netdev, "vhostforce", TRUE);
      ql_cmdline_add_option (cmdline, "-device", "virtio-net-pci",
                             "id", ql_device_get_id (device),
                             "netdev", type_id,
                             "mac", self->address,
                             NULL);
      break;
    case QL_VHOST_USER_TYPE_BLK:
      {
        QlOption *disk = ql_cmdline_add_option (cmdline, "-device", "vhost-user-blk-pci",
                                                "id", type_id,
                                                "chardev", char_id,
                                                NULL);

        if (self->logical_block_size != 0)
          ql_option_set_uint (disk, "logical_block_size", self->logical_block_size);
        if (self->size != 0)
          ql_option_set_uint (disk, "size", self->size);
      }
      break;
    case QL_VHOST_USER_TYPE_SCSI:
      ql_cmdline_add_option (cmdline, "-device", "vhost-user-scsi-pci",
                             "id", type_id,
                             "chardev", char_id,
                             NULL);
      break;
    case QL_VHOST_USER_TYPE_UNSET:
    default:
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING,
                           "vhost-user-type",
                           "no vhost-user type given: set vhost-user-type to net, blk or scsi, as the backend implements");
      return FALSE;
    }

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
ql_vhost_user_device_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  QlVhostUserDevice *self = QL_VHOST_USER_DEVICE (object);

  switch (prop_id)
    {
    case PROP_VHOST_USER_TYPE:
      self->vhost_user_type = g_value_get_enum (value);
      break;
    case PROP_SOCKET_PATH:
      set_string (&self->socket_path, value);
      break;
    case PROP_CHAR_DEV_ID:
      set_string (&self->char_dev_id, value);
      break;
    case PROP_TYPE_DEV_ID:
      set_string (&self->type_dev_id, value);
      break;
    case PROP_ADDRESS:
      set_string (&self->address, value);
      break;
    case PROP_SIZE:
      self->size = g_value_get_uint64 (value);
      break;
    case PROP_LOGICAL_BLOCK_SIZE:
      self->logical_block_size = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_vhost_user_device_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  QlVhostUserDevice *self = QL_VHOST_USER_DEVICE (object);

  switch (prop_id)
    {
    case PROP_VHOST_USER_TYPE:
      g_value_set_enum (value, self->vhost_user_type);
      break;
    case PROP_SOCKET_PATH:
      g_value_set_string (value, self->socket_path);
      break;
    case PROP_CHAR_DEV_ID:
      g_value_set_string (value, self->char_dev_id);
      break;
    case PROP_TYPE_DEV_ID:
      g_value_set_string (value, self->type_dev_id);
      break;
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    case PROP_SIZE:
      g_value_set_uint64 (value, self->size);
      break;
    case PROP_LOGICAL_BLOCK_SIZE:
      g_value_set_uint64 (value, self->logical_block_size);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_vhost_user_device_finalize (GObject *object)
{
  QlVhostUserDevice *self = QL_VHOST_USER_DEVICE (object);

  g_free (self->socket_path);
  g_free (self->char_dev_id);
  g_free (self->type_dev_id);
  g_free (self->address);

  G_OBJECT_CLASS (ql_vhost_user_device_parent_class)->finalize (object);
}

static void
ql_vhost_user_device_class_init (QlVhostUserDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = ql_vhost_user_device_set_property;
  object_class->get_property = ql_vhost_user_device_get_property;
  object_class->finalize = ql_vhost_user_device_finalize;

  device_class->valid = ql_vhost_user_device_valid;
  device_class->qemu_params = ql_vhost_user_device_qemu_params;

  properties[PROP_VHOST_USER_TYPE] =
    g_param_spec_enum ("vhost-user-type", "vhost-user type",
                       "What the backend implements (required): net (virtio-net-pci card), blk (vhost-user-blk-pci disk) or scsi (vhost-user-scsi-pci controller)",
                       QL_TYPE_VHOST_USER_TYPE, QL_VHOST_USER_TYPE_UNSET, flags);
  properties[PROP_SOCKET_PATH] =
    ql_param_spec_path ("socket-path", "Socket path",
                        "Unix socket the backend listens on (required; QEMU connects as a client, so start the backend first); at most 107 bytes",
                        flags);
  properties[PROP_CHAR_DEV_ID] =
    g_param_spec_string ("char-dev-id", "Chardev id",
                         "Id of the socket chardev (-chardev socket,id=); unset means the device's id",
                         NULL, flags);
  properties[PROP_TYPE_DEV_ID] =
    g_param_spec_string ("type-dev-id", "Type device id",
                         "Id of the netdev (net) or of the -device (blk, scsi); unset means the device's id",
                         NULL, flags);
  properties[PROP_ADDRESS] =
    g_param_spec_string ("address", "MAC address",
                         "MAC address of the guest card, six hex bytes separated by ':' (required for net, not multicast; not allowed for blk and scsi)",
                         NULL, flags);
  properties[PROP_SIZE] =
    ql_param_spec_size ("size", "Size",
                        "blk only: size=N on vhost-user-blk-pci, as govmm wrote (512M); QEMU 7.2 has no such property (the size comes from the backend export) and the check against QEMU's capabilities refuses it before launch. 0 = unset",
                        0, G_MAXUINT64, 0, flags);
  properties[PROP_LOGICAL_BLOCK_SIZE] =
    ql_param_spec_size ("logical-block-size", "Logical block size",
                        "blk only: logical_block_size=N on vhost-user-blk-pci, as govmm wrote (4096); QEMU 7.2 has no such property (set it on the backend export: qemu-storage-daemon logical-block-size=) and the check against QEMU's capabilities refuses it before launch. 0 = unset",
                        0, G_MAXUINT64, 0, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_vhost_user_device_init (QlVhostUserDevice *self)
{
  self->vhost_user_type = QL_VHOST_USER_TYPE_UNSET;
}
