/* qlaunch — private: the runtime directory of a running VM
 * (ql-runtime-dir.c). */
#pragma once

#include "ql-private.h"

G_BEGIN_DECLS

/* Where runtime directories go, computed without touching anything:
 * $XDG_RUNTIME_DIR/qlaunch, /run/qlaunch (root) or $TMPDIR/qlaunch-UID. */
char     *ql_runtime_dir_default_base (void);
/* A file-name-safe form of a VM name (at most 16 bytes, so that socket paths under it fit in a unix socket address; "vm" for none). */
char     *ql_runtime_dir_name_for     (const char  *vm_name);
/* Removes the directories under @base that no running launcher holds. */
void      ql_runtime_dir_sweep        (const char  *base);
/* A fresh BASE/NAME.XXXXXX (random), not created yet. */
char     *ql_runtime_dir_propose      (const char  *vm_name);
/* Takes @dir for a launch. @made_here: create it (its base is created and
 * checked, and stale directories of killed launchers in it swept first);
 * else it is the caller's (created 0700 if missing, refused when not
 * private). Locked: *@lock_fd holds the flock until
 * ql_runtime_dir_remove(). */
gboolean  ql_runtime_dir_claim        (const char  *dir,
                                       gboolean     made_here,
                                       int         *lock_fd,
                                       GError     **error);
/* A fresh private directory BASE/PREFIXXXXXXX (0700), locked through
 * @lock_fd (old ones whose holder is gone are swept first): the caller
 * removes it and then closes @lock_fd (a template clone's socket
 * directory). */
char     *ql_runtime_dir_make_temp    (const char  *prefix,
                                       int         *lock_fd,
                                       GError     **error);
/* The same in @parent, which is neither checked nor swept; the lock file
 * records the holder's pid and start time (for a human: the lock decides).
 * ql_runtime_dir_sweep_matching() removes it once its
 * holder is gone. */
char     *ql_runtime_dir_make_temp_in (const char  *parent,
                                       const char  *prefix,
                                       int         *lock_fd,
                                       GError     **error);

/* ql_runtime_dir_sweep() of the entries of @parent whose names start with
 * @prefix and hold @infix only (directories of ours, mode 0700, with a
 * lock file nobody holds). */
void      ql_runtime_dir_sweep_matching (const char *parent,
                                         const char *prefix,
                                         const char *infix);

/* The name of the lock file in such a directory (".lock"). */
#define QL_RUNTIME_DIR_LOCK_NAME ".lock"

/* Removes the directory (@made_here: all of it; else only the lock and the
 * directory if empty) and drops the lock. */
void      ql_runtime_dir_remove       (const char  *dir,
                                       gboolean     made_here,
                                       int          lock_fd);

G_END_DECLS
