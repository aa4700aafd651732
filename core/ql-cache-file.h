/* qlaunch — private: the framing, checks and atomic writing shared by
 * qlaunch's on-disk caches (QEMU capabilities, the plugin registry). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define QL_CACHE_FILE_MAGIC_SIZE 8

char     *ql_cache_file_get_dir   (const char    *subdir);
GVariant *ql_cache_file_read      (const char    *path,
                                   const char     magic[QL_CACHE_FILE_MAGIC_SIZE],
                                   const GVariantType *type);
gboolean  ql_cache_file_write     (const char    *path,
                                   const char     magic[QL_CACHE_FILE_MAGIC_SIZE],
                                   GVariant      *data,
                                   GError       **error);

G_END_DECLS
