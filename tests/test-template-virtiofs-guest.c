/* Suite guest: a template with a virtio-fs share, and its clones.
 *
 * The template is the test guest at its shell (qltest=shell), machine pc,
 * TCG, 256 MiB, with one share ([device share0] type = virtio-fs, tag
 * tplshare); made once with `qlaunch template create --ready-pattern
 * QLTEST-SHELL`.
 *
 * /template-virtiofs-guest/clones: the manifest records the share (id,
 *   type, path, tag) and the VM text the template keeps has no virtio-fs
 *   device. Two clones run at once, one through `qlaunch template clone`,
 *   one through the library (ql_template_clone_async()); in each:
 *   - the guest mounts the share by its tag (it appears on the hot-plug
 *     event after the clone resumed), reads the host's file and writes one
 *     of its own, which the host reads;
 *   - it has a virtiofsd of its own: exactly one per clone whose parent is
 *     the clone's launcher (the qlaunch process, or this test process),
 *     serving the clone's socket, the two pids differ; `template clone`
 *     names the share and the helper's pid on stderr;
 *   - its QEMU shows `Seccomp: 2` in /proc/PID/status;
 *   - it runs on its own copy of the template's memory (memory-backend-file
 *     share=on in its runtime directory), never the template's file.
 *   After both power off: no virtiofsd of the share and no QEMU of the
 *   template are left, and the runtime directories' base is empty (no
 *   socket, no memory copy, no clone directory); the template's memory,
 *   state and manifest are unchanged (sha256).
 * /template-virtiofs-guest/bad-share: `template clone` exits 1 before QEMU
 *   starts when the shared directory is gone (naming the share and the
 *   path) and when the manifest's share is tampered with (a relative path,
 *   a cache mode the plugin does not know, a type other than virtio-fs):
 *   "corrupt", naming the share. A -d virtio-fs device with the share's
 *   tag is refused. No QEMU or virtiofsd is started.
 * /template-virtiofs-guest/helper-killed: the virtiofsd of a running
 *   clone is killed (SIGKILL): `template clone` stops QEMU and fails,
 *   naming the share and the helper; nothing is left.
 * /template-virtiofs-guest/q35-paused: a template of the guest on q35
 *   whose VM file reserves no root port: its VM text gets hotplug-slots=1
 *   for the share. A library clone started paused (as a factory's) has the
 *   share and its virtiofsd already; resumed, its guest mounts the share
 *   and reads the host's file; Seccomp: 2; nothing left after it.
 *
 * Every run has its own XDG_RUNTIME_DIR (0700). Skipped when the test guest
 * is not built.
 */
#include "ql-test-pids.h"
#include "ql-test-proc.h"
#include "ql-test-util.h"
#include "ql-test-guest.h"
#include "ql-test-console.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#define CREATE_TIMEOUT_S  180
#define CLONE_TIMEOUT_S   90
#define COMMAND_TIMEOUT_S 60
#define TAG               "tplshare"
#define HOST_MARKER       "QLTPLFS-HOST-3c71"

static char *work_dir;
static char *runtime_base;      /* $XDG_RUNTIME_DIR/qlaunch */
static char *share_dir;
static char *template_dir;
static char *template_q35_dir;

/* ---- files, and what a process maps ------------------------------------ */

/* The entries of the runtime directories' base, for a message. */
static char *
list_entries (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  GString *s = g_string_new (NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    g_string_append_printf (s, "%s ", name);
  return g_string_free (s, FALSE);
}

/* The path of @pid's open file @suffix in its memory maps (the guest RAM
 * file QEMU maps), or NULL. */
static char *
mapped_file (GPid        pid,
             const char *suffix)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/maps", (int) pid);
  g_autofree char *maps = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (path, &maps, NULL, NULL))
    return NULL;
  lines = g_strsplit (maps, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *file = strchr (lines[i], '/');

      if (file != NULL && g_str_has_suffix (file, suffix))
        return g_strdup (file);
    }
  return NULL;
}

/* `qlaunch --plugin-dir $QLAUNCH_BUILD_PLUGIN_DIR ARGS...` to completion. */
static int
run_cli (const char * const *args,
         char              **out,
         char              **err)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, "--plugin-dir");
  g_ptr_array_add (argv, (char *) g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"));
  for (; *args != NULL; args++)
    g_ptr_array_add (argv, (char *) *args);
  g_ptr_array_add (argv, NULL);
  return ql_test_run_cli ((const char * const *) argv->pdata, out, err);
}

/* ---- the template -------------------------------------------------------- */

static void
setup_world (void)
{
  g_autofree char *host_file = NULL;
  g_autofree char *runtime = NULL;

  if (work_dir != NULL)
    return;
  work_dir = ql_test_make_tmpdir ();
  ql_test_proc_guard (work_dir, NULL);
  /* Short paths: unix socket paths hold at most 107 bytes. */
  runtime = ql_test_make_runtime_dir (work_dir, "rt");
  runtime_base = g_build_filename (runtime, "qlaunch", NULL);
  share_dir = g_build_filename (work_dir, "share", NULL);
  g_assert_cmpint (g_mkdir (share_dir, 0755), ==, 0);
  host_file = g_build_filename (share_dir, "hostfile", NULL);
  g_assert_true (g_file_set_contents (host_file, HOST_MARKER "\n", -1, NULL));
}

/* The template of the test guest on @machine with the share, in
 * WORK/@name. */
static char *
make_template_on (const char *machine,
                  const char *name)
{
  const char *guest = ql_test_guest_dir ();
  g_autofree char *vm_path = NULL;
  g_autofree char *vm_name = g_strconcat (name, ".vm", NULL);
  g_autofree char *text = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  char *dir;
  int status;

  setup_world ();
  text = g_strdup_printf ("[vm]\nname = qltplfs\n"
                          "[machine]\ntype = %s\nacceleration = tcg\n"
                          "[memory]\nsize = 256M\n"
                          "[knobs]\nno-user-config = true\nno-graphic = true\n"
                          "[kernel]\npath = %s/vmlinux\ninitrd = %s/initramfs.img\n"
                          "params = " QL_TEST_GUEST_PARAMS " qltest=shell\n"
                          "[device share0]\ntype = virtio-fs\npath = share\ntag = " TAG "\n",
                          machine, guest, guest);
  vm_path = g_build_filename (work_dir, vm_name, NULL);
  g_assert_true (g_file_set_contents (vm_path, text, -1, NULL));
  dir = g_build_filename (work_dir, name, NULL);
  {
    const char *args[] = { "template", "create", "--ready-pattern", "QLTEST-SHELL",
                           "--timeout", G_STRINGIFY (CREATE_TIMEOUT_S), vm_path, dir, NULL };

    status = run_cli (args, &out, &err);
  }
  if (status != 0)
    g_error ("template create (%s) exited %d: %s", machine, status, err);
  return dir;
}

static void
make_template (void)
{
  if (template_dir == NULL)
    template_dir = make_template_on ("pc", "tpl");
}

static JsonObject *
read_manifest (const char  *dir,
               JsonParser **parser)
{
  g_autofree char *path = g_build_filename (dir, "manifest.json", NULL);
  g_autoptr(GError) error = NULL;

  *parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (*parser, path, &error));
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (*parser));
}

/* ---- /template-virtiofs-guest/clones ------------------------------------ */

static void
clone_started (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  GError **error = data;

  if (!ql_template_start_clone_finish (QL_TEMPLATE (source), result, error) && *error == NULL)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "failed without an error");
  else if (*error == NULL)
    *error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_EXISTS, "started");
}

/* Mounts the share (it appears once the hot-plug event is handled), reads
 * the host's file, writes @name. */
static void
use_share (QlTestConsole *c,
           const char    *name)
{
  g_autofree char *command = g_strdup_printf ("mkdir -p /mnt/s && i=0; until mount -t virtiofs " TAG
                                              " /mnt/s 2>/dev/null; do i=$((i+1)); [ $i -lt 200 ] || exit 9; "
                                              "sleep 0.1; done; cat /mnt/s/hostfile && echo %s-wrote > /mnt/s/%s "
                                              "&& sync && umount /mnt/s", name, name);
  g_autofree char *out = ql_test_console_shell_ok (c, command, COMMAND_TIMEOUT_S);
  g_autofree char *host_path = g_build_filename (share_dir, name, NULL);
  g_autofree char *written = NULL;
  g_autofree char *expected = g_strdup_printf ("%s-wrote\n", name);

  g_assert_nonnull (strstr (out, HOST_MARKER));
  g_assert_true (g_file_get_contents (host_path, &written, NULL, NULL));
  g_assert_cmpstr (written, ==, expected);
}

static void
test_clones (void)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlTemplate) tpl = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(QlTestConsole) cli = NULL;
  g_autoptr(QlTestConsole) lib = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) helpers = NULL;
  g_autoptr(GPtrArray) shares = NULL;
  g_autofree char *source = NULL;
  g_autofree char *cli_qemu_map = NULL;
  g_autofree char *lib_qemu_map = NULL;
  g_autofree char *memory = NULL;
  char *sums[3] = { NULL };
  static const char *const files[] = { "memory", "state", "manifest.json" };
  JsonObject *manifest, *share, *properties;
  GPid cli_pid, cli_qemu, lib_qemu, cli_helper, lib_helper;
  gint64 start;

  if (ql_test_skip_without_guest ())
    return;
  make_template ();

  /* The manifest records the share; the VM the template runs has none. */
  manifest = read_manifest (template_dir, &parser);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (manifest, "shares")), ==, 1);
  share = json_array_get_object_element (json_object_get_array_member (manifest, "shares"), 0);
  g_assert_cmpstr (json_object_get_string_member (share, "id"), ==, "share0");
  g_assert_cmpstr (json_object_get_string_member (share, "type"), ==, "virtio-fs");
  properties = json_object_get_object_member (share, "properties");
  g_assert_cmpstr (json_object_get_string_member (properties, "tag"), ==, TAG);
  g_assert_cmpstr (json_object_get_string_member (properties, "path"), ==, share_dir);
  g_assert_null (strstr (json_object_get_string_member (json_object_get_object_member (manifest, "vm"), "text"),
                         "virtio-fs"));
  memory = g_build_filename (template_dir, "memory", NULL);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (template_dir, files[i], NULL);

      sums[i] = ql_test_file_sha256 (path);
    }

  registry = ql_test_registry_new ();
  tpl = ql_template_load (template_dir, registry, &error);
  g_assert_no_error (error);
  shares = ql_template_dup_shares (tpl);
  g_assert_cmpuint (shares->len, ==, 1);
  g_assert_cmpstr (ql_device_get_id (g_ptr_array_index (shares, 0)), ==, "share0");

  /* Both clones at once: the CLI's, and the library's (this process). */
  start = g_get_monotonic_time ();
  {
    const char *args[] = { "template", "clone", "--timeout", G_STRINGIFY (CLONE_TIMEOUT_S), template_dir, NULL };

    cli = ql_test_console_spawn_cli (args);
  }
  vm = ql_template_new_clone (tpl, &error);
  g_assert_no_error (error);
  lib = ql_test_console_for_vm (vm, "library clone");
  {
    GError *started = NULL;

    ql_template_start_clone_async (tpl, vm, QL_TEMPLATE_CLONE_NONE, NULL, CLONE_TIMEOUT_S * 1000, NULL,
                                   clone_started, &started);
    while (started == NULL)
      g_main_context_iteration (NULL, TRUE);
    if (!g_error_matches (started, G_IO_ERROR, G_IO_ERROR_EXISTS))
      g_error ("library clone: %s", started->message);
    g_error_free (started);
  }
  ql_test_console_watch_vm (lib);

  use_share (cli, "from-cli");
  use_share (lib, "from-lib");
  g_test_message ("both clones read and wrote the share %.1f s after the start",
                  (g_get_monotonic_time () - start) / 1e6);

  /* One virtiofsd each, the clone's launcher its parent. */
  source = g_strdup_printf ("source=%s", share_dir);
  helpers = ql_test_find_processes ("virtiofsd", source);
  cli_pid = ql_test_console_get_pid (cli);
  cli_helper = ql_test_only_child_of (helpers, cli_pid, "virtiofsd of the CLI clone");
  lib_helper = ql_test_only_child_of (helpers, getpid (), "virtiofsd of the library clone");
  g_assert_cmpint (cli_helper, !=, lib_helper);
  {
    g_autofree char *said = g_strdup_printf ("virtiofsd of device 'share0' started (pid %d)", (int) cli_helper);

    g_assert_nonnull (strstr (ql_test_console_get_stderr (cli), said));
    g_assert_nonnull (strstr (ql_test_console_get_stderr (cli), "virtio-fs share 'share0' (tag '" TAG "'"));
  }

  /* Each QEMU: under seccomp, on its own shared copy of the memory. */
  {
    /* A clone with shares maps no file of the template's: its memory
     * is a copy in its runtime directory. */
    g_autoptr(GArray) qemus = ql_test_find_processes ("qemu-system-", runtime_base);

    cli_qemu = ql_test_only_child_of (qemus, cli_pid, "QEMU of the CLI clone");
  }
  lib_qemu = ql_vm_get_pid (vm);
  g_assert_cmpint (ql_test_seccomp_mode (cli_qemu), ==, 2);
  g_assert_cmpint (ql_test_seccomp_mode (lib_qemu), ==, 2);
  cli_qemu_map = mapped_file (cli_qemu, "/memory");
  lib_qemu_map = mapped_file (lib_qemu, "/memory");
  g_assert_nonnull (cli_qemu_map);
  g_assert_nonnull (lib_qemu_map);
  g_assert_true (g_str_has_prefix (cli_qemu_map, runtime_base));
  g_assert_true (g_str_has_prefix (lib_qemu_map, runtime_base));
  g_assert_cmpstr (cli_qemu_map, !=, lib_qemu_map);
  g_test_message ("virtiofsd %d and %d; QEMU %d and %d (Seccomp: 2) on %s and %s", (int) cli_helper,
                  (int) lib_helper, (int) cli_qemu, (int) lib_qemu, cli_qemu_map, lib_qemu_map);

  g_assert_cmpint (ql_test_console_poweroff (cli, CLONE_TIMEOUT_S), ==, 0);
  g_assert_cmpint (ql_test_console_poweroff (lib, CLONE_TIMEOUT_S), ==, 0);

  /* Nothing of either clone is left. */
  g_assert_true (ql_test_wait_processes_gone ("virtiofsd", source, 2000));
  g_assert_true (ql_test_wait_processes_gone ("qemu-system-", runtime_base, 2000));
  g_assert_false (ql_test_pid_alive (cli_helper));
  g_assert_false (ql_test_pid_alive (lib_helper));
  {
    g_autofree char *left = list_entries (runtime_base);

    if (ql_test_count_entries (runtime_base) != 0)
      g_error ("left in %s: %s", runtime_base, left);
  }
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (template_dir, files[i], NULL);
      g_autofree char *now = ql_test_file_sha256 (path);

      g_assert_cmpstr (now, ==, sums[i]);
      g_free (sums[i]);
    }
}

/* ---- /template-virtiofs-guest/bad-share ---------------------------------- */

/* `template clone` refuses, saying @expected, and starts nothing. */
static void
assert_clone_refused_with (const char *device,
                           const char *expected,
                           const char *expected2)
{
  const char *plain[] = { "template", "clone", template_dir, NULL };
  const char *with_device[] = { "template", "clone", "-d", device, template_dir, NULL };
  const char *const *args = device != NULL ? with_device : plain;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = run_cli (args, &out, &err);

  g_assert_cmpint (status, ==, 1);
  if (strstr (err, expected) == NULL || strstr (err, expected2) == NULL)
    g_error ("expected '%s' and '%s' in: %s", expected, expected2, err);
  g_assert_true (ql_test_wait_processes_gone ("qemu-system-", runtime_base, 1000));
  g_assert_true (ql_test_wait_processes_gone ("virtiofsd", share_dir, 1000));
}

static void
assert_clone_refused (const char *expected,
                      const char *expected2)
{
  assert_clone_refused_with (NULL, expected, expected2);
}

/* Writes the manifest with share 0's @member in @object set to @value
 * (the file is read-only: made writable, then put back). */
static void
tamper (const char *object,
        const char *member,
        const char *value,
        const char *original)
{
  g_autofree char *path = g_build_filename (template_dir, "manifest.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *share;

  if (original != NULL)
    g_assert_true (g_file_set_contents (path, original, -1, &error));
  else
    {
      g_assert_true (json_parser_load_from_file (parser, path, &error));
      share = json_array_get_object_element (json_object_get_array_member (
                json_node_get_object (json_parser_get_root (parser)), "shares"), 0);
      if (object != NULL)
        share = json_object_get_object_member (share, object);
      json_object_set_string_member (share, member, value);
      json_generator_set_root (gen, json_parser_get_root (parser));
      g_assert_true (json_generator_to_file (gen, path, &error));
    }
  g_assert_no_error (error);
  g_chmod (path, 0444);
}

static void
test_bad_share (void)
{
  g_autofree char *manifest_path = NULL;
  g_autofree char *original = NULL;
  g_autofree char *moved = NULL;

  if (ql_test_skip_without_guest ())
    return;
  make_template ();
  manifest_path = g_build_filename (template_dir, "manifest.json", NULL);
  g_assert_true (g_file_get_contents (manifest_path, &original, NULL, NULL));

  /* The shared directory is gone. */
  moved = g_strconcat (share_dir, ".away", NULL);
  g_assert_cmpint (g_rename (share_dir, moved), ==, 0);
  assert_clone_refused ("share 'share0'", share_dir);
  g_assert_cmpint (g_rename (moved, share_dir), ==, 0);

  tamper ("properties", "path", "share", NULL);
  assert_clone_refused ("corrupt", "'share0' property 'path': 'share' is not an absolute path");
  tamper (NULL, NULL, NULL, original);
  tamper ("properties", "cache", "sometimes", NULL);
  assert_clone_refused ("corrupt", "'share0'");
  tamper (NULL, NULL, NULL, original);
  tamper (NULL, "type", "block", NULL);
  assert_clone_refused ("corrupt", "only virtio-fs shares");
  tamper (NULL, NULL, NULL, original);

  /* A -d share is checked against the clone with its shares. */
  {
    g_autofree char *spec = g_strdup_printf ("virtio-fs,id=extra,path=%s,tag=" TAG, share_dir);

    assert_clone_refused_with (spec, "'" TAG "' is the tag of device 'share0'", "extra");
  }
}

/* ---- /template-virtiofs-guest/helper-killed ------------------------------ */

static void
test_helper_killed (void)
{
  const char *args[] = { "template", "clone", "--timeout", G_STRINGIFY (CLONE_TIMEOUT_S), NULL, NULL };
  g_autoptr(QlTestConsole) cli = NULL;
  g_autoptr(GArray) helpers = NULL;
  g_autoptr(GArray) qemus = NULL;
  g_autofree char *source = NULL;
  g_autofree char *out = NULL;
  GPid helper, qemu;

  if (ql_test_skip_without_guest ())
    return;
  make_template ();
  args[4] = template_dir;
  cli = ql_test_console_spawn_cli (args);
  out = ql_test_console_shell_ok (cli, "echo up", COMMAND_TIMEOUT_S);
  source = g_strdup_printf ("source=%s", share_dir);
  helpers = ql_test_find_processes ("virtiofsd", source);
  helper = ql_test_only_child_of (helpers, ql_test_console_get_pid (cli), "virtiofsd of the clone");
  qemus = ql_test_find_processes ("qemu-system-", runtime_base);
  qemu = ql_test_only_child_of (qemus, ql_test_console_get_pid (cli), "QEMU of the clone");

  /* The clone cannot work without it: QEMU is stopped, the clone fails
   * naming the share and the helper. */
  g_assert_cmpint (kill (helper, SIGKILL), ==, 0);
  g_assert_cmpint (ql_test_console_wait (cli, 30), !=, 0);
  g_assert_false (ql_test_pid_alive (qemu));
  if (strstr (ql_test_console_get_stderr (cli), "device 'share0': helper virtiofsd") == NULL
      || strstr (ql_test_console_get_stderr (cli), "was killed by signal 9") == NULL)
    g_error ("no word of the helper's death: %s", ql_test_console_get_stderr (cli));
  g_assert_true (ql_test_wait_processes_gone ("virtiofsd", source, 2000));
  g_assert_cmpuint (ql_test_count_entries (runtime_base), ==, 0);
}

/* ---- /template-virtiofs-guest/q35-paused -------------------------------- */

static void
test_q35_paused (void)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlTemplate) tpl = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(QlTestConsole) lib = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) helpers = NULL;
  g_autofree char *source = NULL;
  JsonObject *manifest;
  const char *text;

  if (ql_test_skip_without_guest ())
    return;
  if (template_q35_dir == NULL)
    template_q35_dir = make_template_on ("q35", "tpl-q35");

  /* The VM file reserves no root port: the template has one for the
   * share. */
  manifest = read_manifest (template_q35_dir, &parser);
  text = json_object_get_string_member (json_object_get_object_member (manifest, "vm"), "text");
  g_assert_nonnull (strstr (text, "hotplug-slots=1"));
  g_assert_null (strstr (text, "virtio-fs"));

  /* Paused, as the factory's clones: the share is plugged already, and
   * the guest sees it when it runs. */
  registry = ql_test_registry_new ();
  tpl = ql_template_load (template_q35_dir, registry, &error);
  g_assert_no_error (error);
  vm = ql_template_new_clone (tpl, &error);
  g_assert_no_error (error);
  lib = ql_test_console_for_vm (vm, "paused q35 clone");
  g_assert_true (ql_template_start_clone (tpl, vm, QL_TEMPLATE_CLONE_PAUSED, NULL, CLONE_TIMEOUT_S * 1000,
                                          NULL, &error));
  g_assert_no_error (error);
  ql_test_console_watch_vm (lib);
  {
    g_autofree char *status = NULL;
    gboolean running = TRUE;

    g_assert_true (ql_qmp_query_status (ql_vm_get_qmp (vm), &status, &running, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (status, ==, "paused");
    g_assert_false (running);
  }
  source = g_strdup_printf ("source=%s", share_dir);
  helpers = ql_test_find_processes ("virtiofsd", source);
  (void) ql_test_only_child_of (helpers, getpid (), "virtiofsd of the paused clone");
  g_assert_true (ql_vm_resume (vm, NULL, &error));
  g_assert_no_error (error);
  use_share (lib, "from-q35");
  g_assert_cmpint (ql_test_seccomp_mode (ql_vm_get_pid (vm)), ==, 2);
  g_assert_cmpint (ql_test_console_poweroff (lib, CLONE_TIMEOUT_S), ==, 0);
  g_assert_true (ql_test_wait_processes_gone ("virtiofsd", source, 2000));
  g_assert_cmpuint (ql_test_count_entries (runtime_base), ==, 0);
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/template-virtiofs-guest/clones", test_clones);
  g_test_add_func ("/template-virtiofs-guest/bad-share", test_bad_share);
  g_test_add_func ("/template-virtiofs-guest/helper-killed", test_helper_killed);
  g_test_add_func ("/template-virtiofs-guest/q35-paused", test_q35_paused);
  status = g_test_run ();
  if (work_dir != NULL)
    ql_test_rm_rf (work_dir);
  return status;
}
