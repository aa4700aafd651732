/* Test helpers: the raw-QEMU floor of the template benchmarks, a clone
 * started by tests/helpers/clone-floor.c (libc only) on the template
 * manifest's argv, its console on pipes like `qlaunch template clone`'s. */
#pragma once

#include "ql-test-proc.h"

G_BEGIN_DECLS

typedef struct
{
  double qmp;        /* QMP greeting read (seconds since the spawn) */
  double migrated;   /* MIGRATION completed */
  double resumed;    /* cont returned */
} QlTestFloorPhases;

/* The clone's QEMU argv from TEMPLATE/manifest.json: the manifest's, with
 * the template's memory file, `-qmp unix:QMP_PATH,server=on,wait=off -S
 * -incoming defer`. */
char      **ql_test_floor_qemu_argv     (const char        *template_dir,
                                         const char        *qmp_path);
/* Spawns `clone-floor TEMPLATE/state QMP_PATH -- QEMU_ARGV...`. */
QlTestProc *ql_test_floor_spawn         (const char        *template_dir,
                                         char             **qemu_argv,
                                         const char        *qmp_path);
/* Waits until the floor's guest runs (its QEMU took `cont`): then the
 * console takes input; sets @phases (may be NULL). */
void        ql_test_floor_wait_resumed  (QlTestProc        *p,
                                         guint              timeout_s,
                                         QlTestFloorPhases *phases);

G_END_DECLS
