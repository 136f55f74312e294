"""IP traceroute as IOS runs it, on the lab clock: UDP probes with increasing TTL.

Each probe is a UDP datagram from one source port to port 33434 and up (one more per probe),
sent when the previous one was answered or timed out (3 seconds, IOS's default), three per
TTL from 1 to 30. A router the probe dies on answers ICMP time exceeded (the forwarding
path's TTL check); the destination answers port unreachable and the trace ends with that
hop. Other unreachables end it too, marked ``!H`` (host), ``!N`` (network), ``!P``
(protocol) or ``!A`` (administratively prohibited), as IOS prints them (Cisco document 12778,
"Understanding the Ping and Traceroute Commands"). A Cisco destination rate-limits its
unreachables to one per 500 ms, so the second probe to it times out: IOS's familiar
``4 msec *  4 msec`` last hop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address

from emulator.labtime import MS, SECOND
from emulator.sim.jobs import Steps, Wait
from emulator.wire import icmp as icmpwire
from emulator.wire.ipv4 import PROTO_UDP, IPv4Packet
from emulator.wire.udp import UDPDatagram

__all__ = ["Probe", "Hop", "TRACE_PORT", "probes"]

TRACE_PORT = 33434          # the first destination port, one more for each probe
PROBE_TIMEOUT = 3 * SECOND
PROBES_PER_HOP = 3
MAX_TTL = 30
PROBE_DATA = 12             # bytes of UDP data in each probe

# Unreachable codes and the marks IOS prints for them; port unreachable is the destination's answer.
MARKS = {icmpwire.UnreachCode.NET: "!N", icmpwire.UnreachCode.HOST: "!H", icmpwire.UnreachCode.PROTOCOL: "!P",
         13: "!A"}


@dataclass(frozen=True)
class Probe:
    """One probe's outcome: who answered (None: nobody, ``*``), after how many ms, with what mark."""

    responder: IPv4Address | None
    rtt_ms: int | None = None
    mark: str = ""          # "!H", "!N", "!P", "!A", "!" (another unreachable) or "" (answered plainly)
    final: bool = False     # the destination answered, or an unreachable ends the trace


@dataclass
class Hop:
    ttl: int
    probes: list[Probe] = field(default_factory=list)

    @property
    def final(self) -> bool:
        return any(p.final for p in self.probes)


def probes(router, target: IPv4Address, hops: list[Hop], source: IPv4Address | None = None,
           min_ttl: int = 1, max_ttl: int = MAX_TTL, timeout: int = PROBE_TIMEOUT,
           count: int = PROBES_PER_HOP) -> Steps:
    """The trace as a job's steps: a ``Wait`` per probe, then the hop (a ``Hop`` in ``hops``)
    as a string step ``""`` once its probes are done. The caller words each hop."""
    sim = router.clock
    sport = 49152 + router.rng("traceroute").randrange(0, 16000)
    state: dict = {}

    def answer(packet: IPv4Packet, msg: icmpwire.ICMPMessage) -> None:
        if "outcome" in state or int.from_bytes(msg.payload[22:24], "big") != state.get("dport"):
            return      # late, or about another probe (the quoted UDP destination port says which)
        rtt = (sim.now - state["start"]) // MS
        if msg.type == icmpwire.TIME_EXCEEDED:
            state["outcome"] = Probe(packet.src, rtt)
        elif msg.type == icmpwire.DEST_UNREACHABLE and msg.code == icmpwire.UNREACH_PORT:
            state["outcome"] = Probe(packet.src, rtt, final=True)
        elif msg.type == icmpwire.DEST_UNREACHABLE:
            state["outcome"] = Probe(packet.src, rtt, MARKS.get(msg.code, "!"), final=True)

    dport = TRACE_PORT
    router.local.udp_error_listeners[sport] = answer
    try:
        for ttl in range(min_ttl, max_ttl + 1):
            hop = Hop(ttl)
            for _ in range(count):
                state.clear()
                state["dport"] = dport
                route = router.route_for(target)
                src = source
                if src is None and route is not None:
                    src = router.source_address_for(route[0])
                state["start"] = sim.now
                if src is not None:
                    udp = UDPDatagram(sport, dport, bytes(PROBE_DATA)).encode(src, target)
                    router.send_packet(IPv4Packet(src, target, PROTO_UDP, udp, ttl=ttl,
                                                  identification=router.next_ip_id()))
                dport += 1
                yield Wait(state["start"] + timeout, lambda: "outcome" in state)
                hop.probes.append(state.get("outcome", Probe(None)))
            hops.append(hop)
            yield ""
            if hop.final:
                return
    finally:
        router.local.udp_error_listeners.pop(sport, None)
