/* qlaunch — private: the escape-hatch overrides a QlVmConfig got from
 * outside its VM file, as JSON {"add": [...], "remove": [...], "set":
 * [...]} (a template's manifest keeps them). */
#pragma once

#include "ql-private.h"
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* What ql_vm_config_apply_qemu_overrides() applied to @self; NULL for
 * nothing. (transfer none) */
JsonObject *ql_vm_config_get_qemu_overrides       (QlVmConfig  *self);
/* Applies recorded @overrides (nullable: nothing) to @self. */
gboolean    ql_vm_config_apply_qemu_overrides_json (QlVmConfig  *self,
                                                    JsonObject  *overrides,
                                                    GError     **error);
/* Whether @overrides (from a manifest) holds only add, remove and set,
 * each a list of strings; else @why says what it should be. */
gboolean    ql_qemu_overrides_check               (JsonObject  *overrides,
                                                   const char **why);
/* The strings of @overrides' list @member (empty when absent). */
char      **ql_qemu_overrides_dup_list            (JsonObject  *overrides,
                                                   const char  *member);

G_END_DECLS
