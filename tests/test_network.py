"""The lab as a network: IPCP addressing, HDLC keepalives, routing, ARP, ping, captures."""

import re
import shutil
import subprocess

import pytest

from emulator.cli.session import CliSession
from emulator.device.interfaces import LinkStatus
from emulator.lab.labfile import Lab, load_lab
from emulator.sim.clock import SECOND
from emulator.wire.pcap import read_pcap
from emulator.wire.ppp import fcs16
from support import FIXTURES, ROOT

SAMPLES = ROOT / "tests" / "samples"


@pytest.fixture(scope="module")
def lab():
    return Lab.from_file(FIXTURES / "lab.yml")


def cli(lab, device):
    return CliSession(lab.device(device), privileged=True, line="vty0")


def copy_lab(tmp_path):
    for f in FIXTURES.glob("*"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def test_remote_serial_before_ipcp_will_be_negotiated():
    lab = Lab.from_file(FIXTURES / "lab.yml", settle=False)
    lines = cli(lab, "dr_whoovie").execute("show interface serial0").splitlines()
    assert lines[2] == "  Internet address will be negotiated using IPCP"


def test_remote_gets_the_pool_address_by_ipcp(lab):
    lines = cli(lab, "dr_whoovie").execute("show interface serial0").splitlines()
    assert lines[:6] == ["Serial0 is up, line protocol is up",
                         "  Hardware is HD64570",
                         "  Internet address is 100.100.100.1/32",
                         "  MTU 1500 bytes, BW 1544 Kbit, DLY 20000 usec,",
                         "     reliability 255/255, txload 1/255, rxload 1/255",
                         "  Encapsulation PPP, loopback not set"]
    assert "  LCP Open" in lines and "  Open: IPCP" in lines
    brief = cli(lab, "dr_whoovie").execute("show ip interface brief").splitlines()
    assert brief[2] == "Serial0                    100.100.100.1   YES IPCP   up                    up"


def test_hub_serial_runs_hdlc_with_keepalives(lab):
    lines = cli(lab, "sam-i-am").execute("show interfaces Serial0").splitlines()
    assert lines[0] == "Serial0 is up, line protocol is up"
    assert "  Encapsulation HDLC, loopback not set" in lines
    assert "  Keepalive set (10 sec)" in lines
    before = lab.device("sam-i-am").interface_state("Serial0").counters.packets_in
    lab.advance(30 * SECOND)
    after = lab.device("sam-i-am").interface_state("Serial0").counters.packets_in
    assert after - before == 3  # one SLARP keepalive every 10 s from the far end


def test_remote_routes(lab):
    out = cli(lab, "dr_whoovie").execute("show ip route")
    assert "Gateway of last resort is 0.0.0.0 to network 0.0.0.0\n" in out
    assert "     100.0.0.0/32 is subnetted, 2 subnets\n" in out
    assert "C       100.100.100.1 is directly connected, Serial0\n" in out
    assert "C       100.100.100.2 is directly connected, Serial0\n" in out
    assert "C       10.1.1.0 is directly connected, Ethernet0\n" in out
    assert out.endswith("S*   0.0.0.0/0 is directly connected, Serial0\n")


def test_access_server_routes_to_the_remote_by_its_peer_route(lab):
    out = cli(lab, "isp").execute("show ip route")
    assert "C       100.100.100.1/32 is directly connected, Serial0\n" in out
    assert "C       100.100.100.0/24 is directly connected, Serial0\n" in out
    assert "Gateway of last resort is not set\n" in out


def test_ping_through_the_access_server(lab):
    out = cli(lab, "dr_whoovie").execute("ping 99.99.99.1")
    assert out.splitlines() == [
        "Type escape sequence to abort.",
        "Sending 5, 100-byte ICMP Echos to 99.99.99.1, timeout is 2 seconds:",
        "!!!!!",
        out.splitlines()[-1]]
    assert out.splitlines()[-1].startswith("Success rate is 100 percent (5/5), round-trip min/avg/max = ")


def test_round_trip_follows_bandwidth_and_delay(tmp_path):
    d = copy_lab(tmp_path)
    text = (d / "lab.yml").read_text().replace("bandwidth_kbps: 1544\n    delay_ms: 2",
                                               "bandwidth_kbps: 64\n    delay_ms: 10", 1)
    (d / "lab.yml").write_text(text)
    lab = Lab.from_file(d / "lab.yml")
    out = cli(lab, "dr_whoovie").execute("ping 100.100.100.2 repeat 3")
    # A 100-byte echo is 106 bytes in PPP framing: 13.25 ms to clock out at 64 kbit/s, plus 10 ms each way;
    # the access server's processor answers the echo and the remote's takes the reply (a 2500's 1 ms each,
    # within the 20 % jitter): 48.1 to 48.9 ms, truncated.
    wire = 2 * (106 * 8 / 64000 + 0.010) * 1000
    assert int(wire + 2 * 0.8) == int(wire + 2 * 1.2) == 48
    assert out.splitlines()[-1] == "Success rate is 100 percent (3/3), round-trip min/avg/max = 48/48/48 ms"


def test_first_ping_over_ethernet_waits_for_arp():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    out = cli(lab, "dr_whoovie").execute("ping 192.0.2.10")
    assert ".!!!!" in out and "Success rate is 80 percent (4/5)" in out
    arp = cli(lab, "isp").execute("show arp").splitlines()
    assert arp[0] == "Protocol  Address          Age (min)  Hardware Addr   Type   Interface"
    assert any(line.startswith("Internet  192.0.2.10 ") and line.endswith("ARPA   Ethernet0") for line in arp)


def test_ping_an_unrouted_address(lab):
    out = cli(lab, "dr_whoovie").execute("ping 203.0.113.9")
    # The access server has no route: it answers with unreachables, one per 500 ms at most.
    assert "U.U.U\n" in out
    assert out.endswith("Success rate is 0 percent (0/5)\n")


def test_extended_ping_dialog(lab):
    session = cli(lab, "dr_whoovie")
    answers = {"Protocol [ip]: ": "", "Target IP address: ": "100.100.100.2", "Repeat count [5]: ": "",
               "Datagram size [100]: ": "", "Timeout in seconds [2]: ": "", "Extended commands [n]: ": "y",
               "Source address or interface: ": "10.1.1.1", "Type of service [0]: ": "",
               "Set DF bit in IP header? [no]: ": "", "Validate reply data? [no]: ": "",
               "Data pattern [0xABCD]: ": "", "Loose, Strict, Record, Timestamp, Verbose[none]: ": "",
               "Sweep range of sizes [n]: ": ""}
    asked = []
    out = session.execute("ping")
    while session.in_dialog:
        asked.append(session.prompt)
        out = session.execute(answers[session.prompt])
    assert asked == list(answers)
    assert out.splitlines()[:3] == ["Type escape sequence to abort.",
                                    "Sending 5, 100-byte ICMP Echos to 100.100.100.2, timeout is 2 seconds:",
                                    "Packet sent with a source address of 10.1.1.1"]


def test_shutdown_renegotiates_and_the_pool_hands_the_address_again():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    isp = cli(lab, "isp")
    isp.configure_lines(["interface Serial0", "shutdown"])
    lab.advance(5 * SECOND)
    remote = lab.device("dr_whoovie")
    assert remote.link_status("Serial0") is LinkStatus.DOWN
    assert remote.interface_address("Serial0") is None
    assert lab.device("isp").pools.in_use["REMOTES"] == set()
    isp.configure_lines(["interface Serial0", "no shutdown"])
    lab.advance(5 * SECOND)
    assert str(remote.interface_address("Serial0")) == "100.100.100.1/32"
    assert remote.protocol_up("Serial0")


def test_exhausted_pool_leaves_the_serial_without_address(tmp_path):
    d = copy_lab(tmp_path)
    # A second dial-in line on the access server, served from the same one-address pool.
    isp = (d / "isp.cfg").read_text().replace(
        " description leased line to the hub router\n ip address 99.99.99.2 255.255.255.0\n",
        " description second PPP line\n ip address 100.100.100.2 255.255.255.0\n encapsulation ppp\n"
        " peer default ip address pool REMOTES\n")
    (d / "isp.cfg").write_text(isp)
    shutil.copy(d / "dr_whoovie.cfg", d / "second.cfg")
    (d / "lab.yml").write_text(
        "seed: 7\ndevices:\n  r1: {config: dr_whoovie.cfg}\n  r2: {config: second.cfg}\n  isp: {config: isp.cfg}\n"
        "links:\n  - serial: [r1 Serial0, isp Serial0]\n  - serial: [r2 Serial0, isp Serial1]\n")
    lab = Lab.from_file(d / "lab.yml")
    lab.advance(5 * SECOND)
    addresses = {name: lab.device(name).interface_address("Serial0") for name in ("r1", "r2")}
    assert sorted(str(a) for a in addresses.values() if a) == ["100.100.100.1/32"]
    (loser,) = [name for name, a in addresses.items() if a is None]
    lines = cli(lab, loser).execute("show interfaces Serial0").splitlines()
    assert lines[2] == "  Internet address will be negotiated using IPCP"
    assert any("%IPCP-4-POOLEXHAUST: Serial1: ip local pool REMOTES has no free address" in m or
               "%IPCP-4-POOLEXHAUST: Serial0: ip local pool REMOTES has no free address" in m
               for m in lab.device("isp").log_buffer)


def test_bad_pool_range_is_refused_at_load(tmp_path):
    d = copy_lab(tmp_path)
    isp = (d / "isp.cfg").read_text().replace("ip local pool REMOTES 100.100.100.1",
                                              "ip local pool REMOTES 100.100.100.9 100.100.100.8")
    (d / "isp.cfg").write_text(isp)
    lab = Lab.from_file(d / "lab.yml")
    assert [str(e) for e in lab.device("isp").boot_errors] == [
        "isp.cfg:30: %Bad IP range (ip local pool REMOTES 100.100.100.9 100.100.100.8)"]
    assert lab.device("dr_whoovie").interface_address("Serial0") is None


def test_debug_ppp_negotiation_shows_the_ipcp_exchange():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    session = cli(lab, "dr_whoovie")
    assert session.execute("terminal monitor") == ""
    assert session.execute("debug ppp negotiation") == "PPP protocol negotiation debugging is on\n"
    session.configure_lines(["interface Serial0", "shutdown"])
    out = session.configure_lines(["interface Serial0", "no shutdown"])
    lab.advance(1 * SECOND)
    out += session.execute("show debugging")
    lines = [ln.split(": ", 1)[1] for ln in out.splitlines() if "IPCP" in ln and ": " in ln]
    assert "Se0 IPCP:    Address 0.0.0.0 (0x030600000000)" in lines
    assert "Se0 IPCP: I CONFNAK [ACKsent] id 4 len 10" in lines or any(" I CONFNAK " in ln for ln in lines)
    assert "Se0 IPCP:    Address 100.100.100.1 (0x030664646401)" in lines
    assert "Se0 IPCP: Install negotiated IP interface address 100.100.100.1" in lines
    assert "Se0 IPCP: Install route to 100.100.100.2" in lines


def test_clear_counters_confirm(lab):
    session = cli(lab, "dr_whoovie")
    assert session.execute("clear counters") == ""
    assert session.prompt == 'Clear "show interface" counters on all interfaces [confirm]'
    session.execute("")
    out = session.execute("show interfaces Ethernet0")
    assert '  Last clearing of "show interface" counters 00:00:00' in out


def test_hosts_forward_nothing_and_use_their_gateway(lab):
    out = cli(lab, "remote-host").execute("show ip route")
    assert out.startswith("Default gateway is 10.1.1.1\n")
    session = cli(lab, "remote-host")
    assert "Success rate is 100 percent (5/5)" in session.execute("ping 10.1.1.1") + session.execute("ping 10.1.1.1")


def test_bad_frames_are_input_errors_not_crashes():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    link, serial = lab.serial_links[0]
    for junk in (b"", b"\xff", b"\xff\x03\xc0\x21\x01", bytes(range(40))):
        serial.a.send(junk)
        serial.b.send(junk)
    lab.advance(1 * SECOND)
    assert lab.sim.errors == []
    remote = lab.device("dr_whoovie").interface_state("Serial0").counters
    assert remote.input_errors == 4
    assert lab.device("dr_whoovie").protocol_up("Serial0")


def test_capture_decodes_with_scapy_and_tshark(tmp_path):
    lab = Lab(load_lab(FIXTURES / "lab.yml"), capture_dir=tmp_path)
    cli(lab, "dr_whoovie").execute("ping 99.99.99.1")
    cli(lab, "remote-host").execute("ping 10.1.1.1")
    lab.close()
    files = {p.name: p for p in tmp_path.glob("*.pcap")}
    ppp = files["serial-dr_whoovie-Serial0--isp-Serial0.pcap"]
    linktype, records = read_pcap(ppp)
    assert linktype == 9 and len(records) >= 10
    from scapy.all import rdpcap
    from scapy.layers.ppp import PPP_IPCP
    pkts = rdpcap(str(ppp))
    assert any(p.haslayer(PPP_IPCP) for p in pkts)
    assert read_pcap(files["serial-sam-i-am-Serial0--isp-Serial1.pcap"])[0] == 104
    assert read_pcap(files["ethernet-dr_whoovie-Ethernet0--remote-host-Ethernet0.pcap"])[0] == 1
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed: the Wireshark reading is not checked here")
    for path in files.values():
        result = subprocess.run(["tshark", "-r", str(path), "-Y", "_ws.malformed || _ws.expert.severity >= error"],
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "", f"{path.name}: {result.stdout}"
    out = subprocess.run(["tshark", "-r", str(ppp), "-T", "fields", "-e", "ipcp.opt.ip_address"],
                         capture_output=True, text=True, timeout=60).stdout
    assert "100.100.100.1" in out


def test_five_minute_rates_follow_the_traffic():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    remote = cli(lab, "dr_whoovie")
    quiet = remote.execute("show interfaces Serial0")
    assert "  5 minute output rate 0 bits/sec, 0 packets/sec\n" in quiet
    # 2000 echoes of 1500 bytes in about a minute: about 400 kbit/s each way on a 1544 kbit/s line.
    remote.execute("ping 99.99.99.1 repeat 2000 size 1500")
    lab.advance(5 * SECOND)
    busy = remote.execute("show interfaces Serial0").splitlines()
    rate = next(ln for ln in busy if ln.startswith("  5 minute output rate"))
    bits = int(rate.split()[4])
    assert 50_000 < bits < 1_544_000
    load = next(ln for ln in busy if "txload" in ln)
    assert load.split("txload ")[1].split("/")[0] != "1"
    lab.advance(3600 * SECOND)
    idle = remote.execute("show interfaces Serial0")
    assert int(next(ln for ln in idle.splitlines() if "5 minute output rate" in ln).split()[4]) < bits // 100


def test_the_emulator_never_dies_of_a_packet():
    import random
    lab = Lab.from_file(FIXTURES / "lab.yml")
    cli(lab, "dr_whoovie").execute("ping 10.2.2.3 source 10.1.1.1")   # tunnel up: ESP and IKE on the wire
    seen = []
    for _, serial in lab.serial_links:
        serial.taps.append(lambda t, d, frame: seen.append(frame))
    for _, segment in lab.segments:
        segment.taps.append(lambda t, p, frame: seen.append(frame))
    cli(lab, "dr_whoovie").execute("ping 10.2.2.3 source 10.1.1.1 repeat 3")
    cli(lab, "remote-host").execute("ping 192.0.2.10 repeat 3")
    rng = random.Random(7)
    ends = [e for _, s in lab.serial_links for e in s.ends]
    ports = [p for _, seg in lab.segments for p in seg.ports]
    for _ in range(3000):
        frame = bytearray(rng.choice([f for f in seen if f]))
        for _ in range(rng.randrange(1, 4)):
            frame[rng.randrange(len(frame))] = rng.randrange(256)
        if rng.random() < 0.2:
            frame = frame[:rng.randrange(len(frame) + 1)]
        target = rng.choice(ends + ports)
        if target in ends and len(frame) > 2 and rng.random() < 0.8:
            # A good FCS over bad contents: the frame reaches PPP, HDLC, IP, IKE and ESP.
            frame = frame[:-2] + fcs16(bytes(frame[:-2])).to_bytes(2, "little")
        target.send(bytes(frame))
    lab.advance(5 * SECOND)
    assert lab.sim.errors == []
    assert all(not r.crypto.errors for r in lab.devices.values())
    assert "!!!!!" in cli(lab, "dr_whoovie").execute("ping 10.2.2.3 source 10.1.1.1")


def test_debug_ppp_negotiation_phases_and_first_requests_as_12_2_prints_them():
    """``Phase is ESTABLISHING, Active Open`` before LCP's first ``O CONFREQ [Closed]``
    (tests/samples/pub_debug_ppp_establishing_827.txt); ``LCP: State is Open``, ``PPP: Phase is UP``, then
    IPCP's first ``O CONFREQ [Closed]`` (tests/samples/pub_debug_ppp_negotiation_12x_ipcp.txt; this line
    has no PPP authentication, so no AUTHENTICATING phase between)."""
    def shape(line):   # the words of a line: no stamp, no interface, no id or length
        line = re.sub(r"^(?:.*?: )?(?:Vi|Se|Di)\d+ ", "", line.strip())
        return re.sub(r" id \d+ [Ll]en \d+$", "", line)

    establishing = (SAMPLES / "pub_debug_ppp_establishing_827.txt").read_text().splitlines()
    ipcp = (SAMPLES / "pub_debug_ppp_negotiation_12x_ipcp.txt").read_text().splitlines()
    begin = [shape(establishing[1]).split(" [")[0], shape(establishing[3])]
    up = ipcp.index(next(ln for ln in ipcp if ln.endswith("LCP: State is Open")))
    after_open = [shape(ln) for ln in ipcp[up:up + 7] if " CHAP: " not in ln and "AUTHENTICATING" not in ln]
    assert begin == ["PPP: Phase is ESTABLISHING, Active Open", "LCP: O CONFREQ [Closed]"]
    assert after_open == ["LCP: State is Open", "PPP: Phase is UP", "IPCP: O CONFREQ [Closed]"]

    lab = Lab.from_file(FIXTURES / "lab.yml")
    session = cli(lab, "dr_whoovie")
    session.execute("terminal monitor")
    session.execute("debug ppp negotiation")
    session.configure_lines(["interface Serial0", "shutdown"])
    out = session.configure_lines(["interface Serial0", "no shutdown"])
    lab.advance(1 * SECOND)
    out += session.execute("show debugging")
    lines = [ln for ln in out.splitlines() if " Se0 " in ln or ln.startswith("Se0 ")]
    mine = [shape(ln) for ln in lines]
    assert mine[:2] == begin
    opened = mine.index("LCP: State is Open")
    assert mine[opened:opened + 3] == after_open
    assert mine.count("PPP: Phase is ESTABLISHING, Active Open") == 1
    assert "Starting" not in out


def test_a_pool_address_goes_back_to_its_pool_after_the_interface_stops_naming_the_pool():
    """The access server lent 100.100.100.1 from REMOTES; its interface then loses ``peer default ip
    address``: when the line drops the address still returns to REMOTES, and is lent again later."""
    lab = Lab.from_file(FIXTURES / "lab.yml")
    isp, remote = cli(lab, "isp"), cli(lab, "dr_whoovie")
    isp.configure_lines(["interface Serial0", "no peer default ip address"])
    remote.configure_lines(["interface Serial0", "shutdown"])
    remote.configure_lines(["interface Serial0", "no shutdown"])
    lab.advance(5 * SECOND)
    assert lab.device("dr_whoovie").interface_address("Serial0") is None
    isp.configure_lines(["interface Serial0", "peer default ip address pool REMOTES"])
    remote.configure_lines(["interface Serial0", "shutdown"])
    remote.configure_lines(["interface Serial0", "no shutdown"])
    lab.advance(5 * SECOND)
    assert str(lab.device("dr_whoovie").interface_address("Serial0").ip) == "100.100.100.1"
    assert not any("POOLEXHAUST" in line for line in lab.device("isp").log_buffer)
