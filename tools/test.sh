#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs the pinned Deno, the Debian packages the
# end-to-end tests use, Docker and the local stand-in image, then runs format, lint, type and
# publish checks and every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
deno=tools/deno
"$deno" --version | head -n1
tools/system_setup.sh
tools/docker_setup.sh
"$deno" fmt --check
"$deno" lint
"$deno" task check
"$deno" publish --dry-run --allow-dirty >/dev/null
"$deno" task test "$@"
