#!/usr/bin/env bash
# Docker Engine for the kind provider, started by the project (CI and sandboxed hosts have no systemd).
#
# Idempotent: installs Debian's Docker Engine where `dockerd` is missing (and debootstrap, its keyring and
# jq, which the kind images need, wherever they are missing), starts it in the background
# when `docker info` does not answer (log and pid file in the user cache), and registers a runc wrapper
# as the default runtime only where this host's capability bounding set lacks CAP_SYS_RESOURCE — there
# every privileged container (every kind node) fails with "unable to apply caps: operation not
# permitted", because runc asks for a capability no process here may hold. Exits non-zero with the
# reason when Docker cannot be made to answer.
set -euo pipefail

cache="${XDG_CACHE_HOME:-$HOME/.cache}/virtual-node-conformance/docker-engine"
mkdir -p "$cache"
log="$cache/dockerd.log"
pidfile="$cache/dockerd.pid"

fail() { echo "docker-engine: $*" >&2; exit 1; }

# What `vnode kind images` needs beside Docker, also where Docker already runs (a GitHub runner):
# debootstrap and the Debian archive keyring it checks the base image against, and jq.
packages=()
command -v dockerd >/dev/null 2>&1 || packages+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || packages+=(debootstrap)
command -v jq >/dev/null 2>&1 || packages+=(jq)
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || packages+=(debian-archive-keyring)
if [ "${#packages[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || fail "${packages[*]} missing and installing them needs root (sudo $0)"
  echo "docker-engine: installing ${packages[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >"$cache/apt.log" 2>&1 || fail "apt-get update failed; see $cache/apt.log"
  apt-get install -y -qq "${packages[@]}" >>"$cache/apt.log" 2>&1 \
    || fail "apt-get install ${packages[*]} failed; see $cache/apt.log"
fi

if docker info >/dev/null 2>&1; then
  echo "docker-engine: Docker Engine answers already ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
  exit 0
fi

# CAP_SYS_RESOURCE is bit 24 of the bounding set.
bounding=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
daemon_args=()
if (( (16#$bounding >> 24 & 1) == 0 )); then
  wrapper="$cache/runc-vm"
  runc_path=$(command -v runc || echo /usr/sbin/runc)
  cat >"$wrapper" <<EOF
#!/usr/bin/env bash
# runc without CAP_SYS_RESOURCE, which this host's capability bounding set lacks (written by
# .ci/docker-engine.sh). Removes the capability from the OCI bundle's config.json (create, run) and
# from an exec's process file, then runs the real runc.
set -euo pipefail
strip() { local f="\$1" t; t=\$(mktemp "\$f.XXXX"); jq 'walk(if type == "array" then map(select(. != "CAP_SYS_RESOURCE")) else . end)' "\$f" >"\$t" && mv "\$t" "\$f"; }
args=("\$@")
for ((i = 0; i < \${#args[@]}; i++)); do
  case "\${args[i]}" in
    --bundle|-b) [ -f "\${args[i+1]}/config.json" ] && strip "\${args[i+1]}/config.json" ;;
    --bundle=*) b="\${args[i]#--bundle=}"; [ -f "\$b/config.json" ] && strip "\$b/config.json" ;;
    --process|-p) [ -f "\${args[i+1]}" ] && strip "\${args[i+1]}" ;;
    --process=*) strip "\${args[i]#--process=}" ;;
  esac
done
exec $runc_path "\$@"
EOF
  chmod +x "$wrapper"
  printf '{"runtimes": {"runc-vm": {"path": "%s"}}, "default-runtime": "runc-vm"}\n' "$wrapper" >"$cache/daemon.json"
  daemon_args+=(--config-file "$cache/daemon.json")
  echo "docker-engine: this host's capability bounding set lacks CAP_SYS_RESOURCE: runc runs through $wrapper"
fi

if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "docker-engine: dockerd (pid $(cat "$pidfile")) is running but not answering yet"
else
  [ "$(id -u)" = 0 ] || fail "dockerd is not running and starting it needs root (sudo $0)"
  echo "docker-engine: starting dockerd (log $log)"
  # setsid: the daemon outlives this script and the CI step that ran it.
  setsid dockerd "${daemon_args[@]}" >"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
fi

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "docker-engine: Docker Engine $(docker version --format '{{.Server.Version}}') answers (pid $(cat "$pidfile"))"
    exit 0
  fi
  kill -0 "$(cat "$pidfile")" 2>/dev/null || fail "dockerd exited; last lines of $log:
$(tail -n 15 "$log")"
  sleep 1
done
fail "dockerd started but \`docker info\` did not answer within 60 s; see $log"
