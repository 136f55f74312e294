"""NAT overload with the route-map exemption, in the document's lab."""

import shutil
from ipaddress import IPv4Address

from emulator.cli.session import CliSession
from emulator.lab.labfile import Lab
from emulator.sim.clock import MS, SECOND
from emulator.wire.icmp import ICMPMessage
from emulator.wire.ipv4 import PROTO_ICMP, IPv4Packet
from emulator.wire.pcap import read_pcap
from emulator.wire.ppp import PPP_IP
from support import FIXTURES


def cli(lab, device):
    return CliSession(lab.device(device), privileged=True, line="vty0")


def lab_copy(tmp_path, edit=None, extra_host=False):
    for f in FIXTURES.glob("*"):
        shutil.copy(f, tmp_path / f.name)
    if edit:
        for name, (old, new) in edit.items():
            text = (tmp_path / name).read_text()
            assert old in text
            (tmp_path / name).write_text(text.replace(old, new))
    if extra_host:
        text = (tmp_path / "remote-host.cfg").read_text().replace("hostname remote-host", "hostname remote-host2")
        (tmp_path / "remote-host2.cfg").write_text(text.replace("10.1.1.10 255", "10.1.1.11 255"))
        lab = (tmp_path / "lab.yml").read_text()
        lab = lab.replace("  internet-host:", "  remote-host2:  {config: remote-host2.cfg}\n  internet-host:")
        lab = lab.replace("[dr_whoovie Ethernet0, remote-host Ethernet0]",
                          "[dr_whoovie Ethernet0, remote-host Ethernet0, remote-host2 Ethernet0]")
        (tmp_path / "lab.yml").write_text(lab)
    return tmp_path / "lab.yml"


def translations(lab, device):
    lines = cli(lab, device).execute("show ip nat translations").splitlines()
    if not lines:
        return []  # IOS prints nothing for an empty table
    assert lines[0] == "Pro Inside global      Inside local       Outside local      Outside global"
    return [line.split() for line in lines[1:]]


def test_remote_lan_host_is_translated_to_the_serial_address():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    out = cli(lab, "remote-host").execute("ping 192.0.2.10")
    assert "Success rate is 60 percent (3/5)" in out  # two ARP resolutions on the way
    (row,) = translations(lab, "dr_whoovie")
    proto, inside_global, inside_local, outside_local, outside_global = row
    ident = inside_local.split(":")[1]
    assert (proto, inside_global, inside_local) == ("icmp", f"100.100.100.1:{ident}", f"10.1.1.10:{ident}")
    assert outside_local == outside_global == f"192.0.2.10:{ident}"
    stats = cli(lab, "dr_whoovie").execute("show ip nat statistics").splitlines()
    assert stats[0] == "Total translations: 1 (0 static, 1 dynamic; 1 extended)"
    assert "Outside interfaces: Serial0" in stats and "Inside interfaces: Ethernet0" in stats
    assert "route-map nonat interface Serial0 refcount 1" in stats
    hits = next(line for line in stats if line.startswith("Hits:"))
    # Echo 1 creates the entry (a miss); echoes 2-4 and their replies use it (6 hits).
    assert hits == "Hits: 6  Misses: 1"


def test_hub_lan_host_is_translated_to_the_hub_serial_address():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    cli(lab, "hub-host").execute("ping 192.0.2.10")
    (row,) = translations(lab, "sam-i-am")
    assert row[0] == "icmp" and row[1].startswith("99.99.99.1:") and row[2].startswith("10.2.2.10:")


def test_same_identifier_from_two_inside_hosts_gets_two_global_ports(tmp_path):
    lab = Lab.from_file(lab_copy(tmp_path, extra_host=True))
    for host, address in (("remote-host", "10.1.1.10"), ("remote-host2", "10.1.1.11")):
        router = lab.device(host)
        for seq in range(2):  # the first resolves ARP
            echo = ICMPMessage.echo_request(4242, seq, b"\xab\xcd" * 36).encode()
            router.send_packet(IPv4Packet(IPv4Address(address), IPv4Address("192.0.2.10"), PROTO_ICMP, echo,
                                          ttl=255, identification=router.next_ip_id()))
            lab.advance(500 * MS)
    rows = translations(lab, "dr_whoovie")
    assert sorted(r[2] for r in rows) == ["10.1.1.10:4242", "10.1.1.11:4242"]
    globals_ = sorted(r[1] for r in rows)
    assert globals_[0] != globals_[1]
    assert all(g.startswith("100.100.100.1:") for g in globals_)
    assert "100.100.100.1:4242" in globals_  # the first keeps its identifier


def test_lan_to_lan_leaves_untranslated_on_the_wire(tmp_path):
    # Without the crypto map on the remote's Serial0, the VPN traffic leaves in clear: it must not be translated.
    lab_file = lab_copy(tmp_path, edit={"dr_whoovie.cfg": (" crypto map rtp\n", " !\n")})
    capture = tmp_path / "pcap"
    lab = Lab.from_file(lab_file, capture_dir=capture)
    cli(lab, "remote-host").execute("ping 10.2.2.10 repeat 3")
    lab.close()
    assert translations(lab, "dr_whoovie") == []
    _, records = read_pcap(capture / "serial-dr_whoovie-Serial0--isp-Serial0.pcap")
    sources = set()
    for _, frame in records:
        if frame[2:4] == PPP_IP.to_bytes(2, "big"):
            packet = IPv4Packet.decode(frame[4:])
            if packet.protocol == PROTO_ICMP:
                sources.add(str(packet.src))
    assert sources == {"10.1.1.10"}


def test_route_map_without_exemption_translates_the_vpn_traffic(tmp_path):
    lab_file = lab_copy(tmp_path, edit={
        "dr_whoovie.cfg": ("access-list 120 deny   ip 10.1.1.0 0.0.0.255 10.2.2.0 0.0.0.255\n", ""),
    })
    lab = Lab.from_file(lab_file)
    cli(lab, "remote-host").execute("ping 10.2.2.10 repeat 3")
    rows = translations(lab, "dr_whoovie")
    assert [r[3].split(":")[0] for r in rows] == ["10.2.2.10"]
    assert rows[0][1].startswith("100.100.100.1:")


def test_entries_age_out_and_clear():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    cli(lab, "remote-host").execute("ping 192.0.2.10 repeat 2")
    assert len(translations(lab, "dr_whoovie")) == 1
    lab.advance(30 * SECOND)
    assert len(translations(lab, "dr_whoovie")) == 1
    lab.advance(31 * SECOND)  # icmp-timeout is 60 s after the last use
    assert translations(lab, "dr_whoovie") == []
    stats = cli(lab, "dr_whoovie").execute("show ip nat statistics")
    assert "Expired translations: 1\n" in stats
    cli(lab, "remote-host").execute("ping 192.0.2.10 repeat 2")
    assert len(translations(lab, "dr_whoovie")) == 1
    assert cli(lab, "dr_whoovie").execute("clear ip nat translation *") == ""
    assert translations(lab, "dr_whoovie") == []


def test_new_translations_follow_a_new_ipcp_address():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    cli(lab, "remote-host").execute("ping 192.0.2.10 repeat 2")
    isp = cli(lab, "isp")
    isp.configure_lines(["ip local pool REMOTES 100.100.100.7", "interface Serial0", "shutdown"])
    lab.advance(3 * SECOND)
    isp.configure_lines(["interface Serial0", "no shutdown"])
    lab.advance(3 * SECOND)
    assert str(lab.device("dr_whoovie").interface_address("Serial0")) == "100.100.100.7/32"
    cli(lab, "dr_whoovie").execute("clear ip nat translation *")
    cli(lab, "remote-host").execute("ping 192.0.2.10 repeat 2")
    (row,) = translations(lab, "dr_whoovie")
    assert row[1].startswith("100.100.100.7:")


def test_debug_ip_nat_lines():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    remote = cli(lab, "dr_whoovie")
    remote.execute("terminal monitor")
    assert remote.execute("debug ip nat") == "IP NAT debugging is on\n"
    cli(lab, "remote-host").execute("ping 192.0.2.10 repeat 4")
    lines = [line.split(": ", 1)[1] for line in remote.execute("show debugging").splitlines()
             if "NAT" in line and ": " in line]
    assert any(line.startswith("NAT: s=10.1.1.10->100.100.100.1, d=192.0.2.10 [") for line in lines)
    assert any(line.startswith("NAT*: s=192.0.2.10, d=100.100.100.1->10.1.1.10 [") for line in lines)


def test_access_list_counters_count_nat_evaluations():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    cli(lab, "remote-host").execute("ping 192.0.2.10 repeat 2")
    out = cli(lab, "dr_whoovie").execute("show access-lists 120")
    assert out.splitlines()[0] == "Extended IP access list 120"
    assert out.splitlines()[2] == "    permit ip 10.1.1.0 0.0.0.255 any (1 match)"
    # 12.2 has only IP lists: both commands print the same.
    assert cli(lab, "dr_whoovie").execute("show ip access-lists") == cli(lab, "dr_whoovie").execute("show access-lists")
    assert cli(lab, "dr_whoovie").execute("show ip access-lists 120") == out
    cli(lab, "dr_whoovie").execute("clear access-list counters 120")
    assert "match" not in cli(lab, "dr_whoovie").execute("show access-lists 120")


def test_nat_rule_naming_a_missing_route_map_translates_nothing(tmp_path):
    lab_file = lab_copy(tmp_path, edit={"dr_whoovie.cfg": ("route-map nonat permit 10\n match ip address 120\n", "")})
    lab = Lab.from_file(lab_file)
    assert lab.device("dr_whoovie").boot_errors == []
    cli(lab, "remote-host").execute("ping 192.0.2.10 repeat 2")
    assert translations(lab, "dr_whoovie") == []
    assert "route-map nonat interface Serial0 refcount 0" in cli(lab, "dr_whoovie").execute("show ip nat statistics")
    assert cli(lab, "dr_whoovie").execute("show route-map nonat") == ""


def test_nat_expiry_leaves_the_tunnel_alone():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    assert "!!!!" in cli(lab, "dr_whoovie").execute("ping 10.2.2.3 source 10.1.1.1")
    cli(lab, "remote-host").execute("ping 192.0.2.10 repeat 2")
    lab.advance(70 * SECOND)   # the ICMP translation times out
    assert translations(lab, "dr_whoovie") == []
    assert "!!!!!" in cli(lab, "dr_whoovie").execute("ping 10.2.2.3 source 10.1.1.1")
    assert "QM_IDLE" in cli(lab, "sam-i-am").execute("show crypto isakmp sa")
