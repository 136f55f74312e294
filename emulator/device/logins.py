"""Login attack watch: ``login block-for``, ``login delay`` and the counts ``show login`` prints.

IOS 12.3(4)T's login enhancements: with ``login block-for SECONDS attempts N
within WINDOW`` the router watches failed logins; N failures within WINDOW
seconds put it in quiet mode for SECONDS, in which every telnet and SSH login
is refused (no ``login quiet-mode access-class`` exemptions here). Times are
lab time; the quiet period ends on a lab timer, which logs that it did.
``login delay`` spaces login attempts (a default of 1 second).
"""

from __future__ import annotations

from collections import deque
from ipaddress import IPv4Address
from typing import Any

from emulator.device.console import QuietModeOff, QuietModeOn
from emulator.labtime import SECOND

__all__ = ["LoginWatch", "DEFAULT_LOGIN_DELAY"]

DEFAULT_LOGIN_DELAY = 1       # seconds between a failed login and the next attempt, without ``login delay``


class LoginWatch:
    """One router's watch on logins (the lab lock held by whoever calls it)."""

    def __init__(self, router: Any):
        self.router = router
        self._failures: deque[int] = deque()      # lab times of the failures in the watch window
        self.quiet_until: int | None = None
        self._timer: Any = None
        self.failed_total = 0
        self.succeeded_total = 0
        self.refused_total = 0                    # attempts refused in quiet mode

    @property
    def block(self) -> tuple[int, int, int] | None:
        """(quiet seconds, attempts, window seconds) as configured, None when not watching."""
        block: tuple[int, int, int] | None = self.router.config.login_block
        return block

    @property
    def delay(self) -> int:
        """Seconds a failed login waits before the next attempt."""
        configured: int | None = self.router.config.login_delay
        return DEFAULT_LOGIN_DELAY if configured is None else configured

    def quiet(self) -> bool:
        """Whether logins are refused now."""
        return self.quiet_until is not None and self.router.now < self.quiet_until

    def quiet_left(self) -> int:
        """Whole seconds of quiet mode left (0 when not quiet)."""
        if not self.quiet() or self.quiet_until is None:
            return 0
        return -(-(self.quiet_until - self.router.now) // SECOND)

    def watching(self) -> list[int]:
        """The failures inside the watch window, oldest first."""
        block = self.block
        if block is None:
            self._failures.clear()
            return []
        horizon = self.router.now - block[2] * SECOND
        while self._failures and self._failures[0] <= horizon:
            self._failures.popleft()
        return list(self._failures)

    def watch_left(self) -> int:
        """Seconds until the oldest failure leaves the window (IOS's time left in watch mode)."""
        block, failures = self.block, self.watching()
        if block is None or not failures:
            return block[2] if block else 0
        return -(-(failures[0] + block[2] * SECOND - self.router.now) // SECOND)

    def refused(self) -> None:
        self.refused_total += 1

    def succeeded(self) -> None:
        self.succeeded_total += 1

    def failed(self, user: str, source: IPv4Address | str, port: int) -> None:
        """A failed login; enough of them within the window start the quiet period."""
        self.failed_total += 1
        block = self.block
        if block is None or self.quiet():
            return
        self._failures.append(self.router.now)
        if len(self.watching()) < block[1]:
            return
        left = self.watch_left()
        self._failures.clear()
        self.quiet_until = self.router.now + block[0] * SECOND
        self.router.console.log(QuietModeOn(left, user, str(source), port))
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.router.clock.call_at(self.quiet_until, self._quiet_over,
                                            component=f"{self.router.name} login")

    def _quiet_over(self) -> None:
        self._timer = None
        self.quiet_until = None
        self.router.console.log(QuietModeOff())
