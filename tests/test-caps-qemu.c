/* Suite qemu: the capabilities of the real QEMU.
 *
 * Probes this machine's qemu-system-x86_64 into a private cache
 * ($QLAUNCH_CACHE_DIR), reads it back from the cache, re-probes when the
 * binary changes (a copy whose mtime is touched, another path) and when
 * the cache file is truncated, empty or not a cache; checks every shipped
 * example VM and golden case against it; checks that a VM naming a machine
 * type, CPU model or device property QEMU 7.2 lacks fails in `qlaunch
 * check` and in `qlaunch run` with messages that name the VM-file group,
 * before the VM's QEMU starts; and boots QEMU 7.2 with the JSON forms
 * qlaunch writes for QEMU 9.2. */
#include "ql-test-cache.h"
#include "ql-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define QEMU "qemu-system-x86_64"

static char *cache_root;      /* $QLAUNCH_CACHE_DIR */
static char *work;            /* scratch */

static char *
cache_file_for (const char *binary)
{
  g_autofree char *found = strchr (binary, '/') == NULL ? g_find_program_in_path (binary) : g_strdup (binary);
  g_autofree char *real = realpath (found, NULL);
  g_autofree char *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, real, -1);
  g_autofree char *name = g_strdup_printf ("%.16s.caps", sum);

  return g_build_filename (cache_root, "caps", name, NULL);
}

static QlQemuCaps *
lookup (const char *binary,
        gboolean    expect_cached)
{
  g_autoptr(GError) error = NULL;
  QlQemuCaps *caps = ql_qemu_caps_lookup (binary, NULL, QL_QEMU_CAPS_LOOKUP_NONE, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (caps);
  g_assert_cmpint (ql_qemu_caps_is_from_cache (caps), ==, expect_cached);
  return caps;
}

static void
test_probe_and_cache (void)
{
  g_autoptr(QlQemuCaps) probed = NULL;
  g_autoptr(QlQemuCaps) cached = NULL;
  g_autofree char *file = cache_file_for (QEMU);
  g_autofree char *dir = g_path_get_dirname (file);
  g_autofree char *json1 = NULL;
  g_autofree char *json2 = NULL;
  g_auto(GStrv) cpus = NULL;
  g_auto(GStrv) accels = NULL;
  g_auto(GStrv) netdevs = NULL;
  g_auto(GStrv) chardevs = NULL;
  g_auto(GStrv) objects = NULL;
  struct stat st;
  guint major, minor;
  gint64 t0;

  g_unlink (file);
  t0 = g_get_monotonic_time ();
  probed = lookup (QEMU, FALSE);
  g_test_message ("probe: %.1f ms", (g_get_monotonic_time () - t0) / 1000.0);
  ql_qemu_caps_get_version (probed, &major, &minor, NULL);
  g_assert_cmpuint (major, ==, 7);
  g_assert_cmpuint (minor, ==, 2);
  g_assert_true (ql_qemu_caps_is_probed (probed));
  g_assert_true (g_str_has_prefix (ql_qemu_caps_get_package (probed), "Debian"));
  g_assert_cmpstr (ql_qemu_caps_resolve_machine (probed, "q35"), ==, "pc-q35-7.2");
  g_assert_cmpstr (ql_qemu_caps_resolve_machine (probed, "pc"), ==, "pc-i440fx-7.2");
  g_assert_cmpstr (ql_qemu_caps_get_machine_alias (probed, "pc-q35-7.2"), ==, "q35");
  g_assert_null (ql_qemu_caps_resolve_machine (probed, "pc-q35-9.0"));
  g_assert_cmpstr (ql_qemu_caps_get_default_machine (probed), ==, "pc-i440fx-7.2");
  g_assert_true (ql_qemu_caps_has_device_type (probed, "virtio-blk-pci"));
  g_assert_true (ql_qemu_caps_has_device_type (probed, "vhost-user-blk-pci"));
  g_assert_false (ql_qemu_caps_has_device_type (probed, "virtio-blk-pcie"));
  cpus = ql_qemu_caps_list_cpu_models (probed);
  g_assert_true (g_strv_contains ((const char * const *) cpus, "max"));
  g_assert_true (g_strv_contains ((const char * const *) cpus, "qemu64"));
  accels = ql_qemu_caps_list_accelerators (probed);
  g_assert_true (g_strv_contains ((const char * const *) accels, "tcg"));
  g_assert_true (g_strv_contains ((const char * const *) accels, "kvm"));
  netdevs = ql_qemu_caps_list_netdev_types (probed);
  g_assert_true (g_strv_contains ((const char * const *) netdevs, "tap"));
  g_assert_true (g_strv_contains ((const char * const *) netdevs, "vhost-user"));
  chardevs = ql_qemu_caps_list_chardev_backends (probed);
  g_assert_true (g_strv_contains ((const char * const *) chardevs, "socket"));
  objects = ql_qemu_caps_list_object_types (probed);
  g_assert_true (g_strv_contains ((const char * const *) objects, "memory-backend-file"));
  g_assert_true (ql_qemu_caps_accepts_json (probed, "-device"));
  g_assert_true (ql_qemu_caps_accepts_json (probed, "-netdev"));
  /* Debian's QEMU has seccomp: -sandbox and the classes qlaunch sets. */
  g_assert_true (ql_qemu_caps_has_command_line_option (probed, "sandbox", NULL));
  g_assert_true (ql_qemu_caps_has_command_line_option (probed, "sandbox", "spawn"));
  g_assert_true (ql_qemu_caps_has_command_line_option (probed, "sandbox", "elevateprivileges"));
  g_assert_true (ql_qemu_caps_has_command_line_option (probed, "sandbox", "obsolete"));
  g_assert_true (ql_qemu_caps_has_command_line_option (probed, "sandbox", "resourcecontrol"));
  g_assert_false (ql_qemu_caps_has_command_line_option (probed, "sandbox", "nope"));
  g_assert_false (ql_qemu_caps_has_command_line_option (probed, "no-such-option", NULL));
  g_assert_true (ql_qemu_caps_has_command_line_option (probed, "machine", NULL));
  {
    g_auto(GStrv) options = ql_qemu_caps_list_command_line_options (probed);
    g_autoptr(QlQemuCaps) unprobed = ql_qemu_caps_new_for_version ("7.2", NULL);
    g_auto(GStrv) none = ql_qemu_caps_list_command_line_options (unprobed);

    g_assert_true (g_strv_contains ((const char * const *) options, "sandbox"));
    g_assert_cmpuint (g_strv_length (none), ==, 0);
    g_assert_false (ql_qemu_caps_has_command_line_option (unprobed, "sandbox", NULL));
  }

  /* The cache: a 0600 file in a 0700 directory. */
  g_assert_cmpint (g_stat (file, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  t0 = g_get_monotonic_time ();
  cached = lookup (QEMU, TRUE);
  g_test_message ("cached lookup: %.3f ms", (g_get_monotonic_time () - t0) / 1000.0);
  json1 = ql_qemu_caps_to_json (probed, FALSE);
  json2 = ql_qemu_caps_to_json (cached, FALSE);
  g_assert_cmpstr (json1, ==, json2);
}

/* Device properties: probed for the types asked for, kept in the cache,
 * typed. */
static void
test_device_properties (void)
{
  const char *types[] = { "virtio-blk-pci", "no-such-device", NULL };
  const char *more[] = { "virtio-net-pci", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(QlQemuCaps) caps = NULL;
  g_autoptr(QlQemuCaps) again = NULL;
  g_autoptr(QlQemuCaps) grown = NULL;

  caps = ql_qemu_caps_lookup (QEMU, types, QL_QEMU_CAPS_LOOKUP_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ql_qemu_caps_has_device_properties (caps, "virtio-blk-pci"));
  g_assert_cmpstr (ql_qemu_caps_get_device_property_type (caps, "virtio-blk-pci", "logical_block_size"),
                   ==, "size");
  g_assert_cmpstr (ql_qemu_caps_get_device_property_type (caps, "virtio-blk-pci", "drive"), ==, "str");
  g_assert_null (ql_qemu_caps_get_device_property_type (caps, "virtio-blk-pci", "no-such-property"));

  /* Asked again: from the cache (an unknown type does not force a probe). */
  again = ql_qemu_caps_lookup (QEMU, types, QL_QEMU_CAPS_LOOKUP_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ql_qemu_caps_is_from_cache (again));

  /* A new type: probed, and the old ones kept. */
  grown = ql_qemu_caps_lookup (QEMU, more, QL_QEMU_CAPS_LOOKUP_NONE, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (ql_qemu_caps_is_from_cache (grown));
  g_assert_true (ql_qemu_caps_has_device_properties (grown, "virtio-net-pci"));
  g_assert_true (ql_qemu_caps_has_device_properties (grown, "virtio-blk-pci"));
}

static void
copy_file (const char *from,
           const char *to)
{
  g_autoptr(GFile) src = g_file_new_for_path (from);
  g_autoptr(GFile) dst = g_file_new_for_path (to);
  g_autoptr(GError) error = NULL;

  g_file_copy (src, dst, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (to, 0755), ==, 0);
}

/* Another binary has its own cache entry; touching its mtime re-probes. */
static void
test_binary_changes (void)
{
  g_autofree char *real = g_find_program_in_path (QEMU);
  g_autofree char *bindir = g_build_filename (work, "bin", NULL);
  g_autofree char *libdir = g_build_filename (work, "lib", "x86_64-linux-gnu", NULL);
  g_autofree char *moddir = g_build_filename (libdir, "qemu", NULL);
  g_autofree char *sharedir = g_build_filename (work, "share", NULL);
  g_autofree char *datadir = g_build_filename (sharedir, "qemu", NULL);
  g_autofree char *copy = g_build_filename (bindir, "qemu-copy", NULL);
  g_autoptr(QlQemuCaps) first = NULL;
  g_autoptr(QlQemuCaps) second = NULL;
  g_autoptr(QlQemuCaps) touched = NULL;
  g_autoptr(QlQemuCaps) third = NULL;
  g_autoptr(QlQemuCaps) original = NULL;
  struct timeval times[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

  /* QEMU finds its modules relative to its binary (../lib/<triplet>/qemu). */
  if (!g_file_test ("/usr/lib/x86_64-linux-gnu/qemu", G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("no /usr/lib/x86_64-linux-gnu/qemu: cannot run a copy of QEMU");
      return;
    }
  g_assert_cmpint (g_mkdir_with_parents (bindir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (libdir, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (sharedir, 0700), ==, 0);
  g_assert_cmpint (symlink ("/usr/lib/x86_64-linux-gnu/qemu", moddir), ==, 0);
  g_assert_cmpint (symlink ("/usr/share/qemu", datadir), ==, 0);
  copy_file (real, copy);
  first = lookup (copy, FALSE);
  g_assert_cmpstr (ql_qemu_caps_get_binary (first), ==, copy);
  second = lookup (copy, TRUE);
  /* The original binary's entry is untouched. */
  original = lookup (QEMU, TRUE);

  g_assert_cmpint (utimes (copy, times), ==, 0);
  touched = lookup (copy, FALSE);
  third = lookup (copy, TRUE);
  g_unlink (copy);
}

static void
write_cache (const char *file,
             const char *data,
             gssize      len)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (file, data, len, &error);
  g_assert_no_error (error);
}

/* A damaged cache is ignored and rewritten. */
static void
test_damaged_cache (void)
{
  g_autofree char *file = cache_file_for (QEMU);
  g_autofree char *good = NULL;
  g_autofree char *after = NULL;
  gsize good_len = 0, after_len = 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(QlQemuCaps) warm = lookup (QEMU, TRUE);
  struct
  {
    const char *what;
    gsize len;         /* of the good file's bytes; G_MAXSIZE: garbage */
  } cases[] = { { "truncated to half", 0 }, { "truncated header", 10 }, { "empty", 1 },
                { "not a cache", G_MAXSIZE }, { "payload bytes flipped", 2 },
                { "one byte in the middle flipped", 3 } };

  g_file_get_contents (file, &good, &good_len, &error);
  g_assert_no_error (error);
  cases[0].len = good_len / 2;
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(QlQemuCaps) caps = NULL;
      g_autoptr(QlQemuCaps) back = NULL;

      g_test_message ("cache %s", cases[i].what);
      if (cases[i].len == G_MAXSIZE)
        write_cache (file, "#!/bin/sh\nthis is not a capabilities cache\n", -1);
      else if (cases[i].len == 1)
        write_cache (file, "", 0);
      else if (cases[i].len == 2)
        {
          g_autofree char *bad = g_memdup2 (good, good_len);

          /* The format string at the start of the payload (after the
           * 24-byte header). */
          for (gsize k = 24; k < 40 && k < good_len; k++)
            bad[k] ^= 0x5a;
          write_cache (file, bad, (gssize) good_len);
        }
      else if (cases[i].len == 3)
        {
          g_autofree char *bad = g_memdup2 (good, good_len);

          /* One bit inside a string of the payload: still a well-formed
           * GVariant, but not what was probed. The hash tells. */
          bad[good_len / 2] ^= 0x01;
          write_cache (file, bad, (gssize) good_len);
        }
      else
        write_cache (file, good, (gssize) cases[i].len);
      caps = lookup (QEMU, FALSE);
      g_free (after);
      g_file_get_contents (file, &after, &after_len, &error);
      g_assert_no_error (error);
      /* Missed (probed again: not from the cache), and rewritten. */
      g_assert_cmpuint (after_len, >=, 24);
      back = lookup (QEMU, TRUE);
    }
}

/* Asks @caps everything, by string, list and JSON. */
static void
ask_everything (QlQemuCaps *caps)
{
  g_auto(GStrv) machines = ql_qemu_caps_list_machines (caps);
  g_auto(GStrv) devices = ql_qemu_caps_list_device_types (caps);
  g_auto(GStrv) options = ql_qemu_caps_list_command_line_options (caps);
  g_auto(GStrv) cpus = ql_qemu_caps_list_cpu_models (caps);
  g_auto(GStrv) accels = ql_qemu_caps_list_accelerators (caps);
  g_auto(GStrv) unprobed = ql_qemu_caps_list_unprobed_device_types (caps);
  g_autofree char *json = ql_qemu_caps_to_json (caps, FALSE);

  for (guint i = 0; machines[i] != NULL; i++)
    {
      (void) ql_qemu_caps_resolve_machine (caps, machines[i]);
      (void) ql_qemu_caps_get_machine_alias (caps, machines[i]);
    }
  (void) ql_qemu_caps_resolve_machine (caps, "q35");
  for (guint i = 0; devices[i] != NULL && i < 50; i++)
    (void) ql_qemu_caps_resolve_device_type (caps, devices[i]);
  (void) ql_qemu_caps_resolve_device_type (caps, "virtio-net-pci");
  for (guint i = 0; options[i] != NULL; i++)
    (void) ql_qemu_caps_has_command_line_option (caps, options[i], "id");
  for (guint i = 0; unprobed[i] != NULL; i++)
    (void) ql_qemu_caps_get_device_probe_failure (caps, unprobed[i]);
  (void) ql_qemu_caps_get_default_machine (caps);
  (void) ql_qemu_caps_get_package (caps);
  g_assert_nonnull (json);
}

/* A cache edited by hand and its hash recomputed passes the hash check
 * and is read as trusted GVariant data, whose framing GLib does not check
 * again: a string can come out with no bytes (GLib gives NULL for it) or
 * no NUL at its end. Each of the payload's last 48 bytes (the offsets that
 * frame its fields) and 48 bytes through the rest is changed in turn; the
 * capabilities read from it answer every question without a crash. */
static void
test_edited_cache (void)
{
  g_autofree char *file = cache_file_for (QEMU);
  g_autofree char *good = NULL;
  gsize good_len = 0, length;
  g_autoptr(GError) error = NULL;
  g_autoptr(QlQemuCaps) warm = lookup (QEMU, TRUE);

  g_file_get_contents (file, &good, &good_len, &error);
  g_assert_no_error (error);
  length = ql_test_cache_payload_length (good);
  g_assert_cmpuint (QL_TEST_CACHE_HEADER_SIZE + length, <=, good_len);
  g_assert_cmpuint (length, >, 96);
  for (guint k = 0; k < 96; k++)
    {
      gsize at = QL_TEST_CACHE_HEADER_SIZE + (k < 48 ? length - 1 - k : (gsize) (k - 48) * (length / 48));
      g_autofree char *bad = g_memdup2 (good, good_len);
      g_autoptr(QlQemuCaps) caps = NULL;
      g_autoptr(GError) lookup_error = NULL;

      bad[at] ^= (k % 2) ? 0xff : 0x21;
      ql_test_cache_rehash (bad);
      write_cache (file, bad, (gssize) good_len);
      caps = ql_qemu_caps_lookup (QEMU, NULL, QL_QEMU_CAPS_LOOKUP_NONE, NULL, &lookup_error);
      g_assert_no_error (lookup_error);
      ask_everything (caps);
    }
  write_cache (file, good, (gssize) good_len);
}

/* Builds @vm_file (no host checks) and checks it against @caps. */
static gboolean
check_vm_file (QlRegistry  *registry,
               QlQemuCaps  *caps,
               const char  *vm_file,
               GError     **error)
{
  g_autoptr(QlVmConfig) vm = ql_vm_config_new_from_file (vm_file, registry, error);
  g_autoptr(QlCmdline) cmdline = NULL;
  g_autoptr(QlQemuCaps) with_props = NULL;
  g_autoptr(GStrvBuilder) types = g_strv_builder_new ();
  g_auto(GStrv) type_list = NULL;

  if (vm == NULL)
    return FALSE;
  ql_vm_config_set_host_probe (vm, NULL);
  cmdline = ql_vm_config_build_cmdline (vm, error);
  if (cmdline == NULL)
    return FALSE;
  for (guint i = 0; i < ql_cmdline_get_n_options (cmdline); i++)
    {
      QlOption *o = ql_cmdline_get_option (cmdline, i);

      if (g_str_equal (ql_option_get_flag (o), "-device") && ql_option_get_head (o) != NULL)
        g_strv_builder_add (types, ql_option_get_head (o));
    }
  type_list = g_strv_builder_end (types);
  /* The real binary, whatever [vm] qemu the case names. */
  with_props = ql_qemu_caps_lookup (QEMU, (const char * const *) type_list, 0, NULL, error);
  if (with_props == NULL)
    return FALSE;
  (void) caps;
  ql_qemu_caps_apply_syntax (with_props, cmdline);
  return ql_qemu_caps_check_cmdline (with_props, cmdline, error);
}

/* Golden cases that record what QEMU 7.2 lacks, and what the check says. */
static const struct
{
  const char *name;
  const char *message;
} golden_refused[] = {
  { "vhost-user-blk-logical-block-size",
    "device 'vhu0': QEMU 7.2 has no property 'logical_block_size' on vhost-user-blk-pci; it has: " },
  { "vhost-user-blk-size",
    "device 'vhu0': QEMU 7.2 has no property 'size' on vhost-user-blk-pci; it has: " },
};

static void
test_shipped_files_pass (void)
{
  const char *srcdir = g_getenv ("QLAUNCH_TEST_SRCDIR");
  g_autofree char *golden = g_build_filename (srcdir, "golden", NULL);
  g_autofree char *examples = g_build_filename (srcdir, "..", "data", "examples", NULL);
  const char *dirs[] = { golden, examples };
  g_autoptr(QlRegistry) registry = ql_test_registry_new ();
  g_autoptr(QlQemuCaps) caps = lookup (QEMU, TRUE);
  g_autofree char *cwd = g_get_current_dir ();
  guint checked = 0;

  for (gsize d = 0; d < G_N_ELEMENTS (dirs); d++)
    {
      g_autoptr(GDir) dir = g_dir_open (dirs[d], 0, NULL);
      const char *entry;

      g_assert_nonnull (dir);
      g_assert_cmpint (g_chdir (dirs[d]), ==, 0);
      while ((entry = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *stem = NULL;
          g_autofree char *args = NULL;
          g_autoptr(GError) error = NULL;
          const char *expected = NULL;
          gboolean ok;

          if (!g_str_has_suffix (entry, ".vm"))
            continue;
          stem = g_strndup (entry, strlen (entry) - 3);
          args = g_strconcat (stem, ".args", NULL);
          /* Golden cases that fail to build (.err) have nothing to check. */
          if (d == 0 && !g_file_test (args, G_FILE_TEST_EXISTS))
            continue;
          for (gsize k = 0; k < G_N_ELEMENTS (golden_refused); k++)
            if (d == 0 && g_str_equal (stem, golden_refused[k].name))
              expected = golden_refused[k].message;
          ok = check_vm_file (registry, caps, entry, &error);
          checked++;
          if (expected != NULL)
            {
              g_assert_false (ok);
              g_assert_error (error, QL_QEMU_CAPS_ERROR, QL_QEMU_CAPS_ERROR_INCOMPATIBLE);
              g_assert_true (g_str_has_prefix (error->message, expected));
              continue;
            }
          if (!ok)
            g_test_fail_printf ("%s/%s: %s", dirs[d], entry, error->message);
        }
    }
  g_assert_cmpint (g_chdir (cwd), ==, 0);
  g_test_message ("%u VM files checked against %s", checked, ql_qemu_caps_get_binary (caps));
  g_assert_cmpuint (checked, >, 150);
}

/* `check` and `run` refuse the VM @text with an error line starting
 * @message (after "qlaunch: FILE: "); run starts no QEMU (@pidfile, the
 * VM's pid file when it has one, is never written); without host checks
 * the binary is not consulted and check passes. */
static void
assert_refused (const char *name,
                const char *text,
                const char *message,
                const char *pidfile)
{
  g_autofree char *vm = ql_test_write_file (work, name, text);
  const char *plugins = g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR");
  const char *check[] = { "--plugin-dir", plugins, "check", vm, NULL };
  const char *run[] = { "--plugin-dir", plugins, "run", vm, NULL };
  const char *skip[] = { "--plugin-dir", plugins, "check", "--no-host-checks", vm, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *out2 = NULL;
  g_autofree char *err2 = NULL;
  g_autofree char *out3 = NULL;
  g_autofree char *err3 = NULL;
  g_autofree char *want = g_strconcat ("qlaunch: ", vm, ": ", message, NULL);
  g_autofree char *err_no_line = NULL;
  g_autofree char *err2_no_line = NULL;

  g_assert_cmpint (ql_test_run_cli (check, &out, &err), ==, 1);
  g_test_message ("%s: %s", name, err);
  err_no_line = ql_test_without_line (err, vm);
  g_assert_true (g_str_has_prefix (err_no_line, want));

  if (pidfile != NULL)
    g_unlink (pidfile);
  g_assert_cmpint (ql_test_run_cli (run, &out2, &err2), ==, 1);
  err2_no_line = ql_test_without_line (err2, vm);
  g_assert_true (g_str_has_prefix (err2_no_line, want));
  if (pidfile != NULL)
    g_assert_false (g_file_test (pidfile, G_FILE_TEST_EXISTS));

  g_assert_cmpint (ql_test_run_cli (skip, &out3, &err3), ==, 0);
}

/* `qlaunch check` and `qlaunch run` refuse what QEMU 7.2 lacks, naming the
 * group and listing what it has; run never starts the VM's QEMU (its pid
 * file is never written). */
static void
test_cli_refusals (void)
{
  g_autofree char *pidfile = g_build_filename (work, "vm.pid", NULL);
  g_autofree char *text_machine = g_strdup_printf (
    "[vm]\npid-file = %s\n[machine]\ntype = pc-q35-9.0\nacceleration = tcg\n", pidfile);
  g_autofree char *text_cpu = g_strdup_printf (
    "[vm]\ncpu-model = Skylake-Servr\npid-file = %s\n[machine]\ntype = q35\nacceleration = tcg\n", pidfile);
  g_autofree char *text_accel = g_strdup_printf (
    "[vm]\npid-file = %s\n[machine]\ntype = q35\nacceleration = hvf\n", pidfile);
  g_autofree char *text_prop = g_strdup_printf (
    "[vm]\npid-file = %s\n[machine]\ntype = q35\nacceleration = tcg\n"
    "[memory]\nsize = 256M\npath = %s/ram\n[knobs]\nfile-backed-mem = true\nfile-backed-mem-shared = true\n"
    "[device disk0]\ntype = vhost-user\nvhost-user-type = blk\nsocket-path = %s/vhost.sock\n"
    "logical-block-size = 4096\n", pidfile, work, work);
  g_autofree char *sock = g_build_filename (work, "vhost.sock", NULL);
  const struct
  {
    const char *name;
    const char *text;
    const char *message;
  } cases[] = {
    { "machine.vm", text_machine,
      "[machine]: type: machine type 'pc-q35-9.0' is not known to /usr/bin/qemu-system-x86_64 7.2.22; "
      "known: pc-i440fx-7.2 (pc), pc-q35-7.2 (q35), " },
    { "cpu.vm", text_cpu,
      "[vm]: cpu-model: CPU model 'Skylake-Servr' is not known to /usr/bin/qemu-system-x86_64 7.2.22; "
      "did you mean 'Skylake-Server'?" },
    { "accel.vm", text_accel,
      "[machine]: acceleration: accelerator 'hvf' is not built into /usr/bin/qemu-system-x86_64 7.2.22; "
      "it has: kvm, tcg" },
    { "prop.vm", text_prop,
      "device 'disk0': QEMU 7.2 has no property 'logical_block_size' on vhost-user-blk-pci; it has: " },
  };
  int fd;

  /* The vhost-user socket must exist for the host checks. */
  fd = open (sock, O_CREAT | O_WRONLY, 0600);
  g_assert_cmpint (fd, >=, 0);
  close (fd);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_refused (cases[i].name, cases[i].text, cases[i].message, pidfile);
}

/* The escape hatch is checked against the probed QEMU 7.2 before anything
 * starts: a typo in a property (qemu-set mqq=on for mq=on) or in an added
 * option's driver, property, object or netdev type, a value not of its
 * property's QOM type. check and run refuse, naming the group or device
 * and key, with a "did you mean"; --no-host-checks (syntax only) passes;
 * mq=on itself is accepted. */
static void
test_escape_hatch_refusals (void)
{
  const char *base = "[machine]\ntype = q35\nacceleration = tcg\n[memory]\nsize = 256M\n"
                     "[device net0]\ntype = net\nnet-type = user\n";
  const struct
  {
    const char *name;
    const char *more;
    const char *message;
  } cases[] = {
    { "mqq.vm", "qemu-set = mqq=on\n",
      "device 'net0': property 'qemu-set': QEMU 7.2 has no property 'mqq' on virtio-net-pci; did you mean 'mq'?" },
    { "bool.vm", "qemu-set = mq=maybe\n",
      "device 'net0': property 'qemu-set': 'mq=maybe': property 'mq' of virtio-net-pci is a bool: on or off" },
    { "range.vm", "qemu-set = host_mtu=70000\n",
      "device 'net0': property 'qemu-set': 'host_mtu=70000': property 'host_mtu' of virtio-net-pci is a uint16: "
      "an integer from 0 to 65535" },
    { "enum.vm", "qemu-set = disable-legacy=maybe\n",
      "device 'net0': property 'qemu-set': 'disable-legacy=maybe': property 'disable-legacy' of virtio-net-pci is "
      "OnOffAuto: one of on, off, auto" },
    { "driver.vm", "[qemu]\nadd = -device virtio-sound-pci,id=snd0\n",
      "[qemu] add: '-device virtio-sound-pci,id=snd0': QEMU 7.2 has no device type 'virtio-sound-pci'" },
    { "prop.vm", "[qemu]\nadd = -device virtio-rng-pci,id=rng9,perod=1000\n",
      "[qemu] add: '-device virtio-rng-pci,id=rng9,perod=1000': QEMU 7.2 has no property 'perod' on "
      "virtio-rng-pci; did you mean 'period'?" },
    { "object.vm", "[qemu]\nadd = -object rng-randm,id=r9\n",
      "[qemu] add: '-object rng-randm,id=r9': QEMU 7.2 has no object type 'rng-randm'; did you mean 'rng-random'?" },
    { "object-prop.vm", "[qemu]\nadd = -object rng-random,id=r9,filname=/dev/urandom\n",
      "[qemu] add: '-object rng-random,id=r9,filname=/dev/urandom': QEMU 7.2 has no property 'filname' on "
      "object type rng-random; did you mean 'filename'?" },
    { "netdev.vm", "[qemu]\nadd = -netdev usr,id=n9\n",
      "[qemu] add: '-netdev usr,id=n9': QEMU 7.2 has no netdev type 'usr'; did you mean 'user'?" },
    { "replace.vm", "[qemu]\nreplace = -device virtio-net-pci,id=net0,netdev=net0,vectorz=4\n",
      "[qemu] replace: '-device virtio-net-pci,id=net0,netdev=net0,vectorz=4': QEMU 7.2 has no property "
      "'vectorz' on virtio-net-pci; did you mean 'vectors'?" },
  };
  const char *plugins = g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strconcat (base, cases[i].more, NULL);

      assert_refused (cases[i].name, text, cases[i].message, NULL);
    }

  {
    g_autofree char *text = g_strconcat (base, "qemu-set = mq=on,host_mtu=0x578\n", NULL);
    g_autofree char *vm = ql_test_write_file (work, "mq.vm", text);
    const char *args[] = { "--plugin-dir", plugins, "args", vm, NULL };
    g_autofree char *out = NULL;
    g_autofree char *err = NULL;

    g_assert_cmpint (ql_test_run_cli (args, &out, &err), ==, 0);
    g_assert_cmpstr (err, ==, "");
    /* Typed by the probed QEMU: hex read, written in decimal. */
    g_assert_nonnull (strstr (out, "mq=on,host_mtu=1400"));
  }
}

/* The JSON forms written for QEMU 9.2 start QEMU 7.2 too (it reads JSON for
 * -device since 6.2, -object 6.0, -netdev 7.1): every value is typed as
 * QEMU's strict JSON input wants it. */
static void
test_json_forms_start (void)
{
  g_autofree char *disk = g_build_filename (work, "disk.raw", NULL);
  g_autofree char *share = g_build_filename (work, "share9p", NULL);
  g_autofree char *qmp = g_build_filename (work, "json.qmp", NULL);
  g_autofree char *text = g_strdup_printf (
    "[vm]\nname = json-forms\n[machine]\ntype = pc\nacceleration = tcg\n"
    "[memory]\nsize = 128M\npath = %s/json-ram\n"
    "[knobs]\nno-defaults = true\nno-graphic = true\nstopped = true\nfile-backed-mem = true\n"
    "[qmp ctl]\npath = %s\n"
    "[iothread io0]\n"
    "[device scsi0]\ntype = scsi-controller\nio-thread = io0\n"
    "[device disk0]\ntype = block\nfile = %s\nformat = raw\n"
    "[device share0]\ntype = fs\npath = %s\nmount-tag = share\nsecurity-model = mapped-xattr\n"
    "[device br0]\ntype = bridge\nchassis = 1\nshpc = true\naddr = 5\n"
    "[device net0]\ntype = net\nif-name = qlcapsjson0\n",
    work, qmp, disk, share);
  g_autofree char *vm = ql_test_write_file (work, "json.vm", text);
  const char *args[] = { "--plugin-dir", g_getenv ("QLAUNCH_BUILD_PLUGIN_DIR"), "args", "--qemu-version", "9.2",
                         "--format", "lines", "--no-host-checks", vm, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_auto(GStrv) argv = NULL;
  g_autoptr(GSubprocess) qemu = NULL;
  g_autoptr(QlQmp) client = ql_qmp_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) status = NULL;
  guint json_args = 0;

  g_assert_cmpint (g_mkdir (share, 0700), ==, 0);
  g_file_set_contents (disk, "", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (truncate (disk, 1 << 20), ==, 0);

  g_assert_cmpint (ql_test_run_cli (args, &out, &err), ==, 0);
  g_strchomp (out);
  argv = g_strsplit (out, "\n", -1);
  for (guint i = 0; argv[i] != NULL; i++)
    if (argv[i][0] == '{')
      json_args++;
  g_test_message ("%u JSON arguments: %s", json_args, out);
  g_assert_cmpuint (json_args, >=, 8);
  g_free (argv[0]);
  argv[0] = g_strdup (QEMU);

  qemu = g_subprocess_newv ((const char * const *) argv, G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  if (!ql_qmp_connect (client, qmp, 20000, NULL, &error))
    {
      g_autofree char *qemu_err = NULL;

      g_subprocess_communicate_utf8 (qemu, NULL, NULL, NULL, &qemu_err, NULL);
      g_error ("QEMU 7.2 refused the 9.2 forms: %s / %s", error->message, qemu_err);
    }
  status = ql_qmp_execute (client, "query-status", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (status), "status"), ==, "prelaunch");
  g_clear_pointer (&status, json_node_unref);
  status = ql_qmp_execute (client, "quit", NULL, NULL, &error);
  g_subprocess_wait (qemu, NULL, NULL);
}

/* --all-properties survives a type QEMU dies on: QEMU 7.2 aborts on
 * `device-list-properties virtio-gpu-gl-pci` ("missing object type
 * 'virtio-gpu-gl-device'") when Debian's qemu-system-gui, which holds that
 * module, is not installed. The type is recorded as not probed, with
 * QEMU's words; every other type has its properties; the cache keeps it
 * all; `qlaunch caps --all-properties` prints a notice and exits 0. */
static void
test_all_properties_survive (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlQemuCaps) caps = NULL;
  g_autoptr(QlQemuCaps) cached = NULL;
  g_auto(GStrv) types = NULL;
  g_auto(GStrv) unprobed = NULL;
  g_auto(GStrv) unprobed_cached = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *args[] = { "caps", "--all-properties", QEMU, NULL };
  gboolean gl_module = g_file_test ("/usr/lib/x86_64-linux-gnu/qemu/hw-display-virtio-gpu-gl.so",
                                    G_FILE_TEST_EXISTS);
  gboolean gl_listed;
  guint with_props = 0;

  caps = ql_qemu_caps_lookup (QEMU, NULL, QL_QEMU_CAPS_LOOKUP_ALL_PROPERTIES | QL_QEMU_CAPS_LOOKUP_REFRESH,
                              NULL, &error);
  g_assert_no_error (error);
  g_assert_false (ql_qemu_caps_is_from_cache (caps));
  types = ql_qemu_caps_list_device_types (caps);
  unprobed = ql_qemu_caps_list_unprobed_device_types (caps);
  gl_listed = ql_qemu_caps_has_device_type (caps, "virtio-gpu-gl-pci");
  for (guint i = 0; types[i] != NULL; i++)
    {
      const char *why = ql_qemu_caps_get_device_probe_failure (caps, types[i]);

      /* Each type one or the other. */
      g_assert_cmpint (ql_qemu_caps_has_device_properties (caps, types[i]), ==, why == NULL);
      if (why != NULL)
        {
          g_test_message ("not probed: %s: %s", types[i], why);
          g_assert_cmpstr (why, !=, "");
          g_assert_true (g_strv_contains ((const char * const *) unprobed, types[i]));
        }
      else
        with_props++;
    }
  g_assert_cmpuint (with_props + g_strv_length (unprobed), ==, g_strv_length (types));
  /* The rest of the list was probed, not given up at the culprit. */
  g_assert_cmpuint (with_props, >, 300);
  g_assert_true (ql_qemu_caps_has_device_properties (caps, "virtio-net-pci"));
  g_assert_true (ql_qemu_caps_has_device_properties (caps, "vhost-user-fs-pci"));
  if (gl_listed && !gl_module)
    {
      const char *why = ql_qemu_caps_get_device_probe_failure (caps, "virtio-gpu-gl-pci");

      g_assert_nonnull (why);
      g_assert_nonnull (strstr (why, "virtio-gpu-gl-device"));
    }
  else
    g_test_message ("virtio-gpu-gl-pci %s, its module %s: nothing for QEMU to die on",
                    gl_listed ? "listed" : "not listed", gl_module ? "installed" : "missing");
  g_assert_null (ql_qemu_caps_get_device_probe_failure (caps, "virtio-net-pci"));
  {
    g_autofree char *json = ql_qemu_caps_to_json (caps, FALSE);

    g_assert_nonnull (strstr (json, "\"unprobed-device-types\":{"));
    for (guint i = 0; unprobed[i] != NULL; i++)
      {
        g_autofree char *member = g_strdup_printf ("\"%s\":\"", unprobed[i]);

        g_assert_nonnull (strstr (json, member));
      }
  }

  /* The cache holds it all: no probe again. */
  cached = ql_qemu_caps_lookup (QEMU, NULL, QL_QEMU_CAPS_LOOKUP_ALL_PROPERTIES, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ql_qemu_caps_is_from_cache (cached));
  unprobed_cached = ql_qemu_caps_list_unprobed_device_types (cached);
  g_assert_true (g_strv_equal ((const char * const *) unprobed, (const char * const *) unprobed_cached));

  /* The CLI: a notice per type on stderr, status 0. */
  g_assert_cmpint (ql_test_run_cli (args, &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "device types with probed properties:"));
  for (guint i = 0; unprobed[i] != NULL; i++)
    {
      g_autofree char *notice = g_strdup_printf ("qlaunch: notice: %s: the properties of device type '%s' "
                                                 "could not be probed: ",
                                                 ql_qemu_caps_get_binary (caps), unprobed[i]);

      g_assert_nonnull (strstr (err, notice));
    }
  if (unprobed[0] == NULL)
    g_assert_null (strstr (err, "notice"));
}

/* A cache directory another user could write is neither read nor written,
 * and the library says so as a notice the application reads
 * (ql_take_notices(): no func set here), never on stderr itself. */
static void
test_refused_cache_notice (void)
{
  g_autofree char *unsafe = g_build_filename (work, "unsafe-cache", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(QlQemuCaps) caps = NULL;
  g_autoptr(GPtrArray) notices = NULL;
  g_autoptr(GPtrArray) none = NULL;
  const GError *notice;

  g_assert_cmpint (g_mkdir (unsafe, 0700), ==, 0);
  g_assert_cmpint (chmod (unsafe, 0777), ==, 0);
  g_setenv ("QLAUNCH_CACHE_DIR", unsafe, TRUE);
  g_clear_pointer (&notices, g_ptr_array_unref);
  notices = ql_take_notices ();   /* none from before */
  g_clear_pointer (&notices, g_ptr_array_unref);
  caps = ql_qemu_caps_lookup (QEMU, NULL, QL_QEMU_CAPS_LOOKUP_NONE, NULL, &error);
  g_setenv ("QLAUNCH_CACHE_DIR", cache_root, TRUE);
  g_assert_no_error (error);
  g_assert_false (ql_qemu_caps_is_from_cache (caps));
  notices = ql_take_notices ();
  g_assert_cmpuint (notices->len, ==, 1);
  notice = g_ptr_array_index (notices, 0);
  g_assert_true (g_error_matches (notice, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED));
  g_assert_nonnull (strstr (notice->message, unsafe));
  g_assert_nonnull (strstr (notice->message, "writable by group or others (mode 0777)"));
  g_assert_true (g_str_has_suffix (notice->message, ": the cache is neither read nor written"));
  none = ql_take_notices ();
  g_assert_cmpuint (none->len, ==, 0);
  /* Nothing was written there. */
  {
    g_autofree char *caps_dir = g_build_filename (unsafe, "caps", NULL);

    g_assert_false (g_file_test (caps_dir, G_FILE_TEST_EXISTS));
  }
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *qemu = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);
  qemu = g_find_program_in_path (QEMU);
  if (qemu == NULL)
    {
      g_test_message ("no %s", QEMU);
      return 77;
    }
  /* The copies of QEMU it runs must be in a directory nobody else can write. */
  work = ql_test_make_safe_tmpdir ();
  cache_root = g_build_filename (work, "cache", NULL);
  g_setenv ("QLAUNCH_CACHE_DIR", cache_root, TRUE);

  g_test_add_func ("/caps/probe-and-cache", test_probe_and_cache);
  g_test_add_func ("/caps/device-properties", test_device_properties);
  g_test_add_func ("/caps/binary-changes", test_binary_changes);
  g_test_add_func ("/caps/damaged-cache", test_damaged_cache);
  g_test_add_func ("/caps/edited-cache", test_edited_cache);
  g_test_add_func ("/caps/shipped-files-pass", test_shipped_files_pass);
  g_test_add_func ("/caps/cli-refusals", test_cli_refusals);
  g_test_add_func ("/caps/json-forms-start", test_json_forms_start);
  g_test_add_func ("/caps/escape-hatch-refusals", test_escape_hatch_refusals);
  g_test_add_func ("/caps/all-properties-survive", test_all_properties_survive);
  g_test_add_func ("/caps/refused-cache-notice", test_refused_cache_notice);
  ret = g_test_run ();
  ql_test_rm_rf (work);
  g_free (work);
  g_free (cache_root);
  return ret;
}
