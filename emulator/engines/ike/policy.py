"""IKE and IPsec policy as the wire carries it: ISAKMP policies, transform sets, proxy identities.

Translations between the typed configuration (``emulator.config.model``) and
ISAKMP payloads, and the matching rules a responder applies:

* phase 1: one ISAKMP transform per ``crypto isakmp policy`` (RFC 2409
  Appendix A attributes).  A responder takes its own policies in priority
  order and accepts the first offered transform with the same encryption,
  hash, authentication and group whose lifetime is less than or equal to its
  own; the offered (shorter) lifetime is then used.  (Cisco IOS Security
  Configuration Guide, "Configuring Internet Key Exchange", "How Two Peers
  Find a Matching Policy" — quoted the same way in Cisco exam material:
  "the remote peer's policy specifies a lifetime that is less than or equal
  to the lifetime in the policy being compared".)
* phase 2: one ESP proposal per transform set of a crypto map entry (RFC 2407
  §4.4.4 transform ids, §4.5 attributes); the SA life attributes carry the
  entry's lifetimes (IOS debug: ``SA life duration (basic) of 3600`` /
  ``(VPI) of 0x0 0x46 0x50 0x0``, reference §3.3).
* proxy identities: an ``access-list`` permit entry as ID_IPV4_ADDR_SUBNET,
  a host as ID_IPV4_ADDR (RFC 2407 §4.6.2), protocol and port from the entry
  (IOS prints them as ``addr/mask/prot/port``).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Iterable, Mapping

from emulator.config.acl_syntax import PROTOCOLS
from emulator.config.model import AccessListEntry, IsakmpPolicy, PortMatch, TransformSet
from emulator.wire import esp as E
from emulator.wire import isakmp as K

_ALL = 0xFFFFFFFF

# The "Default protection suite" (reference §1.13 / §4.1): IOS checks offers
# against it last, as priority 65535.
DEFAULT_POLICY = IsakmpPolicy(65535, "des", None, "sha", "rsa-sig", 1, 86400)
DEFAULT_PRIORITY = 65535

# IOS IPsec SA lifetime defaults (reference §4.2).
DEFAULT_SA_SECONDS = 3600
DEFAULT_SA_KILOBYTES = 4608000

# --- phase 1 -------------------------------------------------------------------

_ENC = {"des": K.ENC_DES_CBC, "3des": K.ENC_3DES_CBC, "aes": K.ENC_AES_CBC}
_HASH = {"md5": K.HASH_MD5, "sha": K.HASH_SHA}
_AUTH = {"pre-share": K.AUTH_PRE_SHARED, "rsa-sig": K.AUTH_RSA_SIG, "rsa-encr": K.AUTH_RSA_ENC}

# Why an offered ISAKMP transform does not match a policy (the debug layer words them).
MISMATCH_ENCRYPTION = "mismatch:encryption"
MISMATCH_HASH = "mismatch:hash"
MISMATCH_PRESHARED = "mismatch:preshared"
MISMATCH_AUTH = "mismatch:auth"
MISMATCH_GROUP = "mismatch:group"
MISMATCH_LIFETIME = "mismatch:lifetime"


@dataclass(frozen=True)
class AttributeTable:
    """How the attributes of one kind of transform are read: which type sets which value.

    A life duration counts in the unit of the life type before it (RFC 2407
    section 4.5, RFC 2409 appendix A): ``life_fields`` names the value each
    unit sets, ``life_default`` the one a duration sets with no known type
    before it (None: ignored).  A type the table does not know makes the
    transform unusable.
    """

    fields: Mapping[int, str]
    life_type: int
    life_duration: int
    life_fields: Mapping[int, str]
    life_default: str | None = None

    def read(self, attributes: Iterable[K.Attribute]) -> tuple[dict[str, int], str]:
        """(the values by name, the reason the transform cannot be used or "")."""
        values, reason, _lines = self.read_lines(attributes)
        return values, reason

    def read_lines(self, attributes: Iterable[K.Attribute]) -> tuple[dict[str, int], str, list[tuple[int, int]]]:
        """:meth:`read`, and each attribute as (type, value) in wire order, for the debug."""
        values: dict[str, int] = {}
        lines: list[tuple[int, int]] = []
        life_type = None
        reason = ""
        for a in attributes:
            v = a.value
            if not isinstance(v, int):
                v = int.from_bytes(v, "big")
            lines.append((a.type, v))
            if a.type == self.life_type:
                life_type = v
            elif a.type == self.life_duration:
                name = self.life_fields.get(life_type, self.life_default) if life_type is not None \
                    else self.life_default
                if name is not None:
                    values[name] = v
            elif (name := self.fields.get(a.type)) is not None:
                values[name] = v
            else:
                reason = reason or f"attribute {a.type} not supported"
        return values, reason, lines


# RFC 2409 appendix A (Oakley attributes of an ISAKMP transform).
PHASE1_ATTRIBUTES = AttributeTable(
    fields={K.OAKLEY_ENCRYPTION: "encryption", K.OAKLEY_HASH: "hash", K.OAKLEY_GROUP_DESCRIPTION: "group",
            K.OAKLEY_AUTH_METHOD: "auth", K.OAKLEY_KEY_LENGTH: "key_length"},
    life_type=K.OAKLEY_LIFE_TYPE, life_duration=K.OAKLEY_LIFE_DURATION,
    life_fields={K.LIFE_SECONDS: "lifetime"})       # a kilobyte lifetime IOS ignores in phase 1

# RFC 2407 section 4.5 (IPsec DOI attributes of an ESP transform).
PHASE2_ATTRIBUTES = AttributeTable(
    fields={K.IPSEC_ENCAPSULATION_MODE: "mode", K.IPSEC_AUTH_ALGORITHM: "auth", K.IPSEC_KEY_LENGTH: "key_bits",
            K.IPSEC_GROUP_DESCRIPTION: "group"},
    life_type=K.IPSEC_SA_LIFE_TYPE, life_duration=K.IPSEC_SA_LIFE_DURATION,
    life_fields={K.LIFE_KILOBYTES: "life_kb"}, life_default="life_s")


@dataclass(frozen=True)
class Phase1Proposal:
    """One ISAKMP transform: what a ``crypto isakmp policy`` offers or accepts."""

    encryption: int
    hash: int
    auth: int
    group: int
    lifetime: int
    key_length: int | None = None  # AES key bits
    priority: int | None = None     # of the local policy it came from

    @classmethod
    def from_policy(cls, p: IsakmpPolicy) -> "Phase1Proposal":
        enc = _ENC.get(p.encryption.split()[0], K.ENC_DES_CBC)
        bits = p.key_length or (128 if enc == K.ENC_AES_CBC else None)
        return cls(enc, _HASH.get(p.hash, K.HASH_SHA), _AUTH.get(p.authentication, K.AUTH_RSA_SIG),
                   p.group, p.lifetime, bits, p.priority)

    def to_transform(self, number: int) -> K.Transform:
        # Attribute order as IOS debugs print them (reference §3.3, §3.5).
        attrs = [K.Attribute(K.OAKLEY_ENCRYPTION, self.encryption)]
        if self.key_length and self.encryption == K.ENC_AES_CBC:
            attrs.append(K.Attribute(K.OAKLEY_KEY_LENGTH, self.key_length))
        attrs += [K.Attribute(K.OAKLEY_HASH, self.hash),
                  K.Attribute(K.OAKLEY_GROUP_DESCRIPTION, self.group),
                  K.Attribute(K.OAKLEY_AUTH_METHOD, self.auth),
                  K.Attribute(K.OAKLEY_LIFE_TYPE, K.LIFE_SECONDS),
                  K.Attribute(K.OAKLEY_LIFE_DURATION, self.lifetime)]
        return K.Transform(number, K.KEY_IKE, attrs)

    @classmethod
    def from_transform(cls, t: K.Transform) -> tuple["Phase1Proposal | None", list[tuple[int, int]], str]:
        """(proposal, its attributes as (type, value) in wire order for the debug, reason it cannot be used)."""
        values, reason, lines = PHASE1_ATTRIBUTES.read_lines(t.attributes)
        if t.transform_id != K.KEY_IKE:
            reason = f"transform id {t.transform_id} is not KEY_IKE"
        enc, hsh, auth = values.get("encryption"), values.get("hash"), values.get("auth")
        group = values.get("group", 1)
        lifetime = values.get("lifetime", 86400)  # RFC 2409 gives no phase 1 default; IOS's (reference §4.1)
        key_length = values.get("key_length")
        if enc is None or hsh is None or auth is None:
            reason = reason or "mandatory attribute missing"
        if enc == K.ENC_AES_CBC and key_length is None:
            key_length = 128  # RFC 3602 §5
        if reason:
            return None, lines, reason
        assert enc is not None and hsh is not None and auth is not None
        return cls(enc, hsh, auth, group, lifetime, key_length), lines, ""

    def mismatch(self, policy: "Phase1Proposal") -> str:
        """Why this offer does not match a local policy: one of the MISMATCH_* codes ("" when it matches)."""
        if self.encryption != policy.encryption or (self.key_length or 0) != (policy.key_length or 0):
            return MISMATCH_ENCRYPTION
        if self.hash != policy.hash:
            return MISMATCH_HASH
        if self.auth != policy.auth:
            return MISMATCH_PRESHARED if self.auth == K.AUTH_PRE_SHARED else MISMATCH_AUTH
        if self.group != policy.group:
            return MISMATCH_GROUP
        if self.lifetime > policy.lifetime:
            return MISMATCH_LIFETIME
        return ""


def phase1_policies(configured: dict[int, IsakmpPolicy]) -> list[Phase1Proposal]:
    """Local policies in priority order, the default suite last."""
    out = [Phase1Proposal.from_policy(p) for _, p in sorted(configured.items())]
    out.append(Phase1Proposal.from_policy(DEFAULT_POLICY))
    return out


# --- phase 2: ESP transforms -------------------------------------------------------

_ESP_CIPHERS = {"esp-des": (E.ESP_DES, None), "esp-3des": (E.ESP_3DES, None), "esp-aes": (E.ESP_AES, 128),
                "esp-null": (E.ESP_NULL, None)}
_ESP_AUTHS = {"esp-md5-hmac": E.AUTH_HMAC_MD5, "esp-sha-hmac": E.AUTH_HMAC_SHA}
_CIPHER_NAMES: dict[int, str] = {E.ESP_DES: "esp-des", E.ESP_3DES: "esp-3des", E.ESP_AES: "esp-aes",
                                 E.ESP_NULL: "esp-null"}
_AUTH_NAMES: dict[int, str] = {E.AUTH_HMAC_MD5: "esp-md5-hmac", E.AUTH_HMAC_SHA: "esp-sha-hmac"}


@dataclass(frozen=True)
class EspTransform:
    """An ESP transform as negotiated: cipher, key size, authenticator, mode."""

    cipher: int                 # ESP transform id (RFC 2407 §4.4.4)
    auth: int | None            # authentication algorithm (RFC 2407 §4.5), None without one
    mode: int = K.ENCAP_TUNNEL  # encapsulation mode
    key_bits: int | None = None  # AES only

    @property
    def text(self) -> str:
        """Transform names as IOS prints them: ``esp-des esp-md5-hmac``
        (IOS appends `` ,`` itself in the show/debug layouts)."""
        names = [_CIPHER_NAMES.get(self.cipher, f"esp-{self.cipher}")]
        if self.cipher == E.ESP_AES and self.key_bits and self.key_bits != 128:
            names[0] += f" {self.key_bits}"
        if self.auth:
            names.append(_AUTH_NAMES.get(self.auth, f"auth-{self.auth}"))
        return " ".join(names)

    @property
    def mode_text(self) -> str:
        return "Tunnel" if self.mode == K.ENCAP_TUNNEL else "Transport"

    def key_sizes(self) -> tuple[int, int]:
        return E.key_sizes(self.cipher, self.auth, self.key_bits)

    @property
    def iv_size(self) -> int:
        return E.CIPHERS[self.cipher].iv_size

    def same_algorithms(self, other: "EspTransform") -> bool:
        return (self.cipher == other.cipher and (self.auth or 0) == (other.auth or 0)
                and self.mode == other.mode and (self.key_bits or 0) == (other.key_bits or 0))


def esp_transform(ts: TransformSet) -> tuple[EspTransform | None, str]:
    """The ESP transform of a transform set, or (None, why it is not supported)."""
    cipher = key_bits = auth = None
    for name in ts.transforms:
        base = name.split()[0]
        if base in _ESP_CIPHERS:
            cipher, key_bits = _ESP_CIPHERS[base]
            parts = name.split()
            if base == "esp-aes" and len(parts) > 1 and parts[1].isdigit():
                key_bits = int(parts[1])
        elif base in _ESP_AUTHS:
            auth = _ESP_AUTHS[base]
        else:
            return None, f"transform {name} is not supported by this emulator (ESP only)"
    if cipher is None:
        if auth is None:
            return None, "transform set has no ESP transform"
        cipher = E.ESP_NULL  # esp-md5-hmac alone: authentication only
    mode = K.ENCAP_TRANSPORT if ts.mode == "transport" else K.ENCAP_TUNNEL
    return EspTransform(cipher, auth, mode, key_bits), ""


@dataclass(frozen=True)
class OfferedEsp:
    """One proposal of a received phase 2 SA payload, read as an ESP transform."""

    number: int
    spi: int
    transform_number: int
    transform: EspTransform | None
    lifetime_s: int | None
    lifetime_kb: int | None
    group: int | None
    transform_id: int = 0
    attributes: tuple[tuple[int, int], ...] = ()   # (type, value) in wire order, for the debug
    reason: str = ""  # why it cannot be used


def build_phase2_sa(transforms: list[EspTransform], spi: int, lifetime_s: int, lifetime_kb: int,
                    group: int | None) -> K.SAPayload:
    """SA payload of quick mode message 1: proposal n = transform set n, one ESP transform each."""
    proposals = []
    for n, t in enumerate(transforms, start=1):
        proposals.append(K.Proposal(n, K.PROTO_IPSEC_ESP, spi.to_bytes(4, "big"),
                                    [K.Transform(1, t.cipher, esp_attributes(t, lifetime_s, lifetime_kb, group))]))
    return K.SAPayload(proposals)


def esp_attributes(t: EspTransform, lifetime_s: int | None, lifetime_kb: int | None,
                   group: int | None) -> list[K.Attribute]:
    # Order as the IOS debug prints them (reference §3.3).
    attrs = [K.Attribute(K.IPSEC_ENCAPSULATION_MODE, t.mode)]
    if lifetime_s:
        attrs += [K.Attribute(K.IPSEC_SA_LIFE_TYPE, K.LIFE_SECONDS), K.Attribute(K.IPSEC_SA_LIFE_DURATION, lifetime_s)]
    if lifetime_kb:
        attrs += [K.Attribute(K.IPSEC_SA_LIFE_TYPE, K.LIFE_KILOBYTES),
                  K.Attribute(K.IPSEC_SA_LIFE_DURATION, lifetime_kb.to_bytes(4, "big"))]
    if t.auth:
        attrs.append(K.Attribute(K.IPSEC_AUTH_ALGORITHM, t.auth))
    if t.key_bits and t.cipher == E.ESP_AES:
        attrs.append(K.Attribute(K.IPSEC_KEY_LENGTH, t.key_bits))
    if group:
        attrs.append(K.Attribute(K.IPSEC_GROUP_DESCRIPTION, group))
    return attrs


def parse_phase2_sa(sa: K.SAPayload) -> list[OfferedEsp]:
    """Every proposal of an offer, in order; unusable ones carry a reason."""
    by_number: dict[int, list[K.Proposal]] = {}
    for p in sa.proposals:
        by_number.setdefault(p.number, []).append(p)
    out = []
    for number, parts in by_number.items():
        if len(parts) != 1 or parts[0].protocol_id != K.PROTO_IPSEC_ESP:
            protos = "+".join(str(p.protocol_id) for p in parts)
            out.append(OfferedEsp(number, 0, 0, None, None, None, None,
                                  reason=f"proposal {number} (protocols {protos}) is not a single ESP proposal"))
            continue
        p = parts[0]
        spi = int.from_bytes(p.spi, "big") if len(p.spi) == 4 else 0
        for t in p.transforms:
            out.append(_read_esp_transform(number, spi, t))
    return out


def _read_esp_transform(number: int, spi: int, t: K.Transform) -> OfferedEsp:
    values, reason, lines = PHASE2_ATTRIBUTES.read_lines(t.attributes)
    mode = values.get("mode", K.ENCAP_TUNNEL)
    auth, key_bits, group = values.get("auth"), values.get("key_bits"), values.get("group")
    life_s, life_kb = values.get("life_s"), values.get("life_kb")
    if t.transform_id not in E.CIPHERS:
        reason = reason or f"ESP transform {t.transform_id} not supported"
    elif auth is not None and auth not in E.AUTHS:
        reason = reason or f"authenticator {auth} not supported"
    elif mode not in (K.ENCAP_TUNNEL, K.ENCAP_TRANSPORT):
        reason = reason or f"encapsulation mode {mode} not supported"
    if t.transform_id == E.ESP_AES and key_bits is None:
        key_bits = 128
    transform = None if reason else EspTransform(t.transform_id, auth, mode, key_bits)
    return OfferedEsp(number, spi, t.number, transform, life_s, life_kb, group, t.transform_id, tuple(lines), reason)


def pfs_group(pfs: str | None) -> int | None:
    """``set pfs group2`` -> 2."""
    if not pfs:
        return None
    return int(pfs.removeprefix("group"))


# --- proxy identities ----------------------------------------------------------------

def _contiguous(mask: int) -> bool:
    inv = ~mask & _ALL
    return inv & (inv + 1) == 0


@dataclass(frozen=True, slots=True)
class ProxyId:
    """One side of a flow: address/mask/protocol/port (0 = any), as IOS prints it."""

    addr: int
    mask: int
    proto: int = 0
    port: int = 0

    @classmethod
    def host(cls, address: IPv4Address | int) -> "ProxyId":
        return cls(int(address), _ALL)

    @property
    def id_type(self) -> int:
        return K.ID_IPV4_ADDR if self.mask == _ALL else K.ID_IPV4_ADDR_SUBNET

    @property
    def address(self) -> IPv4Address:
        return IPv4Address(self.addr)

    @property
    def netmask(self) -> IPv4Address:
        return IPv4Address(self.mask)

    def text(self) -> str:
        """``192.0.2.0/255.255.255.0/0/0``."""
        return f"{IPv4Address(self.addr)}/{IPv4Address(self.mask)}/{self.proto}/{self.port}"

    def to_id_payload(self) -> K.IDPayload:
        data = self.addr.to_bytes(4, "big")
        if self.mask != _ALL:
            data += self.mask.to_bytes(4, "big")
        return K.IDPayload(self.id_type, self.proto, self.port, data)

    @classmethod
    def from_id_payload(cls, p: K.IDPayload) -> "ProxyId":
        """ValueError for ID types that are not an IPv4 address, subnet or CIDR-aligned range."""
        if p.id_type == K.ID_IPV4_ADDR and len(p.data) == 4:
            return cls(int.from_bytes(p.data, "big"), _ALL, p.protocol, p.port)
        if p.id_type == K.ID_IPV4_ADDR_SUBNET and len(p.data) == 8:
            mask = int.from_bytes(p.data[4:], "big")
            return cls(int.from_bytes(p.data[:4], "big") & mask, mask, p.protocol, p.port)
        if p.id_type == K.ID_IPV4_ADDR_RANGE and len(p.data) == 8:
            first, last = int.from_bytes(p.data[:4], "big"), int.from_bytes(p.data[4:], "big")
            mask = ~(first ^ last) & _ALL
            if _contiguous(mask) and first & ~mask & _ALL == 0 and last | mask == _ALL:
                return cls(first, mask, p.protocol, p.port)
        raise ValueError(f"ID type {p.id_type} is not supported as a proxy identity")

    def covers(self, other: "ProxyId") -> bool:
        """``other`` lies within this identity (addresses, protocol and port)."""
        return (other.mask & self.mask == self.mask and other.addr & self.mask == self.addr
                and (self.proto == 0 or self.proto == other.proto)
                and (self.port == 0 or self.port == other.port))

    def contains(self, address: int, proto: int, port: int | None) -> bool:
        """A packet's address, protocol and port (None if it has none) lie within."""
        if address & self.mask != self.addr:
            return False
        if self.proto and self.proto != proto:
            return False
        return not self.port or self.port == port


def _proto_number(protocol: str | None) -> int | None:
    if protocol is None or protocol == "ip":
        return 0
    if protocol.isdigit():
        return int(protocol)
    return PROTOCOLS.get(protocol)


def proxies_from_acl_entry(entry: AccessListEntry) -> tuple[ProxyId, ProxyId] | None:
    """(local, remote) identities of a crypto ACL permit entry, or None when the
    entry cannot be expressed as one (non-contiguous wildcard, port ranges)."""
    if entry.remark is not None or entry.action != "permit":
        return None
    proto = _proto_number(entry.protocol)
    if proto is None:
        return None
    smask = ~int(entry.source.wildcard) & _ALL
    if entry.destination is not None:
        dmask = ~int(entry.destination.wildcard) & _ALL
        daddr = int(entry.destination.address) & dmask
    else:
        dmask = daddr = 0
    if not (_contiguous(smask) and _contiguous(dmask)):
        return None

    def port(match: PortMatch | None) -> int | None:
        if match is None:
            return 0
        if match.op == "eq":
            return match.ports[0]
        return None

    sport, dport = port(entry.source_port), port(entry.destination_port)
    if sport is None or dport is None:
        return None
    return (ProxyId(int(entry.source.address) & smask, smask, proto, sport),
            ProxyId(daddr, dmask, proto, dport))


def acl_entry_text(local: ProxyId, remote: ProxyId) -> str:
    """A proxy pair as the one-line ``access-list`` IOS prints under a
    temporary dynamic crypto map entry (reference §1.3)."""
    def side(p: ProxyId) -> str:
        if p.mask == _ALL:
            return f"host {p.address}"
        if p.mask == 0:
            return "any"
        return f"{p.address} {IPv4Address(~p.mask & _ALL)}"
    proto = {0: "ip", 1: "icmp", 6: "tcp", 17: "udp"}.get(local.proto, str(local.proto))
    text = f"permit {proto} {side(local)}"
    if local.port:
        text += f" eq {local.port}"
    text += f" {side(remote)}"
    if remote.port:
        text += f" eq {remote.port}"
    return text
