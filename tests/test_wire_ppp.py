"""PPP framing (RFC 1662) and LCP/IPCP packet codec."""

import ipaddress

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.ppp import (
    HDLC,
    PPP,
    PPP_IPCP,
    PPP_LCP,
    PPP_IPCP_Option_IPAddress,
    PPP_LCP_Configure,
    PPP_LCP_Echo,
    PPP_LCP_Magic_Number_Option,
    PPP_LCP_MRU_Option,
)

from emulator.wire import ppp as w
from emulator.wire.errors import DecodeError


def fcs16_reference(data: bytes) -> int:
    """Bitwise RFC 1662 §C.2 FCS (reflected 0x8408), for cross-checking."""
    fcs = 0xFFFF
    for b in data:
        fcs ^= b
        for _ in range(8):
            fcs = (fcs >> 1) ^ 0x8408 if fcs & 1 else fcs >> 1
    return fcs


def test_fcs_matches_bitwise_reference():
    for data in (b"", b"\x00", b"\xff\x03\xc0\x21", bytes(range(256)) * 3):
        assert w.fcs16_raw(data) == fcs16_reference(data)


def test_fcs_check_value():
    # CRC-16/X.25 (the PPP FCS-16) check value for "123456789".
    assert w.fcs16(b"123456789") == 0x906E


def test_good_fcs_property():
    # RFC 1662 §C.2: FCS over frame + transmitted FCS gives PPPGOODFCS16.
    for info in (b"", b"hello", bytes(range(200))):
        frame = w.encode_frame(w.PPP_IP, info)
        assert w.fcs16_raw(frame) == w.FCS_GOOD == 0xF0B8


def test_known_frame_bytes():
    # LCP Configure-Request id 1, Magic-Number 0x01020304.
    pkt = w.ControlPacket(w.CONFIGURE_REQUEST, 1,
                          options=(w.u32_option(w.LCP_MAGIC_NUMBER, 0x01020304),))
    frame = w.encode_frame(w.PPP_LCP, w.encode_control(pkt))
    body = bytes.fromhex("ff03c021 0101000a 050601020304")
    assert frame[:-2] == body
    assert frame[-2:] == fcs16_reference(body).__xor__(0xFFFF).to_bytes(2, "little")


def test_frame_round_trip():
    frame = w.encode_frame(w.PPP_IPCP, b"\x01\x02\x00\x04")
    f = w.decode_frame(frame)
    assert f == w.PPPFrame(w.PPP_IPCP, b"\x01\x02\x00\x04")


def test_decode_errors():
    frame = bytearray(w.encode_frame(w.PPP_IP, b"abcd"))
    bad = bytearray(frame)
    bad[5] ^= 1
    with pytest.raises(DecodeError, match="bad FCS"):
        w.decode_frame(bytes(bad))

    def refcs(body):
        return bytes(body) + w.fcs16(bytes(body)).to_bytes(2, "little")

    with pytest.raises(DecodeError, match="address"):
        w.decode_frame(refcs(b"\xfe\x03\x00\x21abcd"))
    with pytest.raises(DecodeError, match="control"):
        w.decode_frame(refcs(b"\xff\x13\x00\x21abcd"))
    with pytest.raises(DecodeError, match="compressed protocol"):
        w.decode_frame(refcs(b"\xff\x03\x21abcd"))
    with pytest.raises(DecodeError, match="invalid protocol"):
        w.decode_frame(refcs(b"\xff\x03\x00\x20abcd"))
    with pytest.raises(DecodeError, match="reading protocol field: need 1 byte, have 0"):
        w.decode_frame(refcs(b"\xff\x03"))


def test_compressed_forms_only_when_allowed():
    def refcs(body):
        return body + w.fcs16(body).to_bytes(2, "little")

    f = w.decode_frame(refcs(b"\x21abcd"), accept_acfc=True, accept_pfc=True)
    assert f == w.PPPFrame(w.PPP_IP, b"abcd")
    f = w.decode_frame(refcs(b"\xc0\x21xy"), accept_acfc=True)
    assert f == w.PPPFrame(w.PPP_LCP, b"xy")


def test_every_truncation_of_a_frame_is_a_decode_error():
    pkt = w.ControlPacket(w.CONFIGURE_REQUEST, 7,
                          options=(w.u16_option(w.LCP_MRU, 1500),
                                   w.u32_option(w.LCP_MAGIC_NUMBER, 0xDEADBEEF)))
    frame = w.encode_frame(w.PPP_LCP, w.encode_control(pkt))
    for n in range(len(frame)):
        with pytest.raises(DecodeError):
            w.decode_frame(frame[:n])


def test_every_truncation_of_a_control_packet_is_a_decode_error():
    for proto, pkt in (
        (w.PPP_LCP, w.ControlPacket(w.CONFIGURE_REQUEST, 7, options=(
            w.u16_option(w.LCP_MRU, 1500), w.u32_option(w.LCP_MAGIC_NUMBER, 5)))),
        (w.PPP_LCP, w.ControlPacket(w.ECHO_REQUEST, 3, b"\x00\x00\x00\x09")),
        (w.PPP_IPCP, w.ControlPacket(w.CONFIGURE_NAK, 1, options=(w.ip_option("10.0.0.2"),))),
    ):
        raw = w.encode_control(pkt)
        assert w.decode_control(raw, proto) == pkt
        for n in range(len(raw)):
            with pytest.raises(DecodeError):
                w.decode_control(raw[:n], proto)


def test_control_packet_padding_ignored_and_bad_lengths():
    raw = w.encode_control(w.ControlPacket(w.TERMINATE_REQUEST, 9, b"bye"))
    assert w.decode_control(raw + b"\x00\x00\x00") == w.ControlPacket(5, 9, b"bye")
    with pytest.raises(DecodeError, match=r"reading data \(length field 16\): need 12 bytes, have 3"):
        w.decode_control(b"\x05\x09\x00\x10bye")
    with pytest.raises(DecodeError, match="< 4"):
        w.decode_control(b"\x05\x09\x00\x03")
    with pytest.raises(DecodeError, match="length 1 < 2"):
        w.decode_control(b"\x01\x01\x00\x06\x05\x01")
    with pytest.raises(DecodeError, match="reading option 5 value: need 4 bytes, have 1"):
        w.decode_control(b"\x01\x01\x00\x07\x05\x06\x01")
    with pytest.raises(DecodeError, match="magic"):
        w.decode_control(b"\x09\x01\x00\x06\x00\x00", w.PPP_LCP)
    with pytest.raises(DecodeError, match="PROTREJ"):
        w.decode_control(b"\x08\x01\x00\x05\x80", w.PPP_LCP)
    # IPCP has no echo: code 9 is just an unknown code there (Code-Reject).
    assert w.decode_control(b"\x09\x01\x00\x04", w.PPP_IPCP).code == 9


def test_pcap_form_strips_fcs():
    frame = w.encode_frame(w.PPP_IP, b"\x45" + bytes(19))
    assert w.frame_for_pcap(frame) == frame[:-2]
    assert w.LINKTYPE_PPP == 9
    with pytest.raises(DecodeError):
        w.frame_for_pcap(b"\xff")


def test_ahdlc_round_trip_and_abort():
    frame = w.encode_frame(w.PPP_LCP, b"\x7e\x7d\x01\x11abc")
    stuffed = w.ahdlc_encode(frame)
    assert stuffed[0] == stuffed[-1] == 0x7E
    assert b"\x7e" not in stuffed[1:-1] and b"\x01" not in stuffed
    assert w.ahdlc_decode(stuffed) == frame
    assert w.ahdlc_decode(w.ahdlc_encode(frame, accm=0)) == frame
    with pytest.raises(DecodeError, match="abort"):
        w.ahdlc_decode(b"\x7eab\x7d\x7e")


# -- scapy interop -------------------------------------------------------------


def test_scapy_reads_our_lcp_configure_request():
    pkt = w.ControlPacket(w.CONFIGURE_REQUEST, 0x2A, options=(
        w.u16_option(w.LCP_MRU, 1500), w.u32_option(w.LCP_MAGIC_NUMBER, 0x11223344)))
    frame = w.encode_frame(w.PPP_LCP, w.encode_control(pkt))
    s = HDLC(frame[:-2])
    assert s.address == 0xFF and s.control == 0x03
    assert s[PPP].proto == 0xC021
    lcp = s[PPP_LCP_Configure]
    assert lcp.code == 1 and lcp.id == 0x2A and lcp.len == 14
    assert lcp.options[0].max_recv_unit == 1500
    assert lcp.options[1].magic_number == 0x11223344


def test_scapy_reads_our_ipcp_and_echo_and_ip():
    ipcp = w.encode_control(w.ControlPacket(w.CONFIGURE_NAK, 3,
                                            options=(w.ip_option("10.1.1.2"),)))
    s = HDLC(w.frame_for_pcap(w.encode_frame(w.PPP_IPCP, ipcp)))
    assert s[PPP_IPCP].code == 3 and s[PPP_IPCP].id == 3
    assert s[PPP_IPCP].options[0].data == "10.1.1.2"

    echo = w.encode_control(w.ControlPacket(w.ECHO_REQUEST, 4, b"\xca\xfe\xba\xbe"))
    s = HDLC(w.frame_for_pcap(w.encode_frame(w.PPP_LCP, echo)))
    assert s[PPP_LCP_Echo].code == 9 and s[PPP_LCP_Echo].magic_number == 0xCAFEBABE

    ip = bytes(IP(src="10.0.0.1", dst="10.0.0.2") / ICMP())
    s = HDLC(w.frame_for_pcap(w.encode_frame(w.PPP_IP, ip)))
    assert s[IP].dst == "10.0.0.2"


def _with_fcs(body: bytes) -> bytes:
    return body + w.fcs16(body).to_bytes(2, "little")


def test_we_read_scapy_built_frames():
    lcp = HDLC() / PPP(proto=0xC021) / PPP_LCP_Configure(
        code=1, id=5, options=[PPP_LCP_MRU_Option(max_recv_unit=1400),
                               PPP_LCP_Magic_Number_Option(magic_number=0xABCDEF01)])
    f = w.decode_frame(_with_fcs(bytes(lcp)))
    assert f.protocol == w.PPP_LCP
    pkt = w.decode_control(f.information, w.PPP_LCP)
    assert pkt.code == w.CONFIGURE_REQUEST and pkt.identifier == 5
    assert pkt.options == ((w.LCP_MRU, (1400).to_bytes(2, "big")),
                           (w.LCP_MAGIC_NUMBER, (0xABCDEF01).to_bytes(4, "big")))

    ipcp = HDLC() / PPP(proto=0x8021) / PPP_IPCP(
        code=1, id=9, options=[PPP_IPCP_Option_IPAddress(data="0.0.0.0")])
    f = w.decode_frame(_with_fcs(bytes(ipcp)))
    pkt = w.decode_control(f.information, w.PPP_IPCP)
    assert pkt.options == (w.ip_option("0.0.0.0"),)
    assert w.option_ip(pkt.options[0][1]) == ipaddress.IPv4Address("0.0.0.0")

    term = HDLC() / PPP(proto=0xC021) / PPP_LCP(code=5, id=2, data=b"x")
    pkt = w.decode_control(w.decode_frame(_with_fcs(bytes(term))).information)
    assert pkt == w.ControlPacket(w.TERMINATE_REQUEST, 2, b"x")


def test_option_table_values_and_names():
    assert w.make_option(w.PPP_LCP, w.LCP_MRU, 1500) == w.u16_option(w.LCP_MRU, 1500) == (1, b"\x05\xdc")
    assert w.make_option(w.PPP_IPCP, w.IPCP_IP_ADDRESS, "10.0.0.2") == w.ip_option("10.0.0.2")
    assert w.make_option(w.PPP_LCP, w.LCP_PFC) == (7, b"")
    assert w.make_option(w.PPP_LCP, w.LCP_AUTH_PROTOCOL, (w.PPPProtocol.CHAP, b"\x05")) == (3, b"\xc2\x23\x05")
    assert w.option_value(w.PPP_LCP, w.LCP_MAGIC_NUMBER, b"\x00\x00\x00\x09") == 9
    assert w.option_value(w.PPP_LCP, w.LCP_MAGIC_NUMBER, b"\x00\x09") is None  # wrong length
    assert w.option_value(w.PPP_LCP, 99, b"") is None
    assert w.option_value(w.PPP_IPCP, w.IPCP_IP_ADDRESSES, bytes(range(8))) == (
        ipaddress.IPv4Address("0.1.2.3"), ipaddress.IPv4Address("4.5.6.7"))
    with pytest.raises(ValueError):
        w.make_option(w.PPP_LCP, w.LCP_MRU, 70000)
    with pytest.raises(ValueError):
        w.make_option(w.PPP_IPCP, 99, b"")


def test_option_text_is_the_debug_ppp_negotiation_wording():
    for proto, opt, text in [
        (w.PPP_LCP, w.u16_option(w.LCP_MRU, 1500), "MRU 1500"),
        (w.PPP_LCP, w.u32_option(w.LCP_ACCM, 0x000A0000), "ACCM 0x000A0000"),
        (w.PPP_LCP, w.u32_option(w.LCP_MAGIC_NUMBER, 0x0ABCDEF1), "MagicNumber 0x0ABCDEF1"),
        (w.PPP_LCP, w.make_option(w.PPP_LCP, w.LCP_AUTH_PROTOCOL, (w.PPPProtocol.CHAP, b"\x05")), "AuthProto 0xC223"),
        (w.PPP_LCP, w.make_option(w.PPP_LCP, w.LCP_PFC), "PFC"),
        (w.PPP_LCP, w.make_option(w.PPP_LCP, w.LCP_ACFC), "ACFC"),
        (w.PPP_LCP, (99, b"xy"), "Unknown option 99"),
        (w.PPP_IPCP, w.ip_option("10.0.0.2"), "Address 10.0.0.2"),
    ]:
        assert w.option_text(proto, *opt) == text
