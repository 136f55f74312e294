"""Classic libpcap capture files.

Format: draft-ietf-opsawg-pcap (the libpcap file format), sections 4
(file header: magic 0xA1B2C3D4, version 2.4, thiszone, sigfigs, snaplen,
LinkType) and 5 (record: seconds, microseconds, captured length, original
length).  Link types: draft-ietf-opsawg-pcaplinktype / tcpdump.org
"LINK-LAYER HEADER TYPES".

The writer always writes little-endian with microsecond timestamps, so the
output is byte-identical on every host; the reader accepts either byte order
and the nanosecond magic 0xA1B23C4D.
"""

from __future__ import annotations

import enum
import os
import struct
from typing import BinaryIO

from emulator.wire.reader import Reader

__all__ = [
    "LinkType", "LINKTYPE_ETHERNET", "LINKTYPE_PPP", "LINKTYPE_PPP_HDLC", "LINKTYPE_C_HDLC",
    "MAGIC", "MAGIC_NSEC", "DEFAULT_SNAPLEN", "PcapWriter", "read_pcap", "parse_pcap",
]


class LinkType(enum.IntEnum):
    """The file header's LinkType field (tcpdump.org "LINK-LAYER HEADER TYPES")."""

    ETHERNET = 1     # IEEE 802.3 Ethernet
    PPP = 9          # PPP in HDLC-like framing, RFC 1662 (address/control present)
    PPP_HDLC = 50    # PPP in HDLC-like framing, flags and FCS removed
    C_HDLC = 104     # Cisco HDLC


LINKTYPE_ETHERNET = LinkType.ETHERNET
LINKTYPE_PPP = LinkType.PPP
LINKTYPE_PPP_HDLC = LinkType.PPP_HDLC
LINKTYPE_C_HDLC = LinkType.C_HDLC

MAGIC = 0xA1B2C3D4       # microsecond timestamps
MAGIC_NSEC = 0xA1B23C4D  # nanosecond timestamps (read only)
VERSION_MAJOR = 2
VERSION_MINOR = 4
DEFAULT_SNAPLEN = 65535

_FILE_HDR = struct.Struct("<IHHiIII")
_REC_HDR = struct.Struct("<IIII")


class PcapWriter:
    """Write frames to ``fileobj`` (opened in binary mode) as a pcap stream.

    The file header is written at construction.  The caller owns ``fileobj``.
    """

    def __init__(self, fileobj: BinaryIO, linktype: int, snaplen: int = DEFAULT_SNAPLEN):
        self._f = fileobj
        self.linktype = linktype
        self.snaplen = snaplen
        fileobj.write(_FILE_HDR.pack(MAGIC, VERSION_MAJOR, VERSION_MINOR, 0, 0, snaplen, linktype))

    def write(self, ts: float, frame: bytes) -> None:
        """Append one record; ``ts`` is seconds (the virtual clock), >= 0.

        Frames longer than the snap length are truncated, with the original
        length recorded.
        """
        if ts < 0:
            raise ValueError(f"pcap: negative timestamp {ts!r}")
        sec = int(ts)
        usec = round((ts - sec) * 1_000_000)
        if usec >= 1_000_000:
            sec += 1
            usec -= 1_000_000
        self._record(sec, usec, frame)

    def write_ns(self, ts_ns: int, frame: bytes) -> None:
        """Append one record stamped ``ts_ns`` integer nanoseconds (>= 0), truncated to the microsecond."""
        if ts_ns < 0:
            raise ValueError(f"pcap: negative timestamp {ts_ns!r} ns")
        sec, ns = divmod(ts_ns, 1_000_000_000)
        self._record(sec, ns // 1_000, frame)

    def _record(self, sec: int, usec: int, frame: bytes) -> None:
        orig = len(frame)
        if orig > self.snaplen:
            frame = frame[:self.snaplen]
        self._f.write(_REC_HDR.pack(sec, usec, len(frame), orig) + frame)

    def flush(self) -> None:
        self._f.flush()


def read_pcap(source: bytes | bytearray | str | os.PathLike[str]) -> tuple[int, list[tuple[float, bytes]]]:
    """Read a classic pcap file (path) or its contents (bytes).

    Returns ``(linktype, [(timestamp_seconds, frame_bytes), ...])``.  Raises
    ``DecodeError`` (layer ``"pcap"``) for a malformed or truncated file.
    """
    if isinstance(source, (bytes, bytearray)):
        return parse_pcap(bytes(source))
    with open(source, "rb") as f:
        return parse_pcap(f.read())


def parse_pcap(data: bytes) -> tuple[int, list[tuple[float, bytes]]]:
    """The decoder behind :func:`read_pcap`, for file contents."""
    r = Reader(data, "file", "pcap")
    r.need(_FILE_HDR.size, "file header")
    magic_le = int.from_bytes(data[:4], "little")
    magic_be = int.from_bytes(data[:4], "big")
    if magic_le in (MAGIC, MAGIC_NSEC):
        order, magic = "<", magic_le
    elif magic_be in (MAGIC, MAGIC_NSEC):
        order, magic = ">", magic_be
    else:
        raise r.error(f"bad magic 0x{magic_le:08x}")
    file_hdr = struct.Struct(order + "IHHiIII")
    rec_hdr = struct.Struct(order + "IIII")
    _, major, _minor, _zone, _sigfigs, _snaplen, linktype = r.unpack(file_hdr, "file header")
    if major != VERSION_MAJOR:
        raise r.error(f"unsupported version {major}.{_minor}")
    linktype &= 0x0FFFFFFF  # upper bits may carry FCS information (pcap draft section 4)
    scale = 1e-9 if magic == MAGIC_NSEC else 1e-6
    records: list[tuple[float, bytes]] = []
    while r.remaining:
        sec, frac, incl, _orig = r.unpack(rec_hdr, "record header")
        records.append((sec + frac * scale, r.take(incl, "captured bytes")))
    return linktype, records
