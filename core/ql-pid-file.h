/* qlaunch — private: QEMU's pid file, made safely by qlaunch, and the
 * check that a pid read from it is the QEMU this launch started
 * (ql-pid-file.c). */
#pragma once

#include "ql-private.h"

#include <sys/types.h>

G_BEGIN_DECLS

/* The pid file of one launch: made new (O_EXCL, O_NOFOLLOW) before QEMU
 * starts; QEMU's -pidfile then writes into that very file. */
typedef struct
{
  char *path;
  dev_t dev;
  ino_t ino;
  gboolean made;
} QlPidFile;

/* Creates @path (0600): refused when anything is there already (a file,
 * stale or planted, or a symbolic link) or when its directory is writable
 * by another user and not sticky. QL_LAUNCH_ERROR_SPAWN naming @path. */
gboolean ql_pid_file_create (QlPidFile   *self,
                             const char  *path,
                             GError     **error);
/* The pid in the file, only if it is still the file made here (not
 * replaced, not a symbolic link). 0 with QL_LAUNCH_ERROR_DAEMON. */
GPid     ql_pid_file_read   (QlPidFile   *self,
                             GError     **error);
/* Removes the file if it is still the one made here; forgets it. */
void     ql_pid_file_clear  (QlPidFile   *self);

/* What tells a process apart from another that gets its pid later: its
 * start time (clock ticks after boot) and its executable. */
typedef struct
{
  guint64 start;
  dev_t exe_dev;
  ino_t exe_ino;
  gboolean known;
} QlProcessMark;

/* @pid's mark now; FALSE when it is gone (or /proc cannot tell). */
gboolean ql_process_mark    (GPid           pid,
                             QlProcessMark *mark);
/* Now, in the unit of /proc/PID/stat's start time. */
guint64  ql_process_now_ticks (void);
/* The mark of @pid, spawned from @program at @spawn_ticks
 * (ql_process_now_ticks() before the spawn): its executable (@program's
 * when @pid exited already) and a start no later than the spawn. */
gboolean ql_process_mark_spawned (GPid           pid,
                                  const char    *program,
                                  guint64        spawn_ticks,
                                  QlProcessMark *mark);
/* Whether @pid runs @launched's executable and started no earlier than
 * it: a daemon forked by the process we launched, not a process that
 * reused a pid. FALSE with QL_LAUNCH_ERROR_DAEMON saying why. */
gboolean ql_process_is_ours (GPid                 pid,
                             const QlProcessMark *launched,
                             const char          *pid_file,
                             GError             **error);

G_END_DECLS
