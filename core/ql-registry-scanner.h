/* qlaunch — private: opening a plugin file in qlaunch-plugin-scanner, a
 * child process, for the registry cache. */
#pragma once

#include "ql-registry-cache.h"

G_BEGIN_DECLS

typedef struct
{
  char        *path;
  char        *family;
  struct stat  st;
} QlRegistryScanFile;

char                  *ql_registry_scanner_find       (void);
QlRegistryCacheEntry **ql_registry_scanner_scan_files (const char *scanner,
                                                       GPtrArray  *files,
                                                       guint      *n_processes);
QlRegistryCacheEntry *ql_registry_scanner_scan (const char        *scanner,
                                                const char        *path,
                                                const struct stat *st,
                                                const char        *family);

G_END_DECLS
