#!/usr/bin/env bash
# A Docker engine and a base image for `make test-docker`, on a machine that may have
# neither (a fresh Debian or Ubuntu CI machine, run as root).
#
#   bash scripts/docker-engine.sh start   # make an engine answer; exit 3 (one line) if none can
#   bash scripts/docker-engine.sh base    # print the base image to build FROM (see below)
#   bash scripts/docker-engine.sh stop    # stop the engine, only if `start` started it
#
# start: nothing to do when `docker info` answers. Otherwise, as root, install Debian's
#   docker.io when dockerd is missing, and start dockerd in the background (log and pid
#   in $DOCKER_ENGINE_DIR, default /tmp/ai-service-bench-docker). Exit 3, with one line
#   saying why, when no engine can run here (not root, no apt, dockerd refuses to start).
# base: the Dockerfile's pinned BASE_IMAGE when it is present or can be pulled. Where the
#   registry cannot be reached (Docker Hub is not reachable from every CI machine), a
#   STAND-IN is built once instead and its name printed: Debian bookworm (debootstrap)
#   with Debian's Python 3.11 and pip, made to look like the official image where the
#   Dockerfile cares (python and pip in /usr/local/bin, pip allowed to install system-wide),
#   and trusting this machine's certificate bundle so that pip in the build reaches the
#   package index through the same proxies as this machine. Figures measured on it say so.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${DOCKER_ENGINE_DIR:-${TMPDIR:-/tmp}/ai-service-bench-docker}
standin=ai-service-bench-base:3.11-bookworm-standin
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

say() { echo "docker-engine: $*" >&2; }
no_engine() { echo "docker-engine: no Docker engine can run here: $*"; exit 3; }
answers() { docker info >/dev/null 2>&1; }

start() {
    answers && { say "an engine answers already"; return 0; }
    if [ "$(id -u)" -ne 0 ]; then
        [ -S /var/run/docker.sock ] &&
            no_engine "an engine runs, but user $(id -un) has no access to it (join the docker group, or run as root)"
        command -v dockerd >/dev/null 2>&1 &&
            no_engine "dockerd is installed but not running, and starting it needs root"
        no_engine "Docker is not installed, and installing it needs root"
    fi
    if ! command -v dockerd >/dev/null 2>&1; then
        command -v apt-get >/dev/null 2>&1 || no_engine "dockerd is missing and there is no apt-get to install it"
        say "installing Debian's docker.io"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends docker.io iptables >/dev/null ||
            no_engine "apt-get install docker.io failed"
    fi
    mkdir -p "$dir"
    # overlay2 first (fast, small); the engine's own choice if this kernel refuses it
    for driver in overlay2 ""; do
        setsid nohup dockerd ${driver:+--storage-driver=$driver} >"$dir/dockerd.log" 2>&1 &
        echo $! >"$dir/dockerd.pid"
        for _ in $(seq 60); do
            answers && { say "dockerd started (pid $(cat "$dir/dockerd.pid"), log $dir/dockerd.log)"; return 0; }
            kill -0 "$(cat "$dir/dockerd.pid")" 2>/dev/null || break
            sleep 1
        done
        kill "$(cat "$dir/dockerd.pid")" 2>/dev/null || true
        sleep 1
    done
    rm -f "$dir/dockerd.pid"
    no_engine "dockerd did not start: $(tail -n 1 "$dir/dockerd.log")"
}

# The pid recorded by `start`, if that process is still a dockerd (not a reused pid).
started_pid() {
    local pid
    [ -f "$dir/dockerd.pid" ] || return 1
    pid=$(cat "$dir/dockerd.pid")
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ] && echo "$pid"
}

stop() {
    local pid
    pid=$(started_pid) || { rm -f "$dir/dockerd.pid"; say "no engine started by this script runs"; return 0; }
    kill "$pid" && say "stopping dockerd (pid $pid)"
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    rm -f "$dir/dockerd.pid"
}

build_standin() {
    command -v debootstrap >/dev/null 2>&1 ||
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
    local root="$dir/rootfs"
    rm -rf "$root"
    mkdir -p "$dir"
    say "building the stand-in base $standin from Debian bookworm (debootstrap, a few minutes)"
    debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates \
        bookworm "$root" "$mirror" >"$dir/debootstrap.log" 2>&1 ||
        { say "debootstrap failed: see $dir/debootstrap.log"; return 1; }
    rm -f "$root"/usr/lib/python3.*/EXTERNALLY-MANAGED
    ln -sf /usr/bin/python3 "$root/usr/local/bin/python"
    ln -sf /usr/bin/python3 "$root/usr/local/bin/python3"
    ln -sf /usr/bin/pip3 "$root/usr/local/bin/pip"
    cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
        "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
    tar --numeric-owner -C "$root" -c . | docker import \
        --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' \
        --message "stand-in for python:3.11-slim-bookworm (Debian bookworm's Python)" \
        - "$standin" >/dev/null
    rm -rf "$root"
}

base() {
    local pinned
    pinned=$(sed -n 's/^ARG BASE_IMAGE=//p' Dockerfile | head -n 1)
    [ -n "$pinned" ] || { say "no ARG BASE_IMAGE=... in the Dockerfile"; return 1; }
    if docker image inspect "$pinned" >/dev/null 2>&1 ||
        timeout 180 docker pull -q "$pinned" >/dev/null 2>&1; then
        echo "$pinned"
        return 0
    fi
    say "cannot pull $pinned: building from the stand-in $standin instead"
    docker image inspect "$standin" >/dev/null 2>&1 || build_standin
    echo "$standin"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    base) base ;;
    *) echo "usage: scripts/docker-engine.sh start|base|stop" >&2; exit 2 ;;
esac
