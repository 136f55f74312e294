"""External TUN and TAP ports: pings to and from a Linux network namespace across an emulated router's
serial port (TUN, the emulator playing the far end's Cisco HDLC or PPP) and Ethernet port (TAP); the
errors when the device cannot be made."""

from __future__ import annotations

import errno
import os
import re
import time
from pathlib import Path

import pytest
import yaml

from emulator.cli.session import CliSession
from emulator.frontends.pacer import PacedLab
from emulator.lab import external
from emulator.lab.labfile import Lab, LabError
from support import ROOT
from support.netns import ip, netns_ping, why_not_netns

DOC = ROOT / "fixtures" / "doc14131"
REASON = why_not_netns()
needs_netns = pytest.mark.skipif(REASON is not None, reason=f"TUN/TAP tests skipped: {REASON}")


def names(kind: str) -> tuple[str, str]:
    """A device and namespace name of this test process alone (the tests may run in parallel)."""
    tag = f"{os.getpid() % 100000}"
    return f"hy{kind}{tag}", f"hyb-{kind}-{tag}"


def lab_file(tmp_path: Path, devices: dict, links: list, ext: list) -> Path:
    data = {"seed": 14131, "devices": {n: {"config": str(DOC / f"{n}.cfg"), **x} for n, x in devices.items()},
            "links": links, "external": ext}
    path = tmp_path / "lab.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def wait_for(paced: PacedLab, predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with paced.lock:
            if predicate():
                return True
        time.sleep(0.05)
    return False


def ping_from(paced: PacedLab, device, target: str, count: int = 5) -> str:
    out, _, _ = paced.run_lines(CliSession(device, privileged=True), [f"ping {target} repeat {count}"])
    return out


@needs_netns
def test_a_hub_serial_port_on_tun_pings_to_and_from_a_namespace(tmp_path):
    """Cisco HDLC: the emulator answers the hub's keepalives as the far end; Linux sees IP on the TUN."""
    dev, ns = names("t")
    path = lab_file(tmp_path, {"sam-i-am": {"extra_config": ["interface Serial0", "keepalive 1"]},
                               "hub-host": {}},
                    [{"ethernet": ["sam-i-am Ethernet0", "hub-host Ethernet0"]}],
                    [{"port": "sam-i-am Serial0", "tun": dev, "netns": ns, "address": "99.99.99.2/24"}])
    lab = Lab.from_file(path, capture_dir=tmp_path / "cap")
    paced = PacedLab(lab).start()
    try:
        assert "inet 99.99.99.2/24" in ip("-n", ns, "addr", "show", "dev", dev)
        hub = lab.device("sam-i-am")
        assert wait_for(paced, lambda: hub.protocol_up("Serial0"), 10), "no line protocol over the TUN port"
        assert netns_ping(ns, "99.99.99.1", count=3) == 3
        out = ping_from(paced, hub, "99.99.99.2")
        assert "Success rate is 100 percent (5/5)" in out, out
        # Through the hub to its LAN host (no NAT on the way in; the reply is NATed out: it comes back
        # from the hub's address, so only the hub's side is counted here).
        ip("-n", ns, "route", "add", "10.2.2.0/24", "dev", dev)
        assert netns_ping(ns, "10.2.2.3", count=2) == 2
    finally:
        paced.stop()
        lab.close()
    assert not Path("/run/netns", ns).exists()             # made by the lab, removed with it
    # The capture of the external port holds Cisco HDLC frames both ways.
    (pcap,) = (tmp_path / "cap").glob("serial-sam-i-am-Serial0.pcap")
    assert pcap.stat().st_size > 500


@needs_netns
def test_a_ppp_serial_port_on_tun_gets_its_address_by_ipcp(tmp_path):
    """PPP: the emulator plays the access server's LCP and IPCP, offering the port the address given."""
    dev, ns = names("p")
    path = lab_file(tmp_path, {"dr_whoovie": {}, "remote-host": {}},
                    [{"ethernet": ["dr_whoovie Ethernet0", "remote-host Ethernet0"]}],
                    [{"port": "dr_whoovie Serial0", "tun": dev, "netns": ns, "address": "100.100.100.2/24",
                      "peer_address": "100.100.100.1"}])
    lab = Lab.from_file(path)
    paced = PacedLab(lab).start()
    try:
        remote = lab.device("dr_whoovie")
        assert wait_for(paced, lambda: remote.protocol_up("Serial0"), 10), "PPP did not open over the TUN port"
        with paced.lock:
            assert str(remote.interface_address("Serial0")) == "100.100.100.1/32"
        assert netns_ping(ns, "100.100.100.1", count=3) == 3
        out = ping_from(paced, remote, "100.100.100.2")
        assert "Success rate is 100 percent (5/5)" in out, out
    finally:
        paced.stop()
        lab.close()


@needs_netns
def test_an_ethernet_port_on_tap_shares_the_segment_with_a_namespace(tmp_path):
    dev, ns = names("e")
    path = lab_file(tmp_path, {"sam-i-am": {}}, [],
                    [{"port": "sam-i-am Ethernet0", "tap": dev, "netns": ns, "address": "10.2.2.50/24"}])
    lab = Lab.from_file(path)
    paced = PacedLab(lab).start()
    try:
        hub = lab.device("sam-i-am")
        assert netns_ping(ns, "10.2.2.3", count=3) == 3              # Linux ARPs for the hub, the hub answers
        out = ping_from(paced, hub, "10.2.2.50")
        # IOS drops the first echo while it resolves the address (when Linux has not ARPed first).
        assert re.search(r"Success rate is (80|100) percent", out), out
        with paced.lock:
            macs = {str(a): m for a, m, _ in hub.adapters["Ethernet0"].arp_table()}
        linux_mac = re.search(r"link/ether ([0-9a-f:]+)", ip("-n", ns, "link", "show", "dev", dev)).group(1)
        assert macs["10.2.2.50"].hex(":") == linux_mac
    finally:
        paced.stop()
        lab.close()


@needs_netns
def test_a_tun_device_already_in_use_is_a_clear_error(tmp_path):
    dev, _ = names("b")
    path = lab_file(tmp_path, {"sam-i-am": {}}, [], [{"port": "sam-i-am Serial0", "tun": dev}])
    first = Lab.from_file(path)
    try:
        with pytest.raises(LabError) as err:
            Lab.from_file(path)
        assert err.value.key == "external[0] (sam-i-am Serial0)"
        assert err.value.reason == f"TUN device {dev} is busy (another process has it open)"
    finally:
        first.close()


def test_no_tun_device_or_no_privilege_are_clear_errors(tmp_path, monkeypatch):
    """Wherever this runs: the errors are checked by making the system calls fail as they would."""
    path = lab_file(tmp_path, {"sam-i-am": {}}, [], [{"port": "sam-i-am Serial0", "tun": "iop0"}])
    monkeypatch.setattr(external, "TUN_DEVICE", str(tmp_path / "no-such-device"))
    with pytest.raises(LabError) as err:
        Lab.from_file(path)
    assert str(err.value) == (f"{path}: external[0] (sam-i-am Serial0): {tmp_path / 'no-such-device'} does not "
                              "exist (no TUN/TAP support here)")
    fake = tmp_path / "fake-tun"
    fake.write_bytes(b"")
    monkeypatch.setattr(external, "TUN_DEVICE", str(fake))

    def refuse(fd, request, arg):
        raise PermissionError(errno.EPERM, "Operation not permitted")
    monkeypatch.setattr(external.fcntl, "ioctl", refuse)
    with pytest.raises(LabError) as err:
        Lab.from_file(path)
    assert err.value.reason == "cannot create TUN device iop0: operation not permitted (needs CAP_NET_ADMIN)"
