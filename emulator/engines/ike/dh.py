"""MODP Diffie-Hellman groups 1, 2 and 5 for IKEv1, deterministic.

The private exponent comes from the caller's ``random.Random`` so a lab seed
fixes every DH value.  Public values and g^xy travel as big-endian integers
left-padded with zeros to the prime's length (RFC 2409 §5: "the Diffie-Hellman
public value passed in a KE payload ... MUST be the length of the negotiated
Diffie-Hellman group").

Backend choice, measured with benchmarks/bench_dh.py (2 vCPU, CPython 3.11,
cryptography 50 / OpenSSL 3, medians, µs):

    operation                                      group 1   group 2   group 5
    pow keygen / shared secret, 256-bit exponent   360/450   600/770  1700/2200
    cryptography DHParameterNumbers(..).parameters()  26000     33000         8
    cryptography DHPrivateNumbers(x, ..).private_key()  19500   34500      1200
    cryptography PKCS#8 load of our x (g^x)          22500     33000       180
    cryptography SPKI load of peer value + exchange  19000     33000       175
    cryptography generate_private_key() (random x)     180       280       165

OpenSSL validates a DH prime it does not know by name on every key load: the
RFC 2409 768/1024-bit primes cost 20-35 ms per load, so any deterministic
cryptography path is ~50x slower than ``pow`` there (only its random-x key
generation is fast, and that would break the lab seed).  The RFC 3526 1536-bit
prime is a named group to OpenSSL ("modp_1536"): loads are cheap and the
cryptography path is ~10x faster than ``pow``.  Hence ``pow`` with a 256-bit
exponent for groups 1 and 2, cryptography (hand-built PKCS#8/SPKI DER, the
private value still drawn from the caller's RNG) for group 5, falling back to
``pow`` if cryptography refuses (it has deprecated finite-field DH).

Where gmpy2 (GMP) is installed, the modular exponentiations of the ``pow`` path go
through ``gmpy2.powmod`` instead: the same integers, 7-9x faster (µs, keygen /
shared secret, 256-bit exponent: group 1 44/55, group 2 82/103, group 5 252/247),
which matters on a hub negotiating with hundreds of spokes.
"""

from __future__ import annotations

import random
import warnings
from dataclasses import dataclass, field
from typing import Any

from emulator.wire.isakmp import AttrGroup

try:
    from gmpy2 import powmod as _gmp_powmod
except ImportError:  # pragma: no cover - gmpy2 is a dependency; plain pow gives the same numbers
    _gmp_powmod = None


def modpow(base: int, exponent: int, modulus: int) -> int:
    """``base ** exponent % modulus``: GMP's where installed, Python's ``pow`` otherwise."""
    if _gmp_powmod is not None:
        return int(_gmp_powmod(base, exponent, modulus))
    return pow(base, exponent, modulus)

# Private exponent size: 256 bits (RFC 3526 §8 asks 180-240 bits of exponent
# for the 1536-bit group's strength estimates; ample for groups 1 and 2).
EXPONENT_BITS = 256


class DHError(ValueError):
    """Unsupported group or unacceptable peer public value."""


@dataclass(frozen=True)
class ModpGroup:
    number: int
    name: str
    prime: int
    generator: int

    @property
    def size(self) -> int:
        """Bytes of the prime: length of KE data and of g^xy."""
        return (self.prime.bit_length() + 7) // 8


def _hex(s: str) -> int:
    return int("".join(s.split()), 16)


# RFC 2409 §6.1 First Oakley Group: 2^768 - 2^704 - 1 + 2^64 * { [2^638 pi] + 149686 }, g = 2
MODP_768 = ModpGroup(AttrGroup.MODP_768, "768-bit MODP", _hex("""
    FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1
    29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD
    EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245
    E485B576 625E7EC6 F44C42E9 A63A3620 FFFFFFFF FFFFFFFF"""), 2)

# RFC 2409 §6.2 Second Oakley Group: 2^1024 - 2^960 - 1 + 2^64 * { [2^894 pi] + 129093 }, g = 2
MODP_1024 = ModpGroup(AttrGroup.MODP_1024, "1024-bit MODP", _hex("""
    FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1
    29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD
    EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245
    E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED
    EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE65381
    FFFFFFFF FFFFFFFF"""), 2)

# RFC 3526 §2 1536-bit MODP Group: 2^1536 - 2^1472 - 1 + 2^64 * { [2^1406 pi] + 741804 }, g = 2
MODP_1536 = ModpGroup(AttrGroup.MODP_1536, "1536-bit MODP", _hex("""
    FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1
    29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD
    EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245
    E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED
    EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D
    C2007CB8 A163BF05 98DA4836 1C55D39A 69163FA8 FD24CF5F
    83655D23 DCA3AD96 1C62F356 208552BB 9ED52907 7096966D
    670C354E 4ABC9804 F1746C08 CA237327 FFFFFFFF FFFFFFFF"""), 2)

GROUPS: dict[int, ModpGroup] = {g.number: g for g in (MODP_768, MODP_1024, MODP_1536)}

# Groups computed through cryptography/OpenSSL (see the module docstring).
CRYPTOGRAPHY_GROUPS: set[int] = {AttrGroup.MODP_1536}


def get_group(number: int) -> ModpGroup:
    try:
        return GROUPS[number]
    except KeyError:
        raise DHError(f"Diffie-Hellman group {number} not supported") from None


def to_fixed(value: int, group: ModpGroup) -> bytes:
    """Big-endian, left-padded with zeros to the prime's length."""
    return value.to_bytes(group.size, "big")


def check_public(group: ModpGroup, data: bytes) -> int:
    """Peer's KE data as an integer; must be prime-length and in 2..p-2."""
    if len(data) != group.size:
        raise DHError(f"public value of {len(data)} bytes for group {group.number} ({group.size} expected)")
    y = int.from_bytes(data, "big")
    if not 1 < y < group.prime - 1:
        raise DHError("degenerate Diffie-Hellman public value")
    return y


# --- cryptography backend (DER built by hand: RFC 5208 PKCS#8, RFC 5280 SPKI,
# PKCS #3 DHParameter with OID dhKeyAgreement 1.2.840.113549.1.3.1) -----------

_DH_OID = bytes.fromhex("06092a864886f70d010301")


def _der_len(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def _tlv(tag: int, content: bytes) -> bytes:
    return bytes([tag]) + _der_len(len(content)) + content


def _der_int(v: int) -> bytes:
    return _tlv(0x02, v.to_bytes(v.bit_length() // 8 + 1, "big"))


def _alg_id(group: ModpGroup) -> bytes:
    return _tlv(0x30, _DH_OID + _tlv(0x30, _der_int(group.prime) + _der_int(group.generator)))


def _crypto_private(group: ModpGroup, x: int) -> Any:
    from cryptography.hazmat.primitives.serialization import load_der_private_key
    der = _tlv(0x30, _der_int(0) + _alg_id(group) + _tlv(0x04, _der_int(x)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FFDH deprecation warning
        return load_der_private_key(der, None)


def _crypto_exchange(group: ModpGroup, key: Any, y: int) -> bytes:
    from cryptography.hazmat.primitives.serialization import load_der_public_key
    der = _tlv(0x30, _alg_id(group) + _tlv(0x03, b"\x00" + _der_int(y)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bytes(key.exchange(load_der_public_key(der)))


@dataclass
class DHKeyPair:
    group: ModpGroup
    private: int
    public: int
    _key: Any = field(default=None, repr=False, compare=False)  # cryptography key, if used

    @property
    def backend(self) -> str:
        return "cryptography" if self._key is not None else "pow"

    def public_bytes(self) -> bytes:
        """KE payload data."""
        return to_fixed(self.public, self.group)

    def shared_secret(self, peer_public: bytes) -> bytes:
        """g^xy, padded to the prime's length."""
        y = check_public(self.group, peer_public)
        if self._key is not None:
            try:
                return _crypto_exchange(self.group, self._key, y).rjust(self.group.size, b"\x00")
            except Exception:  # cryptography refused: same maths with pow
                pass
        return to_fixed(modpow(y, self.private, self.group.prime), self.group)


def keypair_from_private(group_number: int, private: int, use_cryptography: bool | None = None) -> DHKeyPair:
    """Key pair for a given private exponent (known-answer tests, replays)."""
    group = get_group(group_number)
    if not 1 < private < group.prime - 1:
        raise DHError("private value out of range")
    if use_cryptography is None:
        use_cryptography = group_number in CRYPTOGRAPHY_GROUPS
    if use_cryptography:
        try:
            key = _crypto_private(group, private)
            return DHKeyPair(group, private, key.public_key().public_numbers().y, key)
        except Exception:
            pass
    return DHKeyPair(group, private, modpow(group.generator, private, group.prime))


def generate_keypair(group_number: int, rng: random.Random, use_cryptography: bool | None = None) -> DHKeyPair:
    """Fresh key pair; the private value is EXPONENT_BITS bits drawn from ``rng``
    (top bit set, so its size is fixed)."""
    get_group(group_number)
    x = rng.getrandbits(EXPONENT_BITS) | (1 << (EXPONENT_BITS - 1))
    return keypair_from_private(group_number, x, use_cryptography)


def shared_secret(group_number: int, private: int, peer_public: bytes) -> bytes:
    """g^xy with plain ``pow`` (reference path)."""
    group = get_group(group_number)
    y = check_public(group, peer_public)
    return to_fixed(pow(y, private, group.prime), group)
