#!/usr/bin/env bash
# Installs kubernetes-validate (a PyPI package that bundles the official Kubernetes JSON schemas,
# so manifests validate offline) at a pinned version into a virtual environment under
# .cache/test, and prints the path of its program on stdout as its last line. The deployment
# tests validate every generated Kubernetes manifest with it.
#
# Idempotent: a venv that already holds the pinned version is left as it is. Safe to run
# concurrently (a lock serialises runs).
#
# Environment:
#   PYTHON                     the CPython the venv is made from (default: python3)
#   MCP_RUN_KUBERNETES_VENV    where the venv lives (default: <repo>/.cache/test/kubernetes-validate)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=1.37.0
venv=${MCP_RUN_KUBERNETES_VENV:-"$(dirname "$here")/.cache/test/kubernetes-validate"}
python=${PYTHON:-python3}
mkdir -p "$(dirname "$venv")"
exec 9>"$(dirname "$venv")/.kubernetes-validate.lock"
flock -w 600 9 || {
  echo "kubernetes_validate_setup: cannot take the lock within 600 s" >&2
  exit 1
}
program="$venv/bin/kubernetes-validate"
if ! [ -x "$program" ] || [ "$(cat "$venv/.version" 2>/dev/null)" != "$version" ]; then
  echo "kubernetes_validate_setup: installing kubernetes-validate $version into $venv" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "kubernetes-validate==$version" >&2
  echo "$version" >"$venv/.version"
fi
echo "$program"
