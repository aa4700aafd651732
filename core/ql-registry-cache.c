/* qlaunch — the registry cache.
 *
 * One file per user and architecture, `<cache dir>/registry-<arch>.cache`
 * (ql-cache-file.c: 0600 in a 0700 directory, written atomically, read as
 * untrusted input). For each plugin file a registry opened, keyed by its
 * path, it records the file's identity (device, inode, size, mtime and
 * ctime: a chmod or chown changes the ctime) and what opening it gave:
 * the plugin's descriptor and device types, or the load error. A registry
 * with a cache opens a plugin file whose identity matches its entry only
 * when one of its device types is used; a file that failed is not opened
 * again until it changes. The format string and qlaunch's version are part
 * of the file: another qlaunch's cache is ignored and rewritten. */
#include "ql-registry-cache.h"
#include "ql-cache-file.h"
#include "ql-private.h"

#include <string.h>

#define FORMAT "qlaunch-registry-1"
/* (format, qlaunch version, entries) */
#define ENTRY_TYPE "(stttxxsissssuuas)"
#define ENTRY_BUILD "(stttxxsissssuu^as)"  /* for writing */
#define CACHE_TYPE "(ssa" ENTRY_TYPE ")"

static const char magic[QL_CACHE_FILE_MAGIC_SIZE] = { 'Q', 'L', 'R', 'E', 'G', 'S', '\0', 1 };

static gint64
stat_mtime_ns (const struct stat *st)
{
  return (gint64) st->st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + st->st_mtim.tv_nsec;
}

static gint64
stat_ctime_ns (const struct stat *st)
{
  return (gint64) st->st_ctim.tv_sec * G_GINT64_CONSTANT (1000000000) + st->st_ctim.tv_nsec;
}

QlRegistryCacheEntry *
ql_registry_cache_entry_new (const char        *path,
                             const struct stat *st)
{
  QlRegistryCacheEntry *entry = g_new0 (QlRegistryCacheEntry, 1);

  entry->path = g_strdup (path);
  entry->dev = st->st_dev;
  entry->inode = st->st_ino;
  entry->size = st->st_size;
  entry->mtime_ns = stat_mtime_ns (st);
  entry->ctime_ns = stat_ctime_ns (st);
  entry->error_code = -1;
  return entry;
}

void
ql_registry_cache_entry_free (QlRegistryCacheEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->path);
  g_free (entry->family);
  g_free (entry->error_message);
  g_free (entry->description);
  g_free (entry->version);
  g_free (entry->license);
  g_strfreev (entry->device_types);
  g_free (entry);
}

gboolean
ql_registry_cache_entry_matches (const QlRegistryCacheEntry *entry,
                                 const struct stat          *st)
{
  return entry->dev == (guint64) st->st_dev && entry->inode == (guint64) st->st_ino
         && entry->size == (guint64) st->st_size && entry->mtime_ns == stat_mtime_ns (st)
         && entry->ctime_ns == stat_ctime_ns (st);
}

/**
 * ql_registry_cache_default_path:
 *
 * `registry-<arch>.cache` in qlaunch's cache directory (see
 * ql_cache_file_get_dir()).
 *
 * Returns: (transfer full): the path
 */
char *
ql_registry_cache_default_path (void)
{
  g_autofree char *dir = ql_cache_file_get_dir (NULL);
  g_autofree char *name = g_strdup_printf ("registry-%s.cache", QL_HOST_ARCH);

  return g_build_filename (dir, name, NULL);
}

static gboolean
valid_name (const char *s)
{
  if (!g_ascii_islower (s[0]))
    return FALSE;
  for (const char *p = s; *p != '\0'; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '-')
      return FALSE;
  return TRUE;
}

static char *
child_string (GVariant *v,
              gsize     i)
{
  g_autoptr(GVariant) c = g_variant_get_child_value (v, i);

  return g_variant_dup_string (c, NULL);
}

static guint64
child_uint64 (GVariant *v,
              gsize     i)
{
  g_autoptr(GVariant) c = g_variant_get_child_value (v, i);

  return g_variant_get_uint64 (c);
}

static gint64
child_int64 (GVariant *v,
             gsize     i)
{
  g_autoptr(GVariant) c = g_variant_get_child_value (v, i);

  return g_variant_get_int64 (c);
}

static guint32
child_uint32 (GVariant *v,
              gsize     i)
{
  g_autoptr(GVariant) c = g_variant_get_child_value (v, i);

  return g_variant_get_uint32 (c);
}

/* An entry read from the file, if it makes sense (the file is untrusted:
 * its strings are valid UTF-8, as GVariant guarantees, but nothing more).
 * Read child by child: g_variant_get() would parse its format string at
 * every entry, ten times the cost. */
static QlRegistryCacheEntry *
entry_from_variant (GVariant *v)
{
  g_autoptr(QlRegistryCacheEntry) entry = g_new0 (QlRegistryCacheEntry, 1);
  g_autofree char *error_message = NULL;

  entry->path = child_string (v, 0);
  entry->dev = child_uint64 (v, 1);
  entry->inode = child_uint64 (v, 2);
  entry->size = child_uint64 (v, 3);
  entry->mtime_ns = child_int64 (v, 4);
  entry->ctime_ns = child_int64 (v, 5);
  entry->family = child_string (v, 6);
  {
    g_autoptr(GVariant) c = g_variant_get_child_value (v, 7);

    entry->error_code = g_variant_get_int32 (c);
  }
  error_message = child_string (v, 8);
  entry->description = child_string (v, 9);
  entry->version = child_string (v, 10);
  entry->license = child_string (v, 11);
  entry->abi_major = child_uint32 (v, 12);
  entry->abi_minor = child_uint32 (v, 13);
  {
    g_autoptr(GVariant) c = g_variant_get_child_value (v, 14);

    entry->device_types = g_variant_dup_strv (c, NULL);
  }
  if (!g_path_is_absolute (entry->path) || !valid_name (entry->family))
    return NULL;
  if (entry->error_code >= 0)
    {
      if (error_message[0] == '\0')
        return NULL;
      entry->error_message = g_steal_pointer (&error_message);
      return g_steal_pointer (&entry);
    }
  if (entry->error_code != -1 || entry->device_types[0] == NULL)
    return NULL;
  for (guint i = 0; entry->device_types[i] != NULL; i++)
    if (!valid_name (entry->device_types[i]))
      return NULL;
  return g_steal_pointer (&entry);
}

/**
 * ql_registry_cache_read:
 * @path: the cache file
 *
 * Reads the cache. Nothing is an error: a missing, foreign, damaged or
 * unsafe file gives %NULL, an entry that makes no sense is left out.
 *
 * Returns: (transfer full) (nullable) (element-type filename QlRegistryCacheEntry):
 *   the entries by path, or %NULL
 */
GHashTable *
ql_registry_cache_read (const char *path)
{
  g_autoptr(GVariant) data = ql_cache_file_read (path, magic, G_VARIANT_TYPE (CACHE_TYPE));
  g_autoptr(GVariant) entries = NULL;
  GHashTable *table;
  const char *format, *version;
  gsize n;

  if (data == NULL)
    return NULL;
  g_variant_get_child (data, 0, "&s", &format);
  g_variant_get_child (data, 1, "&s", &version);
  if (strcmp (format, FORMAT) != 0 || strcmp (version, QL_VERSION) != 0)
    {
      g_debug ("qlaunch: %s was written by another qlaunch (%s, %s)", path, format, version);
      return NULL;
    }
  entries = g_variant_get_child_value (data, 2);
  n = g_variant_n_children (entries);
  table = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                 (GDestroyNotify) ql_registry_cache_entry_free);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (entries, i);
      QlRegistryCacheEntry *entry = entry_from_variant (child);

      if (entry == NULL)
        {
          g_debug ("qlaunch: %s: entry %" G_GSIZE_FORMAT " makes no sense, ignored", path, i);
          continue;
        }
      g_hash_table_replace (table, entry->path, entry);
    }
  return table;
}

static int
compare_paths (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/**
 * ql_registry_cache_write:
 * @path: the cache file
 * @entries: (element-type filename QlRegistryCacheEntry): the entries by path
 * @error: return location for an error
 *
 * Writes the cache atomically, entries sorted by path.
 *
 * Returns: %TRUE if it was written
 */
gboolean
ql_registry_cache_write (const char  *path,
                         GHashTable  *entries,
                         GError     **error)
{
  g_autofree const char **paths = (const char **) g_hash_table_get_keys_as_array (entries, NULL);
  guint n = g_hash_table_size (entries);
  GVariantBuilder builder;
  g_autoptr(GVariant) data = NULL;

  qsort (paths, n, sizeof (char *), compare_paths);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a" ENTRY_TYPE));
  for (guint i = 0; i < n; i++)
    {
      const QlRegistryCacheEntry *e = g_hash_table_lookup (entries, paths[i]);
      const char * const none[] = { NULL };

      g_variant_builder_add (&builder, ENTRY_BUILD, e->path, e->dev, e->inode, e->size,
                             e->mtime_ns, e->ctime_ns, e->family, e->error_code,
                             e->error_message != NULL ? e->error_message : "",
                             e->description != NULL ? e->description : "",
                             e->version != NULL ? e->version : "",
                             e->license != NULL ? e->license : "", e->abi_major, e->abi_minor,
                             e->device_types != NULL ? (const char * const *) e->device_types : none);
    }
  data = g_variant_ref_sink (g_variant_new ("(ss@a" ENTRY_TYPE ")", FORMAT, QL_VERSION,
                                            g_variant_builder_end (&builder)));
  return ql_cache_file_write (path, magic, data, error);
}
