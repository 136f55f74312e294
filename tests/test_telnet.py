"""Telnet from one emulated device to another, on the wire: the vty server, the client, NAT and the tunnel."""

import random
import shutil

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether
from scapy.layers.ppp import PPP
from test_server import RawTelnet

from emulator.cli.session import CliSession
from emulator.engines.tcp import DEFAULT_WINDOW
from emulator.frontends.server import LabServer
from emulator.lab.labfile import Lab
from emulator.wire.pcap import read_pcap
from emulator.wire.telnet import IOS_GREETING, TelnetParser
from support import FIXTURES

HUB_INSIDE = "10.2.2.3"          # sam-i-am's Ethernet0, behind the tunnel
REMOTE_INSIDE = "10.1.1.1"       # dr_whoovie's Ethernet0, on remote-host's LAN


def console(lab, device):
    return CliSession(lab.device(device), privileged=True, line="console")


def lab_copy(tmp_path, edit=None):
    for f in FIXTURES.glob("*"):
        shutil.copy(f, tmp_path / f.name)
    for name, (old, new) in (edit or {}).items():
        text = (tmp_path / name).read_text()
        assert old in text
        (tmp_path / name).write_text(text.replace(old, new))
    return tmp_path / "lab.yml"


def tcp_data(pkt):
    """A segment's data, without the Ethernet padding scapy leaves after it."""
    return bytes(pkt[TCP])[pkt[TCP].dataofs * 4:pkt[IP].len - pkt[IP].ihl * 4]


def login(cli, target, password="ww"):
    opened = cli.execute(f"telnet {target}")
    assert opened == (f"Trying {target} ... Open\n\n\nUser Access Verification\n\nPassword: ")
    return cli.execute(password)


def test_telnet_login_show_users_and_exit_closed_by_foreign_host():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    cli = console(lab, "remote-host")
    cli.execute(f"telnet {REMOTE_INSIDE}")
    # The remote asks a password: a terminal does not echo it, and ? goes to the remote end.
    assert cli.secret_input and not cli.local_editing
    assert cli.execute("ww") == "dr_whoovie>"
    assert not cli.secret_input and not cli.local_editing
    assert cli.prompt == ""                    # the remote end prints its prompt
    users = cli.execute("show users").splitlines()
    assert users[0] == "    Line       User       Host(s)              Idle       Location"
    assert users[1].split() == ["*", "2", "vty", "0", "idle", "00:00:00", "10.1.1.10"]
    assert users[-1] == "dr_whoovie>"
    out = cli.execute("exit")
    assert out == "\n[Connection to 10.1.1.1 closed by foreign host]\n"
    assert cli.prompt == "remote-host#"
    # The vty line is free again, and its session ended.
    assert [s.line for s in lab.device("dr_whoovie").sessions if s.active] == []


def test_bare_address_at_exec_telnets_and_names_still_translate():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    cli = console(lab, "remote-host")
    assert cli.execute(REMOTE_INSIDE).startswith(f"Trying {REMOTE_INSIDE} ... Open\n")
    assert cli.execute("wrong") == "Password: "
    assert cli.execute("ww") == "dr_whoovie>"
    cli.execute("exit")
    out = cli.execute("foo")
    assert out.startswith('Translating "foo"')
    assert out.endswith("% Unknown command or computer name, or unable to find computer address\n")
    assert cli.execute("telnet foo") == ('Translating "foo"...domain server (255.255.255.255)\n'
                                         "% Bad IP address or host name\n")


def test_three_bad_passwords_close_the_connection():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    cli = console(lab, "remote-host")
    cli.execute(f"telnet {REMOTE_INSIDE}")
    clock = lab.device("remote-host").clock
    client = cli.remote
    client.send_line("a")
    clock.run_until(clock.now + 900 * 10**6)
    assert client.take() == ""                 # IOS's login delay: a second before the next question
    clock.run_until(clock.now + 200 * 10**6)
    assert client.take() == "Password: "
    assert cli.execute("b") == "Password: "
    out = cli.execute("c")
    assert out == "% Bad passwords\n\n\n[Connection to 10.1.1.1 closed by foreign host]\n"
    assert lab.device("dr_whoovie").logins.failed_total == 3


def test_refused_port_and_timed_out_host():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    cli = console(lab, "remote-host")
    assert cli.execute(f"telnet {REMOTE_INSIDE} 80") == (
        f"Trying {REMOTE_INSIDE}, 80 ... \n% Connection refused by remote host\n\n")
    start = lab.device("remote-host").now
    assert cli.execute("telnet 10.1.1.99") == (
        "Trying 10.1.1.99 ... \n% Connection timed out; remote host not responding\n\n")
    waited = (lab.device("remote-host").now - start) / 1e9
    assert 30 <= waited <= 32          # 1+2+4+8+16 s of SYN retransmissions
    assert cli.prompt == "remote-host#"


def test_login_without_password_is_refused_as_ios_does(tmp_path):
    lab = Lab.from_file(lab_copy(tmp_path, {"dr_whoovie.cfg": (" password ww\n", "")}))
    cli = console(lab, "remote-host")
    out = cli.execute(f"telnet {REMOTE_INSIDE}")
    assert out == (f"Trying {REMOTE_INSIDE} ... Open\n\nPassword required, but none set\n"
                   "\n[Connection to 10.1.1.1 closed by foreign host]\n")


def test_transport_input_without_telnet_refuses(tmp_path):
    vty = ("line vty 0 4\n", "line vty 0 4\n transport input ssh\n")
    lab = Lab.from_file(lab_copy(tmp_path, {"dr_whoovie.cfg": vty}))
    cli = console(lab, "remote-host")
    assert "% Connection refused by remote host" in cli.execute(f"telnet {REMOTE_INSIDE}")


def test_all_vty_lines_busy_refuses_the_next():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    clients = [console(lab, "remote-host") for _ in range(6)]
    for cli in clients[:5]:
        assert login(cli, REMOTE_INSIDE) == "dr_whoovie>"
    lines = sorted(s.line for s in lab.device("dr_whoovie").sessions if s.active)
    assert lines == [f"vty{n} (10.1.1.10)" for n in range(5)]
    assert "% Connection refused by remote host" in clients[5].execute(f"telnet {REMOTE_INSIDE}")
    clients[2].execute("exit")
    assert login(clients[5], REMOTE_INSIDE) == "dr_whoovie>"      # vty 2 is free again
    assert "vty2 (10.1.1.10)" in {s.line for s in lab.device("dr_whoovie").sessions if s.active}


def test_escape_suspends_return_resumes_and_disconnect_closes():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    cli = console(lab, "remote-host")
    login(cli, REMOTE_INSIDE)
    assert cli.execute("\x1ex") == ""
    assert cli.prompt == "remote-host#"
    assert cli.execute("show clock").strip()          # a local command while suspended
    # Enter takes the connection up again; nothing is sent, the remote prints when typed to.
    assert cli.execute("") == "[Resuming connection 1 to 10.1.1.1 ... ]\n\n"
    assert cli.execute("show users").endswith("dr_whoovie>")
    cli.execute("\x1ex")
    assert login(cli, "10.1.1.10") == "remote-host>"     # a second connection, to itself
    cli.execute("\x1ex")
    assert cli.execute("show sessions").splitlines() == [
        "Conn Host                Address             Byte  Idle Conn Name",
        "   1 10.1.1.1            10.1.1.1               0     0 10.1.1.1",
        "*  2 10.1.1.10           10.1.1.10              0     0 10.1.1.10",
    ]
    assert cli.execute("resume 1") == "[Resuming connection 1 to 10.1.1.1 ... ]\n\n"
    cli.execute("\x1ex")
    assert cli.execute("disconnect 2") == ""
    assert cli.prompt == "Closing connection to 10.1.1.10 [confirm]"
    assert cli.execute("") == "\n"
    assert [c.number for c in cli.connections] == [1]
    assert cli.execute("resume 2") == "% No such connection\n"
    cli.execute("resume")
    assert cli.execute("exit").endswith("[Connection to 10.1.1.1 closed by foreign host]\n")
    assert cli.execute("show sessions") == "% No connections open\n"


def test_telnet_through_nat_is_translated(tmp_path):
    lab = Lab.from_file(FIXTURES / "lab.yml")
    cli = console(lab, "remote-host")
    assert login(cli, "192.0.2.10") == "internet-host>"
    rows = [line.split() for line in console(lab, "dr_whoovie").execute("show ip nat translations").splitlines()[1:]]
    tcp = [r for r in rows if r[0] == "tcp"]
    assert len(tcp) == 1
    _, inside_global, inside_local, outside_local, outside_global = tcp[0]
    assert inside_global.startswith("100.100.100.1:") and inside_local.startswith("10.1.1.10:")
    assert outside_local == outside_global == "192.0.2.10:23"
    users = cli.execute("show users")
    assert "100.100.100.1" in users and "10.1.1.10" not in users    # the server sees the global address
    cli.execute("exit")


def test_telnet_through_the_tunnel_to_the_hub_inside_address(tmp_path):
    capture = tmp_path / "pcap"
    lab = Lab.from_file(FIXTURES / "lab.yml", capture_dir=capture)
    cli = console(lab, "remote-host")
    first = cli.execute(f"telnet {HUB_INSIDE}")
    assert first.startswith(f"Trying {HUB_INSIDE} ... ")
    if "Open" not in first:             # the first SYN may die while IKE comes up: IOS retransmits it
        raise AssertionError(first)
    assert cli.execute("ww") == "sam-i-am>"
    assert "10.1.1.10" in cli.execute("show users")
    cli.execute("exit")
    hub = console(lab, "sam-i-am").execute("show crypto ipsec sa")
    assert "#pkts decaps: 0" not in hub
    lab.close()
    # On the remote LAN the telnet runs in clear; scapy decodes it, checksums included.
    _, records = read_pcap(next(capture.glob("ethernet-*remote-host*")))
    segments = [pkt for pkt in (Ether(frame) for _, frame in records) if TCP in pkt]
    assert segments, "telnet crossed the remote LAN"
    syn = next(p for p in segments if p[TCP].flags == "S")
    assert syn[IP].src == "10.1.1.10" and syn[TCP].dport == 23
    assert dict((k, v) for k, v in syn[TCP].options)["MSS"] == 536
    synack = next(p for p in segments if p[TCP].flags == "SA")
    assert synack[TCP].window == DEFAULT_WINDOW
    for pkt in segments:
        raw = bytes(pkt[IP])
        again = IP(raw)
        del again[TCP].chksum
        assert IP(bytes(again))[TCP].chksum == pkt[TCP].chksum     # our checksum is scapy's
    assert b"User Access Verification" in b"".join(tcp_data(p) for p in segments)
    # IOS's option offer first; the client agrees to ECHO and SUPPRESS-GO-AHEAD and refuses the rest.
    server_data = [tcp_data(p) for p in segments if p[TCP].sport == 23 and tcp_data(p)]
    client_data = [tcp_data(p) for p in segments if p[TCP].dport == 23 and tcp_data(p)]
    assert server_data[0].startswith(IOS_GREETING)
    assert IOS_GREETING == bytes([255, 251, 1, 255, 251, 3, 255, 253, 24, 255, 253, 31])
    assert client_data[0] == bytes([255, 253, 1, 255, 253, 3, 255, 252, 24, 255, 252, 31])
    # On the serial line it is ESP.
    _, serial = read_pcap(capture / "serial-dr_whoovie-Serial0--isp-Serial0.pcap")
    protos = {PPP(f)[IP].proto for _, f in serial if IP in PPP(f)}
    assert 50 in protos and 6 not in protos


def test_show_tcp_brief_and_show_users_name_both_ends():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    cli = console(lab, "remote-host")
    login(cli, REMOTE_INSIDE)
    remote = cli.execute("show tcp brief").splitlines()
    assert remote[0] == "TCB       Local Address           Foreign Address        (state)"
    (row,) = remote[1:-1]
    tcb, local, foreign, state = row.split()
    port = foreign.rsplit(".", 1)[1]
    assert (local, foreign.rsplit(".", 1)[0], state) == ("10.1.1.1.23", "10.1.1.10", "ESTAB")
    assert len(tcb) == 8 and int(tcb, 16) % 4 == 0
    cli.execute("\x1ex")
    local_rows = cli.execute("show tcp brief all").splitlines()[1:]
    assert local_rows[0].split()[1:] == [f"10.1.1.10.{port}", "10.1.1.1.23", "ESTAB"]
    assert local_rows[1].split()[1:] == ["*.23", "*.*", "LISTEN"]
    users = cli.execute("show users").splitlines()
    assert users[1].split() == ["*", "0", "con", "0", "10.1.1.1", "00:00:00"]


def test_hostile_bytes_on_a_vty_do_not_break_the_device():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    cli = console(lab, "remote-host")
    login(cli, REMOTE_INSIDE)
    client = cli.remote
    rng = random.Random(14)
    sent = 0
    for _ in range(40):                          # 40 bursts of up to 64 bytes, IAC sequences among them
        burst = bytes(rng.choice([255, 250, 240, 13, 10, 8, 0, rng.randrange(256)]) for _ in range(rng.randrange(64)))
        client.connection.send(burst)
        sent += len(burst)
        lab.device("remote-host").clock.run_until(lab.device("remote-host").now + 50_000_000)
    print(f"sent {sent} hostile bytes in 40 bursts")
    other = console(lab, "remote-host")
    if cli.remote is not None:
        cli.execute("\x1ex")
    # The device still serves a new connection and answers on it.
    assert login(other, REMOTE_INSIDE) == "dr_whoovie>"
    assert "vty" in other.execute("show users")


def test_help_lists_telnet_resume_and_show_tcp():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    cli = CliSession(lab.device("remote-host"), privileged=False, line="console")

    def rows(text):
        return [line.split(None, 1) for line in text.splitlines()]
    top = rows(cli.execute("?"))
    assert ["telnet", "Open a telnet connection"] in top
    assert ["resume", "Resume an active network connection"] in top
    assert rows(cli.execute("telnet ?"))[0] == ["WORD", "IP address or hostname of a remote system"]
    assert ["tcp", "Status of TCP connections"] in rows(cli.execute("show ?"))


def test_login_times_out_after_30_seconds_and_exec_timeout_closes_an_idle_vty(tmp_path):
    lab = Lab.from_file(lab_copy(tmp_path, {"dr_whoovie.cfg": (" password ww\n", " password ww\n exec-timeout 1 0\n")}))
    clock = lab.device("remote-host").clock
    cli = console(lab, "remote-host")
    cli.execute(f"telnet {REMOTE_INSIDE}")
    clock.run_until(clock.now + 31 * 10**9)
    assert cli.execute("ww") == "\n% Password:  timeout expired!\n\n[Connection to 10.1.1.1 closed by foreign host]\n"
    assert login(cli, REMOTE_INSIDE) == "dr_whoovie>"
    clock.run_until(clock.now + 59 * 10**9)
    assert cli.execute("show clock").endswith("dr_whoovie>")     # typing keeps the line
    clock.run_until(clock.now + 61 * 10**9)
    assert cli.execute("") == "\n[Connection to 10.1.1.1 closed by foreign host]\n"


def test_reload_ends_the_telnet_connections_of_the_device(tmp_path):
    lab = Lab.from_file(FIXTURES / "lab.yml")
    cli = console(lab, "dr_whoovie")
    assert login(cli, "10.1.1.10") == "remote-host>"
    cli.execute("\x1ex")
    router = lab.device("dr_whoovie")
    router.reload(60 * 10**9)
    router.clock.run_until(router.clock.now + 61 * 10**9)
    assert cli.prompt == "dr_whoovie>" and cli.remote is None and cli.suspended is None
    assert router.tcp.engine.connections() == []
    # remote-host's vty learns of it when its retransmissions give up; until then the line stays taken.
    router.clock.run_until(router.clock.now + 20 * 60 * 10**9)
    assert [s for s in lab.device("remote-host").sessions if s.active and s.line.startswith("vty")] == []


def test_a_long_command_on_the_remote_prints_whole_in_one_line():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    cli = console(lab, "remote-host")
    login(cli, REMOTE_INSIDE)
    out = cli.execute("ping 10.1.1.10")
    assert out.startswith("Type escape sequence to abort.\nSending 5, 100-byte ICMP Echos to 10.1.1.10")
    assert "Success rate is 100 percent (5/5)" in out and out.endswith("\ndr_whoovie>")
    out = cli.execute("ping 10.1.1.99")                  # five 2-second timeouts: quiet gaps in the output
    assert ".....\nSuccess rate is 0 percent (0/5)\ndr_whoovie>" in out


def test_lines_typed_ahead_wait_for_the_running_command():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    cli = console(lab, "remote-host")
    login(cli, REMOTE_INSIDE)
    client = cli.remote
    client.connection.send(b"ping 10.1.1.99\r\nshow users\r\n")
    out = cli.execute("show clock")
    # The ping's output, then the lines typed meanwhile, each echoed as the EXEC reads it.
    ping_end = out.index("Success rate is 0 percent (0/5)")
    users = out.index("dr_whoovie>show users")
    clock = out.index("dr_whoovie>show clock")
    assert ping_end < users < clock


def test_an_icmp_unreachable_ends_the_attempt_at_once():
    # The remote router's own packets leave from its Serial0 address, outside the crypto ACL: in clear,
    # and the ISP has no route to the hub's LAN.
    lab = Lab.from_file(FIXTURES / "lab.yml")
    cli = console(lab, "dr_whoovie")
    start = lab.device("dr_whoovie").now
    assert cli.execute(f"telnet {HUB_INSIDE}") == (
        f"Trying {HUB_INSIDE} ... \n% Destination unreachable; gateway or host down\n\n")
    assert lab.device("dr_whoovie").now - start < 10**9
    assert lab.device("dr_whoovie").tcp.engine.connections() == []


def test_telnet_onwards_from_a_served_vty():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    server = LabServer(lab).start()
    try:
        hub = next(e for e in server.endpoints if e.role == "hub")
        t = RawTelnet(hub.telnet_port)
        try:
            t.read_until(r"Password: $")
            t.send("ww\r\n")
            t.read_until(r"sam-i-am>$")
            t.send("telnet 99.99.99.2\r\n")
            out = t.read_until(r"Password: $", timeout=10)
            assert "telnet 99.99.99.2\r\nTrying 99.99.99.2 ... Open\r\n" in out and "User Access Verification" in out
            t.send("ww\r\n")                                 # the remote password: echoed by neither end
            assert t.read_until(r"isp>$", timeout=10) == "\r\nisp>"
            t.send("show users\r\n")
            users = t.read_until(r"isp>$", timeout=10)
            assert users.startswith("show users\r\n") and "99.99.99.1" in users
            t.send("exit\r\n")
            out = t.read_until(r"sam-i-am>$", timeout=10)
            assert "[Connection to 99.99.99.2 closed by foreign host]\r\n" in out
        finally:
            t.close()
    finally:
        server.stop()
        lab.close()


def test_option_parser_roles_answer_each_option_once():
    server = TelnetParser("server", requested=frozenset({24, 31}))
    client = TelnetParser("client")
    data, replies = client.feed(IOS_GREETING + b"hello")
    assert data == b"hello" and replies == bytes([255, 253, 1, 255, 253, 3, 255, 252, 24, 255, 252, 31])
    assert client.feed(IOS_GREETING) == (b"", b"")                  # answered once only
    assert server.feed(bytes([255, 251, 24, 255, 251, 5, 255, 253, 1])) == (b"", bytes([255, 254, 5]))
    assert server.agreed == {24}


def test_local_delivery_hands_tcp_to_the_device_tcp_and_its_unreachables_back():
    from ipaddress import IPv4Address

    from test_local_delivery import ME, PEER, Host

    from emulator.device.local import LocalDelivery
    from emulator.wire import icmp
    from emulator.wire.ipv4 import PROTO_TCP, IPv4Packet
    from emulator.wire.tcp import SYN, TCPSegment
    host = Host()
    local = LocalDelivery(lambda purpose: random.Random(purpose))
    local.connect(host)
    syn = IPv4Packet(PEER, ME, PROTO_TCP, TCPSegment(1024, 23, seq=1, flags=SYN).encode(PEER, ME))
    local.deliver("Serial0", syn)
    assert host.sent[0].protocol == 1 and host.sent[0].payload[:2] == bytes([3, 2])   # no TCP: protocol unreachable
    got, errors = [], []
    local.tcp_listener = lambda iface, packet: got.append((iface, packet))
    local.tcp_unreachable = errors.append
    local.deliver("Serial0", syn)
    assert got == [("Serial0", syn)] and len(host.sent) == 1
    ours = IPv4Packet(ME, PEER, PROTO_TCP, TCPSegment(11000, 23, seq=1, flags=SYN).encode(ME, PEER))
    error = icmp.ICMPMessage.dest_unreachable(icmp.UnreachCode.HOST, ours.encode())
    local.deliver("Serial0", IPv4Packet(IPv4Address("203.0.113.1"), ME, 1, error.encode()))
    assert [(e.src, e.dst, e.payload[:4]) for e in errors] == [(ME, PEER, ours.payload[:4])]


def test_remote_output_stops_at_more_and_keys_go_through():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    cli = console(lab, "remote-host")
    login(cli, REMOTE_INSIDE)
    cli.execute("enable")
    assert cli.execute("lab") == "dr_whoovie#"
    first = cli.execute("show running-config")
    assert first.endswith("\n --More-- ") and first.count("\n") == 23      # a 24-line terminal: 23 lines
    page = cli.execute(" ")                                                # space: a page more
    erase = "\b" * 10 + " " * 10 + "\b" * 10
    assert page.startswith(erase) and page.endswith(" --More-- ") and page.count("\n") == 23
    line = cli.execute("")                                                 # Return: one line more
    assert line.startswith(erase) and line.count("\n") == 1 and line.endswith(" --More-- ")
    assert cli.execute("q") == erase + "dr_whoovie#"                      # any other key: the end
    cli.execute("terminal length 0")
    whole = cli.execute("show running-config")
    assert "--More--" not in whole and whole.endswith("\nend\ndr_whoovie#")
