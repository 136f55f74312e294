"""The flow of an IPv4 datagram, read from its headers without decoding the rest.

What NAT, access lists and the crypto map look at: protocol, addresses, the
TCP/UDP ports or the identifier of an ICMP query, the ICMP type and code,
the TCP flags, and the fragment fields.  Reading stops at the first bytes
of the layer-4 header: nothing past them is copied or checked.

* :func:`read_flow` reads a datagram as received: the header must be
  complete, Total Length must fit the bytes present (link padding beyond it
  is ignored), the header checksum verifies unless ``verify=False``, and
  the layer-4 header a flow needs must be within Total Length.
* :func:`read_quoted_flow` reads the datagram quoted in an ICMP error
  (RFC 792: the header and the first 64 bits of its data, RFC 1812
  section 4.3.2.3: possibly more): its Total Length is that of the original
  datagram, so it is not checked, and ports are read only when quoted.

Both raise :class:`DecodeError` only.  A non-initial fragment (offset not
zero) carries no layer-4 header, so its ports, ICMP and TCP fields are None.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from emulator.wire.checksum import internet_checksum
from emulator.wire.errors import DecodeError
from emulator.wire.icmp import QUERY_TYPES
from emulator.wire.ipv4 import HEADER_LEN, IPFlag, IPProto
from emulator.wire.reader import Reader

__all__ = ["IPv4Flow", "read_flow", "read_quoted_flow"]

_IP = struct.Struct("!BBHHHBBH4s4s")
_PORTS = struct.Struct("!HH")
# Plain ints for the per-packet comparisons (an IntEnum compares more slowly).
_TCP = int(IPProto.TCP)
_UDP = int(IPProto.UDP)
_ICMP = int(IPProto.ICMP)
_QUERY_TYPES = frozenset(int(t) for t in QUERY_TYPES)
_MF = int(IPFlag.MF) << 13
_TCP_FLAGS_AT = 13     # RFC 793 section 3.1: the control bits are the 14th byte of the header
_TCP_MIN = 20          # the fixed TCP header (RFC 793 section 3.1)
_UDP_LEN = 8           # RFC 768
_ICMP_MIN = 8          # type, code, checksum and the 4-byte rest of header (RFC 792)


class IPv4Flow(NamedTuple):
    """The flow fields of one datagram.  Addresses are the 4 packed bytes of the header."""

    protocol: int
    src: bytes
    dst: bytes
    sport: int | None          # TCP/UDP source port
    dport: int | None          # TCP/UDP destination port
    icmp_type: int | None
    icmp_code: int | None
    icmp_id: int | None        # identifier of an ICMP query (echo, timestamp, information, mask)
    tcp_flags: int | None
    identification: int
    fragment_offset: int       # in 8-byte units, as on the wire
    more_fragments: bool
    header_length: int         # bytes, options included
    total_length: int          # the Total Length field

    @property
    def initial(self) -> bool:
        """True unless this is a non-initial fragment (which has no layer-4 header)."""
        return self.fragment_offset == 0


_new = tuple.__new__      # builds an IPv4Flow from the tuple of its fields, without NamedTuple's own __new__


def _header(data: bytes, offset: int) -> tuple[tuple[int, ...], int]:
    """The unpacked fixed header at ``offset`` and the header length in bytes; DecodeError for a
    header that is cut short or malformed."""
    r = Reader(data, "header", "ipv4")
    r.pos = offset
    fields = r.unpack(_IP)
    vihl = fields[0]
    if vihl >> 4 != 4:
        raise r.error(f"bad version {vihl >> 4}")
    hl = (vihl & 0x0F) << 2
    if hl < HEADER_LEN:
        raise r.error(f"bad IHL {hl >> 2} (minimum 5)")
    r.pos = offset
    r.need(hl, f"options (IHL {hl >> 2})")
    return fields, hl


def _layer4(data: bytes, start: int, end: int, proto: int, quoted: bool) -> tuple[
        int | None, int | None, int | None, int | None, int | None, int | None]:
    """(sport, dport, icmp type, icmp code, icmp id, tcp flags) of the layer-4 header in data[start:end]."""
    room = end - start
    if proto == _TCP:
        if room >= _TCP_MIN:
            sport, dport = _PORTS.unpack_from(data, start)
            return sport, dport, None, None, None, data[start + _TCP_FLAGS_AT]
        if not quoted:
            raise DecodeError("tcp", f"truncated header ({room} bytes)")
        if room >= 4:
            sport, dport = _PORTS.unpack_from(data, start)
            return sport, dport, None, None, None, None
    elif proto == _UDP:
        if room >= 4 and (quoted or room >= _UDP_LEN):
            sport, dport = _PORTS.unpack_from(data, start)
            return sport, dport, None, None, None, None
        if not quoted:
            raise DecodeError("udp", f"truncated header ({room} bytes)")
    elif proto == _ICMP:
        if room >= _ICMP_MIN or (quoted and room >= 2):
            itype = data[start]
            ident = (data[start + 4] << 8) | data[start + 5] if room >= 6 and itype in _QUERY_TYPES else None
            return None, None, itype, data[start + 1], ident, None
        if not quoted:
            raise DecodeError("icmp", f"truncated header ({room} bytes)")
    return None, None, None, None, None, None


# The datagram read last, whether its header checksum is known good, and its flow. A
# packet's bytes are read in turn by the crypto map, NAT and access lists; bytes are
# immutable and the object is kept alive here, so the same object has the same flow.
_last: tuple[bytes | None, bool, IPv4Flow | None] = (None, False, None)


def read_flow(data: bytes, *, verify: bool = True) -> IPv4Flow:
    """The flow of a received datagram (see the module docstring)."""
    global _last
    last = _last
    if data is last[0]:
        flow = last[2]
        assert flow is not None
        if verify and not last[1]:
            if internet_checksum(data[:flow.header_length]) != 0:
                raise DecodeError("ipv4", "bad header checksum")
            _last = (data, True, flow)
        return flow
    try:
        vihl, _, total, ident, frag, _, proto, _, src, dst = _IP.unpack_from(data)
    except struct.error:
        vihl = 0                          # shorter than a header: _header names the fault
    n = len(data)
    hl = (vihl & 0x0F) << 2
    if vihl >> 4 != 4 or hl < HEADER_LEN or n < hl:
        _header(data, 0)                  # raises the DecodeError that names what is wrong
    if total < hl:
        raise DecodeError("ipv4", f"total length {total} smaller than header length {hl}")
    if total > n:
        raise DecodeError("ipv4", f"truncated packet: total length {total}, have {n} bytes")
    if verify and internet_checksum(data[:hl]) != 0:
        raise DecodeError("ipv4", "bad header checksum")
    fo = frag & 0x1FFF
    room = total - hl
    if fo:
        flow = _new(IPv4Flow, (proto, src, dst, None, None, None, None, None, None, ident, fo, False, hl, total))
    elif proto == _ICMP and room >= _ICMP_MIN:     # the common cases first, read in place
        itype = data[hl]
        icmp_id = (data[hl + 4] << 8) | data[hl + 5] if itype in _QUERY_TYPES else None
        flow = _new(IPv4Flow, (proto, src, dst, None, None, itype, data[hl + 1], icmp_id, None,
                               ident, 0, bool(frag & _MF), hl, total))
    elif (proto == _UDP and room >= _UDP_LEN) or (proto == _TCP and room >= _TCP_MIN):
        sport, dport = _PORTS.unpack_from(data, hl)
        flags = data[hl + _TCP_FLAGS_AT] if proto == _TCP else None
        flow = _new(IPv4Flow, (proto, src, dst, sport, dport, None, None, None, flags,
                               ident, 0, bool(frag & _MF), hl, total))
    else:
        l4 = _layer4(data, hl, total, proto, False)
        flow = _new(IPv4Flow, (proto, src, dst, *l4, ident, 0, bool(frag & _MF), hl, total))
    if type(data) is bytes:              # only immutable bytes are remembered
        _last = (data, verify, flow)
    return flow


def read_quoted_flow(data: bytes, offset: int) -> IPv4Flow:
    """The flow of the datagram quoted at ``data[offset:]`` by an ICMP error.

    Its header must be there in full; its layer-4 fields are read as far as
    they were quoted.  The header checksum is not verified (the quoting router
    may have changed TTL-dependent fields, RFC 1812 section 4.3.2.3).
    """
    fields, hl = _header(data, offset)
    proto, frag = fields[6], fields[4]
    fo = frag & 0x1FFF
    start = offset + hl
    l4 = _layer4(data, start, len(data), proto, True) if fo == 0 else (None, None, None, None, None, None)
    return _new(IPv4Flow, (proto, fields[8], fields[9], *l4, fields[3], fo, bool(frag & _MF), hl, fields[2]))
