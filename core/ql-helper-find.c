/* qlaunch — finding a vhost-user backend the way QEMU's interop
 * specification says (docs/interop/vhost-user.json in QEMU's tree): JSON
 * descriptors in /usr/share/qemu/vhost-user, /etc/qemu/vhost-user and, for
 * an unprivileged user, $XDG_CONFIG_HOME/qemu/vhost-user. */
#include "ql-private.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

/*
 * ql_interop_descriptor_dirs:
 * @kind: the kind of QEMU interop descriptor: `vhost-user`, `firmware`
 * @override_env: the variable whose colon-separated list replaces the
 *   defaults (for tests)
 *
 * The directories of QEMU's interop descriptors of @kind, lowest priority
 * first: /usr/share/qemu/KIND, /etc/qemu/KIND and, for an unprivileged
 * user, $XDG_CONFIG_HOME/qemu/KIND (root does not read a user's
 * configuration, as libvirt does).
 *
 * Returns: (transfer full) (element-type filename): the directories
 */
GPtrArray *
ql_interop_descriptor_dirs (const char *kind,
                            const char *override_env)
{
  GPtrArray *dirs = g_ptr_array_new_with_free_func (g_free);
  const char *override = g_getenv (override_env);

  if (override != NULL)
    {
      g_auto(GStrv) parts = g_strsplit (override, ":", -1);

      for (guint i = 0; parts[i] != NULL; i++)
        if (parts[i][0] != '\0')
          g_ptr_array_add (dirs, g_strdup (parts[i]));
      return dirs;
    }
  g_ptr_array_add (dirs, g_build_filename ("/usr/share/qemu", kind, NULL));
  g_ptr_array_add (dirs, g_build_filename ("/etc/qemu", kind, NULL));
  if (getuid () != 0)
    g_ptr_array_add (dirs, g_build_filename (g_get_user_config_dir (), "qemu", kind, NULL));
  return dirs;
}

/* The vhost-user descriptor directories, lowest priority first. */
static GPtrArray *
descriptor_dirs (void)
{
  return ql_interop_descriptor_dirs ("vhost-user", "QLAUNCH_VHOST_USER_DIRS");
}

/* Whether another user than us or root could change @path (owner, or
 * write permission for group or others). */
gboolean
ql_file_writable_by_others (const GStatBuf *st)
{
  return (st->st_uid != 0 && st->st_uid != getuid ())
         || (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

/*
 * ql_interop_descriptor_files:
 * @dirs: the descriptor directories, lowest priority first
 *   (ql_interop_descriptor_dirs())
 * @searched: (nullable): gets the directories, comma-separated, for messages
 *
 * The `*.json` descriptors of @dirs as QEMU's interop specification takes
 * them: one per file name, a later directory's file hiding the earlier
 * ones', in the order of their names.
 *
 * Returns: (transfer full) (element-type filename): their paths
 */
GPtrArray *
ql_interop_descriptor_files (GPtrArray *dirs,
                             GString   *searched)
{
  g_autoptr(GHashTable) by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GList) names = NULL;
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < dirs->len; i++)
    {
      const char *dir_path = g_ptr_array_index (dirs, i);
      g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
      const char *name;

      if (searched != NULL)
        g_string_append_printf (searched, "%s%s", searched->len > 0 ? ", " : "", dir_path);
      if (dir == NULL)
        continue;
      while ((name = g_dir_read_name (dir)) != NULL)
        if (g_str_has_suffix (name, ".json"))
          g_hash_table_insert (by_name, g_strdup (name), g_build_filename (dir_path, name, NULL));
    }
  names = g_list_sort (g_hash_table_get_keys (by_name), (GCompareFunc) strcmp);
  for (GList *l = names; l != NULL; l = l->next)
    g_ptr_array_add (files, g_strdup (g_hash_table_lookup (by_name, l->data)));
  return files;
}

/*
 * ql_interop_descriptor_usable:
 * @path: a descriptor file (ql_interop_descriptor_files())
 * @what: its kind for messages, such as `vhost-user`
 * @error: return location for an error
 *
 * Whether @path is a descriptor to read: %FALSE, @error unset, for a file
 * that is gone or empty (an empty file hides a lower one); %FALSE with
 * %QL_CONFIG_ERROR_HOST for one another user could change.
 *
 * Returns: whether to read it
 */
gboolean
ql_interop_descriptor_usable (const char  *path,
                              const char  *what,
                              GError     **error)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0 || st.st_size == 0)
    return FALSE;
  if (ql_file_writable_by_others (&st))
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                   "refusing %s descriptor '%s': another user can change it "
                   "(owner %u, mode %04o); it must belong to root or user %u and not be writable by group or others",
                   what, path, (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777), (unsigned) getuid ());
      return FALSE;
    }
  return TRUE;
}

/* The binary of descriptor @path if it describes a backend of @type. */
static char *
descriptor_binary (const char  *path,
                   const char  *type,
                   GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *object;
  const char *found_type;
  const char *binary;

  if (!json_parser_load_from_mapped_file (parser, path, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                   "vhost-user descriptor '%s' is not a JSON object", path);
      return NULL;
    }
  object = json_node_get_object (root);
  found_type = json_object_get_string_member_with_default (object, "type", NULL);
  if (found_type == NULL || !g_str_equal (found_type, type))
    return NULL;
  binary = json_object_get_string_member_with_default (object, "binary", NULL);
  if (binary == NULL || !g_path_is_absolute (binary))
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                   "vhost-user descriptor '%s' names no absolute \"binary\"", path);
      return NULL;
    }
  return g_strdup (binary);
}

/**
 * ql_helper_find_vhost_user_binary:
 * @backend_type: the backend type of QEMU's vhost-user.json, e.g. `fs`
 *   (virtiofsd), `blk`, `gpu`, `input`
 * @error: return location for an error
 *
 * Finds the program of a vhost-user backend the way QEMU's interop
 * specification says: the JSON descriptors in `/usr/share/qemu/vhost-user`,
 * then `/etc/qemu/vhost-user`, then (not for root, as libvirt does)
 * `$XDG_CONFIG_HOME/qemu/vhost-user`; a file overrides the file of the
 * same name in the directories before, an empty file hides it; the files
 * are taken in the order of their names, and the first whose `type` is
 * @backend_type gives its `binary`. (Debian's QEMU 7.2 ships
 * `50-qemu-virtiofsd.json`: `/usr/lib/qemu/virtiofsd`.) Descriptor files
 * another user could change (owned by someone else than root or us, or
 * writable by group or others) are refused. `QLAUNCH_VHOST_USER_DIRS`, a
 * colon-separated list, replaces the directories.
 *
 * Returns: (transfer full): the binary's path, or %NULL with @error set
 *   (%QL_CONFIG_ERROR_HOST)
 *
 * Since: ABI 1.2
 */
char *
ql_helper_find_vhost_user_binary (const char  *backend_type,
                                  GError     **error)
{
  g_autoptr(GPtrArray) dirs = descriptor_dirs ();
  g_autoptr(GString) searched = g_string_new (NULL);
  g_autoptr(GPtrArray) files = NULL;

  g_return_val_if_fail (backend_type != NULL, NULL);

  files = ql_interop_descriptor_files (dirs, searched);
  for (guint i = 0; i < files->len; i++)
    {
      const char *path = g_ptr_array_index (files, i);
      g_autoptr(GError) local_error = NULL;
      char *binary;

      if (!ql_interop_descriptor_usable (path, "vhost-user", &local_error))
        {
          if (local_error == NULL)
            continue;
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      binary = descriptor_binary (path, backend_type, &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      if (binary != NULL)
        return binary;
    }

  g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
               "no vhost-user backend of type '%s' is installed: no descriptor (*.json) in %s says \"type\": \"%s\"",
               backend_type, searched->str, backend_type);
  return NULL;
}

/* Whether @path, an absolute program path, and every directory above it
 * are safe to run as this user: owned by root or us, not writable by group
 * or others (sticky directories are no exception: another user could
 * still place the file). Symbolic links are followed; the target and its
 * directories are checked. */
gboolean
ql_helper_check_binary_trusted (const char  *path,
                                GError     **error)
{
  g_autofree char *real = NULL;
  g_autofree char *dir = NULL;
  GStatBuf st;

  if (!g_path_is_absolute (path))
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                   "'%s' is not an absolute path, and no such program is in PATH", path);
      return FALSE;
    }
  real = realpath (path, NULL);
  if (real == NULL)
    {
      int saved = errno;

      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                   "'%s' cannot be run: %s", path, g_strerror (saved));
      return FALSE;
    }
  if (g_stat (real, &st) != 0 || !S_ISREG (st.st_mode) || access (real, X_OK) != 0)
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                   "'%s' is not an executable file", path);
      return FALSE;
    }
  dir = g_strdup (real);
  for (;;)
    {
      if (g_stat (dir, &st) != 0)
        {
          int saved = errno;

          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                       "cannot check '%s': %s", dir, g_strerror (saved));
          return FALSE;
        }
      if (ql_file_writable_by_others (&st))
        {
          g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_HOST,
                       "refusing to run '%s': %s '%s' can be changed by another user "
                       "(owner %u, mode %04o); it must belong to root or user %u and not be writable by group or others",
                       path, g_str_equal (dir, real) ? "the file" : "the directory", dir,
                       (unsigned) st.st_uid, (unsigned) (st.st_mode & 07777), (unsigned) getuid ());
          return FALSE;
        }
      if (g_str_equal (dir, "/"))
        break;
      {
        char *parent = g_path_get_dirname (dir);

        g_free (dir);
        dir = parent;
      }
    }
  return TRUE;
}
