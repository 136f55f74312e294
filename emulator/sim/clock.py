"""Discrete-event simulator: a virtual clock and timers.

Everything runs on ``Simulator.now`` (float seconds from 0.0). Nothing here
reads the wall clock, sleeps or starts threads, so a run is a pure function
of its seed and inputs. A real-time front end can still drive it: call
``run_until(virtual_target)`` (or ``run_realtime_step(wall_now)``) from any
external loop and sleep until ``next_event_time()``.

Engines are sans-I/O: a device owns its protocol engines, feeds them
``sim.now`` and schedules ``call_at(engine.get_timer(), ...)`` itself.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import logging
import random
import traceback
from typing import Any, Callable

__all__ = [
    "Simulator",
    "Timer",
]

log = logging.getLogger(__name__)


class Timer:
    """Handle for a scheduled callback; ``cancel()`` makes it a no-op."""

    __slots__ = ("when", "callback", "args")

    def __init__(self, when: float, callback: Callable[..., Any], args: tuple):
        self.when = when
        self.callback: Callable[..., Any] | None = callback
        self.args = args

    def cancel(self) -> None:
        # Lazy deletion: the heap entry stays and is skipped when popped.
        self.callback = None
        self.args = ()

    @property
    def cancelled(self) -> bool:
        return self.callback is None

    def __repr__(self) -> str:
        state = "cancelled" if self.callback is None else getattr(
            self.callback, "__qualname__", repr(self.callback))
        return f"<Timer at {self.when:.6f} {state}>"


class Simulator:
    """Event loop on a virtual clock.

    Equal-time events run in the order they were scheduled (a sequence
    number breaks ties in the heap). A callback that raises is recorded in
    ``errors`` as ``(time, description)`` and the loop goes on; with
    ``strict=True`` the exception propagates instead (handy in unit tests).
    """

    def __init__(self, seed: int = 0, *, strict: bool = False):
        self.seed = seed
        self.now = 0.0
        self.random = random.Random(seed)
        self.strict = strict
        self.errors: list[tuple[float, str]] = []
        self.events_run = 0
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._rt_anchor: tuple[float, float] | None = None  # (wall, virtual)

    # -- randomness -------------------------------------------------------

    def rng(self, name: str) -> random.Random:
        """An independent RNG for ``name``, fixed by (seed, name) only.

        Uses SHA-256 rather than ``hash()`` (which is salted per process).
        """
        digest = hashlib.sha256(f"{self.seed}\x00{name}".encode()).digest()
        return random.Random(int.from_bytes(digest[:16], "big"))

    # -- scheduling -------------------------------------------------------

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Run ``callback(*args)`` at virtual time ``when`` (past → now)."""
        if when < self.now:
            when = self.now
        timer = Timer(when, callback, args)
        heapq.heappush(self._heap, (when, next(self._seq), timer))
        return timer

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any) -> Timer:
        return self.call_at(self.now + delay, callback, *args)

    def call_soon(self, callback: Callable[..., Any], *args: Any) -> Timer:
        return self.call_at(self.now, callback, *args)

    def next_event_time(self) -> float | None:
        """Time of the earliest live event, or None when idle."""
        heap = self._heap
        while heap and heap[0][2].callback is None:
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pending(self) -> int:
        """Number of live (not cancelled) scheduled events."""
        return sum(1 for _, _, t in self._heap if t.callback is not None)

    # -- running ----------------------------------------------------------

    def _failed(self, timer_cb: Any, exc: BaseException) -> None:
        name = getattr(timer_cb, "__qualname__", None) or repr(timer_cb)
        desc = f"{name}: {type(exc).__name__}: {exc}"
        self.errors.append((self.now, desc))
        log.error("t=%.6f callback failed: %s\n%s", self.now, desc,
                  "".join(traceback.format_exception(exc)))
        if self.strict:
            raise exc

    def step(self) -> bool:
        """Run the next live event; False when there is none."""
        heap = self._heap
        while heap:
            when, _, timer = heapq.heappop(heap)
            cb = timer.callback
            if cb is None:
                continue
            self.now = when
            timer.callback = None  # fired: cancel() afterwards is harmless
            self.events_run += 1
            try:
                cb(*timer.args)
            except Exception as exc:  # noqa: BLE001 - recorded, loop goes on
                self._failed(cb, exc)
            return True
        return False

    def run_until(self, target: float | Callable[[], bool],
                  timeout: float | None = None) -> bool:
        """Run events due at or before ``target``, then set ``now = target``.

        ``target`` may instead be a predicate: run until it is true or
        ``timeout`` virtual seconds pass; returns whether it became true.
        With a time target it always returns True.
        """
        if callable(target):
            pred = target
            return self.run_while(lambda: not pred(), timeout)
        t = float(target)
        heap = self._heap
        pop = heapq.heappop
        while heap and heap[0][0] <= t:
            when, _, timer = pop(heap)
            cb = timer.callback
            if cb is None:
                continue
            self.now = when
            timer.callback = None
            self.events_run += 1
            try:
                cb(*timer.args)
            except Exception as exc:  # noqa: BLE001
                self._failed(cb, exc)
        if t > self.now:
            self.now = t
        return True

    def run_for(self, seconds: float) -> None:
        self.run_until(self.now + seconds)

    def run_while(self, condition: Callable[[], bool],
                  timeout: float | None = None) -> bool:
        """Run events while ``condition()`` holds, for at most ``timeout``.

        Returns True if the condition became false (the wait succeeded).
        On timeout (or when idle with no way to change) the clock stops at
        the deadline (or stays put with no deadline) and False is returned.
        """
        deadline = None if timeout is None else self.now + timeout
        while condition():
            nxt = self.next_event_time()
            if nxt is None or (deadline is not None and nxt > deadline):
                if deadline is not None and deadline > self.now:
                    self.now = deadline
                return False
            self.step()
        return True

    def run_until_idle(self, max_time: float | None = None,
                       max_events: int = 10_000_000) -> bool:
        """Run until no events remain; True if idle was reached.

        ``max_time`` bounds the run in virtual seconds from now (periodic
        timers such as keepalives never let a network go idle).
        """
        deadline = None if max_time is None else self.now + max_time
        for _ in range(max_events):
            nxt = self.next_event_time()
            if nxt is None:
                return True
            if deadline is not None and nxt > deadline:
                self.now = max(self.now, deadline)
                return False
            self.step()
        raise RuntimeError(f"run_until_idle: more than {max_events} events")

    def run_realtime_step(self, wall_now: float, speed: float = 1.0) -> float | None:
        """Advance virtual time to match a caller-supplied wall clock.

        The first call anchors ``wall_now`` to the current virtual time;
        later calls run up to ``anchor + (wall_now - anchor_wall) * speed``.
        If virtual time was pushed ahead in between (``run_for``), the
        anchor is moved. Returns the wall time at which the next event is
        due (for the caller's sleep), or None when idle.
        """
        if self._rt_anchor is None:
            self._rt_anchor = (wall_now, self.now)
        wall0, virt0 = self._rt_anchor
        target = virt0 + (wall_now - wall0) * speed
        if target < self.now:
            self._rt_anchor = (wall_now, self.now)
            wall0, virt0 = self._rt_anchor
            target = self.now
        self.run_until(target)
        nxt = self.next_event_time()
        return None if nxt is None else wall0 + (nxt - virt0) / speed
