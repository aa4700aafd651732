/* Suite guest: the test guest under UEFI (OVMF from the host's firmware
 * descriptors), started by `qlaunch run`, with direct kernel boot.
 *
 * /firmware-guest/persistence: the guest sees /sys/firmware/efi; it writes
 *   an EFI variable through efivarfs; after a power-off the VM's own
 *   variable store (guest.vars.fd beside guest.vm, 0600) holds it, and a
 *   second boot of the same VM file reads it back. The template's checksum
 *   is the same before and after.
 * /firmware-guest/secure-boot-setup-mode: secure-boot = true with the
 *   empty template (no keys enrolled): QEMU runs the Secure Boot code
 *   with smm=on and the flash secure (QMP), the guest boots and reports
 *   SecureBoot off, SetupMode on.
 * /firmware-guest/secure-boot: secure-boot = true with the descriptors'
 *   choice (Microsoft's keys enrolled): QEMU runs the Secure Boot code
 *   with smm=on; the guest boots (direct kernel boot) and reports
 *   SecureBoot on, SetupMode off, and its kernel says it is locked down
 *   from EFI Secure Boot.
 *
 * OVMF under TCG, measured on a shared 2-core machine: 20-30 s to the
 * guest's shell, 40 s with SMM (secure boot), against 6 s with SeaBIOS;
 * the shell waits are 240 s; the whole program took 135 s.
 */
#include "ql-test-util.h"
#include "ql-test-guest.h"
#include "ql-test-qmp.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#define EFI_GLOBAL_GUID "8be4df61-93ca-11d2-aa0d-00e098032b8c"
#define TEST_VAR "QlaunchTest-4a5c6e1b-8a2b-4d4e-9f00-123456789abc"
#define SHELL_TIMEOUT 240

static gboolean
skip_without (void)
{
  if (ql_test_guest_dir () == NULL)
    {
      g_test_skip ("no test guest in QLAUNCH_GUEST_DIR (meson compile -C BUILDDIR guest)");
      return TRUE;
    }
  if (!g_file_test ("/usr/share/qemu/firmware/60-edk2-x86_64.json", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no OVMF firmware descriptors in /usr/share/qemu/firmware (Debian: ovmf)");
      return TRUE;
    }
  return FALSE;
}

static char *
shell_ok (QlTestGuest *guest,
          const char  *command)
{
  return ql_test_guest_shell_ok (guest, command, 60);
}

static char *
checksum_of (const char *path,
             gsize      *length)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &contents, length, &error);
  g_assert_no_error (error);
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, *length);
}

/* Boots @vm_text in @dir through `qlaunch run` to the guest's shell; the
 * boot time in *@seconds. */
static QlTestGuest *
boot (const char *dir,
      const char *vm_text,
      double     *seconds)
{
  g_autoptr(GError) error = NULL;
  QlTestGuest *guest = ql_test_guest_new (dir, vm_text, "shell", NULL);
  gint64 start = g_get_monotonic_time ();

  ql_test_guest_use_run (guest, NULL);
  ql_test_guest_set_timeout (guest, 120);
  if (!ql_test_guest_start (guest))
    {
      g_autoptr(QlTestGuestResult) result = ql_test_guest_wait (guest);
      g_autofree char *what = ql_test_guest_result_describe (result);

      g_error ("the UEFI guest did not start:\n%s", what);
    }
  if (!ql_test_guest_wait_for_shell (guest, SHELL_TIMEOUT, &error))
    {
      g_autofree char *console = ql_test_guest_get_console (guest);
      g_autofree char *err = ql_test_guest_get_stderr (guest);

      g_error ("no shell under UEFI: %s\nstderr: %s\nconsole: %s", error->message, err, console);
    }
  *seconds = (g_get_monotonic_time () - start) / 1e6;
  return guest;
}

static void
power_off (QlTestGuest *guest)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;

  result = ql_test_guest_poweroff_pass (guest, 60, NULL);
}

static void
mount_efivarfs (QlTestGuest *guest)
{
  g_autofree char *out = shell_ok (guest, "modprobe efivarfs; grep -q ' efivarfs ' /proc/mounts || "
                                          "mount -t efivarfs efivarfs /sys/firmware/efi/efivars");
}

static void
test_persistence (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *vars = NULL;
  g_autofree char *token = NULL;
  g_autofree char *template_before = NULL;
  g_autofree char *template_after = NULL;
  g_autofree char *out = NULL;
  g_autofree char *cmd = NULL;
  g_autofree char *contents = NULL;
  static const char vm_text[] = "[firmware]\ntype = uefi\n";
  const char *template = "/usr/share/OVMF/OVMF_VARS_4M.fd";
  QlTestGuest *guest;
  double seconds = 0;
  gsize length = 0;
  GStatBuf st;

  if (skip_without ())
    return;
  dir = ql_test_make_tmpdir ();
  vars = g_build_filename (dir, "guest.vars.fd", NULL);
  token = g_strdup_printf ("qlaunch-%08x%08x", g_random_int (), g_random_int ());
  template_before = checksum_of (template, &length);

  /* First boot: the store is made from the template. */
  guest = boot (dir, vm_text, &seconds);
  g_test_message ("first boot under OVMF (q35, TCG): shell after %.1f s", seconds);
  g_assert_true (g_file_test (vars, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (g_stat (vars, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
  out = shell_ok (guest, "test -d /sys/firmware/efi && cat /sys/firmware/efi/fw_platform_size");
  g_test_message ("guest: /sys/firmware/efi exists, fw_platform_size %s", out);
  g_assert_cmpstr (out, ==, "64");
  mount_efivarfs (guest);
  /* efivarfs: 4 bytes of attributes (non-volatile, boot and runtime
   * access), then the data, in one write. */
  cmd = g_strdup_printf ("printf '\\007\\000\\000\\000%s' > /tmp/var && "
                         "cat /tmp/var > /sys/firmware/efi/efivars/" TEST_VAR " && "
                         "tail -c +5 /sys/firmware/efi/efivars/" TEST_VAR, token);
  g_free (out);
  out = shell_ok (guest, cmd);
  g_assert_cmpstr (out, ==, token);
  power_off (guest);
  ql_test_guest_free (guest);

  /* The store beside the VM file holds it. */
  g_file_get_contents (vars, &contents, &length, NULL);
  g_assert_nonnull (contents);
  g_assert_nonnull (memmem (contents, length, token, strlen (token)));

  /* Second boot of the same VM file: the store is kept, the variable is
   * there. */
  guest = boot (dir, vm_text, &seconds);
  g_test_message ("second boot: shell after %.1f s", seconds);
  mount_efivarfs (guest);
  g_free (out);
  out = shell_ok (guest, "tail -c +5 /sys/firmware/efi/efivars/" TEST_VAR);
  g_test_message ("second boot reads %s = '%s' (written '%s')", TEST_VAR, out, token);
  g_assert_cmpstr (out, ==, token);
  power_off (guest);
  ql_test_guest_free (guest);

  template_after = checksum_of (template, &length);
  g_test_message ("template %s sha256 %s before, %s after", template, template_before, template_after);
  g_assert_cmpstr (template_after, ==, template_before);
  ql_test_rm_rf (dir);
}

/* The guest's view of Secure Boot: the variables' values (last byte) and
 * the kernel's words. */
static void
report_secure_boot (QlTestGuest *guest,
                    char       **secure_boot,
                    char       **setup_mode)
{
  g_autofree char *kernel = NULL;

  mount_efivarfs (guest);
  *secure_boot = shell_ok (guest, "tail -c 1 /sys/firmware/efi/efivars/SecureBoot-" EFI_GLOBAL_GUID " | od -An -tu1");
  *setup_mode = shell_ok (guest, "tail -c 1 /sys/firmware/efi/efivars/SetupMode-" EFI_GLOBAL_GUID " | od -An -tu1");
  g_strstrip (*secure_boot);
  g_strstrip (*setup_mode);
  kernel = shell_ok (guest, "dmesg | grep -i 'secure boot' || true");
  g_test_message ("guest: SecureBoot=%s SetupMode=%s; kernel: %s", *secure_boot, *setup_mode, kernel);
}

/* QEMU runs the Secure Boot code, with SMM and the flash secure. */
static void
check_qemu_secure (QlTestGuest *guest)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlTestQmp) qmp = ql_test_qmp_connect (ql_test_guest_get_qmp_path (guest), 10000, &error);
  g_autoptr(JsonNode) nodes = NULL;
  g_autoptr(JsonNode) secure = NULL;
  g_autofree char *smm = NULL;
  g_autofree char *code = NULL;
  JsonArray *array;
  JsonObject *args;
  gboolean code_read_only = FALSE;

  g_assert_no_error (error);
  smm = ql_test_qmp_qom_get_string (qmp, "/machine", "smm", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (smm, ==, "on");
  args = json_object_new ();
  json_object_set_string_member (args, "path", "/machine/system.flash0");
  json_object_set_string_member (args, "property", "secure");
  secure = ql_test_qmp_execute (qmp, "qom-get", args, &error);
  g_assert_no_error (error);
  g_assert_true (json_node_get_boolean (secure));
  json_object_unref (args);
  args = json_object_new ();
  json_object_set_boolean_member (args, "flat", TRUE);
  nodes = ql_test_qmp_execute (qmp, "query-named-block-nodes", args, &error);
  json_object_unref (args);
  g_assert_no_error (error);
  array = json_node_get_array (nodes);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *node = json_array_get_object_element (array, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (node, "node-name", ""), "ql-pflash0-file") == 0)
        {
          code = g_strdup (json_object_get_string_member (node, "file"));
          code_read_only = json_object_get_boolean_member (node, "ro");
        }
    }
  g_assert_nonnull (code);
  {
    g_autofree char *real = realpath (code, NULL);

    g_test_message ("QEMU: smm=%s, system.flash0 secure=on, pflash0 '%s' (%s), read-only %d", smm, code, real,
                    code_read_only);
    g_assert_cmpstr (real, ==, "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd");
  }
  g_assert_true (code_read_only);
}

static const char qmp_group[] = "[qmp q]\ntype=unix\npath=qmp.sock\nserver=true\nno-wait=true\n";

static void
test_secure_boot_setup_mode (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *vm_text = NULL;
  g_autofree char *secure_boot = NULL;
  g_autofree char *setup_mode = NULL;
  QlTestGuest *guest;
  double seconds = 0;

  if (skip_without ())
    return;
  dir = ql_test_make_tmpdir ();
  vm_text = g_strdup_printf ("[firmware]\ntype = uefi\nsecure-boot = true\n"
                             "vars-template = /usr/share/OVMF/OVMF_VARS_4M.fd\n%s", qmp_group);
  guest = boot (dir, vm_text, &seconds);
  g_test_message ("secure boot code, no keys enrolled (q35, smm=on, TCG): shell after %.1f s", seconds);
  check_qemu_secure (guest);
  report_secure_boot (guest, &secure_boot, &setup_mode);
  /* No platform key: the firmware is in setup mode and enforces nothing. */
  g_assert_cmpstr (secure_boot, ==, "0");
  g_assert_cmpstr (setup_mode, ==, "1");
  power_off (guest);
  ql_test_guest_free (guest);
  ql_test_rm_rf (dir);
}

static void
test_secure_boot (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *vm_text = NULL;
  g_autofree char *secure_boot = NULL;
  g_autofree char *setup_mode = NULL;
  QlTestGuest *guest;
  double seconds = 0;

  if (skip_without ())
    return;
  dir = ql_test_make_tmpdir ();
  vm_text = g_strdup_printf ("[firmware]\ntype = uefi\nsecure-boot = true\n%s", qmp_group);
  guest = boot (dir, vm_text, &seconds);
  g_test_message ("secure boot, keys enrolled (q35, smm=on, TCG): shell after %.1f s", seconds);
  check_qemu_secure (guest);
  report_secure_boot (guest, &secure_boot, &setup_mode);
  /* The descriptors' first choice has Microsoft's keys enrolled: user
   * mode, Secure Boot on (the kernel then locks itself down). */
  g_assert_cmpstr (setup_mode, ==, "0");
  g_assert_cmpstr (secure_boot, ==, "1");
  power_off (guest);
  ql_test_guest_free (guest);
  ql_test_rm_rf (dir);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/firmware-guest/persistence", test_persistence);
  g_test_add_func ("/firmware-guest/secure-boot-setup-mode", test_secure_boot_setup_mode);
  g_test_add_func ("/firmware-guest/secure-boot", test_secure_boot);
  return g_test_run ();
}
