/* qlaunch tests — a firmware image that powers the VM off at once.
 *
 * For tests and benchmarks that need a real QEMU running a real VM that
 * ends by itself, immediately and with status 0 (a guest power-off), without
 * a kernel: `[vm] bios = FILE` on a q35 machine. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Writes a 64 KiB x86 firmware image to @path. At the reset vector it
 * jumps to real-mode code that enables the ICH9 (q35) ACPI PM I/O block at
 * 0x600 through PCI configuration space (00:1f.0, PMBASE and ACPI_CNTL)
 * and writes SLP_EN with sleep type 0 to PM1_CNT: QEMU treats it as a guest
 * power-off and exits with status 0. q35 machines only. */
gboolean ql_test_write_poweroff_bios (const char  *path,
                                      GError     **error);

G_END_DECLS
