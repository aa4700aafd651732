/* Suite guest: the `tpm` device seen from inside the test guest, launched
 * with `qlaunch run` (which runs swtpm), SeaBIOS and direct kernel boot.
 *
 * /tpm-guest/crb-q35: q35, the defaults (model crb, backend emulator, the
 *   state beside the VM file):
 *   - the guest has /dev/tpm0 (and /dev/tpmrm0), a TPM 2.0
 *     (tpm_version_major), bound to the tpm_crb driver;
 *   - a TPM2_GetRandom command written to /dev/tpm0 comes back with
 *     TPM_RC_SUCCESS and 8 bytes: swtpm answers through QEMU;
 *   - /sys/class/tpm/tpm0/pcr-sha256/0 is read and reported (SeaBIOS
 *     measures itself: non-zero, the same value in every run);
 *   - swtpm is killed (SIGKILL): `qlaunch run` ends non-zero naming the
 *     device and the helper, QEMU is gone, and no swtpm is left;
 *   - the state directory (NAME.tpm beside NAME.vm) is 0700 and kept.
 * /tpm-guest/tis-pc: pc, model tis: /dev/tpm0 bound to tpm_tis, the same
 *   command answered; the guest powers off cleanly, QEMU wrote nothing on
 *   stderr, and no swtpm is left.
 *
 * /tpm-guest/state-kept: the guest defines and writes an NV index
 *   (TPM2_NV_DefineSpace, TPM2_NV_Write with an empty password session)
 *   and powers off; in a second run of the same VM file the guest reads it
 *   back (TPM2_NV_Read): the state directory carried it over.
 *
 * /tpm-guest/crb-q35-uefi: q35, [firmware] type = uefi (OVMF from the
 *   host's firmware descriptors) with direct kernel boot, a tpm device
 *   (crb, emulator): the guest is a UEFI guest and sees its TPM as in
 *   crb-q35; OVMF measures itself, so PCR 0 (sha256) is non-zero, and it
 *   is not the value SeaBIOS leaves (the same VM file with type = bios,
 *   booted first in the same case). Both runs power off cleanly, and no
 *   swtpm is left. OVMF under TCG: 20-40 s to the shell on a shared
 *   2-core machine (SeaBIOS with swtpm: 14-20 s); its shell wait is 300 s.
 *
 * QLAUNCH_GUEST_BREAK=tpm leaves the TPM out: every test must then fail;
 * QLAUNCH_GUEST_BREAK=tpm-state removes the state directory between the
 * two runs of /tpm-guest/state-kept, which must then fail.
 */
#include "ql-test-pids.h"
#include "ql-test-util.h"
#include "ql-test-guest.h"

#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define SHELL_TIMEOUT_S 30

/* TPM2_GetRandom(8): tag TPM_ST_NO_SESSIONS, size 12, TPM_CC_GetRandom. */
#define GET_RANDOM_CMD "(exec 3<>/dev/tpm0; printf '\\200\\001\\000\\000\\000\\014\\000\\000\\001\\173\\000\\010' >&3; " \
                       "dd bs=64 count=1 <&3 2>/dev/null) | od -An -tx1"

/* No swtpm of @work after at most @timeout_ms. */
static gboolean
swtpm_gone (const char *work,
            guint       timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  for (;;)
    {
      g_autoptr(GArray) left = ql_test_find_processes_all ((const char *[]) { "swtpm socket", work, NULL });

      if (left->len == 0)
        return TRUE;
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      g_usleep (50000);
    }
}

static char *
shell_ok (QlTestGuest *guest,
          const char  *command)
{
  return ql_test_guest_shell_ok (guest, command, SHELL_TIMEOUT_S);
}

/* Boots the guest with @vm_text through `qlaunch run`, to its shell
 * within @shell_timeout_s; the time that took in *@seconds (nullable). */
static QlTestGuest *
boot_within (const char *work,
             const char *vm_text,
             guint       shell_timeout_s,
             double     *seconds)
{
  QlTestGuest *guest = ql_test_guest_new (work, vm_text, "shell", NULL);
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  ql_test_guest_use_run (guest, NULL);
  if (!ql_test_guest_start (guest))
    {
      g_autoptr(QlTestGuestResult) result = ql_test_guest_wait (guest);
      g_autofree char *describe = ql_test_guest_result_describe (result);

      g_error ("the guest did not start:\n%s", describe);
    }
  if (!ql_test_guest_wait_for_shell (guest, shell_timeout_s, &error))
    {
      g_autofree char *console = ql_test_guest_get_console (guest);
      g_autofree char *err = ql_test_guest_get_stderr (guest);

      g_error ("no shell: %s\nstderr: %s\nconsole: %s", error->message, err, console);
    }
  if (seconds != NULL)
    *seconds = (g_get_monotonic_time () - start) / 1e6;
  return guest;
}

/* Boots the guest with @vm_text through `qlaunch run`, to its shell. */
static QlTestGuest *
boot (const char *work,
      const char *vm_text)
{
  return boot_within (work, vm_text, 120, NULL);
}

/* What the guest sees of its TPM: a TPM 2.0 at /dev/tpm0 bound to
 * @driver, that answers TPM2_GetRandom; its PCR 0 is reported. */
static void
check_guest_tpm (QlTestGuest *guest,
                 const char  *driver)
{
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) bytes = NULL;
  g_autoptr(GPtrArray) words = g_ptr_array_new ();
  int status = -1;

  out = shell_ok (guest, "ls -1 /dev/tpm0 /dev/tpmrm0 && cat /sys/class/tpm/tpm0/tpm_version_major && "
                         "basename $(readlink /sys/class/tpm/tpm0/device/driver)");
  g_test_message ("guest TPM: %s", out);
  {
    g_auto(GStrv) lines = g_strsplit (out, "\n", -1);

    g_assert_cmpuint (g_strv_length (lines), ==, 4);
    g_assert_cmpstr (g_strstrip (lines[0]), ==, "/dev/tpm0");
    g_assert_cmpstr (g_strstrip (lines[1]), ==, "/dev/tpmrm0");
    g_assert_cmpstr (g_strstrip (lines[2]), ==, "2");
    g_assert_cmpstr (g_strstrip (lines[3]), ==, driver);
  }
  g_clear_pointer (&out, g_free);

  out = shell_ok (guest, GET_RANDOM_CMD);
  g_test_message ("TPM2_GetRandom(8) answer: %s", out);
  bytes = g_strsplit_set (out, " \n", -1);
  for (guint i = 0; bytes[i] != NULL; i++)
    if (*bytes[i] != '\0')
      g_ptr_array_add (words, bytes[i]);
  /* tag 8001, size 0x14, TPM_RC_SUCCESS, a TPM2B of 8 bytes. */
  g_assert_cmpuint (words->len, ==, 20);
  {
    static const char *const head[] = { "80", "01", "00", "00", "00", "14", "00", "00", "00", "00", "00", "08" };

    for (guint i = 0; i < G_N_ELEMENTS (head); i++)
      g_assert_cmpstr (g_ptr_array_index (words, i), ==, head[i]);
  }
  g_clear_pointer (&out, g_free);

  /* PCR 0 under SeaBIOS: read and reported, whatever it is. */
  out = ql_test_guest_shell (guest, "cat /sys/class/tpm/tpm0/pcr-sha256/0 2>&1; ls /sys/class/tpm/tpm0/ | tr '\\n' ' '",
                             SHELL_TIMEOUT_S, &status, &error);
  g_assert_no_error (error);
  g_test_message ("guest /sys/class/tpm/tpm0/pcr-sha256/0 (status %d): %s", status, g_strstrip (out));
}

/* Sends the TPM command @hex (spaces allowed) to the guest's /dev/tpm0
 * and returns the answer, in hex without spaces. */
static char *
tpm_command (QlTestGuest *guest,
             const char  *hex)
{
  g_autoptr(GString) escaped = g_string_new (NULL);
  g_autofree char *command = NULL;
  g_autofree char *out = NULL;
  char *answer;
  guint nibbles = 0, byte = 0;

  for (const char *p = hex; *p != '\0'; p++)
    {
      if (*p == ' ')
        continue;
      g_assert_true (g_ascii_isxdigit (*p));
      byte = byte * 16 + (guint) g_ascii_xdigit_value (*p);
      if (++nibbles % 2 == 0)
        {
          g_string_append_printf (escaped, "\\%03o", byte);
          byte = 0;
        }
    }
  g_assert_cmpuint (nibbles % 2, ==, 0);
  command = g_strdup_printf ("(exec 3<>/dev/tpm0; printf '%s' >&3; dd bs=4096 count=1 <&3 2>/dev/null) "
                             "| od -An -tx1 | tr -d ' \\n'", escaped->str);
  out = shell_ok (guest, command);
  answer = g_strdup (out);
  return answer;
}

/* The response code of a TPM answer (bytes 6 to 9). */
static guint32
tpm_rc (const char *answer)
{
  g_autofree char *rc = NULL;

  g_assert_cmpuint (strlen (answer), >=, 20);
  rc = g_strndup (answer + 12, 8);
  return (guint32) g_ascii_strtoull (rc, NULL, 16);
}

/* NV index 0x01500001, 8 bytes, owner/auth read and write, empty auth;
 * commands with one password session (TPM_RS_PW, empty). */
#define NV_DEFINE "8002 0000002d 0000012a 40000001 00000009 40000009 0000 00 0000 0000 000e 01500001 000b 00060006 0000 0008"
#define NV_WRITE  "8002 0000002b 00000137 01500001 01500001 00000009 40000009 0000 00 0000 0008 514c54504d4e5631 0000"
#define NV_READ   "8002 00000023 0000014e 01500001 01500001 00000009 40000009 0000 00 0000 0008 0000"
/* "QLTPMNV1", what NV_WRITE writes. */
#define NV_DATA   "514c54504d4e5631"
/* TPM_RC_RETRY: swtpm asks for the first NV write again. */
#define TPM_RC_RETRY 0x922

static void
assert_private_dir (const char *path)
{
  GStatBuf st;

  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_true (S_ISDIR (st.st_mode));
  g_assert_cmpuint (st.st_mode & 07777, ==, 0700);
}

static gboolean
skip_without (void)
{
  g_autofree char *swtpm = g_find_program_in_path ("swtpm");

  if (ql_test_guest_dir () == NULL)
    {
      g_test_skip ("no test guest in QLAUNCH_GUEST_DIR (meson compile -C BUILDDIR guest)");
      return TRUE;
    }
  if (swtpm == NULL)
    {
      g_test_skip ("no swtpm in PATH (Debian: swtpm)");
      return TRUE;
    }
  return FALSE;
}

static void
test_crb_q35 (void)
{
  g_autofree char *work = NULL, *runtime = NULL, *vm_text = NULL, *state = NULL;
  g_autoptr(QlTestGuest) guest = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  g_autoptr(GArray) swtpm = NULL;
  g_autoptr(GArray) qemu = NULL;
  GPid launcher;

  if (skip_without ())
    return;
  work = ql_test_make_tmpdir ();
  runtime = ql_test_make_runtime_dir (work, "rt");
  vm_text = g_strdup_printf ("[machine]\ntype=q35\n%s",
                             ql_test_guest_breaking ("tpm") ? "" : "[device tpm0]\ntype=tpm\n");
  guest = boot (work, vm_text);
  launcher = ql_test_guest_get_pid (guest);

  check_guest_tpm (guest, "tpm_crb");

  /* The emulator dies: the VM fails naming the device. */
  swtpm = ql_test_find_processes_all ((const char *[]) { "swtpm socket", work, NULL });
  qemu = ql_test_find_processes_all ((const char *[]) { "qemu-system", work, NULL });
  g_assert_cmpuint (swtpm->len, ==, 1);
  g_assert_cmpuint (qemu->len, ==, 1);
  g_assert_cmpint (kill (g_array_index (swtpm, GPid, 0), SIGKILL), ==, 0);
  result = ql_test_guest_wait (guest);
  g_test_message ("qlaunch run said: %s", result->qemu_stderr);
  g_assert_nonnull (strstr (result->qemu_stderr, "device 'tpm0': helper swtpm (pid "));
  g_assert_nonnull (strstr (result->qemu_stderr, "was killed by signal 9"));
  g_assert_nonnull (strstr (result->qemu_stderr, "QEMU was stopped"));
  g_assert_false (ql_test_pid_alive (g_array_index (qemu, GPid, 0)));
  g_assert_false (ql_test_pid_alive (launcher));
  g_assert_true (swtpm_gone (work, 2000));

  /* The VM's state stays. */
  state = g_build_filename (work, "guest.tpm", NULL);
  assert_private_dir (state);
  g_unsetenv ("XDG_RUNTIME_DIR");
  ql_test_rm_rf (work);
}

static void
test_tis_pc (void)
{
  g_autofree char *work = NULL, *runtime = NULL, *vm_text = NULL, *describe = NULL;
  g_autoptr(QlTestGuest) guest = NULL;
  g_autoptr(QlTestGuestResult) result = NULL;
  g_autoptr(GError) error = NULL;

  if (skip_without ())
    return;
  work = ql_test_make_tmpdir ();
  runtime = ql_test_make_runtime_dir (work, "rt");
  vm_text = g_strdup_printf ("[machine]\ntype=pc\n%s",
                             ql_test_guest_breaking ("tpm") ? ""
                             : "[device tpm0]\ntype=tpm\nmodel=tis\nstate-dir=tpm-state\n");
  guest = boot (work, vm_text);

  check_guest_tpm (guest, "tpm_tis");

  result = ql_test_guest_poweroff_pass (guest, SHELL_TIMEOUT_S, NULL);
  g_test_message ("guest run: %.1f s; qlaunch run said: %s", result->seconds, result->qemu_stderr);
  /* Nothing from QEMU, nor of a helper's failure. */
  g_assert_null (strstr (result->qemu_stderr, "qemu-system"));
  g_assert_null (strstr (result->qemu_stderr, "helper swtpm"));
  g_assert_true (swtpm_gone (work, 2000));
  {
    g_autofree char *state = g_build_filename (work, "tpm-state", NULL);

    assert_private_dir (state);
  }
  g_unsetenv ("XDG_RUNTIME_DIR");
  ql_test_rm_rf (work);
}

/* The TPM's state outlives the VM: an NV index the guest defines and
 * writes in one run is read back by the guest in the next. */
static void
test_state_kept (void)
{
  g_autofree char *work = NULL, *runtime = NULL, *vm_text = NULL;
  g_autofree char *state = NULL;
  gboolean break_state = ql_test_guest_breaking ("tpm-state");

  if (skip_without ())
    return;
  work = ql_test_make_tmpdir ();
  runtime = ql_test_make_runtime_dir (work, "rt");
  vm_text = g_strdup_printf ("[machine]\ntype=q35\n%s",
                             ql_test_guest_breaking ("tpm") ? "" : "[device tpm0]\ntype=tpm\n");
  state = g_build_filename (work, "guest.tpm", NULL);

  for (guint run = 0; run < 2; run++)
    {
      g_autoptr(QlTestGuest) guest = NULL;
      g_autoptr(QlTestGuestResult) result = NULL;
      g_autofree char *what = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *answer = NULL;
      g_autofree char *describe = NULL;

      guest = boot (work, vm_text);
      if (run == 0)
        {
          answer = tpm_command (guest, NV_DEFINE);
          g_test_message ("run 1: TPM2_NV_DefineSpace: %s", answer);
          g_assert_cmphex (tpm_rc (answer), ==, 0);
          for (guint attempt = 0; attempt < 5; attempt++)
            {
              g_clear_pointer (&answer, g_free);
              answer = tpm_command (guest, NV_WRITE);
              g_test_message ("run 1: TPM2_NV_Write: %s", answer);
              if (tpm_rc (answer) != TPM_RC_RETRY)
                break;
            }
          g_assert_cmphex (tpm_rc (answer), ==, 0);
        }
      else
        {
          answer = tpm_command (guest, NV_READ);
          g_test_message ("run 2: TPM2_NV_Read: %s", answer);
          g_assert_cmphex (tpm_rc (answer), ==, 0);
          /* parameterSize, then the TPM2B: 8 bytes, the data. */
          g_assert_nonnull (strstr (answer, "0008" NV_DATA));
        }
      what = g_strdup_printf ("run %u", run + 1);
      result = ql_test_guest_poweroff_pass (guest, SHELL_TIMEOUT_S, what);
      g_assert_true (swtpm_gone (work, 2000));
      assert_private_dir (state);
      /* Breaking it: the second run gets a fresh TPM. */
      if (run == 0 && break_state)
        ql_test_rm_rf (state);
    }
  g_unsetenv ("XDG_RUNTIME_DIR");
  ql_test_rm_rf (work);
}

/* The guest's PCR 0 of the SHA-256 bank: 64 hex digits. */
static char *
read_pcr0 (QlTestGuest *guest)
{
  g_autofree char *out = shell_ok (guest, "cat /sys/class/tpm/tpm0/pcr-sha256/0");
  char *pcr = g_ascii_strup (out, -1);

  g_assert_cmpuint (strlen (pcr), ==, 64);
  for (const char *p = pcr; *p != '\0'; p++)
    g_assert_true (g_ascii_isxdigit (*p));
  return pcr;
}

/* Reports the size of the firmware's event log as the guest's kernel
 * hands it on (securityfs), whatever it is. */
static void
report_event_log (QlTestGuest *guest,
                  const char  *what)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  int status = -1;

  out = ql_test_guest_shell (guest, "grep -q ' securityfs ' /proc/mounts || "
                                    "mount -t securityfs securityfs /sys/kernel/security; "
                                    "wc -c < /sys/kernel/security/tpm0/binary_bios_measurements",
                             SHELL_TIMEOUT_S, &status, &error);
  g_assert_no_error (error);
  g_test_message ("%s: the firmware's event log (binary_bios_measurements, status %d): %s bytes", what, status,
                  g_strstrip (out));
}

/* Powers the guest off from its shell; `qlaunch run` ends cleanly, and
 * its swtpm with it. */
static void
power_off (QlTestGuest *guest,
           const char  *work,
           const char  *what)
{
  g_autoptr(QlTestGuestResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *describe = NULL;

  result = ql_test_guest_poweroff_pass (guest, SHELL_TIMEOUT_S, what);
  g_test_message ("%s: guest run %.1f s", what, result->seconds);
  g_assert_null (strstr (result->qemu_stderr, "helper swtpm"));
  g_assert_true (swtpm_gone (work, 5000));
}

/* q35, UEFI (OVMF from the host's firmware descriptors) with direct kernel
 * boot, a tpm device (crb, emulator): the guest is a UEFI guest with
 * /dev/tpm0, and OVMF measured itself: PCR 0 is non-zero and not the value
 * SeaBIOS leaves there (the same VM file with [firmware] type = bios,
 * booted first). No swtpm is left after either run. */
static void
test_crb_q35_uefi (void)
{
  static const char zero[] = "0000000000000000000000000000000000000000000000000000000000000000";
  g_autofree char *work = NULL, *runtime = NULL, *state = NULL;
  g_autofree char *bios_text = NULL, *uefi_text = NULL;
  g_autofree char *bios_pcr = NULL, *uefi_pcr = NULL;
  g_autofree char *out = NULL;
  const char *tpm = ql_test_guest_breaking ("tpm") ? "" : "[device tpm0]\ntype=tpm\nmodel=crb\nbackend=emulator\n";
  QlTestGuest *guest;
  double seconds = 0;

  if (skip_without ())
    return;
  if (!g_file_test ("/usr/share/qemu/firmware/60-edk2-x86_64.json", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no OVMF firmware descriptors in /usr/share/qemu/firmware (Debian: ovmf)");
      return;
    }
  work = ql_test_make_tmpdir ();
  runtime = ql_test_make_runtime_dir (work, "rt");
  bios_text = g_strdup_printf ("[machine]\ntype=q35\n[firmware]\ntype=bios\n%s", tpm);
  uefi_text = g_strdup_printf ("[machine]\ntype=q35\n[firmware]\ntype=uefi\n%s", tpm);

  /* The reference: SeaBIOS. */
  guest = boot_within (work, bios_text, 120, &seconds);
  g_test_message ("SeaBIOS (q35, TCG): shell after %.1f s", seconds);
  bios_pcr = read_pcr0 (guest);
  g_test_message ("SeaBIOS: guest PCR 0 (sha256) = %s", bios_pcr);
  report_event_log (guest, "SeaBIOS");
  power_off (guest, work, "SeaBIOS");
  ql_test_guest_free (guest);

  /* UEFI: OVMF under TCG takes 20-30 s to the shell on an idle machine. */
  guest = boot_within (work, uefi_text, 300, &seconds);
  g_test_message ("OVMF (q35, TCG, direct kernel boot): shell after %.1f s", seconds);
  out = shell_ok (guest, "test -d /sys/firmware/efi && cat /sys/firmware/efi/fw_platform_size");
  g_assert_cmpstr (out, ==, "64");
  check_guest_tpm (guest, "tpm_crb");
  uefi_pcr = read_pcr0 (guest);
  g_test_message ("OVMF: guest PCR 0 (sha256) = %s", uefi_pcr);
  report_event_log (guest, "OVMF");
  g_clear_pointer (&out, g_free);
  out = shell_ok (guest, "dmesg | grep -i -e tpm -e 'event log' | tr '\\n' '|'");
  g_test_message ("OVMF: guest kernel on its TPM: %s", out);
  g_assert_cmpstr (uefi_pcr, !=, zero);
  g_assert_cmpstr (uefi_pcr, !=, bios_pcr);
  power_off (guest, work, "OVMF");
  ql_test_guest_free (guest);

  g_assert_true (swtpm_gone (work, 0));
  state = g_build_filename (work, "guest.tpm", NULL);
  assert_private_dir (state);
  g_unsetenv ("XDG_RUNTIME_DIR");
  ql_test_rm_rf (work);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/tpm-guest/crb-q35", test_crb_q35);
  g_test_add_func ("/tpm-guest/tis-pc", test_tis_pc);
  g_test_add_func ("/tpm-guest/state-kept", test_state_kept);
  g_test_add_func ("/tpm-guest/crb-q35-uefi", test_crb_q35_uefi);
  return g_test_run ();
}
