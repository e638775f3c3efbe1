#!/usr/bin/env bash
# Installs the Debian packages the build and the end-to-end tests use, when missing: npm (the
# pinned Deno comes from the npm registry), PostgreSQL and Redis (started on loopback by the
# tests), openssl (test certificates), iproute2 and util-linux (network and mount namespaces,
# flock), findutils (/usr/bin/find: the cache check's walk), python3 with pip (the Python
# stand-in image and the test wheels are made from it), git (the git server's tests), systemd
# (systemd-analyze scores the deployment units), chromium (drives the OAuth consent page),
# python3-venv (the Kubernetes schema validator's venv) and docker-compose (the compose deployment
# is started for real).
# Idempotent; needs root (or sudo) only when something is missing.
set -euo pipefail
need=()
command -v npm >/dev/null || need+=(npm)
[ -x /usr/bin/find ] || need+=(findutils)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null || [ -x /usr/bin/redis-server ] || need+=(redis-server)
command -v openssl >/dev/null || need+=(openssl)
command -v ip >/dev/null || [ -x /usr/sbin/ip ] || need+=(iproute2)
{ command -v unshare >/dev/null && command -v flock >/dev/null; } || need+=(util-linux)
command -v python3 >/dev/null || need+=(python3)
{ command -v pip >/dev/null && python3 -m pip --version >/dev/null 2>&1; } || need+=(python3-pip)
command -v git >/dev/null || need+=(git)
[ -x /usr/bin/systemd-analyze ] || need+=(systemd)
command -v chromium >/dev/null || need+=(chromium)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
command -v docker-compose >/dev/null || need+=(docker-compose)
[ ${#need[@]} -eq 0 ] && exit 0
echo "system_setup: installing ${need[*]}" >&2
sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo)
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "${need[@]}" >&2
