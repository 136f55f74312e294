"""TCP for a router's own connections (telnet to and from its vty lines), sans-I/O.

The subset of RFC 9293 a router's terminal traffic needs: active and passive
open (SYN, SYN-ACK, ACK, the MSS option), in-order data with an ACK for every
segment that carries data or a FIN, retransmission from the oldest unacknowledged
byte on the RFC 6298 timer (initial RTO 1 s, SRTT/RTTVAR from one timed
segment at a time, Karn's rule, the RTO doubled on each expiry up to 64 s), a
bounded number of retransmissions and then a reset, FIN in both directions,
TIME-WAIT for ``TIME_WAIT`` and a RST for a segment that finds no connection.
Segments that arrive out of order are dropped and answered with an ACK for
what is expected (no reassembly queue: the peer retransmits them).

IOS 12.2's defaults: a receive window of 4128 bytes (``ip tcp window-size``)
and a maximum segment size of 536 bytes to a destination that is not on a
connected network (without ``ip tcp path-mtu-discovery``); the owner's
``mss_for(remote)`` says which MSS to offer.

The owner feeds ``segment_in(now, src, dst, segment)``; opens with
``connect``; a SYN to a port is accepted when ``accepts(port)`` says so (else
it is answered with a RST, as a closed port is). Output is ``TcpOut`` items
from ``datagrams_to_send``; events (``Opened``, ``Received``, ``PeerClosed``,
``Closed``) from ``next_event``.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Callable

from emulator.labtime import MS, SECOND
from emulator.wire.tcp import ACK, FIN, PSH, RST, SYN, TCPSegment

__all__ = ["TcpEngine", "TcpOut", "Opened", "Received", "PeerClosed", "Closed", "Tcb",
           "DEFAULT_WINDOW", "DEFAULT_MSS", "TIME_WAIT", "SYN_RETRIES", "DATA_RETRIES", "MAX_CONNECTIONS"]

DEFAULT_WINDOW = 4128          # IOS 12.2's ip tcp window-size
DEFAULT_MSS = 536              # RFC 9293 section 3.7.1 default, and IOS's to a non-connected destination
INITIAL_RTO = 1 * SECOND       # RFC 6298 section 2.1
MIN_RTO = 300 * MS             # a floor below RFC 6298's 1 s, as router stacks keep on their own links
MAX_RTO = 64 * SECOND
SYN_RETRIES = 4                # 1+2+4+8+16 s: "Connection timed out" about 30 s after the first SYN, as IOS
DATA_RETRIES = 8
TIME_WAIT = 30 * SECOND        # 2 MSL with IOS's short MSL: bounded, so closed connections do not pile up
MAX_CONNECTIONS = 64           # a SYN beyond this is refused
OPT_MSS = 2

_MOD = 1 << 32


def _lt(a: int, b: int) -> bool:
    """Sequence number a before b (RFC 9293 section 3.4, modulo 2**32)."""
    return 0 < (b - a) % _MOD < (1 << 31)


def _le(a: int, b: int) -> bool:
    return a == b or _lt(a, b)


@dataclass(frozen=True, slots=True)
class TcpOut:
    """A segment to send from ``src`` to ``dst``."""

    src: IPv4Address
    dst: IPv4Address
    segment: TCPSegment


@dataclass(frozen=True, slots=True)
class Opened:
    """The three-way handshake completed (``passive``: a connection to one of our ports)."""

    conn: int
    passive: bool


@dataclass(frozen=True, slots=True)
class Received:
    conn: int
    data: bytes


@dataclass(frozen=True, slots=True)
class PeerClosed:
    """The peer sent its FIN: it will send no more."""

    conn: int


@dataclass(frozen=True, slots=True)
class Closed:
    """The connection is over: "closed" (both FINs), "reset" (by the peer), "refused" (RST to our SYN),
    "unreachable" (ICMP to our SYN), "timeout" (retransmissions exhausted) or "aborted" (by the owner)."""

    conn: int
    reason: str


Key = tuple[IPv4Address, int, IPv4Address, int]    # local address, local port, remote address, remote port


class Tcb:
    """One connection's state (RFC 9293 section 3.3.1's variables, named as there)."""

    def __init__(self, conn: int, key: Key, iss: int, mss: int, window: int):
        self.conn = conn
        self.key = key
        self.state = "CLOSED"
        self.iss = iss
        self.snd_una = iss
        self.snd_nxt = iss
        self.snd_wnd = 0
        self.rcv_nxt = 0
        self.rcv_wnd = window
        self.my_mss = mss
        self.peer_mss = DEFAULT_MSS
        self.out = bytearray()        # bytes from snd_una on (sent and unacknowledged, then unsent)
        self.fin_queued = False       # the owner closed: a FIN follows the data
        self.rto = INITIAL_RTO
        self.srtt: int | None = None
        self.rttvar = 0
        self.timing: tuple[int, int] | None = None   # (seq that ends the timed segment, when it went)
        self.retries = 0
        self.rtx_at: int | None = None
        self.time_wait_at: int | None = None
        self.passive = False
        self.bytes_in = 0
        self.bytes_out = 0

    @property
    def local(self) -> tuple[IPv4Address, int]:
        return self.key[0], self.key[1]

    @property
    def remote(self) -> tuple[IPv4Address, int]:
        return self.key[2], self.key[3]

    @property
    def deadline(self) -> int | None:
        return self.time_wait_at if self.state == "TIME_WAIT" else self.rtx_at

    def in_flight(self) -> int:
        return (self.snd_nxt - self.snd_una) % _MOD

    def fin_sent(self) -> bool:
        """Whether our FIN has a sequence number (it is in flight or acknowledged)."""
        return self.state in ("FIN_WAIT_1", "FIN_WAIT_2", "CLOSING", "LAST_ACK", "TIME_WAIT")

    def sample_rtt(self, rtt: int) -> None:
        """RFC 6298 section 2.2/2.3: SRTT and RTTVAR from one measurement, the RTO from them."""
        if self.srtt is None:
            self.srtt, self.rttvar = rtt, rtt // 2
        else:
            self.rttvar = (3 * self.rttvar + abs(self.srtt - rtt)) // 4
            self.srtt = (7 * self.srtt + rtt) // 8
        self.rto = min(MAX_RTO, max(MIN_RTO, self.srtt + max(MS, 4 * self.rttvar)))


class TcpEngine:
    """A host's TCP connections (see the module docstring)."""

    def __init__(self, rng: random.Random, accepts: Callable[[int], bool], window: int = DEFAULT_WINDOW,
                 first_port: int = 11000, mss_for: Callable[[IPv4Address], int] | None = None):
        self._rng = rng
        self.accepts = accepts
        self.mss_for = mss_for or (lambda remote: DEFAULT_MSS)   # the MSS we offer to a destination
        self.window = window
        self._tcbs: dict[int, Tcb] = {}
        self._by_key: dict[Key, int] = {}
        self._next_conn = 1
        self._next_port = first_port     # IOS numbers its outgoing connections' ports from 11000 on
        self._out: list[TcpOut] = []
        self._events: deque[Opened | Received | PeerClosed | Closed] = deque()
        self.resets_sent = 0
        self.dropped = 0                 # segments that found no use (bad state, out of order)

    # ------------------------------------------------ the owner's verbs
    def connect(self, now: int, local: IPv4Address, remote: IPv4Address, port: int) -> int:
        """Open a connection actively: the SYN goes now; ``Opened`` or ``Closed`` follows."""
        lport = self._free_port(local, remote, port)
        tcb = self._new((local, lport, remote, port))
        tcb.state = "SYN_SENT"
        self._send_syn(tcb, now, ack=False)
        return tcb.conn

    def send(self, now: int, conn: int, data: bytes) -> None:
        tcb = self._tcbs.get(conn)
        if tcb is None or tcb.fin_queued or tcb.state not in ("ESTABLISHED", "CLOSE_WAIT", "SYN_RCVD", "SYN_SENT"):
            return
        tcb.out += data
        self._push(tcb, now)

    def close(self, now: int, conn: int) -> None:
        """No more data from us: a FIN after what is queued."""
        tcb = self._tcbs.get(conn)
        if tcb is None or tcb.fin_queued:
            return
        if tcb.state == "SYN_SENT":
            self._drop(tcb, "closed")
            return
        tcb.fin_queued = True
        self._push(tcb, now)

    def abort(self, now: int, conn: int) -> None:
        """Reset the connection."""
        tcb = self._tcbs.get(conn)
        if tcb is None:
            return
        if tcb.state not in ("SYN_SENT", "TIME_WAIT"):
            self._emit(tcb, tcb.snd_nxt, 0, RST)
            self.resets_sent += 1
        self._drop(tcb, "aborted")

    def unreachable(self, now: int, key: Key) -> None:
        """An ICMP destination unreachable about the connection ``key``: it ends a connection still
        opening ("unreachable"), as IOS's telnet reports at once; for an open one it is a soft error
        (RFC 1122 section 4.2.3.9) and changes nothing."""
        conn = self._by_key.get(key)
        tcb = self._tcbs.get(conn) if conn is not None else None
        if tcb is not None and tcb.state == "SYN_SENT":
            self._drop(tcb, "unreachable")

    def tcb(self, conn: int) -> Tcb | None:
        return self._tcbs.get(conn)

    def connections(self) -> list[Tcb]:
        return list(self._tcbs.values())

    # ------------------------------------------------ engine verbs
    def datagrams_to_send(self, now: int) -> list[TcpOut]:
        out, self._out = self._out, []
        return out

    def next_event(self) -> Opened | Received | PeerClosed | Closed | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> int | None:
        deadlines = [d for t in self._tcbs.values() if (d := t.deadline) is not None]
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: int) -> None:
        for tcb in list(self._tcbs.values()):
            if tcb.state == "TIME_WAIT":
                if tcb.time_wait_at is not None and tcb.time_wait_at <= now:
                    self._drop(tcb, None)
            elif tcb.rtx_at is not None and tcb.rtx_at <= now:
                self._retransmit(tcb, now)

    # ------------------------------------------------ input
    def segment_in(self, now: int, src: IPv4Address, dst: IPv4Address, seg: TCPSegment) -> None:
        conn = self._by_key.get((dst, seg.dst_port, src, seg.src_port))
        tcb = self._tcbs.get(conn) if conn is not None else None
        if tcb is None:
            self._no_connection(now, src, dst, seg)
        elif tcb.state == "SYN_SENT":
            self._syn_sent(tcb, now, seg)
        else:
            self._synchronized(tcb, now, seg)

    def _no_connection(self, now: int, src: IPv4Address, dst: IPv4Address, seg: TCPSegment) -> None:
        """RFC 9293 section 3.10.7.1/3.10.7.2: a SYN to a port we serve opens; anything else but a RST is reset."""
        if seg.has(RST):
            return
        if (seg.flags & (SYN | ACK)) == SYN and len(self._tcbs) < MAX_CONNECTIONS and self.accepts(seg.dst_port):
            tcb = self._new((dst, seg.dst_port, src, seg.src_port))
            tcb.passive = True
            tcb.state = "SYN_RCVD"
            tcb.rcv_nxt = (seg.seq + 1) % _MOD
            tcb.peer_mss = _offered_mss(seg, DEFAULT_MSS)
            tcb.snd_wnd = seg.window
            self._send_syn(tcb, now, ack=True)
            return
        self._reset_for(dst, src, seg)

    def _reset_for(self, local: IPv4Address, remote: IPv4Address, seg: TCPSegment) -> None:
        """The RST that answers a segment no connection takes (RFC 9293 section 3.10.7.1)."""
        self.resets_sent += 1
        if seg.has(ACK):
            rst = TCPSegment(seg.dst_port, seg.src_port, seq=seg.ack, flags=RST, window=0)
        else:
            length = len(seg.payload) + (1 if seg.has(SYN) else 0) + (1 if seg.has(FIN) else 0)
            rst = TCPSegment(seg.dst_port, seg.src_port, seq=0, ack=(seg.seq + length) % _MOD,
                             flags=RST | ACK, window=0)
        self._out.append(TcpOut(local, remote, rst))

    def _syn_sent(self, tcb: Tcb, now: int, seg: TCPSegment) -> None:
        acceptable = seg.has(ACK) and _lt(tcb.snd_una, seg.ack) and _le(seg.ack, tcb.snd_nxt)
        if seg.has(ACK) and not acceptable:
            if not seg.has(RST):
                self._reset_for(tcb.key[0], tcb.key[2], seg)
            return
        if seg.has(RST):
            if acceptable:
                self._drop(tcb, "refused")
            return
        if not seg.has(SYN) or not acceptable:
            self.dropped += 1          # a simultaneous open is not something a router's telnet does
            return
        tcb.rcv_nxt = (seg.seq + 1) % _MOD
        tcb.peer_mss = _offered_mss(seg, DEFAULT_MSS)
        self._acked(tcb, now, seg.ack, seg.window)
        tcb.state = "ESTABLISHED"
        self._events.append(Opened(tcb.conn, passive=False))
        self._emit(tcb, tcb.snd_nxt, tcb.rcv_nxt, ACK)
        self._push(tcb, now)

    def _synchronized(self, tcb: Tcb, now: int, seg: TCPSegment) -> None:
        """RFC 9293 section 3.10.7.4, for every state past SYN-SENT."""
        if tcb.state == "SYN_RCVD" and (seg.flags & (SYN | ACK | RST)) == SYN and seg.seq == (tcb.rcv_nxt - 1) % _MOD:
            self._emit_syn(tcb, ack=True)     # the peer sent its SYN again: our SYN-ACK was lost
            return
        length = len(seg.payload) + (1 if seg.has(FIN) else 0)
        if not self._acceptable(tcb, seg, length):
            self.dropped += 1
            if not seg.has(RST):
                self._ack(tcb)
            return
        if seg.has(RST):
            if seg.seq == tcb.rcv_nxt:
                self._drop(tcb, "reset" if tcb.state != "SYN_RCVD" or not tcb.passive else None)
            else:
                self._ack(tcb)          # RFC 5961 section 3.2: a challenge ACK
            return
        if seg.has(SYN):
            self._ack(tcb)              # RFC 5961 section 4.2: a challenge ACK, the connection kept
            return
        if not seg.has(ACK):
            return
        if tcb.state == "SYN_RCVD":
            if not (_lt(tcb.snd_una, seg.ack) and _le(seg.ack, tcb.snd_nxt)):
                self._reset_for(tcb.key[0], tcb.key[2], seg)
                return
            tcb.state = "ESTABLISHED"
            self._events.append(Opened(tcb.conn, passive=True))
        if _lt(tcb.snd_nxt, seg.ack):
            self._ack(tcb)              # acknowledges something not yet sent
            return
        if _lt(tcb.snd_una, seg.ack) or seg.ack == tcb.snd_una:
            self._acked(tcb, now, seg.ack, seg.window)
        if tcb.conn not in self._tcbs:
            return                       # LAST-ACK ended with this ACK
        self._data(tcb, now, seg)
        self._push(tcb, now)

    def _acceptable(self, tcb: Tcb, seg: TCPSegment, length: int) -> bool:
        """The segment's sequence numbers overlap the receive window (RFC 9293 section 3.10.7.4's table)."""
        end = (tcb.rcv_nxt + tcb.rcv_wnd) % _MOD
        if length == 0:
            return seg.seq == tcb.rcv_nxt or (_le(tcb.rcv_nxt, seg.seq) and _lt(seg.seq, end))
        last = (seg.seq + length - 1) % _MOD
        return ((_le(tcb.rcv_nxt, seg.seq) and _lt(seg.seq, end))
                or (_le(tcb.rcv_nxt, last) and _lt(last, end)))

    def _acked(self, tcb: Tcb, now: int, ack: int, window: int) -> None:
        """An acceptable ACK: drop what it covers, time the RTT, move the timer, follow our FIN."""
        tcb.snd_wnd = window
        done = (ack - tcb.snd_una) % _MOD
        if not done:
            return
        syn = 1 if tcb.snd_una == tcb.iss else 0
        fin_acked = tcb.fin_sent() and ack == tcb.snd_nxt
        data = done - syn - (1 if fin_acked else 0)
        del tcb.out[:max(0, data)]
        tcb.snd_una = ack
        if tcb.timing is not None and _le(tcb.timing[0], ack):
            tcb.sample_rtt(now - tcb.timing[1])
            tcb.timing = None
        tcb.retries = 0
        tcb.rtx_at = now + tcb.rto if tcb.in_flight() else None
        if fin_acked:
            self._fin_acked(tcb, now)

    def _fin_acked(self, tcb: Tcb, now: int) -> None:
        if tcb.state == "FIN_WAIT_1":
            tcb.state = "FIN_WAIT_2"
        elif tcb.state == "CLOSING":
            self._time_wait(tcb, now)
        elif tcb.state == "LAST_ACK":
            self._drop(tcb, "closed")

    def _data(self, tcb: Tcb, now: int, seg: TCPSegment) -> None:
        """Text and FIN, in order only: what came early is dropped and the expected point re-ACKed."""
        payload, seq = seg.payload, seg.seq
        if payload and _lt(seq, tcb.rcv_nxt):
            cut = (tcb.rcv_nxt - seq) % _MOD      # the part already received
            payload, seq = payload[cut:], tcb.rcv_nxt
        if seq != tcb.rcv_nxt:
            if payload or seg.has(FIN):
                self.dropped += 1
                self._ack(tcb)
            return
        whole = True                              # the segment's text all taken: its FIN is next
        if payload and tcb.state in ("ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2"):
            taken = payload[:tcb.rcv_wnd]
            whole = len(taken) == len(payload)
            tcb.rcv_nxt = (tcb.rcv_nxt + len(taken)) % _MOD
            tcb.bytes_in += len(taken)
            self._events.append(Received(tcb.conn, bytes(taken)))
        if seg.has(FIN) and whole:
            self._fin_in(tcb, now)
        if payload or seg.has(FIN):
            self._ack(tcb)

    def _fin_in(self, tcb: Tcb, now: int) -> None:
        if tcb.state in ("CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT"):
            if tcb.state == "TIME_WAIT":
                tcb.time_wait_at = now + TIME_WAIT    # the peer lost our ACK of its FIN
            return
        tcb.rcv_nxt = (tcb.rcv_nxt + 1) % _MOD
        if tcb.state == "ESTABLISHED":
            tcb.state = "CLOSE_WAIT"
            self._events.append(PeerClosed(tcb.conn))
        elif tcb.state == "FIN_WAIT_1":
            tcb.state = "CLOSING"
            self._events.append(PeerClosed(tcb.conn))
        elif tcb.state == "FIN_WAIT_2":
            self._events.append(PeerClosed(tcb.conn))
            self._time_wait(tcb, now)

    def _time_wait(self, tcb: Tcb, now: int) -> None:
        tcb.state = "TIME_WAIT"
        tcb.rtx_at = None
        tcb.time_wait_at = now + TIME_WAIT
        self._events.append(Closed(tcb.conn, "closed"))

    # ------------------------------------------------ output
    def _push(self, tcb: Tcb, now: int) -> None:
        """Send what the peer's window and MSS allow of the unsent data, then a FIN when closed."""
        if tcb.state not in ("ESTABLISHED", "CLOSE_WAIT", "FIN_WAIT_1", "CLOSING", "LAST_ACK"):
            return
        while True:
            sent = tcb.in_flight() - (1 if tcb.fin_sent() else 0)
            unsent = len(tcb.out) - sent
            room = tcb.snd_wnd - tcb.in_flight()
            if unsent <= 0 or (room <= 0 and tcb.in_flight()):
                break
            size = min(unsent, tcb.peer_mss, max(room, 1))
            chunk = bytes(tcb.out[sent:sent + size])
            self._emit(tcb, tcb.snd_nxt, tcb.rcv_nxt, ACK | PSH, chunk)
            self._timed(tcb, now, (tcb.snd_nxt + size) % _MOD)
            tcb.snd_nxt = (tcb.snd_nxt + size) % _MOD
            tcb.bytes_out += size       # retransmissions included
        if tcb.fin_queued and not tcb.fin_sent() and len(tcb.out) == tcb.in_flight():
            self._emit(tcb, tcb.snd_nxt, tcb.rcv_nxt, ACK | FIN)
            tcb.snd_nxt = (tcb.snd_nxt + 1) % _MOD
            tcb.state = "FIN_WAIT_1" if tcb.state == "ESTABLISHED" else "LAST_ACK"
            if tcb.rtx_at is None:
                tcb.rtx_at = now + tcb.rto

    def _timed(self, tcb: Tcb, now: int, end: int) -> None:
        if tcb.timing is None and tcb.retries == 0:
            tcb.timing = (end, now)
        if tcb.rtx_at is None:
            tcb.rtx_at = now + tcb.rto

    def _retransmit(self, tcb: Tcb, now: int) -> None:
        """The RTO expired: resend from the oldest unacknowledged byte with the RTO doubled (RFC 6298 5.5-5.6)."""
        limit = SYN_RETRIES if tcb.state in ("SYN_SENT", "SYN_RCVD") else DATA_RETRIES
        if tcb.retries >= limit:
            if tcb.state != "SYN_SENT":
                self._emit(tcb, tcb.snd_nxt, 0, RST)
                self.resets_sent += 1
            self._drop(tcb, "timeout" if not (tcb.passive and tcb.state == "SYN_RCVD") else None)
            return
        tcb.retries += 1
        tcb.timing = None                                 # Karn: no sample from a retransmitted segment
        tcb.rto = min(MAX_RTO, tcb.rto * 2)
        tcb.rtx_at = now + tcb.rto
        if tcb.state in ("SYN_SENT", "SYN_RCVD"):
            self._emit_syn(tcb, ack=tcb.state == "SYN_RCVD")
            return
        data_unacked = min(len(tcb.out), tcb.in_flight())
        if data_unacked and not tcb.fin_sent():
            # Go back to the oldest unacknowledged byte and send the window again: the peer keeps
            # nothing that came out of order (neither does this engine), so all after the loss is lost too.
            tcb.snd_nxt = tcb.snd_una
            self._push(tcb, now)
        elif data_unacked:
            chunk = bytes(tcb.out[:min(data_unacked, tcb.peer_mss)])
            self._emit(tcb, tcb.snd_una, tcb.rcv_nxt, ACK | PSH, chunk)
        elif tcb.fin_sent() and tcb.in_flight():
            self._emit(tcb, (tcb.snd_nxt - 1) % _MOD, tcb.rcv_nxt, ACK | FIN)
        else:
            tcb.rtx_at = None

    def _send_syn(self, tcb: Tcb, now: int, ack: bool) -> None:
        self._emit_syn(tcb, ack)
        tcb.snd_nxt = (tcb.iss + 1) % _MOD
        tcb.timing = (tcb.snd_nxt, now)
        tcb.rtx_at = now + tcb.rto

    def _emit_syn(self, tcb: Tcb, ack: bool) -> None:
        options = bytes([OPT_MSS, 4]) + tcb.my_mss.to_bytes(2, "big")
        self._out.append(TcpOut(tcb.key[0], tcb.key[2], TCPSegment(
            tcb.key[1], tcb.key[3], seq=tcb.iss, ack=tcb.rcv_nxt if ack else 0, flags=SYN | (ACK if ack else 0),
            window=tcb.rcv_wnd, options=options)))

    def _emit(self, tcb: Tcb, seq: int, ack: int, flags: int, payload: bytes = b"") -> None:
        self._out.append(TcpOut(tcb.key[0], tcb.key[2], TCPSegment(
            tcb.key[1], tcb.key[3], seq=seq, ack=ack if flags & ACK else 0, flags=flags,
            window=tcb.rcv_wnd if not flags & RST else 0, payload=payload)))

    def _ack(self, tcb: Tcb) -> None:
        if tcb.state not in ("SYN_SENT", "CLOSED"):
            self._emit(tcb, tcb.snd_nxt, tcb.rcv_nxt, ACK)

    # ------------------------------------------------ the table
    def _new(self, key: Key) -> Tcb:
        conn = self._next_conn
        self._next_conn += 1
        tcb = Tcb(conn, key, self._rng.getrandbits(32), self.mss_for(key[2]), self.window)
        self._tcbs[conn] = tcb
        self._by_key[key] = conn
        return tcb

    def _drop(self, tcb: Tcb, reason: str | None) -> None:
        """Forget the connection; the owner hears ``Closed`` unless it already did (TIME-WAIT) or never
        knew of it (a passive open that did not complete)."""
        self._tcbs.pop(tcb.conn, None)
        self._by_key.pop(tcb.key, None)
        was = tcb.state
        tcb.state = "CLOSED"
        tcb.rtx_at = tcb.time_wait_at = None
        if reason is not None and was != "TIME_WAIT":
            self._events.append(Closed(tcb.conn, reason))

    def _free_port(self, local: IPv4Address, remote: IPv4Address, port: int) -> int:
        for _ in range(0x10000):
            candidate = self._next_port
            self._next_port = candidate + 1 if candidate < 0xFFFF else 11000
            if (local, candidate, remote, port) not in self._by_key:
                return candidate
        raise RuntimeError("tcp: every local port is in use")


def _offered_mss(seg: TCPSegment, default: int) -> int:
    """The MSS option of a SYN (RFC 9293 section 3.7.1), ``default`` without one; options that do not
    parse end the walk."""
    opts, i = seg.options, 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2:
            break
        size = opts[i + 1]
        if kind == OPT_MSS and size == 4 and i + 4 <= len(opts):
            return max(1, int.from_bytes(opts[i + 2:i + 4], "big"))
        i += size
    return default
