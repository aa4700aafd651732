/* Test helpers: qlaunch's cache files as bytes, to damage them on
 * purpose: the header's payload length and hash. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The header: 8 bytes of magic, the tail's length and the payload's
 * (32-bit little-endian, at 8 and 12), the payload's hash (64-bit, at 16);
 * the payload follows. */
#define QL_TEST_CACHE_HEADER_SIZE 24

/* FNV-1a, 64 bits, over little-endian 64-bit words then the last bytes,
 * as the header's hash is (computed here on its own, not with qlaunch's
 * code, so that a test of the format checks it too). */
guint64 ql_test_cache_hash           (const guint8 *data,
                                      gsize         size);
/* The payload's length, as the header of @contents says. */
gsize   ql_test_cache_payload_length (const char   *contents);
/* Sets the header's hash to that of the payload of @contents, as an edit
 * by hand that recomputes it would. */
void    ql_test_cache_rehash         (char         *contents);

G_END_DECLS
