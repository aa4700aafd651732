/* qlaunch CLI — what every command shares. */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

enum
{
  QL_EXIT_OK = 0,
  QL_EXIT_FAILURE = 1,
  QL_EXIT_USAGE = 2,
};

typedef struct
{
  char **plugin_dirs;          /* --plugin-dir, in order */
  gboolean no_registry_cache;   /* --no-registry-cache */
} QlCliGlobals;

/* What the CLI writes (cli-output.c). Messages go through g_print() and
 * g_printerr(), converted to the locale's character set once
 * ql_cli_output_init() installed the handlers; the locale is loaded on the
 * first message, or by ql_cli_load_locale_for_args() before option parsing
 * when an argument is not ASCII. Data (command lines, JSON) goes through
 * ql_cli_print_data(): its bytes, unconverted. */
void        ql_cli_output_init     (void);
void        ql_cli_load_locale_for_args (int                argc,
                                         char             **argv);
void        ql_cli_print_data      (const char         *format,
                                    ...) G_GNUC_PRINTF (1, 2);

QlRegistry *ql_cli_registry_new    (const QlCliGlobals *globals);
/* Prints the load errors of @registry not printed yet: a plugin the
 * registry cache vouched for can fail when it is opened later. */
void        ql_cli_print_load_errors (QlRegistry       *registry);
/* Text that came from QEMU (QMP replies, error descriptions), safe to
 * print on a terminal: control characters (C0, DEL, C1) escaped as \xNN
 * or \u00NN, invalid UTF-8 as \xNN. */
char       *ql_cli_escape_untrusted (const char        *text);
/* @node (from QEMU) as one line of valid JSON: strings UTF-8 with control
 * characters (C0, DEL, C1) escaped as \uXXXX, doubles with 17 significant
 * digits; NULL with @error for what JSON cannot hold (a
 * non-finite double, a string that is not UTF-8). (cli-json.c) */
char       *ql_cli_json_to_string  (JsonNode           *node,
                                    GError            **error);
void        ql_cli_print_error     (const char         *prefix,
                                    const GError       *error);
/* ql_cli_print_error() for errors about @vm (nullable): a line about a
 * device of the VM file gets the line of its group (`FILE:LINE: ...`). */
void        ql_cli_print_vm_error  (const char         *prefix,
                                    QlVmConfig         *vm,
                                    const GError       *error);
int         ql_cli_usage_error     (GOptionContext     *context,
                                    const char         *message);
/* --qemu-add OPTION, --qemu-remove SPEC, --qemu-set LABEL:key=value
 * (args, check, run): the VM file's [qemu] add and remove, and a device's
 * qemu-set, extended from the command line. */
typedef struct
{
  char **add;
  char **remove;
  char **set;
} QlCliQemuOptions;

void        ql_cli_qemu_options_clear (QlCliQemuOptions *options);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (QlCliQemuOptions, ql_cli_qemu_options_clear)
/* Adds the three options to @context's main entries, parsed into @options. */
void        ql_cli_add_qemu_entries (GOptionContext    *context,
                                     QlCliQemuOptions  *options);

/* Loads VMFILE, appends -d device specs and applies @qemu (nullable);
 * gathers every error. */
QlVmConfig *ql_cli_load_vm         (QlRegistry         *registry,
                                    const char         *vm_file,
                                    char              **device_specs,
                                    const QlCliQemuOptions *qemu,
                                    gboolean            host_checks,
                                    GError            **error);

/* --runtime-dir DIR: made absolute (a command-line path is relative to
 * the current directory) and set on @vm. */
gboolean    ql_cli_set_runtime_dir (QlVmConfig         *vm,
                                    const char         *dir,
                                    GError            **error);

int         ql_cli_args            (const QlCliGlobals *globals,
                                    int                 argc,
                                    char              **argv);
int         ql_cli_check           (const QlCliGlobals *globals,
                                    int                 argc,
                                    char              **argv);
/* How `run` starts a VM, and how a template clone does. */
typedef void     (*QlCliStartFunc)   (QlVm                *vm,
                                      gpointer             data,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data);
typedef gboolean (*QlCliStartFinish) (QlVm                *vm,
                                      gpointer             data,
                                      GAsyncResult        *result,
                                      GError             **error);
/* QlVm::helper-ready on stderr; @user_data: a prefix for the message. */
void        ql_cli_on_helper_ready (QlVm               *vm,
                                    const char         *device_id,
                                    const char         *name,
                                    int                 pid,
                                    gpointer            user_data);
int         ql_cli_run_vm          (QlVm               *vm,
                                    const char         *label,
                                    QlCliStartFunc      start,
                                    QlCliStartFinish    start_finish,
                                    gpointer            start_data);
int         ql_cli_template        (const QlCliGlobals *globals,
                                    int                 argc,
                                    char              **argv);
int         ql_cli_run             (const QlCliGlobals *globals,
                                    int                 argc,
                                    char              **argv);
int         ql_cli_inspect         (const QlCliGlobals *globals,
                                    int                 argc,
                                    char              **argv);
/* cli-qmp.c: a running QEMU over its QMP socket. */
int         ql_cli_qmp             (const QlCliGlobals *globals,
                                    int                 argc,
                                    char              **argv);
int         ql_cli_hotplug         (const QlCliGlobals *globals,
                                    int                 argc,
                                    char              **argv);
int         ql_cli_unplug          (const QlCliGlobals *globals,
                                    int                 argc,
                                    char              **argv);

G_END_DECLS

G_BEGIN_DECLS
/* cli-caps.c. Builds @vm's command line for its QEMU: with @qemu_version
 * ("X.Y"), for that version, no probing; else, with @host_checks, for the
 * probed (cached) binary, and checks it against what that binary offers;
 * else for QEMU 7.2 forms, unchecked. Sets the version on @vm too, so that
 * a QlVm built from it writes the same forms. */
QlCmdline  *ql_cli_build_for_qemu  (QlVmConfig         *vm,
                                    const char         *qemu_version,
                                    gboolean            host_checks,
                                    GError            **error);
/* For commands that launch (run, template create): a binary that cannot be
 * probed (not QEMU, or a wrapper) is launched unchecked after a warning
 * naming @label; what it refuses, QEMU says itself. */
QlCmdline  *ql_cli_build_for_launch (QlVmConfig        *vm,
                                     const char        *label,
                                     GError           **error);
/* The same for @vm's launch (ql_vm_build_cmdline(): the launch runs the
 * command line built here). Returns: (transfer none): owned by @vm, valid
 * until the launch. */
QlCmdline  *ql_cli_build_vm_for_launch (QlVm           *vm,
                                        const char     *label,
                                        GError        **error);
int         ql_cli_caps            (const QlCliGlobals *globals,
                                    int                 argc,
                                    char              **argv);
G_END_DECLS
