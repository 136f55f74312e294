"""``show ip route ADDRESS`` and ``show running-config interface NAME`` in IOS 12.2's layouts."""

import pytest

from emulator.cli.session import CliSession
from emulator.lab.labfile import Lab
from support import DOC_LAB


@pytest.fixture(scope="module")
def lab():
    return Lab.from_file(DOC_LAB)


def cli(lab, name):
    return CliSession(lab.device(name), privileged=True, line="vty0")


def test_route_entry_of_a_connected_network(lab):
    assert cli(lab, "sam-i-am").execute("show ip route 99.99.99.7") == (
        "Routing entry for 99.99.99.0/24\n"
        '  Known via "connected", distance 0, metric 0 (connected, via interface)\n'
        "  Routing Descriptor Blocks:\n"
        "  * directly connected, via Serial0\n"
        "      Route metric is 0, traffic share count is 1\n\n")


def test_the_default_route_only_for_0_0_0_0(lab):
    remote = cli(lab, "dr_whoovie")
    assert remote.execute("show ip route 0.0.0.0") == (
        "Routing entry for 0.0.0.0/0, supernet\n"
        '  Known via "static", distance 1, metric 0 (connected), candidate default path\n'
        "  Routing Descriptor Blocks:\n"
        "  * directly connected, via Serial0\n"
        "      Route metric is 0, traffic share count is 1\n\n")
    # An address only the default route covers is not in the table, as IOS answers.
    assert remote.execute("show ip route 198.51.100.1") == "% Network not in table\n"
    # The IPCP peer's host route is the longest match.
    assert remote.execute("show ip route 100.100.100.2").startswith("Routing entry for 100.100.100.2/32\n")


def test_running_config_of_one_interface(lab):
    out = cli(lab, "sam-i-am").execute("show running-config interface Ethernet0")
    head, body = out.split("\n!\n", 1)
    assert head.startswith("Building configuration...\n\nCurrent configuration : ")
    assert int(head.rsplit(" ", 2)[-2]) == len(("!\n" + body).encode())
    assert body.startswith("interface Ethernet0\n ip address 10.2.2.3 255.255.255.0\n")
    assert body.endswith("\nend\n") and "interface Serial0" not in body
    bad = cli(lab, "sam-i-am").execute("show running-config interface Serial7")
    assert bad.endswith("^\n% Invalid input detected at '^' marker.\n\n")


def test_help_describes_the_new_arguments(lab):
    hub = cli(lab, "sam-i-am")
    assert "  A.B.C.D  Network to display information about or hostname\n" in hub.execute("show ip route ?")
    assert "  interface  Show interface configuration\n" in hub.execute("show running-config ?")


def test_show_history_lists_the_exec_commands_typed(lab):
    s = cli(lab, "dr_whoovie")
    for line in ("show clock", "show ver", "show ip ?", "terminal length 0"):
        s.execute(line)
    # The current command is the newest entry; help requests are not commands.
    assert s.execute("show history") == "  show clock\n  show ver\n  terminal length 0\n  show history\n"
    s.execute("terminal history size 2")
    assert s.execute("show history") == "  terminal history size 2\n  show history\n"
    for _ in range(12):
        s.execute("show clock")
    s.execute("terminal history size 10")
    assert s.execute("show history").count("\n") == 3      # the buffer was 2 long; it grows from here
    # Padded to the longest word of the list ("running-config", "startup-config").
    assert "  history         Display the session command history\n" in s.execute("show ?")


def test_show_users_lists_the_lines_in_use(lab):
    from ntc_templates.parse import parse_output

    from emulator.labtime import SECOND
    router = lab.device("isp")
    con = CliSession(router, privileged=True, line="console")
    vty = CliSession(router, privileged=True, line="vty0 (127.0.0.1)")
    con.execute("show clock")
    lab.advance(65 * SECOND)
    out = vty.execute("show users")
    assert out.splitlines()[:3] == [
        "    Line       User       Host(s)              Idle       Location",
        "   0 con 0                idle                 00:01:05",
        "*  2 vty 0                idle                 00:00:00   127.0.0.1"]
    assert "  Interface    User               Mode         Idle     Peer Address" in out
    # ntc-templates (an independent reader) takes the same lines; its columns after the line are
    # ambiguous when no user is logged in (on IOS too), so only the lines are compared.
    rows = parse_output(platform="cisco_ios", command="show users", data=out)
    assert [r["line"] for r in rows] == ["0 con 0", "*  2 vty 0"]
    vty.close()
    assert "vty 0" not in con.execute("show users")
