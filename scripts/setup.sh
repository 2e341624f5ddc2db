#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (as root) or a developer's checkout:
#   bash scripts/setup.sh console   install what is missing, then open the console on the demo fleet
#   bash scripts/setup.sh test      install what is missing, start the libvirt test bed, run every check
#   bash scripts/setup.sh install   only install (apt packages, .venv, vmdeck in editable mode)
# Idempotent: a second run installs nothing and starts in seconds.
set -euo pipefail

mode="${1:-install}"
shift || true
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

# Debian packages: libvirt-python has only an sdist on PyPI, so it compiles against libvirt-dev.
# The daemon, QEMU and tmux are needed by the test suite's real-libvirt and real-terminal tests;
# postgresql by the store tests, which start a private cluster of their own (tests/pgcluster.py).
apt_build=(libvirt-dev pkg-config gcc python3-dev python3-venv)
# openssh-server/-client: the test bed's host D is reached over qemu+ssh through an sshd of its own.
apt_test=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
          qemu-system-x86 qemu-utils tmux iproute2 util-linux procps
          openssh-server openssh-client postgresql)

install_apt() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        log "missing Debian packages: ${missing[*]} (run as root, or install them first)"
        exit 2
    fi
    log "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Installing a daemon's package (openssh-server) must not start it: the test bed runs its own
    # sshd on a loopback port, and a machine-wide one on port 22 would be a server nobody asked for.
    local policy=/usr/sbin/policy-rc.d ours=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# vmdeck setup.sh: start no service while installing\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        ours=1
    fi
    local rc=0
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
    [ $ours = 0 ] || rm -f "$policy"
    return $rc
}

install_python() {
    local py="${PYTHON:-python3}"
    if [ ! -x "$venv/bin/python" ]; then
        log "creating $venv with $($py --version)"
        "$py" -m venv "$venv"
    fi
    local stamp="$venv/.vmdeck-installed"
    if [ ! -f "$stamp" ] || [ "$repo/pyproject.toml" -nt "$stamp" ]; then
        log "installing vmdeck and its test tools into $venv"
        "$venv/bin/pip" install -q --upgrade pip
        "$venv/bin/pip" install -q -e "$repo[test]"
        touch "$stamp"
    fi
}

case "$mode" in
    install)
        install_apt "${apt_build[@]}"
        install_python
        ;;
    console)
        install_apt "${apt_build[@]}"
        install_python
        exec "$venv/bin/vmdeck" "$@"
        ;;
    test)
        install_apt "${apt_build[@]}" "${apt_test[@]}"
        install_python
        if [ -x "$repo/scripts/libvirt-testbed.sh" ] && [ "$(id -u)" = 0 ]; then
            bash "$repo/scripts/libvirt-testbed.sh" start
        fi
        cd "$repo"
        log "ruff check + ruff format --check"
        "$venv/bin/ruff" check .
        "$venv/bin/ruff" format --check .
        log "mypy --strict"
        "$venv/bin/mypy"  # strict, on tui/: its configuration is [tool.mypy] in pyproject.toml
        log "pytest"
        "$venv/bin/python" -m pytest "$@"
        ;;
    *)
        echo "usage: bash scripts/setup.sh [install|console|test] [args...]" >&2
        exit 2
        ;;
esac
