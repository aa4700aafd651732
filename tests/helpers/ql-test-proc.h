/* Test helpers: a process whose guest console is on pipes (`qlaunch run`,
 * `qlaunch template clone`, a floor driver), driven from the default main
 * context: the benchmarks' way to time a guest's answers. A failure ends
 * the program (g_error) with the process's stderr and the end of its
 * console. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The test guest's shell (tests/guest/init, qltest=shell). */
#define QL_TEST_SHELL_PROMPT "QLTEST-SHELL"
#define QL_TEST_SHELL_DONE   "QLTEST-DONE "

typedef struct
{
  GInputStream *stream;
  GString *buf;
  GCancellable *cancel;         /* the process's */
  gboolean pending;
  gboolean eof;
} QlTestProcReader;

typedef struct
{
  GSubprocess *proc;
  GOutputStream *in;
  QlTestProcReader out;         /* the console */
  QlTestProcReader err;
  gboolean exited;
  int status;                   /* exit status, -1 after a signal */
  gsize pos;                    /* of the console read so far */
  gint64 start;                 /* monotonic, at the spawn */
  char *what;
  GCancellable *cancel;         /* of the reads */
  /* (nullable) what failures show as the stderr of a console without a
   * process (a library VM's: QEMU's stderr), from @stderr_data. */
  const char *(*stderr_text) (gpointer stderr_data);
  gpointer stderr_data;
} QlTestProc;

/* Starts reading @stream (referenced) into r->buf (a new string) on the
 * thread-default main context, until its end (r->eof) or @cancel:
 * r->pending while a read is under way. */
void        ql_test_proc_reader_start (QlTestProcReader   *r,
                                       GInputStream       *stream,
                                       GCancellable       *cancel);
/* Drops what @r holds; no read may be pending. */
void        ql_test_proc_reader_clear (QlTestProcReader   *r);
/* One turn of the default main context (woken at least every 20 ms). */
void        ql_test_proc_iterate      (void);
/* Spawns @argv with stdin, stdout and stderr on pipes. */
QlTestProc *ql_test_proc_spawn        (const char * const *argv);
/* A console alone (a library VM's: @in_fd its input, @out_fd its output,
 * both taken): no process, so it counts as exited with status 0 and the
 * waits end with the output's end of file. */
QlTestProc *ql_test_proc_new_console  (int                 in_fd,
                                       int                 out_fd,
                                       const char         *what);
/* `qlaunch --plugin-dir BUILD ARGS...` ($QLAUNCH_BIN). */
QlTestProc *ql_test_proc_qlaunch      (const char * const *args);
/* @text without its '\r' characters. */
char       *ql_test_strip_cr          (const char         *text);
/* Fails the program: @why, with the process's stderr and the end of its
 * console. */
G_GNUC_NORETURN
void        ql_test_proc_fail         (QlTestProc         *p,
                                       const char         *why);
/* Writes @line and a newline to the console. */
void        ql_test_proc_write        (QlTestProc         *p,
                                       const char         *line);
/* Whether a whole console line holding @needle came, from p->pos on; if
 * so moves p->pos past it. Does not wait. */
gboolean    ql_test_proc_find_line    (QlTestProc         *p,
                                       const char         *needle);
/* Whether the line before p->pos is `QLTEST-DONE 0`-like: the status the
 * guest's shell gave the last command, -1 if there is none. */
int         ql_test_proc_last_status  (QlTestProc         *p);
/* Waits for a console line holding @needle, from p->pos on; moves p->pos
 * past it. */
void        ql_test_proc_wait_line    (QlTestProc         *p,
                                       const char         *needle,
                                       guint               timeout_s);
/* Waits for @needle on stderr; returns where it starts. */
const char *ql_test_proc_wait_stderr  (QlTestProc         *p,
                                       const char         *needle,
                                       guint               timeout_s);
/* Waits (up to @timeout_s) for the end of a command of the guest's
 * shell: the first `QLTEST-DONE <status>` line from p->pos on, and moves
 * p->pos past it. Returns what the console printed before it, stripped,
 * without '\r', the shell's prompt lines and QEMU's own line for a pty
 * backend; @status: (nullable) the command's status. @command names it
 * in failures. */
char       *ql_test_proc_collect      (QlTestProc         *p,
                                       const char         *command,
                                       guint               timeout_s,
                                       int                *status);
/* Writes @command, waits for `QLTEST-DONE 0` (another status fails);
 * returns what the command printed (as ql_test_proc_collect()). */
char       *ql_test_proc_shell        (QlTestProc         *p,
                                       const char         *command,
                                       guint               timeout_s);
/* Waits for the exit and the end of both pipes; returns the status. */
int         ql_test_proc_wait         (QlTestProc         *p,
                                       guint               timeout_s);
/* Writes `poweroff` (the guest is at its prompt), waits for exit status 0. */
void        ql_test_proc_poweroff     (QlTestProc         *p);
/* Kills the process if it still runs, reaps it, stops reading, frees @p. */
void        ql_test_proc_free         (QlTestProc         *p);
/* The pid of "qlaunch: QEMU started (pid N)" on stderr. */
int         ql_test_proc_qemu_pid     (QlTestProc         *p,
                                       guint               timeout_s);
/* Seconds since @start (monotonic microseconds). */
double      ql_test_seconds_since     (gint64              start);

G_END_DECLS

G_BEGIN_DECLS

/* A failure (or meson's timeout: SIGABRT, SIGTRAP, SIGTERM, SIGINT) ends
 * the program: the QEMUs with an argument that holds @dir or equals
 * @vm_name (may be NULL) are killed, and @dir is removed. Both strings must
 * outlive the program's run. */
void        ql_test_proc_guard        (const char         *dir,
                                       const char         *vm_name);
/* Removes @dir and everything in it, read-only template files too. */
void        ql_test_proc_remove_dir   (const char         *dir);
/* The guest's clock against the host's: runs the guest's `adjtimex` (its
 * time.tv_sec and time.tv_usec) at its prompt and returns host time minus
 * guest time in seconds, the host time taken midway between writing the
 * command and its answer (positive: the guest is behind); @uncertainty:
 * half that round trip (may be NULL). */
double      ql_test_proc_clock_skew   (QlTestProc         *p,
                                       double             *uncertainty);

G_END_DECLS
