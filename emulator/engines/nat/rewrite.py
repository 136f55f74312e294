"""Rewriting a translated packet: an address, a port or ICMP identifier, and the checksums.

Checksums are patched incrementally (RFC 1624 eqn. 3) wherever a field
changes: the IPv4 header checksum, the TCP/UDP checksum (its pseudo-header
covers the addresses, RFC 768/793) and the ICMP checksum (no pseudo-header,
so only an identifier change touches it).  A UDP datagram sent without a
checksum stays without.  An ICMP error is translated in its outer header and
in the datagram it quotes; its ICMP checksum, which covers the quote, is
computed anew.  A non-initial fragment carries no layer-4 header: only its
address changes.
"""

from __future__ import annotations

from emulator.wire.checksum import internet_checksum
from emulator.wire.flow import IPv4Flow
from emulator.wire.ipv4 import IPProto

__all__ = ["adjust_checksum", "rewrite", "rewrite_error"]

_TCP = IPProto.TCP
_UDP = IPProto.UDP
_ICMP = IPProto.ICMP
_SRC = 12                # offsets in the IPv4 header (RFC 791 section 3.1)
_DST = 16
_HEADER_CHECKSUM = 10
_TCP_CHECKSUM = 16       # offsets in the layer-4 headers
_UDP_CHECKSUM = 6
_UDP_HEADER = 8
_ICMP_CHECKSUM = 2
_ICMP_ID = 4


def adjust_checksum(ck: int, delta: int) -> int:
    """Incremental checksum update (RFC 1624 eqn. 3) by ``delta`` = sum(new) - sum(old),
    computed modulo 0xFFFF.  A sum of -0 gives checksum 0, as a full recomputation does."""
    x = ((~ck & 0xFFFF) + delta) % 0xFFFF
    return (~x & 0xFFFF) if x else 0


def _patch16(buf: bytearray, off: int, delta: int, udp: bool = False) -> None:
    ck = (buf[off] << 8) | buf[off + 1]
    if udp and ck == 0:
        return  # UDP without checksum stays without (RFC 768)
    ck = adjust_checksum(ck, delta)
    if udp and ck == 0:
        ck = 0xFFFF  # RFC 768: a computed zero is sent as all ones
    buf[off] = ck >> 8
    buf[off + 1] = ck & 0xFF


def rewrite(packet: bytes, total: int, ihl: int, proto: int, fo: int, outbound: bool,
            new_addr: bytes, old_port: int | None, new_port: int | None) -> bytes:
    """Rewrite the source (``outbound``) or destination address and port of a datagram of
    ``total`` bytes with an ``ihl``-byte header; ``fo`` is its fragment offset.

    The datagram is rebuilt from slices: the IPv4 header with its new address and
    checksum, the first bytes of the layer-4 header with the new port and checksum,
    and the rest unchanged (link padding past ``total`` dropped).
    """
    aoff = _SRC if outbound else _DST
    d_addr = int.from_bytes(new_addr, "big") - int.from_bytes(packet[aoff:aoff + 4], "big")
    x = ((~((packet[10] << 8) | packet[11]) & 0xFFFF) + d_addr) % 0xFFFF   # adjust_checksum, inlined
    ck = ((~x & 0xFFFF) if x else 0).to_bytes(2, "big")
    if outbound:
        head = packet[:10] + ck + new_addr + packet[16:ihl]
    else:
        head = packet[:10] + ck + packet[12:16] + new_addr + packet[20:ihl]
    d_port = new_port - old_port if new_port is not None and old_port is not None else 0
    if fo:
        return head + packet[ihl:total]  # no layer-4 header in a non-initial fragment
    if proto == _TCP:
        size, ckoff, delta = _TCP_CHECKSUM + 2, _TCP_CHECKSUM, d_addr + d_port
    elif proto == _UDP:
        size, ckoff, delta = _UDP_HEADER, _UDP_CHECKSUM, d_addr + d_port
    elif proto == _ICMP and d_port:
        size, ckoff, delta = _ICMP_ID + 2, _ICMP_CHECKSUM, d_port   # the ICMP checksum has no pseudo-header
    else:
        return head + packet[ihl:total]
    l4 = bytearray(packet[ihl:ihl + size])
    if d_port:
        assert new_port is not None
        poff = _ICMP_ID if proto == _ICMP else (0 if outbound else 2)
        l4[poff:poff + 2] = new_port.to_bytes(2, "big")
    _patch16(l4, ckoff, delta, udp=proto == _UDP)
    return head + bytes(l4) + packet[ihl + size:total]


def rewrite_error(packet: bytes, total: int, ihl: int, inner: IPv4Flow, outbound: bool,
                  new_addr: bytes, new_port: int | None) -> bytes:
    """Translate an ICMP error: the outer source (``outbound``) or destination, and the
    matching address/port of the quoted datagram ``inner`` (its destination when
    ``outbound``, else its source), which starts 8 bytes into the ICMP message.  The
    quoted transport checksum is patched when it was quoted; the ICMP checksum is
    recomputed over the whole message."""
    off = ihl + 8
    proto = inner.protocol
    buf = bytearray(packet[:total])
    aoff = _SRC if outbound else _DST
    d_outer = int.from_bytes(new_addr, "big") - int.from_bytes(buf[aoff:aoff + 4], "big")
    _patch16(buf, _HEADER_CHECKSUM, d_outer)
    buf[aoff:aoff + 4] = new_addr
    iaoff = off + (_DST if outbound else _SRC)
    d_addr = int.from_bytes(new_addr, "big") - int.from_bytes(buf[iaoff:iaoff + 4], "big")
    _patch16(buf, off + _HEADER_CHECKSUM, d_addr)
    buf[iaoff:iaoff + 4] = new_addr
    l4 = off + inner.header_length
    if proto == _ICMP:
        old_port = inner.icmp_id
    else:
        old_port = inner.dport if outbound else inner.sport
    d_port = 0
    if new_port is not None and old_port is not None and new_port != old_port:
        d_port = new_port - old_port
        poff = l4 + (_ICMP_ID if proto == _ICMP else (2 if outbound else 0))
        buf[poff] = new_port >> 8
        buf[poff + 1] = new_port & 0xFF
    if proto == _TCP and total >= l4 + 18:
        _patch16(buf, l4 + _TCP_CHECKSUM, d_addr + d_port)
    elif proto == _UDP and total >= l4 + 8:
        _patch16(buf, l4 + _UDP_CHECKSUM, d_addr + d_port, udp=True)
    elif proto == _ICMP and d_port and total >= l4 + 4:
        _patch16(buf, l4 + _ICMP_CHECKSUM, d_port)
    buf[ihl + 2] = buf[ihl + 3] = 0
    ck = internet_checksum(bytes(buf[ihl:total]))
    buf[ihl + 2] = ck >> 8
    buf[ihl + 3] = ck & 0xFF
    return bytes(buf)
