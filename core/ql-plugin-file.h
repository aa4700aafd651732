/* qlaunch — private: opening a plugin file only through a path no other
 * user can change. */
#pragma once

#include <glib.h>
#include <sys/stat.h>

G_BEGIN_DECLS

int ql_plugin_file_open (const char   *filename,
                         struct stat  *st,
                         GError      **error);

int      ql_plugin_file_open_dir (const char   *dirname,
                                  struct stat  *st,
                                  GError      **error);
gboolean ql_plugin_file_check_at (int           dir_fd,
                                  const char   *name,
                                  struct stat  *st);

const char *ql_plugin_file_module_name (int                fd,
                                       const struct stat *st);

G_END_DECLS
