"""IKEv1 key material, hashes and ISAKMP body encryption (RFC 2409 §5, Appendix B).

Only pre-shared key authentication.  The prf is HMAC with the negotiated hash
(RFC 2409 §4: "the HMAC version of the negotiated hash" when no PRF attribute
is negotiated).  A single octet written ``0``/``1``/``2`` in the RFC formulas
is one byte.  Message IDs enter hashes as the 4 bytes of the ISAKMP header.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, modes
from cryptography.hazmat.primitives.ciphers.algorithms import AES

try:  # cryptography >= 43 keeps TripleDES in the "decrepit" module
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES

from emulator.wire import isakmp as K
from emulator.wire.errors import DecodeError

# Negotiated hash (RFC 2409 Appendix A) -> hashlib name
HASH_NAMES: dict[int, str] = {K.HASH_MD5: "md5", K.HASH_SHA: "sha1"}


def _hname(hash_alg: int) -> str:
    try:
        return HASH_NAMES[hash_alg]
    except KeyError:
        raise ValueError(f"hash algorithm {hash_alg} not supported") from None


def prf(hash_alg: int, key: bytes, data: bytes) -> bytes:
    """HMAC with the negotiated hash (RFC 2104)."""
    name = HASH_NAMES.get(hash_alg)
    return hmac.digest(key, data, name if name is not None else _hname(hash_alg))


def hash_(hash_alg: int, data: bytes) -> bytes:
    """Plain negotiated hash (used for IVs, RFC 2409 Appendix B)."""
    return hashlib.new(_hname(hash_alg), data).digest()


# --- Block ciphers -------------------------------------------------------------

@dataclass(frozen=True)
class CipherSpec:
    """A CBC block cipher: name, key length and block size in bytes."""
    name: str
    key_size: int
    block_size: int

    def _algorithm(self, key: bytes) -> TripleDES | AES:
        if len(key) != self.key_size:
            raise ValueError(f"{self.name} needs a {self.key_size}-byte key, got {len(key)}")
        if self.name == "des-cbc":
            return TripleDES(key * 3)  # EDE with K1=K2=K3 is single DES, without the 8-byte-key warning
        if self.name == "3des-cbc":
            return TripleDES(key)
        return AES(key)

    def algorithm(self, key: bytes) -> TripleDES | AES:
        """The cipher with its key, for :meth:`encrypt_with` and :meth:`decrypt_with` (one per key)."""
        return self._algorithm(key)

    def encryptor(self, key: bytes, iv: bytes) -> CipherContext:
        return Cipher(self._algorithm(key), modes.CBC(iv)).encryptor()

    def decryptor(self, key: bytes, iv: bytes) -> CipherContext:
        return Cipher(self._algorithm(key), modes.CBC(iv)).decryptor()

    def encrypt(self, key: bytes, iv: bytes, data: bytes) -> bytes:
        """CBC encryption of block-aligned data."""
        return bytes(self.encryptor(key, iv).update(data))

    def decrypt(self, key: bytes, iv: bytes, data: bytes) -> bytes:
        return bytes(self.decryptor(key, iv).update(data))

    @staticmethod
    def encrypt_with(algorithm: TripleDES | AES, iv: bytes, data: bytes) -> bytes:
        """CBC encryption of block-aligned data under a keyed :meth:`algorithm`."""
        return bytes(Cipher(algorithm, modes.CBC(iv)).encryptor().update(data))

    @staticmethod
    def decrypt_with(algorithm: TripleDES | AES, iv: bytes, data: bytes) -> bytes:
        return bytes(Cipher(algorithm, modes.CBC(iv)).decryptor().update(data))


DES_CBC = CipherSpec("des-cbc", 8, 8)
DES3_CBC = CipherSpec("3des-cbc", 24, 8)
AES128_CBC = CipherSpec("aes-cbc", 16, 16)
AES192_CBC = CipherSpec("aes-cbc", 24, 16)
AES256_CBC = CipherSpec("aes-cbc", 32, 16)
_AES = {128: AES128_CBC, 192: AES192_CBC, 256: AES256_CBC}


def ike_cipher(enc_alg: int, key_length_bits: int | None = None) -> CipherSpec:
    """Phase 1 cipher for an Encryption Algorithm attribute (+ Key Length in bits;
    AES-CBC without it means 128 bits, RFC 3602 §5)."""
    if enc_alg == K.ENC_DES_CBC:
        return DES_CBC
    if enc_alg == K.ENC_3DES_CBC:
        return DES3_CBC
    if enc_alg == K.ENC_AES_CBC:
        try:
            return _AES[key_length_bits or 128]
        except KeyError:
            raise ValueError(f"AES key length {key_length_bits} not supported") from None
    raise ValueError(f"encryption algorithm {enc_alg} not supported")


# --- Phase 1 keys (RFC 2409 §5, pre-shared key) -----------------------------------

def skeyid_psk(hash_alg: int, psk: bytes, ni_b: bytes, nr_b: bytes) -> bytes:
    """SKEYID = prf(pre-shared-key, Ni_b | Nr_b)  (RFC 2409 §5)."""
    return prf(hash_alg, psk, ni_b + nr_b)


def extend_key(hash_alg: int, skeyid_e: bytes, length: int) -> bytes:
    """Encryption key from SKEYID_e (RFC 2409 Appendix B): SKEYID_e itself if
    long enough, else K1 | K2 | ... with K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, Kn-1);
    truncated to ``length``."""
    if len(skeyid_e) >= length:
        return skeyid_e[:length]
    k = prf(hash_alg, skeyid_e, b"\x00")
    out = k
    while len(out) < length:
        k = prf(hash_alg, skeyid_e, k)
        out += k
    return out[:length]


@dataclass(frozen=True)
class Phase1Keys:
    hash_alg: int
    cipher: CipherSpec
    skeyid: bytes
    skeyid_d: bytes
    skeyid_a: bytes
    skeyid_e: bytes
    enc_key: bytes  # what Wireshark's ikev1_decryption_table wants

    def wireshark_row(self, cky_i: bytes) -> str:
        """``COOKIE,KEY`` row for tshark -o 'uat:ikev1_decryption_table:...' (unquoted hex)."""
        return f"{cky_i.hex()},{self.enc_key.hex()}"


@dataclass(frozen=True)
class Phase1KeyRecord:
    """What a key log keeps of one phase 1 SA: its cookies, nonces and keys (``emulator/lab/keylog.py``)."""

    initiator: bool
    local: str
    peer: str
    icookie: bytes
    rcookie: bytes
    ni: bytes
    nr: bytes
    keys: Phase1Keys


def derive_phase1_keys(hash_alg: int, cipher: CipherSpec, skeyid: bytes, gxy: bytes,
                       cky_i: bytes, cky_r: bytes) -> Phase1Keys:
    """RFC 2409 §5:
    SKEYID_d = prf(SKEYID, g^xy | CKY-I | CKY-R | 0)
    SKEYID_a = prf(SKEYID, SKEYID_d | g^xy | CKY-I | CKY-R | 1)
    SKEYID_e = prf(SKEYID, SKEYID_a | g^xy | CKY-I | CKY-R | 2)"""
    tail = gxy + cky_i + cky_r
    d = prf(hash_alg, skeyid, tail + b"\x00")
    a = prf(hash_alg, skeyid, d + tail + b"\x01")
    e = prf(hash_alg, skeyid, a + tail + b"\x02")
    return Phase1Keys(hash_alg, cipher, skeyid, d, a, e, extend_key(hash_alg, e, cipher.key_size))


def phase1_keys_psk(hash_alg: int, cipher: CipherSpec, psk: bytes, ni_b: bytes, nr_b: bytes,
                    gxy: bytes, cky_i: bytes, cky_r: bytes) -> Phase1Keys:
    return derive_phase1_keys(hash_alg, cipher, skeyid_psk(hash_alg, psk, ni_b, nr_b), gxy, cky_i, cky_r)


def hash_i(hash_alg: int, skeyid: bytes, gxi: bytes, gxr: bytes, cky_i: bytes, cky_r: bytes,
           sai_b: bytes, idii_b: bytes) -> bytes:
    """HASH_I = prf(SKEYID, g^xi | g^xr | CKY-I | CKY-R | SAi_b | IDii_b)  (RFC 2409 §5).
    SAi_b and IDii_b are payload bodies without generic headers."""
    return prf(hash_alg, skeyid, gxi + gxr + cky_i + cky_r + sai_b + idii_b)


def hash_r(hash_alg: int, skeyid: bytes, gxi: bytes, gxr: bytes, cky_i: bytes, cky_r: bytes,
           sai_b: bytes, idir_b: bytes) -> bytes:
    """HASH_R = prf(SKEYID, g^xr | g^xi | CKY-R | CKY-I | SAi_b | IDir_b)  (RFC 2409 §5).
    Arguments in initiator/responder order; the swap happens here."""
    return prf(hash_alg, skeyid, gxr + gxi + cky_r + cky_i + sai_b + idir_b)


# --- IVs and body encryption (RFC 2409 Appendix B) -----------------------------------

def _mid(message_id: int) -> bytes:
    return struct.pack("!I", message_id)


def phase1_iv(hash_alg: int, gxi: bytes, gxr: bytes, block_size: int) -> bytes:
    """IV = hash(g^xi | g^xr) truncated to the block size."""
    return hash_(hash_alg, gxi + gxr)[:block_size]


def phase2_iv(hash_alg: int, last_phase1_block: bytes, message_id: int, block_size: int) -> bytes:
    """Quick mode / informational: hash(last phase 1 CBC output block | M-ID), truncated."""
    return hash_(hash_alg, last_phase1_block + _mid(message_id))[:block_size]


def pad_zero(data: bytes, block_size: int) -> bytes:
    """Zero padding up to the block size, none if aligned (RFC 2409 Appendix B)."""
    r = len(data) % block_size
    return data + b"\x00" * (block_size - r) if r else data


class IkeCipherState:
    """ISAKMP encryption with RFC 2409 Appendix B IV chaining, per exchange.

    Message ID 0 is phase 1: first IV hash(g^xi | g^xr), then the last
    ciphertext block of the previous message.  Any other message ID (quick
    mode, informational) starts from hash(last phase 1 CBC block | M-ID) and
    then chains the same way within that exchange.
    """

    def __init__(self, hash_alg: int, cipher: CipherSpec, key: bytes, gxi: bytes, gxr: bytes):
        if len(key) != cipher.key_size:
            raise ValueError("key length does not match the cipher")
        self.hash_alg = hash_alg
        self.cipher = cipher
        self.key = key
        self._algorithm = cipher.algorithm(key)    # keyed once, a CBC context per message
        self._ivs: dict[int, bytes] = {0: phase1_iv(hash_alg, gxi, gxr, cipher.block_size)}

    @classmethod
    def from_keys(cls, keys: Phase1Keys, gxi: bytes, gxr: bytes) -> "IkeCipherState":
        return cls(keys.hash_alg, keys.cipher, keys.enc_key, gxi, gxr)

    @property
    def phase1_last_block(self) -> bytes:
        return self._ivs[0]

    def iv(self, message_id: int) -> bytes:
        """IV the next message of this exchange uses."""
        iv = self._ivs.get(message_id)
        if iv is None:
            iv = phase2_iv(self.hash_alg, self._ivs[0], message_id, self.cipher.block_size)
            self._ivs[message_id] = iv
        return iv

    def set_iv(self, message_id: int, iv: bytes) -> None:
        """Restore an IV (e.g. to ignore a message that failed its checks)."""
        self._ivs[message_id] = iv

    def forget(self, message_id: int) -> None:
        """Drop the state of a finished phase 2 exchange."""
        if message_id:
            self._ivs.pop(message_id, None)

    def encrypt(self, message_id: int, plaintext: bytes) -> bytes:
        """Zero-pad and encrypt a payload chain; advances the IV."""
        data = pad_zero(plaintext, self.cipher.block_size)
        ct = self.cipher.encrypt_with(self._algorithm, self.iv(message_id), data)
        if ct:
            self._ivs[message_id] = ct[-self.cipher.block_size:]
        return ct

    def decrypt(self, message_id: int, ciphertext: bytes, update: bool = True) -> bytes:
        """Decrypt a body (padding left in place); advances the IV unless ``update`` is false."""
        bs = self.cipher.block_size
        if not ciphertext or len(ciphertext) % bs:
            raise DecodeError("isakmp", f"encrypted body of {len(ciphertext)} bytes is not a multiple of the "
                                        f"{bs}-byte block")
        pt = self.cipher.decrypt_with(self._algorithm, self.iv(message_id), ciphertext)
        if update:
            self._ivs[message_id] = ciphertext[-bs:]
        return pt


# --- Phase 2 hashes (RFC 2409 §5.5, §5.7) ----------------------------------------------
# ``after_hash`` is the message after the HASH payload, generic headers included
# (the padding excluded): SA | Ni [| KE] [| IDci | IDcr] and so on.

def qm_hash1(hash_alg: int, skeyid_a: bytes, message_id: int, after_hash: bytes) -> bytes:
    """HASH(1) = prf(SKEYID_a, M-ID | SA | Ni [| KE] [| IDci | IDcr])."""
    return prf(hash_alg, skeyid_a, _mid(message_id) + after_hash)


def qm_hash2(hash_alg: int, skeyid_a: bytes, message_id: int, ni_b: bytes, after_hash: bytes) -> bytes:
    """HASH(2) = prf(SKEYID_a, M-ID | Ni_b | SA | Nr [| KE] [| IDci | IDcr])."""
    return prf(hash_alg, skeyid_a, _mid(message_id) + ni_b + after_hash)


def qm_hash3(hash_alg: int, skeyid_a: bytes, message_id: int, ni_b: bytes, nr_b: bytes) -> bytes:
    """HASH(3) = prf(SKEYID_a, 0 | M-ID | Ni_b | Nr_b)."""
    return prf(hash_alg, skeyid_a, b"\x00" + _mid(message_id) + ni_b + nr_b)


def informational_hash(hash_alg: int, skeyid_a: bytes, message_id: int, after_hash: bytes) -> bytes:
    """HASH(1) = prf(SKEYID_a, M-ID | N/D)  (RFC 2409 §5.7)."""
    return prf(hash_alg, skeyid_a, _mid(message_id) + after_hash)


def keymat(hash_alg: int, skeyid_d: bytes, protocol: int, spi: bytes, ni_b: bytes, nr_b: bytes,
           length: int, gxy_qm: bytes | None = None) -> bytes:
    """RFC 2409 §5.5: KEYMAT = K1 | K2 | ... truncated to ``length``, with
    K1 = prf(SKEYID_d, [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b) and
    Kn = prf(SKEYID_d, Kn-1 | [g(qm)^xy |] protocol | SPI | Ni_b | Nr_b).
    SPI is the one the receiving side chose (one KEYMAT per direction)."""
    seed = (gxy_qm or b"") + bytes([protocol]) + spi + ni_b + nr_b
    k = prf(hash_alg, skeyid_d, seed)
    out = k
    while len(out) < length:
        k = prf(hash_alg, skeyid_d, k + seed)
        out += k
    return out[:length]


def esp_keys(hash_alg: int, skeyid_d: bytes, spi: bytes, ni_b: bytes, nr_b: bytes,
             enc_key_len: int, auth_key_len: int, gxy_qm: bytes | None = None) -> tuple[bytes, bytes]:
    """(encryption key, authentication key) for one ESP SA: the encryption key
    is taken first from KEYMAT, then the authentication key (RFC 2401/2406
    practice, followed by IOS, Wireshark and the Linux/KAME stacks)."""
    km = keymat(hash_alg, skeyid_d, K.PROTO_IPSEC_ESP, spi, ni_b, nr_b, enc_key_len + auth_key_len, gxy_qm)
    return km[:enc_key_len], km[enc_key_len:]
