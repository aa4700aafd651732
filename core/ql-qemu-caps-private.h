/* qlaunch — QlQemuCaps internals shared by its files.
 *
 * A probe's result is one GVariant (QL_CAPS_TYPE), the same bytes the
 * cache file holds after its header: a cached lookup maps the file and
 * reads it in place, without parsing. Every list is sorted, so lookups are
 * binary searches. */
#pragma once

#include "ql-private.h"

G_BEGIN_DECLS

/* Values given as text, read as a QOM type (ql-qemu-caps-values.c). */
gboolean    ql_qom_value_parse       (const char   *type,
                                      const char   *text,
                                      QlValueType  *vtype,
                                      char        **normalized,
                                      char        **why);
void        ql_qemu_caps_type_values (QlQemuCaps   *self,
                                      QlCmdline    *cmdline);

/* Bumped whenever QL_CAPS_TYPE or what the probe collects changes (a new
 * QL_CAPS_TYPE also bumps the format byte of the cache file's magic,
 * ql-qemu-caps-cache.c). */
#define QL_CAPS_FORMAT "qlaunch-caps-4"

#define QL_CAPS_TYPE "(sssxxx(uuu)ssbsa(sssb)asa(sa(ss))asa(sa(ss))asasasasa(sas)a(ss))"

enum
{
  QL_CAPS_FIELD_FORMAT,          /* s: QL_CAPS_FORMAT */
  QL_CAPS_FIELD_QLAUNCH_VERSION, /* s: the qlaunch that probed */
  QL_CAPS_FIELD_BINARY,          /* s: canonical path */
  QL_CAPS_FIELD_SIZE,            /* x */
  QL_CAPS_FIELD_MTIME,           /* x: nanoseconds */
  QL_CAPS_FIELD_INODE,           /* x */
  QL_CAPS_FIELD_VERSION,         /* (uuu) */
  QL_CAPS_FIELD_VERSION_STRING,  /* s */
  QL_CAPS_FIELD_PACKAGE,         /* s */
  QL_CAPS_FIELD_KVM_PRESENT,     /* b */
  QL_CAPS_FIELD_DEFAULT_MACHINE, /* s, "" if none */
  QL_CAPS_FIELD_MACHINES,        /* a(sssb): name, alias, default CPU type, deprecated */
  QL_CAPS_FIELD_DEVICE_TYPES,    /* as */
  QL_CAPS_FIELD_DEVICE_PROPS,    /* a(sa(ss)): type, (property, type) */
  QL_CAPS_FIELD_OBJECT_TYPES,    /* as */
  QL_CAPS_FIELD_OBJECT_PROPS,    /* a(sa(ss)) */
  QL_CAPS_FIELD_CPU_MODELS,      /* as */
  QL_CAPS_FIELD_ACCELERATORS,    /* as */
  QL_CAPS_FIELD_CHARDEVS,        /* as */
  QL_CAPS_FIELD_NETDEVS,         /* as */
  QL_CAPS_FIELD_COMMAND_LINE_OPTIONS, /* a(sas): option, its parameters (query-command-line-options) */
  QL_CAPS_FIELD_UNPROBED_DEVICES, /* a(ss): device type whose properties could not be probed, why */
  QL_CAPS_N_FIELDS
};

/* The binary's identity, as the cache keys it. */
typedef struct
{
  char *path;     /* canonical */
  gint64 size;
  gint64 mtime;   /* ns */
  gint64 inode;
} QlCapsStamp;

void        ql_caps_stamp_clear      (QlCapsStamp  *stamp);
gboolean    ql_caps_stamp_read       (const char   *binary,
                                      QlCapsStamp  *stamp,
                                      GError      **error);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (QlCapsStamp, ql_caps_stamp_clear)

/* Wraps probed or cached data (takes a reference on @data). */
QlQemuCaps *ql_qemu_caps_new_from_data (GVariant   *data,
                                        gboolean    from_cache);
GVariant   *ql_qemu_caps_get_data    (QlQemuCaps  *self);

/* Runs QEMU once and collects its capabilities, with the properties of
 * @device_types (NULL-terminated, may be NULL; unknown types are skipped)
 * or, with @all_properties, of every device type. */
GVariant   *ql_qemu_caps_probe_data  (const QlCapsStamp   *stamp,
                                      const char * const  *device_types,
                                      gboolean             all_properties,
                                      GCancellable        *cancellable,
                                      GError             **error);

/* The cache file for @stamp's binary; NULL and a debug message when it is
 * missing, stale, of another format or damaged. */
GVariant   *ql_qemu_caps_cache_load  (const char         *cache_dir,
                                      const QlCapsStamp  *stamp);
gboolean    ql_qemu_caps_cache_save  (const char         *cache_dir,
                                      GVariant           *data,
                                      GError            **error);
char       *ql_qemu_caps_cache_path  (const char         *cache_dir,
                                      const char         *binary);

/* Binary search in a sorted `as` or in an array of tuples whose first
 * member is the sorted string key; the child (owned) or NULL. */
/* Whether the sorted list of field @index (QL_CAPS_FIELD_*: a string
 * array, or an array of tuples keyed by their first string) has @name: a
 * binary search. ql_qemu_caps_field_list(): the whole list, for messages. */
gboolean    ql_qemu_caps_field_has   (QlQemuCaps   *self,
                                      guint         index,
                                      const char   *name);
char      **ql_qemu_caps_field_list  (QlQemuCaps   *self,
                                      guint         index);
/* The parameters of command-line option @option (`sandbox`), sorted, for
 * lookups with ql_caps_array_lookup(); NULL when QEMU has no such option. */
GVariant   *ql_qemu_caps_command_line_parameters (QlQemuCaps *self,
                                                  const char *option);
/* Whether @self holds the properties of every device type in @types
 * (types QEMU lacks need none): what ql_qemu_caps_lookup() with @types
 * would otherwise read or probe again. */
gboolean    ql_qemu_caps_has_properties_of (QlQemuCaps          *self,
                                            const char * const  *types);
/* The `-device` drivers @cmdline uses. */
char      **ql_qemu_caps_cmdline_device_types (QlCmdline        *cmdline);
GVariant   *ql_caps_array_lookup     (GVariant    *array,
                                      const char  *key);
char      **ql_caps_array_keys       (GVariant    *array);

/* The device type QEMU's alias @name stands for, among the types @has
 * says exist (NULL if @name is no alias or none exists); may return a
 * string kept in *@storage. */
/* The device types QEMU's alias @name may stand for, in QEMU's order
 * (empty when @name is no alias). */
GStrv       ql_qemu_caps_device_alias_candidates (const char *name);
const char *ql_qemu_caps_device_alias_target (const char  *name,
                                              gboolean   (*has) (gpointer data, const char *type),
                                              gpointer     data,
                                              char       **storage);

G_END_DECLS
