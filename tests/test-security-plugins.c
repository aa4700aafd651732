/* qlaunch tests — the security suite: plugin files are trusted like the
 * dynamic loader's own libraries.
 *
 * Another local user (uid 65534, "nobody") owns a plugin directory, one of
 * its parents, a symbolic link or a link's target directory; or a parent is
 * writable by group or others, sticky (like /tmp) or not. qlaunch must
 * refuse the plugin with a load error naming the file and the reason, and
 * its device type must not exist. The plugin is a copy of the build's rng
 * plugin (device type `rng`) in directories made under a root-owned 0755
 * base in the build tree (not /tmp, which is itself refused). Also: an
 * empty --plugin-dir is a usage error, an empty QLAUNCH_PLUGIN_PATH entry
 * is not the current directory, and a plugin is mapped from the descriptor
 * whose file was checked. */
#include <qlaunch/qlaunch.h>

#include <link.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "ql-test-util.h"

#define OTHER_UID 65534
#define OURS ((uid_t) -1)   /* chown() leaves the owner as it is */
#define PLUGIN "libqlaunch-rng.so"

/* Runs qlaunch in @cwd (or ours) with @env (NAME=VALUE entries) added, in
 * the C locale; returns its exit status. */
static int
run_in (const char         *cwd,
        const char * const *env,
        const char * const *args,
        char              **out,
        char              **err)
{
  g_autoptr(GPtrArray) all_env = g_ptr_array_new ();

  g_ptr_array_add (all_env, (gpointer) "LC_ALL=C");
  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    g_ptr_array_add (all_env, (gpointer) env[i]);
  g_ptr_array_add (all_env, NULL);
  return ql_test_run_cli_in (cwd, (const char * const *) all_env->pdata, args, out, err);
}

/* Copies the plugin file @name of the directory $@dir_variable into @dir,
 * 0755; returns the copy. */
static char *
copy_plugin (const char *dir_variable,
             const char *name,
             const char *dir)
{
  g_autofree char *source = g_build_filename (g_getenv (dir_variable), name, NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  char *copy = g_build_filename (dir, name, NULL);
  gsize len = 0;

  g_assert_true (g_file_get_contents (source, &contents, &len, &error));
  g_assert_true (g_file_set_contents (copy, contents, (gssize) len, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (copy, 0755), ==, 0);
  return copy;
}

/* Copies the build's rng plugin into @dir. */
static char *
install_plugin (const char *dir)
{
  return copy_plugin ("QLAUNCH_BUILD_PLUGIN_DIR", PLUGIN, dir);
}

static gboolean
need_root (void)
{
  if (geteuid () == 0)
    return TRUE;
  g_test_skip ("needs root: files are given to another user (uid 65534)");
  return FALSE;
}

/* qlaunch with --plugin-dir @dir, with and without the registry cache:
 * the plugin skipped with @reason, and no device type rng. */
static void
assert_refused (const char *dir,
                const char *reason)
{
  g_autofree char *warning = g_strdup_printf ("qlaunch: warning: plugin skipped: %s\n", reason);
  const char *with_cache[] = { "--plugin-dir", dir, "inspect", "rng", NULL };
  const char *without_cache[] = { "--no-registry-cache", "--plugin-dir", dir, "inspect", "rng", NULL };
  const char * const *runs[] = { with_cache, without_cache };

  for (gsize i = 0; i < G_N_ELEMENTS (runs); i++)
    {
      g_autofree char *err = NULL;
      int status = run_in (NULL, NULL, runs[i], NULL, &err);

      g_test_message ("qlaunch said: %s", err);
      g_assert_cmpint (status, ==, 1);
      g_assert_true (g_str_has_prefix (err, warning));
      g_assert_nonnull (strstr (err, "qlaunch: unknown device type 'rng'"));
    }
}

static void
assert_loads (const char *dir)
{
  const char *args[] = { "--no-registry-cache", "--plugin-dir", dir, "inspect", "rng", NULL };
  g_autofree char *err = NULL;
  int status = run_in (NULL, NULL, args, NULL, &err);

  g_assert_cmpstr (err, ==, "");
  g_assert_cmpint (status, ==, 0);
}

static void
test_safe_dir_loads (void)
{
  g_autofree char *base = ql_test_make_safe_tmpdir ();
  g_autofree char *dir = ql_test_make_owned_dir (base, "ok", 0755, OURS);
  g_autofree char *plugin = install_plugin (dir);

  /* The control: the same copy in a directory no one else can change. */
  assert_loads (dir);
  ql_test_rm_rf (base);
}

/* A plugin below a directory "outer" of @outer_mode and @outer_owner,
 * directly or in a 0755 directory of ours in it (@nested); the plugin file
 * another user's when @file_theirs. */
typedef struct
{
  mode_t   outer_mode;
  uid_t    outer_owner;
  gboolean nested;
  gboolean file_theirs;
} BadLayout;

static const BadLayout dir_owned_by_other_user = { 0755, OTHER_UID, FALSE, FALSE };
static const BadLayout file_owned_by_other_user = { 0755, OURS, FALSE, TRUE };
static const BadLayout parent_owned_by_other_user = { 0755, OTHER_UID, TRUE, FALSE };
static const BadLayout parent_group_writable = { 0775, OURS, TRUE, FALSE };
/* Like /tmp: anyone may create a directory there (and make it look like
 * ours until it is replaced). */
static const BadLayout parent_sticky_world_writable = { 01777, OURS, TRUE, FALSE };

static void
test_bad_layout (gconstpointer data)
{
  const BadLayout *layout = data;
  g_autofree char *base = NULL;
  g_autofree char *outer = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *plugin = NULL;
  g_autofree char *reason = NULL;

  if (!need_root ())
    return;
  base = ql_test_make_safe_tmpdir ();
  outer = ql_test_make_owned_dir (base, "outer", layout->outer_mode, layout->outer_owner);
  dir = layout->nested ? ql_test_make_owned_dir (outer, "plugins", 0755, OURS) : g_strdup (outer);
  plugin = install_plugin (dir);
  if (layout->file_theirs)
    {
      g_assert_cmpint (chown (plugin, OTHER_UID, OTHER_UID), ==, 0);
      g_assert_cmpint (g_chmod (plugin, 0755), ==, 0);
      reason = g_strdup_printf ("'%s': refusing to load plugin file '%s', which is owned by "
                                "another user (uid %u)", plugin, plugin, OTHER_UID);
    }
  else if (layout->outer_owner == OTHER_UID)
    reason = g_strdup_printf ("'%s': refusing to load a plugin from directory '%s', which is "
                              "owned by another user (uid %u)", plugin, outer, OTHER_UID);
  else
    reason = g_strdup_printf ("'%s': refusing to load a plugin from directory '%s', which is "
                              "writable by group or others (mode %04o)",
                              plugin, outer, (guint) layout->outer_mode);
  assert_refused (dir, reason);
  ql_test_rm_rf (base);
}

static void
test_symlink_target_in_bad_dir (void)
{
  g_autofree char *base = NULL;
  g_autofree char *good = NULL;
  g_autofree char *theirs = NULL;
  g_autofree char *target = NULL;
  g_autofree char *link = NULL;
  g_autofree char *reason = NULL;

  if (!need_root ())
    return;
  base = ql_test_make_safe_tmpdir ();
  good = ql_test_make_owned_dir (base, "good", 0755, OURS);
  link = g_build_filename (good, PLUGIN, NULL);

  /* The target's own directory is another user's. */
  theirs = ql_test_make_owned_dir (base, "theirs", 0755, OTHER_UID);
  target = install_plugin (theirs);
  g_assert_cmpint (symlink (target, link), ==, 0);
  reason = g_strdup_printf ("'%s': refusing to load a plugin from directory '%s', which is owned "
                            "by another user (uid %u)", link, theirs, OTHER_UID);
  assert_refused (good, reason);

  /* A parent of the target's directory is world-writable; the target's
   * directory itself is 0755 and root's. */
  {
    g_autofree char *shared = ql_test_make_owned_dir (base, "shared", 0777, OURS);
    g_autofree char *inner = ql_test_make_owned_dir (shared, "inner", 0755, OURS);
    g_autofree char *inner_target = install_plugin (inner);
    g_autofree char *inner_reason = NULL;

    g_assert_cmpint (g_unlink (link), ==, 0);
    g_assert_cmpint (symlink (inner_target, link), ==, 0);
    inner_reason = g_strdup_printf ("'%s': refusing to load a plugin from directory '%s', which "
                                    "is writable by group or others (mode 0777)", link, shared);
    assert_refused (good, inner_reason);
  }

  /* The link itself is another user's, to a good file. */
  {
    g_autofree char *ok = ql_test_make_owned_dir (base, "ok", 0755, OURS);
    g_autofree char *ok_target = install_plugin (ok);
    g_autofree char *link_reason = NULL;

    g_assert_cmpint (g_unlink (link), ==, 0);
    g_assert_cmpint (symlink (ok_target, link), ==, 0);
    assert_loads (good);
    g_assert_cmpint (lchown (link, OTHER_UID, OTHER_UID), ==, 0);
    link_reason = g_strdup_printf ("'%s': refusing to load a plugin through symbolic link '%s', "
                                   "which is owned by another user (uid %u)", link, link, OTHER_UID);
    assert_refused (good, link_reason);
  }
  ql_test_rm_rf (base);
}

static void
test_symlinked_dir_in_chain (void)
{
  g_autofree char *base = NULL;
  g_autofree char *theirs = NULL;
  g_autofree char *real = NULL;
  g_autofree char *plugin = NULL;
  g_autofree char *via_absolute = NULL;
  g_autofree char *via_relative = NULL;
  g_autofree char *reason = NULL;
  g_autofree char *reason_relative = NULL;
  g_autofree char *plugin_absolute = NULL;
  g_autofree char *plugin_relative = NULL;

  if (!need_root ())
    return;
  /* base/via -> base/theirs/real: theirs is another user's, real (the
   * plugin's directory, as the kernel resolves it) is root's 0755. */
  base = ql_test_make_safe_tmpdir ();
  theirs = ql_test_make_owned_dir (base, "theirs", 0755, OTHER_UID);
  real = ql_test_make_owned_dir (theirs, "real", 0755, OURS);
  plugin = install_plugin (real);
  via_absolute = g_build_filename (base, "via", NULL);
  via_relative = g_build_filename (base, "via-relative", NULL);
  g_assert_cmpint (symlink (real, via_absolute), ==, 0);
  g_assert_cmpint (symlink ("theirs/real", via_relative), ==, 0);
  plugin_absolute = g_build_filename (via_absolute, PLUGIN, NULL);
  plugin_relative = g_build_filename (via_relative, PLUGIN, NULL);

  reason = g_strdup_printf ("'%s': refusing to load a plugin from directory '%s', which is owned "
                            "by another user (uid %u)", plugin_absolute, theirs, OTHER_UID);
  assert_refused (via_absolute, reason);
  reason_relative = g_strdup_printf ("'%s': refusing to load a plugin from directory '%s', which is "
                                     "owned by another user (uid %u)", plugin_relative, theirs, OTHER_UID);
  assert_refused (via_relative, reason_relative);

  /* The same chain with theirs given back to root loads. */
  g_assert_cmpint (chown (theirs, 0, 0), ==, 0);
  assert_loads (via_absolute);
  assert_loads (via_relative);
  ql_test_rm_rf (base);
}

static void
test_empty_plugin_dir (void)
{
  g_autofree char *base = ql_test_make_safe_tmpdir ();
  g_autofree char *plugin = install_plugin (base);
  const char *separate[] = { "--plugin-dir", "", "inspect", "rng", NULL };
  const char *joined[] = { "--plugin-dir=", "inspect", "rng", NULL };
  const char * const *runs[] = { separate, joined };

  /* Run where a plugin is: an empty directory must not mean this one. */
  for (gsize i = 0; i < G_N_ELEMENTS (runs); i++)
    {
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;
      int status = run_in (base, NULL, runs[i], &out, &err);

      g_assert_cmpint (status, ==, 2);
      g_assert_true (g_str_has_prefix (err, "qlaunch: --plugin-dir: the directory is empty\n\n"
                                              "Usage: qlaunch [--plugin-dir DIR]..."));
      g_assert_cmpstr (out, ==, "");
    }
  ql_test_rm_rf (base);
}

static void
test_empty_path_entry_is_not_cwd (void)
{
  g_autofree char *base = ql_test_make_safe_tmpdir ();
  g_autofree char *plugin = install_plugin (base);
  const char *env_empty[] = { "QLAUNCH_PLUGIN_PATH=", "QLAUNCH_PLUGIN_SYSTEM_PATH=", NULL };
  const char *env_colons[] = { "QLAUNCH_PLUGIN_PATH=::", "QLAUNCH_PLUGIN_SYSTEM_PATH=:", NULL };
  const char *env_around[] = { "QLAUNCH_PLUGIN_PATH=:/nonexistent/qlaunch:", "QLAUNCH_PLUGIN_SYSTEM_PATH=", NULL };
  const char * const *envs[] = { env_empty, env_colons, env_around };
  const char *args[] = { "--no-registry-cache", "inspect", "rng", NULL };

  for (gsize i = 0; i < G_N_ELEMENTS (envs); i++)
    {
      g_autofree char *err = NULL;
      int status = run_in (base, envs[i], args, NULL, &err);

      g_assert_cmpint (status, ==, 1);
      g_assert_cmpstr (err, ==, "qlaunch: unknown device type 'rng'; known: (none)\n");
    }
  ql_test_rm_rf (base);
}

typedef struct
{
  GPtrArray *names;   /* element-type filename */
} LoadedObjects;

static int
collect_object (struct dl_phdr_info *info,
                size_t               size,
                void                *data)
{
  LoadedObjects *objects = data;

  (void) size;
  if (info->dlpi_name != NULL && info->dlpi_name[0] != '\0')
    g_ptr_array_add (objects->names, g_strdup (info->dlpi_name));
  return 0;
}

static void
test_loaded_from_checked_descriptor (void)
{
  g_autofree char *base = ql_test_make_safe_tmpdir ();
  g_autofree char *plugin = install_plugin (base);
  g_autoptr(QlRegistry) registry = ql_registry_new ();
  g_autoptr(GError) error = NULL;
  LoadedObjects objects = { g_ptr_array_new_with_free_func (g_free) };
  struct stat file_st;
  guint from_fd = 0;

  g_assert_cmpint (stat (plugin, &file_st), ==, 0);
  g_assert_nonnull (ql_registry_load_plugin (registry, plugin, &error));
  g_assert_no_error (error);

  /* The dynamic loader knows the plugin by the descriptor qlaunch opened
   * and checked (/proc/self/fd/N), never by its path, which another
   * process could point at another file between the check and the load;
   * that descriptor stays open and is the plugin file. */
  dl_iterate_phdr (collect_object, &objects);
  for (guint i = 0; i < objects.names->len; i++)
    {
      const char *name = g_ptr_array_index (objects.names, i);
      struct stat st;

      g_assert_cmpstr (name, !=, plugin);
      if (!g_str_has_prefix (name, "/proc/self/fd/"))
        continue;
      g_assert_cmpint (stat (name, &st), ==, 0);
      if (st.st_dev == file_st.st_dev && st.st_ino == file_st.st_ino)
        from_fd++;
    }
  g_assert_cmpuint (from_fd, ==, 1);
  g_ptr_array_unref (objects.names);
  ql_test_rm_rf (base);
}

/* A scan of a directory holding libqlaunch-abictor.so (ABI major + 1, with a
 * constructor that sets QLAUNCH_FIXTURE_CONSTRUCTOR_RAN), with a registry
 * cache when @cache is set; the plugin must be refused. */
static void
scan_abictor (gboolean cache)
{
  g_autofree char *base = ql_test_make_safe_tmpdir ();
  g_autofree char *dir = ql_test_make_owned_dir (base, "plugins", 0755, OURS);
  g_autofree char *plugin = copy_plugin ("QLAUNCH_SECURITY_FIXTURE_DIR", "libqlaunch-abictor.so", dir);
  g_autofree char *cache_dir = ql_test_make_owned_dir (base, "cache", 0700, OURS);
  g_autofree char *cache_file = g_build_filename (cache_dir, "registry.cache", NULL);
  g_autofree char *expected = g_strdup_printf ("'%s': plugin ABI %u.0 does not match this "
                                               "qlaunch's ABI %u.%u (major versions differ)",
                                               plugin, QL_PLUGIN_ABI_MAJOR + 1,
                                               QL_PLUGIN_ABI_MAJOR, QL_PLUGIN_ABI_MINOR);
  g_autoptr(QlRegistry) registry = ql_registry_new ();
  GPtrArray *errors;

  if (cache)
    ql_registry_set_cache_file (registry, cache_file);
  ql_registry_add_search_dir (registry, dir);
  ql_registry_scan (registry);
  errors = ql_registry_get_load_errors (registry);
  g_assert_cmpuint (errors->len, ==, 1);
  g_assert_error ((GError *) g_ptr_array_index (errors, 0), QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_ABI_MISMATCH);
  g_assert_cmpstr (((GError *) g_ptr_array_index (errors, 0))->message, ==, expected);
  g_assert_cmpuint (ql_registry_get_plugins (registry)->len, ==, 0);
  ql_test_rm_rf (base);
}

static void
test_abi_checked_out_of_process (void)
{
  g_assert_nonnull (g_getenv ("QLAUNCH_PLUGIN_SCANNER"));
  g_unsetenv ("QLAUNCH_FIXTURE_CONSTRUCTOR_RAN");

  /* With the registry cache, a new plugin file is opened first in
   * qlaunch-plugin-scanner: its ABI is refused there, and none of its
   * code ever runs in this process... */
  scan_abictor (TRUE);
  g_assert_null (g_getenv ("QLAUNCH_FIXTURE_CONSTRUCTOR_RAN"));

  /* ...while without it the file is opened here: its constructor runs
   * before its ABI can be read, as the README says. */
  scan_abictor (FALSE);
  g_assert_cmpstr (g_getenv ("QLAUNCH_FIXTURE_CONSTRUCTOR_RAN"), ==, "abictor");
}

static void
test_swapped_after_scan (void)
{
  g_autofree char *base = ql_test_make_safe_tmpdir ();
  g_autofree char *dir = ql_test_make_owned_dir (base, "plugins", 0755, OURS);
  g_autofree char *plugin = install_plugin (dir);
  g_autofree char *cache_dir = ql_test_make_owned_dir (base, "cache", 0700, OURS);
  g_autofree char *cache_file = g_build_filename (cache_dir, "registry.cache", NULL);
  g_autofree char *other_dir = ql_test_make_owned_dir (base, "other", 0755, OURS);
  g_autofree char *other = copy_plugin ("QLAUNCH_SECURITY_FIXTURE_DIR", "libqlaunch-abictor.so", other_dir);
  g_autofree char *expected = g_strdup_printf ("'%s': cannot open plugin: the file changed since it "
                                               "was scanned; it is scanned again next time", plugin);
  g_autoptr(QlRegistry) registry = ql_registry_new ();
  GPtrArray *errors;

  g_unsetenv ("QLAUNCH_FIXTURE_CONSTRUCTOR_RAN");
  /* The scanner vouches for rng; it is opened here only when used. */
  ql_registry_set_cache_file (registry, cache_file);
  ql_registry_add_search_dir (registry, dir);
  ql_registry_scan (registry);
  g_assert_cmpuint (ql_registry_get_load_errors (registry)->len, ==, 0);
  /* Before then, the file is replaced by one the scanner never saw (a
   * plugin of another ABI with a constructor). */
  g_assert_cmpint (g_rename (other, plugin), ==, 0);
  g_assert_cmpuint (ql_registry_get_plugins (registry)->len, ==, 0);
  errors = ql_registry_get_load_errors (registry);
  g_assert_cmpuint (errors->len, ==, 1);
  g_assert_cmpstr (((GError *) g_ptr_array_index (errors, 0))->message, ==, expected);
  g_assert_null (g_getenv ("QLAUNCH_FIXTURE_CONSTRUCTOR_RAN"));
  ql_test_rm_rf (base);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/security/plugins/safe-dir-loads", test_safe_dir_loads);
  g_test_add_data_func ("/security/plugins/dir-owned-by-other-user",
                        &dir_owned_by_other_user, test_bad_layout);
  g_test_add_data_func ("/security/plugins/file-owned-by-other-user",
                        &file_owned_by_other_user, test_bad_layout);
  g_test_add_data_func ("/security/plugins/parent-owned-by-other-user",
                        &parent_owned_by_other_user, test_bad_layout);
  g_test_add_data_func ("/security/plugins/parent-group-writable",
                        &parent_group_writable, test_bad_layout);
  g_test_add_data_func ("/security/plugins/parent-sticky-world-writable",
                        &parent_sticky_world_writable, test_bad_layout);
  g_test_add_func ("/security/plugins/symlink-target-in-bad-dir", test_symlink_target_in_bad_dir);
  g_test_add_func ("/security/plugins/symlinked-dir-in-chain", test_symlinked_dir_in_chain);
  g_test_add_func ("/security/plugins/empty-plugin-dir", test_empty_plugin_dir);
  g_test_add_func ("/security/plugins/empty-path-entry-is-not-cwd", test_empty_path_entry_is_not_cwd);
  g_test_add_func ("/security/plugins/loaded-from-checked-descriptor",
                   test_loaded_from_checked_descriptor);
  g_test_add_func ("/security/plugins/abi-checked-out-of-process", test_abi_checked_out_of_process);
  g_test_add_func ("/security/plugins/swapped-after-scan", test_swapped_after_scan);
  return g_test_run ();
}
