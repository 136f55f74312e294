"""Hostile input injected into a running lab: IKE, ESP, PPP and Cisco HDLC, and the CLI.

A PROTOS-style corpus is built from the lab's own exchange (captured on the
hub's serial line) by damaging it: truncations, wrong lengths, unknown and
repeated payloads, wrong cookies, replays, quick mode before main mode ends,
a second main mode from another address, huge attribute values, random byte
flips. Each is put on the wire towards a router. Nothing may raise inside
the emulator, debug output keeps IOS's wording (no Python error text), and
the tunnel still negotiates afterwards. The CLI gets random and mutated
lines in every mode and never prints a traceback.

The corpus is seeded and bounded; each test prints how many inputs it tried.
"""

from __future__ import annotations

import random
import re
import struct
from ipaddress import IPv4Address

import pytest

from emulator.cli.session import CliSession
from emulator.lab.labfile import Lab, load_lab
from emulator.labtime import SECOND
from emulator.wire.chdlc import CHDLCFrame
from emulator.wire.ipv4 import IPProto, IPv4Packet
from emulator.wire.isakmp import PayloadType
from emulator.wire.ppp import PPPProtocol, encode_frame, fcs16
from emulator.wire.udp import UDPDatagram
from support import ROOT

LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"
IPV4_ETHERTYPE = 0x0800
# Python's own words that must never reach a router's console or debug output.
PYTHON_TEXT = re.compile(r"Traceback|Error\b|Exception|overruns|truncated at offset|struct\.error|"
                         r"unpack requires|object has no attribute|NoneType|KeyError|IndexError|ValueError")


class HostileLab:
    """The document's lab with a tap on the hub's serial line and a way to put frames on it."""

    def __init__(self):
        self.lab = Lab(load_lab(LAB))
        spec = self.lab.spec
        self.hub = spec.device_for_role("hub")
        self.remote = spec.device_for_role("remote")
        self.isp = spec.device_for_role("isp")
        self.cli = {}
        self.towards_hub = self._end_towards(self.hub)
        self.towards_remote = self._end_towards(self.remote)
        self.to_hub: list[bytes] = []
        link = self.towards_hub.link
        hub_port = f"{self.hub} Serial0"
        link.taps.append(lambda when, direction, frame: self.to_hub.append(frame)
                         if direction.endswith(hub_port) else None)

    def _end_towards(self, device: str):
        """The access server's end of the serial line whose other end is ``device`` Serial0."""
        for spec, link in self.lab.serial_links:
            ports = [f"{d} {i}" for d, i in spec.ports]
            if f"{device} Serial0" in ports:
                return link.ends[1 - ports.index(f"{device} Serial0")]
        raise AssertionError(f"no serial line to {device}")

    def run(self, device: str, line: str) -> str:
        if device not in self.cli:
            cli = CliSession(self.lab.devices[device], privileged=True, line="console")
            cli.monitor = False
            self.cli[device] = cli
        out = self.cli[device].execute(line)
        assert not PYTHON_TEXT.search(out), f"{device}# {line}\n{out}"
        return out

    def ping(self, role: str, target: str) -> str:
        out = self.run(self.lab.spec.device_for_role(role), f"ping {target}")
        return re.search(r"Success rate is (\d+) percent", out).group(1)

    def tunnel_up(self) -> None:
        hosts = self.lab.spec.scenario["hosts"]
        self.ping("remote_host", hosts["hub_host"])
        assert self.ping("remote_host", hosts["hub_host"]) == "100"

    def inject_ip_to_hub(self, packet: bytes) -> None:
        self.towards_hub.send(hdlc(CHDLCFrame(IPV4_ETHERTYPE, packet).encode()))
        self.lab.advance(SECOND // 5)

    def captured(self, protocol: int, port: int | None = None) -> list[IPv4Packet]:
        found = []
        for frame in self.to_hub:
            try:
                packet = IPv4Packet.decode(CHDLCFrame.decode(frame).payload)
            except Exception:  # noqa: BLE001 - keepalives and other frames are not IP
                continue
            if packet.protocol != protocol:
                continue
            if port is not None and UDPDatagram.decode(packet.payload, packet.src, packet.dst).dst_port != port:
                continue
            found.append(packet)
        return found

    def errors(self) -> list:
        return list(self.lab.sim.errors)


def hdlc(body: bytes) -> bytes:
    """A Cisco HDLC frame as the serial line carries it: the body and its FCS-16."""
    return body + fcs16(body).to_bytes(2, "little")


def _udp(src: IPv4Address, dst: IPv4Address, payload: bytes, sport: int = 500, dport: int = 500) -> bytes:
    datagram = UDPDatagram(sport, dport, payload).encode(src, dst)
    return IPv4Packet(src, dst, IPProto.UDP, datagram, ttl=254).encode()


def _ike_corpus(messages: list[bytes], rng: random.Random) -> list[tuple[str, bytes]]:
    """Damaged copies of the lab's own ISAKMP messages, by category."""
    corpus: list[tuple[str, bytes]] = []
    for index, msg in enumerate(messages):
        name = f"message {index + 1}"
        for cut in sorted({0, 1, 8, 16, 27, 28, 29, 32, len(msg) // 2, len(msg) - 1}):
            corpus.append((f"{name} truncated to {cut}", msg[:cut]))
        for length in (0, 27, 28, len(msg) - 1, len(msg) + 1, len(msg) + 1000, 0xFFFFFFFF):
            corpus.append((f"{name} header length {length}", msg[:24] + struct.pack("!I", length) + msg[28:]))
        if len(msg) >= 32:
            for plen in (0, 1, 3, 4, 0xFFFF):
                corpus.append((f"{name} first payload length {plen}", msg[:30] + struct.pack("!H", plen) + msg[32:]))
            corpus.append((f"{name} unknown payload type", msg[:16] + bytes([200]) + msg[17:]))
            corpus.append((f"{name} next payload of the first payload unknown", msg[:28] + bytes([201]) + msg[29:]))
            first = msg[28:28 + struct.unpack("!H", msg[30:32])[0]]
            if msg[16] in (PayloadType.SA,) and first:
                repeated = bytes([PayloadType.SA]) + first[1:]
                twice = msg[:28] + repeated + msg[28:]
                twice = twice[:24] + struct.pack("!I", len(twice)) + twice[28:]
                corpus.append((f"{name} SA payload twice", twice))
        corpus.append((f"{name} wrong initiator cookie", rng.randbytes(8) + msg[8:]))
        corpus.append((f"{name} wrong responder cookie", msg[:8] + rng.randbytes(8) + msg[16:]))
        corpus.append((f"{name} replayed", msg))
        for flip in range(12):
            data = bytearray(msg)
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            corpus.append((f"{name} bit flips #{flip}", bytes(data)))
    # Quick mode before main mode ends: a quick-mode header (exchange 32) under fresh cookies.
    qm = rng.randbytes(16) + bytes([PayloadType.HASH, 0x10, 32, 0x01]) + rng.randbytes(4)
    qm += struct.pack("!I", 28 + 24) + bytes([0, 0]) + struct.pack("!H", 24) + rng.randbytes(20)
    corpus.append(("quick mode before main mode", qm))
    # Huge attribute values: the first message with a 255-byte variable life duration in its transform.
    mm1 = messages[0]
    huge = bytes([0x00, 0x0C]) + struct.pack("!H", 255) + b"\xff" * 255     # life duration, variable form
    corpus.append(("main mode 1 with a huge attribute appended", mm1 + huge))
    corpus.append(("garbage of 64 KiB", rng.randbytes(65_000)))
    return corpus


def test_ike_corpus_is_dropped_and_the_tunnel_still_negotiates(record_property):
    lab = HostileLab()
    hub_router = lab.lab.devices[lab.hub]
    lab.run(lab.hub, "debug crypto isakmp")
    lab.tunnel_up()
    ike = lab.captured(IPProto.UDP, 500)
    messages = [UDPDatagram.decode(p.payload, p.src, p.dst).payload for p in ike]
    assert len(messages) >= 5, "main mode 1, 3, 5 and quick mode 1, 3 from the remote"
    src, dst = ike[0].src, ike[0].dst
    rng = random.Random(14131)
    corpus = _ike_corpus(messages, rng)
    log_before = len(hub_router.log_buffer)
    for _, payload in corpus:
        lab.inject_ip_to_hub(_udp(src, dst, payload))
    # A second main mode from another address, and the first message replayed from it.
    other = IPv4Address(int(src) + 7)
    lab.inject_ip_to_hub(_udp(other, dst, messages[0]))
    lab.inject_ip_to_hub(_udp(other, dst, messages[0]))
    tried = len(corpus) + 2
    assert lab.errors() == [], lab.errors()
    debug = "\n".join(hub_router.log_buffer[log_before:])
    assert not PYTHON_TEXT.search(debug), PYTHON_TEXT.search(debug).group(0)
    lab.lab.advance(120 * SECOND)          # retransmissions of half-open exchanges run out
    ike_sas = lab.run(lab.hub, "show crypto isakmp sa")
    assert len(ike_sas.strip().splitlines()) <= 4, ike_sas
    for device in (lab.hub, lab.remote):
        lab.run(device, "clear crypto isakmp")
        lab.run(device, "clear crypto sa")
    lab.lab.advance(5 * SECOND)
    lab.tunnel_up()
    assert lab.errors() == []
    record_property("tried", f"{tried} damaged IKE messages injected towards the hub; the tunnel negotiated again")


def test_esp_corpus_is_dropped_and_counted(record_property):
    lab = HostileLab()
    lab.tunnel_up()
    esp = lab.captured(IPProto.ESP)
    assert esp, "the remote's ESP towards the hub"
    sample = esp[-1]
    body = sample.payload
    rng = random.Random(2)
    corpus = [("bad SPI", rng.randbytes(4) + body[4:]),
              ("bad ICV", body[:-1] + bytes([body[-1] ^ 0xFF])),
              ("replay", body),
              ("empty", b""),
              ("no sequence number", body[:6]),
              ("no ICV", body[:-12]),
              ("ciphertext not a whole block", body[:-13] + body[-12:])]
    corpus += [(f"truncated to {n}", body[:n]) for n in range(0, len(body), 7)]
    corpus += [(f"flip #{i}", bytes(b ^ (1 << rng.randrange(8)) if j == rng.randrange(len(body)) else b
                                    for j, b in enumerate(body))) for i in range(20)]
    hub_text_before = lab.run(lab.hub, "show crypto ipsec sa")
    decaps_before = int(re.search(r"#pkts decaps: (\d+)", hub_text_before).group(1))
    for _, payload in corpus:
        lab.inject_ip_to_hub(IPv4Packet(sample.src, sample.dst, IPProto.ESP, payload, ttl=254).encode())
    assert lab.errors() == []
    after = lab.run(lab.hub, "show crypto ipsec sa")
    decaps_after = int(re.search(r"#pkts decaps: (\d+)", after).group(1))
    assert decaps_after == decaps_before, "no damaged ESP packet was accepted"
    assert int(re.search(r"#recv errors (\d+)", after).group(1)) >= len(corpus) - 3, after
    assert lab.ping("remote_host", lab.lab.spec.scenario["hosts"]["hub_host"]) == "100"
    record_property("tried", f"ESP corpus: {len(corpus)} damaged packets injected towards the hub; none accepted")


def test_ppp_and_hdlc_garbage_never_stops_the_lab(record_property):
    lab = HostileLab()
    rng = random.Random(3)
    tried = 0
    lcp = int(PPPProtocol.LCP)
    ipcp = int(PPPProtocol.IPCP)
    for _ in range(300):
        kind = rng.random()
        if kind < 0.3:
            frame = rng.randbytes(rng.randint(0, 80))
        elif kind < 0.7:
            code = rng.choice((1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 200))
            data = rng.randbytes(rng.randint(0, 30))
            length = rng.choice((4 + len(data), 0, 3, 2000, 4 + len(data) + 5))
            packet = bytes([code, rng.randint(0, 255)]) + struct.pack("!H", length) + data
            frame = encode_frame(rng.choice((lcp, ipcp, 0xC023, 0x8021, 0xFFFF)), packet)
        else:
            frame = encode_frame(0x0021, rng.randbytes(rng.randint(0, 60)))
        lab.towards_remote.send(frame)
        body = CHDLCFrame(rng.choice((0x0800, 0x8035, 0x1234)), rng.randbytes(rng.randint(0, 40))).encode()
        lab.towards_hub.send(hdlc(body) if rng.random() < 0.8 else rng.randbytes(rng.randint(0, 10)))
        lab.lab.advance(SECOND // 10)
        tried += 2
    assert lab.errors() == []
    lab.lab.advance(60 * SECOND)       # a link that a Terminate-Request or garbage took down comes back
    hosts = lab.lab.spec.scenario["hosts"]
    lab.ping("remote_host", hosts["hub_host"])
    assert lab.ping("remote_host", hosts["hub_host"]) == "100"
    assert lab.errors() == []
    record_property("tried", f"{tried} PPP and HDLC frames injected towards both routers; the tunnel works afterwards")


MODES = [
    [],
    ["configure terminal"],
    ["configure terminal", "interface Serial0"],
    ["configure terminal", "crypto map fuzz 10 ipsec-isakmp"],
    ["configure terminal", "crypto isakmp policy 50"],
    ["configure terminal", "route-map fuzz permit 10"],
    ["configure terminal", "line vty 0 4"],
]
WORDS = ["show", "ip", "crypto", "map", "interface", "Serial0", "no", "debug", "all", "ping", "?", "|",
         "include", "10.0.0.1", "255.255.255.0", "isakmp", "sa", "clear", "nat", "translation", "*", "end",
         "exit", "access-list", "permit", "any", "shutdown", "set", "peer", "match", "address", "terminal",
         "length", "0", "65536", "-1", "99999999999999999999", "éàü", "日本", "\x00", "\x1b[A", "\t", "\x7f"]


def _mutated_lines(rng: random.Random, count: int) -> list[str]:
    lines = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.5:
            line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 7)))
        elif kind < 0.8:
            line = "".join(chr(rng.choice((rng.randint(0, 31), rng.randint(32, 126), rng.randint(0x80, 0x2FFF))))
                           for _ in range(rng.randint(1, 40)))
        else:
            base = rng.choice(["show crypto ipsec sa", "ping 10.2.2.3", "ip nat inside source route-map x int s0 ov",
                               "crypto isakmp key abc address 1.2.3.4", "show running-config | include crypto"])
            pos = rng.randrange(len(base))
            line = base[:pos] + rng.choice(WORDS + ["", " ", "  "]) + base[pos + 1:]
        lines.append(line)
    return lines


def _session(lab: Lab, name: str, privileged: bool, mode: list[str]) -> CliSession:
    cli = CliSession(lab.devices[name], privileged=privileged, line="console")
    cli.monitor = False
    for line in mode:
        cli.execute(line)
    return cli


def test_cli_fuzz_never_prints_a_traceback(record_property):
    lab = Lab(load_lab(LAB))
    router_name = lab.spec.device_for_role("remote")
    rng = random.Random(4)
    tried = 0
    for mode in MODES:
        for privileged in (True, False):
            if mode and not privileged:
                continue
            cli = _session(lab, router_name, privileged, mode)
            for line in _mutated_lines(rng, 250):
                if re.match(r"\s*(reload|write|copy|erase|configure (memory|network)|ping)\b", line):
                    continue
                if cli.closed:          # a fuzzed "exit" or "logout" ended the session, as on IOS
                    cli = _session(lab, router_name, privileged, mode)
                out = cli.execute(line)
                while cli.in_dialog:
                    out += cli.execute("")
                tried += 1
                assert not PYTHON_TEXT.search(out), f"{line!r}\n{out}"
                assert lab.sim.errors == []
    for length in (1_000, 100_000, 1_000_000):
        cli = CliSession(lab.devices[router_name], privileged=True, line="console")
        for line in ("x" * length, "show " + "a" * length, "show ip " + " " * length + "route"):
            out = cli.execute(line)
            tried += 1
            assert not PYTHON_TEXT.search(out[:2000])
            assert len(out) < 2 * length + 500
    record_property("tried", f"CLI fuzz: {tried} random and mutated lines in {len(MODES)} modes, up to 1 MB long")


@pytest.mark.parametrize("length", [0, 1, 20, 27, 28])
def test_short_ike_datagrams_are_dropped(length):
    lab = HostileLab()
    lab.tunnel_up()
    src = lab.captured(IPProto.UDP, 500)[0].src
    dst = lab.captured(IPProto.UDP, 500)[0].dst
    lab.inject_ip_to_hub(_udp(src, dst, bytes(length)))
    assert lab.errors() == []
    assert lab.ping("remote_host", lab.lab.spec.scenario["hosts"]["hub_host"]) == "100"
