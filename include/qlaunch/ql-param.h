/* qlaunch — typed properties read from text: sizes, paths, fd lists. */
#pragma once

#if !defined(QLAUNCH_INSIDE) && !defined(QLAUNCH_COMPILATION)
#error "Only <qlaunch/qlaunch.h> can be included directly."
#endif

#include <glib-object.h>
#include <qlaunch/ql-macros.h>

G_BEGIN_DECLS

/**
 * QlFdList:
 *
 * A reference-counted list of file descriptors open in the launching
 * process, the value type of `fds`-like device properties. Written in VM
 * files and device specs as numbers separated by `;` (or `:`).
 * The list does not own the descriptors.
 */
typedef struct _QlFdList QlFdList;

#define QL_TYPE_FD_LIST (ql_fd_list_get_type ())
QL_API GType      ql_fd_list_get_type   (void) G_GNUC_CONST;
QL_API QlFdList  *ql_fd_list_new        (void);
QL_API QlFdList  *ql_fd_list_ref        (QlFdList   *list);
QL_API void       ql_fd_list_unref      (QlFdList   *list);
QL_API void       ql_fd_list_append     (QlFdList   *list,
                                         int         fd);
QL_API guint      ql_fd_list_get_length (QlFdList   *list);
QL_API int        ql_fd_list_get        (QlFdList   *list,
                                         guint       index);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlFdList, ql_fd_list_unref)

QL_API GParamSpec *ql_param_spec_size     (const char  *name,
                                           const char  *nick,
                                           const char  *blurb,
                                           guint64      minimum,
                                           guint64      maximum,
                                           guint64      default_value,
                                           GParamFlags  flags);
QL_API GParamSpec *ql_param_spec_path     (const char  *name,
                                           const char  *nick,
                                           const char  *blurb,
                                           GParamFlags  flags);
QL_API GParamSpec *ql_param_spec_script   (const char  *name,
                                           const char  *nick,
                                           const char  *blurb,
                                           GParamFlags  flags);
QL_API GParamSpec *ql_param_spec_firmware (const char  *name,
                                           const char  *nick,
                                           const char  *blurb,
                                           GParamFlags  flags);
QL_API gboolean    ql_param_spec_is_size  (GParamSpec  *pspec);
QL_API gboolean    ql_param_spec_is_path  (GParamSpec  *pspec);

QL_API gboolean    ql_parse_size          (const char  *text,
                                           guint64      default_unit,
                                           guint64     *out_bytes,
                                           GError     **error);
QL_API char       *ql_format_size         (guint64      bytes);

QL_API gboolean    ql_param_value_from_string (GParamSpec  *pspec,
                                               const char  *text,
                                               GValue      *value,
                                               GError     **error);
QL_API char       *ql_param_value_to_string   (GParamSpec   *pspec,
                                               const GValue *value);
QL_API char       *ql_param_describe_type     (GParamSpec  *pspec);

QL_API gboolean    ql_object_set_property_from_string (GObject     *object,
                                                       const char  *property,
                                                       const char  *text,
                                                       GError     **error);

G_END_DECLS
