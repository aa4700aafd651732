/* qlaunch tests — boot the test guest with the argv `qlaunch args` builds.
 *
 * The guest (tests/guest/: a Debian kernel and a busybox initramfs, built
 * by tests/guest/make-guest.sh into $QLAUNCH_GUEST_DIR) runs one check named
 * on its kernel command line and prints markers on its serial console:
 * `QLTEST-READY`, then `QLTEST-PASS <check> <details>` or
 * `QLTEST-FAIL <check> <reason>`, then powers off. See tests/guest/init for
 * the checks and their parameters.
 *
 * A QlTestGuest writes a VM file (the test's text, completed with the
 * guest's [kernel] group and defaults), runs the built
 * `qlaunch --plugin-dir $QLAUNCH_BUILD_PLUGIN_DIR args --format json` on it,
 * and starts QEMU with that argv plus `-serial stdio -display none
 * -no-reboot`. It reads the console until a result marker (and QEMU's exit)
 * or the timeout, kills QEMU when it has to, and never leaves a process
 * behind: every child it starts dies with the test process (PDEATHSIG).
 *
 * With the check `shell` the guest is interactive: between
 * ql_test_guest_start() and ql_test_guest_wait() (or instead of the
 * latter), ql_test_guest_shell() runs commands in it over the console while
 * the test drives QEMU (e.g. over QMP: put a [qmp NAME] group in the VM
 * text, see ql_test_guest_get_qmp_path()). The console is read only inside
 * these calls; everything it printed still ends up in the result's console.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  QL_TEST_GUEST_PASS,          /* the guest printed QLTEST-PASS */
  QL_TEST_GUEST_FAIL,          /* the guest printed QLTEST-FAIL */
  QL_TEST_GUEST_TIMEOUT,       /* no result marker in time; QEMU was killed */
  QL_TEST_GUEST_NO_RESULT,     /* QEMU exited without a result marker */
  QL_TEST_GUEST_LAUNCH_ERROR,  /* qlaunch refused the VM or QEMU did not start */
} QlTestGuestStatus;

typedef struct
{
  QlTestGuestStatus status;
  char *check;          /* the check named in the marker */
  char *details;        /* the marker's text after "<check> " */
  char *console;        /* everything the console printed, without '\r' */
  char *qemu_stderr;    /* QEMU's standard error */
  char *error;          /* why the launch failed (LAUNCH_ERROR only) */
  char **argv;          /* the QEMU argv started (NULL if none) */
  gboolean ready;       /* QLTEST-READY was seen */
  double seconds;       /* wall time from QEMU's start to its end */
} QlTestGuestResult;

typedef struct _QlTestGuest QlTestGuest;

/* The kernel parameters every boot of the test guest starts with: the
 * console on the first serial port, only errors from the kernel, power off
 * on a panic, and no crypto self-tests (0.4 s of a 3 s boot under TCG). */
#define QL_TEST_GUEST_PARAMS "console=ttyS0 quiet panic=-1 cryptomgr.notests"

/* $QLAUNCH_GUEST_DIR if it holds vmlinux and initramfs.img, else NULL. */
const char        *ql_test_guest_dir              (void);
/* Whether $QLAUNCH_GUEST_BREAK (names, comma-separated) names @name: the
 * case then breaks what it checks on purpose (a test message says so),
 * to prove that it can fail. */
gboolean           ql_test_guest_breaking         (const char   *name);
/* Without the test guest: skips the test case (g_test_skip(), saying how
 * to build it) and returns TRUE; with it, FALSE. */
gboolean           ql_test_skip_without_guest     (void);

/* A guest run in @work_dir (which must exist; the VM file is written there
 * as guest.vm, so relative paths in @vm_text resolve against it).
 * @vm_text: VM file text without a [kernel] group. Missing keys are filled
 * in: [machine] type=q35, acceleration=tcg; [memory] size=256M; [knobs]
 * no-defaults=true, no-user-config=true; [vm] name=qltest.
 * @check: the guest check (qltest=@check).
 * @check_args: (nullable) more kernel parameters, e.g. "qltest.dev=vda". */
QlTestGuest       *ql_test_guest_new              (const char   *work_dir,
                                                   const char   *vm_text,
                                                   const char   *check,
                                                   const char   *check_args);
/* Seconds ql_test_guest_wait() waits for a result marker (default 60);
 * 0 kills QEMU at once (e.g. the source of a migration) and keeps its
 * console in the result (status TIMEOUT). */
void               ql_test_guest_set_timeout      (QlTestGuest  *guest,
                                                   guint         seconds);
/* More QEMU arguments, after the harness's (e.g. "-incoming", "defer" for
 * the destination of a migration that reuses the source's VM text: give it
 * another [qmp] path, or free the source first). Before start. */
void               ql_test_guest_add_qemu_args    (QlTestGuest  *guest,
                                                   const char * const *args);
/* Launches through `qlaunch run` (which runs the devices' helper
 * processes) instead of `qlaunch args` + QEMU: QEMU's console is on
 * qlaunch's standard output, the guest's serial port being QEMU's default
 * one ([knobs] no-graphic = true and no-defaults = false unless the VM text
 * says otherwise). @run_args: (nullable) more arguments of `run`, before
 * VMFILE. No extra QEMU arguments then. Before start. */
void               ql_test_guest_use_run          (QlTestGuest  *guest,
                                                   const char * const *run_args);
/* The pid of the process started: QEMU, or `qlaunch run`. */
GPid               ql_test_guest_get_pid          (QlTestGuest  *guest);
/* Its standard error so far (QEMU's; qlaunch's with ql_test_guest_use_run()). */
char              *ql_test_guest_get_stderr       (QlTestGuest  *guest);
/* Reads until its standard error holds @text; FALSE after @timeout_ms or
 * when it exited without. */
gboolean           ql_test_guest_wait_for_stderr  (QlTestGuest  *guest,
                                                   const char   *text,
                                                   guint         timeout_ms);
/* The completed VM file text (after ql_test_guest_start()). */
const char        *ql_test_guest_get_vm_text      (QlTestGuest  *guest);
/* The socket path of the VM text's first [qmp NAME] group (relative paths
 * resolved against the work directory), or NULL. Owned by @guest. */
const char        *ql_test_guest_get_qmp_path     (QlTestGuest  *guest);
/* Runs `qlaunch args` and starts QEMU. FALSE (and the reason in the result
 * of ql_test_guest_wait()) when qlaunch refuses the VM or QEMU cannot be
 * spawned. */
gboolean           ql_test_guest_start            (QlTestGuest  *guest);
/* Reads the console until a result marker and QEMU's exit, or the timeout
 * (then QEMU is killed). QEMU is gone when this returns. Call once. */
QlTestGuestResult *ql_test_guest_wait             (QlTestGuest  *guest);
/* Kills QEMU if it still runs and waits for it. */
void               ql_test_guest_free             (QlTestGuest  *guest);

/* The interactive shell of the check `shell` (tests/guest/init): the guest
 * prints `QLTEST-SHELL`, reads one line, runs it (eval in a subshell, stdin
 * /dev/null, output on the console) and prints `QLTEST-DONE <status>`.
 * These calls work after a successful ql_test_guest_start() and before
 * ql_test_guest_wait(); on failure they set @error (G_IO_ERROR_TIMED_OUT,
 * or G_IO_ERROR_CLOSED when QEMU exited, with the end of the console). */

/* Waits for the guest's first prompt (boot takes about 6 s under TCG). */
gboolean           ql_test_guest_wait_for_shell   (QlTestGuest  *guest,
                                                   guint         timeout_s,
                                                   GError      **error);
/* Runs @command (one line, at most 4000 bytes) in the guest: waits for the
 * prompt if needed, writes @command and '\n' to QEMU's stdin and returns
 * what the guest printed until `QLTEST-DONE`, without '\r' (stdout and
 * stderr; commands do not echo). @exit_status: (nullable) the command's
 * status. @timeout_s bounds the whole call. Each command runs in its own
 * subshell: cd and variables do not carry over, files do. */
char              *ql_test_guest_shell            (QlTestGuest  *guest,
                                                   const char   *command,
                                                   guint         timeout_s,
                                                   int          *exit_status,
                                                   GError      **error);
/* ql_test_guest_shell() that fails the test on an error or a non-zero
 * status: the output, stripped. */
char              *ql_test_guest_shell_ok         (QlTestGuest  *guest,
                                                   const char   *command,
                                                   guint         timeout_s);
/* The name of the guest's network interface with MAC address @mac,
 * which may take the guest up to 5 s to show; fails the test when there
 * is none. */
char              *ql_test_guest_interface        (QlTestGuest  *guest,
                                                   const char   *mac,
                                                   guint         timeout_s);
/* Waits for the prompt and sends `poweroff`: the guest prints
 * `QLTEST-PASS shell <N> commands` and powers off; ql_test_guest_wait()
 * then returns PASS. */
gboolean           ql_test_guest_shell_poweroff   (QlTestGuest  *guest,
                                                   guint         timeout_s,
                                                   GError      **error);
/* ql_test_guest_shell_poweroff() (within @timeout_s), then
 * ql_test_guest_wait(): fails the test unless the guest powered off
 * cleanly (PASS), with the run described and @what (nullable) before
 * it. Returns: (transfer full): the result. */
QlTestGuestResult *ql_test_guest_poweroff_pass    (QlTestGuest  *guest,
                                                   guint         timeout_s,
                                                   const char   *what);
/* The guest already waits at a prompt that was printed on another QEMU's
 * console (this QEMU is the destination of a migration): the next shell
 * call does not wait for one. */
void               ql_test_guest_assume_shell     (QlTestGuest  *guest);
/* Everything the console printed so far, without '\r'. */
char              *ql_test_guest_get_console      (QlTestGuest  *guest);

/* new + start + wait + free. */
QlTestGuestResult *ql_test_guest_run              (const char   *work_dir,
                                                   const char   *vm_text,
                                                   const char   *check,
                                                   const char   *check_args);

void               ql_test_guest_result_free      (QlTestGuestResult *result);
/* A multi-line description (status, details, argv, stderr, console tail)
 * for a failure message. */
char              *ql_test_guest_result_describe  (const QlTestGuestResult *result);
const char        *ql_test_guest_status_name      (QlTestGuestStatus status);

/* Helpers for guest tests. */

/* Starts @argv like g_subprocess_newv() but the child is killed when the
 * test process dies (PR_SET_PDEATHSIG). */
GSubprocess       *ql_test_spawn                  (const char * const *argv,
                                                   GSubprocessFlags    flags,
                                                   GError            **error);
/* Runs @argv to completion; FALSE with its stderr in @error on failure. */
gboolean           ql_test_run                    (const char * const *argv,
                                                   GError            **error);
/* Connects to the unix socket @path, retrying for up to @timeout_ms while it
 * does not exist or refuses connections. */
GSocket           *ql_test_unix_connect           (const char   *path,
                                                   guint         timeout_ms,
                                                   GError      **error);
/* Everything @socket delivers until EOF or @timeout_ms. */
char              *ql_test_socket_read_all        (GSocket      *socket,
                                                   guint         timeout_ms);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlTestGuest, ql_test_guest_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlTestGuestResult, ql_test_guest_result_free)

G_END_DECLS
