/* Suite guest: writable disks of VM templates (copy-on-write overlays),
 * through `qlaunch template create|clone`, `qlaunch run` and the library,
 * on the test guest.
 *
 * One template, made by the first case: the test guest at its shell
 * (qltest=shell, machine pc, TCG, 256 MiB) with a writable raw disk
 * `disk0` (8 MiB, random bytes); before its first prompt the guest writes
 * a random mark at 1 MiB of /dev/vda and syncs (qltest.mark), so the
 * template's overlay holds what the template's guest wrote.
 *
 * /template-disks-guest/create: DIR/disk-disk0.qcow2 is read-only; the
 *   manifest (format 2) records the base's real path, format, size, mtime
 *   and first-MiB hash; the base image is unchanged (sha256).
 * /template-disks-guest/two-clones: two CLI clones at once, each under
 *   `Seccomp: 2` with the default sandbox (spawn=deny) and its own
 *   overlay (mode 0600, in its runtime directory, over the template's),
 *   read the template's mark at 1 MiB, write different random bytes at
 *   2 MiB, sync, drop the guest's page cache and read back their own
 *   bytes; after they power off no QEMU, overlay or runtime directory is
 *   left, and the base image and the template's overlay have the sha256
 *   they had before.
 * /template-disks-guest/keep-disks: `template clone --keep-disks KEEP`
 *   writes its bytes and powers off; the kept overlay (printed on stderr,
 *   mode 0600) boots with `qlaunch run` and a VM file naming it, and
 *   holds the clone's bytes and the template's mark.
 * /template-disks-guest/factory: a QlVmFactory (pool 2) hands out two
 *   VMs, each under `Seccomp: 2` with its own overlay
 *   (ql_template_get_clone_disk()), each writing and reading back its own
 *   bytes; the overlays go with the VMs. Also reports what
 *   ql_template_new_clone() (checks and overlay, no QEMU) costs.
 * /template-disks-guest/drift: a base image whose mtime changed, one
 *   whose first MiB changed (size and mtime restored), and a template
 *   copy whose overlay's mtime changed, one whose manifest names another
 *   base than its overlay's header (the manifest is not trusted), and one
 *   whose overlay is deleted: `template clone --keep-disks` exits 1
 *   with an error naming disk0, no QEMU ever starts, no overlay is left
 *   (neither kept nor in a runtime directory).
 *
 * Skipped when the test guest is not built.
 */
#include "ql-test-pids.h"
#include "ql-test-proc.h"
#include "ql-test-util.h"
#include "ql-test-guest.h"
#include "ql-test-console.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#define CREATE_TIMEOUT_S  120
#define CLONE_TIMEOUT_S   60
#define COMMAND_TIMEOUT_S 30
#define SHELL_PROMPT      "QLTEST-SHELL"
#define DISK_SIZE         (8 * 1024 * 1024)
#define MARK_OFFSET       1048576
#define WRITE_OFFSET      2097152

static char *work_dir;          /* VM files, base image, template */
static char *template_dir;      /* work_dir/tpl */
static char *base_path;         /* work_dir/base.raw */
static char *run_dir;           /* XDG_RUNTIME_DIR of this test: clone-* dirs */
static char *template_mark;     /* what the template's guest wrote at 1 MiB */
static char *base_sha;          /* the base image's sha256 before anything */

/* The test guest's VM file: shell, kernel params + @params, disk0 on
 * @disk (@format). */
static char *
vm_text (const char *params,
         const char *disk,
         const char *format)
{
  const char *guest = ql_test_guest_dir ();
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *kernel = g_build_filename (guest, "vmlinux", NULL);
  g_autofree char *initrd = g_build_filename (guest, "initramfs.img", NULL);
  g_autofree char *cmdline = g_strdup_printf (QL_TEST_GUEST_PARAMS " qltest=shell%s%s",
                                              params != NULL ? " " : "", params != NULL ? params : "");

  g_key_file_set_string (kf, "vm", "name", "qltpldisk");
  g_key_file_set_string (kf, "machine", "type", "pc");
  g_key_file_set_string (kf, "machine", "acceleration", "tcg");
  g_key_file_set_string (kf, "memory", "size", "256M");
  g_key_file_set_string (kf, "knobs", "no-user-config", "true");
  g_key_file_set_string (kf, "knobs", "no-graphic", "true");
  g_key_file_set_string (kf, "kernel", "path", kernel);
  g_key_file_set_string (kf, "kernel", "initrd", initrd);
  g_key_file_set_string (kf, "kernel", "params", cmdline);
  g_key_file_set_string (kf, "device disk0", "type", "block");
  g_key_file_set_string (kf, "device disk0", "file", disk);
  g_key_file_set_string (kf, "device disk0", "format", format);
  return g_key_file_to_data (kf, NULL, NULL);
}

/* ---- files ------------------------------------------------------------- */

/* 16 random hex digits after @prefix. */
static char *
random_text (const char *prefix)
{
  return g_strdup_printf ("%s%08x%08x", prefix, g_random_int (), g_random_int ());
}

/* @len bytes of the guest's /dev/vda at @offset. */
static char *
guest_read (QlTestConsole *c,
            guint          offset,
            guint          len)
{
  g_autofree char *cmd = g_strdup_printf ("dd if=/dev/vda bs=1 skip=%u count=%u 2>/dev/null", offset, len);

  return ql_test_console_shell_ok (c, cmd, COMMAND_TIMEOUT_S);
}

/* Writes @text at @offset of the guest's /dev/vda, syncs and drops the
 * guest's page cache: what is read next comes from the disk. */
static void
guest_write (QlTestConsole *c,
             guint          offset,
             const char    *text)
{
  g_autofree char *cmd = g_strdup_printf ("printf %%s %s | dd of=/dev/vda bs=1 seek=%u conv=notrunc 2>/dev/null "
                                          "&& sync && echo 3 > /proc/sys/vm/drop_caches", text, offset);
  g_autofree char *out = ql_test_console_shell_ok (c, cmd, COMMAND_TIMEOUT_S);
}

/* The value of "file=" of the -drive on @pid's command line. */
static char *
drive_file_of (int pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/cmdline", pid);
  g_autofree char *cmdline = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &cmdline, &len, NULL));
  for (gsize at = 0; at < len; at += strlen (cmdline + at) + 1)
    {
      const char *file = strstr (cmdline + at, "file=");
      const char *end;

      if (!g_str_has_prefix (cmdline + at, "id=disk0,") || file == NULL)
        continue;
      file += strlen ("file=");
      end = strchr (file, ',');
      return end != NULL ? g_strndup (file, end - file) : g_strdup (file);
    }
  g_error ("no -drive id=disk0 on the command line of QEMU %d", pid);
}

/* `qemu-img info -U --output=json PATH`'s backing file. */
static char *
backing_of (const char *path)
{
  const char *argv[] = { "qemu-img", "info", "-U", "--output=json", path, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  int status = -1;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, &error))
    g_error ("qemu-img: %s", error->message);
  if (status != 0)
    g_error ("qemu-img info %s: %s", path, err);
  g_assert_true (json_parser_load_from_data (parser, out, -1, NULL));
  return g_strdup (json_object_get_string_member_with_default (json_node_get_object (json_parser_get_root (parser)),
                                                               "backing-filename", ""));
}

static guint
file_mode (const char *path)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    g_error ("stat %s: %s", path, g_strerror (errno));
  return st.st_mode & 07777;
}

/* The clone-* runtime directories left under this test's runtime base. */
static guint
count_clone_dirs (void)
{
  g_autofree char *base = g_build_filename (run_dir, "qlaunch", NULL);
  g_autoptr(GDir) d = g_dir_open (base, 0, NULL);
  const char *name;
  guint n = 0;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, "clone-"))
      n++;
  return n;
}

static char *
template_overlay (const char *dir)
{
  return g_build_filename (dir, "disk-disk0.qcow2", NULL);
}

/* `qlaunch template clone [--keep-disks KEEP] DIR` (console on pipes). */
static QlTestConsole *
template_clone (const char *dir,
                const char *keep)
{
  g_autofree char *timeout = g_strdup_printf ("%d", CLONE_TIMEOUT_S);
  const char *plain[] = { "template", "clone", "--timeout", timeout, dir, NULL };
  const char *kept[] = { "template", "clone", "--timeout", timeout, "--keep-disks", keep, dir, NULL };

  return ql_test_console_spawn_cli (keep != NULL ? kept : plain);
}

/* `qlaunch template create --ready-pattern QLTEST-SHELL` of the test
 * guest over base_path (writable, or read-only) into work_dir/NAME; @mark
 * (nullable): what the guest writes at 1 MiB first. Returns DIR. */
static char *
make_template (const char *name,
               gboolean    writable,
               const char *mark)
{
  g_autofree char *text = NULL;
  g_autofree char *params = NULL;
  g_autofree char *vm_name = g_strconcat (name, ".vm", NULL);
  g_autofree char *vm_file = NULL;
  g_autofree char *timeout = g_strdup_printf ("%d", CREATE_TIMEOUT_S - 10);
  g_autoptr(QlTestConsole) c = NULL;
  char *dir = g_build_filename (work_dir, name, NULL);
  gint64 start;
  int status;

  if (mark != NULL)
    params = g_strdup_printf ("qltest.dev=vda qltest.mark=%s qltest.seek=%d", mark, MARK_OFFSET);
  text = vm_text (params, base_path, "raw");
  if (!writable)
    {
      g_autofree char *ro = g_strconcat (text, "read-only = true\n", NULL);

      /* The disk's group is the last one. */
      g_assert_true (g_str_has_suffix (text, "format=raw\n"));
      g_free (text);
      text = g_steal_pointer (&ro);
    }
  vm_file = ql_test_write_file (work_dir, vm_name, text);
  {
    const char *args[] = { "template", "create", "--timeout", timeout, "--ready-pattern", SHELL_PROMPT,
                           vm_file, dir, NULL };

    start = g_get_monotonic_time ();
    c = ql_test_console_spawn_cli (args);
  }
  ql_test_console_close_input (c);
  status = ql_test_console_wait (c, CREATE_TIMEOUT_S);
  if (status != 0)
    g_error ("qlaunch template create exited with %d:\n%s", status, ql_test_console_get_stderr (c));
  g_test_message ("template create: %.2f s", (g_get_monotonic_time () - start) / 1e6);
  return dir;
}

/* The base image (8 MiB of random bytes). */
static void
ensure_base (void)
{
  g_autofree guint32 *bytes = NULL;
  g_autoptr(GError) error = NULL;

  if (base_path != NULL)
    return;
  bytes = g_new (guint32, DISK_SIZE / 4);
  for (guint i = 0; i < DISK_SIZE / 4; i++)
    bytes[i] = g_random_int ();
  base_path = g_build_filename (work_dir, "base.raw", NULL);
  g_assert_true (g_file_set_contents (base_path, (const char *) bytes, DISK_SIZE, &error));
  g_assert_no_error (error);
  base_sha = ql_test_file_sha256 (base_path);
}

/* The template of every case: made once. */
static void
ensure_template (void)
{
  if (template_dir != NULL)
    return;
  ensure_base ();
  template_mark = random_text ("TPLMARK");
  template_dir = make_template ("tpl", TRUE, template_mark);
}

/* ---- cases ------------------------------------------------------------- */

static void
test_create (void)
{
  g_autofree char *overlay = NULL;
  g_autofree char *backing = NULL;
  g_autofree char *manifest_path = NULL;
  g_autofree char *log_path = NULL;
  g_autofree char *log = NULL;
  g_autofree char *real_base = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *manifest, *disk, *base;
  JsonArray *disks;

  if (ql_test_skip_without_guest ())
    return;
  ensure_template ();

  log_path = g_build_filename (template_dir, "console.log", NULL);
  g_assert_true (g_file_get_contents (log_path, &log, NULL, NULL));
  g_assert_nonnull (strstr (log, "QLTEST-MARKED vda"));
  overlay = template_overlay (template_dir);
  g_assert_cmphex (file_mode (overlay), ==, 0444);
  backing = backing_of (overlay);
  g_assert_cmpstr (backing, ==, base_path);

  manifest_path = g_build_filename (template_dir, "manifest.json", NULL);
  g_assert_true (json_parser_load_from_file (parser, manifest_path, &error));
  g_assert_no_error (error);
  manifest = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (manifest, "format"), ==, 2);
  disks = json_object_get_array_member (manifest, "disks");
  g_assert_cmpuint (json_array_get_length (disks), ==, 1);
  disk = json_array_get_object_element (disks, 0);
  g_assert_cmpstr (json_object_get_string_member (disk, "id"), ==, "disk0");
  g_assert_cmpstr (json_object_get_string_member (disk, "file"), ==, "disk-disk0.qcow2");
  g_assert_cmpint (json_object_get_int_member (disk, "size"), ==, DISK_SIZE);
  base = json_object_get_object_member (disk, "base");
  real_base = realpath (base_path, NULL);
  g_assert_cmpstr (json_object_get_string_member (base, "path"), ==, real_base);
  g_assert_cmpstr (json_object_get_string_member (base, "format"), ==, "raw");
  g_assert_cmpint (json_object_get_int_member (base, "size"), ==, DISK_SIZE);
  g_assert_cmpint (strlen (json_object_get_string_member (base, "sha256-head")), ==, 64);
  g_assert_true (json_object_has_member (disk, "overlay"));
  /* The template never wrote the user's image. */
  {
    g_autofree char *now = ql_test_file_sha256 (base_path);

    g_assert_cmpstr (now, ==, base_sha);
  }
}

static void
test_two_clones (void)
{
  g_autoptr(QlTestConsole) a = NULL;
  g_autoptr(QlTestConsole) b = NULL;
  g_autofree char *overlay = NULL;
  g_autofree char *overlay_sha = NULL;
  QlTestConsole *clones[2];
  char *written[2] = { NULL, NULL };
  char *files[2] = { NULL, NULL };

  if (ql_test_skip_without_guest ())
    return;
  ensure_template ();
  overlay = template_overlay (template_dir);
  overlay_sha = ql_test_file_sha256 (overlay);

  a = template_clone (template_dir, NULL);
  b = template_clone (template_dir, NULL);
  clones[0] = a;
  clones[1] = b;
  for (guint i = 0; i < 2; i++)
    {
      QlTestConsole *c = clones[i];
      g_autofree char *mark = guest_read (c, MARK_OFFSET, strlen (template_mark));
      g_autofree char *args = NULL;
      g_autofree char *backing = NULL;
      int pid = ql_test_console_get_qemu_pid (c);

      /* The template's guest wrote it before the snapshot. */
      g_assert_cmpstr (mark, ==, template_mark);
      g_assert_cmpint (pid, >, 0);
      g_assert_cmpint (ql_test_seccomp_mode (pid), ==, 2);
      args = ql_test_process_args (pid);
      g_assert_nonnull (strstr (args, "spawn=deny"));
      files[i] = drive_file_of (pid);
      g_test_message ("clone %u: QEMU %d, Seccomp: 2, disk %s", i, pid, files[i]);
      g_assert_true (g_str_has_prefix (files[i], run_dir));
      g_assert_true (g_str_has_suffix (files[i], "/disk-disk0.qcow2"));
      g_assert_cmphex (file_mode (files[i]), ==, 0600);
      backing = backing_of (files[i]);
      g_assert_cmpstr (backing, ==, overlay);
    }
  g_assert_cmpstr (files[0], !=, files[1]);
  for (guint i = 0; i < 2; i++)
    {
      written[i] = random_text (i == 0 ? "CLONEA" : "CLONEB");
      guest_write (clones[i], WRITE_OFFSET, written[i]);
    }
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *back = guest_read (clones[i], WRITE_OFFSET, strlen (written[i]));
      g_autofree char *mark = guest_read (clones[i], MARK_OFFSET, strlen (template_mark));

      g_assert_cmpstr (back, ==, written[i]);
      g_assert_cmpstr (mark, ==, template_mark);
    }
  ql_test_console_poweroff_ok (a, CLONE_TIMEOUT_S);
  ql_test_console_poweroff_ok (b, CLONE_TIMEOUT_S);
  ql_test_assert_no_qemu (template_dir);
  for (guint i = 0; i < 2; i++)
    {
      g_assert_false (g_file_test (files[i], G_FILE_TEST_EXISTS));
      g_free (files[i]);
      g_free (written[i]);
    }
  g_assert_cmpuint (count_clone_dirs (), ==, 0);
  {
    g_autofree char *base_now = ql_test_file_sha256 (base_path);
    g_autofree char *overlay_now = ql_test_file_sha256 (overlay);

    g_assert_cmpstr (base_now, ==, base_sha);
    g_assert_cmpstr (overlay_now, ==, overlay_sha);
  }
}

static void
test_keep_disks (void)
{
  g_autoptr(QlTestConsole) c = NULL;
  g_autoptr(QlTestConsole) r = NULL;
  g_autofree char *keep = NULL;
  g_autofree char *kept = NULL;
  g_autofree char *written = random_text ("KEPT");
  g_autofree char *text = NULL;
  g_autofree char *vm_file = NULL;
  g_autofree char *back = NULL;
  g_autofree char *mark = NULL;
  g_autofree char *overlay = NULL;
  g_autofree char *overlay_sha = NULL;
  const char *line;

  if (ql_test_skip_without_guest ())
    return;
  ensure_template ();
  overlay = template_overlay (template_dir);
  overlay_sha = ql_test_file_sha256 (overlay);
  keep = g_build_filename (work_dir, "keep", NULL);
  g_assert_cmpint (g_mkdir (keep, 0700), ==, 0);

  c = template_clone (template_dir, keep);
  guest_write (c, WRITE_OFFSET, written);
  ql_test_console_poweroff_ok (c, CLONE_TIMEOUT_S);
  line = strstr (ql_test_console_get_stderr (c), "disk 'disk0' is kept in ");
  g_assert_nonnull (line);
  line += strlen ("disk 'disk0' is kept in ");
  kept = g_strndup (line, strcspn (line, "\n"));
  g_test_message ("kept: %s", kept);
  g_assert_true (g_str_has_prefix (kept, keep));
  g_assert_cmphex (file_mode (kept), ==, 0600);
  g_assert_cmpuint (count_clone_dirs (), ==, 0);
  {
    g_autofree char *backing = backing_of (kept);

    g_assert_cmpstr (backing, ==, overlay);
  }

  /* The kept overlay is a disk: a cold boot of it with `qlaunch run`. */
  text = vm_text (NULL, kept, "qcow2");
  vm_file = ql_test_write_file (work_dir, "kept.vm", text);
  {
    const char *args[] = { "run", vm_file, NULL };

    r = ql_test_console_spawn_cli (args);
  }
  ql_test_console_wait_for (r, SHELL_PROMPT, CREATE_TIMEOUT_S);
  back = guest_read (r, WRITE_OFFSET, strlen (written));
  mark = guest_read (r, MARK_OFFSET, strlen (template_mark));
  g_assert_cmpstr (back, ==, written);
  g_assert_cmpstr (mark, ==, template_mark);
  ql_test_console_poweroff_ok (r, CLONE_TIMEOUT_S);
  g_assert_true (g_file_test (kept, G_FILE_TEST_IS_REGULAR));
  {
    g_autofree char *base_now = ql_test_file_sha256 (base_path);
    g_autofree char *overlay_now = ql_test_file_sha256 (overlay);

    g_assert_cmpstr (base_now, ==, base_sha);
    g_assert_cmpstr (overlay_now, ==, overlay_sha);
  }
}

static void
on_prepare_clone (QlVmFactory *factory,
                  QlVm        *vm,
                  GPtrArray   *consoles)
{
  (void) factory;
  g_ptr_array_add (consoles, ql_test_console_for_vm (vm, "factory clone"));
}

static void
test_factory (void)
{
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlTemplate) tpl = NULL;
  g_autoptr(QlVmFactory) factory = NULL;
  g_autoptr(GPtrArray) consoles = g_ptr_array_new_with_free_func ((GDestroyNotify) ql_test_console_free);
  g_autoptr(GError) error = NULL;
  char *files[2] = { NULL, NULL };
  QlVm *vms[2];

  if (ql_test_skip_without_guest ())
    return;
  ensure_template ();
  registry = ql_test_registry_new ();
  tpl = ql_template_load (template_dir, registry, &error);
  g_assert_no_error (error);
  {
    g_auto(GStrv) ids = ql_template_dup_disk_ids (tpl);

    g_assert_cmpuint (g_strv_length (ids), ==, 1);
    g_assert_cmpstr (ids[0], ==, "disk0");
  }
  {
    /* What making a clone's VM costs here (checks, the overlay), without
     * QEMU: reported, not asserted. */
    gint64 t0 = g_get_monotonic_time ();

    for (guint i = 0; i < 10; i++)
      {
        g_autoptr(QlVm) vm = ql_template_new_clone (tpl, &error);

        g_assert_no_error (error);
        g_assert_nonnull (ql_template_get_clone_disk (vm, "disk0"));
      }
    g_test_message ("ql_template_new_clone with a writable disk: %.2f ms each (10 in a row)",
                    (g_get_monotonic_time () - t0) / 1e3 / 10);
    g_assert_cmpuint (count_clone_dirs (), ==, 0);
  }
  factory = ql_vm_factory_new (tpl, 2);
  g_signal_connect (factory, "prepare-clone", G_CALLBACK (on_prepare_clone), consoles);
  ql_vm_factory_start (factory);
  for (guint i = 0; i < 2; i++)
    {
      QlTestConsole *c = NULL;
      g_autofree char *written = random_text (i == 0 ? "POOLA" : "POOLB");
      g_autofree char *back = NULL;
      g_autofree char *mark = NULL;

      vms[i] = ql_vm_factory_get (factory, NULL, &error);
      g_assert_no_error (error);
      for (guint k = 0; k < consoles->len; k++)
        if (ql_test_console_get_vm (g_ptr_array_index (consoles, k)) == vms[i])
          c = g_ptr_array_index (consoles, k);
      g_assert_nonnull (c);
      ql_test_console_watch_vm (c);
      g_assert_cmpint (ql_test_seccomp_mode (ql_vm_get_pid (vms[i])), ==, 2);
      files[i] = g_strdup (ql_template_get_clone_disk (vms[i], "disk0"));
      g_assert_nonnull (files[i]);
      g_assert_cmphex (file_mode (files[i]), ==, 0600);
      mark = guest_read (c, MARK_OFFSET, strlen (template_mark));
      g_assert_cmpstr (mark, ==, template_mark);
      guest_write (c, WRITE_OFFSET, written);
      back = guest_read (c, WRITE_OFFSET, strlen (written));
      g_assert_cmpstr (back, ==, written);
      ql_test_console_poweroff_ok (c, CLONE_TIMEOUT_S);
    }
  g_assert_cmpstr (files[0], !=, files[1]);
  g_assert_true (ql_vm_factory_shutdown (factory, NULL, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 2; i++)
    {
      g_assert_false (g_file_test (files[i], G_FILE_TEST_EXISTS));
      g_free (files[i]);
      g_object_unref (vms[i]);
    }
  g_clear_pointer (&consoles, g_ptr_array_unref);
  ql_test_assert_no_qemu (template_dir);
  g_assert_cmpuint (count_clone_dirs (), ==, 0);
}

/* `template clone --keep-disks` of @dir fails before QEMU starts, naming
 * disk0 and saying @why; nothing is left. */
static void
assert_refused (const char *dir,
                const char *why)
{
  g_autofree char *keep = g_build_filename (work_dir, "keep-refused", NULL);
  g_autoptr(QlTestConsole) c = NULL;
  g_autoptr(GDir) d = NULL;
  QlTestQemuSeen watch = { dir, FALSE };
  int status;

  g_mkdir (keep, 0700);
  c = template_clone (dir, keep);
  ql_test_console_close_input (c);
  status = ql_test_console_wait_polling (c, CLONE_TIMEOUT_S, ql_test_qemu_seen_poll, &watch);
  g_test_message ("refused: %s", ql_test_console_get_stderr (c));
  g_assert_cmpint (status, ==, 1);
  g_assert_false (watch.seen);
  g_assert_nonnull (strstr (ql_test_console_get_stderr (c), "writable disk 'disk0'"));
  g_assert_nonnull (strstr (ql_test_console_get_stderr (c), why));
  d = g_dir_open (keep, 0, NULL);
  g_assert_nonnull (d);
  g_assert_null (g_dir_read_name (d));
  g_assert_cmpuint (count_clone_dirs (), ==, 0);
  ql_test_assert_no_qemu (dir);
}

static void
set_times (const char            *path,
           const struct timespec *atime,
           const struct timespec *mtime)
{
  struct timespec times[2] = { *atime, *mtime };

  g_assert_cmpint (utimensat (AT_FDCWD, path, times, 0), ==, 0);
}

static void
test_drift (void)
{
  g_autofree char *copy = NULL;
  g_autofree char *copy_overlay = NULL;
  struct stat st;
  struct timespec later;
  char saved[4];
  int fd;

  if (ql_test_skip_without_guest ())
    return;
  ensure_template ();
  g_assert_cmpint (stat (base_path, &st), ==, 0);

  /* Only its modification time. */
  later = st.st_mtim;
  later.tv_sec += 10;
  set_times (base_path, &st.st_atim, &later);
  assert_refused (template_dir, "drifted");
  set_times (base_path, &st.st_atim, &st.st_mtim);

  /* Its content, size and mtime as before. */
  fd = open (base_path, O_RDWR);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (pread (fd, saved, 4, 4096), ==, 4);
  g_assert_cmpint (pwrite (fd, "DRFT", 4, 4096), ==, 4);
  close (fd);
  set_times (base_path, &st.st_atim, &st.st_mtim);
  assert_refused (template_dir, "SHA-256");
  fd = open (base_path, O_RDWR);
  g_assert_cmpint (pwrite (fd, saved, 4, 4096), ==, 4);
  close (fd);
  set_times (base_path, &st.st_atim, &st.st_mtim);
  {
    g_autofree char *now = ql_test_file_sha256 (base_path);

    g_assert_cmpstr (now, ==, base_sha);
  }

  /* A template whose overlay is gone. */
  copy = g_build_filename (work_dir, "tpl-copy", NULL);
  {
    const char *cp[] = { "cp", "-a", template_dir, copy, NULL };
    const char *chmod[] = { "chmod", "-R", "u+w", copy, NULL };

    g_assert_true (ql_test_run (cp, NULL));
    g_assert_true (ql_test_run (chmod, NULL));
  }
  copy_overlay = template_overlay (copy);
  g_assert_cmpint (stat (copy_overlay, &st), ==, 0);

  /* Its overlay changed (here: its mtime). */
  later = st.st_mtim;
  later.tv_sec += 10;
  set_times (copy_overlay, &st.st_atim, &later);
  assert_refused (copy, "its overlay changed");
  set_times (copy_overlay, &st.st_atim, &st.st_mtim);

  /* A manifest naming another base image than the overlay's header. */
  {
    g_autofree char *manifest = g_build_filename (copy, "manifest.json", NULL);
    g_autofree char *text = NULL;
    g_autofree char *other = g_build_filename (work_dir, "other.raw", NULL);
    g_autofree char *edited = NULL;
    g_autofree char *quoted = g_strdup_printf ("\"%s\"", base_path);
    g_autofree char *quoted_other = g_strdup_printf ("\"%s\"", other);
    const char *cp[] = { "cp", "-a", base_path, other, NULL };
    GString *s;

    g_assert_true (ql_test_run (cp, NULL));
    g_assert_true (g_file_get_contents (manifest, &text, NULL, NULL));
    s = g_string_new (text);
    g_assert_cmpuint (g_string_replace (s, quoted, quoted_other, 0), >, 0);
    edited = g_string_free (s, FALSE);
    g_assert_true (g_file_set_contents (manifest, edited, -1, NULL));
    assert_refused (copy, "the manifest says");
    g_assert_true (g_file_set_contents (manifest, text, -1, NULL));
  }

  g_assert_cmpint (g_unlink (copy_overlay), ==, 0);
  assert_refused (copy, "missing");
}

#ifndef QL_TEMPLATE_DISKS_BENCH
int
main (int    argc,
      char **argv)
{
  int ret;

  signal (SIGPIPE, SIG_IGN);
  g_test_init (&argc, &argv, NULL);
  /* The clones' runtime directories go under a base of this test's own. */
  work_dir = ql_test_make_tmpdir ();
  ql_test_proc_guard (work_dir, NULL);
  run_dir = ql_test_make_runtime_dir (work_dir, "run");
  g_test_add_func ("/template-disks-guest/create", test_create);
  g_test_add_func ("/template-disks-guest/two-clones", test_two_clones);
  g_test_add_func ("/template-disks-guest/keep-disks", test_keep_disks);
  g_test_add_func ("/template-disks-guest/factory", test_factory);
  g_test_add_func ("/template-disks-guest/drift", test_drift);
  ret = g_test_run ();
  ql_test_proc_remove_dir (work_dir);
  return ret;
}
#endif
