"""ESP packet protection (RFC 2406), tunnel mode, one object per SA and direction.

Wire format (RFC 2406 §2): SPI(4) | sequence(4) | IV | ciphertext of
(payload | padding 1,2,3.. | pad length | next header) | ICV.  Ciphers:
DES-CBC (RFC 2405), 3DES-CBC (RFC 2451), AES-CBC (RFC 3602), NULL (RFC 2410);
authenticators HMAC-MD5-96 (RFC 2403) and HMAC-SHA1-96 (RFC 2404), 12-byte ICV.

Speed (see benchmarks/bench_esp.py): one keyed HMAC object per SA, ``.copy()`` per
packet; one long-lived CBC context per SA and direction.  Decryption feeds
IV | ciphertext and drops the first output block.  Encryption keeps a fresh
IV per packet, drawn from the caller's RNG (RFC 2405 §5 wants unpredictable
IVs; the lab seed makes them reproducible): since the long-lived context
chains from its last output block C', the first plaintext block is fed as
P1 ^ IV ^ C', which yields exactly CBC(IV, P).
"""

from __future__ import annotations

import hmac
import random
import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, modes
from cryptography.hazmat.primitives.ciphers.algorithms import AES

try:  # cryptography >= 43 keeps TripleDES in the "decrepit" module
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
except ImportError:  # pragma: no cover
    from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES  # type: ignore[no-redef]

from emulator.wire.errors import DecodeError

LAYER = "esp"
IPPROTO_ESP = 50
NEXT_HEADER_IPV4 = 4  # IP-in-IP, tunnel mode (RFC 2406 §2.6, IANA protocol 4)
REPLAY_WINDOW = 64  # RFC 2406 §3.4.3: default window of 64 packets
ICV_SIZE = 12  # HMAC-MD5-96 / HMAC-SHA1-96 (RFC 2403 §3, RFC 2404 §3)

# ESP transform ids (RFC 2407 §4.4.4) and auth algorithms (RFC 2407 §4.5)
ESP_DES = 2
ESP_3DES = 3
ESP_NULL = 11
ESP_AES = 12  # RFC 3602 §5
AUTH_NONE = 0
AUTH_HMAC_MD5 = 1
AUTH_HMAC_SHA = 2


class EspError(DecodeError):
    def __init__(self, reason: str):
        super().__init__(LAYER, reason)


class EspAuthError(EspError):
    """ICV mismatch."""


class EspReplayError(EspError):
    """Sequence number already seen or left of the window."""


class EspPaddingError(EspError):
    """Pad length or padding bytes inconsistent (RFC 2406 §2.4)."""


class SequenceExhausted(RuntimeError):
    """The sender reached 2^32-1: the SA must be replaced (RFC 2406 §3.3.3)."""


@dataclass(frozen=True)
class EspCipher:
    name: str  # as Wireshark names it
    transform_id: int
    key_sizes: tuple[int, ...]
    block_size: int  # 4 for NULL: the ESP 4-byte alignment (RFC 2406 §2.4)
    iv_size: int


@dataclass(frozen=True)
class EspAuth:
    name: str
    auth_id: int
    digest: str
    key_size: int
    icv_size: int


CIPHERS = {
    ESP_DES: EspCipher("DES-CBC [RFC2405]", ESP_DES, (8,), 8, 8),
    ESP_3DES: EspCipher("TripleDES-CBC [RFC2451]", ESP_3DES, (24,), 8, 8),
    ESP_AES: EspCipher("AES-CBC [RFC3602]", ESP_AES, (16, 24, 32), 16, 16),
    ESP_NULL: EspCipher("NULL", ESP_NULL, (0,), 4, 0),
}
AUTHS = {
    AUTH_NONE: EspAuth("NULL", AUTH_NONE, "", 0, 0),
    AUTH_HMAC_MD5: EspAuth("HMAC-MD5-96 [RFC2403]", AUTH_HMAC_MD5, "md5", 16, ICV_SIZE),
    AUTH_HMAC_SHA: EspAuth("HMAC-SHA-1-96 [RFC2404]", AUTH_HMAC_SHA, "sha1", 20, ICV_SIZE),
}


def key_sizes(transform_id: int, auth_alg: int | None, key_length_bits: int | None = None) -> tuple[int, int]:
    """(encryption key, authentication key) lengths in bytes, for KEYMAT."""
    c = CIPHERS[transform_id]
    enc = key_length_bits // 8 if (transform_id == ESP_AES and key_length_bits) else c.key_sizes[0]
    return enc, AUTHS[auth_alg or AUTH_NONE].key_size


def _algorithm(cipher: EspCipher, key: bytes):
    if cipher.transform_id == ESP_DES:
        return TripleDES(key * 3)  # single DES as EDE with K1=K2=K3, no deprecation warning
    if cipher.transform_id == ESP_3DES:
        return TripleDES(key)
    return AES(key)


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
        self._spi_bytes = struct.pack("!I", spi)
        bs = self.cipher.block_size
        self._bs = bs
        self._iv = self.cipher.iv_size
        self._icv = self.auth.icv_size
        if self._iv:
            algo = _algorithm(self.cipher, self.enc_key)
            self._enc = Cipher(algo, modes.CBC(bytes(bs))).encryptor()
            self._dec = Cipher(algo, modes.CBC(bytes(bs))).decryptor()
        self._enc_last = 0  # last block out of the long-lived encryptor, as an int
        self._mac = hmac.new(self.auth_key, digestmod=self.auth.digest) if self._icv else None
        # RFC 2406 §3.4.3: anti-replay only with authentication
        self.replay_window = replay_window if self._icv else 0
        self.seq = 0  # outbound: last sequence number sent
        self.highest_seq = 0  # inbound: right edge of the window
        self._bitmap = 0  # bit i set: highest_seq - i received
        self.packets = 0
        self.octets = 0

    # --- outbound -----------------------------------------------------------

    def protect(self, inner: bytes, iv_rng: random.Random, next_header: int = NEXT_HEADER_IPV4) -> bytes:
        """ESP payload (SPI .. ICV) for an outer IPv4 header with protocol 50."""
        if self.seq >= 0xFFFFFFFF:
            raise SequenceExhausted(f"SPI {self.spi:#x}: sequence number space exhausted")
        self.seq += 1
        bs = self._bs
        # padding 1,2,3,... then pad length and next header (RFC 2406 §2.4)
        pad = (-(len(inner) + 2)) % bs
        plain = inner + bytes(range(1, pad + 1)) + bytes((pad, next_header))
        head = self._spi_bytes + struct.pack("!I", self.seq)
        if self._iv:
            iv = iv_rng.randbytes(self._iv)
            first = (int.from_bytes(plain[:bs], "big") ^ int.from_bytes(iv, "big") ^ self._enc_last).to_bytes(bs, "big")
            ct = self._enc.update(first + plain[bs:])
            self._enc_last = int.from_bytes(ct[-bs:], "big")
            out = head + iv + ct
        else:
            out = head + plain
        if self._mac is not None:
            m = self._mac.copy()
            m.update(out)
            out += m.digest()[:self._icv]
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
        if n < 8 + ivs + bs + icvs:
            raise EspError(f"short packet ({n} bytes)")
        spi, seq = struct.unpack_from("!II", data, 0)
        if spi != self.spi:
            raise EspError(f"SPI {spi:#x} is not this SA's ({self.spi:#x})")
        if (n - 8 - ivs - icvs) % bs:
            raise EspError(f"ciphertext of {n - 8 - ivs - icvs} bytes is not a multiple of the {bs}-byte block")
        if self.replay_window:
            self._replay_check(seq)
        if icvs:
            m = self._mac.copy()
            m.update(data[:n - icvs])
            if not hmac.compare_digest(m.digest()[:icvs], data[n - icvs:]):
                raise EspAuthError("authentication failed")
        if self.replay_window:
            self._replay_update(seq)  # only after the ICV verified (RFC 2406 §3.4.3)
        if ivs:
            plain = self._dec.update(data[8:n - icvs])[bs:]  # IV block first, output dropped
        else:
            plain = data[8:n - icvs]
        pad_len, nh = plain[-2], plain[-1]
        if pad_len + 2 > len(plain):
            raise EspPaddingError(f"bad padding: pad length {pad_len} exceeds the payload")
        end = len(plain) - 2 - pad_len
        if plain[end:end + pad_len] != bytes(range(1, pad_len + 1)):
            raise EspPaddingError("bad padding: padding bytes are not 1, 2, 3...")
        self.packets += 1
        self.octets += end
        return nh, plain[:end]

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
