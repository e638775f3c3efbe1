#!/usr/bin/env bash
# Prepares a machine for the docker tests: installs the Docker engine (Debian's docker.io) when
# dockerd is missing, starts dockerd when no engine answers, and builds the local stand-in for
# the denoland/deno image from the pinned Deno binary and the one for the python image from the
# machine's CPython with pip (no image can be pulled here). Installs gVisor (Debian's runsc) when
# missing and registers it with the engine as the runtime "runsc" (merged into daemon.json, the
# engine reloaded), then checks that a container runs under it.
#
# Idempotent: every step is skipped when its result is already there. Safe to run concurrently
# (a lock serialises runs). Writes a user config file that points every image kind at the
# stand-ins and prints its path on stdout as its last line, so that
# `MCP_RUN_CONFIG=<that file> ./mcp-run …` runs here as the plain command does for a user.
#
# Environment:
#   MCP_RUN_TOOLS        where tools/deno installs Deno (default: <repo>/.tools)
#   MCP_RUN_TEST_IMAGE   tag of the Deno stand-in (default: mcp-run-test/deno:<deno version>)
#   MCP_RUN_TEST_PYTHON_IMAGE tag of the Python stand-in (default: mcp-run-test/python:<x.y>)
#   MCP_RUN_TEST_CONFIG  the user config file written (default: <repo>/.cache/stand-in-config.json)
#   PYTHON               the CPython the Python stand-in is made from (default: python3)
#   MCP_RUN_DOCKERD_LOG  dockerd log file (default: /var/log/mcp-run-dockerd.log)
#   MCP_RUN_DOCKERD_WAIT seconds to wait for dockerd to answer (default: 60)
#   MCP_RUN_DOCKER_DAEMON_JSON the engine's config file (default: /etc/docker/daemon.json)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=$(cat "$here/deno-version")
image=${MCP_RUN_TEST_IMAGE:-"mcp-run-test/deno:$version"}
dockerd_log=${MCP_RUN_DOCKERD_LOG:-/var/log/mcp-run-dockerd.log}
dockerd_wait=${MCP_RUN_DOCKERD_WAIT:-60}
daemon_json=${MCP_RUN_DOCKER_DAEMON_JSON:-/etc/docker/daemon.json}

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

# 2. gVisor: Debian's runsc, registered with the engine as the runtime "runsc". Its arguments:
# --network=none (with a container network this build refuses to start; network reaches a
# server through the egress proxy's socket), --host-uds=open (connect() to that bind-mounted
# Unix socket), --host-fifo=open (the audit FIFO's bind mount).
if ! command -v runsc >/dev/null && [ ! -x /usr/bin/runsc ]; then
  log "runsc not found: installing Debian's runsc (gVisor)"
  run_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  run_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    runsc >&2
fi
runsc_path=$(command -v runsc || echo /usr/bin/runsc)
[ -x "$runsc_path" ] || die "runsc was installed but is not at $runsc_path"
# Merges the runtime into the engine's config (other keys and runtimes kept); prints "changed"
# or "same", and writes the merged file to $1 when changed.
merge_daemon_json() {
  python3 - "$daemon_json" "$runsc_path" "$1" <<'PY'
import json, os, sys
path, runsc, out = sys.argv[1:4]
config = {}
if os.path.exists(path):
    with open(path) as f:
        text = f.read()
    try:
        config = json.loads(text) if text.strip() else {}
    except ValueError as e:
        sys.exit(f"{path} is not valid JSON ({e}): fix it, then run this script again")
    if not isinstance(config, dict):
        sys.exit(f"{path} does not hold a JSON object: fix it, then run this script again")
want = {"path": runsc, "runtimeArgs": ["--network=none", "--host-uds=open", "--host-fifo=open"]}
runtimes = config.get("runtimes") or {}
if runtimes.get("runsc") == want:
    print("same")
    sys.exit(0)
config["runtimes"] = {**runtimes, "runsc": want}
with open(out, "w") as f:
    json.dump(config, f, indent=2)
    f.write("\n")
print("changed")
PY
}
command -v python3 >/dev/null || die "python3 is missing: it merges the runsc runtime into $daemon_json"
merged=$(mktemp "${TMPDIR:-/tmp}/mcp-run-daemon-json.XXXXXX")
trap 'rm -f "$merged"' EXIT
daemon_changed=no
merge=$(merge_daemon_json "$merged") || die "Cannot register runsc in $daemon_json (see above)"
if [ "$merge" = changed ]; then
  log "registering runsc in $daemon_json (other settings kept)"
  run_as_root mkdir -p "$(dirname "$daemon_json")"
  if [ -e "$daemon_json" ]; then run_as_root cp "$daemon_json" "$daemon_json.bak"; fi
  run_as_root install -m 644 "$merged" "$daemon_json"
  daemon_changed=yes
else
  log "runsc is already registered in $daemon_json"
fi
rm -f "$merged"
trap - EXIT

# Whether the running engine lists the runsc runtime with the registered arguments.
engine_has_runsc() {
  docker info --format '{{json .Runtimes}}' 2>/dev/null | python3 -c '
import json, sys
runtime = (json.load(sys.stdin) or {}).get("runsc") or {}
args = runtime.get("runtimeArgs") or []
sys.exit(0 if all(a in args for a in ("--network=none", "--host-uds=open", "--host-fifo=open")) else 1)
' 2>/dev/null
}

# 3. The daemon.
if ! docker info >/dev/null 2>&1; then
  log "no Docker engine answers: starting dockerd (log: $dockerd_log)"
  mkdir -p "$(dirname "$dockerd_log")"
  sudo=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "Cannot start dockerd: it needs root (run as root or start it)"
    sudo=(sudo)
  fi
  # setsid + nohup: dockerd must outlive this script and the shell that ran it. Every
  # descriptor above 2 is closed first, so it does not inherit (and hold forever) a lock such
  # as test.sh's or that of a `flock FILE tools/docker_setup.sh`.
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec "${sudo[@]}" setsid nohup dockerd >>"$dockerd_log" 2>&1 </dev/null
  ) &
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
# A running engine reads its runtimes again on SIGHUP.
if ! engine_has_runsc; then
  pid=$(pidof dockerd || true)
  [ -n "$pid" ] || die "The engine does not list the runsc runtime and no local dockerd runs to reload: add the runtime of $daemon_json to its config and restart it"
  log "reloading dockerd ($pid) so that it lists runsc (daemon.json changed: $daemon_changed)"
  run_as_root kill -HUP $pid
  deadline=$((SECONDS + dockerd_wait))
  until engine_has_runsc; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$dockerd_log" >&2 || true
      die "dockerd does not list the runsc runtime ${dockerd_wait} s after SIGHUP; see $dockerd_log"
    fi
    sleep 0.5
  done
  log "the engine lists runsc"
else
  log "the engine lists runsc"
fi

# Every stand-in is a rootfs folder made here and imported; removed however the script ends.
roots=()
trap 'rm -rf "${roots[@]}"' EXIT

# Copies the shared libraries ldd lists for a file into the current rootfs.
copy_libs() {
  local lib
  for lib in $(ldd "$1" 2>/dev/null | grep -o '/[^ ]*' || true); do
    [ -e "$root$lib" ] && continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

# Copies a file (following symlinks) to a path inside the current rootfs (default: the same
# path), plus the shared libraries ldd lists for it.
copy_with_libs() {
  local src=$1 dst=${2:-$1}
  mkdir -p "$root$(dirname "$dst")"
  cp -L "$src" "$root$dst"
  copy_libs "$src"
}

# Starts a rootfs in $root: a shell, tini as PID 1 (as in the real images), the CA certificates.
new_rootfs() {
  root=$(mktemp -d "${TMPDIR:-/tmp}/mcp-run-rootfs.XXXXXX")
  roots+=("$root")
  mkdir -p "$root"/{usr/bin,usr/lib,usr/local/bin,etc,tmp,bin,lib64}
  chmod 1777 "$root/tmp"
  copy_with_libs "$(readlink -f /bin/sh)" /bin/sh
  local tini
  tini=$(command -v tini-static || command -v tini || true)
  [ -n "$tini" ] || die "tini is missing (it comes with docker.io; apt-get install tini)"
  copy_with_libs "$tini" /tini
  if [ -d /etc/ssl/certs ]; then
    mkdir -p "$root/etc/ssl"
    cp -rL /etc/ssl/certs "$root/etc/ssl/certs"
  fi
}

label_of() {
  docker image inspect --format "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true
}

# 4. The stand-in image for denoland/deno.
build_deno_image() {
  # tools/deno installs the pinned version when it is missing or different.
  "$here/deno" --version >/dev/null
  local deno_bin got out
  deno_bin=$(readlink -f "${MCP_RUN_TOOLS:-"$here/../.tools"}/node_modules/deno/deno")
  [ -x "$deno_bin" ] || die "The Deno binary is missing at $deno_bin"
  got=$("$deno_bin" --version | head -n1 | cut -d' ' -f2)
  [ "$got" = "$version" ] || die "Deno at $deno_bin is $got, expected $version"

  log "building $image from $deno_bin"
  new_rootfs
  mkdir -p "$root/deno-dir"
  copy_with_libs "$deno_bin" /usr/bin/deno

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
}
if [ "$(label_of "$image" mcp-run.deno-version)" = "$version" ]; then
  log "image $image already holds deno $version"
else
  build_deno_image
fi

# 5. The stand-in for the official python slim image: the machine's CPython at /usr/local, as
# in the real image, with its standard library and pip and none of its other packages.
python=${PYTHON:-python3}
command -v "$python" >/dev/null || die "No $python on PATH: the Python stand-in is made from it"
py_version=$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
py_minor=${py_version%.*}
python_image=${MCP_RUN_TEST_PYTHON_IMAGE:-"mcp-run-test/python:$py_minor"}
build_python_image() {
  local prefix exe stdlib pip_dir out so lib=/usr/local/lib/python$py_minor
  prefix=$("$python" -c 'import sys; print(sys.base_prefix)')
  # The interpreter itself, not a wrapper on PATH (pyenv's shims are shell scripts).
  exe=$("$python" -c 'import os, sys; print(os.path.realpath(sys.executable))')
  stdlib=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
  pip_dir=$("$python" -c 'import os, pip; print(os.path.dirname(pip.__file__))')
  log "building $python_image from $prefix"
  new_rootfs
  mkdir -p "$root$lib/site-packages"
  tar -C "$stdlib" --exclude=./site-packages --exclude=./test --exclude=./idlelib \
    --exclude=./tkinter --exclude=./turtledemo --exclude=__pycache__ -c . | tar -C "$root$lib" -x
  cp -r "$pip_dir" "$root$lib/site-packages/pip"
  cp -r "$(dirname "$pip_dir")"/pip-*.dist-info "$root$lib/site-packages/"
  copy_with_libs "$exe" "/usr/local/bin/python$py_minor"
  # libpython goes where the dynamic loader looks without an rpath.
  for so in "$prefix"/lib/libpython*.so*; do
    if [ -e "$so" ]; then cp -L "$so" "$root/usr/lib/"; fi
  done
  while read -r so; do copy_libs "$so"; done < <(find "$stdlib/lib-dynload" -name '*.so')
  # What the real image's Debian base has and compiled wheels load (pydantic-core, cryptography).
  for so in libgcc_s.so.1 libstdc++.so.6 librt.so.1 libpthread.so.0 libdl.so.2 libutil.so.1; do
    so=$(ldconfig -p | awk -v n="$so" '$1 == n && /x86-64/ { print $NF; exit }')
    if [ -n "$so" ]; then copy_with_libs "$so"; fi
  done
  # git, for servers that drive it: mcp-server-git's manifest takes the full python image,
  # which carries git; the config below points every Python image at this one.
  if command -v git >/dev/null; then
    copy_with_libs "$(command -v git)" /usr/bin/git
    if [ -d /usr/share/git-core/templates ]; then
      mkdir -p "$root/usr/share/git-core"
      cp -r /usr/share/git-core/templates "$root/usr/share/git-core/"
    fi
  fi
  ln -s "python$py_minor" "$root/usr/local/bin/python3"
  ln -s python3 "$root/usr/local/bin/python"
  printf '#!/bin/sh\nexec python3 -m pip "$@"\n' >"$root/usr/local/bin/pip"
  chmod 755 "$root/usr/local/bin/pip"
  cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
  cat >"$root/etc/group" <<'EOF'
root:x:0:
nogroup:x:65534:
EOF
  mkdir -p "$root/root"
  tar -C "$root" --numeric-owner -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change "ENV PYTHON_VERSION=$py_version" \
    --change "LABEL mcp-run.python-version=$py_version" \
    --change "LABEL mcp-run.stand-in=2" \
    --change 'CMD ["python3"]' \
    - "$python_image" >/dev/null
  # The standard library's extensions load, and what compiled wheels load (libgcc_s, …).
  out=$(docker run --rm --network none --user 1993:1993 --read-only "$python_image" \
    python3 -c 'import ssl, sqlite3, ctypes, json, zlib, pip
for lib in ("libgcc_s.so.1", "libstdc++.so.6", "libpthread.so.0"): ctypes.CDLL(lib)
print(1)')
  [ "$out" = 1 ] || die "The image $python_image does not run python: got \"$out\""
  log "built $python_image"
}
if [ "$(label_of "$python_image" mcp-run.python-version)" = "$py_version" ] &&
  [ "$(label_of "$python_image" mcp-run.stand-in)" = 2 ]; then
  log "image $python_image already holds python $py_version"
else
  build_python_image
fi

# 6. A container runs under gVisor: the stand-in, hardened as mcp-run runs it, sees gVisor's
# kernel.
gvisor_out=$(docker run --rm --pull never --runtime runsc --network none --read-only --cap-drop ALL \
  --user 1993:1993 "$image" eval 'console.log(Deno.readTextFileSync("/proc/version").split(" ")[2])' 2>&1) ||
  die "A container does not run under runsc: $gvisor_out (see $dockerd_log; is gVisor supported on this kernel?)"
[ "$gvisor_out" != "$(uname -r)" ] ||
  die "A container under runsc reports the host's kernel $gvisor_out: runsc is not gVisor"
log "a container runs under runsc (gVisor kernel $gvisor_out)"

# 7. A user config that points every image kind at the stand-ins.
config=${MCP_RUN_TEST_CONFIG:-"$here/../.cache/stand-in-config.json"}
mkdir -p "$(dirname "$config")"
config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
printf '{\n  "images": {\n    "deno": "%s",\n    "python": "%s"\n  }\n}\n' "$image" \
  "$python_image" >"$config.tmp"
mv "$config.tmp" "$config"
log "images: deno $image, python $python_image"
echo "$config"
