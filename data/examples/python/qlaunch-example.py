#!/usr/bin/env python3
# qlaunch from Python, through GObject Introspection (PyGObject).
#
# Loads a VM file, adds devices from specs (as `qlaunch args -d` takes them),
# prints QEMU's argv exactly as `qlaunch args --format lines|json` does (for a
# VM whose devices need helper processes, JSON lists them too), and
# with --run launches the VM, reads its run state over QMP (when the VM file
# has a [qmp] group) and shuts it down.
#
# From a build directory BUILD (no installation needed):
#
#   GI_TYPELIB_PATH=BUILD/core LD_LIBRARY_PATH=BUILD/core \
#     python3 data/examples/python/qlaunch-example.py --plugin-dir BUILD/plugins \
#       --format json data/examples/minimal.vm serial,id=vser0
#
# Installed, the typelib and the library are found without the variables.
# Exit status: 0 success, 1 invalid VM file or failed run, 2 usage error.

import argparse
import sys

import gi

gi.require_version('GLib', '2.0')
gi.require_version('Json', '1.0')
gi.require_version('Qlaunch', '1.0')
from gi.repository import GLib, Json, Qlaunch  # noqa: E402

PROG = 'qlaunch-example'


def say(message):
    print(f'{PROG}: {message}', file=sys.stderr, flush=True)


def print_error(error):
    # A QL_CONFIG_ERROR_MULTIPLE lists one error per line.
    for line in error.message.split('\n'):
        say(line)


def make_registry(plugin_dirs):
    """The device plugins, found as the qlaunch tool finds them: every
    --plugin-dir, then QLAUNCH_PLUGIN_PATH, then the installed directory."""
    registry = Qlaunch.Registry.new()
    for d in plugin_dirs:
        registry.add_search_dir(d)
    registry.add_env_search_dirs()
    registry.scan()
    for error in registry.get_load_errors():
        say(f'warning: plugin skipped: {error.message}')
    return registry


def argv_to_json(argv):
    """The argv as one JSON array, written by json-glib like `qlaunch args
    --format json`, so that the two outputs are byte for byte the same."""
    builder = Json.Builder.new()
    builder.begin_array()
    for arg in argv:
        builder.add_string_value(arg)
    builder.end_array()
    generator = Json.Generator.new()
    generator.set_root(builder.get_root())
    text, _length = generator.to_data()
    return text


def plan_to_json(cmdline, argv):
    """A VM with helper processes (virtiofsd, ...): the object `qlaunch args
    --format json` prints then, QEMU's argv with the helpers to start first."""
    builder = Json.Builder.new()
    builder.begin_object()
    builder.set_member_name('qemu')
    builder.begin_array()
    for arg in argv:
        builder.add_string_value(arg)
    builder.end_array()
    builder.set_member_name('runtime-dir')
    builder.add_string_value(cmdline.get_runtime_dir())
    builder.set_member_name('helpers')
    builder.begin_array()
    for i in range(cmdline.get_n_helpers()):
        helper = cmdline.get_helper(i)
        builder.begin_object()
        builder.set_member_name('device')
        builder.add_string_value(helper.get_device_id())
        builder.set_member_name('name')
        builder.add_string_value(helper.get_name())
        builder.set_member_name('argv')
        builder.begin_array()
        for arg in helper.get_argv():
            builder.add_string_value(arg)
        builder.end_array()
        builder.set_member_name('env')
        builder.begin_object()
        for entry in helper.get_environ():
            name, _eq, value = entry.partition('=')
            builder.set_member_name(name)
            builder.add_string_value(value)
        builder.end_object()
        builder.set_member_name('socket')
        if helper.get_socket() is not None:
            builder.add_string_value(helper.get_socket())
        else:
            builder.add_null_value()
        fds = helper.get_fds()
        builder.set_member_name('fds')
        builder.begin_array()
        for fd in fds:
            if fd >= 0:
                builder.add_int_value(fd)
        builder.end_array()
        # Sockets qlaunch makes listening and hands over (socket activation).
        builder.set_member_name('listen-sockets')
        builder.begin_array()
        for number in range(3, 3 + len(fds)):
            path = helper.get_listen_socket(number)
            if path is not None:
                builder.begin_object()
                builder.set_member_name('fd')
                builder.add_int_value(number)
                builder.set_member_name('path')
                builder.add_string_value(path)
                builder.end_object()
        builder.end_array()
        builder.set_member_name('read-only-paths')
        builder.begin_array()
        for path in helper.get_read_only_paths():
            builder.add_string_value(path)
        builder.end_array()
        # The VM's state directories (created 0700 when the helper starts).
        builder.set_member_name('state-dirs')
        builder.begin_array()
        for path in helper.get_state_dirs():
            builder.add_string_value(path)
        builder.end_array()
        builder.end_object()
    builder.end_array()
    builder.end_object()
    generator = Json.Generator.new()
    generator.set_root(builder.get_root())
    text, _length = generator.to_data()
    return text


def run(config, qmp_timeout_ms, powerdown_timeout_ms):
    """Launches QEMU, follows its run state over QMP, shuts it down."""
    vm = Qlaunch.Vm.new(config)
    vm.launch(None)
    say(f'QEMU started (pid {vm.get_pid()})')

    if config.get_n_qmp_sockets() > 0:
        # Ready when QMP answers; from then on the run state follows QEMU.
        vm.connect_qmp(qmp_timeout_ms, None)
        state = vm.get_run_state()
        print(f'run-state: {state}', flush=True)
        _ok, status, running = vm.get_qmp().query_status(None)
        print(f'query-status: {status} running={str(running).lower()}', flush=True)
        # A guest whose vCPUs do not run cannot react to the power button.
        if state != 'running':
            powerdown_timeout_ms = 0
    else:
        say('no [qmp] group: QEMU will be stopped with signals')

    # system_powerdown, then quit, then SIGTERM/SIGKILL: whichever ends it.
    _ok, method = vm.shutdown(powerdown_timeout_ms, None)
    print(f'shutdown: {method.value_nick}', flush=True)
    say(f'QEMU (pid {vm.get_pid()}) exited with status {vm.get_exit_status()}')


def main():
    parser = argparse.ArgumentParser(
        prog=PROG,
        description='Print the QEMU argv of a VM file through libqlaunch, '
                    'and optionally run the VM.')
    parser.add_argument('--plugin-dir', action='append', default=[], metavar='DIR',
                        help='search DIR for device plugins first (repeatable)')
    parser.add_argument('--format', choices=['lines', 'json'], default='lines',
                        help='one argument per line (default), or a JSON array')
    parser.add_argument('--no-host-checks', action='store_true',
                        help='skip checks of this host (device nodes, files, fds)')
    parser.add_argument('--run', action='store_true',
                        help='launch the VM, read its run state over QMP, shut it down')
    parser.add_argument('--qmp-timeout', type=int, default=10000, metavar='MS',
                        help='how long QEMU gets to answer on QMP (default 10000)')
    parser.add_argument('--powerdown-timeout', type=int, default=5000, metavar='MS',
                        help='how long a running guest gets to power off (default 5000)')
    parser.add_argument('vmfile', metavar='VMFILE', help='the VM file')
    parser.add_argument('specs', metavar='SPEC', nargs='*',
                        help='a device to add: TYPE,key=value,... (as qlaunch args -d)')
    args = parser.parse_args()

    registry = make_registry(args.plugin_dir)
    try:
        config = Qlaunch.VmConfig.new_from_file(args.vmfile, registry)
        if args.no_host_checks:
            config.set_host_probe(None)
        for spec in args.specs:
            config.add_device(registry.create_device_from_spec(spec))
        cmdline = config.build_cmdline()
        argv = cmdline.to_argv()
    except GLib.Error as error:
        print_error(error)
        return 1

    if args.format == 'json' and cmdline.get_n_helpers() > 0:
        print(plan_to_json(cmdline, argv), flush=True)
    elif args.format == 'json':
        print(argv_to_json(argv), flush=True)
    else:
        for arg in argv:
            print(arg)
        sys.stdout.flush()

    if args.run:
        try:
            run(config, args.qmp_timeout, args.powerdown_timeout)
        except GLib.Error as error:
            print_error(error)
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
