/* qlaunch tests — the security suite: host paths and the capability cache,
 * tried as another local user would.
 *
 * Each case plays that user (uid 65534) in a world-writable directory the
 * test runs qlaunch from (the way root might run it from /tmp): a file
 * planted there must never be what qlaunch or QEMU executes or loads. A
 * relative path in a VM file is relative to the VM file's directory; a
 * bare firmware name is found in QEMU's data directories; a QEMU binary
 * another user could change is refused before it runs; a capability cache
 * another user could plant is never believed, and never hangs qlaunch.
 *
 * The scratch tree lives in the build directory (root-owned, 0755 up to
 * `/`), so that the real QEMU wrappers the cases use are safe; only the
 * playground is world-writable. Every qlaunch runs under timeout(1). */
#include "ql-test-bios.h"
#include "ql-test-cache.h"
#include "ql-test-util.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define OTHER_UID 65534
#define HANG_LIMIT   "60"
#define HANG_LIMIT_S 60

typedef struct
{
  char *base;      /* private scratch tree under the build directory */
  char *vm_dir;    /* where the VM files are: root's, 0755 */
  char *pub;       /* the playground: world-writable and sticky, like /tmp */
  char *cache;     /* $QLAUNCH_CACHE_DIR of the case */
  char *marker;    /* what a planted program would create */
  char *qemu;      /* the real QEMU, canonical */
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *found = g_find_program_in_path ("qemu-system-x86_64");

  (void) data;
  f->base = ql_test_make_safe_tmpdir ();
  /* The other user reaches the playground through it. */
  g_assert_cmpint (g_chmod (f->base, 0755), ==, 0);
  f->vm_dir = g_build_filename (f->base, "vm", NULL);
  f->pub = g_build_filename (f->base, "pub", NULL);
  f->cache = g_build_filename (f->base, "cache", NULL);
  f->marker = g_build_filename (f->pub, "owned", NULL);
  g_assert_cmpint (g_mkdir (f->vm_dir, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (f->pub, 0755), ==, 0);
  g_assert_cmpint (g_chmod (f->pub, 01777), ==, 0);
  g_assert_cmpint (g_mkdir (f->cache, 0700), ==, 0);
  f->qemu = found != NULL ? realpath (found, NULL) : NULL;
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  (void) data;
  ql_test_rm_rf (f->base);
  g_free (f->base);
  g_free (f->vm_dir);
  g_free (f->pub);
  g_free (f->cache);
  g_free (f->marker);
  free (f->qemu);
}

/* Whether the case can play another user and run QEMU; skips if not. */
static gboolean
can_play (Fixture *f)
{
  if (geteuid () != 0)
    {
      g_test_skip ("needs root, to plant files as uid 65534");
      return FALSE;
    }
  if (f->qemu == NULL)
    {
      g_test_skip ("qemu-system-x86_64 is not installed");
      return FALSE;
    }
  return TRUE;
}

/* @path, written with @text and @mode, owned by the other user. */
static void
plant (const char *path,
       const char *text,
       int         mode)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
  g_assert_cmpint (lchown (path, OTHER_UID, OTHER_UID), ==, 0);
}

/* A shell script that creates @marker, then runs the real QEMU. */
static char *
wrapper_text (Fixture *f)
{
  return g_strdup_printf ("#!/bin/sh\ntouch '%s'\nexec '%s' \"$@\"\n", f->marker, f->qemu);
}

static char *
write_vm (Fixture    *f,
          const char *name,
          const char *text)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (f->vm_dir, name, NULL);

  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
  return path;
}

/* `qlaunch ARGS...` run from the playground with the case's cache; a
 * hang (still running after HANG_LIMIT_S) fails the test. */
static void
run_in_pub (Fixture            *f,
            QlTestRun          *r,
            const char * const *args)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);

  g_subprocess_launcher_set_cwd (launcher, f->pub);
  g_subprocess_launcher_setenv (launcher, "QLAUNCH_CACHE_DIR", f->cache, TRUE);
  ql_test_run_bounded (r, launcher, HANG_LIMIT_S, args);
  ql_test_run_assert_exited (r);
}

static void
assert_contains (const char *text,
                 const char *fragment)
{
  if (strstr (text, fragment) == NULL)
    g_error ("'%s' not in: %s", fragment, text);
}

static void
assert_no_marker (Fixture *f)
{
  if (g_file_test (f->marker, G_FILE_TEST_EXISTS))
    g_error ("a program the other user planted ran: %s exists", f->marker);
}

/* `[vm] qemu = ./qemu-wrapper` is the wrapper beside the VM file, never
 * the one in the directory qlaunch runs in: `args` (which probes the
 * binary) executes nothing the other user planted, and says which binary
 * it looked for. */
static void
test_qemu_relative (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *planted = g_build_filename (f->pub, "qemu-wrapper", NULL);
  g_autofree char *text = NULL;
  g_autofree char *vm = NULL;
  g_autofree char *expected = g_build_filename (f->vm_dir, "qemu-wrapper", NULL);
  QlTestRun r = { 0 };
  const char *args[] = { "args", NULL, NULL };

  (void) data;
  if (!can_play (f))
    return;
  text = wrapper_text (f);
  plant (planted, text, 0755);
  vm = write_vm (f, "wrapped.vm", "[vm]\nname = wrapped\nqemu = ./qemu-wrapper\n"
                 "[machine]\ntype = q35\nacceleration = tcg\n");
  args[1] = vm;
  run_in_pub (f, &r, args);
  assert_no_marker (f);
  g_assert_cmpint (r.status, !=, 0);
  assert_contains (r.err, expected);
  ql_test_run_clear (&r);
}

/* A tap device's `script = ./ifup.sh` and `down-script = ifdown.sh` are
 * the scripts beside the VM file in the argv QEMU would run as root. */
static void
test_net_script (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *up = g_build_filename (f->pub, "ifup.sh", NULL);
  g_autofree char *down = g_build_filename (f->pub, "ifdown.sh", NULL);
  g_autofree char *vm = NULL;
  g_autofree char *want_up = NULL;
  g_autofree char *want_down = NULL;
  QlTestRun r = { 0 };
  const char *args[] = { "args", "--no-host-checks", NULL, NULL };

  (void) data;
  if (!can_play (f))
    return;
  plant (up, "#!/bin/sh\ntouch owned\n", 0755);
  plant (down, "#!/bin/sh\ntouch owned\n", 0755);
  vm = write_vm (f, "tap.vm", "[vm]\nname = tap\n[machine]\ntype = q35\nacceleration = tcg\n"
                 "[device net0]\ntype = net\nif-name = tap9\nscript = ./ifup.sh\ndown-script = ifdown.sh\n");
  args[2] = vm;
  run_in_pub (f, &r, args);
  g_assert_cmpint (r.status, ==, 0);
  want_up = g_strdup_printf ("script=%s/ifup.sh,", f->vm_dir);
  want_down = g_strdup_printf ("downscript=%s/ifdown.sh", f->vm_dir);
  assert_contains (r.out, want_up);
  assert_contains (r.out, want_down);
  ql_test_run_clear (&r);
}

/* A NIC's `rom-file`: a relative path is beside the VM file; a bare name
 * is QEMU's own file, given to QEMU by its path in QEMU's data
 * directories, never the file of that name where QEMU runs (QEMU 7.2
 * looks there first). */
static void
test_rom_file (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *planted = g_build_filename (f->pub, "efi-virtio.rom", NULL);
  g_autofree char *vm = NULL;
  g_autofree char *want_relative = NULL;
  g_autofree char *in_pub = NULL;
  const char *rom;
  QlTestRun r = { 0 };
  const char *args[] = { "args", NULL, NULL };

  (void) data;
  if (!can_play (f))
    return;
  plant (planted, "not a ROM", 0644);
  vm = write_vm (f, "rom.vm", "[vm]\nname = rom\n[machine]\ntype = q35\nacceleration = tcg\n"
                 "[device net0]\ntype = net\nnet-type = user\nrom-file = ./pxe.rom\n"
                 "[device net1]\ntype = net\nnet-type = user\nrom-file = efi-virtio.rom\n");
  args[1] = vm;
  run_in_pub (f, &r, args);
  g_assert_cmpint (r.status, ==, 0);
  want_relative = g_strdup_printf ("romfile=%s/pxe.rom", f->vm_dir);
  assert_contains (r.out, want_relative);
  /* The bare name: an absolute path in a data directory of QEMU. */
  rom = strstr (r.out, "efi-virtio.rom");
  g_assert_nonnull (rom);
  g_assert_null (strstr (r.out, "romfile=efi-virtio.rom"));
  in_pub = g_strdup_printf ("%s/", f->pub);
  g_assert_null (strstr (r.out, in_pub));
  assert_contains (r.out, "romfile=/");
  ql_test_run_clear (&r);
}

/* `[vm] bios = bios-256k.bin` with a planted ./bios-256k.bin where qlaunch
 * runs: the argv names QEMU's own file by an absolute path. */
static void
test_bios_bare (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *planted = g_build_filename (f->pub, "bios-256k.bin", NULL);
  g_autofree char *vm = NULL;
  g_autofree char *in_pub = NULL;
  g_auto(GStrv) lines = NULL;
  const char *bios = NULL;
  QlTestRun r = { 0 };
  const char *args[] = { "args", "--format", "lines", NULL, NULL };

  (void) data;
  if (!can_play (f))
    return;
  plant (planted, "not a BIOS", 0644);
  vm = write_vm (f, "bios.vm", "[vm]\nname = bios\nbios = bios-256k.bin\n"
                 "[machine]\ntype = q35\nacceleration = tcg\n");
  args[3] = vm;
  run_in_pub (f, &r, args);
  g_assert_cmpint (r.status, ==, 0);
  lines = g_strsplit (r.out, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i + 1] != NULL; i++)
    if (g_str_equal (lines[i], "-bios"))
      bios = lines[i + 1];
  g_assert_nonnull (bios);
  g_test_message ("-bios %s", bios);
  g_assert_true (g_path_is_absolute (bios));
  g_assert_true (g_str_has_suffix (bios, "/bios-256k.bin"));
  in_pub = g_strdup_printf ("%s/", f->pub);
  g_assert_false (g_str_has_prefix (bios, in_pub));
  g_assert_cmpstr (bios, !=, planted);
  ql_test_run_clear (&r);
}

/* `qlaunch run` of a VM without [vm] bios, from the playground where the
 * other user planted a ./bios-256k.bin that powers the guest off: QEMU
 * 7.2 takes its default BIOS from its working directory first, so QEMU
 * runs in /, loads its own SeaBIOS and keeps running (QMP answers
 * query-status "running") until qlaunch stops it. */
static void
test_run_cwd (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *planted = g_build_filename (f->pub, "bios-256k.bin", NULL);
  g_autofree char *sock = g_build_filename (f->vm_dir, "qmp.sock", NULL);
  g_autofree char *vm = NULL;
  g_autofree char *proc_cwd = NULL;
  g_autofree char *cwd = NULL;
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GDataInputStream) err = NULL;
  g_autoptr(GError) error = NULL;
  gboolean running = FALSE;
  int pid = 0;

  (void) data;
  if (!can_play (f))
    return;
  ql_test_write_poweroff_bios (planted, &error);
  g_assert_no_error (error);
  g_assert_cmpint (lchown (planted, OTHER_UID, OTHER_UID), ==, 0);
  vm = write_vm (f, "run.vm", "[vm]\nname = run\n[machine]\ntype = q35\nacceleration = tcg\n"
                 "[memory]\nsize = 128M\n[qmp q]\ntype = unix\npath = qmp.sock\n");
  g_subprocess_launcher_set_cwd (launcher, f->pub);
  g_subprocess_launcher_setenv (launcher, "QLAUNCH_CACHE_DIR", f->cache, TRUE);
  proc = g_subprocess_launcher_spawn (launcher, &error, "timeout", HANG_LIMIT, g_getenv ("QLAUNCH_BIN"),
                                      "--plugin-dir", g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"), "run", vm, NULL);
  g_assert_no_error (error);
  err = g_data_input_stream_new (g_subprocess_get_stderr_pipe (proc));
  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line_utf8 (err, NULL, NULL, &error);

      g_assert_no_error (error);
      if (line == NULL)
        g_error ("qlaunch run ended before QEMU started");
      g_test_message ("qlaunch run: %s", line);
      if (sscanf (line, "qlaunch: QEMU started (pid %d)", &pid) == 1)
        break;
    }
  proc_cwd = g_strdup_printf ("/proc/%d/cwd", pid);
  cwd = g_file_read_link (proc_cwd, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cwd, ==, "/");
  /* The guest runs QEMU's BIOS: it is still running once QMP answers. */
  for (guint attempt = 0; attempt < 300 && !running; attempt++)
    {
      QlTestRun r = { 0 };
      const char *args[] = { "qmp", "--timeout", "5000", sock, "query-status", NULL };

      if (g_file_test (sock, G_FILE_TEST_EXISTS))
        {
          run_in_pub (f, &r, args);
          running = r.status == 0 && strstr (r.out, "\"running\"") != NULL;
          ql_test_run_clear (&r);
        }
      if (!running)
        {
          g_assert_true (ql_test_pid_alive (pid));
          g_usleep (100 * 1000);
        }
    }
  g_assert_true (running);
  g_subprocess_send_signal (proc, SIGTERM);
  g_subprocess_wait (proc, NULL, &error);
  g_assert_no_error (error);
}

/* A QEMU binary another user could change is refused before it runs:
 * one in a group-writable directory, one in a world-writable sticky
 * directory (like /tmp), one owned by the other user. The error names the
 * binary and what is wrong with it, in `args`, `check` and `run`. */
static void
test_qemu_unsafe (Fixture       *f,
                  gconstpointer  data)
{
  static const struct
  {
    const char *dir;
    int dir_mode;
    gboolean foreign_file;
  } cases[] = { { "group-writable", 0775, FALSE }, { "sticky", 01777, FALSE }, { "foreign", 0755, TRUE } };

  (void) data;
  if (!can_play (f))
    return;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *dir = g_build_filename (f->base, cases[i].dir, NULL);
      g_autofree char *binary = g_build_filename (dir, "qemu", NULL);
      g_autofree char *text = wrapper_text (f);
      g_autofree char *vm_text = g_strdup_printf ("[vm]\nname = unsafe\nqemu = %s\n"
                                                  "[machine]\ntype = q35\nacceleration = tcg\n", binary);
      g_autofree char *vm = write_vm (f, "unsafe.vm", vm_text);
      g_autoptr(GError) error = NULL;
      const char *commands[] = { "args", "check", "run" };

      g_test_message ("QEMU in a %s directory", cases[i].dir);
      g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
      g_assert_cmpint (g_chmod (dir, cases[i].dir_mode), ==, 0);
      g_file_set_contents (binary, text, -1, &error);
      g_assert_no_error (error);
      g_assert_cmpint (g_chmod (binary, 0755), ==, 0);
      if (cases[i].foreign_file)
        g_assert_cmpint (lchown (binary, OTHER_UID, OTHER_UID), ==, 0);
      for (guint c = 0; c < G_N_ELEMENTS (commands); c++)
        {
          QlTestRun r = { 0 };
          const char *args[] = { commands[c], vm, NULL };

          run_in_pub (f, &r, args);
          assert_no_marker (f);
          g_assert_cmpint (r.status, !=, 0);
          assert_contains (r.err, binary);
          assert_contains (r.err, cases[i].foreign_file ? binary : dir);
          ql_test_run_clear (&r);
        }
    }
}

/* The library refuses the same QEMU when it launches one, whatever did or
 * did not probe it first (template clones, factories, applications): a
 * wrapper in a sticky world-writable directory never runs. */
static void
test_launch_unsafe (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *dir = g_build_filename (f->base, "sticky", NULL);
  g_autofree char *binary = g_build_filename (dir, "qemu", NULL);
  g_autofree char *text = NULL;
  g_autofree char *vm_text = NULL;
  g_autoptr(QlRegistry) registry = NULL;
  g_autoptr(QlVmConfig) config = NULL;
  g_autoptr(QlVm) vm = NULL;
  g_autoptr(GError) error = NULL;

  (void) data;
  if (!can_play (f))
    return;
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  g_assert_cmpint (g_chmod (dir, 01777), ==, 0);
  text = wrapper_text (f);
  plant (binary, text, 0755);
  registry = ql_test_registry_new ();
  vm_text = g_strdup_printf ("[vm]\nqemu = %s\n[machine]\ntype = q35\nacceleration = tcg\n", binary);
  config = ql_test_load_vm (registry, vm_text);
  vm = ql_vm_new (config);
  g_assert_false (ql_vm_launch (vm, NULL, &error));
  g_test_message ("error: %s", error->message);
  g_assert_error (error, QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_SPAWN);
  assert_contains (error->message, binary);
  assert_contains (error->message, "refused");
  assert_no_marker (f);
}

/* The cache file of the real QEMU under @cache_dir. */
static char *
caps_file (Fixture    *f,
           const char *caps_dir)
{
  g_autofree char *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, f->qemu, -1);
  g_autofree char *name = g_strdup_printf ("%.16s.caps", sum);

  return g_build_filename (caps_dir, name, NULL);
}

static char *
plain_vm (Fixture *f)
{
  return write_vm (f, "plain.vm", "[vm]\nname = plain\n[machine]\ntype = q35\nacceleration = tcg\n");
}

/* A FIFO planted as the cache file: `args` opened it and waited for a
 * writer for ever. It completes, probing QEMU instead. */
static void
test_cache_fifo (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *caps_dir = g_build_filename (f->cache, "caps", NULL);
  g_autofree char *fifo = NULL;
  g_autofree char *vm = NULL;
  QlTestRun r = { 0 };
  const char *args[] = { "args", NULL, NULL };

  (void) data;
  if (!can_play (f))
    return;
  g_assert_cmpint (g_mkdir (caps_dir, 0700), ==, 0);
  fifo = caps_file (f, caps_dir);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_cmpint (lchown (fifo, OTHER_UID, OTHER_UID), ==, 0);
  vm = plain_vm (f);
  args[1] = vm;
  run_in_pub (f, &r, args);
  g_assert_cmpint (r.status, ==, 0);
  assert_contains (r.out, "-machine");
  ql_test_run_clear (&r);
}

/* A cache payload claiming QEMU 9.2: a real cache of this QEMU (written
 * by `qlaunch caps` into a scratch cache) with its version changed and
 * its header's hash made right again, as anyone who read the README's
 * layout could. */
static char *
forged_cache (Fixture *f,
              gsize   *out_len)
{
  g_autofree char *scratch = g_build_filename (f->base, "scratch-cache", NULL);
  g_autofree char *scratch_caps = g_build_filename (scratch, "caps", NULL);
  g_autofree char *file = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  char *contents = NULL;
  gsize len = 0;
  gboolean changed = FALSE;
  int status = -1;
  g_autofree char *cmd = g_strdup_printf ("env QLAUNCH_CACHE_DIR='%s' '%s' caps '%s'", scratch,
                                          g_getenv ("QLAUNCH_BIN"), f->qemu);

  g_assert_true (g_spawn_command_line_sync (cmd, &out, &err, &status, &error));
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
  file = caps_file (f, scratch_caps);
  g_file_get_contents (file, &contents, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (len, >, 24);
  for (gsize i = 24; i + 4 < len; i++)
    if (memcmp (contents + i, "\0" "7.2.", 5) == 0)
      {
        contents[i + 1] = '9';
        changed = TRUE;
      }
  g_assert_true (changed);
  ql_test_cache_rehash (contents);
  ql_test_rm_rf (scratch);
  *out_len = len;
  return contents;
}

/* `qlaunch caps` reports this QEMU as it is, probed, not as a cache the
 * other user planted says. */
static void
assert_not_believed (Fixture *f,
                     QlTestRun     *r)
{
  const char *args[] = { "caps", f->qemu, NULL };

  run_in_pub (f, r, args);
  g_assert_cmpint (r->status, ==, 0);
  assert_contains (r->out, "version: 7.2.");
  g_assert_null (strstr (r->out, "version: 9.2"));
  assert_contains (r->out, "source: probe");
}

/* The cache directory, `caps`, planted by the other user as a symlink to a
 * directory of theirs holding a cache that claims 9.2: refused, said once
 * on stderr, and QEMU probed again. */
static void
test_cache_caps_symlink (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *caps_dir = g_build_filename (f->cache, "caps", NULL);
  g_autofree char *theirs = g_build_filename (f->pub, "caps", NULL);
  g_autofree char *file = NULL;
  g_autofree char *forged = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = 0;
  QlTestRun r = { 0 };

  (void) data;
  if (!can_play (f))
    return;
  forged = forged_cache (f, &len);
  g_assert_cmpint (g_mkdir (theirs, 0700), ==, 0);
  file = caps_file (f, theirs);
  g_file_set_contents (file, forged, (gssize) len, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (file, 0600), ==, 0);
  g_assert_cmpint (symlink (theirs, caps_dir), ==, 0);
  g_assert_cmpint (lchown (caps_dir, OTHER_UID, OTHER_UID), ==, 0);
  assert_not_believed (f, &r);
  assert_contains (r.err, caps_dir);
  /* Said once. */
  g_assert_null (strstr (strstr (r.err, caps_dir) + 1, caps_dir));
  ql_test_run_clear (&r);
  /* Not written through the link either. */
  g_assert_true (g_file_test (file, G_FILE_TEST_IS_REGULAR));
}

/* A cache claiming 9.2, planted in the cache directories the other user
 * could reach: a cache root they own (with a `caps` of theirs), and a
 * cache file of theirs in our own `caps`. Never believed. */
static void
test_cache_planted (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *forged = NULL;
  gsize len = 0;

  (void) data;
  if (!can_play (f))
    return;
  forged = forged_cache (f, &len);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *caps_dir = g_build_filename (f->cache, "caps", NULL);
      g_autofree char *file = NULL;
      g_autoptr(GError) error = NULL;
      QlTestRun r = { 0 };

      ql_test_rm_rf (f->cache);
      g_assert_cmpint (g_mkdir (f->cache, 0700), ==, 0);
      g_assert_cmpint (g_mkdir (caps_dir, 0700), ==, 0);
      file = caps_file (f, caps_dir);
      g_file_set_contents (file, forged, (gssize) len, &error);
      g_assert_no_error (error);
      g_assert_cmpint (g_chmod (file, 0600), ==, 0);
      switch (i)
        {
        case 0:
          /* Their cache root, their caps, their file. */
          g_test_message ("a cache root owned by uid %d", OTHER_UID);
          g_assert_cmpint (lchown (file, OTHER_UID, OTHER_UID), ==, 0);
          g_assert_cmpint (lchown (caps_dir, OTHER_UID, OTHER_UID), ==, 0);
          g_assert_cmpint (lchown (f->cache, OTHER_UID, OTHER_UID), ==, 0);
          break;
        case 1:
          /* A cache root of ours that others may write (they could swap
           * `caps` for a directory of theirs at any time). */
          g_test_message ("a cache root writable by others");
          g_assert_cmpint (g_chmod (f->cache, 0777), ==, 0);
          break;
        default:
          /* Their file in our caps. */
          g_test_message ("a cache file owned by uid %d", OTHER_UID);
          g_assert_cmpint (lchown (file, OTHER_UID, OTHER_UID), ==, 0);
          break;
        }
      assert_not_believed (f, &r);
      ql_test_run_clear (&r);
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) g_test_add ("/security/" path, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("paths/qemu-relative", test_qemu_relative);
  ADD ("paths/net-script", test_net_script);
  ADD ("paths/rom-file", test_rom_file);
  ADD ("paths/bios-bare", test_bios_bare);
  ADD ("paths/run-cwd", test_run_cwd);
  ADD ("paths/qemu-unsafe", test_qemu_unsafe);
  ADD ("paths/launch-unsafe", test_launch_unsafe);
  ADD ("cache/fifo", test_cache_fifo);
  ADD ("cache/caps-symlink", test_cache_caps_symlink);
  ADD ("cache/planted", test_cache_planted);
#undef ADD

  return g_test_run ();
}
