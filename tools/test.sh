#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs the pinned Deno, the Debian packages the
# end-to-end tests use, Docker and the local stand-in image, then runs format, lint, type, API
# documentation and publish checks and every test.
#
# The run has a HOME of its own inside the checkout (.cache/test/home), and so its own Deno and npm
# caches: whatever the tests need is fetched or built by the run itself, never found in a cache
# warmed by earlier work. `tools/test.sh --fresh` (and CI) empties it first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ "${1:-}" = "--fresh" ]; then
  shift
  rm -rf .cache/test
fi
mkdir -p .cache/test/home
HOME=$(pwd)/.cache/test/home
export HOME
# Every cache and config location derives from HOME; nothing from the caller's environment.
# The pinned Deno is the checkout's own (.tools/), installed by the run when missing.
unset DENO_DIR XDG_CACHE_HOME XDG_CONFIG_HOME XDG_DATA_HOME XDG_STATE_HOME MCP_RUN_CACHE MCP_RUN_CONFIG \
  NPM_CONFIG_REGISTRY npm_config_registry JSR_URL MCP_RUN_TOOLS
deno=tools/deno
tools/system_setup.sh
"$deno" --version | head -n1
tools/docker_setup.sh
tools/kubernetes_validate_setup.sh >/dev/null
"$deno" fmt --check
"$deno" lint
"$deno" task check
"$deno" publish --dry-run --allow-dirty >/dev/null
"$deno" doc --lint mod.ts runtime/*/mod.ts runtime/cli.ts >/dev/null
status=0
"$deno" task test "$@" || status=$?
# The images tests pulled by digest from their loopback registries belong to no one afterwards.
docker image ls --digests --format '{{.Repository}}@{{.Digest}}' 2>/dev/null |
  grep -E '^127\.0\.0\.1:[0-9]+/' | grep -v '@<none>$' | xargs -r docker rmi >/dev/null 2>&1 || true
exit "$status"
