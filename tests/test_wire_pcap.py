"""pcap writer/reader; Scapy's rdpcap (and tshark, when installed) read what we write."""

import io
import re
import shutil
import struct
import subprocess
from ipaddress import IPv4Address

import pytest
from scapy.contrib.chdlc import CHDLC, SLARP
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap

from emulator.wire.chdlc import ADDRESS_BROADCAST, PROTO_SLARP, CHDLCFrame, SlarpKeepalive
from emulator.wire.errors import DecodeError
from emulator.wire.ethernet import ETHERTYPE_IPV4, EthernetFrame
from emulator.wire.icmp import ICMPMessage
from emulator.wire.ipv4 import PROTO_ICMP, IPv4Packet
from emulator.wire.pcap import LINKTYPE_C_HDLC, LINKTYPE_ETHERNET, LINKTYPE_PPP, PcapWriter, read_pcap

MAC_A = bytes.fromhex("00000c000001")
MAC_B = bytes.fromhex("00000c000002")
A = IPv4Address("10.0.12.1")
B = IPv4Address("10.0.12.2")


def icmp_frames(count: int) -> list[bytes]:
    frames = []
    for seq in range(count):
        icmp = ICMPMessage.echo_request(0x42, seq, bytes(range(36)))
        ip = IPv4Packet(A, B, PROTO_ICMP, icmp.encode(), identification=seq)
        frames.append(EthernetFrame(MAC_B, MAC_A, ETHERTYPE_IPV4, ip.encode()).encode())
    return frames


TIMES = [0.0, 1.5, 2.000001, 1234567.25]


def write_ethernet(path=None) -> bytes:
    buf = io.BytesIO()
    w = PcapWriter(buf, LINKTYPE_ETHERNET)
    for ts, frame in zip(TIMES, icmp_frames(len(TIMES)), strict=True):
        w.write(ts, frame)
    w.flush()
    data = buf.getvalue()
    if path is not None:
        path.write_bytes(data)
    return data


def test_linktype_constants():
    assert (LINKTYPE_ETHERNET, LINKTYPE_PPP, LINKTYPE_C_HDLC) == (1, 9, 104)


def test_file_header_bytes():
    buf = io.BytesIO()
    PcapWriter(buf, LINKTYPE_C_HDLC)
    # magic a1b2c3d4, version 2.4, thiszone 0, sigfigs 0, snaplen 65535, linktype 104 (little-endian)
    assert buf.getvalue() == bytes.fromhex("d4c3b2a1" "0200" "0400" "00000000" "00000000" "ffff0000" "68000000")


def test_record_header_bytes():
    buf = io.BytesIO()
    w = PcapWriter(buf, LINKTYPE_PPP)
    w.write(3.25, b"\xff\x03\x00\x21")
    assert buf.getvalue()[24:] == struct.pack("<IIII", 3, 250000, 4, 4) + b"\xff\x03\x00\x21"


def test_read_pcap_round_trip(tmp_path):
    path = tmp_path / "eth.pcap"
    data = write_ethernet(path)
    for source in (data, path, str(path)):
        linktype, records = read_pcap(source)
        assert linktype == LINKTYPE_ETHERNET
        assert [frame for _, frame in records] == icmp_frames(len(TIMES))
        assert [round(ts, 6) for ts, _ in records] == TIMES


def test_scapy_rdpcap_reads_ours(tmp_path):
    path = tmp_path / "eth.pcap"
    write_ethernet(path)
    pkts = rdpcap(str(path))
    assert len(pkts) == len(TIMES)
    for seq, (pkt, ts) in enumerate(zip(pkts, TIMES, strict=True)):
        assert isinstance(pkt, Ether)
        assert float(pkt.time) == pytest.approx(ts, abs=1e-6)
        assert pkt[IP].src == str(A) and pkt[IP].dst == str(B) and pkt[IP].id == seq
        assert (pkt[ICMP].type, pkt[ICMP].id, pkt[ICMP].seq) == (8, 0x42, seq)
        assert bytes(pkt[ICMP].payload) == bytes(range(36))


def test_scapy_rdpcap_reads_chdlc(tmp_path):
    path = tmp_path / "serial.pcap"
    with open(path, "wb") as f:
        w = PcapWriter(f, LINKTYPE_C_HDLC)
        for n in range(3):
            w.write(10.0 * n, CHDLCFrame(PROTO_SLARP, SlarpKeepalive(n + 1, n).encode(), ADDRESS_BROADCAST).encode())
    pkts = rdpcap(str(path))
    assert [type(p) for p in pkts] == [CHDLC] * 3
    assert [(p[SLARP].mysequence, p[SLARP].yoursequence) for p in pkts] == [(1, 0), (2, 1), (3, 2)]
    assert [float(p.time) for p in pkts] == [0.0, 10.0, 20.0]
    assert read_pcap(path)[0] == LINKTYPE_C_HDLC


def test_timestamp_rounding_carries():
    buf = io.BytesIO()
    w = PcapWriter(buf, LINKTYPE_ETHERNET)
    w.write(1.9999999, b"x")
    w.write(5.0000004, b"y")
    assert struct.unpack_from("<II", buf.getvalue(), 24) == (2, 0)
    assert struct.unpack_from("<II", buf.getvalue(), 24 + 17) == (5, 0)
    with pytest.raises(ValueError):
        w.write(-1.0, b"z")


def test_snaplen_truncates():
    buf = io.BytesIO()
    w = PcapWriter(buf, LINKTYPE_ETHERNET, snaplen=64)
    w.write(0.0, bytes(100))
    assert struct.unpack_from("<IIII", buf.getvalue(), 24) == (0, 0, 64, 100)
    assert read_pcap(buf.getvalue())[1] == [(0.0, bytes(64))]


def test_read_big_endian_and_nanosecond():
    be = struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 9) + struct.pack(">IIII", 7, 500000, 2, 2) + b"ab"
    assert read_pcap(be) == (9, [(7.5, b"ab")])
    ns = struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1) + struct.pack("<IIII", 7, 250_000_000, 1, 1) + b"c"
    assert read_pcap(ns) == (1, [(7.25, b"c")])


def test_every_truncation():
    data = write_ethernet()
    boundaries = {24}
    pos = 24
    while pos < len(data):
        pos += 16 + struct.unpack_from("<I", data, pos + 8)[0]
        boundaries.add(pos)
    for cut in range(len(data)):
        if cut < 24:
            with pytest.raises(DecodeError) as ei:
                read_pcap(data[:cut])
            assert ei.value.reason == f"file truncated at offset 0 reading file header: need 24 bytes, have {cut}"
        elif cut in boundaries:
            assert len(read_pcap(data[:cut])[1]) == sorted(boundaries).index(cut)
        else:
            with pytest.raises(DecodeError) as ei:
                read_pcap(data[:cut])
            assert ei.value.layer == "pcap"
            assert re.fullmatch(r"file truncated at offset \d+ reading (record header|captured bytes): .*",
                                ei.value.reason)


def test_bad_magic_and_version():
    data = write_ethernet()
    with pytest.raises(DecodeError) as ei:
        read_pcap(b"\x0a\x0d\x0d\x0a" + data[4:])  # a pcapng section header is not classic pcap
    assert ei.value.reason == "bad magic 0x0a0d0d0a"
    with pytest.raises(DecodeError) as ei:
        read_pcap(data[:4] + b"\x03\x00" + data[6:])
    assert ei.value.reason == "unsupported version 3.4"


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_tshark_reads_ours(tmp_path):
    path = tmp_path / "eth.pcap"
    write_ethernet(path)
    out = subprocess.run(
        ["tshark", "-r", str(path), "-T", "fields", "-E", "separator=,",
         "-e", "frame.time_epoch", "-e", "ip.src", "-e", "ip.dst", "-e", "icmp.type", "-e", "icmp.seq",
         "-e", "ip.checksum.status", "-e", "icmp.checksum.status", "-o", "ip.check_checksum:TRUE"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()
    assert len(out) == len(TIMES)
    for seq, (line, ts) in enumerate(zip(out, TIMES, strict=True)):
        epoch, src, dst, icmp_type, icmp_seq, ip_status, icmp_status = line.split(",")
        assert float(epoch) == pytest.approx(ts, abs=1e-6)
        assert (src, dst, icmp_type, int(icmp_seq)) == (str(A), str(B), "8", seq)
        assert ip_status in ("1", "Good") and icmp_status in ("1", "Good")
