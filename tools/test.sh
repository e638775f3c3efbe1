#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs the pinned Deno (and, when the docker
# tests are present, Docker and the local stand-in image), then runs format, lint, type and
# publish checks and every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
deno=tools/deno
"$deno" --version | head -n1
if [ -x tools/docker_setup.sh ]; then tools/docker_setup.sh; fi
"$deno" fmt --check
"$deno" lint
"$deno" task check
"$deno" publish --dry-run --allow-dirty >/dev/null
"$deno" task test "$@"
