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

/* $QLAUNCH_GUEST_DIR if it holds vmlinuz and initramfs.img, else NULL. */
const char        *ql_test_guest_dir              (void);

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
/* Seconds to wait for a result marker (default 60). */
void               ql_test_guest_set_timeout      (QlTestGuest  *guest,
                                                   guint         seconds);
/* The completed VM file text (after ql_test_guest_start()). */
const char        *ql_test_guest_get_vm_text      (QlTestGuest  *guest);
/* Runs `qlaunch args` and starts QEMU. FALSE (and the reason in the result
 * of ql_test_guest_wait()) when qlaunch refuses the VM or QEMU cannot be
 * spawned. */
gboolean           ql_test_guest_start            (QlTestGuest  *guest);
/* Reads the console until a result marker and QEMU's exit, or the timeout
 * (then QEMU is killed). QEMU is gone when this returns. Call once. */
QlTestGuestResult *ql_test_guest_wait             (QlTestGuest  *guest);
/* Kills QEMU if it still runs and waits for it. */
void               ql_test_guest_free             (QlTestGuest  *guest);

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
