"""The way in to a vty: connections not yet logged in are held apart from the vty lines.

A vty line is taken when the user has logged in, not when the TCP connection
opens, so idle connections cannot take the lines of the users who log in.
Connections that have not logged in are bounded per device
(PRELOGIN_PER_DEVICE; the oldest makes room for a new one) and last at most
LOGIN_TIMEOUT seconds (IOS's ``timeout login response``, 30 s). A failed
login waits the device's ``login delay`` (lab seconds) before the client hears
of it, and ``login block-for`` quiet mode refuses logins altogether.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from emulator.frontends.pacer import PacedLab

log = logging.getLogger(__name__)

PRELOGIN_PER_DEVICE = 16      # connections that have not logged in, per device, beside its vty lines
IOS_PORTS = {"telnet": 23, "ssh": 22}   # the local port a router reports in its login messages


class LoginGate:
    """One connection's way through the login: the device's login watch, the delay after a failure,
    and the vty line it gets once logged in (``allocate``; None when every line is taken)."""

    def __init__(self, paced: PacedLab, device: str, peer: str, kind: str,
                 allocate: Callable[[], int | None]):
        self.paced = paced
        self.router = paced.lab.devices[device]
        self.peer = peer
        self.port = IOS_PORTS.get(kind, 0)
        self.where = f"{device} {kind} from {peer}"
        self._allocate = allocate
        self.vty: int | None = None

    def open(self) -> bool:
        """Whether a login may be tried now (not in ``login block-for`` quiet mode)."""
        with self.paced.lock:
            if not self.router.logins.quiet():
                return True
            self.router.logins.refused()
        log.info("%s: login refused: quiet mode", self.where)
        return False

    def failed(self, username: str) -> None:
        """A failed login: counted (it may start quiet mode), then the login delay passes."""
        with self.paced.lock:
            self.router.logins.failed(username, self.peer, self.port)
            delay = self.router.logins.delay / self.paced.pacer.speed
        self.paced.stopping.wait(delay)

    def succeeded(self, username: str) -> bool:
        """A login that passed: it takes a vty line, if one is free."""
        self.vty = self._allocate()
        if self.vty is None:
            log.info("%s: refused after login: all vty lines are busy", self.where)
            return False
        with self.paced.lock:
            self.router.logins.succeeded()
        return True


class Prelogin:
    """The connections of each device that have not logged in: their deadlines, oldest first."""

    def __init__(self, timeout: float, limit: int = PRELOGIN_PER_DEVICE):
        self.timeout = timeout
        self.limit = limit
        self._waiting: dict[str, dict[int, float]] = {}

    def add(self, device: str, cid: int, now: float | None = None) -> int | None:
        """Hold ``cid`` until it logs in; the connection to drop to make room for it, if any."""
        waiting = self._waiting.setdefault(device, {})
        evict = next(iter(waiting)) if len(waiting) >= self.limit else None
        if evict is not None:
            del waiting[evict]
        waiting[cid] = (time.monotonic() if now is None else now) + self.timeout
        return evict

    def done(self, device: str, cid: int) -> None:
        """``cid`` logged in or went away."""
        self._waiting.get(device, {}).pop(cid, None)

    def expired(self, now: float | None = None) -> list[int]:
        """The connections whose time to log in is over (forgotten here)."""
        now = time.monotonic() if now is None else now
        gone = []
        for waiting in self._waiting.values():
            for cid, deadline in list(waiting.items()):
                if deadline <= now:
                    del waiting[cid]
                    gone.append(cid)
        return gone

    def count(self, device: str) -> int:
        return len(self._waiting.get(device, {}))


__all__ = ["LoginGate", "Prelogin", "PRELOGIN_PER_DEVICE"]
