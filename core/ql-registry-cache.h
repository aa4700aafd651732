/* qlaunch — private: the registry cache, what each plugin file held when
 * it was last opened, so that a command opens only the plugins it uses. */
#pragma once

#include <glib.h>
#include <qlaunch/qlaunch.h>
#include <sys/stat.h>

G_BEGIN_DECLS

/* Plugin files are named PREFIX<family>SUFFIX. */
#define QL_PLUGIN_FILE_PREFIX "libqlaunch-"
#define QL_PLUGIN_FILE_SUFFIX ".so"

typedef struct
{
  char    *path;          /* as found in its search directory */
  guint64  dev;
  guint64  inode;
  guint64  size;
  gint64   mtime_ns;
  gint64   ctime_ns;
  char    *family;
  int      error_code;    /* a QlPluginError, or -1: the plugin loaded */
  char    *error_message; /* (nullable) */
  char    *description;
  char    *version;
  char    *license;
  guint    abi_major;
  guint    abi_minor;
  char   **device_types;  /* in registration order */
  guint    rank;          /* a registry's scan order of the file, plus one; 0: none */
  /* An entry read from the file: the entry, with device_types right after
   * it, is in the cache's memory, and the strings above point into the
   * cache's file data (all valid as long as the cache). */
  gboolean in_place;
  /* The descriptions of the device types (properties included), in the
   * order of device_types, as the cache file's tail holds them (see
   * ql-registry-cache.c), decoded only when asked for; in the cache's
   * file data (valid as long as the cache) or types_owned. */
  const guint8 *types_data;
  gsize         types_len;
  guint64       types_hash;
  guint8       *types_owned;
} QlRegistryCacheEntry;

QlRegistryCacheEntry *ql_registry_cache_entry_new     (const char                 *path,
                                                       const struct stat          *st);
void                  ql_registry_cache_entry_free    (QlRegistryCacheEntry       *entry);
gboolean              ql_registry_cache_entry_matches (const QlRegistryCacheEntry *entry,
                                                       const struct stat          *st);
void                  ql_registry_cache_entry_set_types (QlRegistryCacheEntry     *entry,
                                                         GPtrArray                *types);
QlDeviceTypeInfo     *ql_registry_cache_entry_describe  (const QlRegistryCacheEntry *entry,
                                                         const char               *type_name,
                                                         GError                  **error);
GPtrArray            *ql_registry_cache_entry_describe_all (const QlRegistryCacheEntry *entry,
                                                            GError                  **error);

/* The entries of a cache file, decoded when first looked up. */
typedef struct _QlRegistryCache QlRegistryCache;

guint                 ql_registry_cache_path_hash     (gconstpointer               key);
char                 *ql_registry_cache_default_path  (void);
QlRegistryCache      *ql_registry_cache_new           (void);
void                  ql_registry_cache_free          (QlRegistryCache            *cache);
QlRegistryCache      *ql_registry_cache_read          (const char                 *path);
QlRegistryCacheEntry *ql_registry_cache_lookup        (QlRegistryCache            *cache,
                                                       const char                 *path);
void                  ql_registry_cache_replace       (QlRegistryCache            *cache,
                                                       QlRegistryCacheEntry       *entry);
gboolean              ql_registry_cache_remove        (QlRegistryCache            *cache,
                                                       const char                 *path);
/* Answers from the file itself, without decoding its entries: */
gssize                ql_registry_cache_vouching_index (QlRegistryCache          *cache,
                                                        const char               *path,
                                                        const struct stat        *st,
                                                        const char               *family);
QlRegistryCacheEntry *ql_registry_cache_file_entry    (QlRegistryCache            *cache,
                                                       gsize                       index);
const char           *ql_registry_cache_file_path     (QlRegistryCache            *cache,
                                                       gsize                       index);
gsize                 ql_registry_cache_n_file_entries (QlRegistryCache           *cache);
gssize                ql_registry_cache_type_owners   (QlRegistryCache            *cache,
                                                       const char                 *type_name,
                                                       gsize                      *owners,
                                                       gsize                       max);
GPtrArray            *ql_registry_cache_dir_names     (QlRegistryCache            *cache,
                                                       const char                 *path,
                                                       const struct stat          *st);
gboolean              ql_registry_cache_set_dir_names (QlRegistryCache            *cache,
                                                       const char                 *path,
                                                       const struct stat          *st,
                                                       gint64                      read_ns,
                                                       GPtrArray                  *names);
void                  ql_registry_cache_prune_dirs    (QlRegistryCache            *cache);
GHashTable           *ql_registry_cache_get_entries   (QlRegistryCache            *cache);
gboolean              ql_registry_cache_write         (const char                 *path,
                                                       QlRegistryCache            *cache,
                                                       GError                    **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlRegistryCacheEntry, ql_registry_cache_entry_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlRegistryCache, ql_registry_cache_free)

G_END_DECLS
