"""EngineBinding: one engine on the lab clock, with a fake engine."""

import pytest

from emulator.sim.binding import EngineBinding, EventEngine, SendingEngine, TimedEngine
from emulator.sim.clock import MS, SECOND, EmulatorFault, Simulator


class FakeEngine:
    """Sends what it is told to, reports events, and wants the clock at ``deadline``."""

    def __init__(self):
        self.deadline = None
        self.outbox = []
        self.events = []
        self.fired = []
        self.send_calls = []
        self.on_timer = None            # what handle_timer does besides recording

    def get_timer(self):
        return self.deadline

    def handle_timer(self, now):
        self.fired.append(now)
        if self.on_timer is not None:
            self.on_timer(now)

    def datagrams_to_send(self, now):
        self.send_calls.append(now)
        out, self.outbox = self.outbox, []
        return out

    def next_event(self):
        return self.events.pop(0) if self.events else None


class TimerOnly:
    def __init__(self):
        self.deadline = None
        self.fired = []

    def get_timer(self):
        return self.deadline

    def handle_timer(self, now):
        self.fired.append(now)
        self.deadline = None


def bound(engine=None, **kw):
    sim = Simulator(0, strict=True)
    engine = engine or FakeEngine()
    sent, events = [], []
    binding = EngineBinding(sim, engine, transmit=sent.append, on_event=events.append, name="fake", **kw)
    return sim, engine, binding, sent, events


def test_the_contract_is_a_protocol():
    assert isinstance(FakeEngine(), TimedEngine)
    assert isinstance(FakeEngine(), SendingEngine) and isinstance(FakeEngine(), EventEngine)
    assert isinstance(TimerOnly(), TimedEngine) and not isinstance(TimerOnly(), SendingEngine)


def test_poke_flushes_sends_and_events_in_order():
    sim, engine, binding, sent, events = bound()
    sim.run_until(3 * SECOND)
    engine.outbox += ["d1", "d2"]
    engine.events += ["e1", "e2", "e3"]
    binding.poke()
    assert sent == ["d1", "d2"] and events == ["e1", "e2", "e3"]
    assert engine.send_calls[0] == 3 * SECOND          # the contract's verb gets the time
    binding.poke()
    assert sent == ["d1", "d2"] and events == ["e1", "e2", "e3"]   # nothing twice


def test_output_of_event_handling_is_flushed_in_the_same_poke():
    sim = Simulator(0, strict=True)
    engine = FakeEngine()
    sent = []

    def on_event(event):
        engine.outbox.append(f"reply to {event}")      # handling an event makes the engine send

    binding = EngineBinding(sim, engine, transmit=sent.append, on_event=on_event, name="fake")
    engine.events.append("hello")
    binding.poke()
    assert sent == ["reply to hello"]


def test_a_nested_poke_from_transmit_is_safe():
    sim = Simulator(0, strict=True)
    engine = FakeEngine()
    sent = []

    def transmit(item):
        sent.append(item)
        if item == "first":
            engine.outbox.append("second")
            engine.deadline = 5 * SECOND
            binding.poke()

    binding = EngineBinding(sim, engine, transmit=transmit, on_event=lambda e: None, name="fake")
    engine.outbox.append("first")
    binding.poke()
    assert sent == ["first", "second"] and binding.deadline == 5 * SECOND and sim.pending() == 1


def test_the_timer_is_rearmed_only_when_the_deadline_changes():
    sim, engine, binding, _, _ = bound()
    binding.poke()
    assert binding.deadline is None and sim.pending() == 0
    engine.deadline = 2 * SECOND
    binding.poke()
    first = binding._timer
    assert binding.deadline == 2 * SECOND and sim.pending() == 1
    for _ in range(10):
        binding.poke()
    assert binding._timer is first and sim.pending() == 1 and len(sim._heap) == 1
    engine.deadline = 1 * SECOND
    binding.poke()
    assert first.cancelled and binding.deadline == 1 * SECOND and sim.pending() == 1
    engine.deadline = None
    binding.poke()
    assert binding.deadline is None and sim.pending() == 0


def test_a_past_deadline_fires_now_and_is_not_rescheduled_on_each_poke():
    sim, engine, binding, _, _ = bound()
    sim.run_until(10 * SECOND)
    engine.deadline = 4 * SECOND                       # already due
    binding.poke()
    timer = binding._timer
    binding.poke()
    binding.poke()
    assert binding._timer is timer and timer.when == 10 * SECOND
    engine.on_timer = lambda now: setattr(engine, "deadline", None)
    sim.run_until(10 * SECOND)
    assert engine.fired == [10 * SECOND] and binding.deadline is None


def test_the_timer_calls_handle_timer_at_the_deadline_then_flushes():
    sim, engine, binding, sent, events = bound()

    def on_timer(now):
        engine.outbox.append(f"retransmit at {now}")
        engine.events.append("timed out")
        engine.deadline = now + 2 * SECOND if len(engine.fired) < 3 else None

    engine.on_timer = on_timer
    engine.deadline = 1500 * MS
    binding.poke()
    sim.run_until(1500 * MS - 1)
    assert engine.fired == []
    sim.run_until(1500 * MS)
    assert engine.fired == [1500 * MS] and sent == [f"retransmit at {1500 * MS}"] and events == ["timed out"]
    sim.run_until_idle()
    assert engine.fired == [1500 * MS, 3500 * MS, 5500 * MS] and len(sent) == 3
    assert binding.deadline is None and sim.pending() == 0


def test_on_flushed_runs_after_every_poke_including_timer_ones():
    calls = []
    sim, engine, binding, _, _ = bound(on_flushed=lambda: calls.append(sim.now))
    binding.poke()
    engine.deadline = SECOND
    engine.on_timer = lambda now: setattr(engine, "deadline", None)
    binding.poke()
    sim.run_until_idle()
    assert calls == [0, 0, SECOND]


def test_an_engine_that_rearms_at_the_same_instant_is_a_fault_naming_the_binding():
    sim = Simulator(0, progress_bound=10_000)
    engine = TimerOnly()
    binding = EngineBinding(sim, engine, name="r1 NatEngine expiry")
    engine.handle_timer = lambda now: None            # broken: the deadline never moves past now
    engine.deadline = 61 * SECOND
    binding.poke()
    with pytest.raises(EmulatorFault) as caught:
        sim.run_until(120 * SECOND)
    fault = caught.value
    assert fault.component == "r1 NatEngine expiry" and fault.lab_time_ns == 61 * SECOND
    assert str(fault) == ("emulator fault: no progress at lab time 61.000000000 s: 10000 events at the same "
                          "instant, last by r1 NatEngine expiry")


def test_timer_only_engines_need_no_callbacks():
    sim = Simulator(0, strict=True)
    engine = TimerOnly()
    binding = EngineBinding(sim, engine)
    assert binding.name == "TimerOnly"
    engine.deadline = 3 * SECOND
    binding.poke()
    sim.run_until_idle()
    assert engine.fired == [3 * SECOND] and sim.now == 3 * SECOND


def test_close_stops_the_timer():
    sim, engine, binding, _, _ = bound()
    engine.deadline = SECOND
    binding.poke()
    binding.close()
    sim.run_until_idle()
    assert engine.fired == [] and binding.deadline is None


def test_what_is_not_an_engine_is_refused():
    sim = Simulator(0)
    with pytest.raises(TypeError, match="not an engine"):
        EngineBinding(sim, object())
    with pytest.raises(TypeError, match="transmit"):
        EngineBinding(sim, FakeEngine(), on_event=print)
    with pytest.raises(TypeError, match="on_event"):
        EngineBinding(sim, FakeEngine(), transmit=print)
