"""The SLARP keepalive engine: two bare engines back to back on a fake clock."""

from emulator.engines.slarp import (
    DEFAULT_PERIOD,
    MISSED_KEEPALIVES,
    FrameError,
    LineProtocol,
    SlarpSession,
    frame,
)
from emulator.labtime import SECOND
from emulator.wire import chdlc
from emulator.wire.ppp import fcs16


class Pair:
    """Two sessions joined by a wire without delay; timers run when ``run_until`` passes them."""

    def __init__(self, keepalive=DEFAULT_PERIOD):
        self.a, self.b = SlarpSession(keepalive), SlarpSession(keepalive)
        self.now = 0
        self.cut = False
        self.events = {id(self.a): [], id(self.b): []}
        self.sent = {id(self.a): [], id(self.b): []}    # (time, SLARP keepalive) each session sent

    def flush(self):
        moved = True
        while moved:
            moved = False
            for src, dst in ((self.a, self.b), (self.b, self.a)):
                for f in src.frames_to_send(self.now):
                    moved = True
                    ka = chdlc.decode_slarp(chdlc.CHDLCFrame.decode(f[:-2]).payload)
                    self.sent[id(src)].append((self.now, ka))
                    if not self.cut:
                        dst.receive_frame(f, self.now)
            for s in (self.a, self.b):
                while (event := s.next_event()) is not None:
                    self.events[id(s)].append((self.now, event))

    def start(self):
        self.a.link_changed(True, self.now)
        self.b.link_changed(True, self.now)
        self.flush()

    def run_until(self, end):
        while True:
            due = [(t, s) for s in (self.a, self.b) if (t := s.get_timer()) is not None and t <= end]
            if not due:
                break
            t, s = min(due, key=lambda d: d[0])
            assert t >= self.now
            self.now = t
            s.handle_timer(t)
            self.flush()
        self.now = end


def test_keepalives_bring_the_line_protocol_up_and_carry_both_sequence_numbers():
    p = Pair()
    p.start()
    assert p.events[id(p.a)] == [(0, LineProtocol(True))]
    assert p.events[id(p.b)] == [(0, LineProtocol(True))]
    assert p.a.protocol_up and p.b.protocol_up
    p.run_until(25 * SECOND)
    # Both sent at 0 before hearing each other; from then on each echoes the other's latest sequence
    # number (a ticks first at each instant here, so b has just heard a's).
    assert [(t, k.my_sequence, k.your_sequence) for t, k in p.sent[id(p.a)]] == [
        (0, 1, 0), (10 * SECOND, 2, 1), (20 * SECOND, 3, 2)]
    assert [(t, k.my_sequence, k.your_sequence) for t, k in p.sent[id(p.b)]] == [
        (0, 1, 0), (10 * SECOND, 2, 2), (20 * SECOND, 3, 3)]
    assert all(k.reliability == chdlc.RELIABILITY for _, k in p.sent[id(p.a)])


def test_keepalive_every_period_and_the_timer_at_the_next():
    p = Pair(keepalive=7 * SECOND)
    p.start()
    assert p.a.get_timer() == 7 * SECOND
    p.run_until(7 * SECOND - 1)
    assert [t for t, _ in p.sent[id(p.a)]] == [0]
    p.run_until(7 * SECOND)
    assert [t for t, _ in p.sent[id(p.a)]] == [0, 7 * SECOND]
    assert p.a.get_timer() == 14 * SECOND


def test_line_protocol_goes_down_at_the_tick_after_three_missed_keepalives():
    p = Pair()
    p.start()
    p.cut = True                      # nothing heard after the keepalive at 0
    limit = MISSED_KEEPALIVES * DEFAULT_PERIOD
    p.run_until(limit)                # at 30 s, exactly three periods: not more than three, still up
    assert p.a.protocol_up
    p.run_until(limit + DEFAULT_PERIOD)
    assert p.events[id(p.a)] == [(0, LineProtocol(True)), (limit + DEFAULT_PERIOD, LineProtocol(False))]
    assert not p.a.protocol_up
    # Keepalives keep going out while the line protocol is down, and one heard brings it up again.
    assert [t for t, _ in p.sent[id(p.a)]][-1] == limit + DEFAULT_PERIOD
    p.cut = False
    p.run_until(limit + 2 * DEFAULT_PERIOD)
    assert p.events[id(p.a)][-1] == (limit + 2 * DEFAULT_PERIOD, LineProtocol(True))


def test_without_keepalives_the_line_protocol_follows_the_link():
    s = SlarpSession(None)
    s.link_changed(True, 0)
    assert s.next_event() == LineProtocol(True)
    assert s.frames_to_send(0) == [] and s.get_timer() is None
    s.link_changed(False, 5)
    assert s.next_event() == LineProtocol(False) and s.next_event() is None


def test_link_down_stops_keepalives_and_a_restart_counts_from_one():
    p = Pair()
    p.start()
    p.run_until(10 * SECOND)
    assert p.a.my_seq == 2
    p.a.link_changed(False, p.now)
    assert p.a.get_timer() is None and not p.a.protocol_up
    p.a.link_changed(True, p.now)
    p.flush()
    assert p.sent[id(p.a)][-1][1].my_sequence == 1
    p.a.reconfigure(5 * SECOND, True, p.now)
    p.flush()
    assert p.sent[id(p.a)][-1][1].my_sequence == 1 and p.a.get_timer() == p.now + 5 * SECOND


def test_ip_goes_over_the_line_only_while_it_is_up():
    p = Pair()
    assert p.a.send_ip(b"\x45" + bytes(19)) is None
    p.start()
    data = b"\x45" + bytes(19)
    f = p.a.send_ip(data)
    assert f == frame(chdlc.PROTO_IPV4, data)
    assert chdlc.CHDLCFrame.decode(f[:-2]).address == chdlc.ADDRESS_UNICAST
    assert p.b.receive_frame(f, p.now) == data
    assert p.b.next_event() is None
    p.b.link_changed(False, p.now)
    assert p.b.receive_frame(f, p.now) is None


def test_bad_frames_are_counted_and_reported():
    s = SlarpSession()
    body = chdlc.CHDLCFrame(chdlc.PROTO_SLARP, b"\x00\x00\x00\x02").encode()
    s.receive_frame(body + b"\x00\x00", 0)
    assert s.next_event() == FrameError("chdlc: bad FCS", crc=True)
    s.receive_frame(body + fcs16(body).to_bytes(2, "little"), 0)     # a keepalive cut short
    event = s.next_event()
    assert isinstance(event, FrameError) and not event.crc and event.reason.startswith("slarp")
    assert s.input_errors == 2
    other = chdlc.CHDLCFrame(0x2000, b"cdp").encode()                 # CDP: ignored, not an error
    s.receive_frame(other + fcs16(other).to_bytes(2, "little"), 0)
    assert s.next_event() is None and s.input_errors == 2
