/* The floor of bench-startup: linked against exactly the libraries the
 * qlaunch tool links (its DT_NEEDED list: the library, GLib, GObject, GIO,
 * json-glib, libc), so that the dynamic loader maps, relocates and
 * initialises every one of them, and then returns at once. The symbol
 * references below only keep each library needed (the linker drops a
 * library nothing references); nothing of them runs. */
#include <qlaunch/qlaunch.h>
#include <json-glib/json-glib.h>

static void *volatile keep[] = {
  (void *) ql_vm_config_get_type,
  (void *) g_file_get_type,
  (void *) json_node_get_type,
  (void *) g_object_get_type,
  (void *) g_free,
};

int
main (void)
{
  return keep[0] == NULL;
}
