"""ICMP echo as the IOS ping command runs it, on the lab clock.

Each echo is sent when the previous one was answered or timed out; the
job's runner runs the simulator meanwhile, so round trips follow the links'
bandwidth and delay. Results per echo: ``!`` reply, ``.`` timeout, ``U`` unreachable,
``M`` could not fragment (unreachable, fragmentation needed and DF set), ``Q`` source
quench, ``&`` time exceeded (the characters IOS prints; Cisco, "Understanding the Ping
and Traceroute Commands", document 12778).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from emulator.labtime import MS, SECOND
from emulator.sim.jobs import Steps, Wait
from emulator.wire.icmp import HEADER_LEN as ICMP_HEADER
from emulator.wire.icmp import ICMPMessage, encode_echo_request
from emulator.wire.ipv4 import FLAG_DF, PROTO_ICMP, IPv4Packet
from emulator.wire.ipv4 import HEADER_LEN as IP_HEADER

SEQUENCE_MODULO = 1 << 16     # the ICMP sequence number is 16 bits: IOS's wraps from 65535 to 0


@dataclass
class PingResult:
    """Counts, not a list: a ping may run for 2147483647 echoes."""

    sent: int = 0
    received: int = 0
    rtt_min: int | None = None
    rtt_max: int = 0
    rtt_sum: int = 0
    last: str = ""

    def add(self, char: str, rtt_ms: int | None = None) -> None:
        self.sent += 1
        self.last = char
        if char == "!":
            self.received += 1
        if rtt_ms is not None:
            self.rtt_min = rtt_ms if self.rtt_min is None else min(self.rtt_min, rtt_ms)
            self.rtt_max = max(self.rtt_max, rtt_ms)
            self.rtt_sum += rtt_ms

    @property
    def rtt_avg(self) -> int:
        return self.rtt_sum // self.received if self.received else 0


def echo_data(size: int, pattern: int) -> bytes:
    """The data after the ICMP header for a datagram of ``size`` bytes, filled with the 16-bit pattern."""
    length = max(0, size - IP_HEADER - ICMP_HEADER)
    return (pattern.to_bytes(2, "big") * (length // 2 + 1))[:length]


@dataclass(frozen=True)
class Sweep:
    """The extended ping's sweep of sizes: ``low``, ``low + step``, ... up to ``high``."""

    low: int
    high: int
    step: int

    @property
    def sizes(self) -> int:
        return (self.high - self.low) // self.step + 1

    def size(self, n: int) -> int:
        """The size of the ``n``-th echo (0-based): the sweep runs through its sizes, then again."""
        return self.low + (n % self.sizes) * self.step


def echoes(router, target: IPv4Address, result: PingResult, count: int = 5, size: int = 100,
           timeout: int = 2 * SECOND, source: IPv4Address | None = None, df: bool = False,
           pattern: int = 0xABCD, tos: int = 0, sweep: Sweep | None = None) -> Steps:
    """Send ``count`` echoes, each when the previous one was answered or ``timeout`` ns passed.

    A job's steps (``emulator.sim.jobs``): it yields a ``Wait`` for each echo's outcome and then
    the outcome's character, and keeps the outcomes in ``result``. Round trips are whole
    milliseconds, truncated, from the send to the event that brought the answer. With a
    ``sweep`` each echo takes the sweep's next size instead of ``size``.
    """
    sim = router.clock
    identifier = router.next_echo_identifier()
    state: dict = {}

    def listener(kind, packet, msg):
        if msg.sequence != state.get("seq"):
            return
        if kind == "reply":
            state["outcome"] = "!"
            state["at"] = sim.now
        elif "outcome" not in state:
            state["outcome"] = {"unreachable": "U", "fragment": "M", "quench": "Q", "exceeded": "&"}[kind]

    router.echo_listeners[identifier] = listener
    try:
        data = echo_data(size, pattern)
        for n in range(count):
            if sweep is not None:
                data = echo_data(sweep.size(n), pattern)
            seq = n % SEQUENCE_MODULO
            state.clear()
            state["seq"] = seq
            icmp = encode_echo_request(identifier, seq, data)
            src = source
            if src is None:          # the address of the interface the echo leaves by
                hop = router.route_for(target)
                if hop is not None:
                    src = router.source_address_for(hop[0])
            start = sim.now
            if src is not None:
                packet = IPv4Packet.make(src, target, PROTO_ICMP, icmp, ttl=255, tos=tos,
                                         identification=router.next_ip_id(), flags=FLAG_DF if df else 0)
                if router.is_local(target):
                    _self_reply(packet, listener)
                else:
                    router.send_packet(packet)
            yield Wait(start + timeout, lambda: "outcome" in state)
            char = state.get("outcome", ".")
            result.add(char, (state["at"] - start) // MS if char == "!" else None)
            yield char
    finally:
        router.echo_listeners.pop(identifier, None)


def _self_reply(packet, listener) -> None:
    """A ping to one of the device's own addresses is answered by its own stack at once."""
    msg = ICMPMessage.decode(packet.payload)
    listener("reply", packet, msg)
