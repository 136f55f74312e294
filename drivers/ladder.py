"""The exchange of one test drawn from its captures: who sent what to whom, decoded by the project's codecs.

An emulated run writes one pcap per link and test module (``emulator/lab/capture.py``), with the keys
that decrypt the tunnel beside them. A pcap of a serial line does not say which end sent a frame, so
:class:`DirectionRecorder` notes the sender of every frame as the lab runs (``.directions.json``
beside the captures). :func:`build_ladder` reads the frames of one test's lab-time window and turns
them into steps: PPP LCP/IPCP, ISAKMP main mode 1-6 and quick mode 1-3 (decrypted with the exported
phase 1 keys), ESP with its SPI and sequence number (the inner packet decrypted with the exported SA
keys), plain IP, and the address changes NAT makes between the two sides of a router.
"""

from __future__ import annotations

import bisect
import dataclasses
import json
from collections import Counter
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, Iterable

from emulator.engines.esp_sa import AUTHS, CIPHERS, EspSA
from emulator.engines.ike.crypto import IkeCipherState, ike_cipher
from emulator.wire import isakmp as ik
from emulator.wire import ppp
from emulator.wire.arp import ARPPacket
from emulator.wire.chdlc import CHDLCFrame
from emulator.wire.errors import DecodeError
from emulator.wire.ethernet import EthernetFrame, EtherType
from emulator.wire.icmp import ICMPMessage, ICMPType
from emulator.wire.ipv4 import IPProto, IPv4Packet
from emulator.wire.pcap import LinkType, read_pcap
from emulator.wire.udp import UDPDatagram

DIRECTIONS_FILE = ".directions.json"
MAX_ROWS = 60            # rows a ladder draws; the rest are counted, not drawn
NAT_MATCH_SECONDS = 0.05  # a packet forwarded by a router leaves it within this much lab time
CONTROL_KINDS = ("ppp", "ike")
SETTLED = 5.0            # lab seconds without a new message after which an unfinished exchange has stopped


# ---------------------------------------------------------------------------- who sent each frame

class DirectionRecorder:
    """Notes the sending port of every frame on a lab's links, in capture order.

    Frames sent before it was attached (the first requests of a booting lab) are counted per port;
    :func:`read_frames` places them from their content.
    """

    def __init__(self, lab: Any):
        self.links: list[dict[str, Any]] = []
        capture = getattr(lab, "capture", None)
        files = list(capture.files) if capture is not None else []
        wires = [(link, wire, list(wire.ends)) for link, wire in lab.serial_links] + \
                [(link, wire, list(wire.ports)) for link, wire in lab.segments]
        for (link, wire, ports), path in zip(wires, files, strict=False):
            names = [p.name for p in ports]
            entry: dict[str, Any] = {"file": Path(path).name, "kind": link.kind, "ports": names,
                                     "before": [p.tx_frames for p in ports], "senders": []}
            self.links.append(entry)
            wire.taps.append(self._tap(entry["senders"], names))

    @staticmethod
    def _tap(senders: list[int], names: list[str]):
        index = {name: i for i, name in enumerate(names)}

        def tap(t: int, sender: str, frame: bytes) -> None:
            # A serial line names the direction ("a->b"), a segment the sending port.
            senders.append(index.get(sender.split("->", 1)[0], -1))
        return tap

    def save(self, directory: str | Path) -> None:
        path = Path(directory)
        if path.is_dir():
            (path / DIRECTIONS_FILE).write_text(json.dumps(self.links))


@dataclass(frozen=True)
class Frame:
    t: float                 # lab seconds
    sender: str | None       # device name, None when the direction is unknown
    receiver: str | None
    link: str                # the pcap file
    linktype: int
    data: bytes
    ends: tuple[str, ...] = ()  # the devices on the link (drawn between when the sender is unknown)


def _device(port: str) -> str:
    return port.rsplit(" ", 1)[0]


def read_frames(directory: Path, start: float | None = None, end: float | None = None) -> tuple[list[Frame], list[str]]:
    """Every frame of the captures in ``directory`` between ``start`` and ``end`` (lab seconds), in time order;
    and what could not be read."""
    problems: list[str] = []
    meta_path = directory / DIRECTIONS_FILE
    meta: dict[str, Any] = {}
    try:
        meta = {m["file"]: m for m in json.loads(meta_path.read_text())} if meta_path.is_file() else {}
    except (OSError, ValueError, KeyError, TypeError) as err:
        problems.append(f"{meta_path.name}: unreadable ({err})")
    frames: list[Frame] = []
    for pcap in sorted(directory.glob("*.pcap")):
        try:
            linktype, records = read_pcap(pcap)
        except (OSError, DecodeError, ValueError) as err:
            problems.append(f"{pcap.name}: {err}")
            continue
        senders = _senders(meta.get(pcap.name), records, linktype)
        ports = [_device(p) for p in (meta.get(pcap.name) or {}).get("ports", [])]
        for (t, data), sender in zip(records, senders, strict=True):
            if (start is not None and t < start - 1e-6) or (end is not None and t > end + 1e-6):
                continue
            src = ports[sender] if sender is not None and 0 <= sender < len(ports) else None
            dst = _receiver(ports, src)
            frames.append(Frame(t, src, dst, pcap.name, linktype, data, tuple(ports)))
    frames.sort(key=lambda f: f.t)
    return frames, problems


def _receiver(ports: list[str], sender: str | None) -> str | None:
    """The other end of a point-to-point link or two-port segment; None when it cannot be told."""
    others = [p for p in ports if p != sender]
    return others[0] if sender is not None and len(others) == 1 else None


def _senders(meta: dict[str, Any] | None, records: list[tuple[float, bytes]], linktype: int) -> list[int | None]:
    """The sending port index of each record: recorded, or placed from content for the first frames."""
    if not meta:
        return [None] * len(records)
    before = [int(n) for n in meta.get("before", [])]
    recorded = [int(s) if s >= 0 else None for s in meta.get("senders", [])]
    head = sum(before)
    unknown: list[int | None] = [None] * len(records)
    senders = (unknown[:min(head, len(records))] + recorded + unknown)[:len(records)]
    busy = [i for i, n in enumerate(before) if n]
    if len(busy) == 1:
        senders[:head] = [busy[0]] * min(head, len(records))
    elif busy and linktype == LinkType.PPP:
        _place_lcp_requests(senders, records, head)
    _place_identical(senders, records, before)
    return senders


def _place_identical(senders: list[int | None], records: list[tuple[float, bytes]], before: list[int]) -> None:
    """Frames still unplaced that are all alike (two first keepalives at the same instant) go to the ports
    that sent them, one each: which record is whose makes no difference to what is drawn."""
    head = min(sum(before), len(records))
    open_ = [i for i in range(head) if senders[i] is None]
    if not open_ or len({records[i][1] for i in open_}) != 1:
        return
    quota = list(before)
    for i in range(head):
        if senders[i] is not None and 0 <= int(senders[i] or 0) < len(quota):
            quota[int(senders[i] or 0)] -= 1
    ports = [p for p, n in enumerate(quota) for _ in range(max(n, 0))]
    if len(ports) == len(open_):
        for i, port in zip(open_, ports, strict=True):
            senders[i] = port


def _ppp_frame(data: bytes) -> ppp.PPPFrame:
    """A captured PPP frame (LINKTYPE_PPP: no FCS). The usual form, full address and control and a
    two-octet protocol, is read in place; any other goes through the codec with its FCS put back."""
    if len(data) >= 4 and data[:2] == b"\xff\x03" and data[3] & 1 and not data[2] & 1:
        return ppp.PPPFrame((data[2] << 8) | data[3], bytes(data[4:]))
    return ppp.decode_frame(data + ppp.fcs16(data).to_bytes(2, "little"))


def _lcp(data: bytes) -> ppp.ControlPacket | None:
    try:
        frame = _ppp_frame(data)
        return ppp.decode_control(frame.information, frame.protocol) if frame.protocol == ppp.PPP_LCP else None
    except DecodeError:
        return None


def _magic(packet: ppp.ControlPacket) -> int | None:
    for typ, raw in packet.options:
        if typ == ppp.LCP_MAGIC_NUMBER:
            return int.from_bytes(raw, "big")
    return None


def _place_lcp_requests(senders: list[int | None], records: list[tuple[float, bytes]], head: int) -> None:
    """A Configure-Request sent before the recorder was attached belongs to the end whose magic number
    it carries: the end that repeats it later, or the other one of the end that acknowledges it."""
    owner: dict[int, int] = {}
    for (_, data), sender in zip(records[head:], senders[head:], strict=False):
        packet = _lcp(data)
        magic = _magic(packet) if packet is not None else None
        if sender is None or magic is None or packet is None:
            continue
        if packet.code == ppp.CONFIGURE_REQUEST:
            owner.setdefault(magic, sender)
        elif packet.code in (ppp.CONFIGURE_ACK, ppp.CONFIGURE_NAK) and sender in (0, 1):
            owner.setdefault(magic, 1 - sender)
    for i in range(min(head, len(records))):
        packet = _lcp(records[i][1])
        magic = _magic(packet) if packet is not None else None
        if magic is not None and magic in owner:
            senders[i] = owner[magic]


# ---------------------------------------------------------------------------- keys

def read_ike_keys(path: Path) -> dict[bytes, list[bytes]]:
    """``ikev1_decryption_table``: initiator cookie -> the encryption keys exported for it."""
    keys: dict[bytes, list[bytes]] = {}
    for line in _lines(path):
        cookie, _, key = line.partition(",")
        try:
            keys.setdefault(bytes.fromhex(cookie), []).append(bytes.fromhex(key))
        except ValueError:
            continue
    return keys


def read_esp_keys(path: Path) -> dict[int, EspSA]:
    """``esp_sa`` (Wireshark's eight quoted fields): SPI -> an SA that decrypts its packets."""
    ciphers = {c.name: i for i, c in CIPHERS.items()}
    auths = {a.name: i for i, a in AUTHS.items()}
    sas: dict[int, EspSA] = {}
    for line in _lines(path):
        fields = [f.strip().strip('"') for f in line.split('","')]
        if len(fields) != 8:
            continue
        try:
            spi = int(fields[3], 16)
            sas[spi] = EspSA(spi, ciphers[fields[4]], _hex(fields[5]), auths[fields[6]], _hex(fields[7]),
                             replay_window=0)
        except (KeyError, ValueError):
            continue
    return sas


def _hex(text: str) -> bytes:
    return bytes.fromhex(text[2:] if text.startswith("0x") else text)


def _lines(path: Path) -> list[str]:
    try:
        return [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    except OSError:
        return []


# ---------------------------------------------------------------------------- steps

@dataclass
class Step:
    t: float
    sender: str | None
    receiver: str | None
    kind: str                # ppp, ike, esp, ip, arp, link
    label: str
    detail: str = ""
    note: str = ""           # NAT address changes, retransmissions, decryption notes
    group: str = ""          # steps of one group in a row are drawn as one (keepalives)
    count: int = 1
    ends: tuple[str, ...] = ()  # the link's devices, for a step whose sender is unknown


@dataclass
class Ladder:
    lanes: list[str]
    steps: list[Step]
    total: int = 0                                    # steps before the cap
    omitted: Counter = field(default_factory=Counter)  # kind -> steps not drawn
    notes: list[str] = field(default_factory=list)    # where exchanges stopped, what could not be decoded
    source: str = ""
    per_link: Counter = field(default_factory=Counter)  # pcap file -> frames in the window


def _ike_names(enum_type: Any, value: int | None) -> str:
    try:
        return enum_type(value).name.lower().replace("_", "-")
    except (ValueError, TypeError):
        return str(value)


def _transform_text(proposal: ik.Proposal, t: ik.Transform) -> str:
    if proposal.protocol_id == ik.ProtocolId.ISAKMP:
        parts = [_ike_names(ik.AttrEncryption, t.get(ik.OakleyAttr.ENCRYPTION)),
                 _ike_names(ik.AttrHash, t.get(ik.OakleyAttr.HASH)),
                 _ike_names(ik.AttrAuthMethod, t.get(ik.OakleyAttr.AUTH_METHOD)),
                 f"group {t.get(ik.OakleyAttr.GROUP_DESCRIPTION)}"]
        life = t.get(ik.OakleyAttr.LIFE_DURATION)
        return " ".join(parts) + (f" {life} s" if life else "")
    parts = [f"esp-{_ike_names(ik.EspTransformId, t.transform_id)}",
             _ike_names(ik.AttrAuthAlgorithm, t.get(ik.IPsecAttr.AUTH_ALGORITHM)),
             _ike_names(ik.AttrEncapsulation, t.get(ik.IPsecAttr.ENCAPSULATION_MODE))]
    return " ".join(parts)


def _sa_text(sa: ik.SAPayload, verb: str) -> str:
    offers = [(p, t) for p in sa.proposals for t in p.transforms]
    if not offers:
        return f"{verb}: no proposal"
    p, t = offers[0]
    spi = f" SPI 0x{p.spi.hex()}" if p.spi else ""
    more = f" (+{len(offers) - 1} more)" if len(offers) > 1 else ""
    return f"{verb} {_transform_text(p, t)}{spi}{more}"


def _id_text(payload: ik.IDPayload) -> str:
    try:
        net = payload.network
        return str(net.network_address) if net.prefixlen == 32 else str(net)
    except ValueError:
        return f"ID type {payload.id_type}"


def _payloads_text(payloads: list[ik.Payload], verb: str) -> str:
    parts: list[str] = []
    ids = [_id_text(p) for p in payloads if isinstance(p, ik.IDPayload)]
    for p in payloads:
        if isinstance(p, ik.SAPayload):
            parts.append(_sa_text(p, verb))
        elif isinstance(p, ik.NotificationPayload):
            parts.append(f"notify {p.name}")
        elif isinstance(p, ik.DeletePayload):
            parts.append("delete " + ", ".join("0x" + s.hex() for s in p.spis[:2]))
    if len(ids) == 2:
        parts.append(f"{ids[0]} <-> {ids[1]}")
    elif ids:
        parts.append("ID " + ids[0])
    return "; ".join(parts)


class _Phase1:
    """One ISAKMP SA as the captures show it: who started it, what was chosen, the keys that decrypt it."""

    def __init__(self, initiator: IPv4Address, keys: list[bytes]):
        self.initiator = initiator
        self.keys = keys
        self.transform: ik.Transform | None = None
        self.gxi = self.gxr = b""
        self.states: list[IkeCipherState] | None = None
        self.good: int | None = None          # index of the key that decrypts
        self.seen: dict[bytes, tuple[str, str, str]] = {}
        self.events: list[tuple[float, str, int]] = []   # (lab time, message name, message id) as first sent
        self.quick: dict[int, int] = {}       # message id -> quick mode messages seen

    def cipher_states(self) -> list[IkeCipherState]:
        if self.states is None:
            self.states = []
            t = self.transform
            if t is not None and self.gxi and self.gxr:
                try:
                    cipher = ike_cipher(t.get(ik.OakleyAttr.ENCRYPTION) or 0, t.get(ik.OakleyAttr.KEY_LENGTH))
                    hash_alg = t.get(ik.OakleyAttr.HASH) or 0
                    self.states = [IkeCipherState(hash_alg, cipher, k, self.gxi, self.gxr)
                                   for k in self.keys if len(k) == cipher.key_size]
                except ValueError:
                    self.states = []
        return self.states

    def open(self, msg: ik.IsakmpMessage) -> list[ik.Payload] | None:
        """The payloads of an encrypted message, with whichever exported key decrypts it."""
        body = msg.encrypted_body or b""
        found: list[ik.Payload] | None = None
        for i, state in enumerate(self.cipher_states()):
            try:
                plain = state.decrypt(msg.message_id, body)
                payloads = ik.decode_payloads(msg.first_payload, plain)
            except (DecodeError, ValueError):
                continue
            if found is None and payloads and isinstance(payloads[0], (ik.IDPayload, ik.HashPayload)):
                found, self.good = payloads, i if self.good is None else self.good
        return found


class IkeReader:
    """Names each ISAKMP message (MM1-MM6, QM1-QM3, informational) and decrypts what the keys allow."""

    def __init__(self, keys: dict[bytes, list[bytes]]):
        self.keys = keys
        self.sas: dict[bytes, _Phase1] = {}

    def read(self, src: IPv4Address, data: bytes, link: str = "", t: float = 0.0) -> tuple[str, str, str]:
        """(message name, what it carries, a note); the same bytes again on the link that first carried
        them are a retransmission, on another link the copy a router forwarded."""
        try:
            msg = ik.IsakmpMessage.decode(data)
        except DecodeError as err:
            return "ISAKMP (undecodable)", str(err), ""
        sa = self.sas.get(msg.icookie)
        if sa is None:
            sa = self.sas[msg.icookie] = _Phase1(src, self.keys.get(msg.icookie, []))
        if data in sa.seen:
            name, detail, first_link = sa.seen[data]
            if link != first_link:
                return name, detail, ""
            sa.events.append((t, name, msg.message_id))
            again = sum(1 for _, n, mid in sa.events if n == name and mid == msg.message_id) - 1
            return name, detail, f"retransmission {again}"
        name, detail = self._name(sa, src, msg)
        sa.seen[data] = (name, detail, link)
        sa.events.append((t, name, msg.message_id))
        return name, detail, ""

    def _name(self, sa: _Phase1, src: IPv4Address, msg: ik.IsakmpMessage) -> tuple[str, str]:
        from_initiator = src == sa.initiator
        if msg.exchange == ik.ExchangeType.MAIN_MODE:
            return self._main(sa, from_initiator, msg)
        payloads = sa.open(msg) if msg.encrypted else msg.payloads
        if payloads is None:
            return self._exchange_name(sa, msg, from_initiator), self._undecrypted(sa, msg)
        return self._exchange_name(sa, msg, from_initiator), _payloads_text(
            payloads, "offers" if from_initiator else "accepts")

    @staticmethod
    def _exchange_name(sa: _Phase1, msg: ik.IsakmpMessage, from_initiator: bool) -> str:
        if msg.exchange == ik.ExchangeType.QUICK_MODE:
            n = sa.quick[msg.message_id] = sa.quick.get(msg.message_id, 0) + 1
            return f"IKE QM{n}"
        if msg.exchange == ik.ExchangeType.INFORMATIONAL:
            return "IKE informational"
        return f"IKE exchange {msg.exchange}"

    def _main(self, sa: _Phase1, from_initiator: bool, msg: ik.IsakmpMessage) -> tuple[str, str]:
        if msg.encrypted:
            name = "IKE MM5" if from_initiator else "IKE MM6"
            payloads = sa.open(msg)
            if payloads is None:
                return name, self._undecrypted(sa, msg)
            return name, _payloads_text(payloads, "")
        sa_payload = msg.first(ik.SAPayload)
        ke = msg.first(ik.KEPayload)
        if isinstance(sa_payload, ik.SAPayload):
            if not from_initiator:
                offers = [t for p in sa_payload.proposals for t in p.transforms]
                sa.transform = offers[0] if offers else None
            return ("IKE MM1", _sa_text(sa_payload, "offers")) if from_initiator else \
                ("IKE MM2", _sa_text(sa_payload, "accepts"))
        if isinstance(ke, ik.KEPayload):
            if from_initiator:
                sa.gxi = ke.data
            else:
                sa.gxr = ke.data
            return ("IKE MM3" if from_initiator else "IKE MM4"), "key exchange, nonce"
        return "IKE main mode", _payloads_text(msg.payloads, "")

    @staticmethod
    def _undecrypted(sa: _Phase1, msg: ik.IsakmpMessage) -> str:
        if not sa.keys:
            return f"encrypted; no key for cookie {msg.icookie.hex()} in ikev1_decryption_table"
        return "encrypted; no exported key decrypts it"

    def endings(self, start: float | None, end: float | None) -> list[str]:
        """Where the exchanges with a message between ``start`` and ``end`` stopped, in words, and keys that differ
        between the ends. An exchange the window cut short (its last message less than ``SETTLED`` s before
        ``end``, and not repeated) is under way, not stopped."""
        notes = []
        for cookie, sa in self.sas.items():
            events = [e for e in sa.events if end is None or e[0] <= end + 1e-6]
            if not any(start is None or e[0] >= start - 1e-6 for e in events):
                continue
            notes += _main_mode_end(cookie, sa, [e for e in events if e[2] == 0], end)
            for mid in sorted({e[2] for e in events if e[2]}):
                notes += _quick_mode_end(mid, [e for e in events if e[2] == mid], end)
        return notes


MAIN_MODE = ("IKE MM1", "IKE MM2", "IKE MM3", "IKE MM4", "IKE MM5", "IKE MM6")


def _main_mode_end(cookie: bytes, sa: _Phase1, events: list[tuple[float, str, int]], end: float | None) -> list[str]:
    reached = [n for n in MAIN_MODE if any(e[1] == n for e in events)]
    if not reached:
        return []
    last = reached[-1]
    times = sum(1 for e in events if e[1] == last)
    distinct = len(set(sa.keys))
    if last == "IKE MM6":
        return [f"Main mode {cookie.hex()}: the routers exported {distinct} different keys."] if distinct > 1 else []
    if end is not None and end - events[-1][0] < SETTLED and times < 2:
        return [f"Main mode {cookie.hex()} was at {last[4:]} when the test ended."]
    again = f", sent {times} times" if times > 1 else ""
    why = (": the two routers derived different keys from their pre-shared keys (pre-shared key mismatch)"
           if last == "IKE MM5" and distinct > 1 else "")
    return [f"Main mode {cookie.hex()} stopped at {last[4:]}{again}; no MM{int(last[-1]) + 1}{why}."]


def _quick_mode_end(mid: int, events: list[tuple[float, str, int]], end: float | None) -> list[str]:
    names = sorted({e[1] for e in events if e[1].startswith("IKE QM")})
    if not names or names[-1] == "IKE QM3" or (end is not None and end - events[-1][0] < SETTLED):
        return []
    n = int(names[-1][-1])
    return [f"Quick mode 0x{mid:08x} stopped at QM{n}; no QM{n + 1}."]


def _esp_step(esp: dict[int, EspSA], payload: bytes) -> tuple[str, str, bytes | None]:
    if len(payload) < 8:
        return "ESP (truncated)", "", None
    spi, seq = int.from_bytes(payload[:4], "big"), int.from_bytes(payload[4:8], "big")
    label = f"ESP SPI 0x{spi:08x} seq {seq}"
    sa = esp.get(spi)
    if sa is None:
        return label, "SPI not in esp_sa: not decrypted", None
    try:
        return label, "", sa.unprotect(payload)
    except (DecodeError, ValueError) as err:
        return label, f"does not decrypt: {err}", None


def _ip_text(packet: IPv4Packet) -> str:
    where = f"{packet.src} > {packet.dst}"
    if packet.protocol == IPProto.ICMP:
        try:
            icmp = ICMPMessage.decode(packet.payload, verify=False)
        except DecodeError:
            return f"ICMP {where}"
        kind = {int(ICMPType.ECHO_REQUEST): "echo request", int(ICMPType.ECHO_REPLY): "echo reply"}.get(icmp.type)
        if kind:
            return f"ICMP {kind} {where} seq {icmp.sequence}"
        return f"ICMP type {icmp.type} {where}"
    if packet.protocol in (IPProto.UDP, IPProto.TCP) and len(packet.payload) >= 4:
        ports = f"{int.from_bytes(packet.payload[:2], 'big')} > {int.from_bytes(packet.payload[2:4], 'big')}"
        return f"{IPProto(packet.protocol).name} {packet.src}:{ports.split(' > ')[0]} > {packet.dst}:" \
               f"{ports.split(' > ')[1]}"
    return f"IP proto {packet.protocol} {where}"


class StepReader:
    """Frames to steps, one frame at a time, with the state that spans frames (IKE, NAT matching)."""

    def __init__(self, ike_keys: dict[bytes, list[bytes]], esp_keys: dict[int, EspSA]):
        self.ike = IkeReader(ike_keys)
        self.esp = esp_keys
        self.recent: dict[tuple[int, int, int], tuple[float, str | None, IPv4Address, IPv4Address]] = {}
        self.problems: Counter = Counter()

    def step(self, frame: Frame) -> Step | None:
        try:
            step = self._step(frame)
        except (DecodeError, ValueError) as err:
            self.problems[str(err)[:80]] += 1
            step = Step(frame.t, frame.sender, frame.receiver, "link", "undecodable frame", str(err)[:80])
        if step is not None:
            step.ends = frame.ends
        return step

    def _step(self, f: Frame) -> Step | None:
        if f.linktype == LinkType.PPP:
            frame = _ppp_frame(f.data)
            if frame.protocol in (ppp.PPP_LCP, ppp.PPP_IPCP):
                return self._ppp_control(f, frame)
            if frame.protocol == ppp.PPP_IP:
                return self._ip(f, frame.information)
            return Step(f.t, f.sender, f.receiver, "ppp", f"PPP protocol 0x{frame.protocol:04x}")
        if f.linktype == LinkType.C_HDLC:
            hdlc = CHDLCFrame.decode(f.data)
            if hdlc.protocol == EtherType.IPV4:
                return self._ip(f, hdlc.payload)
            return Step(f.t, f.sender, f.receiver, "link", "SLARP keepalive" if hdlc.protocol == EtherType.SLARP
                        else f"HDLC 0x{hdlc.protocol:04x}", group="slarp")
        if f.linktype == LinkType.ETHERNET:
            eth = EthernetFrame.decode(f.data)
            if eth.ethertype == EtherType.ARP:
                arp = ARPPacket.decode(eth.payload)
                text = f"ARP who has {arp.target_ip}" if arp.op == 1 else f"ARP {arp.sender_ip} is here"
                return Step(f.t, f.sender, f.receiver, "arp", text, group="arp")
            if eth.ethertype == EtherType.IPV4:
                return self._ip(f, eth.payload)
            return Step(f.t, f.sender, f.receiver, "link", f"Ethernet 0x{eth.ethertype:04x}", group="eth")
        return Step(f.t, f.sender, f.receiver, "link", f"link type {f.linktype}")

    def _ppp_control(self, f: Frame, frame: ppp.PPPFrame) -> Step:
        layer = "LCP" if frame.protocol == ppp.PPP_LCP else "IPCP"
        packet = ppp.decode_control(frame.information, frame.protocol)
        if packet.code in (ppp.ECHO_REQUEST, ppp.ECHO_REPLY):
            return Step(f.t, f.sender, f.receiver, "ppp", f"{layer} keepalive",
                        group=f"{layer}-echo")
        options = ", ".join(ppp.option_text(frame.protocol, t, raw) for t, raw in packet.options)
        return Step(f.t, f.sender, f.receiver, "ppp", f"{layer} {packet.name} id {packet.identifier}", options)

    def _ip(self, f: Frame, data: bytes) -> Step:
        packet = IPv4Packet.decode(data, verify=False, allow_truncated=True)
        note = self._nat(f, packet)
        if packet.protocol == IPProto.UDP:
            udp = UDPDatagram.decode(packet.payload, packet.src, packet.dst, verify=False)
            if 500 in (udp.src_port, udp.dst_port):
                name, detail, again = self.ike.read(packet.src, udp.payload, f.link, f.t)
                return Step(f.t, f.sender, f.receiver, "ike", name, detail, again or note)
        if packet.protocol == IPProto.ESP:
            label, detail, inner = _esp_step(self.esp, packet.payload)
            if inner is not None:
                detail = "inner " + _ip_text(IPv4Packet.decode(inner, verify=False, allow_truncated=True))
            return Step(f.t, f.sender, f.receiver, "esp", label, f"{packet.src} > {packet.dst}; {detail}", note)
        return Step(f.t, f.sender, f.receiver, "ip", _ip_text(packet), "", note)

    def _nat(self, f: Frame, packet: IPv4Packet) -> str:
        """The address change when a router forwards this packet with other addresses than it received."""
        key = (packet.identification, packet.protocol, len(packet.payload))
        seen = self.recent.get(key)
        self.recent[key] = (f.t, f.receiver, packet.src, packet.dst)
        if seen is None or f.sender is None or seen[1] != f.sender or f.t - seen[0] > NAT_MATCH_SECONDS:
            return ""
        changes = []
        if seen[2] != packet.src:
            changes.append(f"source {seen[2]} -> {packet.src}")
        if seen[3] != packet.dst:
            changes.append(f"destination {seen[3]} -> {packet.dst}")
        return f"NAT on {f.sender}: " + ", ".join(changes) if changes else ""


# ---------------------------------------------------------------------------- the ladder of a test

@dataclass
class Decoded:
    """Every frame of a folder of captures as steps, with the state that spans them (the IKE exchanges)."""

    steps: list[Step]
    ike: IkeReader
    problems: list[str]
    links: list[str]                 # the pcap file of each step
    times: list[float] = dataclasses.field(default_factory=list)   # each step's time, in order (frames are)

    def window(self, start: float | None, end: float | None) -> range:
        """The indexes of the steps between ``start`` and ``end`` (lab seconds; a microsecond's slack), found
        by bisection: a report of many tests over large captures reads each test's window, not every frame."""
        if len(self.times) != len(self.steps):
            self.times = [s.t for s in self.steps]
        lo = 0 if start is None else bisect.bisect_left(self.times, start - 1e-6)
        hi = len(self.times) if end is None else bisect.bisect_right(self.times, end + 1e-6)
        return range(lo, max(lo, hi))


def decode_folder(directory: Path) -> Decoded:
    """All the captures of a folder, decoded from their first frame: a test's window may start in the middle of
    an exchange whose first messages say who started it and what it chose."""
    frames, problems = read_frames(directory)
    reader = StepReader(read_ike_keys(directory / "ikev1_decryption_table"), read_esp_keys(directory / "esp_sa"))
    steps, links = [], []
    for f in frames:
        step = reader.step(f)
        if step is not None:
            steps.append(step)
            links.append(f.link)
    problems += [f"{n} frame(s) could not be decoded: {what}" for what, n in reader.problems.items()]
    return Decoded(steps, reader.ike, problems, links)


def build_ladder(directory: Path, start: float | None, end: float | None, order: Iterable[str] = (),
                 max_rows: int = MAX_ROWS, decoded: Decoded | None = None) -> Ladder:
    """The steps of the frames in ``directory`` between ``start`` and ``end`` (lab seconds)."""
    decoded = decoded or decode_folder(directory)

    chosen = [(decoded.steps[i], decoded.links[i]) for i in decoded.window(start, end)]
    steps = [dataclasses.replace(s) for s, _ in chosen]
    rows = _collapse(steps)
    kept, omitted = _cap(rows, max_rows)
    lanes = _lanes(kept, list(order))
    last = end if end is not None else (decoded.steps[-1].t if decoded.steps else None)
    notes = decoded.ike.endings(start, last) + decoded.problems
    return Ladder(lanes, kept, len(rows), omitted, notes, directory.name, Counter(link for _, link in chosen))


def _collapse(steps: list[Step]) -> list[Step]:
    """Keepalives and ARP in a row, in the same direction, as one step with a count."""
    rows: list[Step] = []
    for s in steps:
        last = rows[-1] if rows else None
        if last is not None and s.group and last.group == s.group and \
                {last.sender, last.receiver} == {s.sender, s.receiver}:
            last.count += 1
            continue
        rows.append(s)
    return rows


def _cap(rows: list[Step], max_rows: int) -> tuple[list[Step], Counter]:
    if len(rows) <= max_rows:
        return rows, Counter()
    control = [r for r in rows if r.kind in CONTROL_KINDS][:max_rows]
    room = max_rows - len(control)
    data = [r for r in rows if r.kind not in CONTROL_KINDS][:room]
    keep = {id(r) for r in control + data}
    omitted = Counter(r.kind for r in rows if id(r) not in keep)
    return [r for r in rows if id(r) in keep], omitted


def _lanes(steps: list[Step], order: list[str]) -> list[str]:
    seen = {d for s in steps for d in (s.sender, s.receiver, *([] if s.sender else s.ends)) if d}
    ranked = [d for d in order if d in seen]
    return ranked + sorted(seen - set(ranked))
