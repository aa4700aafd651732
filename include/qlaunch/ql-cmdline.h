/* qlaunch — QlCmdline: the only place that formats QEMU options. */
#pragma once

#if !defined(QLAUNCH_INSIDE) && !defined(QLAUNCH_COMPILATION)
#error "Only <qlaunch/qlaunch.h> can be included directly."
#endif

#include <glib-object.h>
#include <qlaunch/ql-macros.h>

G_BEGIN_DECLS

/**
 * QlOptionSyntax:
 * @QL_OPTION_SYNTAX_FLAG: an option without a value (`-nodefaults`)
 * @QL_OPTION_SYNTAX_VERBATIM: an option whose value QEMU reads as is
 *   (`-kernel`, `-append`, `-uuid`, `-incoming`, `-global`, ...); never escaped
 * @QL_OPTION_SYNTAX_KEYVAL: a QEMU key=value list (`-device`, `-drive`, `-netdev`,
 *   `-object`, `-machine`, ...): an optional head (driver or type) then
 *   `key=value` pairs, every `,` in the head and in values doubled
 *
 * How an option's value is written on the command line.
 */
typedef enum
{
  QL_OPTION_SYNTAX_FLAG,
  QL_OPTION_SYNTAX_VERBATIM,
  QL_OPTION_SYNTAX_KEYVAL,
} QlOptionSyntax;

/**
 * QlValueType:
 * @QL_VALUE_STRING: a string value
 * @QL_VALUE_BOOL: a boolean, written `on`/`off`
 * @QL_VALUE_INT: a signed integer
 * @QL_VALUE_UINT: an unsigned integer
 * @QL_VALUE_FDS: file descriptor numbers as QEMU sees them, joined with
 *   `:` (see ql_option_set_fds()); since ABI 1.1
 * @QL_VALUE_LIST: one element of a list-valued key (see
 *   ql_option_add_list_value()): a repeated key in key=value form, one
 *   array in JSON and QMP; since ABI 1.2
 *
 * The type of a value in a key=value option. Kept so that the same option can
 * later be written as JSON or turned into QMP arguments with the right types.
 */
typedef enum
{
  QL_VALUE_STRING,
  QL_VALUE_BOOL,
  QL_VALUE_INT,
  QL_VALUE_UINT,
  QL_VALUE_FDS,
  QL_VALUE_LIST,
} QlValueType;

/**
 * QlPciPlacement:
 * @QL_PCI_PLACEMENT_AUTO: the driver's name decides (the default): a
 *   driver ending in `-pci`, `-pci-transitional` or `-pci-non-transitional`,
 *   or one of QEMU's virtio aliases that stand for a `-pci` type
 *   (`virtio-blk`, `virtio-net`, ...), is a PCI endpoint
 * @QL_PCI_PLACEMENT_ROOT_PORT: a PCI endpoint, whatever its driver's name
 *   (`e1000e`, `nvme`)
 * @QL_PCI_PLACEMENT_NONE: never put behind a root port: not a PCI endpoint,
 *   or one that must stay on the root bus
 *
 * Whether a `-device` option is a PCI endpoint that, on a PCI Express
 * machine (q35), gets a PCIe root port of its own when it names no `bus`
 * and no `addr` (see ql_option_set_pci_placement()).
 *
 * Since: ABI 1.2
 */
typedef enum
{
  QL_PCI_PLACEMENT_AUTO,
  QL_PCI_PLACEMENT_ROOT_PORT,
  QL_PCI_PLACEMENT_NONE,
} QlPciPlacement;

/**
 * QlOption:
 *
 * One structured QEMU option inside a #QlCmdline: a flag such as `-device`,
 * its syntax, an optional head (driver/type) and ordered typed key/value
 * pairs. Owned by its #QlCmdline.
 */
typedef struct _QlOption QlOption;

#define QL_TYPE_OPTION (ql_option_get_type ())
QL_API GType ql_option_get_type (void) G_GNUC_CONST;

#define QL_TYPE_CMDLINE (ql_cmdline_get_type ())
QL_API G_DECLARE_FINAL_TYPE (QlCmdline, ql_cmdline, QL, CMDLINE, GObject)

QL_API QlCmdline      *ql_cmdline_new                (const char  *binary);
QL_API const char     *ql_cmdline_get_binary         (QlCmdline   *self);
QL_API void            ql_cmdline_set_qemu_version   (QlCmdline   *self,
                                                      guint        major,
                                                      guint        minor);
QL_API void            ql_cmdline_get_qemu_version   (QlCmdline   *self,
                                                      guint       *major,
                                                      guint       *minor);
QL_API gboolean        ql_cmdline_writes_json        (QlCmdline   *self,
                                                      const char  *flag);

QL_API QlOptionSyntax  ql_cmdline_syntax_for_flag    (const char  *flag);

QL_API void            ql_cmdline_add_flag           (QlCmdline   *self,
                                                      const char  *flag);
QL_API void            ql_cmdline_add_verbatim       (QlCmdline   *self,
                                                      const char  *flag,
                                                      const char  *value);
QL_API QlOption       *ql_cmdline_add_option         (QlCmdline   *self,
                                                      const char  *flag,
                                                      const char  *head,
                                                      ...) G_GNUC_NULL_TERMINATED;
QL_API QlOption       *ql_cmdline_add_optionv        (QlCmdline   *self,
                                                      const char  *flag,
                                                      const char  *head,
                                                      const char * const *keys,
                                                      const char * const *values);

QL_API void            ql_option_set                 (QlOption    *option,
                                                      const char  *key,
                                                      const char  *value);
QL_API void            ql_option_set_bool            (QlOption    *option,
                                                      const char  *key,
                                                      gboolean     value);
QL_API void            ql_option_set_int             (QlOption    *option,
                                                      const char  *key,
                                                      gint64       value);
QL_API void            ql_option_set_uint            (QlOption    *option,
                                                      const char  *key,
                                                      guint64      value);
QL_API void            ql_option_set_fds             (QlOption    *option,
                                                      const char  *key,
                                                      const int   *qemu_fds,
                                                      guint        n_fds);
QL_API void            ql_option_add_list_value      (QlOption    *option,
                                                      const char  *key,
                                                      const char  *member,
                                                      const char  *value);
QL_API const char     *ql_option_get_flag            (QlOption    *option);
QL_API const char     *ql_option_get_head            (QlOption    *option);
QL_API QlOptionSyntax  ql_option_get_syntax          (QlOption    *option);
QL_API const char     *ql_option_get_origin          (QlOption    *option);
QL_API guint           ql_option_get_n_values        (QlOption    *option);
QL_API const char     *ql_option_get_key             (QlOption    *option,
                                                      guint        index);
QL_API const char     *ql_option_get_value           (QlOption    *option,
                                                      guint        index);
QL_API QlValueType     ql_option_get_value_type      (QlOption    *option,
                                                      guint        index);
QL_API const char     *ql_option_get_list_member     (QlOption    *option,
                                                      guint        index);
QL_API const char     *ql_option_lookup              (QlOption    *option,
                                                      const char  *key);
QL_API void            ql_option_set_pci_placement   (QlOption    *option,
                                                      QlPciPlacement placement);
QL_API QlPciPlacement  ql_option_get_pci_placement   (QlOption    *option);
QL_API gboolean        ql_option_is_pci_endpoint     (QlOption    *option);

QL_API guint           ql_cmdline_get_n_options      (QlCmdline   *self);
QL_API QlOption       *ql_cmdline_get_option         (QlCmdline   *self,
                                                      guint        index);
QL_API QlOption       *ql_cmdline_find_option        (QlCmdline   *self,
                                                      const char  *flag,
                                                      const char  *id);

QL_API void            ql_cmdline_set_machine_option (QlCmdline   *self,
                                                      const char  *key,
                                                      const char  *value);

QL_API int             ql_cmdline_add_fd             (QlCmdline   *self,
                                                      int          host_fd);
QL_API GArray         *ql_cmdline_get_fds            (QlCmdline   *self);

QL_API void            ql_cmdline_add_note           (QlCmdline   *self,
                                                      const char  *note);
QL_API const char * const *ql_cmdline_get_notes      (QlCmdline   *self);

QL_API void            ql_cmdline_fail               (QlCmdline   *self,
                                                      GError      *error);
QL_API gboolean        ql_cmdline_check              (QlCmdline   *self,
                                                      GError     **error);
QL_API char          **ql_cmdline_to_argv            (QlCmdline   *self,
                                                      GError     **error);
QL_API char           *ql_cmdline_escape_value       (const char  *value);

G_END_DECLS
