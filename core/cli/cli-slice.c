/* qlaunch CLI — small blocks from malloc, on GLib versions that still slab them.
 *
 * GLib before 2.76 serves g_slice_alloc() from slabs: every block size
 * gets a page-aligned page of its own. A short command such as `args`
 * allocates a few hundred small blocks of some twenty sizes (type
 * classes, property specs, hash tables, lists), so its heap spreads over
 * pages it fills only a little, and each fresh page costs a page fault.
 * GLib 2.76 and later give these blocks to malloc, which packs them, and
 * ignore the setting made here; older versions are asked for the same,
 * as G_SLICE=always-malloc would.
 *
 * The setting must be made before GSlice allocates its first block, which
 * happens in GObject's own initialiser, before main() runs. The
 * executable's pre-initialisers run after every library is relocated but
 * before any library's initialiser, so it is made from there: a setting
 * GLib keeps in a variable, read when the allocator starts. A G_SLICE the
 * user set (debug-blocks, say) is left to GLib alone. The environment is
 * not touched: QEMU and the helpers inherit the user's. */
#include <glib.h>

#include <string.h>

static void
prefer_malloc_for_small_blocks (int    argc,
                                char **argv,
                                char **envp)
{
  (void) argc;
  (void) argv;

  /* The C library takes up the environment in its own initialiser, which
   * has not run yet: getenv() would see none. Look in the one passed. */
  for (char **var = envp; var != NULL && *var != NULL; var++)
    if (strncmp (*var, "G_SLICE=", strlen ("G_SLICE=")) == 0)
      return;

#if !GLIB_CHECK_VERSION (2, 76, 0)
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  g_slice_set_config (G_SLICE_CONFIG_ALWAYS_MALLOC, TRUE);
  G_GNUC_END_IGNORE_DEPRECATIONS
#endif
}

__attribute__((section (".preinit_array"), used))
static void (*const prefer_malloc_entry) (int, char **, char **) = prefer_malloc_for_small_blocks;
