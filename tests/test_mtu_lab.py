"""MTU, DF and fragments in the document's lab, compared with sourced IOS output.

Samples (tests/samples/SOURCES.md): ``pub_ping_df_fits.txt`` and
``pub_ping_df_could_not_fragment.txt``, IOS pings with the DF bit set that fit
the path and that do not (``M.M.M``).
"""

import pytest
from scapy.layers.inet import ICMP, IP, defragment
from scapy.layers.ipsec import ESP, SecurityAssociation

from emulator.cli.session import CliSession
from emulator.lab.labfile import Lab, load_lab
from emulator.labtime import SECOND
from emulator.wire.pcap import read_pcap
from suites.parsing import parse
from support import ROOT

LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"
SAMPLES = ROOT / "tests" / "samples"
HUB_SERIAL_PCAP = "serial-sam-i-am-Serial0--isp-Serial1.pcap"
REMOTE_SERIAL_PCAP = "serial-dr_whoovie-Serial0--isp-Serial0.pcap"


def cli(lab, device):
    return CliSession(lab.device(device), privileged=True, line="vty0")


def sample_as(name: str, size: int, target: str, source: str) -> list[str]:
    """A sourced ping sample with the lab's size and addresses, without its command line and timings."""
    lines = (SAMPLES / name).read_text().splitlines()[1:]
    original_size = lines[1].split(", ")[1].split("-")[0]
    text = "\n".join(lines).replace("11.11.11.1", target).replace("10.10.10.1", source)
    return _untimed(text.replace(f"{original_size}-byte", f"{size}-byte").splitlines())


def _untimed(lines: list[str]) -> list[str]:
    return [line.split(", round-trip")[0] for line in lines]


def ping_lines(session, command: str) -> list[str]:
    return _untimed([line for line in session.execute(command).splitlines() if line])


def ip_frames(path) -> list[bytes]:
    _, records = read_pcap(path)
    # Cisco HDLC (type 0x0800) and PPP (protocol 0x0021): the IP datagram after 4 bytes.
    return [frame[4:] for _, frame in records if frame[2:4] in (b"\x08\x00", b"\x00\x21")]


@pytest.fixture
def tunnel():
    lab = Lab.from_file(LAB)
    assert ".!!!!" in cli(lab, "dr_whoovie").execute("ping ip 10.2.2.3 source 10.1.1.1")
    lab.advance(SECOND)
    return lab


def test_a_1500_byte_df_ping_through_the_tunnel_fails_with_the_ios_result(tunnel):
    remote = cli(tunnel, "dr_whoovie")
    got = ping_lines(remote, "ping 10.2.2.3 source 10.1.1.1 size 1500 df-bit")
    assert got == sample_as("pub_ping_df_could_not_fragment.txt", 1500, "10.2.2.3", "10.1.1.1")
    tunnel.advance(SECOND)
    got = ping_lines(remote, "ping 10.2.2.3 source 10.1.1.1 size 1400 df-bit")
    assert got == sample_as("pub_ping_df_fits.txt", 1400, "10.2.2.3", "10.1.1.1")


def test_the_df_limit_is_the_path_mtu_less_the_esp_overhead(tunnel):
    """esp-des esp-md5-hmac on a 1500-byte path: 20 outer + 8 SPI/sequence + 8 IV + 12 ICV, and the
    padded payload a multiple of 8 with its 2 trailer bytes: 1446 bytes fit, 1447 do not."""
    remote, hub = cli(tunnel, "dr_whoovie"), cli(tunnel, "sam-i-am")
    for session, target, source in ((remote, "10.2.2.3", "10.1.1.1"), (hub, "10.1.1.1", "10.2.2.3")):
        (row, *_) = [r for r in parse("show crypto ipsec sa", session.execute("show crypto ipsec sa"))
                     if r["entry"] == "ident"]
        assert (row["path_mtu"], row["ip_mtu"], row["ip_mtu_interface"]) == ("1500", "1500", "Serial0")
        assert "(5/5)" in session.execute(f"ping {target} source {source} size 1446 df-bit")
        tunnel.advance(SECOND)
        assert "M.M.M" in session.execute(f"ping {target} source {source} size 1447 df-bit")
        tunnel.advance(SECOND)


def test_a_1500_byte_ping_without_df_crosses_the_tunnel_as_esp_fragments(tmp_path):
    lab = Lab(load_lab(LAB), capture_dir=tmp_path)
    remote = cli(lab, "dr_whoovie")
    remote.execute("ping ip 10.2.2.3 source 10.1.1.1")
    assert "(5/5)" in remote.execute("ping 10.2.2.3 source 10.1.1.1 size 1500")
    lab.close()
    frames = ip_frames(tmp_path / HUB_SERIAL_PCAP)
    assert max(len(f) for f in frames) <= 1500
    esp = [IP(f) for f in frames if f[9] == 50]
    fragments = [p for p in esp if p.flags.MF or p.frag]
    assert len(fragments) == 20            # 5 echoes and 5 replies, each ESP packet in two pieces
    assert all(not p.flags.DF for p in fragments)
    # scapy reassembles the ESP and decrypts it with the keys the lab exported: the 1500-byte echoes.
    sas = {}
    for row in (tmp_path / "esp_sa").read_text().splitlines():
        f = [x.strip('"') for x in row.split(",")]
        sas[int(f[3], 16)] = SecurityAssociation(ESP, spi=int(f[3], 16), crypt_algo="DES",
                                                 crypt_key=bytes.fromhex(f[5][2:]), auth_algo="HMAC-MD5-96",
                                                 auth_key=bytes.fromhex(f[7][2:]), tunnel_header=IP(src=f[1], dst=f[2]))
    whole = defragment(fragments)
    inner = [sas[p[ESP].spi].decrypt(p) for p in whole]
    assert sorted((len(p), p[ICMP].type) for p in inner) == [(1500, 0)] * 5 + [(1500, 8)] * 5


def test_a_3000_byte_ping_to_the_hub_is_fragmented_both_ways(tmp_path):
    lab = Lab(load_lab(LAB), capture_dir=tmp_path)
    out = cli(lab, "dr_whoovie").execute("ping 99.99.99.1 size 3000")
    assert "Success rate is 100 percent (5/5)" in out
    hub, remote = lab.device("sam-i-am"), lab.device("dr_whoovie")
    assert (remote.ip.fragmented, remote.ip.fragments_made) == (5, 15)
    assert (hub.ip.fragmented, hub.ip.fragments_made) == (5, 15)
    assert hub.local.reassembler.reassembled == remote.local.reassembler.reassembled == 5
    lab.close()
    for pcap in (HUB_SERIAL_PCAP, REMOTE_SERIAL_PCAP):
        frames = ip_frames(tmp_path / pcap)
        assert max(len(f) for f in frames) <= 1500, pcap
        pieces = [IP(f) for f in frames if f[9] == 1]
        assert len(pieces) == 30, pcap     # 3 fragments for each echo and each reply
        whole = defragment(pieces)
        assert sorted((len(p), p[ICMP].type) for p in whole) == [(3000, 0)] * 5 + [(3000, 8)] * 5


def test_a_smaller_mtu_on_the_path_is_learnt_by_the_sa_and_shown_as_its_path_mtu(tunnel):
    isp, remote = cli(tunnel, "isp"), cli(tunnel, "dr_whoovie")
    isp.configure_lines(["interface Serial1", "ip mtu 1400"])
    tunnel.advance(SECOND)
    # The first echo's ESP (DF copied) is refused by the ISP, whose "fragmentation needed" teaches the
    # remote's SA a path MTU of 1400; the echoes after it are refused at the remote (M, rate limited).
    got = ping_lines(remote, "ping 10.2.2.3 source 10.1.1.1 size 1400 df-bit")
    assert got[4] == ".M.M."
    (row, *_) = [r for r in parse("show crypto ipsec sa", remote.execute("show crypto ipsec sa"))
                 if r["entry"] == "ident"]
    assert (row["path_mtu"], row["ip_mtu"]) == ("1400", "1500")
    tunnel.advance(SECOND)
    # 1400 less the ESP overhead (1352 for the padded payload, its 2 trailer bytes in it): 1350 fit, 1351 not.
    assert "(5/5)" in remote.execute("ping 10.2.2.3 source 10.1.1.1 size 1350 df-bit")
    tunnel.advance(SECOND)
    assert "M.M.M" in remote.execute("ping 10.2.2.3 source 10.1.1.1 size 1351 df-bit")
    tunnel.advance(SECOND)
    assert "(5/5)" in remote.execute("ping 10.2.2.3 source 10.1.1.1 size 1500")   # without DF: fragments


def test_mtu_and_ip_mtu_are_configured_shown_and_bounded():
    lab = Lab.from_file(LAB)
    remote = cli(lab, "dr_whoovie")
    out = remote.configure_lines(["interface Ethernet0", "mtu 1400", "ip mtu 1500", "ip mtu 1300"])
    assert "% Invalid input detected at '^' marker." in out
    run = remote.execute("show running-config")
    block = run.split("interface Ethernet0\n")[1].split("!")[0].splitlines()
    assert block[0] == " mtu 1400" and " ip mtu 1300" in block
    assert block.index(" ip mtu 1300") == block.index(next(b for b in block if b.startswith(" ip address"))) + 1
    assert "MTU 1400 bytes" in remote.execute("show interfaces Ethernet0")
    # "If the current IP MTU value is the same as the MTU value and you change the MTU value, the IP MTU
    # value will be modified automatically to match the new MTU" (Cisco IOS command reference, ip mtu).
    remote.configure_lines(["interface Ethernet0", "ip mtu 1400", "mtu 1200"])
    assert " ip mtu" not in remote.execute("show running-config").split("interface Ethernet0\n")[1].split("!")[0]
    assert lab.device("dr_whoovie").ip.ip_mtu("Ethernet0") == 1200
    remote.configure_lines(["interface Ethernet0", "no mtu"])
    block = remote.execute("show running-config").split("interface Ethernet0\n")[1].split("!")[0]
    assert " mtu" not in block and lab.device("dr_whoovie").ip.ip_mtu("Ethernet0") == 1500


def test_a_host_behind_the_remote_is_told_by_the_router_and_transit_fragments_pass_nat(tunnel):
    host = cli(tunnel, "remote-host")
    host.execute("ping 10.2.2.10")                        # ARP on both LANs
    tunnel.advance(SECOND)
    got = ping_lines(host, "ping 10.2.2.10 size 1500 df-bit")
    expected = [line for line in sample_as("pub_ping_df_could_not_fragment.txt", 1500, "10.2.2.10", "-")
                if not line.startswith("Packet sent with a source address")]     # no source given here
    assert got == expected
    router = tunnel.device("dr_whoovie").ip
    assert router.unfragmentable == 5 and router.ip_drops["unreachable rate limited"] == 2   # the 2 dots
    tunnel.advance(SECOND)
    assert "(5/5)" in host.execute("ping 10.2.2.10 size 1446 df-bit")
    # Through the tunnel and through NAT (overload to the internet host), fragments are routed as they come.
    assert "(5/5)" in host.execute("ping 10.2.2.10 size 4000")
    host.execute("ping 192.0.2.10")
    assert "(5/5)" in host.execute("ping 192.0.2.10 size 4000")
    assert tunnel.device("internet-host").local.reassembler.reassembled == 5
    # The remote reassembled only ESP addressed to itself: of each 4000-byte reply the hub fragmented to
    # 1500, 1500 and 1040 bytes, the two 1500-byte pieces made ESP too large, sent in two fragments.
    # The inner fragments and those to the internet host went on as they came.
    assert tunnel.device("dr_whoovie").local.reassembler.reassembled == 10


def test_a_datagram_larger_than_the_receiving_mtu_is_a_giant():
    lab = Lab.from_file(LAB)
    hub, remote = cli(lab, "sam-i-am"), cli(lab, "dr_whoovie")
    hub.configure_lines(["interface Serial0", "mtu 1400"])
    assert "(5/5)" in remote.execute("ping 99.99.99.1 size 1400")
    lab.advance(SECOND)
    assert "Success rate is 0 percent (0/5)" in remote.execute("ping 99.99.99.1 size 1401")
    counters = lab.device("sam-i-am").interfaces.state("Serial0").counters
    assert (counters.giants, counters.input_errors) == (5, 5)
    assert "5 giants" in hub.execute("show interfaces Serial0")
