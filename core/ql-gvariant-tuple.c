/* qlaunch — private: the members of a serialized GVariant tuple, found
 * without GVariant.
 *
 * g_variant_new_from_bytes() builds the type information of the whole
 * type first: for the registry cache's tuple of eight arrays, a dozen
 * allocations in size classes of their own, more than reading the file
 * costs. The framing is simple enough to read directly (GVariant's
 * serialization format, "Tuples"). */
#include "ql-gvariant-tuple.h"

/* The size of a framing offset in a GVariant container of @size bytes. */
static guint
offset_size (gsize size)
{
  if (size > G_MAXUINT32)
    return 8;
  if (size > G_MAXUINT16)
    return 4;
  if (size > G_MAXUINT8)
    return 2;
  return size > 0 ? 1 : 0;
}

/**
 * ql_gvariant_split_tuple:
 * @payload: a serialized GVariant tuple whose @n_children members all have
 *   a variable size (strings, arrays)
 * @alignments: (array length=n_children): each member's alignment (1, 2,
 *   4 or 8: that of its type)
 * @n_children: how many members the tuple has
 * @children: (out caller-allocates) (array length=n_children): each
 *   member's bytes, inside @payload
 *
 * Finds the members of a tuple as GVariant's serializer laid them out: each
 * from the end of the one before it, rounded up to its alignment, to the
 * end its framing offset gives (little-endian, at the end of the tuple,
 * the first member's last); the last member ends where the offsets start.
 * Checks what GVariant would check: every member inside the tuple, before
 * the offsets, and not ending before it starts. (With offsets of up to 4
 * bytes, the first check follows from the others: each member starts at
 * or after the end of the one before it, and the last ends where the
 * offsets start; with 8-byte offsets, rounding a huge end up could wrap.)
 *
 * Returns: %FALSE for bytes that are not such a tuple
 */
gboolean
ql_gvariant_split_tuple (GBytes       *payload,
                         const guint8 *alignments,
                         guint         n_children,
                         QlTupleSpan  *children)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (payload, &size);
  guint osize = offset_size (size);
  gsize frames, end = 0;

  if (n_children == 0 || (gsize) (n_children - 1) > size / MAX (osize, 1))
    return FALSE;
  frames = size - (gsize) (n_children - 1) * osize;
  for (guint i = 0; i < n_children; i++)
    {
      gsize align = alignments[i];
      gsize start;

      g_return_val_if_fail (align == 1 || align == 2 || align == 4 || align == 8, FALSE);
      start = (end + align - 1) & ~(align - 1);
      if (i + 1 < n_children)
        {
          const guint8 *at = data + size - (gsize) (i + 1) * osize;

          end = 0;
          for (guint k = 0; k < osize; k++)
            end |= (gsize) at[k] << (8 * k);
        }
      else
        end = frames;
      if (end > frames || start > end)
        return FALSE;
      children[i].data = data + start;
      children[i].size = end - start;
    }
  return TRUE;
}
