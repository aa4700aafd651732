/* qlaunch — QlRegistry: plugin search, loading and device types. */
#include "ql-private.h"
#include "ql-keyval.h"
#include "ql-plugin-file.h"
#include "ql-registry-cache.h"
#include "ql-registry-scanner.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef QL_SYSTEM_PLUGIN_DIR
#error "QL_SYSTEM_PLUGIN_DIR must be defined by the build"
#endif

/**
 * QlRegistry:
 *
 * The set of loaded device plugins and the device types they provide.
 *
 * A registry searches an ordered list of directories for plugin files
 * (`libqlaunch-<family>.so`): first the directories added with
 * ql_registry_add_search_dir() (the command line's `--plugin-dir`), then
 * those of `QLAUNCH_PLUGIN_PATH` and the installed plugin directory, added by
 * ql_registry_add_env_search_dirs(). ql_registry_scan() loads the plugins;
 * the first file of a family wins. A plugin that cannot be loaded is skipped
 * and its error kept in ql_registry_get_load_errors(): the library itself
 * never prints.
 *
 * Applications that only need the installed and environment plugins use
 * ql_registry_get_default(); tests and tools with their own directories make
 * their own registry with ql_registry_new().
 *
 * A registry is not thread-safe: load plugins from one thread, after which
 * lookups and device creation may run from any thread (with a registry
 * cache, "loaded" means ql_registry_get_plugins() was called: see
 * ql_registry_set_cache_file()).
 */

typedef struct
{
  GType     type;
  QlPlugin *plugin;   /* (nullable) (owned): NULL for application types */
} QlDeviceEntry;

struct _QlRegistry
{
  GObject     parent_instance;

  GPtrArray  *search_dirs;      /* element-type filename, owned */
  GPtrArray  *plugins;          /* element-type QlPlugin, owned, load order */
  GHashTable *plugins_by_name;  /* family → QlPlugin (borrowed from plugins) */
  GHashTable *devices;          /* device type name → QlDeviceEntry */
  GPtrArray  *load_errors;      /* element-type GError, owned */
  GHashTable *failed_files;     /* set of paths that failed during a scan */

  /* The registry cache (ql-registry-cache.c), when one is set: */
  char       *cache_path;
  QlRegistryCache *cache;       /* or NULL: none */
  gboolean    cache_dirty;
  /* Plugin files the cache vouches for, not opened yet; entries borrowed
   * from cache (a pending file's entry is never replaced). */
  GHashTable *pending_types;    /* device type → entry */
  GHashTable *pending_families; /* family → entry */
  GPtrArray  *pending_order;    /* entries, in scan order */
  GHashTable *scan_rank;        /* path → its rank in scan order, plus one */
  guint       next_rank;
  GHashTable *lazy_errors;      /* device type → GError: its plugin failed to load */
  char       *scanner;          /* the plugin scanner, or NULL: open in-process */
  GHashTable *scanned_unusable; /* paths the scanner gave no usable answer for */
  gboolean    scanner_looked_up;
  /* Plugin files the cache vouches for that are not even decoded yet
   * ("lazy"), by their index in the cache file (ql_registry_scan_lazily()):
   * while a first scan meets only such files, each costs one look at its
   * entry where the file holds it. One of their device types is found
   * through the cache file's type index (ql_registry_lazy_owner()); for
   * anything else they are made ordinary pending files first
   * (ql_registry_materialize()). */
  gsize      *lazy;             /* file indices, in scan order */
  guint       n_lazy;
  guint      *lazy_rank;        /* per file index: its rank in scan order, or 0: not lazy */
  gboolean    lazy_done;        /* no more lazy files (the first scan is over) */
  gboolean    materializing;
  gboolean    save_deferred;    /* a save asked for while materializing */
  QlCheckedDirs *checked_dirs;  /* directories checked on the way to plugin files */
};

G_DEFINE_FINAL_TYPE (QlRegistry, ql_registry, G_TYPE_OBJECT)

static void
ql_device_entry_free (gpointer data)
{
  QlDeviceEntry *entry = data;

  g_clear_object (&entry->plugin);
  g_free (entry);
}

static void
ql_registry_finalize (GObject *object)
{
  QlRegistry *self = QL_REGISTRY (object);

  g_clear_pointer (&self->devices, g_hash_table_unref);
  g_clear_pointer (&self->plugins_by_name, g_hash_table_unref);
  g_clear_pointer (&self->plugins, g_ptr_array_unref);
  g_clear_pointer (&self->search_dirs, g_ptr_array_unref);
  g_clear_pointer (&self->load_errors, g_ptr_array_unref);
  g_clear_pointer (&self->failed_files, g_hash_table_unref);
  g_clear_pointer (&self->pending_types, g_hash_table_unref);
  g_clear_pointer (&self->pending_families, g_hash_table_unref);
  g_clear_pointer (&self->pending_order, g_ptr_array_unref);
  g_clear_pointer (&self->cache, ql_registry_cache_free);
  g_clear_pointer (&self->cache_path, g_free);
  g_clear_pointer (&self->scan_rank, g_hash_table_unref);
  g_clear_pointer (&self->lazy_errors, g_hash_table_unref);
  g_clear_pointer (&self->scanner, g_free);
  g_clear_pointer (&self->scanned_unusable, g_hash_table_unref);
  g_clear_pointer (&self->lazy, g_free);
  g_clear_pointer (&self->lazy_rank, g_free);
  g_clear_pointer (&self->checked_dirs, ql_checked_dirs_free);

  G_OBJECT_CLASS (ql_registry_parent_class)->finalize (object);
}

static void
ql_registry_class_init (QlRegistryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ql_registry_finalize;
}

static void
ql_registry_init (QlRegistry *self)
{
  self->search_dirs = g_ptr_array_new_with_free_func (g_free);
  self->plugins = g_ptr_array_new_with_free_func (g_object_unref);
  self->plugins_by_name = g_hash_table_new (g_str_hash, g_str_equal);
  self->devices = g_hash_table_new_full (g_str_hash, g_str_equal,
                                         g_free, ql_device_entry_free);
  self->load_errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  self->failed_files = g_hash_table_new_full (ql_registry_cache_path_hash, g_str_equal,
                                              g_free, NULL);
  self->pending_types = g_hash_table_new (g_str_hash, g_str_equal);
  self->pending_families = g_hash_table_new (g_str_hash, g_str_equal);
  self->pending_order = g_ptr_array_new ();
  self->scan_rank = g_hash_table_new_full (ql_registry_cache_path_hash, g_str_equal, g_free, NULL);
  self->scanned_unusable = g_hash_table_new_full (ql_registry_cache_path_hash, g_str_equal, g_free, NULL);
  self->lazy_errors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) g_error_free);
  self->checked_dirs = ql_checked_dirs_new ();
}

/**
 * ql_registry_new:
 *
 * Creates an empty registry: no search directories, no plugins, no device
 * types. Add directories with ql_registry_add_search_dir() and
 * ql_registry_add_env_search_dirs(), then call ql_registry_scan().
 *
 * Returns: (transfer full): a new #QlRegistry
 */
QlRegistry *
ql_registry_new (void)
{
  return g_object_new (QL_TYPE_REGISTRY, NULL);
}

/**
 * ql_registry_get_default:
 *
 * Gets the process-wide registry, created on first use with the search
 * directories of ql_registry_add_env_search_dirs() and scanned. Its load
 * errors are in ql_registry_get_load_errors().
 *
 * Returns: (transfer none): the default registry
 */
QlRegistry *
ql_registry_get_default (void)
{
  static QlRegistry *default_registry = NULL;

  if (g_once_init_enter (&default_registry))
    {
      QlRegistry *registry = ql_registry_new ();

      ql_registry_add_env_search_dirs (registry);
      ql_registry_scan (registry);
      g_once_init_leave (&default_registry, registry);
    }

  return default_registry;
}

/**
 * ql_registry_get_system_plugin_dir:
 *
 * Gets the directory plugins are installed in
 * (`$libdir/qlaunch-1/plugins`), searched last unless
 * `QLAUNCH_PLUGIN_SYSTEM_PATH` is set.
 *
 * Returns: (transfer none) (type filename): the installed plugin directory
 */
const char *
ql_registry_get_system_plugin_dir (void)
{
  return QL_SYSTEM_PLUGIN_DIR;
}

/**
 * ql_registry_add_search_dir:
 * @self: a #QlRegistry
 * @dir: (type filename): a directory to search for plugins
 *
 * Appends @dir to the registry's search directories. Directories are
 * searched in the order they were added, and the first file of a family
 * wins, so add the directories that should take precedence first.
 */
void
ql_registry_add_search_dir (QlRegistry *self,
                            const char *dir)
{
  g_return_if_fail (QL_IS_REGISTRY (self));
  g_return_if_fail (dir != NULL && *dir != '\0');

  g_ptr_array_add (self->search_dirs, g_strdup (dir));
}

/* A search path from the environment: relative entries would load plugins
 * from wherever the process happens to run (the current directory), so
 * they are refused, each with a load error. */
static void
ql_registry_add_path_list (QlRegistry *self,
                           const char *variable,
                           const char *path_list)
{
  g_auto(GStrv) dirs = g_strsplit (path_list, G_SEARCHPATH_SEPARATOR_S, -1);
  guint i;

  for (i = 0; dirs[i] != NULL; i++)
    {
      if (dirs[i][0] == '\0')
        continue;
      if (!g_path_is_absolute (dirs[i]))
        {
          g_ptr_array_add (self->load_errors,
                           g_error_new (QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_INSECURE_PATH,
                                        "%s: ignoring '%s': plugins are never loaded from a "
                                        "relative directory (it would depend on the current "
                                        "directory); use an absolute path",
                                        variable, dirs[i]));
          continue;
        }
      ql_registry_add_search_dir (self, dirs[i]);
    }
}

/**
 * ql_registry_add_env_search_dirs:
 * @self: a #QlRegistry
 *
 * Appends the search directories that come from the environment, after
 * those already added:
 *
 * - the directories of `QLAUNCH_PLUGIN_PATH` (colon-separated; empty entries
 *   are ignored, relative ones refused with a load error, since they would
 *   load plugins from the current directory);
 * - then the installed plugin directory, ql_registry_get_system_plugin_dir(),
 *   unless `QLAUNCH_PLUGIN_SYSTEM_PATH` is set: then its directories
 *   (colon-separated) are searched instead, and none if it is empty.
 */
void
ql_registry_add_env_search_dirs (QlRegistry *self)
{
  const char *plugin_path;
  const char *system_path;

  g_return_if_fail (QL_IS_REGISTRY (self));

  plugin_path = g_getenv ("QLAUNCH_PLUGIN_PATH");
  if (plugin_path != NULL)
    ql_registry_add_path_list (self, "QLAUNCH_PLUGIN_PATH", plugin_path);

  system_path = g_getenv ("QLAUNCH_PLUGIN_SYSTEM_PATH");
  if (system_path != NULL)
    ql_registry_add_path_list (self, "QLAUNCH_PLUGIN_SYSTEM_PATH", system_path);
  else
    ql_registry_add_search_dir (self, QL_SYSTEM_PLUGIN_DIR);
}

/**
 * ql_registry_get_search_dirs:
 * @self: a #QlRegistry
 *
 * Lists the registry's search directories in search order.
 *
 * Returns: (transfer full) (array zero-terminated=1) (element-type filename):
 *   the directories; free with g_strfreev()
 */
char **
ql_registry_get_search_dirs (QlRegistry *self)
{
  char **dirs;
  guint i;

  g_return_val_if_fail (QL_IS_REGISTRY (self), NULL);

  dirs = g_new0 (char *, self->search_dirs->len + 1);
  for (i = 0; i < self->search_dirs->len; i++)
    dirs[i] = g_strdup (g_ptr_array_index (self->search_dirs, i));

  return dirs;
}

/* The family of a plugin file's basename, libqlaunch-FAMILY.so with FAMILY
 * = [a-z][a-z0-9-]* ("libqlaunch-vhost-user.so" → "vhost-user"): its
 * length, or 0 if @basename (@len bytes) does not have that shape. */
static gsize
ql_plugin_family_length (const char *basename,
                         gsize       len)
{
  const gsize prefix = sizeof QL_PLUGIN_FILE_PREFIX - 1;
  const gsize suffix = sizeof QL_PLUGIN_FILE_SUFFIX - 1;
  const char *start = basename + prefix;
  gsize family_len;

  if (len <= prefix + suffix || memcmp (basename, QL_PLUGIN_FILE_PREFIX, prefix) != 0
      || memcmp (basename + len - suffix, QL_PLUGIN_FILE_SUFFIX, suffix) != 0)
    return 0;
  family_len = len - prefix - suffix;
  return ql_name_is_valid_len (start, family_len) ? family_len : 0;
}

/* "libqlaunch-vhost-user.so" → "vhost-user"; NULL if the basename does not
 * have the shape libqlaunch-FAMILY.so with FAMILY = [a-z][a-z0-9-]*. */
static char *
ql_plugin_family_from_basename (const char *basename)
{
  gsize family_len = ql_plugin_family_length (basename, strlen (basename));

  return family_len > 0
    ? g_strndup (basename + sizeof QL_PLUGIN_FILE_PREFIX - 1, family_len) : NULL;
}

/* Whether @filename passes the checks of ql_plugin_file_open() (no other
 * user can change it or any directory or link on its path) and is the file
 * @expected (device, inode, size, times), when given. Opens nothing else. */
static gboolean
ql_registry_check_path (QlRegistry                 *self,
                        const char                 *filename,
                        const QlRegistryCacheEntry *expected,
                        GError                    **error)
{
  struct stat st;
  int fd = ql_plugin_file_open (self->checked_dirs, filename, &st, error);

  if (fd < 0)
    return FALSE;
  close (fd);
  return expected == NULL || ql_registry_cache_entry_matches (expected, &st);
}

static const char *
ql_registry_device_owner (QlDeviceEntry *entry)
{
  return entry->plugin != NULL ? ql_plugin_get_filename (entry->plugin)
                               : "the application";
}

/* Checks the required descriptor fields: sets @error naming the first one
 * missing or malformed. */
static gboolean
ql_plugin_desc_check_fields (const char          *filename,
                             const QlPluginDesc  *desc,
                             GError             **error)
{
  const struct
  {
    const char *field;
    const char *value;
  } strings[] = {
    { "name", desc->name },
    { "description", desc->description },
    { "version", desc->version },
    { "license", desc->license },
  };
  gsize i;

  for (i = 0; i < G_N_ELEMENTS (strings); i++)
    {
      if (strings[i].value == NULL || strings[i].value[0] == '\0')
        {
          g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DESCRIPTOR,
                       "'%s': plugin descriptor has no '%s'",
                       filename, strings[i].field);
          return FALSE;
        }

      if (!g_utf8_validate (strings[i].value, -1, NULL))
        {
          g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DESCRIPTOR,
                       "'%s': plugin descriptor field '%s' is not valid UTF-8",
                       filename, strings[i].field);
          return FALSE;
        }
    }

  if (desc->init == NULL)
    {
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DESCRIPTOR,
                   "'%s': plugin descriptor has no 'init' function", filename);
      return FALSE;
    }

  return TRUE;
}

/* Finds the entry point of an opened plugin and checks its descriptor. The
 * ABI version is checked before any other field, whose layout another major
 * version may change. */
static const QlPluginDesc *
ql_plugin_module_get_desc (GModule     *module,
                           const char  *filename,
                           const char  *family,
                           GError     **error)
{
  g_autofree char *symbol = NULL;
  QlPluginGetDescFunc get_desc = NULL;
  const QlPluginDesc *desc;

  symbol = g_strdup_printf ("ql_plugin_%s_get_desc", family);
  g_strdelimit (symbol, "-", '_');

  if (!g_module_symbol (module, symbol, (gpointer *) &get_desc)
      || get_desc == NULL)
    {
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_NO_ENTRY_POINT,
                   "'%s': plugin has no entry point '%s'", filename, symbol);
      return NULL;
    }

  desc = get_desc ();
  if (desc == NULL)
    {
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DESCRIPTOR,
                   "'%s': entry point '%s' returned no descriptor",
                   filename, symbol);
      return NULL;
    }

  if (desc->abi_major != QL_PLUGIN_ABI_MAJOR)
    {
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_ABI_MISMATCH,
                   "'%s': plugin ABI %u.%u does not match this qlaunch's "
                   "ABI %u.%u (major versions differ)",
                   filename, desc->abi_major, desc->abi_minor,
                   QL_PLUGIN_ABI_MAJOR, QL_PLUGIN_ABI_MINOR);
      return NULL;
    }

  if (desc->abi_minor > QL_PLUGIN_ABI_MINOR)
    {
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_ABI_TOO_NEW,
                   "'%s': plugin needs ABI %u.%u, newer than this qlaunch's "
                   "ABI %u.%u",
                   filename, desc->abi_major, desc->abi_minor,
                   QL_PLUGIN_ABI_MAJOR, QL_PLUGIN_ABI_MINOR);
      return NULL;
    }

  if (!ql_plugin_desc_check_fields (filename, desc, error))
    return NULL;

  if (!g_str_equal (desc->name, family))
    {
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_NAME_MISMATCH,
                   "'%s': plugin name '%s' does not match the family '%s' "
                   "of its file name",
                   filename, desc->name, family);
      return NULL;
    }

  return desc;
}

/* The warnings and criticals logged while a plugin's init runs (GLib's
 * own, such as "cannot register existing type", or the plugin's): they go
 * into its load error instead of standard error. The capture is scoped to
 * the thread that runs init; messages of other threads, and messages of
 * lower levels, go to the handler that was in place. */
typedef struct
{
  GPtrArray *messages;        /* element-type utf8, owned */
  char      *existing_type;   /* a GType name registered twice, or NULL */
  gpointer   outer;           /* the capture of an init that loads a plugin */
} QlLogCapture;

static GMutex ql_log_capture_lock;
static guint ql_log_capture_users;
static GLogFunc ql_log_capture_previous;
static gpointer ql_log_capture_previous_data;
static GLogLevelFlags ql_log_capture_previous_fatal;
static GPrivate ql_log_capture_current;

static void
ql_log_capture_handler (const char     *log_domain,
                        GLogLevelFlags  log_level,
                        const char     *message,
                        gpointer        user_data)
{
  QlLogCapture *capture = g_private_get (&ql_log_capture_current);

  if (capture != NULL && (log_level & (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL)) != 0)
    {
      const char *prefix = "cannot register existing type '";

      if (capture->existing_type == NULL && g_str_has_prefix (message, prefix)
          && strchr (message + strlen (prefix), '\'') != NULL)
        capture->existing_type = g_strndup (message + strlen (prefix),
                                            strchr (message + strlen (prefix), '\'')
                                            - (message + strlen (prefix)));
      g_ptr_array_add (capture->messages,
                       g_strdup_printf ("%s%s%s", log_domain != NULL ? log_domain : "",
                                        log_domain != NULL ? ": " : "", message));
      return;
    }
  if (ql_log_capture_previous != NULL)
    ql_log_capture_previous (log_domain, log_level, message, ql_log_capture_previous_data);
  else
    g_log_default_handler (log_domain, log_level, message, NULL);
}

static void
ql_log_capture_begin (QlLogCapture *capture)
{
  capture->messages = g_ptr_array_new_with_free_func (g_free);
  capture->existing_type = NULL;
  g_mutex_lock (&ql_log_capture_lock);
  if (ql_log_capture_users++ == 0)
    {
      ql_log_capture_previous = g_log_set_default_handler (ql_log_capture_handler, NULL);
      ql_log_capture_previous_data = NULL;
      /* A captured warning fails the load; under G_DEBUG=fatal-criticals
       * (or a test harness) it must not abort first. */
      ql_log_capture_previous_fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK);
      g_log_set_always_fatal (ql_log_capture_previous_fatal
                              & ~(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL));
    }
  g_mutex_unlock (&ql_log_capture_lock);
  capture->outer = g_private_get (&ql_log_capture_current);
  g_private_set (&ql_log_capture_current, capture);
}

static void
ql_log_capture_end (QlLogCapture *capture)
{
  g_private_set (&ql_log_capture_current, capture->outer);
  g_mutex_lock (&ql_log_capture_lock);
  if (--ql_log_capture_users == 0)
    {
      g_log_set_default_handler (ql_log_capture_previous, ql_log_capture_previous_data);
      g_log_set_always_fatal (ql_log_capture_previous_fatal);
    }
  g_mutex_unlock (&ql_log_capture_lock);
}

static void
ql_log_capture_clear (QlLogCapture *capture)
{
  g_clear_pointer (&capture->messages, g_ptr_array_unref);
  g_clear_pointer (&capture->existing_type, g_free);
}

/* Runs the plugin's init, its log captured. */
static gboolean
ql_registry_run_init (QlPlugin            *plugin,
                      const QlPluginDesc  *desc,
                      GError             **error)
{
  const char *filename = ql_plugin_get_filename (plugin);
  g_autoptr(GError) local_error = NULL;
  QlLogCapture capture;
  gboolean ok;

  ql_log_capture_begin (&capture);
  ok = desc->init (plugin, &local_error);
  ql_log_capture_end (&capture);

  if (capture.existing_type != NULL)
    {
      GType other = g_type_from_name (capture.existing_type);
      const char *owner = other != 0 ? ql_device_type_get_plugin (other) : NULL;
      const char *owner_type = other != 0 ? ql_device_type_get_name (other) : NULL;
      g_autofree char *by = owner != NULL
        ? g_strdup_printf (" by plugin '%s' (device type '%s')", owner, owner_type)
        : g_strdup ("");

      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_DUPLICATE_DEVICE,
                   "'%s': plugin init failed: the GType name '%s' is already "
                   "registered%s; a plugin's GType names must be its own",
                   filename, capture.existing_type, by);
      ql_log_capture_clear (&capture);
      return FALSE;
    }
  if (capture.messages->len > 0)
    {
      g_autoptr(GString) text = g_string_new (NULL);

      for (guint i = 0; i < capture.messages->len; i++)
        g_string_append_printf (text, "%s%s", i > 0 ? "; " : "",
                                (const char *) g_ptr_array_index (capture.messages, i));
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_INIT_FAILED,
                   "'%s': plugin init logged %s: %s", filename,
                   capture.messages->len > 1 ? "warnings" : "a warning", text->str);
      ql_log_capture_clear (&capture);
      return FALSE;
    }
  ql_log_capture_clear (&capture);

  if (ok && ql_plugin_get_register_error (plugin) != NULL)
    {
      const GError *refused = ql_plugin_get_register_error (plugin);

      /* init went on past a refused registration: the refusal stands. */
      g_set_error (error, QL_PLUGIN_ERROR, refused->code,
                   "'%s': plugin init failed: %s", filename, refused->message);
      return FALSE;
    }
  if (!ok)
    {
      QlPluginError code = QL_PLUGIN_ERROR_INIT_FAILED;

      if (local_error == NULL)
        {
          g_set_error (error, QL_PLUGIN_ERROR, code,
                       "'%s': plugin init failed without saying why", filename);
          return FALSE;
        }

      /* A refused ql_plugin_register_device() keeps its own code. */
      if (g_error_matches (local_error, QL_PLUGIN_ERROR,
                           QL_PLUGIN_ERROR_BAD_DEVICE_TYPE)
          || g_error_matches (local_error, QL_PLUGIN_ERROR,
                              QL_PLUGIN_ERROR_DUPLICATE_DEVICE))
        code = local_error->code;

      g_set_error (error, QL_PLUGIN_ERROR, code,
                   "'%s': plugin init failed: %s",
                   filename, local_error->message);
      return FALSE;
    }

  if (local_error != NULL)
    {
      g_debug ("'%s': plugin init succeeded but set an error, ignored: %s",
               filename, local_error->message);
      g_clear_error (&local_error);
    }
  return TRUE;
}

/* Runs the plugin's init and commits its device types, all or nothing. */
static gboolean
ql_registry_init_plugin (QlRegistry          *self,
                         QlPlugin            *plugin,
                         const QlPluginDesc  *desc,
                         GError             **error)
{
  const char *filename = ql_plugin_get_filename (plugin);
  GPtrArray *registrations;
  guint i;

  if (!ql_registry_run_init (plugin, desc, error))
    return FALSE;

  registrations = ql_plugin_get_registrations (plugin);

  for (i = 0; i < registrations->len; i++)
    {
      QlPluginRegistration *reg = g_ptr_array_index (registrations, i);
      QlDeviceEntry *other = g_hash_table_lookup (self->devices, reg->name);

      if (other != NULL)
        {
          g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_DUPLICATE_DEVICE,
                       "'%s': device type '%s' is already registered by '%s'",
                       filename, reg->name, ql_registry_device_owner (other));
          return FALSE;
        }
    }

  for (i = 0; i < registrations->len; i++)
    {
      QlPluginRegistration *reg = g_ptr_array_index (registrations, i);
      QlDeviceEntry *entry = g_new0 (QlDeviceEntry, 1);

      entry->type = reg->type;
      entry->plugin = g_object_ref (plugin);
      g_hash_table_insert (self->devices, g_strdup (reg->name), entry);
      ql_device_type_set_name (reg->type, reg->name, ql_plugin_get_name (plugin));
    }

  return TRUE;
}

/* g_hash_table_contains(), without hashing @key when @table is empty (as
 * most of a registry's tables are during its first scan). */
static inline gboolean
ql_table_has (GHashTable    *table,
              gconstpointer  key)
{
  return g_hash_table_size (table) > 0 && g_hash_table_contains (table, key);
}

/* The registry cache: pending plugin files */

/* Forgets @entry as pending (it is being opened, or has failed). */
static void
ql_registry_pending_forget (QlRegistry           *self,
                            QlRegistryCacheEntry *entry)
{
  if (!g_ptr_array_remove (self->pending_order, entry))
    return;
  g_hash_table_remove (self->pending_families, entry->family);
  for (guint i = 0; entry->device_types[i] != NULL; i++)
    if (g_hash_table_lookup (self->pending_types, entry->device_types[i]) == entry)
      g_hash_table_remove (self->pending_types, entry->device_types[i]);
}

static void
ql_registry_cache_save (QlRegistry *self);

static QlRegistryCacheEntry *
ql_registry_lazy_owner (QlRegistry *self,
                        const char *name);

static void
ql_registry_materialize (QlRegistry *self);

static void
ql_registry_set_unknown_type_error (QlRegistry  *self,
                                    const char  *type_name,
                                    GError     **error);

static QlPlugin *
ql_registry_load_file (QlRegistry                 *self,
                       const char                 *filename,
                       const QlRegistryCacheEntry *expected,
                       GError                    **error);

/* Opens a plugin file the cache vouched for, now that it is needed. If it
 * fails (it changed since the scan, or its init now fails), its error goes
 * to the load errors and to each device type it was to provide, and its
 * cache entry is dropped. */
static void
ql_registry_load_pending (QlRegistry           *self,
                          QlRegistryCacheEntry *entry)
{
  g_autofree char *path = g_strdup (entry->path);
  g_auto(GStrv) types = g_strdupv (entry->device_types);
  GError *error = NULL;

  /* The entry stays in the cache (owned there) while the file loads. */
  ql_registry_pending_forget (self, entry);
  if (entry->rank > 0 && !ql_table_has (self->scan_rank, path))
    g_hash_table_insert (self->scan_rank, g_strdup (path), GUINT_TO_POINTER (entry->rank));
  if (ql_registry_load_file (self, path, entry, &error) != NULL)
    return;
  g_debug ("%s", error->message);
  for (guint i = 0; types[i] != NULL; i++)
    g_hash_table_replace (self->lazy_errors, g_strdup (types[i]), g_error_copy (error));
  g_ptr_array_add (self->load_errors, error);
  g_hash_table_add (self->failed_files, g_strdup (path));
  if (self->cache != NULL && ql_registry_cache_remove (self->cache, path))
    {
      self->cache_dirty = TRUE;
      ql_registry_cache_save (self);
    }
}

static void
ql_registry_load_all_pending (QlRegistry *self)
{
  while (self->pending_order->len > 0)
    ql_registry_load_pending (self, g_ptr_array_index (self->pending_order, 0));
}

/* The device entry of @name, opening its plugin if the cache says which
 * pending file provides it. */
static QlDeviceEntry *
ql_registry_lookup_entry (QlRegistry *self,
                          const char *name)
{
  QlDeviceEntry *entry = g_hash_table_lookup (self->devices, name);
  QlRegistryCacheEntry *pending;

  if (entry != NULL)
    return entry;
  pending = g_hash_table_lookup (self->pending_types, name);
  if (pending == NULL && self->lazy != NULL)
    pending = ql_registry_lazy_owner (self, name);
  if (pending == NULL)
    return NULL;
  ql_registry_load_pending (self, pending);
  return g_hash_table_lookup (self->devices, name);
}

/* The descriptions of @plugin's device types, in registration order,
 * serialized. */
static GPtrArray *
ql_registry_plugin_types (QlPlugin *plugin)
{
  GPtrArray *registrations = ql_plugin_get_registrations (plugin);
  GPtrArray *types = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  for (guint i = 0; i < registrations->len; i++)
    {
      QlPluginRegistration *reg = g_ptr_array_index (registrations, i);
      g_autoptr(QlDeviceTypeInfo) info = ql_device_type_info_new_for_type (reg->name, reg->type,
                                                                           ql_plugin_get_name (plugin));

      g_ptr_array_add (types, ql_device_type_info_serialize (info));
    }
  return types;
}

/* Records in the cache what opening @path (@st, before it was opened)
 * gave: @plugin, or @error. Errors that depend on more than the file (its
 * directories' modes, the other plugins) are not recorded. */
static void
ql_registry_cache_record (QlRegistry        *self,
                          const char        *path,
                          const struct stat *st,
                          const char        *family,
                          QlPlugin          *plugin,
                          const GError      *error)
{
  QlRegistryCacheEntry *entry;

  if (self->cache == NULL || family == NULL)
    return;
  if (plugin == NULL
      && (error == NULL || error->domain != QL_PLUGIN_ERROR
          || error->code == QL_PLUGIN_ERROR_INSECURE_PATH
          || error->code == QL_PLUGIN_ERROR_DUPLICATE_DEVICE))
    {
      if (ql_registry_cache_remove (self->cache, path))
        self->cache_dirty = TRUE;
      return;
    }
  entry = ql_registry_cache_entry_new (path, st);
  entry->family = g_strdup (family);
  if (plugin != NULL)
    {
      entry->description = g_strdup (ql_plugin_get_description (plugin));
      entry->version = g_strdup (ql_plugin_get_version (plugin));
      entry->license = g_strdup (ql_plugin_get_license (plugin));
      entry->abi_major = QL_PLUGIN_ABI_MAJOR;
      entry->abi_minor = ql_plugin_get_abi_minor (plugin);
      entry->device_types = ql_plugin_get_device_types (plugin);
      if (entry->device_types[0] != NULL)
        {
          g_autoptr(GPtrArray) types = ql_registry_plugin_types (plugin);

          ql_registry_cache_entry_set_types (entry, types);
        }
      else
        {
          /* Nothing to open it for: keep opening it at every scan. */
          ql_registry_cache_entry_free (entry);
          if (ql_registry_cache_remove (self->cache, path))
            self->cache_dirty = TRUE;
          return;
        }
    }
  else
    {
      entry->error_code = error->code;
      entry->error_message = g_strdup (error->message);
    }
  ql_registry_cache_replace (self->cache, entry);
  self->cache_dirty = TRUE;
}

/* Makes @entry (of a plugin file the cache vouches for, which loaded)
 * pending, with @rank; FALSE if one of its device types is registered
 * already: then its file is to be opened, for its error. */
static gboolean
ql_registry_pending_add (QlRegistry           *self,
                         QlRegistryCacheEntry *entry,
                         guint                 rank)
{
  for (guint i = 0; entry->device_types[i] != NULL; i++)
    {
      QlRegistryCacheEntry *owner = g_hash_table_lookup (self->pending_types, entry->device_types[i]);

      /* Two files with one device type: open both, as a scan without the
       * cache would, so that the second gets its error. */
      if (owner != NULL)
        ql_registry_load_pending (self, owner);
      if (ql_table_has (self->devices, entry->device_types[i]))
        return FALSE;
    }
  entry->rank = rank;
  g_ptr_array_add (self->pending_order, entry);
  g_hash_table_insert (self->pending_families, entry->family, entry);
  for (guint i = 0; entry->device_types[i] != NULL; i++)
    g_hash_table_insert (self->pending_types, entry->device_types[i], entry);
  return TRUE;
}

/* Whether the cache answers for @path (@st): its error is reported, or its
 * device types are pending, without opening it. */
static gboolean
ql_registry_scan_cached (QlRegistry        *self,
                         const char        *path,
                         const char        *family,
                         const struct stat *st,
                         gboolean           trusted,
                         guint              rank)
{
  QlRegistryCacheEntry *entry;

  if (self->cache == NULL || family == NULL)
    return FALSE;
  entry = ql_registry_cache_lookup (self->cache, path);
  if (entry == NULL || !ql_registry_cache_entry_matches (entry, st)
      || strcmp (entry->family, family) != 0)
    return FALSE;
  /* The checks that depend on more than the file run every time (they
   * load nothing), on the file they open, which must be the one the cache
   * knows; loading it reports their error. @trusted: done already, from
   * the checked directory (ql_plugin_file_check_at()). */
  if (!trusted && !ql_registry_check_path (self, path, entry, NULL))
    return FALSE;
  if (entry->error_code >= 0)
    {
      GError *error = g_error_new_literal (QL_PLUGIN_ERROR, entry->error_code,
                                           entry->error_message);

      g_debug ("%s (from the registry cache)", error->message);
      g_ptr_array_add (self->load_errors, error);
      g_hash_table_add (self->failed_files, g_strdup (path));
      return TRUE;
    }
  return ql_registry_pending_add (self, entry, rank);
}

/* Opens @path (@st) in the plugin scanner and records what it gives in
 * the cache; whether that answers for it (as ql_registry_scan_cached()). */
static gboolean
ql_registry_scan_in_child (QlRegistry        *self,
                           const char        *path,
                           const char        *family,
                           const struct stat *st,
                           guint              rank)
{
  QlRegistryCacheEntry *entry;

  if (self->cache == NULL || family == NULL)
    return FALSE;
  if (!self->scanner_looked_up)
    {
      self->scanner = ql_registry_scanner_find ();
      self->scanner_looked_up = TRUE;
    }
  if (self->scanner == NULL || g_hash_table_contains (self->scanned_unusable, path))
    return FALSE;
  entry = ql_registry_scanner_scan (self->scanner, path, st, family);
  if (entry == NULL)
    return FALSE;
  g_debug ("plugin scanner opened '%s' from '%s'", family, path);
  if (entry->error_code == QL_PLUGIN_ERROR_INSECURE_PATH
      || entry->error_code == QL_PLUGIN_ERROR_DUPLICATE_DEVICE)
    {
      /* Depends on more than the file: let the load here say it. */
      ql_registry_cache_entry_free (entry);
      return FALSE;
    }
  ql_registry_cache_replace (self->cache, entry);
  self->cache_dirty = TRUE;
  /* The file opened in the child must still be the one it scanned. */
  return ql_registry_scan_cached (self, path, family, st, FALSE, rank);
}

/* Writes the cache if it changed, without the entries of files (and the
 * listings of directories) that are gone or changed. A cache that cannot
 * be written is not an error. */
static void
ql_registry_cache_save (QlRegistry *self)
{
  g_autoptr(GError) error = NULL;
  GHashTableIter iter;
  QlRegistryCacheEntry *entry;

  if (self->cache == NULL || !self->cache_dirty)
    return;
  if (self->materializing)
    {
      self->save_deferred = TRUE;
      return;
    }
  /* Merging the cache ends its file indices. */
  ql_registry_materialize (self);
  g_hash_table_iter_init (&iter, ql_registry_cache_get_entries (self->cache));
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
    {
      struct stat st;

      if (g_ptr_array_find (self->pending_order, entry, NULL))
        continue;
      if (stat (entry->path, &st) != 0 || !ql_registry_cache_entry_matches (entry, &st))
        g_hash_table_iter_remove (&iter);
    }
  ql_registry_cache_prune_dirs (self->cache);
  if (!ql_registry_cache_write (self->cache_path, self->cache, &error))
    g_debug ("qlaunch: registry cache %s not written: %s", self->cache_path, error->message);
  self->cache_dirty = FALSE;
}

/**
 * ql_registry_set_cache_file:
 * @self: a #QlRegistry
 * @path: (type filename) (nullable): the registry cache file, or %NULL for none
 *
 * Makes ql_registry_scan() use a registry cache: a file that records, for
 * each plugin file opened, its identity (device, inode, size, mtime, ctime)
 * and what it provides (descriptor, device types and their descriptions,
 * properties included: see ql_registry_describe_device_type() and
 * ql_registry_list_plugin_infos(), which answer from it without opening
 * the plugin) or the error it gave. A
 * scan then opens only the plugin files that are new or changed since the
 * cache was written; the others are opened when one of their device types
 * or their family is first looked up, or all at once by
 * ql_registry_get_plugins(). A plugin file that failed is not opened again
 * until it changes: its error is reported from the cache. The checks of a
 * plugin's path (owners and modes of the file, its directories and links,
 * see ql_registry_load_plugin()) run at every scan, on the file they open,
 * which must still be the one the cache knows.
 *
 * A new or changed file is opened first in `qlaunch-plugin-scanner`, a
 * child process (installed in `$libexecdir/qlaunch-1`;
 * `$QLAUNCH_PLUGIN_SCANNER` names another, empty for none); one scanner
 * process opens all the new files of a scan, one after the other, each
 * under a deadline (`$QLAUNCH_PLUGIN_SCAN_TIMEOUT_MS`, default 10 s), and
 * after a file that took it down a new one goes on with the rest: a plugin that
 * crashes, aborts or hangs while loading is recorded as bad
 * (%QL_PLUGIN_ERROR_SCAN_FAILED, the message saying how) and never opened
 * in this process; so is one the scanner refused (another ABI version, a
 * bad descriptor), so none of its code, ELF constructors included, runs
 * here. Without a scanner, such files are opened in-process.
 *
 * The file is 0600 in a 0700 directory; one owned by another user, or
 * writable by group or others, is not read. A cache written by another
 * qlaunch version, or damaged, is ignored and rewritten. Without a cache
 * (the default), every plugin file is opened by the scan.
 *
 * Call it before ql_registry_scan(); ql_registry_get_default_cache_file()
 * gives the per-user default. With a cache, the first lookup of a device
 * type or family can open its plugin, and so changes @self: if lookups
 * and device creation are to run from other threads, call
 * ql_registry_get_plugins() first, from the thread that scanned.
 */
void
ql_registry_set_cache_file (QlRegistry *self,
                            const char *path)
{
  g_return_if_fail (QL_IS_REGISTRY (self));
  g_return_if_fail (self->pending_order->len == 0 && self->lazy == NULL);

  g_clear_pointer (&self->cache, ql_registry_cache_free);
  g_free (self->cache_path);
  self->cache_path = g_strdup (path);
  self->cache_dirty = FALSE;
  if (path == NULL)
    return;
  self->cache = ql_registry_cache_read (path);
  if (self->cache == NULL)
    {
      self->cache = ql_registry_cache_new ();
      self->cache_dirty = TRUE;
    }
}

/**
 * ql_registry_get_default_cache_file:
 *
 * The per-user registry cache: `registry-ARCH.cache` in
 * `$XDG_CACHE_HOME/qlaunch` (or in `$QLAUNCH_CACHE_DIR` when that is set).
 *
 * Returns: (transfer full) (type filename): the path
 */
char *
ql_registry_get_default_cache_file (void)
{
  return ql_registry_cache_default_path ();
}

/**
 * ql_registry_load_plugin:
 * @self: a #QlRegistry
 * @filename: (type filename): the plugin file, `libqlaunch-<family>.so`
 * @error: return location for a #QL_PLUGIN_ERROR error
 *
 * Loads one plugin file into the registry, whether or not it is in a search
 * directory. The checks, in order, and the error code each failure gives:
 *
 * - the file name must be `libqlaunch-<family>.so`, with `<family>` a
 *   lowercase letter followed by lowercase letters, digits and `-`: else
 *   %QL_PLUGIN_ERROR_OPEN_FAILED (the file is not opened);
 * - no plugin of that family may be loaded in @self already:
 *   %QL_PLUGIN_ERROR_DUPLICATE_DEVICE (loading the very file that was loaded
 *   returns its plugin again);
 * - the file must exist and be a regular file (symbolic links are
 *   followed): %QL_PLUGIN_ERROR_OPEN_FAILED;
 * - no other user may be able to change it: the file, every directory
 *   from `/` down to it and every symbolic link on the way (a link's target
 *   and its directories resolved the same way) must be owned by root or by
 *   the effective user and (links aside) not be writable by group or
 *   others, a sticky directory such as `/tmp` included:
 *   %QL_PLUGIN_ERROR_INSECURE_PATH, naming what is at fault. The path is
 *   resolved one component at a time from the descriptor of the directory
 *   just checked, the file opened from there and checked again on its
 *   descriptor, and that descriptor is what the dynamic loader maps
 *   (`/proc/self/fd/N`, kept open for the life of the process, one per
 *   file): what was checked is what is loaded;
 * - the file must open as a shared module (its ELF constructors run
 *   then): %QL_PLUGIN_ERROR_OPEN_FAILED;
 * - it must export `ql_plugin_<family>_get_desc` (dashes in the family
 *   become underscores): %QL_PLUGIN_ERROR_NO_ENTRY_POINT;
 * - the descriptor must exist: %QL_PLUGIN_ERROR_BAD_DESCRIPTOR;
 * - its `abi_major` must equal %QL_PLUGIN_ABI_MAJOR:
 *   %QL_PLUGIN_ERROR_ABI_MISMATCH (checked before any other field, whose
 *   layout another major version may change);
 * - its `abi_minor` must be at most %QL_PLUGIN_ABI_MINOR:
 *   %QL_PLUGIN_ERROR_ABI_TOO_NEW;
 * - `name`, `description`, `version` and `license` must be non-empty UTF-8
 *   and `init` set: %QL_PLUGIN_ERROR_BAD_DESCRIPTOR;
 * - `name` must be the family: %QL_PLUGIN_ERROR_NAME_MISMATCH;
 * - `init` must succeed: %QL_PLUGIN_ERROR_INIT_FAILED, or the code of the
 *   ql_plugin_register_device() error it returned
 *   (%QL_PLUGIN_ERROR_BAD_DEVICE_TYPE, %QL_PLUGIN_ERROR_DUPLICATE_DEVICE);
 *   a registration that was refused fails the load even when `init`
 *   returns %TRUE;
 * - `init` must log no warning or critical (GLib's own included): a
 *   message logged through g_log() while it runs, on the thread that runs
 *   it, is captured into the error (%QL_PLUGIN_ERROR_INIT_FAILED) instead
 *   of being printed, and never aborts under `G_DEBUG=fatal-warnings` or
 *   a test harness; a GType name registered already (by another plugin
 *   defining the same type name) gives %QL_PLUGIN_ERROR_DUPLICATE_DEVICE
 *   naming the plugin that has it;
 * - no device type it registered may exist in @self already:
 *   %QL_PLUGIN_ERROR_DUPLICATE_DEVICE.
 *
 * Every message starts with the quoted file name. Loading is transactional:
 * a plugin that fails leaves no device type in @self. The module is made
 * resident just before `init` runs (the GTypes init registers point into it
 * and live as long as the process), so a plugin whose init failed stays
 * mapped but unused; one refused earlier is closed.
 *
 * Returns: (transfer none) (nullable): the loaded plugin, owned by @self, or
 *   %NULL with @error set
 */
QlPlugin *
ql_registry_load_plugin (QlRegistry  *self,
                         const char  *filename,
                         GError     **error)
{
  g_return_val_if_fail (QL_IS_REGISTRY (self), NULL);
  g_return_val_if_fail (filename != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Lazy files (see QlRegistry) made ordinary pending ones. */
  ql_registry_materialize (self);

  return ql_registry_load_file (self, filename, NULL, error);
}

/* ql_registry_load_plugin(), refusing a file that is not @expected (its
 * cache entry, when given): the file the plugin scanner opened. */
static QlPlugin *
ql_registry_load_file (QlRegistry                 *self,
                       const char                 *filename,
                       const QlRegistryCacheEntry *expected,
                       GError                    **error)
{
  g_autofree char *basename = NULL;
  g_autofree char *family = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(QlPlugin) plugin = NULL;
  QlPlugin *loaded;
  const QlPluginDesc *desc;
  const char *module_name;
  GModule *module;
  struct stat st;
  int fd;

  basename = g_path_get_basename (filename);
  family = ql_plugin_family_from_basename (basename);
  if (family == NULL)
    {
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_OPEN_FAILED,
                   "'%s': not a plugin file name: expected "
                   "libqlaunch-FAMILY.so, FAMILY made of lowercase letters, "
                   "digits and '-', starting with a letter",
                   filename);
      return NULL;
    }

  {
    QlRegistryCacheEntry *pending = g_hash_table_lookup (self->pending_families, family);

    if (pending != NULL && g_str_equal (pending->path, filename))
      ql_registry_pending_forget (self, pending);
    else if (pending != NULL)
      {
        g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_DUPLICATE_DEVICE,
                     "'%s': plugin family '%s' is already loaded from '%s'",
                     filename, family, pending->path);
        return NULL;
      }
  }

  loaded = g_hash_table_lookup (self->plugins_by_name, family);
  if (loaded != NULL)
    {
      if (g_str_equal (ql_plugin_get_filename (loaded), filename))
        return loaded;

      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_DUPLICATE_DEVICE,
                   "'%s': plugin family '%s' is already loaded from '%s'",
                   filename, family, ql_plugin_get_filename (loaded));
      return NULL;
    }

  /* The file is checked and opened here; the dynamic loader maps that
   * descriptor, not the path. */
  fd = ql_plugin_file_open (self->checked_dirs, filename, &st, error);
  if (fd < 0)
    return NULL;
  /* The scanner vouched for another file: none of this one's code has
   * run anywhere yet, so it is not opened here. */
  if (expected != NULL && !ql_registry_cache_entry_matches (expected, &st))
    {
      close (fd);
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_OPEN_FAILED,
                   "'%s': cannot open plugin: the file changed since it was scanned; "
                   "it is scanned again next time", filename);
      return NULL;
    }
  module_name = ql_plugin_file_module_name (fd, &st);

  module = g_module_open_full (module_name,
                               G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL,
                               &local_error);
  if (module == NULL)
    {
      g_autofree char *prefix = g_strdup_printf ("%s: ", module_name);
      const char *reason = local_error->message;

      /* The dynamic loader's message often repeats the file name. */
      if (g_str_has_prefix (reason, prefix))
        reason += strlen (prefix);
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_OPEN_FAILED,
                   "'%s': cannot open plugin: %s", filename, reason);
      return NULL;
    }

  desc = ql_plugin_module_get_desc (module, filename, family, error);
  if (desc == NULL)
    {
      g_module_close (module);
      return NULL;
    }

  /* From here on the plugin's own code registers GTypes, which can never be
   * unregistered: the module must stay mapped whatever init returns. */
  g_module_make_resident (module);
  plugin = ql_plugin_new_for_file (filename, module, desc);
  ql_plugin_set_vouched (plugin, expected != NULL && expected->error_code < 0);

  if (!ql_registry_init_plugin (self, plugin, desc, error))
    return NULL;

  g_ptr_array_add (self->plugins, g_object_ref (plugin));
  g_hash_table_insert (self->plugins_by_name,
                       (gpointer) ql_plugin_get_name (plugin), plugin);
  g_debug ("loaded plugin '%s' from '%s'", family, filename);

  return plugin;
}

/* A plugin file found in a search directory, with its path and family
 * right after it (the candidates of a directory share one allocation). */
typedef struct _QlScanCandidate QlScanCandidate;
struct _QlScanCandidate
{
  char            *path;
  char            *family;    /* NULL: not a plugin file name */
  struct stat      st;
  gboolean         trusted;   /* its path's checks passed (ql_plugin_file_check_at()) */
  const char      *basename;  /* in path */
  QlScanCandidate *earlier;   /* of the same name, in an earlier search directory */
  gssize           lazy_index; /* its cache file index if it was taken lazily, or -1 */
  gssize           vouched;   /* its cache file index if the file vouches for it in
                               * place (ql_registry_cache_vouches_for()); -1: it
                               * does not; -2: not asked yet */
};

#define QL_SCAN_CANDIDATE_ALIGN 16
G_STATIC_ASSERT (QL_SCAN_CANDIDATE_ALIGN % G_ALIGNOF (QlScanCandidate) == 0);

/* The bytes a candidate for a basename of @len bytes of a directory whose
 * name has @dir_len bytes (and needs a separator unless @dir_sep) takes at
 * most (its family is shorter than the basename), rounded up so that the
 * next one is aligned. */
static gsize
ql_scan_candidate_size (gsize    dir_len,
                        gboolean dir_sep,
                        gsize    len)
{
  gsize size = sizeof (QlScanCandidate) + dir_len + (dir_sep ? 0 : 1) + len + 1 + len + 1;

  return (size + QL_SCAN_CANDIDATE_ALIGN - 1) & ~(gsize) (QL_SCAN_CANDIDATE_ALIGN - 1);
}

/* Makes a candidate at @mem (of ql_scan_candidate_size() bytes or more) for
 * @basename (@len bytes) of @dir_name (@dir_len bytes). */
static QlScanCandidate *
ql_scan_candidate_init (gpointer    mem,
                        const char *dir_name,
                        gsize       dir_len,
                        gboolean    dir_sep,
                        const char *basename,
                        gsize       len)
{
  gsize family_len = ql_plugin_family_length (basename, len);
  gsize path_len = dir_len + (dir_sep ? 0 : 1) + len;
  QlScanCandidate *c = mem;
  char *path = (char *) (c + 1);
  char *p = path;

  memcpy (p, dir_name, dir_len);
  p += dir_len;
  if (!dir_sep)
    *p++ = G_DIR_SEPARATOR;
  memcpy (p, basename, len + 1);
  c->path = path;
  c->basename = p;
  c->family = NULL;
  if (family_len > 0)
    {
      c->family = path + path_len + 1;
      memcpy (c->family, basename + sizeof QL_PLUGIN_FILE_PREFIX - 1, family_len);
      c->family[family_len] = '\0';
    }
  c->trusted = FALSE;
  c->earlier = NULL;
  c->lazy_index = -1;
  c->vouched = -2;
  return c;
}

static int
ql_compare_strv_items (gconstpointer a,
                       gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* The names of @dir's entries named libqlaunch-*.so, sorted; @dir is
 * closed. */
static GPtrArray *
ql_registry_read_dir (DIR *dir)
{
  const gsize prefix = sizeof QL_PLUGIN_FILE_PREFIX - 1;
  const gsize suffix = sizeof QL_PLUGIN_FILE_SUFFIX - 1;
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  struct dirent *entry;

  while ((entry = readdir (dir)) != NULL)
    {
      const char *name = entry->d_name;
      gsize len = strlen (name);

      if (len >= prefix + suffix && memcmp (name, QL_PLUGIN_FILE_PREFIX, prefix) == 0
          && memcmp (name + len - suffix, QL_PLUGIN_FILE_SUFFIX, suffix) == 0)
        g_ptr_array_add (names, g_strndup (name, len));
    }
  closedir (dir);
  g_ptr_array_sort (names, ql_compare_strv_items);
  return names;
}

/* The names of @dir_name's plugin files (libqlaunch-*.so), sorted: as
 * the cache listed them (@listed) if
 * @use_listing and the directory (@dir_fd, @dir_st) has not changed
 * since, else read now (and the listing recorded). NULL if it cannot be
 * read. */
static GPtrArray *
ql_registry_dir_names (QlRegistry        *self,
                       const char        *dir_name,
                       int                dir_fd,
                       const struct stat *dir_st,
                       gboolean           use_listing,
                       gboolean          *listed)
{
  GPtrArray *names;
  DIR *dir;
  gint64 read_ns = 0;

  *listed = FALSE;
  if (dir_fd >= 0)
    {
      names = use_listing ? ql_registry_cache_dir_names (self->cache, dir_name, dir_st) : NULL;
      if (names != NULL)
        {
          g_debug ("plugin directory '%s' unchanged: its files as the registry cache listed them", dir_name);
          *listed = TRUE;
          return names;
        }
      read_ns = g_get_real_time () * 1000;
    }
  /* Read through the checked descriptor when there is one: the directory
   * whose status was taken. */
  if (dir_fd >= 0)
    {
      int fd = openat (dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

      dir = fd >= 0 ? fdopendir (fd) : NULL;
      if (dir == NULL && fd >= 0)
        close (fd);
    }
  else
    dir = opendir (dir_name);
  if (dir == NULL)
    {
      g_debug ("skipping plugin directory '%s': %s", dir_name, ql_debug_strerror (errno));
      return NULL;
    }
  names = ql_registry_read_dir (dir);
  if (dir_fd >= 0
      && ql_registry_cache_set_dir_names (self->cache, dir_name, dir_st, read_ns, names))
    self->cache_dirty = TRUE;
  return names;
}

/* The regular files named libqlaunch-*.so of @dir_name, sorted by name,
 * onto @candidates; their memory onto @blocks. */
static void
ql_registry_list_dir (QlRegistry *self,
                      const char *dir_name,
                      GPtrArray  *candidates,
                      GPtrArray  *blocks)
{
  gsize dir_len = strlen (dir_name);
  gboolean dir_sep = dir_len > 0 && dir_name[dir_len - 1] == G_DIR_SEPARATOR;
  guint first = candidates->len;
  gboolean use_listing = TRUE;
  struct stat dir_st;
  int dir_fd = -1;

  /* With a cache, the directory's path is checked once, and each file
   * from there with one fstatat(); a link, or a directory that fails the
   * checks, takes the long way per file (which reports why). */
  if (self->cache != NULL)
    dir_fd = ql_plugin_file_open_dir (self->checked_dirs, dir_name, &dir_st, NULL);
  for (gboolean again = TRUE; again;)
    {
      g_autoptr(GPtrArray) found = NULL;
      gboolean listed = FALSE;
      gsize size = 0;
      guint8 *block;

      again = FALSE;
      found = ql_registry_dir_names (self, dir_name, dir_fd, &dir_st, use_listing, &listed);
      if (found == NULL)
        break;
      for (guint i = 0; i < found->len; i++)
        size += ql_scan_candidate_size (dir_len, dir_sep, strlen (g_ptr_array_index (found, i)));
      block = size > 0 ? g_malloc (size) : NULL;
      if (block != NULL)
        g_ptr_array_add (blocks, block);
      for (guint i = 0; i < found->len; i++)
        {
          const char *name = g_ptr_array_index (found, i);
          gsize len = strlen (name);
          QlScanCandidate *c = ql_scan_candidate_init (block, dir_name, dir_len, dir_sep, name, len);

          block += ql_scan_candidate_size (dir_len, dir_sep, len);
          c->trusted = dir_fd >= 0 && ql_plugin_file_check_at (dir_fd, c->basename, &c->st);
          if (!c->trusted)
            {
              int rc = stat (c->path, &c->st);

              if (rc != 0 && errno == ENOENT && listed)
                {
                  /* The directory did not change, yet a file its listing
                   * names is not there: the listing is wrong. */
                  g_debug ("plugin directory '%s': '%s' of the registry cache's listing is "
                           "missing; reading the directory", dir_name, name);
                  g_ptr_array_set_size (candidates, first);
                  use_listing = FALSE;
                  again = TRUE;
                  break;
                }
              if (rc != 0 || !S_ISREG (c->st.st_mode))
                {
                  g_debug ("skipping '%s': not a regular file", c->path);
                  continue;
                }
            }
          g_ptr_array_add (candidates, c);
        }
    }
  if (dir_fd >= 0)
    close (dir_fd);
}

/* Whether the cache file vouches for @c in place
 * (ql_registry_cache_vouching_index()); asked once. */
static gboolean
ql_registry_cache_vouches_for (QlRegistry      *self,
                               QlScanCandidate *c)
{
  if (c->vouched == -2)
    c->vouched = self->cache != NULL && c->family != NULL
      ? ql_registry_cache_vouching_index (self->cache, c->path, &c->st, c->family) : -1;
  return c->vouched >= 0;
}

/* Opens, in as few plugin scanner processes as can be, every file a scan
 * would hand to the scanner one by one: the first file of each family not
 * loaded yet whose cache entry is missing or stale. What they give goes
 * into the cache, where the scan then finds it. */
static void
ql_registry_scan_new_files (QlRegistry *self,
                            GPtrArray  *candidates)
{
  g_autoptr(GHashTable) families = NULL;
  g_autoptr(GPtrArray) files = NULL;
  g_autofree QlRegistryCacheEntry **entries = NULL;
  guint n_processes = 0;
  gboolean stale = FALSE;

  if (self->cache == NULL)
    return;
  /* Warm (every file as the cache knows it): nothing to scan. */
  for (guint i = 0; i < candidates->len && !stale; i++)
    {
      QlScanCandidate *c = g_ptr_array_index (candidates, i);
      QlRegistryCacheEntry *entry;

      /* Without decoding the entry when the file vouches in place. */
      if (c->family == NULL || ql_registry_cache_vouches_for (self, c))
        continue;
      entry = ql_registry_cache_lookup (self->cache, c->path);
      stale = entry == NULL || !ql_registry_cache_entry_matches (entry, &c->st)
              || strcmp (entry->family, c->family) != 0;
    }
  if (!stale)
    return;
  families = g_hash_table_new (g_str_hash, g_str_equal);
  files = g_ptr_array_new ();
  for (guint i = 0; i < candidates->len; i++)
    {
      QlScanCandidate *c = g_ptr_array_index (candidates, i);
      QlRegistryCacheEntry *entry;

      if (c->family == NULL || !g_hash_table_add (families, c->family)
          || ql_table_has (self->plugins_by_name, c->family)
          || ql_table_has (self->pending_families, c->family)
          || ql_table_has (self->failed_files, c->path))
        continue;
      entry = ql_registry_cache_lookup (self->cache, c->path);
      if (entry != NULL && ql_registry_cache_entry_matches (entry, &c->st)
          && strcmp (entry->family, c->family) == 0)
        continue;
      g_ptr_array_add (files, c);
    }
  if (files->len == 0)
    return;
  if (!self->scanner_looked_up)
    {
      self->scanner = ql_registry_scanner_find ();
      self->scanner_looked_up = TRUE;
    }
  if (self->scanner == NULL)
    return;
  /* QlScanCandidate starts as QlRegistryScanFile does. */
  G_STATIC_ASSERT (G_STRUCT_OFFSET (QlScanCandidate, path) == G_STRUCT_OFFSET (QlRegistryScanFile, path));
  G_STATIC_ASSERT (G_STRUCT_OFFSET (QlScanCandidate, family) == G_STRUCT_OFFSET (QlRegistryScanFile, family));
  G_STATIC_ASSERT (G_STRUCT_OFFSET (QlScanCandidate, st) == G_STRUCT_OFFSET (QlRegistryScanFile, st));
  entries = ql_registry_scanner_scan_files (self->scanner, files, &n_processes);
  /* Type names are the scanner process's, shared by the files it opened
   * one after the other: a file that clashed with one opened before it
   * in the same process is opened again in a process of its own, as a
   * scan of it alone would have (where it clashes with what qlaunch
   * loads is for the load here to say, in the scan's order). */
  for (guint i = 1; i < files->len; i++)
    if (entries[i] != NULL && entries[i]->error_code == QL_PLUGIN_ERROR_DUPLICATE_DEVICE)
      {
        g_autoptr(GPtrArray) alone = g_ptr_array_new ();
        guint n_alone = 0;
        g_autofree QlRegistryCacheEntry **again = NULL;

        g_ptr_array_add (alone, g_ptr_array_index (files, i));
        again = ql_registry_scanner_scan_files (self->scanner, alone, &n_alone);
        ql_registry_cache_entry_free (entries[i]);
        entries[i] = again[0];
        n_processes += n_alone;
      }
  g_debug ("plugin scanner: %u new or changed files in %u processes", files->len, n_processes);
  for (guint i = 0; i < files->len; i++)
    {
      QlScanCandidate *c = g_ptr_array_index (files, i);
      QlRegistryCacheEntry *entry = entries[i];

      if (entry == NULL || entry->error_code == QL_PLUGIN_ERROR_INSECURE_PATH
          || entry->error_code == QL_PLUGIN_ERROR_DUPLICATE_DEVICE)
        {
          /* Depends on more than the file, or not what a load here would
           * give: the load here says it (not scanned again). */
          g_hash_table_add (self->scanned_unusable, g_strdup (c->path));
          g_clear_pointer (&entry, ql_registry_cache_entry_free);
          continue;
        }
      g_debug ("plugin scanner opened '%s' from '%s'", c->family, c->path);
      ql_registry_cache_replace (self->cache, entry);
      self->cache_dirty = TRUE;
      /* Checked again, as the file the scanner opened, when the scan
       * meets it. */
      c->trusted = FALSE;
    }
}

/* Scans plugin file @path (@st, of plugin family @family: NULL if its
 * name is not a plugin file's; @trusted: see QlScanCandidate), in the
 * scan's order: @rank, or 0 for the next one. */
static void
ql_registry_scan_file (QlRegistry        *self,
                       const char        *path,
                       const char        *family,
                       const struct stat *st,
                       gboolean           trusted,
                       guint              rank)
{
  GError *load_error = NULL;
  QlPlugin *loaded;
  gpointer known_rank;

  loaded = family != NULL && g_hash_table_size (self->plugins_by_name) > 0
    ? g_hash_table_lookup (self->plugins_by_name, family) : NULL;
  if (loaded != NULL)
    {
      g_debug ("skipping '%s': plugin '%s' is already loaded from '%s'",
               path, family, ql_plugin_get_filename (loaded));
      return;
    }
  if (family != NULL && ql_table_has (self->pending_families, family))
    {
      g_debug ("skipping '%s': plugin '%s' comes from an earlier file", path, family);
      return;
    }

  if (ql_table_has (self->failed_files, path))
    return;

  /* Its rank in scan order: a pending file keeps it in its cache entry
   * (ql_registry_load_pending() records it here once it is opened). */
  if (rank > 0)
    ;
  else if (g_hash_table_size (self->scan_rank) > 0
           && (known_rank = g_hash_table_lookup (self->scan_rank, path)) != NULL)
    rank = GPOINTER_TO_UINT (known_rank);
  else
    rank = ++self->next_rank;
  if (ql_registry_scan_cached (self, path, family, st, trusted, rank)
      || ql_registry_scan_in_child (self, path, family, st, rank))
    return;
  if (!ql_table_has (self->scan_rank, path))
    g_hash_table_insert (self->scan_rank, g_strdup (path), GUINT_TO_POINTER (rank));

  loaded = ql_registry_load_file (self, path, NULL, &load_error);
  ql_registry_cache_record (self, path, st, family, loaded, load_error);
  if (loaded == NULL)
    {
      g_debug ("%s", load_error->message);
      g_ptr_array_add (self->load_errors, load_error);
      g_hash_table_add (self->failed_files, g_strdup (path));
    }
}

/* Makes the lazy files ordinary pending ones, in scan order, as the
 * scan would have without them (each after the files before it); and
 * ends lazy files in @self. One whose entry makes no sense, or whose
 * device type is registered already, is scanned again the ordinary way. */
static void
ql_registry_materialize (QlRegistry *self)
{
  g_autofree gsize *lazy = g_steal_pointer (&self->lazy);
  guint n_lazy = self->n_lazy;
  g_autofree guint *lazy_rank = g_steal_pointer (&self->lazy_rank);
  g_autofree QlRegistryCacheEntry **entries = NULL;
  g_autofree const char **paths = NULL;
  g_autofree guint *ranks = NULL;

  if (lazy == NULL)
    return;
  self->lazy_done = TRUE;
  /* Every entry first, before anything can merge the cache (which ends
   * its file indices); and no save (which drops entries of changed
   * files) until they are all pending. */
  g_debug ("%u plugin files the registry cache vouched for made pending", n_lazy);
  self->n_lazy = 0;
  entries = g_new0 (QlRegistryCacheEntry *, n_lazy);
  paths = g_new0 (const char *, n_lazy);
  ranks = g_new0 (guint, n_lazy);
  for (guint i = 0; i < n_lazy; i++)
    {
      gsize index = lazy[i];

      ranks[i] = lazy_rank[index];
      if (ranks[i] == 0)
        continue; /* opened already (ql_registry_lazy_owner()) */
      paths[i] = ql_registry_cache_file_path (self->cache, index);
      entries[i] = ql_registry_cache_file_entry (self->cache, index);
    }
  self->materializing = TRUE;
  for (guint i = 0; i < n_lazy; i++)
    {
      g_autofree char *basename = NULL;
      g_autofree char *family = NULL;
      struct stat st;

      if (ranks[i] == 0 || (entries[i] != NULL && ql_registry_pending_add (self, entries[i], ranks[i])))
        continue;
      basename = g_path_get_basename (paths[i]);
      family = ql_plugin_family_from_basename (basename);
      if (stat (paths[i], &st) != 0)
        {
          g_debug ("skipping '%s': %s", paths[i], ql_debug_strerror (errno));
          continue;
        }
      ql_registry_scan_file (self, paths[i], family, &st, FALSE, ranks[i]);
    }
  self->materializing = FALSE;
  if (self->save_deferred)
    {
      self->save_deferred = FALSE;
      ql_registry_cache_save (self);
    }
}

/* The lazy file that provides device type @name, made pending (its entry
 * decoded, and checked to provide it); if the cache file's type index
 * cannot say which one for sure, the lazy files are all made pending and
 * the pending one that provides @name is found among them. NULL: none. */
static QlRegistryCacheEntry *
ql_registry_lazy_owner (QlRegistry *self,
                        const char *name)
{
  gsize owners[16];
  gssize n = ql_registry_cache_type_owners (self->cache, name, owners, G_N_ELEMENTS (owners));
  QlRegistryCacheEntry *entry = NULL;
  gsize owner = 0;
  guint n_lazy = 0;

  for (gssize i = 0; i < n && i < (gssize) G_N_ELEMENTS (owners); i++)
    if (self->lazy_rank[owners[i]] > 0)
      {
        owner = owners[i];
        n_lazy++;
      }
  /* Exactly one lazy file: else (none: an unknown type, or an index that
   * left it out; two: their clash) the ordinary way says what to do. */
  if (n >= 0 && n <= (gssize) G_N_ELEMENTS (owners) && n_lazy == 1)
    entry = ql_registry_cache_file_entry (self->cache, owner);
  if (entry == NULL || !g_strv_contains ((const char * const *) entry->device_types, name))
    {
      ql_registry_materialize (self);
      return g_hash_table_lookup (self->pending_types, name);
    }
  entry->rank = self->lazy_rank[owner];
  self->lazy_rank[owner] = 0;
  /* Pending, for ql_registry_load_pending(), which opens it. */
  g_ptr_array_add (self->pending_order, entry);
  return entry;
}

/* Sets each candidate's @earlier: the candidate of the same name in an
 * earlier search directory (@dir_starts: where each directory's
 * candidates start in @candidates, and their end), if any. Each
 * directory's candidates are sorted by name: one merge per pair. */
static void
ql_registry_note_earlier (GPtrArray *candidates,
                          GArray    *dir_starts)
{
  for (guint d = 1; d + 1 < dir_starts->len; d++)
    for (guint e = 0; e < d; e++)
      {
        guint i = g_array_index (dir_starts, guint, e), i_end = g_array_index (dir_starts, guint, e + 1);
        guint k = g_array_index (dir_starts, guint, d), k_end = g_array_index (dir_starts, guint, d + 1);

        while (i < i_end && k < k_end)
          {
            QlScanCandidate *a = g_ptr_array_index (candidates, i);
            QlScanCandidate *b = g_ptr_array_index (candidates, k);
            int cmp = strcmp (a->basename, b->basename);

            if (cmp == 0 && b->earlier == NULL)
              b->earlier = a;
            i += cmp <= 0;
            k += cmp >= 0;
          }
      }
}

/* Whether the cache reports @c as a file that failed: then its error is
 * reported, as ql_registry_scan_cached() does, in scan order. */
static gboolean
ql_registry_scan_cached_failure (QlRegistry      *self,
                                 QlScanCandidate *c)
{
  QlRegistryCacheEntry *entry;

  /* Checked from its directory, and alone of its name so far. */
  if (self->cache == NULL || c->family == NULL || !c->trusted || c->earlier != NULL
      || ql_table_has (self->failed_files, c->path))
    return FALSE;
  entry = ql_registry_cache_lookup (self->cache, c->path);
  if (entry == NULL || entry->error_code < 0 || !ql_registry_cache_entry_matches (entry, &c->st)
      || strcmp (entry->family, c->family) != 0)
    return FALSE;
  return ql_registry_scan_cached (self, c->path, c->family, &c->st, TRUE, ++self->next_rank);
}

/* Takes @c as a lazy file (see QlRegistry) if it can be: the cache's
 * file vouches for it, in place, and nothing but lazy files has been
 * scanned yet. */
static gboolean
ql_registry_scan_lazily (QlRegistry      *self,
                         QlScanCandidate *c)
{
  gssize index;

  if (self->lazy_done || self->cache == NULL || c->family == NULL || !c->trusted || c->earlier != NULL
      || !ql_registry_cache_vouches_for (self, c))
    return FALSE;
  index = c->vouched;
  if (self->lazy == NULL)
    {
      gsize n = ql_registry_cache_n_file_entries (self->cache);

      /* Only in a registry where nothing else happened yet (but files
       * that failed: they provide nothing). */
      if (g_hash_table_size (self->devices) > 0 || self->plugins->len > 0
          || self->pending_order->len > 0)
        {
          self->lazy_done = TRUE;
          return FALSE;
        }
      self->lazy = g_new (gsize, n);
      self->lazy_rank = g_new0 (guint, n);
    }
  if (self->lazy_rank[index] > 0)
    return FALSE;
  c->lazy_index = index;
  self->lazy_rank[index] = ++self->next_rank;
  /* Each file index once: the cache's paths are distinct. */
  self->lazy[self->n_lazy++] = index;
  return TRUE;
}

/**
 * ql_registry_scan:
 * @self: a #QlRegistry
 *
 * Loads the plugins of every search directory, in search order. In each
 * directory only regular files (or symbolic links to them) named
 * `libqlaunch-*.so` are considered, sorted by name. The first file of a
 * family wins: a later file of a family already loaded is skipped (a later
 * file of a family whose earlier file failed to load is tried). A directory
 * that does not exist is skipped.
 *
 * A plugin that cannot be loaded is skipped, its error appended to
 * ql_registry_get_load_errors(), and the others still load. Scanning again
 * loads only plugins that appeared since, and does not repeat errors.
 */
void
ql_registry_scan (QlRegistry *self)
{
  g_autoptr(GPtrArray) candidates = NULL;
  g_autoptr(GPtrArray) blocks = NULL;
  g_autoptr(GArray) dir_starts = NULL;

  g_return_if_fail (QL_IS_REGISTRY (self));

  /* Lazy files are for a first scan only. */
  ql_registry_materialize (self);
  /* Room for as many files as the cache knows. */
  candidates = g_ptr_array_sized_new (self->cache != NULL
                                      ? (guint) MIN (ql_registry_cache_n_file_entries (self->cache), 4096) + 16 : 16);
  blocks = g_ptr_array_new_with_free_func (g_free);
  dir_starts = g_array_sized_new (FALSE, FALSE, sizeof (guint), self->search_dirs->len + 1);
  for (guint i = 0; i < self->search_dirs->len; i++)
    {
      g_array_append_val (dir_starts, candidates->len);
      ql_registry_list_dir (self, g_ptr_array_index (self->search_dirs, i), candidates, blocks);
    }
  g_array_append_val (dir_starts, candidates->len);
  ql_registry_note_earlier (candidates, dir_starts);
  ql_registry_scan_new_files (self, candidates);
  for (guint i = 0; i < candidates->len; i++)
    {
      QlScanCandidate *c = g_ptr_array_index (candidates, i);

      if (ql_registry_scan_lazily (self, c))
        continue;
      /* A file that failed, which the cache reports: nothing pending
       * needs to be known for that. */
      if (!self->lazy_done && ql_registry_scan_cached_failure (self, c))
        continue;
      /* A file of a family that a lazy file has: skipped, as it would be
       * with that file pending. */
      if (c->earlier != NULL && c->earlier->lazy_index >= 0 && self->lazy != NULL
          && self->lazy_rank[c->earlier->lazy_index] > 0)
        {
          g_debug ("skipping '%s': plugin '%s' comes from an earlier file", c->path, c->family);
          continue;
        }
      ql_registry_materialize (self);
      self->lazy_done = TRUE;
      ql_registry_scan_file (self, c->path, c->family, &c->st, c->trusted, 0);
    }
  self->lazy_done = TRUE;
  if (self->n_lazy > 0)
    g_debug ("%u plugin files taken as the registry cache vouches for them, not decoded", self->n_lazy);
  ql_registry_cache_save (self);
}

/**
 * ql_registry_get_load_errors:
 * @self: a #QlRegistry
 *
 * Gets the errors of the plugins ql_registry_scan() skipped, one per plugin
 * file, each in #QL_PLUGIN_ERROR with a message naming the file.
 *
 * Returns: (transfer none) (element-type GError): the load errors, owned by
 *   @self
 */
GPtrArray *
ql_registry_get_load_errors (QlRegistry *self)
{
  g_return_val_if_fail (QL_IS_REGISTRY (self), NULL);

  return self->load_errors;
}

/**
 * ql_registry_get_plugins:
 * @self: a #QlRegistry
 *
 * Gets the loaded plugins.
 *
 * Returns: (transfer none) (element-type QlPlugin): the plugins in load
 *   order, owned by @self
 */
static guint
ql_registry_rank_of (QlRegistry *self,
                     QlPlugin   *plugin)
{
  gpointer rank = g_hash_table_lookup (self->scan_rank, ql_plugin_get_filename (plugin));

  return rank != NULL ? GPOINTER_TO_UINT (rank) : G_MAXUINT;
}

static int
ql_registry_compare_rank (gconstpointer a,
                          gconstpointer b,
                          gpointer      user_data)
{
  guint ra = ql_registry_rank_of (user_data, *(QlPlugin * const *) a);
  guint rb = ql_registry_rank_of (user_data, *(QlPlugin * const *) b);

  return ra < rb ? -1 : ra > rb;
}

GPtrArray *
ql_registry_get_plugins (QlRegistry *self)
{
  g_return_val_if_fail (QL_IS_REGISTRY (self), NULL);

  /* Lazy files (see QlRegistry) made ordinary pending ones. */
  ql_registry_materialize (self);

  if (self->pending_order->len > 0)
    {
      ql_registry_load_all_pending (self);
      /* Lazily opened plugins back in scan order (a stable sort). */
      g_ptr_array_sort_with_data (self->plugins, ql_registry_compare_rank, self);
    }
  return self->plugins;
}

/**
 * ql_registry_lookup_plugin:
 * @self: a #QlRegistry
 * @name: a plugin family name (`net`, `vhost-user`)
 *
 * Looks up a loaded plugin by its family name.
 *
 * Returns: (transfer none) (nullable): the plugin, or %NULL if no plugin of
 *   that family is loaded
 */
QlPlugin *
ql_registry_lookup_plugin (QlRegistry *self,
                           const char *name)
{
  QlRegistryCacheEntry *pending;

  g_return_val_if_fail (QL_IS_REGISTRY (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  /* Lazy files (see QlRegistry) made ordinary pending ones. */
  ql_registry_materialize (self);

  pending = g_hash_table_lookup (self->pending_families, name);
  if (pending != NULL)
    ql_registry_load_pending (self, pending);
  return g_hash_table_lookup (self->plugins_by_name, name);
}

/**
 * ql_registry_list_device_types:
 * @self: a #QlRegistry
 *
 * Lists the registered device type names.
 *
 * Returns: (transfer full) (array zero-terminated=1): the names, sorted;
 *   free with g_strfreev()
 */
char **
ql_registry_list_device_types (QlRegistry *self)
{
  char **names;
  guint n_names = 0;
  GHashTableIter iter;
  gpointer key;

  g_return_val_if_fail (QL_IS_REGISTRY (self), NULL);

  /* Lazy files (see QlRegistry) made ordinary pending ones. */
  ql_registry_materialize (self);

  names = g_new0 (char *, g_hash_table_size (self->devices)
                          + g_hash_table_size (self->pending_types) + 1);
  g_hash_table_iter_init (&iter, self->devices);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    names[n_names++] = g_strdup (key);
  g_hash_table_iter_init (&iter, self->pending_types);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    names[n_names++] = g_strdup (key);
  qsort (names, n_names, sizeof (char *), ql_compare_strv_items);

  return names;
}

/* Records @path's entry again from its plugin, now loaded: its cached
 * descriptions made no sense. */
static void
ql_registry_cache_rerecord (QlRegistry *self,
                            const char *path,
                            const char *family,
                            QlPlugin   *plugin)
{
  struct stat st;

  if (self->cache == NULL || plugin == NULL || stat (path, &st) != 0)
    return;
  ql_registry_cache_record (self, path, &st, family, plugin, NULL);
  ql_registry_cache_save (self);
}

static void
ql_registry_note_gtype (GHashTable           *owners,
                        GHashTable           *clashing,
                        const char           *gtype_name,
                        QlRegistryCacheEntry *entry)
{
  QlRegistryCacheEntry *other = g_hash_table_lookup (owners, gtype_name);

  if (other == NULL)
    g_hash_table_insert (owners, (gpointer) g_intern_string (gtype_name), entry);
  else if (other != entry)
    {
      g_hash_table_add (clashing, other);
      g_hash_table_add (clashing, entry);
    }
}

/* Opens the plugin files the cache vouches for that cannot all load in
 * this process, as a scan without the cache would have (in scan order):
 * those whose GType names (of their device types, and of the enumerations
 * and flags of their properties) another plugin has, or this process has
 * already; and those whose descriptions make no sense (their entries are
 * written again). Describing all plugins then says what listing them
 * after loading would. */
static void
ql_registry_load_clashing (QlRegistry *self)
{
  g_autoptr(GHashTable) owners = NULL;
  g_autoptr(GHashTable) clashing = NULL;
  g_autoptr(GHashTable) undescribed = NULL;
  g_autoptr(GPtrArray) order = NULL;

  if (self->pending_order->len == 0)
    return;
  owners = g_hash_table_new (g_str_hash, g_str_equal);
  clashing = g_hash_table_new (NULL, NULL);
  undescribed = g_hash_table_new (NULL, NULL);
  for (guint i = 0; i < self->pending_order->len; i++)
    {
      QlRegistryCacheEntry *entry = g_ptr_array_index (self->pending_order, i);
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) infos = ql_registry_cache_entry_describe_all (entry, &error);

      if (infos == NULL)
        {
          g_debug ("qlaunch: %s; its plugin is opened instead", error->message);
          g_hash_table_add (clashing, entry);
          g_hash_table_add (undescribed, entry);
          continue;
        }
      for (guint k = 0; k < infos->len; k++)
        {
          QlDeviceTypeInfo *info = g_ptr_array_index (infos, k);
          GPtrArray *properties = ql_device_type_info_get_properties (info);

          if (g_type_from_name (ql_device_type_info_get_gtype_name (info)) != 0)
            g_hash_table_add (clashing, entry);
          ql_registry_note_gtype (owners, clashing, ql_device_type_info_get_gtype_name (info), entry);
          for (guint p = 0; p < properties->len; p++)
            {
              QlPropertyInfo *property = g_ptr_array_index (properties, p);
              QlPropertyKind kind = ql_property_info_get_kind (property);
              const char *value_type = ql_property_info_get_value_type_name (property);

              /* One known here already is qlaunch's or GLib's. */
              if ((kind == QL_PROPERTY_KIND_ENUM || kind == QL_PROPERTY_KIND_FLAGS)
                  && g_type_from_name (value_type) == 0)
                ql_registry_note_gtype (owners, clashing, value_type, entry);
            }
        }
    }
  if (g_hash_table_size (clashing) == 0)
    return;
  order = g_ptr_array_new ();
  for (guint i = 0; i < self->pending_order->len; i++)
    if (g_hash_table_contains (clashing, g_ptr_array_index (self->pending_order, i)))
      g_ptr_array_add (order, g_ptr_array_index (self->pending_order, i));
  for (guint i = 0; i < order->len; i++)
    {
      QlRegistryCacheEntry *entry = g_ptr_array_index (order, i);
      g_autofree char *path = g_strdup (entry->path);
      g_autofree char *family = g_strdup (entry->family);
      gboolean rerecord = g_hash_table_contains (undescribed, entry);

      /* A file whose load failed is dropped from the pending ones. */
      if (!g_ptr_array_find (self->pending_order, entry, NULL))
        continue;
      ql_registry_load_pending (self, entry);
      if (rerecord)
        ql_registry_cache_rerecord (self, path, family, g_hash_table_lookup (self->plugins_by_name, family));
    }
  /* All open now: in scan order, as ql_registry_get_plugins() leaves them. */
  if (self->pending_order->len == 0)
    g_ptr_array_sort_with_data (self->plugins, ql_registry_compare_rank, self);
}

/* ql_registry_get_plugins() order: by scan rank, lazily opened plugins
 * after those open already (a stable sort). */
typedef struct
{
  guint         rank;
  guint         seq;
  QlPluginInfo *info;
} QlRankedInfo;

static int
ql_registry_compare_ranked (gconstpointer a,
                            gconstpointer b)
{
  const QlRankedInfo *ra = a, *rb = b;

  if (ra->rank != rb->rank)
    return ra->rank < rb->rank ? -1 : 1;
  return ra->seq < rb->seq ? -1 : ra->seq > rb->seq;
}

/**
 * ql_registry_list_plugin_infos:
 * @self: a #QlRegistry
 *
 * Describes the plugins ql_registry_get_plugins() gives, in its order,
 * without loading them: those the registry cache vouches for
 * (ql_registry_set_cache_file()) are described from the cache, the others
 * are loaded already. Only plugins that could not all load in one process
 * are loaded first, as ql_registry_get_plugins() would, so that they fail
 * here too: those whose #GType names (of their device types, and of the
 * enumerations and flags of their properties, as the cache records them)
 * clash, and those whose cached descriptions make no sense. A plugin file
 * that changed since the scan, or whose load would fail for another
 * reason, is listed here and reported when used.
 *
 * Returns: (transfer container) (element-type QlPluginInfo): the plugins
 */
GPtrArray *
ql_registry_list_plugin_infos (QlRegistry *self)
{
  g_autoptr(GArray) ranked = NULL;
  GPtrArray *infos;
  guint seq = 0;
  gboolean had_pending;

  g_return_val_if_fail (QL_IS_REGISTRY (self), NULL);

  /* Lazy files (see QlRegistry) made ordinary pending ones. */
  ql_registry_materialize (self);

  had_pending = self->pending_order->len > 0;
  ql_registry_load_clashing (self);

  ranked = g_array_new (FALSE, FALSE, sizeof (QlRankedInfo));
  for (guint i = 0; i < self->plugins->len; i++)
    {
      QlPlugin *plugin = g_ptr_array_index (self->plugins, i);
      g_auto(GStrv) types = ql_plugin_get_device_types (plugin);
      QlRankedInfo r = { ql_registry_rank_of (self, plugin), seq++, NULL };

      r.info = ql_plugin_info_new (ql_plugin_get_name (plugin), ql_plugin_get_description (plugin),
                                   ql_plugin_get_version (plugin), ql_plugin_get_license (plugin),
                                   ql_plugin_get_filename (plugin), (const char * const *) types);
      g_array_append_val (ranked, r);
    }
  for (guint i = 0; i < self->pending_order->len; i++)
    {
      QlRegistryCacheEntry *entry = g_ptr_array_index (self->pending_order, i);
      QlRankedInfo r = { entry->rank > 0 ? entry->rank : G_MAXUINT, seq++, NULL };

      r.info = ql_plugin_info_new (entry->family, entry->description, entry->version, entry->license,
                                   entry->path, (const char * const *) entry->device_types);
      g_array_append_val (ranked, r);
    }
  /* As ql_registry_get_plugins(), which sorts only with files pending. */
  if (had_pending)
    g_array_sort (ranked, ql_registry_compare_ranked);
  infos = g_ptr_array_new_full (ranked->len, (GDestroyNotify) ql_plugin_info_unref);
  for (guint i = 0; i < ranked->len; i++)
    g_ptr_array_add (infos, g_array_index (ranked, QlRankedInfo, i).info);
  return infos;
}

/**
 * ql_registry_describe_device_type:
 * @self: a #QlRegistry
 * @name: a device type name
 * @error: return location for an error
 *
 * Describes a device type: its #GType name, plugin and properties, as
 * `qlaunch inspect TYPE` shows them. A type of a plugin the registry cache
 * vouches for (ql_registry_set_cache_file()) is described from the cache,
 * without loading the plugin; the cache holds what
 * ql_device_type_info_new_for_type() gave when the plugin was last
 * opened, and is read as untrusted input: a description that makes no
 * sense is replaced by loading the plugin (and written again). Any other
 * type is described from its class, loading its plugin if needed.
 *
 * The description holds no #GParamSpec: an application that needs them
 * gets the type with ql_registry_lookup_device_type() (which loads its
 * plugin) and lists them with g_object_class_list_properties().
 *
 * Errors are those of ql_registry_create_device(): an unknown type, or
 * one whose plugin could not be loaded.
 *
 * Returns: (transfer full) (nullable): the description, or %NULL with
 *   @error set
 */
QlDeviceTypeInfo *
ql_registry_describe_device_type (QlRegistry  *self,
                                  const char  *name,
                                  GError     **error)
{
  QlDeviceEntry *entry;
  QlRegistryCacheEntry *pending;
  g_autofree char *rerecord = NULL;
  g_autofree char *family = NULL;

  g_return_val_if_fail (QL_IS_REGISTRY (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Lazy files (see QlRegistry) made ordinary pending ones. */
  ql_registry_materialize (self);

  pending = g_hash_table_contains (self->devices, name) ? NULL
                                                         : g_hash_table_lookup (self->pending_types, name);
  if (pending != NULL)
    {
      g_autoptr(GError) local_error = NULL;
      QlDeviceTypeInfo *info = ql_registry_cache_entry_describe (pending, name, &local_error);

      if (info != NULL)
        return info;
      g_debug ("qlaunch: %s; its plugin is opened instead", local_error->message);
      rerecord = g_strdup (pending->path);
      family = g_strdup (pending->family);
    }
  entry = ql_registry_lookup_entry (self, name);
  if (entry == NULL)
    {
      ql_registry_set_unknown_type_error (self, name, error);
      return NULL;
    }
  if (rerecord != NULL)
    ql_registry_cache_rerecord (self, rerecord, family, entry->plugin);
  return ql_device_type_info_new_for_type (name, entry->type,
                                           entry->plugin != NULL ? ql_plugin_get_name (entry->plugin) : NULL);
}

/**
 * ql_registry_lookup_device_type:
 * @self: a #QlRegistry
 * @name: a device type name
 *
 * Looks up the GType registered under a device type name, opening the
 * plugin that provides it if the registry cache vouched for it (the way to
 * its #GParamSpecs: g_object_class_list_properties() on its class;
 * ql_registry_describe_device_type() describes a type without opening
 * anything).
 *
 * Returns: the #QlDevice subclass, or %G_TYPE_INVALID if @name is not
 *   registered
 */
GType
ql_registry_lookup_device_type (QlRegistry *self,
                                const char *name)
{
  QlDeviceEntry *entry;

  g_return_val_if_fail (QL_IS_REGISTRY (self), G_TYPE_INVALID);
  g_return_val_if_fail (name != NULL, G_TYPE_INVALID);

  entry = ql_registry_lookup_entry (self, name);

  return entry != NULL ? entry->type : G_TYPE_INVALID;
}

/**
 * ql_registry_get_device_plugin:
 * @self: a #QlRegistry
 * @name: a device type name
 *
 * Gets the plugin that provides a device type.
 *
 * Returns: (transfer none) (nullable): the plugin, or %NULL if @name is not
 *   registered or was registered by the application with
 *   ql_registry_register_device()
 */
QlPlugin *
ql_registry_get_device_plugin (QlRegistry *self,
                               const char *name)
{
  QlDeviceEntry *entry;

  g_return_val_if_fail (QL_IS_REGISTRY (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  entry = ql_registry_lookup_entry (self, name);

  return entry != NULL ? entry->plugin : NULL;
}

/**
 * ql_registry_register_device:
 * @self: a #QlRegistry
 * @name: the device type name: a lowercase letter followed by lowercase
 *   letters, digits and `-`
 * @type: a concrete (non-abstract) subclass of #QlDevice
 * @error: return location for a #QL_PLUGIN_ERROR error
 *
 * Registers a device type that no plugin provides, for applications that
 * embed their own device types. Fails with %QL_PLUGIN_ERROR_BAD_DEVICE_TYPE
 * if @name is malformed, @type is not a concrete #QlDevice subclass or its
 * properties break the rules of ql_plugin_register_device(), and
 * with %QL_PLUGIN_ERROR_DUPLICATE_DEVICE if @name is registered already.
 *
 * Returns: %TRUE if the device type was registered
 */
gboolean
ql_registry_register_device (QlRegistry  *self,
                             const char  *name,
                             GType        type,
                             GError     **error)
{
  QlDeviceEntry *entry;

  g_return_val_if_fail (QL_IS_REGISTRY (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!ql_device_type_check (name, type, error)
      || !ql_device_type_check_properties (name, type, NULL, error))
    return FALSE;

  entry = ql_registry_lookup_entry (self, name);
  if (entry != NULL)
    {
      g_set_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_DUPLICATE_DEVICE,
                   "device type '%s' is already registered by '%s'",
                   name, ql_registry_device_owner (entry));
      return FALSE;
    }

  entry = g_new0 (QlDeviceEntry, 1);
  entry->type = type;
  g_hash_table_insert (self->devices, g_strdup (name), entry);
  ql_device_type_set_name (type, name, NULL);

  return TRUE;
}

static void
ql_registry_set_unknown_type_error (QlRegistry  *self,
                                    const char  *type_name,
                                    GError     **error)
{
  g_auto(GStrv) known = ql_registry_list_device_types (self);
  g_autofree char *known_list = NULL;
  const char *suggestion;
  const GError *lazy_error = g_hash_table_lookup (self->lazy_errors, type_name);

  if (lazy_error != NULL)
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_UNKNOWN_DEVICE_TYPE,
                   "device type '%s': its plugin could not be loaded: %s",
                   type_name, lazy_error->message);
      return;
    }

  suggestion = ql_closest_word (type_name, (const char * const *) known);
  known_list = known[0] != NULL ? g_strjoinv (", ", known)
                                : g_strdup ("(none)");

  if (suggestion != NULL)
    g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_UNKNOWN_DEVICE_TYPE,
                 "unknown device type '%s'; known: %s; did you mean '%s'?",
                 type_name, known_list, suggestion);
  else
    g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_UNKNOWN_DEVICE_TYPE,
                 "unknown device type '%s'; known: %s",
                 type_name, known_list);
}

/**
 * ql_registry_create_device:
 * @self: a #QlRegistry
 * @type_name: a registered device type name
 * @id: (nullable): the device id, or %NULL to leave it unset
 * @error: return location for an error
 *
 * Creates a device of a registered type, with every other property at its
 * default. Fails with %QL_CONFIG_ERROR_UNKNOWN_DEVICE_TYPE, whose message
 * lists the known types (and suggests a close one), if @type_name is not
 * registered.
 *
 * Returns: (transfer full) (nullable): the new device, or %NULL with @error
 *   set
 */
QlDevice *
ql_registry_create_device (QlRegistry  *self,
                           const char  *type_name,
                           const char  *id,
                           GError     **error)
{
  QlDeviceEntry *entry;

  g_return_val_if_fail (QL_IS_REGISTRY (self), NULL);
  g_return_val_if_fail (type_name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  entry = ql_registry_lookup_entry (self, type_name);
  if (entry == NULL)
    {
      ql_registry_set_unknown_type_error (self, type_name, error);
      return NULL;
    }

  return g_object_new (entry->type, "id", id, NULL);
}

static gboolean
ql_spec_set_property (QlDevice      *device,
                      const char    *spec,
                      QlKeyvalPair  *pair,
                      GError       **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *resolved = NULL;
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (device), pair->key);
  const char *value = pair->value;

  /* A relative path in a spec is relative to the caller's directory, never
   * to QEMU's. */
  if (pspec != NULL)
    resolved = ql_param_resolve_path_value (pspec, value, NULL);
  if (resolved != NULL)
    value = resolved;
  if (!ql_device_set_property_from_string (device, pair->key, value,
                                           &local_error))
    {
      g_set_error (error, local_error->domain, local_error->code,
                   "device spec '%s': %s", spec, local_error->message);
      return FALSE;
    }

  return TRUE;
}

/**
 * ql_registry_create_device_from_spec:
 * @self: a #QlRegistry
 * @spec: a device spec, `TYPE,key=value,...` (or `type=TYPE,key=value,...`)
 *   in QEMU's key=value syntax, where `,,` is a literal comma
 * @error: return location for a #QL_CONFIG_ERROR error
 *
 * Creates a device from the text of a `-d` option: the first element is the
 * device type, every further element sets the property of that name,
 * parsed from text according to its #GParamSpec. The spec's shape is checked
 * before any value; `id` is set before the other properties, so that their
 * errors name the device.
 *
 * Errors (messages name the spec and the key): %QL_CONFIG_ERROR_PARSE for
 * a malformed spec or an element that is not `key=value`,
 * %QL_CONFIG_ERROR_UNKNOWN_DEVICE_TYPE, %QL_CONFIG_ERROR_DUPLICATE for a key
 * given twice, and those of ql_device_set_property_from_string() for unknown
 * keys and bad values.
 *
 * Returns: (transfer full) (nullable): the new device, or %NULL with @error
 *   set
 */
QlDevice *
ql_registry_create_device_from_spec (QlRegistry  *self,
                                     const char  *spec,
                                     GError     **error)
{
  g_autoptr(GPtrArray) elements = NULL;
  g_autoptr(GHashTable) seen = NULL;
  g_autoptr(QlDevice) device = NULL;
  g_autoptr(GError) local_error = NULL;
  QlKeyvalPair *head;
  QlKeyvalPair *id_pair = NULL;
  guint i;

  g_return_val_if_fail (QL_IS_REGISTRY (self), NULL);
  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  elements = ql_keyval_split (spec, "device spec", error);
  if (elements == NULL)
    return NULL;

  if (elements->len == 0)
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE,
                   "device spec '%s': no device type", spec);
      return NULL;
    }

  head = g_ptr_array_index (elements, 0);
  if (head->key != NULL && !g_str_equal (head->key, "type"))
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE,
                   "device spec '%s': must start with the device type "
                   "(TYPE or type=TYPE), not key '%s'",
                   spec, head->key);
      return NULL;
    }

  if (head->value[0] == '\0')
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE,
                   "device spec '%s': the device type is empty", spec);
      return NULL;
    }

  /* The spec's shape first: every further element is key=value, each key
   * once ('_' and '-' alike in property names, as in GObject). */
  seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_add (seen, g_strdup ("type"));

  for (i = 1; i < elements->len; i++)
    {
      QlKeyvalPair *pair = g_ptr_array_index (elements, i);
      g_autofree char *canonical = NULL;

      if (pair->key == NULL)
        {
          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_PARSE,
                       "device spec '%s': element '%s' is not key=value",
                       spec, pair->value);
          return NULL;
        }

      canonical = g_strdelimit (g_strdup (pair->key), "_", '-');
      if (g_hash_table_contains (seen, canonical))
        {
          if (g_str_equal (canonical, "type"))
            g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_DUPLICATE,
                         "device spec '%s': key 'type' given twice (the "
                         "first element is the device type)",
                         spec);
          else
            g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_DUPLICATE,
                         "device spec '%s': key '%s' given twice",
                         spec, pair->key);
          return NULL;
        }

      if (g_str_equal (canonical, "id"))
        id_pair = pair;
      g_hash_table_add (seen, g_steal_pointer (&canonical));
    }

  device = ql_registry_create_device (self, head->value, NULL, &local_error);
  if (device == NULL)
    {
      g_set_error (error, local_error->domain, local_error->code,
                   "device spec '%s': %s", spec, local_error->message);
      return NULL;
    }

  /* The id first, so that errors about other properties name the device. */
  if (id_pair != NULL && !ql_spec_set_property (device, spec, id_pair, error))
    return NULL;

  for (i = 1; i < elements->len; i++)
    {
      QlKeyvalPair *pair = g_ptr_array_index (elements, i);

      if (pair != id_pair && !ql_spec_set_property (device, spec, pair, error))
        return NULL;
    }

  return g_steal_pointer (&device);
}
