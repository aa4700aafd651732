/* qlaunch — hotplug: a plugin's structured options become QMP commands.
 *
 * The device's plugin fills a QlCmdline exactly as for the command line
 * (its hotplug_params vfunc, or qemu_params); each option then maps to one
 * QMP command whose arguments are the option's typed values:
 *
 *   -device TYPE,k=v     device_add   {"driver": TYPE, k: v, ...}
 *   -netdev TYPE,k=v     netdev_add   {"type": TYPE, k: v, ...}
 *   -object TYPE,k=v     object-add   {"qom-type": TYPE, k: v, ...}
 *   -blockdev k=v        blockdev-add {k: v, ...}, "a.b=v" -> {"a": {"b": v}}
 *   -chardev TYPE,k=v    chardev-add  {"id": ID, "backend": {"type": TYPE,
 *                                      "data": {...}}} (QEMU's own mapping
 *                                      of its legacy -chardev keys)
 *
 * Backends go first, devices last. Descriptors are sent with getfd under a
 * name that replaces their number in the option. When a command fails,
 * what was added before is taken away again, newest first.
 *
 * On q35 a PCI device that names no bus goes into a free PCIe root port
 * reserved for hot-plug ([machine] hotplug-slots, ql-pcie.c): the running
 * QEMU says which are free (over QOM) before anything is sent; a plan made
 * without QEMU (ql_hotplug_plan()) takes them from the VM configuration.
 */
#include "ql-private.h"
#include "ql-qmp-private.h"
#include "ql-helper-group.h"
#include "ql-hotplug-private.h"
#include "ql-pcie-private.h"
#include "ql-runtime-dir.h"

#include <string.h>

#define UNPLUG_QOM_PREFIX "/machine/peripheral/"

typedef struct
{
  const char *flag;
  const char *command;
  const char *head_key;         /* member the option's head goes to */
  const char *undo;             /* command that removes what it added */
  const char *undo_key;         /* and the member naming it */
  const char *id_key;           /* the member holding that name */
} CommandMap;

static const CommandMap command_map[] = {
  { "-netdev", "netdev_add", "type", "netdev_del", "id", "id" },
  { "-object", "object-add", "qom-type", "object-del", "id", "id" },
  { "-blockdev", "blockdev-add", NULL, "blockdev-del", "node-name", "node-name" },
  { "-chardev", "chardev-add", NULL, "chardev-remove", "id", "id" },
  { "-device", "device_add", "driver", "device_del", "id", "id" },
};

static const CommandMap *
lookup_map (const char *flag)
{
  for (gsize i = 0; i < G_N_ELEMENTS (command_map); i++)
    if (strcmp (command_map[i].flag, flag) == 0)
      return &command_map[i];
  return NULL;
}

static const CommandMap *
lookup_command (const char *command)
{
  for (gsize i = 0; i < G_N_ELEMENTS (command_map); i++)
    if (strcmp (command_map[i].command, command) == 0)
      return &command_map[i];
  return NULL;
}

static void
set_error (GError     **error,
           QlDevice    *device,
           const char  *format,
           ...) G_GNUC_PRINTF (3, 4);

static void
set_error (GError     **error,
           QlDevice    *device,
           const char  *format,
           ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_UNSUPPORTED,
               "device '%s' (type %s) cannot be hot-plugged: %s",
               ql_device_get_id (device), ql_device_get_type_name (device), what);
}

/* Puts @value at the dotted @key inside @object: "file.cache.direct" ->
 * {"file": {"cache": {"direct": value}}}. */
static gboolean
put_dotted (JsonObject *object,
            const char *key,
            JsonNode   *value)
{
  g_auto(GStrv) parts = g_strsplit (key, ".", -1);
  guint n = g_strv_length (parts);

  for (guint i = 0; i + 1 < n; i++)
    {
      JsonNode *child = json_object_get_member (object, parts[i]);

      if (child == NULL)
        {
          json_object_set_object_member (object, parts[i], json_object_new ());
          child = json_object_get_member (object, parts[i]);
        }
      else if (!JSON_NODE_HOLDS_OBJECT (child))
        {
          json_node_unref (value);
          return FALSE;
        }
      object = json_node_get_object (child);
    }
  if (json_object_has_member (object, parts[n - 1]))
    {
      json_node_unref (value);
      return FALSE;
    }
  json_object_set_member (object, parts[n - 1], value);
  return TRUE;
}

/* The typed JSON value of the option's value @i; descriptor numbers become
 * the names in @fd_names (QEMU number - 3 -> name). */
static JsonNode *
typed_value (QlOption   *option,
             guint       i,
             GPtrArray  *fd_names,
             gboolean   *fd_used)
{
  const char *text = ql_option_get_value (option, i);
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  switch (ql_option_get_value_type (option, i))
    {
    case QL_VALUE_BOOL:
      json_node_set_boolean (node, g_str_equal (text, "on"));
      break;
    case QL_VALUE_INT:
      json_node_set_int (node, g_ascii_strtoll (text, NULL, 10));
      break;
    case QL_VALUE_UINT:
      json_node_set_int (node, (gint64) g_ascii_strtoull (text, NULL, 10));
      break;
    case QL_VALUE_FDS:
      {
        g_auto(GStrv) numbers = g_strsplit (text, ":", -1);
        g_autoptr(GString) names = g_string_new (NULL);

        for (guint k = 0; numbers[k] != NULL; k++)
          {
            guint index = (guint) g_ascii_strtoull (numbers[k], NULL, 10) - 3;

            if (index >= fd_names->len)
              {
                json_node_unref (node);
                return NULL;
              }
            g_string_append_printf (names, "%s%s", k > 0 ? ":" : "",
                                    (const char *) g_ptr_array_index (fd_names, index));
            fd_used[index] = TRUE;
          }
        json_node_set_string (node, names->str);
      }
      break;
    case QL_VALUE_LIST:
      {
        /* The whole list (its elements are kept together): one array of
         * {member: element}, or of strings without a member. */
        const char *key = ql_option_get_key (option, i);
        JsonArray *array = json_array_new ();

        for (guint k = i; k < ql_option_get_n_values (option)
             && g_str_equal (ql_option_get_key (option, k), key); k++)
          {
            const char *member = ql_option_get_list_member (option, k);

            if (member != NULL)
              {
                JsonObject *element = json_object_new ();

                json_object_set_string_member (element, member, ql_option_get_value (option, k));
                json_array_add_object_element (array, element);
              }
            else
              json_array_add_string_element (array, ql_option_get_value (option, k));
          }
        json_node_unref (node);
        node = json_node_init_array (json_node_alloc (), array);
        json_array_unref (array);
      }
      break;
    case QL_VALUE_STRING:
    default:
      /* A backend value the user gave as text (qemu-set netdev.KEY=...),
       * whose QAPI type is not probed: netdev_add and blockdev-add are
       * strictly typed, so on/off go as booleans and decimal numbers as
       * integers (device_add reads text itself: -device values stay). */
      if (ql_option_is_from_text (option, i) && strcmp (ql_option_get_flag (option), "-device") != 0)
        {
          if (g_str_equal (text, "on") || g_str_equal (text, "off"))
            {
              json_node_set_boolean (node, g_str_equal (text, "on"));
              break;
            }
          if (g_ascii_isdigit (*text) && strspn (text, "0123456789") == strlen (text) && strlen (text) < 19)
            {
              json_node_set_int (node, g_ascii_strtoll (text, NULL, 10));
              break;
            }
        }
      json_node_set_string (node, text);
      break;
    }
  return node;
}

/* QEMU's legacy -chardev keys (qemu_chr_parse_*) as ChardevBackend. */
static JsonObject *
chardev_arguments (QlDevice  *device,
                   QlOption  *option,
                   GError   **error)
{
  const char *type = ql_option_get_head (option);
  const char *id = ql_option_lookup (option, "id");
  g_autoptr(JsonObject) args = json_object_new ();
  JsonObject *backend = json_object_new ();
  JsonObject *data = json_object_new ();

  json_object_set_object_member (backend, "data", data);
  json_object_set_object_member (args, "backend", backend);
  if (type == NULL || id == NULL)
    {
      set_error (error, device, "a -chardev option without a backend type or id");
      return NULL;
    }
  json_object_set_string_member (args, "id", id);
  json_object_set_string_member (backend, "type", type);

  for (guint i = 0; i < ql_option_get_n_values (option); i++)
    {
      const char *key = ql_option_get_key (option, i);
      const char *value = ql_option_get_value (option, i);
      gboolean is_bool = ql_option_get_value_type (option, i) == QL_VALUE_BOOL;

      if (strcmp (key, "id") == 0)
        continue;
      if (strcmp (type, "socket") == 0 && strcmp (key, "path") == 0)
        {
          JsonObject *addr = json_object_new ();
          JsonObject *unix_addr = json_object_new ();

          json_object_set_string_member (unix_addr, "path", value);
          json_object_set_string_member (addr, "type", "unix");
          json_object_set_object_member (addr, "data", unix_addr);
          json_object_set_object_member (data, "addr", addr);
        }
      else if (strcmp (type, "socket") == 0 && is_bool
               && (strcmp (key, "server") == 0 || strcmp (key, "wait") == 0
                   || strcmp (key, "telnet") == 0 || strcmp (key, "nodelay") == 0))
        json_object_set_boolean_member (data, key, g_str_equal (value, "on"));
      else if (strcmp (type, "file") == 0 && strcmp (key, "path") == 0)
        json_object_set_string_member (data, "out", value);
      else if ((strcmp (type, "pipe") == 0 || strcmp (type, "serial") == 0)
               && strcmp (key, "path") == 0)
        json_object_set_string_member (data, "device", value);
      else if (strcmp (key, "logfile") == 0)
        json_object_set_string_member (data, key, value);
      else
        {
          set_error (error, device, "-chardev %s key '%s' has no chardev-add form in qlaunch",
                     type, key);
          return NULL;
        }
    }
  /* -chardev socket is a client unless server=on; QMP's ChardevSocket
   * is a server unless "server": false. */
  if (strcmp (type, "socket") == 0 && !json_object_has_member (data, "server"))
    json_object_set_boolean_member (data, "server", FALSE);
  return g_steal_pointer (&args);
}

static JsonObject *
option_arguments (QlDevice         *device,
                  QlOption         *option,
                  const CommandMap *map,
                  GPtrArray        *fd_names,
                  gboolean         *fd_used,
                  GError          **error)
{
  g_autoptr(JsonObject) args = NULL;
  const char *head = ql_option_get_head (option);

  if (strcmp (map->flag, "-chardev") == 0)
    return chardev_arguments (device, option, error);

  args = json_object_new ();
  if (head != NULL)
    {
      if (map->head_key == NULL)
        {
          set_error (error, device, "%s with a head ('%s') has no QMP form", map->flag, head);
          return NULL;
        }
      json_object_set_string_member (args, map->head_key, head);
    }
  for (guint i = 0; i < ql_option_get_n_values (option); i++)
    {
      const char *key = ql_option_get_key (option, i);
      JsonNode *value;

      /* A list's later elements went into its array with the first. */
      if (ql_option_get_value_type (option, i) == QL_VALUE_LIST && i > 0
          && g_str_equal (ql_option_get_key (option, i - 1), key))
        continue;
      value = typed_value (option, i, fd_names, fd_used);
      if (value == NULL)
        {
          set_error (error, device, "%s %s=%s names a descriptor the plugin did not add",
                     map->flag, key, ql_option_get_value (option, i));
          return NULL;
        }
      if (!put_dotted (args, key, value))
        {
          set_error (error, device, "%s key '%s' clashes with another key", map->flag, key);
          return NULL;
        }
    }
  if (map->head_key != NULL && !json_object_has_member (args, map->head_key))
    {
      set_error (error, device, "%s without a %s", map->flag, map->head_key);
      return NULL;
    }
  return g_steal_pointer (&args);
}

static void
add_step (JsonArray  *plan,
          const char *command,
          JsonObject *arguments,
          int         fd)
{
  JsonObject *step = json_object_new ();

  json_object_set_string_member (step, "execute", command);
  json_object_set_object_member (step, "arguments", arguments);
  if (fd >= 0)
    json_object_set_int_member (step, "fd", fd);
  json_array_add_object_element (plan, step);
}

/* Where the root port of a PCI device that names no bus comes from. */
typedef enum
{
  PORTS_FROM_VM,      /* the VM config's reserved ports, set in the plan */
  PORTS_FROM_QEMU,    /* left out; the steps that need one are listed */
} PortSource;

/* No free reserved root port for @device: how many the VM has, how to
 * reserve more, and (from QEMU) which other root ports are empty. */
static GError *
no_free_port_error (QlDevice   *device,
                    PortSource  source,
                    guint       n_reserved,
                    GPtrArray  *other_free)
{
  const char *id = ql_device_get_id (device);
  g_autoptr(GString) others = g_string_new (NULL);

  for (guint i = 0; other_free != NULL && i < other_free->len; i++)
    g_string_append_printf (others, "%s'%s'", i > 0 ? ", " : "", (char *) g_ptr_array_index (other_free, i));

  if (source == PORTS_FROM_VM && n_reserved == 0)
    return g_error_new (QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT,
                        "device '%s': no free PCIe root port to plug it into: the VM (q35: its root bus "
                        "takes no hot-plug) reserves no root port for hot-plug; reserve N with "
                        "[machine] hotplug-slots = N in its VM file (read when QEMU starts), or give the device a bus",
                        id);
  if (source == PORTS_FROM_VM)
    return g_error_new (QL_CONFIG_ERROR, QL_CONFIG_ERROR_CONFLICT,
                        "device '%s': no free PCIe root port to plug it into: the VM reserves %u root ports "
                        "for hot-plug ([machine] hotplug-slots = %u) and the devices hot-plugged before this one "
                        "take them all; reserve more with a larger [machine] hotplug-slots = N in its VM file "
                        "(read when QEMU starts), or give the device a bus",
                        id, n_reserved, n_reserved);
  if (n_reserved == 0 && others->len == 0)
    return g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_FAILED,
                        "device '%s': no free PCIe root port to plug it into: the VM (q35: its root bus "
                        "takes no hot-plug) has no root port reserved for hot-plug; start it from a VM file "
                        "with [machine] hotplug-slots = N to reserve N, or give the device a bus",
                        id);
  if (n_reserved == 0)
    return g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_FAILED,
                        "device '%s': no free PCIe root port to plug it into: the VM (q35: its root bus "
                        "takes no hot-plug) has no root port reserved for hot-plug; start it from a VM file "
                        "with [machine] hotplug-slots = N to reserve N, or give the device a bus: "
                        "empty root ports not reserved for hot-plug: %s",
                        id, others->str);
  if (others->len == 0)
    return g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_FAILED,
                        "device '%s': no free PCIe root port to plug it into: the VM has %u root ports "
                        "reserved for hot-plug ([machine] hotplug-slots = %u) and each holds a device; "
                        "unplug one, reserve more with a larger [machine] hotplug-slots = N in its VM file "
                        "(read when QEMU starts), or give the device a bus",
                        id, n_reserved, n_reserved);
  return g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_FAILED,
                      "device '%s': no free PCIe root port to plug it into: the VM has %u root ports "
                      "reserved for hot-plug ([machine] hotplug-slots = %u) and each holds a device; "
                      "unplug one, reserve more with a larger [machine] hotplug-slots = N in its VM file "
                      "(read when QEMU starts), or give the device a bus: empty root ports not reserved "
                      "for hot-plug: %s",
                      id, n_reserved, n_reserved, others->str);
}

/* PORTS_FROM_VM: the options of @cmdline that need a root port get the
 * free reserved ports of @vm, which @device remembers. */
static gboolean
plan_ports (QlDevice    *device,
            QlVmConfig  *vm,
            QlCmdline   *cmdline,
            GError     **error)
{
  g_autoptr(GPtrArray) needing = g_ptr_array_new ();
  g_autoptr(GPtrArray) free_ports = NULL;
  g_autoptr(GPtrArray) assigned = g_ptr_array_new ();
  guint n_reserved = 0;

  ql_pcie_set_planned_ports (device, NULL);
  if (!ql_vm_config_is_pcie_machine (vm))
    return TRUE;
  for (guint i = 0; i < ql_cmdline_get_n_options (cmdline); i++)
    if (ql_pcie_option_needs_port (ql_cmdline_get_option (cmdline, i)))
      g_ptr_array_add (needing, ql_cmdline_get_option (cmdline, i));
  if (needing->len == 0)
    return TRUE;
  free_ports = ql_pcie_plan_free_ports (vm, device, &n_reserved, error);
  if (free_ports == NULL)
    return FALSE;
  if (free_ports->len < needing->len)
    {
      g_propagate_error (error, no_free_port_error (device, PORTS_FROM_VM, n_reserved, NULL));
      return FALSE;
    }
  for (guint i = 0; i < needing->len; i++)
    {
      ql_option_set (g_ptr_array_index (needing, i), "bus", g_ptr_array_index (free_ports, i));
      g_ptr_array_add (assigned, g_ptr_array_index (free_ports, i));
    }
  ql_pcie_set_planned_ports (device, assigned);
  return TRUE;
}

static JsonArray *
build_plan (QlDevice    *device,
            QlVmConfig  *vm,
            const char  *runtime_dir,
            PortSource   port_source,
            GArray     **fds,
            QlCmdline  **cmdline_out,
            GArray     **port_steps,
            GError     **error)
{
  g_autoptr(QlVmConfig) empty_vm = NULL;
  g_autoptr(QlCmdline) cmdline = NULL;
  g_autoptr(JsonArray) plan = NULL;
  g_autoptr(GPtrArray) fd_names = NULL;
  g_autoptr(JsonArray) devices = NULL;
  g_autoptr(GArray) device_ports = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autofree gboolean *fd_used = NULL;
  GArray *host_fds;
  const char *id;

  g_return_val_if_fail (QL_IS_DEVICE (device), NULL);
  g_return_val_if_fail (vm == NULL || QL_IS_VM_CONFIG (vm), NULL);

  id = ql_device_get_id (device);
  if (id == NULL || *id == '\0')
    {
      g_set_error (error, QL_CONFIG_ERROR, QL_CONFIG_ERROR_MISSING,
                   "a %s device to hot-plug needs an id", ql_device_get_type_name (device));
      return NULL;
    }
  if (vm == NULL)
    vm = empty_vm = ql_vm_config_new ();
  if (!ql_device_valid (device, vm, error))
    return NULL;
  cmdline = ql_cmdline_new ("qemu");
  ql_cmdline_set_runtime_dir (cmdline, runtime_dir);
  if (!ql_device_hotplug_params (device, vm, cmdline, error)
      || !ql_cmdline_check (cmdline, error))
    return NULL;
  /* A tap script run by the netdev_add would make QEMU fork: under the
   * running VM's seccomp filter with spawn denied, the kernel would kill
   * QEMU. */
  if (empty_vm == NULL)
    {
      g_autoptr(GPtrArray) reasons = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *origin = g_strdup_printf ("device '%s'", id);

      ql_cmdline_spawn_reasons (cmdline, origin, reasons);
      if (reasons->len > 0 && !ql_vm_config_started_with_spawn (vm))
        {
          set_error (error, device, "%s, but the VM runs under QEMU's seccomp filter with spawn denied "
                     "(the kernel would kill QEMU): use script = no and down-script = no, or start the VM "
                     "with [knobs] sandbox-spawn = allow",
                     (const char *) g_ptr_array_index (reasons, 0));
          return NULL;
        }
    }
  if (port_source == PORTS_FROM_VM && !plan_ports (device, vm, cmdline, error))
    return NULL;

  plan = json_array_new ();
  /* The helpers first: started (and listening) before any command. */
  for (guint i = 0; i < ql_cmdline_get_n_helpers (cmdline); i++)
    {
      QlHelper *helper = ql_cmdline_get_helper (cmdline, i);
      g_auto(GStrv) argv = ql_helper_get_argv (helper);
      JsonObject *step = json_object_new ();
      JsonArray *array = json_array_new ();

      ql_helper_set_device_id (helper, id);
      json_object_set_string_member (step, "helper", ql_helper_get_name (helper));
      json_object_set_string_member (step, "device", id);
      for (guint k = 0; argv[k] != NULL; k++)
        json_array_add_string_element (array, argv[k]);
      json_object_set_array_member (step, "argv", array);
      if (ql_helper_get_socket (helper) != NULL)
        json_object_set_string_member (step, "socket", ql_helper_get_socket (helper));
      json_array_add_object_element (plan, step);
    }
  devices = json_array_new ();
  fd_names = g_ptr_array_new_with_free_func (g_free);
  host_fds = ql_cmdline_get_fds (cmdline);
  fd_used = g_new0 (gboolean, host_fds->len + 1);
  for (guint i = 0; i < host_fds->len; i++)
    {
      JsonObject *args = json_object_new ();
      char *name = g_strdup_printf ("ql-%s-fd%u", id, i);

      json_object_set_string_member (args, "fdname", name);
      g_ptr_array_add (fd_names, name);
      add_step (plan, "getfd", args, g_array_index (host_fds, int, i));
    }

  for (guint i = 0; i < ql_cmdline_get_n_options (cmdline); i++)
    {
      QlOption *option = ql_cmdline_get_option (cmdline, i);
      const char *flag = ql_option_get_flag (option);
      const CommandMap *map = lookup_map (flag);
      JsonObject *args;

      if (map == NULL)
        {
          if (strcmp (flag, "-machine") == 0)
            set_error (error, device, "it sets machine options (%s), which only apply at start-up",
                       ql_option_get_n_values (option) > 0 ? ql_option_get_key (option, 0) : "");
          else
            set_error (error, device, "QEMU has no QMP command for its %s option", flag);
          return NULL;
        }
      args = option_arguments (device, option, map, fd_names, fd_used, error);
      if (args == NULL)
        return NULL;
      if (strcmp (flag, "-device") == 0)
        {
          JsonObject *step = json_object_new ();
          guint index = json_array_get_length (devices);

          json_object_set_string_member (step, "execute", map->command);
          json_object_set_object_member (step, "arguments", args);
          json_array_add_object_element (devices, step);
          if (port_source == PORTS_FROM_QEMU && ql_pcie_option_needs_port (option))
            g_array_append_val (device_ports, index);
        }
      else
        add_step (plan, map->command, args, -1);
    }
  /* The device_add steps that wait for a root port, by their place. */
  for (guint i = 0; i < device_ports->len; i++)
    g_array_index (device_ports, guint, i) += json_array_get_length (plan);
  for (guint i = 0; i < json_array_get_length (devices); i++)
    json_array_add_element (plan, json_node_copy (json_array_get_element (devices, i)));

  /* Every descriptor must be written as such somewhere. */
  for (guint i = 0; i < host_fds->len; i++)
    if (!fd_used[i])
      {
        set_error (error, device,
                   "its plugin passes file descriptor %d without marking where it is "
                   "used (ql_option_set_fds())",
                   g_array_index (host_fds, int, i));
        return NULL;
      }

  if (fds != NULL)
    {
      *fds = g_array_new (FALSE, FALSE, sizeof (int));
      g_array_append_vals (*fds, host_fds->data, host_fds->len);
    }
  if (cmdline_out != NULL)
    *cmdline_out = g_steal_pointer (&cmdline);
  if (port_steps != NULL)
    *port_steps = g_steal_pointer (&device_ports);
  return g_steal_pointer (&plan);
}

/**
 * ql_hotplug_plan:
 * @device: a device of any registered type, with an id
 * @vm: (nullable): the configuration of the VM the device joins: the
 *   plugin's checks that look at the rest of the VM (a port's
 *   virtio-serial controller, a disk's SCSI controller) run against it.
 *   %NULL stands for an empty VM, so a device that names another device
 *   fails those checks: pass the running VM's configuration for it
 * @fds: (out) (optional) (transfer container) (element-type gint): the host
 *   descriptors the plan passes, in order; they stay the device's (do not
 *   close them)
 * @error: return location for a #QL_CONFIG_ERROR error
 *
 * The QMP commands that hot-plug @device, without sending them: validates
 * the device, asks its plugin for its options (ql_device_hotplug_params())
 * and converts them. Each element is an object with `execute` and
 * `arguments` (and `fd`, the host descriptor a `getfd` step passes); a
 * device with helper processes (#QlHelper) has first one element per
 * helper, with `helper` (its name), `device`, `argv` and `socket`: the
 * process started, and listening, before the commands run. Their sockets
 * are shown in a runtime directory `ID.hotplug`; a hot-plug makes a fresh
 * one.
 * %QL_CONFIG_ERROR_UNSUPPORTED when an option has no QMP equivalent.
 *
 * On a PCI Express machine (@vm's ql_vm_config_is_pcie_machine(): q35,
 * whose root bus takes no hot-plug), each PCI device option that names no
 * `bus` and no `addr` (ql_option_is_pci_endpoint()) gets the `bus` of a
 * root port @vm reserves for hot-plug (#QlVmConfig:machine-hotplug-slots,
 * `ql-hotplugN`): the first that no device of @vm was planned into before
 * (@device remembers its port when it then joins @vm, as `qlaunch hotplug`
 * does for several devices in one command). Too few free ports is a
 * %QL_CONFIG_ERROR_CONFLICT that says how many the VM reserves and how to
 * reserve more. The plan knows the configuration only: a hot-plug
 * (ql_qmp_hotplug_device_async()) asks the running QEMU which reserved
 * ports are free instead.
 *
 * Returns: (transfer full) (nullable): the commands in order, or %NULL
 */
JsonArray *
ql_hotplug_plan (QlDevice    *device,
                 QlVmConfig  *vm,
                 GArray     **fds,
                 GError     **error)
{
  g_autofree char *base = ql_runtime_dir_default_base ();
  g_autofree char *name = NULL;
  g_autofree char *runtime_dir = NULL;

  g_return_val_if_fail (QL_IS_DEVICE (device), NULL);
  g_return_val_if_fail (vm == NULL || QL_IS_VM_CONFIG (vm), NULL);

  name = ql_runtime_dir_name_for (ql_device_get_id (device));
  runtime_dir = g_strdup_printf ("%s/%s.hotplug", base, name);
  return build_plan (device, vm, runtime_dir, PORTS_FROM_VM, fds, NULL, NULL, error);
}

/* ---- running a plan ----------------------------------------------------- */

typedef struct
{
  JsonArray *plan;
  guint first;                  /* the first QMP command (after helpers) */
  guint next;
  GError *error;                /* the failure being rolled back */
  guint undo;                   /* steps still to undo, counting down */
  QlCmdline *cmdline;
  QlHelperGroup *helpers;       /* the device's helpers, or NULL */
  QlDevice *device;
  char *runtime_dir;            /* the helpers' */
  GArray *port_steps;           /* device_add steps that need a root port */
  gint64 connect_deadline;      /* monotonic, µs: QEMU connects to the helpers */
  gboolean supervised;          /* @helpers is the VM's: they stay in it */
} HotplugRun;

static void
hotplug_run_free (HotplugRun *run)
{
  json_array_unref (run->plan);
  g_clear_error (&run->error);
  g_clear_object (&run->cmdline);
  g_clear_object (&run->helpers);
  g_clear_object (&run->device);
  g_free (run->runtime_dir);
  g_clear_pointer (&run->port_steps, g_array_unref);
  g_free (run);
}

static void
helpers_stopped_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      data)
{
  g_autoptr(GTask) task = data;
  HotplugRun *run = g_task_get_task_data (task);

  ql_helper_group_stop_finish (QL_HELPER_GROUP (object), result, NULL);
  g_task_return_error (task, g_steal_pointer (&run->error));
}

/* The hot-plug failed (rolled back): the helpers started for it go, then
 * the task fails. */
static void
hotplug_fail (GTask *task)
{
  HotplugRun *run = g_task_get_task_data (task);

  if (run->helpers != NULL)
    {
      /* The VM's group: only this device's helpers go. */
      ql_helper_group_stop_async (run->helpers,
                                  run->supervised ? ql_device_get_id (run->device) : NULL, 0,
                                  helpers_stopped_cb, task);
      return;
    }
  g_task_return_error (task, g_steal_pointer (&run->error));
  g_object_unref (task);
}

static void hotplug_step (GTask *task);
static void hotplug_undo_step (GTask *task);
static void hotplug_wait_connected (GTask *task);

static JsonObject *
undo_arguments (JsonObject *step,
                const char **command)
{
  const char *execute = json_object_get_string_member (step, "execute");
  JsonObject *args = json_object_get_object_member (step, "arguments");
  JsonObject *undo = json_object_new ();

  if (strcmp (execute, "getfd") == 0)
    {
      *command = "closefd";
      json_object_set_string_member (undo, "fdname",
                                     json_object_get_string_member (args, "fdname"));
      return undo;
    }
  {
    const CommandMap *map = lookup_command (execute);

    *command = map->undo;
    json_object_set_string_member (undo, map->undo_key,
                                   json_object_get_string_member_with_default (args, map->id_key, ""));
  }
  return undo;
}

static void
hotplug_undone (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  g_autoptr(GTask) task = data;
  g_autoptr(JsonNode) ret = NULL;

  /* Best effort: the error that started the rollback is what is reported. */
  ret = ql_qmp_execute_finish (QL_QMP (source), result, NULL);
  hotplug_undo_step (g_steal_pointer (&task));
}

static void
hotplug_undo_step (GTask *task)
{
  HotplugRun *run = g_task_get_task_data (task);
  g_autoptr(JsonObject) args = NULL;
  const char *command = NULL;
  JsonObject *step;

  if (run->undo <= run->first)
    {
      hotplug_fail (task);
      return;
    }
  run->undo--;
  step = json_array_get_object_element (run->plan, run->undo);
  args = undo_arguments (step, &command);
  ql_qmp_execute_async (g_task_get_source_object (task), command, args, NULL,
                        hotplug_undone, task);
}

static void
hotplug_step_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      data)
{
  GTask *task = data;
  HotplugRun *run = g_task_get_task_data (task);
  g_autoptr(JsonNode) ret = NULL;
  g_autoptr(GError) error = NULL;

  ret = ql_qmp_execute_finish (QL_QMP (source), result, &error);
  if (ret == NULL)
    {
      JsonObject *step = json_array_get_object_element (run->plan, run->next - 1);

      run->error = g_steal_pointer (&error);
      /* QMP's message starts with the command's name. */
      (void) step;
      g_prefix_error (&run->error, "hotplug step %u of %u: ", run->next - run->first,
                      json_array_get_length (run->plan) - run->first);
      run->undo = run->next - 1;
      if (!ql_qmp_is_connected (QL_QMP (source)))
        run->undo = run->first;  /* nothing to talk to */
      hotplug_undo_step (task);
      return;
    }
  hotplug_step (task);
}

/* How long QEMU has to connect to a hot-plugged device's helpers. */
#define HOTPLUG_CONNECT_TIMEOUT_MS 10000
#define HOTPLUG_CONNECT_POLL_MS 5

static gboolean
hotplug_connect_poll_cb (gpointer data)
{
  hotplug_wait_connected (data);
  return G_SOURCE_REMOVE;
}

/* Every helper has QEMU as its client: they run on by themselves (each
 * ends when QEMU's connection goes: the device's unplug removes its
 * chardev or netdev), and their sockets are not needed any more. Until
 * then, polled; past the deadline, the device is taken away again. */
static void
hotplug_wait_connected (GTask *task)
{
  HotplugRun *run = g_task_get_task_data (task);
  GPtrArray *processes = ql_helper_group_get_processes (run->helpers);
  QlHelperProcess *waiting = NULL;

  for (guint i = 0; i < processes->len && waiting == NULL; i++)
    {
      QlHelperProcess *process = g_ptr_array_index (processes, i);

      if (run->supervised
          && g_strcmp0 (ql_helper_process_get_device_id (process), ql_device_get_id (run->device)) != 0)
        continue;
      if (!ql_helper_process_has_client (process))
        waiting = process;
    }
  if (waiting == NULL)
    {
      /* Supervised: they stay the VM's, stopped when QEMU ends. */
      if (!run->supervised)
        ql_helper_group_release_all (run->helpers);
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  if (g_get_monotonic_time () < run->connect_deadline && !ql_helper_process_is_gone (waiting))
    {
      GSource *source = g_timeout_source_new (HOTPLUG_CONNECT_POLL_MS);

      g_source_set_callback (source, hotplug_connect_poll_cb, task, NULL);
      g_source_set_name (source, "[qlaunch] hot-plugged helper connected");
      g_source_attach (source, g_main_context_get_thread_default ());
      g_source_unref (source);
      return;
    }
  {
    g_autofree char *who = ql_helper_process_describe (waiting);
    g_autofree char *output = ql_helper_process_get_output (waiting);

    if (ql_helper_process_is_gone (waiting))
      {
        g_autofree char *how = ql_helper_process_describe_exit (waiting);

        run->error = g_error_new (QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                                  "%s %s before QEMU connected to it%s%s", who, how,
                                  *output != '\0' ? ": " : "", output);
      }
    else
      run->error = g_error_new (QL_LAUNCH_ERROR, QL_LAUNCH_ERROR_HELPER,
                                "QEMU did not connect to %s within %d ms; the device is taken away again%s%s",
                                who, HOTPLUG_CONNECT_TIMEOUT_MS, *output != '\0' ? ". It said: " : "", output);
  }
  run->undo = run->next;
  hotplug_undo_step (task);
}

static void
hotplug_step (GTask *task)
{
  HotplugRun *run = g_task_get_task_data (task);
  QlQmp *qmp = g_task_get_source_object (task);
  JsonObject *step;
  const char *command;
  JsonObject *args;

  if (run->next == json_array_get_length (run->plan))
    {
      if (run->helpers != NULL)
        {
          /* QEMU may connect after its command returned (-netdev stream
           * connects in the background): wait until each helper has
           * accepted it. */
          run->connect_deadline = g_get_monotonic_time () + HOTPLUG_CONNECT_TIMEOUT_MS * 1000;
          hotplug_wait_connected (task);
          return;
        }
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  step = json_array_get_object_element (run->plan, run->next++);
  command = json_object_get_string_member (step, "execute");
  args = json_object_get_object_member (step, "arguments");
  if (json_object_has_member (step, "fd"))
    ql_qmp_execute_with_fd_async (qmp, command, args, (int) json_object_get_int_member (step, "fd"),
                                  g_task_get_cancellable (task), hotplug_step_done, task);
  else
    ql_qmp_execute_async (qmp, command, args, g_task_get_cancellable (task),
                          hotplug_step_done, task);
}

static void
hotplug_helpers_started (GObject      *object,
                         GAsyncResult *result,
                         gpointer      data)
{
  GTask *task = data;
  GError *error = NULL;

  if (!ql_helper_group_start_finish (QL_HELPER_GROUP (object), result, &error))
    {
      /* Those started are stopped already; the directory goes with the
       * group. */
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  hotplug_step (task);
}

/* The plan is complete: start the device's helpers, then the commands. */
static void
hotplug_begin (GTask *task)
{
  HotplugRun *run = g_task_get_task_data (task);
  GError *error = NULL;
  int lock_fd = -1;

  if (run->first == 0)
    {
      hotplug_step (task);
      return;
    }
  if (run->supervised)
    {
      ql_helper_group_start_async (run->helpers, run->cmdline, g_task_get_cancellable (task),
                                   hotplug_helpers_started, task);
      return;
    }
  if (!ql_runtime_dir_claim (run->runtime_dir, TRUE, &lock_fd, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  /* The helpers outlive this call (and a short-lived command such as
   * `qlaunch hotplug`): detached, each ends when QEMU's connection to it
   * goes. */
  run->helpers = ql_helper_group_new (NULL, run->runtime_dir, TRUE, lock_fd);
  ql_helper_group_set_detached (run->helpers, TRUE);
  ql_helper_group_start_async (run->helpers, run->cmdline, g_task_get_cancellable (task),
                               hotplug_helpers_started, task);
}

/* QEMU said which root ports are free: each device_add that needs one
 * gets the next reserved port, before anything is sent. */
static void
hotplug_ports_found (GObject      *source,
                     GAsyncResult *result,
                     gpointer      data)
{
  GTask *task = data;
  HotplugRun *run = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr(QlPcieRuntimePorts) ports = ql_pcie_query_ports_finish (QL_QMP (source), result, &error);

  if (ports == NULL)
    {
      g_prefix_error (&error, "device '%s': ", ql_device_get_id (run->device));
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  /* pc and others: QEMU puts the device on its root bus, as before. */
  if (!ports->pcie)
    {
      hotplug_begin (task);
      return;
    }
  if (ports->free_reserved->len < run->port_steps->len)
    {
      g_task_return_error (task, no_free_port_error (run->device, PORTS_FROM_QEMU, ports->n_reserved,
                                                     ports->free_other));
      g_object_unref (task);
      return;
    }
  for (guint i = 0; i < run->port_steps->len; i++)
    {
      JsonObject *step = json_array_get_object_element (run->plan, g_array_index (run->port_steps, guint, i));

      json_object_set_string_member (json_object_get_object_member (step, "arguments"), "bus",
                                     g_ptr_array_index (ports->free_reserved, i));
    }
  hotplug_begin (task);
}

/**
 * ql_qmp_hotplug_device_async:
 * @self: a connected #QlQmp
 * @device: a device of any registered type, with an id, set up with the
 *   same properties as in a VM file
 * @vm: (nullable): the running VM's configuration, for the device's checks
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the device is plugged, or on failure
 * @user_data: data for @callback
 *
 * Hot-plugs @device: the commands of ql_hotplug_plan(), in order. When one
 * fails, the ones before it are undone (newest first) and the error names
 * the failing step. Finish with ql_qmp_hotplug_device_finish().
 *
 * On q35 (QEMU's machine type, read over QOM), each PCI device option of
 * @device that names no `bus` and no `addr` (ql_option_is_pci_endpoint())
 * goes into an empty PCIe root port reserved for hot-plug
 * (#QlVmConfig:machine-hotplug-slots: `ql-hotplugN`, the lowest N first),
 * as QEMU reports them before anything is sent; when there are too few, it
 * fails with a %QL_QMP_ERROR_FAILED that says how many the VM reserved and
 * how to reserve more, and nothing is sent. Other machine types put such a
 * device on their root bus, as QEMU chooses.
 *
 * A device with helper processes (#QlHelper, e.g. a virtio-fs share's
 * virtiofsd) gets them started first, in a fresh private runtime
 * directory, each listening before the commands run. Once the device is
 * plugged they are left to run on their own (detached: not killed with
 * this process), and their sockets and directory are removed: each helper
 * serves QEMU's one connection and ends when it goes (the unplug of the
 * device removes its chardev) or when QEMU ends. On failure they are
 * stopped.
 */
static void
hotplug_start (QlQmp               *self,
               QlDevice            *device,
               QlVmConfig          *vm,
               QlHelperGroup       *helpers,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  GTask *task;
  HotplugRun *run;
  GError *error = NULL;
  JsonArray *plan;
  g_autoptr(QlCmdline) cmdline = NULL;
  g_autoptr(GArray) port_steps = NULL;
  g_autofree char *runtime_dir = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ql_qmp_hotplug_device_async);
  runtime_dir = helpers != NULL ? g_strdup (ql_helper_group_get_runtime_dir (helpers))
                                : ql_runtime_dir_propose (ql_device_get_id (device));
  plan = build_plan (device, vm, runtime_dir, PORTS_FROM_QEMU, NULL, &cmdline, &port_steps, &error);
  if (plan == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  run = g_new0 (HotplugRun, 1);
  run->plan = plan;
  run->cmdline = g_steal_pointer (&cmdline);
  run->first = ql_cmdline_get_n_helpers (run->cmdline);
  run->next = run->first;
  run->device = g_object_ref (device);
  run->runtime_dir = g_steal_pointer (&runtime_dir);
  run->port_steps = g_steal_pointer (&port_steps);
  run->supervised = helpers != NULL;
  run->helpers = helpers != NULL ? g_object_ref (helpers) : NULL;
  g_task_set_task_data (task, run, (GDestroyNotify) hotplug_run_free);
  if (run->port_steps->len > 0)
    {
      ql_pcie_query_ports_async (self, cancellable, hotplug_ports_found, task);
      return;
    }
  hotplug_begin (task);
}

void
ql_qmp_hotplug_device_async (QlQmp               *self,
                             QlDevice            *device,
                             QlVmConfig          *vm,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (QL_IS_DEVICE (device));

  hotplug_start (self, device, vm, NULL, cancellable, callback, user_data);
}

void
ql_hotplug_device_supervised_async (QlQmp               *qmp,
                                    QlDevice            *device,
                                    QlVmConfig          *vm,
                                    QlHelperGroup       *helpers,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_return_if_fail (QL_IS_QMP (qmp));
  g_return_if_fail (QL_IS_DEVICE (device));
  g_return_if_fail (QL_IS_HELPER_GROUP (helpers));

  hotplug_start (qmp, device, vm, helpers, cancellable, callback, user_data);
}

/**
 * ql_qmp_hotplug_device_finish:
 * @self: a #QlQmp
 * @result: the #GAsyncResult given to the callback
 * @error: return location for an error
 *
 * Finishes ql_qmp_hotplug_device_async().
 *
 * Returns: %TRUE when the device is plugged
 */
gboolean
ql_qmp_hotplug_device_finish (QlQmp         *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

typedef struct
{
  QlDevice *device;
  QlVmConfig *vm;
  GCancellable *cancellable;
} HotplugArgs;

static void
start_hotplug (QlQmp               *self,
               gpointer             data,
               GAsyncReadyCallback  callback,
               gpointer             user_data)
{
  HotplugArgs *a = data;

  ql_qmp_hotplug_device_async (self, a->device, a->vm, a->cancellable, callback, user_data);
}

/**
 * ql_qmp_hotplug_device:
 * @self: a connected #QlQmp
 * @device: the device to add
 * @vm: (nullable): the running VM's configuration
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_hotplug_device_async().
 *
 * Returns: %TRUE when the device is plugged
 */
gboolean
ql_qmp_hotplug_device (QlQmp         *self,
                       QlDevice      *device,
                       QlVmConfig    *vm,
                       GCancellable  *cancellable,
                       GError       **error)
{
  HotplugArgs a = { device, vm, cancellable };
  g_autoptr(GAsyncResult) result = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);

  result = ql_qmp_run_sync (self, start_hotplug, &a);
  return ql_qmp_hotplug_device_finish (self, result, error);
}

/* ---- unplug ------------------------------------------------------------- */

/* The device's backends, found over QOM before it goes: then device_del,
 * DEVICE_DELETED, and the backends are removed. A -drive made at start-up
 * is deleted by QEMU with its device; a -blockdev node is not. */
typedef enum
{
  UNPLUG_LIST,
  UNPLUG_GET,
  UNPLUG_QUERY_BLOCK,
  UNPLUG_DEL,
  UNPLUG_BACKENDS,
} UnplugPhase;

static const char *const backend_properties[] = { "drive", "netdev", "chardev", "memdev", "rng" };

typedef struct
{
  char *id;
  guint timeout_ms;
  UnplugPhase phase;
  GPtrArray *to_get;            /* backend properties the device has */
  GPtrArray *undo_commands;     /* parallel: command, */
  GPtrArray *undo_args;         /*           JsonObject args */
  char *drive;
  GError *error;                /* backend removals that failed */
} Unplug;

static void
unplug_free (Unplug *u)
{
  g_free (u->id);
  g_ptr_array_unref (u->to_get);
  g_ptr_array_unref (u->undo_commands);
  g_ptr_array_unref (u->undo_args);
  g_free (u->drive);
  g_clear_error (&u->error);
  g_free (u);
}

static void unplug_next (GTask *task);

static void
add_backend (Unplug     *u,
             const char *command,
             const char *key,
             const char *name)
{
  JsonObject *args = json_object_new ();

  json_object_set_string_member (args, key, name);
  g_ptr_array_add (u->undo_commands, g_strdup (command));
  g_ptr_array_add (u->undo_args, args);
}

static void
unplug_fail (GTask  *task,
             GError *error)
{
  g_task_return_error (task, error);
  g_object_unref (task);
}

static void
unplug_reply (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  GTask *task = data;
  Unplug *u = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) ret = NULL;

  if (u->phase == UNPLUG_DEL)
    {
      if (!ql_qmp_device_del_finish (QL_QMP (source), result, &error))
        {
          if (g_error_matches (error, QL_QMP_ERROR, QL_QMP_ERROR_TIMEOUT))
            g_prefix_error (&error, "device '%s' is still there (the guest did not release it): ", u->id);
          unplug_fail (task, g_steal_pointer (&error));
          return;
        }
      u->phase = UNPLUG_BACKENDS;
      unplug_next (task);
      return;
    }

  ret = ql_qmp_execute_finish (QL_QMP (source), result, &error);
  switch (u->phase)
    {
    case UNPLUG_LIST:
      if (ret == NULL)
        {
          if (g_error_matches (error, QL_QMP_ERROR, QL_QMP_ERROR_DEVICE_NOT_FOUND))
            unplug_fail (task, g_error_new (QL_QMP_ERROR, QL_QMP_ERROR_DEVICE_NOT_FOUND,
                                            "the VM has no device '%s'", u->id));
          else
            unplug_fail (task, g_steal_pointer (&error));
          return;
        }
      if (JSON_NODE_HOLDS_ARRAY (ret))
        {
          JsonArray *props = json_node_get_array (ret);

          for (guint i = 0; i < json_array_get_length (props); i++)
            {
              const char *name = ql_json_string (ql_json_array_object (props, i), "name");

              for (gsize k = 0; k < G_N_ELEMENTS (backend_properties); k++)
                if (g_strcmp0 (name, backend_properties[k]) == 0)
                  g_ptr_array_add (u->to_get, g_strdup (name));
            }
        }
      u->phase = UNPLUG_GET;
      break;

    case UNPLUG_GET:
      {
        g_autofree char *property = g_ptr_array_steal_index (u->to_get, 0);
        const char *value = ret != NULL && JSON_NODE_HOLDS_VALUE (ret)
                            && json_node_get_value_type (ret) == G_TYPE_STRING
                            ? json_node_get_string (ret) : NULL;

        if (value == NULL || *value == '\0')
          break;        /* unset (or unreadable): nothing to remove */
        if (strcmp (property, "drive") == 0)
          u->drive = g_strdup (value);
        else if (strcmp (property, "netdev") == 0)
          add_backend (u, "netdev_del", "id", value);
        else if (strcmp (property, "chardev") == 0)
          add_backend (u, "chardev-remove", "id", value);
        else if (strcmp (property, "memdev") == 0 || strcmp (property, "rng") == 0)
          {
            const char *slash = strrchr (value, '/');

            add_backend (u, "object-del", "id", slash != NULL ? slash + 1 : value);
          }
      }
      break;

    case UNPLUG_QUERY_BLOCK:
      {
        gboolean legacy = FALSE;

        if (ret != NULL && JSON_NODE_HOLDS_ARRAY (ret))
          {
            JsonArray *blocks = json_node_get_array (ret);

            for (guint i = 0; i < json_array_get_length (blocks); i++)
              {
                if (g_strcmp0 (ql_json_string (ql_json_array_object (blocks, i), "device"),
                               u->drive) == 0)
                  legacy = TRUE;
              }
          }
        if (!legacy)
          add_backend (u, "blockdev-del", "node-name", u->drive);
        g_clear_pointer (&u->drive, g_free);
      }
      break;

    case UNPLUG_BACKENDS:
      if (ret == NULL)
        {
          if (u->error == NULL)
            u->error = g_error_new (QL_QMP_ERROR, error->code,
                                    "device '%s' was removed, but not all of its backends: %s",
                                    u->id, error->message);
          else
            g_prefix_error (&u->error, "%s; ", error->message);
        }
      break;

    case UNPLUG_DEL:
    default:
      g_assert_not_reached ();
    }
  unplug_next (task);
}

static void
unplug_next (GTask *task)
{
  Unplug *u = g_task_get_task_data (task);
  QlQmp *qmp = g_task_get_source_object (task);
  GCancellable *cancellable = g_task_get_cancellable (task);
  g_autoptr(JsonObject) args = json_object_new ();
  g_autofree char *path = g_strconcat (UNPLUG_QOM_PREFIX, u->id, NULL);

  switch (u->phase)
    {
    case UNPLUG_LIST:
      json_object_set_string_member (args, "path", path);
      ql_qmp_execute_async (qmp, "qom-list", args, cancellable, unplug_reply, task);
      return;
    case UNPLUG_GET:
      if (u->to_get->len > 0)
        {
          json_object_set_string_member (args, "path", path);
          json_object_set_string_member (args, "property", g_ptr_array_index (u->to_get, 0));
          ql_qmp_execute_async (qmp, "qom-get", args, cancellable, unplug_reply, task);
          return;
        }
      u->phase = UNPLUG_QUERY_BLOCK;
      G_GNUC_FALLTHROUGH;
    case UNPLUG_QUERY_BLOCK:
      if (u->drive != NULL)
        {
          ql_qmp_execute_async (qmp, "query-block", NULL, cancellable, unplug_reply, task);
          return;
        }
      u->phase = UNPLUG_DEL;
      G_GNUC_FALLTHROUGH;
    case UNPLUG_DEL:
      ql_qmp_device_del_async (qmp, u->id, u->timeout_ms, cancellable, unplug_reply, task);
      return;
    case UNPLUG_BACKENDS:
      if (u->undo_commands->len > 0)
        {
          g_autofree char *command = g_ptr_array_steal_index (u->undo_commands, 0);
          g_autoptr(JsonObject) backend_args = g_ptr_array_steal_index (u->undo_args, 0);

          ql_qmp_execute_async (qmp, command, backend_args, NULL, unplug_reply, task);
          return;
        }
      if (u->error != NULL)
        unplug_fail (task, g_steal_pointer (&u->error));
      else
        {
          g_task_return_boolean (task, TRUE);
          g_object_unref (task);
        }
      return;
    default:
      g_assert_not_reached ();
    }
}

/**
 * ql_qmp_unplug_device_async:
 * @self: a connected #QlQmp
 * @id: the device's id (for a hot-plugged device, the id it was added with)
 * @timeout_ms: how long to wait for the guest to release the device; 0
 *   waits for ever
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the device and its backends are gone, or on failure
 * @user_data: data for @callback
 *
 * Removes a device and what it used: reads its `drive`, `netdev`, `chardev`,
 * `memdev` and `rng` over QOM, removes the device (ql_qmp_device_del_async(),
 * waiting for `DEVICE_DELETED`), then the block node, netdev, chardev,
 * memory backend or random number backend. A start-up `-drive` is left to QEMU, which deletes it
 * with its device. Finish with ql_qmp_unplug_device_finish().
 */
void
ql_qmp_unplug_device_async (QlQmp               *self,
                            const char          *id,
                            guint                timeout_ms,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  GTask *task;
  Unplug *u;

  g_return_if_fail (QL_IS_QMP (self));
  g_return_if_fail (id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ql_qmp_unplug_device_async);
  u = g_new0 (Unplug, 1);
  u->id = g_strdup (id);
  u->timeout_ms = timeout_ms;
  u->to_get = g_ptr_array_new_with_free_func (g_free);
  u->undo_commands = g_ptr_array_new_with_free_func (g_free);
  u->undo_args = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_task_set_task_data (task, u, (GDestroyNotify) unplug_free);
  if (!ql_is_valid_id (id))
    {
      unplug_fail (task, g_error_new (QL_CONFIG_ERROR, QL_CONFIG_ERROR_INVALID_VALUE,
                                      "unplug: '%s' is not a device id", id));
      return;
    }
  unplug_next (task);
}

/**
 * ql_qmp_unplug_device_finish:
 * @self: a #QlQmp
 * @result: the #GAsyncResult given to the callback
 * @error: return location for an error
 *
 * Finishes ql_qmp_unplug_device_async().
 *
 * Returns: %TRUE when the device and its backends are gone
 */
gboolean
ql_qmp_unplug_device_finish (QlQmp         *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

typedef struct
{
  const char *id;
  guint timeout_ms;
  GCancellable *cancellable;
} UnplugArgs;

static void
start_unplug (QlQmp               *self,
              gpointer             data,
              GAsyncReadyCallback  callback,
              gpointer             user_data)
{
  UnplugArgs *a = data;

  ql_qmp_unplug_device_async (self, a->id, a->timeout_ms, a->cancellable, callback, user_data);
}

/**
 * ql_qmp_unplug_device:
 * @self: a connected #QlQmp
 * @id: the device's id
 * @timeout_ms: how long to wait for the guest; 0 waits for ever
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for an error
 *
 * The synchronous form of ql_qmp_unplug_device_async().
 *
 * Returns: %TRUE when the device and its backends are gone
 */
gboolean
ql_qmp_unplug_device (QlQmp         *self,
                      const char    *id,
                      guint          timeout_ms,
                      GCancellable  *cancellable,
                      GError       **error)
{
  UnplugArgs a = { id, timeout_ms, cancellable };
  g_autoptr(GAsyncResult) result = NULL;

  g_return_val_if_fail (QL_IS_QMP (self), FALSE);

  result = ql_qmp_run_sync (self, start_unplug, &a);
  return ql_qmp_unplug_device_finish (self, result, error);
}
