/* Tests: shared helpers. */
#pragma once

#include <qlaunch/qlaunch.h>

#include <sys/types.h>

G_BEGIN_DECLS

/* A registry that loaded the build's plugins ($QLAUNCH_BUILD_PLUGIN_DIR);
 * asserts that no plugin failed to load. */
QlRegistry *ql_test_registry_new        (void);

/* The argv of @vm without argv[0], one argument per line, and without
 * the -sandbox option (core's seccomp knobs, on in every VM by default:
 * test-argv and the golden files check it; device tests need not repeat
 * it). */
char       *ql_test_argv_string         (QlVmConfig  *vm,
                                         GError     **error);
/* The same with -sandbox. */
char       *ql_test_argv_string_all     (QlVmConfig  *vm,
                                         GError     **error);

/* A VM config loaded from @text (no host checks), asserting success. */
QlVmConfig *ql_test_load_vm             (QlRegistry  *registry,
                                         const char  *text);

/* Runs the built qlaunch with @args; returns exit status, captures output. */
int         ql_test_run_cli             (const char * const *args,
                                         char              **out_stdout,
                                         char              **out_stderr);
/* The same in @cwd (NULL: ours), with the NAME=VALUE entries of @env
 * (NULL: none) added to our environment. */
int         ql_test_run_cli_in          (const char         *cwd,
                                         const char * const *env,
                                         const char * const *args,
                                         char              **out_stdout,
                                         char              **out_stderr);

/* A program run to its end: what ql_test_run_argv() saw. */
typedef struct
{
  int       status;     /* the exit status; -1 when killed by a signal */
  char     *out;        /* never NULL once run */
  char     *err;        /* never NULL once run */
  double    seconds;
  gboolean  killed;     /* still running after the limit: killed */
} QlTestRun;

/* Runs @argv (argv[0] a path) to its end through @launcher (nullable: a
 * new one; its stdout and stderr are piped either way), killed after
 * @limit_s seconds (0: never), so that a hang fails the test instead of
 * timing the suite out. What it saw goes in @r (cleared first), and in a
 * test message. */
void        ql_test_run_argv            (QlTestRun           *r,
                                         GSubprocessLauncher *launcher,
                                         guint                limit_s,
                                         const char * const  *argv);
/* The same for `qlaunch ARGS...` ($QLAUNCH_BIN), as given. */
void        ql_test_run_bounded_bare    (QlTestRun           *r,
                                         GSubprocessLauncher *launcher,
                                         guint                limit_s,
                                         const char * const  *args);
/* The same for `qlaunch --plugin-dir BUILD ARGS...`: the build's plugins
 * only. */
void        ql_test_run_bounded         (QlTestRun           *r,
                                         GSubprocessLauncher *launcher,
                                         guint                limit_s,
                                         const char * const  *args);
/* Fails the test unless @r's program exited by itself (no signal, not
 * killed after its limit). */
void        ql_test_run_assert_exited   (const QlTestRun     *r);
void        ql_test_run_clear           (QlTestRun           *r);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (QlTestRun, ql_test_run_clear)

/* Iterates the thread-default main context until *@flag is set; aborts
 * the test after @timeout_ms. */
void        ql_test_run_until           (gboolean    *flag,
                                         guint        timeout_ms);
/* A condition for ql_test_wait_until(). */
typedef gboolean (*QlTestCond) (gpointer data);
/* Iterates @context (NULL: the global default) until @cond (@data)
 * holds; fails the test, naming @what, after @timeout_ms. */
void        ql_test_wait_until          (GMainContext *context,
                                         QlTestCond    cond,
                                         gpointer      data,
                                         guint         timeout_ms,
                                         const char   *what);
/* A QlTestCond: whether the gboolean at @data is set. */
gboolean    ql_test_flag_set            (gpointer     data);
/* Iterates the thread-default main context for @ms milliseconds. */
void        ql_test_spin                (guint        ms);

/* The seccomp mode of process @pid, the "Seccomp:" line of
 * /proc/PID/status: 0 none, 1 strict, 2 a filter (QEMU's -sandbox on);
 * -1 when the process or the line is gone. */
int         ql_test_seccomp_mode        (GPid         pid);

/* A fresh private temporary directory (removed by ql_test_rm_rf). */
char       *ql_test_make_tmpdir         (void);
/* A fresh 0700 directory that qlaunch's trust checks accept, for a
 * plugin, a QEMU binary or wrapper the test runs through qlaunch: not
 * under /tmp (sticky and world-writable: the loader refuses it) but in
 * $QLAUNCH_TEST_PLUGIN_TMPDIR, made 0755 (the build tree's
 * tests/plugin-tmp; for installed tests, unset: qlaunch-test-plugins in
 * the user's cache directory). Removed by ql_test_rm_rf. */
char       *ql_test_make_safe_tmpdir    (void);
void        ql_test_rm_rf               (const char  *path);

/* @text with the line number of the first "FILE:LINE: " after @file
 * dropped ("FILE: "), for messages whose line is not what a test is about. */
char       *ql_test_without_line        (const char  *text,
                                         const char  *file);

/* Whether user @uid (as `setpriv --reuid --regid --clear-groups`) can run
 * @path: every directory above it traversable and the file executable.
 * Tests that run the built qlaunch as another user skip without it (a
 * build tree under a private home directory, say). */
gboolean    ql_test_uid_can_run         (guint        uid,
                                         const char  *path);

/* A new directory @name in @parent with @mode, owned by @owner (user and
 * group), for tests that play another local user. */
char       *ql_test_make_owned_dir      (const char  *parent,
                                         const char  *name,
                                         mode_t       mode,
                                         uid_t        owner);

/* A new directory @parent/@name (0700) made $XDG_RUNTIME_DIR: where
 * qlaunch puts the runtime directories of what it starts. Its path. */
char       *ql_test_make_runtime_dir    (const char  *parent,
                                         const char  *name);
/* Writes @text to @dir/@name, asserting success: its path. */
char       *ql_test_write_file          (const char  *dir,
                                         const char  *name,
                                         const char  *text);
/* The SHA-256 of the file at @path, in hex, asserting it can be read. */
char       *ql_test_file_sha256         (const char  *path);
/* How many entries @dir has (0 when it does not exist). */
guint       ql_test_count_entries       (const char  *dir);

/* @text parsed as JSON, asserting it is valid. */
JsonNode   *ql_test_parse_json          (const char  *text);

/* Whether @pid is a live process (not a zombie). */
gboolean    ql_test_pid_alive           (GPid         pid);

G_END_DECLS
