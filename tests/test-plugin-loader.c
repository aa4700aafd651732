/* Tests: the plugin loader and QlRegistry, against the fixture plugins of
 * tests/fixtures (one per loader error) and the build's real plugins. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <qlaunch/qlaunch.h>

#include "ql-test-util.h"

typedef struct
{
  const char *family;
  gint        code;
  const char *fragment;   /* a piece of the message saying the reason */
} BrokenFixture;

/* Every fixture the loader must refuse, in file name order. */
static const BrokenFixture broken_fixtures[] = {
  { "abimajor", QL_PLUGIN_ERROR_ABI_MISMATCH, "ABI 2.0" },
  { "abiminor", QL_PLUGIN_ERROR_ABI_TOO_NEW, "needs ABI 1.5" },
  { "abstract", QL_PLUGIN_ERROR_BAD_DEVICE_TYPE, "is abstract" },
  { "dupb", QL_PLUGIN_ERROR_DUPLICATE_DEVICE, "'fixture-dup'" },
  { "garbage", QL_PLUGIN_ERROR_OPEN_FAILED, "cannot open plugin: invalid ELF header" },
  { "initfail", QL_PLUGIN_ERROR_INIT_FAILED, "cannot find its firmware" },
  { "initsilent", QL_PLUGIN_ERROR_INIT_FAILED, "without saying why" },
  { "mismatch", QL_PLUGIN_ERROR_NAME_MISMATCH, "'other'" },
  { "noentry", QL_PLUGIN_ERROR_NO_ENTRY_POINT, "'ql_plugin_noentry_get_desc'" },
  { "noinit", QL_PLUGIN_ERROR_BAD_DESCRIPTOR, "has no 'init'" },
  { "noname", QL_PLUGIN_ERROR_BAD_DESCRIPTOR, "has no 'name'" },
  { "notdevice", QL_PLUGIN_ERROR_BAD_DEVICE_TYPE, "not a subclass of QlDevice" },
  { "nulldesc", QL_PLUGIN_ERROR_BAD_DESCRIPTOR, "returned no descriptor" },
};

/* The fixtures that load, in file name order. */
static const char * const good_fixtures[] = { "dupa", "good", "two-words" };

static const char *
fixture_dir (void)
{
  const char *dir = g_getenv ("QLAUNCH_FIXTURE_DIR");

  g_assert_nonnull (dir);
  return dir;
}

static char *
fixture_path (const char *family)
{
  g_autofree char *name = g_strdup_printf ("libqlaunch-%s.so", family);

  return g_build_filename (fixture_dir (), name, NULL);
}

/* Asserts that @message starts with the quoted @path. */
static void
assert_names_file (const char *message,
                   const char *path)
{
  g_autofree char *prefix = g_strdup_printf ("'%s': ", path);

  if (!g_str_has_prefix (message, prefix))
    g_error ("message \"%s\" does not start with \"%s\"", message, prefix);
}

static void
assert_contains (const char *haystack,
                 const char *needle)
{
  if (strstr (haystack, needle) == NULL)
    g_error ("\"%s\" does not contain \"%s\"", haystack, needle);
}

static void
copy_file (const char *from,
           const char *to)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length;

  g_file_get_contents (from, &contents, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents_full (to, contents, length, G_FILE_SET_CONTENTS_NONE,
                            0755, &error);
  g_assert_no_error (error);
}

static void
test_good (void)
{
  g_autoptr(QlRegistry) registry = ql_registry_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = fixture_path ("good");
  g_auto(GStrv) types = NULL;
  g_auto(GStrv) all_types = NULL;
  g_autoptr(QlDevice) device = NULL;
  g_autoptr(QlVmConfig) vm = NULL;
  g_autoptr(QlCmdline) cmdline = NULL;
  g_auto(GStrv) argv = NULL;
  QlPlugin *plugin;

  plugin = ql_registry_load_plugin (registry, path, &error);
  g_assert_no_error (error);
  g_assert_true (QL_IS_PLUGIN (plugin));

  g_assert_cmpstr (ql_plugin_get_name (plugin), ==, "good");
  g_assert_cmpstr (ql_plugin_get_description (plugin), ==,
                   "Test fixture: a well-formed plugin");
  g_assert_cmpstr (ql_plugin_get_version (plugin), ==, "1.2.3");
  g_assert_cmpstr (ql_plugin_get_license (plugin), ==, "Apache-2.0");
  g_assert_cmpstr (ql_plugin_get_filename (plugin), ==, path);
  g_assert_cmpuint (ql_plugin_get_abi_minor (plugin), ==, QL_PLUGIN_ABI_MINOR);

  types = ql_plugin_get_device_types (plugin);
  g_assert_cmpstrv (types, ((const char * const[]) { "fixture-good", NULL }));

  all_types = ql_registry_list_device_types (registry);
  g_assert_cmpstrv (all_types, ((const char * const[]) { "fixture-good", NULL }));
  g_assert_true (g_type_is_a (ql_registry_lookup_device_type (registry, "fixture-good"),
                              QL_TYPE_DEVICE));
  g_assert_true (ql_registry_get_device_plugin (registry, "fixture-good") == plugin);
  g_assert_true (ql_registry_lookup_plugin (registry, "good") == plugin);
  g_assert_null (ql_registry_lookup_plugin (registry, "net"));
  g_assert_cmpuint (ql_registry_get_plugins (registry)->len, ==, 1);
  g_assert_true (g_ptr_array_index (ql_registry_get_plugins (registry), 0) == plugin);
  g_assert_cmpuint (ql_registry_get_load_errors (registry)->len, ==, 0);

  /* Loading the very same file again gives the same plugin. */
  g_assert_true (ql_registry_load_plugin (registry, path, &error) == plugin);
  g_assert_no_error (error);

  device = ql_registry_create_device (registry, "fixture-good", "rng0", &error);
  g_assert_no_error (error);
  g_assert_true (QL_IS_DEVICE (device));
  g_assert_cmpstr (ql_device_get_id (device), ==, "rng0");
  g_assert_cmpstr (ql_device_get_type_name (device), ==, "fixture-good");

  vm = ql_vm_config_new ();
  g_assert_true (ql_device_valid (device, vm, &error));
  g_assert_no_error (error);
  cmdline = ql_cmdline_new ("qemu-system-x86_64");
  g_assert_true (ql_device_qemu_params (device, vm, cmdline, &error));
  g_assert_no_error (error);
  argv = ql_cmdline_to_argv (cmdline, &error);
  g_assert_no_error (error);
  g_assert_cmpstrv (argv, ((const char * const[]) {
    "qemu-system-x86_64", "-device", "virtio-rng-pci,id=rng0", NULL }));

  /* A device without id: created, with the id unset. */
  g_clear_object (&device);
  device = ql_registry_create_device (registry, "fixture-good", NULL, &error);
  g_assert_no_error (error);
  g_assert_null (ql_device_get_id (device));
}

static void
test_family_with_dash (void)
{
  g_autoptr(QlRegistry) registry = ql_registry_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = fixture_path ("two-words");
  g_auto(GStrv) types = NULL;
  QlPlugin *plugin;

  plugin = ql_registry_load_plugin (registry, path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ql_plugin_get_name (plugin), ==, "two-words");
  g_assert_true (ql_registry_lookup_plugin (registry, "two-words") == plugin);

  types = ql_plugin_get_device_types (plugin);
  g_assert_cmpstrv (types, ((const char * const[]) {
    "fixture-two-a", "fixture-two-b", NULL }));
}

static void
test_broken (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (broken_fixtures); i++)
    {
      const BrokenFixture *fixture = &broken_fixtures[i];
      g_autoptr(QlRegistry) registry = ql_registry_new ();
      g_autoptr(GError) error = NULL;
      g_autofree char *path = fixture_path (fixture->family);
      g_auto(GStrv) types = NULL;
      QlPlugin *plugin;

      g_test_message ("loading %s", path);

      /* dupb is refused only where dupa is loaded. */
      if (g_str_equal (fixture->family, "dupb"))
        {
          g_autofree char *dupa = fixture_path ("dupa");

          g_assert_nonnull (ql_registry_load_plugin (registry, dupa, &error));
          g_assert_no_error (error);
        }

      plugin = ql_registry_load_plugin (registry, path, &error);
      g_assert_null (plugin);
      g_assert_error (error, QL_PLUGIN_ERROR, fixture->code);
      assert_names_file (error->message, path);
      assert_contains (error->message, fixture->fragment);

      /* Nothing of the failed plugin is kept. */
      g_assert_null (ql_registry_lookup_plugin (registry, fixture->family));
      types = ql_registry_list_device_types (registry);
      if (g_str_equal (fixture->family, "dupb"))
        {
          g_assert_cmpstrv (types, ((const char * const[]) { "fixture-dup", NULL }));
          g_assert_cmpstr (ql_plugin_get_name (ql_registry_get_device_plugin (registry, "fixture-dup")),
                           ==, "dupa");
          g_assert_cmpuint (ql_registry_get_plugins (registry)->len, ==, 1);
        }
      else
        {
          g_assert_cmpstrv (types, ((const char * const[]) { NULL }));
          g_assert_cmpuint (ql_registry_get_plugins (registry)->len, ==, 0);
        }
      /* Only a scan records load errors. */
      g_assert_cmpuint (ql_registry_get_load_errors (registry)->len, ==, 0);
    }
}

static void
test_broken_twice (void)
{
  /* A plugin whose init failed stays mapped (its GTypes live forever) and can
   * be tried again without harm. */
  for (guint round = 0; round < 2; round++)
    {
      g_autoptr(QlRegistry) registry = ql_registry_new ();
      g_autoptr(GError) error = NULL;
      g_autofree char *path = fixture_path ("abstract");

      g_assert_null (ql_registry_load_plugin (registry, path, &error));
      g_assert_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE);
    }
}

static void
test_transactional (void)
{
  g_autoptr(QlRegistry) registry = ql_registry_new ();
  g_autoptr(QlRegistry) other = ql_registry_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *good = fixture_path ("good");
  g_autofree char *two_words = fixture_path ("two-words");
  g_auto(GStrv) types = NULL;
  GType good_type;

  g_assert_nonnull (ql_registry_load_plugin (other, good, &error));
  g_assert_no_error (error);
  good_type = ql_registry_lookup_device_type (other, "fixture-good");

  /* The application took "fixture-two-b": two-words registers
   * fixture-two-a then fixture-two-b, and neither is kept. */
  g_assert_true (ql_registry_register_device (registry, "fixture-two-b",
                                              good_type, &error));
  g_assert_no_error (error);

  g_assert_null (ql_registry_load_plugin (registry, two_words, &error));
  g_assert_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_DUPLICATE_DEVICE);
  assert_names_file (error->message, two_words);
  assert_contains (error->message, "'fixture-two-b'");
  assert_contains (error->message, "the application");

  types = ql_registry_list_device_types (registry);
  g_assert_cmpstrv (types, ((const char * const[]) { "fixture-two-b", NULL }));
  g_assert_null (ql_registry_lookup_plugin (registry, "two-words"));
  g_assert_cmpuint (ql_registry_get_plugins (registry)->len, ==, 0);
}

static void
test_two_registries (void)
{
  g_autofree char *path = fixture_path ("good");

  /* The plugin's GTypes outlive the first registry. */
  for (guint round = 0; round < 3; round++)
    {
      g_autoptr(QlRegistry) registry = ql_registry_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(QlDevice) device = NULL;

      g_assert_nonnull (ql_registry_load_plugin (registry, path, &error));
      g_assert_no_error (error);
      device = ql_registry_create_device (registry, "fixture-good", "x", &error);
      g_assert_no_error (error);
      g_assert_cmpstr (ql_device_get_type_name (device), ==, "fixture-good");
    }
}

static void
test_scan_fixtures (void)
{
  g_autoptr(QlRegistry) registry = ql_registry_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(QlDevice) device = NULL;
  g_auto(GStrv) types = NULL;
  GPtrArray *plugins;
  GPtrArray *errors;

  ql_registry_add_search_dir (registry, fixture_dir ());
  ql_registry_scan (registry);

  plugins = ql_registry_get_plugins (registry);
  g_assert_cmpuint (plugins->len, ==, G_N_ELEMENTS (good_fixtures));
  for (guint i = 0; i < plugins->len; i++)
    {
      g_autofree char *path = fixture_path (good_fixtures[i]);
      QlPlugin *plugin = g_ptr_array_index (plugins, i);

      g_assert_cmpstr (ql_plugin_get_name (plugin), ==, good_fixtures[i]);
      g_assert_cmpstr (ql_plugin_get_filename (plugin), ==, path);
    }

  errors = ql_registry_get_load_errors (registry);
  for (guint i = 0; i < errors->len; i++)
    g_test_message ("load error: %s", ((GError *) g_ptr_array_index (errors, i))->message);
  g_assert_cmpuint (errors->len, ==, G_N_ELEMENTS (broken_fixtures));
  for (guint i = 0; i < errors->len; i++)
    {
      GError *load_error = g_ptr_array_index (errors, i);
      g_autofree char *path = fixture_path (broken_fixtures[i].family);

      /* Files load in name order, so errors come in that order too. */
      g_assert_error (load_error, QL_PLUGIN_ERROR, broken_fixtures[i].code);
      assert_names_file (load_error->message, path);
      assert_contains (load_error->message, broken_fixtures[i].fragment);
    }

  types = ql_registry_list_device_types (registry);
  g_assert_cmpstrv (types, ((const char * const[]) {
    "fixture-dup", "fixture-good", "fixture-two-a", "fixture-two-b", NULL }));
  g_assert_cmpstr (ql_plugin_get_name (ql_registry_get_device_plugin (registry, "fixture-dup")),
                   ==, "dupa");

  device = ql_registry_create_device (registry, "fixture-good", "rng0", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ql_device_get_type_name (device), ==, "fixture-good");

  /* Scanning again loads nothing new and repeats no error. */
  ql_registry_scan (registry);
  g_assert_cmpuint (ql_registry_get_plugins (registry)->len, ==, G_N_ELEMENTS (good_fixtures));
  g_assert_cmpuint (ql_registry_get_load_errors (registry)->len, ==, G_N_ELEMENTS (broken_fixtures));
}

static void
test_insecure (void)
{
  g_autofree char *tmp = ql_test_make_safe_tmpdir ();
  g_autofree char *good = fixture_path ("good");
  g_autofree char *copy = g_build_filename (tmp, "libqlaunch-good.so", NULL);
  const mode_t file_modes[] = { 0666, 0664, 0646 };
  const mode_t dir_modes[] = { 0777, 0775, 0757, 01777 };

  copy_file (good, copy);

  /* The file writable by group or others. The copy is never opened: it
   * would be a second copy of the good fixture's GTypes. */
  for (gsize i = 0; i < G_N_ELEMENTS (file_modes); i++)
    {
      g_autoptr(QlRegistry) registry = ql_registry_new ();
      g_autoptr(GError) error = NULL;

      g_assert_cmpint (g_chmod (copy, file_modes[i]), ==, 0);
      g_assert_null (ql_registry_load_plugin (registry, copy, &error));
      g_assert_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_INSECURE_PATH);
      assert_names_file (error->message, copy);
      assert_contains (error->message, "writable by group or others");
    }

  /* The same through a scan: a load error, nothing loaded. */
  {
    g_autoptr(QlRegistry) registry = ql_registry_new ();
    GPtrArray *errors;

    ql_registry_add_search_dir (registry, tmp);
    ql_registry_scan (registry);
    errors = ql_registry_get_load_errors (registry);
    g_assert_cmpuint (errors->len, ==, 1);
    g_assert_error ((GError *) g_ptr_array_index (errors, 0), QL_PLUGIN_ERROR,
                    QL_PLUGIN_ERROR_INSECURE_PATH);
    g_assert_cmpuint (ql_registry_get_plugins (registry)->len, ==, 0);
  }

  /* The directory writable by group or others (sticky or not). */
  g_assert_cmpint (g_chmod (copy, 0755), ==, 0);
  for (gsize i = 0; i < G_N_ELEMENTS (dir_modes); i++)
    {
      g_autoptr(QlRegistry) registry = ql_registry_new ();
      g_autoptr(GError) error = NULL;

      g_assert_cmpint (g_chmod (tmp, dir_modes[i]), ==, 0);
      g_assert_null (ql_registry_load_plugin (registry, copy, &error));
      g_assert_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_INSECURE_PATH);
      assert_names_file (error->message, copy);
      assert_contains (error->message, tmp);
    }

  g_assert_cmpint (g_chmod (tmp, 0700), ==, 0);
  ql_test_rm_rf (tmp);
}

static void
test_insecure_symlink_target (void)
{
  g_autofree char *link_dir = ql_test_make_safe_tmpdir ();
  g_autofree char *target_dir = ql_test_make_safe_tmpdir ();
  g_autofree char *good = fixture_path ("good");
  g_autofree char *target = g_build_filename (target_dir, "libqlaunch-good.so", NULL);
  g_autofree char *link = g_build_filename (link_dir, "libqlaunch-good.so", NULL);
  g_autoptr(QlRegistry) registry = ql_registry_new ();
  g_autoptr(GError) error = NULL;

  /* A link in a safe directory to a file in an unsafe one. */
  copy_file (good, target);
  g_assert_cmpint (g_chmod (target_dir, 0777), ==, 0);
  g_assert_cmpint (symlink (target, link), ==, 0);

  g_assert_null (ql_registry_load_plugin (registry, link, &error));
  g_assert_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_INSECURE_PATH);
  assert_names_file (error->message, link);

  g_assert_cmpint (g_chmod (target_dir, 0700), ==, 0);
  ql_test_rm_rf (link_dir);
  ql_test_rm_rf (target_dir);
}

static void
test_not_a_plugin_file (void)
{
  g_autofree char *tmp = ql_test_make_safe_tmpdir ();
  g_autofree char *good = fixture_path ("good");
  const char * const bad_names[] = {
    "notaplugin.so", "libqlaunch-.so", "libqlaunch-Good.so",
    "libqlaunch-good_plugin.so", "libqlaunch-1.so", "libqlaunch-good.so.1",
  };
  g_autofree char *subdir = g_build_filename (tmp, "libqlaunch-dir.so", NULL);
  g_autofree char *missing = g_build_filename (tmp, "libqlaunch-missing.so", NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (bad_names); i++)
    {
      g_autoptr(QlRegistry) registry = ql_registry_new ();
      g_autoptr(GError) error = NULL;
      g_autofree char *path = g_build_filename (tmp, bad_names[i], NULL);

      copy_file (good, path);
      g_assert_null (ql_registry_load_plugin (registry, path, &error));
      g_assert_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_OPEN_FAILED);
      assert_names_file (error->message, path);
      assert_contains (error->message, "not a plugin file name");
      g_unlink (path);
    }

  /* A directory and a missing file: refused when loaded by name... */
  g_assert_cmpint (g_mkdir (subdir, 0755), ==, 0);
  {
    g_autoptr(QlRegistry) registry = ql_registry_new ();
    g_autoptr(GError) error = NULL;

    g_assert_null (ql_registry_load_plugin (registry, subdir, &error));
    g_assert_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_OPEN_FAILED);
    assert_names_file (error->message, subdir);
    g_clear_error (&error);

    g_assert_null (ql_registry_load_plugin (registry, missing, &error));
    g_assert_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_OPEN_FAILED);
    assert_names_file (error->message, missing);
  }

  /* ...and not even looked at by a scan, like a missing search dir. */
  {
    g_autoptr(QlRegistry) registry = ql_registry_new ();
    g_autofree char *nowhere = g_build_filename (tmp, "nowhere", NULL);

    ql_registry_add_search_dir (registry, tmp);
    ql_registry_add_search_dir (registry, nowhere);
    ql_registry_scan (registry);
    g_assert_cmpuint (ql_registry_get_load_errors (registry)->len, ==, 0);
    g_assert_cmpuint (ql_registry_get_plugins (registry)->len, ==, 0);
  }

  ql_test_rm_rf (tmp);
}

static void
test_search_order (void)
{
  g_autofree char *tmp = ql_test_make_safe_tmpdir ();
  g_autofree char *good = fixture_path ("good");
  g_autofree char *link = g_build_filename (tmp, "libqlaunch-good.so", NULL);

  /* A symlink: the same file (inode) as the fixture, so the same code is
   * mapped whichever path wins. */
  g_assert_cmpint (symlink (good, link), ==, 0);

  /* The directory added first wins. */
  {
    g_autoptr(QlRegistry) registry = ql_registry_new ();

    ql_registry_add_search_dir (registry, tmp);
    ql_registry_add_search_dir (registry, fixture_dir ());
    ql_registry_scan (registry);
    g_assert_cmpstr (ql_plugin_get_filename (ql_registry_lookup_plugin (registry, "good")),
                     ==, link);
    g_assert_cmpuint (ql_registry_get_plugins (registry)->len, ==, G_N_ELEMENTS (good_fixtures));
    /* The later file of a loaded family is skipped silently. */
    g_assert_cmpuint (ql_registry_get_load_errors (registry)->len, ==,
                      G_N_ELEMENTS (broken_fixtures));
  }
  {
    g_autoptr(QlRegistry) registry = ql_registry_new ();

    ql_registry_add_search_dir (registry, fixture_dir ());
    ql_registry_add_search_dir (registry, tmp);
    ql_registry_scan (registry);
    g_assert_cmpstr (ql_plugin_get_filename (ql_registry_lookup_plugin (registry, "good")),
                     ==, good);
    g_assert_cmpuint (ql_registry_get_load_errors (registry)->len, ==,
                      G_N_ELEMENTS (broken_fixtures));
  }

  /* Loading another file of a loaded family by name is refused. */
  {
    g_autoptr(QlRegistry) registry = ql_registry_new ();
    g_autoptr(GError) error = NULL;

    g_assert_nonnull (ql_registry_load_plugin (registry, good, &error));
    g_assert_no_error (error);
    g_assert_null (ql_registry_load_plugin (registry, link, &error));
    g_assert_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_DUPLICATE_DEVICE);
    assert_names_file (error->message, link);
    assert_contains (error->message, "already loaded");
  }

  ql_test_rm_rf (tmp);
}

static void
assert_search_dirs (QlRegistry         *registry,
                    const char * const *expected)
{
  g_auto(GStrv) dirs = ql_registry_get_search_dirs (registry);

  g_assert_cmpstrv (dirs, expected);
}

static void
test_env (void)
{
  g_autofree char *saved_path = g_strdup (g_getenv ("QLAUNCH_PLUGIN_PATH"));
  g_autofree char *saved_system = g_strdup (g_getenv ("QLAUNCH_PLUGIN_SYSTEM_PATH"));
  const char *system_dir = ql_registry_get_system_plugin_dir ();

  g_assert_nonnull (system_dir);
  g_assert_true (g_path_is_absolute (system_dir));
  g_assert_true (g_str_has_suffix (system_dir, "qlaunch-1/plugins"));

  /* Nothing set: the installed dir only. */
  {
    g_autoptr(QlRegistry) registry = ql_registry_new ();

    g_unsetenv ("QLAUNCH_PLUGIN_PATH");
    g_unsetenv ("QLAUNCH_PLUGIN_SYSTEM_PATH");
    ql_registry_add_env_search_dirs (registry);
    assert_search_dirs (registry, (const char * const[]) { system_dir, NULL });
  }

  /* --plugin-dir first, then the path (empty entries ignored), then the
   * installed dir. */
  {
    g_autoptr(QlRegistry) registry = ql_registry_new ();

    g_setenv ("QLAUNCH_PLUGIN_PATH", ":/p/one::/p/two:", TRUE);
    ql_registry_add_search_dir (registry, "/cli/dir");
    ql_registry_add_env_search_dirs (registry);
    assert_search_dirs (registry, (const char * const[]) {
      "/cli/dir", "/p/one", "/p/two", system_dir, NULL });
  }

  /* Relative entries would load from the current directory: refused,
   * each with a load error. */
  {
    g_autoptr(QlRegistry) registry = ql_registry_new ();
    GPtrArray *errors;

    g_setenv ("QLAUNCH_PLUGIN_PATH", ".:/p/one:plugins", TRUE);
    ql_registry_add_env_search_dirs (registry);
    assert_search_dirs (registry, (const char * const[]) { "/p/one", system_dir, NULL });
    errors = ql_registry_get_load_errors (registry);
    g_assert_cmpuint (errors->len, ==, 2);
    g_assert_error ((GError *) g_ptr_array_index (errors, 0), QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_INSECURE_PATH);
    g_assert_cmpstr (((GError *) g_ptr_array_index (errors, 1))->message, ==,
                     "QLAUNCH_PLUGIN_PATH: ignoring 'plugins': plugins are never loaded from a "
                     "relative directory (it would depend on the current directory); use an absolute path");
    g_setenv ("QLAUNCH_PLUGIN_PATH", ":/p/one::/p/two:", TRUE);
  }

  /* QLAUNCH_PLUGIN_SYSTEM_PATH replaces the installed dir... */
  {
    g_autoptr(QlRegistry) registry = ql_registry_new ();

    g_setenv ("QLAUNCH_PLUGIN_SYSTEM_PATH", "/s/one:/s/two", TRUE);
    ql_registry_add_env_search_dirs (registry);
    assert_search_dirs (registry, (const char * const[]) {
      "/p/one", "/p/two", "/s/one", "/s/two", NULL });
  }

  /* ...and empty means none. */
  {
    g_autoptr(QlRegistry) registry = ql_registry_new ();

    g_setenv ("QLAUNCH_PLUGIN_SYSTEM_PATH", "", TRUE);
    g_setenv ("QLAUNCH_PLUGIN_PATH", "", TRUE);
    ql_registry_add_env_search_dirs (registry);
    assert_search_dirs (registry, (const char * const[]) { NULL });
  }

  /* A scan through QLAUNCH_PLUGIN_PATH. */
  {
    g_autoptr(QlRegistry) registry = ql_registry_new ();
    g_autoptr(GError) error = NULL;
    g_autoptr(QlDevice) device = NULL;

    g_setenv ("QLAUNCH_PLUGIN_PATH", fixture_dir (), TRUE);
    ql_registry_add_env_search_dirs (registry);
    ql_registry_scan (registry);
    g_assert_nonnull (ql_registry_lookup_plugin (registry, "good"));
    device = ql_registry_create_device (registry, "fixture-good", "rng0", &error);
    g_assert_no_error (error);
  }

  if (saved_path != NULL)
    g_setenv ("QLAUNCH_PLUGIN_PATH", saved_path, TRUE);
  else
    g_unsetenv ("QLAUNCH_PLUGIN_PATH");
  if (saved_system != NULL)
    g_setenv ("QLAUNCH_PLUGIN_SYSTEM_PATH", saved_system, TRUE);
  else
    g_unsetenv ("QLAUNCH_PLUGIN_SYSTEM_PATH");
}

static QlRegistry *
good_registry_new (void)
{
  QlRegistry *registry = ql_registry_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *good = fixture_path ("good");
  g_autofree char *two_words = fixture_path ("two-words");

  g_assert_nonnull (ql_registry_load_plugin (registry, good, &error));
  g_assert_no_error (error);
  g_assert_nonnull (ql_registry_load_plugin (registry, two_words, &error));
  g_assert_no_error (error);
  return registry;
}

static void
test_spec (void)
{
  g_autoptr(QlRegistry) registry = good_registry_new ();
  const char * const good_specs[] = {
    "fixture-good,id=rng0,label=a,,b,queues=4",
    "type=fixture-good,id=rng0,label=a,,b,queues=4",
    "fixture-good,queues=4,label=a,,b,id=rng0",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (good_specs); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QlDevice) device = NULL;
      g_autofree char *label = NULL;
      guint queues = 0;

      device = ql_registry_create_device_from_spec (registry, good_specs[i], &error);
      g_assert_no_error (error);
      g_assert_cmpstr (ql_device_get_type_name (device), ==, "fixture-good");
      g_assert_cmpstr (ql_device_get_id (device), ==, "rng0");
      g_object_get (device, "label", &label, "queues", &queues, NULL);
      g_assert_cmpstr (label, ==, "a,b");
      g_assert_cmpuint (queues, ==, 4);
    }

  /* The type alone: every property at its default. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(QlDevice) device = NULL;

    device = ql_registry_create_device_from_spec (registry, "fixture-two-a", &error);
    g_assert_no_error (error);
    g_assert_cmpstr (ql_device_get_type_name (device), ==, "fixture-two-a");
    g_assert_null (ql_device_get_id (device));
  }
}

typedef struct
{
  const char *spec;
  gint        code;
  const char *fragment;
} BadSpec;

static void
test_spec_errors (void)
{
  g_autoptr(QlRegistry) registry = good_registry_new ();
  const BadSpec bad_specs[] = {
    { "fixture-goood,id=x", QL_CONFIG_ERROR_UNKNOWN_DEVICE_TYPE,
      "unknown device type 'fixture-goood'; known: fixture-good, fixture-two-a, "
      "fixture-two-b; did you mean 'fixture-good'?" },
    { "nothing-like-it", QL_CONFIG_ERROR_UNKNOWN_DEVICE_TYPE,
      "unknown device type 'nothing-like-it'; known: fixture-good, fixture-two-a, "
      "fixture-two-b" },
    { "type=,id=x", QL_CONFIG_ERROR_PARSE, "device type is empty" },
    { "fixture-good,colour=red", QL_CONFIG_ERROR_UNKNOWN_KEY, "'colour'" },
    { "fixture-good,label=a,label=b", QL_CONFIG_ERROR_DUPLICATE, "key 'label' given twice" },
    { "fixture-good,id=a,queues=2,id=b", QL_CONFIG_ERROR_DUPLICATE, "key 'id' given twice" },
    { "fixture-good,type=fixture-good", QL_CONFIG_ERROR_DUPLICATE, "key 'type'" },
    { "fixture-good,queues=9", QL_CONFIG_ERROR_INVALID_VALUE, "'queues'" },
    { "fixture-good,queues=many", QL_CONFIG_ERROR_INVALID_VALUE, "'queues'" },
    /* The id is set first, so the error names the device. */
    { "fixture-good,queues=0,id=rng0", QL_CONFIG_ERROR_INVALID_VALUE, "'rng0'" },
    /* The shape is checked before any value. */
    { "fixture-good,queues=0,label", QL_CONFIG_ERROR_PARSE, "'label'" },
    { "fixture-good,label", QL_CONFIG_ERROR_PARSE, "element 'label' is not key=value" },
    { "id=x,fixture-good", QL_CONFIG_ERROR_PARSE, "not key 'id'" },
    { "fixture-good,,id=x", QL_CONFIG_ERROR_PARSE, "not key 'fixture-good,id'" },
    { "fixture-good,,,id=x", QL_CONFIG_ERROR_UNKNOWN_DEVICE_TYPE, "'fixture-good,'" },
    { "", QL_CONFIG_ERROR_PARSE, "" },
    { "fixture-good,", QL_CONFIG_ERROR_PARSE, "" },
    { "fixture-good,=x", QL_CONFIG_ERROR_PARSE, "" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (bad_specs); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QlDevice) device = NULL;
      g_autofree char *prefix = g_strdup_printf ("device spec '%s'", bad_specs[i].spec);

      g_test_message ("spec '%s'", bad_specs[i].spec);
      device = ql_registry_create_device_from_spec (registry, bad_specs[i].spec, &error);
      g_assert_null (device);
      g_assert_nonnull (error);
      g_test_message ("  -> %s", error->message);
      g_assert_error (error, QL_CONFIG_ERROR, bad_specs[i].code);
      if (!g_str_has_prefix (error->message, prefix))
        g_error ("message \"%s\" does not start with \"%s\"", error->message, prefix);
      assert_contains (error->message, bad_specs[i].fragment);
    }
}

static void
test_create_device_errors (void)
{
  g_autoptr(QlRegistry) empty = ql_registry_new ();
  g_autoptr(QlRegistry) registry = good_registry_new ();
  g_autoptr(GError) error = NULL;

  g_assert_null (ql_registry_create_device (empty, "net", "n0", &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_UNKNOWN_DEVICE_TYPE);
  g_assert_cmpstr (error->message, ==, "unknown device type 'net'; known: (none)");
  g_clear_error (&error);

  g_assert_null (ql_registry_create_device (registry, "fixture-two-c", "n0", &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_UNKNOWN_DEVICE_TYPE);
  g_assert_cmpstr (error->message, ==,
                   "unknown device type 'fixture-two-c'; known: fixture-good, "
                   "fixture-two-a, fixture-two-b; did you mean 'fixture-two-a'?");

  g_assert_cmpint (ql_registry_lookup_device_type (registry, "fixture-two-c"), ==, G_TYPE_INVALID);
  g_assert_null (ql_registry_get_device_plugin (registry, "fixture-two-c"));
}

static void
test_register_device (void)
{
  g_autoptr(QlRegistry) registry = good_registry_new ();
  g_autoptr(QlRegistry) app = ql_registry_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(QlDevice) device = NULL;
  g_auto(GStrv) types = NULL;
  GType good_type = ql_registry_lookup_device_type (registry, "fixture-good");
  const char * const bad_names[] = {
    "", "Good", "1good", "-good", "good_device", "good device", "gööd",
  };

  g_assert_true (g_type_is_a (good_type, QL_TYPE_DEVICE));

  for (gsize i = 0; i < G_N_ELEMENTS (bad_names); i++)
    {
      g_assert_false (ql_registry_register_device (app, bad_names[i], good_type, &error));
      g_assert_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE);
      g_clear_error (&error);
    }

  g_assert_false (ql_registry_register_device (app, "object", G_TYPE_OBJECT, &error));
  g_assert_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE);
  g_clear_error (&error);
  g_assert_false (ql_registry_register_device (app, "device", QL_TYPE_DEVICE, &error));
  g_assert_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE);
  g_clear_error (&error);
  g_assert_false (ql_registry_register_device (app, "invalid", G_TYPE_INVALID, &error));
  g_assert_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE);
  g_clear_error (&error);

  g_assert_true (ql_registry_register_device (app, "zz-app", good_type, &error));
  g_assert_no_error (error);
  g_assert_true (ql_registry_register_device (app, "fixture-good", good_type, &error));
  g_assert_no_error (error);
  g_assert_false (ql_registry_register_device (app, "zz-app", good_type, &error));
  g_assert_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_DUPLICATE_DEVICE);
  g_clear_error (&error);

  types = ql_registry_list_device_types (app);
  g_assert_cmpstrv (types, ((const char * const[]) { "fixture-good", "zz-app", NULL }));
  g_assert_null (ql_registry_get_device_plugin (app, "zz-app"));
  g_assert_cmpint (ql_registry_lookup_device_type (app, "zz-app"), ==, good_type);
  g_assert_cmpuint (ql_registry_get_plugins (app)->len, ==, 0);

  device = ql_registry_create_device (app, "fixture-good", "d0", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ql_device_get_id (device), ==, "d0");
}

static void
test_default (void)
{
  QlRegistry *registry;

  /* The environment set by tests/meson.build: no plugin dirs at all, so the
   * installed plugins are never looked at. */
  g_setenv ("QLAUNCH_PLUGIN_PATH", "", TRUE);
  g_setenv ("QLAUNCH_PLUGIN_SYSTEM_PATH", "", TRUE);

  registry = ql_registry_get_default ();
  g_assert_true (QL_IS_REGISTRY (registry));
  g_assert_true (ql_registry_get_default () == registry);
  assert_search_dirs (registry, (const char * const[]) { NULL });
  g_assert_cmpuint (ql_registry_get_plugins (registry)->len, ==, 0);
  g_assert_cmpuint (ql_registry_get_load_errors (registry)->len, ==, 0);
}

static void
test_build_plugins (void)
{
  g_autoptr(QlRegistry) registry = ql_test_registry_new ();
  GPtrArray *plugins = ql_registry_get_plugins (registry);

  g_assert_cmpuint (plugins->len, >, 0);
  for (guint i = 0; i < plugins->len; i++)
    {
      QlPlugin *plugin = g_ptr_array_index (plugins, i);
      g_auto(GStrv) types = ql_plugin_get_device_types (plugin);

      g_assert_cmpuint (g_strv_length (types), >, 0);
      for (guint j = 0; types[j] != NULL; j++)
        g_assert_true (ql_registry_get_device_plugin (registry, types[j]) == plugin);
    }
}

/* Every path property of every device type of the build's plugins: a
 * relative value in a -d spec becomes absolute against the current
 * directory (where the user typed it), never left for QEMU to resolve in
 * its own; absolute and empty values are kept. */
static void
test_spec_relative_paths (void)
{
  g_autoptr(QlRegistry) registry = ql_test_registry_new ();
  g_auto(GStrv) types = ql_registry_list_device_types (registry);
  g_autofree char *cwd = g_get_current_dir ();
  guint n_checked = 0;
  g_autoptr(GHashTable) families = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; types[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QlDevice) probe = ql_registry_create_device (registry, types[i], "p0", &error);
      g_autofree GParamSpec **pspecs = NULL;
      guint n_pspecs;

      g_assert_no_error (error);
      pspecs = g_object_class_list_properties (G_OBJECT_GET_CLASS (probe), &n_pspecs);
      for (guint j = 0; j < n_pspecs; j++)
        {
          const char *values[][2] = {
            { "rel/x.img", NULL },
            { "../up/x.img", NULL },
            { "/abs/x.img", "/abs/x.img" },
          };

          if (!ql_param_spec_is_path (pspecs[j]))
            continue;
          for (guint k = 0; k < G_N_ELEMENTS (values); k++)
            {
              g_autofree char *spec = g_strdup_printf ("%s,id=p1,%s=%s", types[i], pspecs[j]->name, values[k][0]);
              g_autofree char *expected = values[k][1] != NULL ? g_strdup (values[k][1])
                                        : g_canonicalize_filename (values[k][0], cwd);
              g_autofree char *got = NULL;
              g_autoptr(QlDevice) device = ql_registry_create_device_from_spec (registry, spec, &error);

              g_assert_no_error (error);
              g_object_get (device, pspecs[j]->name, &got, NULL);
              if (g_strcmp0 (got, expected) != 0)
                g_error ("%s: %s is '%s', expected '%s'", spec, pspecs[j]->name, got, expected);
              g_assert_true (g_path_is_absolute (got));
            }
          g_hash_table_add (families, (gpointer) ql_plugin_get_name (ql_registry_get_device_plugin (registry, types[i])));
          n_checked++;
        }
    }
  g_test_message ("%u path properties checked, in %u families", n_checked, g_hash_table_size (families));
  /* block, char, fs, memory, net, rng, vhost-user, virtio-fs at least */
  g_assert_cmpuint (g_hash_table_size (families), >=, 8);
}

/* Lists the dynamic symbols @path defines, or NULL if nm is missing. */
static char **
defined_dynamic_symbols (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *nm = g_find_program_in_path ("nm");
  g_autofree char *out = NULL;
  g_autoptr(GPtrArray) symbols = NULL;
  g_auto(GStrv) lines = NULL;
  int status;

  if (nm == NULL)
    return NULL;

  g_spawn_sync (NULL, (char *[]) { nm, "-D", "--defined-only", (char *) path, NULL },
                NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, &status, &error);
  g_assert_no_error (error);
  g_spawn_check_wait_status (status, &error);
  g_assert_no_error (error);

  symbols = g_ptr_array_new_with_free_func (g_free);
  lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit_set (g_strstrip (lines[i]), " \t", -1);
      guint n = g_strv_length (fields);

      /* "ADDRESS TYPE NAME"; absolute symbols ('A') are linker noise. */
      if (n < 3 || g_str_equal (fields[n - 2], "A"))
        continue;
      g_ptr_array_add (symbols, g_strdup (fields[n - 1]));
    }
  g_ptr_array_add (symbols, NULL);

  return (char **) g_ptr_array_free (g_steal_pointer (&symbols), FALSE);
}

static void
assert_exports_only_entry_point (const char *path,
                                 const char *family)
{
  g_auto(GStrv) symbols = defined_dynamic_symbols (path);
  g_autofree char *entry = g_strdup_printf ("ql_plugin_%s_get_desc", family);
  g_autofree char *list = g_strjoinv (" ", symbols);

  g_strdelimit (entry, "-", '_');
  g_test_message ("%s exports: %s", path, list);
  g_assert_cmpstrv (symbols, ((const char * const[]) { entry, NULL }));
}

static void
test_exported_symbols (void)
{
  g_autofree char *nm = g_find_program_in_path ("nm");
  const char *build_dir = g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR");
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (nm == NULL)
    {
      g_test_skip ("nm is not installed");
      return;
    }

  for (gsize i = 0; i < G_N_ELEMENTS (good_fixtures); i++)
    {
      g_autofree char *path = fixture_path (good_fixtures[i]);

      assert_exports_only_entry_point (path, good_fixtures[i]);
    }

  g_assert_nonnull (build_dir);
  dir = g_dir_open (build_dir, 0, NULL);
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (build_dir, name, NULL);
      g_autofree char *family = NULL;

      if (!g_str_has_prefix (name, "libqlaunch-") || !g_str_has_suffix (name, ".so")
          || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
        continue;
      family = g_strndup (name + strlen ("libqlaunch-"),
                          strlen (name) - strlen ("libqlaunch-") - strlen (".so"));
      assert_exports_only_entry_point (path, family);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/plugin-loader/good", test_good);
  g_test_add_func ("/plugin-loader/family-with-dash", test_family_with_dash);
  g_test_add_func ("/plugin-loader/broken", test_broken);
  g_test_add_func ("/plugin-loader/broken-twice", test_broken_twice);
  g_test_add_func ("/plugin-loader/transactional", test_transactional);
  g_test_add_func ("/plugin-loader/two-registries", test_two_registries);
  g_test_add_func ("/plugin-loader/scan-fixtures", test_scan_fixtures);
  g_test_add_func ("/plugin-loader/insecure", test_insecure);
  g_test_add_func ("/plugin-loader/insecure-symlink-target", test_insecure_symlink_target);
  g_test_add_func ("/plugin-loader/not-a-plugin-file", test_not_a_plugin_file);
  g_test_add_func ("/plugin-loader/search-order", test_search_order);
  g_test_add_func ("/plugin-loader/env", test_env);
  g_test_add_func ("/plugin-loader/spec", test_spec);
  g_test_add_func ("/plugin-loader/spec-errors", test_spec_errors);
  g_test_add_func ("/plugin-loader/spec-relative-paths", test_spec_relative_paths);
  g_test_add_func ("/plugin-loader/create-device-errors", test_create_device_errors);
  g_test_add_func ("/plugin-loader/register-device", test_register_device);
  g_test_add_func ("/plugin-loader/default", test_default);
  g_test_add_func ("/plugin-loader/build-plugins", test_build_plugins);
  g_test_add_func ("/plugin-loader/exported-symbols", test_exported_symbols);

  return g_test_run ();
}
