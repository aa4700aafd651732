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
 * comma) into exactly the option's head and key/value pairs, with a head
 * (driver, type, ...) free of '=': QEMU reads a first element with '=' as
 * a key=value pair, not as the implied head (`-name a=b`: "Invalid
 * parameter 'a'"). */
void        ql_fuzz_check_argv     (QlCmdline   *cmdline,
                                    char       **argv);

/* Aborts unless @a and @b are the same argv. */
void        ql_fuzz_check_same     (char       **a,
                                    char       **b);

/* Aborts with "qlaunch fuzz invariant broken: MESSAGE". */
G_GNUC_NORETURN G_GNUC_PRINTF (1, 2)
void        ql_fuzz_fail           (const char  *format,
                                    ...);

G_END_DECLS
