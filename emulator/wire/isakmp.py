"""ISAKMP (IKEv1) message codec.

Formats from RFC 2408 §3 (header and payloads), RFC 2407 (IPsec DOI) and
RFC 2409 Appendix A (phase 1 attribute values).  Sans-I/O: bytes in, objects
out.  Encrypted bodies are left opaque here; ``emulator.engines.ike.crypto`` decrypts
them and :func:`decode_payloads` parses the result.
"""

from __future__ import annotations

import enum
import ipaddress
import struct
from dataclasses import dataclass, field
from typing import Callable, ClassVar, Sequence, Union

from emulator.wire.errors import DecodeError
from emulator.wire.reader import Reader

LAYER = "isakmp"

# --- Header (RFC 2408 §3.1) ------------------------------------------------
HEADER_SIZE = 28
VERSION = 0x10  # major 1, minor 0


class ExchangeType(enum.IntEnum):
    """Exchange types (RFC 2408 §3.1; quick mode and new group mode: RFC 2409 Appendix A)."""

    NONE = 0
    BASE = 1
    IDENTITY_PROTECTION = 2
    MAIN_MODE = 2  # RFC 2409's name for identity protection
    AUTH_ONLY = 3
    AGGRESSIVE = 4
    INFORMATIONAL = 5
    QUICK_MODE = 32
    NEW_GROUP_MODE = 33


class HeaderFlag(enum.IntEnum):
    """Flags (RFC 2408 §3.1); an IntEnum so that ``flags & ENCRYPTION`` stays int arithmetic."""

    ENCRYPTION = 0x01
    COMMIT = 0x02
    AUTH_ONLY = 0x04


class PayloadType(enum.IntEnum):
    """Next-payload values (RFC 2408 §3.1)."""

    NONE = 0
    SA = 1
    PROPOSAL = 2
    TRANSFORM = 3
    KE = 4
    ID = 5
    CERT = 6
    CR = 7
    HASH = 8
    SIG = 9
    NONCE = 10
    NOTIFICATION = 11
    DELETE = 12
    VENDOR_ID = 13


class Doi(enum.IntEnum):
    """Domain of interpretation (RFC 2408 §3.4, RFC 2407 §4.2)."""

    ISAKMP = 0
    IPSEC = 1


class Situation(enum.IntEnum):
    """IPsec DOI situation bits (RFC 2407 §4.2)."""

    IDENTITY_ONLY = 0x01
    SECRECY = 0x02
    INTEGRITY = 0x04


class ProtocolId(enum.IntEnum):
    """Protocol identifiers (RFC 2407 §4.4.1)."""

    ISAKMP = 1
    IPSEC_AH = 2
    IPSEC_ESP = 3
    IPCOMP = 4


class IsakmpTransformId(enum.IntEnum):
    """ISAKMP transform identifiers (RFC 2407 §4.4.2)."""

    KEY_IKE = 1


class AhTransformId(enum.IntEnum):
    """AH transform identifiers (RFC 2407 §4.4.3)."""

    MD5 = 2
    SHA = 3
    DES = 4


class EspTransformId(enum.IntEnum):
    """ESP transform identifiers (RFC 2407 §4.4.4; AES: RFC 3602 §5, IANA value)."""

    DES_IV64 = 1
    DES = 2
    DES3 = 3      # ESP_3DES
    RC5 = 4
    IDEA = 5
    CAST = 6
    BLOWFISH = 7
    IDEA3 = 8     # ESP_3IDEA
    DES_IV32 = 9
    RC4 = 10
    NULL = 11
    AES = 12


# --- SA attributes -----------------------------------------------------------

class OakleyAttr(enum.IntEnum):
    """Phase 1 attribute types (RFC 2409 Appendix A)."""

    ENCRYPTION = 1
    HASH = 2
    AUTH_METHOD = 3
    GROUP_DESCRIPTION = 4
    GROUP_TYPE = 5
    GROUP_PRIME = 6
    GROUP_GENERATOR_ONE = 7
    GROUP_GENERATOR_TWO = 8
    GROUP_CURVE_A = 9
    GROUP_CURVE_B = 10
    LIFE_TYPE = 11
    LIFE_DURATION = 12
    PRF = 13
    KEY_LENGTH = 14
    FIELD_SIZE = 15
    GROUP_ORDER = 16


class IPsecAttr(enum.IntEnum):
    """Phase 2 (IPsec DOI) attribute types (RFC 2407 §4.5)."""

    SA_LIFE_TYPE = 1
    SA_LIFE_DURATION = 2
    GROUP_DESCRIPTION = 3
    ENCAPSULATION_MODE = 4
    AUTH_ALGORITHM = 5
    KEY_LENGTH = 6
    KEY_ROUNDS = 7
    COMPRESS_DICT_SIZE = 8
    COMPRESS_PRIVATE_ALG = 9


class AttrEncryption(enum.IntEnum):
    """Phase 1 encryption algorithm (RFC 2409 Appendix A; AES: RFC 3602 §5, IANA value)."""

    DES_CBC = 1
    IDEA_CBC = 2
    BLOWFISH_CBC = 3
    RC5_CBC = 4
    DES3_CBC = 5   # 3DES-CBC
    CAST_CBC = 6
    AES_CBC = 7


class AttrHash(enum.IntEnum):
    """Phase 1 hash algorithm (RFC 2409 Appendix A)."""

    MD5 = 1
    SHA = 2
    TIGER = 3


class AttrAuthMethod(enum.IntEnum):
    """Phase 1 authentication method (RFC 2409 Appendix A)."""

    PRE_SHARED = 1
    DSS_SIG = 2
    RSA_SIG = 3
    RSA_ENC = 4
    RSA_ENC_REVISED = 5


class AttrGroup(enum.IntEnum):
    """Group description, phase 1 and 2 (RFC 2409 Appendix A and §6; group 5: RFC 3526 §2)."""

    MODP_768 = 1
    MODP_1024 = 2
    EC2N_155 = 3
    EC2N_185 = 4
    MODP_1536 = 5


class AttrGroupType(enum.IntEnum):
    """Phase 1 group type (RFC 2409 Appendix A)."""

    MODP = 1
    ECP = 2
    EC2N = 3


class AttrLifeType(enum.IntEnum):
    """Life type, phase 1 (RFC 2409 Appendix A) and SA life type, phase 2 (RFC 2407 §4.5)."""

    SECONDS = 1
    KILOBYTES = 2


class AttrEncapsulation(enum.IntEnum):
    """Encapsulation mode (RFC 2407 §4.5)."""

    TUNNEL = 1
    TRANSPORT = 2


class AttrAuthAlgorithm(enum.IntEnum):
    """Authentication algorithm (RFC 2407 §4.5).  0 is reserved in the
    registry; an SA without authentication uses it as "none"."""

    NONE = 0
    HMAC_MD5 = 1
    HMAC_SHA = 2
    DES_MAC = 3
    KPDK = 4


class AttrFormat(enum.Enum):
    """Attribute classes of RFC 2409 Appendix A and RFC 2407 §4.5.

    Basic attributes always travel as type/value (AF=1) and never in the
    variable form; a variable attribute whose value fits 16 bits may travel
    as basic (RFC 2408 §3.3).
    """

    BASIC = "B"
    VARIABLE = "V"


@dataclass(frozen=True, slots=True)
class AttrSpec:
    format: AttrFormat
    values: type[enum.IntEnum] | None = None  # the value's enum, when the value is an identifier


_B, _V = AttrFormat.BASIC, AttrFormat.VARIABLE

# The table both Attribute.encode and Attribute.decode_all consult.
PHASE1_ATTRIBUTES: dict[int, AttrSpec] = {
    OakleyAttr.ENCRYPTION: AttrSpec(_B, AttrEncryption),
    OakleyAttr.HASH: AttrSpec(_B, AttrHash),
    OakleyAttr.AUTH_METHOD: AttrSpec(_B, AttrAuthMethod),
    OakleyAttr.GROUP_DESCRIPTION: AttrSpec(_B, AttrGroup),
    OakleyAttr.GROUP_TYPE: AttrSpec(_B, AttrGroupType),
    OakleyAttr.GROUP_PRIME: AttrSpec(_V),
    OakleyAttr.GROUP_GENERATOR_ONE: AttrSpec(_V),
    OakleyAttr.GROUP_GENERATOR_TWO: AttrSpec(_V),
    OakleyAttr.GROUP_CURVE_A: AttrSpec(_V),
    OakleyAttr.GROUP_CURVE_B: AttrSpec(_V),
    OakleyAttr.LIFE_TYPE: AttrSpec(_B, AttrLifeType),
    OakleyAttr.LIFE_DURATION: AttrSpec(_V),
    OakleyAttr.PRF: AttrSpec(_B),
    OakleyAttr.KEY_LENGTH: AttrSpec(_B),
    OakleyAttr.FIELD_SIZE: AttrSpec(_B),
    OakleyAttr.GROUP_ORDER: AttrSpec(_V),
}
IPSEC_ATTRIBUTES: dict[int, AttrSpec] = {
    IPsecAttr.SA_LIFE_TYPE: AttrSpec(_B, AttrLifeType),
    IPsecAttr.SA_LIFE_DURATION: AttrSpec(_V),
    IPsecAttr.GROUP_DESCRIPTION: AttrSpec(_B, AttrGroup),
    IPsecAttr.ENCAPSULATION_MODE: AttrSpec(_B, AttrEncapsulation),
    IPsecAttr.AUTH_ALGORITHM: AttrSpec(_B, AttrAuthAlgorithm),
    IPsecAttr.KEY_LENGTH: AttrSpec(_B),
    IPsecAttr.KEY_ROUNDS: AttrSpec(_B),
    IPsecAttr.COMPRESS_DICT_SIZE: AttrSpec(_B),
    IPsecAttr.COMPRESS_PRIVATE_ALG: AttrSpec(_V),
}


def attribute_table(protocol_id: int) -> dict[int, AttrSpec]:
    """The attributes a transform of this proposal protocol carries: phase 1
    (Oakley) for ISAKMP, the IPsec DOI's for AH, ESP and IPComp."""
    return PHASE1_ATTRIBUTES if protocol_id == ProtocolId.ISAKMP else IPSEC_ATTRIBUTES


# --- Identification -----------------------------------------------------------

class IdType(enum.IntEnum):
    """Identification types of the IPsec DOI (RFC 2407 §4.6.2.1)."""

    IPV4_ADDR = 1
    FQDN = 2
    USER_FQDN = 3
    IPV4_ADDR_SUBNET = 4
    IPV6_ADDR = 5
    IPV6_ADDR_SUBNET = 6
    IPV4_ADDR_RANGE = 7
    IPV6_ADDR_RANGE = 8
    DER_ASN1_DN = 9
    DER_ASN1_GN = 10
    KEY_ID = 11


# --- Notify message types ------------------------------------------------------

class NotifyType(enum.IntEnum):
    """Errors 1-30 and status 16384 (RFC 2408 §3.14.1), IPsec DOI status
    (RFC 2407 §4.6.3) and dead peer detection (RFC 3706 §5)."""

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
    CONNECTED = 16384
    RESPONDER_LIFETIME = 24576
    REPLAY_STATUS = 24577
    INITIAL_CONTACT = 24578
    R_U_THERE = 36136
    R_U_THERE_ACK = 36137


# --- Short names the engines and tests use -------------------------------------
EXCH_MAIN_MODE = ExchangeType.MAIN_MODE
EXCH_INFORMATIONAL = ExchangeType.INFORMATIONAL
EXCH_QUICK_MODE = ExchangeType.QUICK_MODE
FLAG_ENCRYPTION = HeaderFlag.ENCRYPTION

PT_SA = PayloadType.SA
PT_TRANSFORM = PayloadType.TRANSFORM
PT_KE = PayloadType.KE
PT_ID = PayloadType.ID
PT_HASH = PayloadType.HASH
PT_NONCE = PayloadType.NONCE
PT_DELETE = PayloadType.DELETE

DOI_IPSEC = Doi.IPSEC
SIT_IDENTITY_ONLY = Situation.IDENTITY_ONLY
PROTO_ISAKMP = ProtocolId.ISAKMP
PROTO_IPSEC_ESP = ProtocolId.IPSEC_ESP
KEY_IKE = IsakmpTransformId.KEY_IKE
ESP_DES = EspTransformId.DES

OAKLEY_ENCRYPTION = OakleyAttr.ENCRYPTION
OAKLEY_HASH = OakleyAttr.HASH
OAKLEY_AUTH_METHOD = OakleyAttr.AUTH_METHOD
OAKLEY_GROUP_DESCRIPTION = OakleyAttr.GROUP_DESCRIPTION
OAKLEY_LIFE_TYPE = OakleyAttr.LIFE_TYPE
OAKLEY_LIFE_DURATION = OakleyAttr.LIFE_DURATION
OAKLEY_KEY_LENGTH = OakleyAttr.KEY_LENGTH
ENC_DES_CBC = AttrEncryption.DES_CBC
ENC_IDEA_CBC = AttrEncryption.IDEA_CBC
ENC_3DES_CBC = AttrEncryption.DES3_CBC
ENC_AES_CBC = AttrEncryption.AES_CBC
HASH_MD5 = AttrHash.MD5
HASH_SHA = AttrHash.SHA
AUTH_PRE_SHARED = AttrAuthMethod.PRE_SHARED
AUTH_RSA_SIG = AttrAuthMethod.RSA_SIG
AUTH_RSA_ENC = AttrAuthMethod.RSA_ENC
GROUP_MODP_768 = AttrGroup.MODP_768
LIFE_SECONDS = AttrLifeType.SECONDS
LIFE_KILOBYTES = AttrLifeType.KILOBYTES

IPSEC_SA_LIFE_TYPE = IPsecAttr.SA_LIFE_TYPE
IPSEC_SA_LIFE_DURATION = IPsecAttr.SA_LIFE_DURATION
IPSEC_GROUP_DESCRIPTION = IPsecAttr.GROUP_DESCRIPTION
IPSEC_ENCAPSULATION_MODE = IPsecAttr.ENCAPSULATION_MODE
IPSEC_AUTH_ALGORITHM = IPsecAttr.AUTH_ALGORITHM
IPSEC_KEY_LENGTH = IPsecAttr.KEY_LENGTH
ENCAP_TUNNEL = AttrEncapsulation.TUNNEL
ENCAP_TRANSPORT = AttrEncapsulation.TRANSPORT
AUTH_HMAC_MD5 = AttrAuthAlgorithm.HMAC_MD5

ID_IPV4_ADDR = IdType.IPV4_ADDR
ID_FQDN = IdType.FQDN
ID_IPV4_ADDR_SUBNET = IdType.IPV4_ADDR_SUBNET
ID_IPV4_ADDR_RANGE = IdType.IPV4_ADDR_RANGE

INVALID_PAYLOAD_TYPE = NotifyType.INVALID_PAYLOAD_TYPE
INVALID_MAJOR_VERSION = NotifyType.INVALID_MAJOR_VERSION
NO_PROPOSAL_CHOSEN = NotifyType.NO_PROPOSAL_CHOSEN
INVALID_ID_INFORMATION = NotifyType.INVALID_ID_INFORMATION
CONNECTED = NotifyType.CONNECTED
RESPONDER_LIFETIME = NotifyType.RESPONDER_LIFETIME
INITIAL_CONTACT = NotifyType.INITIAL_CONTACT

_GENERIC = struct.Struct("!BBH")  # next payload, reserved, length (RFC 2408 §3.2)
_HEADER = struct.Struct("!8s8sBBBBII")
_ATTR = struct.Struct("!HH")      # type (with AF bit), value or length (RFC 2408 §3.3)
_DOI_SIT = struct.Struct("!II")
_PROPOSAL = struct.Struct("!BBBB")
_TRANSFORM = struct.Struct("!BBH")
_ID = struct.Struct("!BBH")
_NOTIFY = struct.Struct("!IBBH")  # also the Delete payload's fixed part


class IsakmpDecodeError(DecodeError):
    """DecodeError carrying the notify type a receiver would answer with."""

    def __init__(self, reason: str, notify: int = NotifyType.PAYLOAD_MALFORMED, payload_type: int | None = None):
        super().__init__(LAYER, reason)
        self.notify = notify
        self.payload_type = payload_type


def _err(reason: str, notify: int = NotifyType.PAYLOAD_MALFORMED,
         payload_type: int | None = None) -> IsakmpDecodeError:
    return IsakmpDecodeError(reason, notify, payload_type)


def _reader(data: bytes, what: str, notify: int = NotifyType.PAYLOAD_MALFORMED) -> Reader:
    """A Reader whose errors carry ``notify``."""
    return Reader(data, what, LAYER, lambda reason: IsakmpDecodeError(reason, notify))


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
    A well-formed chain is walked with plain slicing; anything else goes to
    :func:`_split_chain_checked`, which raises the error naming it.
    """
    if type(data) is not bytes:
        data = bytes(data)
    out: list[tuple[int, bytes, bytes]] = []
    unpack = _GENERIC.unpack_from
    end = len(data)
    pos = 0
    ptype = first
    while ptype != PayloadType.NONE:
        if end - pos < 4:
            return _split_chain_checked(first, data, what, allow_trailing)
        nxt, _res, length = unpack(data, pos)
        stop = pos + length
        if length < 4 or stop > end:
            return _split_chain_checked(first, data, what, allow_trailing)
        out.append((ptype, data[pos + 4:stop], data[pos:stop]))
        pos = stop
        ptype = nxt
    if pos != end and not allow_trailing:
        return _split_chain_checked(first, data, what, allow_trailing)
    return out


def _split_chain_checked(first: int, data: bytes, what: str,
                         allow_trailing: bool = False) -> list[tuple[int, bytes, bytes]]:
    """:func:`_split_chain` through a bounds-checked reader: the same result, and for a malformed
    chain the error that names the payload and offset."""
    out: list[tuple[int, bytes, bytes]] = []
    r = _reader(data, f"{what} chain")
    ptype = first
    while ptype != PayloadType.NONE:
        start = r.pos
        nxt, _res, length = r.unpack(_GENERIC, f"generic header of payload type {ptype}")
        if length < 4:
            raise _err(f"payload length {length} shorter than the generic header ({what}, type {ptype})")
        body = r.take(length - 4, f"payload type {ptype} (length {length})")
        out.append((ptype, body, bytes(data[start:r.pos])))
        ptype = nxt
    if r.remaining and not allow_trailing:
        raise _err(f"{r.remaining} bytes after the last {what} payload")
    return out


# --- Data attributes (RFC 2408 §3.3) ---------------------------------------

@dataclass(frozen=True)
class Attribute:
    """A data attribute.  ``int`` values up to 0xFFFF encode as basic (AF=1)
    attributes; larger ``int`` values as variable ones in at least 4 bytes
    (IOS sends e.g. life 86400 s as 0x00015180); ``bytes`` values always as
    variable attributes.  Decoding gives ``int`` for basic, ``bytes`` for
    variable attributes: use :attr:`int_value` to read either as a number.

    With an attribute table (:func:`attribute_table`) encoding refuses a
    basic attribute that cannot travel basic, and decoding refuses a basic
    attribute in variable form and gives identifier values as enum members.
    """

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

    def encode(self, table: dict[int, AttrSpec] | None = None) -> bytes:
        v = self.value
        if isinstance(v, int) and 0 <= v <= 0xFFFF and 0 <= self.type < 0x8000:
            return _ATTR.pack(0x8000 | self.type, v)   # basic, whatever the table says
        _check_u("attribute type", self.type, 15)
        spec = table.get(self.type) if table is not None else None
        if isinstance(v, int):
            if v < 0:
                raise ValueError(f"negative attribute value {v}")
            if v <= 0xFFFF:
                return _ATTR.pack(0x8000 | self.type, v)
            v = v.to_bytes(max(4, (v.bit_length() + 7) // 8), "big")
        if spec is not None and spec.format is AttrFormat.BASIC:
            raise ValueError(f"attribute {self.type} is basic: its value must fit 16 bits, got {self.value!r}")
        if len(v) > 0xFFFF:
            raise ValueError("variable attribute longer than 65535 bytes")
        return _ATTR.pack(self.type, len(v)) + bytes(v)

    @staticmethod
    def decode_all(data: bytes, table: dict[int, AttrSpec] | None = None) -> list["Attribute"]:
        out: list[Attribute] = []
        unpack = _ATTR.unpack_from
        cache = _BASIC_SEEN.get(id(table))
        end = len(data)
        pos = 0
        while pos < end:
            if end - pos < 4:
                return Attribute._decode_all_checked(data, table)
            t, v = unpack(data, pos)
            pos += 4
            if t & 0x8000:
                key = (t << 16) | v
                a = cache.get(key) if cache is not None else None
                if a is None:
                    t &= 0x7FFF
                    spec = table.get(t) if table is not None else None
                    if spec is not None and spec.values is not None:
                        v = _enum_value(spec.values, v)
                    a = Attribute(t, v)
                    if cache is not None and len(cache) < _BASIC_SEEN_MAX:
                        cache[key] = a
                out.append(a)
            else:
                spec = table.get(t) if table is not None else None
                if (spec is not None and spec.format is AttrFormat.BASIC) or end - pos < v:
                    return Attribute._decode_all_checked(data, table)
                out.append(Attribute(t, bytes(data[pos:pos + v])))
                pos += v
        return out

    @staticmethod
    def _decode_all_checked(data: bytes, table: dict[int, AttrSpec] | None = None) -> list["Attribute"]:
        """:meth:`decode_all` through a bounds-checked reader, for the error a malformed list gets."""
        out: list[Attribute] = []
        r = _reader(data, "attributes")
        while r.remaining:
            t, v = r.unpack(_ATTR, "attribute header")
            if t & 0x8000:
                t &= 0x7FFF
                spec = table.get(t) if table is not None else None
                if spec is not None and spec.values is not None:
                    v = _enum_value(spec.values, v)
                out.append(Attribute(t, v))
            else:
                spec = table.get(t) if table is not None else None
                if spec is not None and spec.format is AttrFormat.BASIC:
                    raise _err(f"basic attribute {t} in variable form", NotifyType.ATTRIBUTES_NOT_SUPPORTED)
                out.append(Attribute(t, r.take(v, f"attribute {t} value")))
        return out


# Basic attributes decoded before, by table (the two attribute tables and none) and wire value: an
# Attribute is immutable, so one object serves every message that carries the same type and value.
# Bounded, so that a peer sending many different values cannot grow it.
_BASIC_SEEN: dict[int, dict[int, Attribute]] = {id(PHASE1_ATTRIBUTES): {}, id(IPSEC_ATTRIBUTES): {}, id(None): {}}
_BASIC_SEEN_MAX = 1024


def _enum_value(values: type[enum.IntEnum], v: int) -> int:
    """``values(v)``, the member naming a value, or ``v`` itself when no member does; by the enum's
    own value table first (a call to the enum class costs several times as much)."""
    member = values._value2member_map_.get(v)
    if member is not None:
        return member  # type: ignore[return-value]
    try:
        return values(v)
    except ValueError:
        return v  # a value this table does not name stays a plain int


def _attr_dict(attrs: Sequence[Attribute]) -> dict[int, int | bytes]:
    return {a.type: a.value for a in attrs}


# --- Payloads ----------------------------------------------------------------

@dataclass
class Payload:
    """Base of the message-level payloads.  ``raw`` holds the payload as
    received (generic header included), for hashes over received bytes."""

    payload_type: ClassVar[int] = PayloadType.NONE
    raw: bytes = field(default=b"", compare=False, repr=False, kw_only=True)

    def encode_body(self) -> bytes:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def decode_body(cls, body: bytes) -> "Payload":  # pragma: no cover - abstract
        raise NotImplementedError

    def encode(self, next_payload: int = PayloadType.NONE) -> bytes:
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
    payload_type: ClassVar[int] = PayloadType.KE


@dataclass
class HashPayload(_Opaque):
    payload_type: ClassVar[int] = PayloadType.HASH  # RFC 2408 §3.11


@dataclass
class SignaturePayload(_Opaque):
    payload_type: ClassVar[int] = PayloadType.SIG  # RFC 2408 §3.12


@dataclass
class NoncePayload(_Opaque):
    payload_type: ClassVar[int] = PayloadType.NONCE  # RFC 2408 §3.13


@dataclass
class VendorIDPayload(_Opaque):
    payload_type: ClassVar[int] = PayloadType.VENDOR_ID  # RFC 2408 §3.16


@dataclass
class CertPayload(Payload):
    """RFC 2408 §3.9: certificate encoding (1 byte) + data."""
    payload_type: ClassVar[int] = PayloadType.CERT
    encoding: int = 0
    data: bytes = b""

    def encode_body(self) -> bytes:
        _check_u("certificate encoding", self.encoding, 8)
        return bytes([self.encoding]) + self.data

    @classmethod
    def decode_body(cls, body: bytes) -> "CertPayload":
        r = _reader(body, "CERT payload")
        return cls(r.u8("certificate encoding"), r.rest())


@dataclass
class CertRequestPayload(Payload):
    """RFC 2408 §3.10: certificate type (1 byte) + certificate authority."""
    payload_type: ClassVar[int] = PayloadType.CR
    cert_type: int = 0
    authority: bytes = b""

    def encode_body(self) -> bytes:
        _check_u("certificate type", self.cert_type, 8)
        return bytes([self.cert_type]) + self.authority

    @classmethod
    def decode_body(cls, body: bytes) -> "CertRequestPayload":
        r = _reader(body, "CR payload")
        return cls(r.u8("certificate type"), r.rest())


@dataclass
class Transform:
    """Transform payload (RFC 2408 §3.6): number, id, reserved(2), attributes.

    ``table`` (from :func:`attribute_table`, which the enclosing proposal's
    protocol selects) governs how the attributes travel."""
    number: int
    transform_id: int
    attributes: list[Attribute] = field(default_factory=list)
    raw: bytes = field(default=b"", compare=False, repr=False, kw_only=True)

    payload_type: ClassVar[int] = PayloadType.TRANSFORM

    def encode_body(self, table: dict[int, AttrSpec] | None = None) -> bytes:
        if not (0 <= self.number < 256 and 0 <= self.transform_id < 256):
            _check_u("transform number", self.number, 8)
            _check_u("transform id", self.transform_id, 8)
        return _TRANSFORM.pack(self.number, self.transform_id, 0) + b"".join(
            a.encode(table) for a in self.attributes)

    @classmethod
    def decode_body(cls, body: bytes, table: dict[int, AttrSpec] | None = None) -> "Transform":
        if len(body) >= _TRANSFORM.size:
            body = bytes(body)
            number, transform_id, _reserved = _TRANSFORM.unpack_from(body)
            return cls(number, transform_id, Attribute.decode_all(body[_TRANSFORM.size:], table))
        r = _reader(body, "transform payload", NotifyType.BAD_PROPOSAL_SYNTAX)
        number, transform_id, _reserved = r.unpack(_TRANSFORM)
        return cls(number, transform_id, Attribute.decode_all(r.rest(), table))

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

    payload_type: ClassVar[int] = PayloadType.PROPOSAL

    def encode_body(self) -> bytes:
        if not (0 <= self.number < 256 and 0 <= self.protocol_id < 256 and len(self.spi) < 256
                and len(self.transforms) < 256):
            _check_u("proposal number", self.number, 8)
            _check_u("protocol id", self.protocol_id, 8)
            _check_u("SPI size", len(self.spi), 8)
            _check_u("transform count", len(self.transforms), 8)
        table = attribute_table(self.protocol_id)
        out = [_PROPOSAL.pack(self.number, self.protocol_id, len(self.spi), len(self.transforms)), bytes(self.spi)]
        n = len(self.transforms)
        for i, t in enumerate(self.transforms):
            out.append(_generic(PayloadType.TRANSFORM if i < n - 1 else PayloadType.NONE, t.encode_body(table)))
        return b"".join(out)

    @classmethod
    def decode_body(cls, body: bytes) -> "Proposal":
        body = bytes(body)
        if len(body) >= 4 and len(body) >= 4 + body[2]:
            number, proto, spi_size, count = _PROPOSAL.unpack_from(body)
            spi, rest = body[4:4 + spi_size], body[4 + spi_size:]
        else:
            r = _reader(body, "proposal payload", NotifyType.BAD_PROPOSAL_SYNTAX)
            number, proto, spi_size, count = r.unpack(_PROPOSAL)
            spi = r.take(spi_size, f"SPI (size {spi_size})")
            rest = r.rest()
        chain = _split_chain(PayloadType.TRANSFORM if count else PayloadType.NONE, rest, "transform")
        table = attribute_table(proto)
        transforms = []
        for ptype, tbody, raw in chain:
            if ptype != PayloadType.TRANSFORM:
                raise _err(f"payload type {ptype} inside a proposal", NotifyType.BAD_PROPOSAL_SYNTAX, ptype)
            t = Transform.decode_body(tbody, table)
            t.raw = raw
            transforms.append(t)
        if len(transforms) != count:
            raise _err(f"proposal announces {count} transforms, holds {len(transforms)}",
                       NotifyType.BAD_PROPOSAL_SYNTAX)
        return cls(number, proto, spi, transforms)


@dataclass
class SAPayload(Payload):
    """SA payload (RFC 2408 §3.4): DOI, situation (RFC 2407 §4.2), proposals."""
    payload_type: ClassVar[int] = PayloadType.SA
    proposals: list[Proposal] = field(default_factory=list)
    doi: int = Doi.IPSEC
    situation: int = Situation.IDENTITY_ONLY

    def encode_body(self) -> bytes:
        out = [_DOI_SIT.pack(self.doi, self.situation)]
        n = len(self.proposals)
        for i, p in enumerate(self.proposals):
            out.append(_generic(PayloadType.PROPOSAL if i < n - 1 else PayloadType.NONE, p.encode_body()))
        return b"".join(out)

    @classmethod
    def decode_body(cls, body: bytes) -> "SAPayload":
        body = bytes(body)
        if len(body) >= _DOI_SIT.size:
            doi, situation = _DOI_SIT.unpack_from(body)
            rest = body[_DOI_SIT.size:]
        else:
            doi, situation = _reader(body, "SA payload").unpack(_DOI_SIT, "DOI and situation")
        if doi not in (Doi.ISAKMP, Doi.IPSEC):
            raise _err(f"DOI {doi} not supported", NotifyType.DOI_NOT_SUPPORTED)
        if situation & ~Situation.IDENTITY_ONLY:
            # Secrecy/integrity situations add labeled-domain fields (RFC 2407 §4.6.1).
            raise _err(f"situation {situation:#x} not supported", NotifyType.SITUATION_NOT_SUPPORTED)
        chain = _split_chain(PayloadType.PROPOSAL if rest else PayloadType.NONE, rest, "proposal")
        proposals = []
        for ptype, pbody, raw in chain:
            if ptype != PayloadType.PROPOSAL:
                raise _err(f"payload type {ptype} inside an SA payload", NotifyType.BAD_PROPOSAL_SYNTAX, ptype)
            p = Proposal.decode_body(pbody)
            p.raw = raw
            proposals.append(p)
        return cls(proposals, doi, situation)


@dataclass
class IDPayload(Payload):
    """Identification payload, IPsec DOI form (RFC 2407 §4.6.2):
    ID type, protocol id, port, identification data."""
    payload_type: ClassVar[int] = PayloadType.ID
    id_type: int = IdType.IPV4_ADDR
    protocol: int = 0
    port: int = 0
    data: bytes = b""

    # Identification data lengths the decoder enforces (RFC 2407 §4.6.2.2 ff.)
    _FIXED: ClassVar[dict[int, int]] = {
        IdType.IPV4_ADDR: 4, IdType.IPV4_ADDR_SUBNET: 8, IdType.IPV4_ADDR_RANGE: 8,
        IdType.IPV6_ADDR: 16, IdType.IPV6_ADDR_SUBNET: 32, IdType.IPV6_ADDR_RANGE: 32,
    }

    @classmethod
    def ipv4_address(cls, address: str | ipaddress.IPv4Address, protocol: int = 0, port: int = 0) -> "IDPayload":
        packed = address.packed if isinstance(address, ipaddress.IPv4Address) else ipaddress.IPv4Address(address).packed
        return cls(IdType.IPV4_ADDR, protocol, port, packed)

    @classmethod
    def ipv4_subnet(cls, network: str | ipaddress.IPv4Network, protocol: int = 0, port: int = 0) -> "IDPayload":
        net = ipaddress.IPv4Network(network)
        return cls(IdType.IPV4_ADDR_SUBNET, protocol, port, net.network_address.packed + net.netmask.packed)

    @classmethod
    def ipv4_range(cls, first: str, last: str, protocol: int = 0, port: int = 0) -> "IDPayload":
        return cls(IdType.IPV4_ADDR_RANGE, protocol, port,
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
        if self.id_type != IdType.IPV4_ADDR:
            raise ValueError(f"ID type {self.id_type} is not ID_IPV4_ADDR")
        return ipaddress.IPv4Address(self.data)

    @property
    def network(self) -> ipaddress.IPv4Network:
        """The IPv4 address or subnet as a network (ValueError for other types or a non-contiguous mask)."""
        if self.id_type == IdType.IPV4_ADDR:
            return ipaddress.IPv4Network(ipaddress.IPv4Address(self.data))
        if self.id_type == IdType.IPV4_ADDR_SUBNET:
            addr = ipaddress.IPv4Address(self.data[:4])
            mask = ipaddress.IPv4Address(self.data[4:8])
            return ipaddress.IPv4Network(f"{addr}/{mask}", strict=False)
        raise ValueError(f"ID type {self.id_type} is not an IPv4 address or subnet")

    def encode_body(self) -> bytes:
        if not (0 <= self.id_type < 256 and 0 <= self.protocol < 256 and 0 <= self.port < 0x10000):
            _check_u("ID type", self.id_type, 8)
            _check_u("ID protocol", self.protocol, 8)
            _check_u("ID port", self.port, 16)
        return _ID.pack(self.id_type, self.protocol, self.port) + bytes(self.data)

    @classmethod
    def decode_body(cls, body: bytes) -> "IDPayload":
        if len(body) >= _ID.size:
            body = bytes(body)
            id_type, proto, port = _ID.unpack_from(body)
            data = body[_ID.size:]
            want = cls._FIXED.get(id_type)
            if want is None or len(data) == want:
                return cls(id_type, proto, port, data)
        r = _reader(body, "ID payload", NotifyType.INVALID_ID_INFORMATION)
        id_type, proto, port = r.unpack(_ID)
        data = r.rest()
        want = cls._FIXED.get(id_type)
        if want is not None and len(data) != want:
            raise r.error(f"ID type {id_type} with {len(data)} bytes of data (expected {want})")
        return cls(id_type, proto, port, data)


@dataclass
class NotificationPayload(Payload):
    """Notification (RFC 2408 §3.14): DOI, protocol, SPI size, type, SPI, data."""
    payload_type: ClassVar[int] = PayloadType.NOTIFICATION
    notify_type: int = 0
    protocol_id: int = ProtocolId.ISAKMP
    spi: bytes = b""
    data: bytes = b""
    doi: int = Doi.IPSEC

    def encode_body(self) -> bytes:
        if not (0 <= self.protocol_id < 256 and len(self.spi) < 256 and 0 <= self.notify_type < 0x10000):
            _check_u("protocol id", self.protocol_id, 8)
            _check_u("SPI size", len(self.spi), 8)
            _check_u("notify type", self.notify_type, 16)
        return _NOTIFY.pack(self.doi, self.protocol_id, len(self.spi), self.notify_type) + self.spi + self.data

    @classmethod
    def decode_body(cls, body: bytes) -> "NotificationPayload":
        if len(body) >= _NOTIFY.size and len(body) >= _NOTIFY.size + body[5]:   # SPI size
            body = bytes(body)
            doi, proto, spi_size, ntype = _NOTIFY.unpack_from(body)
            end = _NOTIFY.size + spi_size
            return cls(ntype, proto, body[_NOTIFY.size:end], body[end:], doi)
        r = _reader(body, "notification payload")
        doi, proto, spi_size, ntype = r.unpack(_NOTIFY)
        spi = r.take(spi_size, f"SPI (size {spi_size})")
        return cls(ntype, proto, spi, r.rest(), doi)

    @property
    def name(self) -> str:
        try:
            return NotifyType(self.notify_type).name
        except ValueError:
            return str(self.notify_type)


@dataclass
class DeletePayload(Payload):
    """Delete (RFC 2408 §3.15): DOI, protocol, SPI size, count, SPIs.
    For an ISAKMP SA the SPI is the 16-byte cookie pair."""
    payload_type: ClassVar[int] = PayloadType.DELETE
    protocol_id: int = ProtocolId.IPSEC_ESP
    spis: list[bytes] = field(default_factory=list)
    doi: int = Doi.IPSEC

    def encode_body(self) -> bytes:
        size = len(self.spis[0]) if self.spis else 0
        if any(len(s) != size for s in self.spis):
            raise ValueError("all SPIs of a delete payload must have the same size")
        _check_u("SPI size", size, 8)
        _check_u("SPI count", len(self.spis), 16)
        return _NOTIFY.pack(self.doi, self.protocol_id, size, len(self.spis)) + b"".join(self.spis)

    @classmethod
    def decode_body(cls, body: bytes) -> "DeletePayload":
        r = _reader(body, "delete payload")
        doi, proto, size, count = r.unpack(_NOTIFY)
        if size * count != r.remaining:
            raise r.error(f"delete payload: {count} SPIs of {size} bytes in {r.remaining} bytes")
        return cls(proto, [r.take(size) for _ in range(count)], doi)


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
        out.append(p.encode(payloads[i + 1].payload_type if i < n - 1 else PayloadType.NONE))
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
            raise _err(f"unknown next payload type {ptype} in the chain", NotifyType.INVALID_PAYLOAD_TYPE, ptype)
        p = cls.decode_body(pbody)
        p.raw = raw
        out.append(p)
    return out


# --- Header and message ------------------------------------------------------

def message_bytes(icookie: bytes, rcookie: bytes, exchange: int, first_payload: int, body: bytes, flags: int = 0,
                  message_id: int = 0, version: int = VERSION) -> bytes:
    """A message for the wire: the fixed header (RFC 2408 §3.1) and ``body``, an encoded payload chain
    (or its ciphertext) whose first payload is ``first_payload``."""
    if len(icookie) != 8 or len(rcookie) != 8:
        raise ValueError("cookies are 8 bytes")
    return _HEADER.pack(icookie, rcookie, first_payload, version, exchange, flags, message_id,
                        HEADER_SIZE + len(body)) + body


def with_generic_header(body: bytes, next_payload: int = PayloadType.NONE) -> bytes:
    """An encoded payload body behind its generic header (RFC 2408 §3.2): what ``Payload.encode`` gives
    for a body already encoded."""
    return _generic(next_payload, body)


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
        if len(data) >= HEADER_SIZE:
            icky, rcky, nxt, ver, exch, flags, mid, length = _HEADER.unpack_from(data)
        else:
            icky, rcky, nxt, ver, exch, flags, mid, length = _reader(data, "header").unpack(_HEADER)
        if ver >> 4 != 1:
            raise _err(f"major version {ver >> 4} not supported", NotifyType.INVALID_MAJOR_VERSION)
        if length < HEADER_SIZE:
            raise _err(f"length field {length} shorter than the header")
        return cls(icky, rcky, nxt, exch, flags, mid, length, ver)


@dataclass
class IsakmpMessage:
    """Header + payload chain.  With ``HeaderFlag.ENCRYPTION`` the body travels as
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
    first_payload: int = PayloadType.NONE
    header: IsakmpHeader | None = field(default=None, compare=False, repr=False)  # as received

    @property
    def encrypted(self) -> bool:
        return bool(self.flags & HeaderFlag.ENCRYPTION)

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
            first = self.payloads[0].payload_type if self.payloads else PayloadType.NONE
        return message_bytes(self.icookie, self.rcookie, self.exchange, first, body, self.flags, self.message_id,
                             self.version)

    @classmethod
    def decode(cls, data: bytes) -> "IsakmpMessage":
        hdr = IsakmpHeader.decode(data)
        if hdr.length != len(data):
            raise _err(f"length field {hdr.length} inconsistent with {len(data)} bytes of data",
                       NotifyType.UNEQUAL_PAYLOAD_LENGTHS)
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
