"""ESP packet format (RFC 2406 §2), without any SA state.

::

    SPI (4) | Sequence Number (4) | IV | ciphertext of
        (payload | padding 1, 2, 3... | pad length (1) | next header (1)) | ICV

The IV and ICV sizes and the cipher block come from the SA's algorithms
(:data:`CIPHERS`, :data:`AUTHS`): DES-CBC (RFC 2405), 3DES-CBC (RFC 2451),
AES-CBC (RFC 3602), NULL (RFC 2410); HMAC-MD5-96 (RFC 2403) and HMAC-SHA1-96
(RFC 2404), 12-byte ICV.  Sequence numbers, the anti-replay window and the
cipher contexts live in :mod:`emulator.engines.esp_sa`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Self

from emulator.wire.errors import DecodeError
from emulator.wire.ipv4 import IPProto
from emulator.wire.isakmp import AttrAuthAlgorithm, EspTransformId

__all__ = [
    "LAYER", "HEADER_LEN", "TRAILER_LEN", "NEXT_HEADER_IPV4", "ICV_SIZE",
    "ESP_DES", "ESP_3DES", "ESP_NULL", "ESP_AES", "AUTH_NONE", "AUTH_HMAC_MD5", "AUTH_HMAC_SHA",
    "EspError", "EspPaddingError", "EspCipher", "EspAuth", "CIPHERS", "AUTHS", "key_sizes",
    "encode_header", "decode_header", "pad", "unpad", "EspPacket",
]

LAYER = "esp"
HEADER_LEN = 8                       # SPI + sequence number
TRAILER_LEN = 2                      # pad length + next header
NEXT_HEADER_IPV4 = IPProto.IPIP      # tunnel mode carries a whole IPv4 datagram (RFC 2406 §2.6)
ICV_SIZE = 12                        # HMAC-MD5-96 / HMAC-SHA1-96 (RFC 2403 §3, RFC 2404 §3)

# The transforms and authenticators the emulator implements.
ESP_DES = EspTransformId.DES
ESP_3DES = EspTransformId.DES3
ESP_NULL = EspTransformId.NULL
ESP_AES = EspTransformId.AES
AUTH_NONE = AttrAuthAlgorithm.NONE
AUTH_HMAC_MD5 = AttrAuthAlgorithm.HMAC_MD5
AUTH_HMAC_SHA = AttrAuthAlgorithm.HMAC_SHA


class EspError(DecodeError):
    def __init__(self, reason: str):
        super().__init__(LAYER, reason)


class EspPaddingError(EspError):
    """Pad length or padding bytes inconsistent (RFC 2406 §2.4)."""


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


CIPHERS: dict[int, EspCipher] = {
    ESP_DES: EspCipher("DES-CBC [RFC2405]", ESP_DES, (8,), 8, 8),
    ESP_3DES: EspCipher("TripleDES-CBC [RFC2451]", ESP_3DES, (24,), 8, 8),
    ESP_AES: EspCipher("AES-CBC [RFC3602]", ESP_AES, (16, 24, 32), 16, 16),
    ESP_NULL: EspCipher("NULL", ESP_NULL, (0,), 4, 0),
}
AUTHS: dict[int, EspAuth] = {
    AUTH_NONE: EspAuth("NULL", AUTH_NONE, "", 0, 0),
    AUTH_HMAC_MD5: EspAuth("HMAC-MD5-96 [RFC2403]", AUTH_HMAC_MD5, "md5", 16, ICV_SIZE),
    AUTH_HMAC_SHA: EspAuth("HMAC-SHA-1-96 [RFC2404]", AUTH_HMAC_SHA, "sha1", 20, ICV_SIZE),
}


def key_sizes(transform_id: int, auth_alg: int | None, key_length_bits: int | None = None) -> tuple[int, int]:
    """(encryption key, authentication key) lengths in bytes, for KEYMAT."""
    c = CIPHERS[transform_id]
    enc = key_length_bits // 8 if (transform_id == ESP_AES and key_length_bits) else c.key_sizes[0]
    return enc, AUTHS[auth_alg or AUTH_NONE].key_size


_HDR = struct.Struct("!II")
_PADDING = bytes(range(1, 256))  # the default padding: 1, 2, 3... (RFC 2406 §2.4)


def encode_header(spi: int, seq: int) -> bytes:
    return _HDR.pack(spi, seq)


def decode_header(data: bytes, iv_size: int = 0, icv_size: int = 0, block_size: int = 4) -> tuple[int, int]:
    """(SPI, sequence number) of a packet, after checking that its length fits
    the algorithms: room for the IV, at least one block of ciphertext (which
    must be whole blocks) and the ICV."""
    n = len(data)
    if n < HEADER_LEN + iv_size + block_size + icv_size:
        raise EspError(f"short packet ({n} bytes)")
    body = n - HEADER_LEN - iv_size - icv_size
    if body % block_size:
        raise EspError(f"ciphertext of {body} bytes is not a multiple of the {block_size}-byte block")
    return _HDR.unpack_from(data)


def pad(payload: bytes, block_size: int, next_header: int) -> bytes:
    """The plaintext to encrypt: payload, padding 1, 2, 3..., pad length and
    next header, a whole number of ``block_size`` blocks (RFC 2406 §2.4)."""
    n = (-(len(payload) + TRAILER_LEN)) % block_size
    return payload + _PADDING[:n] + bytes((n, next_header))


def unpad(plain: bytes) -> tuple[int, bytes]:
    """(next header, payload) of a decrypted plaintext; checks the padding."""
    n = len(plain)
    if n < TRAILER_LEN:
        raise EspPaddingError(f"bad padding: {n} bytes leave no room for pad length and next header")
    pad_len, next_header = plain[-2], plain[-1]
    end = n - TRAILER_LEN - pad_len
    if end < 0:
        raise EspPaddingError(f"bad padding: pad length {pad_len} exceeds the payload")
    if plain[end:n - TRAILER_LEN] != _PADDING[:pad_len]:
        raise EspPaddingError("bad padding: padding bytes are not 1, 2, 3...")
    return next_header, plain[:end]


@dataclass(frozen=True, slots=True)
class EspPacket:
    """An ESP packet split into its fields; ``ciphertext`` is opaque here."""

    spi: int
    seq: int
    iv: bytes = b""
    ciphertext: bytes = b""
    icv: bytes = b""

    def encode(self) -> bytes:
        try:
            head = _HDR.pack(self.spi, self.seq)
        except struct.error as exc:
            raise ValueError(f"esp: cannot encode: {exc}") from None
        return head + self.iv + self.ciphertext + self.icv

    @classmethod
    def decode(cls, data: bytes, iv_size: int = 0, icv_size: int = 0, block_size: int = 4) -> Self:
        """Split a packet for an SA whose algorithms have these sizes."""
        spi, seq = decode_header(data, iv_size, icv_size, block_size)
        end = len(data) - icv_size
        return cls(spi, seq, bytes(data[HEADER_LEN:HEADER_LEN + iv_size]),
                   bytes(data[HEADER_LEN + iv_size:end]), bytes(data[end:]))
