/* qlaunch — private: the members of a serialized GVariant tuple
 * (ql-gvariant-tuple.c). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A member of a serialized tuple: its bytes. */
typedef struct
{
  const guint8 *data;
  gsize         size;
} QlTupleSpan;

gboolean ql_gvariant_split_tuple (GBytes       *payload,
                                  const guint8 *alignments,
                                  guint         n_children,
                                  QlTupleSpan  *children);

G_END_DECLS
