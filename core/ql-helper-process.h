/* qlaunch — private: one running helper process (ql-helper-process.c). */
#pragma once

#include "ql-private.h"

G_BEGIN_DECLS

#define QL_TYPE_HELPER_PROCESS (ql_helper_process_get_type ())
G_DECLARE_FINAL_TYPE (QlHelperProcess, ql_helper_process, QL, HELPER_PROCESS, GObject)

/* A helper of @helper's description, followed in @context (the
 * thread-default context of the call when NULL). Emits "exited" (no
 * arguments) in that context when the process has ended and been reaped,
 * whether it was ready or not. */
QlHelperProcess *ql_helper_process_new            (QlHelper            *helper,
                                                   GMainContext        *context);

/* Detached (before the start): a session of its own and not killed with
 * this process, for a helper that must outlive a short-lived command. */
void             ql_helper_process_set_detached   (QlHelperProcess     *self,
                                                   gboolean             detached);

/* Spawns the helper (checked binary, own process group, umask 077, killed
 * with this process, explicit environment, its descriptors at 3 upward,
 * stdout and stderr captured) and completes when it listens on its socket
 * (at once without a socket), or fails: it could not start, it exited, or
 * the deadline passed (then it is killed). @cancellable stops it. */
/* Makes its listening sockets now, before the spawn (which then hands
 * them over): for QEMU to start first and connect, its connections
 * queued until the helper accepts. */
gboolean         ql_helper_process_listen_early   (QlHelperProcess     *self,
                                                   GError             **error);
void             ql_helper_process_start_async    (QlHelperProcess     *self,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
gboolean         ql_helper_process_start_finish   (QlHelperProcess     *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);

/* SIGTERM now, SIGKILL after @grace_ms (at once when 0). Nothing when it
 * is not running. */
void             ql_helper_process_stop           (QlHelperProcess     *self,
                                                   guint                grace_ms);
/* Gives up the process: it is no longer followed nor killed by us (the
 * helper of a hot-plug by a short-lived command, which lives as long as
 * QEMU's connection). Only after a successful start. */
void             ql_helper_process_release        (QlHelperProcess     *self);

gboolean         ql_helper_process_is_running     (QlHelperProcess     *self);
gboolean         ql_helper_process_was_started    (QlHelperProcess     *self);
/* Ended and reported ("exited" emitted), released, or never started. */
gboolean         ql_helper_process_is_gone        (QlHelperProcess     *self);
gboolean         ql_helper_process_is_ready       (QlHelperProcess     *self);
gboolean         ql_helper_process_was_stopped    (QlHelperProcess     *self);
GPid             ql_helper_process_get_pid        (QlHelperProcess     *self);
const char      *ql_helper_process_get_name       (QlHelperProcess     *self);
const char      *ql_helper_process_get_device_id  (QlHelperProcess     *self);
const char      *ql_helper_process_get_socket     (QlHelperProcess     *self);
/* Its output so far (stdout and stderr), valid UTF-8, stripped. */
char            *ql_helper_process_get_output     (QlHelperProcess     *self);
/* "exited with status 1", "was killed by signal 9 (Killed)". */
char            *ql_helper_process_describe_exit  (QlHelperProcess     *self);
/* "device 'fs0': helper virtiofsd (pid 42)" (without a device for a helper
 * added by hand). */
char            *ql_helper_process_describe       (QlHelperProcess     *self);
/* Whether it accepted a client on its socket (read in /proc/net/unix);
 * TRUE for a helper without a socket. */
gboolean         ql_helper_process_has_client     (QlHelperProcess     *self);
/* Removes its socket file, if any. */
void             ql_helper_process_remove_socket  (QlHelperProcess     *self);

G_END_DECLS
