"""What GNS3's ubridge does for a UDP NIO cabled to a TAP device, for the tests: one Ethernet frame per
datagram between a UDP socket (the emulated port's pseudo-wire) and a Linux TAP device in a network
namespace. ubridge itself is not packaged by Debian, so this relay plays it (its own code: a TAP file
descriptor and a UDP socket, serviced by a selector in a thread)."""

from __future__ import annotations

import fcntl
import os
import selectors
import socket
import struct
import subprocess
import threading

_TUNSETIFF = 0x400454CA           # <linux/if_tun.h>
_IFF_TAP, _IFF_NO_PI = 0x0002, 0x1000
MAX_FRAME = 65535


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


class UdpTapRelay:
    """TAP ``dev`` (address ``address``) in namespace ``netns`` (made here, removed by ``close``) <->
    UDP ``local`` (host, port) sending to ``remote``. Counts the frames relayed each way."""

    def __init__(self, dev: str, netns: str, address: str, local: tuple[str, int], remote: tuple[str, int]):
        self.dev, self.netns, self.remote = dev, netns, remote
        self.to_udp = self.to_tap = 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(local)
        self.fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        fcntl.ioctl(self.fd, _TUNSETIFF, struct.pack("16sH", dev.encode(), _IFF_TAP | _IFF_NO_PI))
        _ip("netns", "add", netns)
        _ip("link", "set", "dev", dev, "netns", netns)
        _ip("-n", netns, "addr", "add", address, "dev", dev)
        _ip("-n", netns, "link", "set", "dev", dev, "up")
        _ip("-n", netns, "link", "set", "dev", "lo", "up")
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name=f"relay-{dev}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ, "udp")
        sel.register(self.fd, selectors.EVENT_READ, "tap")
        sel.register(self._stop_r, selectors.EVENT_READ, "stop")
        try:
            while True:
                for key, _ in sel.select():
                    if key.data == "stop":
                        return
                    if key.data == "udp":
                        frame, _src = self.sock.recvfrom(MAX_FRAME)
                        try:
                            os.write(self.fd, frame)
                            self.to_tap += 1
                        except OSError:
                            pass                        # the TAP is down: the frame is lost, as on a wire
                    else:
                        try:
                            frame = os.read(self.fd, MAX_FRAME)
                        except BlockingIOError:
                            continue
                        self.sock.sendto(frame, self.remote)
                        self.to_udp += 1
        finally:
            sel.close()

    def close(self) -> None:
        os.write(self._stop_w, b"x")
        self._thread.join(5)
        for fd in (self.fd, self._stop_r, self._stop_w):
            os.close(fd)
        self.sock.close()
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True, timeout=10)
