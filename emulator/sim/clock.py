"""Discrete-event simulator: a virtual clock and timers.

Everything runs on ``Simulator.now``, an ``int`` of nanoseconds from 0 (the
units and exact conversions are ``NS``, ``US``, ``MS``, ``SECOND``,
``seconds()`` and ``to_seconds()``, exported here). Nothing here reads the
wall clock, sleeps or starts threads, so a run is a pure function of its
seed and inputs. A real-time front end can still drive it: call
``run_until(virtual_target_ns)`` (or ``run_realtime_step(wall_now)``) from
any external loop and sleep until ``next_event_time()``.

The simulator guarantees progress: more than ``progress_bound`` events
scheduled at one instant for that same instant (a timer re-armed at the time
it fires, forever) stop the run with ``EmulatorFault`` instead of spinning.
Events scheduled earlier for the instant (a thousand frames arriving together
in a large lab) are finite by construction and not counted.

Engines are sans-I/O: a device runs each on the clock through an
``emulator.sim.binding.EngineBinding``.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import logging
import random
import traceback
from typing import Any, Callable

from emulator.labtime import MS, NS, SECOND, US, format_seconds, seconds, to_seconds

__all__ = [
    "Simulator",
    "Timer",
    "EmulatorFault",
    "NS", "US", "MS", "SECOND", "seconds", "to_seconds", "format_seconds",
    "DEFAULT_PROGRESS_BOUND",
]

log = logging.getLogger(__name__)

# Events that may run at one instant before the simulator declares a live-lock.
DEFAULT_PROGRESS_BOUND = 10_000


class EmulatorFault(Exception):
    """The emulator itself is broken (no progress): the run stops.

    ``component`` names the event that went over the bound (in a live-lock,
    the timer that keeps re-arming): a callback's qualified name, or the name
    an ``EngineBinding`` was given. ``lab_time_ns`` is the lab time. Never
    recorded as a callback error: it propagates out of the run.
    """

    def __init__(self, what: str, component: str, lab_time_ns: int, detail: str):
        self.component = component
        self.lab_time_ns = lab_time_ns
        super().__init__(f"emulator fault: {what} at lab time {format_seconds(lab_time_ns)} s: "
                         f"{detail}, last by {component}")


def _not_an_int(when: Any, what: str) -> None:
    """Lab times are ints of nanoseconds: a float here is a unit mistake, reported at once."""
    raise TypeError(f"{what} must be an int of nanoseconds, not {type(when).__name__} {when!r}")


class Timer:
    """Handle for a scheduled callback; ``cancel()`` makes it a no-op."""

    __slots__ = ("when", "callback", "args", "component", "soon")

    def __init__(self, when: int, callback: Callable[..., Any], args: tuple[Any, ...], component: str | None = None,
                 soon: bool = False):
        self.when = when
        self.callback: Callable[..., Any] | None = callback
        self.args = args
        self.component = component
        self.soon = soon          # scheduled while the clock stood at ``when``: counted by the progress guard

    def cancel(self) -> None:
        # Lazy deletion: the heap entry stays and is skipped when popped.
        self.callback = None
        self.args = ()

    @property
    def cancelled(self) -> bool:
        return self.callback is None

    def name(self) -> str:
        """What this timer runs, for fault reports: its component, else the callback's qualified name."""
        if self.component is not None:
            return self.component
        cb = self.callback
        return "(cancelled)" if cb is None else getattr(cb, "__qualname__", None) or repr(cb)

    def __repr__(self) -> str:
        state = "cancelled" if self.callback is None else self.name()
        return f"<Timer at {format_seconds(self.when)} s {state}>"


_new_timer = object.__new__


class Simulator:
    """Event loop on a virtual clock of integer nanoseconds.

    Equal-time events run in the order they were scheduled (a sequence
    number breaks ties in the heap). A callback that raises is recorded in
    ``errors`` as ``(time, description)`` and the loop goes on; with
    ``strict=True`` the exception propagates instead (handy in unit tests).
    ``EmulatorFault`` always propagates. More than ``progress_bound``
    events scheduled at one instant for that instant raise ``EmulatorFault``.
    """

    def __init__(self, seed: int = 0, *, strict: bool = False, progress_bound: int = DEFAULT_PROGRESS_BOUND):
        if type(progress_bound) is not int or progress_bound < 1:
            raise ValueError(f"progress_bound must be a positive int, not {progress_bound!r}")
        self.seed = seed
        self.now = 0
        self.random = random.Random(seed)
        self.strict = strict
        self.progress_bound = progress_bound
        self.errors: list[tuple[int, str]] = []
        self.events_run = 0
        self._heap: list[tuple[int, int, Timer]] = []
        self._seq = itertools.count()
        # Progress guard: how many events scheduled at ``now`` for ``now`` ran since the clock last moved.
        self._at_instant = 0
        self._rt_anchor: tuple[float, int] | None = None  # (wall seconds, virtual ns)

    # -- randomness -------------------------------------------------------

    def rng(self, name: str) -> random.Random:
        """An independent RNG for ``name``, fixed by (seed, name) only.

        Uses SHA-256 rather than ``hash()`` (which is salted per process).
        """
        digest = hashlib.sha256(f"{self.seed}\x00{name}".encode()).digest()
        return random.Random(int.from_bytes(digest[:16], "big"))

    # -- scheduling -------------------------------------------------------

    def call_at(self, when: int, callback: Callable[..., Any], *args: Any, component: str | None = None) -> Timer:
        """Run ``callback(*args)`` at lab time ``when`` ns (past → now).

        ``component`` names the caller in an ``EmulatorFault`` (default: the
        callback's qualified name).
        """
        if type(when) is not int:
            _not_an_int(when, "call_at time")
        # Timer(when, callback, args, component, soon), its fields set here: one is made for every
        # event, and this skips the call of its __init__ from C.
        timer = _new_timer(Timer)
        if when <= self.now:
            when = self.now
            timer.soon = True
        else:
            timer.soon = False
        timer.when = when
        timer.callback = callback
        timer.args = args
        timer.component = component
        heapq.heappush(self._heap, (when, next(self._seq), timer))
        return timer

    def call_later(self, delay: int, callback: Callable[..., Any], *args: Any, component: str | None = None) -> Timer:
        """Run ``callback(*args)`` ``delay`` ns from now."""
        if type(delay) is not int:
            _not_an_int(delay, "call_later delay")
        return self.call_at(self.now + delay, callback, *args, component=component)

    def call_soon(self, callback: Callable[..., Any], *args: Any, component: str | None = None) -> Timer:
        return self.call_at(self.now, callback, *args, component=component)

    def next_event_time(self) -> int | None:
        """Time (ns) of the earliest live event, or None when idle."""
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
        log.error("t=%s callback failed: %s\n%s", format_seconds(self.now), desc,
                  "".join(traceback.format_exception(exc)))
        if self.strict:
            raise exc

    def _no_progress(self, entry: tuple[int, int, Timer]) -> None:
        """The progress bound is reached at this instant: put the event back and stop the run."""
        heapq.heappush(self._heap, entry)
        raise EmulatorFault("no progress", entry[2].name(), self.now,
                            f"{self._at_instant} events at the same instant")

    def _move_to(self, when: int) -> None:
        """Set the clock to a later instant without running anything there yet."""
        if when != self.now:
            self.now = when
            self._at_instant = 0

    def step(self) -> bool:
        """Run the next live event; False when there is none."""
        heap = self._heap
        while heap:
            entry = heapq.heappop(heap)
            if entry[2].callback is not None:
                self._fire(entry)
                return True
        return False

    def _fire(self, entry: tuple[int, int, Timer]) -> None:
        """Run a live event just taken off the heap, its time now the clock's."""
        when, _, timer = entry
        cb = timer.callback
        assert cb is not None
        if when != self.now:
            self.now = when
            self._at_instant = 0
        if timer.soon:
            if self._at_instant >= self.progress_bound:
                self._no_progress(entry)
            self._at_instant += 1
        timer.callback = None  # fired: cancel() afterwards is harmless
        self.events_run += 1
        try:
            cb(*timer.args)
        except EmulatorFault:
            raise
        except Exception as exc:  # noqa: BLE001 - recorded, loop goes on
            self._failed(cb, exc)

    def run_until(self, target: int | Callable[[], bool], timeout: int | None = None) -> bool:
        """Run events due at or before ``target`` ns, then set ``now = target``.

        ``target`` may instead be a predicate: run until it is true or
        ``timeout`` ns of lab time pass; returns whether it became true.
        With a time target it always returns True.
        """
        if callable(target):
            return self._run_while(target, True, timeout)
        if type(target) is not int:
            _not_an_int(target, "run_until target")
        heap = self._heap
        pop = heapq.heappop
        bound = self.progress_bound
        at_instant = self._at_instant
        ran = 0
        try:
            while heap and heap[0][0] <= target:
                entry = pop(heap)
                when, _, timer = entry
                cb = timer.callback
                if cb is None:
                    continue
                if when != self.now:
                    self.now = when
                    at_instant = 0
                if timer.soon:
                    if at_instant >= bound:
                        self._at_instant = at_instant
                        self._no_progress(entry)
                    at_instant += 1
                timer.callback = None
                ran += 1
                try:
                    cb(*timer.args)
                except EmulatorFault:
                    raise
                except Exception as exc:  # noqa: BLE001
                    self._failed(cb, exc)
        finally:
            self._at_instant = at_instant
            self.events_run += ran
        if target > self.now:
            self._move_to(target)
        return True

    def run_for(self, duration: int) -> None:
        """Run the lab for ``duration`` ns."""
        if type(duration) is not int:
            _not_an_int(duration, "run_for duration")
        self.run_until(self.now + duration)

    def run_while(self, condition: Callable[[], bool], timeout: int | None = None) -> bool:
        """Run events while ``condition()`` holds, for at most ``timeout`` ns.

        Returns True if the condition became false (the wait succeeded).
        On timeout (or when idle with no way to change) the clock stops at
        the deadline (or stays put with no deadline) and False is returned.
        """
        return self._run_while(condition, False, timeout)

    def _run_while(self, condition: Callable[[], bool], until: bool, timeout: int | None) -> bool:
        """``run_while(condition)``, or with ``until`` ``run_until(condition)``: the predicate called as
        it is, not through a negating wrapper, once per event."""
        if timeout is not None and type(timeout) is not int:
            _not_an_int(timeout, "run_while timeout")
        deadline = None if timeout is None else self.now + timeout
        heap = self._heap
        pop = heapq.heappop
        while (not condition()) is until:     # while condition(), or while not condition() with until
            while heap and heap[0][2].callback is None:      # next_event_time(), inline: once per event
                pop(heap)
            if not heap or (deadline is not None and heap[0][0] > deadline):
                if deadline is not None and deadline > self.now:
                    self._move_to(deadline)
                return False
            self._fire(pop(heap))          # the event on top is live
        return True

    def run_until_idle(self, max_time: int | None = None, max_events: int = 10_000_000) -> bool:
        """Run until no events remain; True if idle was reached.

        ``max_time`` bounds the run in ns of lab time from now (periodic
        timers such as keepalives never let a network go idle); more than
        ``max_events`` events raise ``EmulatorFault``.
        """
        if max_time is not None and type(max_time) is not int:
            _not_an_int(max_time, "run_until_idle max_time")
        deadline = None if max_time is None else self.now + max_time
        for _ in range(max_events):
            nxt = self.next_event_time()
            if nxt is None:
                return True
            if deadline is not None and nxt > deadline:
                if deadline > self.now:
                    self._move_to(deadline)
                return False
            self.step()
        nxt_timer = self._heap[0][2] if self._heap else None
        raise EmulatorFault("no idle", nxt_timer.name() if nxt_timer else "(none)", self.now,
                            f"more than {max_events} events")

    def run_realtime_step(self, wall_now: float, speed: float = 1.0) -> float | None:
        """Advance virtual time to match a caller-supplied wall clock (seconds, float).

        The first call anchors ``wall_now`` to the current virtual time;
        later calls run up to ``anchor + (wall_now - anchor_wall) * speed``
        (the one conversion of wall seconds to lab nanoseconds). If virtual
        time was pushed ahead in between (``run_for``), the anchor is moved.
        Returns the wall time at which the next event is due (for the
        caller's sleep), or None when idle.
        """
        if self._rt_anchor is None:
            self._rt_anchor = (wall_now, self.now)
        wall0, virt0 = self._rt_anchor
        target = virt0 + seconds((wall_now - wall0) * speed, allow_negative=True)
        if target < self.now:
            self._rt_anchor = (wall_now, self.now)
            wall0, virt0 = self._rt_anchor
            target = self.now
        self.run_until(target)
        nxt = self.next_event_time()
        return None if nxt is None else wall0 + to_seconds(nxt - virt0) / speed
