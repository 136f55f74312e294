"""Running a sans-I/O engine on the lab clock: the one place that does it.

An engine (PPP, NAT, the crypto subsystem...) never sees the simulator. It
is fed input by its owner and tells, when asked, what it wants to send,
what happened, and when it next needs the clock (``get_timer()``). An
``EngineBinding`` does the asking: after any input the owner fed the engine
it calls ``poke()``, which hands the engine's output to the owner's
``transmit``, its events to ``on_event``, and keeps one simulator timer at
the engine's deadline. When that timer fires the binding calls
``handle_timer(now)`` and pokes again.

The contract (``TimedEngine``; the optional verbs are looked up once):

* ``get_timer() -> int | None``: the next deadline in lab ns, None for none;
* ``handle_timer(now: int)``: called at (never before) that deadline; the
  engine must move its deadline past ``now`` or clear it (a deadline left
  at ``now`` would fire forever: the simulator stops that as an
  ``EmulatorFault`` naming the binding);
* optionally ``datagrams_to_send(now)`` or ``frames_to_send(now)``: the
  output queued since the last call, each item handed to ``transmit``;
* optionally ``next_event()``: one event, None when there is none left.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Protocol, runtime_checkable

from emulator.sim.clock import Simulator, Timer

__all__ = ["TimedEngine", "SendingEngine", "EventEngine", "EngineBinding"]


@runtime_checkable
class TimedEngine(Protocol):
    """What every engine run on the clock provides."""

    def get_timer(self) -> int | None: ...

    def handle_timer(self, now: int) -> None: ...


@runtime_checkable
class SendingEngine(TimedEngine, Protocol):
    """An engine with output (``frames_to_send(now)`` is the same verb under a link layer's name)."""

    def datagrams_to_send(self, now: int) -> Iterable[Any]: ...


@runtime_checkable
class EventEngine(TimedEngine, Protocol):
    """An engine that reports events, one at a time."""

    def next_event(self) -> Any | None: ...


class EngineBinding:
    """Runs one engine on one simulator; see the module docstring.

    ``transmit(item)`` gets each item the engine wants sent, ``on_event(event)``
    each event; both may feed the engine again (a nested ``poke`` is safe).
    ``on_flushed()``, if given, runs at the end of every ``poke``, once
    output and events are flushed (for owner state derived from the engine).
    ``name`` names the engine in an ``EmulatorFault``.
    """

    __slots__ = ("sim", "engine", "name", "_on_flushed", "_sends", "_events", "_timer", "_deadline", "_get_timer")

    def __init__(self, sim: Simulator, engine: TimedEngine, *, transmit: Callable[[Any], Any] | None = None,
                 on_event: Callable[[Any], Any] | None = None, on_flushed: Callable[[], Any] | None = None,
                 name: str | None = None):
        # The protocol's two verbs, checked directly (isinstance on a runtime Protocol costs ~40 us a call).
        if not (callable(getattr(engine, "get_timer", None)) and callable(getattr(engine, "handle_timer", None))):
            raise TypeError(f"{type(engine).__name__} is not an engine: it needs get_timer() and handle_timer(now)")
        self.sim = sim
        self.engine = engine
        self.name = name or type(engine).__name__
        sends: Callable[[int], Iterable[Any]] | None = (getattr(engine, "datagrams_to_send", None)
                                                        or getattr(engine, "frames_to_send", None))
        events: Callable[[], Any | None] | None = getattr(engine, "next_event", None)
        # Each optional verb of the engine, paired with the callback its results go to.
        self._sends: tuple[Callable[[int], Iterable[Any]], Callable[[Any], Any]] | None = None
        self._events: tuple[Callable[[], Any | None], Callable[[Any], Any]] | None = None
        if sends is not None:
            if transmit is None:
                raise TypeError(f"{self.name}: the engine sends, so the binding needs a transmit callback")
            self._sends = (sends, transmit)
        if events is not None:
            if on_event is None:
                raise TypeError(f"{self.name}: the engine has events, so the binding needs an on_event callback")
            self._events = (events, on_event)
        self._on_flushed = on_flushed
        self._get_timer = engine.get_timer
        self._timer: Timer | None = None
        self._deadline: int | None = None   # the deadline the timer was set for (one already past fires now)

    @property
    def deadline(self) -> int | None:
        """The engine deadline the binding's timer is armed for (None: no timer)."""
        return self._deadline if self._timer is not None and not self._timer.cancelled else None

    def poke(self) -> None:
        """Flush the engine's output and events, then keep the timer at its deadline.

        Call after every input fed to the engine.  This runs for every packet an
        engine sees, so the common case (nothing queued, deadline unchanged) is
        kept to a few attribute reads.
        """
        output, events = self._sends, self._events
        while True:
            if output is not None:
                sends, transmit = output
                for item in sends(self.sim.now):
                    transmit(item)
            if events is None:
                break
            next_event, on_event = events
            event = next_event()
            if event is None:
                break
            while event is not None:
                on_event(event)
                event = next_event()
            # Handling events may have made the engine queue output: flush again.
        if self._on_flushed is not None:
            self._on_flushed()
        when = self._get_timer()
        timer = self._timer
        if timer is None:
            if when is None:
                return                       # no deadline, no timer
        elif when == self._deadline and timer.callback is not None:
            return                           # armed for this deadline already
        self._rearm(when)

    def _rearm(self, when: int | None) -> None:
        timer = self._timer
        if timer is not None:
            timer.cancel()
            self._timer = None
        self._deadline = when
        if when is not None:
            self._timer = self.sim.call_at(when, self._fire, component=self.name)

    def _fire(self) -> None:
        self._timer = None
        self.engine.handle_timer(self.sim.now)
        self.poke()

    def close(self) -> None:
        """Stop the timer (the engine is being replaced or shut down)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._deadline = None

    def __repr__(self) -> str:
        return f"<EngineBinding {self.name} deadline={self.deadline}>"
