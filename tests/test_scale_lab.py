"""A generated lab of 200 spokes: every spoke's LAN host starts its tunnel, the hub lists 200 peers."""

import re
import time
from ipaddress import IPv4Address

import pytest

from emulator.cli.session import CliSession
from emulator.lab.generate import Design, write_lab
from emulator.lab.labfile import Lab
from emulator.labtime import MS, SECOND

SPOKES = 200
WALL_BOUND = 300.0           # seconds: a bound against a hung run, far above what it takes


@pytest.mark.scale
def test_two_hundred_spokes_bring_their_tunnels_up_and_the_hub_lists_every_peer(tmp_path):
    design = Design(spokes=SPOKES)
    write_lab(design, tmp_path)
    lab = Lab.from_file(tmp_path / "lab.yml")
    try:
        assert lab.boot_errors() == [] and lab.links_up()
        hub_host = design.lan(0).network_address + 10
        hosts = [CliSession(lab.device(f"spoke{k}-host"), privileged=True, line="console")
                 for k in range(1, SPOKES + 1)]
        CliSession(lab.device("hub-host"), privileged=True, line="console").execute(
            f"ping {design.lan(0).network_address + 1} repeat 1 timeout 0")    # each host resolves its gateway
        for host in hosts:
            host.execute(f"ping {hub_host} repeat 1 timeout 0")
        lab.advance(100 * MS)
        for host in hosts:                  # the echo that starts IKE, a spoke every 3 ms
            host.execute(f"ping {hub_host} repeat 1 timeout 0")
            lab.advance(3 * MS)
        hub = CliSession(lab.device("hub"), privileged=True, line="console")
        started = time.monotonic()
        # Lab time for every IKE exchange, retransmits included (the hub admits 100 negotiations at a time;
        # IKE retransmits after 10 s). The run stops early only if it outlasts the wall-clock bound.
        stopped = lab.sim.run_until(lambda: time.monotonic() - started > WALL_BOUND, 60 * SECOND)
        assert not stopped, f"the lab ran {WALL_BOUND} s of wall time without reaching 60 s of lab time"
        ike = hub.execute("show crypto isakmp sa")
        peers = re.findall(r"^203\.0\.113\.1\s+(\S+)\s+QM_IDLE\s", ike, re.M)
        assert len(peers) == SPOKES, ike[-500:]
        lines = [str(IPv4Address(int(IPv4Address("198.19.0.0")) + 64 * ((k - 1) // 9) + 4 * ((k - 1) % 9) + 2))
                 for k in range(1, SPOKES + 1)]
        assert sorted(peers) == sorted(lines)
        sa = hub.execute("show crypto ipsec sa")
        assert sa.count("current_peer:") == SPOKES and sa.count("inbound esp sas:") == SPOKES
        # and the tunnels carry traffic: the last spoke's host reaches the hub's LAN host through its own
        out = hosts[-1].execute(f"ping {hub_host} repeat 5")
        assert "Success rate is 100 percent (5/5)" in out, out
        assert f"current_peer: {lines[-1]}" in sa
    finally:
        lab.close()
