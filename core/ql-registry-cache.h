/* qlaunch — private: the registry cache, what each plugin file held when
 * it was last opened, so that a command opens only the plugins it uses. */
#pragma once

#include <glib.h>
#include <sys/stat.h>

G_BEGIN_DECLS

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
  char   **device_types;  /* sorted */
} QlRegistryCacheEntry;

QlRegistryCacheEntry *ql_registry_cache_entry_new     (const char                 *path,
                                                       const struct stat          *st);
void                  ql_registry_cache_entry_free    (QlRegistryCacheEntry       *entry);
gboolean              ql_registry_cache_entry_matches (const QlRegistryCacheEntry *entry,
                                                       const struct stat          *st);

char                 *ql_registry_cache_default_path  (void);
GHashTable           *ql_registry_cache_read          (const char                 *path);
gboolean              ql_registry_cache_write         (const char                 *path,
                                                       GHashTable                 *entries,
                                                       GError                    **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlRegistryCacheEntry, ql_registry_cache_entry_free)

G_END_DECLS
