"""IOS 15 layouts, chosen by a configuration's ``version`` line (``emulator/cli/layout.py``).

The document's lab is copied with ``version 15.1`` in every configuration; its show commands are
compared line by line with 15.x captures (tests/samples/ios15_*, sources in SOURCES.md) after
masking what differs between two networks (addresses, numbers, names), and read by the tools that
know 15.x: Genie's iosxe parsers, ntc-templates and the project's own templates.
"""

from __future__ import annotations

import itertools
import re
import shutil

import pytest

from emulator.cli import crypto_show
from emulator.cli.layout import Layout, layout_of
from emulator.cli.session import CliSession
from emulator.config.loader import load_config
from emulator.engines.ike.policy import EspTransform
from emulator.lab.labfile import Lab
from emulator.wire import esp as E
from emulator.wire import isakmp as K
from suites.parsing import parse
from support import FIXTURES, ROOT

SAMPLES = ROOT / "tests" / "samples"

# The detail counters of one flow, copied from ``show crypto ipsec sa detail`` of an IOS-XE router
# (a public GitHub file: notes on an HA VPN to a cloud provider, CSR1000v); classic 15.x prints the
# same lines.  Only a fragment, so it lives here rather than in tests/samples (which hold whole outputs).
DETAIL_COUNTERS_XE = """\
    #pkts encaps: 8203, #pkts encrypt: 8203, #pkts digest: 8203
    #pkts decaps: 7875, #pkts decrypt: 7875, #pkts verify: 7875
    #pkts compressed: 0, #pkts decompressed: 0
    #pkts not compressed: 0, #pkts compr. failed: 0
    #pkts not decompressed: 0, #pkts decompress failed: 0
    #pkts no sa (send) 0, #pkts invalid sa (rcv) 0
    #pkts encaps failed (send) 0, #pkts decaps failed (rcv) 0
    #pkts invalid prot (recv) 0, #pkts verify failed: 0
    #pkts invalid identity (recv) 0, #pkts invalid len (rcv) 0
    #pkts replay rollover (send): 0, #pkts replay rollover (rcv) 0
    ##pkts replay failed (rcv): 0
    #pkts tagged (send): 0, #pkts untagged (rcv): 0
    #pkts not tagged (send): 0, #pkts not untagged (rcv): 0
    #pkts internal err (send): 0, #pkts internal err (recv) 0
"""


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


class Lab15:
    """The document's lab with ``version 15.1``, a tunnel brought up by a ping from the remote's
    LAN address, and one NAT translation from the remote host to the internet host."""

    def __init__(self, directory):
        shutil.copytree(FIXTURES, directory)
        changed = 0
        for cfg in directory.glob("*.cfg"):
            text, n = re.subn(r"^version 12\.2$", "version 15.1", cfg.read_text(), flags=re.M)
            cfg.write_text(text)
            changed += n
        assert changed == 6
        self.lab = Lab.from_file(directory / "lab.yml")
        self.remote = CliSession(self.lab.device("dr_whoovie"), privileged=True, line="vty0")
        self.hub = CliSession(self.lab.device("sam-i-am"), privileged=True, line="vty0")
        host = CliSession(self.lab.device("remote-host"), privileged=True, line="vty0")
        assert "Success rate is 80 percent (4/5)" in self.remote.execute("ping ip 10.2.2.3 source 10.1.1.1")
        assert "!!!" in host.execute("ping 192.0.2.10")


@pytest.fixture(scope="module")
def lab15(tmp_path_factory):
    lab = Lab15(tmp_path_factory.mktemp("lab15") / "doc14131")
    yield lab
    lab.lab.close()


_MASKS = [
    (re.compile(r"\b\d+\.\d+\.\d+\.\d+\b"), "A"),
    (re.compile(r"0x[0-9A-F]+"), "0xH"),
    (re.compile(r"\b(GigabitEthernet|Ethernet|Serial)[\d/]+"), "IF"),
    (re.compile(r"(crypto map: |Crypto map tag: |using crypto map |Crypto Map IPv4 )\"?[\w-]+\"?"), r"\1M"),
    (re.compile(r"esp-[\w-]+"), "esp-X"),
    (re.compile(r"^(\s+)[\w-]+:  \{"), r"\1T:  {"),
    (re.compile(r"\d+"), "N"),
]


def shape(text: str) -> list[str]:
    """The lines with addresses, numbers, SPIs and names masked; runs of equal lines count once;
    trailing blank lines dropped."""
    out = []
    for line in text.rstrip("\n").split("\n"):
        for pattern, repl in _MASKS:
            line = pattern.sub(repl, line)
        out.append(line)
    return [k for k, _ in itertools.groupby(out)]


# ---------------------------------------------------------------- the choice

@pytest.mark.parametrize("line, layout", [("version 12.2", Layout.IOS12), ("version 12.4", Layout.IOS12),
                                          ("", Layout.IOS12), ("version 15.0", Layout.IOS15),
                                          ("version 15.1", Layout.IOS15), ("version 15.4", Layout.IOS15)])
def test_layout_follows_the_version_line(line, layout):
    cfg, errors = load_config(f"{line}\nhostname r\n", "r.cfg")
    assert errors == []
    assert layout_of(cfg) is layout


def test_the_document_lab_keeps_the_12_2_layouts():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    remote = CliSession(lab.device("dr_whoovie"), privileged=True, line="vty0")
    remote.execute("ping ip 10.2.2.3 source 10.1.1.1")
    assert remote.execute("show crypto isakmp sa").startswith("dst             src             state           conn-id")
    assert "local addr. 100.100.100.1" in remote.execute("show crypto ipsec sa")
    assert remote.execute("show crypto map").startswith('Crypto Map "rtp" 1 ipsec-isakmp')
    assert "\n    permit ip 10.1.1.0 0.0.0.255 10.2.2.0 0.0.0.255\n" in remote.execute("show access-lists")
    assert "BW 1544 Kbit, DLY" in remote.execute("show interfaces Serial0")
    lab.close()


# ---------------------------------------------------------------- compared with 15.x captures

def _columns(row: str) -> tuple[int, ...]:
    """Where the fields of a ``show crypto isakmp sa`` row start, the conn-id by where it ends."""
    fields = [(m.start(), m.end()) for m in re.finditer(r"\S+", row)]
    return fields[0][0], fields[1][0], fields[2][0], fields[3][1], fields[4][0]


def test_isakmp_sa_against_the_15_capture(lab15):
    real = sample("ios15_show_crypto_isakmp_sa.txt").split("\n")
    heading = ["IPv4 Crypto ISAKMP SA", "dst             src             state          conn-id status"]
    for session in (lab15.remote, lab15.hub):
        ours = session.execute("show crypto isakmp sa").split("\n")
        assert ours[:2] == real[:2] == heading
        assert ours[3:] == real[3:] == ["", "IPv6 Crypto ISAKMP SA", "", ""]
        # dst is the responder's address (the hub's), src the initiator's, on both routers
        assert ours[2].split() == ["99.99.99.1", "100.100.100.1", "QM_IDLE", "1001", "ACTIVE"]
        # the columns of the heading: dst, src, state, conn-id right-aligned under its heading, status
        assert _columns(ours[2]) == _columns(real[2]) == (0, 16, 32, 54, 55)


def test_ipsec_sa_against_the_15_capture(lab15):
    ours = lab15.remote.execute("show crypto ipsec sa")
    assert shape(ours) == shape(sample("ios15_show_crypto_ipsec_sa.txt"))
    assert "     plaintext mtu 1446, path mtu 1500, ip mtu 1500, ip mtu idb Serial0\n" in ours
    assert "    Crypto map tag: rtp, local addr 100.100.100.1\n" in ours
    flow = lab15.lab.device("dr_whoovie").crypto.flows()[0]
    out = flow.current_outbound
    assert f"     current outbound spi: 0x{out.spi:X}({out.spi})\n" in ours
    assert f"    #pkts encaps: {flow.encaps}, #pkts encrypt: {flow.encaps}, #pkts digest: {flow.encaps}\n" in ours
    assert flow.encaps == 4


def test_ipsec_sa_detail_counters_against_the_15_capture(lab15):
    ours = lab15.remote.execute("show crypto ipsec sa detail").split("\n")
    start = next(i for i, line in enumerate(ours) if line.startswith("    #pkts encaps"))
    counters = ours[start:start + 14]
    assert shape("\n".join(counters)) == shape(DETAIL_COUNTERS_XE)
    assert "        replay detection support: Y  replay window size: 64" in ours


def test_crypto_map_against_the_15_capture(lab15):
    ours = lab15.remote.execute("show crypto map")

    def without_acl_entries(text: str) -> str:
        return "\n".join(line for line in text.split("\n") if not line.startswith("            access-list "))
    assert shape(without_acl_entries(ours)) == shape(without_acl_entries(sample("ios15_show_crypto_map.txt")))
    assert "            access-list 115 permit ip 10.1.1.0 0.0.0.255 10.2.2.0 0.0.0.255\n" in ours
    assert "                rtpset:  { esp-des esp-md5-hmac  } ,\n" in ours


def test_hub_crypto_map_temporary_entry_in_15_wording(lab15):
    lines = lab15.hub.execute("show crypto map").split("\n")
    assert lines[:3] == ['Crypto Map IPv4 "rtptrans" 10 ipsec-isakmp', "        Dynamic map template tag: rtpmap", ""]
    assert lines[3:8] == ['Crypto Map IPv4 "rtptrans" 65536 ipsec-isakmp', "        Peer = 100.100.100.1",
                          "        Extended IP access list ",
                          "            access-list  permit ip 10.2.2.0 0.0.0.255 10.1.1.0 0.0.0.255",
                          "            dynamic (created from dynamic map rtpmap/10)"]
    assert "        Responder-Only (Y/N): N" in lines
    assert "                rtpset:  { esp-des esp-md5-hmac  } ," in lines


def test_access_lists_numbered_as_15_prints_them(lab15):
    text = lab15.remote.execute("show access-lists")
    assert text == ("Extended IP access list 115\n"
                    "    10 permit ip 10.1.1.0 0.0.0.255 10.2.2.0 0.0.0.255\n"
                    "    20 deny   ip 10.1.1.0 0.0.0.255 any\n"
                    "Extended IP access list 120\n"
                    "    10 deny   ip 10.1.1.0 0.0.0.255 10.2.2.0 0.0.0.255\n"
                    "    20 permit ip 10.1.1.0 0.0.0.255 any (1 match)\n")
    # the 12.3+ capture's form (reference §1.8): "<seq> <entry>[ (N matches)]"
    for line in sample("ref_1.8_access_lists_12.3_seq.txt").split("\n")[2:]:
        if line and not line.startswith("Extended"):
            assert re.match(r"\d+ (permit|deny) ", line)


def test_interfaces_in_the_later_wording(lab15):
    text = lab15.remote.execute("show interfaces Serial0").split("\n")
    assert text[3:7] == ["  MTU 1500 bytes, BW 1544 Kbit/sec, DLY 20000 usec,",
                         "     reliability 255/255, txload 1/255, rxload 1/255",
                         "  Encapsulation PPP, LCP Open", "  Open: IPCP, loopback not set"]
    assert "     Available Bandwidth 1158 kilobits/sec" in text
    real = sample("ref_1.9_show_int_serial_12.4_ppp.txt").split("\n")
    assert real[6:8] == ["  Encapsulation PPP, LCP Open", "  Open: IPCP, CDPCP, loopback not set"]
    assert "     Available Bandwidth 1158 kilobits/sec" in real


def test_nat_translations_as_15_prints_them(lab15):
    text = lab15.remote.execute("show ip nat translations")
    assert shape(text)[0] == shape(sample("ref_1.6_nat_translations_15.x_icmp.txt"))[1]
    (row,) = text.split("\n")[1:-1]
    assert re.fullmatch(r"icmp 100\.100\.100\.1:(\d+) +10\.1\.1\.10:\1 +192\.0\.2\.10:\1 +192\.0\.2\.10:\1", row)


# ---------------------------------------------------------------- plaintext mtu

@pytest.mark.parametrize("cipher, auth, mode, path, plain", [
    (E.ESP_AES, E.AUTH_HMAC_SHA, K.ENCAP_TUNNEL, 1500, 1438),   # ios15_show_crypto_ipsec_sa.txt
    (E.ESP_NULL, E.AUTH_HMAC_SHA, K.ENCAP_TUNNEL, 1400, 1358),  # a 15.x capture, esp-null esp-sha-hmac, path mtu 1400
    (E.ESP_DES, E.AUTH_HMAC_MD5, K.ENCAP_TUNNEL, 1500, 1446),
    (E.ESP_AES, E.AUTH_HMAC_SHA, K.ENCAP_TRANSPORT, 1500, 1458),
])
def test_plaintext_mtu(cipher, auth, mode, path, plain):
    assert crypto_show._plaintext_mtu(EspTransform(cipher, auth, mode), path) == plain


# ---------------------------------------------------------------- the readers

def test_project_templates_read_the_15_layouts(lab15):
    (isakmp,) = parse("show crypto isakmp sa", lab15.remote.execute("show crypto isakmp sa"))
    assert (isakmp["state"], isakmp["conn_id"]) == ("QM_IDLE", "1001")
    rows = parse("show crypto ipsec sa", lab15.remote.execute("show crypto ipsec sa"))
    assert [r["entry"] for r in rows] == ["ident", "spi", "spi"]
    assert rows[0]["current_peer"] == "99.99.99.1" and rows[0]["local_addr"] == "100.100.100.1"
    assert parse("show crypto map", lab15.remote.execute("show crypto map"))[0]["peers"] == ["99.99.99.1"]
    acl = parse("show access-lists", lab15.remote.execute("show access-lists"))
    assert len(acl) == 4
    (serial,) = parse("show interfaces Serial0", lab15.remote.execute("show interfaces Serial0"))
    assert serial["ip_address"] == "100.100.100.1"


def ntc(command: str, text: str):
    from ntc_templates.parse import parse_output

    return parse_output(platform="cisco_ios", command=command, data=text)


def test_ntc_templates_read_the_15_layouts(lab15):
    sas = ntc("show crypto ipsec sa detail", lab15.remote.execute("show crypto ipsec sa detail"))
    assert [(s["sa_orientation"], s["sa_flow_id"], s["sa_status"]) for s in sas] == [
        ("inbound", "SW:1", "ACTIVE(ACTIVE)"), ("outbound", "SW:2", "ACTIVE(ACTIVE)")]
    assert {s["plaintext_mtu"] for s in sas} == {"1446"} and {s["pkts_no_sa"] for s in sas} == {"1"}
    acl = ntc("show access-lists", lab15.remote.execute("show access-lists"))
    # ntc's template reads "(N matches)" only: the singular "(1 match)" leaves MATCHES empty.
    assert [(a["name"], a["sn"], a["action"], a["destination"], a["matches"]) for a in acl] == [
        ("115", "10", "permit", "10.2.2.0 0.0.0.255", ""), ("115", "20", "deny", "any", ""),
        ("120", "10", "deny", "10.2.2.0 0.0.0.255", ""), ("120", "20", "permit", "any", "")]
    (serial,) = ntc("show interfaces Serial0", lab15.remote.execute("show interfaces Serial0"))
    assert (serial["encapsulation"], serial["bandwidth"], serial["ip_address"]) == ("PPP", "1544 Kbit", "100.100.100.1")
    (nat,) = ntc("show ip nat translations", lab15.remote.execute("show ip nat translations"))
    assert (nat["protocol"], nat["inside_local_ip"], nat["outside_global_ip"]) == ("icmp", "10.1.1.10", "192.0.2.10")


def genie(name: str, text: str):
    parser = pytest.importorskip("genie.libs.parser.iosxe.show_crypto")
    from unittest.mock import Mock

    return getattr(parser, name)(device=Mock()).parse(output=text)


def test_genie_reads_15_isakmp_sa_of_the_lab_and_of_the_capture(lab15):
    got = genie("ShowCryptoIsakmpSa", lab15.hub.execute("show crypto isakmp sa"))
    assert got == {"isakmp_stats": {"IPv4": {1: {"destination": "99.99.99.1", "source": "100.100.100.1",
                                                  "session_state": "QM_IDLE", "conn_id": 1001, "status": "ACTIVE"}}}}
    real = genie("ShowCryptoIsakmpSa", sample("ios15_show_crypto_isakmp_sa.txt"))
    assert real["isakmp_stats"]["IPv4"][1]["conn_id"] == 1001


def test_genie_reads_15_ipsec_sa_of_the_lab_and_of_the_capture(lab15):
    got = genie("ShowCryptoIpsecSa", lab15.remote.execute("show crypto ipsec sa"))
    iface = got["interface"]["Serial0"]
    assert (iface["crypto_map_tag"], iface["local_addr"]) == ("rtp", "100.100.100.1")
    flow = iface["ident"][1]
    assert (flow["local_ident"]["addr"], flow["remote_ident"]["addr"], flow["peer_ip"], flow["port"]) == (
        "10.1.1.0", "10.2.2.0", "99.99.99.1", 500)
    assert (flow["pkts_encaps"], flow["pkts_decaps"], flow["send_errors"]) == (4, 4, 1)
    assert (flow["plaintext_mtu"], flow["path_mtu"], flow["ip_mtu_idb"], flow["pfs"], flow["dh_group"]) == (
        1446, 1500, "Serial0", "N", "none")
    out = lab15.lab.device("dr_whoovie").crypto.flows()[0].current_outbound
    assert flow["current_outbound_spi"] == f"0x{out.spi:X}({out.spi})"
    (spi, sa), = flow["outbound_esp_sas"]["spi"].items()
    assert spi == f"0x{out.spi:X}({out.spi})"
    assert (sa["conn_id"], sa["flow_id"], sa["flow_id_val"], sa["status"]) == (2, "SW", 2, "ACTIVE(ACTIVE)")
    real = genie("ShowCryptoIpsecSa", sample("ios15_show_crypto_ipsec_sa.txt"))
    assert real["interface"]["GigabitEthernet0/0"]["ident"][1]["plaintext_mtu"] == 1438


def test_genie_cannot_read_a_flow_without_flags(lab15):
    """The hub's flow, made from the peer's proposal through the dynamic map, has ``flags={}``, as
    15.x prints it for such a flow (a 15.x capture: ``current_peer 1.1.1.2 port 500`` /
    ``PERMIT, flags={}``); Genie's regex wants at least one flag and drops the line."""
    pytest.importorskip("genie.libs.parser.iosxe.show_crypto")
    from genie.metaparser.util.exceptions import SchemaMissingKeyError

    text = lab15.hub.execute("show crypto ipsec sa")
    assert "   current_peer 100.100.100.1 port 500\n     PERMIT, flags={}\n" in text
    with pytest.raises(SchemaMissingKeyError) as missing:
        genie("ShowCryptoIpsecSa", text)
    assert "'ident', 1, 'acl']" in str(missing.value) and "'ident', 1, 'action']" in str(missing.value)
    got = genie("ShowCryptoIpsecSa", text.replace("flags={}", "flags={x}"))
    assert got["interface"]["Serial0"]["ident"][1]["peer_ip"] == "100.100.100.1"


def test_genie_crypto_map_schema_wants_ios_xe_lines(lab15):
    """Genie's ShowCryptoMap schema requires ``Access-List SS dynamic:``, a line only IOS-XE prints:
    it refuses the 15.x capture as it refuses the lab's 15.x output."""
    pytest.importorskip("genie.libs.parser.iosxe.show_crypto")
    from genie.metaparser.util.exceptions import SchemaMissingKeyError

    for text in (sample("ios15_show_crypto_map.txt"), lab15.remote.execute("show crypto map")):
        with pytest.raises(SchemaMissingKeyError, match="access_list_ss_dynamic"):
            genie("ShowCryptoMap", text)
    xe = genie("ShowCryptoMap", sample("genie_show_crypto_map_15.x_two_peers.txt"))
    assert xe["ipv4"]["crypto_map_tag"]["ikev2-cryptomap"]["peer"] == ["172.20.249.12", "172.20.249.3"]
