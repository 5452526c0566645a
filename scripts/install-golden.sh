#!/usr/bin/env sh
# For golden-image build scripts: install the single binary and wire git for every user.
# Replaces `cp credential-helper.sh /usr/local/bin/git-credential-vers`.
#   npm ci && npm run build:binary && sudo scripts/install-golden.sh [--host H]... [--per-repo] [--profile P]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
binary="$here/dist/git-credential-vers"
target="${PREFIX:-/usr/local}/bin/git-credential-vers"
if [ ! -x "$binary" ]; then
  echo "install-golden: $binary is missing (run npm run build:binary first)" >&2
  exit 1
fi
install -m 0755 "$binary" "$target"
"$target" install --system "$@"
"$target" --version
