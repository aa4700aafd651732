/* The CLI's small-block setting (core/cli/cli-slice.c), built into this
 * program as into qlaunch: on GLib before 2.76, g_slice_alloc() serves
 * from malloc (packed) instead of a slab page per block size, unless the
 * user set G_SLICE, which is then GLib's alone.
 *
 * Measured from the heap itself: one block of each of 32 sizes costs a few
 * KiB of malloc'ed memory from malloc, but a page-aligned slab page for
 * each size not in use yet (up to 128 KiB) from the slab allocator. */
#include <glib.h>

#include <malloc.h>

#define N_SIZES 32

static const char *self_path;

/* Bytes malloc handed out for one g_slice block of each of N_SIZES sizes
 * (16, 32, ... 512 bytes: a size class each). */
static gsize
heap_growth_of_small_blocks (void)
{
  gpointer blocks[N_SIZES];
  struct mallinfo2 before = mallinfo2 ();
  struct mallinfo2 after;

  for (guint i = 0; i < N_SIZES; i++)
    blocks[i] = g_slice_alloc ((i + 1) * 16);
  after = mallinfo2 ();
  for (guint i = 0; i < N_SIZES; i++)
    g_slice_free1 ((i + 1) * 16, blocks[i]);
  return after.uordblks - before.uordblks;
}

static gboolean
heap_measurable (void)
{
  /* Sanitizers and valgrind replace malloc: their mallinfo2() says
   * nothing, and valgrind makes GLib use malloc anyway. */
  return mallinfo2 ().arena > 0;
}

/* Runs this program's --print-growth in a child with G_SLICE=@value. */
static gsize
growth_in_child (const char *value)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_auto(GStrv) env = g_environ_setenv (g_get_environ (), "G_SLICE", value, TRUE);
  const char *argv[] = { self_path, "--print-growth", NULL };
  int status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL,
                               &status, &error));
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  return (gsize) g_ascii_strtoull (out, NULL, 10);
}

static void
test_slice_from_malloc (void)
{
  gsize growth;

#if GLIB_CHECK_VERSION (2, 76, 0)
  g_test_skip ("GLib 2.76 and later always serve small blocks from malloc");
  return;
#endif
  if (g_getenv ("G_SLICE") != NULL)
    {
      g_test_skip ("G_SLICE is set in the test's environment");
      return;
    }
  if (!heap_measurable ())
    {
      g_test_skip ("malloc is replaced (sanitizer or valgrind): the heap cannot be measured");
      return;
    }
  growth = heap_growth_of_small_blocks ();
  g_test_message ("32 small blocks took %" G_GSIZE_FORMAT " bytes of heap", growth);
  g_assert_cmpuint (growth, <, 16 * 1024);
}

static void
test_user_setting_kept (void)
{
  gsize growth;

#if GLIB_CHECK_VERSION (2, 76, 0)
  g_test_skip ("GLib 2.76 and later ignore G_SLICE");
  return;
#endif
  if (!heap_measurable ())
    {
      g_test_skip ("malloc is replaced (sanitizer or valgrind): the heap cannot be measured");
      return;
    }
  /* G_SLICE set, without always-malloc: GLib's slab pages, as the user
   * asked. This is also what the program would do without the setting. */
  growth = growth_in_child ("debug-blocks");
  g_test_message ("with G_SLICE=debug-blocks: %" G_GSIZE_FORMAT " bytes", growth);
  g_assert_cmpuint (growth, >=, N_SIZES * 4096 / 2);
  growth = growth_in_child ("always-malloc");
  g_test_message ("with G_SLICE=always-malloc: %" G_GSIZE_FORMAT " bytes", growth);
  g_assert_cmpuint (growth, <, 16 * 1024);
}

int
main (int    argc,
      char **argv)
{
  if (argc == 2 && g_strcmp0 (argv[1], "--print-growth") == 0)
    {
      g_print ("%" G_GSIZE_FORMAT "\n", heap_growth_of_small_blocks ());
      return 0;
    }
  self_path = argv[0];
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/slice/from-malloc", test_slice_from_malloc);
  g_test_add_func ("/cli/slice/user-setting-kept", test_user_setting_kept);
  return g_test_run ();
}
