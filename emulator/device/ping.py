"""ICMP echo as the IOS ping command runs it, on the lab clock.

Each echo is sent when the previous one was answered or timed out; the
simulator runs meanwhile, so round trips follow the links' bandwidth and
delay. Results per echo: ``!`` reply, ``.`` timeout, ``U`` unreachable,
``Q`` source quench, ``&`` time exceeded (the characters IOS prints).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address

from emulator.labtime import MS, SECOND
from emulator.wire.icmp import HEADER_LEN as ICMP_HEADER, ICMPMessage
from emulator.wire.ipv4 import FLAG_DF, HEADER_LEN as IP_HEADER, PROTO_ICMP, IPv4Packet


@dataclass
class PingResult:
    chars: list[str] = field(default_factory=list)
    rtts_ms: list[int] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return len(self.chars)

    @property
    def received(self) -> int:
        return self.chars.count("!")


def echo_data(size: int, pattern: int) -> bytes:
    """The data after the ICMP header for a datagram of ``size`` bytes, filled with the 16-bit pattern."""
    length = max(0, size - IP_HEADER - ICMP_HEADER)
    return (pattern.to_bytes(2, "big") * (length // 2 + 1))[:length]


def ping(router, target: IPv4Address, count: int = 5, size: int = 100, timeout: int = 2 * SECOND,
         source: IPv4Address | None = None, df: bool = False, pattern: int = 0xABCD, tos: int = 0,
         on_result=None) -> PingResult:
    """Send ``count`` echoes and wait up to ``timeout`` ns for each; ``on_result(char)`` hears each
    outcome as it happens. Round trips are whole milliseconds, truncated."""
    sim = router.clock
    identifier = router.next_echo_identifier()
    result = PingResult()
    state: dict = {}

    def listener(kind, packet, msg):
        if msg.sequence != state.get("seq"):
            return
        if kind == "reply":
            state["outcome"] = "!"
        elif "outcome" not in state:
            state["outcome"] = {"unreachable": "U", "quench": "Q", "exceeded": "&"}[kind]

    router.echo_listeners[identifier] = listener
    try:
        data = echo_data(size, pattern)
        for seq in range(count):
            state.clear()
            state["seq"] = seq
            icmp = ICMPMessage.echo_request(identifier, seq, data).encode()
            hop = router.route_for(target)
            src = source
            if src is None and hop is not None:
                src = router.source_address_for(hop[0])
            start = sim.now
            if src is not None:
                packet = IPv4Packet(src, target, PROTO_ICMP, icmp, ttl=255, tos=tos,
                                    identification=router.next_ip_id(), flags=FLAG_DF if df else 0)
                if router.is_local(target):
                    _self_reply(packet, listener)
                else:
                    router.send_packet(packet)
            sim.run_until(lambda: "outcome" in state, timeout)
            char = state.get("outcome", ".")
            if char == "!":
                result.rtts_ms.append((sim.now - start) // MS)
            result.chars.append(char)
            if on_result:
                on_result(char)
    finally:
        router.echo_listeners.pop(identifier, None)
    return result


def _self_reply(packet, listener) -> None:
    """A ping to one of the device's own addresses is answered by its own stack at once."""
    msg = ICMPMessage.decode(packet.payload)
    listener("reply", packet, msg)
