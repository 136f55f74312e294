"""Internet checksum (RFC 1071) and the UDP/TCP pseudo-header (RFC 768, RFC 793).

The one's complement sum of 16-bit words equals the sum of the words modulo
0xFFFF, because 0x10000 == 1 (mod 0xFFFF) (RFC 1071 section 2(B): the sum is
independent of byte grouping and end-around carries are modular reduction).
So the whole buffer read as one big-endian integer, reduced mod 0xFFFF, gives
the folded sum in one C-level operation.  The one catch: one's complement
arithmetic has two zeros.  A sum of all-zero words is +0 (0x0000), while a
non-zero sum that is a multiple of 0xFFFF is -0 (0xFFFF), which is what an
end-around-carry adder produces.  ``% 0xFFFF`` yields 0 for both, so a non-zero
buffer with remainder 0 is mapped to 0xFFFF before complementing.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

__all__ = ["internet_checksum", "pseudo_header"]

_PSEUDO = struct.Struct("!4s4sBBH")


def internet_checksum(data: bytes) -> int:
    """Return the RFC 1071 checksum of ``data`` (odd length padded with a zero byte).

    A buffer that already contains a correct checksum field sums to 0.
    """
    if len(data) & 1:
        data = bytes(data) + b"\x00"
    n = int.from_bytes(data, "big")
    s = n % 0xFFFF
    if s == 0 and n:
        s = 0xFFFF  # non-zero multiple of 0xFFFF: one's complement "-0"
    return ~s & 0xFFFF


def pseudo_header(src: bytes | IPv4Address, dst: bytes | IPv4Address, proto: int, length: int) -> bytes:
    """The 12-byte IPv4 pseudo-header: src, dst, zero, protocol, length.

    Format: RFC 768 ("Fields") for UDP, RFC 793 section 3.1 ("Checksum") for TCP.
    ``src``/``dst`` are 4-byte packed addresses or ``IPv4Address``.
    """
    if isinstance(src, IPv4Address):
        src = src.packed
    if isinstance(dst, IPv4Address):
        dst = dst.packed
    if len(src) != 4 or len(dst) != 4:
        raise ValueError("pseudo_header: addresses must be 4 bytes")
    return _PSEUDO.pack(src, dst, 0, proto, length)
