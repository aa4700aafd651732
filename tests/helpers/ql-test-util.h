/* Tests: shared helpers. */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

/* A registry that loaded the build's plugins ($QLAUNCH_BUILD_PLUGIN_DIR);
 * asserts that no plugin failed to load. */
QlRegistry *ql_test_registry_new        (void);

/* The argv of @vm without argv[0], one argument per line. */
char       *ql_test_argv_string         (QlVmConfig  *vm,
                                         GError     **error);

/* A VM config loaded from @text (no host checks), asserting success. */
QlVmConfig *ql_test_load_vm             (QlRegistry  *registry,
                                         const char  *text);

/* Runs the built qlaunch with @args; returns exit status, captures output. */
int         ql_test_run_cli             (const char * const *args,
                                         char              **out_stdout,
                                         char              **out_stderr);

/* Iterates the thread-default main context until *@flag is set; aborts
 * the test after @timeout_ms. */
void        ql_test_run_until           (gboolean    *flag,
                                         guint        timeout_ms);
/* Iterates the thread-default main context for @ms milliseconds. */
void        ql_test_spin                (guint        ms);

/* A fresh private temporary directory (removed by ql_test_rm_rf). */
char       *ql_test_make_tmpdir         (void);
void        ql_test_rm_rf               (const char  *path);

G_END_DECLS
