/* Tests: descriptions of device types (QlDeviceTypeInfo) and plugins
 * (QlPluginInfo) in-process, against the build's plugins.
 *
 * A registry with a cache file, its new files opened by the plugin scanner,
 * describes every device type with no plugin loaded in this process (the
 * type's GType does not exist here yet); so does a second registry that
 * reads the cache file. Each description is then checked against the
 * GParamSpecs of the class, once the plugin is loaded through the API that
 * gives GTypes (ql_registry_lookup_device_type()), which keeps working:
 * names, nicks, blurbs, flags, value types, kinds, ranges, enumeration nicks
 * and values, and the type and default texts `qlaunch inspect` prints.
 * The compact form is read as untrusted input: every truncation of a real
 * description and every byte of it changed gives an error or a description,
 * never a crash or an over-read (run under ASan/valgrind to see the
 * latter). */
#include "ql-test-util.h"

#include <string.h>

#include <glib/gstdio.h>

#define CHECKED_FLAGS (G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_CONSTRUCT_ONLY | G_PARAM_DEPRECATED)

static void
assert_property_matches (QlPropertyInfo *info,
                         GParamSpec     *pspec)
{
  GType vtype = G_PARAM_SPEC_VALUE_TYPE (pspec);
  g_autofree char *description = ql_param_describe_type (pspec);
  g_autofree char *def = ql_param_value_to_string (pspec, g_param_spec_get_default_value (pspec));
  const char * const *nicks = ql_property_info_get_nicks (info);
  guint n_values = 0;
  const gint64 *values = ql_property_info_get_values (info, &n_values);
  guint64 umin = 0, umax = 0;
  gint64 imin = 0, imax = 0;

  g_assert_cmpstr (ql_property_info_get_name (info), ==, pspec->name);
  g_assert_cmpstr (ql_property_info_get_nick (info), ==, g_param_spec_get_nick (pspec));
  g_assert_cmpstr (ql_property_info_get_blurb (info), ==, g_param_spec_get_blurb (pspec));
  g_assert_cmpstr (ql_property_info_get_value_type_name (info), ==, g_type_name (vtype));
  g_assert_cmpint (ql_property_info_get_flags (info) & CHECKED_FLAGS, ==, pspec->flags & CHECKED_FLAGS);
  g_assert_cmpstr (ql_property_info_get_type_description (info), ==, description);
  g_assert_cmpstr (ql_property_info_get_default_text (info), ==, def);

  if (ql_param_spec_is_size (pspec))
    g_assert_cmpint (ql_property_info_get_kind (info), ==, QL_PROPERTY_KIND_SIZE);
  else if (ql_param_spec_is_path (pspec))
    g_assert_cmpint (ql_property_info_get_kind (info), ==, QL_PROPERTY_KIND_PATH);
  else if (vtype == G_TYPE_BOOLEAN)
    g_assert_cmpint (ql_property_info_get_kind (info), ==, QL_PROPERTY_KIND_BOOLEAN);
  else if (vtype == G_TYPE_STRING)
    g_assert_cmpint (ql_property_info_get_kind (info), ==, QL_PROPERTY_KIND_STRING);

  if (G_IS_PARAM_SPEC_UINT (pspec))
    {
      g_assert_true (ql_property_info_get_uint_range (info, &umin, &umax));
      g_assert_cmpuint (umin, ==, G_PARAM_SPEC_UINT (pspec)->minimum);
      g_assert_cmpuint (umax, ==, G_PARAM_SPEC_UINT (pspec)->maximum);
      g_assert_false (ql_property_info_get_int_range (info, &imin, &imax));
    }
  else if (G_IS_PARAM_SPEC_UINT64 (pspec))
    {
      g_assert_true (ql_property_info_get_uint_range (info, &umin, &umax));
      g_assert_cmpuint (umin, ==, G_PARAM_SPEC_UINT64 (pspec)->minimum);
      g_assert_cmpuint (umax, ==, G_PARAM_SPEC_UINT64 (pspec)->maximum);
    }
  else if (G_IS_PARAM_SPEC_INT (pspec))
    {
      g_assert_cmpint (ql_property_info_get_kind (info), ==, QL_PROPERTY_KIND_INT);
      g_assert_true (ql_property_info_get_int_range (info, &imin, &imax));
      g_assert_cmpint (imin, ==, G_PARAM_SPEC_INT (pspec)->minimum);
      g_assert_cmpint (imax, ==, G_PARAM_SPEC_INT (pspec)->maximum);
    }
  else
    g_assert_false (ql_property_info_get_int_range (info, NULL, NULL));

  if (G_TYPE_IS_ENUM (vtype))
    {
      g_autoptr(GEnumClass) klass = g_type_class_ref (vtype);

      g_assert_cmpint (ql_property_info_get_kind (info), ==, QL_PROPERTY_KIND_ENUM);
      g_assert_cmpuint (n_values, ==, klass->n_values);
      g_assert_cmpuint (g_strv_length ((char **) nicks), ==, klass->n_values);
      for (guint i = 0; i < klass->n_values; i++)
        {
          g_assert_cmpstr (nicks[i], ==, klass->values[i].value_nick);
          g_assert_cmpint (values[i], ==, klass->values[i].value);
        }
    }
  else
    {
      g_assert_cmpuint (n_values, ==, 0);
      g_assert_null (nicks[0]);
    }
}

static gboolean
same_bytes (GBytes *a,
            GBytes *b)
{
  return g_bytes_equal (a, b);
}

/* A registry of the build's plugins with @cache_file. */
static QlRegistry *
cached_registry (const char *cache_file)
{
  QlRegistry *registry = ql_registry_new ();

  ql_registry_add_search_dir (registry, g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"));
  ql_registry_set_cache_file (registry, cache_file);
  ql_registry_scan (registry);
  g_assert_cmpuint (ql_registry_get_load_errors (registry)->len, ==, 0);
  return registry;
}

static void
test_from_cache (void)
{
  g_autofree char *root = ql_test_make_safe_tmpdir ();
  g_autofree char *cache_file = g_build_filename (root, "registry.cache", NULL);
  g_autoptr(QlRegistry) scanned = NULL;
  g_autoptr(QlRegistry) warm = NULL;
  g_autoptr(GPtrArray) plugins = NULL;
  g_auto(GStrv) types = NULL;
  g_autoptr(GPtrArray) described = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_device_type_info_unref);
  guint n_types_of_plugins = 0;

  if (g_getenv ("QLAUNCH_PLUGIN_SCANNER") == NULL)
    {
      g_test_skip ("no plugin scanner ($QLAUNCH_PLUGIN_SCANNER)");
      return;
    }
  g_assert_cmpint (g_chmod (root, 0700), ==, 0);
  /* The scanner opens every file; the cache is written. */
  scanned = cached_registry (cache_file);
  g_assert_true (g_file_test (cache_file, G_FILE_TEST_IS_REGULAR));
  /* And a registry that reads it. */
  warm = cached_registry (cache_file);

  plugins = ql_registry_list_plugin_infos (warm);
  types = ql_registry_list_device_types (warm);
  g_assert_cmpuint (plugins->len, >, 1);
  for (guint i = 0; i < plugins->len; i++)
    {
      QlPluginInfo *plugin = g_ptr_array_index (plugins, i);
      g_autofree char *base = g_path_get_basename (ql_plugin_info_get_filename (plugin));
      g_autofree char *expected = g_strdup_printf ("libqlaunch-%s.so", ql_plugin_info_get_name (plugin));

      g_assert_cmpstr (base, ==, expected);
      g_assert_cmpstr (ql_plugin_info_get_version (plugin), !=, "");
      n_types_of_plugins += g_strv_length ((char **) ql_plugin_info_get_device_types (plugin));
    }
  g_assert_cmpuint (n_types_of_plugins, ==, g_strv_length (types));

  /* Every type described from the cache, by both registries alike, while
   * no plugin is loaded in this process: its GType does not exist. */
  for (guint i = 0; types[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(QlDeviceTypeInfo) info = ql_registry_describe_device_type (warm, types[i], &error);
      g_autoptr(QlDeviceTypeInfo) again = NULL;
      g_autoptr(GBytes) a = NULL;
      g_autoptr(GBytes) b = NULL;

      g_assert_no_error (error);
      g_assert_cmpstr (ql_device_type_info_get_name (info), ==, types[i]);
      g_assert_cmpint (g_type_from_name (ql_device_type_info_get_gtype_name (info)), ==, 0);
      g_assert_nonnull (ql_device_type_info_find_property (info, "id"));
      again = ql_registry_describe_device_type (scanned, types[i], &error);
      g_assert_no_error (error);
      a = ql_device_type_info_serialize (info);
      b = ql_device_type_info_serialize (again);
      g_assert_true (same_bytes (a, b));
      g_ptr_array_add (described, g_steal_pointer (&info));
    }
  g_assert_cmpuint (ql_registry_get_plugins (warm)->len, >, 0);  /* loads them all now */

  /* Now loaded: the GTypes, their GParamSpecs, and the same descriptions. */
  for (guint i = 0; i < described->len; i++)
    {
      QlDeviceTypeInfo *info = g_ptr_array_index (described, i);
      GType type = ql_registry_lookup_device_type (warm, types[i]);
      QlPlugin *plugin = ql_registry_get_device_plugin (warm, types[i]);
      g_autoptr(GTypeClass) klass = NULL;
      g_autofree GParamSpec **pspecs = NULL;
      GPtrArray *properties = ql_device_type_info_get_properties (info);
      g_autoptr(QlDeviceTypeInfo) loaded = NULL;
      g_autoptr(GBytes) a = NULL;
      g_autoptr(GBytes) b = NULL;
      g_autoptr(GError) error = NULL;
      guint n = 0;

      g_test_message ("%s", types[i]);
      g_assert_cmpint (type, !=, G_TYPE_INVALID);
      g_assert_cmpstr (g_type_name (type), ==, ql_device_type_info_get_gtype_name (info));
      g_assert_cmpstr (ql_plugin_get_name (plugin), ==, ql_device_type_info_get_plugin (info));
      klass = g_type_class_ref (type);
      pspecs = g_object_class_list_properties (G_OBJECT_CLASS (klass), &n);
      g_assert_cmpuint (n, ==, properties->len);
      for (guint k = 0; k < n; k++)
        assert_property_matches (g_ptr_array_index (properties, k), pspecs[k]);
      loaded = ql_registry_describe_device_type (warm, types[i], &error);
      g_assert_no_error (error);
      a = ql_device_type_info_serialize (info);
      b = ql_device_type_info_serialize (loaded);
      g_assert_true (same_bytes (a, b));
    }
  ql_test_rm_rf (root);
}

/* A real description with enumerations (read from a cache: this process
 * loaded the plugins already, for another registry). */
static GBytes *
some_description (void)
{
  g_autofree char *root = ql_test_make_safe_tmpdir ();
  g_autofree char *cache_file = g_build_filename (root, "registry.cache", NULL);
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QlDeviceTypeInfo) info = NULL;

  g_assert_cmpint (g_chmod (root, 0700), ==, 0);
  registry = cached_registry (cache_file);
  info = ql_registry_describe_device_type (registry, "block", &error);
  g_assert_no_error (error);
  ql_test_rm_rf (root);
  return ql_device_type_info_serialize (info);
}

static void
test_untrusted (void)
{
  g_autoptr(GBytes) good = NULL;
  gsize len = 0;
  const guint8 *data;
  g_autofree guint8 *copy = NULL;
  guint refused = 0;

  if (g_getenv ("QLAUNCH_PLUGIN_SCANNER") == NULL)
    {
      g_test_skip ("no plugin scanner ($QLAUNCH_PLUGIN_SCANNER)");
      return;
    }
  good = some_description ();
  data = g_bytes_get_data (good, &len);
  copy = g_memdup2 (data, len);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(QlDeviceTypeInfo) info = ql_device_type_info_new_from_bytes (good, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (ql_device_type_info_get_name (info), ==, "block");
  }
  /* Every truncation: an error (the heap copy of each prefix ends where
   * it ends, so an over-read is one a memory checker sees). */
  for (gsize cut = 0; cut < len; cut++)
    {
      g_autoptr(GBytes) part = g_bytes_new (data, cut);
      g_autoptr(GError) error = NULL;
      g_autoptr(QlDeviceTypeInfo) info = ql_device_type_info_new_from_bytes (part, &error);

      g_assert_null (info);
      g_assert_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE);
    }
  /* Every byte changed: an error or a description, never a crash. */
  for (gsize at = 0; at < len; at++)
    {
      g_autoptr(GBytes) changed = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(QlDeviceTypeInfo) info = NULL;

      copy[at] ^= 0xff;
      changed = g_bytes_new (copy, len);
      copy[at] ^= 0xff;
      info = ql_device_type_info_new_from_bytes (changed, &error);
      g_assert_true ((info == NULL) != (error == NULL));
      refused += info == NULL;
    }
  /* Counts, names, kinds and texts are checked: most changes are refused. */
  g_assert_cmpuint (refused, >, len / 4);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/type-info/from-cache", test_from_cache);
  g_test_add_func ("/type-info/untrusted", test_untrusted);

  return g_test_run ();
}
