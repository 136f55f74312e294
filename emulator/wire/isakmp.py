"""ISAKMP (IKEv1) message codec.

Formats from RFC 2408 §3 (header and payloads), RFC 2407 (IPsec DOI) and
RFC 2409 Appendix A (phase 1 attribute values).  Sans-I/O: bytes in, objects
out.  Encrypted bodies are left opaque here; ``emulator.engines.ike.crypto`` decrypts
them and :func:`decode_payloads` parses the result.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Sequence, Union

from emulator.wire.errors import DecodeError

LAYER = "isakmp"

# --- Header (RFC 2408 §3.1) ------------------------------------------------
HEADER_SIZE = 28
VERSION = 0x10  # major 1, minor 0

# Exchange types (RFC 2408 §3.1; quick mode and new group mode: RFC 2409 Appendix A)
EXCH_NONE = 0
EXCH_BASE = 1
EXCH_IDENTITY_PROTECTION = 2  # main mode
EXCH_MAIN_MODE = EXCH_IDENTITY_PROTECTION
EXCH_AUTH_ONLY = 3
EXCH_AGGRESSIVE = 4
EXCH_INFORMATIONAL = 5
EXCH_QUICK_MODE = 32
EXCH_NEW_GROUP_MODE = 33

# Flags (RFC 2408 §3.1)
FLAG_ENCRYPTION = 0x01
FLAG_COMMIT = 0x02
FLAG_AUTH_ONLY = 0x04

# --- Payload types (RFC 2408 §3.1) -----------------------------------------
PT_NONE = 0
PT_SA = 1
PT_PROPOSAL = 2
PT_TRANSFORM = 3
PT_KE = 4
PT_ID = 5
PT_CERT = 6
PT_CR = 7
PT_HASH = 8
PT_SIG = 9
PT_NONCE = 10
PT_NOTIFICATION = 11
PT_DELETE = 12
PT_VENDOR_ID = 13

PAYLOAD_NAMES = {
    PT_SA: "SA", PT_PROPOSAL: "PROPOSAL", PT_TRANSFORM: "TRANSFORM", PT_KE: "KE",
    PT_ID: "ID", PT_CERT: "CERT", PT_CR: "CERT_REQ", PT_HASH: "HASH", PT_SIG: "SIG",
    PT_NONCE: "NONCE", PT_NOTIFICATION: "NOTIFY", PT_DELETE: "DELETE", PT_VENDOR_ID: "VID",
}

# --- DOI and situation (RFC 2408 §3.4, RFC 2407 §4.2) ----------------------
DOI_ISAKMP = 0
DOI_IPSEC = 1
SIT_IDENTITY_ONLY = 0x01
SIT_SECRECY = 0x02
SIT_INTEGRITY = 0x04

# Protocol identifiers (RFC 2407 §4.4.1)
PROTO_ISAKMP = 1
PROTO_IPSEC_AH = 2
PROTO_IPSEC_ESP = 3
PROTO_IPCOMP = 4

# Transform identifiers: ISAKMP (RFC 2407 §4.4.2), AH (§4.4.3), ESP (§4.4.4)
KEY_IKE = 1
AH_MD5 = 2
AH_SHA = 3
AH_DES = 4
ESP_DES_IV64 = 1
ESP_DES = 2
ESP_3DES = 3
ESP_RC5 = 4
ESP_IDEA = 5
ESP_CAST = 6
ESP_BLOWFISH = 7
ESP_3IDEA = 8
ESP_DES_IV32 = 9
ESP_RC4 = 10
ESP_NULL = 11
ESP_AES = 12  # RFC 3602 §5 (IANA value)

# --- Phase 1 attributes (RFC 2409 Appendix A) ------------------------------
OAKLEY_ENCRYPTION = 1
OAKLEY_HASH = 2
OAKLEY_AUTH_METHOD = 3
OAKLEY_GROUP_DESCRIPTION = 4
OAKLEY_GROUP_TYPE = 5
OAKLEY_GROUP_PRIME = 6
OAKLEY_GROUP_GENERATOR_ONE = 7
OAKLEY_GROUP_GENERATOR_TWO = 8
OAKLEY_GROUP_CURVE_A = 9
OAKLEY_GROUP_CURVE_B = 10
OAKLEY_LIFE_TYPE = 11
OAKLEY_LIFE_DURATION = 12
OAKLEY_PRF = 13
OAKLEY_KEY_LENGTH = 14
OAKLEY_FIELD_SIZE = 15
OAKLEY_GROUP_ORDER = 16

ENC_DES_CBC = 1
ENC_IDEA_CBC = 2
ENC_BLOWFISH_CBC = 3
ENC_RC5_CBC = 4
ENC_3DES_CBC = 5
ENC_CAST_CBC = 6
ENC_AES_CBC = 7  # RFC 3602 §5 (IANA value)

HASH_MD5 = 1
HASH_SHA = 2
HASH_TIGER = 3

AUTH_PRE_SHARED = 1
AUTH_DSS_SIG = 2
AUTH_RSA_SIG = 3
AUTH_RSA_ENC = 4
AUTH_RSA_ENC_REVISED = 5

GROUP_MODP_768 = 1
GROUP_MODP_1024 = 2
GROUP_EC2N_155 = 3
GROUP_EC2N_185 = 4
GROUP_MODP_1536 = 5  # RFC 3526 §2

LIFE_SECONDS = 1
LIFE_KILOBYTES = 2

# --- Phase 2 IPsec attributes (RFC 2407 §4.5) ------------------------------
IPSEC_SA_LIFE_TYPE = 1
IPSEC_SA_LIFE_DURATION = 2
IPSEC_GROUP_DESCRIPTION = 3
IPSEC_ENCAPSULATION_MODE = 4
IPSEC_AUTH_ALGORITHM = 5
IPSEC_KEY_LENGTH = 6
IPSEC_KEY_ROUNDS = 7
IPSEC_COMPRESS_DICT_SIZE = 8
IPSEC_COMPRESS_PRIVATE_ALG = 9

ENCAP_TUNNEL = 1
ENCAP_TRANSPORT = 2

AUTH_HMAC_MD5 = 1
AUTH_HMAC_SHA = 2
AUTH_DES_MAC = 3
AUTH_KPDK = 4

# --- Identification types (RFC 2407 §4.6.2.1) ------------------------------
ID_IPV4_ADDR = 1
ID_FQDN = 2
ID_USER_FQDN = 3
ID_IPV4_ADDR_SUBNET = 4
ID_IPV6_ADDR = 5
ID_IPV6_ADDR_SUBNET = 6
ID_IPV4_ADDR_RANGE = 7
ID_IPV6_ADDR_RANGE = 8
ID_DER_ASN1_DN = 9
ID_DER_ASN1_GN = 10
ID_KEY_ID = 11

# --- Notify message types --------------------------------------------------
# Errors (RFC 2408 §3.14.1)
INVALID_PAYLOAD_TYPE = 1
DOI_NOT_SUPPORTED = 2
SITUATION_NOT_SUPPORTED = 3
INVALID_COOKIE = 4
INVALID_MAJOR_VERSION = 5
INVALID_MINOR_VERSION = 6
INVALID_EXCHANGE_TYPE = 7
INVALID_FLAGS = 8
INVALID_MESSAGE_ID = 9
INVALID_PROTOCOL_ID = 10
INVALID_SPI = 11
INVALID_TRANSFORM_ID = 12
ATTRIBUTES_NOT_SUPPORTED = 13
NO_PROPOSAL_CHOSEN = 14
BAD_PROPOSAL_SYNTAX = 15
PAYLOAD_MALFORMED = 16
INVALID_KEY_INFORMATION = 17
INVALID_ID_INFORMATION = 18
INVALID_CERT_ENCODING = 19
INVALID_CERTIFICATE = 20
CERT_TYPE_UNSUPPORTED = 21
INVALID_CERT_AUTHORITY = 22
INVALID_HASH_INFORMATION = 23
AUTHENTICATION_FAILED = 24
INVALID_SIGNATURE = 25
ADDRESS_NOTIFICATION = 26
NOTIFY_SA_LIFETIME = 27
CERTIFICATE_UNAVAILABLE = 28
UNSUPPORTED_EXCHANGE_TYPE = 29
UNEQUAL_PAYLOAD_LENGTHS = 30
# Status (RFC 2408 §3.14.1)
CONNECTED = 16384
# IPsec DOI status (RFC 2407 §4.6.3)
RESPONDER_LIFETIME = 24576
REPLAY_STATUS = 24577
INITIAL_CONTACT = 24578
# Dead peer detection (RFC 3706 §5)
R_U_THERE = 36136
R_U_THERE_ACK = 36137

NOTIFY_NAMES = {
    INVALID_PAYLOAD_TYPE: "INVALID_PAYLOAD_TYPE", DOI_NOT_SUPPORTED: "DOI_NOT_SUPPORTED",
    SITUATION_NOT_SUPPORTED: "SITUATION_NOT_SUPPORTED", INVALID_COOKIE: "INVALID_COOKIE",
    INVALID_MAJOR_VERSION: "INVALID_MAJOR_VERSION", INVALID_MINOR_VERSION: "INVALID_MINOR_VERSION",
    INVALID_EXCHANGE_TYPE: "INVALID_EXCHANGE_TYPE", INVALID_FLAGS: "INVALID_FLAGS",
    INVALID_MESSAGE_ID: "INVALID_MESSAGE_ID", INVALID_PROTOCOL_ID: "INVALID_PROTOCOL_ID",
    INVALID_SPI: "INVALID_SPI", INVALID_TRANSFORM_ID: "INVALID_TRANSFORM_ID",
    ATTRIBUTES_NOT_SUPPORTED: "ATTRIBUTES_NOT_SUPPORTED", NO_PROPOSAL_CHOSEN: "NO_PROPOSAL_CHOSEN",
    BAD_PROPOSAL_SYNTAX: "BAD_PROPOSAL_SYNTAX", PAYLOAD_MALFORMED: "PAYLOAD_MALFORMED",
    INVALID_KEY_INFORMATION: "INVALID_KEY_INFORMATION", INVALID_ID_INFORMATION: "INVALID_ID_INFORMATION",
    INVALID_CERT_ENCODING: "INVALID_CERT_ENCODING", INVALID_CERTIFICATE: "INVALID_CERTIFICATE",
    CERT_TYPE_UNSUPPORTED: "CERT_TYPE_UNSUPPORTED", INVALID_CERT_AUTHORITY: "INVALID_CERT_AUTHORITY",
    INVALID_HASH_INFORMATION: "INVALID_HASH_INFORMATION", AUTHENTICATION_FAILED: "AUTHENTICATION_FAILED",
    INVALID_SIGNATURE: "INVALID_SIGNATURE", ADDRESS_NOTIFICATION: "ADDRESS_NOTIFICATION",
    NOTIFY_SA_LIFETIME: "NOTIFY_SA_LIFETIME", CERTIFICATE_UNAVAILABLE: "CERTIFICATE_UNAVAILABLE",
    UNSUPPORTED_EXCHANGE_TYPE: "UNSUPPORTED_EXCHANGE_TYPE", UNEQUAL_PAYLOAD_LENGTHS: "UNEQUAL_PAYLOAD_LENGTHS",
    CONNECTED: "CONNECTED", RESPONDER_LIFETIME: "RESPONDER_LIFETIME", REPLAY_STATUS: "REPLAY_STATUS",
    INITIAL_CONTACT: "INITIAL_CONTACT", R_U_THERE: "R_U_THERE", R_U_THERE_ACK: "R_U_THERE_ACK",
}

_GENERIC = struct.Struct("!BBH")  # next payload, reserved, length (RFC 2408 §3.2)
_HEADER = struct.Struct("!8s8sBBBBII")


class IsakmpDecodeError(DecodeError):
    """DecodeError carrying the notify type a receiver would answer with."""

    def __init__(self, reason: str, notify: int = PAYLOAD_MALFORMED, payload_type: int | None = None):
        super().__init__(LAYER, reason)
        self.notify = notify
        self.payload_type = payload_type


def _err(reason: str, notify: int = PAYLOAD_MALFORMED, payload_type: int | None = None) -> IsakmpDecodeError:
    return IsakmpDecodeError(reason, notify, payload_type)


def _check_u(name: str, value: int, bits: int) -> None:
    if not 0 <= value < (1 << bits):
        raise ValueError(f"{name} {value!r} does not fit in {bits} bits")


def _generic(next_payload: int, body: bytes) -> bytes:
    length = 4 + len(body)
    if length > 0xFFFF:
        raise ValueError(f"payload of {length} bytes exceeds 65535")
    return _GENERIC.pack(next_payload, 0, length) + body


def _split_chain(first: int, data: bytes, what: str, allow_trailing: bool = False) -> list[tuple[int, bytes, bytes]]:
    """Walk a generic-header chain: [(payload type, body, raw bytes)].

    Stops at next payload 0; bytes left over are an error unless allowed
    (IKE encryption padding after the last payload, RFC 2409 Appendix B).
    """
    out: list[tuple[int, bytes, bytes]] = []
    ptype, pos, end = first, 0, len(data)
    while ptype != PT_NONE:
        if end - pos < 4:
            raise _err(f"truncated generic header of {what} payload type {ptype} at offset {pos}")
        nxt, _res, length = _GENERIC.unpack_from(data, pos)
        if length < 4:
            raise _err(f"payload length {length} shorter than the generic header ({what}, type {ptype})")
        if pos + length > end:
            raise _err(f"payload length {length} overruns {what} ({end - pos} bytes left, type {ptype})")
        raw = data[pos:pos + length]
        out.append((ptype, raw[4:], raw))
        pos += length
        ptype = nxt
    if pos != end and not allow_trailing:
        raise _err(f"{end - pos} bytes after the last {what} payload")
    return out


# --- Data attributes (RFC 2408 §3.3) ---------------------------------------

@dataclass(frozen=True)
class Attribute:
    """A data attribute.  ``int`` values up to 0xFFFF encode as basic (AF=1)
    attributes; larger ``int`` values as variable ones in at least 4 bytes
    (IOS sends e.g. life 86400 s as 0x00015180); ``bytes`` values always as
    variable attributes.  Decoding gives ``int`` for basic, ``bytes`` for
    variable attributes: use :attr:`int_value` to read either as a number."""

    type: int
    value: Union[int, bytes]

    @property
    def is_basic(self) -> bool:
        return isinstance(self.value, int) and self.value <= 0xFFFF

    @property
    def int_value(self) -> int:
        if isinstance(self.value, int):
            return self.value
        return int.from_bytes(self.value, "big")

    def encode(self) -> bytes:
        _check_u("attribute type", self.type, 15)
        v = self.value
        if isinstance(v, int):
            if v < 0:
                raise ValueError(f"negative attribute value {v}")
            if v <= 0xFFFF:
                return struct.pack("!HH", 0x8000 | self.type, v)
            v = v.to_bytes(max(4, (v.bit_length() + 7) // 8), "big")
        if len(v) > 0xFFFF:
            raise ValueError("variable attribute longer than 65535 bytes")
        return struct.pack("!HH", self.type, len(v)) + bytes(v)

    @staticmethod
    def decode_all(data: bytes) -> list["Attribute"]:
        out: list[Attribute] = []
        pos, end = 0, len(data)
        while pos < end:
            if end - pos < 4:
                raise _err(f"truncated attribute header ({end - pos} bytes)", ATTRIBUTES_NOT_SUPPORTED)
            t, v = struct.unpack_from("!HH", data, pos)
            pos += 4
            if t & 0x8000:
                out.append(Attribute(t & 0x7FFF, v))
            else:
                if pos + v > end:
                    raise _err(f"attribute {t} length {v} overruns the transform ({end - pos} bytes left)")
                out.append(Attribute(t, bytes(data[pos:pos + v])))
                pos += v
        return out


def _attr_dict(attrs: Sequence[Attribute]) -> dict[int, int | bytes]:
    return {a.type: a.value for a in attrs}


# --- Payloads ----------------------------------------------------------------

@dataclass
class Payload:
    """Base of the message-level payloads.  ``raw`` holds the payload as
    received (generic header included), for hashes over received bytes."""

    payload_type: ClassVar[int] = PT_NONE
    raw: bytes = field(default=b"", compare=False, repr=False, kw_only=True)

    def encode_body(self) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def decode_body(cls, body: bytes) -> "Payload":  # pragma: no cover - abstract
        raise NotImplementedError

    def encode(self, next_payload: int = PT_NONE) -> bytes:
        """Generic header + body."""
        return _generic(next_payload, self.encode_body())

    def wire_body(self) -> bytes:
        """Body as received if decoded, else as encoded (e.g. SAi_b, IDii_b)."""
        return self.raw[4:] if self.raw else self.encode_body()


@dataclass
class _Opaque(Payload):
    data: bytes = b""

    def encode_body(self) -> bytes:
        return bytes(self.data)

    @classmethod
    def decode_body(cls, body: bytes) -> "_Opaque":
        return cls(bytes(body))


@dataclass
class KEPayload(_Opaque):
    """Key exchange data: g^x padded to the prime length (RFC 2408 §3.7, RFC 2409 §5)."""
    payload_type: ClassVar[int] = PT_KE


@dataclass
class HashPayload(_Opaque):
    payload_type: ClassVar[int] = PT_HASH  # RFC 2408 §3.11


@dataclass
class SignaturePayload(_Opaque):
    payload_type: ClassVar[int] = PT_SIG  # RFC 2408 §3.12


@dataclass
class NoncePayload(_Opaque):
    payload_type: ClassVar[int] = PT_NONCE  # RFC 2408 §3.13


@dataclass
class VendorIDPayload(_Opaque):
    payload_type: ClassVar[int] = PT_VENDOR_ID  # RFC 2408 §3.16


@dataclass
class CertPayload(Payload):
    """RFC 2408 §3.9: certificate encoding (1 byte) + data."""
    payload_type: ClassVar[int] = PT_CERT
    encoding: int = 0
    data: bytes = b""

    def encode_body(self) -> bytes:
        _check_u("certificate encoding", self.encoding, 8)
        return bytes([self.encoding]) + self.data

    @classmethod
    def decode_body(cls, body: bytes) -> "CertPayload":
        if len(body) < 1:
            raise _err("truncated CERT payload")
        return cls(body[0], bytes(body[1:]))


@dataclass
class CertRequestPayload(Payload):
    """RFC 2408 §3.10: certificate type (1 byte) + certificate authority."""
    payload_type: ClassVar[int] = PT_CR
    cert_type: int = 0
    authority: bytes = b""

    def encode_body(self) -> bytes:
        _check_u("certificate type", self.cert_type, 8)
        return bytes([self.cert_type]) + self.authority

    @classmethod
    def decode_body(cls, body: bytes) -> "CertRequestPayload":
        if len(body) < 1:
            raise _err("truncated CR payload")
        return cls(body[0], bytes(body[1:]))


@dataclass
class Transform:
    """Transform payload (RFC 2408 §3.6): number, id, reserved(2), attributes."""
    number: int
    transform_id: int
    attributes: list[Attribute] = field(default_factory=list)
    raw: bytes = field(default=b"", compare=False, repr=False, kw_only=True)

    payload_type: ClassVar[int] = PT_TRANSFORM

    def encode_body(self) -> bytes:
        _check_u("transform number", self.number, 8)
        _check_u("transform id", self.transform_id, 8)
        return struct.pack("!BBH", self.number, self.transform_id, 0) + b"".join(a.encode() for a in self.attributes)

    @classmethod
    def decode_body(cls, body: bytes) -> "Transform":
        if len(body) < 4:
            raise _err(f"truncated transform payload ({len(body)} bytes)", BAD_PROPOSAL_SYNTAX)
        return cls(body[0], body[1], Attribute.decode_all(body[4:]))

    def attrs(self) -> dict[int, int | bytes]:
        """{attribute type: value} (last one wins if repeated)."""
        return _attr_dict(self.attributes)

    def get(self, attr_type: int, default: int | None = None) -> int | None:
        """Integer value of an attribute, or ``default``."""
        for a in self.attributes:
            if a.type == attr_type:
                return a.int_value
        return default


@dataclass
class Proposal:
    """Proposal payload (RFC 2408 §3.5): #, protocol, SPI size, #transforms, SPI, transforms."""
    number: int
    protocol_id: int
    spi: bytes = b""
    transforms: list[Transform] = field(default_factory=list)
    raw: bytes = field(default=b"", compare=False, repr=False, kw_only=True)

    payload_type: ClassVar[int] = PT_PROPOSAL

    def encode_body(self) -> bytes:
        _check_u("proposal number", self.number, 8)
        _check_u("protocol id", self.protocol_id, 8)
        _check_u("SPI size", len(self.spi), 8)
        _check_u("transform count", len(self.transforms), 8)
        out = [struct.pack("!BBBB", self.number, self.protocol_id, len(self.spi), len(self.transforms)), bytes(self.spi)]
        n = len(self.transforms)
        for i, t in enumerate(self.transforms):
            out.append(_generic(PT_TRANSFORM if i < n - 1 else PT_NONE, t.encode_body()))
        return b"".join(out)

    @classmethod
    def decode_body(cls, body: bytes) -> "Proposal":
        if len(body) < 4:
            raise _err(f"truncated proposal payload ({len(body)} bytes)", BAD_PROPOSAL_SYNTAX)
        number, proto, spi_size, count = body[0], body[1], body[2], body[3]
        if 4 + spi_size > len(body):
            raise _err(f"SPI size {spi_size} overruns the proposal", BAD_PROPOSAL_SYNTAX)
        spi = bytes(body[4:4 + spi_size])
        chain = _split_chain(PT_TRANSFORM if count else PT_NONE, body[4 + spi_size:], "transform")
        transforms = []
        for ptype, tbody, raw in chain:
            if ptype != PT_TRANSFORM:
                raise _err(f"payload type {ptype} inside a proposal", BAD_PROPOSAL_SYNTAX, ptype)
            t = Transform.decode_body(tbody)
            t.raw = raw
            transforms.append(t)
        if len(transforms) != count:
            raise _err(f"proposal announces {count} transforms, holds {len(transforms)}", BAD_PROPOSAL_SYNTAX)
        return cls(number, proto, spi, transforms)


@dataclass
class SAPayload(Payload):
    """SA payload (RFC 2408 §3.4): DOI, situation (RFC 2407 §4.2), proposals."""
    payload_type: ClassVar[int] = PT_SA
    proposals: list[Proposal] = field(default_factory=list)
    doi: int = DOI_IPSEC
    situation: int = SIT_IDENTITY_ONLY

    def encode_body(self) -> bytes:
        out = [struct.pack("!II", self.doi, self.situation)]
        n = len(self.proposals)
        for i, p in enumerate(self.proposals):
            out.append(_generic(PT_PROPOSAL if i < n - 1 else PT_NONE, p.encode_body()))
        return b"".join(out)

    @classmethod
    def decode_body(cls, body: bytes) -> "SAPayload":
        if len(body) < 8:
            raise _err(f"truncated SA payload ({len(body)} bytes)")
        doi, situation = struct.unpack_from("!II", body, 0)
        if doi not in (DOI_ISAKMP, DOI_IPSEC):
            raise _err(f"DOI {doi} not supported", DOI_NOT_SUPPORTED)
        if situation & ~SIT_IDENTITY_ONLY:
            # Secrecy/integrity situations add labeled-domain fields (RFC 2407 §4.6.1).
            raise _err(f"situation {situation:#x} not supported", SITUATION_NOT_SUPPORTED)
        rest = body[8:]
        chain = _split_chain(PT_PROPOSAL if rest else PT_NONE, rest, "proposal")
        proposals = []
        for ptype, pbody, raw in chain:
            if ptype != PT_PROPOSAL:
                raise _err(f"payload type {ptype} inside an SA payload", BAD_PROPOSAL_SYNTAX, ptype)
            p = Proposal.decode_body(pbody)
            p.raw = raw
            proposals.append(p)
        return cls(proposals, doi, situation)


@dataclass
class IDPayload(Payload):
    """Identification payload, IPsec DOI form (RFC 2407 §4.6.2):
    ID type, protocol id, port, identification data."""
    payload_type: ClassVar[int] = PT_ID
    id_type: int = ID_IPV4_ADDR
    protocol: int = 0
    port: int = 0
    data: bytes = b""

    # Identification data lengths the decoder enforces (RFC 2407 §4.6.2.2 ff.)
    _FIXED: ClassVar[dict[int, int]] = {
        ID_IPV4_ADDR: 4, ID_IPV4_ADDR_SUBNET: 8, ID_IPV4_ADDR_RANGE: 8,
        ID_IPV6_ADDR: 16, ID_IPV6_ADDR_SUBNET: 32, ID_IPV6_ADDR_RANGE: 32,
    }

    @classmethod
    def ipv4_address(cls, address: str | ipaddress.IPv4Address, protocol: int = 0, port: int = 0) -> "IDPayload":
        return cls(ID_IPV4_ADDR, protocol, port, ipaddress.IPv4Address(address).packed)

    @classmethod
    def ipv4_subnet(cls, network: str | ipaddress.IPv4Network, protocol: int = 0, port: int = 0) -> "IDPayload":
        net = ipaddress.IPv4Network(network)
        return cls(ID_IPV4_ADDR_SUBNET, protocol, port, net.network_address.packed + net.netmask.packed)

    @classmethod
    def ipv4_range(cls, first: str, last: str, protocol: int = 0, port: int = 0) -> "IDPayload":
        return cls(ID_IPV4_ADDR_RANGE, protocol, port,
                   ipaddress.IPv4Address(first).packed + ipaddress.IPv4Address(last).packed)

    @classmethod
    def from_network(cls, network: str | ipaddress.IPv4Network, protocol: int = 0, port: int = 0) -> "IDPayload":
        """A host (/32) as ID_IPV4_ADDR, anything else as ID_IPV4_ADDR_SUBNET."""
        net = ipaddress.IPv4Network(network)
        if net.prefixlen == 32:
            return cls.ipv4_address(net.network_address, protocol, port)
        return cls.ipv4_subnet(net, protocol, port)

    @property
    def address(self) -> ipaddress.IPv4Address:
        if self.id_type != ID_IPV4_ADDR:
            raise ValueError(f"ID type {self.id_type} is not ID_IPV4_ADDR")
        return ipaddress.IPv4Address(self.data)

    @property
    def network(self) -> ipaddress.IPv4Network:
        """The IPv4 address or subnet as a network (ValueError for other types or a non-contiguous mask)."""
        if self.id_type == ID_IPV4_ADDR:
            return ipaddress.IPv4Network(ipaddress.IPv4Address(self.data))
        if self.id_type == ID_IPV4_ADDR_SUBNET:
            addr = ipaddress.IPv4Address(self.data[:4])
            mask = ipaddress.IPv4Address(self.data[4:8])
            return ipaddress.IPv4Network(f"{addr}/{mask}", strict=False)
        raise ValueError(f"ID type {self.id_type} is not an IPv4 address or subnet")

    def encode_body(self) -> bytes:
        _check_u("ID type", self.id_type, 8)
        _check_u("ID protocol", self.protocol, 8)
        _check_u("ID port", self.port, 16)
        return struct.pack("!BBH", self.id_type, self.protocol, self.port) + bytes(self.data)

    @classmethod
    def decode_body(cls, body: bytes) -> "IDPayload":
        if len(body) < 4:
            raise _err(f"truncated ID payload ({len(body)} bytes)", INVALID_ID_INFORMATION)
        id_type, proto, port = struct.unpack_from("!BBH", body, 0)
        data = bytes(body[4:])
        want = cls._FIXED.get(id_type)
        if want is not None and len(data) != want:
            raise _err(f"ID type {id_type} with {len(data)} bytes of data (expected {want})", INVALID_ID_INFORMATION)
        return cls(id_type, proto, port, data)


@dataclass
class NotificationPayload(Payload):
    """Notification (RFC 2408 §3.14): DOI, protocol, SPI size, type, SPI, data."""
    payload_type: ClassVar[int] = PT_NOTIFICATION
    notify_type: int = 0
    protocol_id: int = PROTO_ISAKMP
    spi: bytes = b""
    data: bytes = b""
    doi: int = DOI_IPSEC

    def encode_body(self) -> bytes:
        _check_u("protocol id", self.protocol_id, 8)
        _check_u("SPI size", len(self.spi), 8)
        _check_u("notify type", self.notify_type, 16)
        return struct.pack("!IBBH", self.doi, self.protocol_id, len(self.spi), self.notify_type) + self.spi + self.data

    @classmethod
    def decode_body(cls, body: bytes) -> "NotificationPayload":
        if len(body) < 8:
            raise _err(f"truncated notification payload ({len(body)} bytes)")
        doi, proto, spi_size, ntype = struct.unpack_from("!IBBH", body, 0)
        if 8 + spi_size > len(body):
            raise _err(f"notification SPI size {spi_size} overruns the payload")
        return cls(ntype, proto, bytes(body[8:8 + spi_size]), bytes(body[8 + spi_size:]), doi)

    @property
    def name(self) -> str:
        return NOTIFY_NAMES.get(self.notify_type, str(self.notify_type))


@dataclass
class DeletePayload(Payload):
    """Delete (RFC 2408 §3.15): DOI, protocol, SPI size, count, SPIs.
    For an ISAKMP SA the SPI is the 16-byte cookie pair."""
    payload_type: ClassVar[int] = PT_DELETE
    protocol_id: int = PROTO_IPSEC_ESP
    spis: list[bytes] = field(default_factory=list)
    doi: int = DOI_IPSEC

    def encode_body(self) -> bytes:
        size = len(self.spis[0]) if self.spis else 0
        if any(len(s) != size for s in self.spis):
            raise ValueError("all SPIs of a delete payload must have the same size")
        _check_u("SPI size", size, 8)
        _check_u("SPI count", len(self.spis), 16)
        return struct.pack("!IBBH", self.doi, self.protocol_id, size, len(self.spis)) + b"".join(self.spis)

    @classmethod
    def decode_body(cls, body: bytes) -> "DeletePayload":
        if len(body) < 8:
            raise _err(f"truncated delete payload ({len(body)} bytes)")
        doi, proto, size, count = struct.unpack_from("!IBBH", body, 0)
        rest = body[8:]
        if size * count != len(rest):
            raise _err(f"delete payload: {count} SPIs of {size} bytes in {len(rest)} bytes")
        return cls(proto, [bytes(rest[i * size:(i + 1) * size]) for i in range(count)], doi)


PAYLOAD_CLASSES: dict[int, type[Payload]] = {
    cls.payload_type: cls
    for cls in (SAPayload, KEPayload, IDPayload, CertPayload, CertRequestPayload, HashPayload,
                SignaturePayload, NoncePayload, NotificationPayload, DeletePayload, VendorIDPayload)
}


def encode_payloads(payloads: Sequence[Payload]) -> bytes:
    """Chain payloads, each generic header pointing at the next one's type."""
    out = []
    n = len(payloads)
    for i, p in enumerate(payloads):
        out.append(p.encode(payloads[i + 1].payload_type if i < n - 1 else PT_NONE))
    return b"".join(out)


def chain_bytes(payloads: Sequence[Payload]) -> bytes:
    """Payloads as on the wire: the received bytes if all were decoded, else
    their encoding (e.g. what follows HASH(1) in quick mode, RFC 2409 §5.5)."""
    if payloads and all(p.raw for p in payloads):
        return b"".join(p.raw for p in payloads)
    return encode_payloads(payloads)


def decode_payloads(first_payload_type: int, body: bytes, allow_padding: bool = True) -> list[Payload]:
    """Parse a payload chain, e.g. a decrypted body.  Bytes after the last
    payload are IKE encryption padding (RFC 2409 Appendix B) and are ignored
    unless ``allow_padding`` is false."""
    out: list[Payload] = []
    for ptype, pbody, raw in _split_chain(first_payload_type, body, "message", allow_trailing=allow_padding):
        cls = PAYLOAD_CLASSES.get(ptype)
        if cls is None:
            raise _err(f"unknown next payload type {ptype} in the chain", INVALID_PAYLOAD_TYPE, ptype)
        p = cls.decode_body(pbody)
        p.raw = raw
        out.append(p)
    return out


# --- Header and message ------------------------------------------------------

@dataclass
class IsakmpHeader:
    """RFC 2408 §3.1 fixed header (28 bytes)."""
    icookie: bytes
    rcookie: bytes
    next_payload: int
    exchange: int
    flags: int = 0
    message_id: int = 0
    length: int = HEADER_SIZE
    version: int = VERSION

    def encode(self) -> bytes:
        if len(self.icookie) != 8 or len(self.rcookie) != 8:
            raise ValueError("cookies are 8 bytes")
        return _HEADER.pack(self.icookie, self.rcookie, self.next_payload, self.version,
                            self.exchange, self.flags, self.message_id, self.length)

    @classmethod
    def decode(cls, data: bytes) -> "IsakmpHeader":
        if len(data) < HEADER_SIZE:
            raise _err(f"truncated header ({len(data)} of {HEADER_SIZE} bytes)")
        icky, rcky, nxt, ver, exch, flags, mid, length = _HEADER.unpack_from(data, 0)
        if ver >> 4 != 1:
            raise _err(f"major version {ver >> 4} not supported", INVALID_MAJOR_VERSION)
        if length < HEADER_SIZE:
            raise _err(f"length field {length} shorter than the header")
        return cls(icky, rcky, nxt, exch, flags, mid, length, ver)


@dataclass
class IsakmpMessage:
    """Header + payload chain.  With ``FLAG_ENCRYPTION`` the body travels as
    ``encrypted_body`` (opaque here) and ``first_payload`` is the header's
    next-payload field; :meth:`open` decrypts and parses it."""
    icookie: bytes
    rcookie: bytes
    exchange: int
    payloads: list[Payload] = field(default_factory=list)
    flags: int = 0
    message_id: int = 0
    version: int = VERSION
    encrypted_body: bytes | None = None
    first_payload: int = PT_NONE
    header: IsakmpHeader | None = field(default=None, compare=False, repr=False)  # as received

    @property
    def encrypted(self) -> bool:
        return bool(self.flags & FLAG_ENCRYPTION)

    def encode(self, encrypt: Callable[[bytes], bytes] | None = None) -> bytes:
        """Bytes for the wire.  An encrypted message needs ``encrypted_body``
        or an ``encrypt`` callable (padded plaintext in, ciphertext out)."""
        if self.encrypted:
            if self.encrypted_body is not None:
                body, first = self.encrypted_body, self.first_payload
            elif encrypt is not None and self.payloads:
                body, first = encrypt(encode_payloads(self.payloads)), self.payloads[0].payload_type
            else:
                raise ValueError("encrypted message needs encrypted_body or an encrypt function")
        else:
            body = encode_payloads(self.payloads)
            first = self.payloads[0].payload_type if self.payloads else PT_NONE
        hdr = IsakmpHeader(self.icookie, self.rcookie, first, self.exchange, self.flags,
                           self.message_id, HEADER_SIZE + len(body), self.version)
        return hdr.encode() + body

    @classmethod
    def decode(cls, data: bytes) -> "IsakmpMessage":
        hdr = IsakmpHeader.decode(data)
        if hdr.length != len(data):
            raise _err(f"length field {hdr.length} inconsistent with {len(data)} bytes of data", UNEQUAL_PAYLOAD_LENGTHS)
        body = bytes(data[HEADER_SIZE:])
        msg = cls(hdr.icookie, hdr.rcookie, hdr.exchange, [], hdr.flags, hdr.message_id, hdr.version,
                  None, hdr.next_payload, hdr)
        if msg.encrypted:
            msg.encrypted_body = body
        else:
            msg.payloads = decode_payloads(hdr.next_payload, body, allow_padding=False)
        return msg

    def open(self, decrypt: Callable[[bytes], bytes]) -> list[Payload]:
        """Decrypt ``encrypted_body`` and parse it into ``payloads``."""
        if self.encrypted_body is None:
            return self.payloads
        self.payloads = decode_payloads(self.first_payload, decrypt(self.encrypted_body))
        return self.payloads

    def find(self, cls: type[Payload]) -> list[Payload]:
        return [p for p in self.payloads if isinstance(p, cls)]

    def first(self, cls: type[Payload]) -> Payload | None:
        for p in self.payloads:
            if isinstance(p, cls):
                return p
        return None
