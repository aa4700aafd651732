/* qlaunch watchdog plugin — QlWatchdogDevice: a hardware watchdog timer.
 *
 * What it produces:
 *
 *   -device i6300esb,id=ID
 *   -action watchdog=ACTION
 *
 * The guest arms the timer by opening its watchdog device (/dev/watchdog)
 * and must write to it before the timer runs out; when it does not, QEMU
 * emits the QMP event WATCHDOG (with the action) and does the action.
 * -action (QEMU 6.0 and later) is the form written: qlaunch supports QEMU
 * 7.2 and later, and -watchdog-action is the deprecated alias.
 *
 * The rules, checked against QEMU 7.2:
 * - the action is one setting of the whole VM: QEMU takes two i6300esb,
 *   but two watchdogs with different actions cannot both be honoured, an
 *   error naming both; with the same action the first writes -action;
 * - QEMU's actions: reset (its default), shutdown, poweroff, pause, debug,
 *   none, inject-nmi ("Parameter 'watchdog' does not accept value ..."
 *   for any other);
 * - not hot-plugged: QEMU would take i6300esb with device_add, but the
 *   action is a start-up option.
 */
#include "ql-watchdog-device.h"

struct _QlWatchdogDevice
{
  QlDevice                parent_instance;

  QlWatchdogModel         model;
  QlWatchdogDeviceAction  action;
};

G_DEFINE_FINAL_TYPE (QlWatchdogDevice, ql_watchdog_device, QL_TYPE_DEVICE)

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_ACTION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char *
action_name (QlWatchdogDeviceAction action)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (QL_TYPE_WATCHDOG_DEVICE_ACTION);
  GEnumValue *value = g_enum_get_value (klass, action);

  return value != NULL ? value->value_nick : "reset";
}

/* The watchdog of @vm before @self (any when @self is not in @vm). */
static QlWatchdogDevice *
find_first_watchdog (QlWatchdogDevice *self,
                     QlVmConfig       *vm)
{
  GPtrArray *devices = vm != NULL ? ql_vm_config_get_devices (vm) : NULL;

  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other == QL_DEVICE (self))
        return NULL;
      if (QL_IS_WATCHDOG_DEVICE (other))
        return QL_WATCHDOG_DEVICE (other);
    }
  return NULL;
}

static gboolean
ql_watchdog_device_valid (QlDevice    *device,
                          QlVmConfig  *vm,
                          GError     **error)
{
  QlWatchdogDevice *self = QL_WATCHDOG_DEVICE (device);
  QlWatchdogDevice *first = find_first_watchdog (self, vm);

  if (first != NULL && first->action != self->action)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "action",
                           "'%s' differs from the action '%s' of watchdog '%s', and QEMU has one watchdog action "
                           "for the whole VM (-action watchdog=): give both the same action",
                           action_name (self->action), action_name (first->action),
                           ql_device_get_id (QL_DEVICE (first)));
      return FALSE;
    }
  return TRUE;
}

static gboolean
ql_watchdog_device_qemu_params (QlDevice    *device,
                                QlVmConfig  *vm,
                                QlCmdline   *cmdline,
                                GError     **error)
{
  QlWatchdogDevice *self = QL_WATCHDOG_DEVICE (device);

  ql_cmdline_add_option (cmdline, "-device", "i6300esb",
                         "id", ql_device_get_id (device),
                         NULL);
  if (find_first_watchdog (self, vm) != NULL)
    return TRUE;
  ql_cmdline_add_option (cmdline, "-action", NULL,
                         "watchdog", action_name (self->action),
                         NULL);
  return TRUE;
}

static gboolean
ql_watchdog_device_hotplug_params (QlDevice    *device,
                                   QlVmConfig  *vm,
                                   QlCmdline   *cmdline,
                                   GError     **error)
{
  ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "type",
                       "a watchdog cannot be hot-plugged: its action (-action watchdog=) is set when QEMU starts");
  return FALSE;
}

static void
ql_watchdog_device_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  QlWatchdogDevice *self = QL_WATCHDOG_DEVICE (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      self->model = g_value_get_enum (value);
      break;
    case PROP_ACTION:
      self->action = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_watchdog_device_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  QlWatchdogDevice *self = QL_WATCHDOG_DEVICE (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      g_value_set_enum (value, self->model);
      break;
    case PROP_ACTION:
      g_value_set_enum (value, self->action);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_watchdog_device_class_init (QlWatchdogDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = ql_watchdog_device_set_property;
  object_class->get_property = ql_watchdog_device_get_property;

  device_class->valid = ql_watchdog_device_valid;
  device_class->qemu_params = ql_watchdog_device_qemu_params;
  device_class->hotplug_params = ql_watchdog_device_hotplug_params;

  properties[PROP_MODEL] =
    g_param_spec_enum ("model", "Model",
                       "The emulated watchdog: i6300esb (-device i6300esb, a PCI device; Linux driver i6300esb, "
                       "its timeout set by the module parameter heartbeat); default i6300esb",
                       QL_TYPE_WATCHDOG_MODEL, QL_WATCHDOG_MODEL_I6300ESB, flags);
  properties[PROP_ACTION] =
    g_param_spec_enum ("action", "Action",
                       "What QEMU does when the guest stops feeding the watchdog (-action watchdog=): reset, shutdown, "
                       "poweroff (QEMU exits with status 0), pause, debug, none or inject-nmi; QEMU emits the QMP event "
                       "WATCHDOG first; one action for the whole VM; default reset",
                       QL_TYPE_WATCHDOG_DEVICE_ACTION, QL_WATCHDOG_DEVICE_ACTION_RESET, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_watchdog_device_init (QlWatchdogDevice *self)
{
  self->model = QL_WATCHDOG_MODEL_I6300ESB;
  self->action = QL_WATCHDOG_DEVICE_ACTION_RESET;
}
