#!/usr/bin/env bash
# Real libvirt daemons for the test suite, on one Debian 12 machine, as root, without systemd.
#
#   bash scripts/libvirt-testbed.sh start    configure and start host A (qemu:///system) and hosts B,
#                                            C and D (more libvirtds, each in its own private mount+UTS
#                                            namespaces), and the test bed's own sshd in D's namespaces
#                                            so D is reached the way production reaches hosts:
#                                            qemu+ssh://root@vmdeck-testbed-d:2222/system?keyfile=…;
#                                            idempotent, returns at once when all answer, adds what is
#                                            missing without restarting the hosts that run
#   bash scripts/libvirt-testbed.sh stop     destroy leftover vmdeck-test-* domains, stop all hosts
#                                            and the sshd
#   bash scripts/libvirt-testbed.sh status   show what runs; exit 0 only if every host answers
#   bash scripts/libvirt-testbed.sh smoke    start a tiny VM on A, live-migrate it A -> B -> C -> A
#                                            (the last hop peer-to-peer, through URI_A_FROM_C)
#
# Tests read the URIs from /var/lib/vmdeck-testbed/env (see tests/testbed.py). Facts behind every
# step are in ../shared/notes/libvirt-testbed.md.
set -euo pipefail

STATE=/var/lib/vmdeck-testbed
HOSTB=$STATE/hostb
HOSTC=$STATE/hostc
HOSTD=$STATE/hostd
ENV_FILE=$STATE/env
ROM=$STATE/halt.rom
SUBREAPER=$STATE/subreaper.py
LOCK=$STATE/.lock

URI_A=qemu:///system
URI_B="qemu+unix:///system?socket=$HOSTB/run/libvirt/libvirt-sock"
URI_C="qemu+unix:///system?socket=$HOSTC/run/libvirt/libvirt-sock"
# Host A as host B's daemon sees it (for peer-to-peer migration B -> A, where B's daemon opens the
# URI): inside B's namespace the directory is a bind mount of the real /run/libvirt; outside it,
# it holds a symlink to the same socket. Inside B, qemu:///system would be B itself. Likewise for C.
# (B's and C's own URIs work from every namespace: nothing is mounted over /var/lib/vmdeck-testbed.)
URI_A_FROM_B="qemu+unix:///system?socket=$HOSTB/hosta-run/libvirt-sock"
URI_A_FROM_C="qemu+unix:///system?socket=$HOSTC/hosta-run/libvirt-sock"
# Host D: tests reach it only through ssh (URI_D_SSH); its unix socket is for benchmarks that
# compare the two transports on the same daemon.
URI_D="qemu+unix:///system?socket=$HOSTD/run/libvirt/libvirt-sock"
URI_A_FROM_D="qemu+unix:///system?socket=$HOSTD/hosta-run/libvirt-sock"
HOSTNAME_B=vmdeck-testbed-b
HOSTNAME_C=vmdeck-testbed-c
HOSTNAME_D=vmdeck-testbed-d
# The test bed's sshd: its own host key, an authorized key the test bed generates (never the
# machine's keys), known_hosts files of its own (one per port, so a test can run a second sshd with
# an unknown key). libvirt 9.0's plain ssh transport passes only -i (keyfile=), -T -o BatchMode=yes
# (no_tty=1) and StrictHostKeyChecking=no (no_verify=1) to ssh: `known_hosts=` is honoured only by
# the libssh/libssh2 transports. So the known_hosts file comes from an ssh_config snippet for the
# test bed's host aliases (vmdeck-testbed-*), the way a real fleet's ~/.ssh/config would say it.
SSH_DIR=$STATE/ssh
SSH_PORT=2222
SSH_ALIAS=$HOSTNAME_D
SSH_KEY=$SSH_DIR/id_ed25519
SSH_HOST_KEY=$SSH_DIR/ssh_host_ed25519_key
SSH_CONFIG=$SSH_DIR/sshd_config
SSH_PID=$SSH_DIR/sshd-$SSH_PORT.pid
SSH_LOG=$SSH_DIR/sshd-$SSH_PORT.log
SSH_CLIENT_CONFIG=/etc/ssh/ssh_config.d/vmdeck-testbed.conf
URI_D_SSH="qemu+ssh://root@$SSH_ALIAS:$SSH_PORT/system?keyfile=$SSH_KEY&no_tty=1"
MIGRATE_PORT=49152
WAIT_SECS=30
# The distribution's python3 (ctypes is in its standard library); any python3 otherwise.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

A_LIBVIRTD_PID=/run/libvirtd.pid
A_VIRTLOGD_PID=/run/virtlogd.pid
A_REAPER_PID=$STATE/hosta-subreaper.pid
A_REAPER_LOG=$STATE/hosta-subreaper.log
# Hosts B and C run in their own namespaces; everything of theirs is named by the host's letter.
NS_HOSTS=(B C D)
declare -A NS_DIR=([B]=$HOSTB [C]=$HOSTC [D]=$HOSTD)
declare -A NS_URI=([B]=$URI_B [C]=$URI_C [D]=$URI_D)
declare -A NS_HOSTNAME=([B]=$HOSTNAME_B [C]=$HOSTNAME_C [D]=$HOSTNAME_D)
# Incoming migrations listen on a port from the destination daemon's own range; daemons on one
# network cannot see each other's choices, so two destinations receiving at once must not share a
# range. A and B keep libvirt's default (49152-49215, as before); C gets its own.
declare -A NS_MIGRATION_PORTS=([B]="" [C]="49216 49279" [D]="49280 49343")
# Per-host files (H is B or C): libvirtd and virtlogd pidfiles, the subreaper's pidfile and log,
# the mount namespace recorded at start, the daemon's log.
ns_libvirtd_pid() { echo "${NS_DIR[$1]}/libvirtd.pid"; }
ns_virtlogd_pid() { echo "${NS_DIR[$1]}/virtlogd.pid"; }
ns_reaper_pid() { echo "${NS_DIR[$1]}/subreaper.pid"; }
ns_reaper_log() { echo "${NS_DIR[$1]}/subreaper.log"; }
ns_mntns() { echo "${NS_DIR[$1]}/mntns"; }
ns_libvirtd_log() { echo "${NS_DIR[$1]}/var/log/libvirt/libvirtd.log"; }
# Private copies, bind-mounted over the same paths inside each host's mount namespace.
NS_DIRS=(etc/libvirt run/libvirt var/lib/libvirt var/log/libvirt var/cache/libvirt)

log() { printf '[testbed] %s\n' "$*" >&2; }
warn() { printf '[testbed] WARNING: %s\n' "$*" >&2; }
die() {
    printf '[testbed] ERROR: %s\n' "$*" >&2
    exit 1
}

now_us() { local t=$EPOCHREALTIME; echo "${t//[^0-9]/}"; }
secs_since() { # START_US -> "1.234"
    local d=$(($(now_us) - $1))
    printf '%d.%03d' $((d / 1000000)) $(((d % 1000000) / 1000))
}

# PID from PIDFILE if that process is alive and its command name is COMM; else fails.
live_pid() {
    local pidfile=$1 comm=$2 pid
    [ -r "$pidfile" ] || return 1
    pid=$(tr -dc '0-9' <"$pidfile" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 1
    echo "$pid"
}

# PID from PIDFILE if that process is alive and runs our subreaper.py; else fails.
live_reaper() {
    local pid
    [ -r "$1" ] || return 1
    pid=$(tr -dc '0-9' <"$1" 2>/dev/null) || return 1
    [ -n "$pid" ] && grep -qa subreaper.py "/proc/$pid/cmdline" 2>/dev/null || return 1
    echo "$pid"
}

answers() { timeout 5 virsh -q -c "$1" version >/dev/null 2>&1; }

kvm_usable() { [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (the test bed starts system libvirt daemons)"; }

need_tools() {
    local t missing=()
    for t in libvirtd virtlogd virsh unshare nsenter mount timeout flock "$PY" qemu-system-x86_64 \
        ssh ssh-keygen /usr/sbin/sshd virt-ssh-helper; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    [ ${#missing[@]} -eq 0 ] || die "missing commands: ${missing[*]} (bash scripts/setup.sh test installs them)"
    "$PY" -c 'import ctypes' 2>/dev/null || die "$PY lacks ctypes (install python3)"
}

take_lock() {
    mkdir -p "$STATE"
    exec 9>"$LOCK"
    flock -w 120 9 || die "another libvirt-testbed.sh holds $LOCK for over 120 s"
}

# --- one-time machine setup (only on a cold start) -------------------------------------------

ensure_accounts() {
    getent group kvm >/dev/null || { log "groupadd kvm"; groupadd -r kvm; }
    # The qemu driver fails to initialise without the libvirt-qemu group, even with user = "root".
    getent group libvirt-qemu >/dev/null || { log "groupadd libvirt-qemu"; groupadd -r libvirt-qemu; }
    if ! getent passwd libvirt-qemu >/dev/null; then
        log "useradd libvirt-qemu"
        useradd -r -g libvirt-qemu -G kvm -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
    fi
}

ensure_dirs() {
    mkdir -p /etc/libvirt /var/log/libvirt/qemu /run/libvirt /var/lib/libvirt /var/cache/libvirt
    local d h dir
    for h in "${NS_HOSTS[@]}"; do
        dir=${NS_DIR[$h]}
        for d in "${NS_DIRS[@]}"; do mkdir -p "$dir/$d"; done
        mkdir -p "$dir/var/log/libvirt/qemu" "$dir/hosta-run"
        [ -L "$dir/hosta-run/libvirt-sock" ] || ln -sfn /run/libvirt/libvirt-sock "$dir/hosta-run/libvirt-sock"
    done
}

# conf_set FILE KEY VALUE [KEY VALUE...]: set libvirt-style `key = value` lines in place, keeping
# every other line; a multi-line value (a list spread over lines) is replaced whole.
conf_set() {
    "$PY" - "$@" <<'PY'
import os
import re
import sys

path, pairs = sys.argv[1], sys.argv[2:]
wanted = dict(zip(pairs[0::2], pairs[1::2]))
try:
    with open(path) as f:
        lines = f.read().splitlines(keepends=True)
    mode = os.stat(path).st_mode & 0o7777
except FileNotFoundError:
    lines, mode = ["# Settings for the vmdeck test bed (scripts/libvirt-testbed.sh).\n"], 0o644

def depth(line: str) -> int:
    code = line.split("#", 1)[0]
    return code.count("[") - code.count("]")

out, done, i = [], set(), 0
while i < len(lines):
    line = lines[i]
    m = re.match(r"\s*([A-Za-z0-9_]+)\s*=", line)
    if m and m.group(1) in wanted:
        key, level, j = m.group(1), depth(line), i
        while level > 0 and j + 1 < len(lines):  # swallow the rest of a multi-line list
            j += 1
            level += depth(lines[j])
        if key not in done:
            out.append(f"{key} = {wanted[key]}\n")
            done.add(key)
        i = j + 1
        continue
    out.append(line)
    i += 1
missing = [k for k in wanted if k not in done]
if missing and out and not out[-1].endswith("\n"):
    out[-1] += "\n"
out += [f"{k} = {wanted[k]}\n" for k in missing]
if out != lines:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.writelines(out)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    print(f"[testbed] updated {path}: {', '.join(wanted)}", file=sys.stderr)
PY
}

configure_a() {
    conf_set /etc/libvirt/qemu.conf \
        user '"root"' group '"root"' security_driver '"none"' namespaces '[ ]'
}

# configure_ns H: host H's (B's or C's) private /etc/libvirt.
configure_ns() {
    local etc=${NS_DIR[$1]}/etc/libvirt f ports
    local -a extra=()
    # Start from host A's top-level settings (not its domain definitions in qemu/).
    for f in /etc/libvirt/*.conf; do
        [ -f "$f" ] && [ ! -e "$etc/${f##*/}" ] && cp -p "$f" "$etc/"
    done
    # cgroups: the daemons would claim the same machine cgroup paths. (migration_host cannot
    # help with B's or C's unresolvable hostname: libvirt refuses loopback there, so migrations to
    # them pass a migrate URI such as tcp://127.0.0.1:49152.)
    ports=${NS_MIGRATION_PORTS[$1]}
    [ -z "$ports" ] || extra=(migration_port_min "${ports% *}" migration_port_max "${ports#* }")
    conf_set "$etc/qemu.conf" \
        user '"root"' group '"root"' security_driver '"none"' namespaces '[ ]' cgroup_controllers '[ ]' \
        "${extra[@]}"
    # Migration refuses a destination with the source's host UUID; keep one random UUID for good
    # (libvirt rejects patterned ones such as 2222...).
    if ! grep -qE '^\s*host_uuid\s*=' "$etc/libvirtd.conf" 2>/dev/null; then
        conf_set "$etc/libvirtd.conf" host_uuid "\"$(cat /proc/sys/kernel/random/uuid)\""
    fi
}

# The cheapest guest's firmware: 64 KiB of zeros with `cli; hlt; jmp -3` at the reset vector.
write_rom() {
    "$PY" - "$ROM" <<'PY'
import os
import sys

path = sys.argv[1]
rom = bytearray(64 * 1024)
rom[0xFFF0:0xFFF4] = b"\xfa\xf4\xeb\xfd"
try:
    with open(path, "rb") as f:
        if f.read() == rom:
            sys.exit(0)
except FileNotFoundError:
    pass
with open(path + ".tmp", "wb") as f:
    f.write(rom)
os.chmod(path + ".tmp", 0o644)
os.replace(path + ".tmp", path)
PY
}

write_subreaper() {
    local tmp=$SUBREAPER.tmp$$
    cat >"$tmp" <<'PY'
"""Child subreaper for the vmdeck libvirt test bed (written by scripts/libvirt-testbed.sh).

usage: subreaper.py PIDFILE LOGFILE -- COMMAND [ARG...]

Detaches into the background, marks itself a child subreaper, runs COMMAND (which starts daemons
that fork into the background) and then reaps every orphaned descendant at once: PID 1 on these
machines reaps only every ~2 s, which made every `virsh destroy` take 2 s. Exits when nothing is
left to reap. The foreground process exits with COMMAND's exit status.
"""

import ctypes
import os
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def log(msg: str) -> None:
    sys.stderr.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} subreaper[{os.getpid()}]: {msg}\n")
    sys.stderr.flush()


def exit_code(status: int) -> int:
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def background(pidfile: str, logfile: str, cmd: list[str], report: int) -> None:
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    out = os.open(logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    # Keep no inherited descriptor (a caller's pipe or lock) open for the daemons' lifetime.
    os.closerange(3, report)
    os.closerange(report + 1, 1 << 16)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, ctypes.c_ulong(1), 0, 0, 0) != 0:
        log(f"prctl(PR_SET_CHILD_SUBREAPER) failed: {os.strerror(ctypes.get_errno())}")
        os.write(report, b"70\n")
        sys.exit(70)
    with open(pidfile + ".tmp", "w") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(pidfile + ".tmp", pidfile)
    log(f"running {cmd}")
    child = os.fork()
    if child == 0:
        os.close(report)
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    rc = exit_code(os.waitpid(child, 0)[1])
    log(f"command exited with {rc}; reaping orphans")
    os.write(report, b"%d\n" % rc)
    os.close(report)
    reaped = 0
    while True:
        try:
            os.waitpid(-1, 0)
            reaped += 1
        except ChildProcessError:
            break
        except InterruptedError:
            continue
    log(f"no descendants left after reaping {reaped}; exiting")
    try:
        with open(pidfile) as f:
            if f.read().strip() == str(os.getpid()):
                os.unlink(pidfile)
    except OSError:
        pass


def main() -> None:
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.exit(__doc__)
    pidfile, logfile, cmd = sys.argv[1], sys.argv[2], sys.argv[4:]
    r, w = os.pipe()
    if os.fork() == 0:
        os.close(r)
        background(pidfile, logfile, cmd, w)
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 64):
        data += chunk
    try:
        sys.exit(int(data))
    except ValueError:
        sys.exit(f"subreaper died before running {cmd}; see {logfile}")


if __name__ == "__main__":
    main()
PY
    if cmp -s "$tmp" "$SUBREAPER"; then rm -f "$tmp"; else mv "$tmp" "$SUBREAPER"; fi
}

write_env() {
    local kvm=0 tmp=$ENV_FILE.tmp$$
    kvm_usable && kvm=1
    cat >"$tmp" <<EOF
# Written by scripts/libvirt-testbed.sh start; read by tests/testbed.py.
VMDECK_TESTBED_URI_A=$URI_A
VMDECK_TESTBED_URI_B=$URI_B
VMDECK_TESTBED_URI_A_FROM_B=$URI_A_FROM_B
VMDECK_TESTBED_HOSTNAME_B=$HOSTNAME_B
VMDECK_TESTBED_URI_C=$URI_C
VMDECK_TESTBED_URI_A_FROM_C=$URI_A_FROM_C
VMDECK_TESTBED_HOSTNAME_C=$HOSTNAME_C
VMDECK_TESTBED_URI_D_SSH=$URI_D_SSH
VMDECK_TESTBED_URI_D_UNIX=$URI_D
VMDECK_TESTBED_URI_A_FROM_D=$URI_A_FROM_D
VMDECK_TESTBED_HOSTNAME_D=$HOSTNAME_D
VMDECK_TESTBED_LIBVIRTD_PID_D=$(ns_libvirtd_pid D)
VMDECK_TESTBED_SSH_DIR=$SSH_DIR
VMDECK_TESTBED_SSH_PORT=$SSH_PORT
VMDECK_TESTBED_SSH_KEY=$SSH_KEY
VMDECK_TESTBED_SSHD_CONFIG=$SSH_CONFIG
VMDECK_TESTBED_SSHD_PID=$SSH_PID
VMDECK_TESTBED_KVM=$kvm
EOF
    chmod 644 "$tmp"
    if cmp -s "$tmp" "$ENV_FILE"; then rm -f "$tmp"; else mv "$tmp" "$ENV_FILE"; fi
}

# --- daemons --------------------------------------------------------------------------------

# wait_answer NAME URI LIBVIRTD_PIDFILE LOG...: until the daemon answers, bounded by WAIT_SECS;
# on failure shows the logs, says why and returns 1.
wait_answer() {
    local name=$1 uri=$2 pidfile=$3 deadline=$((SECONDS + WAIT_SECS)) f
    shift 3
    until answers "$uri"; do
        if ! live_pid "$pidfile" libvirtd >/dev/null || [ $SECONDS -ge $deadline ]; then
            for f in "$@"; do
                [ -s "$f" ] && { log "--- tail of $f"; tail -n 15 "$f" >&2; }
            done
            if live_pid "$pidfile" libvirtd >/dev/null; then
                log "ERROR: $name: libvirtd runs but '$uri' did not answer within ${WAIT_SECS} s"
            else
                log "ERROR: $name: libvirtd is not running (it exited or never started)"
            fi
            return 1
        fi
        sleep 0.2
    done
}

# True when PID's parent is a test-bed subreaper (else `virsh destroy` takes ~2 s here).
under_subreaper() {
    local ppid
    ppid=$(awk '/^PPid:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
    grep -q subreaper.py "/proc/$ppid/cmdline" 2>/dev/null
}

warn_no_reaper() {
    local pid
    pid=$(live_pid "$A_LIBVIRTD_PID" libvirtd) || return 0
    under_subreaper "$pid" || warn "host A's libvirtd ($pid) was not started by this script:" \
        "without a child subreaper every 'virsh destroy' takes ~2 s (run stop, then start)"
}

start_a() {
    if live_pid "$A_LIBVIRTD_PID" libvirtd >/dev/null; then
        wait_answer "host A" "$URI_A" "$A_LIBVIRTD_PID" /var/log/libvirt/libvirtd.log || exit 1
        return 0
    fi
    configure_a
    local script="set -e" what=libvirtd
    if ! live_pid "$A_VIRTLOGD_PID" virtlogd >/dev/null; then
        script+="; virtlogd -d -p $A_VIRTLOGD_PID"
        what="virtlogd + libvirtd"
    fi
    script+="; libvirtd -d -p $A_LIBVIRTD_PID"
    log "host A: starting $what under a child subreaper"
    "$PY" "$SUBREAPER" "$A_REAPER_PID" "$A_REAPER_LOG" -- /bin/bash -c "$script" ||
        { tail -n 20 "$A_REAPER_LOG" /var/log/libvirt/libvirtd.log >&2 2>/dev/null || true
          die "host A: daemons failed to start (logs above)"; }
    wait_answer "host A" "$URI_A" "$A_LIBVIRTD_PID" /var/log/libvirt/libvirtd.log "$A_REAPER_LOG" || exit 1
}

# namespace_pids H: PIDs of processes in host H's mount namespace (recorded at its start); never
# the root one.
namespace_pids() {
    local mntns
    mntns=$(ns_mntns "$1")
    [ -s "$mntns" ] || return 0
    "$PY" - "$(cat "$mntns")" <<'PY'
import os
import sys

ns = sys.argv[1]
if ns and ns != os.readlink("/proc/self/ns/mnt"):
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/ns/mnt") == ns:
                print(pid)
        except OSError:
            pass
PY
}

# kill_namespace H: end whatever still runs in host H's mount namespace (TERM, then KILL).
kill_namespace() {
    local h=$1 pids
    pids=$(namespace_pids "$h" | tr '\n' ' ')
    [ -n "${pids// /}" ] || return 0
    log "host $h: terminating leftover processes in its namespace: $pids"
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while [ -n "$(namespace_pids "$h")" ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    pids=$(namespace_pids "$h" | tr '\n' ' ')
    # shellcheck disable=SC2086
    [ -z "${pids// /}" ] || kill -KILL $pids 2>/dev/null || true
}

# ns_running H: host H's libvirtd is alive (by its pidfile).
ns_running() { live_pid "$(ns_libvirtd_pid "$1")" libvirtd >/dev/null; }

# start_ns H: start host H (B or C): virtlogd + libvirtd under a child subreaper, in fresh private
# mount+UTS namespaces with H's hostname and private libvirt directories. Exits on failure.
start_ns() {
    local h=$1
    local dir=${NS_DIR[$h]} uri=${NS_URI[$h]} name=${NS_HOSTNAME[$h]}
    local lpid vpid rpid rlog mntns dlog
    lpid=$(ns_libvirtd_pid "$h") vpid=$(ns_virtlogd_pid "$h") rpid=$(ns_reaper_pid "$h")
    rlog=$(ns_reaper_log "$h") mntns=$(ns_mntns "$h") dlog=$(ns_libvirtd_log "$h")
    if live_pid "$lpid" libvirtd >/dev/null; then
        wait_answer "host $h" "$uri" "$lpid" "$dlog" || exit 1
        return 0
    fi
    log "host $h: starting virtlogd + libvirtd in private mount+UTS namespaces ($name)"
    # A cold start gets a fresh namespace; its runtime directory is what a reboot would clear.
    kill_namespace "$h"
    rm -rf "${dir:?}/run/libvirt" && mkdir -p "$dir/run/libvirt"
    configure_ns "$h"
    # The namespace is recorded first thing, so even a half-started host can be cleaned up.
    local d q script
    printf -v q '%q' "$mntns"
    script="set -e; readlink /proc/\$\$/ns/mnt > $q"
    printf -v q '%q' "$name"
    script+="; echo $q > /proc/sys/kernel/hostname"
    printf -v q '%q' "$dir/hosta-run"
    script+="; mount --bind /run/libvirt $q"
    for d in "${NS_DIRS[@]}"; do
        printf -v q '%q' "$dir/$d"
        script+="; mount --bind $q /$d"
    done
    printf -v q 'virtlogd -d -p %q; libvirtd -d -p %q' "$vpid" "$lpid"
    script+="; $q"
    if ! "$PY" "$SUBREAPER" "$rpid" "$rlog" -- \
        unshare --mount --uts --propagation private -- /bin/bash -c "$script" ||
        ! live_pid "$lpid" libvirtd >/dev/null; then
        tail -n 20 "$rlog" "$dlog" >&2 2>/dev/null || true
        kill_namespace "$h"
        die "host $h: daemons failed to start (logs above)"
    fi
    if ! wait_answer "host $h" "$uri" "$lpid" "$dlog" "$rlog"; then
        kill_namespace "$h"
        die "host $h: libvirtd did not answer on $uri (see above)"
    fi
}

# stop_pid PIDFILE COMM NAME: SIGTERM, wait up to 15 s, then SIGKILL.
stop_pid() {
    local pid deadline=$((SECONDS + 15))
    pid=$(live_pid "$1" "$2") || return 0
    log "stopping $3 ($pid)"
    kill -TERM "$pid" 2>/dev/null || return 0
    while [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]; do
        if [ $SECONDS -ge $deadline ]; then
            warn "$3 ($pid) ignored SIGTERM for 15 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.1
    done
    rm -f "$1"
}

# destroy_domains URI PATTERN: destroy and undefine every domain whose name matches PATTERN.
destroy_domains() {
    local uri=$1 pattern=$2 name
    answers "$uri" || return 0
    while IFS= read -r name; do
        [ -n "$name" ] || continue
        # shellcheck disable=SC2053
        [[ $name == $pattern ]] || continue
        log "removing leftover domain $name on $uri"
        timeout 20 virsh -q -c "$uri" destroy "$name" >/dev/null 2>&1 || true
        timeout 20 virsh -q -c "$uri" undefine "$name" >/dev/null 2>&1 || true
    done < <(timeout 20 virsh -q -c "$uri" list --all --name 2>/dev/null)
}

# --- host D's sshd (the qemu+ssh transport) ---------------------------------------------------

# ssh_ready: the sshd answers the test bed's key and reaches host D's libvirtd through it.
ssh_ready() { answers "$URI_D_SSH"; }

# write_if_changed FILE MODE < CONTENT
write_if_changed() {
    local tmp=$1.tmp$$
    cat >"$tmp"
    chmod "$2" "$tmp"
    if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}

# sshd_config_text PORT HOSTKEY PIDFILE AUTHORIZED_KEYS: an sshd that lets only the test bed's key
# in, as root, to run commands (virt-ssh-helper); tests write the same for their own short-lived
# sshds (tests/testbed.py).
sshd_config_text() {
    cat <<EOF
# Written by vmdeck's scripts/libvirt-testbed.sh: host D's sshd (loopback only).
Port $1
ListenAddress 127.0.0.1
HostKey $2
PidFile $3
AuthorizedKeysFile $4
PermitRootLogin prohibit-password
AllowUsers root
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitTTY no
X11Forwarding no
AllowTcpForwarding no
AllowAgentForwarding no
PrintMotd no
UseDNS no
MaxStartups 64:30:128
LogLevel VERBOSE
EOF
}

# ensure_ssh_files: keys, authorized_keys, known_hosts, sshd_config and the client's ssh_config
# snippet; each is (re)written only when missing or different, so this is safe on every start.
ensure_ssh_files() {
    mkdir -p "$SSH_DIR" /run/sshd
    chmod 700 "$SSH_DIR"
    [ -s "$SSH_KEY" ] || ssh-keygen -q -t ed25519 -N '' -C vmdeck-testbed-client -f "$SSH_KEY"
    [ -s "$SSH_HOST_KEY" ] || ssh-keygen -q -t ed25519 -N '' -C vmdeck-testbed-d -f "$SSH_HOST_KEY"
    write_if_changed "$SSH_DIR/authorized_keys" 600 <"$SSH_KEY.pub"
    printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 "$SSH_HOST_KEY.pub")" |
        write_if_changed "$SSH_DIR/known_hosts-$SSH_PORT" 644
    sshd_config_text "$SSH_PORT" "$SSH_HOST_KEY" "$SSH_PID" "$SSH_DIR/authorized_keys" |
        write_if_changed "$SSH_CONFIG" 600
    mkdir -p "${SSH_CLIENT_CONFIG%/*}"
    write_if_changed "$SSH_CLIENT_CONFIG" 644 <<EOF
# Written by vmdeck's scripts/libvirt-testbed.sh: the test bed's ssh hosts, all on loopback.
# Host keys are checked against the test bed's own known_hosts file per port (known_hosts-PORT),
# never against the machine's.
Host vmdeck-testbed-*
    HostName 127.0.0.1
    User root
    CheckHostIP no
    StrictHostKeyChecking yes
    UserKnownHostsFile $SSH_DIR/known_hosts-%p
    GlobalKnownHostsFile /dev/null
    IdentitiesOnly yes
    PasswordAuthentication no
    KbdInteractiveAuthentication no
    # A hung host (sshd stopped, network gone) is noticed by ssh itself within ~6-9 s, before
    # libvirt's keepalive would: what the README recommends for a real fleet's ~/.ssh/config.
    ConnectTimeout 5
    ServerAliveInterval 3
    ServerAliveCountMax 2
EOF
}

# start_sshd: host D's sshd, started inside D's mount+UTS namespaces (an ssh session there sees D's
# /run/libvirt, so virt-ssh-helper reaches D's libvirtd with no socket= in the URI). Idempotent.
start_sshd() {
    ensure_ssh_files
    local pid dpid deadline
    if pid=$(live_pid "$SSH_PID" sshd); then
        # A stopped sshd (a test's SIGSTOP that was never undone) would hang every client.
        kill -CONT "$pid" 2>/dev/null || true
        ssh_ready && return 0
        log "host D: sshd ($pid) runs but does not answer; restarting it"
        stop_pid "$SSH_PID" sshd "host D sshd"
    fi
    dpid=$(live_pid "$(ns_libvirtd_pid D)" libvirtd) || die "host D: libvirtd is not running"
    log "host D: starting sshd on 127.0.0.1:$SSH_PORT in D's namespaces"
    nsenter --target "$dpid" --mount --uts -- /usr/sbin/sshd -f "$SSH_CONFIG" -E "$SSH_LOG" ||
        { tail -n 20 "$SSH_LOG" >&2 2>/dev/null || true; die "host D: sshd failed to start (log above)"; }
    deadline=$((SECONDS + WAIT_SECS))
    until ssh_ready; do
        if [ $SECONDS -ge $deadline ]; then
            tail -n 20 "$SSH_LOG" >&2 2>/dev/null || true
            die "host D: '$URI_D_SSH' did not answer within ${WAIT_SECS} s (sshd log above)"
        fi
        sleep 0.2
    done
}

stop_sshd() {
    local pid
    # A stopped process keeps SIGTERM pending: continue it first.
    if pid=$(live_pid "$SSH_PID" sshd); then kill -CONT "$pid" 2>/dev/null || true; fi
    stop_pid "$SSH_PID" sshd "host D sshd"
}

# --- commands -------------------------------------------------------------------------------

warn_no_kvm() {
    kvm_usable || warn "/dev/kvm is missing or not usable: domains of type 'kvm' will fail;" \
        "use type 'qemu' (TCG emulation). $ENV_FILE says VMDECK_TESTBED_KVM=0"
}

cmd_start() {
    local t0 h all=1
    t0=$(now_us)
    need_root
    take_lock
    live_pid "$A_LIBVIRTD_PID" libvirtd >/dev/null && answers "$URI_A" && [ -s "$ROM" ] || all=0
    for h in "${NS_HOSTS[@]}"; do
        [ $all = 1 ] && ns_running "$h" && answers "${NS_URI[$h]}" || all=0
    done
    [ $all = 1 ] && live_pid "$SSH_PID" sshd >/dev/null && ssh_ready || all=0
    if [ $all = 1 ]; then
        ensure_ssh_files # cheap; brings the ssh client settings up to date
        write_env
        warn_no_kvm
        warn_no_reaper
        log "already running (A: $URI_A, B: $URI_B, C: $URI_C, D: $URI_D_SSH) — checked in $(secs_since "$t0") s"
        return 0
    fi
    need_tools
    ensure_accounts
    ensure_dirs
    write_rom
    write_subreaper
    start_a
    for h in "${NS_HOSTS[@]}"; do start_ns "$h"; done
    start_sshd
    write_env
    warn_no_kvm
    warn_no_reaper
    log "host A: $URI_A"
    for h in "${NS_HOSTS[@]}"; do log "host $h: ${NS_URI[$h]} (hostname ${NS_HOSTNAME[$h]})"; done
    log "host D over ssh: $URI_D_SSH"
    log "ready in $(secs_since "$t0") s; URIs in $ENV_FILE"
}

cmd_stop() {
    need_root
    take_lock
    local h
    destroy_domains "$URI_A" 'vmdeck-test-*'
    # Hosts B and C belong to the test bed: whatever runs there was put there by tests.
    for h in "${NS_HOSTS[@]}"; do destroy_domains "${NS_URI[$h]}" '*'; done
    stop_sshd
    for h in "${NS_HOSTS[@]}"; do
        stop_pid "$(ns_libvirtd_pid "$h")" libvirtd "host $h libvirtd"
        stop_pid "$(ns_virtlogd_pid "$h")" virtlogd "host $h virtlogd"
        kill_namespace "$h"
        rm -f "$(ns_mntns "$h")"
    done
    stop_pid "$A_LIBVIRTD_PID" libvirtd "host A libvirtd"
    stop_pid "$A_VIRTLOGD_PID" virtlogd "host A virtlogd"
    # The subreapers exit by themselves once nothing is left to reap; A's stays while guests that
    # are not test domains keep running (a restarted libvirtd reconnects to them).
    local pf pid deadline=$((SECONDS + 5))
    for pf in "$(ns_reaper_pid B)" "$(ns_reaper_pid C)" "$(ns_reaper_pid D)" "$A_REAPER_PID"; do
        while pid=$(live_reaper "$pf") && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    done
    if pid=$(live_reaper "$A_REAPER_PID"); then
        log "host A's subreaper ($pid) stays to reap guests still running: $(pgrep -d ' ' -P "$pid" || true)"
    fi
    for h in "${NS_HOSTS[@]}"; do
        if pid=$(live_reaper "$(ns_reaper_pid "$h")"); then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    rm -f "$ENV_FILE"
    log "stopped"
}

cmd_status() {
    local ok=0 name uri lpid vpid rpid pid
    for name in A "${NS_HOSTS[@]}"; do
        if [ "$name" = A ]; then
            uri=$URI_A lpid=$A_LIBVIRTD_PID vpid=$A_VIRTLOGD_PID rpid=$A_REAPER_PID
        else
            uri=${NS_URI[$name]}
            lpid=$(ns_libvirtd_pid "$name") vpid=$(ns_virtlogd_pid "$name") rpid=$(ns_reaper_pid "$name")
        fi
        printf 'host %s  %s\n' "$name" "$uri"
        printf '  libvirtd   %s\n' "$(live_pid "$lpid" libvirtd || echo 'not running')"
        printf '  virtlogd   %s\n' "$(live_pid "$vpid" virtlogd || echo 'not running')"
        printf '  subreaper  %s\n' "$(live_reaper "$rpid" || echo 'not running')"
        if answers "$uri"; then
            printf '  answers    yes (hostname %s, %s running domains)\n' \
                "$(timeout 5 virsh -q -c "$uri" hostname 2>/dev/null)" \
                "$(timeout 5 virsh -q -c "$uri" list --name 2>/dev/null | grep -c . || true)"
        else
            printf '  answers    no\n'
            ok=3
        fi
        if [ "$name" = A ] && pid=$(live_pid "$lpid" libvirtd) && ! under_subreaper "$pid"; then
            printf '  note       libvirtd is not under the subreaper: destroy takes ~2 s\n'
        fi
    done
    printf 'sshd       %s (127.0.0.1:%s, in host D'"'"'s namespaces)\n' \
        "$(live_pid "$SSH_PID" sshd || echo 'not running')" "$SSH_PORT"
    if ssh_ready; then
        printf '  answers    yes: %s\n' "$URI_D_SSH"
    else
        printf '  answers    no: %s\n' "$URI_D_SSH"
        ok=3
    fi
    printf 'kvm        %s\n' "$(kvm_usable && echo '/dev/kvm usable' || echo 'no /dev/kvm: use domain type qemu')"
    if [ -s "$ENV_FILE" ]; then
        printf 'env file   %s\n' "$ENV_FILE"
        sed 's/^/  /' "$ENV_FILE"
    else
        printf 'env file   %s missing\n' "$ENV_FILE"
    fi
    return $ok
}

tiny_domain_xml() { # NAME UUID TYPE
    cat <<EOF
<domain type='$3'>
  <name>$1</name>
  <uuid>$2</uuid>
  <memory unit='KiB'>65536</memory>
  <currentMemory unit='KiB'>65536</currentMemory>
  <vcpu placement='static' current='1'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <loader type='rom'>$ROM</loader>
  </os>
  <cpu mode='custom' match='exact'>
    <model fallback='allow'>qemu64</model>
    <feature policy='disable' name='svm'/>
  </cpu>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <controller type='usb' model='none'/>
  </devices>
</domain>
EOF
}

SMOKE_DOM=""
smoke_cleanup() {
    [ -n "$SMOKE_DOM" ] || return 0
    local uri
    for uri in "$URI_C" "$URI_B" "$URI_A"; do
        timeout 20 virsh -q -c "$uri" destroy "$SMOKE_DOM" >/dev/null 2>&1 || true
        timeout 20 virsh -q -c "$uri" undefine "$SMOKE_DOM" >/dev/null 2>&1 || true
    done
}

expect_state() { # URI DOMAIN STATE
    local got
    got=$(timeout 20 virsh -q -c "$1" domstate "$2" 2>&1) || got="(${got//$'\n'/ })"
    [ "$got" = "$3" ] || die "smoke: $2 on $1 is '$got', expected '$3'"
}

gone_from() { # URI NAME: the smoke domain must no longer exist there (it was transient)
    timeout 20 virsh -q -c "$1" domstate "$SMOKE_DOM" >/dev/null 2>&1 &&
        die "smoke: $SMOKE_DOM still exists on $2 after migrating away"
    return 0
}

cmd_smoke() {
    cmd_start
    local type=qemu xml t0 t total uuid
    grep -qx 'VMDECK_TESTBED_KVM=1' "$ENV_FILE" && type=kvm
    SMOKE_DOM=vmdeck-test-smoke-$$
    uuid=$(cat /proc/sys/kernel/random/uuid)
    trap smoke_cleanup EXIT
    xml=$STATE/$SMOKE_DOM.xml
    tiny_domain_xml "$SMOKE_DOM" "$uuid" "$type" >"$xml"
    total=$(now_us)
    log "smoke: domain $SMOKE_DOM (type $type)"

    t0=$(now_us)
    virsh -q -c "$URI_A" define "$xml" >/dev/null || die "smoke: define failed"
    rm -f "$xml"
    t=$(secs_since "$t0"); log "  define on A          ${t} s"

    t0=$(now_us)
    virsh -q -c "$URI_A" start "$SMOKE_DOM" >/dev/null || die "smoke: start failed"
    expect_state "$URI_A" "$SMOKE_DOM" running
    t=$(secs_since "$t0"); log "  start on A           ${t} s"

    t0=$(now_us)
    timeout 60 virsh -q -c "$URI_A" migrate --live "$SMOKE_DOM" "$URI_B" \
        --migrateuri "tcp://127.0.0.1:$MIGRATE_PORT" || die "smoke: live migration A -> B failed"
    expect_state "$URI_B" "$SMOKE_DOM" running
    expect_state "$URI_A" "$SMOKE_DOM" "shut off"
    t=$(secs_since "$t0"); log "  live-migrate A -> B  ${t} s"

    t0=$(now_us)
    timeout 60 virsh -q -c "$URI_B" migrate --live "$SMOKE_DOM" "$URI_C" \
        --migrateuri "tcp://127.0.0.1:$MIGRATE_PORT" || die "smoke: live migration B -> C failed"
    expect_state "$URI_C" "$SMOKE_DOM" running
    gone_from "$URI_B" B
    t=$(secs_since "$t0"); log "  live-migrate B -> C  ${t} s"

    # Peer-to-peer: C's daemon itself opens the destination, so it needs A's URI as seen from C.
    t0=$(now_us)
    timeout 60 virsh -q -c "$URI_C" migrate --live --p2p "$SMOKE_DOM" "$URI_A_FROM_C" \
        --migrateuri "tcp://127.0.0.1:$MIGRATE_PORT" || die "smoke: peer-to-peer live migration C -> A failed"
    expect_state "$URI_A" "$SMOKE_DOM" running
    gone_from "$URI_C" C
    t=$(secs_since "$t0"); log "  live-migrate C -> A  ${t} s (peer-to-peer)"

    t0=$(now_us)
    virsh -q -c "$URI_A" destroy "$SMOKE_DOM" >/dev/null || die "smoke: destroy failed"
    t=$(secs_since "$t0"); log "  destroy on A         ${t} s"

    t0=$(now_us)
    virsh -q -c "$URI_A" undefine "$SMOKE_DOM" >/dev/null || die "smoke: undefine failed"
    t=$(secs_since "$t0"); log "  undefine on A        ${t} s"
    SMOKE_DOM=""
    log "smoke passed in $(secs_since "$total") s"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    smoke) cmd_smoke ;;
    *)
        echo "usage: bash scripts/libvirt-testbed.sh start|stop|status|smoke" >&2
        exit 2
        ;;
esac
