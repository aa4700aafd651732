/* qlaunch — QlHelper: a host process a device needs beside QEMU
 * (virtiofsd, passt, ...), declared by its plugin and run by the launcher. */
#pragma once

#if !defined(QLAUNCH_INSIDE) && !defined(QLAUNCH_COMPILATION)
#error "Only <qlaunch/qlaunch.h> can be included directly."
#endif

#include <glib-object.h>
#include <qlaunch/ql-macros.h>
#include <qlaunch/ql-cmdline.h>
#include <qlaunch/ql-types.h>

G_BEGIN_DECLS

/**
 * QL_HELPER_READY_TIMEOUT_DEFAULT:
 *
 * How long, in milliseconds, a helper has by default to listen on its
 * socket after it was started.
 */
#define QL_HELPER_READY_TIMEOUT_DEFAULT 10000

/**
 * QL_HELPER_SOCKET_PATH_MAX:
 *
 * The longest socket path a helper may be given, in bytes: what fits in
 * `sun_path` of a unix socket address with its terminating NUL.
 */
#define QL_HELPER_SOCKET_PATH_MAX 107

typedef struct _QlHelper QlHelper;

#define QL_TYPE_HELPER (ql_helper_get_type ())
QL_API GType       ql_helper_get_type              (void) G_GNUC_CONST;

QL_API QlHelper   *ql_cmdline_add_helper           (QlCmdline   *self,
                                                    const char  *name,
                                                    const char  *binary);
QL_API guint       ql_cmdline_get_n_helpers        (QlCmdline   *self);
QL_API QlHelper   *ql_cmdline_get_helper           (QlCmdline   *self,
                                                    guint        index);
QL_API void        ql_cmdline_set_runtime_dir      (QlCmdline   *self,
                                                    const char  *dir);
QL_API const char *ql_cmdline_get_runtime_dir      (QlCmdline   *self);
QL_API char       *ql_cmdline_build_runtime_path   (QlCmdline   *self,
                                                    const char  *name);
QL_API gboolean    ql_cmdline_get_shared_memory    (QlCmdline   *self);
QL_API void        ql_cmdline_require_shared_memory (QlCmdline  *self,
                                                    const char  *reason);
QL_API const char *ql_cmdline_get_shared_memory_reason (QlCmdline *self);

QL_API void        ql_helper_add_arg               (QlHelper    *helper,
                                                    const char  *arg);
QL_API void        ql_helper_add_args              (QlHelper    *helper,
                                                    const char  *first_arg,
                                                    ...) G_GNUC_NULL_TERMINATED;
QL_API void        ql_helper_add_arg_printf        (QlHelper    *helper,
                                                    const char  *format,
                                                    ...) G_GNUC_PRINTF (2, 3);
QL_API void        ql_helper_set_env               (QlHelper    *helper,
                                                    const char  *name,
                                                    const char  *value);
QL_API void        ql_helper_set_socket            (QlHelper    *helper,
                                                    const char  *path);
QL_API int         ql_helper_add_fd                (QlHelper    *helper,
                                                    int          host_fd);
QL_API int         ql_helper_add_listen_socket     (QlHelper    *helper,
                                                    const char  *path);
QL_API void        ql_helper_set_ready_timeout     (QlHelper    *helper,
                                                    guint        milliseconds);
QL_API void        ql_helper_add_read_only_path    (QlHelper    *helper,
                                                    const char  *path);
QL_API void        ql_helper_add_state_dir         (QlHelper    *helper,
                                                    const char  *path);

QL_API const char *ql_helper_get_name              (QlHelper    *helper);
QL_API const char *ql_helper_get_binary            (QlHelper    *helper);
QL_API char      **ql_helper_get_argv              (QlHelper    *helper);
QL_API char      **ql_helper_get_environ           (QlHelper    *helper);
QL_API const char *ql_helper_get_socket            (QlHelper    *helper);
QL_API GArray     *ql_helper_get_fds               (QlHelper    *helper);
QL_API guint       ql_helper_get_ready_timeout     (QlHelper    *helper);
QL_API const char *ql_helper_get_device_id         (QlHelper    *helper);
QL_API char      **ql_helper_get_read_only_paths   (QlHelper    *helper);
QL_API char      **ql_helper_get_state_dirs        (QlHelper    *helper);
QL_API const char *ql_helper_get_listen_socket     (QlHelper    *helper,
                                                    int          fd);

QL_API char       *ql_helper_find_vhost_user_binary (const char  *backend_type,
                                                     GError     **error);

QL_API char       *ql_helper_socket_name            (const char  *device_id,
                                                     const char  *kind);
QL_API gboolean    ql_helper_check_socket_name      (QlDevice    *device,
                                                     QlVmConfig  *vm,
                                                     const char  *helper,
                                                     const char  *name,
                                                     GError     **error);

G_END_DECLS
