/* qlaunch — the registry cache.
 *
 * One file per user and architecture, `<cache dir>/registry-<arch>.cache`
 * (ql-cache-file.c: 0600 in a 0700 directory, written atomically, read as
 * untrusted input). For each plugin file a registry opened, keyed by its
 * path, it records the file's identity (device, inode, size, mtime and
 * ctime: a chmod or chown changes the ctime) and what opening it gave:
 * the plugin's descriptor and device types with their properties (what
 * `qlaunch inspect` shows), or the load error. A registry
 * with a cache opens a plugin file whose identity matches its entry only
 * when one of its device types is used; a file that failed is not opened
 * again until it changes. For each search directory it records the names
 * of its plugin files and the directory's identity, so that a directory
 * unchanged since is not read again. The format string and qlaunch's
 * version are part of the file: another qlaunch's cache is ignored and
 * rewritten. */
#include "ql-registry-cache.h"
#include "ql-cache-file.h"
#include "ql-gvariant-tuple.h"
#include "ql-private.h"

#include <string.h>

#define FORMAT "qlaunch-registry-6"
/* The payload: (format, qlaunch version, paths, identities, texts,
 * directories, dir texts, type index): entry i is the i-th of paths,
 * identities and texts. Laid out so that a reader decodes only the
 * entries of the files it meets, each in a few steps (a command pays for
 * the plugin files it looks at, not for every file the cache knows), and
 * of those only the parts it uses:
 *   paths:      every path, each ended by a NUL, in one byte array;
 *   identities: a fixed-size array of IDENTITY_TYPE, read in place,
 *               which also says where the entry's texts and types are,
 *               the types' hash, and whether another entry has one of
 *               its device types (IDENTITY_TYPES_UNIQUE);
 *   texts:      one byte array; per entry, NUL-ended strings: family,
 *               error message, description, version, license, then the
 *               device types;
 *   directories: per search directory a registry listed, a fixed-size
 *               DIR_TYPE, read in place: its identity (device, inode,
 *               mtime, ctime), when it was read, and where in the dir
 *               texts its path and the names of its plugin files then
 *               (sorted, each ended by a NUL) are;
 *   dir texts:  one byte array of those (see ql_registry_cache_dir_names());
 *   type index: per device type of each entry that loaded, a fixed-size
 *               TYPE_REF_TYPE (the entry's index, where in texts the
 *               type's name is), sorted by name: which entries provide a
 *               type, found without decoding any (see
 *               ql_registry_cache_type_owners()).
 * The file's tail (ql_cache_file_read_payload(): not hashed with the
 * payload, so that a command that describes no type does not pay for
 * them): per entry that loaded, the descriptions of its device types, in
 * their order: the number of types, then per type the size of its
 * description and the description in compact form
 * (ql_device_type_info_write_compact()); 32-bit little-endian numbers.
 * They are checked, against their hash and as untrusted input, only when
 * a type of the entry is described. */
#define IDENTITY_TYPE "(tttxxiuuuuuuut)"
#define DIR_TYPE "(ttxxxuuuu)"
#define TYPE_REF_TYPE "(uu)"
/* ql_registry_cache_read() splits it by its members' alignments (1 for
 * s and ay, 8 for the identity arrays, 4 for the type index): keep them in
 * step. */
#define CACHE_TYPE "(ssaya" IDENTITY_TYPE "aya" DIR_TYPE "aya" TYPE_REF_TYPE ")"
/* A directory listing is trusted only if the directory's last change
 * (mtime, ctime) was more than this long before it was read: a file
 * added in the same tick of the file system's clock as the change
 * before it (or within the timestamp granularity of file systems with
 * coarse ones) leaves the directory's times as they were. */
#define DIR_SETTLED_NS (G_GINT64_CONSTANT (2) * G_GINT64_CONSTANT (1000000000))
#define N_FIXED_TEXTS 5

/* IDENTITY_TYPE as GVariant lays it out (a fixed-size tuple is laid out as
 * the C structure with natural alignment). */
typedef struct
{
  guint64 dev;
  guint64 inode;
  guint64 size;
  gint64  mtime_ns;
  gint64  ctime_ns;
  gint32  error_code;
  guint32 abi_major;
  guint32 abi_minor;
  guint32 texts_offset;  /* in texts */
  guint32 texts_length;
  guint32 types_offset;  /* in the tail */
  guint32 types_length;
  guint32 flags;         /* IDENTITY_* */
  guint64 types_hash;    /* ql_cache_file_hash() of them */
} Identity;

/* Identity.flags: no other entry of the file provides a device type of
 * this one (as the writer saw it). */
#define IDENTITY_TYPES_UNIQUE 1u

G_STATIC_ASSERT (sizeof (Identity) == 80);

/* DIR_TYPE as GVariant lays it out. */
typedef struct
{
  guint64 dev;
  guint64 inode;
  gint64  mtime_ns;
  gint64  ctime_ns;
  gint64  read_ns;       /* the real time just before it was read */
  guint32 path_offset;   /* in the dir texts */
  guint32 path_length;   /* its NUL included */
  guint32 names_offset;
  guint32 names_length;
} DirIdentity;

G_STATIC_ASSERT (sizeof (DirIdentity) == 56);

/* TYPE_REF_TYPE as GVariant lays it out. */
typedef struct
{
  guint32 entry;         /* the entry's index */
  guint32 name_offset;   /* in texts, within the entry's texts */
} TypeRef;

G_STATIC_ASSERT (sizeof (TypeRef) == 8);

/* What became of the file's type index. */
enum
{
  TYPE_INDEX_UNCHECKED,
  TYPE_INDEX_USABLE,
  TYPE_INDEX_UNUSABLE,
};

/* A search directory as a registry last listed it. */
typedef struct
{
  DirIdentity id;      /* its offsets unused */
  const char *path;
  const char *names;   /* its plugin files' names, sorted, each NUL-ended */
  gsize       names_len;
  gboolean    in_place; /* the strings point into the file's data */
} DirListing;

/* What became of an entry of the file. */
enum
{
  ENTRY_UNREAD,                /* not decoded yet */
  ENTRY_DECODED,               /* in decoded[] (or replaced there) */
  ENTRY_GONE,                  /* dropped (made no sense) or removed */
};

struct _QlRegistryCache
{
  /* path → QlRegistryCacheEntry (owned): the entries of paths the file
   * does not have, and, once merged, every entry. */
  GHashTable     *entries;
  gboolean        merged;
  /* What the file holds and was not decoded yet: */
  GBytes         *payload;     /* (nullable): keeps the pointers below
                                * valid */
  GBytes         *tail;        /* the device type descriptions */
  const char     *texts;
  gsize           texts_len;
  const guint8   *types;
  gsize           types_len;
  const Identity *identities;
  const TypeRef  *type_refs;
  gsize           n_type_refs;
  guint8          type_index;  /* TYPE_INDEX_* */
  /* The file's paths (in data), sorted as written (a file whose paths
   * are not is damaged). */
  const char    **paths;
  gsize           n_paths;
  guint8         *state;       /* per path: ENTRY_* */
  QlRegistryCacheEntry **decoded; /* per path: its entry (owned) while not merged */
  gsize           finger;      /* the index last found: the next lookup tries the one after */
  /* Decoded entries are carved from these blocks (owned), not allocated
   * one by one; entry->in_place says so. */
  GPtrArray      *blocks;
  guint8         *block_next;
  gsize           block_left;
  GPtrArray      *dirs;        /* DirListing (owned) */
};

static const char magic[QL_CACHE_FILE_MAGIC_SIZE] = { 'Q', 'L', 'R', 'E', 'G', 'S', '\0', 2 };

static void
dir_listing_free (gpointer data)
{
  DirListing *dir = data;

  if (!dir->in_place)
    {
      g_free ((char *) dir->path);
      g_free ((char *) dir->names);
    }
  g_free (dir);
}

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
  if (entry->in_place)
    {
      /* Decoded: nothing of its own but the types' descriptions (its
       * memory is the cache's). */
      g_free (entry->types_owned);
      return;
    }
  g_free (entry->path);
  g_free (entry->family);
  g_free (entry->error_message);
  g_free (entry->description);
  g_free (entry->version);
  g_free (entry->license);
  g_strfreev (entry->device_types);
  g_free (entry->types_owned);
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

/* Sets the descriptions of @entry's device types: @types (GBytes, each
 * of ql_device_type_info_serialize()), one per device type in their
 * order. */
void
ql_registry_cache_entry_set_types (QlRegistryCacheEntry *entry,
                                   GPtrArray            *types)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  guint32 n = GUINT32_TO_LE (types->len);

  g_byte_array_append (out, (const guint8 *) &n, sizeof n);
  for (guint i = 0; i < types->len; i++)
    {
      gsize len = 0;
      const guint8 *data = g_bytes_get_data (g_ptr_array_index (types, i), &len);
      guint32 size = GUINT32_TO_LE ((guint32) len);

      g_byte_array_append (out, (const guint8 *) &size, sizeof size);
      if (len > 0)
        g_byte_array_append (out, data, (guint) len);
    }
  g_free (entry->types_owned);
  entry->types_len = out->len;
  entry->types_owned = g_byte_array_free (g_steal_pointer (&out), FALSE);
  entry->types_data = entry->types_owned;
  entry->types_hash = ql_cache_file_hash (entry->types_data, entry->types_len);
}

static gboolean
types_bad (const QlRegistryCacheEntry  *entry,
           GError                     **error,
           const char                  *what)
{
  g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE,
               "registry cache entry of '%s': its device type descriptions %s", entry->path, what);
  return FALSE;
}

/* Where the description of each of @entry's device types is (its
 * @starts and @sizes, n_types + 1 each), checked: the hash, the count, the
 * sizes against what is there, the names against the device types. */
static gboolean
entry_types (const QlRegistryCacheEntry  *entry,
             const guint8               **starts,
             guint32                     *sizes,
             GError                     **error)
{
  const guint8 *p = entry->types_data;
  const guint8 *end = p + entry->types_len;
  guint n_types = g_strv_length (entry->device_types);
  guint32 n;

  if (entry->types_len < sizeof n)
    return types_bad (entry, error, "are missing");
  if (ql_cache_file_hash (entry->types_data, entry->types_len) != entry->types_hash)
    return types_bad (entry, error, "do not match their hash");
  memcpy (&n, p, sizeof n);
  p += sizeof n;
  if (GUINT32_FROM_LE (n) != n_types)
    return types_bad (entry, error, "are not one per device type");
  for (guint i = 0; i < n_types; i++)
    {
      guint32 size;
      gsize name_len = strlen (entry->device_types[i]) + 1;

      if ((gsize) (end - p) < sizeof size)
        return types_bad (entry, error, "are cut short");
      memcpy (&size, p, sizeof size);
      size = GUINT32_FROM_LE (size);
      p += sizeof size;
      if (size > (gsize) (end - p))
        return types_bad (entry, error, "reach past their end");
      /* Each starts with its type's name. */
      if (size < name_len || memcmp (p, entry->device_types[i], name_len) != 0)
        return types_bad (entry, error, "are not of its device types, in order");
      starts[i] = p;
      sizes[i] = size;
      p += size;
    }
  if (p != end)
    return types_bad (entry, error, "have bytes after the last");
  return TRUE;
}

/* One description of @entry, read and checked, of a type of its plugin. */
static QlDeviceTypeInfo *
entry_type_info (const QlRegistryCacheEntry  *entry,
                 const guint8                *data,
                 gsize                        len,
                 GError                     **error)
{
  g_autoptr(QlDeviceTypeInfo) info = ql_device_type_info_read_compact (data, len, error);

  if (info == NULL)
    return NULL;
  if (g_strcmp0 (ql_device_type_info_get_plugin (info), entry->family) != 0)
    {
      types_bad (entry, error, "are of another plugin");
      return NULL;
    }
  return g_steal_pointer (&info);
}

/* The description of @type_name, one of @entry's device types, decoded
 * now and checked (the cache is untrusted input); an error names what
 * makes no sense. */
QlDeviceTypeInfo *
ql_registry_cache_entry_describe (const QlRegistryCacheEntry *entry,
                                  const char                 *type_name,
                                  GError                    **error)
{
  guint n_types = g_strv_length (entry->device_types);
  g_autofree const guint8 **starts = g_new0 (const guint8 *, n_types + 1);
  g_autofree guint32 *sizes = g_new0 (guint32, n_types + 1);

  if (!entry_types (entry, starts, sizes, error))
    return NULL;
  for (guint i = 0; i < n_types; i++)
    if (strcmp (entry->device_types[i], type_name) == 0)
      return entry_type_info (entry, starts[i], sizes[i], error);
  g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE,
               "registry cache entry of '%s': no device type '%s'", entry->path, type_name);
  return NULL;
}

/* Every description of @entry, decoded now and checked; an error names
 * the first that makes no sense. */
GPtrArray *
ql_registry_cache_entry_describe_all (const QlRegistryCacheEntry *entry,
                                      GError                    **error)
{
  guint n_types = g_strv_length (entry->device_types);
  g_autofree const guint8 **starts = g_new0 (const guint8 *, n_types + 1);
  g_autofree guint32 *sizes = g_new0 (guint32, n_types + 1);
  g_autoptr(GPtrArray) infos = NULL;

  if (!entry_types (entry, starts, sizes, error))
    return NULL;
  infos = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_device_type_info_unref);
  for (guint i = 0; i < n_types; i++)
    {
      QlDeviceTypeInfo *info = entry_type_info (entry, starts[i], sizes[i], error);

      if (info == NULL)
        return NULL;
      g_ptr_array_add (infos, info);
    }
  return g_steal_pointer (&infos);
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

/**
 * ql_registry_cache_path_hash:
 * @key: a path
 *
 * A hash for tables of plugin file paths: their last bytes and their
 * length. Such paths share long heads (their directory) and differ in
 * their tails; hashing only the tail costs the same for every path.
 *
 * Returns: the hash
 */
guint
ql_registry_cache_path_hash (gconstpointer key)
{
  const char *path = key;
  gsize len = strlen (path);
  const char *p = path + (len > 24 ? len - 24 : 0);
  guint32 h = 2166136261u ^ (guint32) len;

  for (; *p != '\0'; p++)
    h = (h ^ (guchar) *p) * 16777619u;
  return h;
}

/**
 * ql_registry_cache_new:
 *
 * An empty cache.
 *
 * Returns: (transfer full): the cache
 */
QlRegistryCache *
ql_registry_cache_new (void)
{
  QlRegistryCache *cache = g_new0 (QlRegistryCache, 1);

  cache->entries = g_hash_table_new_full (ql_registry_cache_path_hash, g_str_equal, NULL,
                                          (GDestroyNotify) ql_registry_cache_entry_free);
  cache->dirs = g_ptr_array_new_with_free_func (dir_listing_free);
  cache->blocks = g_ptr_array_new_with_free_func (g_free);
  return cache;
}

void
ql_registry_cache_free (QlRegistryCache *cache)
{
  if (cache == NULL)
    return;
  if (!cache->merged)
    for (gsize i = 0; i < cache->n_paths; i++)
      if (cache->state[i] == ENTRY_DECODED)
        ql_registry_cache_entry_free (cache->decoded[i]);
  g_hash_table_unref (cache->entries);
  g_ptr_array_unref (cache->dirs);
  g_ptr_array_unref (cache->blocks);
  g_free (cache->paths);
  g_free (cache->state);
  g_free (cache->decoded);
  g_clear_pointer (&cache->payload, g_bytes_unref);
  g_clear_pointer (&cache->tail, g_bytes_unref);
  g_free (cache);
}

/* Whether the @len bytes at @p are all ASCII (then every string in them is
 * valid UTF-8). */
static gboolean
all_ascii (const char *p,
           gsize       len)
{
  guint64 any = 0, word;
  gsize i = 0;

  for (; i + sizeof word <= len; i += sizeof word)
    {
      memcpy (&word, p + i, sizeof word);
      any |= word;
    }
  for (; i < len; i++)
    any |= (guchar) p[i];
  return (any & G_GUINT64_CONSTANT (0x8080808080808080)) == 0;
}

/* @size zeroed bytes, aligned for a QlRegistryCacheEntry, valid as long as
 * @cache. */
static gpointer
cache_alloc0 (QlRegistryCache *cache,
              gsize            size)
{
  const gsize align = G_ALIGNOF (QlRegistryCacheEntry) > 8 ? G_ALIGNOF (QlRegistryCacheEntry) : 8;
  const gsize block_size = 8192;
  gpointer mem;

  size = (size + align - 1) & ~(align - 1);
  if (size > cache->block_left)
    {
      gsize new_size = MAX (block_size, size);

      /* g_malloc: aligned for any type. Not zeroed here: a warm call
       * decodes one entry or two, and zeroing the block would touch (and
       * fault in) two fresh pages for them. */
      cache->block_next = g_malloc (new_size);
      cache->block_left = new_size;
      g_ptr_array_add (cache->blocks, cache->block_next);
    }
  mem = cache->block_next;
  cache->block_next += size;
  cache->block_left -= size;
  return memset (mem, 0, size);
}

/* Whether the @length bytes at @offset lie inside the @text_len bytes of
 * @text and, unless there are none, end with a NUL (so every string in
 * them ends inside them). */
static gboolean
nul_ended_range (const char *text,
                 gsize       text_len,
                 guint64     offset,
                 guint64     length)
{
  return offset <= text_len && length <= text_len - offset
         && (length == 0 || text[offset + length - 1] == '\0');
}

/* The texts of the entry of @id, if they lie inside the file's texts, are
 * not empty and end with a NUL; else NULL. */
static const char *
entry_texts (QlRegistryCache *cache,
             const Identity  *id)
{
  if (id->texts_length == 0 || !nul_ended_range (cache->texts, cache->texts_len, id->texts_offset, id->texts_length))
    return NULL;
  return cache->texts + id->texts_offset;
}

/* Whether the type descriptions of the entry of @id lie inside the tail. */
static gboolean
entry_types_in_tail (QlRegistryCache *cache,
                     const Identity  *id)
{
  return id->types_offset <= cache->types_len && id->types_length <= cache->types_len - id->types_offset;
}

/* Entry @index of the file, if it makes sense (the file is untrusted:
 * nothing in it is taken for granted). Its strings point into the file's
 * data. */
static QlRegistryCacheEntry *
decode (QlRegistryCache *cache,
        gsize            index)
{
  const Identity *id = &cache->identities[index];
  const char *path = cache->paths[index];
  const char *texts[N_FIXED_TEXTS];
  const char *start, *end, *p;
  QlRegistryCacheEntry *entry;
  gboolean ascii;
  gsize len;
  guint n = 0, n_types = 0;

  start = entry_texts (cache, id);
  if (!g_path_is_absolute (path) || start == NULL || !entry_types_in_tail (cache, id))
    return NULL;
  len = id->texts_length;
  end = start + len;
  ascii = all_ascii (start, len);
  for (p = start; p < end; p += strlen (p) + 1, n++)
    {
      if (!ascii && !g_utf8_validate (p, -1, NULL))
        return NULL;
      if (n < N_FIXED_TEXTS)
        texts[n] = p;
      else if (ql_name_is_valid (p))
        n_types++;
      else
        return NULL;
    }
  if (n < N_FIXED_TEXTS || !ql_name_is_valid (texts[0]))
    return NULL;
  if (id->error_code >= 0)
    {
      if (texts[1][0] == '\0' || id->types_length != 0)
        return NULL;
    }
  else if (id->error_code != -1 || n_types == 0 || id->types_length == 0)
    return NULL;

  /* The entry and its types' array, in the cache's memory. */
  entry = cache_alloc0 (cache, sizeof (QlRegistryCacheEntry) + (n_types + 1) * sizeof (char *));
  entry->in_place = TRUE;
  entry->path = (char *) path;
  entry->device_types = (char **) (entry + 1);
  p = texts[N_FIXED_TEXTS - 1];
  for (guint i = 0; i < n_types; i++)
    {
      p += strlen (p) + 1;
      entry->device_types[i] = (char *) p;
    }
  entry->device_types[n_types] = NULL;

  entry->dev = id->dev;
  entry->inode = id->inode;
  entry->size = id->size;
  entry->mtime_ns = id->mtime_ns;
  entry->ctime_ns = id->ctime_ns;
  entry->error_code = id->error_code;
  entry->abi_major = id->abi_major;
  entry->abi_minor = id->abi_minor;
  entry->family = (char *) texts[0];
  entry->description = (char *) texts[2];
  entry->version = (char *) texts[3];
  entry->license = (char *) texts[4];
  if (entry->error_code >= 0)
    {
      entry->error_message = (char *) texts[1];
      return entry;
    }
  /* Checked when decoded (ql_registry_cache_entry_describe()). */
  entry->types_data = cache->types + id->types_offset;
  entry->types_len = id->types_length;
  entry->types_hash = id->types_hash;
  return entry;
}

/* Whether @span is the serialized string @expected: its bytes and one NUL. */
static gboolean
span_is_string (const QlTupleSpan *span,
                const char        *expected)
{
  gsize len = strlen (expected);

  return span->size == len + 1 && memcmp (span->data, expected, len + 1) == 0;
}

/**
 * ql_registry_cache_read:
 * @path: the cache file
 *
 * Reads the cache. Nothing is an error: a missing, foreign, damaged or
 * unsafe file gives %NULL. Entries are decoded when looked up; one that
 * makes no sense is left out then.
 *
 * Returns: (transfer full) (nullable): the cache, or %NULL
 */
QlRegistryCache *
ql_registry_cache_read (const char *path)
{
  /* The members of CACHE_TYPE, each with its type's alignment. */
  enum { FORMAT_S, VERSION_S, PATHS, IDENTITIES, TEXTS, DIRS, DIR_TEXTS, TYPE_REFS, N_PARTS };
  static const guint8 alignments[N_PARTS] = { 1, 1, 1, 8, 1, 8, 1, 4 };
  g_autoptr(GBytes) tail = NULL;
  g_autoptr(GBytes) payload = ql_cache_file_read_payload (path, magic, G_VARIANT_TYPE (CACHE_TYPE), &tail);
  g_autoptr(QlRegistryCache) cache = NULL;
  QlTupleSpan part[N_PARTS];
  const char *p, *end;
  gsize n = 0;

  if (payload == NULL)
    return NULL;
  if (!ql_gvariant_split_tuple (payload, alignments, N_PARTS, part))
    {
      g_debug ("qlaunch: %s is damaged (its payload is not a tuple of %d members)", path, N_PARTS);
      return NULL;
    }
  if (!span_is_string (&part[FORMAT_S], FORMAT) || !span_is_string (&part[VERSION_S], QL_VERSION))
    {
      g_debug ("qlaunch: %s was written by another qlaunch", path);
      return NULL;
    }
  if (part[IDENTITIES].size % sizeof (Identity) != 0 || part[DIRS].size % sizeof (DirIdentity) != 0
      || part[TYPE_REFS].size % sizeof (TypeRef) != 0)
    {
      g_debug ("qlaunch: %s is damaged (an array of records is cut)", path);
      return NULL;
    }
  cache = ql_registry_cache_new ();
  cache->types = tail != NULL ? g_bytes_get_data (tail, &cache->types_len) : NULL;
  cache->texts = (const char *) part[TEXTS].data;
  cache->texts_len = part[TEXTS].size;
  cache->identities = (const Identity *) (gconstpointer) part[IDENTITIES].data;
  p = (const char *) part[PATHS].data;
  end = p + part[PATHS].size;
  if (part[PATHS].size > 0 && end[-1] != '\0')
    {
      g_debug ("qlaunch: %s is damaged (its paths are not terminated)", path);
      return NULL;
    }
  for (const char *q = p; q < end; q += strlen (q) + 1)
    n++;
  cache->paths = g_new (const char *, n + 1);
  cache->state = g_new0 (guint8, n + 1);
  cache->decoded = g_new (QlRegistryCacheEntry *, n + 1);
  cache->n_paths = n;
  for (gsize i = 0; p < end; p += strlen (p) + 1)
    {
      /* Sorted, each once: a path is found (binary search) at its index
       * or not at all. */
      if (i > 0 && strcmp (cache->paths[i - 1], p) >= 0)
        {
          g_debug ("qlaunch: %s is damaged (its paths are out of order)", path);
          return NULL;
        }
      cache->paths[i++] = p;
    }
  if (n != part[IDENTITIES].size / sizeof (Identity))
    {
      g_debug ("qlaunch: %s is damaged (%" G_GSIZE_FORMAT " paths, %" G_GSIZE_FORMAT
               " identities)", path, n, part[IDENTITIES].size / sizeof (Identity));
      return NULL;
    }
  {
    gsize n_dirs = part[DIRS].size / sizeof (DirIdentity), dir_texts_len = part[DIR_TEXTS].size;
    const DirIdentity *dir_ids = (const DirIdentity *) (gconstpointer) part[DIRS].data;
    const char *dir_text = (const char *) part[DIR_TEXTS].data;

    for (gsize i = 0; i < n_dirs; i++)
      {
        const DirIdentity *id = &dir_ids[i];
        DirListing *dir;

        /* Each string inside the dir texts, NUL-ended; else left out. */
        if (id->path_length == 0 || !nul_ended_range (dir_text, dir_texts_len, id->path_offset, id->path_length)
            || !nul_ended_range (dir_text, dir_texts_len, id->names_offset, id->names_length))
          continue;
        dir = g_new0 (DirListing, 1);
        dir->id = *id;
        dir->path = dir_text + id->path_offset;
        dir->names = dir_text + id->names_offset;
        dir->names_len = id->names_length;
        dir->in_place = TRUE;
        g_ptr_array_add (cache->dirs, dir);
      }
  }
  /* Checked when first used (ql_registry_cache_type_owners()). */
  cache->type_refs = (const TypeRef *) (gconstpointer) part[TYPE_REFS].data;
  cache->n_type_refs = part[TYPE_REFS].size / sizeof (TypeRef);
  cache->tail = g_steal_pointer (&tail);
  cache->payload = g_steal_pointer (&payload);
  return g_steal_pointer (&cache);
}

/* The index of @path among the file's paths (a binary search: they were
 * written sorted), or -1. */
static gssize
find_path (QlRegistryCache *cache,
           const char      *path)
{
  gsize lo = 0, hi = cache->n_paths;

  /* A scan looks its files up in order, each twice: the one last found
   * or the one after it is the likely answer. */
  for (gsize i = cache->finger; i < cache->n_paths && i <= cache->finger + 1; i++)
    if (strcmp (path, cache->paths[i]) == 0)
      {
        cache->finger = i;
        return (gssize) i;
      }
  while (lo < hi)
    {
      gsize mid = lo + (hi - lo) / 2;
      int cmp = strcmp (path, cache->paths[mid]);

      if (cmp == 0)
        {
          cache->finger = mid;
          return (gssize) mid;
        }
      if (cmp < 0)
        hi = mid;
      else
        lo = mid + 1;
    }
  return -1;
}

static QlRegistryCacheEntry *lookup_index (QlRegistryCache *cache,
                                           gsize            index);

/* The index of @path among the file's paths while their entries are kept
 * by index (not merged), or -1: then the entries table holds it. */
static gssize
file_index (QlRegistryCache *cache,
            const char      *path)
{
  return cache->merged ? -1 : find_path (cache, path);
}

/**
 * ql_registry_cache_lookup:
 * @cache: a cache
 * @path: a plugin file
 *
 * The entry of @path, decoded from the file at the first lookup; one that
 * makes no sense is dropped.
 *
 * Returns: (transfer none) (nullable): the entry, or %NULL
 */
QlRegistryCacheEntry *
ql_registry_cache_lookup (QlRegistryCache *cache,
                          const char      *path)
{
  gssize index = file_index (cache, path);

  if (index < 0)
    return g_hash_table_lookup (cache->entries, path);
  return lookup_index (cache, (gsize) index);
}

/**
 * ql_registry_cache_vouching_index:
 * @cache: a cache
 * @path: a plugin file
 * @st: the status of its file now
 * @family: the family its file's name gives
 *
 * Where the file's own entry of @path is, for the ql_registry_cache_file_*()
 * functions, if that entry, read in place (not decoded), says that @st is
 * the file it knows, that it loaded, as plugin family @family, and that no
 * other entry of the file provides a device type of it. None while @cache
 * is merged (ql_registry_cache_get_entries()), nor once the entry was
 * replaced or removed. The entry may still make no sense
 * (ql_registry_cache_file_entry()).
 *
 * Returns: its index, or -1
 */
gssize
ql_registry_cache_vouching_index (QlRegistryCache   *cache,
                                  const char        *path,
                                  const struct stat *st,
                                  const char        *family)
{
  gssize index = file_index (cache, path);
  const Identity *id;
  const char *texts;

  if (index < 0 || cache->state[index] == ENTRY_GONE
      || (cache->state[index] == ENTRY_DECODED && !cache->decoded[index]->in_place))
    return -1;
  id = &cache->identities[index];
  if (id->error_code != -1 || (id->flags & IDENTITY_TYPES_UNIQUE) == 0
      || id->dev != (guint64) st->st_dev || id->inode != (guint64) st->st_ino
      || id->size != (guint64) st->st_size || id->mtime_ns != stat_mtime_ns (st)
      || id->ctime_ns != stat_ctime_ns (st))
    return -1;
  /* As decode() checks them: what can be, without reading more. Its
   * first text is the family. */
  texts = entry_texts (cache, id);
  if (texts == NULL || !entry_types_in_tail (cache, id) || id->types_length == 0
      || cache->paths[index][0] != '/' || strcmp (texts, family) != 0)
    return -1;
  return index;
}

/**
 * ql_registry_cache_file_entry:
 * @cache: a cache
 * @index: an entry's index (ql_registry_cache_vouching_index())
 *
 * As ql_registry_cache_lookup() of entry @index's path.
 *
 * Returns: (transfer none) (nullable): the entry, or %NULL
 */
QlRegistryCacheEntry *
ql_registry_cache_file_entry (QlRegistryCache *cache,
                              gsize            index)
{
  g_return_val_if_fail (!cache->merged && index < cache->n_paths, NULL);
  return lookup_index (cache, index);
}

/**
 * ql_registry_cache_file_path:
 * @cache: a cache
 * @index: an entry's index (ql_registry_cache_vouching_index())
 *
 * Returns: entry @index's path (valid as long as @cache)
 */
const char *
ql_registry_cache_file_path (QlRegistryCache *cache,
                             gsize            index)
{
  g_return_val_if_fail (!cache->merged && index < cache->n_paths, NULL);
  return cache->paths[index];
}

/**
 * ql_registry_cache_n_file_entries:
 * @cache: a cache
 *
 * Returns: how many entries the file has (their indices are below it); 0
 *   once @cache is merged
 */
gsize
ql_registry_cache_n_file_entries (QlRegistryCache *cache)
{
  return cache->merged ? 0 : cache->n_paths;
}

/* Whether the file's type index makes sense: each name inside its
 * entry's texts, in order. Checked once, when first used. */
static gboolean
type_index_usable (QlRegistryCache *cache)
{
  const char *previous = NULL;

  if (cache->type_index != TYPE_INDEX_UNCHECKED)
    return cache->type_index == TYPE_INDEX_USABLE;
  cache->type_index = TYPE_INDEX_UNUSABLE;
  for (gsize i = 0; i < cache->n_type_refs; i++)
    {
      const TypeRef *ref = &cache->type_refs[i];
      const Identity *id;
      const char *name;

      if (ref->entry >= cache->n_paths)
        return FALSE;
      id = &cache->identities[ref->entry];
      if (entry_texts (cache, id) == NULL || ref->name_offset < id->texts_offset
          || ref->name_offset - id->texts_offset >= id->texts_length)
        return FALSE;
      name = cache->texts + ref->name_offset;
      if (previous != NULL && strcmp (previous, name) > 0)
        return FALSE;
      previous = name;
    }
  cache->type_index = TYPE_INDEX_USABLE;
  return TRUE;
}

/**
 * ql_registry_cache_type_owners:
 * @cache: a cache
 * @type_name: a device type name
 * @owners: (out caller-allocates) (array length=max): the indices found
 * @max: the room in @owners
 *
 * The entries of the file that its type index says provide @type_name,
 * found without decoding any: the first @max of them into @owners. The
 * index is only a guide (the file is untrusted): an entry found is
 * decoded, and checked to provide @type_name, before it is used.
 *
 * Returns: how many there are (more than @max: the first @max are in
 *   @owners), or -1: the file's type index makes no sense, or @cache is
 *   merged
 */
gssize
ql_registry_cache_type_owners (QlRegistryCache *cache,
                               const char      *type_name,
                               gsize           *owners,
                               gsize            max)
{
  gsize lo = 0, hi, n = 0;

  if (cache->merged || !type_index_usable (cache))
    return -1;
  hi = cache->n_type_refs;
  while (lo < hi)
    {
      gsize mid = lo + (hi - lo) / 2;

      if (strcmp (cache->texts + cache->type_refs[mid].name_offset, type_name) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  for (; lo < cache->n_type_refs && strcmp (cache->texts + cache->type_refs[lo].name_offset, type_name) == 0; lo++)
    {
      if (n < max)
        owners[n] = cache->type_refs[lo].entry;
      n++;
    }
  return (gssize) n;
}

/* ql_registry_cache_lookup() of the file's entry @index. */
static QlRegistryCacheEntry *
lookup_index (QlRegistryCache *cache,
              gsize            index)
{
  const char *path = cache->paths[index];
  QlRegistryCacheEntry *entry;

  switch (cache->state[index])
    {
    case ENTRY_DECODED:
      return cache->decoded[index];
    case ENTRY_GONE:
      return NULL;
    default:
      break;
    }
  entry = decode (cache, (gsize) index);
  if (entry == NULL)
    {
      g_debug ("qlaunch: registry cache entry of %s makes no sense, ignored", path);
      cache->state[index] = ENTRY_GONE;
      return NULL;
    }
  cache->decoded[index] = entry;
  cache->state[index] = ENTRY_DECODED;
  return entry;
}

/**
 * ql_registry_cache_replace:
 * @cache: a cache
 * @entry: (transfer full): an entry
 *
 * Adds @entry, replacing the entry of its path.
 */
void
ql_registry_cache_replace (QlRegistryCache      *cache,
                           QlRegistryCacheEntry *entry)
{
  gssize index = file_index (cache, entry->path);

  if (index < 0)
    {
      g_hash_table_replace (cache->entries, entry->path, entry);
      return;
    }
  if (cache->state[index] == ENTRY_DECODED)
    ql_registry_cache_entry_free (cache->decoded[index]);
  cache->decoded[index] = entry;
  cache->state[index] = ENTRY_DECODED;
}

/**
 * ql_registry_cache_remove:
 * @cache: a cache
 * @path: a plugin file
 *
 * Returns: whether @cache had an entry for @path
 */
gboolean
ql_registry_cache_remove (QlRegistryCache *cache,
                          const char      *path)
{
  gssize index = file_index (cache, path);
  gboolean had;

  if (index < 0)
    return g_hash_table_remove (cache->entries, path);
  had = cache->state[index] != ENTRY_GONE;
  if (cache->state[index] == ENTRY_DECODED)
    ql_registry_cache_entry_free (cache->decoded[index]);
  cache->state[index] = ENTRY_GONE;
  return had;
}

static DirListing *
find_dir (QlRegistryCache *cache,
          const char      *path,
          guint           *index)
{
  for (guint i = 0; i < cache->dirs->len; i++)
    {
      DirListing *dir = g_ptr_array_index (cache->dirs, i);

      if (strcmp (dir->path, path) == 0)
        {
          if (index != NULL)
            *index = i;
          return dir;
        }
    }
  return NULL;
}

static gboolean
dir_identity_settled (const DirIdentity *id)
{
  return id->read_ns - id->mtime_ns > DIR_SETTLED_NS && id->read_ns - id->ctime_ns > DIR_SETTLED_NS;
}

static gboolean
dir_listing_matches (const DirListing  *dir,
                     const struct stat *st)
{
  return dir->id.dev == (guint64) st->st_dev && dir->id.inode == (guint64) st->st_ino
         && dir->id.mtime_ns == stat_mtime_ns (st) && dir->id.ctime_ns == stat_ctime_ns (st);
}

/**
 * ql_registry_cache_dir_names:
 * @cache: a cache
 * @path: a search directory
 * @st: its status now
 *
 * The names of @path's plugin files (`libqlaunch-*.so`), sorted, as the
 * cache last listed them, if that listing still holds: the directory is
 * the same (device and inode) and has not changed since (its mtime and
 * ctime: adding, removing or renaming an entry sets both), and the listing
 * was read well after the change before it (see DIR_SETTLED_NS). A name
 * that is not a plugin file's, or out of order, makes the listing unusable.
 *
 * Returns: (transfer container) (nullable) (element-type utf8): the names
 *   (valid as long as @cache), or %NULL: list the directory
 */
GPtrArray *
ql_registry_cache_dir_names (QlRegistryCache   *cache,
                             const char        *path,
                             const struct stat *st)
{
  const gsize prefix = sizeof QL_PLUGIN_FILE_PREFIX - 1;
  const gsize suffix = sizeof QL_PLUGIN_FILE_SUFFIX - 1;
  DirListing *dir = find_dir (cache, path, NULL);
  g_autoptr(GPtrArray) names = NULL;
  const char *end, *previous = NULL;

  if (dir == NULL || !dir_listing_matches (dir, st) || !dir_identity_settled (&dir->id))
    return NULL;
  end = dir->names + dir->names_len;
  /* Room for all: each name takes more than 8 bytes. */
  names = g_ptr_array_sized_new ((guint) (dir->names_len / (prefix + suffix) + 1));
  for (const char *p = dir->names, *next; p < end; p = next)
    {
      gsize len = strlen (p);

      next = p + len + 1;
      if (len < prefix + suffix || memcmp (p, QL_PLUGIN_FILE_PREFIX, prefix) != 0
          || memcmp (p + len - suffix, QL_PLUGIN_FILE_SUFFIX, suffix) != 0
          || memchr (p, G_DIR_SEPARATOR, len) != NULL
          || (previous != NULL && strcmp (previous, p) >= 0))
        {
          g_debug ("qlaunch: registry cache listing of %s makes no sense, ignored", path);
          return NULL;
        }
      g_ptr_array_add (names, (gpointer) (previous = p));
    }
  return g_steal_pointer (&names);
}

/**
 * ql_registry_cache_set_dir_names:
 * @cache: a cache
 * @path: a search directory
 * @st: its status before it was read
 * @read_ns: the real time (nanoseconds since the epoch) after @st was
 *   taken, before the directory was read
 * @names: (element-type utf8): the names of its plugin files, sorted
 *
 * Records a listing of @path for ql_registry_cache_dir_names().
 *
 * Returns: whether that changed the cache (a listing that differs, or one
 *   that can now be used where the one before could not)
 */
gboolean
ql_registry_cache_set_dir_names (QlRegistryCache    *cache,
                                 const char         *path,
                                 const struct stat  *st,
                                 gint64              read_ns,
                                 GPtrArray          *names)
{
  g_autoptr(GByteArray) blob = g_byte_array_new ();
  DirListing *dir;
  guint index;

  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);

      g_byte_array_append (blob, (const guint8 *) name, (guint) strlen (name) + 1);
    }
  dir = find_dir (cache, path, &index);
  if (dir != NULL)
    {
      DirIdentity now = { st->st_dev, st->st_ino, stat_mtime_ns (st), stat_ctime_ns (st), read_ns, 0, 0, 0, 0 };

      if (dir_listing_matches (dir, st) && dir->names_len == blob->len
          && memcmp (dir->names, blob->data, blob->len) == 0
          && (dir_identity_settled (&dir->id) || !dir_identity_settled (&now)))
        return FALSE;
      g_ptr_array_remove_index (cache->dirs, index);
    }
  dir = g_new0 (DirListing, 1);
  dir->path = g_strdup (path);
  dir->id.dev = st->st_dev;
  dir->id.inode = st->st_ino;
  dir->id.mtime_ns = stat_mtime_ns (st);
  dir->id.ctime_ns = stat_ctime_ns (st);
  dir->id.read_ns = read_ns;
  dir->names_len = blob->len;
  dir->names = (char *) g_byte_array_free (g_steal_pointer (&blob), FALSE);
  g_ptr_array_add (cache->dirs, dir);
  return TRUE;
}

/**
 * ql_registry_cache_prune_dirs:
 * @cache: a cache
 *
 * Drops the listings of directories that are gone or changed.
 */
void
ql_registry_cache_prune_dirs (QlRegistryCache *cache)
{
  for (guint i = cache->dirs->len; i-- > 0;)
    {
      const DirListing *dir = g_ptr_array_index (cache->dirs, i);
      struct stat st;

      if (stat (dir->path, &st) != 0 || !dir_listing_matches (dir, &st))
        g_ptr_array_remove_index (cache->dirs, i);
    }
}

/**
 * ql_registry_cache_get_entries:
 * @cache: a cache
 *
 * Every entry, all decoded (those that make no sense dropped).
 *
 * Returns: (transfer none) (element-type filename QlRegistryCacheEntry):
 *   the entries by path
 */
GHashTable *
ql_registry_cache_get_entries (QlRegistryCache *cache)
{
  if (cache->merged)
    return cache->entries;
  /* From now on the table holds every entry (it held only those of paths
   * the file does not have). */
  for (gsize i = 0; i < cache->n_paths; i++)
    {
      QlRegistryCacheEntry *entry = ql_registry_cache_lookup (cache, cache->paths[i]);

      if (entry != NULL)
        g_hash_table_insert (cache->entries, entry->path, entry);
    }
  cache->merged = TRUE;
  return cache->entries;
}

static int
compare_paths (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static void
append_text (GByteArray *blob,
             const char *text)
{
  g_byte_array_append (blob, (const guint8 *) (text != NULL ? text : ""),
                       (guint) strlen (text != NULL ? text : "") + 1);
}

static int
compare_type_refs (gconstpointer a,
                   gconstpointer b,
                   gpointer      texts)
{
  const TypeRef *ra = a, *rb = b;
  int cmp = strcmp ((const char *) texts + ra->name_offset, (const char *) texts + rb->name_offset);

  return cmp != 0 ? cmp : (ra->entry > rb->entry) - (ra->entry < rb->entry);
}

/* Sorts @refs (into @texts) by name, and flags each entry of
 * @identities none of whose types another entry provides. */
static void
write_type_index (GByteArray *texts,
                  GArray     *refs,
                  Identity   *identities)
{
  TypeRef *r;
  guint n = refs->len;

  g_array_sort_with_data (refs, compare_type_refs, texts->data);
  r = (TypeRef *) (gpointer) refs->data;
  for (guint i = 0; i < n; i++)
    identities[r[i].entry].flags |= IDENTITY_TYPES_UNIQUE;
  for (guint i = 1; i < n; i++)
    if (r[i].entry != r[i - 1].entry
        && strcmp ((const char *) texts->data + r[i].name_offset,
                   (const char *) texts->data + r[i - 1].name_offset) == 0)
      {
        identities[r[i].entry].flags &= ~IDENTITY_TYPES_UNIQUE;
        identities[r[i - 1].entry].flags &= ~IDENTITY_TYPES_UNIQUE;
      }
}

/**
 * ql_registry_cache_write:
 * @path: the cache file
 * @cache: the cache
 * @error: return location for an error
 *
 * Writes the cache atomically, entries sorted by path.
 *
 * Returns: %TRUE if it was written
 */
gboolean
ql_registry_cache_write (const char       *path,
                         QlRegistryCache  *cache,
                         GError          **error)
{
  GHashTable *entries = ql_registry_cache_get_entries (cache);
  g_autofree const char **paths = (const char **) g_hash_table_get_keys_as_array (entries, NULL);
  guint n = g_hash_table_size (entries);
  g_autoptr(GByteArray) path_blob = g_byte_array_new ();
  g_autofree Identity *identities = g_new0 (Identity, n + 1);
  g_autoptr(GByteArray) blob = g_byte_array_new ();
  g_autoptr(GByteArray) types_blob = g_byte_array_new ();
  g_autofree DirIdentity *dir_ids = g_new0 (DirIdentity, cache->dirs->len + 1);
  g_autoptr(GByteArray) dir_texts = g_byte_array_new ();
  g_autoptr(GArray) type_refs = g_array_new (FALSE, FALSE, sizeof (TypeRef));
  GVariant *children[8];
  g_autoptr(GVariant) data = NULL;

  qsort (paths, n, sizeof (char *), compare_paths);
  for (guint i = 0; i < n; i++)
    {
      const QlRegistryCacheEntry *e = g_hash_table_lookup (entries, paths[i]);
      guint start = blob->len;
      guint types_start;

      append_text (path_blob, e->path);
      append_text (blob, e->family);
      append_text (blob, e->error_message);
      append_text (blob, e->description);
      append_text (blob, e->version);
      append_text (blob, e->license);
      for (guint k = 0; e->device_types != NULL && e->device_types[k] != NULL; k++)
        append_text (blob, e->device_types[k]);
      if (e->error_code < 0)
        for (guint k = 0; e->device_types != NULL && e->device_types[k] != NULL; k++)
          {
            TypeRef ref = { i, start };

            /* The k-th type's name: after the five fixed texts and the
             * types before it. */
            for (guint skip = 0; skip < N_FIXED_TEXTS + k; skip++)
              ref.name_offset += (guint32) strlen ((const char *) blob->data + ref.name_offset) + 1;
            g_array_append_val (type_refs, ref);
          }
      types_start = types_blob->len;
      if (e->error_code < 0 && e->types_data != NULL)
        g_byte_array_append (types_blob, e->types_data, (guint) e->types_len);
      identities[i] = (Identity) { e->dev, e->inode, e->size, e->mtime_ns, e->ctime_ns,
                                   e->error_code, e->abi_major, e->abi_minor, start, blob->len - start,
                                   types_start, types_blob->len - types_start, 0,
                                   e->error_code < 0 ? e->types_hash : 0 };
    }
  write_type_index (blob, type_refs, identities);
  children[0] = g_variant_new_string (FORMAT);
  children[1] = g_variant_new_string (QL_VERSION);
  children[2] = g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, path_blob->len > 0 ? path_blob->data : (guint8 *) "",
                                           path_blob->len, 1);
  children[3] = g_variant_new_fixed_array (G_VARIANT_TYPE (IDENTITY_TYPE), identities, n, sizeof (Identity));
  children[4] = g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, blob->len > 0 ? blob->data : (guint8 *) "",
                                           blob->len, 1);
  for (guint i = 0; i < cache->dirs->len; i++)
    {
      const DirListing *dir = g_ptr_array_index (cache->dirs, i);

      dir_ids[i] = dir->id;
      dir_ids[i].path_offset = dir_texts->len;
      append_text (dir_texts, dir->path);
      dir_ids[i].path_length = dir_texts->len - dir_ids[i].path_offset;
      dir_ids[i].names_offset = dir_texts->len;
      if (dir->names_len > 0)
        g_byte_array_append (dir_texts, (const guint8 *) dir->names, (guint) dir->names_len);
      dir_ids[i].names_length = (guint32) dir->names_len;
    }
  children[5] = g_variant_new_fixed_array (G_VARIANT_TYPE (DIR_TYPE), dir_ids, cache->dirs->len,
                                           sizeof (DirIdentity));
  children[6] = g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, dir_texts->len > 0 ? dir_texts->data : (guint8 *) "",
                                           dir_texts->len, 1);
  children[7] = g_variant_new_fixed_array (G_VARIANT_TYPE (TYPE_REF_TYPE), type_refs->data, type_refs->len,
                                           sizeof (TypeRef));
  data = g_variant_ref_sink (g_variant_new_tuple (children, G_N_ELEMENTS (children)));
  return ql_cache_file_write_with_tail (path, magic, data, types_blob->data, types_blob->len, error);
}
