# Sourced by the project's scripts (main-job.sh, run-tests.sh, .ci/run) right
# after they cd to the top of the source tree:
#
#   . scripts/trusted-tree.sh; ql_run_from_trusted_tree "$top" SCRIPT "$@"
#
# qlaunch loads plugins, and runs QEMU binaries and helpers, only from where no
# other user can change them: every directory from / down must be owned by
# root or by us and writable by neither group nor others (a sticky /tmp
# included). A build tree inside a source tree under /tmp would have every
# plugin refused. So when the source tree is in such a place, the script
# copies it (without build directories) to a directory only we can write,
# $QLAUNCH_TRUSTED_COPY_BASE (default: /var/lib/qlaunch-trusted-tree for root,
# which other users can traverse, as the tests that run the built qlaunch as
# nobody need; ~/.cache/qlaunch-trusted-tree for anyone else), says so, and
# runs itself again from the copy, with the same arguments.

# The first directory from $1 up to / that another user could change, if any.
ql_untrusted_ancestor ()
{
  local d=$1 uid mode me
  me=$(id -u)
  while :; do
    read -r uid mode < <(stat -L -c '%u %a' "$d")
    if { [ "$uid" != 0 ] && [ "$uid" != "$me" ]; } || [ $(( 8#$mode & 8#022 )) -ne 0 ]; then
      printf '%s (owner uid %s, mode %s)\n' "$d" "$uid" "$mode"
      return 0
    fi
    [ "$d" = / ] && return 1
    d=$(dirname "$d")
  done
}

ql_run_from_trusted_tree ()
{
  local top=$1 script=$2 bad base dest
  shift 2
  bad=$(ql_untrusted_ancestor "$top") || return 0
  if [ "$(id -u)" = 0 ]; then
    base=${QLAUNCH_TRUSTED_COPY_BASE:-/var/lib/qlaunch-trusted-tree}
  else
    base=${QLAUNCH_TRUSTED_COPY_BASE:-$HOME/.cache/qlaunch-trusted-tree}
  fi
  dest=$base/$(printf '%s' "$top" | sha256sum | cut -c1-16)
  mkdir -p "$base" && chmod 0755 "$base"
  if bad_base=$(ql_untrusted_ancestor "$base"); then
    printf '%s: the source tree is in %s, which another user can change, and so is %s: run from a directory of yours\n' \
      "$script" "$bad" "$bad_base" >&2
    exit 2
  fi
  printf '%s: the source tree %s is below %s, which another user can change: qlaunch would refuse its plugins there; building in a copy, %s\n' \
    "$script" "$top" "$bad" "$dest" >&2
  mkdir -p "$dest" && chmod 0755 "$dest"
  # The sources only: build directories are made anew in the copy (the test
  # guest's .deb cache is kept there between runs).
  tar -C "$top" --exclude='./build' --exclude='./build-*' -cf - . | tar -C "$dest" -xf -
  cd "$dest"
  exec bash "$dest/$script" "$@"
}
