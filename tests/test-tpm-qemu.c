/* Suite qemu: the `tpm` device with the real QEMU 7.2 (-S, TCG) and the
 * real swtpm, launched by QlVm from a VM file in a scratch directory:
 *
 *  /tpm-qemu/emulator-crb     q35, defaults: swtpm starts, QEMU takes the
 *                             argv with empty stderr, query-tpm reports
 *                             tpm-crb on an emulator backend; the state
 *                             directory NAME.tpm beside NAME.vm was created
 *                             0700 and holds swtpm's state; after the stop
 *                             no swtpm is left and the state is kept; a
 *                             second run uses it again
 *  /tpm-qemu/emulator-tis-pc  pc: tpm-tis, a state-dir of the file's
 *  /tpm-qemu/state-dir-group-writable, /tpm-qemu/state-dir-world-writable,
 *  /tpm-qemu/state-dir-other-owner  refused before swtpm or QEMU start:
 *                             by the host check (naming the device and
 *                             state-dir) and, with host checks off, by the
 *                             launcher (naming the device and directory)
 *  /tpm-qemu/state-dir-not-directory  refused by the host check, naming
 *                             the device and state-dir
 *  /tpm-qemu/state-dir-in-use  a second VM on the state directory of a
 *                             running one: refused naming the swtpm that
 *                             holds it
 *  /tpm-qemu/swtpm-killed     kill -9 of swtpm while QEMU runs: the VM
 *                             fails naming the device and the signal, and
 *                             QEMU is stopped
 *
 * Every test has its own XDG_RUNTIME_DIR (0700), and checks that no swtpm
 * of its own is left.
 */
#include "ql-test-pids.h"
#include "ql-test-util.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

static QlRegistry *registry;

typedef struct
{
  char *work;
  char *runtime;
  char *vm_file;
} World;

static void
world_init (World *w)
{
  w->work = ql_test_make_tmpdir ();
  w->runtime = ql_test_make_runtime_dir (w->work, "rt");
}

static void
world_clear (World *w)
{
  g_unsetenv ("XDG_RUNTIME_DIR");
  ql_test_rm_rf (w->work);
  g_free (w->work);
  g_free (w->runtime);
  g_free (w->vm_file);
}

/* Live swtpm processes whose command line holds @needle (this test's
 * scratch directory: other users of the machine are not counted). */
static GArray *
swtpm_with (const char *needle)
{
  const char *needles[] = { "swtpm socket", needle, NULL };

  return ql_test_find_processes_all (needles);
}

static void
assert_no_swtpm (World *w)
{
  g_autoptr(GArray) left = swtpm_with (w->work);

  g_assert_cmpuint (left->len, ==, 0);
}

/* Writes NAME.vm (QEMU stops at start, -S) with @machine and @device into
 * the world and loads it with host checks. */
static QlVmConfig *
vm_new (World      *w,
        const char *name,
        const char *machine,
        const char *device)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *file = g_strconcat (name, ".vm", NULL);
  g_autofree char *text = g_strdup_printf ("[vm]\nname=%s\n"
                                           "[machine]\ntype=%s\nacceleration=tcg\n"
                                           "[memory]\nsize=128M\n"
                                           "[knobs]\nno-defaults=true\nno-user-config=true\nno-graphic=true\nstopped=true\n"
                                           "[qmp q]\ntype=unix\npath=qmp.sock\nserver=true\nno-wait=true\n"
                                           "[device tpm0]\ntype=tpm\n%s",
                                           name, machine, device);
  QlVmConfig *vm;

  g_free (w->vm_file);
  w->vm_file = g_build_filename (w->work, file, NULL);
  g_assert_true (g_file_set_contents (w->vm_file, text, -1, &error));
  vm = ql_vm_config_new_from_file (w->vm_file, registry, &error);
  g_assert_no_error (error);
  g_assert_nonnull (vm);
  return vm;
}

static QlVm *
vm_launcher_new (QlVmConfig *config)
{
  QlVm *vm = ql_vm_new (config);

  ql_vm_set_die_with_parent (vm, TRUE);
  return vm;
}

/* query-tpm: the model and the backend type of the VM's only TPM. */
static void
assert_query_tpm (QlVm       *vm,
                  const char *model,
                  const char *type)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = NULL;
  JsonArray *tpms;
  JsonObject *tpm;

  g_assert_true (ql_vm_connect_qmp (vm, 10000, NULL, &error));
  g_assert_no_error (error);
  reply = ql_qmp_execute (ql_vm_get_qmp (vm), "query-tpm", NULL, NULL, &error);
  g_assert_no_error (error);
  tpms = json_node_get_array (reply);
  g_assert_cmpuint (json_array_get_length (tpms), ==, 1);
  tpm = json_array_get_object_element (tpms, 0);
  g_assert_cmpstr (json_object_get_string_member (tpm, "id"), ==, "tpm0");
  g_assert_cmpstr (json_object_get_string_member (tpm, "model"), ==, model);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (tpm, "options"), "type"), ==, type);
}

/* Runs the VM of @config until QEMU answers query-tpm, then stops it. */
static void
run_once (World      *w,
          QlVmConfig *config,
          const char *model)
{
  g_autoptr(QlVm) vm = vm_launcher_new (config);
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) helpers = NULL;
  GPid qemu;

  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_no_error (error);
  qemu = ql_vm_get_pid (vm);
  helpers = swtpm_with (w->work);
  g_assert_cmpuint (helpers->len, ==, 1);
  assert_query_tpm (vm, model, "emulator");
  /* QEMU 7.2 took the argv without a word. */
  g_assert_cmpstr (ql_vm_get_stderr (vm), ==, "");

  ql_vm_stop (vm);
  g_assert_true (ql_vm_wait (vm, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (ql_test_pid_alive (qemu));
  g_assert_false (ql_test_pid_alive (g_array_index (helpers, GPid, 0)));
  assert_no_swtpm (w);
}

static void
assert_private_dir (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_true (S_ISDIR (st.st_mode));
  g_assert_cmpuint (st.st_mode & 07777, ==, 0700);
  g_assert_cmpuint (st.st_uid, ==, geteuid ());
}

static gboolean
have_swtpm (void)
{
  g_autofree char *swtpm = g_find_program_in_path ("swtpm");

  if (swtpm == NULL)
    g_test_skip ("no swtpm in PATH (Debian: swtpm)");
  return swtpm != NULL;
}

static void
test_emulator_crb (void)
{
  World w = { 0 };
  g_autoptr(QlVmConfig) config = NULL;
  g_autofree char *state = NULL, *permall = NULL;
  g_autofree char *first = NULL, *second = NULL;
  gsize first_len = 0;

  if (!have_swtpm ())
    return;
  world_init (&w);
  config = vm_new (&w, "tpmq", "q35", "");
  state = g_build_filename (w.work, "tpmq.tpm", NULL);
  permall = g_build_filename (state, "tpm2-00.permall", NULL);
  g_assert_false (g_file_test (state, G_FILE_TEST_EXISTS));

  run_once (&w, config, "tpm-crb");
  assert_private_dir (state);
  /* swtpm's state, kept after the VM stopped. */
  g_assert_true (g_file_get_contents (permall, &first, &first_len, NULL));
  g_assert_cmpuint (first_len, >, 0);
  {
    GStatBuf st;

    g_assert_cmpint (g_stat (permall, &st), ==, 0);
    g_assert_cmpuint (st.st_mode & 0077, ==, 0);
  }

  /* A second run takes the same directory as it is. */
  run_once (&w, config, "tpm-crb");
  assert_private_dir (state);
  g_assert_true (g_file_get_contents (permall, &second, NULL, NULL));
  g_assert_cmpuint (strlen (second) + 1, >, 0);
  world_clear (&w);
}

static void
test_emulator_tis_pc (void)
{
  World w = { 0 };
  g_autoptr(QlVmConfig) config = NULL;
  g_autofree char *state = NULL;

  if (!have_swtpm ())
    return;
  world_init (&w);
  config = vm_new (&w, "tpmpc", "pc", "state-dir=states/tpmpc\n");
  state = g_build_filename (w.work, "states", "tpmpc", NULL);
  run_once (&w, config, "tpm-tis");
  assert_private_dir (state);
  world_clear (&w);
}

/* A VM whose state directory is @mode (and, unless -1, owned by @uid) is
 * refused with a message holding @fragment, nothing runs, and the
 * directory is left as it was: by the host check of the configuration,
 * naming device and key, and, with host checks off (as the launcher sees
 * a directory changed after the check), by the launcher before swtpm
 * starts, naming device and directory. */
static void
assert_state_dir_refused (guint       mode,
                          int         uid,
                          const char *fragment)
{
  for (guint host_checks = 0; host_checks < 2; host_checks++)
    {
      World w = { 0 };
      g_autoptr(QlVmConfig) config = NULL;
      g_autoptr(QlVm) vm = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *state = NULL, *prefix = NULL;
      GStatBuf st;

      world_init (&w);
      config = vm_new (&w, "refused", "q35", "");
      if (!host_checks)
        ql_vm_config_set_host_probe (config, NULL);
      state = g_build_filename (w.work, "refused.tpm", NULL);
      g_assert_cmpint (g_mkdir (state, 0700), ==, 0);
      g_assert_cmpint (g_chmod (state, mode), ==, 0);
      if (uid >= 0)
        g_assert_cmpint (chown (state, (uid_t) uid, (gid_t) -1), ==, 0);

      vm = vm_launcher_new (config);
      g_assert_false (ql_vm_launch (vm, NULL, &error));
      g_test_message ("%s", error->message);
      if (host_checks)
        {
          g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST);
          prefix = g_strdup_printf ("device 'tpm0': property 'state-dir': '%s' ", state);
          g_assert_nonnull (strstr (error->message, prefix));
        }
      else
        {
          g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER);
          prefix = g_strdup_printf ("device 'tpm0': helper swtpm cannot start: its state directory '%s' ", state);
          g_assert_true (g_str_has_prefix (error->message, prefix));
        }
      g_assert_nonnull (strstr (error->message, fragment));
      g_assert_cmpint (ql_vm_get_pid (vm), <=, 0);
      assert_no_swtpm (&w);
      g_assert_cmpint (g_stat (state, &st), ==, 0);
      g_assert_cmpuint (st.st_mode & 07777, ==, mode);
      world_clear (&w);
    }
}

static void
test_state_dir_group_writable (void)
{
  if (!have_swtpm ())
    return;
  assert_state_dir_refused (0770, -1, "is writable by its group (mode 0770)");
}

static void
test_state_dir_world_writable (void)
{
  if (!have_swtpm ())
    return;
  assert_state_dir_refused (0707, -1, "is writable by others (mode 0707)");
}

static void
test_state_dir_other_owner (void)
{
  if (!have_swtpm ())
    return;
  if (geteuid () != 0)
    {
      g_test_skip ("giving a directory to another user needs root");
      return;
    }
  assert_state_dir_refused (0700, 65534, "belongs to uid 65534, not to uid 0 that qlaunch runs as");
}

static void
test_state_dir_not_directory (void)
{
  World w = { 0 };
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *state = NULL;

  if (!have_swtpm ())
    return;
  world_init (&w);
  config = vm_new (&w, "file", "q35", "");
  state = g_build_filename (w.work, "file.tpm", NULL);
  g_assert_true (g_file_set_contents (state, "not a directory", -1, NULL));
  vm = vm_launcher_new (config);
  g_assert_false (ql_vm_launch (vm, NULL, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "device 'tpm0': property 'state-dir': '"));
  g_assert_nonnull (strstr (error->message, "file.tpm' exists and is not a directory"));
  assert_no_swtpm (&w);
  world_clear (&w);
}

/* A second VM on the state directory of a running one: refused by the
 * host check, naming the swtpm that holds it; the first runs on. */
static void
test_state_dir_in_use (void)
{
  World w = { 0 };
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVmConfig) config2 = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(QlVm) vm2 = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) helpers = NULL;
  g_autofree char *state = NULL, *device = NULL, *expected = NULL;

  if (!have_swtpm ())
    return;
  world_init (&w);
  config = vm_new (&w, "first", "q35", "");
  state = g_build_filename (w.work, "first.tpm", NULL);
  vm = vm_launcher_new (config);
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_no_error (error);
  assert_query_tpm (vm, "tpm-crb", "emulator");
  helpers = swtpm_with (w.work);
  g_assert_cmpuint (helpers->len, ==, 1);

  device = g_strdup_printf ("state-dir=%s\n", state);
  config2 = vm_new (&w, "second", "q35", device);
  vm2 = vm_launcher_new (config2);
  g_assert_false (ql_vm_launch (vm2, NULL, &error));
  g_assert_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST);
  g_test_message ("%s", error->message);
  expected = g_strdup_printf ("device 'tpm0': property 'state-dir': '%s' is in use by another swtpm (pid %d)",
                              state, (int) g_array_index (helpers, GPid, 0));
  g_assert_nonnull (strstr (error->message, expected));
  g_clear_error (&error);
  /* Still one swtpm: the first VM's. */
  {
    g_autoptr(GArray) now = swtpm_with (w.work);

    g_assert_cmpuint (now->len, ==, 1);
  }
  ql_vm_stop (vm);
  g_assert_true (ql_vm_wait (vm, NULL, &error));
  g_assert_no_error (error);
  assert_no_swtpm (&w);
  world_clear (&w);
}

static void
test_swtpm_killed (void)
{
  World w = { 0 };
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) helpers = NULL;
  GPid qemu, swtpm;

  if (!have_swtpm ())
    return;
  world_init (&w);
  config = vm_new (&w, "killed", "q35", "");
  vm = vm_launcher_new (config);
  ql_vm_set_grace_period (vm, 2000);
  g_assert_true (ql_vm_launch (vm, NULL, &error));
  g_assert_no_error (error);
  qemu = ql_vm_get_pid (vm);
  assert_query_tpm (vm, "tpm-crb", "emulator");
  helpers = swtpm_with (w.work);
  g_assert_cmpuint (helpers->len, ==, 1);
  swtpm = g_array_index (helpers, GPid, 0);
  g_assert_cmpint (kill (swtpm, SIGKILL), ==, 0);

  g_assert_false (ql_vm_wait (vm, NULL, &error));
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "device 'tpm0': helper swtpm (pid "));
  g_assert_nonnull (strstr (error->message, "was killed by signal 9"));
  g_assert_nonnull (strstr (error->message, "while the VM ran"));
  g_assert_nonnull (strstr (error->message, "QEMU was stopped"));
  g_assert_cmpint (ql_vm_get_state (vm), ==, QL_VM_STATE_FAILED);
  g_assert_false (ql_test_pid_alive (qemu));
  assert_no_swtpm (&w);
  world_clear (&w);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  registry = ql_test_registry_new ();

  g_test_add_func ("/tpm-qemu/emulator-crb", test_emulator_crb);
  g_test_add_func ("/tpm-qemu/emulator-tis-pc", test_emulator_tis_pc);
  g_test_add_func ("/tpm-qemu/state-dir-group-writable", test_state_dir_group_writable);
  g_test_add_func ("/tpm-qemu/state-dir-world-writable", test_state_dir_world_writable);
  g_test_add_func ("/tpm-qemu/state-dir-other-owner", test_state_dir_other_owner);
  g_test_add_func ("/tpm-qemu/state-dir-not-directory", test_state_dir_not_directory);
  g_test_add_func ("/tpm-qemu/state-dir-in-use", test_state_dir_in_use);
  g_test_add_func ("/tpm-qemu/swtpm-killed", test_swtpm_killed);
  ret = g_test_run ();
  g_clear_object (&registry);
  return ret;
}
