"""RFC 1661 automaton, LCP and IPCP sessions driven against each other."""

import heapq
import ipaddress
import random

from scapy.layers.inet import ICMP, IP
from scapy.layers.ppp import HDLC, PPP, PPP_IPCP, PPP_LCP

from emulator.cli import ppp_debug
from emulator.cli.show_interfaces import LCP_STATE
from emulator.device.console import PppOptionTraced, PppTraced
from emulator.engines.ppp import (
    TRANSITIONS,
    Automaton,
    ControlTraced,
    IPCPClosed,
    IPCPOpened,
    IPPacket,
    LayerOpenTraced,
    LinkClosed,
    LinkFinished,
    LinkOpened,
    LoopDetected,
    PhaseTraced,
    PPPConfig,
    PPPSession,
)
from emulator.engines.ppp import Action as A
from emulator.engines.ppp import Event as E
from emulator.engines.ppp import State as S
from emulator.sim.binding import EngineBinding
from emulator.sim.clock import MS, SECOND, Simulator
from emulator.sim.wires import SerialLink
from emulator.wire import ppp as w

ip4 = ipaddress.IPv4Address


# ---------------------------------------------------------------------------
# Automaton table and counters


def test_table_is_complete_rfc1661_table():
    assert len(TRANSITIONS) == 120  # 160 cells less 40 dashes
    rows = {
        (S.INITIAL, E.UP): ((), S.CLOSED),
        (S.STARTING, E.UP): ((A.IRC, A.SCR), S.REQ_SENT),
        (S.STOPPED, E.DOWN): ((A.TLS,), S.STARTING),
        (S.STARTING, E.CLOSE): ((A.TLF,), S.INITIAL),
        (S.STOPPED, E.RCR_PLUS): ((A.IRC, A.SCR, A.SCA), S.ACK_SENT),
        (S.STOPPED, E.RCR_MINUS): ((A.IRC, A.SCR, A.SCN), S.REQ_SENT),
        (S.REQ_SENT, E.RCA): ((A.IRC,), S.ACK_RCVD),
        (S.ACK_RCVD, E.RCR_PLUS): ((A.SCA, A.TLU), S.OPENED),
        (S.ACK_RCVD, E.RCN): ((A.SCR,), S.REQ_SENT),
        (S.ACK_SENT, E.RCA): ((A.IRC, A.TLU), S.OPENED),
        (S.ACK_SENT, E.TO_PLUS): ((A.SCR,), S.ACK_SENT),
        (S.OPENED, E.RTR): ((A.TLD, A.ZRC, A.STA), S.STOPPING),
        (S.OPENED, E.CLOSE): ((A.TLD, A.IRC, A.STR), S.CLOSING),
        (S.OPENED, E.RXJ_MINUS): ((A.TLD, A.IRC, A.STR), S.STOPPING),
        (S.OPENED, E.RXR): ((A.SER,), S.OPENED),
        (S.CLOSING, E.RTA): ((A.TLF,), S.CLOSED),
        (S.CLOSED, E.RCR_PLUS): ((A.STA,), S.CLOSED),
        (S.REQ_SENT, E.TO_MINUS): ((A.TLF,), S.STOPPED),
    }
    for key, value in rows.items():
        assert TRANSITIONS[key] == value, key
    for illegal in ((S.INITIAL, E.RCA), (S.OPENED, E.UP), (S.OPENED, E.TO_PLUS),
                    (S.STARTING, E.RCR_PLUS)):
        assert illegal not in TRANSITIONS


def recorder():
    log = []
    return log, lambda action, now: log.append((now, action))


def test_automaton_max_configure_then_stopped():
    log, perform = recorder()
    fsm = Automaton("LCP", perform)
    fsm.event(E.OPEN, 0)
    fsm.event(E.UP, 0)
    assert fsm.state == S.REQ_SENT and fsm.get_timer() == 2 * SECOND
    now = 0
    while fsm.get_timer() is not None:
        now = fsm.get_timer()
        fsm.handle_timer(now)
    sent = [t for t, a in log if a is A.SCR]
    assert sent == [2 * SECOND * i for i in range(10)]  # Max-Configure = 10
    assert fsm.state == S.STOPPED and log[-1] == (20 * SECOND, A.TLF)


def test_automaton_terminate_and_zrc():
    log, perform = recorder()
    fsm = Automaton("LCP", perform)
    fsm.state = S.OPENED
    fsm.event(E.CLOSE, 0)
    assert fsm.state == S.CLOSING
    while fsm.get_timer() is not None:
        fsm.handle_timer(fsm.get_timer())
    assert [a for _, a in log] == [A.TLD, A.STR, A.STR, A.TLF]  # Max-Terminate 2
    assert fsm.state == S.CLOSED

    log.clear()
    fsm.state = S.OPENED
    fsm.event(E.RTR, 10 * SECOND)
    assert fsm.state == S.STOPPING and fsm.get_timer() == 12 * SECOND  # zrc waits one period
    fsm.handle_timer(12 * SECOND)
    assert [a for _, a in log] == [A.TLD, A.STA, A.TLF] and fsm.state == S.STOPPED


def test_automaton_illegal_event_ignored():
    fsm = Automaton("IPCP")
    assert fsm.event(E.RCA, 0) is False
    assert fsm.state == S.INITIAL and fsm.illegal_events == 1


# ---------------------------------------------------------------------------
# Two sessions on an in-memory wire


class Pool:
    def __init__(self, *addrs):
        self.free = [ip4(a) for a in addrs]
        self.given, self.released = [], []

    def take(self):
        if not self.free:
            return None
        addr = self.free.pop(0)
        self.given.append(addr)
        return addr

    def give_back(self, addr):
        self.released.append(addr)
        self.free.insert(0, addr)


class Pair:
    """Two sessions, a fixed one-way delay, a virtual clock, a capture."""

    def __init__(self, cfg_a, cfg_b, delay=10 * MS):
        self.a = PPPSession(cfg_a, random.Random(1), 0)
        self.b = PPPSession(cfg_b, random.Random(2), 0)
        self.delay = delay
        self.now = 0
        self.flight = []
        self.seq = 0
        self.drop = lambda src, frame: False
        self.wire = []                       # (time, src, frame), incl. dropped
        self.ev = {"a": [], "b": []}
        self.traces = {"a": [], "b": []}

    def other(self, name):
        return self.b if name == "a" else self.a

    def flush(self):
        for name, s in (("a", self.a), ("b", self.b)):
            for event in s.events():
                # Trace events only feed "debug ppp negotiation"; kept apart from the link's events.
                traced = isinstance(event, (ControlTraced, LayerOpenTraced, PhaseTraced))
                (self.traces if traced else self.ev)[name].append(event)
            for frame in s.frames_to_send():
                self.wire.append((self.now, name, frame))
                if not self.drop(name, frame):
                    self.seq += 1
                    heapq.heappush(self.flight, (self.now + self.delay, self.seq,
                                                 "b" if name == "a" else "a", frame))

    def start(self):
        for s in (self.a, self.b):
            s.lower_up(self.now)
            s.admin_open(self.now)
        self.flush()

    def run(self, until):
        self.flush()
        while True:
            times = [t for t in (self.a.get_timer(), self.b.get_timer()) if t is not None]
            if self.flight:
                times.append(self.flight[0][0])
            if not times or min(times) > until:
                break
            self.now = max(self.now, min(times))
            while self.flight and self.flight[0][0] <= self.now:
                _, _, dst, frame = heapq.heappop(self.flight)
                (self.a if dst == "a" else self.b).receive_frame(frame, self.now)
            for s in (self.a, self.b):
                t = s.get_timer()
                if t is not None and t <= self.now:
                    s.handle_timer(self.now)
            self.flush()
        self.now = until

    def sent(self, name, protocol, code):
        out = []
        for t, src, frame in self.wire:
            f = w.decode_frame(frame)
            if src == name and f.protocol == protocol:
                pkt = w.decode_control(f.information, protocol)
                if pkt.code == code:
                    out.append((t, pkt))
        return out


def spoke_hub(**kw):
    """A: ``ip address negotiated``; B: fixed address + peer pool."""
    pool = Pool("10.0.0.2", "10.0.0.3")
    a = PPPConfig(negotiate_address=True, **kw)
    b = PPPConfig(local_address="10.0.0.1", peer_address_provider=pool.take,
                  peer_address_release=pool.give_back, **kw)
    return Pair(a, b), pool


def test_negotiation_reaches_lcp_and_ipcp_open_with_pool_address():
    pair, pool = spoke_hub()
    pair.start()
    pair.run(1 * SECOND)
    a, b = pair.a, pair.b
    assert a.lcp_open and b.lcp_open and a.ipcp_open and b.ipcp_open
    assert a.local_address == ip4("10.0.0.2") and a.peer_address == ip4("10.0.0.1")
    assert b.local_address == ip4("10.0.0.1") and b.peer_address == ip4("10.0.0.2")
    assert pool.given == [ip4("10.0.0.2")]
    assert pair.ev["a"] == [LinkOpened(1500), IPCPOpened(ip4("10.0.0.2"), ip4("10.0.0.1"))]
    assert f"LCP {LCP_STATE[a.lcp_state]}" == "LCP Open" and a.open_ncps() == ["IPCP"]
    # IPCP exchange as IOS shows it: A asks 0.0.0.0, B Naks with the pool address.
    reqs = [p.options for _, p in pair.sent("a", w.PPP_IPCP, w.CONFIGURE_REQUEST)]
    assert reqs == [(w.ip_option("0.0.0.0"),), (w.ip_option("10.0.0.2"),)]
    naks = pair.sent("b", w.PPP_IPCP, w.CONFIGURE_NAK)
    assert [p.options for _, p in naks] == [(w.ip_option("10.0.0.2"),)]
    assert a.input_errors == b.input_errors == 0


def test_ip_packets_pass_only_after_open():
    pair, _ = spoke_hub()
    packet = bytes(IP(src="10.0.0.2", dst="10.0.0.1") / ICMP())
    assert pair.a.send_ip(packet) is None
    pair.start()
    pair.run(1 * SECOND)
    frame = pair.a.send_ip(packet)
    assert HDLC(w.frame_for_pcap(frame))[IP].dst == "10.0.0.1"
    pair.b.receive_frame(frame, pair.now)
    assert pair.b.events() == [IPPacket(packet)]


def test_lower_down_releases_and_renegotiation_rehands_address():
    pair, pool = spoke_hub()
    pair.start()
    pair.run(1 * SECOND)
    for s in (pair.a, pair.b):   # the line drops: both ends lose carrier
        s.lower_down(pair.now)
    pair.flush()
    assert pool.released == [ip4("10.0.0.2")]
    assert LinkClosed("carrier down") in pair.ev["b"]
    assert IPCPClosed("carrier down") in pair.ev["a"]
    assert not pair.a.ipcp_open and pair.a.local_address is None
    pair.run(5 * SECOND)
    assert not pair.a.lcp_open  # no carrier, nothing happens
    for s in (pair.a, pair.b):
        s.lower_up(pair.now)
    pair.run(10 * SECOND)
    assert pair.a.ipcp_open and pair.a.local_address == ip4("10.0.0.2")
    assert pool.given == [ip4("10.0.0.2"), ip4("10.0.0.2")]


def test_one_end_bounces_peer_renegotiates_from_opened():
    pair, pool = spoke_hub()
    pair.start()
    pair.run(1 * SECOND)
    pair.a.lower_down(pair.now)
    pair.a.lower_up(pair.now)
    pair.run(3 * SECOND)
    # B saw a Configure-Request while Opened: tld, renegotiate (RFC 1661 §4.1).
    assert LinkClosed("LCP down") in pair.ev["b"]
    assert pool.released == [ip4("10.0.0.2")]
    assert pair.a.ipcp_open and pair.b.ipcp_open
    assert pair.a.local_address == ip4("10.0.0.2")


def test_lost_first_configure_request_is_retransmitted_after_2s():
    pair, _ = spoke_hub()
    dropped = []

    def drop_first_a(src, frame):
        if src == "a" and not dropped:
            dropped.append(frame)
            return True
        return False

    pair.drop = drop_first_a
    pair.start()
    pair.run(1900 * MS)
    assert not pair.a.lcp_open
    pair.run(3 * SECOND)
    assert pair.a.lcp_open and pair.b.lcp_open and pair.a.ipcp_open
    times = [t for t, _ in pair.sent("a", w.PPP_LCP, w.CONFIGURE_REQUEST)]
    assert times == [0, 2 * SECOND]


def test_max_configure_exhaustion_ends_in_stopped_then_ios_retry():
    cfg = PPPConfig(lcp_retry_after=None)
    s = PPPSession(cfg, random.Random(5))
    s.lower_up(0)
    s.admin_open(0)
    sent = []
    now = 0
    while s.get_timer() is not None:
        sent += [(now, f) for f in s.frames_to_send()]
        now = s.get_timer()
        s.handle_timer(now)
    sent += [(now, f) for f in s.frames_to_send()]
    assert [t for t, _ in sent] == [2 * SECOND * i for i in range(10)]
    assert s.lcp_state == S.STOPPED and now == 20 * SECOND
    assert s.events() == [LinkFinished("LCP finished")]

    s2 = PPPSession(PPPConfig(lcp_retry_after=10 * SECOND), random.Random(5))
    s2.lower_up(0)
    s2.admin_open(0)
    for _ in range(10):
        s2.handle_timer(s2.get_timer())
    assert s2.lcp_state == S.STOPPED and s2.get_timer() == 30 * SECOND
    s2.frames_to_send()
    s2.handle_timer(30 * SECOND)
    assert s2.lcp_state == S.REQ_SENT and len(s2.frames_to_send()) == 1


def test_bad_frames_are_counted_not_raised():
    pair, _ = spoke_hub()
    pair.start()
    pair.run(1 * SECOND)
    a = pair.a
    good = w.encode_frame(w.PPP_LCP, w.encode_control(
        w.ControlPacket(w.ECHO_REQUEST, 1, b"\0\0\0\0")))
    corrupt = bytearray(good)
    corrupt[6] ^= 0xFF
    a.receive_frame(bytes(corrupt), pair.now)
    assert a.input_errors == 1 and "bad FCS" in a.last_error
    a.receive_frame(good[:3], pair.now)
    assert a.input_errors == 2 and "too short" in a.last_error
    # good FCS, but an LCP length field overrunning the packet
    a.receive_frame(w.encode_frame(w.PPP_LCP, b"\x01\x01\x00\x40"), pair.now)
    assert a.input_errors == 3 and a.last_error.startswith("lcp:")
    a.receive_frame(b"", pair.now)
    assert a.input_errors == 4
    assert a.lcp_open and a.ipcp_open


def test_terminate_request_handling():
    pair, pool = spoke_hub(lcp_retry_after=None)
    pair.start()
    pair.run(1 * SECOND)
    pair.b.admin_close(pair.now)
    pair.run(1100 * MS)
    assert pair.sent("b", w.PPP_IPCP, w.TERMINATE_REQUEST)
    assert pair.sent("b", w.PPP_LCP, w.TERMINATE_REQUEST)
    assert pair.sent("a", w.PPP_LCP, w.TERMINATE_ACK)
    assert pair.b.lcp_state == S.CLOSED
    assert pair.a.lcp_state == S.STOPPING          # tld, zrc, sta
    assert LinkClosed("LCP down") in pair.ev["a"]
    assert IPCPClosed("administratively closed") in pair.ev["b"]
    assert pool.released == [ip4("10.0.0.2")]
    pair.run(4 * SECOND)
    assert pair.a.lcp_state == S.STOPPED           # after one restart period
    pair.b.admin_open(pair.now)
    pair.run(6 * SECOND)
    assert pair.a.ipcp_open and pair.b.ipcp_open   # Stopped + RCR restarts


def test_echo_keepalives_and_dead_peer_detection():
    pair, _ = spoke_hub(keepalive=10 * SECOND)
    pair.start()
    pair.run(35 * SECOND)
    assert pair.a.lcp_open
    reqs = pair.sent("a", w.PPP_LCP, w.ECHO_REQUEST)
    reps = pair.sent("b", w.PPP_LCP, w.ECHO_REPLY)
    assert len(reqs) == 3 and len(reps) >= 3
    assert reqs[0][1].magic == pair.a.magic
    assert reps[0][1].identifier == reqs[0][1].identifier
    # B falls silent (its frames are lost): A gives up after 5 missed echoes.
    silenced = pair.now
    pair.drop = lambda src, frame: src == "b"
    pair.run(silenced + 55 * SECOND)
    assert pair.a.lcp_open
    pair.run(silenced + 65 * SECOND)
    assert LinkClosed("keepalive timeout") in pair.ev["a"]
    assert not pair.a.lcp_open and pair.a.lcp_state == S.REQ_SENT


def test_unknown_protocol_gets_protocol_reject_and_unknown_code_code_reject():
    pair, _ = spoke_hub()
    pair.start()
    pair.run(1 * SECOND)
    a = pair.a
    a.receive_frame(w.encode_frame(w.PPP_CDPCP, b"\x01\x01\x00\x04"), pair.now)
    out = [w.decode_frame(f) for f in a.frames_to_send()]
    rej = w.decode_control(out[0].information)
    assert rej.code == w.PROTOCOL_REJECT and rej.data == b"\x82\x07\x01\x01\x00\x04"
    weird = b"\x0c\x05\x00\x06ab"  # LCP code 12: unknown to us
    a.receive_frame(w.encode_frame(w.PPP_LCP, weird), pair.now)
    out = [w.decode_control(w.decode_frame(f).information) for f in a.frames_to_send()]
    assert out[0].code == w.CODE_REJECT and out[0].data == weird
    assert a.lcp_open


def test_protocol_reject_of_ipcp_stops_ipcp():
    pair, _ = spoke_hub()
    pair.start()
    pair.run(1 * SECOND)
    data = w.PPP_IPCP.to_bytes(2, "big") + b"\x01\x01\x00\x04"
    pair.a.receive_frame(w.encode_frame(w.PPP_LCP, w.encode_control(
        w.ControlPacket(w.PROTOCOL_REJECT, 1, data))), pair.now)
    assert pair.a.lcp_open and pair.a.ipcp_state == S.STOPPING


def test_both_fixed_addresses_ack_each_other():
    pair = Pair(PPPConfig(local_address="192.0.2.1"), PPPConfig(local_address="192.0.2.2"))
    pair.start()
    pair.run(1 * SECOND)
    assert pair.a.local_address == ip4("192.0.2.1") and pair.a.peer_address == ip4("192.0.2.2")
    assert pair.b.peer_address == ip4("192.0.2.1")
    assert not pair.sent("a", w.PPP_IPCP, w.CONFIGURE_NAK)


def test_negotiating_end_without_pool_gets_reject_and_opens_without_address():
    pair = Pair(PPPConfig(negotiate_address=True), PPPConfig(local_address="192.0.2.2"))
    pair.start()
    pair.run(1 * SECOND)
    assert pair.sent("b", w.PPP_IPCP, w.CONFIGURE_REJECT)
    assert pair.a.ipcp_open and pair.a.local_address is None
    assert pair.a.peer_address == ip4("192.0.2.2")


def test_wrong_address_from_peer_is_naked_with_assigned():
    pool = Pool("10.9.9.9")
    b = PPPSession(PPPConfig(local_address="10.9.9.1", peer_address_provider=pool.take),
                   random.Random(3))
    b.lower_up(0)
    b.admin_open(0)
    b.frames_to_send()

    def ask(ident, addr):
        b.receive_frame(w.encode_frame(w.PPP_IPCP, w.encode_control(w.ControlPacket(
            w.CONFIGURE_REQUEST, ident, options=(w.ip_option(addr),)))), 100 * MS)
        return [w.decode_control(w.decode_frame(f).information, w.PPP_IPCP)
                for f in b.frames_to_send()]

    # Open B's LCP by hand so IPCP packets are accepted.
    magic = w.u32_option(w.LCP_MAGIC_NUMBER, 0x5555)
    b.receive_frame(w.encode_frame(w.PPP_LCP, w.encode_control(
        w.ControlPacket(w.CONFIGURE_REQUEST, 1, options=(magic,)))), 50 * MS)
    lcp_req = b.lcp._last_req
    b.receive_frame(w.encode_frame(w.PPP_LCP, w.encode_control(
        w.ControlPacket(w.CONFIGURE_ACK, b.lcp._req_id, options=lcp_req))), 50 * MS)
    assert b.lcp_open
    b.frames_to_send()
    assert [p.code for p in ask(7, "0.0.0.0")] == [w.CONFIGURE_NAK]
    resp = ask(8, "10.1.2.3")
    assert resp[0].code == w.CONFIGURE_NAK and resp[0].options == (w.ip_option("10.9.9.9"),)
    resp = ask(9, "10.9.9.9")
    assert resp[0].code == w.CONFIGURE_ACK
    assert pool.given == [ip4("10.9.9.9")]  # provider asked once


def test_max_failure_turns_naks_into_rejects():
    s = PPPSession(PPPConfig(), random.Random(4))
    s.lower_up(0)
    s.admin_open(0)
    s.frames_to_send()
    codes = []
    for ident in range(1, 8):   # a peer insisting on MRU 10
        s.receive_frame(w.encode_frame(w.PPP_LCP, w.encode_control(w.ControlPacket(
            w.CONFIGURE_REQUEST, ident, options=(w.u16_option(w.LCP_MRU, 10),)))), 0)
        for f in s.frames_to_send():
            pkt = w.decode_control(w.decode_frame(f).information)
            if pkt.code != w.CONFIGURE_REQUEST:
                codes.append(pkt.code)
    assert codes == [w.CONFIGURE_NAK] * 5 + [w.CONFIGURE_REJECT] * 2


def test_looped_link_is_detected():
    s = PPPSession(PPPConfig(), random.Random(9))
    s.lower_up(0)
    s.admin_open(0)
    events = []
    for _ in range(40):    # everything we send comes straight back
        frames = s.frames_to_send()
        if not frames:
            break
        for f in frames:
            s.receive_frame(f, 0)
        events += s.events()
    assert s.looped and LoopDetected() in events


def test_frames_decode_with_scapy():
    pair, _ = spoke_hub()
    pair.start()
    pair.run(15 * SECOND)
    protos = set()
    for _, _, frame in pair.wire:
        pkt = HDLC(w.frame_for_pcap(frame))
        proto = pkt[PPP].proto
        protos.add(proto)
        layer = pkt[PPP].payload  # scapy dispatches to PPP_LCP_* subclasses
        assert isinstance(layer, PPP_LCP if proto == w.PPP_LCP else PPP_IPCP)
        assert layer.code in range(1, 12)
    assert protos == {w.PPP_LCP, w.PPP_IPCP}
    naks = [HDLC(w.frame_for_pcap(f)) for _, src, f in pair.wire
            if src == "b" and w.decode_frame(f).protocol == w.PPP_IPCP
            and w.decode_frame(f).information[0] == w.CONFIGURE_NAK]
    assert naks[0][PPP_IPCP].options[0].data == "10.0.0.2"


def test_trace_lines_look_like_ios_debug():
    pair = Pair(PPPConfig(trace=True), PPPConfig())
    pair.start()
    pair.run(1 * SECOND)
    lines = []
    for trace in pair.traces["a"]:
        lines.append(ppp_debug.trace_text(PppTraced("Serial0/0", trace)))
        for typ, value in getattr(trace, "options", ()):
            lines.append(ppp_debug.option_line(PppOptionTraced("Serial0/0", trace.layer, trace.protocol, typ, value)))
    headers = [ln for ln in lines if not ln.startswith("Se0/0 LCP:    ")]
    assert headers[:8] == ["Se0/0 PPP: Phase is ESTABLISHING, Active Open",
                           "Se0/0 LCP: O CONFREQ [Closed] id 1 len 10",
                           "Se0/0 LCP: I CONFREQ [REQsent] id 1 len 10",
                           "Se0/0 LCP: O CONFACK [REQsent] id 1 len 10",
                           "Se0/0 LCP: I CONFACK [ACKsent] id 1 len 10",
                           "Se0/0 LCP: State is Open",
                           "Se0/0 PPP: Phase is UP",
                           "Se0/0 IPCP: O CONFREQ [Closed] id 1 len 4"]
    # Each option follows its packet, named and in hex as IOS prints it.
    assert lines[2].startswith("Se0/0 LCP:    MagicNumber 0x")
    value = lines[2].split()[3][2:]
    assert lines[2].endswith(f"(0x0506{value})")


def test_sessions_over_simulated_serial_link():
    sim = Simulator(11)
    link = SerialLink(sim, bandwidth_bps=64_000, delay_ns=5 * MS)
    pool = Pool("172.16.0.2")
    sessions = {
        "a": PPPSession(PPPConfig(negotiate_address=True), sim.rng("a/ppp"), sim.now),
        "b": PPPSession(PPPConfig(local_address="172.16.0.1", peer_address_provider=pool.take,
                                  peer_address_release=pool.give_back), sim.rng("b/ppp"), sim.now),
    }
    ends = {"a": link.a, "b": link.b}
    got = {"a": [], "b": []}
    bindings = {name: EngineBinding(sim, s, transmit=ends[name].send, on_event=got[name].append, name=f"{name} PPP")
                for name, s in sessions.items()}

    for name, end in ends.items():
        def rx(frame, name=name):
            sessions[name].receive_frame(frame, sim.now)
            bindings[name].poke()

        def carrier(up, name=name):
            (sessions[name].lower_up if up else sessions[name].lower_down)(sim.now)
            bindings[name].poke()
        end.receiver, end.on_carrier = rx, carrier
        sessions[name].lower_up(sim.now)
        sessions[name].admin_open(sim.now)
        bindings[name].poke()

    assert sim.run_until(lambda: sessions["a"].ipcp_open and sessions["b"].ipcp_open, timeout=5 * SECOND)
    assert sessions["a"].local_address == ip4("172.16.0.2")
    link.set_up(False)
    sim.run_for(1 * SECOND)
    assert pool.released == [ip4("172.16.0.2")] and not sessions["a"].lcp_open
    link.set_up(True)
    assert sim.run_until(lambda: sessions["a"].ipcp_open, timeout=5 * SECOND)
    sim.run_for(120 * SECOND)  # keepalives flow; nothing drops
    assert sessions["a"].lcp_open and sim.errors == []
    assert LinkClosed("keepalive timeout") not in got["a"]
