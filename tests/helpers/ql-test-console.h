/* qlaunch tests — the console of a `qlaunch` process or of a library VM on
 * pipes, driving the test guest's interactive shell (qltest=shell: the
 * guest reads a line, runs it and prints `QLTEST-DONE <status>`). Made for
 * clones of a template, whose guest already waits at its prompt. */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

typedef struct _QlTestConsole QlTestConsole;

/* `$QLAUNCH_BIN --plugin-dir $QLAUNCH_BUILD_PLUGIN_DIR ARGS...`, stdin,
 * stdout and stderr on pipes; it dies with the test process. */
QlTestConsole *ql_test_console_spawn_cli  (const char * const *args);
/* @vm's console on pipes (set before its launch): call
 * ql_test_console_watch_vm() once it was launched. */
QlTestConsole *ql_test_console_for_vm     (QlVm               *vm,
                                           const char         *what);
void           ql_test_console_watch_vm   (QlTestConsole      *c);
/* The pid of the `qlaunch` process (0 for a library VM). */
GPid           ql_test_console_get_pid    (QlTestConsole      *c);
/* QEMU's pid: the VM's, or the one of `qlaunch: QEMU started (pid N)` on
 * qlaunch's stderr so far (0 before that line). */
GPid           ql_test_console_get_qemu_pid (QlTestConsole    *c);
/* What qlaunch wrote on stderr so far (QEMU's stderr for a VM). */
const char    *ql_test_console_get_stderr (QlTestConsole      *c);
/* All the console printed so far (consumed or not). */
const char    *ql_test_console_get_output (QlTestConsole      *c);
/* Whether the process (or the VM) has ended; its output may still come. */
gboolean       ql_test_console_has_exited (QlTestConsole      *c);
/* Seconds since it was spawned (or since ql_test_console_for_vm()). */
double         ql_test_console_seconds    (QlTestConsole      *c);
/* Fails the program: @why, with the stderr and the end of the console. */
G_GNUC_NORETURN
void           ql_test_console_fail       (QlTestConsole      *c,
                                           const char         *why);
/* Writes @line and a newline to the console, as it is. */
void           ql_test_console_write      (QlTestConsole      *c,
                                           const char         *line);
/* The VM given to ql_test_console_for_vm() (NULL for a `qlaunch`
 * process). */
QlVm          *ql_test_console_get_vm     (QlTestConsole      *c);
/* Closes the console's input: the process reads end-of-file. */
void           ql_test_console_close_input (QlTestConsole     *c);
/* Waits (up to @timeout_s) until the console printed @text after what
 * was consumed so far, and consumes the output up to and including it.
 * Fails the test after @timeout_s, or if it ends first. */
void           ql_test_console_wait_for   (QlTestConsole      *c,
                                           const char         *text,
                                           guint               timeout_s);
/* Writes @command for the guest's shell; the first line written to the
 * console gets a leading blank (QEMU's serial port takes one byte before
 * a clone's state is loaded, and loading it drops that byte). */
void           ql_test_console_send       (QlTestConsole      *c,
                                           const char         *command);
/* Reads the console until the end of @command, written by
 * ql_test_console_send(): its output (stripped, without the shell's
 * prompt lines), and @status. Fails the test after @timeout_s, or if it
 * ends first. */
char          *ql_test_console_collect    (QlTestConsole      *c,
                                           const char         *command,
                                           guint               timeout_s,
                                           int                *status);
/* Both: runs @command in the guest: its output (stripped), and @status.
 * Fails the test after @timeout_s, or if it ends first. */
char          *ql_test_console_shell      (QlTestConsole      *c,
                                           const char         *command,
                                           guint               timeout_s,
                                           int                *status);
/* The same; a non-zero status fails the test. */
char          *ql_test_console_shell_ok   (QlTestConsole      *c,
                                           const char         *command,
                                           guint               timeout_s);
/* Waits (up to @timeout_s) for it to end and its output to close: the
 * exit status (qlaunch's, or QEMU's). */
int            ql_test_console_wait       (QlTestConsole      *c,
                                           guint               timeout_s);
/* Called about every 5 ms while ql_test_console_wait_polling() waits,
 * until it returns FALSE. */
typedef gboolean (*QlTestConsolePoll) (gpointer data);
/* ql_test_console_wait() that also calls @poll (nullable) with @data
 * every 5 ms or so until @poll returns FALSE: to notice short-lived
 * things (a process in /proc) while it runs. */
int            ql_test_console_wait_polling (QlTestConsole    *c,
                                             guint             timeout_s,
                                             QlTestConsolePoll poll,
                                             gpointer          data);
/* Sends `poweroff` and waits (up to @timeout_s) for it to end: the exit
 * status (qlaunch's, or QEMU's). */
int            ql_test_console_poweroff   (QlTestConsole      *c,
                                           guint               timeout_s);
/* Sends `poweroff` and asserts that it ends (within @timeout_s) with
 * status 0 after the guest's shell said `QLTEST-PASS shell`. */
void           ql_test_console_poweroff_ok (QlTestConsole     *c,
                                            guint              timeout_s);
/* Stops what still runs and waits for it. */
void           ql_test_console_free       (QlTestConsole      *c);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlTestConsole, ql_test_console_free)

G_END_DECLS
