#!/usr/bin/env bash
# test-install (suite slow): what a third party gets from `meson install`.
#
#  1. configure the source tree into a temporary build directory with
#     --prefix=TMP/prefix (no tests, no introspection: only what is
#     installed for plugins and the tool), `meson install` it, check the
#     layout (soname, headers, qlaunch-1.pc and its pluginsdir, plugins,
#     man pages, bash completion);
#  2. build data/examples/plugin with PKG_CONFIG_PATH naming only that
#     prefix's pkgconfig directory, install it into the pc file's pluginsdir;
#  3. run the installed qlaunch (LD_LIBRARY_PATH = the prefix's libdir):
#     `inspect` finds the example-rng plugin in the installed plugin
#     directory beside the stock ones (its own family: the stock rng plugin
#     is still there), `inspect example-rng`, `args` and `check` on a VM
#     file with an example-rng device, --plugin-dir with the example's
#     build directory, and QEMU accepting the argv (when
#     qemu-system-x86_64 is installed);
#  4. the installed man pages render without warnings and document every
#     option of every command and every key of every fixed VM file group;
#  5. the installed bash completion completes `qlaunch inspect <TAB>` with
#     the device types found (net, block, ..., rng and example-rng),
#     respects --plugin-dir, and knows every option of every command.
#
# Output: TAP. Environment (set by tests/meson.build): QLAUNCH_MESON (the
# meson that configured the build), QLAUNCH_TOP_SRCDIR (the source tree),
# QLAUNCH_TEST_PLUGIN_TMPDIR (where the temporary directory is made: not
# /tmp, since qlaunch refuses plugins below a directory that group or
# others can write, a sticky one like /tmp included, and the prefix's
# plugin directory is in there).
# QLAUNCH_TEST_KEEP=1 keeps the temporary directory.
#
# shellcheck disable=SC2317  # the checks are functions called through check()
set -uo pipefail

top=${QLAUNCH_TOP_SRCDIR:?QLAUNCH_TOP_SRCDIR is not set (run through meson test)}
meson=${QLAUNCH_MESON:-meson}

n=0
failed=0
ok ()   { n=$((n + 1)); printf 'ok %d - %s\n' "$n" "$*"; }
nok ()  { n=$((n + 1)); failed=1; printf 'not ok %d - %s\n' "$n" "$*"; }
skip () { n=$((n + 1)); printf 'ok %d # SKIP %s\n' "$n" "$*"; }
diag () { sed 's/^/# /'; }
# check NAME COMMAND...: one TAP line for COMMAND's status; its output as
# diagnostics when it fails.
check ()
{
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    ok "$name"
  else
    nok "$name"
    printf '%s\n' "$out" | tail -n 40 | diag
  fi
}
elapsed () { local d=$(( (${EPOCHREALTIME/[.,]/} - ${1/[.,]/}) / 100000 )); printf '%d.%ds' $((d / 10)) $((d % 10)); }
bail () { printf 'Bail out! %s\n' "$*"; exit 1; }

tmp_base=${QLAUNCH_TEST_PLUGIN_TMPDIR:?QLAUNCH_TEST_PLUGIN_TMPDIR is not set (run through meson test)}
mkdir -p "$tmp_base" && chmod 0755 "$tmp_base" || bail "cannot make $tmp_base"
tmp=$(mktemp -d "$tmp_base/qlaunch-install.XXXXXX") || bail "mktemp failed"
if [ "${QLAUNCH_TEST_KEEP:-}" = 1 ]; then
  printf '# keeping %s\n' "$tmp"
else
  trap 'rm -rf -- "$tmp"' EXIT
fi
prefix=$tmp/prefix
build=$tmp/build

# The qlaunch under test must see only what it installed.
unset QLAUNCH_PLUGIN_PATH QLAUNCH_PLUGIN_SYSTEM_PATH PKG_CONFIG_PATH PKG_CONFIG_LIBDIR LD_LIBRARY_PATH

# --- 1. install --------------------------------------------------------
setup_args=(--prefix="$prefix" -Dtests=false -Dbuildtype=plain)
# Introspection and the API reference are installed as a user gets them
# (built when gobject-introspection and gi-docgen are there).
t0=$EPOCHREALTIME
if ! "$meson" setup "${setup_args[@]}" "$build" "$top" >"$tmp/setup.log" 2>&1; then
  tail -n 40 "$tmp/setup.log" | diag
  bail "meson setup of the source tree failed"
fi
printf '# meson setup: %s\n' "$(elapsed "$t0")"
t0=$EPOCHREALTIME
if ! "$meson" install -C "$build" >"$tmp/install.log" 2>&1; then
  tail -n 40 "$tmp/install.log" | diag
  bail "meson install failed"
fi
printf '# meson install (build and install): %s\n' "$(elapsed "$t0")"
ok "meson install into a temporary prefix"

pc=$(find "$prefix" -name qlaunch-1.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || bail "no qlaunch-1.pc installed"
pkgconfigdir=$(dirname "$pc")
libdir=$(dirname "$pkgconfigdir")
export PKG_CONFIG_PATH=$pkgconfigdir
qlaunch=$prefix/bin/qlaunch

layout ()
{
  local f
  for f in "$qlaunch" "$libdir/libqlaunch-1.so" "$libdir/libqlaunch-1.so.0" \
           "$prefix/include/qlaunch-1/qlaunch/qlaunch.h" "$prefix/include/qlaunch-1/qlaunch/ql-plugin.h" \
           "$prefix/include/qlaunch-1/qlaunch/ql-version.h" "$prefix/include/qlaunch-1/qlaunch/ql-enum-types.h" \
           "$prefix/share/man/man1/qlaunch.1" "$prefix/share/man/man5/qlaunch.vm.5" \
           "$prefix/share/bash-completion/completions/qlaunch"; do
    [ -e "$f" ] || { echo "missing: $f"; return 1; }
  done
  # Real files: no test program, fixture or example plugin is installed.
  if find "$prefix" -path '*installed-tests*' | grep -q .; then
    echo "installed tests installed without -Dinstalled_tests"; return 1
  fi
}
check "layout: tool, library, headers, man pages, completion" layout

soname ()
{
  local so
  so=$(objdump -p "$libdir/libqlaunch-1.so" | awk '$1 == "SONAME" { print $2 }')
  echo "SONAME $so"
  [ "$so" = libqlaunch-1.so.0 ] && [ -L "$libdir/libqlaunch-1.so" ] \
    && ls "$libdir"/libqlaunch-1.so.0.*.* >/dev/null
}
if command -v objdump >/dev/null; then
  check "libqlaunch-1.so: soname libqlaunch-1.so.0, versioned file" soname
else
  skip "objdump is not installed"
fi

pluginsdir=$(pkg-config --variable=pluginsdir qlaunch-1)
pcfile ()
{
  echo "pluginsdir=$pluginsdir"
  [ "$pluginsdir" = "$libdir/qlaunch-1/plugins" ] || return 1
  [ "$(pkg-config --variable=prefix qlaunch-1)" = "$prefix" ] || return 1
  pkg-config --cflags qlaunch-1 | grep -q -- "-I$prefix/include/qlaunch-1" || return 1
  pkg-config --libs qlaunch-1 | grep -q -- "-lqlaunch-1" || return 1
  # The stock plugins, each exporting only its entry point.
  local family
  for family in net block fs char vhost-user vfio bridge vsock memory virtio-fs rng balloon confidential tpm iommu watchdog vmgenid; do
    [ -f "$pluginsdir/libqlaunch-$family.so" ] || { echo "missing plugin $family"; return 1; }
  done
}
check "qlaunch-1.pc: prefix, cflags, libs, pluginsdir = \$libdir/qlaunch-1/plugins with the plugins" pcfile

# --- 2. the example plugin, against the installed qlaunch-1.pc only --------
example=$tmp/example
example_src=$tmp/example-src
t0=$EPOCHREALTIME
build_example ()
{
  # The copy installed beside the API reference, not the source tree's.
  cp -r "$prefix/share/doc/qlaunch-1/examples/plugin" "$example_src" || return 1
  "$meson" setup -Dwerror=true "$example" "$example_src" || return 1
  # Nothing from the source tree: headers and library come from the prefix.
  if grep -F -e "$top/include" -e "$top/core" -e "$build" "$example/compile_commands.json"; then
    echo "the example plugin was built against the source or build tree"; return 1
  fi
  grep -F -q -- "-I$prefix/include/qlaunch-1" "$example/compile_commands.json" || return 1
  "$meson" install -C "$example" || return 1
  [ -f "$pluginsdir/libqlaunch-example-rng.so" ] || { echo "not installed into $pluginsdir"; return 1; }
}
check "the example plugin installed in \$datadir/doc/qlaunch-1/examples/plugin builds (-Dwerror=true) alone against the installed qlaunch-1.pc and installs into its pluginsdir" build_example
printf '# example plugin: %s\n' "$(elapsed "$t0")"

exports ()
{
  local symbols
  symbols=$(nm -D --defined-only "$pluginsdir/libqlaunch-example-rng.so" | awk '$2 == "T" { print $3 }')
  echo "exports: $symbols"
  [ "$symbols" = ql_plugin_example_rng_get_desc ]
}
if command -v nm >/dev/null; then
  check "libqlaunch-example-rng.so exports only ql_plugin_example_rng_get_desc" exports
else
  skip "nm is not installed"
fi

# --- 3. the installed qlaunch with the installed plugin ------------------
ql () { LD_LIBRARY_PATH=$libdir "$qlaunch" "$@"; }

installed_lib ()
{
  LD_LIBRARY_PATH=$libdir ldd "$qlaunch" | grep -F "$libdir/libqlaunch-1.so.0"
}
check "the installed qlaunch uses the installed libqlaunch-1.so.0" installed_lib

inspect_all ()
{
  local out
  out=$(ql inspect 2>&1) || { echo "$out"; return 1; }
  echo "$out"
  grep -q -E '^  example-rng +\(plugin example-rng\)$' <<<"$out" || return 1
  grep -q -F "file: $pluginsdir/libqlaunch-example-rng.so" <<<"$out" || return 1
  # The stock rng plugin is still the one of family rng.
  grep -q -E '^  rng +\(plugin rng\)$' <<<"$out" || return 1
  grep -q -F "file: $pluginsdir/libqlaunch-rng.so" <<<"$out" || return 1
  grep -q -E '^  net +\(plugin net\)$' <<<"$out" || return 1
  # Every installed plugin file loaded.
  grep -q "^$(find "$pluginsdir" -name 'libqlaunch-*.so' | wc -l) plugins, " <<<"$out" || return 1
  ! grep -q 'warning' <<<"$out"
}
check "installed qlaunch inspect: the stock plugins (rng included) and example-rng, from the installed plugin directory" inspect_all

inspect_rng ()
{
  local out prop
  out=$(ql inspect example-rng 2>&1) || { echo "$out"; return 1; }
  echo "$out"
  grep -q '^Device type example-rng (GType ExampleRng, plugin example-rng)$' <<<"$out" || return 1
  for prop in id bus addr max-bytes period; do
    grep -q "^  $prop\$" <<<"$out" || { echo "no property $prop"; return 1; }
  done
  grep -q 'type: size' <<<"$out"
}
check "installed qlaunch inspect example-rng: id, bus, addr, max-bytes, period" inspect_rng

cat >"$tmp/rng.vm" <<'EOF'
[vm]
name = rng-test

[machine]
type = q35
acceleration = tcg

[memory]
size = 128M

[knobs]
no-user-config = true
no-defaults = true
stopped = true

[device r]
type = example-rng
bus = pcie.0
addr = 5
max-bytes = 1K
period = 500
EOF
rng_args='-device virtio-rng-pci,id=r,bus=pcie.0,addr=5,max-bytes=1024,period=500'

args_rng ()
{
  local out
  out=$(ql args --format lines "$tmp/rng.vm" 2>&1) || { echo "$out"; return 1; }
  echo "$out"
  grep -q -x -F -- "virtio-rng-pci,id=r,bus=pcie.0,addr=5,max-bytes=1024,period=500" <<<"$out" || return 1
  out=$(ql args "$tmp/rng.vm") || return 1
  echo "$out"
  grep -q -F -- "$rng_args" <<<"$out" || return 1
  # A -d spec of the new type; its ',' in a value cannot inject an option.
  out=$(ql args --format lines -d 'example-rng,id=r2,period=7,bus=b,,max-bytes=1' "$tmp/rng.vm") || return 1
  grep -q -x -F -- "virtio-rng-pci,id=r2,bus=b,,max-bytes=1,period=7" <<<"$out"
}
check "installed qlaunch args: [device r] type=example-rng gives $rng_args" args_rng

check_errors ()
{
  local out status
  sed -e 's/^period = 500/period = -1/' -e 's/^addr = 5/addr = 0x5/' "$tmp/rng.vm" >"$tmp/bad.vm"
  out=$(ql check "$tmp/bad.vm" 2>&1)
  status=$?
  echo "$out (status $status)"
  [ "$status" -eq 1 ] || return 1
  grep -q "device 'r': property 'period'" <<<"$out" || return 1
  grep -q "device 'r': property 'addr'" <<<"$out" || return 1
  ql check "$tmp/rng.vm"
}
check "installed qlaunch check: every error of an example-rng device names it and the property" check_errors

# The README's `qlaunch check bad-rng.vm` example, run on the installed
# bad-rng.vm: the output is the README's, line for line.
readme_bad_rng ()
{
  local want got
  want=$(sed -n '/^\$ qlaunch check bad-rng.vm$/,/^```$/p' "$top/README.md" | sed '1d;$d')
  [ -n "$want" ] || { echo "no 'qlaunch check bad-rng.vm' example in README.md"; return 1; }
  got=$(cd "$example_src" && ql check bad-rng.vm 2>&1)
  [ "$got" = "$want" ] || { printf 'README says:\n%s\nqlaunch says:\n%s\n' "$want" "$got"; return 1; }
}
check "README's 'qlaunch check bad-rng.vm' example: the installed bad-rng.vm gives exactly that output" readme_bad_rng

plugin_dir ()
{
  local out
  out=$(QLAUNCH_PLUGIN_SYSTEM_PATH='' ql --plugin-dir "$example" inspect 2>&1) || { echo "$out"; return 1; }
  echo "$out"
  grep -q '^1 plugins, 1 device types' <<<"$out" || return 1
  grep -q -F "file: $example/libqlaunch-example-rng.so" <<<"$out"
}
check "installed qlaunch --plugin-dir EXAMPLE_BUILDDIR (no system plugins): example-rng only" plugin_dir

qemu_accepts ()
{
  local argv sock=$tmp/qmp.sock pid value status=0
  mapfile -t argv < <(ql args --format lines "$tmp/rng.vm")
  "${argv[@]}" -display none -qmp "unix:$sock,server=on,wait=off" </dev/null >"$tmp/qemu.log" 2>&1 &
  pid=$!
  value=$(ql qmp --timeout 10000 "$sock" qom-get '{"path": "/machine/peripheral/r", "property": "max-bytes"}' 2>&1) || status=1
  echo "max-bytes over QMP: $value"
  [ "$value" = 1024 ] || status=1
  value=$(ql qmp "$sock" qom-get '{"path": "/machine/peripheral/r", "property": "period"}' 2>&1) || status=1
  echo "period over QMP: $value"
  [ "$value" = 500 ] || status=1
  ql qmp "$sock" quit >/dev/null 2>&1 || kill "$pid" 2>/dev/null
  wait "$pid" || true
  cat "$tmp/qemu.log"
  return "$status"
}
if command -v qemu-system-x86_64 >/dev/null; then
  check "QEMU starts on the argv and has the example-rng device (max-bytes, period over QMP)" qemu_accepts
else
  skip "qemu-system-x86_64 is not installed"
fi

# --- 4. man pages --------------------------------------------------------
man1=$prefix/share/man/man1/qlaunch.1
man5=$prefix/share/man/man5/qlaunch.vm.5

man_render ()
{
  local page out
  local version
  version=$(ql --version | awk '{ print $2 }')
  for page in "$man1" "$man5"; do
    out=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
    [ -z "$out" ] || { echo "$page: $out"; return 1; }
    # The version in the page's title line is the project's.
    grep -q "^\.TH .* \"qlaunch $version\" " "$page" || { echo "$page: .TH does not say qlaunch $version"; return 1; }
  done
  out=$(groff -man -Tascii -P-cbu "$man1" | tr -s ' \n' ' ')
  grep -q -F 'NAME qlaunch - build, check and run QEMU virtual machines' <<<"$out" || return 1
  out=$(groff -man -Tascii -P-cbu "$man5" | tr -s ' \n' ' ')
  grep -q -F 'NAME qlaunch.vm - VM file format of qlaunch' <<<"$out"
}
if command -v groff >/dev/null; then
  check "man pages qlaunch(1), qlaunch.vm(5) render without warnings (groff -man -ww); their title line has the project version" man_render
else
  skip "groff is not installed"
fi

# The API reference (built when gi-docgen is there): a plugin author finds
# the contract of the vfuncs on their pages.
api_reference ()
{
  local dir=$prefix/share/doc/qlaunch-1 page
  [ -f "$dir/index.html" ] || { echo "no $dir/index.html"; return 1; }
  for page in vfunc.Device.valid vfunc.Device.qemu_params vfunc.Device.hotplug_params; do
    [ -f "$dir/$page.html" ] || { echo "no $page.html"; return 1; }
    ! grep -q 'No description available' "$dir/$page.html" || { echo "$page.html: no description"; return 1; }
  done
  grep -q 'QL_PLUGIN_DEFINE' "$dir/plugin-guide.html" || { echo "no plugin guide in $dir"; return 1; }
  tr -s ' \n' ' ' <"$dir/vfunc.Device.valid.html" | grep -q 'is a plugin bug' \
    || { echo "vfunc.Device.valid.html lacks the contract"; return 1; }
  tr -s ' \n' ' ' <"$dir/vfunc.Device.qemu_params.html" | grep -q 'never dropped' \
    || { echo "vfunc.Device.qemu_params.html lacks the contract"; return 1; }
}
if command -v gi-docgen >/dev/null; then
  check "API reference installed in \$datadir/doc/qlaunch-1, with the plugin guide and the contract of valid, qemu_params and hotplug_params on their vfunc pages" api_reference
else
  skip "gi-docgen is not installed: no API reference"
fi

# The options of a command, from its --help (GOptionContext's listing).
help_options ()
{
  ql "$@" --help 2>/dev/null | sed -n 's/^  \(-[a-z]\), \(--[a-z-]*\).*/\1 \2/p; s/^  \(--[a-z-]*\).*/\1/p' | tr ' ' '\n' | sed 's/=.*//' | grep -v -x -e --help -e --help-all -e -h
}
commands=(args check run caps inspect qmp hotplug unplug "template create" "template clone")

man_options ()
{
  local cmd opt status=0 escaped
  for cmd in "${commands[@]}"; do
    # shellcheck disable=SC2086  # "template create" is two words
    for opt in $(help_options $cmd); do
      escaped=${opt//-/\\-}
      grep -q -F -- "$escaped" "$man1" || { echo "qlaunch.1 lacks $cmd $opt"; status=1; }
    done
  done
  for opt in --plugin-dir --version --help QLAUNCH_PLUGIN_PATH QLAUNCH_PLUGIN_SYSTEM_PATH; do
    grep -q -F -- "${opt//-/\\-}" "$man1" || { echo "qlaunch.1 lacks $opt"; status=1; }
  done
  for cmd in args check run caps inspect qmp hotplug unplug "template create" "template clone"; do
    grep -q -F ".SS \"$cmd" "$man1" || grep -q -F ".SS $cmd" "$man1" || { echo "qlaunch.1 lacks a section for $cmd"; status=1; }
  done
  return "$status"
}
check "qlaunch(1) documents every command and every option of its --help" man_options

# Every key of every fixed group, as the loader lists them for an unknown key.
vm_keys ()
{
  local group keys key status=0 out
  for group in vm machine smp memory kernel knobs rtc incoming; do
    printf '[%s]\nqqqqqqqqqqqqqqqq = 1\n' "$group" >"$tmp/keys.vm"
    out=$(ql check --no-host-checks "$tmp/keys.vm" 2>&1)
    keys=$(sed -n "s/.*\[$group\] has: //p" <<<"$out" | tr -d ',')
    [ -n "$keys" ] || { echo "no key list for [$group]: $out"; status=1; continue; }
    grep -q -F ".SS [$group]" "$man5" || { echo "qlaunch.vm.5 lacks [$group]"; status=1; }
    # The keys of a group are the .B/.TP entries after its heading.
    out=$(sed -n "/^\.SS \[$group\]/,/^\.S[SH] /p" "$man5")
    for key in $keys; do
      grep -q -x -F ".B ${key//-/\\-}" <<<"$out" || { echo "qlaunch.vm.5 lacks [$group] $key"; status=1; }
    done
  done
  for group in 'qmp NAME' 'iothread ID' 'device LABEL'; do
    grep -q -F ".SS [$group]" "$man5" || { echo "qlaunch.vm.5 lacks [$group]"; status=1; }
  done
  return "$status"
}
check "qlaunch.vm(5) documents every key of every VM file group" vm_keys

# --- 5. bash completion --------------------------------------------------
completion=$prefix/share/bash-completion/completions/qlaunch

# complete LINE: the completions bash would offer at the end of LINE, one a
# line, with the installed qlaunch first in PATH. COMP_WORDS are split as
# bash splits them (at blanks and at '=' and ':').
complete_line ()
{
  PATH="$prefix/bin:$PATH" LD_LIBRARY_PATH=$libdir bash --norc --noprofile -c '
    source "$1" || exit 1
    COMP_LINE=$2
    COMP_POINT=${#COMP_LINE}
    words=${COMP_LINE//=/ = }
    read -r -a COMP_WORDS <<<"${words//:/ : }"
    case $COMP_LINE in *" ") COMP_WORDS+=("") ;; esac
    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    _qlaunch qlaunch "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}"' bash "$completion" "$1"
}

has_all () # has_all "WORDS" EXPECTED... : every EXPECTED is a line of WORDS
{
  local words=$1 w
  shift
  for w in "$@"; do
    grep -q -x -F -- "$w" <<<"$words" || { echo "missing '$w' in: $(tr '\n' ' ' <<<"$words")"; return 1; }
  done
}

completion_inspect ()
{
  local out
  out=$(complete_line "qlaunch inspect ")
  echo "qlaunch inspect <TAB>: $(tr '\n' ' ' <<<"$out")"
  has_all "$out" net block fs char serial vsock rng example-rng || return 1
  # Exactly the types `qlaunch inspect` lists.
  [ "$(sort <<<"$out")" = "$(ql inspect | sed -n '/^Device types:/,/^$/s/^  \([^ ]*\) .*/\1/p' | sort)" ] || return 1
  out=$(complete_line "qlaunch inspect v")
  has_all "$out" vfio vhost-user vsock
}
check "bash completion: qlaunch inspect <TAB> completes the device types found (net, block, ..., rng, example-rng)" completion_inspect

completion_plugin_dir ()
{
  local out
  out=$(QLAUNCH_PLUGIN_SYSTEM_PATH='' complete_line "qlaunch --plugin-dir $example inspect ")
  echo "--plugin-dir: $out"
  [ "$out" = example-rng ] || return 1
  out=$(QLAUNCH_PLUGIN_SYSTEM_PATH='' complete_line "qlaunch --plugin-dir=$example args -d ")
  echo "-d: $out"
  [ "$out" = example-rng ] || return 1
  out=$(complete_line "qlaunch run -d vs")
  echo "-d vs: $out"
  [ "$out" = vsock ] || return 1
  # A complete type gets its ',', for the properties.
  out=$(complete_line "qlaunch check --device=example-rng")
  echo "--device=example-rng: $out"
  [ "$out" = example-rng, ] || return 1
  out=$(complete_line "qlaunch args --no-host-checks -d example-rng,m")
  echo "-d example-rng,m: $out"
  [ "$out" = example-rng,max-bytes= ] || return 1
  out=$(complete_line "qlaunch args -d example-rng,period=5,b")
  echo "-d example-rng,period=5,b: $out"
  # readline replaces only the part after the last '='.
  [ "$out" = 5,bus= ]
}
check "bash completion: --plugin-dir earlier on the line, -d TYPE and its properties" completion_plugin_dir

completion_commands ()
{
  local out cmd opt status=0
  out=$(complete_line "qlaunch ")
  has_all "$out" args check run caps inspect qmp hotplug unplug template || status=1
  out=$(complete_line "qlaunch template ")
  has_all "$out" create clone || status=1
  out=$(complete_line "qlaunch args --format ")
  has_all "$out" shell lines json || status=1
  out=$(complete_line "qlaunch args --format=j")
  [ "$out" = json ] || { echo "--format=j: $out"; status=1; }
  out=$(complete_line "qlaunch --")
  has_all "$out" --plugin-dir --version --help || status=1
  for cmd in "${commands[@]}"; do
    out=$(complete_line "qlaunch $cmd --")
    # shellcheck disable=SC2086
    for opt in $(help_options $cmd); do
      [[ $opt == --* ]] || continue
      grep -q -x -F -- "$opt" <<<"$out" || { echo "qlaunch $cmd --<TAB> lacks $opt"; status=1; }
    done
  done
  # VMFILE: file names.
  out=$(cd "$tmp" && complete_line "qlaunch check rn")
  [ "$out" = rng.vm ] || { echo "check rn<TAB>: $out"; status=1; }
  return "$status"
}
check "bash completion: commands, every option of every command, --format values, VM files" completion_commands

printf '1..%d\n' "$n"
exit "$failed"
