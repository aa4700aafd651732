/* qlaunch tests — every device type of every loaded plugin follows the
 * device contract: kebab-case properties with blurbs
 * and valid defaults, enums that list their values, errors that name the
 * device, and no empty argument on the command line. */
#include <string.h>

#include <qlaunch/qlaunch.h>

#include "ql-test-util.h"

#define TEST_ID "dev0"

static QlRegistry *registry;

/* [a-z][a-z0-9]*(-[a-z0-9]+)* */
static gboolean
is_kebab_case (const char *name)
{
  const char *p;

  if (name == NULL || !g_ascii_islower (name[0]))
    return FALSE;
  for (p = name; *p != '\0'; p++)
    {
      if (*p == '-')
        {
          if (p[1] == '\0' || p[1] == '-')
            return FALSE;
        }
      else if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p))
        {
          return FALSE;
        }
    }
  return TRUE;
}

static void
check_property (QlDevice   *device,
                GParamSpec *pspec)
{
  const char *type_name = ql_device_get_type_name (device);
  const char *blurb = g_param_spec_get_blurb (pspec);
  const GValue *default_value = g_param_spec_get_default_value (pspec);

  if (!is_kebab_case (pspec->name))
    g_error ("device type '%s': property '%s' is not kebab-case",
             type_name, pspec->name);
  if (blurb == NULL || *blurb == '\0')
    g_error ("device type '%s': property '%s' has no blurb",
             type_name, pspec->name);
  if (!g_param_value_is_valid (pspec, default_value))
    g_error ("device type '%s': the default of property '%s' is not valid",
             type_name, pspec->name);

  /* An enum is listed by its nicks (`qlaunch inspect`, VM files). */
  if (G_IS_PARAM_SPEC_ENUM (pspec))
    {
      GEnumClass *enum_class = G_PARAM_SPEC_ENUM (pspec)->enum_class;

      for (guint i = 0; i < enum_class->n_values; i++)
        {
          if (!is_kebab_case (enum_class->values[i].value_nick))
            g_error ("device type '%s': property '%s': value nick '%s' is not kebab-case",
                     type_name, pspec->name, enum_class->values[i].value_nick);
        }
    }

  /* A new device holds each property's declared default ("id" is set by
   * the registry), so `qlaunch inspect` tells the truth. */
  if ((pspec->flags & G_PARAM_READABLE) && !g_str_equal (pspec->name, "id"))
    {
      g_auto(GValue) value = G_VALUE_INIT;

      g_value_init (&value, G_PARAM_SPEC_VALUE_TYPE (pspec));
      g_object_get_property (G_OBJECT (device), pspec->name, &value);
      if (g_param_values_cmp (pspec, &value, default_value) != 0)
        {
          g_autofree char *got = g_strdup_value_contents (&value);
          g_autofree char *want = g_strdup_value_contents (default_value);

          g_error ("device type '%s': property '%s' is %s on a new device, but its declared default is %s",
                   type_name, pspec->name, got, want);
        }
    }
}

static void
test_device_type (gconstpointer data)
{
  const char *type_name = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(QlDevice) device = NULL;
  g_autoptr(QlVmConfig) vm = NULL;
  g_autofree GParamSpec **pspecs = NULL;
  guint n_pspecs = 0;
  gboolean has_id = FALSE;

  device = ql_registry_create_device (registry, type_name, TEST_ID, &error);
  g_assert_no_error (error);
  g_assert_true (QL_IS_DEVICE (device));
  g_assert_cmpstr (ql_device_get_id (device), ==, TEST_ID);
  g_assert_cmpstr (ql_device_get_type_name (device), ==, type_name);

  pspecs = g_object_class_list_properties (G_OBJECT_GET_CLASS (device), &n_pspecs);
  for (guint i = 0; i < n_pspecs; i++)
    {
      check_property (device, pspecs[i]);
      has_id |= g_str_equal (pspecs[i]->name, "id");
    }
  g_assert_true (has_id);

  vm = ql_vm_config_new ();
  ql_vm_config_set_host_probe (vm, NULL);

  if (!ql_device_valid (device, vm, &error))
    {
      g_autofree char *named = g_strdup_printf ("'%s'", TEST_ID);

      g_assert_nonnull (error);
      g_assert_true (error->domain == QL_CONFIG_ERROR);
      if (strstr (error->message, named) == NULL)
        g_error ("device type '%s': error does not name the device: %s",
                 type_name, error->message);
      g_test_message ("%s with defaults is invalid: %s", type_name, error->message);
    }
  else
    {
      g_autoptr(QlCmdline) cmdline = ql_cmdline_new ("qemu-system-x86_64");
      g_auto(GStrv) argv = NULL;

      g_assert_no_error (error);
      g_assert_true (ql_device_qemu_params (device, vm, cmdline, &error));
      g_assert_no_error (error);
      argv = ql_cmdline_to_argv (cmdline, &error);
      g_assert_no_error (error);
      g_assert_nonnull (argv);
      g_assert_cmpuint (g_strv_length (argv), >, 1);
      for (guint i = 0; argv[i] != NULL; i++)
        {
          if (*argv[i] == '\0')
            g_error ("device type '%s': argument %u is empty", type_name, i);
        }
    }
}

static void
test_known_types (void)
{
  g_auto(GStrv) types = ql_registry_list_device_types (registry);

  /* The in-tree plugins this test program is built with. */
  g_assert_true (g_strv_contains ((const char * const *) types, "net"));
  g_assert_true (g_strv_contains ((const char * const *) types, "block"));
  g_assert_true (g_strv_contains ((const char * const *) types, "scsi-controller"));
}

int
main (int   argc,
      char *argv[])
{
  g_auto(GStrv) types = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);

  registry = ql_test_registry_new ();
  types = ql_registry_list_device_types (registry);

  g_test_add_func ("/conformance/known-types", test_known_types);
  for (guint i = 0; types[i] != NULL; i++)
    {
      g_autofree char *path = g_strdup_printf ("/conformance/device/%s", types[i]);

      g_test_add_data_func (path, types[i], test_device_type);
    }

  ret = g_test_run ();
  g_clear_object (&registry);
  return ret;
}
