/* Test helpers: qlaunch's cache files as bytes (see ql-test-cache.h). */
#include "ql-test-cache.h"

#include <string.h>

guint64
ql_test_cache_hash (const guint8 *data,
                    gsize         size)
{
  guint64 hash = G_GUINT64_CONSTANT (0xcbf29ce484222325);
  gsize i = 0;

  for (; i + 8 <= size; i += 8)
    {
      guint64 word;

      memcpy (&word, data + i, sizeof word);
      hash ^= GUINT64_FROM_LE (word);
      hash *= G_GUINT64_CONSTANT (0x100000001b3);
    }
  for (; i < size; i++)
    {
      hash ^= data[i];
      hash *= G_GUINT64_CONSTANT (0x100000001b3);
    }
  return hash;
}

gsize
ql_test_cache_payload_length (const char *contents)
{
  guint32 length;

  memcpy (&length, contents + 12, sizeof length);
  return GUINT32_FROM_LE (length);
}

void
ql_test_cache_rehash (char *contents)
{
  guint64 hash = GUINT64_TO_LE (ql_test_cache_hash ((const guint8 *) contents + QL_TEST_CACHE_HEADER_SIZE,
                                                    ql_test_cache_payload_length (contents)));

  memcpy (contents + 16, &hash, sizeof hash);
}
