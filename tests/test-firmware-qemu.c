/* Suite qemu: real QEMU 7.2 (TCG, -S) starts on the argv of each
 * [firmware] form, with the host's firmware descriptors and OVMF images:
 * the flash block nodes exist (code read-only, the VM's own store
 * writable, neither the template), SMM is what the form says, QEMU stays
 * in prelaunch and prints no warning at all. */
#include "ql-test-util.h"
#include "ql-test-qmp.h"

#include <string.h>

typedef struct
{
  const char *name;
  const char *text;          /* the VM file, without QMP */
  const char *code;          /* the realpath of pflash0's file */
  const char *smm;           /* /machine smm */
  gboolean secure;           /* system.flash0 secure */
} Case;

static const Case cases[] = {
  { "q35", "[machine]\ntype = q35\nacceleration = tcg\n[firmware]\ntype = uefi\n",
    "/usr/share/OVMF/OVMF_CODE_4M.fd", "auto", FALSE },
  { "pc", "[machine]\ntype = pc\nacceleration = tcg\n[firmware]\ntype = uefi\n",
    "/usr/share/OVMF/OVMF_CODE_4M.fd", "auto", FALSE },
  { "secure-boot", "[machine]\ntype = q35\nacceleration = tcg\n[firmware]\ntype = uefi\nsecure-boot = true\n",
    "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "on", TRUE },
  { "explicit-2m", "[machine]\ntype = q35\nacceleration = tcg\n[firmware]\ntype = uefi\n"
    "code = /usr/share/OVMF/OVMF_CODE.fd\nvars-template = /usr/share/OVMF/OVMF_VARS.fd\nvars = my-vars.fd\n",
    "/usr/share/OVMF/OVMF_CODE.fd", "auto", FALSE },
  { "kernel", "[machine]\ntype = q35\nacceleration = tcg\n[memory]\nsize = 256M\n"
    "[kernel]\npath = @KERNEL@\nparams = console=ttyS0\n[firmware]\ntype = uefi\nsecure-boot = true\n",
    "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd", "on", TRUE },
};

static JsonObject *
find_node (JsonArray  *nodes,
           const char *name)
{
  for (guint i = 0; i < json_array_get_length (nodes); i++)
    {
      JsonObject *node = json_array_get_object_element (nodes, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (node, "node-name", ""), name) == 0)
        return node;
    }
  return NULL;
}

static void
test_case (gconstpointer data)
{
  const Case *c = data;
  g_autofree char *dir = NULL;
  g_autofree char *vm_file = NULL;
  g_autofree char *qmp_path = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GString) vm_text = NULL;
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlVmConfig) vm = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GSubprocess) qemu = NULL;
  g_autoptr(QlTestQmp) qmp = NULL;
  g_autoptr(JsonNode) status = NULL;
  g_autoptr(JsonNode) nodes = NULL;
  g_autoptr(JsonNode) secure = NULL;
  g_autofree char *smm = NULL;
  g_autofree char *vars = NULL;
  g_autofree char *qemu_stderr = NULL;
  g_auto(GStrv) built = NULL;
  JsonObject *args;
  JsonObject *code_node, *vars_node;
  const char *guest_dir = g_getenv ("QLAUNCH_GUEST_DIR");

  if (!g_file_test (c->code, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no OVMF (Debian: ovmf)");
      return;
    }
  dir = ql_test_make_tmpdir ();
  vm_file = g_build_filename (dir, "uefi.vm", NULL);
  qmp_path = g_build_filename (dir, "qmp.sock", NULL);
  vm_text = g_string_new (c->text);
  if (strstr (c->text, "@KERNEL@") != NULL)
    {
      g_autofree char *kernel = guest_dir != NULL ? g_build_filename (guest_dir, "vmlinuz", NULL) : NULL;

      if (kernel == NULL || !g_file_test (kernel, G_FILE_TEST_EXISTS))
        {
          g_test_skip ("no test guest kernel");
          ql_test_rm_rf (dir);
          return;
        }
      g_string_replace (vm_text, "@KERNEL@", kernel, 0);
    }
  g_assert_true (g_file_set_contents (vm_file, vm_text->str, -1, NULL));

  /* The library's own launch path: validate with host checks, make the
   * store, build the argv. */
  registry = ql_test_registry_new ();
  vm = ql_vm_config_new_from_file (vm_file, registry, &error);
  g_assert_no_error (error);
  vars = ql_vm_config_dup_firmware_vars_path (vm, &error);
  g_assert_no_error (error);
  built = ql_vm_config_to_argv (vm, &error);
  g_assert_no_error (error);
  g_assert_true (ql_vm_config_prepare_firmware (vm, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (vars, G_FILE_TEST_IS_REGULAR));

  for (guint i = 0; built[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (built[i]));
  {
    g_autofree char *qmp_arg = g_strdup_printf ("unix:%s,server=on,wait=off", qmp_path);
    const char *extra[] = { "-S", "-nodefaults", "-display", "none", "-qmp", qmp_arg };

    for (guint i = 0; i < G_N_ELEMENTS (extra); i++)
      g_ptr_array_add (argv, g_strdup (extra[i]));
  }
  g_ptr_array_add (argv, NULL);
  text = g_strjoinv (" ", (char **) argv->pdata);
  g_test_message ("%s", text);

  qemu = g_subprocess_newv ((const char * const *) argv->pdata, G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  qmp = ql_test_qmp_connect (qmp_path, 20000, &error);
  g_assert_no_error (error);

  status = ql_test_qmp_execute (qmp, "query-status", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (status), "status"), ==, "prelaunch");

  args = json_object_new ();
  json_object_set_boolean_member (args, "flat", TRUE);
  nodes = ql_test_qmp_execute (qmp, "query-named-block-nodes", args, &error);
  json_object_unref (args);
  g_assert_no_error (error);
  code_node = find_node (json_node_get_array (nodes), "ql-pflash0-file");
  vars_node = find_node (json_node_get_array (nodes), "ql-pflash1-file");
  g_assert_nonnull (code_node);
  g_assert_nonnull (vars_node);
  {
    g_autofree char *real = realpath (json_object_get_string_member (code_node, "file"), NULL);

    g_assert_cmpstr (real, ==, c->code);
  }
  g_assert_true (json_object_get_boolean_member (code_node, "ro"));
  g_assert_cmpstr (json_object_get_string_member (vars_node, "file"), ==, vars);
  g_assert_false (json_object_get_boolean_member (vars_node, "ro"));
  /* The format nodes the machine's flash devices use. */
  code_node = find_node (json_node_get_array (nodes), "ql-pflash0");
  vars_node = find_node (json_node_get_array (nodes), "ql-pflash1");
  g_assert_nonnull (code_node);
  g_assert_nonnull (vars_node);
  g_assert_cmpstr (json_object_get_string_member (code_node, "drv"), ==, "raw");
  g_assert_true (json_object_get_boolean_member (code_node, "ro"));
  g_assert_false (json_object_get_boolean_member (vars_node, "ro"));

  smm = ql_test_qmp_qom_get_string (qmp, "/machine", "smm", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (smm, ==, c->smm);
  args = json_object_new ();
  json_object_set_string_member (args, "path", "/machine/system.flash0");
  json_object_set_string_member (args, "property", "secure");
  secure = ql_test_qmp_execute (qmp, "qom-get", args, &error);
  json_object_unref (args);
  g_assert_no_error (error);
  g_assert_cmpint (json_node_get_boolean (secure), ==, c->secure);

  g_clear_pointer (&status, json_node_unref);
  status = ql_test_qmp_execute (qmp, "quit", NULL, &error);
  g_clear_error (&error);   /* the connection may close before the reply */
  g_subprocess_wait (qemu, NULL, &error);
  g_assert_no_error (error);
  {
    GInputStream *err = g_subprocess_get_stderr_pipe (qemu);
    g_autoptr(GOutputStream) mem = g_memory_output_stream_new_resizable ();

    g_output_stream_splice (mem, err, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error);
    g_assert_no_error (error);
    qemu_stderr = g_strndup (g_memory_output_stream_get_data (G_MEMORY_OUTPUT_STREAM (mem)),
                             g_memory_output_stream_get_data_size (G_MEMORY_OUTPUT_STREAM (mem)));
  }
  /* Not even a warning. */
  g_assert_cmpstr (qemu_stderr != NULL ? qemu_stderr : "", ==, "");
  g_assert_true (g_subprocess_get_if_exited (qemu));
  g_assert_cmpint (g_subprocess_get_exit_status (qemu), ==, 0);
  ql_test_rm_rf (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strconcat ("/firmware-qemu/", cases[i].name, NULL);

      g_test_add_data_func (path, &cases[i], test_case);
    }
  return g_test_run ();
}
