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
import ipaddress
import struct
from dataclasses import dataclass

from emulator.wire.errors import DecodeError

__all__ = [
    "PPP_IP", "PPP_LCP", "PPP_IPCP", "PPP_CCP", "PPP_CDPCP",
    "PPP_ADDRESS", "PPP_CONTROL", "LINKTYPE_PPP", "LINKTYPE_PPP_HDLC",
    "CONFIGURE_REQUEST", "CONFIGURE_ACK", "CONFIGURE_NAK", "CONFIGURE_REJECT",
    "TERMINATE_REQUEST", "TERMINATE_ACK", "CODE_REJECT", "PROTOCOL_REJECT",
    "ECHO_REQUEST", "ECHO_REPLY", "DISCARD_REQUEST", "CODE_NAMES",
    "LCP_MRU", "LCP_ACCM", "LCP_AUTH_PROTOCOL", "LCP_QUALITY_PROTOCOL",
    "LCP_MAGIC_NUMBER", "LCP_PFC", "LCP_ACFC",
    "IPCP_IP_ADDRESSES", "IPCP_IP_COMPRESSION", "IPCP_IP_ADDRESS",
    "PPPFrame", "ControlPacket",
    "fcs16", "fcs16_raw", "FCS_INIT", "FCS_GOOD",
    "encode_frame", "decode_frame", "frame_for_pcap",
    "ahdlc_encode", "ahdlc_decode",
    "encode_options", "decode_options", "encode_control", "decode_control",
    "u16_option", "u32_option", "ip_option", "option_u16", "option_u32",
    "option_ip",
]

# Protocol field values (RFC 1661 §2 and the IANA "PPP DLL Protocol Numbers").
PPP_IP = 0x0021      # RFC 1332 §2 (IPv4 datagrams)
PPP_LCP = 0xC021     # RFC 1661 §5
PPP_IPCP = 0x8021    # RFC 1332 §2
PPP_CCP = 0x80FD     # RFC 1962 §2
PPP_CDPCP = 0x8207   # IANA registry: Cisco Discovery Protocol Control

PPP_ADDRESS = 0xFF   # All-Stations address, RFC 1662 §3.1
PPP_CONTROL = 0x03   # Unnumbered Information, RFC 1662 §3.1

# pcap link types (tcpdump.org link-layer header types): LINKTYPE_PPP (9)
# carries address/control + protocol (RFC 1662 framing minus flags and FCS).
LINKTYPE_PPP = 9
LINKTYPE_PPP_HDLC = 50

# Control packet codes, RFC 1661 §5 (Protocol-Reject and the echo/discard
# codes are LCP-only; RFC 1332 §2 lists codes 1-7 for IPCP).
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

CODE_NAMES = {
    1: "CONFREQ", 2: "CONFACK", 3: "CONFNAK", 4: "CONFREJ", 5: "TERMREQ",
    6: "TERMACK", 7: "CODEREJ", 8: "PROTREJ", 9: "ECHOREQ", 10: "ECHOREP",
    11: "DISCREQ",
}

# LCP Configuration Options, RFC 1661 §6 (ACCM: RFC 1662 §7.1).
LCP_MRU = 1
LCP_ACCM = 2
LCP_AUTH_PROTOCOL = 3
LCP_QUALITY_PROTOCOL = 4
LCP_MAGIC_NUMBER = 5
LCP_PFC = 7
LCP_ACFC = 8

# IPCP Configuration Options, RFC 1332 §3.
IPCP_IP_ADDRESSES = 1     # deprecated, RFC 1332 §3.1
IPCP_IP_COMPRESSION = 2   # RFC 1332 §3.2
IPCP_IP_ADDRESS = 3       # RFC 1332 §3.3

_CONFIGURE_CODES = frozenset((1, 2, 3, 4))

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
    return _rev16(binascii.crc_hqx(bytes(data).translate(_REV8), _rev16(fcs)))


def fcs16(data: bytes) -> int:
    """The FCS value to transmit for ``data`` (complemented register)."""
    return fcs16_raw(data) ^ 0xFFFF


# -- frames -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PPPFrame:
    protocol: int
    information: bytes = b""


_HDR = struct.Struct("!BBH")


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
    if len(frame) < 4:
        raise DecodeError("ppp", f"frame too short ({len(frame)} octets)")
    if fcs16_raw(frame) != FCS_GOOD:
        raise DecodeError("ppp", "bad FCS")
    body = frame[:-2]
    pos = 0
    if body[:2] == b"\xff\x03":
        pos = 2
    elif not accept_acfc:
        if body[0] != PPP_ADDRESS:
            raise DecodeError("ppp", f"bad address 0x{body[0]:02x}")
        if len(body) < 2:
            raise DecodeError("ppp", "frame too short for control field")
        raise DecodeError("ppp", f"bad control 0x{body[1]:02x}")
    if len(body) <= pos:
        raise DecodeError("ppp", "missing protocol field")
    # RFC 1661 §2: protocol values have an odd low octet and even high octet.
    if body[pos] & 1:
        if not accept_pfc:
            raise DecodeError("ppp", "compressed protocol field not negotiated")
        protocol = body[pos]
        pos += 1
    else:
        if len(body) < pos + 2:
            raise DecodeError("ppp", "truncated protocol field")
        protocol = (body[pos] << 8) | body[pos + 1]
        pos += 2
        if not protocol & 1:
            raise DecodeError("ppp", f"invalid protocol 0x{protocol:04x}")
    return PPPFrame(protocol, body[pos:])


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


def encode_options(options) -> bytes:
    """Type, Length (incl. both header octets), Value (RFC 1661 §6)."""
    out = bytearray()
    for typ, value in options:
        if len(value) > 253:
            raise ValueError("option value too long")
        out += bytes((typ, len(value) + 2)) + bytes(value)
    return bytes(out)


def decode_options(data: bytes, layer: str = "lcp") -> tuple[Option, ...]:
    opts = []
    pos, end = 0, len(data)
    while pos < end:
        if end - pos < 2:
            raise DecodeError(layer, "truncated option header")
        typ, length = data[pos], data[pos + 1]
        if length < 2:
            raise DecodeError(layer, f"option {typ} length {length} < 2")
        if pos + length > end:
            raise DecodeError(layer, f"option {typ} overruns packet")
        opts.append((typ, bytes(data[pos + 2:pos + length])))
        pos += length
    return tuple(opts)


def encode_control(pkt: ControlPacket) -> bytes:
    body = encode_options(pkt.options) if pkt.code in _CONFIGURE_CODES else bytes(pkt.data)
    return struct.pack("!BBH", pkt.code, pkt.identifier & 0xFF, len(body) + 4) + body


def decode_control(data: bytes, protocol: int = PPP_LCP) -> ControlPacket:
    """Decode an LCP (or NCP, same format) packet; trailing padding ignored."""
    layer = {PPP_LCP: "lcp", PPP_IPCP: "ipcp", PPP_CCP: "ccp"}.get(protocol, "ncp")
    if len(data) < 4:
        raise DecodeError(layer, f"packet too short ({len(data)} octets)")
    code, ident, length = struct.unpack_from("!BBH", data)
    if length < 4:
        raise DecodeError(layer, f"length field {length} < 4")
    if length > len(data):
        raise DecodeError(layer, f"length field {length} exceeds {len(data)} octets")
    body = bytes(data[4:length])  # RFC 1661 §5: octets past Length are padding
    if code in _CONFIGURE_CODES:
        return ControlPacket(code, ident, b"", decode_options(body, layer))
    if protocol == PPP_LCP:
        if code in (ECHO_REQUEST, ECHO_REPLY, DISCARD_REQUEST) and len(body) < 4:
            raise DecodeError(layer, f"{CODE_NAMES[code]} without magic number")
        if code == PROTOCOL_REJECT and len(body) < 2:
            raise DecodeError(layer, "PROTREJ without rejected protocol")
    return ControlPacket(code, ident, body)


# -- option value helpers ---------------------------------------------------


def u16_option(typ: int, value: int) -> Option:
    return (typ, value.to_bytes(2, "big"))


def u32_option(typ: int, value: int) -> Option:
    return (typ, value.to_bytes(4, "big"))


def ip_option(address, typ: int = IPCP_IP_ADDRESS) -> Option:
    return (typ, ipaddress.IPv4Address(address).packed)


def option_u16(value: bytes) -> int | None:
    return int.from_bytes(value, "big") if len(value) == 2 else None


def option_u32(value: bytes) -> int | None:
    return int.from_bytes(value, "big") if len(value) == 4 else None


def option_ip(value: bytes) -> ipaddress.IPv4Address | None:
    return ipaddress.IPv4Address(value) if len(value) == 4 else None
