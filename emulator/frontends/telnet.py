"""Telnet: the vty transport on a TCP socket, with the option parser of ``emulator.wire.telnet``.

The server offers WILL ECHO and WILL SUPPRESS-GO-AHEAD, refuses every other
option once, answers AYT, and skips subnegotiations. Data bytes go to the
terminal as they come, so Ctrl-C and Ctrl-Shift-6 reach a running command at once.
"""

from __future__ import annotations

import logging
import socket
import time

from emulator.frontends.login import LOGIN_TIMEOUT, Gate, LoginPolicy
from emulator.frontends.pacer import PacedLab
from emulator.frontends.terminal import VtyTerminal, close_socket, encode
from emulator.wire.telnet import DO, DONT, IAC, SB, SE, TELNET_GREETING, WILL, WONT, TelnetParser

log = logging.getLogger(__name__)

class TelnetChannel:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.parser = TelnetParser()

    def start(self) -> None:
        self.sock.sendall(TELNET_GREETING)

    def recv(self, timeout: float | None) -> bytes:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            chunk = self.sock.recv(4096)
            if not chunk:
                return b""
            data, replies = self.parser.feed(chunk)
            if replies:
                self.sock.sendall(replies)
            if data:
                return data

    def send(self, text: str) -> None:
        self.sock.settimeout(LOGIN_TIMEOUT)
        self.sock.sendall(encode(text).replace(b"\xff", b"\xff\xff"))

    def close(self) -> None:
        close_socket(self.sock)



def serve_telnet(paced: PacedLab, sock: socket.socket, device: str, peer: str, vty: int | None,
                 policy: LoginPolicy, gate: Gate | None = None) -> None:
    """One telnet connection to ``device``: login, then the EXEC shell, until it ends.

    With a ``gate`` the login gives the vty line; without one the connection is on ``vty``.
    """
    channel = TelnetChannel(sock)
    channel.start()
    term = VtyTerminal(paced, device, channel, kind="telnet", peer=peer, vty=vty, policy=policy, gate=gate)
    if term.login():
        term.run_shell()
    if channel.parser.oversized:
        log.info("%s: %d over-long telnet subnegotiations dropped", term.where, channel.parser.oversized)


__all__ = ["TelnetParser", "TelnetChannel", "serve_telnet", "IAC", "DONT", "DO", "WONT", "WILL", "SB", "SE"]
