/* qlaunch virtio-fs plugin — QlVirtioFsDevice: a host directory shared
 * with the guest over virtio-fs.
 *
 * What it produces:
 *
 *   -chardev socket,id=ID-vfsd,path=RUNTIME/ID.virtiofsd.sock
 *   -device vhost-user-fs-pci,id=ID,chardev=ID-vfsd,tag=TAG[,queue-size=N][,bus=B][,addr=A]
 *
 * and a helper process the launcher runs before QEMU and stops after it:
 *
 *   virtiofsd --fd=3 -o source=PATH -o cache=MODE -o xattr|no_xattr
 *             [-o sandbox=MODE] [--thread-pool-size=N]
 *
 * where descriptor 3 is a unix socket the launcher made listening at
 * RUNTIME/ID.virtiofsd.sock (socket activation): QEMU connects to it as
 * soon as it starts, and virtiofsd accepts once it is up, so the two start
 * side by side.
 *
 * virtiofsd is found the way QEMU's interop specification says (the
 * vhost-user descriptors of type "fs": Debian's QEMU 7.2 ships
 * /usr/lib/qemu/virtiofsd) unless `binary` names it.
 *
 * vhost-user needs guest RAM shared with virtiofsd: the device asks the
 * core for it, which backs guest RAM with memory-backend-memfd (share=on)
 * unless the memory knobs give a shared backend already; a configuration
 * that forces private RAM (file-backed-mem without file-backed-mem-shared)
 * is an error.
 *
 * QEMU 7.2 checks: the tag is at most 36 bytes ("tag property value too
 * long"), queue-size a power of two up to 1024. The tag is unique in the
 * VM: the guest mounts a share by its tag (mount -t virtiofs TAG DIR).
 *
 * read-only: QEMU 7.2's virtiofsd has no read-only mode, so the launcher
 * starts it in a mount namespace of its own where PATH is bind-mounted
 * read-only (writes from the guest fail with EROFS); that needs root, as
 * this virtiofsd's namespace sandbox does.
 */
#include "ql-virtio-fs-device.h"

#include <string.h>

#include <gio/gio.h>

/* QEMU 7.2 hw/virtio/vhost-user-fs.c: the tag field of virtio_fs_config. */
#define QL_VIRTIO_FS_MAX_TAG 36
#define QL_VIRTIO_FS_MAX_QUEUE_SIZE 1024

struct _QlVirtioFsDevice
{
  QlDevice           parent_instance;

  char              *path;
  char              *tag;
  QlVirtioFsCache    cache;
  gboolean           xattr;
  guint              queue_size;
  gboolean           read_only;
  char              *binary;
  char              *found_binary;  /* the virtiofsd the last valid() found
                                     * with host checks, or NULL */
  QlVirtioFsSandbox  sandbox;
  gint               thread_pool_size;
  char              *bus;
  char              *addr;
};

G_DEFINE_FINAL_TYPE (QlVirtioFsDevice, ql_virtio_fs_device, QL_TYPE_DEVICE)

enum
{
  PROP_0,
  PROP_PATH,
  PROP_TAG,
  PROP_CACHE,
  PROP_XATTR,
  PROP_QUEUE_SIZE,
  PROP_READ_ONLY,
  PROP_BINARY,
  PROP_SANDBOX,
  PROP_THREAD_POOL_SIZE,
  PROP_BUS,
  PROP_ADDR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char *
enum_nick (GType type,
           gint  value)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (type);
  GEnumValue *ev = g_enum_get_value (klass, value);

  return ev != NULL ? ev->value_nick : NULL;
}

/* An earlier virtio-fs device of @vm with the same tag. */
static QlDevice *
find_same_tag (QlVirtioFsDevice *self,
               QlVmConfig       *vm)
{
  GPtrArray *devices = ql_vm_config_get_devices (vm);

  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other == QL_DEVICE (self))
        return NULL;
      if (QL_IS_VIRTIO_FS_DEVICE (other)
          && g_strcmp0 (QL_VIRTIO_FS_DEVICE (other)->tag, self->tag) == 0)
        return other;
    }
  return NULL;
}

static gboolean
valid_tag (QlVirtioFsDevice  *self,
           QlVmConfig        *vm,
           GError           **error)
{
  QlDevice *device = QL_DEVICE (self);
  QlDevice *same;
  gsize len;

  if (self->tag == NULL || *self->tag == '\0')
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "tag",
                           "no tag given: set tag to the name the guest mounts the share by (mount -t virtiofs TAG DIR)");
      return FALSE;
    }
  len = strlen (self->tag);
  if (len > QL_VIRTIO_FS_MAX_TAG)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "tag",
                           "'%s' is %" G_GSIZE_FORMAT " bytes long: virtio-fs takes a tag of at most 36 bytes (QEMU 7.2: \"tag property value too long\")",
                           self->tag, len);
      return FALSE;
    }
  same = find_same_tag (self, vm);
  if (same != NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_DUPLICATE, "tag",
                           "'%s' is the tag of device '%s' already: the guest mounts a share by its tag, so each must be unique",
                           self->tag, ql_device_get_id (same));
      return FALSE;
    }
  return TRUE;
}

/* Guest RAM must be shared with virtiofsd: only the knobs can force it
 * private. */
static gboolean
valid_memory (QlVirtioFsDevice  *self,
              QlVmConfig        *vm,
              GError           **error)
{
  gboolean file_backed = FALSE;
  gboolean file_backed_shared = FALSE;

  g_object_get (vm,
                "knobs-file-backed-mem", &file_backed,
                "knobs-file-backed-mem-shared", &file_backed_shared,
                NULL);
  if (file_backed && !file_backed_shared)
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_CONFLICT, "path",
                           "[memory]: guest RAM is a private file mapping ([knobs] file-backed-mem without file-backed-mem-shared), "
                           "and virtiofsd must map it: set [knobs] file-backed-mem-shared = true, or drop file-backed-mem "
                           "(qlaunch then shares guest RAM through memory-backend-memfd)");
      return FALSE;
    }
  return TRUE;
}

static gboolean
device_in_vm (QlDevice   *device,
              QlVmConfig *vm)
{
  GPtrArray *devices = ql_vm_config_get_devices (vm);

  for (guint i = 0; devices != NULL && i < devices->len; i++)
    if (g_ptr_array_index (devices, i) == device)
      return TRUE;
  return FALSE;
}

/* What the launcher needs of the VM: guest RAM it can share (a size for
 * the memfd, unless the knobs give a shared backend), and socket paths
 * that fit a unix socket address. */
static gboolean
valid_launch (QlVirtioFsDevice  *self,
              QlVmConfig        *vm,
              GError           **error)
{
  QlDevice *device = QL_DEVICE (self);
  gboolean hugepages = FALSE, file_backed = FALSE, file_backed_shared = FALSE;
  guint64 memory_size = 0;

  g_object_get (vm,
                "memory-size", &memory_size,
                "knobs-hugepages", &hugepages,
                "knobs-file-backed-mem", &file_backed,
                "knobs-file-backed-mem-shared", &file_backed_shared,
                NULL);
  /* A device hot-plugged into a running VM (not one of @vm's devices)
   * finds guest RAM as that VM was started: nothing to size here. */
  if (memory_size == 0 && !hugepages && !(file_backed && file_backed_shared)
      && device_in_vm (device, vm))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "path",
                           "[memory]: size: virtiofsd maps guest RAM, which qlaunch then backs with a shared "
                           "memfd (memory-backend-memfd, share=on) of the VM's size: set [memory] size");
      return FALSE;
    }
  {
    g_autofree char *name = ql_helper_socket_name (ql_device_get_id (device), "virtiofsd");

    if (!ql_helper_check_socket_name (device, vm, "virtiofsd", name, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean
valid_host (QlVirtioFsDevice  *self,
            QlHostProbe       *probe,
            GError           **error)
{
  QlDevice *device = QL_DEVICE (self);
  g_autoptr(GError) local_error = NULL;
  GFileType type = G_FILE_TYPE_UNKNOWN;

  if (!ql_host_probe_query_file (probe, self->path, &type, NULL, &local_error))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "path",
                           "cannot share '%s': %s: expected an existing directory",
                           self->path, local_error->message);
      return FALSE;
    }
  if (type != G_FILE_TYPE_DIRECTORY)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "path",
                           "cannot share '%s': it is not a directory", self->path);
      return FALSE;
    }
  if (self->binary == NULL)
    {
      char *found = ql_helper_find_vhost_user_binary ("fs", &local_error);

      /* For qemu_params(), which follows in this build. */
      g_free (self->found_binary);
      self->found_binary = found;
      if (found == NULL)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "binary",
                               "no virtiofsd found: %s; install QEMU's virtiofsd (Debian: qemu-system-common) or name it in binary",
                               local_error->message);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
ql_virtio_fs_device_valid (QlDevice    *device,
                           QlVmConfig  *vm,
                           GError     **error)
{
  QlVirtioFsDevice *self = QL_VIRTIO_FS_DEVICE (device);
  QlHostProbe *probe = ql_vm_config_get_host_probe (vm);

  if (ql_device_get_id (device) == NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "id",
                           "a virtio-fs share needs an id: its chardev and virtiofsd's socket are named after it");
      return FALSE;
    }
  if (self->path == NULL || *self->path == '\0')
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "path",
                           "no directory given: set path to the host directory to share");
      return FALSE;
    }
  if (!g_path_is_absolute (self->path))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "path",
                           "'%s' is not an absolute path (in a VM file, a relative path is relative to the VM file)",
                           self->path);
      return FALSE;
    }
  if (!valid_tag (self, vm, error))
    return FALSE;
  if (self->queue_size != 0
      && (self->queue_size > QL_VIRTIO_FS_MAX_QUEUE_SIZE || (self->queue_size & (self->queue_size - 1)) != 0))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "queue-size",
                           "'%u' is not a power of two up to 1024 (QEMU 7.2: \"queue-size property must be a power of 2\" / \"must be 1024 or smaller\")",
                           self->queue_size);
      return FALSE;
    }
  if (self->binary != NULL && !g_path_is_absolute (self->binary))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "binary",
                           "'%s' is not an absolute path: name the virtiofsd program by its full path (in a VM file, relative to the VM file)",
                           self->binary);
      return FALSE;
    }
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
  g_clear_pointer (&self->found_binary, g_free);
  if (!valid_memory (self, vm, error) || !valid_launch (self, vm, error))
    return FALSE;
  if (probe != NULL && !valid_host (self, probe, error))
    return FALSE;
  return TRUE;
}

/* A value inside virtiofsd's -o option list: libfuse's option parser
 * splits on ',' and takes '\' as an escape. */
static char *
fuse_opt_escape (const char *value)
{
  GString *s = g_string_new (NULL);

  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == ',' || *p == '\\')
        g_string_append_c (s, '\\');
      g_string_append_c (s, *p);
    }
  return g_string_free (s, FALSE);
}

static gboolean
ql_virtio_fs_device_qemu_params (QlDevice    *device,
                                 QlVmConfig  *vm,
                                 QlCmdline   *cmdline,
                                 GError     **error)
{
  QlVirtioFsDevice *self = QL_VIRTIO_FS_DEVICE (device);
  const char *id = ql_device_get_id (device);
  g_autofree char *chardev = g_strconcat (id, "-vfsd", NULL);
  g_autofree char *name = ql_helper_socket_name (id, "virtiofsd");
  g_autofree char *socket_path = ql_cmdline_build_runtime_path (cmdline, name);
  g_autofree char *binary = NULL;
  g_autofree char *source = fuse_opt_escape (self->path);
  g_autofree char *reason = g_strdup_printf ("device '%s' (vhost-user-fs-pci)", id);
  QlHelper *helper;
  QlOption *dev;

  (void) vm;
  (void) error;
  if (self->binary != NULL)
    binary = g_strdup (self->binary);
  else
    {
      /* With host checks, valid() made sure one is found; without (a
       * command line for another host), a host without a descriptor gets
       * the program's name, looked up in PATH. */
      binary = self->found_binary != NULL ? g_strdup (self->found_binary)
                                          : ql_helper_find_vhost_user_binary ("fs", NULL);
      if (binary == NULL)
        binary = g_strdup ("virtiofsd");
    }

  /* Socket activation: qlaunch makes the listening socket and passes it
   * (--fd), so QEMU can start at once and connect while virtiofsd starts. */
  helper = ql_cmdline_add_helper (cmdline, "virtiofsd", binary);
  ql_helper_add_arg_printf (helper, "--fd=%d", ql_helper_add_listen_socket (helper, socket_path));
  ql_helper_add_arg (helper, "-o");
  ql_helper_add_arg_printf (helper, "source=%s", source);
  ql_helper_add_arg (helper, "-o");
  ql_helper_add_arg_printf (helper, "cache=%s", enum_nick (QL_TYPE_VIRTIO_FS_CACHE, self->cache));
  ql_helper_add_arg (helper, "-o");
  ql_helper_add_arg (helper, self->xattr ? "xattr" : "no_xattr");
  if (self->sandbox != QL_VIRTIO_FS_SANDBOX_NAMESPACE)
    {
      ql_helper_add_arg (helper, "-o");
      ql_helper_add_arg_printf (helper, "sandbox=%s", enum_nick (QL_TYPE_VIRTIO_FS_SANDBOX, self->sandbox));
    }
  if (self->thread_pool_size >= 0)
    ql_helper_add_arg_printf (helper, "--thread-pool-size=%d", self->thread_pool_size);
  if (self->read_only)
    ql_helper_add_read_only_path (helper, self->path);

  ql_cmdline_add_option (cmdline, "-chardev", "socket",
                         "id", chardev,
                         "path", socket_path,
                         NULL);
  dev = ql_cmdline_add_option (cmdline, "-device", "vhost-user-fs-pci",
                               "id", id,
                               "chardev", chardev,
                               "tag", self->tag,
                               NULL);
  if (self->queue_size != 0)
    ql_option_set_uint (dev, "queue-size", self->queue_size);
  ql_option_set (dev, "bus", self->bus);
  ql_option_set (dev, "addr", self->addr);

  ql_cmdline_require_shared_memory (cmdline, reason);
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
ql_virtio_fs_device_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  QlVirtioFsDevice *self = QL_VIRTIO_FS_DEVICE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      set_string (&self->path, value);
      break;
    case PROP_TAG:
      set_string (&self->tag, value);
      break;
    case PROP_CACHE:
      self->cache = g_value_get_enum (value);
      break;
    case PROP_XATTR:
      self->xattr = g_value_get_boolean (value);
      break;
    case PROP_QUEUE_SIZE:
      self->queue_size = g_value_get_uint (value);
      break;
    case PROP_READ_ONLY:
      self->read_only = g_value_get_boolean (value);
      break;
    case PROP_BINARY:
      set_string (&self->binary, value);
      break;
    case PROP_SANDBOX:
      self->sandbox = g_value_get_enum (value);
      break;
    case PROP_THREAD_POOL_SIZE:
      self->thread_pool_size = g_value_get_int (value);
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
ql_virtio_fs_device_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  QlVirtioFsDevice *self = QL_VIRTIO_FS_DEVICE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_TAG:
      g_value_set_string (value, self->tag);
      break;
    case PROP_CACHE:
      g_value_set_enum (value, self->cache);
      break;
    case PROP_XATTR:
      g_value_set_boolean (value, self->xattr);
      break;
    case PROP_QUEUE_SIZE:
      g_value_set_uint (value, self->queue_size);
      break;
    case PROP_READ_ONLY:
      g_value_set_boolean (value, self->read_only);
      break;
    case PROP_BINARY:
      g_value_set_string (value, self->binary);
      break;
    case PROP_SANDBOX:
      g_value_set_enum (value, self->sandbox);
      break;
    case PROP_THREAD_POOL_SIZE:
      g_value_set_int (value, self->thread_pool_size);
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
ql_virtio_fs_device_finalize (GObject *object)
{
  QlVirtioFsDevice *self = QL_VIRTIO_FS_DEVICE (object);

  g_free (self->path);
  g_free (self->tag);
  g_free (self->binary);
  g_free (self->found_binary);
  g_free (self->bus);
  g_free (self->addr);
  G_OBJECT_CLASS (ql_virtio_fs_device_parent_class)->finalize (object);
}

static void
ql_virtio_fs_device_class_init (QlVirtioFsDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = ql_virtio_fs_device_set_property;
  object_class->get_property = ql_virtio_fs_device_get_property;
  object_class->finalize = ql_virtio_fs_device_finalize;

  device_class->valid = ql_virtio_fs_device_valid;
  device_class->qemu_params = ql_virtio_fs_device_qemu_params;

  properties[PROP_PATH] =
    ql_param_spec_path ("path", "Path",
                        "Host directory to share (virtiofsd -o source=); required; a relative path in a VM file is relative to the VM file",
                        flags);
  properties[PROP_TAG] =
    g_param_spec_string ("tag", "Tag",
                         "Name the guest mounts the share by (mount -t virtiofs TAG DIR; QEMU tag=); required, at most 36 bytes, unique in the VM",
                         NULL, flags);
  properties[PROP_CACHE] =
    g_param_spec_enum ("cache", "Cache",
                       "virtiofsd's cache mode (-o cache=): auto (default), always (the guest owns the files), none (every access reaches the host)",
                       QL_TYPE_VIRTIO_FS_CACHE, QL_VIRTIO_FS_CACHE_AUTO, flags);
  properties[PROP_XATTR] =
    g_param_spec_boolean ("xattr", "Xattr",
                          "Pass extended attributes through (virtiofsd -o xattr; default false: -o no_xattr)",
                          FALSE, flags);
  properties[PROP_QUEUE_SIZE] =
    g_param_spec_uint ("queue-size", "Queue size",
                       "Size of each request queue (QEMU queue-size=): a power of two up to 1024; 0 = QEMU's default (128)",
                       0, QL_VIRTIO_FS_MAX_QUEUE_SIZE, 0, flags);
  properties[PROP_READ_ONLY] =
    g_param_spec_boolean ("read-only", "Read only",
                          "Share the directory read-only: virtiofsd runs in a mount namespace where path is a read-only bind mount, so guest writes fail (needs root); default false",
                          FALSE, flags);
  properties[PROP_BINARY] =
    ql_param_spec_path ("binary", "Binary",
                        "The virtiofsd program; unset = the one QEMU's vhost-user descriptors name (type fs, e.g. /usr/share/qemu/vhost-user/50-qemu-virtiofsd.json)",
                        flags);
  properties[PROP_SANDBOX] =
    g_param_spec_enum ("sandbox", "Sandbox",
                       "virtiofsd's sandbox (-o sandbox=): namespace (default: mount, pid and network namespaces) or chroot (inside a container)",
                       QL_TYPE_VIRTIO_FS_SANDBOX, QL_VIRTIO_FS_SANDBOX_NAMESPACE, flags);
  properties[PROP_THREAD_POOL_SIZE] =
    g_param_spec_int ("thread-pool-size", "Thread pool size",
                      "virtiofsd's worker threads (--thread-pool-size=; 0 = no pool, requests served on the queue thread); -1 = virtiofsd's default",
                      -1, G_MAXINT, -1, flags);
  properties[PROP_BUS] =
    g_param_spec_string ("bus", "Bus",
                         "PCI bus to plug the device into (QEMU bus=), e.g. a bridge or root port id; unset = QEMU's choice",
                         NULL, flags);
  properties[PROP_ADDR] =
    g_param_spec_string ("addr", "Addr",
                         "PCI address on the bus: hex slot with an optional function (QEMU addr=), e.g. '5' or '1f.2'",
                         NULL, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_virtio_fs_device_init (QlVirtioFsDevice *self)
{
  self->cache = QL_VIRTIO_FS_CACHE_AUTO;
  self->sandbox = QL_VIRTIO_FS_SANDBOX_NAMESPACE;
  self->thread_pool_size = -1;
}
