/* The stack floor of bench-startup: what the libraries and idioms qlaunch
 * is built on cost for one `qlaunch args`, without anything of qlaunch's
 * own. Linked like startup-floor.c (exactly the qlaunch tool's DT_NEEDED
 * list), it
 *   - parses `args`' options with a GOptionContext,
 *   - loads the VM file with a GKeyFile,
 *   - makes one GObject of a class with as many properties as a VM
 *     configuration has (booleans, numbers, strings, enumerations) and sets
 *     one property for each key of the file,
 *   - opens one plugin file as qlaunch does (/proc/self/fd/N, lazy binding,
 *     local: dlopen() itself, which GModule wraps, so that the DT_NEEDED
 *     list stays qlaunch's) and looks up its descriptor function, calling
 *     nothing,
 *   - prints a command line as long as the example VM's.
 * Usage: startup-stack [--no-host-checks] VMFILE PLUGIN-FILE */
#include <qlaunch/qlaunch.h>
#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#define N_PROPS 55

typedef struct
{
  GObject parent_instance;
  char   *strings[N_PROPS];
} StackObject;

typedef struct
{
  GObjectClass parent_class;
} StackObjectClass;

static GType stack_object_get_type (void);
G_DEFINE_TYPE (StackObject, stack_object, G_TYPE_OBJECT)

static GParamSpec *props[N_PROPS + 1];
static char names[N_PROPS][16];

static void
stack_object_set_property (GObject      *object,
                           guint         id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  StackObject *self = (StackObject *) object;

  /* main() sets only the string properties. */
  (void) pspec;
  g_free (self->strings[id - 1]);
  self->strings[id - 1] = g_value_dup_string (value);
}

static void
stack_object_get_property (GObject    *object,
                           guint       id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  (void) object;
  (void) id;
  (void) value;
  (void) pspec;
}

static void
stack_object_init (StackObject *self)
{
  (void) self;
}

static void
stack_object_class_init (StackObjectClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  static const GEnumValue levels[] = {
    { 0, "LEVEL_LOW", "low" }, { 1, "LEVEL_HIGH", "high" }, { 0, NULL, NULL },
  };
  GType level_type = g_enum_register_static ("StackLevel", levels);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = stack_object_set_property;
  object_class->get_property = stack_object_get_property;
  /* The mix of a VM configuration: 14 booleans, 9 enumerations, about as
   * many strings and numbers. */
  for (int i = 0; i < N_PROPS; i++)
    {
      g_snprintf (names[i], sizeof names[i], "prop-%d", i);
      if (i < 14)
        props[i + 1] = g_param_spec_boolean (names[i], NULL, "A setting", FALSE, flags);
      else if (i < 23)
        props[i + 1] = g_param_spec_enum (names[i], NULL, "A choice", level_type, 0, flags);
      else if (i % 2 == 0)
        props[i + 1] = g_param_spec_uint (names[i], NULL, "A number", 0, 1000000, 0, flags);
      else
        props[i + 1] = g_param_spec_string (names[i], NULL, "A text", NULL, flags);
    }
  g_object_class_install_properties (object_class, N_PROPS + 1, props);
}

/* Keeps every library of the DT_NEEDED list needed (see startup-floor.c). */
static void *volatile keep[] = {
  (void *) ql_vm_config_get_type,
  (void *) json_node_get_type,
  (void *) g_file_get_type,
};

int
main (int    argc,
      char **argv)
{
  g_autofree char *format = NULL;
  g_autofree char *runtime_dir = NULL;
  g_autofree char *qemu_version = NULL;
  g_auto(GStrv) specs = NULL;
  gboolean no_host_checks = FALSE;
  GOptionEntry entries[] = {
    { "runtime-dir", 0, 0, G_OPTION_ARG_FILENAME, &runtime_dir, "Sockets in DIR", "DIR" },
    { "qemu-version", 0, 0, G_OPTION_ARG_STRING, &qemu_version, "Forms of QEMU X.Y", "X.Y" },
    { "format", 0, 0, G_OPTION_ARG_STRING, &format, "Output", "FORMAT" },
    { "no-host-checks", 0, 0, G_OPTION_ARG_NONE, &no_host_checks, "Skip host checks", NULL },
    { "device", 'd', 0, G_OPTION_ARG_STRING_ARRAY, &specs, "Add a device", "SPEC" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("VMFILE PLUGIN-FILE");
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GObject) object = NULL;
  g_auto(GStrv) groups = NULL;
  g_autofree char *module_name = NULL;
  void *module;
  guint n_set = 0;
  int fd;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || argc != 3)
    {
      fprintf (stderr, "usage: startup-stack [--no-host-checks] VMFILE PLUGIN-FILE\n");
      return 2;
    }
  if (!g_key_file_load_from_file (key_file, argv[1], G_KEY_FILE_NONE, &error))
    {
      fprintf (stderr, "startup-stack: %s\n", error->message);
      return 1;
    }
  object = g_object_new (stack_object_get_type (), NULL);
  groups = g_key_file_get_groups (key_file, NULL);
  for (guint g = 0; groups[g] != NULL; g++)
    {
      g_auto(GStrv) keys = g_key_file_get_keys (key_file, groups[g], NULL, NULL);

      for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
        {
          g_autofree char *value = g_key_file_get_string (key_file, groups[g], keys[k], NULL);

          /* The string properties (odd indices from 23 on: 16), in turn. */
          g_object_set (object, names[23 + 2 * (n_set++ % 16)], value, NULL);
        }
    }

  fd = open (argv[2], O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 1;
  module_name = g_strdup_printf ("/proc/self/fd/%d", fd);
  module = dlopen (module_name, RTLD_LAZY | RTLD_LOCAL);
  close (fd);
  if (module == NULL || dlsym (module, "ql_plugin_net_get_desc") == NULL)
    {
      fprintf (stderr, "startup-stack: %s: no plugin descriptor\n", argv[2]);
      return 1;
    }

  g_print ("qemu-system-x86_64 -name guest=minimal -machine q35,accel=tcg -cpu max -smp 2 -m 256M "
           "-uuid 4a5c6e1b-8a2b-4d4e-9f00-123456789abc -netdev tap,id=net0,ifname=qlmin0,script=no,"
           "downscript=no -device pcie-root-port,id=ql-port1,bus=pcie.0,chassis=1,slot=1 -device "
           "virtio-net-pci,netdev=net0,mac=02:00:ca:fe:00:01,bus=ql-port1 -nodefaults -nographic "
           "-no-user-config -qmp unix:/run/qlaunch/minimal.qmp,server=on,wait=off -sandbox on,"
           "obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny\n");
  return keep[0] == NULL;
}
