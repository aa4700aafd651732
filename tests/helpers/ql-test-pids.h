/* qlaunch tests — processes found through /proc: QEMUs and helpers a test
 * started, their parents and arguments. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The live processes (no zombie, not this one), as a GArray of GPid,
 * whose program's base name starts with @program (NULL: any program) and
 * whose command line (its arguments joined with ' ') holds @needle. */
GArray  *ql_test_find_processes      (const char *program,
                                      const char *needle);
/* The live processes (not this one) whose command line holds every one
 * of @needles (NULL-terminated). */
GArray  *ql_test_find_processes_all  (const char * const *needles);
/* The processes of @pids whose parent is @parent (a new array). */
GArray  *ql_test_children_among      (GArray     *pids,
                                      GPid        parent);
/* ql_test_find_processes ("qemu-system-", @needle). */
GArray  *ql_test_qemu_pids           (const char *needle);
/* What ql_test_qemu_seen_poll() watches for. */
typedef struct
{
  const char *needle;
  gboolean    seen;
} QlTestQemuSeen;
/* For ql_test_console_wait_polling(): sets @data's seen once a QEMU
 * whose command line holds its needle runs; FALSE then (no need to look
 * again). @data: a QlTestQemuSeen. */
gboolean ql_test_qemu_seen_poll      (gpointer    data);
/* Waits up to @timeout_ms until ql_test_find_processes (@program,
 * @needle) finds none; whether none is left. */
gboolean ql_test_wait_processes_gone (const char *program,
                                      const char *needle,
                                      guint       timeout_ms);
/* Fails the test when a QEMU whose command line holds @needle is still
 * there after a second (one that is being reaped gets that second). */
void     ql_test_assert_no_qemu      (const char *needle);
/* The parent of @pid, 0 when it is gone. */
GPid     ql_test_parent_of           (GPid        pid);
/* The one process of @pids whose parent is @parent; fails the test,
 * naming @what, when there is none or more. */
GPid     ql_test_only_child_of       (GArray     *pids,
                                      GPid        parent,
                                      const char *what);
/* The value of @key in /proc/@pid/status (tabs turned to spaces,
 * stripped); fails the test when there is none. */
char    *ql_test_proc_status         (GPid        pid,
                                      const char *key);
/* The arguments of @pid, each followed by ' ' (the last one too); NULL
 * when it is gone. */
char    *ql_test_process_args        (GPid        pid);

G_END_DECLS
