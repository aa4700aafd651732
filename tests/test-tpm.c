/* qlaunch tests — the `tpm` device: both backends and both models on the
 * argv, swtpm's command line and state directory (by default beside the VM
 * file), every rule with the device and the property named, the host checks
 * with a fake host, and the refused hot-plug. */
#include "ql-device-test.h"

#include <glib/gstdio.h>

#define RUNTIME "/run/qlaunch/t"

/* A VM (no host checks) on @machine (NULL: unset), its runtime directory
 * RUNTIME. */
static QlVmConfig *
machine_vm_new (const char  *machine,
                QlHostProbe *probe)
{
  QlVmConfig *vm = test_vm_new (probe);

  if (machine != NULL)
    g_object_set (vm, "machine-type", machine, NULL);
  ql_vm_config_set_runtime_dir (vm, RUNTIME);
  return vm;
}

/* The whole argv of @vm (without argv[0]), one argument a line. */
static char *
argv_text (QlVmConfig *vm)
{
  g_autoptr(GError) error = NULL;
  char *text = ql_test_argv_string (vm, &error);

  g_assert_no_error (error);
  g_assert_nonnull (text);
  return text;
}

/* The argv of the only helper of @vm's command line, joined with ' '. */
static char *
helper_argv (QlVmConfig *vm,
             char     ***state_dirs)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlCmdline) cmdline = ql_vm_config_build_cmdline (vm, &error);
  g_auto(GStrv) argv = NULL;
  QlHelper *helper;

  g_assert_no_error (error);
  g_assert_nonnull (cmdline);
  g_assert_cmpuint (ql_cmdline_get_n_helpers (cmdline), ==, 1);
  helper = ql_cmdline_get_helper (cmdline, 0);
  g_assert_cmpstr (ql_helper_get_name (helper), ==, "swtpm");
  g_assert_cmpstr (ql_helper_get_socket (helper), ==, RUNTIME "/tpm0.swtpm.sock");
  g_assert_cmpstr (ql_helper_get_listen_socket (helper, 3), ==, RUNTIME "/tpm0.swtpm.sock");
  if (state_dirs != NULL)
    *state_dirs = ql_helper_get_state_dirs (helper);
  argv = ql_helper_get_argv (helper);
  /* argv[0] is swtpm as found in PATH, or its name. */
  g_assert_true (g_str_has_suffix (argv[0], "swtpm"));
  return g_strjoinv (" ", argv + 1);
}

/* A VM file @name with @text in a fresh directory, loaded (no host
 * checks); *@dir is that directory. */
static QlVmConfig *
load_file (const char  *name,
           const char  *text,
           char       **dir)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  QlVmConfig *vm;

  *dir = ql_test_make_tmpdir ();
  path = g_build_filename (*dir, name, NULL);
  g_assert_true (g_file_set_contents (path, text, -1, &error));
  vm = ql_vm_config_new_from_file (path, test_registry, &error);
  g_assert_no_error (error);
  g_assert_nonnull (vm);
  ql_vm_config_set_host_probe (vm, NULL);
  ql_vm_config_set_runtime_dir (vm, RUNTIME);
  return vm;
}

/* ---- output ---- */

static void
test_defaults (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new (NULL, NULL);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", NULL);
  g_autofree char *state_dir = NULL, *path = NULL, *cancel_path = NULL;
  int model = -1, backend = -1;

  g_object_get (dev, "model", &model, "backend", &backend, "state-dir", &state_dir,
                "path", &path, "cancel-path", &cancel_path, NULL);
  g_assert_cmpint (model, ==, 0);       /* auto */
  g_assert_cmpint (backend, ==, 0);     /* emulator */
  g_assert_null (state_dir);
  g_assert_null (path);
  g_assert_null (cancel_path);
}

static void
test_emulator_q35 (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", NULL);
  g_autofree char *text = NULL, *helper = NULL;
  g_auto(GStrv) state_dirs = NULL;

  test_add_device (vm, "tpm", "tpm0", "state-dir", "/var/lib/vm1/tpm", NULL);
  text = argv_text (vm);
  g_assert_cmpstr (text, ==,
                   "-machine\nq35\n"
                   "-chardev\nsocket,id=tpm0-swtpm,path=" RUNTIME "/tpm0.swtpm.sock\n"
                   "-tpmdev\nemulator,id=tpm0,chardev=tpm0-swtpm\n"
                   "-device\ntpm-crb,id=tpm0,tpmdev=tpm0\n");
  helper = helper_argv (vm, &state_dirs);
  g_assert_cmpstr (helper, ==, "socket --tpm2 --ctrl type=unixio,fd=3 --tpmstate dir=/var/lib/vm1/tpm,mode=0600");
  /* No start-up flags: QEMU starts the TPM itself. */
  g_assert_null (strstr (helper, "startup"));
  g_assert_cmpuint (g_strv_length (state_dirs), ==, 1);
  g_assert_cmpstr (state_dirs[0], ==, "/var/lib/vm1/tpm");
}

static void
test_emulator_pc_tis (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("pc", NULL);
  g_autofree char *text = NULL;

  test_add_device (vm, "tpm", "tpm0", "state-dir", "/s", NULL);
  text = argv_text (vm);
  g_assert_nonnull (strstr (text, "-device\ntpm-tis,id=tpm0,tpmdev=tpm0\n"));
  g_assert_null (strstr (text, "tpm-crb"));
}

static void
test_emulator_default_machine_tis (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new (NULL, NULL);

  test_add_device (vm, "tpm", "tpm0", "state-dir", "/s", NULL);
  test_assert_device_lines (vm,
                            "-chardev\nsocket,id=tpm0-swtpm,path=" RUNTIME "/tpm0.swtpm.sock\n"
                            "-tpmdev\nemulator,id=tpm0,chardev=tpm0-swtpm\n"
                            "-device\ntpm-tis,id=tpm0,tpmdev=tpm0");
}

static void
test_model_tis_on_q35 (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("pc-q35-7.2", NULL);
  g_autofree char *text = NULL;

  test_add_device (vm, "tpm", "tpm0", "model", "tis", "state-dir", "/s", NULL);
  text = argv_text (vm);
  g_assert_nonnull (strstr (text, "-device\ntpm-tis,id=tpm0,tpmdev=tpm0\n"));
}

static void
test_model_crb_versioned_q35 (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("pc-q35-7.2", NULL);
  g_autofree char *text = NULL;

  test_add_device (vm, "tpm", "tpm0", "model", "crb", "state-dir", "/s", NULL);
  text = argv_text (vm);
  g_assert_nonnull (strstr (text, "-device\ntpm-crb,id=tpm0,tpmdev=tpm0\n"));
}

static void
test_passthrough (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlCmdline) cmdline = NULL;
  g_autofree char *text = NULL;

  test_add_device (vm, "tpm", "tpm0", "backend", "passthrough", "path", "/dev/tpm1", NULL);
  text = argv_text (vm);
  g_assert_cmpstr (text, ==,
                   "-machine\nq35\n"
                   "-tpmdev\npassthrough,id=tpm0,path=/dev/tpm1,cancel-path=/sys/class/tpm/tpm1/device/cancel\n"
                   "-device\ntpm-crb,id=tpm0,tpmdev=tpm0\n");
  /* No helper for a host TPM. */
  cmdline = ql_vm_config_build_cmdline (vm, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ql_cmdline_get_n_helpers (cmdline), ==, 0);
}

static void
test_passthrough_cancel_path_comma (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("pc", NULL);

  test_add_device (vm, "tpm", "vtpm", "backend", "passthrough", "path", "/dev/my,tpm",
                   "cancel-path", "/sys/x,cancel=y", NULL);
  g_object_set (vm, "machine-type", NULL, NULL);
  test_assert_device_lines (vm,
                            "-tpmdev\npassthrough,id=vtpm,path=/dev/my,,tpm,cancel-path=/sys/x,,cancel=y\n"
                            "-device\ntpm-tis,id=vtpm,tpmdev=vtpm");
}

/* The state directory of a VM file NAME.vm is NAME.tpm beside it. */
static void
test_state_dir_default (void)
{
  g_autofree char *dir = NULL, *expected = NULL, *helper = NULL, *want = NULL;
  g_autoptr(QlVmConfig) vm = load_file ("web1.vm", "[machine]\ntype=q35\n[device tpm0]\ntype=tpm\n", &dir);
  g_auto(GStrv) state_dirs = NULL;

  expected = g_build_filename (dir, "web1.tpm", NULL);
  helper = helper_argv (vm, &state_dirs);
  want = g_strdup_printf ("socket --tpm2 --ctrl type=unixio,fd=3 --tpmstate dir=%s,mode=0600", expected);
  g_assert_cmpstr (helper, ==, want);
  g_assert_cmpstr (state_dirs[0], ==, expected);
  /* Building the argv touched nothing. */
  g_assert_false (g_file_test (expected, G_FILE_TEST_EXISTS));
  ql_test_rm_rf (dir);
}

/* A VM file not named *.vm: its whole name, then .tpm. */
static void
test_state_dir_default_other_name (void)
{
  g_autofree char *dir = NULL, *expected = NULL, *got = NULL;
  g_autoptr(QlVmConfig) vm = load_file ("vm.conf", "[device tpm0]\ntype=tpm\n", &dir);

  expected = g_build_filename (dir, "vm.conf.tpm", NULL);
  got = ql_vm_config_build_state_path (vm, "tpm");
  g_assert_cmpstr (got, ==, expected);
  ql_test_rm_rf (dir);
}

/* A relative state-dir in a VM file is relative to the VM file. */
static void
test_state_dir_relative (void)
{
  g_autofree char *dir = NULL, *expected = NULL;
  g_autoptr(QlVmConfig) vm = load_file ("a.vm", "[device t]\ntype=tpm\nstate-dir=state/tpm\n", &dir);
  g_auto(GStrv) state_dirs = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QlCmdline) cmdline = ql_vm_config_build_cmdline (vm, &error);

  g_assert_no_error (error);
  expected = g_build_filename (dir, "state", "tpm", NULL);
  state_dirs = ql_helper_get_state_dirs (ql_cmdline_get_helper (cmdline, 0));
  g_assert_cmpstr (state_dirs[0], ==, expected);
  ql_test_rm_rf (dir);
}

/* No VM file: no default place. */
static void
test_state_path_without_file (void)
{
  g_autoptr(QlVmConfig) vm = ql_vm_config_new ();
  g_autoptr(QlVmConfig) data_vm = ql_test_load_vm (test_registry, "[machine]\ntype=q35\n");

  g_assert_null (ql_vm_config_build_state_path (vm, "tpm"));
  g_assert_null (ql_vm_config_build_state_path (data_vm, "tpm"));
}

/* ---- rules ---- */

static void
test_rule_no_state_dir_without_file (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "state-dir", "not loaded from a VM file");
}

static void
test_rule_state_dir_comma (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", "state-dir", "/var/a,b", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "state-dir", "'/var/a,b' holds a ','");
}

static void
test_rule_state_dir_default_comma (void)
{
  g_autofree char *dir = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(QlVmConfig) vm = load_file ("a,b.vm", "[device tpm0]\ntype=tpm\n", &dir);

  g_assert_false (ql_vm_config_validate (vm, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE);
  g_assert_nonnull (strstr (error->message, "device 'tpm0': property 'state-dir': '"));
  g_assert_nonnull (strstr (error->message, "a,b.tpm' holds a ','"));
  ql_test_rm_rf (dir);
}

static void
test_rule_state_dir_empty (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", NULL);

  g_object_set (dev, "state-dir", "", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "state-dir", NULL);
}

static void
test_rule_state_dir_relative_api (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", NULL);

  g_object_set (dev, "state-dir", "rel/tpm", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "state-dir", "'rel/tpm' is not an absolute path");
}

static void
test_rule_path_with_emulator (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", "state-dir", "/s", "path", "/dev/tpm0", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "path", "'/dev/tpm0' is the host TPM of backend passthrough");
}

static void
test_rule_cancel_path_with_emulator (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", "state-dir", "/s", "cancel-path", "/sys/c", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "cancel-path", "'/sys/c' belongs to backend passthrough");
}

static void
test_rule_state_dir_with_passthrough (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", "backend", "passthrough",
                                   "path", "/dev/tpm0", "state-dir", "/s", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "state-dir", "'/s': backend passthrough uses the host TPM");
}

static void
test_rule_passthrough_no_path (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", "backend", "passthrough", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "path", "set path to its device node");
}

static void
test_rule_passthrough_relative_path (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", "backend", "passthrough", NULL);

  g_object_set (dev, "path", "tpm0", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "path", "'tpm0' is not an absolute path");
}

static void
test_rule_passthrough_cancel_not_derived (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", "backend", "passthrough", "path", "/dev/tpmrm0", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_MISSING, "cancel-path", "'/dev/tpmrm0' is not named /dev/tpmN");
}

static void
test_rule_passthrough_cancel_relative (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", "backend", "passthrough", "path", "/dev/tpm0", NULL);

  g_object_set (dev, "cancel-path", "cancel", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "cancel-path", "'cancel' is not an absolute path");
  g_object_set (dev, "cancel-path", "", NULL);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "cancel-path", NULL);
}

static void
test_rule_crb_on_pc (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("pc", NULL);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", "model", "crb", "state-dir", "/s", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "model", "this VM's machine is 'pc'");
}

static void
test_rule_crb_on_default_machine (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new (NULL, NULL);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", "model", "crb", "state-dir", "/s", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_CONFLICT, "model", "QEMU's default (pc)");
}

static void
test_rule_two_tpms (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", NULL);
  QlDevice *first = test_add_device (vm, "tpm", "tpm0", "state-dir", "/s", NULL);
  QlDevice *second = test_add_device (vm, "tpm", "tpm1", "backend", "passthrough", "path", "/dev/tpm0", NULL);

  test_assert_valid (vm, first);
  test_assert_invalid (vm, second, QL_CONFIG_ERROR_DUPLICATE, "model", "device 'tpm0' is a TPM already");
}

static void
test_rule_no_id (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlDevice) dev = ql_registry_create_device (test_registry, "tpm", NULL, &error);

  g_assert_no_error (error);
  g_object_set (dev, "state-dir", "/s", NULL);
  g_assert_false (ql_device_valid (dev, vm, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MISSING);
  g_assert_true (g_str_has_prefix (error->message, "device '(no id)': property 'id': a TPM needs an id"));
}

static void
test_rule_socket_too_long (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", NULL);
  g_autofree char *runtime = g_strnfill (100, 'r');
  g_autofree char *dir = g_strconcat ("/", runtime, NULL);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", "state-dir", "/s", NULL);

  ql_vm_config_set_runtime_dir (vm, dir);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_INVALID_VALUE, "id", "swtpm's socket");
}

static void
test_rule_bad_text (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", NULL);

  test_assert_bad_text (dev, "model", "tpm-crb");
  test_assert_bad_text (dev, "model", "");
  test_assert_bad_text (dev, "backend", "swtpm");
  test_assert_bad_text (dev, "backend", "emulated");
}

/* ---- host checks ---- */

static void
test_host_emulator (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", probe);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", "state-dir", "/vms/a.tpm", NULL);
  g_autofree char *swtpm = g_find_program_in_path ("swtpm");

  if (swtpm == NULL)
    {
      g_test_skip ("no swtpm in PATH");
      return;
    }
  /* Missing: created at launch. */
  test_assert_valid (vm, dev);
  ql_fake_host_probe_set_file (probe, "/vms/a.tpm", G_FILE_TYPE_DIRECTORY, 4096);
  test_assert_valid (vm, dev);
  ql_fake_host_probe_set_file (probe, "/vms/a.tpm", G_FILE_TYPE_REGULAR, 10);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "state-dir", "'/vms/a.tpm' exists and is not a directory");
}

static void
test_host_no_swtpm (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", probe);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", "state-dir", "/vms/a.tpm", NULL);
  g_autofree char *empty = ql_test_make_tmpdir ();
  g_autofree char *saved = g_strdup (g_getenv ("PATH"));

  g_setenv ("PATH", empty, TRUE);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "backend", "no swtpm is in PATH");
  g_setenv ("PATH", saved, TRUE);
  ql_test_rm_rf (empty);
}

static void
test_host_passthrough (void)
{
  g_autoptr(QlHostProbe) probe = ql_fake_host_probe_new ();
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", probe);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", "backend", "passthrough", "path", "/dev/tpm0", NULL);

  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "path",
                       "cannot use the host TPM '/dev/tpm0': No such file or directory");
  ql_fake_host_probe_set_device_usable (probe, "/dev/tpm0", TRUE);
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "cancel-path",
                       "cannot use the cancel file '/sys/class/tpm/tpm0/device/cancel' of the host TPM");
  ql_fake_host_probe_set_device_usable (probe, "/sys/class/tpm/tpm0/device/cancel", TRUE);
  test_assert_valid (vm, dev);
}

/* This host has no TPM: passthrough is refused by the real probe, with
 * the system's reason. */
static void
test_host_real_no_tpm (void)
{
  g_autoptr(QlHostProbe) probe = ql_host_probe_new ();
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", probe);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", "backend", "passthrough", "path", "/dev/tpm7", NULL);

  if (g_file_test ("/dev/tpm7", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("this host has a /dev/tpm7");
      return;
    }
  test_assert_invalid (vm, dev, QL_CONFIG_ERROR_HOST, "path", "'/dev/tpm7': No such file or directory");
}

static void
test_host_checks_off (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", NULL);
  QlDevice *dev = test_add_device (vm, "tpm", "tpm0", "backend", "passthrough", "path", "/dev/tpm9", NULL);

  test_assert_valid (vm, dev);
}

/* ---- hot-plug ---- */

static void
test_hotplug_refused (void)
{
  g_autoptr(QlVmConfig) vm = machine_vm_new ("q35", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlDevice) dev = ql_registry_create_device (test_registry, "tpm", "tpm0", &error);
  g_autoptr(JsonArray) plan = NULL;

  g_assert_no_error (error);
  g_object_set (dev, "state-dir", "/s", NULL);
  plan = ql_hotplug_plan (dev, vm, NULL, &error);
  g_assert_null (plan);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE);
  g_assert_true (g_str_has_prefix (error->message, "device 'tpm0': a TPM cannot be hot-plugged: "));

  /* Passthrough too. */
  g_clear_error (&error);
  g_object_set (dev, "state-dir", NULL, "backend", 1, "path", "/dev/tpm0", NULL);
  plan = ql_hotplug_plan (dev, vm, NULL, &error);
  g_assert_null (plan);
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE);
  g_assert_nonnull (strstr (error->message, "cannot be hot-plugged"));
}

/* ---- qlaunch args ---- */

/* `qlaunch args` names swtpm's state directory (JSON: state-dirs; shell:
 * a mkdir -m 0700 before swtpm) and creates nothing. */
static void
test_cli_args (void)
{
  g_autofree char *dir = ql_test_make_tmpdir ();
  g_autofree char *vm_file = g_build_filename (dir, "db.vm", NULL);
  g_autofree char *state = g_build_filename (dir, "db.tpm", NULL);
  g_autofree char *out = NULL, *err = NULL, *mkdir_line = NULL, *quoted = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  const char *plugin_dir = g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR");
  JsonObject *root, *helper;
  JsonArray *dirs;

  g_assert_true (g_file_set_contents (vm_file, "[machine]\ntype=q35\n[device tpm0]\ntype=tpm\n", -1, NULL));
  {
    const char *args[] = { "--plugin-dir", plugin_dir, "args", "--no-host-checks", "--format", "json", vm_file, NULL };

    g_assert_cmpint (ql_test_run_cli (args, &out, &err), ==, 0);
  }
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  helper = json_array_get_object_element (json_object_get_array_member (root, "helpers"), 0);
  g_assert_cmpstr (json_object_get_string_member (helper, "device"), ==, "tpm0");
  g_assert_cmpstr (json_object_get_string_member (helper, "name"), ==, "swtpm");
  dirs = json_object_get_array_member (helper, "state-dirs");
  g_assert_cmpuint (json_array_get_length (dirs), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (dirs, 0), ==, state);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  {
    const char *args[] = { "--plugin-dir", plugin_dir, "args", "--no-host-checks", "--format", "shell", vm_file, NULL };

    g_assert_cmpint (ql_test_run_cli (args, &out, &err), ==, 0);
  }
  quoted = g_shell_quote (state);
  mkdir_line = g_strdup_printf ("\nmkdir -p -m 0700 %s\n", quoted);
  g_assert_nonnull (strstr (out, mkdir_line));
  g_assert_true (strstr (out, mkdir_line) < strstr (out, " socket --tpm2 "));
  g_assert_false (g_file_test (state, G_FILE_TEST_EXISTS));
  ql_test_rm_rf (dir);
}

/* `qlaunch template create` refuses a VM with a TPM before anything
 * starts: every clone would resume with the template's TPM. */
static void
test_cli_template_refused (void)
{
  g_autofree char *dir = ql_test_make_tmpdir ();
  g_autofree char *vm_file = g_build_filename (dir, "t.vm", NULL);
  g_autofree char *target = g_build_filename (dir, "tpl", NULL);
  g_autofree char *state = g_build_filename (dir, "t.tpm", NULL);
  g_autofree char *out = NULL, *err = NULL;
  const char *args[] = { "--plugin-dir", g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"),
                         "template", "create", vm_file, target, NULL };

  g_assert_true (g_file_set_contents (vm_file, "[machine]\ntype=q35\nacceleration=tcg\n[memory]\nsize=128M\n"
                                      "[device tpm0]\ntype=tpm\n", -1, NULL));
  g_assert_cmpint (ql_test_run_cli (args, &out, &err), ==, 1);
  g_test_message ("%s", err);
  g_assert_nonnull (strstr (err, "device 'tpm0' is a TPM: its state"));
  g_assert_false (g_file_test (target, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (state, G_FILE_TEST_EXISTS));
  ql_test_rm_rf (dir);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  test_registry = ql_test_registry_new ();

  g_test_add_func ("/tpm/output/defaults", test_defaults);
  g_test_add_func ("/tpm/output/emulator-q35", test_emulator_q35);
  g_test_add_func ("/tpm/output/emulator-pc-tis", test_emulator_pc_tis);
  g_test_add_func ("/tpm/output/emulator-default-machine-tis", test_emulator_default_machine_tis);
  g_test_add_func ("/tpm/output/model-tis-on-q35", test_model_tis_on_q35);
  g_test_add_func ("/tpm/output/model-crb-versioned-q35", test_model_crb_versioned_q35);
  g_test_add_func ("/tpm/output/passthrough", test_passthrough);
  g_test_add_func ("/tpm/output/passthrough-cancel-path-comma", test_passthrough_cancel_path_comma);
  g_test_add_func ("/tpm/output/state-dir-default", test_state_dir_default);
  g_test_add_func ("/tpm/output/state-dir-default-other-name", test_state_dir_default_other_name);
  g_test_add_func ("/tpm/output/state-dir-relative", test_state_dir_relative);
  g_test_add_func ("/tpm/output/state-path-without-file", test_state_path_without_file);

  g_test_add_func ("/tpm/rule/no-state-dir-without-file", test_rule_no_state_dir_without_file);
  g_test_add_func ("/tpm/rule/state-dir-comma", test_rule_state_dir_comma);
  g_test_add_func ("/tpm/rule/state-dir-default-comma", test_rule_state_dir_default_comma);
  g_test_add_func ("/tpm/rule/state-dir-empty", test_rule_state_dir_empty);
  g_test_add_func ("/tpm/rule/state-dir-relative-api", test_rule_state_dir_relative_api);
  g_test_add_func ("/tpm/rule/path-with-emulator", test_rule_path_with_emulator);
  g_test_add_func ("/tpm/rule/cancel-path-with-emulator", test_rule_cancel_path_with_emulator);
  g_test_add_func ("/tpm/rule/state-dir-with-passthrough", test_rule_state_dir_with_passthrough);
  g_test_add_func ("/tpm/rule/passthrough-no-path", test_rule_passthrough_no_path);
  g_test_add_func ("/tpm/rule/passthrough-relative-path", test_rule_passthrough_relative_path);
  g_test_add_func ("/tpm/rule/passthrough-cancel-not-derived", test_rule_passthrough_cancel_not_derived);
  g_test_add_func ("/tpm/rule/passthrough-cancel-relative", test_rule_passthrough_cancel_relative);
  g_test_add_func ("/tpm/rule/crb-on-pc", test_rule_crb_on_pc);
  g_test_add_func ("/tpm/rule/crb-on-default-machine", test_rule_crb_on_default_machine);
  g_test_add_func ("/tpm/rule/two-tpms", test_rule_two_tpms);
  g_test_add_func ("/tpm/rule/no-id", test_rule_no_id);
  g_test_add_func ("/tpm/rule/socket-too-long", test_rule_socket_too_long);
  g_test_add_func ("/tpm/rule/bad-text", test_rule_bad_text);

  g_test_add_func ("/tpm/host/emulator", test_host_emulator);
  g_test_add_func ("/tpm/host/no-swtpm", test_host_no_swtpm);
  g_test_add_func ("/tpm/host/passthrough", test_host_passthrough);
  g_test_add_func ("/tpm/host/real-no-tpm", test_host_real_no_tpm);
  g_test_add_func ("/tpm/host/checks-off", test_host_checks_off);

  g_test_add_func ("/tpm/hotplug/refused", test_hotplug_refused);
  g_test_add_func ("/tpm/cli/args", test_cli_args);
  g_test_add_func ("/tpm/cli/template-refused", test_cli_template_refused);

  ret = g_test_run ();
  g_clear_object (&test_registry);
  return ret;
}
