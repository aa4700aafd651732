/* ql_gvariant_split_tuple() against GVariant itself: for tuples of the
 * registry cache's shape (strings and arrays, every member of variable
 * size) in the three offset sizes, the members it finds are the bytes
 * g_variant_get_child_value() gives; after damage to the framing offsets,
 * either it refuses the tuple or it still agrees with GVariant. */
#include "ql-gvariant-tuple.h"

#include <string.h>

#define TYPE "(ssaya(tu)aya(uu))"

static const guint8 alignments[] = { 1, 1, 1, 8, 1, 4 };

/* A fixed array of type a@element_type of up to @max_n elements of
 * @element_size random bytes each. */
static GVariant *
random_array (GRand      *rand,
              const char *element_type,
              gsize       element_size,
              guint       max_n)
{
  guint n = g_rand_int_range (rand, 0, max_n + 1);
  g_autofree guint8 *bytes = g_malloc (n * element_size + 1);

  for (gsize i = 0; i < n * element_size; i++)
    bytes[i] = (guint8) g_rand_int (rand);
  return g_variant_new_fixed_array (G_VARIANT_TYPE (element_type), bytes, n, element_size);
}

/* A tuple of TYPE with members of random sizes up to about @max_len. */
static GVariant *
random_tuple (GRand *rand,
              guint  max_len)
{
  GVariant *children[6];
  guint len = g_rand_int_range (rand, 0, MIN (max_len, 40) + 1);
  g_autofree char *s0 = g_malloc0 (len + 1);
  g_autofree char *s1 = g_strdup_printf ("v%u", g_rand_int (rand));

  for (guint i = 0; i < len; i++)
    s0[i] = (char) g_rand_int_range (rand, 'a', 'z' + 1);
  children[0] = g_variant_new_string (s0);
  children[1] = g_variant_new_string (s1);
  children[2] = random_array (rand, "y", 1, max_len);
  children[3] = random_array (rand, "(tu)", 16, max_len / 16);
  children[4] = random_array (rand, "y", 1, max_len);
  children[5] = random_array (rand, "(uu)", 8, max_len / 8);
  return g_variant_ref_sink (g_variant_new_tuple (children, G_N_ELEMENTS (children)));
}

/* Each member @spans found is the bytes GVariant reads for it from
 * @bytes, taken as untrusted. */
static void
assert_same_as_gvariant (GBytes            *bytes,
                         const QlTupleSpan *spans)
{
  g_autoptr(GVariant) tuple = g_variant_new_from_bytes (G_VARIANT_TYPE (TYPE), bytes, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (alignments); i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (tuple, i);
      gsize size = g_variant_get_size (child);

      g_assert_cmpuint (spans[i].size, ==, size);
      if (size > 0)
        g_assert_cmpmem (spans[i].data, spans[i].size, g_variant_get_data (child), size);
    }
}

static void
test_members (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (1);
  /* Tuples under 256 bytes, under 64 KiB and over: 1-, 2- and 4-byte
   * offsets. */
  static const guint max_lens[] = { 20, 4000, 40000 };
  guint offset_sizes_seen[5] = { 0 };

  for (guint m = 0; m < G_N_ELEMENTS (max_lens); m++)
    for (guint round = 0; round < 200; round++)
      {
        g_autoptr(GVariant) tuple = random_tuple (rand, max_lens[m]);
        g_autoptr(GBytes) bytes = g_variant_get_data_as_bytes (tuple);
        gsize size = g_bytes_get_size (bytes);
        QlTupleSpan spans[G_N_ELEMENTS (alignments)];

        g_assert_true (ql_gvariant_split_tuple (bytes, alignments, G_N_ELEMENTS (alignments), spans));
        assert_same_as_gvariant (bytes, spans);
        offset_sizes_seen[size > G_MAXUINT16 ? 4 : size > G_MAXUINT8 ? 2 : 1]++;
      }
  g_assert_cmpuint (offset_sizes_seen[1], >, 0);
  g_assert_cmpuint (offset_sizes_seen[2], >, 0);
  g_assert_cmpuint (offset_sizes_seen[4], >, 0);
}

/* A framing offset changed at random: refused, or read as GVariant reads
 * it. An offset past the offsets themselves is always refused. */
static void
test_damaged_offsets (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (2);
  guint refused = 0, accepted = 0;

  for (guint round = 0; round < 2000; round++)
    {
      g_autoptr(GVariant) tuple = random_tuple (rand, round % 2 == 0 ? 20 : 4000);
      gsize size = g_variant_get_size (tuple);
      guint osize = size > G_MAXUINT8 ? 2 : 1;
      g_autofree guint8 *data = g_memdup2 (g_variant_get_data (tuple), size);
      g_autoptr(GBytes) bytes = NULL;
      QlTupleSpan spans[G_N_ELEMENTS (alignments)];
      guint slot = g_rand_int_range (rand, 1, G_N_ELEMENTS (alignments));
      guint8 *at = data + size - slot * osize;

      if (round % 3 == 0)
        {
          /* Past where the offsets start. */
          gsize past = size - (G_N_ELEMENTS (alignments) - 1) * osize + 1;

          at[0] = (guint8) past;
          if (osize == 2)
            at[1] = (guint8) (past >> 8);
          bytes = g_bytes_new (data, size);
          g_assert_false (ql_gvariant_split_tuple (bytes, alignments, G_N_ELEMENTS (alignments), spans));
          refused++;
          continue;
        }
      at[g_rand_int_range (rand, 0, osize)] = (guint8) g_rand_int (rand);
      bytes = g_bytes_new (data, size);
      if (ql_gvariant_split_tuple (bytes, alignments, G_N_ELEMENTS (alignments), spans))
        {
          assert_same_as_gvariant (bytes, spans);
          accepted++;
        }
      else
        refused++;
    }
  g_test_message ("%u damaged tuples refused, %u read as GVariant reads them", refused, accepted);
  g_assert_cmpuint (refused, >, 0);
  g_assert_cmpuint (accepted, >, 0);
}

/* Too short to hold its offsets, or empty. */
static void
test_short (void)
{
  static const guint8 two[] = { 0, 0 };
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  g_autoptr(GBytes) tiny = g_bytes_new_static (two, sizeof two);
  QlTupleSpan spans[G_N_ELEMENTS (alignments)];

  g_assert_false (ql_gvariant_split_tuple (empty, alignments, G_N_ELEMENTS (alignments), spans));
  g_assert_false (ql_gvariant_split_tuple (tiny, alignments, G_N_ELEMENTS (alignments), spans));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gvariant-tuple/members", test_members);
  g_test_add_func ("/gvariant-tuple/damaged-offsets", test_damaged_offsets);
  g_test_add_func ("/gvariant-tuple/short", test_short);
  return g_test_run ();
}
