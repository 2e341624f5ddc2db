"""Why a host cannot be reached over ssh: the known ssh failures in a libvirt error, each with what an
admin should do about it (shown by `hosts check` and the console's host detail).
"""

from __future__ import annotations

# --- why a host cannot be reached over ssh ---------------------------------------------------------------
_ACCESS_HINTS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("Permission denied (publickey",),
        "the host refuses vmdeck's ssh key: add its public key to /root/.ssh/authorized_keys on the host "
        "(README: giving vmdeck access to a real host)",
    ),
    (
        ("Host key verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "ssh does not know (or no longer trusts) the host's key: check its fingerprint, then connect once "
        "with ssh as the user running vmdeck to record it in ~/.ssh/known_hosts",
    ),
    (
        ("banner exchange", "not responding", "Connection timed out"),
        "the host's sshd does not answer (hung, overloaded or filtered); vmdeck retries with backoff",
    ),
    (("Connection refused",), "nothing listens on the host's ssh port (is sshd running? the right port?)"),
    (
        ("virt-ssh-helper", "nc: ", "command not found"),
        "the host can run neither virt-ssh-helper nor nc -U: install libvirt-daemon (or netcat-openbsd) there",
    ),
)


def access_hint(error: str | None) -> str | None:
    """What an admin should do about an ssh connection error from libvirt, or None if it is not one
    of the known ssh failures."""
    if not error:
        return None
    for needles, hint in _ACCESS_HINTS:
        if any(n in error for n in needles):
            return hint
    return None
