/* qlaunch tpm plugin — QlTpmDevice: a TPM 2.0 for the guest.
 *
 * What it produces, backend emulator (the default):
 *
 *   -chardev socket,id=ID-swtpm,path=RUNTIME/ID.swtpm.sock
 *   -tpmdev emulator,id=ID,chardev=ID-swtpm
 *   -device tpm-crb|tpm-tis,id=ID,tpmdev=ID
 *
 * and a helper process the launcher runs before QEMU and stops after it:
 *
 *   swtpm socket --tpm2 --ctrl type=unixio,fd=3 --tpmstate dir=STATE,mode=0600
 *
 * where descriptor 3 is a unix socket the launcher made listening at
 * RUNTIME/ID.swtpm.sock (socket activation): QEMU connects to swtpm's
 * control channel, hands it the data channel (CMD_SET_DATAFD) and runs the
 * TPM's start-up itself, so swtpm gets no --flags startup-*. When QEMU
 * quits it sends CMD_SHUTDOWN and swtpm ends by itself.
 *
 * STATE is the VM's: state-dir, by default NAME.tpm beside the VM file
 * NAME.vm (ql_vm_config_build_state_path()). The launcher creates it 0700
 * and refuses one that is not the user's or that group or others can
 * write (ql_helper_add_state_dir()); it is kept between runs, so the
 * guest's keys, NV indices and PCR policy survive a power-off.
 *
 * Backend passthrough:
 *
 *   -tpmdev passthrough,id=ID,path=/dev/tpmN,cancel-path=CANCEL
 *   -device tpm-crb|tpm-tis,id=ID,tpmdev=ID
 *
 * where CANCEL is /sys/class/tpm/tpmN/device/cancel unless cancel-path
 * says otherwise (QEMU writes it to abort a command).
 *
 * The rules, checked against QEMU 7.2:
 * - one TPM per VM (QEMU: "Only one TPM is allowed.");
 * - model crb goes with q35, tis with the other machines, and the default
 *   follows the machine. QEMU 7.2 itself also starts tpm-crb on pc
 *   (measured); qlaunch keeps crb to q35, and says so, rather than give a
 *   pc VM an interface that pairing was never tested with;
 * - a TPM is created with the machine and cannot be hot-plugged: QEMU
 *   refuses device_add of tpm-crb/tpm-tis (not a hot-pluggable bus), so
 *   the device refuses it first;
 * - swtpm reads its options as key=value lists split at every ',' with no
 *   escape: a state directory with a comma is refused;
 * - with host checks: swtpm must be found in PATH, a state-dir that exists
 *   must be a private directory of the user's (the launcher checks that
 *   again when it starts swtpm) that no running swtpm holds (its lock on .lock;
 *   else swtpm starts and QEMU 7.2 fails with only "TPM result for
 *   CMD_INIT: 0x9 operation failed"), the host TPM and its cancel file must open
 *   read-write (QEMU 7.2: "Cannot access TPM device using '...'").
 */
#include "ql-tpm-device.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define QL_TPM_STATE_SUFFIX "tpm"

struct _QlTpmDevice
{
  QlDevice      parent_instance;

  QlTpmModel    model;
  QlTpmBackend  backend;
  char         *state_dir;
  char         *path;
  char         *cancel_path;
};

G_DEFINE_FINAL_TYPE (QlTpmDevice, ql_tpm_device, QL_TYPE_DEVICE)

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_BACKEND,
  PROP_STATE_DIR,
  PROP_PATH,
  PROP_CANCEL_PATH,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* An earlier TPM of @vm. */
static QlDevice *
find_other_tpm (QlTpmDevice *self,
                QlVmConfig  *vm)
{
  GPtrArray *devices = vm != NULL ? ql_vm_config_get_devices (vm) : NULL;

  for (guint i = 0; devices != NULL && i < devices->len; i++)
    {
      QlDevice *other = g_ptr_array_index (devices, i);

      if (other == QL_DEVICE (self))
        return NULL;
      if (QL_IS_TPM_DEVICE (other))
        return other;
    }
  return NULL;
}

/* The model the guest gets: model, or the machine's. */
static QlTpmModel
effective_model (QlTpmDevice *self,
                 QlVmConfig  *vm)
{
  if (self->model != QL_TPM_MODEL_AUTO)
    return self->model;
  return vm != NULL && ql_vm_config_is_pcie_machine (vm) ? QL_TPM_MODEL_CRB : QL_TPM_MODEL_TIS;
}

/* The state directory: state-dir, or NAME.tpm beside the VM file. */
static char *
dup_state_dir (QlTpmDevice *self,
               QlVmConfig  *vm)
{
  if (self->state_dir != NULL)
    return g_strdup (self->state_dir);
  return vm != NULL ? ql_vm_config_build_state_path (vm, QL_TPM_STATE_SUFFIX) : NULL;
}

/* /sys/class/tpm/tpmN/device/cancel for /dev/tpmN (or NULL). */
static char *
dup_cancel_path (QlTpmDevice *self)
{
  g_autofree char *base = NULL;

  if (self->cancel_path != NULL)
    return g_strdup (self->cancel_path);
  if (self->path == NULL)
    return NULL;
  base = g_path_get_basename (self->path);
  if (!g_str_has_prefix (base, "tpm") || base[3] == '\0')
    return NULL;
  for (const char *p = base + 3; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p))
      return NULL;
  return g_strdup_printf ("/sys/class/tpm/%s/device/cancel", base);
}

/* The pid of the swtpm that holds @state_dir (its POSIX lock on .lock),
 * or 0. */
static int
state_dir_holder (const char *state_dir)
{
  g_autofree char *lock = g_build_filename (state_dir, ".lock", NULL);
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
  int fd = open (lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  int pid = 0;

  if (fd < 0)
    return 0;
  if (fcntl (fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
    pid = (int) fl.l_pid;
  close (fd);
  return pid;
}

/* An existing state directory must be the user's, and private. */
static gboolean
valid_state_dir_owner (QlTpmDevice  *self,
                       const char   *state_dir,
                       GError      **error)
{
  GStatBuf st;

  if (g_stat (state_dir, &st) != 0 || !S_ISDIR (st.st_mode))
    return TRUE;
  if (st.st_uid != geteuid ())
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_HOST, "state-dir",
                           "'%s' belongs to uid %u, not to uid %u that qlaunch runs as: the TPM's state must be the VM's own",
                           state_dir, (guint) st.st_uid, (guint) geteuid ());
      return FALSE;
    }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    {
      ql_device_set_error (QL_DEVICE (self), error, QL_CONFIG_ERROR_HOST, "state-dir",
                           "'%s' is writable by %s (mode %04o): the TPM's state must be private (chmod 700)",
                           state_dir, (st.st_mode & S_IWOTH) != 0 ? "others" : "its group",
                           (guint) (st.st_mode & 07777));
      return FALSE;
    }
  return TRUE;
}

static gboolean
valid_emulator (QlTpmDevice  *self,
                QlVmConfig   *vm,
                QlHostProbe  *probe,
                GError      **error)
{
  QlDevice *device = QL_DEVICE (self);
  g_autofree char *state_dir = NULL;
  g_autofree char *name = NULL;

  if (self->path != NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "path",
                           "'%s' is the host TPM of backend passthrough; backend emulator runs swtpm and takes no path: "
                           "unset path, or set backend=passthrough",
                           self->path);
      return FALSE;
    }
  if (self->cancel_path != NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "cancel-path",
                           "'%s' belongs to backend passthrough; backend emulator takes no cancel-path: "
                           "unset cancel-path, or set backend=passthrough",
                           self->cancel_path);
      return FALSE;
    }
  if (!ql_device_check_not_empty (device, self->state_dir, "state-dir", error))
    return FALSE;
  if (self->state_dir != NULL && !g_path_is_absolute (self->state_dir))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "state-dir",
                           "'%s' is not an absolute path (in a VM file, a relative path is relative to the VM file)",
                           self->state_dir);
      return FALSE;
    }
  state_dir = dup_state_dir (self, vm);
  if (state_dir == NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "state-dir",
                           "no state directory: the VM was not loaded from a VM file, beside which the TPM's state "
                           "would be kept (NAME.tpm for NAME.vm): set state-dir to a directory of this VM's own");
      return FALSE;
    }
  if (strchr (state_dir, ',') != NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "state-dir",
                           "'%s' holds a ',': swtpm splits its --tpmstate option at every comma and has no escape; "
                           "choose a directory without one",
                           state_dir);
      return FALSE;
    }
  name = ql_helper_socket_name (ql_device_get_id (device), "swtpm");
  if (!ql_helper_check_socket_name (device, vm, "swtpm", name, error))
    return FALSE;

  if (probe != NULL)
    {
      g_autoptr(GError) local_error = NULL;
      g_autofree char *swtpm = g_find_program_in_path ("swtpm");
      GFileType type = G_FILE_TYPE_UNKNOWN;

      if (swtpm == NULL)
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "backend",
                               "backend emulator runs swtpm, and no swtpm is in PATH: install it (Debian: swtpm), "
                               "or use backend passthrough");
          return FALSE;
        }
      if (ql_host_probe_query_file (probe, state_dir, &type, NULL, &local_error))
        {
          int holder;

          if (type != G_FILE_TYPE_DIRECTORY)
            {
              ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "state-dir",
                                   "'%s' exists and is not a directory: the TPM's state is kept in a directory of the VM's own",
                                   state_dir);
              return FALSE;
            }
          /* What the launcher refuses, said by check already, with the
           * key (the launcher checks again when it starts swtpm). */
          if (!valid_state_dir_owner (self, state_dir, error))
            return FALSE;
          /* swtpm would start, and fail QEMU's CMD_INIT without a word
           * of why. */
          holder = state_dir_holder (state_dir);
          if (holder != 0)
            {
              ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "state-dir",
                                   "'%s' is in use by another swtpm (pid %d): a TPM's state belongs to one running VM "
                                   "at a time (is this VM running already?)",
                                   state_dir, holder);
              return FALSE;
            }
        }
      else if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "state-dir",
                               "cannot use '%s': %s", state_dir, local_error->message);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
valid_passthrough (QlTpmDevice  *self,
                   QlHostProbe  *probe,
                   GError      **error)
{
  QlDevice *device = QL_DEVICE (self);
  g_autofree char *cancel = NULL;

  if (self->state_dir != NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "state-dir",
                           "'%s': backend passthrough uses the host TPM, which keeps its own state; "
                           "a state directory is for backend emulator: unset state-dir",
                           self->state_dir);
      return FALSE;
    }
  if (self->path == NULL || *self->path == '\0')
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "path",
                           "backend passthrough needs the host TPM: set path to its device node, such as /dev/tpm0");
      return FALSE;
    }
  if (!g_path_is_absolute (self->path))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "path",
                           "'%s' is not an absolute path: name the host TPM's device node, such as /dev/tpm0",
                           self->path);
      return FALSE;
    }
  if (!ql_device_check_not_empty (device, self->cancel_path, "cancel-path", error))
    return FALSE;
  if (self->cancel_path != NULL && !g_path_is_absolute (self->cancel_path))
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, "cancel-path",
                           "'%s' is not an absolute path: name the TPM's sysfs cancel file, such as /sys/class/tpm/tpm0/device/cancel",
                           self->cancel_path);
      return FALSE;
    }
  cancel = dup_cancel_path (self);
  if (cancel == NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "cancel-path",
                           "'%s' is not named /dev/tpmN, so its cancel file cannot be derived: "
                           "set cancel-path (/sys/class/tpm/tpmN/device/cancel of that TPM)",
                           self->path);
      return FALSE;
    }
  if (probe != NULL)
    {
      g_autoptr(GError) local_error = NULL;

      if (!ql_host_probe_device_usable (probe, self->path, &local_error))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "path",
                               "cannot use the host TPM '%s': %s: expected a TPM device node this user can open read-write "
                               "(QEMU: \"Cannot access TPM device\")",
                               self->path, local_error->message);
          return FALSE;
        }
      if (!ql_host_probe_device_usable (probe, cancel, &local_error))
        {
          ql_device_set_error (device, error, QL_CONFIG_ERROR_HOST, "cancel-path",
                               "cannot use the cancel file '%s' of the host TPM: %s: QEMU writes it to abort a command",
                               cancel, local_error->message);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
ql_tpm_device_valid (QlDevice    *device,
                     QlVmConfig  *vm,
                     GError     **error)
{
  QlTpmDevice *self = QL_TPM_DEVICE (device);
  QlHostProbe *probe = vm != NULL ? ql_vm_config_get_host_probe (vm) : NULL;
  QlDevice *other;

  if (ql_device_get_id (device) == NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_MISSING, "id",
                           "a TPM needs an id: its backend, chardev and swtpm's socket are named after it");
      return FALSE;
    }
  other = find_other_tpm (self, vm);
  if (other != NULL)
    {
      ql_device_set_error (device, error, QL_CONFIG_ERROR_DUPLICATE, "model",
                           "device '%s' is a TPM already, and QEMU gives a VM one TPM at most (\"Only one TPM is allowed.\")",
                           ql_device_get_id (other));
      return FALSE;
    }
  if (self->model == QL_TPM_MODEL_CRB && vm != NULL && !ql_vm_config_is_pcie_machine (vm))
    {
      const char *machine = ql_vm_config_resolve_machine_type (vm);

      ql_device_set_error (device, error, QL_CONFIG_ERROR_CONFLICT, "model",
                           "'crb' (tpm-crb) is for q35 machines, and this VM's machine is '%s': "
                           "set [machine] type = q35, or model = tis",
                           machine != NULL ? machine : "QEMU's default (pc)");
      return FALSE;
    }
  if (self->backend == QL_TPM_BACKEND_EMULATOR)
    return valid_emulator (self, vm, probe, error);
  return valid_passthrough (self, probe, error);
}

static gboolean
ql_tpm_device_qemu_params (QlDevice    *device,
                           QlVmConfig  *vm,
                           QlCmdline   *cmdline,
                           GError     **error)
{
  QlTpmDevice *self = QL_TPM_DEVICE (device);
  const char *id = ql_device_get_id (device);
  const char *driver = effective_model (self, vm) == QL_TPM_MODEL_CRB ? "tpm-crb" : "tpm-tis";

  (void) error;
  if (self->backend == QL_TPM_BACKEND_EMULATOR)
    {
      g_autofree char *chardev = g_strconcat (id, "-swtpm", NULL);
      g_autofree char *name = ql_helper_socket_name (id, "swtpm");
      g_autofree char *socket_path = ql_cmdline_build_runtime_path (cmdline, name);
      g_autofree char *state_dir = dup_state_dir (self, vm);
      g_autofree char *binary = g_find_program_in_path ("swtpm");
      QlHelper *helper;
      int fd;

      /* valid() made sure of a state directory and, with host checks, of
       * swtpm; without (a command line for another host) its name is
       * looked up in PATH there. */
      helper = ql_cmdline_add_helper (cmdline, "swtpm", binary != NULL ? binary : "swtpm");
      fd = ql_helper_add_listen_socket (helper, socket_path);
      ql_helper_add_args (helper, "socket", "--tpm2", "--ctrl", NULL);
      ql_helper_add_arg_printf (helper, "type=unixio,fd=%d", fd);
      ql_helper_add_arg (helper, "--tpmstate");
      ql_helper_add_arg_printf (helper, "dir=%s,mode=0600", state_dir);
      ql_helper_add_state_dir (helper, state_dir);

      ql_cmdline_add_option (cmdline, "-chardev", "socket",
                             "id", chardev,
                             "path", socket_path,
                             NULL);
      ql_cmdline_add_option (cmdline, "-tpmdev", "emulator",
                             "id", id,
                             "chardev", chardev,
                             NULL);
    }
  else
    {
      g_autofree char *cancel = dup_cancel_path (self);

      ql_cmdline_add_option (cmdline, "-tpmdev", "passthrough",
                             "id", id,
                             "path", self->path,
                             "cancel-path", cancel,
                             NULL);
    }
  ql_cmdline_add_option (cmdline, "-device", driver,
                         "id", id,
                         "tpmdev", id,
                         NULL);
  return TRUE;
}

/* A TPM comes with the machine: refused before QEMU refuses it. */
static gboolean
ql_tpm_device_hotplug_params (QlDevice    *device,
                              QlVmConfig  *vm,
                              QlCmdline   *cmdline,
                              GError     **error)
{
  (void) vm;
  (void) cmdline;
  ql_device_set_error (device, error, QL_CONFIG_ERROR_INVALID_VALUE, NULL,
                       "a TPM cannot be hot-plugged: tpm-crb and tpm-tis sit on no hot-pluggable bus, and QEMU "
                       "creates them with the machine only; add the device to the VM file and start the VM again");
  return FALSE;
}

static void
set_string (char         **field,
            const GValue  *value)
{
  g_free (*field);
  *field = g_value_dup_string (value);
}

static void
ql_tpm_device_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  QlTpmDevice *self = QL_TPM_DEVICE (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      self->model = g_value_get_enum (value);
      break;
    case PROP_BACKEND:
      self->backend = g_value_get_enum (value);
      break;
    case PROP_STATE_DIR:
      set_string (&self->state_dir, value);
      break;
    case PROP_PATH:
      set_string (&self->path, value);
      break;
    case PROP_CANCEL_PATH:
      set_string (&self->cancel_path, value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_tpm_device_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  QlTpmDevice *self = QL_TPM_DEVICE (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      g_value_set_enum (value, self->model);
      break;
    case PROP_BACKEND:
      g_value_set_enum (value, self->backend);
      break;
    case PROP_STATE_DIR:
      g_value_set_string (value, self->state_dir);
      break;
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_CANCEL_PATH:
      g_value_set_string (value, self->cancel_path);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
    }
}

static void
ql_tpm_device_finalize (GObject *object)
{
  QlTpmDevice *self = QL_TPM_DEVICE (object);

  g_free (self->state_dir);
  g_free (self->path);
  g_free (self->cancel_path);
  G_OBJECT_CLASS (ql_tpm_device_parent_class)->finalize (object);
}

static void
ql_tpm_device_class_init (QlTpmDeviceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  QlDeviceClass *device_class = QL_DEVICE_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;

  object_class->set_property = ql_tpm_device_set_property;
  object_class->get_property = ql_tpm_device_get_property;
  object_class->finalize = ql_tpm_device_finalize;

  device_class->valid = ql_tpm_device_valid;
  device_class->qemu_params = ql_tpm_device_qemu_params;
  device_class->hotplug_params = ql_tpm_device_hotplug_params;

  properties[PROP_MODEL] =
    g_param_spec_enum ("model", "Model",
                       "The TPM interface the guest sees: crb (tpm-crb, q35 only), tis (tpm-tis) or auto "
                       "(default: crb on q35, tis on other machines)",
                       QL_TYPE_TPM_MODEL, QL_TPM_MODEL_AUTO, flags);
  properties[PROP_BACKEND] =
    g_param_spec_enum ("backend", "Backend",
                       "What the TPM is: emulator (default: a TPM 2.0 swtpm that qlaunch runs beside QEMU, "
                       "its state in state-dir) or passthrough (the host TPM at path)",
                       QL_TYPE_TPM_BACKEND, QL_TPM_BACKEND_EMULATOR, flags);
  properties[PROP_STATE_DIR] =
    ql_param_spec_path ("state-dir", "State directory",
                        "Directory of the emulated TPM's state, the VM's own, kept between runs: created 0700 at "
                        "launch, refused when not the user's or writable by group or others; default NAME.tpm "
                        "beside the VM file NAME.vm; backend emulator only; a relative path in a VM file is "
                        "relative to the VM file",
                        flags);
  properties[PROP_PATH] =
    ql_param_spec_path ("path", "Path",
                        "The host TPM's device node for backend passthrough, such as /dev/tpm0 (-tpmdev "
                        "passthrough path=); must open read-write (host check)",
                        flags);
  properties[PROP_CANCEL_PATH] =
    ql_param_spec_path ("cancel-path", "Cancel path",
                        "The host TPM's sysfs file that cancels a command, for backend passthrough (cancel-path=); "
                        "default /sys/class/tpm/tpmN/device/cancel for path /dev/tpmN",
                        flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ql_tpm_device_init (QlTpmDevice *self)
{
  self->model = QL_TPM_MODEL_AUTO;
  self->backend = QL_TPM_BACKEND_EMULATOR;
}
