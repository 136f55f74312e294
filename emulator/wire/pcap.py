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

import os
import struct
from typing import BinaryIO

from emulator.wire.errors import DecodeError

__all__ = [
    "LINKTYPE_ETHERNET", "LINKTYPE_PPP", "LINKTYPE_C_HDLC",
    "MAGIC", "MAGIC_NSEC", "DEFAULT_SNAPLEN", "PcapWriter", "read_pcap",
]

LINKTYPE_ETHERNET = 1    # IEEE 802.3 Ethernet
LINKTYPE_PPP = 9         # PPP in HDLC-like framing, RFC 1662 (address/control present)
LINKTYPE_C_HDLC = 104    # Cisco HDLC

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


def read_pcap(source: bytes | bytearray | str | os.PathLike) -> tuple[int, list[tuple[float, bytes]]]:
    """Read a classic pcap file (path) or its contents (bytes).

    Returns ``(linktype, [(timestamp_seconds, frame_bytes), ...])``.  Raises
    ``DecodeError`` (layer ``"pcap"``) for a malformed or truncated file.
    """
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        with open(source, "rb") as f:
            data = f.read()
    if len(data) < _FILE_HDR.size:
        raise DecodeError("pcap", f"file too short: {len(data)} bytes, need {_FILE_HDR.size} for the header")
    magic_le = int.from_bytes(data[:4], "little")
    magic_be = int.from_bytes(data[:4], "big")
    if magic_le in (MAGIC, MAGIC_NSEC):
        order, magic = "<", magic_le
    elif magic_be in (MAGIC, MAGIC_NSEC):
        order, magic = ">", magic_be
    else:
        raise DecodeError("pcap", f"bad magic 0x{magic_le:08x}")
    file_hdr = struct.Struct(order + "IHHiIII")
    rec_hdr = struct.Struct(order + "IIII")
    _, major, _minor, _zone, _sigfigs, _snaplen, linktype = file_hdr.unpack_from(data)
    if major != VERSION_MAJOR:
        raise DecodeError("pcap", f"unsupported version {major}.{_minor}")
    linktype &= 0x0FFFFFFF  # upper bits may carry FCS information (pcap draft section 4)
    scale = 1e-9 if magic == MAGIC_NSEC else 1e-6
    records: list[tuple[float, bytes]] = []
    pos = file_hdr.size
    n = len(data)
    while pos < n:
        if n - pos < rec_hdr.size:
            raise DecodeError("pcap", f"truncated record header at offset {pos}")
        sec, frac, incl, _orig = rec_hdr.unpack_from(data, pos)
        pos += rec_hdr.size
        if n - pos < incl:
            raise DecodeError("pcap", f"truncated record at offset {pos - rec_hdr.size}: "
                                      f"captured length {incl}, have {n - pos} bytes")
        records.append((sec + frac * scale, data[pos:pos + incl]))
        pos += incl
    return linktype, records
