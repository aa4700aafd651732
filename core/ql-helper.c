/* qlaunch — QlHelper: what a device declares of a host process it needs
 * beside QEMU. The launcher runs it (ql-helper-process.c). */
#include "ql-private.h"

#include <string.h>

struct _QlHelper
{
  QlCmdline *owner;
  char *name;
  char *binary;
  GPtrArray *args;            /* after the binary */
  GPtrArray *env;             /* NAME=VALUE */
  char *socket;
  GArray *fds;                /* host fds, index i is the helper's fd 3 + i;
                               * -1 for a listening socket made at launch */
  GPtrArray *listen_paths;    /* parallel to fds: the socket's path, or NULL */
  guint ready_timeout;
  char *device_id;
  GPtrArray *read_only_paths;
  GPtrArray *state_dirs;
};

/* A boxed reference keeps the command line alive, as for QlOption. */
static QlHelper *
ql_helper_keep (QlHelper *helper)
{
  g_object_ref (helper->owner);
  return helper;
}

static void
ql_helper_release (QlHelper *helper)
{
  g_object_unref (helper->owner);
}

/**
 * QlHelper:
 *
 * A host process that a device needs beside QEMU, such as virtiofsd for a
 * virtio-fs share or passt for user-mode networking. A plugin declares it
 * in #QlDeviceClass.qemu_params with ql_cmdline_add_helper(): the binary,
 * its arguments and environment, the unix socket it creates (its
 * readiness) and the descriptors it receives. Nothing runs then: the
 * launcher (#QlVm, `qlaunch run`, hot-plug) starts each helper before QEMU
 * (or before the device is added; a socket-activated one, see
 * ql_helper_add_listen_socket(), right after QEMU), waits until it listens on its socket,
 * follows it while the VM runs and stops it with QEMU. `qlaunch args
 * --format json` lists the helpers so that they can be run by hand.
 *
 * Since: ABI 1.2
 */
G_DEFINE_BOXED_TYPE (QlHelper, ql_helper, ql_helper_keep, ql_helper_release)

QlHelper *
ql_helper_new (QlCmdline  *owner,
               const char *name,
               const char *binary)
{
  QlHelper *helper = g_new0 (QlHelper, 1);

  helper->owner = owner;
  helper->name = g_strdup (name);
  helper->binary = g_strdup (binary);
  helper->args = g_ptr_array_new_with_free_func (g_free);
  helper->env = g_ptr_array_new_with_free_func (g_free);
  helper->fds = g_array_new (FALSE, FALSE, sizeof (int));
  helper->listen_paths = g_ptr_array_new_with_free_func (g_free);
  helper->ready_timeout = QL_HELPER_READY_TIMEOUT_DEFAULT;
  helper->read_only_paths = g_ptr_array_new_with_free_func (g_free);
  helper->state_dirs = g_ptr_array_new_with_free_func (g_free);
  return helper;
}

void
ql_helper_free (QlHelper *helper)
{
  g_free (helper->name);
  g_free (helper->binary);
  g_ptr_array_unref (helper->args);
  g_ptr_array_unref (helper->env);
  g_free (helper->socket);
  g_array_unref (helper->fds);
  g_ptr_array_unref (helper->listen_paths);
  g_free (helper->device_id);
  g_ptr_array_unref (helper->read_only_paths);
  g_ptr_array_unref (helper->state_dirs);
  g_free (helper);
}

void
ql_helper_set_device_id (QlHelper   *helper,
                         const char *device_id)
{
  ql_set_str (&helper->device_id, device_id);
}

/* Records a bad value on the owning command line: the build fails with
 * it (ql_cmdline_check()). */
static void
helper_fail (QlHelper   *helper,
             const char *what,
             const char *value,
             const char *why)
{
  ql_cmdline_fail (helper->owner,
                   g_error_new (QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                                "helper '%s': %s '%s' %s",
                                helper->name, what, value, why));
}

static gboolean
check_text (QlHelper   *helper,
            const char *what,
            const char *value)
{
  if (!g_utf8_validate (value, -1, NULL))
    {
      helper_fail (helper, what, "(not UTF-8)", "is not valid UTF-8");
      return FALSE;
    }
  if (strpbrk (value, "\n\r") != NULL)
    {
      helper_fail (helper, what, value, "holds a line break");
      return FALSE;
    }
  return TRUE;
}

/**
 * ql_helper_add_arg:
 * @helper: a #QlHelper
 * @arg: one argument
 *
 * Appends one argument to the helper's argv. Arguments are passed as they
 * are (no shell, no splitting); one with a line break makes the build of
 * the command line fail.
 */
void
ql_helper_add_arg (QlHelper   *helper,
                   const char *arg)
{
  g_return_if_fail (helper != NULL);
  g_return_if_fail (arg != NULL);
  if (check_text (helper, "argument", arg))
    g_ptr_array_add (helper->args, g_strdup (arg));
}

/**
 * ql_helper_add_args: (skip)
 * @helper: a #QlHelper
 * @first_arg: the first argument
 * @...: more arguments, ending with %NULL
 *
 * Appends arguments; see ql_helper_add_arg().
 */
void
ql_helper_add_args (QlHelper   *helper,
                    const char *first_arg,
                    ...)
{
  va_list ap;

  g_return_if_fail (helper != NULL);
  va_start (ap, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (ap, const char *))
    ql_helper_add_arg (helper, arg);
  va_end (ap);
}

/**
 * ql_helper_add_arg_printf: (skip)
 * @helper: a #QlHelper
 * @format: a printf() format
 * @...: its arguments
 *
 * Appends one argument made from @format, e.g. `--socket-path=%s`.
 */
void
ql_helper_add_arg_printf (QlHelper   *helper,
                          const char *format,
                          ...)
{
  g_autofree char *arg = NULL;
  va_list ap;

  g_return_if_fail (helper != NULL);
  g_return_if_fail (format != NULL);
  va_start (ap, format);
  arg = g_strdup_vprintf (format, ap);
  va_end (ap);
  ql_helper_add_arg (helper, arg);
}

static gboolean
env_name_valid (const char *name)
{
  if (!(g_ascii_isalpha (*name) || *name == '_'))
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!(g_ascii_isalnum (*p) || *p == '_'))
      return FALSE;
  return TRUE;
}

/**
 * ql_helper_set_env:
 * @helper: a #QlHelper
 * @name: a variable name (`[A-Za-z_][A-Za-z0-9_]*`)
 * @value: its value
 *
 * Sets a variable of the helper's environment. A helper gets only a few
 * variables of the launcher's environment (`PATH`, `HOME`, `LANG`, `LC_*`,
 * `TMPDIR`, `XDG_RUNTIME_DIR`, as QEMU does) and those set here, which
 * win.
 */
void
ql_helper_set_env (QlHelper   *helper,
                   const char *name,
                   const char *value)
{
  g_autofree char *prefix = NULL;

  g_return_if_fail (helper != NULL);
  g_return_if_fail (name != NULL && value != NULL);
  if (!env_name_valid (name))
    {
      helper_fail (helper, "environment variable", name, "is not a variable name");
      return;
    }
  if (!check_text (helper, "environment value", value))
    return;
  prefix = g_strconcat (name, "=", NULL);
  for (guint i = 0; i < helper->env->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (helper->env, i), prefix))
      {
        g_ptr_array_remove_index (helper->env, i);
        break;
      }
  g_ptr_array_add (helper->env, g_strconcat (prefix, value, NULL));
}

/**
 * ql_helper_set_socket:
 * @helper: a #QlHelper
 * @path: the absolute path of the unix socket the helper creates and
 *   listens on, normally in the runtime directory
 *   (ql_cmdline_build_runtime_path())
 *
 * Names the socket that says the helper is ready: the launcher starts
 * QEMU once the helper listens on it. The launcher removes it when the
 * helper is stopped. A path longer than %QL_HELPER_SOCKET_PATH_MAX bytes,
 * or relative, makes the build of the command line fail.
 */
void
ql_helper_set_socket (QlHelper   *helper,
                      const char *path)
{
  g_return_if_fail (helper != NULL);
  g_return_if_fail (path != NULL);
  if (!check_text (helper, "socket", path))
    return;
  if (!g_path_is_absolute (path))
    {
      helper_fail (helper, "socket", path, "is not an absolute path");
      return;
    }
  if (strlen (path) > QL_HELPER_SOCKET_PATH_MAX)
    {
      g_autofree char *why = g_strdup_printf ("is %zu bytes long, and a unix socket path holds at most %d: "
                                              "use a shorter runtime directory (run --runtime-dir) or device id",
                                              strlen (path), QL_HELPER_SOCKET_PATH_MAX);

      helper_fail (helper, "socket", path, why);
      return;
    }
  ql_set_str (&helper->socket, path);
}

/**
 * ql_helper_add_fd:
 * @helper: a #QlHelper
 * @host_fd: a descriptor open in this process
 *
 * Records a descriptor to hand to the helper and returns the number the
 * helper sees it as: 3 for the first, then upward. The caller keeps
 * @host_fd; the launcher gives the helper a duplicate.
 *
 * Returns: the descriptor number in the helper
 */
int
ql_helper_add_fd (QlHelper *helper,
                  int       host_fd)
{
  g_return_val_if_fail (helper != NULL, -1);
  g_return_val_if_fail (host_fd >= 0, -1);
  g_array_append_val (helper->fds, host_fd);
  g_ptr_array_add (helper->listen_paths, NULL);
  return 3 + (int) helper->fds->len - 1;
}

/**
 * ql_helper_add_listen_socket:
 * @helper: a #QlHelper
 * @path: the absolute path of the unix socket, normally in the runtime
 *   directory (ql_cmdline_build_runtime_path())
 *
 * Socket activation, as systemd does it: when the helper starts, the
 * launcher creates a unix socket listening at @path and hands it to the
 * helper as the descriptor returned here (numbered with those of
 * ql_helper_add_fd()), for a helper that takes a listening socket (QEMU
 * 7.2's virtiofsd: `--fd=N`). The socket accepts connections from the
 * start (the kernel queues them until the helper accepts), so the helper
 * is ready at once: when all of a VM's helpers are such, QEMU is started
 * first and they right after it, and all get going side by side. @path is also the helper's socket
 * (ql_helper_set_socket()), removed when it stops. The same rules as for
 * ql_helper_set_socket() apply to @path.
 *
 * Returns: the descriptor number in the helper
 *
 * Since: ABI 1.2
 */
int
ql_helper_add_listen_socket (QlHelper   *helper,
                             const char *path)
{
  int none = -1;

  g_return_val_if_fail (helper != NULL, -1);
  g_return_val_if_fail (path != NULL, -1);
  ql_helper_set_socket (helper, path);
  g_array_append_val (helper->fds, none);
  g_ptr_array_add (helper->listen_paths, g_strdup (path));
  return 3 + (int) helper->fds->len - 1;
}

/**
 * ql_helper_get_listen_socket:
 * @helper: a #QlHelper
 * @fd: a descriptor number in the helper (3 upward)
 *
 * Gets the path of the listening socket the launcher makes for descriptor
 * @fd (ql_helper_add_listen_socket()).
 *
 * Returns: (nullable): its path, or %NULL when @fd is not such a socket
 *
 * Since: ABI 1.2
 */
const char *
ql_helper_get_listen_socket (QlHelper *helper,
                             int       fd)
{
  g_return_val_if_fail (helper != NULL, NULL);
  if (fd < 3 || (guint) (fd - 3) >= helper->listen_paths->len)
    return NULL;
  return g_ptr_array_index (helper->listen_paths, fd - 3);
}

/**
 * ql_helper_set_ready_timeout:
 * @helper: a #QlHelper
 * @milliseconds: how long the helper has to listen on its socket
 *
 * Sets the readiness deadline (default
 * %QL_HELPER_READY_TIMEOUT_DEFAULT). A helper not listening by then is
 * stopped and the launch fails with its standard error in the message.
 */
void
ql_helper_set_ready_timeout (QlHelper *helper,
                             guint     milliseconds)
{
  g_return_if_fail (helper != NULL);
  helper->ready_timeout = milliseconds;
}

/**
 * ql_helper_add_read_only_path:
 * @helper: a #QlHelper
 * @path: an absolute path the helper must not be able to write to
 *
 * Runs the helper in a mount namespace of its own in which @path is a
 * read-only bind mount: whatever the helper does, nothing under @path can
 * be written through it (for a helper that has no read-only mode of its
 * own, such as QEMU 7.2's virtiofsd). Needs root (CAP_SYS_ADMIN); for
 * another user the start fails with a message saying so.
 */
void
ql_helper_add_read_only_path (QlHelper   *helper,
                              const char *path)
{
  g_return_if_fail (helper != NULL);
  g_return_if_fail (path != NULL);
  if (!check_text (helper, "read-only path", path))
    return;
  if (!g_path_is_absolute (path))
    {
      helper_fail (helper, "read-only path", path, "is not an absolute path");
      return;
    }
  g_ptr_array_add (helper->read_only_paths, g_strdup (path));
}

/**
 * ql_helper_get_read_only_paths:
 * @helper: a #QlHelper
 *
 * Gets the paths added with ql_helper_add_read_only_path().
 *
 * Returns: (transfer full) (array zero-terminated=1): the paths
 */
char **
ql_helper_get_read_only_paths (QlHelper *helper)
{
  GPtrArray *paths;

  g_return_val_if_fail (helper != NULL, NULL);
  paths = g_ptr_array_new ();
  for (guint i = 0; i < helper->read_only_paths->len; i++)
    g_ptr_array_add (paths, g_strdup (g_ptr_array_index (helper->read_only_paths, i)));
  g_ptr_array_add (paths, NULL);
  return (char **) g_ptr_array_free (paths, FALSE);
}

/**
 * ql_helper_add_state_dir:
 * @helper: a #QlHelper
 * @path: the absolute path of a directory that holds state of the VM the
 *   helper keeps between runs (a TPM's persistent state)
 *
 * Declares a directory that belongs to the VM. Nothing is touched when the
 * command line is built: the launcher, right before it starts the helper,
 * creates @path (mode 0700, missing parents too) when it does not exist,
 * and refuses to start the helper when it is not a directory, is not owned
 * by the user qlaunch runs as, or is writable by group or others: what is
 * in it must be the VM's own. It is never removed. A relative path, or one
 * with a line break, makes the build of the command line fail.
 *
 * Since: ABI 1.3
 */
void
ql_helper_add_state_dir (QlHelper   *helper,
                         const char *path)
{
  g_return_if_fail (helper != NULL);
  g_return_if_fail (path != NULL);
  if (!check_text (helper, "state directory", path))
    return;
  if (!g_path_is_absolute (path))
    {
      helper_fail (helper, "state directory", path, "is not an absolute path");
      return;
    }
  g_ptr_array_add (helper->state_dirs, g_canonicalize_filename (path, NULL));
}

/**
 * ql_helper_get_state_dirs:
 * @helper: a #QlHelper
 *
 * Gets the directories added with ql_helper_add_state_dir().
 *
 * Returns: (transfer full) (array zero-terminated=1): the paths
 *
 * Since: ABI 1.3
 */
char **
ql_helper_get_state_dirs (QlHelper *helper)
{
  GPtrArray *paths;

  g_return_val_if_fail (helper != NULL, NULL);
  paths = g_ptr_array_new ();
  for (guint i = 0; i < helper->state_dirs->len; i++)
    g_ptr_array_add (paths, g_strdup (g_ptr_array_index (helper->state_dirs, i)));
  g_ptr_array_add (paths, NULL);
  return (char **) g_ptr_array_free (paths, FALSE);
}

/**
 * ql_helper_get_name:
 * @helper: a #QlHelper
 *
 * Gets the helper's name, as messages call it (`virtiofsd`).
 *
 * Returns: the name
 */
const char *
ql_helper_get_name (QlHelper *helper)
{
  g_return_val_if_fail (helper != NULL, NULL);
  return helper->name;
}

/**
 * ql_helper_get_binary:
 * @helper: a #QlHelper
 *
 * Gets the program the helper runs.
 *
 * Returns: the binary's path
 */
const char *
ql_helper_get_binary (QlHelper *helper)
{
  g_return_val_if_fail (helper != NULL, NULL);
  return helper->binary;
}

/**
 * ql_helper_get_argv:
 * @helper: a #QlHelper
 *
 * Gets the helper's whole argv, the binary first.
 *
 * Returns: (transfer full) (array zero-terminated=1): the argv
 */
char **
ql_helper_get_argv (QlHelper *helper)
{
  GPtrArray *argv;

  g_return_val_if_fail (helper != NULL, NULL);
  argv = g_ptr_array_new ();
  g_ptr_array_add (argv, g_strdup (helper->binary));
  for (guint i = 0; i < helper->args->len; i++)
    g_ptr_array_add (argv, g_strdup (g_ptr_array_index (helper->args, i)));
  g_ptr_array_add (argv, NULL);
  return (char **) g_ptr_array_free (argv, FALSE);
}

/**
 * ql_helper_get_environ:
 * @helper: a #QlHelper
 *
 * Gets the variables set with ql_helper_set_env(), as `NAME=VALUE`.
 *
 * Returns: (transfer full) (array zero-terminated=1): the variables
 */
char **
ql_helper_get_environ (QlHelper *helper)
{
  GPtrArray *env;

  g_return_val_if_fail (helper != NULL, NULL);
  env = g_ptr_array_new ();
  for (guint i = 0; i < helper->env->len; i++)
    g_ptr_array_add (env, g_strdup (g_ptr_array_index (helper->env, i)));
  g_ptr_array_add (env, NULL);
  return (char **) g_ptr_array_free (env, FALSE);
}

/**
 * ql_helper_get_socket:
 * @helper: a #QlHelper
 *
 * Gets the socket the helper listens on when it is ready.
 *
 * Returns: (nullable): its path, or %NULL when none was set
 */
const char *
ql_helper_get_socket (QlHelper *helper)
{
  g_return_val_if_fail (helper != NULL, NULL);
  return helper->socket;
}

/**
 * ql_helper_get_fds:
 * @helper: a #QlHelper
 *
 * Gets the host descriptors handed to the helper, index i becoming its
 * descriptor 3 + i; -1 stands for a listening socket the launcher makes
 * (ql_helper_get_listen_socket()).
 *
 * Returns: (transfer none) (element-type int): the descriptors
 */
GArray *
ql_helper_get_fds (QlHelper *helper)
{
  g_return_val_if_fail (helper != NULL, NULL);
  return helper->fds;
}

/**
 * ql_helper_get_ready_timeout:
 * @helper: a #QlHelper
 *
 * Gets the readiness deadline, in milliseconds.
 *
 * Returns: the deadline
 */
guint
ql_helper_get_ready_timeout (QlHelper *helper)
{
  g_return_val_if_fail (helper != NULL, 0);
  return helper->ready_timeout;
}

/**
 * ql_helper_get_device_id:
 * @helper: a #QlHelper
 *
 * Gets the id of the device that declared the helper (set when the VM's
 * command line is built).
 *
 * Returns: (nullable): the device id, or %NULL for a helper added directly
 */
const char *
ql_helper_get_device_id (QlHelper *helper)
{
  g_return_val_if_fail (helper != NULL, NULL);
  return helper->device_id;
}

/* The longest device id written whole into a socket's name. */
#define SOCKET_ID_MAX 32

/**
 * ql_helper_socket_name:
 * @device_id: the device's id
 * @kind: what the socket is for, e.g. `virtiofsd` or `passt`
 *
 * The file name of a helper's socket in the runtime directory,
 * `ID.KIND.sock`; for an id longer than 32 bytes its first 23 bytes and a
 * hash of it stand for the id, so that the path fits a unix socket address
 * under the default runtime directory.
 *
 * Returns: (transfer full): the file name
 *
 * Since: ABI 1.2
 */
char *
ql_helper_socket_name (const char *device_id,
                       const char *kind)
{
  g_return_val_if_fail (device_id != NULL, NULL);
  g_return_val_if_fail (kind != NULL, NULL);
  if (strlen (device_id) <= SOCKET_ID_MAX)
    return g_strdup_printf ("%s.%s.sock", device_id, kind);
  return g_strdup_printf ("%.23s-%08x.%s.sock", device_id, g_str_hash (device_id), kind);
}

/**
 * ql_helper_check_socket_name:
 * @device: the device that names the socket
 * @vm: its VM
 * @helper: the helper's name, for the message (`passt`)
 * @name: the socket's file name (ql_helper_socket_name())
 * @error: return location for an error
 *
 * For a device's #QlDeviceClass.valid: checks that the socket @name, in
 * the runtime directory the caller chose (ql_vm_config_set_runtime_dir()),
 * fits a unix socket address (%QL_HELPER_SOCKET_PATH_MAX bytes). Under
 * the default runtime directory a name of ql_helper_socket_name() always
 * fits.
 *
 * Returns: %TRUE when it fits; else %FALSE with a %QL_CONFIG_ERROR naming
 *   the device and its `id`
 *
 * Since: ABI 1.2
 */
gboolean
ql_helper_check_socket_name (QlDevice    *device,
                             QlVmConfig  *vm,
                             const char  *helper,
                             const char  *name,
                             GError     **error)
{
  const char *runtime_dir;
  gsize len;

  g_return_val_if_fail (QL_IS_DEVICE (device), FALSE);
  g_return_val_if_fail (helper != NULL && name != NULL, FALSE);
  runtime_dir = vm != NULL ? ql_vm_config_get_runtime_dir (vm) : NULL;
  if (runtime_dir == NULL)
    return TRUE;
  len = strlen (runtime_dir) + 1 + strlen (name);
  if (len <= QL_HELPER_SOCKET_PATH_MAX)
    return TRUE;
  ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "id",
                       "%s's socket '%s/%s' would be %" G_GSIZE_FORMAT " bytes long, and a unix socket path "
                       "holds at most %d: use a shorter runtime directory",
                       helper, runtime_dir, name, len, QL_HELPER_SOCKET_PATH_MAX);
  return FALSE;
}
