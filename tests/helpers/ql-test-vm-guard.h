/* qlaunch tests — no QEMU left behind by a test that dies.
 *
 * A failed assertion aborts the test program, and meson's timeout sends it
 * SIGTERM: the QEMU processes its QlVms started would then outlive it.
 * ql_test_vm_guard_install() catches those deaths (SIGABRT, SIGTRAP,
 * SIGTERM, SIGINT, SIGSEGV, SIGBUS) and SIGKILLs every process still
 * registered before dying of the same signal; ql_test_vm_guard() registers
 * a VM's QEMU while it runs (its pid from notify::pid, removed when the VM
 * is EXITED or FAILED, so no recycled pid is ever signalled).
 *
 * Header-only (static functions): include it in one test program.
 */
#pragma once

#include <qlaunch/qlaunch.h>

#include <signal.h>
#include <string.h>
#include <unistd.h>

#define QL_TEST_VM_GUARD_MAX 256

static volatile sig_atomic_t ql_test_vm_guard_pids[QL_TEST_VM_GUARD_MAX];

static void
ql_test_vm_guard_handler (int sig)
{
  for (int i = 0; i < QL_TEST_VM_GUARD_MAX; i++)
    if (ql_test_vm_guard_pids[i] > 0)
      kill ((pid_t) ql_test_vm_guard_pids[i], SIGKILL);
  signal (sig, SIG_DFL);
  raise (sig);
}

static void
ql_test_vm_guard_install (void)
{
  static const int signals[] = { SIGABRT, SIGTRAP, SIGTERM, SIGINT, SIGSEGV, SIGBUS };
  struct sigaction sa;

  memset (&sa, 0, sizeof sa);
  sa.sa_handler = ql_test_vm_guard_handler;
  sigemptyset (&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND;
  for (unsigned i = 0; i < G_N_ELEMENTS (signals); i++)
    sigaction (signals[i], &sa, NULL);
}

static void
ql_test_vm_guard_set (GPid old_pid,
                      GPid new_pid)
{
  for (int i = 0; i < QL_TEST_VM_GUARD_MAX; i++)
    if (ql_test_vm_guard_pids[i] == (sig_atomic_t) old_pid)
      {
        ql_test_vm_guard_pids[i] = (sig_atomic_t) new_pid;
        return;
      }
}

static void
ql_test_vm_guard_notify (GObject    *object,
                         GParamSpec *pspec,
                         gpointer    user_data)
{
  QlVm *vm = QL_VM (object);
  GPid *registered = g_object_get_data (object, "ql-test-vm-guard-pid");
  GPid pid = ql_vm_get_pid (vm);
  QlVmState state = ql_vm_get_state (vm);
  gboolean running = state == QL_VM_STATE_STARTING || state == QL_VM_STATE_RUNNING;

  if (*registered > 0 && (!running || *registered != pid))
    {
      ql_test_vm_guard_set (*registered, 0);
      *registered = 0;
    }
  if (running && pid > 0 && *registered == 0)
    {
      ql_test_vm_guard_set (0, pid);
      *registered = pid;
    }
}

/* Registers @vm's QEMU (call before the launch). */
static inline void
ql_test_vm_guard (QlVm *vm)
{
  g_object_set_data_full (G_OBJECT (vm), "ql-test-vm-guard-pid", g_new0 (GPid, 1), g_free);
  g_signal_connect (vm, "notify::pid", G_CALLBACK (ql_test_vm_guard_notify), NULL);
  g_signal_connect (vm, "notify::state", G_CALLBACK (ql_test_vm_guard_notify), NULL);
}
