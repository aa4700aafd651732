/* qlaunch fuzzing — the VM-file loader.
 *
 * Bytes → ql_vm_config_new_from_data() (host checks off, the build's
 * plugins). A file that loads is validated and built into argv twice: the
 * argv keeps the invariants of ql_fuzz_check_argv() and is the same both
 * times. */
#include <stdint.h>

#include "fuzz-common.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  QlRegistry *registry = ql_fuzz_registry ();
  g_autoptr(QlVmConfig) vm = NULL;
  g_autoptr(QlCmdline) cmdline = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  g_auto(GStrv) again = NULL;
  g_auto(GStrv) direct = NULL;

  vm = ql_vm_config_new_from_data ((const char *) data, (gssize) size, "fuzz.vm",
                                   "/nonexistent-fuzz-dir", registry, &error);
  if (vm == NULL)
    {
      g_assert (error != NULL);
      return 0;
    }
  g_assert (error == NULL);
  ql_vm_config_set_host_probe (vm, NULL);

  cmdline = ql_vm_config_build_cmdline (vm, &error);
  if (cmdline == NULL)
    {
      g_assert (error != NULL);
      /* A config that does not build must not build the other way either. */
      g_clear_error (&error);
      direct = ql_vm_config_to_argv (vm, &error);
      g_assert (direct == NULL && error != NULL);
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
  direct = ql_vm_config_to_argv (vm, &error);
  g_assert (direct != NULL);
  ql_fuzz_check_same (argv, direct);
  return 0;
}
