"""External ports on UDP pseudo-wires (Dynamips/GNS3 "UDP NIO"): the lab file's ``external:`` section,
its errors, the frames on the wire, and the document's tunnel between two emulator processes."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from emulator.cli.session import CliSession
from emulator.frontends.pacer import PacedLab
from emulator.lab.labfile import Lab, LabError, load_lab
from emulator.wire.chdlc import ADDRESS_BROADCAST, PROTO_SLARP, CHDLCFrame, SlarpKeepalive
from support import ROOT
from support.netns import ip, netns_ping, why_not_netns
from support.udp_tap_relay import UdpTapRelay

DOC = ROOT / "fixtures" / "doc14131"


def free_udp_ports(n: int) -> list[int]:
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def write_lab(path: Path, devices: dict, links: list, external: list, seed: int = 14131) -> Path:
    data = {"seed": seed, "devices": {name: {"config": str(DOC / f"{name}.cfg"), **extra}
                                      for name, extra in devices.items()},
            "links": links, "external": external}
    path.write_text(yaml.safe_dump(data))
    return path


def hub_half(path: Path, local: int, remote: int, keepalive: int = 10) -> Path:
    """The hub and its LAN host; the hub's leased line goes out on a UDP pseudo-wire."""
    extra = ["enable secret lab", "interface Serial0", f"keepalive {keepalive}"]
    return write_lab(path, {"sam-i-am": {"role": "hub", "extra_config": extra},
                            "hub-host": {"role": "hub_host"}},
                     [{"ethernet": ["sam-i-am Ethernet0", "hub-host Ethernet0"]}],
                     [{"port": "sam-i-am Serial0", "udp": {"local": f"127.0.0.1:{local}",
                                                           "remote": f"127.0.0.1:{remote}"}}])


def remote_half(path: Path, local: int, remote: int) -> Path:
    """The remote, its host, the access server and the internet host; the access server's line to the
    hub goes out on a UDP pseudo-wire."""
    return write_lab(path, {"dr_whoovie": {"role": "remote"}, "isp": {"role": "isp"},
                            "remote-host": {"role": "remote_host"}, "internet-host": {}},
                     [{"serial": ["dr_whoovie Serial0", "isp Serial0"], "delay_ms": 2},
                      {"ethernet": ["dr_whoovie Ethernet0", "remote-host Ethernet0"]},
                      {"ethernet": ["isp Ethernet0", "internet-host Ethernet0"]}],
                     [{"port": "isp Serial1", "udp": {"local": f"127.0.0.1:{local}",
                                                      "remote": f"127.0.0.1:{remote}"}}])


# ---------------------------------------------------------------------------- the lab file

@pytest.mark.parametrize("entry, key, words", [
    ({"port": "sam-i-am Serial0"}, "external[0]", "exactly one of 'udp', 'tun' or 'tap'"),
    ({"port": "sam-i-am Serial0", "udp": {"local": "127.0.0.1:1"}}, "external[0].udp", "{local: A.B.C.D:PORT"),
    ({"port": "sam-i-am Serial0", "udp": {"local": "x:1", "remote": "127.0.0.1:2"}}, "external[0].udp.local",
     "must be written A.B.C.D:PORT"),
    ({"port": "sam-i-am Serial0", "udp": {"local": "127.0.0.1:1", "remote": "127.0.0.1:70000"}},
     "external[0].udp.remote", "70000 is not a UDP port"),
    ({"port": "sam-i-am Serial0", "tun": "iop0", "colour": 1}, "external[0].colour", "unknown key"),
    ({"port": "sam-i-am Ethernet0", "tun": "iop0"}, "external[0].port", "'sam-i-am Ethernet0' is not a serial port"),
    ({"port": "sam-i-am Serial0", "tap": "lab0"}, "external[0].port", "'sam-i-am Serial0' is not an ethernet port"),
    ({"port": "sam-i-am Serial0", "tun": "a name with spaces"}, "external[0].tun", "not a Linux interface name"),
    ({"port": "sam-i-am Serial0", "tun": "iop0", "address": "1.2.3"}, "external[0].address", "A.B.C.D/LEN"),
    ({"port": "sam-i-am Ethernet0", "tap": "lab0", "peer_address": "1.2.3.4"}, "external[0].peer_address",
     "tun ports only"),
    ({"port": "nobody Serial0", "tun": "iop0"}, "external[0].port", "unknown device 'nobody'"),
    ({"port": "hub-host Ethernet0", "udp": {"local": "127.0.0.1:1", "remote": "127.0.0.1:2"}},
     "external[0].port", "is already on links[0]"),
    ({"port": "sam-i-am Serial0", "udp": {"local": "127.0.0.1:1", "remote": "127.0.0.1:2"},
      "delay_ms": -1}, "external[0].delay_ms", "must be a number >= 0"),
])
def test_external_entries_are_checked_with_the_key_named(tmp_path, entry, key, words):
    path = write_lab(tmp_path / "lab.yml", {"sam-i-am": {}, "hub-host": {}},
                     [{"ethernet": ["sam-i-am Ethernet0", "hub-host Ethernet0"]}], [entry])
    with pytest.raises(LabError) as err:
        load_lab(path)
    assert err.value.key == key and words in err.value.reason, str(err.value)
    assert str(err.value).startswith(f"{path}: {key}: ")


def test_a_busy_udp_port_is_a_lab_error_naming_the_entry(tmp_path):
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.0.0.1", 0))
    try:
        busy = blocker.getsockname()[1]
        path = hub_half(tmp_path / "hub.yml", busy, busy + 1 if busy < 65535 else busy - 1)
        with pytest.raises(LabError) as err:
            Lab.from_file(path)
        assert err.value.key == "external[0] (sam-i-am Serial0)"
        assert f"cannot bind UDP 127.0.0.1:{busy} (in use)" in err.value.reason
    finally:
        blocker.close()


def test_frames_on_the_pseudo_wire_are_cisco_hdlc_without_fcs_and_come_back_in(tmp_path):
    """The hub's keepalives come out one frame per datagram (as a capture shows them: no FCS); a frame
    sent back with the far end's keepalive brings the line protocol up."""
    mine, lab_port = free_udp_ports(2)
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", mine))
    peer.settimeout(15)
    lab = Lab.from_file(hub_half(tmp_path / "hub.yml", lab_port, mine, keepalive=1))
    paced = PacedLab(lab).start()
    try:
        assert lab.realtime and lab.external[0].local_port == lab_port
        data, source = peer.recvfrom(2048)
        assert source == ("127.0.0.1", lab_port)
        frame = CHDLCFrame.decode(data)                    # the whole datagram: no FCS after it
        assert (frame.address, frame.protocol) == (ADDRESS_BROADCAST, PROTO_SLARP)
        theirs = SlarpKeepalive.decode(frame.payload)
        # Answer each of the hub's keepalives with ours, acknowledging its sequence: the line comes up.
        for seq in (1, 2, 3):
            mine_ka = SlarpKeepalive(seq, theirs.my_sequence)
            peer.sendto(CHDLCFrame(PROTO_SLARP, mine_ka.encode(), ADDRESS_BROADCAST).encode(),
                        ("127.0.0.1", lab_port))
            if seq < 3:
                data, _ = peer.recvfrom(2048)
                theirs = SlarpKeepalive.decode(CHDLCFrame.decode(data).payload)
                assert theirs.your_sequence == seq                # the hub saw ours
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with paced.lock:
                if lab.device("sam-i-am").protocol_up("Serial0"):
                    break
            time.sleep(0.05)
        with paced.lock:
            assert lab.device("sam-i-am").protocol_up("Serial0")
        deadline = time.monotonic() + 5
        while lab.external[0].rx_frames < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert lab.external[0].rx_frames == 3 and lab.external[0].tx_frames >= 3
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stranger.sendto(b"\x0f\x00\x08\x00junk", ("127.0.0.1", lab_port))
        stranger.close()
        deadline = time.monotonic() + 5
        while lab.external[0].foreign == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert lab.external[0].foreign == 1
    finally:
        paced.stop()
        lab.close()
        peer.close()


# ---------------------------------------------------------------------------- two processes

class Telnet:
    """Just enough telnet to log in and run show commands."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = ""

    def read_until(self, pattern: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.buffer):
            if time.monotonic() > deadline:
                raise AssertionError(f"no {pattern!r} in {self.buffer!r}")
            data = self.sock.recv(4096)
            if not data:
                raise AssertionError(f"closed before {pattern!r}; got {self.buffer!r}")
            self.buffer += re.sub(rb"\xff[\xfb-\xfe].", b"", data, flags=re.S).decode("latin-1")
        match = re.search(pattern, self.buffer)
        assert match is not None
        text, self.buffer = self.buffer[:match.end()], self.buffer[match.end():]
        return text

    def run(self, line: str) -> str:
        self.sock.sendall(line.encode() + b"\r\n")
        return self.read_until(r"\n\S+[>#]\s*$")

    def close(self) -> None:
        self.sock.close()


def test_two_emulator_processes_on_a_udp_pseudo_wire_bring_the_documents_tunnel_up(tmp_path):
    """The hub in a served process, the remote and the access server in this one, the access server's
    leased line to the hub cabled across by a UDP pseudo-wire: the remote host's echoes start IKE, the
    tunnel comes up on both sides and carries them."""
    hub_port, remote_port = free_udp_ports(2)
    hub_lab = hub_half(tmp_path / "hub.yml", hub_port, remote_port)
    proc = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--lab", str(hub_lab)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lab = paced = None
    try:
        killer = threading.Timer(90, proc.kill)
        killer.start()
        ports = {}
        assert proc.stdout is not None
        for line in proc.stdout:
            name, _, _, _, telnet = line.split()
            ports[name] = int(telnet.rsplit(":", 1)[1])
            if len(ports) == 2:
                break
        assert set(ports) == {"sam-i-am", "hub-host"}, ports
        lab = Lab.from_file(remote_half(tmp_path / "remote.yml", remote_port, hub_port),
                            capture_dir=tmp_path / "captures")
        paced = PacedLab(lab).start()
        # Both leased-line ends come up over the wire (SLARP keepalives every 10 s: up within ~30 s).
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            with paced.lock:
                if lab.links_up() and lab.device("isp").protocol_up("Serial1"):
                    break
            time.sleep(0.2)
        with paced.lock:
            assert lab.device("isp").protocol_up("Serial1"), "the leased line did not come up across processes"
        host = CliSession(lab.device("remote-host"), privileged=True)
        out, _, _ = paced.run_lines(host, ["ping 10.2.2.10 repeat 10"])
        print(out)
        # The first echoes go while IKE runs and the hub resolves its host's address (IOS drops them);
        # every echo after the tunnel is up comes back.
        marks = re.search(r"^([.!]{10})$", out, re.M)
        assert marks is not None and re.fullmatch(r"\.{1,4}!{6,9}", marks.group(1)), out
        remote = CliSession(lab.device("dr_whoovie"), privileged=True)
        sa_out, _, _ = paced.run_lines(remote, ["show crypto isakmp sa"])
        assert re.search(r"99\.99\.99\.1\s+100\.100\.100\.1\s+QM_IDLE", sa_out), sa_out
        ipsec, _, _ = paced.run_lines(remote, ["show crypto ipsec sa"])
        encaps = int(re.search(r"#pkts encaps: (\d+)", ipsec).group(1))
        assert encaps >= marks.group(1).count("!"), ipsec

        hub = Telnet(ports["sam-i-am"])
        hub.read_until("Password: ")
        hub.sock.sendall(b"ww\r\n")
        hub.read_until(r"sam-i-am>")
        hub.sock.sendall(b"enable\r\n")
        hub.read_until("Password: ")
        hub.sock.sendall(b"lab\r\n")
        hub.read_until(r"sam-i-am#")
        hub.run("terminal length 0")
        hub_sa = hub.run("show crypto isakmp sa")
        assert re.search(r"99\.99\.99\.1\s+100\.100\.100\.1\s+QM_IDLE", hub_sa), hub_sa   # dst src
        hub_ipsec = hub.run("show crypto ipsec sa")
        decaps = int(re.search(r"#pkts decaps: (\d+)", hub_ipsec).group(1))
        assert decaps == encaps, (hub_ipsec, ipsec)
        hub.close()
    finally:
        if paced is not None:
            paced.stop()
        if lab is not None:
            lab.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_run_refuses_a_lab_with_external_ports(tmp_path):
    a, b = free_udp_ports(2)
    path = hub_half(tmp_path / "hub.yml", a, b)
    done = subprocess.run([sys.executable, "-m", "emulator", "run", "--lab", str(path), "-"], input="", cwd=ROOT,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr == (f"error: {path}: the lab has external ports and runs in real time only: "
                           "use 'serve' or 'console'\n")


NETNS_REASON = why_not_netns()


@pytest.mark.skipif(NETNS_REASON is not None, reason=f"UDP pseudo-wire to a namespace skipped: {NETNS_REASON}")
def test_a_udp_pseudo_wire_carries_pings_to_and_from_a_namespace(tmp_path):
    """The hub's Ethernet0 on a UDP pseudo-wire, cabled as GNS3 cables a UDP NIO to a host: its ubridge
    relays each datagram to a TAP device and back. ubridge is not in Debian, so a relay in the tests
    (tests/support/udp_tap_relay.py) plays it; Linux in a network namespace shares the segment."""
    tag = os.getpid() % 100000
    dev, ns = f"hyu{tag}", f"hyb-u-{tag}"
    relay_port, lab_port = free_udp_ports(2)
    path = write_lab(tmp_path / "lab.yml", {"sam-i-am": {}}, [],
                     [{"port": "sam-i-am Ethernet0", "udp": {"local": f"127.0.0.1:{lab_port}",
                                                             "remote": f"127.0.0.1:{relay_port}"}}])
    relay = UdpTapRelay(dev, ns, "10.2.2.50/24", ("127.0.0.1", relay_port), ("127.0.0.1", lab_port))
    lab = paced = None
    try:
        lab = Lab.from_file(path)
        paced = PacedLab(lab).start()
        hub = lab.device("sam-i-am")
        assert netns_ping(ns, "10.2.2.3", count=3) == 3             # Linux ARPs for the hub, the hub answers
        out, _, _ = paced.run_lines(CliSession(hub, privileged=True), ["ping 10.2.2.50 repeat 5"])
        assert "Success rate is 100 percent (5/5)" in out, out      # ARP learnt from Linux's echoes
        with paced.lock:
            macs = {str(a): m for a, m, _ in hub.adapters["Ethernet0"].arp_table()}
        linux_mac = re.search(r"link/ether ([0-9a-f:]+)", ip("-n", ns, "link", "show", "dev", dev)).group(1)
        assert macs["10.2.2.50"].hex(":") == linux_mac
        # 3 echoes + 5 replies (+ ARP) each way, and Linux may send neighbour probes or IPv6 noise.
        assert relay.to_udp >= 9 and relay.to_tap >= 9, (relay.to_udp, relay.to_tap)
        print(f"relay: {relay.to_udp} frames TAP->UDP, {relay.to_tap} UDP->TAP")
    finally:
        if paced is not None:
            paced.stop()
        if lab is not None:
            lab.close()
        relay.close()
    assert not Path("/run/netns", ns).exists()
