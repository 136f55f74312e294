"""The TCP engine on its own: two engines paired on a fake clock, segments through a lossy wire."""

import random
from ipaddress import IPv4Address

from emulator.engines.tcp import (
    DATA_RETRIES,
    DEFAULT_WINDOW,
    SYN_RETRIES,
    TIME_WAIT,
    Closed,
    Opened,
    PeerClosed,
    Received,
    TcpEngine,
)
from emulator.labtime import MS, SECOND
from emulator.wire.tcp import ACK, FIN, RST, SYN, TCPSegment

A = IPv4Address("192.0.2.1")
B = IPv4Address("198.51.100.2")


class Pair:
    """Two engines and the wire between them: ``delay`` each way, ``lose`` decides which segments vanish."""

    def __init__(self, serve=(23,), delay=10 * MS):
        self.now = 0
        self.delay = delay
        self.a = TcpEngine(random.Random(1), lambda port: False)
        self.b = TcpEngine(random.Random(2), lambda port: port in serve)
        self.events = {"a": [], "b": []}
        self.wire = []           # (arrival, to, src, dst, segment bytes)
        self.sent = []           # every segment, decoded again from its bytes
        self.lose = lambda seg: False

    def flush(self):
        for name, engine, peer in (("a", self.a, "b"), ("b", self.b, "a")):
            for out in engine.datagrams_to_send(self.now):
                raw = out.segment.encode(out.src, out.dst)
                seg = TCPSegment.decode(raw, out.src, out.dst)      # the checksum verifies
                self.sent.append((name, seg))
                if not self.lose(seg):
                    self.wire.append((self.now + self.delay, peer, out.src, out.dst, raw))
            while (event := engine.next_event()) is not None:
                self.events[name].append(event)

    def run(self, until):
        self.flush()
        while True:
            times = [w[0] for w in self.wire] + [t for t in (self.a.get_timer(), self.b.get_timer()) if t]
            if not times or min(times) > until:
                self.now = until
                return
            self.now = min(times)
            for item in [w for w in self.wire if w[0] <= self.now]:
                self.wire.remove(item)
                _, to, src, dst, raw = item
                engine = self.a if to == "a" else self.b
                engine.segment_in(self.now, src, dst, TCPSegment.decode(raw, src, dst))
            for engine in (self.a, self.b):
                timer = engine.get_timer()
                if timer is not None and timer <= self.now:
                    engine.handle_timer(self.now)
            self.flush()


def data(events):
    return b"".join(e.data for e in events if isinstance(e, Received))


def test_three_way_handshake_with_mss_and_ios_window():
    p = Pair()
    conn = p.a.connect(0, A, B, 23)
    p.run(1 * SECOND)
    assert p.events["a"] == [Opened(conn, passive=False)]
    assert [type(e) for e in p.events["b"]] == [Opened]
    syn, synack, ack = (seg for _, seg in p.sent[:3])
    assert syn.flags == SYN and synack.flags == SYN | ACK and ack.flags == ACK
    assert syn.options[:2] == bytes([2, 4]) and int.from_bytes(syn.options[2:4], "big") == 536
    assert syn.window == synack.window == DEFAULT_WINDOW == 4128
    assert synack.ack == (syn.seq + 1) % 2**32 and ack.ack == (synack.seq + 1) % 2**32
    assert 11000 <= syn.src_port and syn.dst_port == 23


def test_data_both_ways_segmented_by_mss_and_in_order():
    p = Pair()
    conn = p.a.connect(0, A, B, 23)
    p.run(SECOND)
    bconn = p.b.connections()[0].conn
    blob = bytes(range(256)) * 20          # 5120 bytes: more than one window
    p.a.send(p.now, conn, blob)
    p.b.send(p.now, bconn, b"hello")
    p.run(5 * SECOND)
    assert data(p.events["b"]) == blob
    assert data(p.events["a"]) == b"hello"
    assert max(len(seg.payload) for _, seg in p.sent) == 536
    assert p.a.tcb(conn).bytes_out == len(blob)


def test_lost_segment_is_retransmitted_with_rto_backoff():
    p = Pair()
    conn = p.a.connect(0, A, B, 23)
    p.run(SECOND)
    lost = []

    def lose(seg):
        if seg.payload == b"x" and len(lost) < 2:
            lost.append(p.now)
            return True
        return False
    p.lose = lose
    p.a.send(p.now, conn, b"x")
    p.run(10 * SECOND)
    assert data(p.events["b"]) == b"x"
    sends = [seg for who, seg in p.sent if who == "a" and seg.payload == b"x"]
    assert len(sends) == 3
    assert lost[1] - lost[0] < (p.now - lost[1])    # the second wait was longer: the RTO doubled
    assert p.a.tcb(conn).retries == 0


def test_closed_port_answers_rst_and_client_reports_refused():
    p = Pair()
    conn = p.a.connect(0, A, B, 80)
    p.run(SECOND)
    assert p.events["a"] == [Closed(conn, "refused")]
    rst = p.sent[1][1]
    assert rst.flags == RST | ACK and rst.ack == (p.sent[0][1].seq + 1) % 2**32
    assert p.b.resets_sent == 1 and not p.a.connections()


def test_unanswered_syn_times_out_after_bounded_retries():
    p = Pair()
    p.lose = lambda seg: True
    conn = p.a.connect(0, A, B, 23)
    p.run(120 * SECOND)
    assert p.events["a"] == [Closed(conn, "timeout")]
    syns = [seg for who, seg in p.sent if who == "a"]
    assert len(syns) == SYN_RETRIES + 1
    assert p.a.get_timer() is None


def test_data_unacknowledged_ends_in_a_reset():
    p = Pair()
    conn = p.a.connect(0, A, B, 23)
    p.run(SECOND)
    p.lose = lambda seg: bool(seg.payload)
    p.a.send(p.now, conn, b"lost forever")
    p.run(2000 * SECOND)
    assert p.events["a"][-1] == Closed(conn, "timeout")
    assert sum(1 for who, seg in p.sent if who == "a" and seg.payload) == DATA_RETRIES + 1
    assert p.sent[-1][1].flags == RST
    assert [type(e) for e in p.events["b"]][-1] is Closed     # the RST reached the peer


def test_close_both_ways_and_time_wait_bounded():
    p = Pair()
    conn = p.a.connect(0, A, B, 23)
    p.run(SECOND)
    bconn = p.b.connections()[0].conn
    p.b.send(p.now, bconn, b"bye\r\n")
    p.b.close(p.now, bconn)          # the server closes first (exit on the vty)
    p.run(2 * SECOND)
    assert data(p.events["a"]) == b"bye\r\n" and PeerClosed(conn) in p.events["a"]
    p.a.close(p.now, conn)
    p.run(3 * SECOND)
    assert p.events["a"][-1] == Closed(conn, "closed") and p.events["b"][-1] == Closed(bconn, "closed")
    fins = [who for who, seg in p.sent if seg.has(FIN)]
    assert fins == ["b", "a"]
    assert p.b.tcb(bconn).state == "TIME_WAIT" and p.a.tcb(conn) is None
    p.run(3 * SECOND + TIME_WAIT)
    assert p.b.tcb(bconn) is None and p.b.get_timer() is None


def test_out_of_order_and_duplicate_segments_are_acked_not_delivered_twice():
    p = Pair()
    conn = p.a.connect(0, A, B, 23)
    p.run(SECOND)
    tcb = p.a.tcb(conn)
    bconn = p.b.connections()[0].conn
    seq = tcb.snd_nxt
    early = TCPSegment(tcb.key[1], 23, seq=seq + 3, ack=tcb.rcv_nxt, flags=ACK, payload=b"def")
    first = TCPSegment(tcb.key[1], 23, seq=seq, ack=tcb.rcv_nxt, flags=ACK, payload=b"abc")
    for seg in (early, first, first):
        p.b.segment_in(p.now, A, B, seg)
    assert data(p.b._events) == b"abc"
    acks = [o.segment.ack for o in p.b.datagrams_to_send(p.now)]
    assert acks == [seq, seq + 3, seq + 3]
    assert p.b.tcb(bconn).rcv_nxt == seq + 3


def test_random_segments_are_answered_or_dropped_never_raise():
    p = Pair()
    conn = p.a.connect(0, A, B, 23)
    p.run(SECOND)
    tcb = p.b.connections()[0]
    rng = random.Random(9293)
    kinds = {}
    for i in range(3000):
        near = (tcb.rcv_nxt + rng.randrange(-5000, 5000)) % 2**32
        seg = TCPSegment(tcb.key[3] if rng.random() < 0.8 else rng.randrange(65536),
                         23 if rng.random() < 0.8 else rng.randrange(65536),
                         seq=near if rng.random() < 0.7 else rng.getrandbits(32),
                         ack=rng.getrandbits(32), flags=rng.randrange(256), window=rng.randrange(65536),
                         options=bytes(rng.randrange(256) for _ in range(rng.choice([0, 4, 8]))),
                         payload=bytes(rng.randrange(256) for _ in range(rng.randrange(20))))
        p.b.segment_in(i * MS, A, B, seg)
        for out in p.b.datagrams_to_send(i * MS):
            kinds[out.segment.flags] = kinds.get(out.segment.flags, 0) + 1
        while p.b.next_event() is not None:
            pass
        timer = p.b.get_timer()
        if timer is not None and timer <= i * MS:
            p.b.handle_timer(i * MS)
            assert (p.b.get_timer() or i * MS + 1) > i * MS
    print(f"3000 random segments: replies by flags {sorted(kinds.items())}, "
          f"{p.b.resets_sent} resets, {p.b.dropped} dropped")
    assert len(p.b.connections()) <= 64
    assert conn in {t.conn for t in p.a.connections()}


def test_a_lost_segment_in_a_window_is_recovered_by_going_back():
    p = Pair()
    conn = p.a.connect(0, A, B, 23)
    p.run(SECOND)
    blob = bytes(range(200)) * 20           # 4000 bytes: eight segments in one window
    dropped = []

    def lose(seg):
        if seg.payload and not dropped:
            dropped.append(seg.seq)
            return True
        return False
    p.lose = lose
    start = p.now
    p.a.send(p.now, conn, blob)
    p.run(start + 3 * SECOND)
    assert data(p.events["b"]) == blob
    tcb = p.a.tcb(conn)
    assert tcb.snd_una == tcb.snd_nxt and not tcb.out      # all acknowledged
    resent = [seg.seq for who, seg in p.sent if who == "a" and seg.payload][8:]
    assert resent[0] == dropped[0]                          # the go-back starts at the loss


def test_a_lost_syn_ack_is_sent_again_when_the_syn_repeats():
    p = Pair()
    lost = []

    def lose(seg):
        if seg.flags == SYN | ACK and not lost:
            lost.append(seg)
            return True
        return False
    p.lose = lose
    conn = p.a.connect(0, A, B, 23)
    p.run(5 * SECOND)
    assert p.events["a"] == [Opened(conn, passive=False)]
    synacks = [seg for who, seg in p.sent if who == "b" and seg.flags == SYN | ACK]
    assert len(synacks) >= 2 and len({s.seq for s in synacks}) == 1
    # The repeated SYN is answered with a SYN-ACK at once (the server's own timer may send one too).
    second_syn = [i for i, (who, seg) in enumerate(p.sent) if who == "a" and seg.flags == SYN][1]
    assert p.sent[second_syn + 1] == ("b", synacks[-1])
