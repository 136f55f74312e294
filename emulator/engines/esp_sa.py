"""ESP SAs (RFC 2406): one object per SA and direction, tunnel mode.

The packet format (header, padding, ICV placement) is :mod:`emulator.wire.esp`;
this module holds what a packet format does not: the sequence number, the
anti-replay window and the keyed cipher and HMAC contexts.

Speed (see benchmarks/bench_esp.py): one keyed HMAC object per SA, ``.copy()`` per
packet; one long-lived CBC context per SA and direction.  Decryption feeds
IV | ciphertext and drops the first output block.  Encryption keeps a fresh
IV per packet, drawn from the caller's RNG (RFC 2405 §5 wants unpredictable
IVs; the lab seed makes them reproducible): since the long-lived context
chains from its last output block C', the first plaintext block is fed as
P1 ^ IV ^ C', which yields exactly CBC(IV, P).
"""

from __future__ import annotations

import hashlib
import hmac
import random
import struct
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.ciphers.algorithms import AES

try:  # cryptography >= 43 keeps TripleDES in the "decrepit" module
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES

# The identifiers an SA is built from and the format's errors come along, so
# that users of an SA need this one import.
from emulator.wire.esp import (
    AUTH_HMAC_MD5,
    AUTH_HMAC_SHA,
    AUTH_NONE,
    AUTHS,
    CIPHERS,
    ESP_3DES,
    ESP_AES,
    ESP_DES,
    ESP_NULL,
    NEXT_HEADER_IPV4,
    EspCipher,
    EspError,
    EspPaddingError,
    decode_header,
    encode_header,
    pad,
    unpad,
)

__all__ = [
    "EspSA", "EspAuthError", "EspReplayError", "SequenceExhausted", "REPLAY_WINDOW",
    "EspError", "EspPaddingError", "CIPHERS", "AUTHS",
    "ESP_DES", "ESP_3DES", "ESP_AES", "ESP_NULL", "AUTH_NONE", "AUTH_HMAC_MD5", "AUTH_HMAC_SHA",
]

REPLAY_WINDOW = 64  # RFC 2406 §3.4.3: default window of 64 packets
_SPI_SEQ = struct.Struct("!II")   # the ESP header: SPI and sequence number (RFC 2406 section 2)


class EspAuthError(EspError):
    """ICV mismatch."""


class EspReplayError(EspError):
    """Sequence number already seen or left of the window."""


class SequenceExhausted(RuntimeError):
    """The sender reached 2^32-1: the SA must be replaced (RFC 2406 §3.3.3)."""


def _algorithm(cipher: EspCipher, key: bytes) -> TripleDES | AES:
    if cipher.transform_id == ESP_DES:
        return TripleDES(key * 3)  # single DES as EDE with K1=K2=K3, no deprecation warning
    if cipher.transform_id == ESP_3DES:
        return TripleDES(key)
    return AES(key)


def _hmac_states(key: bytes, digest: str) -> tuple[Any, Any]:
    """The inner and outer hash states of HMAC with ``key`` (RFC 2104 section 2): the key padded to
    the hash's block (hashed first if longer), XORed with 0x36 and with 0x5C."""
    block = hashlib.new(digest).block_size
    if len(key) > block:
        key = hashlib.new(digest, key).digest()
    key = key.ljust(block, b"\0")
    return (hashlib.new(digest, bytes(b ^ 0x36 for b in key)),
            hashlib.new(digest, bytes(b ^ 0x5C for b in key)))


class EspSA:
    """One ESP SA.  Outbound: :meth:`protect`; inbound: :meth:`unprotect`
    (with a 64-packet anti-replay window when authentication is on)."""

    def __init__(self, spi: int, cipher: int, enc_key: bytes, auth: int | None, auth_key: bytes = b"",
                 replay_window: int = REPLAY_WINDOW):
        if cipher not in CIPHERS:
            raise ValueError(f"ESP transform {cipher} not supported")
        self.cipher = CIPHERS[cipher]
        self.auth = AUTHS[auth or AUTH_NONE]
        if len(enc_key) not in self.cipher.key_sizes:
            raise ValueError(f"{self.cipher.name}: bad key length {len(enc_key)}")
        if len(auth_key) != self.auth.key_size:
            raise ValueError(f"{self.auth.name}: bad key length {len(auth_key)}")
        if not 0 < spi <= 0xFFFFFFFF:
            raise ValueError(f"bad SPI {spi}")
        self.spi = spi
        self.enc_key = bytes(enc_key)
        self.auth_key = bytes(auth_key)
        bs = self.cipher.block_size
        self._bs = bs
        self._iv = self.cipher.iv_size
        self._icv = self.auth.icv_size
        if self._iv:
            algo = _algorithm(self.cipher, self.enc_key)
            self._enc = Cipher(algo, modes.CBC(bytes(bs))).encryptor()
            self._dec = Cipher(algo, modes.CBC(bytes(bs))).decryptor()
        self._enc_last = 0  # last block out of the long-lived encryptor, as an int
        # HMAC (RFC 2104) as its two keyed hash states, copied per packet: the same ICV as ``hmac``,
        # in C calls only (the ``hmac.HMAC`` wrapper adds Python frames to each copy, update and
        # digest; ~30 % less time per ICV, benchmarks/bench_esp.py).
        self._inner: Any = None        # hashlib objects (their type is not public)
        self._outer: Any = None
        if self._icv:
            self._inner, self._outer = _hmac_states(self.auth_key, self.auth.digest)
        # RFC 2406 §3.4.3: anti-replay only with authentication
        self.replay_window = replay_window if self._icv else 0
        self.seq = 0  # outbound: last sequence number sent
        self.highest_seq = 0  # inbound: right edge of the window
        self._bitmap = 0  # bit i set: highest_seq - i received
        self.packets = 0
        self.octets = 0

    def mac(self, data: bytes) -> bytes:
        """The SA's whole HMAC of ``data`` (the ICV is its first ``icv_size`` bytes), as the data path
        computes it inline."""
        if self._inner is None or self._outer is None:
            raise ValueError(f"SPI {self.spi:#x}: no authentication")
        m = self._inner.copy()
        m.update(data)
        o = self._outer.copy()
        o.update(m.digest())
        return bytes(o.digest())

    # --- outbound -----------------------------------------------------------

    def protect(self, inner: bytes, iv_rng: random.Random, next_header: int = NEXT_HEADER_IPV4) -> bytes:
        """ESP payload (SPI .. ICV) for an outer IPv4 header with protocol 50."""
        if self.seq >= 0xFFFFFFFF:
            raise SequenceExhausted(f"SPI {self.spi:#x}: sequence number space exhausted")
        self.seq += 1
        bs = self._bs
        plain = pad(inner, bs, next_header)
        head = encode_header(self.spi, self.seq)
        if self._iv:
            # iv_rng.randbytes(n), as random.Random defines it, without its Python frame
            iv = iv_rng.getrandbits(self._iv * 8).to_bytes(self._iv, "little")
            first = (int.from_bytes(plain[:bs], "big") ^ int.from_bytes(iv, "big") ^ self._enc_last).to_bytes(bs, "big")
            ct = self._enc.update(first + plain[bs:])
            self._enc_last = int.from_bytes(ct[-bs:], "big")
            out = head + iv + ct
        else:
            out = head + plain
        keyed = self._inner
        if keyed is not None:
            m = keyed.copy()
            m.update(out)
            o = self._outer.copy()
            o.update(m.digest())
            out += o.digest()[:self._icv]
        self.packets += 1
        self.octets += len(inner)
        return out

    # --- inbound ------------------------------------------------------------

    def _replay_check(self, seq: int) -> None:
        if seq == 0:
            raise EspReplayError("replayed packet: sequence number 0")
        if seq > self.highest_seq:
            return
        diff = self.highest_seq - seq
        if diff >= self.replay_window:
            raise EspReplayError(f"replayed packet: sequence {seq} left of the window (highest {self.highest_seq})")
        if self._bitmap >> diff & 1:
            raise EspReplayError(f"replayed packet: sequence {seq} already received")

    def _replay_update(self, seq: int) -> None:
        if seq > self.highest_seq:
            shift = seq - self.highest_seq
            mask = (1 << self.replay_window) - 1
            self._bitmap = ((self._bitmap << shift) | 1) & mask
            self.highest_seq = seq
        else:
            self._bitmap |= 1 << (self.highest_seq - seq)

    def unprotect_any(self, data: bytes) -> tuple[int, bytes]:
        """(next header, payload) of an ESP packet, checks in RFC 2406 §3.4
        order: sequence against the window, ICV, then decryption and padding."""
        bs, ivs, icvs = self._bs, self._iv, self._icv
        n = len(data)
        if n < 8 + ivs + bs + icvs or (n - 8 - ivs - icvs) % bs:
            decode_header(data, ivs, icvs, bs)      # raises the error that names what does not fit
        spi, seq = _SPI_SEQ.unpack_from(data)      # decode_header(), the lengths checked above
        if spi != self.spi:
            raise EspError(f"SPI {spi:#x} is not this SA's ({self.spi:#x})")
        window = self.replay_window
        if window and seq <= self.highest_seq:     # a sequence right of the window (zero never is) passes
            self._replay_check(seq)
        keyed = self._inner
        if keyed is not None:  # there is an HMAC exactly when there is an ICV
            m = keyed.copy()
            m.update(data[:n - icvs])
            o = self._outer.copy()
            o.update(m.digest())
            if not hmac.compare_digest(o.digest()[:icvs], data[n - icvs:]):
                raise EspAuthError("authentication failed")
        if window:
            self._replay_update(seq)  # only after the ICV verified (RFC 2406 §3.4.3)
        if ivs:
            plain = self._dec.update(data[8:n - icvs])[bs:]  # IV block first, output dropped
        else:
            plain = data[8:n - icvs]
        nh, payload = unpad(plain)
        self.packets += 1
        self.octets += len(payload)
        return nh, payload

    def unprotect(self, data: bytes) -> bytes:
        """Inner IPv4 packet of a tunnel-mode ESP packet."""
        nh, inner = self.unprotect_any(data)
        if nh != NEXT_HEADER_IPV4:
            raise EspError(f"next header {nh}, expected 4 (IPv4) in tunnel mode")
        return inner

    def wireshark_sa(self, src: str, dst: str) -> str:
        """This SA as an ``esp_sa`` UAT row for tshark (-o 'uat:esp_sa:...')."""
        fields = ["IPv4", src, dst, f"0x{self.spi:08x}", self.cipher.name, "0x" + self.enc_key.hex(),
                  self.auth.name, "0x" + self.auth_key.hex()]
        return ",".join(f'"{f}"' for f in fields)
