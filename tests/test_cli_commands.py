"""The IOS commands people type beyond the document's: ``show crypto dynamic-map``, buffered logging,
``traceroute``, ``show ip interface``, ``show controllers``, ``show terminal``, ``debug ip packet``,
``configure memory``. Each is compared with sourced IOS text (tests/samples/SOURCES.md) and, where
ntc-templates has a template, parsed with it."""

from __future__ import annotations

import re

import pytest

from emulator.cli.session import CliSession
from emulator.device.console import LogBuffer
from emulator.lab.labfile import Lab
from emulator.labtime import SECOND
from emulator.wire.ipv4 import PROTO_UDP
from support import DOC_LAB, ROOT

SAMPLES = ROOT / "tests" / "samples"


def sample(name: str) -> list[str]:
    return (SAMPLES / name).read_text(encoding="utf-8").splitlines()


def ntc(command: str, text: str):
    from ntc_templates.parse import parse_output
    return parse_output(platform="cisco_ios", command=command, data=text)


@pytest.fixture(scope="module")
def lab():
    return Lab.from_file(DOC_LAB)


def cli(lab, name, line="console"):
    return CliSession(lab.device(name), privileged=True, line=line)


# ---------------------------------------------------------------- show crypto dynamic-map

def test_dynamic_map_template_block_from_the_configuration(lab):
    out = cli(lab, "sam-i-am").execute("show crypto dynamic-map")
    lines = out.splitlines()
    assert lines[0] == 'Crypto Map Template"rtpmap" 10'
    # The body is the one show crypto map gives an entry (reference §1.3, 12.3 capture): same lines, same indents.
    static = [line.strip().split(" ")[0] for line in sample("ref_1.3_crypto_map_12.3_static.txt")[2:]]
    assert lines[1] == "        Extended IP access list 115"
    assert lines[2:4] == ["            access-list 115 permit ip 10.2.2.0 0.0.0.255 10.1.1.0 0.0.0.255",
                          "            access-list 115 deny ip 10.2.2.0 0.0.0.255 any"]
    assert lines[4:7] == ["        Security association lifetime: 4608000 kilobytes/3600 seconds",
                          "        PFS (Y/N): N", "        Transform sets={ rtpset, }"]
    assert {"Extended", "access-list", "Security", "PFS"} <= set(static)
    assert cli(lab, "sam-i-am").execute("show crypto dynamic-map tag rtpmap") == out
    assert cli(lab, "sam-i-am").execute("show crypto dynamic-map tag other") == ""
    assert cli(lab, "dr_whoovie").execute("show crypto dynamic-map") == ""


# ---------------------------------------------------------------- logging

def test_logging_buffered_renders_as_ios_keeps_it():
    from emulator.config.loader import load_config
    from emulator.config.render import render_config
    for typed, kept in [("logging buffered", "logging buffered 4096 debugging"),
                        ("logging buffered 8192", "logging buffered 8192 debugging"),
                        ("logging buffered 3", "logging buffered 4096 errors"),
                        ("logging buffered 16000 informational", "logging buffered 16000 informational")]:
        cfg, errors = load_config(f"hostname R\n{typed}\nenable secret 0 pw\n")
        assert not errors
        text = render_config(cfg, "12.2")
        assert f"\nhostname R\n!\n{kept}\nenable secret 5 " in text
    _, errors = load_config("logging buffered 100\n")
    assert len(errors) == 1 and "Invalid input" in str(errors[0])    # below IOS's 4096


def test_show_logging_counts_and_buffers_in_the_12x_layout(lab):
    con = cli(lab, "dr_whoovie")
    off = con.execute("show logging")
    assert "    Buffer logging: disabled\n" in off and "Log Buffer" not in off
    con.configure_lines(["logging buffered 4096 debugging"])
    con.execute("debug ip packet")
    con.execute("ping 100.100.100.2 repeat 1")
    con.execute("undebug all")
    out = con.execute("show logging")
    ref = sample("pub_show_logging_12x.txt")
    head, _, body = out.partition("\n\nLog Buffer (4096 bytes):\n")
    rows = head.splitlines()
    assert rows[0] == ref[1]          # Syslog logging: enabled (0 messages dropped, 0 flushes, 0 overruns)
    for mine, theirs in zip(rows[1:4], ref[2:5], strict=True):
        assert re.sub(r"\d+", "N", mine.strip()) == re.sub(r"\d+", "N", theirs)
    assert re.fullmatch(r"    Trap logging: level informational, \d+ message lines logged", rows[4])
    router = lab.device("dr_whoovie")
    assert f"Console logging: level debugging, {router.console.console_logged} messages logged" in out
    buffered = body.splitlines()
    assert buffered[0].endswith("%SYS-5-CONFIG_I: Configured from console by console")
    assert any(line.endswith("len 100, sending") for line in buffered)
    assert any(line.endswith("rcvd 3") for line in buffered)
    parsed = ntc("show logging", out)
    assert [r["mnemonic"] for r in parsed][:1] == ["CONFIG_I"]
    assert con.execute("clear logging") == "" and con.prompt == "Clear logging buffer [confirm]"
    assert con.execute("") == "\n"
    assert con.execute("show logging").endswith("Log Buffer (4096 bytes):\n")


def test_the_log_buffer_is_a_ring_by_bytes():
    ring = LogBuffer(64)
    for n in range(10):
        ring.add(f"00:00:0{n}: %SYS-5-X: message {n}")          # 30 bytes and a newline
    assert ring.used <= 64 and ring.text() == ("00:00:08: %SYS-5-X: message 8\n"
                                               "00:00:09: %SYS-5-X: message 9\n")


def test_buffer_level_keeps_only_the_severe_messages(lab):
    con = cli(lab, "remote-host", line="vty0")     # a vty does not monitor: its output is the command's
    con.configure_lines(["logging buffered 8192 errors"])    # %SYS-5-CONFIG_I is a notification
    con.execute("clear logging")
    con.execute("")
    router = lab.device("remote-host")
    router.log("%LINK-3-UPDOWN: Interface Serial1, changed state to down")
    router.log("%LINEPROTO-5-UPDOWN: Line protocol on Interface Serial1, changed state to down")
    buffered = con.execute("show logging").partition("Log Buffer (8192 bytes):\n")[2].splitlines()
    # %LINK-3-UPDOWN is an error and is kept; %LINK-5-CHANGED, %LINEPROTO-5 and %SYS-5 are left out.
    assert len(buffered) == 1 and "%LINK-3-UPDOWN: Interface Serial1, changed state to down" in buffered[0]
    con.configure_lines(["logging buffered 8192 notifications"])
    assert "%SYS-5-CONFIG_I" in con.execute("show logging").partition("Log Buffer")[2]
    assert "\nlogging buffered 8192 notifications\n" in con.execute("show running-config")


# ---------------------------------------------------------------- traceroute

def test_traceroute_hops_through_the_isp(lab):
    remote = cli(lab, "dr_whoovie")
    out = remote.execute("traceroute 99.99.99.1")
    assert out == ("\nType escape sequence to abort.\nTracing the route to 99.99.99.1\n\n"
                   f"  1 100.100.100.2 {_ms(out, 1)}\n"
                   f"  2 99.99.99.1 {_ms(out, 2)}\n")
    # The destination's unreachables are rate limited (one per 500 ms): its second probe goes unanswered,
    # as in the sourced capture's last hop ("7 msec *  7 msec").
    last = sample("pub_traceroute_15x_last_hop_rate_limited.txt")[-1]
    shape = re.sub(r"\d+ msec", "N msec", last.split(None, 2)[2])
    assert re.sub(r"\d+ msec", "N msec", out.splitlines()[-1].split(None, 2)[2]) == shape
    rows = ntc("traceroute 99.99.99.1", out)
    assert [(r["hop_num"], r["ip_address"]) for r in rows] == [("1", "100.100.100.2"), ("2", "99.99.99.1")]
    assert rows[1]["rtt_response"][1] == "*"


def _ms(out: str, hop: int) -> str:
    line = next(x for x in out.splitlines() if x.startswith(f"{hop:>3} "))
    return line.split(None, 2)[2]


def test_traceroute_header_as_the_command_reference_prints_it(lab):
    ref = sample("cmdref_traceroute_12.1.txt")
    lab.advance(SECOND)       # the destination's unreachable rate limit (500 ms) is over since the last trace
    out = cli(lab, "isp").execute("traceroute ip 99.99.99.1").splitlines()
    assert out[1] == ref[1] and out[2].startswith("Tracing the route to ")
    assert re.fullmatch(r"  1 99\.99\.99\.1 \d+ msec \*  \d+ msec", out[4])


def test_traceroute_through_the_tunnel_and_an_unreachable(lab):
    host = cli(lab, "remote-host")
    # ARP resolved and the tunnel up first: the packets that start ARP or IKE are lost, as on IOS.
    host.execute("ping 10.2.2.10")
    lab.advance(SECOND)
    out = host.execute("traceroute 10.2.2.10").splitlines()
    assert re.fullmatch(r"  1 10\.1\.1\.1 \d+ msec \d+ msec \d+ msec", out[4])
    # The hub's time exceeded leaves from its Serial0 address, which its crypto map does not protect:
    # the ISP has no route back to the remote LAN, so hop 2 stays silent, as on the real path.
    assert out[5] == "  2 *  *  * "
    assert re.fullmatch(r"  3 10\.2\.2\.10 \d+ msec \*  \d+ msec", out[6])
    # No route at the access server: host unreachable, the trace ends there.
    out = cli(lab, "dr_whoovie").execute("traceroute 203.0.113.9").splitlines()
    assert re.fullmatch(r"  2 100\.100\.100\.2 !H  \*  !H ", out[-1]) or out[-1].endswith("!H ")


def test_traceroute_through_nat_to_the_internet(lab):
    host = cli(lab, "hub-host")
    host.execute("ping 192.0.2.10")          # ARP on both LANs resolved first
    lab.advance(SECOND)
    out = host.execute("traceroute 192.0.2.10").splitlines()
    assert [line.split()[:2] for line in out[4:]] == [["1", "10.2.2.3"], ["2", "99.99.99.2"], ["3", "192.0.2.10"]]
    # The probes that passed the hub were translated (PAT on Serial0), and the ISP's and the far host's
    # ICMP errors about them found their way back through NAT.
    nat = cli(lab, "sam-i-am").execute("show ip nat translations")
    assert re.search(r"^udp 99\.99\.99\.1:\d+ +10\.2\.2\.10:\d+ +192\.0\.2\.10:3343\d", nat, flags=re.M)


def test_traceroute_probes_are_udp_with_increasing_ttl(lab):
    from scapy.layers.inet import IP, UDP
    router = lab.device("dr_whoovie")
    lab.advance(SECOND)
    sent: list[bytes] = []
    original = router.ip.send_packet

    def tap(packet):
        sent.append(packet.encode())
        return original(packet)
    router.ip.send_packet = tap
    try:
        cli(lab, "dr_whoovie").execute("traceroute 99.99.99.1")
    finally:
        del router.ip.send_packet
    probes = [IP(raw) for raw in sent if IP(raw).proto == PROTO_UDP]
    assert probes, "no probe went out"
    assert [p.ttl for p in probes] == [1, 1, 1, 2, 2, 2]
    assert {p.src for p in probes} == {"100.100.100.1"} and {p.dst for p in probes} == {"99.99.99.1"}
    assert [p[UDP].dport for p in probes] == list(range(33434, 33434 + len(probes)))
    assert len({p[UDP].sport for p in probes}) == 1 and probes[0][UDP].sport >= 49152


def test_traceroute_to_a_name_is_refused(lab):
    assert cli(lab, "isp").execute("traceroute nowhere") == (
        "% Unrecognized host or address, or protocol not running.\n")


# ---------------------------------------------------------------- show ip interface, show controllers

def test_show_ip_interface_serial_after_ipcp(lab):
    out = cli(lab, "dr_whoovie").execute("show ip interface Serial0")
    lines = out.splitlines()
    assert lines[:5] == ["Serial0 is up, line protocol is up", "  Internet address is 100.100.100.1/32",
                         "  Broadcast address is 255.255.255.255", "  Peer address is 100.100.100.2",
                         "  Address determined by IPCP"]
    assert "  Network address translation is enabled, interface in domain outside" in lines
    # The order and wording of the 12.x lines follow the sourced capture.
    ref = [line.strip() for line in sample("pub_show_ip_interface_12x_vlan1.txt")[2:]]
    common = [line.strip() for line in lines if line.strip() in ref]
    assert common == [r for r in ref if r in common] and len(common) >= 20
    rows = ntc("show ip interface Serial0", out)
    assert rows[0]["interface"] == "Serial0" and rows[0]["ip_address"] == ["100.100.100.1"]
    assert rows[0]["mtu"] == "1500"


def test_show_ip_interface_of_every_interface_parses(lab):
    out = cli(lab, "sam-i-am").execute("show ip interface")
    rows = ntc("show ip interface", out)
    assert [r["interface"] for r in rows] == ["Ethernet0", "Serial0", "Serial1"]
    assert "  Address determined by non-volatile memory" in out
    assert "Serial1 is administratively down, line protocol is down\n  Internet protocol processing disabled\n" in out


def test_show_controllers_names_the_cable_and_clock_rate(lab):
    ref = sample("pub_show_controllers_serial0_2500.txt")
    con = cli(lab, "isp")
    out = con.execute("show controllers serial 0").splitlines()
    assert re.fullmatch(r"HD unit 0, idb = 0x[0-9A-F]+, driver structure at 0x[0-9A-F]+", out[0])
    assert re.sub("0x[0-9A-F]+", "X", out[0]) == re.sub("0x[0-9A-F]+", "X", ref[1])
    assert out[1] == ref[2]                                   # buffer size 1524 HD unit 0, V.35 DTE cable
    con.configure_lines(["interface Serial0", "clock rate 64000"])
    assert con.execute("show controllers Serial0").splitlines()[1] == (
        "buffer size 1524 HD unit 0, V.35 DCE cable, clockrate 64000")
    dce = sample("pub_show_controllers_dce_clockrate.txt")[0]
    assert re.search(r", V\.35 DCE cable, clockrate \d+$", dce)         # the wording of the DCE end
    con.configure_lines(["interface Serial0", "no clock rate 64000"])
    assert "No cable" in cli(lab, "sam-i-am").execute("show controllers serial 1")
    assert "% Invalid input" in con.execute("show controllers Ethernet0")


# ---------------------------------------------------------------- show terminal

def test_show_terminal_follows_the_session(lab):
    vty = cli(lab, "sam-i-am", line="vty0 (192.0.2.7)")
    vty.execute("terminal length 0")
    vty.execute("terminal width 132")
    vty.execute("terminal history size 25")
    out = vty.execute("show terminal").splitlines()
    ref = sample("pub_show_terminal_switch.txt")
    assert out[0] == 'Line 2, Location: "192.0.2.7", Type: ""'
    assert out[1] == "Length: 0 lines, Width: 132 columns"
    assert "History is enabled, history size is 25." in out
    # The line block's wording is the sourced one, line for line where the values agree.
    for line in ("Capabilities: none", "Modem state: Ready", "Session limit is not set.", "Editing is enabled.",
                 "DNS resolution in show commands is enabled", "No special data dispatching characters"):
        assert line in out and line in ref
    con = cli(lab, "sam-i-am").execute("show terminal").splitlines()
    assert con[0] == 'Line 0, Location: "", Type: ""' and "Allowed input transports are none." in con


# ---------------------------------------------------------------- debug ip packet

def test_debug_ip_packet_shows_the_routers_own_packets(lab):
    hub = cli(lab, "sam-i-am")
    assert hub.execute("debug ip packet") == "IP packet debugging is on\n"
    out = hub.execute("ping 99.99.99.2 repeat 1")
    assert re.search(r"IP: s=99\.99\.99\.1 \(local\), d=99\.99\.99\.2 \(Serial0\), len 100, sending\n", out)
    assert re.search(r"IP: s=99\.99\.99\.2 \(Serial0\), d=99\.99\.99\.1 \(Serial0\), len 100, rcvd 3\n", out)
    assert "  IP packet debugging is on" in hub.execute("show debugging")
    assert hub.execute("no debug ip packet") == "IP packet debugging is off\n"
    assert "IP: s=" not in hub.execute("ping 99.99.99.2 repeat 1")
    hub.configure_lines(["access-list 7 permit host 198.51.100.77"])
    assert hub.execute("debug ip packet 7 detail") == "IP packet debugging is on (detailed) for access list 7\n"
    assert "IP: s=" not in hub.execute("ping 99.99.99.2 repeat 1")         # the list permits neither end
    hub.configure_lines(["access-list 7 permit host 99.99.99.1"])
    out = hub.execute("ping 99.99.99.2 repeat 1")
    assert "len 100, sending\n    ICMP type=8, code=0\n" in out and "rcvd 3" not in out
    hub.execute("undebug all")
    assert "IP: s=" not in hub.execute("ping 99.99.99.2 repeat 1")


# ---------------------------------------------------------------- configure memory

def test_configure_memory_merges_the_startup_configuration(lab):
    con = cli(lab, "hub-host", line="vty0")
    startup = con.execute("show startup-config")
    con.configure_lines(["hostname renamed", "ip domain-name example.net"])
    assert con.execute("configure memory") == ""
    router = lab.device("hub-host")
    assert router.hostname == "hub-host"                         # the startup value replaces it
    assert router.config.domain_name == "example.net"            # a merge: nothing is removed
    assert router.log_buffer[-1].endswith("%SYS-5-CONFIG_M: Configured from memory by vty0")
    assert con.execute("show startup-config") == startup
    assert con.execute("configure") == "" and con.execute("memory") == ""
    assert router.log_buffer[-1].endswith("%SYS-5-CONFIG_M: Configured from memory by vty0")


# ---------------------------------------------------------------- help

@pytest.mark.parametrize("line, row", [
    ("traceroute ?", "  WORD  Trace route to destination address or hostname"),
    ("show crypto dynamic-map ?", "  tag   Crypto map template tag"),
    ("debug ip packet ?", "  detail   Print more debugging detail"),
    ("configure ?", "  memory    Configure from NV memory"),
    ("show ip interface ?", "  brief             Brief summary of IP status and configuration"),
])
def test_help_describes_the_new_commands(lab, line, row):
    assert row + "\n" in cli(lab, "sam-i-am").execute(line)
