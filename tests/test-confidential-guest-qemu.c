/* Suite qemu: confidential guests on this host, which has no SEV: what
 * qlaunch refuses first, and what the real QEMU 7.2 does with each argv
 * qlaunch builds for another host (`qlaunch args --no-host-checks`).
 *
 * - sev-snp-guest and tdx-guest: `qlaunch check` (host checks on, so the
 *   binary is probed) refuses the object type QEMU 7.2 lacks, with an
 *   exact message naming the binary and what it offers; QEMU itself
 *   refuses the argv at option parsing ("Parameter 'qom-type' does not
 *   accept value ...").
 * - sev-guest: `qlaunch check` reads the host's SEV support from
 *   /sys/module/kvm_amd/parameters/sev and refuses it here; under TCG
 *   (tests never run KVM) QEMU 7.2 aborts on an assertion, which is why
 *   qlaunch refuses any acceleration but kvm.
 * - QMP query-sev-capabilities on a running QEMU (TCG), through the
 *   library's ql_qmp_query_sev_capabilities() and `qlaunch qmp`: QEMU's
 *   exact error.
 *
 * Every QEMU here runs with accel=tcg: the argv's accel=kvm is replaced;
 * the refusals shown happen before any accelerator starts, or (sev-guest)
 * are TCG's own.
 */
#include "ql-test-spawn.h"
#include "ql-test-util.h"
#include "ql-test-qmp.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <qlaunch/qlaunch.h>

/* A failing QEMU exits within a second; this bounds a hang. */
#define QEMU_TIMEOUT_S 30
#define QMP_TIMEOUT_MS 20000

static gboolean
have_qemu (void)
{
  g_autofree char *qemu = g_find_program_in_path ("qemu-system-x86_64");

  if (qemu == NULL)
    g_test_skip ("qemu-system-x86_64 is not installed");
  return qemu != NULL;
}

/* `qlaunch check VM_FILE` with host checks on: status 1 and exactly
 * @expected_here on stderr, after the refusal of the VM's acceleration =
 * kvm on a host where /dev/kvm cannot be opened. */
static void
assert_check_says (const char *vm_file,
                   const char *expected_here)
{
  const char *args[] = { "check", vm_file, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = ql_test_run_qlaunch (args, -1, -1, QEMU_TIMEOUT_S, &out, &err);
  int kvm = open ("/dev/kvm", O_RDWR | O_CLOEXEC);
  g_autofree char *kvm_refused = NULL;
  g_autofree char *err_no_line = NULL;
  const char *rest = err;

  g_autofree char *text = NULL;

  g_assert_true (g_file_get_contents (vm_file, &text, NULL, NULL));
  if (kvm >= 0)
    close (kvm);
  else if (strstr (text, "acceleration = kvm\n") != NULL)
    kvm_refused = g_strdup_printf ("qlaunch: %s: [machine] acceleration: 'kvm' is not usable on this host: %s\n",
                                   vm_file, g_strerror (errno));

  g_test_message ("qlaunch check said: %s", err);
  g_assert_cmpint (status, ==, 1);
  if (kvm_refused != NULL)
    {
      g_assert_true (g_str_has_prefix (err, kvm_refused));
      rest = err + strlen (kvm_refused);
    }
  /* The device's line in the VM file is not what these cases are about. */
  err_no_line = ql_test_without_line (rest, vm_file);
  g_assert_cmpstr (err_no_line, ==, expected_here);
}

/* `qlaunch args --no-host-checks --format json` (the argv for another
 * host), with accel=kvm replaced by accel=tcg and -display none added. */
static GStrv
qlaunch_argv_tcg (const char *vm_file)
{
  const char *args[] = { "args", "--no-host-checks", "--format", "json", vm_file, NULL };
  GStrv argv = ql_test_qemu_argv (args, -1, -1, QEMU_TIMEOUT_S);
  gboolean replaced = FALSE;

  for (guint i = 1; argv[i] != NULL; i++)
    if (g_str_equal (argv[i - 1], "-machine") && strstr (argv[i], "accel=kvm") != NULL)
      {
        g_auto(GStrv) parts = g_strsplit (argv[i], "accel=kvm", 2);

        g_free (argv[i]);
        argv[i] = g_strjoinv ("accel=tcg", parts);
        replaced = TRUE;
      }
  g_assert_true (replaced);
  return argv;
}

static void
assert_argv_has (GStrv       argv,
                 const char *arg)
{
  if (!g_strv_contains ((const char * const *) argv, arg))
    {
      g_autofree char *joined = g_strjoinv (" ", argv);

      g_error ("argv lacks '%s': %s", arg, joined);
    }
}

/* Runs QEMU on @argv; its exit status (-1: killed by a signal, whose
 * number goes to @signal_out) and stderr. */
static int
run_qemu (GStrv   argv,
          int    *signal_out,
          char  **err)
{
  g_autoptr(GSubprocess) qemu = ql_test_spawn_child ((const char * const *) argv, -1, -1,
                                                     G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                     G_SUBPROCESS_FLAGS_STDERR_PIPE);
  int status = ql_test_wait_exit (qemu, QEMU_TIMEOUT_S, NULL, err);

  *signal_out = g_subprocess_get_if_signaled (qemu) ? g_subprocess_get_term_sig (qemu) : 0;
  g_test_message ("QEMU said: %s", *err);
  return status;
}

/* "/usr/bin/qemu-system-x86_64 7.2.22", as qlaunch names the probed QEMU. */
static char *
probed_qemu (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlQemuCaps) caps = ql_qemu_caps_lookup ("qemu-system-x86_64", NULL,
                                                    QL_QEMU_CAPS_LOOKUP_NONE, NULL, &error);

  g_assert_no_error (error);
  return g_strdup_printf ("%s %s", ql_qemu_caps_get_binary (caps), ql_qemu_caps_get_version_string (caps));
}

static gboolean
qemu_has_object_type (const char *type)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(QlQemuCaps) caps = ql_qemu_caps_lookup ("qemu-system-x86_64", NULL,
                                                    QL_QEMU_CAPS_LOOKUP_NONE, NULL, &error);
  g_auto(GStrv) types = NULL;

  g_assert_no_error (error);
  types = ql_qemu_caps_list_object_types (caps);
  return g_strv_contains ((const char * const *) types, type);
}

#define VM_KVM "[machine]\ntype = q35\nacceleration = kvm\n[memory]\nsize = 256M\n" \
  "[knobs]\nno-defaults = true\nstopped = true\n"

/* ---- object types QEMU 7.2 lacks ---- */

static void
test_missing_object_type (gconstpointer data)
{
  const char *type = data;
  gboolean tdx = g_str_equal (type, "tdx-guest");
  const char *since = tdx ? "10.1" : "9.1";
  g_autofree char *dir = NULL;
  g_autofree char *vm_file = NULL;
  g_autofree char *text = NULL;
  g_autofree char *qemu = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *object = NULL;
  g_autofree char *qemu_error = NULL;
  g_autofree char *err = NULL;
  g_auto(GStrv) argv = NULL;
  int sig = 0;

  if (!have_qemu ())
    return;
  if (qemu_has_object_type (type))
    {
      g_test_skip ("this QEMU has the object type");
      return;
    }
  g_assert_true (qemu_has_object_type ("sev-guest"));

  dir = ql_test_make_tmpdir ();
  text = g_strdup_printf (VM_KVM "[device cvm0]\ntype = confidential-guest\nobject-type = %s\n%s",
                          type, tdx ? "sept-ve-disable = true\n" : "cbitpos = 51\nreduced-phys-bits = 1\n");
  vm_file = ql_test_write_file (dir, "test.vm", text);

  /* qlaunch: the object type, the binary, what it offers; nothing else
   * (the host checks that would follow are not reached). */
  qemu = probed_qemu ();
  expected = g_strdup_printf ("qlaunch: %s: device 'cvm0': property 'object-type': %s has no object type '%s' "
                              "(QEMU has it since %s); the confidential-guest object types it offers: sev-guest\n",
                              vm_file, qemu, type, since);
  assert_check_says (vm_file, expected);

  /* QEMU: refused while parsing -object, status 1. */
  argv = qlaunch_argv_tcg (vm_file);
  object = tdx ? g_strdup ("tdx-guest,id=cvm0,sept-ve-disable=on")
               : g_strdup_printf ("%s,id=cvm0,cbitpos=51,reduced-phys-bits=1", type);
  assert_argv_has (argv, object);
  assert_argv_has (argv, "q35,accel=tcg,confidential-guest-support=cvm0");
  g_assert_cmpint (run_qemu (argv, &sig, &err), ==, 1);
  qemu_error = g_strdup_printf ("qemu-system-x86_64: -object %s: Parameter 'qom-type' does not accept value '%s'\n",
                                object, type);
  g_assert_cmpstr (err, ==, qemu_error);
  ql_test_rm_rf (dir);
}

/* ---- sev-guest on a host without SEV ---- */

static void
test_sev_guest_no_sev (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *vm_file = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *err = NULL;
  g_auto(GStrv) argv = NULL;
  int sig = 0;

  if (!have_qemu ())
    return;
  if (g_file_test ("/sys/module/kvm_amd/parameters/sev", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("this host has the kvm_amd module");
      return;
    }

  dir = ql_test_make_tmpdir ();
  vm_file = ql_test_write_file (dir, "test.vm",
                                VM_KVM "[device sev0]\ntype = confidential-guest\ncbitpos = 51\nreduced-phys-bits = 1\n");

  /* qlaunch reads the host's SEV support itself. */
  if (access ("/dev/kvm", R_OK | W_OK) == 0)
    {
      expected = g_strdup_printf ("qlaunch: %s: device 'sev0': property 'object-type': this host has no AMD SEV "
                                  "for sev-guest: /sys/module/kvm_amd/parameters/sev cannot be read (Failed to open "
                                  "file “/sys/module/kvm_amd/parameters/sev”: No such file or directory)\n",
                                  vm_file);
      assert_check_says (vm_file, expected);
    }

  /* What QEMU 7.2 does with it under TCG: no refusal, an abort. */
  argv = qlaunch_argv_tcg (vm_file);
  assert_argv_has (argv, "sev-guest,id=sev0,cbitpos=51,reduced-phys-bits=1");
  g_assert_cmpint (run_qemu (argv, &sig, &err), ==, -1);
  g_assert_cmpint (sig, ==, SIGABRT);
  g_assert_cmpstr (err, ==,
                   "qemu-system-x86_64: ../../softmmu/vl.c:2590: qemu_machine_creation_done: "
                   "Assertion `machine->cgs->ready' failed.\n");
  ql_test_rm_rf (dir);
}

/* qlaunch refuses that argv: acceleration tcg. */
static void
test_sev_guest_tcg_refused (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *vm_file = NULL;
  g_autofree char *expected = NULL;

  if (!have_qemu ())
    return;
  dir = ql_test_make_tmpdir ();
  vm_file = ql_test_write_file (dir, "test.vm",
                                "[machine]\ntype = q35\nacceleration = tcg\n"
                                "[device sev0]\ntype = confidential-guest\ncbitpos = 51\nreduced-phys-bits = 1\n");
  expected = g_strdup_printf ("qlaunch: %s: device 'sev0': property 'object-type': sev-guest needs KVM (the CPU "
                              "encrypts guest memory), but [machine] acceleration is 'tcg': set acceleration = kvm "
                              "(alone: no fallback to TCG)\n", vm_file);
  assert_check_says (vm_file, expected);
  ql_test_rm_rf (dir);
}

/* ---- QMP on a QEMU without SEV ---- */

static void
test_query_sev_capabilities (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *vm_file = NULL;
  g_autofree char *text = NULL;
  g_autofree char *sock = NULL;
  g_autoptr(QlTestQmp) qmp = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) qemu = NULL;
  g_autoptr(JsonNode) sev = NULL;
  g_auto(GStrv) argv = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  if (!have_qemu ())
    return;
  dir = ql_test_make_tmpdir ();
  sock = g_build_filename (dir, "qmp.sock", NULL);
  text = g_strdup_printf (VM_KVM "[qmp q]\ntype = unix\npath = %s\nserver = true\nno-wait = true\n", sock);
  vm_file = ql_test_write_file (dir, "test.vm", text);
  argv = qlaunch_argv_tcg (vm_file);
  qemu = ql_test_spawn_child ((const char * const *) argv, -1, -1,
                              G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  qmp = ql_test_qmp_connect (sock, QMP_TIMEOUT_MS, &error);
  g_assert_no_error (error);

  /* query-sev answers: not enabled. */
  sev = ql_test_qmp_execute (qmp, "query-sev", NULL, &error);
  g_assert_no_error (error);
  g_assert_false (json_object_get_boolean_member (json_node_get_object (sev), "enabled"));
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (sev), "state"), ==, "uninit");
  /* The -qmp monitor serves one client at a time. */
  g_clear_pointer (&qmp, ql_test_qmp_free);

  /* Through the library's typed command: QEMU's class and description. */
  {
    g_autoptr(QlQmp) client = ql_qmp_new ();
    g_autofree char *pdh = NULL;
    guint cbitpos = 99;

    ql_qmp_connect (client, sock, QMP_TIMEOUT_MS, NULL, &error);
    g_assert_no_error (error);
    g_assert_false (ql_qmp_query_sev_capabilities (client, &pdh, NULL, &cbitpos, NULL, NULL, &error));
    g_assert_error (error, QL_QMP_ERROR, QL_QMP_ERROR_GENERIC);
    g_assert_cmpstr (ql_qmp_error_get_class (error), ==, "GenericError");
    g_assert_cmpstr (error->message, ==, "query-sev-capabilities: KVM not enabled");
    g_assert_null (pdh);
    g_assert_cmpuint (cbitpos, ==, 99);
    g_clear_error (&error);
    ql_qmp_close (client);
  }

  /* Through qlaunch qmp: QEMU's error class and description. */
  {
    const char *args[] = { "qmp", sock, "query-sev-capabilities", NULL };

    g_assert_cmpint (ql_test_run_qlaunch (args, -1, -1, QEMU_TIMEOUT_S, &out, &err), ==, 1);
    g_assert_cmpstr (out, ==, "");
    g_assert_cmpstr (err, ==, "qlaunch: qmp query-sev-capabilities: GenericError: KVM not enabled\n");
  }
  {
    const char *args[] = { "qmp", sock, "quit", NULL };

    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (ql_test_run_qlaunch (args, -1, -1, QEMU_TIMEOUT_S, &out, &err), ==, 0);
  }
  g_subprocess_wait (qemu, NULL, &error);
  g_assert_no_error (error);
  ql_test_rm_rf (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/confidential-qemu/missing/sev-snp-guest", "sev-snp-guest", test_missing_object_type);
  g_test_add_data_func ("/confidential-qemu/missing/tdx-guest", "tdx-guest", test_missing_object_type);
  g_test_add_func ("/confidential-qemu/sev-guest/no-sev", test_sev_guest_no_sev);
  g_test_add_func ("/confidential-qemu/sev-guest/tcg-refused", test_sev_guest_tcg_refused);
  g_test_add_func ("/confidential-qemu/qmp/query-sev-capabilities", test_query_sev_capabilities);

  return g_test_run ();
}
