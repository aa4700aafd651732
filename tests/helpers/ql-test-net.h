/* qlaunch tests — the host side of a guest's network: a free port on
 * 127.0.0.1, an HTTP GET through it. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A port of 127.0.0.1 for sockets of @type (SOCK_STREAM, SOCK_DGRAM)
 * that was free a moment ago. */
guint  ql_test_free_port (int          type);
/* GET @path from 127.0.0.1:@port (HTTP/1.0, 10 s at the most to connect):
 * the whole reply, or NULL with @error. */
char  *ql_test_http_get  (guint        port,
                          const char  *path,
                          GError     **error);

G_END_DECLS
