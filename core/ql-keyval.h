/* qlaunch — private: QEMU's key=value list syntax (",," is a literal comma). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * QlKeyvalPair:
 * A parsed `key=value` element. @key is NULL for a bare element (the head,
 * or QEMU's deprecated short-form boolean) whose text is in @value.
 */
typedef struct
{
  char *key;
  char *value;
} QlKeyvalPair;

void       ql_keyval_pair_free (QlKeyvalPair *pair);

/*
 * ql_keyval_split:
 * Splits @text on single commas (",," stands for one literal comma) into
 * QlKeyvalPair elements. An element without '=' has key NULL. Empty
 * elements and empty keys are errors (QL_CONFIG_ERROR_PARSE), reported with
 * @what (e.g. "device spec") in the message.
 *
 * Returns: (transfer full) (element-type QlKeyvalPair): the elements, or NULL
 */
GPtrArray *ql_keyval_split     (const char  *text,
                                const char  *what,
                                GError     **error);

G_END_DECLS
