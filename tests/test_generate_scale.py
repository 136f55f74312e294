"""The lab generator beyond one access server: the tree of provider routers, its address pools and their limits."""

import re
from ipaddress import IPv4Network

import pytest

from emulator.cli.session import CliSession
from emulator.lab.generate import MAX_SPOKES, Design, GenerateError, lab_files, write_lab
from emulator.lab.labfile import Lab, load_lab
from emulator.labtime import SECOND


def test_every_spoke_dials_learns_its_address_and_its_lan_hosts_echo_brings_its_tunnel_up(tmp_path):
    d = Design(spokes=23)
    write_lab(d, tmp_path)
    lab = Lab.from_file(tmp_path / "lab.yml")
    try:
        assert lab.boot_errors() == [] and lab.links_up()
        hosts = [CliSession(lab.device(f"spoke{k}-host"), privileged=True, line="console") for k in range(1, 24)]
        CliSession(lab.device("hub-host"), privileged=True, line="console").execute("ping 172.16.0.1 repeat 2")
        for host in hosts:
            host.execute("ping 172.16.0.10 repeat 2 timeout 1")    # ARP for the gateway, then IKE
        lab.advance(5 * SECOND)
        for k, host in enumerate(hosts, 1):
            out = host.execute("ping 172.16.0.10 repeat 3")
            assert "Success rate is 100 percent (3/3)" in out, (k, out)
        spoke23 = CliSession(lab.device("spoke23"), privileged=True, line="console")
        assert re.search(r"Serial0\s+198\.19\.0\.146\s+YES IPCP\s+up\s+up",
                         spoke23.execute("show ip interface brief")), "spoke23 learns its line's address"
        hub = CliSession(lab.device("hub"), privileged=True, line="console")
        peers = re.findall(r"203\.0\.113\.1\s+(\S+)\s+QM_IDLE", hub.execute("show crypto isakmp sa"))
        # spoke k's line: server (k-1)//9 at offset 64 each, line (k-1)%9 at offset 4 each, the spoke at +2
        assert sorted(peers) == sorted(f"198.19.0.{64 * ((k - 1) // 9) + 4 * ((k - 1) % 9) + 2}"
                                       for k in range(1, 24))
    finally:
        lab.close()


def test_the_provider_network_is_a_tree_of_leased_lines_nine_down_from_each_router(tmp_path):
    write_lab(Design(spokes=1000), tmp_path)
    spec = load_lab(tmp_path / "lab.yml")
    assert [len(link.ports) for link in spec.links if link.kind == "ethernet"] == [2] * 1002
    names = list(spec.devices)
    assert (sum(n.startswith("as") for n in names), sum(n.startswith("dist") for n in names),
            sum(n.startswith("agg") for n in names)) == (112, 13, 2)
    serial = {link.ports[0]: link.ports[1] for link in spec.links if link.kind == "serial"}
    assert len(serial) == 1 + 1000 + 112 + 13 + 2
    assert serial[("spoke1000", "Serial0")] == ("as112", "Serial1")     # 999 = 9 x 111 + 0
    assert serial[("as112", "Serial0")] == ("dist13", "Serial4")        # 111 = 9 x 12 + 3
    assert serial[("dist13", "Serial0")] == ("agg2", "Serial4")
    assert serial[("agg2", "Serial0")] == ("core", "Serial2")
    hub = (tmp_path / "hub.cfg").read_text()
    assert "access-list 101 permit ip 172.16.0.0 0.0.0.255 172.16.0.0 0.15.255.255" in hub
    assert hub.count("access-list 101") == 2                 # one summary, then the deny
    core = (tmp_path / "core.cfg").read_text()
    # agg2 holds servers 82-112: lines 198.19.20.64 (64 x 81) to 198.19.27.255 (64 x 112 - 1)
    assert [line for line in core.splitlines() if line.startswith("ip route") and line.endswith("Serial2")] == [
        "ip route 198.19.20.64 255.255.255.192 Serial2", "ip route 198.19.20.128 255.255.255.128 Serial2",
        "ip route 198.19.21.0 255.255.255.0 Serial2", "ip route 198.19.22.0 255.255.254.0 Serial2",
        "ip route 198.19.24.0 255.255.252.0 Serial2"]


@pytest.mark.parametrize("spokes, prefix, last", [(4095, 24, "172.31.255.0/24"), (4096, 25, "172.24.0.0/25"),
                                                  (10240, 26, "172.26.0.0/26")])
def test_lans_shrink_so_that_every_spoke_has_one_of_the_pool(spokes, prefix, last):
    d = Design(spokes=spokes)
    assert d.lan_prefix() == prefix and d.lan(spokes) == IPv4Network(last)
    assert d.lan(0) == IPv4Network(f"172.16.0.0/{prefix}")


def test_five_thousand_spokes_fit_the_plan():
    files = lab_files(Design(spokes=5000))
    assert len([n for n in files if re.fullmatch(r"as\d+\.cfg", n)]) == 556
    # spoke 5000: access server 556, line 5: 198.19.0.0 + 555 x 64 + 4 x 4 + 2
    assert "ip local pool SPOKE5000 198.19.138.210" in files["as556.cfg"]
    assert " ip address 198.18.8.174 255.255.255.252" in files["as556.cfg"]       # its line up: 198.18.0.0 + 4 x 555


def test_a_plan_that_overflows_is_refused_naming_n_and_the_limit():
    with pytest.raises(GenerateError, match=rf"--spokes {MAX_SPOKES + 1}: the address plan holds at most "
                                            rf"{MAX_SPOKES} spokes"):
        Design(spokes=MAX_SPOKES + 1).check()
