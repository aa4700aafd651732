/* qlaunch — private declarations shared inside libqlaunch. */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

/* Sets the name a device class was registered under (class qdata). */
void        ql_device_type_set_name        (GType        type,
                                            const char  *name);
const char *ql_device_type_get_name        (GType        type);

/* A list of errors gathered while loading or validating. */
typedef GPtrArray QlErrorList;   /* element-type GError, owned */
QlErrorList *ql_error_list_new             (void);
void         ql_error_list_add             (QlErrorList *list,
                                            GError      *error);  /* takes */
/* Moves the gathered errors into @error: one error as is, several as one
 * QL_CONFIG_ERROR_MULTIPLE error whose message lists each on its own line.
 * Returns TRUE when the list was empty. */
gboolean     ql_error_list_propagate       (QlErrorList *list,
                                            GError     **error);

/* Lets the registry tell a plugin it is being loaded / abandoned. */
QlPlugin   *ql_plugin_new_for_file         (const char          *filename,
                                            GModule             *module,
                                            const QlPluginDesc  *desc);
/* The (name, GType) pairs registered by init, in order. */
GPtrArray  *ql_plugin_get_registrations    (QlPlugin            *plugin);

G_END_DECLS
