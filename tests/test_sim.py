"""Discrete-event simulator and link models."""

import pytest

from emulator.sim.clock import MS, SECOND, US, Simulator
from emulator.sim.wires import EthernetSegment, SerialLink


def test_clock_and_ordering():
    sim = Simulator(1)
    seen = []
    sim.call_at(2 * SECOND, seen.append, "b")
    sim.call_at(1 * SECOND, seen.append, "a")
    for i in range(5):  # equal times run FIFO
        sim.call_at(3 * SECOND, seen.append, i)
    sim.call_later(500 * MS, seen.append, "half")
    assert sim.now == 0
    sim.run_until(2500 * MS)
    assert seen == ["half", "a", "b"] and sim.now == 2500 * MS
    sim.run_for(10 * SECOND)
    assert seen[3:] == [0, 1, 2, 3, 4] and sim.now == 12500 * MS


def test_advancing_without_events_moves_clock():
    sim = Simulator(0)
    sim.run_until(100 * SECOND)
    assert sim.now == 100 * SECOND
    assert sim.run_until_idle() is True and sim.now == 100 * SECOND


def test_cancel_and_step():
    sim = Simulator(0)
    seen = []
    t = sim.call_later(1 * SECOND, seen.append, 1)
    sim.call_later(2 * SECOND, seen.append, 2)
    t.cancel()
    assert t.cancelled and sim.pending() == 1
    assert sim.next_event_time() == 2 * SECOND
    assert sim.step() is True and seen == [2] and sim.now == 2 * SECOND
    assert sim.step() is False


def test_callbacks_scheduling_callbacks_and_past_times():
    sim = Simulator(0)
    seen = []

    def tick(n):
        seen.append((sim.now, n))
        if n < 3:
            sim.call_later(SECOND, tick, n + 1)
        sim.call_at(sim.now - 5 * SECOND, seen.append, "past")  # clamps to now

    sim.call_soon(tick, 0)
    sim.run_until_idle()
    assert [x for x in seen if x != "past"] == [(0, 0), (SECOND, 1), (2 * SECOND, 2), (3 * SECOND, 3)]
    assert seen.count("past") == 4


def test_exceptions_are_recorded_not_fatal():
    sim = Simulator(0)
    seen = []

    def boom():
        raise RuntimeError("kaput")

    sim.call_at(1 * SECOND, boom)
    sim.call_at(2 * SECOND, seen.append, "after")
    sim.run_until(3 * SECOND)
    assert seen == ["after"]
    assert len(sim.errors) == 1
    when, desc = sim.errors[0]
    assert when == 1 * SECOND and "RuntimeError" in desc and "kaput" in desc and "boom" in desc

    strict = Simulator(0, strict=True)
    strict.call_at(1 * SECOND, boom)
    with pytest.raises(RuntimeError):
        strict.run_until(2 * SECOND)


def test_run_while_and_predicate_form():
    sim = Simulator(0)
    box = []
    sim.call_at(5 * SECOND, box.append, 1)
    assert sim.run_while(lambda: not box, timeout=10 * SECOND) is True
    assert sim.now == 5 * SECOND
    assert sim.run_until(lambda: len(box) == 2, timeout=3 * SECOND) is False
    assert sim.now == 8 * SECOND  # timed out: clock at the deadline
    sim.call_at(20 * SECOND, box.append, 2)
    assert sim.run_while(lambda: len(box) < 2, timeout=5 * SECOND) is False and sim.now == 13 * SECOND


def test_run_until_idle_with_periodic_timer_is_bounded():
    sim = Simulator(0)

    def periodic():
        sim.call_later(10 * SECOND, periodic)

    sim.call_soon(periodic)
    assert sim.run_until_idle(max_time=55 * SECOND) is False
    assert sim.now == 55 * SECOND


def test_child_rngs_are_deterministic_and_independent():
    a = Simulator(42)
    b = Simulator(42)
    assert a.rng("r1/ike").random() == b.rng("r1/ike").random()
    assert a.rng("r1/ike").random() != a.rng("r2/ike").random()
    assert Simulator(43).rng("r1/ike").random() != a.rng("r1/ike").random()
    # using one child does not disturb another
    r2 = a.rng("r2/ike").random()
    b.rng("r1/ike").random()
    assert b.rng("r2/ike").random() == r2
    assert Simulator(7).random.random() == Simulator(7).random.random()


def test_serial_link_timing_and_queueing():
    sim = Simulator(0)
    link = SerialLink(sim, bandwidth_bps=8000, delay_ns=500 * MS)  # 1 ms per octet
    got = []
    link.b.receiver = lambda f: got.append((sim.now, f))
    taps = []
    link.taps.append(lambda t, d, f: taps.append((t, d, len(f))))
    link.a.send(b"x" * 1000)   # 1 s to clock out
    link.a.send(b"y" * 500)    # waits, then 0.5 s
    sim.run_until_idle()
    assert got[0][0] == 1500 * MS
    assert got[1][0] == 2 * SECOND
    assert taps == [(0, "a->b", 1000), (1 * SECOND, "a->b", 500)]
    # directions are independent
    got_a = []
    link.a.receiver = lambda f: got_a.append(sim.now)
    t0 = sim.now
    link.b.send(b"z" * 100)
    sim.run_until_idle()
    assert got_a == [t0 + 100 * MS + 500 * MS]


def test_serialisation_time_is_exact_and_rounds_up():
    sim = Simulator(0)
    link = SerialLink(sim, bandwidth_bps=1_544_000, delay_ns=0)
    got = []
    link.b.receiver = lambda f: got.append(sim.now)
    link.a.send(b"x" * 100)    # 800 bits at 1.544 Mb/s: 518134.7... ns, rounded up
    link.a.send(b"x" * 100)    # queued behind it: the sum is exact, no drift
    sim.run_until_idle()
    assert got == [518_135, 2 * 518_135]


def test_serial_link_down_drops_and_notifies():
    sim = Simulator(0)
    link = SerialLink(sim, bandwidth_bps=8000, delay_ns=500 * MS)
    got, carrier = [], []
    link.b.receiver = got.append
    link.a.on_carrier = lambda up: carrier.append(("a", up, sim.now))
    link.b.on_carrier = lambda up: carrier.append(("b", up, sim.now))
    link.a.send(b"in flight")
    sim.run_until(100 * MS)
    link.set_up(False)
    assert link.a.send(b"dropped") is False
    link.set_up(True)          # flap: the in-flight frame is still lost
    sim.run_until_idle()
    assert got == []
    assert ("a", False, 100 * MS) in carrier and ("b", True, 100 * MS) in carrier
    link.a.send(b"ok")
    sim.run_until_idle()
    assert got == [b"ok"]


def test_serial_link_filter_for_fault_injection():
    sim = Simulator(0)
    link = SerialLink(sim, 64000, 1 * MS)
    got = []
    link.b.receiver = got.append
    link.filter = lambda d, f: None if f == b"drop" else f.upper()
    link.a.send(b"drop")
    link.a.send(b"keep")
    sim.run_until_idle()
    assert got == [b"KEEP"] and link.a.dropped == 1


def _frame(dst: bytes, src: bytes, size: int = 125) -> bytes:
    return (dst + src).ljust(size, b"\x00")


MAC_A, MAC_B, MAC_C = (bytes([0, 0, 0x0C, 0, 0, n]) for n in (1, 2, 3))


def test_ethernet_segment_broadcasts_to_others():
    sim = Simulator(0)
    seg = EthernetSegment(sim, delay_ns=0)
    got = {n: [] for n in "abc"}
    ports = {n: seg.attach(lambda f, n=n: got[n].append((sim.now, f)), name=n) for n in "abc"}
    frame = _frame(b"\xff" * 6, MAC_A)
    ports["a"].send(frame)   # 1000 bits at 10 Mb/s = 100 µs
    sim.run_until_idle()
    assert got["a"] == []
    assert got["b"] == got["c"] == [(100 * US, frame)]
    ports["c"].detach()
    ports["b"].send(_frame(b"\xff" * 6, MAC_B, 2))
    sim.run_until_idle()
    assert len(got["a"]) == 1 and len(got["c"]) == 1


def test_ethernet_segment_switches_known_unicast():
    sim = Simulator(0)
    seg = EthernetSegment(sim, delay_ns=0)
    got: dict[str, list[bytes]] = {n: [] for n in "abc"}
    ports = {n: seg.attach(lambda f, n=n: got[n].append(f), name=n) for n in "abc"}
    seen = []
    seg.taps.append(lambda t, name, f: seen.append(name))
    to_b = _frame(MAC_B, MAC_A)
    ports["a"].send(to_b)                      # B not learnt yet: flooded
    sim.run_until_idle()
    assert got == {"a": [], "b": [to_b], "c": [to_b]}
    ports["b"].send(_frame(MAC_A, MAC_B))      # A learnt from its first frame: to a alone
    sim.run_until_idle()
    assert got["a"] == [_frame(MAC_A, MAC_B)] and len(got["c"]) == 1
    ports["a"].send(to_b)                      # B learnt now: c no longer sees it
    multicast = _frame(b"\x01\x00\x5e\x00\x00\x05", MAC_A)
    ports["a"].send(multicast)                 # a group address is flooded
    sim.run_until_idle()
    assert got["b"] == [to_b, to_b, multicast] and got["c"] == [to_b, multicast]
    assert seen == ["a", "b", "a", "a"]        # a tap sees every frame, switched or flooded
    assert seg.macs == {MAC_A: ports["a"], MAC_B: ports["b"]}
    ports["b"].detach()                        # the table forgets a port that went
    assert seg.macs == {MAC_A: ports["a"]}
    ports["a"].send(to_b)
    sim.run_until_idle()
    assert got["c"] == [to_b, multicast, to_b]


def test_realtime_driver_hook():
    sim = Simulator(0)
    seen = []
    sim.call_at(1 * SECOND, seen.append, 1)
    sim.call_at(3 * SECOND, seen.append, 3)
    assert sim.run_realtime_step(100.0) == pytest.approx(101.0)
    assert sim.run_realtime_step(101.5) == pytest.approx(103.0)
    assert seen == [1] and sim.now == 1500 * MS
    sim.run_realtime_step(104.0)
    assert seen == [1, 3] and sim.run_realtime_step(105.0) is None


def test_many_events_run_in_order():
    sim = Simulator(0)
    n = 100_000
    seen = []
    for i in range(n):
        sim.call_at(i * MS, seen.append, i)
    sim.run_until_idle()
    assert sim.events_run == n and seen == list(range(n)) and sim.now == (n - 1) * MS
