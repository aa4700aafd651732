/* qlaunch — QlHostProbe: the real host's answers to validation's questions. */
#include "ql-private.h"

#include <gio/gio.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

/**
 * QlHostProbe:
 *
 * The facts about the host that validating a VM configuration needs:
 * whether device nodes can be opened, whether a path is on hugetlbfs,
 * whether files exist and descriptors are open, whether KVM is usable,
 * whether a port forwarded into a guest is free, what a kernel module's
 * parameter is set to.
 *
 * Validation asks only through the probe of the configuration
 * (ql_vm_config_get_host_probe()), which is %NULL when host checks are off
 * (to build the argv for another host). The default implementation asks
 * the real system; tests subclass it to fake a host.
 */
G_DEFINE_TYPE (QlHostProbe, ql_host_probe, G_TYPE_OBJECT)

static gboolean
set_errno_error (GError **error,
                 int      saved_errno)
{
  g_set_error_literal (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       g_strerror (saved_errno));
  return FALSE;
}

static gboolean
real_device_usable (QlHostProbe *self,
                    const char  *path,
                    GError     **error)
{
  int fd = open (path, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

  if (fd < 0)
    return set_errno_error (error, errno);
  close (fd);
  return TRUE;
}

static gboolean
real_is_hugetlbfs (QlHostProbe *self,
                   const char  *path,
                   GError     **error)
{
  struct statfs fs;

  if (statfs (path, &fs) < 0)
    return set_errno_error (error, errno);
  if ((unsigned long) fs.f_type != (unsigned long) HUGETLBFS_MAGIC)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "not a hugetlbfs mount");
      return FALSE;
    }
  return TRUE;
}

static gboolean
real_file_readable (QlHostProbe *self,
                    const char  *path,
                    GError     **error)
{
  struct stat st;

  if (stat (path, &st) < 0)
    return set_errno_error (error, errno);
  if (S_ISDIR (st.st_mode))
    return set_errno_error (error, EISDIR);
  if (access (path, R_OK) < 0)
    return set_errno_error (error, errno);
  return TRUE;
}

static gboolean
real_fd_is_open (QlHostProbe *self,
                 int          fd,
                 GError     **error)
{
  if (fcntl (fd, F_GETFD) < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "descriptor %d is not open: %s", fd, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

static gboolean
real_kvm_usable (QlHostProbe *self,
                 GError     **error)
{
  return ql_host_probe_device_usable (self, "/dev/kvm", error);
}

static gboolean
real_query_file (QlHostProbe *self,
                 const char  *path,
                 GFileType   *out_type,
                 guint64     *out_size,
                 GError     **error)
{
  struct stat st;
  GFileType type;

  if (stat (path, &st) < 0)
    return set_errno_error (error, errno);
  if (S_ISREG (st.st_mode))
    type = G_FILE_TYPE_REGULAR;
  else if (S_ISDIR (st.st_mode))
    type = G_FILE_TYPE_DIRECTORY;
  else
    type = G_FILE_TYPE_SPECIAL;
  if (out_type != NULL)
    *out_type = type;
  if (out_size != NULL)
    *out_size = (guint64) st.st_size;
  return TRUE;
}

/* Binds the port as libslirp (QEMU 7.2's user-mode stack) does for a
 * forward: TCP with SO_REUSEADDR, then listen() (a port in TIME_WAIT is
 * free, one with a listener is not); UDP with a plain bind() (libslirp
 * sets SO_REUSEADDR only after binding). The socket is closed at once. */
static gboolean
real_port_available (QlHostProbe *self,
                     gboolean     udp,
                     const char  *address,
                     guint        port,
                     GError     **error)
{
  struct sockaddr_in sa;
  int one = 1;
  int fd;

  if (port == 0 || port > 65535)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "%u is not a port number (1 to 65535)", port);
      return FALSE;
    }
  memset (&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons ((guint16) port);
  if (address == NULL || *address == '\0')
    sa.sin_addr.s_addr = htonl (INADDR_ANY);
  else if (inet_pton (AF_INET, address, &sa.sin_addr) != 1)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "'%s' is not an IPv4 address", address);
      return FALSE;
    }

  fd = socket (AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return set_errno_error (error, errno);
  if ((!udp && setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
      || bind (fd, (struct sockaddr *) &sa, sizeof sa) < 0
      || (!udp && listen (fd, 1) < 0))
    {
      int saved_errno = errno;

      close (fd);
      return set_errno_error (error, saved_errno);
    }
  close (fd);
  return TRUE;
}

/* A module name or parameter is one path component of /sys/module. */
static gboolean
is_sysfs_name (const char *name)
{
  return name != NULL && *name != '\0' && strchr (name, '/') == NULL
         && strcmp (name, ".") != 0 && strcmp (name, "..") != 0;
}

static char *
real_module_parameter (QlHostProbe *self,
                       const char  *module,
                       const char  *parameter,
                       GError     **error)
{
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GError) local_error = NULL;

  if (!is_sysfs_name (module) || !is_sysfs_name (parameter))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "'%s' or '%s' is not a kernel module or parameter name",
                   module != NULL ? module : "", parameter != NULL ? parameter : "");
      return NULL;
    }
  path = g_strdup_printf ("/sys/module/%s/parameters/%s", module, parameter);
  if (!g_file_get_contents (path, &contents, NULL, &local_error))
    {
      /* GLib's message names the path and the system's reason. */
      g_set_error_literal (error, G_IO_ERROR,
                           g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                           ? G_IO_ERROR_NOT_FOUND : G_IO_ERROR_FAILED,
                           local_error->message);
      return NULL;
    }
  return g_strchomp (g_steal_pointer (&contents));
}

static void
ql_host_probe_class_init (QlHostProbeClass *klass)
{
  klass->device_usable = real_device_usable;
  klass->is_hugetlbfs = real_is_hugetlbfs;
  klass->file_readable = real_file_readable;
  klass->fd_is_open = real_fd_is_open;
  klass->kvm_usable = real_kvm_usable;
  klass->query_file = real_query_file;
  klass->port_available = real_port_available;
  klass->module_parameter = real_module_parameter;
}

static void
ql_host_probe_init (QlHostProbe *self)
{
}

/**
 * ql_host_probe_new:
 *
 * Creates a probe that asks the real host.
 *
 * Returns: (transfer full): a new #QlHostProbe
 */
QlHostProbe *
ql_host_probe_new (void)
{
  return g_object_new (QL_TYPE_HOST_PROBE, NULL);
}

/**
 * ql_host_probe_device_usable:
 * @self: a #QlHostProbe
 * @path: a device node such as `/dev/vhost-net`
 * @error: return location for the reason it is not usable
 *
 * Checks that a device node can be opened read-write, through the
 * #QlHostProbeClass.device_usable vfunc.
 *
 * Returns: whether @path can be opened read-write
 */
gboolean
ql_host_probe_device_usable (QlHostProbe *self,
                             const char  *path,
                             GError     **error)
{
  g_return_val_if_fail (QL_IS_HOST_PROBE (self), FALSE);
  return QL_HOST_PROBE_GET_CLASS (self)->device_usable (self, path, error);
}

/**
 * ql_host_probe_is_hugetlbfs:
 * @self: a #QlHostProbe
 * @path: a directory or file
 * @error: return location for the reason it is not
 *
 * Checks that a path is on a mounted hugetlbfs, through the
 * #QlHostProbeClass.is_hugetlbfs vfunc.
 *
 * Returns: whether @path lies on a mounted hugetlbfs
 */
gboolean
ql_host_probe_is_hugetlbfs (QlHostProbe *self,
                            const char  *path,
                            GError     **error)
{
  g_return_val_if_fail (QL_IS_HOST_PROBE (self), FALSE);
  return QL_HOST_PROBE_GET_CLASS (self)->is_hugetlbfs (self, path, error);
}

/**
 * ql_host_probe_file_readable:
 * @self: a #QlHostProbe
 * @path: a file
 * @error: return location for the reason it is not
 *
 * Checks that a path is an existing, readable file, through the
 * #QlHostProbeClass.file_readable vfunc.
 *
 * Returns: whether @path exists, is not a directory, and is readable
 */
gboolean
ql_host_probe_file_readable (QlHostProbe *self,
                             const char  *path,
                             GError     **error)
{
  g_return_val_if_fail (QL_IS_HOST_PROBE (self), FALSE);
  return QL_HOST_PROBE_GET_CLASS (self)->file_readable (self, path, error);
}

/**
 * ql_host_probe_fd_is_open:
 * @self: a #QlHostProbe
 * @fd: a descriptor number
 * @error: return location for the reason it is not
 *
 * Checks that a file descriptor is open in this process, through the
 * #QlHostProbeClass.fd_is_open vfunc.
 *
 * Returns: whether @fd is open in this process
 */
gboolean
ql_host_probe_fd_is_open (QlHostProbe *self,
                          int          fd,
                          GError     **error)
{
  g_return_val_if_fail (QL_IS_HOST_PROBE (self), FALSE);
  return QL_HOST_PROBE_GET_CLASS (self)->fd_is_open (self, fd, error);
}

/**
 * ql_host_probe_kvm_usable:
 * @self: a #QlHostProbe
 * @error: return location for the reason it is not
 *
 * Checks that KVM can be used, through the #QlHostProbeClass.kvm_usable
 * vfunc.
 *
 * Returns: whether `/dev/kvm` can be opened read-write
 */
gboolean
ql_host_probe_kvm_usable (QlHostProbe *self,
                          GError     **error)
{
  g_return_val_if_fail (QL_IS_HOST_PROBE (self), FALSE);
  return QL_HOST_PROBE_GET_CLASS (self)->kvm_usable (self, error);
}

/**
 * ql_host_probe_query_file:
 * @self: a #QlHostProbe
 * @path: a path
 * @out_type: (out) (optional): %G_FILE_TYPE_REGULAR, %G_FILE_TYPE_DIRECTORY
 *   or %G_FILE_TYPE_SPECIAL (devices, sockets, fifos)
 * @out_size: (out) (optional): the size in bytes
 * @error: return location for the reason it cannot be queried
 *   (%G_IO_ERROR_NOT_FOUND when nothing is there)
 *
 * Tells what is at @path, following symbolic links. A probe class that
 * does not implement it answers %G_IO_ERROR_NOT_SUPPORTED, and callers then
 * skip the check.
 *
 * Returns: %TRUE if @path exists
 */
gboolean
ql_host_probe_query_file (QlHostProbe *self,
                          const char  *path,
                          GFileType   *out_type,
                          guint64     *out_size,
                          GError     **error)
{
  QlHostProbeClass *klass;

  g_return_val_if_fail (QL_IS_HOST_PROBE (self), FALSE);
  klass = QL_HOST_PROBE_GET_CLASS (self);
  if (klass->query_file == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "this host probe cannot query files");
      return FALSE;
    }
  return klass->query_file (self, path, out_type, out_size, error);
}

/**
 * ql_host_probe_port_available:
 * @self: a #QlHostProbe
 * @udp: %TRUE for a UDP port, %FALSE for TCP
 * @address: (nullable): an IPv4 address in dotted-quad form, such as
 *   `127.0.0.1`; %NULL or empty for every address
 * @port: the port, 1 to 65535
 * @error: return location for the reason it cannot be bound
 *   (%G_IO_ERROR_ADDRESS_IN_USE when something holds it)
 *
 * Checks that a host port can be bound the way QEMU's user-mode network
 * stack binds a forwarded port (`hostfwd=`), through the
 * #QlHostProbeClass.port_available vfunc. The default implementation binds
 * a socket and closes it at once: the answer holds for that moment only.
 * A probe class that does not implement it answers
 * %G_IO_ERROR_NOT_SUPPORTED, and callers then skip the check.
 *
 * Returns: %TRUE if the port can be bound
 *
 * Since: ABI 1.2
 */
gboolean
ql_host_probe_port_available (QlHostProbe *self,
                              gboolean     udp,
                              const char  *address,
                              guint        port,
                              GError     **error)
{
  QlHostProbeClass *klass;

  g_return_val_if_fail (QL_IS_HOST_PROBE (self), FALSE);
  klass = QL_HOST_PROBE_GET_CLASS (self);
  if (klass->port_available == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "this host probe cannot check ports");
      return FALSE;
    }
  return klass->port_available (self, udp, address, port, error);
}

/**
 * ql_host_probe_get_module_parameter:
 * @self: a #QlHostProbe
 * @module: a kernel module's name, such as `kvm_amd`
 * @parameter: one of its parameters, such as `sev`
 * @error: return location for the reason it cannot be read
 *   (%G_IO_ERROR_NOT_FOUND when the module is not loaded or has no such
 *   parameter)
 *
 * Reads a loaded kernel module's parameter, as
 * `/sys/module/@module/parameters/@parameter` shows it, through the
 * #QlHostProbeClass.module_parameter vfunc. A probe class that does not
 * implement it answers %G_IO_ERROR_NOT_SUPPORTED, and callers then skip the
 * check.
 *
 * Returns: (transfer full) (nullable): the value without its trailing
 *   newline (`Y`, `N`, `1`, ...), or %NULL with @error set
 *
 * Since: ABI 1.3
 */
char *
ql_host_probe_get_module_parameter (QlHostProbe *self,
                                    const char  *module,
                                    const char  *parameter,
                                    GError     **error)
{
  QlHostProbeClass *klass;

  g_return_val_if_fail (QL_IS_HOST_PROBE (self), NULL);
  klass = QL_HOST_PROBE_GET_CLASS (self);
  if (klass->module_parameter == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "this host probe cannot read kernel module parameters");
      return NULL;
    }
  return klass->module_parameter (self, module, parameter, error);
}
