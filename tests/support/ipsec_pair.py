"""Two crypto subsystems back to back in memory, with the document's configurations.

``Pair`` runs the hub's and the remote's ``CryptoSubsystem`` on a fake clock, with a loop
that carries the IKE datagrams between them (the remote's Serial0 has the address IPCP
gives it in the document); ``Side`` is one of them.
"""

from __future__ import annotations

import io
import random
import warnings
from ipaddress import IPv4Address

from emulator.cli.crypto_debug import render_text
from emulator.config.loader import load_config
from emulator.engines.acl import AclEngine
from emulator.engines.ike.events import Trace
from emulator.engines.ipsec import DECRYPTED, DROP, PROTECTED, CryptoSubsystem
from emulator.labtime import MS
from emulator.wire.ethernet import ETHERTYPE_IPV4, EthernetFrame
from emulator.wire.ipv4 import PROTO_UDP, IPv4Packet
from emulator.wire.pcap import LINKTYPE_ETHERNET, PcapWriter
from emulator.wire.udp import UDPDatagram

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from scapy.layers.inet import ICMP, IP

from support import FIXTURES

HARDWARE = ["Ethernet0", "Serial0", "Serial1"]
HUB_WAN = IPv4Address("99.99.99.1")
REMOTE_WAN = IPv4Address("100.100.100.1")


def fixture_text(name: str) -> str:
    return (FIXTURES / f"{name}.cfg").read_text()


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


def icmp(src: str, dst: str, seq: int = 1, type_: int = 8, size: int = 100) -> bytes:
    """An ICMP echo of ``size`` bytes (the ping default of the document is 100)."""
    return bytes(IP(src=src, dst=dst, id=seq) / ICMP(type=type_, id=7, seq=seq) / (b"\xab\xcd" * ((size - 28) // 2)))


class Side:
    """One router's crypto subsystem with a config, an address for Serial0, logs and debugs."""

    def __init__(self, name: str, text: str, address: IPv4Address | None, seed: int):
        self.name = name
        self.cfg, errors = load_config(text, name, HARDWARE)
        assert all("log up time" in e.text for e in errors), errors  # the document's one typo
        self.address = address
        self.logs: list[str] = []
        self.debugs: list[tuple[str, str]] = []
        self.traces: list[Trace] = []
        self.sub = CryptoSubsystem(lambda: self.cfg, self._address, random.Random(seed), AclEngine(lambda: self.cfg),
                                   self.logs.append, self._trace)

    def _trace(self, trace: Trace) -> None:
        """Keep the record and its IOS wording, as ``debug crypto ...`` shows it."""
        self.traces.append(trace)
        self.debugs.append((trace.category.value, render_text(trace)))

    def _address(self, iface: str) -> IPv4Address | None:
        return self.address if iface == "Serial0" else None

    def debug_text(self, category: str | None = None) -> str:
        return "\n".join(t for c, t in self.debugs if category is None or c == category)

    def flow(self):
        flows = [f for f in self.sub.flows() if f.inbound or f.outbound]
        assert len(flows) == 1, flows
        return flows[0]


class Pair:
    """Hub and remote back to back; ``wire`` records every IPv4 packet between them (for pcaps)."""

    def __init__(self, seed: int = 14131, hub_text: str | None = None, remote_text: str | None = None,
                 remote_address: IPv4Address | None = REMOTE_WAN, delay: int = 4 * MS):
        self.hub = Side("sam-i-am", hub_text or fixture_text("sam-i-am"), HUB_WAN, seed * 2 + 1)
        self.remote = Side("dr_whoovie", remote_text or fixture_text("dr_whoovie"), remote_address, seed * 2 + 2)
        self.now = 0
        self.delay = delay
        self.wire: list[tuple[int, bytes]] = []
        self.ike_datagrams = 0
        self.lose = lambda src, dst, payload: False

    def other(self, side: Side) -> Side:
        return self.hub if side is self.remote else self.remote

    def _carry(self) -> bool:
        moved = False
        for a in (self.remote, self.hub):
            b = self.other(a)
            for src, dst, sport, dport, payload in a.sub.datagrams_to_send():
                moved = True
                self.ike_datagrams += 1
                self.now += self.delay
                udp = UDPDatagram(sport, dport, payload).encode(src, dst)
                self.wire.append((self.now, IPv4Packet(src, dst, PROTO_UDP, udp, ttl=255).encode()))
                if not self.lose(src, dst, payload):
                    b.sub.receive_ike("Serial0", src, dst, sport, dport, payload, self.now)
        return moved

    def run(self, duration: int | None = None) -> None:
        """Carry datagrams until quiet; with ``duration``, also fire timers up to now + duration."""
        end = None if duration is None else self.now + duration
        for _ in range(100000):
            if self._carry():
                continue
            timers = [t for t in (self.hub.sub.get_timer(), self.remote.sub.get_timer()) if t is not None]
            if end is None or not timers or min(timers) > end:
                break
            self.now = max(self.now, min(timers))
            for s in (self.remote, self.hub):
                t = s.sub.get_timer()
                if t is not None and t <= self.now:
                    s.sub.handle_timer(self.now)
        else:
            raise AssertionError("the exchange does not settle")
        if end is not None:
            self.now = max(self.now, end)

    def send(self, side: Side, inner: bytes):
        """Outbound on ``side``; if protected, carry the ESP packet to the other side's inbound."""
        out = side.sub.outbound("Serial0", inner, self.now)
        if out.action != PROTECTED:
            return out, None
        self.now += self.delay
        self.wire.append((self.now, out.packet))
        return out, self.other(side).sub.inbound("Serial0", out.packet, self.now)

    def up(self) -> None:
        """The document's sequence: the first ping from the remote starts IKE and is lost."""
        out, _ = self.send(self.remote, icmp("10.1.1.1", "10.2.2.3"))
        assert out.action == DROP
        self.run()
        assert len(self.hub.sub.sas()) == 2 and len(self.remote.sub.sas()) == 2

    def ping(self, count: int = 5, size: int = 100) -> int:
        """Echo requests remote -> hub LAN and the hub's replies; returns how many came back."""
        ok = 0
        for n in range(count):
            req = icmp("10.1.1.1", "10.2.2.3", seq=n, size=size)
            out, got = self.send(self.remote, req)
            if got is None or got.action != DECRYPTED:
                continue
            assert got.packet == req
            rep = icmp("10.2.2.3", "10.1.1.1", seq=n, type_=0, size=size)
            out, back = self.send(self.hub, rep)
            if back is not None and back.action == DECRYPTED and back.packet == rep:
                ok += 1
            self.now += 30 * MS
        return ok

    def pcap(self) -> bytes:
        """The wire as an Ethernet pcap (raw IPv4 needs a link header, third-party-readers.md)."""
        buf = io.BytesIO()
        w = PcapWriter(buf, LINKTYPE_ETHERNET)
        for ts, pkt in self.wire:
            w.write_ns(ts, EthernetFrame(b"\x00\x00\x0c\x00\x00\x01", b"\x00\x00\x0c\x00\x00\x02", ETHERTYPE_IPV4,
                                      pkt).encode())
        return buf.getvalue()

    def no_errors(self) -> None:
        assert self.hub.sub.errors == [] and self.remote.sub.errors == []


# ----------------------------------------------------------------------------- the document's tunnel
