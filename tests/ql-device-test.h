/* qlaunch tests — helpers shared by the device plugin tests (test-net,
 * test-block): build a VM through the C API, check a rule's error, and
 * compare the argv lines a VM's devices add, the descriptors it hands to
 * QEMU and a device's hot-plug plan. */
#pragma once

#include <string.h>

#include <qlaunch/qlaunch.h>

#include "ql-fake-host-probe.h"
#include "ql-test-util.h"

static QlRegistry *test_registry;

/* A VM with @probe as its host (NULL: host checks off). */
static QlVmConfig *
test_vm_new (QlHostProbe *probe)
{
  QlVmConfig *vm = ql_vm_config_new ();

  ql_vm_config_set_host_probe (vm, probe);
  return vm;
}

/* Creates a device of @type with @id, sets the NULL-terminated key/value
 * text pairs that follow as a VM file would, and adds it to @vm.
 * Returns: (transfer none): the device, owned by @vm */
static G_GNUC_NULL_TERMINATED QlDevice *
test_add_device (QlVmConfig *vm,
                 const char *type,
                 const char *id,
                 ...)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlDevice) device = NULL;
  const char *key;
  va_list ap;

  device = ql_registry_create_device (test_registry, type, id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (device);

  va_start (ap, id);
  while ((key = va_arg (ap, const char *)) != NULL)
    {
      const char *value = va_arg (ap, const char *);

      ql_device_set_property_from_string (device, key, value, &error);
      g_assert_no_error (error);
    }
  va_end (ap);

  ql_vm_config_add_device (vm, device);
  return device;
}

/* Checks that @device's rule fails with @code, a message that names the
 * device and @property, and holds @fragment (if not NULL); and that the
 * whole VM fails to validate with that message too. */
static void
test_assert_invalid (QlVmConfig *vm,
                     QlDevice   *device,
                     gint        code,
                     const char *property,
                     const char *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) vm_error = NULL;
  g_autofree char *prefix = NULL;

  prefix = g_strdup_printf ("device '%s': property '%s': ",
                            ql_device_get_id (device), property);

  g_assert_false (ql_device_valid (device, vm, &error));
  g_assert_error (error, QL_CONFIG_ERROR, code);
  if (!g_str_has_prefix (error->message, prefix))
    g_error ("message does not start with \"%s\": %s", prefix, error->message);
  if (fragment != NULL && strstr (error->message, fragment) == NULL)
    g_error ("message does not hold \"%s\": %s", fragment, error->message);

  g_assert_false (ql_vm_config_validate (vm, &vm_error));
  g_assert_nonnull (vm_error);
  if (strstr (vm_error->message, error->message) == NULL)
    g_error ("VM error does not hold the device's \"%s\": %s",
             error->message, vm_error->message);
}

static void
test_assert_valid (QlVmConfig *vm,
                   QlDevice   *device)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (ql_device_valid (device, vm, &error));
  g_assert_no_error (error);
}

/* Sets a property from text and expects the property layer to refuse it. */
static void
test_assert_bad_text (QlDevice   *device,
                      const char *property,
                      const char *text)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (ql_device_set_property_from_string (device, property, text,
                                                      &error));
  g_assert_nonnull (error);
  g_assert_true (error->domain == QL_CONFIG_ERROR);
  if (strstr (error->message, property) == NULL)
    g_error ("message does not name '%s': %s", property, error->message);
}

static char **
test_split_lines (const char *text)
{
  g_autofree char *copy = g_strdup (text);
  gsize len = strlen (copy);

  while (len > 0 && copy[len - 1] == '\n')
    copy[--len] = '\0';
  if (len == 0)
    return g_new0 (char *, 1);
  return g_strsplit (copy, "\n", -1);
}

/* The argv of @vm, one argument a line, minus that of a VM with the same
 * host and iothreads but no device: the lines @vm's devices add. */
static char *
test_device_lines (QlVmConfig *vm)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) base = test_vm_new (ql_vm_config_get_host_probe (vm));
  g_auto(GStrv) iothreads = ql_vm_config_get_iothreads (vm);
  g_autofree char *base_text = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) base_lines = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GString) block = NULL;
  guint n_base, n, prefix, suffix;

  for (guint i = 0; iothreads != NULL && iothreads[i] != NULL; i++)
    ql_vm_config_add_iothread (base, iothreads[i]);

  base_text = ql_test_argv_string (base, &error);
  g_assert_no_error (error);
  text = ql_test_argv_string (vm, &error);
  g_assert_no_error (error);

  base_lines = test_split_lines (base_text);
  lines = test_split_lines (text);
  n_base = g_strv_length (base_lines);
  n = g_strv_length (lines);
  g_assert_cmpuint (n, >=, n_base);

  for (prefix = 0; prefix < n_base && g_str_equal (lines[prefix], base_lines[prefix]); prefix++)
    ;
  for (suffix = 0;
       prefix + suffix < n_base &&
       g_str_equal (lines[n - 1 - suffix], base_lines[n_base - 1 - suffix]);
       suffix++)
    ;
  /* The devices' lines are one block inserted into the base argv. */
  if (prefix + suffix != n_base)
    g_error ("argv is not the base argv plus one block:\n%s\n-- base:\n%s",
             text, base_text);

  block = g_string_new (NULL);
  for (guint i = prefix; i < n - suffix; i++)
    {
      if (i > prefix)
        g_string_append_c (block, '\n');
      g_string_append (block, lines[i]);
    }
  return g_string_free (g_steal_pointer (&block), FALSE);
}

/* Checks the lines @vm's devices add, joined with '\n'. */
#define test_assert_device_lines(vm, expected) \
  G_STMT_START {                                      \
    g_autofree char *_lines = test_device_lines (vm); \
    g_assert_cmpstr (_lines, ==, (expected));         \
  } G_STMT_END

/* The host descriptors @vm hands to QEMU are @expected, in order (QEMU's
 * 3, 4, ...). */
static inline void
test_assert_fds (QlVmConfig *vm,
                 const int  *expected,
                 guint       n_expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlCmdline) cmdline = ql_vm_config_build_cmdline (vm, &error);
  GArray *fds;

  g_assert_no_error (error);
  fds = ql_cmdline_get_fds (cmdline);
  g_assert_cmpmem (fds->data, fds->len * sizeof (int),
                   expected, n_expected * sizeof (int));
}

/* The hot-plug plan of @device (in @vm, nullable) is the JSON array
 * @expected, and hands QEMU no descriptor. */
static inline void
test_assert_plan (QlDevice   *device,
                  QlVmConfig *vm,
                  const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) fds = NULL;
  g_autoptr(JsonArray) plan = ql_hotplug_plan (device, vm, &fds, &error);
  g_autoptr(JsonNode) got = NULL;
  g_autoptr(JsonNode) want = ql_test_parse_json (expected);

  g_assert_no_error (error);
  g_assert_nonnull (plan);
  g_assert_cmpuint (fds->len, ==, 0);
  got = json_node_init_array (json_node_alloc (), plan);
  if (!json_node_equal (got, want))
    {
      g_autofree char *text = json_to_string (got, FALSE);

      g_error ("plan %s, expected %s", text, expected);
    }
}
