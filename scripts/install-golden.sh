#!/bin/sh
# install-golden.sh: install the git-credential-vers single executable in a golden image and wire
# git for every user (git-credential-vers install --system). See --help.
set -eu

me=install-golden
usage() {
  cat <<'EOF'
Usage: install-golden.sh [--uninstall] [--binary PATH] [--host H]... [--per-repo] [--profile P]

Installs the git-credential-vers single executable as PREFIX/bin/git-credential-vers (with
git-credential-vers-fast when it lies beside the binary), then runs
`git-credential-vers install --system` with the --host/--per-repo/--profile flags given, and finally
`git-credential-vers cache clear`, so that no token minted while building the image (a test clone)
stays in a cache or a fast-path daemon.

  --binary PATH  the executable to install. Default: git-credential-vers-*-linux-<arch> beside this
                 script or in ../release/ (npm run release), else ../dist/git-credential-vers
                 (npm run build:binary). When a SHA256SUMS file lies beside it, the binary must match
                 its line there.
  --uninstall    run `git-credential-vers uninstall --system` (give the same --host flags), stop the
                 fast path's daemons and clear the cache, then remove the installed files.
  --help         print this and do nothing else.

Environment:
  PREFIX   where to install (default /usr/local): PREFIX/bin is created if missing.
  DESTDIR  stage the files under DESTDIR (a package or image root) instead: git's config is not
           touched; run `git-credential-vers install --system` on the machine itself.

Needs root unless DESTDIR is set. The binary must not be stripped (strip removes the program
embedded in it).
EOF
}

# Our own flags are taken out; the rest are git-credential-vers install's (kept in "$@").
uninstall=0
binary=""
n=$#
while [ "$n" -gt 0 ]; do
  arg=$1
  shift
  n=$((n - 1))
  case $arg in
    -h | --help) usage; exit 0 ;;
    --uninstall) uninstall=1 ;;
    --binary=*) binary=${arg#--binary=} ;;
    --binary)
      if [ "$n" = 0 ]; then echo "$me: --binary needs a path" >&2; exit 2; fi
      binary=$1
      shift
      n=$((n - 1))
      ;;
    *) set -- "$@" "$arg" ;;
  esac
done

prefix=${PREFIX:-/usr/local}
destdir=${DESTDIR:-}
bindir="$destdir$prefix/bin"
target="$bindir/git-credential-vers"

if [ -z "$destdir" ] && [ "$(id -u)" != 0 ]; then
  echo "$me: root is needed to write $prefix/bin and the system git config (run it with sudo, or set DESTDIR to stage the files)" >&2
  exit 1
fi

# No token minted while this runs (or by a test clone before it) stays in this user's cache or daemons.
clear_cache() {
  if [ -z "$destdir" ] && [ -x "$target" ]; then "$target" cache clear >/dev/null 2>&1 || true; fi
}

if [ "$uninstall" = 1 ]; then
  if [ -z "$destdir" ] && [ -x "$target" ]; then
    "$target" uninstall --system "$@"
    clear_cache
  fi
  rm -f "$target" "$bindir/git-credential-vers-fast"
  echo "$me: removed $target"
  exit 0
fi

here=$(cd "$(dirname "$0")" && pwd)
case $(uname -m) in
  x86_64 | amd64) arch=x64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) arch=$(uname -m) ;;
esac
if [ -z "$binary" ]; then
  for candidate in "$here"/git-credential-vers-*-linux-"$arch" "$here"/../release/git-credential-vers-*-linux-"$arch" "$here/../dist/git-credential-vers"; do
    if [ -f "$candidate" ]; then binary=$candidate; break; fi
  done
fi
if [ -z "$binary" ] || [ ! -f "$binary" ]; then
  echo "$me: no git-credential-vers binary for linux-$arch found (give --binary PATH, or run npm run release)" >&2
  exit 1
fi
binary_dir=$(cd "$(dirname "$binary")" && pwd)
binary_name=$(basename "$binary")

if [ -f "$binary_dir/SHA256SUMS" ]; then
  line=$(grep -E "^[0-9a-f]{64} [ *]$binary_name\$" "$binary_dir/SHA256SUMS" || true)
  if [ -z "$line" ]; then
    echo "$me: $binary_dir/SHA256SUMS has no line for $binary_name (refusing to install an unlisted binary)" >&2
    exit 1
  fi
  if ! (cd "$binary_dir" && printf '%s\n' "$line" | sha256sum -c --status -); then
    echo "$me: $binary does not match its SHA256SUMS line (download it again)" >&2
    exit 1
  fi
fi

mkdir -p "$bindir"
install -m 0755 "$binary" "$target"
fast="$binary_dir/git-credential-vers-fast"
[ -f "$fast" ] || fast="$here/../bin/git-credential-vers-fast"
if [ -f "$fast" ]; then install -m 0755 "$fast" "$bindir/git-credential-vers-fast"; fi

if [ -n "$destdir" ]; then
  echo "$me: staged $target; on the machine, run: $prefix/bin/git-credential-vers install --system $*"
  exit 0
fi
trap clear_cache EXIT
"$target" install --system "$@"
"$target" --version
