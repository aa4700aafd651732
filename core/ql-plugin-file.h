/* qlaunch — private: opening a plugin file only through a path no other
 * user can change. */
#pragma once

#include <glib.h>
#include <sys/stat.h>

G_BEGIN_DECLS

/* Directories a walk checked, by real path, kept open for the next
 * walks (ql-plugin-file.c). */
typedef struct _QlCheckedDirs QlCheckedDirs;

QlCheckedDirs *ql_checked_dirs_new  (void);
void           ql_checked_dirs_free (QlCheckedDirs *checked);

int ql_plugin_file_open (QlCheckedDirs *checked,
                         const char    *filename,
                         struct stat   *st,
                         GError       **error);

int      ql_plugin_file_open_dir (QlCheckedDirs *checked,
                                  const char    *dirname,
                                  struct stat   *st,
                                  GError       **error);
gboolean ql_plugin_file_check_at (int           dir_fd,
                                  const char   *name,
                                  struct stat  *st);

const char *ql_plugin_file_module_name (int                fd,
                                       const struct stat *st);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlCheckedDirs, ql_checked_dirs_free)

G_END_DECLS
