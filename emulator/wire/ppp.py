"""PPP frames in HDLC-like framing (RFC 1662) and LCP/IPCP packets.

A frame on the simulated serial wire is::

    0xFF 0x03 | protocol (2) | information | FCS-16 (2, least significant first)

with no flags and no octet stuffing: a synchronous line bit-stuffs
(RFC 1662 §5). ``ahdlc_encode``/``ahdlc_decode`` add the asynchronous
flag/escape layer (RFC 1662 §4) for completeness. Frames are always sent
uncompressed; ACFC/PFC forms are accepted on decode only when asked for.
"""

from __future__ import annotations

import binascii
import enum
import ipaddress
import struct
from dataclasses import dataclass
from typing import Any, Callable, Iterable, NamedTuple

from emulator.wire.errors import DecodeError
from emulator.wire.pcap import LINKTYPE_PPP, LINKTYPE_PPP_HDLC
from emulator.wire.reader import Reader

__all__ = [
    "PPPProtocol", "ControlCode", "LCPOption", "IPCPOption",
    "PPP_IP", "PPP_LCP", "PPP_IPCP", "PPP_CCP", "PPP_CDPCP",
    "PPP_ADDRESS", "PPP_CONTROL", "LINKTYPE_PPP", "LINKTYPE_PPP_HDLC",
    "CONFIGURE_REQUEST", "CONFIGURE_ACK", "CONFIGURE_NAK", "CONFIGURE_REJECT",
    "TERMINATE_REQUEST", "TERMINATE_ACK", "CODE_REJECT", "PROTOCOL_REJECT",
    "ECHO_REQUEST", "ECHO_REPLY", "DISCARD_REQUEST", "CODE_NAMES", "CONFIGURE_CODES",
    "LCP_MRU", "LCP_ACCM", "LCP_AUTH_PROTOCOL", "LCP_QUALITY_PROTOCOL",
    "LCP_MAGIC_NUMBER", "LCP_PFC", "LCP_ACFC",
    "IPCP_IP_ADDRESSES", "IPCP_IP_COMPRESSION", "IPCP_IP_ADDRESS",
    "PPPFrame", "ControlPacket",
    "fcs16", "fcs16_raw", "FCS_INIT", "FCS_GOOD",
    "encode_frame", "decode_frame", "frame_for_pcap",
    "ahdlc_encode", "ahdlc_decode",
    "encode_options", "decode_options", "encode_control", "decode_control",
    "OptionCodec", "OptionSpec", "OPTIONS", "option_spec", "make_option", "option_value", "option_text",
    "u16_option", "u32_option", "ip_option", "option_u16", "option_u32",
    "option_ip",
]


class PPPProtocol(enum.IntEnum):
    """Protocol field values (RFC 1661 section 2 and the IANA "PPP DLL Protocol Numbers")."""

    IP = 0x0021      # RFC 1332 section 2 (IPv4 datagrams)
    IPCP = 0x8021    # RFC 1332 section 2
    CCP = 0x80FD     # RFC 1962 section 2
    CDPCP = 0x8207   # IANA registry: Cisco Discovery Protocol Control
    LCP = 0xC021     # RFC 1661 section 5
    PAP = 0xC023     # RFC 1334 section 2 (an LCP Authentication-Protocol value)
    LQR = 0xC025     # RFC 1989 (an LCP Quality-Protocol value)
    CHAP = 0xC223    # RFC 1994 section 3 (an LCP Authentication-Protocol value)


class ControlCode(enum.IntEnum):
    """Control packet codes, RFC 1661 section 5 (Protocol-Reject and the
    echo/discard codes are LCP-only; RFC 1332 section 2 lists codes 1-7 for IPCP)."""

    CONFIGURE_REQUEST = 1
    CONFIGURE_ACK = 2
    CONFIGURE_NAK = 3
    CONFIGURE_REJECT = 4
    TERMINATE_REQUEST = 5
    TERMINATE_ACK = 6
    CODE_REJECT = 7
    PROTOCOL_REJECT = 8
    ECHO_REQUEST = 9
    ECHO_REPLY = 10
    DISCARD_REQUEST = 11


class LCPOption(enum.IntEnum):
    """LCP Configuration Options, RFC 1661 section 6 (ACCM: RFC 1662 section 7.1)."""

    MRU = 1
    ACCM = 2
    AUTH_PROTOCOL = 3
    QUALITY_PROTOCOL = 4
    MAGIC_NUMBER = 5
    PFC = 7
    ACFC = 8


class IPCPOption(enum.IntEnum):
    """IPCP Configuration Options, RFC 1332 section 3."""

    IP_ADDRESSES = 1     # deprecated, RFC 1332 section 3.1
    IP_COMPRESSION = 2   # RFC 1332 section 3.2
    IP_ADDRESS = 3       # RFC 1332 section 3.3


# Short names the rest of the emulator imports.
PPP_IP = PPPProtocol.IP
PPP_LCP = PPPProtocol.LCP
PPP_IPCP = PPPProtocol.IPCP
PPP_CCP = PPPProtocol.CCP
PPP_CDPCP = PPPProtocol.CDPCP

CONFIGURE_REQUEST = ControlCode.CONFIGURE_REQUEST
CONFIGURE_ACK = ControlCode.CONFIGURE_ACK
CONFIGURE_NAK = ControlCode.CONFIGURE_NAK
CONFIGURE_REJECT = ControlCode.CONFIGURE_REJECT
TERMINATE_REQUEST = ControlCode.TERMINATE_REQUEST
TERMINATE_ACK = ControlCode.TERMINATE_ACK
CODE_REJECT = ControlCode.CODE_REJECT
PROTOCOL_REJECT = ControlCode.PROTOCOL_REJECT
ECHO_REQUEST = ControlCode.ECHO_REQUEST
ECHO_REPLY = ControlCode.ECHO_REPLY
DISCARD_REQUEST = ControlCode.DISCARD_REQUEST

LCP_MRU = LCPOption.MRU
LCP_ACCM = LCPOption.ACCM
LCP_AUTH_PROTOCOL = LCPOption.AUTH_PROTOCOL
LCP_QUALITY_PROTOCOL = LCPOption.QUALITY_PROTOCOL
LCP_MAGIC_NUMBER = LCPOption.MAGIC_NUMBER
LCP_PFC = LCPOption.PFC
LCP_ACFC = LCPOption.ACFC

IPCP_IP_ADDRESSES = IPCPOption.IP_ADDRESSES
IPCP_IP_COMPRESSION = IPCPOption.IP_COMPRESSION
IPCP_IP_ADDRESS = IPCPOption.IP_ADDRESS

PPP_ADDRESS = 0xFF   # All-Stations address, RFC 1662 section 3.1
PPP_CONTROL = 0x03   # Unnumbered Information, RFC 1662 section 3.1

# The names IOS "debug ppp negotiation" gives the codes.
CODE_NAMES: dict[int, str] = {
    CONFIGURE_REQUEST: "CONFREQ", CONFIGURE_ACK: "CONFACK", CONFIGURE_NAK: "CONFNAK",
    CONFIGURE_REJECT: "CONFREJ", TERMINATE_REQUEST: "TERMREQ", TERMINATE_ACK: "TERMACK",
    CODE_REJECT: "CODEREJ", PROTOCOL_REJECT: "PROTREJ", ECHO_REQUEST: "ECHOREQ",
    ECHO_REPLY: "ECHOREP", DISCARD_REQUEST: "DISCREQ",
}

# Codes whose Data field is a list of options (RFC 1661 sections 5.1-5.4).
CONFIGURE_CODES = frozenset((CONFIGURE_REQUEST, CONFIGURE_ACK, CONFIGURE_NAK, CONFIGURE_REJECT))

# LCP codes whose Data field must start with a fixed part (RFC 1661 sections 5.7-5.9).
_LCP_DATA_MINIMUM = {
    PROTOCOL_REJECT: (2, "rejected protocol"),
    ECHO_REQUEST: (4, "magic number"),
    ECHO_REPLY: (4, "magic number"),
    DISCARD_REQUEST: (4, "magic number"),
}

_LAYER_NAMES: dict[int, str] = {PPP_LCP: "lcp", PPP_IPCP: "ipcp", PPP_CCP: "ccp"}

# -- FCS-16 ---------------------------------------------------------------
# RFC 1662 §C.2: polynomial x^16+x^12+x^5+1, bits taken LSB first (the
# reflected form 0x8408), initial 0xFFFF, transmitted complemented, least
# significant octet first. Over data+FCS the register ends at 0xF0B8.
FCS_INIT = 0xFFFF
FCS_GOOD = 0xF0B8

# crc_hqx is the same polynomial MSB-first, so reflect every input octet,
# run it, and reflect the 16-bit result: C speed without a Python loop.
_REV8 = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _rev16(v: int) -> int:
    return (_REV8[v & 0xFF] << 8) | _REV8[v >> 8]


def fcs16_raw(data: bytes, fcs: int = FCS_INIT) -> int:
    """The RFC 1662 FCS register after ``data`` (no final complement)."""
    # Two FCSs per frame (sent, checked): the reflections are inlined (0xFFFF is its own reflection).
    r = binascii.crc_hqx(bytes(data).translate(_REV8), fcs if fcs == FCS_INIT else _rev16(fcs))
    return (_REV8[r & 0xFF] << 8) | _REV8[r >> 8]


def fcs16(data: bytes) -> int:
    """The FCS value to transmit for ``data`` (complemented register)."""
    r = binascii.crc_hqx(bytes(data).translate(_REV8), FCS_INIT)
    return ((_REV8[r & 0xFF] << 8) | _REV8[r >> 8]) ^ 0xFFFF


# -- frames -----------------------------------------------------------------


class PPPFrame(NamedTuple):
    """A decoded frame (a named tuple: one is made for every frame received)."""

    protocol: int
    information: bytes = b""


_HDR = struct.Struct("!BBH")
_new = tuple.__new__      # builds a PPPFrame from the tuple of its fields, without NamedTuple's own __new__


def encode_frame(protocol: int, information: bytes = b"") -> bytes:
    """Uncompressed frame with FCS (RFC 1662 §3.1, RFC 1661 §2)."""
    body = _HDR.pack(PPP_ADDRESS, PPP_CONTROL, protocol) + bytes(information)
    return body + (fcs16(body)).to_bytes(2, "little")


def decode_frame(frame: bytes, *, accept_acfc: bool = False,
                 accept_pfc: bool = False) -> PPPFrame:
    """Check FCS, address/control and protocol; return the frame's fields.

    ``accept_acfc``/``accept_pfc`` allow the compressed forms (RFC 1661
    §6.5, §6.6) once they have been negotiated for this direction.
    """
    frame = bytes(frame)
    if len(frame) < 4:  # address, control, FCS: the least a frame can be
        raise DecodeError("ppp", f"frame too short ({len(frame)} octets)")
    if fcs16_raw(frame) != FCS_GOOD:
        raise DecodeError("ppp", "bad FCS")
    # Hot path: full address, control and a two-octet protocol (odd low, even high octet).
    if len(frame) >= 6 and frame[:2] == b"\xff\x03" and frame[3] & 1 and not frame[2] & 1:
        return _new(PPPFrame, ((frame[2] << 8) | frame[3], frame[4:-2]))
    r = Reader(frame[:-2], "frame", "ppp")
    if frame[:2] == b"\xff\x03":
        r.take(2, "address and control")
    elif not accept_acfc:
        if frame[0] != PPP_ADDRESS:
            raise r.error(f"bad address 0x{frame[0]:02x}")
        raise r.error(f"bad control 0x{frame[1]:02x}")
    # RFC 1661 §2: protocol values have an odd low octet and even high octet.
    protocol = r.u8("protocol field")
    if protocol & 1:
        if not accept_pfc:
            raise r.error("compressed protocol field not negotiated")
    else:
        protocol = (protocol << 8) | r.u8("protocol field")
        if not protocol & 1:
            raise r.error(f"invalid protocol 0x{protocol:04x}")
    return PPPFrame(protocol, r.rest())


def frame_for_pcap(frame: bytes) -> bytes:
    """Strip the FCS: the record body for LINKTYPE_PPP (9)."""
    if len(frame) < 4:
        raise DecodeError("ppp", f"frame too short ({len(frame)} octets)")
    return bytes(frame[:-2])


# -- asynchronous HDLC (RFC 1662 §4) ---------------------------------------

_FLAG = 0x7E
_ESC = 0x7D


def ahdlc_encode(frame: bytes, accm: int = 0xFFFFFFFF) -> bytes:
    """Flag-delimited, octet-stuffed form of a frame (RFC 1662 §4.2).

    Flag and escape octets are always escaped; control characters
    0x00-0x1F are escaped when their bit is set in ``accm``.
    """
    out = bytearray((_FLAG,))
    for b in frame:
        if b == _FLAG or b == _ESC or (b < 0x20 and (accm >> b) & 1):
            out += bytes((_ESC, b ^ 0x20))
        else:
            out.append(b)
    out.append(_FLAG)
    return bytes(out)


def ahdlc_decode(data: bytes) -> bytes:
    """Undo ``ahdlc_encode`` for one frame (leading/trailing flags optional)."""
    data = bytes(data).strip(b"\x7e")
    if b"\x7e" in data:
        raise DecodeError("ahdlc", "flag inside frame")
    out = bytearray()
    esc = False
    for b in data:
        if esc:
            out.append(b ^ 0x20)
            esc = False
        elif b == _ESC:
            esc = True
        else:
            out.append(b)
    if esc:
        # RFC 1662 §4.2: 0x7D followed by the flag aborts the frame.
        raise DecodeError("ahdlc", "frame aborted (escape before flag)")
    return bytes(out)


# -- control packets (RFC 1661 §5) ----------------------------------------

Option = tuple[int, bytes]


@dataclass(frozen=True, slots=True)
class ControlPacket:
    """An LCP/IPCP packet. For Configure-* (codes 1-4) ``options`` holds the
    options and ``data`` is ignored on encode; otherwise ``data`` is the
    Data field (Echo: magic number + data; Protocol-Reject: protocol + info;
    Code-Reject: the rejected packet; Terminate: opaque)."""

    code: int
    identifier: int
    data: bytes = b""
    options: tuple[Option, ...] = ()

    @property
    def name(self) -> str:
        return CODE_NAMES.get(self.code, f"code {self.code}")

    @property
    def magic(self) -> int:
        """Magic-Number of Echo/Discard packets (RFC 1661 §5.8, §5.9)."""
        return int.from_bytes(self.data[:4], "big")


_CP_HDR = struct.Struct("!BBH")


def encode_options(options: Iterable[Option]) -> bytes:
    """Type, Length (incl. both header octets), Value (RFC 1661 §6)."""
    out = bytearray()
    for typ, value in options:
        if len(value) > 253:
            raise ValueError("option value too long")
        out += bytes((typ, len(value) + 2)) + bytes(value)
    return bytes(out)


def decode_options(data: bytes, layer: str = "lcp") -> tuple[Option, ...]:
    """The raw (type, value) pairs; whether a value fits its type is the
    negotiation's business (it answers with Configure-Nak/Reject)."""
    opts = []
    r = Reader(data, "options", layer)
    while r.remaining:
        typ = r.u8("option type")
        length = r.u8(f"option {typ} length")
        if length < 2:
            raise r.error(f"option {typ} length {length} < 2")
        opts.append((typ, r.take(length - 2, f"option {typ} value")))
    return tuple(opts)


def encode_control(pkt: ControlPacket) -> bytes:
    body = encode_options(pkt.options) if pkt.code in CONFIGURE_CODES else bytes(pkt.data)
    return _CP_HDR.pack(pkt.code, pkt.identifier & 0xFF, len(body) + 4) + body


def decode_control(data: bytes, protocol: int = PPP_LCP) -> ControlPacket:
    """Decode an LCP (or NCP, same format) packet; trailing padding ignored."""
    layer = _LAYER_NAMES.get(protocol, "ncp")
    r = Reader(data, "packet", layer)
    code, ident, length = r.unpack(_CP_HDR)
    if length < 4:
        raise r.error(f"length field {length} < 4")
    body = r.take(length - 4, f"data (length field {length})")  # RFC 1661 §5: octets past Length are padding
    if code in CONFIGURE_CODES:
        return ControlPacket(code, ident, b"", decode_options(body, layer))
    if protocol == PPP_LCP and code in _LCP_DATA_MINIMUM:
        size, what = _LCP_DATA_MINIMUM[code]
        if len(body) < size:
            raise r.error(f"{CODE_NAMES[code]} without {what}")
    return ControlPacket(code, ident, body)


# -- option values ------------------------------------------------------------
# One table says, per protocol and option type, what the value is: its
# length rule, how it converts to and from bytes and how IOS debug output
# names it.  decode_options keeps values raw; option_value reads them.


@dataclass(frozen=True, slots=True)
class OptionCodec:
    """The value of an option: allowed value lengths and the conversions."""

    min_size: int
    max_size: int
    to_bytes: Callable[[Any], bytes]
    from_bytes: Callable[[bytes], Any]
    text: Callable[[Any], str]

    def fits(self, raw: bytes) -> bool:
        return self.min_size <= len(raw) <= self.max_size


@dataclass(frozen=True, slots=True)
class OptionSpec:
    name: str          # as IOS "debug ppp negotiation" shows it
    codec: OptionCodec


def _protocol_to_bytes(value: tuple[int, bytes]) -> bytes:
    protocol, data = value
    return protocol.to_bytes(2, "big") + bytes(data)


_U16 = OptionCodec(2, 2, lambda v: v.to_bytes(2, "big"), lambda b: int.from_bytes(b, "big"), str)
_U32 = OptionCodec(4, 4, lambda v: v.to_bytes(4, "big"), lambda b: int.from_bytes(b, "big"),
                   lambda v: f"0x{v:08X}")
# A protocol number and protocol-specific data (Authentication-, Quality-Protocol, IP-Compression).
_PROTOCOL = OptionCodec(2, 253, _protocol_to_bytes, lambda b: (int.from_bytes(b[:2], "big"), b[2:]),
                        lambda v: f"0x{v[0]:04X}")
# Presence alone means "on" (PFC, ACFC).
_PRESENT = OptionCodec(0, 0, lambda v: b"", lambda b: True, lambda v: "")
_IPV4 = OptionCodec(4, 4, lambda v: ipaddress.IPv4Address(v).packed, ipaddress.IPv4Address, str)
_IPV4_PAIR = OptionCodec(8, 8, lambda v: b"".join(ipaddress.IPv4Address(a).packed for a in v),
                         lambda b: (ipaddress.IPv4Address(b[:4]), ipaddress.IPv4Address(b[4:])),
                         lambda v: f"{v[0]} {v[1]}")

OPTIONS: dict[int, dict[int, OptionSpec]] = {
    PPP_LCP: {
        LCP_MRU: OptionSpec("MRU", _U16),                         # RFC 1661 §6.1
        LCP_ACCM: OptionSpec("ACCM", _U32),                       # RFC 1662 §7.1
        LCP_AUTH_PROTOCOL: OptionSpec("AuthProto", _PROTOCOL),    # RFC 1661 §6.2
        LCP_QUALITY_PROTOCOL: OptionSpec("QualityType", _PROTOCOL),  # RFC 1661 §6.3
        LCP_MAGIC_NUMBER: OptionSpec("MagicNumber", _U32),        # RFC 1661 §6.4
        LCP_PFC: OptionSpec("PFC", _PRESENT),                        # RFC 1661 §6.5
        LCP_ACFC: OptionSpec("ACFC", _PRESENT),                      # RFC 1661 §6.6
    },
    PPP_IPCP: {
        IPCP_IP_ADDRESSES: OptionSpec("Addresses", _IPV4_PAIR),   # RFC 1332 §3.1
        IPCP_IP_COMPRESSION: OptionSpec("CompressType", _PROTOCOL),  # RFC 1332 §3.2
        IPCP_IP_ADDRESS: OptionSpec("Address", _IPV4),            # RFC 1332 §3.3
    },
}


def option_spec(protocol: int, typ: int) -> OptionSpec | None:
    return OPTIONS.get(protocol, {}).get(typ)


def make_option(protocol: int, typ: int, value: Any = None) -> Option:
    """``(type, value bytes)`` for a typed value; ValueError if it does not fit."""
    spec = option_spec(protocol, typ)
    if spec is None:
        raise ValueError(f"no option {typ} known for protocol 0x{protocol:04x}")
    try:
        raw = spec.codec.to_bytes(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"{spec.name}: cannot encode {value!r}: {exc}") from None
    if not spec.codec.fits(raw):
        raise ValueError(f"{spec.name}: {len(raw)}-byte value outside {spec.codec.min_size}-{spec.codec.max_size}")
    return (typ, raw)


def option_value(protocol: int, typ: int, raw: bytes) -> Any:
    """The typed value of a received option, or None for an unknown type or a
    value of the wrong length."""
    spec = option_spec(protocol, typ)
    if spec is None or not spec.codec.fits(raw):
        return None
    return spec.codec.from_bytes(raw)


def option_text(protocol: int, typ: int, raw: bytes) -> str:
    """An option as IOS ``debug ppp negotiation`` shows it, e.g. ``MRU 1500``."""
    spec = option_spec(protocol, typ)
    if spec is None or not spec.codec.fits(raw):
        return f"Unknown option {typ}"
    text = spec.codec.text(spec.codec.from_bytes(raw))
    return f"{spec.name} {text}" if text else spec.name


# Shorthands the PPP engine uses, on the same codecs.

def u16_option(typ: int, value: int) -> Option:
    return (typ, _U16.to_bytes(value))


def u32_option(typ: int, value: int) -> Option:
    return (typ, _U32.to_bytes(value))


def ip_option(address: str | int | ipaddress.IPv4Address, typ: int = IPCP_IP_ADDRESS) -> Option:
    return (typ, _IPV4.to_bytes(address))


def option_u16(value: bytes) -> int | None:
    return _U16.from_bytes(value) if _U16.fits(value) else None


def option_u32(value: bytes) -> int | None:
    return _U32.from_bytes(value) if _U32.fits(value) else None


def option_ip(value: bytes) -> ipaddress.IPv4Address | None:
    return _IPV4.from_bytes(value) if _IPV4.fits(value) else None
