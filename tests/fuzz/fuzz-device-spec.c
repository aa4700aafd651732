/* qlaunch fuzzing — the `-d TYPE,key=value` device-spec parser.
 *
 * Bytes → ql_registry_create_device_from_spec() (the build's plugins);
 * a device that parses is checked (ql_device_valid()) against an empty VM
 * without host checks and, when valid, its QEMU options go into a
 * QlCmdline whose argv keeps the invariants of ql_fuzz_check_argv() and is
 * the same when built twice. */
#include <stdint.h>
#include <string.h>

#include "fuzz-common.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  QlRegistry *registry = ql_fuzz_registry ();
  g_autofree char *spec = NULL;
  g_autoptr(QlDevice) device = NULL;
  g_autoptr(QlVmConfig) vm = NULL;
  g_autoptr(QlCmdline) cmdline = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  g_auto(GStrv) again = NULL;

  /* A command-line argument: no NUL inside. */
  if (memchr (data, '\0', size) != NULL)
    return 0;
  spec = g_strndup ((const char *) data, size);

  device = ql_registry_create_device_from_spec (registry, spec, &error);
  if (device == NULL)
    {
      g_assert (error != NULL);
      return 0;
    }
  g_assert (error == NULL);

  vm = ql_vm_config_new ();
  ql_vm_config_set_host_probe (vm, NULL);
  if (!ql_device_valid (device, vm, &error))
    {
      g_assert (error != NULL);
      return 0;
    }
  cmdline = ql_cmdline_new ("qemu-system-x86_64");
  if (!ql_device_qemu_params (device, vm, cmdline, &error))
    {
      g_assert (error != NULL);
      return 0;
    }
  argv = ql_cmdline_to_argv (cmdline, &error);
  if (argv == NULL)
    {
      g_assert (error != NULL);
      return 0;
    }
  ql_fuzz_check_argv (cmdline, argv);
  again = ql_cmdline_to_argv (cmdline, &error);
  g_assert (again != NULL);
  ql_fuzz_check_same (argv, again);
  return 0;
}
