"""Linux network namespaces for the external-port tests: whether they can run here, and an ICMP ping run
inside one (raw socket; no ping binary needed)."""

from __future__ import annotations

import os
import subprocess
import sys

PING_SCRIPT = r"""
import os, select, socket, struct, sys, time
dst, count, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xFFFF); s += s >> 16
    return ~s & 0xFFFF
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident, got = os.getpid() & 0xFFFF, 0
for seq in range(1, count + 1):
    body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"hybrid-lab" * 5
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    sock.sendto(body, (dst, 0))
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if not select.select([sock], [], [], max(0, end - time.monotonic()))[0]:
            break
        data, src = sock.recvfrom(2048)
        icmp = data[(data[0] & 15) * 4:]
        if src[0] == dst and icmp[0] == 0 and struct.unpack("!HH", icmp[4:8]) == (ident, seq):
            got += 1
            break
print(got)
"""


def why_not_netns() -> str | None:
    """Why TUN/TAP tests in a network namespace cannot run here, or None if they can."""
    if not sys.platform.startswith("linux"):
        return "Linux only (TUN/TAP and network namespaces)"
    if os.geteuid() != 0:
        return "needs root (CAP_NET_ADMIN) to create TUN/TAP devices and network namespaces"
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun on this machine"
    try:
        subprocess.run(["ip", "netns", "list"], capture_output=True, check=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "the 'ip' command (iproute2) with netns support is missing"
    return None


def netns_ping(netns: str, address: str, count: int = 3, timeout: float = 2.0) -> int:
    """Echo replies received for ``count`` echoes sent from inside ``netns`` to ``address``."""
    done = subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", PING_SCRIPT, address, str(count),
                           str(timeout)], capture_output=True, text=True, timeout=count * timeout + 20)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


def ip(*args: str) -> str:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, f"ip {' '.join(args)}: {done.stderr}"
    return done.stdout
