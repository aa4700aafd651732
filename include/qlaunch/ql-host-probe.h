/* qlaunch — QlHostProbe: every fact about the host that validation needs. */
#pragma once

#if !defined(QLAUNCH_INSIDE) && !defined(QLAUNCH_COMPILATION)
#error "Only <qlaunch/qlaunch.h> can be included directly."
#endif

#include <gio/gio.h>
#include <qlaunch/ql-macros.h>

G_BEGIN_DECLS

#define QL_TYPE_HOST_PROBE (ql_host_probe_get_type ())
QL_API G_DECLARE_DERIVABLE_TYPE (QlHostProbe, ql_host_probe, QL, HOST_PROBE, GObject)

/**
 * QlHostProbeClass:
 * @parent_class: the parent class
 * @device_usable: whether the device node at a path can be opened read-write
 * @is_hugetlbfs: whether a path is on a mounted hugetlbfs
 * @file_readable: whether a path is an existing, readable file
 * @fd_is_open: whether a descriptor is open in this process
 * @kvm_usable: whether KVM can be used (`/dev/kvm` opens read-write)
 * @query_file: what is at a path: its type and size (stat(), following
 *   symbolic links); a missing path is %G_IO_ERROR_NOT_FOUND
 * @port_available: since ABI 1.2. Whether a TCP or UDP port can be bound
 *   on an IPv4 address (%NULL or empty: every address) the way QEMU's
 *   user-mode network stack binds a forwarded host port; a port something
 *   else holds is %G_IO_ERROR_ADDRESS_IN_USE. %NULL in a class means the
 *   probe cannot tell (ql_host_probe_port_available() then answers
 *   %G_IO_ERROR_NOT_SUPPORTED)
 * @module_parameter: since ABI 1.3. The value of a loaded kernel module's
 *   parameter, as `/sys/module/MODULE/parameters/PARAMETER` shows it
 *   (without the trailing newline), such as `Y` for kvm_amd's `sev`; a
 *   module that is not loaded, or a parameter it does not have, is
 *   %G_IO_ERROR_NOT_FOUND. %NULL in a class means the probe cannot tell
 *   (ql_host_probe_get_module_parameter() then answers
 *   %G_IO_ERROR_NOT_SUPPORTED)
 *
 * Each check returns %TRUE, or %FALSE with @error saying why (the system's
 * own message, such as "No such file or directory"). Tests subclass the
 * probe to fake a host; the default implementation asks the real system.
 */
struct _QlHostProbeClass
{
  GObjectClass parent_class;

  gboolean (*device_usable) (QlHostProbe *self,
                             const char  *path,
                             GError     **error);
  gboolean (*is_hugetlbfs)  (QlHostProbe *self,
                             const char  *path,
                             GError     **error);
  gboolean (*file_readable) (QlHostProbe *self,
                             const char  *path,
                             GError     **error);
  gboolean (*fd_is_open)    (QlHostProbe *self,
                             int          fd,
                             GError     **error);
  gboolean (*kvm_usable)    (QlHostProbe *self,
                             GError     **error);
  gboolean (*query_file)    (QlHostProbe *self,
                             const char  *path,
                             GFileType   *out_type,
                             guint64     *out_size,
                             GError     **error);
  gboolean (*port_available) (QlHostProbe *self,
                              gboolean     udp,
                              const char  *address,
                              guint        port,
                              GError     **error);
  char    *(*module_parameter) (QlHostProbe *self,
                                const char  *module,
                                const char  *parameter,
                                GError     **error);

  /*< private >*/
  gpointer padding[9];
};

QL_API QlHostProbe *ql_host_probe_new           (void);
QL_API gboolean     ql_host_probe_device_usable (QlHostProbe *self,
                                                 const char  *path,
                                                 GError     **error);
QL_API gboolean     ql_host_probe_is_hugetlbfs  (QlHostProbe *self,
                                                 const char  *path,
                                                 GError     **error);
QL_API gboolean     ql_host_probe_file_readable (QlHostProbe *self,
                                                 const char  *path,
                                                 GError     **error);
QL_API gboolean     ql_host_probe_fd_is_open    (QlHostProbe *self,
                                                 int          fd,
                                                 GError     **error);
QL_API gboolean     ql_host_probe_kvm_usable    (QlHostProbe *self,
                                                 GError     **error);
QL_API gboolean     ql_host_probe_query_file    (QlHostProbe *self,
                                                 const char  *path,
                                                 GFileType   *out_type,
                                                 guint64     *out_size,
                                                 GError     **error);
QL_API gboolean     ql_host_probe_port_available (QlHostProbe *self,
                                                  gboolean     udp,
                                                  const char  *address,
                                                  guint        port,
                                                  GError     **error);
QL_API char        *ql_host_probe_get_module_parameter (QlHostProbe *self,
                                                        const char  *module,
                                                        const char  *parameter,
                                                        GError     **error);

G_END_DECLS
