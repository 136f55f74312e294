"""Discrete-event simulator: a virtual clock, timers, and simulated links.

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
    "SerialLink",
    "SerialEnd",
    "EthernetSegment",
    "EthernetPort",
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


# --------------------------------------------------------------------------
# Links


Tap = Callable[[float, str, bytes], None]
Filter = Callable[[str, bytes], "bytes | None"]


class SerialEnd:
    """One end of a ``SerialLink``.

    Set ``receiver(frame)`` to get frames and ``on_carrier(up)`` to hear of
    carrier changes (both called from the simulator loop).
    """

    __slots__ = ("link", "name", "peer", "receiver", "on_carrier",
                 "_busy_until", "_direction", "tx_frames", "tx_bytes", "rx_frames", "dropped")

    def __init__(self, link: "SerialLink", name: str):
        self.link = link
        self.name = name
        self.peer: SerialEnd = self  # set by SerialLink
        self.receiver: Callable[[bytes], None] | None = None
        self.on_carrier: Callable[[bool], None] | None = None
        self._busy_until = 0.0
        self._direction = name
        self.tx_frames = self.tx_bytes = self.rx_frames = self.dropped = 0

    @property
    def up(self) -> bool:
        return self.link.up

    def send(self, frame: bytes) -> bool:
        """Queue ``frame`` for transmission; False if dropped (link down)."""
        link = self.link
        if not link.up:
            self.dropped += 1
            return False
        direction = self._direction
        if link.filter is not None:
            frame = link.filter(direction, frame)
            if frame is None:
                self.dropped += 1
                return False
        sim = link.sim
        start = self._busy_until if self._busy_until > sim.now else sim.now
        done = start + len(frame) * 8 / link.bandwidth_bps
        self._busy_until = done
        self.tx_frames += 1
        self.tx_bytes += len(frame)
        for tap in link.taps:
            tap(start, direction, frame)
        sim.call_at(done + link.delay_s, self.peer._deliver, frame, link._generation)
        return True

    def _deliver(self, frame: bytes, generation: int) -> None:
        # A frame in flight when the link went down (even if back up) is lost.
        if generation != self.link._generation or not self.link.up:
            return
        self.rx_frames += 1
        if self.receiver is not None:
            self.receiver(frame)


class SerialLink:
    """Point-to-point serial line: per-direction serialisation + delay.

    A frame waits for the previous one on the same transmitter, takes
    ``len*8/bandwidth`` seconds to clock out, then ``delay_s`` to arrive.
    ``taps`` are called at transmission start with (time, "a->b", frame).
    ``filter(direction, frame)`` may return a changed frame or None (drop),
    for fault injection in tests.
    """

    def __init__(self, sim: Simulator, bandwidth_bps: float = 1_544_000,
                 delay_s: float = 0.001, names: tuple[str, str] = ("a", "b")):
        if bandwidth_bps <= 0:
            raise ValueError("bandwidth_bps must be positive")
        self.sim = sim
        self.bandwidth_bps = float(bandwidth_bps)
        self.delay_s = float(delay_s)
        self.up = True
        self.taps: list[Tap] = []
        self.filter: Filter | None = None
        self._generation = 0
        self.a = SerialEnd(self, names[0])
        self.b = SerialEnd(self, names[1])
        self.a.peer, self.b.peer = self.b, self.a
        self.a._direction = f"{names[0]}->{names[1]}"
        self.b._direction = f"{names[1]}->{names[0]}"
        self.ends = (self.a, self.b)

    def set_up(self, up: bool) -> None:
        """Raise or drop carrier; both ends hear ``on_carrier`` (scheduled)."""
        up = bool(up)
        if up == self.up:
            return
        self.up = up
        self._generation += 1
        for end in self.ends:
            end._busy_until = self.sim.now
            if end.on_carrier is not None:
                self.sim.call_soon(end.on_carrier, up)


class EthernetPort:
    """A station's attachment to an ``EthernetSegment``."""

    __slots__ = ("segment", "name", "receiver", "up", "_busy_until",
                 "tx_frames", "rx_frames", "dropped")

    def __init__(self, segment: "EthernetSegment", name: str,
                 receiver: Callable[[bytes], None] | None):
        self.segment = segment
        self.name = name
        self.receiver = receiver
        self.up = True
        self._busy_until = 0.0
        self.tx_frames = self.rx_frames = self.dropped = 0

    def send(self, frame: bytes) -> bool:
        seg = self.segment
        if not self.up or self not in seg.ports:
            self.dropped += 1
            return False
        sim = seg.sim
        start = self._busy_until if self._busy_until > sim.now else sim.now
        done = start + len(frame) * 8 / seg.bandwidth_bps
        self._busy_until = done
        self.tx_frames += 1
        for tap in seg.taps:
            tap(start, self.name, frame)
        for port in seg.ports:
            if port is not self:
                sim.call_at(done + seg.delay_s, port._deliver, frame)
        return True

    def _deliver(self, frame: bytes) -> None:
        if not self.up or self not in self.segment.ports:
            return
        self.rx_frames += 1
        if self.receiver is not None:
            self.receiver(frame)

    def detach(self) -> None:
        if self in self.segment.ports:
            self.segment.ports.remove(self)


class EthernetSegment:
    """A shared segment (think hub): every frame reaches every other port.

    No collisions are modelled; each port serialises its own frames.
    Receivers filter by destination MAC themselves. Taps get
    (time, sending port name, frame).
    """

    def __init__(self, sim: Simulator, bandwidth_bps: float = 10_000_000,
                 delay_s: float = 0.000_01):
        self.sim = sim
        self.bandwidth_bps = float(bandwidth_bps)
        self.delay_s = float(delay_s)
        self.ports: list[EthernetPort] = []
        self.taps: list[Tap] = []

    def attach(self, receiver: Callable[[bytes], None] | None = None,
               name: str | None = None) -> EthernetPort:
        port = EthernetPort(self, name or f"port{len(self.ports)}", receiver)
        self.ports.append(port)
        return port
