"""Simulated wires: point-to-point serial links and switched Ethernet segments.

Frames are bytes; a wire only times their serialisation and delay on the
lab clock (integer nanoseconds) and hands them to the receiving end.
"""

from __future__ import annotations

from typing import Callable

from emulator.sim.clock import MS, SECOND, US, Simulator

__all__ = ["SerialLink", "SerialEnd", "EthernetSegment", "EthernetPort", "serialisation_ns"]


Tap = Callable[[int, str, bytes], None]
Filter = Callable[[str, bytes], "bytes | None"]


def serialisation_ns(octets: int, bandwidth_bps: int) -> int:
    """Time to clock ``octets`` out at ``bandwidth_bps``, in ns, rounded up."""
    return -(-octets * 8 * SECOND // bandwidth_bps)


def _bandwidth(bps: int) -> int:
    if type(bps) is not int:
        raise TypeError(f"bandwidth_bps must be an int of bits per second, not {bps!r}")
    if bps <= 0:
        raise ValueError(f"bandwidth_bps must be positive, not {bps!r}")
    return bps


def _delay(ns: int) -> int:
    if type(ns) is not int:
        raise TypeError(f"delay_ns must be an int of nanoseconds, not {ns!r}")
    if ns < 0:
        raise ValueError(f"delay_ns must be >= 0, not {ns!r}")
    return ns


class SerialEnd:
    """One end of a ``SerialLink``.

    Set ``receiver(frame)`` to get frames and ``on_carrier(up)`` to hear of
    carrier changes (both called from the simulator loop).
    """

    __slots__ = ("link", "name", "peer", "receiver", "on_carrier",
                 "_busy_until", "_direction", "tx_frames", "tx_bytes", "rx_frames", "dropped")

    def __init__(self, link: "SerialLink", name: str):
        self.link = link
        self.name = name
        self.peer: SerialEnd = self  # set by SerialLink
        self.receiver: Callable[[bytes], None] | None = None
        self.on_carrier: Callable[[bool], None] | None = None
        self._busy_until = 0
        self._direction = name
        self.tx_frames = self.tx_bytes = self.rx_frames = self.dropped = 0

    @property
    def up(self) -> bool:
        return self.link.up

    def send(self, frame: bytes) -> bool:
        """Queue ``frame`` for transmission; False if dropped (link down)."""
        link = self.link
        if not link.up:
            self.dropped += 1
            return False
        direction = self._direction
        if link.filter is not None:
            filtered = link.filter(direction, frame)
            if filtered is None:
                self.dropped += 1
                return False
            frame = filtered
        sim = link.sim
        start = self._busy_until if self._busy_until > sim.now else sim.now
        done = start - (-len(frame) * 8 * SECOND // link.bandwidth_bps)     # serialisation_ns(), inline
        self._busy_until = done
        self.tx_frames += 1
        self.tx_bytes += len(frame)
        for tap in link.taps:
            tap(start, direction, frame)
        sim.call_at(done + link.delay_ns, self.peer._deliver, frame, link._generation)
        return True

    def _deliver(self, frame: bytes, generation: int) -> None:
        # A frame in flight when the link went down (even if back up) is lost.
        if generation != self.link._generation or not self.link.up:
            return
        self.rx_frames += 1
        if self.receiver is not None:
            self.receiver(frame)


class SerialLink:
    """Point-to-point serial line: per-direction serialisation + delay.

    A frame waits for the previous one on the same transmitter, takes
    ``len*8/bandwidth`` seconds (rounded up to the nanosecond) to clock out,
    then ``delay_ns`` to arrive. ``taps`` are called at transmission start
    with (time ns, "a->b", frame).
    ``filter(direction, frame)`` may return a changed frame or None (drop),
    for fault injection in tests.
    """

    def __init__(self, sim: Simulator, bandwidth_bps: int = 1_544_000,
                 delay_ns: int = 1 * MS, names: tuple[str, str] = ("a", "b")):
        self.sim = sim
        self.bandwidth_bps = _bandwidth(bandwidth_bps)
        self.delay_ns = _delay(delay_ns)
        self.up = True
        self.taps: list[Tap] = []
        self.filter: Filter | None = None
        self._generation = 0
        self.a = SerialEnd(self, names[0])
        self.b = SerialEnd(self, names[1])
        self.a.peer, self.b.peer = self.b, self.a
        self.a._direction = f"{names[0]}->{names[1]}"
        self.b._direction = f"{names[1]}->{names[0]}"
        self.ends = (self.a, self.b)

    def set_up(self, up: bool) -> None:
        """Raise or drop carrier; both ends hear ``on_carrier`` (scheduled)."""
        up = bool(up)
        if up == self.up:
            return
        self.up = up
        self._generation += 1
        for end in self.ends:
            end._busy_until = self.sim.now
            if end.on_carrier is not None:
                self.sim.call_soon(end.on_carrier, up)


class EthernetPort:
    """A station's attachment to an ``EthernetSegment``."""

    __slots__ = ("segment", "name", "receiver", "up", "attached", "_busy_until",
                 "tx_frames", "rx_frames", "dropped")

    def __init__(self, segment: "EthernetSegment", name: str,
                 receiver: Callable[[bytes], None] | None):
        self.segment = segment
        self.name = name
        self.receiver = receiver
        self.up = True
        self.attached = True
        self._busy_until = 0
        self.tx_frames = self.rx_frames = self.dropped = 0

    def send(self, frame: bytes) -> bool:
        seg = self.segment
        if not self.up or not self.attached:
            self.dropped += 1
            return False
        sim = seg.sim
        start = self._busy_until if self._busy_until > sim.now else sim.now
        done = start + serialisation_ns(len(frame), seg.bandwidth_bps)
        self._busy_until = done
        self.tx_frames += 1
        for tap in seg.taps:
            tap(start, self.name, frame)
        arrival = done + seg.delay_ns
        macs = seg.macs
        src = frame[6:12]
        if len(src) == 6 and not src[0] & 1:
            macs[src] = self                        # learnt on the port it came in on
        owner = macs.get(frame[:6])
        if owner is not None:                       # a known unicast address: its port only
            if owner is not self:
                sim.call_at(arrival, owner._deliver, frame)
            return True
        for port in seg.ports:                      # broadcast, multicast, unknown: flooded
            if port is not self:
                sim.call_at(arrival, port._deliver, frame)
        return True

    def _deliver(self, frame: bytes) -> None:
        if not self.up or not self.attached:
            return
        self.rx_frames += 1
        if self.receiver is not None:
            self.receiver(frame)

    def detach(self) -> None:
        if self.attached:
            self.attached = False
            seg = self.segment
            seg.ports.remove(self)
            for mac in [m for m, port in seg.macs.items() if port is self]:
                del seg.macs[mac]


class EthernetSegment:
    """A switched segment (IOS labs sit on switches): the switch learns each source MAC on the port it
    came from, sends a frame for a known unicast address to that port alone, and floods broadcast,
    multicast and unknown destinations to every other port.

    No collisions are modelled; each port serialises its own frames. Taps see every frame sent
    (time ns, sending port name, frame), as a monitor port would.
    """

    def __init__(self, sim: Simulator, bandwidth_bps: int = 10_000_000,
                 delay_ns: int = 10 * US):
        self.sim = sim
        self.bandwidth_bps = _bandwidth(bandwidth_bps)
        self.delay_ns = _delay(delay_ns)
        self.ports: list[EthernetPort] = []
        self.macs: dict[bytes, EthernetPort] = {}       # the switch's address table
        self.taps: list[Tap] = []

    def attach(self, receiver: Callable[[bytes], None] | None = None,
               name: str | None = None) -> EthernetPort:
        port = EthernetPort(self, name or f"port{len(self.ports)}", receiver)
        self.ports.append(port)
        return port
