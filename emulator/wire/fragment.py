"""IPv4 fragmentation (RFC 791 section 3.2, "Fragmentation and Reassembly", and section 3.1, "Options").

``fragment`` splits a datagram into pieces no longer than an MTU: each
piece's data is a multiple of 8 bytes except the last; every piece keeps
the identification, protocol, addresses, TOS and TTL; the first keeps all
options, the others only those whose "copied" flag is set; MF is set on all
but the last, and on the last too when the datagram was itself a
non-final fragment. Reassembly lives in ``emulator.engines.reassembly``.
"""

from __future__ import annotations

from dataclasses import replace

from emulator.wire.ipv4 import FLAG_DF, FLAG_MF, HEADER_LEN, IPv4Packet

__all__ = ["fragment", "copied_options", "MIN_MTU", "FragmentError"]

MIN_MTU = 68            # RFC 791: "Every internet module must be able to forward a datagram of 68 octets"
_OPT_EOL, _OPT_NOP = 0, 1
_COPIED = 0x80          # RFC 791: the first bit of an option type, "copied flag"


class FragmentError(ValueError):
    """The datagram cannot be split for this MTU (DF set, or the MTU is below the header plus 8 bytes)."""


def copied_options(options: bytes) -> bytes:
    """The options a non-first fragment carries: those with the copied flag (RFC 791 section 3.1)."""
    out = bytearray()
    i, n = 0, len(options)
    while i < n:
        kind = options[i]
        if kind == _OPT_EOL:
            break
        if kind == _OPT_NOP:
            i += 1
            continue
        length = options[i + 1] if i + 1 < n else 0
        if length < 2 or i + length > n:
            break                               # a malformed option list is copied no further
        if kind & _COPIED:
            out += options[i:i + length]
        i += length
    return bytes(out)


def fragment(packet: IPv4Packet, mtu: int) -> list[IPv4Packet]:
    """``packet`` as it leaves an interface of IP MTU ``mtu``: itself when it fits, else its fragments.

    Raises ``FragmentError`` when it does not fit and DF is set, or when the MTU leaves no room for
    8 bytes of data after the header.
    """
    if packet.total_length <= mtu:
        return [packet]
    if packet.flags & FLAG_DF:
        raise FragmentError(f"datagram of {packet.total_length} bytes with DF set exceeds the MTU of {mtu}")
    first_hl = packet.header_length
    later_opts = copied_options(packet.options)
    later_hl = HEADER_LEN + ((len(later_opts) + 3) & ~3)
    if mtu - max(first_hl, later_hl) < 8:
        raise FragmentError(f"MTU {mtu} leaves no room for 8 bytes of data after a {first_hl}-byte header")
    payload = packet.payload
    base = packet.fragment_offset * 8
    last_mf = packet.flags & FLAG_MF        # a fragment split again keeps MF on its last piece
    flags = packet.flags & ~(FLAG_MF | FLAG_DF)
    pieces: list[IPv4Packet] = []
    pos, n = 0, len(payload)
    while pos < n:
        hl = first_hl if not pieces else later_hl
        room = (mtu - hl) & ~7
        chunk = payload[pos:pos + room]
        end = pos + len(chunk)
        more = FLAG_MF if end < n else last_mf
        pieces.append(replace(packet, payload=chunk, flags=flags | more, fragment_offset=(base + pos) // 8,
                              options=packet.options if not pieces else later_opts, checksum=None))
        pos = end
    return pieces
