/* qlaunch — private declarations shared inside libqlaunch. */
#pragma once

#include <qlaunch/qlaunch.h>
#include <glib/gstdio.h>
#include <string.h>

G_BEGIN_DECLS

/* Sets the name a device class was registered under (class qdata). */
void        ql_device_type_set_name        (GType        type,
                                            const char  *name,
                                            const char  *plugin);
const char *ql_device_type_get_name        (GType        type);
/* The plugin that registered it; NULL for a type registered in-process. */
const char *ql_device_type_get_plugin      (GType        type);
/* The line of the VM file's [device LABEL] group a device was loaded
 * from; 0 for a device not loaded from a VM file. */
void        ql_device_set_source_line      (QlDevice    *self,
                                            guint        line);
guint       ql_device_get_source_line      (QlDevice    *self);
/* A device's qemu-set and qemu-unset text, without a copy (NULL: unset). */
const char *ql_device_peek_qemu_set        (QlDevice    *self);
const char *ql_device_peek_qemu_unset      (QlDevice    *self);
/* The first error recorded in a command line, or NULL. */
const GError *ql_cmdline_peek_error        (QlCmdline   *self);

/* A list of errors gathered while loading or validating. */
typedef GPtrArray QlErrorList;   /* element-type GError, owned */
QlErrorList *ql_error_list_new             (void);
void         ql_error_list_add             (QlErrorList *list,
                                            GError      *error);
/* A #QL_CONFIG_ERROR of @code, its message formatted. */
void         ql_error_list_add_config      (QlErrorList *list,
                                            gint         code,
                                            const char  *format,
                                            ...) G_GNUC_PRINTF (3, 4);  /* takes */
/* Moves the gathered errors into @error: one error as is, several as one
 * QL_CONFIG_ERROR_MULTIPLE error whose message lists each on its own line.
 * Returns TRUE when the list was empty. */
gboolean     ql_error_list_propagate       (QlErrorList *list,
                                            GError     **error);

/* Gives @notice (taken) to the application's QlNoticeFunc, or keeps it for
 * ql_take_notices(). */
void         ql_notice_take                (GError      *notice);

/* Lets the registry tell a plugin it is being loaded / abandoned. */
/* The plugin's file is the one the registry cache recorded as loading
 * well: its device types passed ql_device_type_check_properties() then (in
 * the plugin scanner, or an earlier load), which registration skips. */
void        ql_plugin_set_vouched          (QlPlugin            *self,
                                            gboolean             vouched);
QlPlugin   *ql_plugin_new_for_file         (const char          *filename,
                                            GModule             *module,
                                            const QlPluginDesc  *desc);
/* The (name, GType) pairs registered by init, in order. */
GPtrArray  *ql_plugin_get_registrations    (QlPlugin            *plugin);

/* One element of ql_plugin_get_registrations(): owned by the plugin. */
typedef struct
{
  char  *name;   /* the device type name, [a-z][a-z0-9-]* */
  GType  type;   /* a concrete QlDevice subclass */
} QlPluginRegistration;

/* Checks a device type name ([a-z][a-z0-9-]*) and that @type is a concrete
 * QlDevice subclass; QL_PLUGIN_ERROR_BAD_DEVICE_TYPE otherwise. Shared by
 * ql_plugin_register_device() and ql_registry_register_device(). */
gboolean    ql_device_type_check           (const char          *name,
                                            GType                type,
                                            GError             **error);
/* Checks @type's own properties: kebab-case names, non-empty blurbs,
 * declared defaults held by a fresh instance; BAD_DEVICE_TYPE naming
 * @plugin (nullable), @name and the property otherwise. */
gboolean    ql_device_type_check_properties (const char         *name,
                                             GType               type,
                                             const char         *plugin,
                                             GError            **error);
/* What ql_registry_list_plugin_infos() gives for one plugin. */
QlPluginInfo *ql_plugin_info_new           (const char          *name,
                                            const char          *description,
                                            const char          *version,
                                            const char          *license,
                                            const char          *filename,
                                            const char * const  *device_types);
/* The compact form of a device type's description the registry cache
 * keeps (ql-type-info.c); reading it checks it as untrusted input. */
void        ql_device_type_info_write_compact (QlDeviceTypeInfo  *info,
                                               GByteArray        *out);
QlDeviceTypeInfo *ql_device_type_info_read_compact (const guint8 *data,
                                                    gsize         len,
                                                    GError      **error);
QlDeviceTypeInfo *ql_device_type_info_read_compact_bytes (GBytes  *bytes,
                                                          GError **error);
/* The first refused ql_plugin_register_device() of @plugin, or NULL. */
const GError *ql_plugin_get_register_error (QlPlugin            *plugin);

G_END_DECLS

G_BEGIN_DECLS
/* The candidate closest to @word (edit distance <= 2), or NULL. */
const char *ql_closest_word                (const char          *word,
                                            const char * const  *candidates);
G_END_DECLS

G_BEGIN_DECLS
/* Sizes given without suffix are read in @unit (e.g. MiB for -m). */
char       *ql_path_resolve                (const char          *value,
                                            const char          *base_dir);
/* What a path-typed property holds (ql_param_resolve_path_value()). */
typedef enum
{
  QL_PATH_FILE = 1,     /* a path, always */
  QL_PATH_PROGRAM,      /* a path, or a name without '/' looked up in PATH */
  QL_PATH_FIRMWARE,     /* a path, or a name without '/' in QEMU's data dirs */
  QL_PATH_SCRIPT,       /* a path, or 'no' */
} QlPathKind;
GParamSpec *ql_param_spec_path_of_kind     (const char          *name,
                                            const char          *nick,
                                            const char          *blurb,
                                            const char          *default_value,
                                            QlPathKind           kind,
                                            GParamFlags          flags);
QlPathKind  ql_param_spec_get_path_kind    (GParamSpec          *pspec);
char       *ql_param_resolve_path_value    (GParamSpec          *pspec,
                                            const char          *value,
                                            const char          *base_dir);
/* QEMU's interop descriptor directories of a kind, lowest priority first. */
GPtrArray  *ql_interop_descriptor_dirs     (const char          *kind,
                                            const char          *override_env);
/* Their *.json files, one per name (a later directory's hides the
 * earlier), sorted by name; @searched gets the directories for messages. */
GPtrArray  *ql_interop_descriptor_files    (GPtrArray           *dirs,
                                            GString             *searched);
/* Whether to read descriptor @path: FALSE without @error for a file gone
 * or empty, FALSE with @error for one another user could change. */
gboolean    ql_interop_descriptor_usable   (const char          *path,
                                            const char          *what,
                                            GError             **error);
void        ql_param_spec_set_size_unit    (GParamSpec          *pspec,
                                            guint64              unit);
G_END_DECLS

G_BEGIN_DECLS
/* g_set_str() of GLib 2.76, which Debian 12 (2.74) lacks. */
gboolean    ql_set_str                     (char               **str_pointer,
                                            const char          *new_str);
G_END_DECLS

G_BEGIN_DECLS
/* QlVm's QMP state, kept by ql-vm-lifecycle.c. */
void        ql_vm_set_run_state            (QlVm                *self,
                                            const char          *run_state);
void        ql_vm_set_qmp                  (QlVm                *self,
                                            QlQmp               *qmp,
                                            GCallback            on_event);
void        ql_vm_emit_device_deleted      (QlVm                *self,
                                            const char          *id,
                                            const char          *path);
void        ql_vm_emit_reset               (QlVm                *self,
                                            gboolean             guest,
                                            const char          *reason);
void        ql_vm_emit_watchdog            (QlVm                *self,
                                            const char          *action_name);
G_END_DECLS

G_BEGIN_DECLS
/* Synchronous wrappers: pass ql_store_result and &result to the async
 * call, then ql_wait_result (&result) iterates the thread-default main
 * context until it is set (a reference the caller drops). */
void        ql_store_result                (GObject             *source,
                                            GAsyncResult        *result,
                                            gpointer             data);
void        ql_wait_result                 (GAsyncResult       **result);
G_END_DECLS

G_BEGIN_DECLS
/* Command-line forms per QEMU version (ql-qemu-syntax.c). */
gboolean    ql_qemu_syntax_accepts_json    (guint                major,
                                            guint                minor,
                                            const char          *flag);
gboolean    ql_qemu_syntax_writes_json     (guint                major,
                                            guint                minor,
                                            const char          *flag);
const char *ql_qemu_syntax_removed         (guint                major,
                                            guint                minor,
                                            const char          *flag,
                                            const char          *head,
                                            guint               *removed_major,
                                            guint               *removed_minor);
gboolean    ql_qemu_syntax_ever_removed    (const char          *flag);
gboolean    ql_qemu_syntax_parse_version   (const char          *text,
                                            guint               *major,
                                            guint               *minor,
                                            guint               *micro);
/* Which VM-file group an option came from ("device 'disk0'", "[machine]"),
 * set by the argv builder; NULL for options added by hand. */
void        ql_option_set_origin           (QlOption            *option,
                                            const char          *origin);
/* The options from @first on came from device @device_id: their origin
 * is "device 'ID'", written only when ql_option_get_origin() asks. */
void        ql_cmdline_set_device_origin   (QlCmdline           *self,
                                            guint                first,
                                            const char          *device_id);
/* A key=value option inserted before the option at @index (ql-pcie.c:
 * a root port right before the device that plugs into it). */
QlOption   *ql_cmdline_insert_option       (QlCmdline           *self,
                                            guint                index,
                                            const char          *flag,
                                            const char          *head);
/* The escape hatch ([qemu], qemu-set, qemu-unset; ql-qemu-raw.c): values
 * the user gave by text, marked with the VM-file key that gave them;
 * from_text: a key=value text value whose QEMU type is not known yet. */
void        ql_option_mark_source          (QlOption            *option,
                                            const char          *key,
                                            const char          *source,
                                            gboolean             from_text);
const char *ql_option_get_source           (QlOption            *option,
                                            guint                index);
gboolean    ql_option_is_from_text         (QlOption            *option,
                                            guint                index);
void        ql_option_retype               (QlOption            *option,
                                            guint                index,
                                            const char          *value,
                                            QlValueType          type);
gboolean    ql_option_unset                (QlOption            *option,
                                            const char          *key);
void        ql_cmdline_remove_option       (QlCmdline           *self,
                                            guint                index);
void        ql_cmdline_replace_with_last   (QlCmdline           *self,
                                            guint                index);
G_END_DECLS

G_BEGIN_DECLS
/* QlHelper's life inside its command line (ql-helper.c). */
QlHelper   *ql_helper_new                  (QlCmdline           *owner,
                                            const char          *name,
                                            const char          *binary);
void        ql_helper_free                 (QlHelper            *helper);
void        ql_helper_set_device_id        (QlHelper            *helper,
                                            const char          *device_id);
/* Whether the program @path may be run: an executable file that neither
 * it nor a directory above it can be changed by another user
 * (ql-helper-find.c). QL_CONFIG_ERROR_HOST otherwise. */
gboolean    ql_helper_check_binary_trusted (const char          *path,
                                            GError             **error);
/* Whether another user than us or root could change a file of this stat
 * (owner, or write permission for group or others). */
gboolean    ql_file_writable_by_others     (const GStatBuf      *st);
/* Whether no other user than root and us can change @path, the file and
 * every directory up to / (ql-path-trust.c). */
gboolean    ql_path_check_trusted          (const char          *what,
                                            const char          *path,
                                            GError             **error);
/* @name (no '/') in the data directories of QEMU @binary, never in its
 * working directory (ql-path-trust.c). */
char       *ql_qemu_find_data_file         (const char          *binary,
                                            const char          *name,
                                            GError             **error);
G_END_DECLS

G_BEGIN_DECLS
/* Following child processes (ql-process-util.c). */
void        ql_source_destroy              (GSource            **source);
/* Attaches @source to @context; its callback holds a reference on @owner
 * (a GObject) while the source lives. Returns @source. */
GSource    *ql_source_attach_for           (gpointer             owner,
                                            GMainContext        *context,
                                            GSource             *source,
                                            GSourceFunc          func,
                                            const char          *name);
/* Makes @context the thread-default one around a GIO call that attaches
 * to the thread-default context; FALSE when it is already. */
gboolean    ql_context_push                (GMainContext        *context);
void        ql_context_pop                 (GMainContext        *context,
                                            gboolean             pushed);
/* Whether the @len bytes at @s are a name of the form [a-z][a-z0-9-]*:
 * device types, plugin families, properties. */
static inline gboolean
ql_name_is_valid_len (const char *s,
                      gsize       len)
{
  if (len == 0 || s[0] < 'a' || s[0] > 'z')
    return FALSE;
  for (gsize i = 1; i < len; i++)
    if ((s[i] < 'a' || s[i] > 'z') && (s[i] < '0' || s[i] > '9') && s[i] != '-')
      return FALSE;
  return TRUE;
}

/* ql_name_is_valid_len() of the NUL-terminated @s (FALSE for NULL). */
static inline gboolean
ql_name_is_valid (const char *s)
{
  return s != NULL && ql_name_is_valid_len (s, strlen (s));
}

/* g_strerror (@errnum) for a g_debug() message, or "" when debug messages
 * are dropped (arguments are evaluated either way): the first g_strerror()
 * of a process converts to the locale's character set, and an expected
 * failure (a search directory that does not exist) should not pay for it. */
static inline const char *
ql_debug_strerror (int errnum)
{
  return g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN) ? "" : g_strerror (errnum);
}

/* Whether the variable @entry (NAME=VALUE) of this process goes to a child
 * by default: PATH, HOME, LANG, LC_*, TMPDIR, XDG_RUNTIME_DIR. */
gboolean    ql_env_passed_by_default       (const char          *entry);
G_END_DECLS
