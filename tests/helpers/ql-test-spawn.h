/* Test helpers: processes a test starts and waits for with a limit (QEMU,
 * its daemons, qlaunch), which die with the test and leave no core file. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Spawns @argv with @flags; @pass_fd (if >= 0) is given to the child as
 * @target_fd (a duplicate: the caller keeps its own). Fails the test if the
 * spawn fails. */
GSubprocess *ql_test_spawn_child          (const char * const *argv,
                                     int                 pass_fd,
                                     int                 target_fd,
                                     GSubprocessFlags    flags);
/* Waits for @p to exit, at most @limit_s seconds (then kills it and fails
 * the test), with what it wrote on its piped stdout and stderr; returns its
 * exit status, -1 if a signal ended it. */
int          ql_test_wait_exit      (GSubprocess        *p,
                                     guint               limit_s,
                                     char              **out,
                                     char              **err);
/* `qlaunch --plugin-dir BUILD ARGS...` (and @pass_fd as @target_fd) through
 * the two above. */
int          ql_test_run_qlaunch    (const char * const *args,
                                     int                 pass_fd,
                                     int                 target_fd,
                                     guint               limit_s,
                                     char              **out,
                                     char              **err);
/* The QEMU argv that `qlaunch --plugin-dir BUILD ARGS...` prints as a
 * JSON array (@args: `args [OPTIONS] --format json VMFILE`), with
 * `-display none` added: asserts that qlaunch exits 0 (within @limit_s)
 * with nothing on stderr. @pass_fd and @target_fd as for
 * ql_test_run_qlaunch(). */
GStrv        ql_test_qemu_argv      (const char * const *args,
                                     int                 pass_fd,
                                     int                 target_fd,
                                     guint               limit_s);

G_END_DECLS
