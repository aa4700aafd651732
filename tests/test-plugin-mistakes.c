/* qlaunch tests — plugin mistakes: the fixtures of tests/fixtures/mistakes
 * (one source, one mistake per family) run through the real qlaunch
 * ($QLAUNCH_BIN) from a private directory, and loaded in this process.
 * Each mistake must be an error naming the plugin, the device type and,
 * for an option, the property; standard error must hold exactly that (no
 * GLib warning or critical besides). */
#include <string.h>
#include <sys/stat.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <qlaunch/qlaunch.h>

#include "ql-test-util.h"

static const char *
env_dir (const char *name)
{
  const char *dir = g_getenv (name);

  g_assert_nonnull (dir);
  return dir;
}

/* Runs `qlaunch ARGS...` (LC_ALL=C, the test environment otherwise:
 * G_DEBUG=fatal-criticals, the build's plugin scanner and cache dir). */
static G_GNUC_NULL_TERMINATED void
run (QlTestRun *r,
     ...)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  const char *arg;
  va_list ap;

  va_start (ap, r);
  while ((arg = va_arg (ap, const char *)) != NULL)
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);
  ql_test_run_bounded_bare (r, launcher, 60, (const char * const *) args->pdata);
  ql_test_run_assert_exited (r);
}

static char *
fixture_path (const char *family)
{
  g_autofree char *name = g_strdup_printf ("libqlaunch-%s.so", family);

  return g_build_filename (env_dir ("QLAUNCH_MISTAKE_FIXTURE_DIR"), name, NULL);
}

/* A fresh 0700 directory holding copies (0755) of the fixtures of
 * @families, and vm.vm: one [device b] group of type @device_type, on
 * line 11, after the group [device a] of type @other_type (line 8) if
 * that is not NULL. */
static char *
make_dir (const char * const *families,
          const char         *other_type,
          const char         *device_type)
{
  char *tmp = ql_test_make_safe_tmpdir ();
  g_autofree char *vm_file = g_build_filename (tmp, "vm.vm", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_chmod (tmp, 0700), ==, 0);
  for (guint i = 0; families[i] != NULL; i++)
    {
      g_autofree char *source = fixture_path (families[i]);
      g_autofree char *name = g_path_get_basename (source);
      g_autofree char *dest = g_build_filename (tmp, name, NULL);
      g_autoptr(GFile) from = g_file_new_for_path (source);
      g_autoptr(GFile) to = g_file_new_for_path (dest);

      g_file_copy (from, to, G_FILE_COPY_NONE, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (g_chmod (dest, 0755), ==, 0);
    }
  /* [device b] on line 11 either way. */
  if (other_type != NULL)
    text = g_strdup_printf ("[vm]\nname = mistakes\n\n[memory]\nsize = 512M\n\n"
                            "# another device\n[device a]\ntype = %s\n\n"
                            "[device b]\ntype = %s\n", other_type, device_type);
  else
    text = g_strdup_printf ("[vm]\nname = mistakes\n\n[memory]\nsize = 512M\n\n"
                            "# the device\n#\n#\n\n"
                            "[device b]\ntype = %s\n", device_type);
  g_file_set_contents (vm_file, text, -1, &error);
  g_assert_no_error (error);
  return tmp;
}

/* ---- mistakes in valid() and qemu_params(): args and check exit 1 ---- */

typedef struct
{
  const char *family;
  const char *message;   /* after "qlaunch: DIR/vm.vm:11: " */
} RuntimeMistake;

static const RuntimeMistake runtime_mistakes[] = {
  { "mistake-verbatim",
    "device 'b': plugin bug in device type 'mistake-verbatim' of plugin 'mistake-verbatim': "
    "ql_cmdline_add_verbatim(): option -device: it takes key=value: use ql_cmdline_add_option()" },
  { "mistake-valid-true",
    "device 'b': plugin bug in device type 'mistake-valid-true' of plugin 'mistake-valid-true': "
    "valid() returned TRUE and set an error (device 'b': property 'queues': queues are fine, really)" },
  { "mistake-valid-false",
    "device 'b': plugin bug in device type 'mistake-valid-false' of plugin 'mistake-valid-false': "
    "valid() returned FALSE without an error" },
  { "mistake-valid-foreign",
    "device 'b' (device type 'mistake-valid-foreign' of plugin 'mistake-valid-foreign'): no such queue file" },
};

static void
test_runtime (gconstpointer data)
{
  const RuntimeMistake *mistake = data;
  const char *families[] = { mistake->family, NULL };
  g_autofree char *dir = make_dir (families, NULL, mistake->family);
  g_autofree char *vm_file = g_build_filename (dir, "vm.vm", NULL);
  g_autofree char *expected = g_strdup_printf ("qlaunch: %s:11: %s\n", vm_file, mistake->message);
  g_auto(QlTestRun) r = { 0 };

  run (&r, "--plugin-dir", dir, "args", "--no-host-checks", vm_file, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpstr (r.out, ==, "");
  g_assert_cmpstr (r.err, ==, expected);

  run (&r, "--plugin-dir", dir, "check", "--no-host-checks", vm_file, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpstr (r.out, ==, "");
  g_assert_cmpstr (r.err, ==, expected);

  /* The same without the registry cache (the plugin opened at the scan). */
  run (&r, "--no-registry-cache", "--plugin-dir", dir, "args", "--no-host-checks", vm_file, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpstr (r.err, ==, expected);
  ql_test_rm_rf (dir);
}

/* ---- mistakes in the device type: the plugin is skipped ---- */

typedef struct
{
  const char *family;
  const char *message;   /* after "'FILE': plugin init failed: " */
} RegistrationMistake;

static const RegistrationMistake registration_mistakes[] = {
  { "mistake-bad-name",
    "device type 'mistake-bad-name' of plugin 'mistake-bad-name': property 'numQueues': not a valid option "
    "name: expected a lowercase letter followed by lowercase letters, digits and '-'" },
  { "mistake-ignored",
    "device type 'mistake-ignored' of plugin 'mistake-ignored': property 'numQueues': not a valid option "
    "name: expected a lowercase letter followed by lowercase letters, digits and '-'" },
  { "mistake-no-blurb",
    "device type 'mistake-no-blurb' of plugin 'mistake-no-blurb': property 'queues': no blurb: every "
    "option needs a description (qlaunch inspect shows it)" },
  { "mistake-no-default",
    "device type 'mistake-no-default' of plugin 'mistake-no-default': property 'queues': a new device "
    "holds 0, not the declared default 1 (GObject applies defaults to construct properties only: set "
    "it in the instance init)" },
};

static void
test_registration (gconstpointer data)
{
  const RegistrationMistake *mistake = data;
  const char *families[] = { mistake->family, NULL };
  g_autofree char *dir = make_dir (families, NULL, mistake->family);
  g_autofree char *vm_file = g_build_filename (dir, "vm.vm", NULL);
  g_autofree char *name = g_strdup_printf ("libqlaunch-%s.so", mistake->family);
  g_autofree char *file = g_build_filename (dir, name, NULL);
  g_autofree char *warning = g_strdup_printf ("qlaunch: warning: plugin skipped: '%s': plugin init failed: %s\n",
                                              file, mistake->message);
  g_autofree char *args_err = g_strdup_printf ("%sqlaunch: %s:12: [device b] type: unknown device type '%s'; "
                                               "known: (none)\n", warning, vm_file, mistake->family);
  g_auto(QlTestRun) r = { 0 };

  /* Twice: opened by the plugin scanner, then answered by the cache. */
  for (guint pass = 0; pass < 2; pass++)
    {
      run (&r, "--plugin-dir", dir, "inspect", NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_cmpstr (r.err, ==, warning);
      g_assert_nonnull (strstr (r.out, "0 plugins, 0 device types"));
    }

  run (&r, "--no-registry-cache", "--plugin-dir", dir, "inspect", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, warning);

  run (&r, "--plugin-dir", dir, "args", "--no-host-checks", vm_file, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpstr (r.out, ==, "");
  g_assert_cmpstr (r.err, ==, args_err);
  ql_test_rm_rf (dir);
}

/* ---- two plugins with one GType name ---- */

#define GTYPE_CLASH "plugin init failed: the GType name 'FixtureMistakeShared' is already registered " \
  "by plugin 'mistake-gtype-a' (device type 'mistake-gtype-a'); a plugin's GType names must be its own"

static void
test_gtype_clash (void)
{
  const char *families[] = { "mistake-gtype-a", "mistake-gtype-b", NULL };
  g_autofree char *dir = make_dir (families, "mistake-gtype-a", "mistake-gtype-b");
  g_autofree char *vm_file = g_build_filename (dir, "vm.vm", NULL);
  g_autofree char *file_b = g_build_filename (dir, "libqlaunch-mistake-gtype-b.so", NULL);
  g_autofree char *warning = g_strdup_printf ("qlaunch: warning: plugin skipped: '%s': " GTYPE_CLASH "\n", file_b);
  g_autofree char *args_err = NULL;
  g_auto(QlTestRun) r = { 0 };

  /* Without the cache the scan opens both, a first. */
  run (&r, "--no-registry-cache", "--plugin-dir", dir, "inspect", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, warning);
  g_assert_nonnull (strstr (r.out, "1 plugins, 1 device types"));

  /* With it, inspect opens the plugins the cache vouched for, and says
   * which failed. */
  for (guint pass = 0; pass < 2; pass++)
    {
      run (&r, "--plugin-dir", dir, "inspect", NULL);
      g_assert_cmpint (r.status, ==, 0);
      g_assert_cmpstr (r.err, ==, warning);
      g_assert_nonnull (strstr (r.out, "1 plugins, 1 device types"));
    }

  args_err = g_strdup_printf ("%sqlaunch: %s:12: [device b] type: unknown device type 'mistake-gtype-b'; "
                              "known: mistake-gtype-a; did you mean 'mistake-gtype-a'?\n", warning, vm_file);
  run (&r, "--no-registry-cache", "--plugin-dir", dir, "args", "--no-host-checks", vm_file, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpstr (r.out, ==, "");
  g_assert_cmpstr (r.err, ==, args_err);

  /* Through the cache, b is opened when [device b] needs it. */
  g_clear_pointer (&args_err, g_free);
  args_err = g_strdup_printf ("qlaunch: %s:12: [device b] type: device type 'mistake-gtype-b': its plugin "
                              "could not be loaded: '%s': " GTYPE_CLASH "\n", vm_file, file_b);
  run (&r, "--plugin-dir", dir, "args", "--no-host-checks", vm_file, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpstr (r.out, ==, "");
  g_assert_cmpstr (r.err, ==, args_err);
  ql_test_rm_rf (dir);
}

/* ---- in this process (g_test makes warnings and criticals fatal) ---- */

static void
test_in_process (void)
{
  g_autoptr(QlRegistry) registry = ql_registry_new ();
  g_autofree char *a = fixture_path ("mistake-gtype-a");
  g_autofree char *b = fixture_path ("mistake-gtype-b");
  g_autofree char *bad_name = fixture_path ("mistake-bad-name");
  g_autofree char *ignored = fixture_path ("mistake-ignored");
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (ql_registry_load_plugin (registry, a, &error));
  g_assert_no_error (error);
  /* GLib's "cannot register existing type" is the load error, not an
   * abort of this test. */
  g_assert_null (ql_registry_load_plugin (registry, b, &error));
  g_assert_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_DUPLICATE_DEVICE);
  g_assert_nonnull (strstr (error->message, "'FixtureMistakeShared'"));
  g_assert_nonnull (strstr (error->message, "plugin 'mistake-gtype-a'"));
  g_clear_error (&error);
  g_assert_true (g_type_is_a (ql_registry_lookup_device_type (registry, "mistake-gtype-a"), QL_TYPE_DEVICE));
  g_assert_cmpuint (ql_registry_lookup_device_type (registry, "mistake-gtype-b"), ==, G_TYPE_INVALID);

  g_assert_null (ql_registry_load_plugin (registry, bad_name, &error));
  g_assert_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE);
  g_assert_nonnull (strstr (error->message, "'numQueues'"));
  g_clear_error (&error);

  /* An init that ignores the refusal and returns TRUE still fails. */
  g_assert_null (ql_registry_load_plugin (registry, ignored, &error));
  g_assert_error (error, QL_PLUGIN_ERROR, QL_PLUGIN_ERROR_BAD_DEVICE_TYPE);
  g_clear_error (&error);
  g_assert_null (ql_registry_lookup_plugin (registry, "mistake-ignored"));
}

/* ql_vm_config_get_message_line(): a device's validation error and the
 * line of its group. */
static void
test_message_line (void)
{
  g_autoptr(QlRegistry) registry = ql_registry_new ();
  g_autofree char *path = fixture_path ("mistake-valid-false");
  g_autoptr(QlVmConfig) vm = NULL;
  g_autoptr(GError) error = NULL;
  const char *text =
    "[vm]\n"
    "name = lines\n"
    "\n"
    "[device first]\n"
    "type = mistake-valid-false\n"
    "\n"
    "# the second one\n"
    "[device second]\n"
    "type = mistake-valid-false\n";

  g_assert_nonnull (ql_registry_load_plugin (registry, path, &error));
  g_assert_no_error (error);
  vm = ql_vm_config_new_from_data (text, -1, "lines.vm", NULL, registry, &error);
  g_assert_no_error (error);
  g_assert_false (ql_vm_config_validate (vm, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MULTIPLE);
  {
    g_auto(GStrv) lines = g_strsplit (error->message, "\n", -1);

    g_assert_cmpuint (g_strv_length (lines), ==, 2);
    g_assert_true (g_str_has_prefix (lines[0], "device 'first': plugin bug"));
    g_assert_cmpuint (ql_vm_config_get_message_line (vm, lines[0]), ==, 4);
    g_assert_cmpuint (ql_vm_config_get_message_line (vm, lines[1]), ==, 8);
  }
  g_assert_cmpuint (ql_vm_config_get_message_line (vm, "[vm] name: whatever"), ==, 0);
  g_assert_cmpuint (ql_vm_config_get_message_line (vm, "device 'third': no such device"), ==, 0);
  g_assert_cmpuint (ql_vm_config_get_message_line (vm, "device 'unterminated"), ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (runtime_mistakes); i++)
    {
      g_autofree char *path = g_strdup_printf ("/plugin-mistakes/runtime/%s", runtime_mistakes[i].family);

      g_test_add_data_func (path, &runtime_mistakes[i], test_runtime);
    }
  for (guint i = 0; i < G_N_ELEMENTS (registration_mistakes); i++)
    {
      g_autofree char *path = g_strdup_printf ("/plugin-mistakes/registration/%s", registration_mistakes[i].family);

      g_test_add_data_func (path, &registration_mistakes[i], test_registration);
    }
  g_test_add_func ("/plugin-mistakes/gtype-clash", test_gtype_clash);
  g_test_add_func ("/plugin-mistakes/in-process", test_in_process);
  g_test_add_func ("/plugin-mistakes/message-line", test_message_line);
  return g_test_run ();
}
