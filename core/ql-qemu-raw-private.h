/* qlaunch — private: the escape hatch, QEMU options and properties the user
 * writes as text ([qemu] add/remove/replace, qemu-set/qemu-unset). */
#pragma once

#include "ql-private.h"

G_BEGIN_DECLS

/* Parses one option as written on QEMU's command line ("-device
 * virtio-sound-pci,id=snd0", "-nodefaults", "-object {...}") with QEMU's
 * rules (key=value with ",," for a comma; JSON for the options whose
 * argument QEMU reads as JSON) and appends it to @cl, its values marked
 * with @source. An option qlaunch writes from a VM-file key is refused,
 * saying which key. Returns the option, or NULL with @error set and @cl
 * unchanged. */
QlOption   *ql_qemu_raw_parse              (QlCmdline           *cl,
                                            const char          *text,
                                            const char          *source,
                                            GError             **error);
/* The same, on a scratch command line: whether @text parses. */
gboolean    ql_qemu_raw_check_syntax       (const char          *text,
                                            const char          *source,
                                            GError             **error);
/* Whether a [qemu] remove spec parses: "-name" or "-name id=ID". */
gboolean    ql_qemu_raw_check_remove_syntax (const char         *text,
                                             GError            **error);
/* Applies a [qemu] group to a built command line: each remove (which
 * must match an option), each replace (the option of the same name and
 * id, which must exist once), then each add (whose id must not be taken).
 * Errors name the key: "[qemu] remove: ...". */
gboolean    ql_qemu_raw_apply_group        (QlCmdline           *cl,
                                            const char * const  *add,
                                            const char * const  *remove,
                                            const char * const  *replace,
                                            GError             **error);
/* Applies a device's qemu-set and qemu-unset to the options it produced,
 * those of @cl from index @first on. Errors name the device and key. */
gboolean    ql_qemu_raw_apply_device       (QlDevice            *device,
                                            QlCmdline           *cl,
                                            guint                first,
                                            GError             **error);
/* Whether a device's qemu-set / qemu-unset text parses. */
gboolean    ql_qemu_raw_check_device       (QlDevice            *device,
                                            GError             **error);

G_END_DECLS
