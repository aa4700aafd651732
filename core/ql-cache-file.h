/* qlaunch — private: the framing, checks and atomic writing shared by
 * qlaunch's on-disk caches (QEMU capabilities, the plugin registry). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define QL_CACHE_FILE_MAGIC_SIZE 8

char     *ql_cache_file_get_dir   (const char    *subdir);
/* The hash of the payload: 64-bit FNV-1a over 64-bit words. */
guint64   ql_cache_file_hash      (const guint8  *data,
                                   gsize          size);
GVariant *ql_cache_file_read      (const char    *path,
                                   const char     magic[QL_CACHE_FILE_MAGIC_SIZE],
                                   const GVariantType *type);
GBytes   *ql_cache_file_read_payload (const char         *path,
                                      const char          magic[QL_CACHE_FILE_MAGIC_SIZE],
                                      const GVariantType *type,
                                      GBytes            **tail);
gboolean  ql_cache_file_write_with_tail (const char    *path,
                                         const char     magic[QL_CACHE_FILE_MAGIC_SIZE],
                                         GVariant      *data,
                                         const guint8  *tail,
                                         gsize          tail_length,
                                         GError       **error);
const char *ql_cache_file_string  (GVariant      *value);
gboolean  ql_cache_file_write     (const char    *path,
                                   const char     magic[QL_CACHE_FILE_MAGIC_SIZE],
                                   GVariant      *data,
                                   GError       **error);

G_END_DECLS
