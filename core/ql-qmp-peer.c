/* qlaunch — whom a QlQmp talks to.
 *
 * A QMP client may pass descriptors (getfd) and secrets (object-add of a
 * secret) to its peer, so it speaks only to a peer of a trusted user: ours
 * (the effective uid), root, or one more uid the caller names
 * (QlQmp:peer-uid). Two checks, both in the connect path, before the
 * greeting is read and before anything is sent:
 *
 *   the socket file   in a directory that others may write to (group or
 *                     other write bits, or another owner: a sticky /tmp),
 *                     the file must be a trusted user's: another user may
 *                     have put it there; checked before connecting
 *   the peer          the credentials of the process that listens
 *                     (SO_PEERCRED), which no path trick can change
 *
 * A QlVm's client also trusts its own QEMU, by pid, whoever it runs as.
 */
#include "ql-private.h"
#include "ql-qmp-private.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

gboolean
ql_qmp_uid_trusted (guint  uid,
                    gint64 extra_uid)
{
  return uid == 0 || uid == (guint) geteuid () || (extra_uid >= 0 && (gint64) uid == extra_uid);
}

/* " or uid N (peer-uid)" when the caller trusts one more. */
static char *
trusted_others (gint64 extra_uid)
{
  if (extra_uid < 0)
    return g_strdup ("");
  return g_strdup_printf (", nor uid %" G_GINT64_FORMAT " (the trusted peer uid)", extra_uid);
}

gboolean
ql_qmp_check_socket_file (const char  *path,
                          gint64       extra_uid,
                          GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *others = NULL;
  struct stat file_st;
  struct stat dir_st;

  /* Not there yet: connecting fails and is retried, and the check with it. */
  if (lstat (path, &file_st) != 0 || stat (dir, &dir_st) != 0)
    return TRUE;
  if (ql_qmp_uid_trusted (file_st.st_uid, extra_uid))
    return TRUE;
  if ((dir_st.st_mode & (S_IWGRP | S_IWOTH)) == 0 && ql_qmp_uid_trusted (dir_st.st_uid, extra_uid))
    return TRUE;    /* only we (or root) could have put it there */
  others = trusted_others (extra_uid);
  g_set_error (error, QL_QMP_ERROR, QL_QMP_ERROR_UNTRUSTED_PEER,
               "QMP socket %s: refused before connecting: the socket file belongs to uid %u, "
               "neither ours (uid %u) nor root%s, and its directory %s is writable by others "
               "(owner uid %u, mode %04o), so another user may have put it there",
               path, (unsigned) file_st.st_uid, (unsigned) geteuid (), others, dir,
               (unsigned) dir_st.st_uid, (unsigned) (dir_st.st_mode & 07777));
  return FALSE;
}

gboolean
ql_qmp_check_peer (GSocket     *socket,
                   const char  *path,
                   gint64       extra_uid,
                   GPid         child_pid,
                   GError     **error)
{
  g_autoptr(GCredentials) credentials = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *others = NULL;
  uid_t uid;
  pid_t pid;

  credentials = g_socket_get_credentials (socket, &local_error);
  if (credentials == NULL)
    {
      g_set_error (error, QL_QMP_ERROR, QL_QMP_ERROR_UNTRUSTED_PEER,
                   "QMP socket %s: refused: cannot tell who serves it (%s)", path, local_error->message);
      return FALSE;
    }
  uid = g_credentials_get_unix_user (credentials, NULL);
  pid = g_credentials_get_unix_pid (credentials, NULL);
  if (uid != (uid_t) -1 && ql_qmp_uid_trusted (uid, extra_uid))
    return TRUE;
  if (child_pid > 0 && pid == child_pid)
    return TRUE;    /* the QEMU we started */
  others = trusted_others (extra_uid);
  g_set_error (error, QL_QMP_ERROR, QL_QMP_ERROR_UNTRUSTED_PEER,
               "QMP socket %s: refused: it is served by a process of uid %u (pid %d), "
               "neither ours (uid %u) nor root%s; nothing was sent to it",
               path, (unsigned) uid, (int) pid, (unsigned) geteuid (), others);
  return FALSE;
}
