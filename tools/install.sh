#!/usr/bin/env bash
# Installs mcp-run for services and other users: PREFIX/lib/mcp-run holds this checkout's source,
# the pinned Deno binary and a Deno cache filled with mcp-run's dependencies as deno.lock pins
# them; PREFIX/bin/mcp-run runs it from there with --cached-only. The installed program never
# writes into its own folder nor reaches a registry to start, so it runs under systemd's
# ProtectSystem=strict and DynamicUser= (what `mcp-run deploy --target systemd` writes).
#
#   sudo tools/install.sh [--seed-cache DIR] [PREFIX]     # PREFIX defaults to /usr/local
#
# Filling the cache fetches from the package registries, once. --seed-cache DIR starts from a Deno
# cache filled beforehand (DENO_DIR of `deno cache --frozen runtime/**/*.ts`): offline when it
# holds everything. Installing again replaces the previous install whole.
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
seed=""
if [ "${1:-}" = "--seed-cache" ]; then
  [ $# -ge 2 ] || { echo "tools/install.sh: --seed-cache needs a folder" >&2; exit 2; }
  seed=$2
  shift 2
fi
[ $# -le 1 ] || { echo "usage: tools/install.sh [--seed-cache DIR] [PREFIX]" >&2; exit 2; }
prefix=${1:-/usr/local}
case "$prefix" in
  /*) ;;
  *) prefix=$(pwd)/$prefix ;;
esac
lib=$prefix/lib/mcp-run
deno=$("$here/tools/deno" --installed-path)
mkdir -p "$prefix/lib" "$prefix/bin"
stage=$(mktemp -d "$prefix/lib/.mcp-run.XXXXXX")
trap 'rm -rf "$stage"' EXIT
# The source: everything but what a checkout holds besides it.
tar -C "$here" --exclude=./.git --exclude=./.cache --exclude=./.tools --exclude=./node_modules \
  --exclude=./.deno-dir -cf - . | tar -C "$stage" -xf -
mkdir -p "$stage/bin"
cp -L "$deno" "$stage/bin/deno"
if [ -n "$seed" ]; then cp -a "$seed" "$stage/.deno-dir"; fi
# Every module: the CLI loads most of them on use, out of reach of a static walk.
mapfile -d '' modules < <(find "$stage/runtime" -name '*.ts' ! -name '*_test.ts' -print0 | sort -z)
(cd "$stage" && env -u DENO_DIR -u JSR_URL -u NPM_CONFIG_REGISTRY -u npm_config_registry \
  DENO_DIR="$stage/.deno-dir" "$stage/bin/deno" cache --quiet --frozen "${modules[@]}") || {
  echo "tools/install.sh: cannot cache mcp-run's dependencies (see above): the registries must be" \
    "reachable, or give --seed-cache with a filled Deno cache" >&2
  exit 1
}
# Readable by every user, writable by none but root.
chmod -R u+rwX,go+rX,go-w "$stage"
chmod 755 "$stage"
cat >"$stage/bin/mcp-run" <<LAUNCHER
#!/bin/sh
# mcp-run from $lib, with its own cache and none of the caller's Deno settings.
unset DENO_AUTH_TOKENS DENO_V8_FLAGS DENO_NO_PACKAGE_JSON DENO_FUTURE DENO_JOBS JSR_URL \\
  NPM_CONFIG_REGISTRY npm_config_registry
DENO_DIR='$lib/.deno-dir' exec '$lib/bin/deno' run -A --quiet --frozen --cached-only \\
  '$lib/runtime/cli.ts' "\$@"
LAUNCHER
chmod 755 "$stage/bin/mcp-run"
rm -rf "$lib"
mv "$stage" "$lib"
trap - EXIT
ln -sfn "$lib/bin/mcp-run" "$prefix/bin/mcp-run"
echo "installed $prefix/bin/mcp-run (from $lib)"
