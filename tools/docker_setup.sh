#!/usr/bin/env bash
# Prepares a machine for the docker tests: installs the Docker engine (Debian's docker.io) when
# dockerd is missing, starts dockerd when no engine answers, and builds the local stand-in for
# the denoland/deno image from the pinned Deno binary (no image can be pulled here).
#
# Idempotent: every step is skipped when its result is already there. Safe to run concurrently
# (a lock serialises runs). Prints the stand-in image tag on stdout as its last line.
#
# Environment:
#   MCP_RUN_TOOLS        where tools/deno installs Deno (default: <repo>/.tools)
#   MCP_RUN_TEST_IMAGE   tag of the stand-in image (default: mcp-run-test/deno:<deno version>)
#   MCP_RUN_DOCKERD_LOG  dockerd log file (default: /var/log/mcp-run-dockerd.log)
#   MCP_RUN_DOCKERD_WAIT seconds to wait for dockerd to answer (default: 60)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=$(cat "$here/deno-version")
image=${MCP_RUN_TEST_IMAGE:-"mcp-run-test/deno:$version"}
dockerd_log=${MCP_RUN_DOCKERD_LOG:-/var/log/mcp-run-dockerd.log}
dockerd_wait=${MCP_RUN_DOCKERD_WAIT:-60}

log() { echo "docker_setup: $*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# One run at a time: another engineer or a parallel CI step may run this script too.
exec 9>"${TMPDIR:-/tmp}/mcp-run-docker-setup.lock"
flock -w 600 9 || die "Cannot take the lock ${TMPDIR:-/tmp}/mcp-run-docker-setup.lock within 600 s"

run_as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "Cannot run \"$*\": this step needs root (run as root or install sudo)"
  fi
}

# 1. The engine.
if ! command -v dockerd >/dev/null; then
  log "dockerd not found: installing Debian's docker.io"
  run_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  run_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    docker.io ca-certificates >&2
  command -v dockerd >/dev/null || die "docker.io was installed but dockerd is still not on PATH"
fi
command -v docker >/dev/null || die "The docker client is not on PATH after installing docker.io"

# 2. The daemon.
if ! docker info >/dev/null 2>&1; then
  log "no Docker engine answers: starting dockerd (log: $dockerd_log)"
  mkdir -p "$(dirname "$dockerd_log")"
  sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "Cannot start dockerd: it needs root (run as root or start it)"
    sudo=(sudo)
  fi
  # setsid + nohup: dockerd must outlive this script and the shell that ran it; 9>&- so it
  # does not inherit (and hold forever) the lock.
  (exec "${sudo[@]}" setsid nohup dockerd >>"$dockerd_log" 2>&1 </dev/null 9>&-) &
  deadline=$((SECONDS + dockerd_wait))
  until docker info >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$dockerd_log" >&2 || true
      die "dockerd did not answer within ${dockerd_wait} s; see $dockerd_log"
    fi
    sleep 0.5
  done
  log "dockerd is ready"
fi

# 3. The stand-in image for denoland/deno.
existing=$(docker image inspect --format '{{ index .Config.Labels "mcp-run.deno-version" }}' \
  "$image" 2>/dev/null || true)
if [ "$existing" = "$version" ]; then
  log "image $image already holds deno $version"
  echo "$image"
  exit 0
fi

# tools/deno installs the pinned version when it is missing or different.
"$here/deno" --version >/dev/null
deno_bin=$(readlink -f "${MCP_RUN_TOOLS:-"$here/../.tools"}/node_modules/deno/deno")
[ -x "$deno_bin" ] || die "The Deno binary is missing at $deno_bin"
got=$("$deno_bin" --version | head -n1 | cut -d' ' -f2)
[ "$got" = "$version" ] || die "Deno at $deno_bin is $got, expected $version"

log "building $image from $deno_bin"
root=$(mktemp -d "${TMPDIR:-/tmp}/mcp-run-rootfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{usr/bin,usr/local/bin,etc,tmp,deno-dir,bin,lib64}
chmod 1777 "$root/tmp"

# Copies a file (following symlinks) to the same path inside the rootfs, plus the shared
# libraries ldd lists for it.
copy_with_libs() {
  local src=$1 dst=${2:-$1}
  mkdir -p "$root$(dirname "$dst")"
  cp -L "$src" "$root$dst"
  local lib
  for lib in $(ldd "$src" 2>/dev/null | grep -o '/[^ ]*' || true); do
    [ -e "$root$lib" ] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

copy_with_libs "$deno_bin" /usr/bin/deno
# A shell for the entrypoint script, and tini as PID 1, as in the real image.
copy_with_libs "$(readlink -f /bin/sh)" /bin/sh
tini=$(command -v tini-static || command -v tini || true)
[ -n "$tini" ] || die "tini is missing (it comes with docker.io; apt-get install tini)"
copy_with_libs "$tini" /tini

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
deno:x:1993:1993::/home/deno:/bin/sh
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
deno:x:1993:
EOF
mkdir -p "$root/home/deno" "$root/root"
chown 1993:1993 "$root/home/deno" "$root/deno-dir"
if [ -d /etc/ssl/certs ]; then
  mkdir -p "$root/etc/ssl"
  cp -rL /etc/ssl/certs "$root/etc/ssl/certs"
fi

# Same behaviour as the real image's entry script: deno subcommands and flags go to deno.
cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
if [ "$1" != "${1#-}" ]; then
  set -- deno "$@"
fi
case "$1" in
  bench | bundle | cache | check | compile | completions | coverage | doc | eval | fmt | help | \
    info | init | install | jupyter | lint | lsp | publish | repl | run | serve | task | test | \
    types | uninstall | upgrade | vendor)
    set -- deno "$@"
    ;;
esac
exec "$@"
EOF
chmod 755 "$root/usr/local/bin/docker-entrypoint.sh"

tar -C "$root" --numeric-owner -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV DENO_DIR=/deno-dir/' \
  --change 'ENV DENO_INSTALL_ROOT=/usr/local' \
  --change "ENV DENO_VERSION=$version" \
  --change "LABEL mcp-run.deno-version=$version" \
  --change 'ENTRYPOINT ["/tini", "--", "docker-entrypoint.sh"]' \
  --change 'CMD ["eval", "console.log(Deno.version.deno)"]' \
  - "$image" >/dev/null

out=$(docker run --rm --network none "$image" eval 'console.log(1)')
[ "$out" = 1 ] || die "The image $image does not run deno: got \"$out\""
log "built $image"
echo "$image"
