"""The lab generator beyond one access server: the tiered plan, its address pools and their limits."""

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
        # The first packets through each tier wait for ARP (IOS drops them): IKE retransmits after 10 s.
        lab.advance(60 * SECOND)
        for k, host in enumerate(hosts, 1):
            out = host.execute("ping 172.16.0.10 repeat 3")
            assert "Success rate is 100 percent (3/3)" in out, (k, out)
        spoke23 = CliSession(lab.device("spoke23"), privileged=True, line="console")
        assert re.search(r"Serial0\s+198\.19\.0\.138\s+YES IPCP\s+up\s+up",
                         spoke23.execute("show ip interface brief")), "spoke23 learns its line's address"
        hub = CliSession(lab.device("hub"), privileged=True, line="console")
        peers = re.findall(r"203\.0\.113\.1\s+(\S+)\s+QM_IDLE", hub.execute("show crypto isakmp sa"))
        # spoke k's line: server (k-1)//10 at offset 64 each, line (k-1)%10 at offset 4 each, the spoke at +2
        assert sorted(peers) == sorted(f"198.19.0.{64 * ((k - 1) // 10) + 4 * ((k - 1) % 10) + 2}"
                                       for k in range(1, 24))
    finally:
        lab.close()


def test_no_ethernet_segment_grows_with_the_number_of_spokes(tmp_path):
    write_lab(Design(spokes=1000), tmp_path)
    spec = load_lab(tmp_path / "lab.yml")
    sizes = [len(link.ports) for link in spec.links if link.kind == "ethernet"]
    assert max(sizes) == 33                                  # a distribution router and its 32 access servers
    servers = [d for d in spec.devices.values() if d.platform == "2522"]
    assert len(servers) == 100 and len([n for n in spec.devices if n.startswith("dist")]) == 4
    assert sum(1 for link in spec.links if link.kind == "serial") == 1001
    hub = (tmp_path / "hub.cfg").read_text()
    assert "access-list 101 permit ip 172.16.0.0 0.0.0.255 172.16.0.0 0.15.255.255" in hub
    assert hub.count("access-list 101") == 2                 # one summary, then the deny


@pytest.mark.parametrize("spokes, prefix, last", [(4095, 24, "172.31.255.0/24"), (4096, 25, "172.24.0.0/25"),
                                                  (10240, 26, "172.26.0.0/26")])
def test_lans_shrink_so_that_every_spoke_has_one_of_the_pool(spokes, prefix, last):
    d = Design(spokes=spokes)
    assert d.lan_prefix() == prefix and d.lan(spokes) == IPv4Network(last)
    assert d.lan(0) == IPv4Network(f"172.16.0.0/{prefix}")


def test_five_thousand_spokes_fit_the_plan():
    files = lab_files(Design(spokes=5000))
    assert len([n for n in files if re.fullmatch(r"as\d+\.cfg", n)]) == 500
    # spoke 5000: distribution 15 (from 0), its server 19, line 9: 198.19.0.0 + 15*2048 + 19*64 + 9*4 + 2
    assert "ip local pool SPOKE5000 198.19.124.230" in files["as500.cfg"]
    assert "ip route 198.19.56.0 255.255.248.0 198.18.0.9" in files["core.cfg"]   # dist8's /21


def test_a_plan_that_overflows_is_refused_naming_n_and_the_limit():
    with pytest.raises(GenerateError, match=rf"--spokes {MAX_SPOKES + 1}: the address plan holds at most "
                                            rf"{MAX_SPOKES} spokes"):
        Design(spokes=MAX_SPOKES + 1).check()
