/* qlaunch char plugin — QlCharDevice: a virtconsole or virtserialport on a
 * virtio-serial bus, with the host chardev behind it.
 *
 * What it produces (govmm's CharDevice, corrected for QEMU 7.2):
 *
 *   -device DRIVER,id=DEVICE-ID,chardev=ID[,bus=B][,name=N]
 *   -chardev socket,id=ID,path=P,server=on,wait=off      (default)
 *   -chardev socket,id=ID,path=P,server=on               (wait=true)
 *   -chardev socket,id=ID,path=P                         (server=false)
 *   -chardev pipe,id=ID,path=P
 *   -chardev serial,id=ID,path=DEV                       (backend serial or tty)
 *   -chardev pty,id=ID
 *
 * `id` is the chardev's id (govmm's ID) and `device-id` the -device's
 * (govmm's DeviceID); device-id defaults to id, as chardev and device ids
 * are separate namespaces in QEMU.
 *
 * Differences from govmm, on purpose:
 * - `server=on,wait=off` instead of the deprecated `server,nowait`, and the
 *   socket's server/wait behaviour is configurable (server, wait);
 * - `tty` is written as QEMU's `serial` (the `tty` alias is deprecated);
 * - `console` is a Windows-only QEMU backend ("'console' is not a valid char
 *   driver name" on Linux): an error;
 * - pty takes no path: QEMU silently ignores it and allocates /dev/pts/N
 *   (find it with QMP query-chardev), so a path is an error, not a promise;
 * - disable-modern is no property of virtconsole/virtserialport ("Property
 *   'virtconsole.disable-modern' not found"): an error pointing at the
 *   `serial` controller, where it belongs;
 * - checked here because QEMU refuses them only at start-up: a missing
 *   virtio-serial controller (or one created after the port), a bus that
 *   does not exist, two ports with the same name, a -device id used twice,
 *   a unix socket path of 108 bytes or more; and on the host, the files
 *   each backend opens.
 */
#include "ql-char-device.h"

#include <errno.h>
#include <string.h>

#include <gio/gio.h>

/* sizeof (struct sockaddr_un.sun_path): QEMU wants the path and its NUL in
 * it ("UNIX socket path '...' is too long"). */
#define QL_CHAR_UNIX_PATH_MAX 108

struct _QlCharDevice
{
  QlDevice       parent_instance;

  QlCharBackend  backend;
  char          *driver;
  char          *bus;
  char          *device_id;
  char          *path;
  char          *name;
  gboolean       disable_modern;
  gboolean       server;
  gboolean       wait;
};

G_DEFINE_FINAL_TYPE (QlCharDevice, ql_char_device, QL_TYPE_DEVICE)

enum
{
  PROP_0,
  PROP_BACKEND,
  PROP_DRIVER,
  PROP_BUS,
  PROP_DEVICE_ID,
  PROP_PATH,
  PROP_NAME,
  PROP_DISABLE_MODERN,
  PROP_SERVER,
  PROP_WAIT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char * const ql_char_drivers[] = {
  "virtconsole",
  "virtserialport",
  NULL
};

/* The QEMU chardev backend name. */
static const char *
ql_char_backend_to_qemu (QlCharBackend backend)
{
  static const char * const names[] = {
    [QL_CHAR_BACKEND_PIPE] = "pipe",
    [QL_CHAR_BACKEND_SOCKET] = "socket",
    [QL_CHAR_BACKEND_SERIAL] = "serial",
    [QL_CHAR_BACKEND_TTY] = "serial",
    [QL_CHAR_BACKEND_PTY] = "pty",
    [QL_CHAR_BACKEND_CONSOLE] = "console",
  };

  g_return_val_if_fail ((guint) backend < G_N_ELEMENTS (names), "?");
  return names[backend];
}

static const char *
ql_char_backend_to_nick (QlCharBackend backend)
{
  GEnumClass *klass = g_type_class_peek (QL_TYPE_CHAR_BACKEND);
  GEnumValue *value = klass != NULL ? g_enum_get_value (klass, backend) : NULL;

  return value != NULL ? value->value_nick : "?";
}

const char *
ql_char_device_get_device_id (QlCharDevice *self)
{
  g_return_val_if_fail (QL_IS_CHAR_DEVICE (self), NULL);

  if (self->device_id != NULL)
    return self->device_id;
  return ql_device_get_id (QL_DEVICE (self));
}

/* The id of the -device @device adds: device-id for char devices, the id
 * for every other type. */
static const char *
qemu_device_id_of (QlDevice *device)
{
  if (QL_IS_CHAR_DEVICE (device))
    return ql_char_device_get_device_id (QL_CHAR_DEVICE (device));
  return ql_device_get_id (device);
}

/* What is at @path, asked through the host probe: G_FILE_TYPE_UNKNOWN
 * when nothing is (or the probe cannot tell), with the reason in @error. */
static GFileType
probe_file_type (QlHostProbe  *probe,
                 const char   *path,
                 GError      **error)
{
  GFileType type = G_FILE_TYPE_UNKNOWN;

  if (!ql_host_probe_query_file (probe, path, &type, NULL, error))
    return G_FILE_TYPE_UNKNOWN;
  return type;
}

/* Path, server and wait against the backend. */
static gboolean
valid_backend (QlCharDevice  *self,
               GError       **error)
{
  QlDevice *device = QL_DEVICE (self);
  const char *nick = ql_char_backend_to_nick (self->backend);

  if (self->backend == QL_CHAR_BACKEND_PTY)
    {
      if (self->path != NULL)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "path",
                               "backend 'pty' takes no path: QEMU allocates a new /dev/pts/N and ignores path (QMP query-chardev tells which); unset path, or use backend 'serial' to open an existing terminal");
          return FALSE;
        }
    }
  else if (self->path == NULL || *self->path == '\0')
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "path",
                           "backend '%s' needs a path: set path to the %s",
                           nick,
                           self->backend == QL_CHAR_BACKEND_SOCKET ? "unix socket" :
                           self->backend == QL_CHAR_BACKEND_PIPE ? "pipe (PATH.in and PATH.out, or PATH)" :
                           "host serial device, such as /dev/ttyS0");
      return FALSE;
    }

  if (self->backend == QL_CHAR_BACKEND_SOCKET)
    {
      gsize len = strlen (self->path);

      if (len >= QL_CHAR_UNIX_PATH_MAX)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                               "path",
                               "'%s' is %" G_GSIZE_FORMAT " bytes long: a unix socket path has at most 107 bytes; use a shorter directory",
                               self->path, len);
          return FALSE;
        }
      if (self->wait && !self->server)
        {
          /* QEMU: "'wait' option is incompatible with socket in client
           * connect mode". */
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "wait",
                               "only a server socket can wait for a client: set server=true or wait=false");
          return FALSE;
        }
    }
  else if (!self->server || self->wait)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT,
                           !self->server ? "server" : "wait",
                           "only applies to backend 'socket', not to '%s': leave it at its default",
                           nick);
      return FALSE;
    }

  return TRUE;
}

/* A device-id also used as the -device id of another device of @vm. */
static gboolean
valid_device_id (QlCharDevice  *self,
                 QlVmConfig    *vm,
                 GError       **error)
{
  QlDevice *device = QL_DEVICE (self);
  GPtrArray *devices;

  if (self->device_id == NULL)
    return TRUE;
  if (!ql_is_valid_id (self->device_id))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "device-id",
                           "'%s' is not a valid id: expected a letter, then letters, digits, '-', '.', '_'",
                           self->device_id);
      return FALSE;
    }

  devices = vm != NULL ? ql_vm_config_get_devices (vm) : NULL;
  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other != device &&
          g_strcmp0 (qemu_device_id_of (other), self->device_id) == 0)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_DUPLICATE,
                               "device-id",
                               "'%s' is the QEMU device id of device '%s' already: each -device needs its own id",
                               self->device_id, ql_device_get_id (other));
          return FALSE;
        }
    }

  return TRUE;
}

/* Another char device before @self with the same port name. */
static QlDevice *
find_same_name (QlCharDevice *self,
                QlVmConfig   *vm)
{
  GPtrArray *devices = vm != NULL ? ql_vm_config_get_devices (vm) : NULL;

  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other == QL_DEVICE (self))
        return NULL;
      if (QL_IS_CHAR_DEVICE (other) &&
          g_strcmp0 (QL_CHAR_DEVICE (other)->name, self->name) == 0)
        return other;
    }

  return NULL;
}

static gboolean
is_serial_controller (QlDevice *device)
{
  return g_strcmp0 (ql_device_get_type_name (device), "serial") == 0;
}

/* The virtio-serial bus: a `serial` device must be created before the
 * port (QEMU creates devices in command-line order), and an explicit bus
 * must be the one bus of such a controller, CONTROLLER-ID.0. */
static gboolean
valid_bus (QlCharDevice  *self,
           QlVmConfig    *vm,
           GError       **error)
{
  QlDevice *device = QL_DEVICE (self);
  GPtrArray *devices = ql_vm_config_get_devices (vm);
  QlDevice *controller_after = NULL;
  gboolean before = TRUE;
  const char *dot;
  g_autofree char *owner_id = NULL;
  QlDevice *owner;
  guint i;

  if (self->bus == NULL)
    {
      for (i = 0; i < devices->len; i++)
        {
          QlDevice *other = g_ptr_array_index (devices, i);

          if (other == device)
            before = FALSE;
          else if (is_serial_controller (other))
            {
              if (before)
                return TRUE;
              controller_after = other;
              break;
            }
        }

      if (controller_after != NULL)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "bus",
                               "the virtio-serial controller '%s' comes after this %s, and QEMU creates devices in order: move the [device] of type 'serial' ahead of this one",
                               ql_device_get_id (controller_after),
                               self->driver);
          return FALSE;
        }
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "bus",
                           "a %s needs a virtio-serial controller created before it: add a [device] of type 'serial' ahead of this one",
                           self->driver);
      return FALSE;
    }

  dot = strrchr (self->bus, '.');
  if (dot != NULL)
    owner_id = g_strndup (self->bus, dot - self->bus);
  owner = owner_id != NULL ? ql_vm_config_lookup_device (vm, owner_id) : NULL;
  if (owner != NULL && !is_serial_controller (owner))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "bus",
                           "'%s' is a bus of device '%s' of type '%s', not of a virtio-serial controller: expected ID.0, where ID is the id of a [device] of type 'serial', such as 'serial0.0'",
                           self->bus, owner_id, ql_device_get_type_name (owner));
      return FALSE;
    }
  if (owner == NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "bus",
                           "'%s' is not the bus of a virtio-serial controller of this VM: expected ID.0, where ID is the id of a [device] of type 'serial', such as 'serial0.0'",
                           self->bus);
      return FALSE;
    }
  if (!g_str_equal (dot + 1, "0"))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "bus",
                           "'%s' does not exist: a virtio-serial controller has one bus, '%s.0'",
                           self->bus, owner_id);
      return FALSE;
    }

  for (i = 0; i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other == owner)
        break;
      if (other == device)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "bus",
                               "'%s' belongs to the controller '%s', which comes after this %s, and QEMU creates devices in order: move the controller ahead of this one",
                               self->bus, owner_id, self->driver);
          return FALSE;
        }
    }

  return TRUE;
}

static gboolean
valid_host (QlCharDevice  *self,
            QlHostProbe   *probe,
            GError       **error)
{
  QlDevice *device = QL_DEVICE (self);
  g_autoptr(GError) local_error = NULL;

  switch (self->backend)
    {
    case QL_CHAR_BACKEND_SOCKET:
      if (self->server)
        {
          g_autofree char *dir = g_path_get_dirname (self->path);

          GFileType at_path;

          /* QEMU binds the socket there: "Failed to bind socket". */
          if (probe_file_type (probe, dir, &local_error) != G_FILE_TYPE_DIRECTORY)
            {
              ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "path",
                                   "cannot create the socket '%s': its directory '%s' is not usable: %s",
                                   self->path, dir,
                                   local_error != NULL ? local_error->message : g_strerror (ENOTDIR));
              return FALSE;
            }
          /* QEMU unlinks what is at the path first: "Failed to unlink
           * socket ...: Is a directory" for a directory, and a regular
           * file there would be deleted without a word. */
          at_path = probe_file_type (probe, self->path, NULL);
          if (at_path == G_FILE_TYPE_DIRECTORY)
            {
              ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "path",
                                   "'%s' is a directory: QEMU cannot create its socket there; choose a path inside it",
                                   self->path);
              return FALSE;
            }
          if (at_path == G_FILE_TYPE_REGULAR)
            {
              ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "path",
                                   "'%s' is a regular file, which QEMU would delete to create its socket; "
                                   "move it away or choose another path",
                                   self->path);
              return FALSE;
            }
        }
      else if (!ql_host_probe_file_readable (probe, self->path, &local_error))
        {
          /* QEMU connects at start-up: "Failed to connect to '...'". */
          ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "path",
                               "no socket to connect to at '%s': %s (with server=false the peer must listen before QEMU starts)",
                               self->path, local_error->message);
          return FALSE;
        }
      break;

    case QL_CHAR_BACKEND_PIPE:
      {
        g_autofree char *path_in = g_strconcat (self->path, ".in", NULL);
        g_autofree char *path_out = g_strconcat (self->path, ".out", NULL);

        /* QEMU opens PATH.in and PATH.out, else PATH, read-write. */
        if (ql_host_probe_file_readable (probe, path_in, NULL) &&
            ql_host_probe_file_readable (probe, path_out, NULL))
          break;
        if (!ql_host_probe_file_readable (probe, self->path, &local_error))
          {
            ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "path",
                                 "no pipe at '%s': neither '%s' and '%s' nor '%s' itself can be opened: %s (create them with mkfifo)",
                                 self->path, path_in, path_out, self->path,
                                 local_error->message);
            return FALSE;
          }
      }
      break;

    case QL_CHAR_BACKEND_SERIAL:
    case QL_CHAR_BACKEND_TTY:
      if (!ql_host_probe_device_usable (probe, self->path, &local_error))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "path",
                               "cannot open the serial device '%s' read-write: %s",
                               self->path, local_error->message);
          return FALSE;
        }
      break;

    case QL_CHAR_BACKEND_PTY:
    case QL_CHAR_BACKEND_CONSOLE:
    default:
      break;
    }

  return TRUE;
}

static gboolean
ql_char_device_valid (QlDevice    *device,
                      QlVmConfig  *vm,
                      GError     **error)
{
  QlCharDevice *self = QL_CHAR_DEVICE (device);
  QlHostProbe *probe = vm != NULL ? ql_vm_config_get_host_probe (vm) : NULL;
  QlDevice *same_name;

  if (self->backend == QL_CHAR_BACKEND_CONSOLE)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_UNSUPPORTED,
                           "backend",
                           "'console' is a Windows-only QEMU backend (QEMU 7.2 on Linux: 'console' is not a valid char driver name): use socket, pty, pipe or serial");
      return FALSE;
    }

  if (self->driver == NULL || *self->driver == '\0')
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "driver",
                           "no driver given: set driver to virtconsole (a console, /dev/hvcN in the guest) or virtserialport (a named port, /dev/vportNpM)");
      return FALSE;
    }
  if (!g_strv_contains (ql_char_drivers, self->driver))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE,
                           "driver",
                           "'%s' is not a supported driver: expected virtconsole or virtserialport",
                           self->driver);
      return FALSE;
    }

  if (self->disable_modern)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT,
                           "disable-modern",
                           "%s has no disable-modern (QEMU 7.2: Property '%s.disable-modern' not found): it belongs to the virtio-serial PCI controller; set disable-modern=true on the [device] of type 'serial'",
                           self->driver, self->driver);
      return FALSE;
    }

  if (!ql_device_check_not_empty (QL_DEVICE (self), self->bus, "bus", error) ||
      !ql_device_check_not_empty (QL_DEVICE (self), self->device_id, "device-id", error) ||
      !ql_device_check_not_empty (QL_DEVICE (self), self->name, "name", error))
    return FALSE;

  if (!valid_device_id (self, vm, error) ||
      !valid_backend (self, error))
    return FALSE;

  if (self->name != NULL)
    {
      same_name = find_same_name (self, vm);
      if (same_name != NULL)
        {
          /* QEMU: "virtio-serial-bus: A port already exists by name". */
          ql_device_set_error (device, error, QL_CONFIG_ERROR_DUPLICATE, "name",
                               "'%s' is the port name of device '%s' already: QEMU wants each port name once in the VM",
                               self->name, ql_device_get_id (same_name));
          return FALSE;
        }
    }

  if (vm != NULL && !valid_bus (self, vm, error))
    return FALSE;

  if (probe != NULL && !valid_host (self, probe, error))
    return FALSE;

  return TRUE;
}

static gboolean
ql_char_device_qemu_params (QlDevice    *device,
                            QlVmConfig  *vm,
                            QlCmdline   *cmdline,
                            GError     **error)
{
  QlCharDevice *self = QL_CHAR_DEVICE (device);
  const char *id = ql_device_get_id (device);
  QlOption *chardev;

  ql_cmdline_add_option (cmdline, "-device", self->driver,
                         "id", ql_char_device_get_device_id (self),
                         "chardev", id,
                         "bus", self->bus,
                         "name", self->name,
                         NULL);

  chardev = ql_cmdline_add_option (cmdline, "-chardev",
                                   ql_char_backend_to_qemu (self->backend),
                                   "id", id,
                                   NULL);
  if (self->backend != QL_CHAR_BACKEND_PTY)
    ql_option_set (chardev, "path", self->path);
  if (self->backend == QL_CHAR_BACKEND_SOCKET && self->server)
    {
      /* Not govmm's deprecated "server,nowait" short forms. */
      ql_option_set_bool (chardev, "server", TRUE);
      if (!self->wait)
        ql_option_set_bool (chardev, "wait", FALSE);
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
ql_char_device_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  QlCharDevice *self = QL_CHAR_DEVICE (object);

  switch (prop_id)
    {
    case PROP_BACKEND:
      self->backend = g_value_get_enum (value);
      break;
    case PROP_DRIVER:
      set_string (&self->driver, value);
      break;
    case PROP_BUS:
      set_string (&self->bus, value);
      break;
    case PROP_DEVICE_ID:
      set_string (&self->device_id, value);
      break;
    case PROP_PATH:
      set_string (&self->path, value);
      break;
    case PROP_NAME:
      set_string (&self->name, value);
      break;
    case PROP_DISABLE_MODERN:
      self->disable_modern = g_value_get_boolean (value);
      break;
    case PROP_SERVER:
      self->server = g_value_get_boolean (value);
      break;
    case PROP_WAIT:
      self->wait = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_char_device_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  QlCharDevice *self = QL_CHAR_DEVICE (object);

  switch (prop_id)
    {
    case PROP_BACKEND:
      g_value_set_enum (value, self->backend);
      break;
    case PROP_DRIVER:
      g_value_set_string (value, self->driver);
      break;
    case PROP_BUS:
      g_value_set_string (value, self->bus);
      break;
    case PROP_DEVICE_ID:
      g_value_set_string (value, self->device_id);
      break;
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_DISABLE_MODERN:
      g_value_set_boolean (value, self->disable_modern);
      break;
    case PROP_SERVER:
      g_value_set_boolean (value, self->server);
      break;
    case PROP_WAIT:
      g_value_set_boolean (value, self->wait);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_char_device_finalize (GObject *object)
{
  QlCharDevice *self = QL_CHAR_DEVICE (object);

  g_free (self->driver);
  g_free (self->bus);
  g_free (self->device_id);
  g_free (self->path);
  g_free (self->name);

  G_OBJECT_CLASS (ql_char_device_parent_class)->finalize (object);
}

static void
ql_char_device_class_init (QlCharDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = ql_char_device_set_property;
  object_class->get_property = ql_char_device_get_property;
  object_class->finalize = ql_char_device_finalize;

  device_class->valid = ql_char_device_valid;
  device_class->qemu_params = ql_char_device_qemu_params;

  properties[PROP_BACKEND] =
    g_param_spec_enum ("backend", "Backend",
                       "Host side of the chardev: socket (unix socket at path), pty (a new /dev/pts/N, no path), pipe (FIFOs path.in/path.out, or path), serial (a host serial device at path), tty (the same as serial); console is Windows-only in QEMU",
                       QL_TYPE_CHAR_BACKEND, QL_CHAR_BACKEND_SOCKET, flags);
  properties[PROP_DRIVER] =
    g_param_spec_string ("driver", "Driver",
                         "Guest side (required): virtconsole (a console, /dev/hvcN) or virtserialport (a named port, /dev/vportNpM); both need a 'serial' controller",
                         NULL, flags);
  properties[PROP_BUS] =
    g_param_spec_string ("bus", "Bus",
                         "virtio-serial bus of the port: ID.0 where ID is a 'serial' device placed before this one; unset lets QEMU pick one",
                         NULL, flags);
  properties[PROP_DEVICE_ID] =
    g_param_spec_string ("device-id", "Device id",
                         "Id of the guest-side -device (id is the chardev's); defaults to id",
                         NULL, flags);
  properties[PROP_PATH] =
    ql_param_spec_path ("path", "Path",
                        "Host path: the unix socket, the pipe's base name, or the serial device; not for pty; a relative path in a VM file is relative to the VM file",
                        flags);
  properties[PROP_NAME] =
    g_param_spec_string ("name", "Port name",
                         "Name the guest sees the port by (/dev/virtio-ports/NAME), unique in the VM",
                         NULL, flags);
  properties[PROP_DISABLE_MODERN] =
    g_param_spec_boolean ("disable-modern", "Disable modern",
                          "Not a property of virtconsole/virtserialport in QEMU: true is an error; set it on the 'serial' controller",
                          FALSE, flags);
  properties[PROP_SERVER] =
    g_param_spec_boolean ("server", "Server",
                          "Backend socket: QEMU listens on path (server=on); false makes QEMU connect to a peer listening there",
                          TRUE, flags);
  properties[PROP_WAIT] =
    g_param_spec_boolean ("wait", "Wait",
                          "Backend socket, server only: QEMU waits for a client before it starts the guest (wait=on); false starts at once (wait=off)",
                          FALSE, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_char_device_init (QlCharDevice *self)
{
  self->backend = QL_CHAR_BACKEND_SOCKET;
  self->server = TRUE;
  self->wait = FALSE;
}
