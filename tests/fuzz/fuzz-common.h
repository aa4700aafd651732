/* qlaunch fuzzing — helpers shared by the libFuzzer harnesses. */
#pragma once

#include <qlaunch/qlaunch.h>

G_BEGIN_DECLS

/* Process-wide set-up: criticals abort (they are bugs whatever the input),
 * debug and info messages are dropped. */
void        ql_fuzz_init           (void);

/* The registry with the build's plugins: $QLAUNCH_BUILD_PLUGIN_DIR, else
 * the plugin dir meson gave at build time. Loaded once; aborts when a
 * plugin fails to load. */
QlRegistry *ql_fuzz_registry       (void);

/* Aborts unless @argv keeps the invariants of a QEMU command line built
 * from @cmdline: no empty argument, and every key=value argument splits
 * back (QEMU's comma rule: a single comma separates, ",," is a literal
 * comma) into exactly the option's head and key/value pairs. */
void        ql_fuzz_check_argv     (QlCmdline   *cmdline,
                                    char       **argv);

/* Aborts unless @a and @b are the same argv. */
void        ql_fuzz_check_same     (char       **a,
                                    char       **b);

G_END_DECLS
