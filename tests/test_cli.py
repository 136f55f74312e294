"""The IOS CLI core: modes, prompts, abbreviations and error markers, exact text."""


import pytest

from emulator.cli.console_log import ConsoleLog
from emulator.cli.session import CliSession
from emulator.device.router import Router
from emulator.sim.clock import SECOND, Simulator
from support import FIXTURES


@pytest.fixture
def clock():
    return Simulator()   # never run: the tests move ``now`` by hand


@pytest.fixture
def cli(clock):
    router = Router("r", (FIXTURES / "dr_whoovie.cfg").read_text(), "dr_whoovie.cfg", clock=clock, console=ConsoleLog())
    return CliSession(router)


def typed(cli, *lines):
    out = []
    for line in lines:
        out.append(cli.prompt + line + "\n" + cli.execute(line))
    return "".join(out)


def test_modes_and_prompts(cli):
    assert cli.prompt == "dr_whoovie>"
    cli.execute("enable")
    assert cli.prompt == "dr_whoovie#"
    assert cli.execute("conf t") == "Enter configuration commands, one per line.  End with CNTL/Z.\n"
    assert cli.prompt == "dr_whoovie(config)#"
    prompts = []
    for line in ["interface Serial0", "crypto isakmp policy 5", "crypto ipsec transform-set t esp-des",
                 "crypto map m 5 ipsec-isakmp", "crypto dynamic-map d 5", "route-map x permit 5",
                 "line vty 0 4", "ip access-list extended E"]:
        cli.execute(line)
        prompts.append(cli.prompt)
    assert prompts == ["dr_whoovie(config-if)#", "dr_whoovie(config-isakmp)#", "dr_whoovie(cfg-crypto-trans)#",
                       "dr_whoovie(config-crypto-map)#", "dr_whoovie(config-crypto-map)#",
                       "dr_whoovie(config-route-map)#", "dr_whoovie(config-line)#", "dr_whoovie(config-ext-nacl)#"]
    cli.execute("exit")
    assert cli.prompt == "dr_whoovie(config)#"
    cli.execute("interface Ethernet0")
    cli.execute("\x1a")
    assert cli.prompt == "dr_whoovie#"
    cli.execute("disable")
    assert cli.prompt == "dr_whoovie>"


def test_invalid_input_caret_under_bad_word(cli):
    cli.execute("enable")
    assert typed(cli, "show ip interface brieff") == (
        "dr_whoovie#show ip interface brieff\n"
        + " " * 29 + "^\n"
        "% Invalid input detected at '^' marker.\n\n")


def test_incomplete_and_ambiguous(cli):
    cli.execute("enable")
    cli.execute("configure terminal")
    assert cli.execute("hostname") == "% Incomplete command.\n\n"
    assert cli.execute("i") == '% Ambiguous command:  "i"\n'
    cli.execute("interface Serial0")
    assert cli.execute("ip address") == "% Incomplete command.\n\n"
    assert cli.prompt == "dr_whoovie(config-if)#"


def test_abbreviations(cli):
    cli.execute("en")
    assert cli.execute("sh run").startswith("Building configuration...\n")
    assert cli.execute("sh ip int br").startswith("Interface                  IP-Address      OK? Method Status")
    assert cli.execute("sh ver").startswith("Cisco Internetwork Operating System Software")
    assert cli.execute("sh int s0").startswith("Serial0 is ")
    cli.execute("conf t")
    cli.execute("int e0")
    assert cli.prompt == "dr_whoovie(config-if)#"


def test_privileged_commands_refused_in_user_mode(cli):
    assert "% Invalid input detected" in cli.execute("show running-config")
    assert "% Invalid input detected" in cli.execute("configure terminal")


def test_unknown_word_is_taken_as_host_name(cli):
    assert cli.execute("frobnicate") == (
        'Translating "frobnicate"...domain server (255.255.255.255)\n'
        "% Unknown command or computer name, or unable to find computer address\n")


def test_configuration_takes_effect_and_logs(cli, clock):
    cli.execute("enable")
    clock.now = 75 * SECOND
    typed(cli, "configure terminal", "hostname edge", "interface Serial1", "ip address 192.0.2.9 255.255.255.252",
          "no shutdown", "end")
    assert cli.prompt == "edge#"
    run = cli.execute("show running-config")
    assert "hostname edge" in run
    assert "interface Serial1\n ip address 192.0.2.9 255.255.255.252\n!" in run
    brief = cli.execute("show ip interface brief").splitlines()
    assert brief[3] == "Serial1                    192.0.2.9       YES manual down                  down"
    assert cli.router.log_buffer[-1:] == ["00:01:15: %SYS-5-CONFIG_I: Configured from console by console"]


def test_show_interfaces_before_ipcp(cli):
    cli.execute("enable")
    out = cli.execute("show interfaces Serial0").splitlines()
    assert out[1:6] == ["  Hardware is HD64570",
                        "  Internet address will be negotiated using IPCP",
                        "  MTU 1500 bytes, BW 1544 Kbit, DLY 20000 usec,",
                        "     reliability 255/255, txload 1/255, rxload 1/255",
                        "  Encapsulation PPP, loopback not set"]


def test_show_version_uptime_follows_the_clock(cli, clock):
    clock.now = (3 * 86400 + 2 * 3600 + 5 * 60 + 7) * SECOND
    out = cli.execute("show version")
    assert "dr_whoovie uptime is 3 days, 2 hours, 5 minutes\n" in out
    assert "IOS (tm) 2500 Software (C2500-IK9S-L), Version 12.2(24a), RELEASE SOFTWARE (fc2)\n" in out
    assert "1 Ethernet/IEEE 802.3 interface(s)\n2 Serial network interface(s)\n" in out


def test_terminal_settings_print_nothing(cli):
    assert cli.execute("terminal length 0") == ""
    assert cli.execute("terminal width 511") == ""
    assert (cli.terminal_length, cli.terminal_width) == (0, 511)


def test_copy_running_config_dialog(cli):
    cli.execute("enable")
    assert cli.execute("copy running-config startup-config") == ""
    assert cli.prompt == "Destination filename [startup-config]? "
    assert cli.execute("") == "Building configuration...\n[OK]\n"
    assert cli.prompt == "dr_whoovie#"
    assert cli.execute("show startup-config").startswith("Using ")


def test_output_filters(cli):
    cli.execute("enable")
    assert cli.execute("show running-config | include ^interface") == (
        "interface Ethernet0\ninterface Serial0\ninterface Serial1\n")
    assert cli.execute("show running-config | begin ^line").startswith("line con 0\n")


def test_commands_not_emulated_are_refused_not_faked(cli):
    cli.execute("enable")
    for command in ["show ip bgp", "show crypto pki certificates"]:
        assert "% Invalid input detected at '^' marker." in cli.execute(command)


def test_question_mark_lists_the_next_words(cli):
    cli.execute("enable")
    # Words padded to the longest ("dynamic-map"), then two spaces.
    assert cli.execute("show crypto ?") == ("  call         Show crypto call admission info\n"
                                            "  dynamic-map  Crypto map templates\n"
                                            "  engine       Show crypto engine info\n"
                                            "  ipsec        Show IPSEC policy\n"
                                            "  isakmp       Show ISAKMP\n"
                                            "  map          Crypto maps\n\n")
    assert cli.execute("show cr?") == "crypto\n\n"
    listed = cli.execute("show ip interface ?").splitlines()
    assert listed[0] == "  brief             Brief summary of IP status and configuration"
    assert "  Serial            Serial" in listed
    assert listed[-3:] == ["  |                 Output modifiers", "  <cr>", ""]
    # A show command may end here: its output can be filtered.
    assert cli.execute("show ip interface brief ?") == "  |     Output modifiers\n  <cr>\n\n"
    assert cli.execute("show bogus ?") == "% Unrecognized command\n"
    cli.execute("configure terminal")
    cli.execute("crypto isakmp policy 1")
    assert cli.execute("?").splitlines()[:5] == [
        "ISAKMP commands:",
        "  authentication  Set authentication method for protection suite",
        "  encryption      Set encryption algorithm for protection suite",
        "  end             Exit from configure mode",
        "  exit            Exit from ISAKMP protection suite configuration mode"]
    assert cli.execute("lifetime ?") == "  <60-86400>  lifetime in seconds\n\n"
    assert cli.execute("hash ?") == "  md5  Message Digest 5\n  sha  Secure Hash Standard\n\n"


def test_exec_help_has_its_heading_descriptions_and_placeholders(cli):
    cli.execute("enable")
    lines = cli.execute("?").splitlines()
    assert lines[0] == "Exec commands:"
    # Each word padded to the longest one ("traceroute" and "disconnect", 10), then two spaces and the description.
    assert "  clear       Reset functions" in lines
    assert "  ping        Send echo messages" in lines
    assert "  show        Show running system information" in lines
    assert "  traceroute  Trace route to destination" in lines
    assert cli.execute("ping ?") == ("  ip    IP echo\n"
                                     "  WORD  Ping destination address or hostname\n"
                                     "  <cr>\n\n")
    assert cli.execute("terminal length ?") == "  <0-512>  Number of lines on screen (0 for no pausing)\n\n"


def test_interface_question_mark_lists_the_interface_types(cli):
    cli.execute("enable")
    cli.execute("configure terminal")
    out = cli.execute("interface ?").splitlines()
    assert "  Ethernet          IEEE 802.3" in out and "  Serial            Serial" in out
    assert "  Loopback          Loopback interface" in out and "  Null              Null interface" in out
    assert not any("BRI" in line for line in out)       # a 2501 has no ISDN port
    top = cli.execute("?").splitlines()
    assert top[0] == "Configure commands:" and "  no           Negate a command or set its defaults" in top
    assert not any(line.split()[:1] == ["version"] for line in top)   # hidden, as on IOS
    assert cli.execute("service timestamps debug datetime ?") == (
        "  localtime      Use local time zone for timestamps\n"
        "  msec           Include milliseconds in timestamp\n"
        "  show-timezone  Add time zone information to timestamp\n"
        "  year           Include year in timestamp\n"
        "  <cr>\n\n")


@pytest.mark.parametrize("line, privileged", [("s", True), ("c", True), ("w", True), ("t", True),
                                              ("p 10.1.1.1", True), ("s", False), ("t", False)])
def test_abbreviations_are_judged_against_every_ios_exec_command(cli, line, privileged):
    if privileged:
        cli.execute("enable")
    assert cli.execute(line) == f'% Ambiguous command:  "{line}"\n'


def test_abbreviations_unique_among_ios_commands_still_run(cli):
    cli.execute("enable")
    assert cli.execute("sh") == '% Type "show ?" for a list of subcommands\n'
    assert cli.execute("ter len 0") == ""
    assert cli.execute("wr").startswith("Building configuration...")


def test_tab_completes_a_unique_keyword(cli):
    cli.execute("enable")
    assert cli.complete("sh") == "show "
    assert cli.complete("show ip int") == "show ip interface "
    assert cli.complete("show i") is None   # interfaces, ip: not unique


def test_enable_checks_a_type_5_secret(clock):
    router = Router("r", (FIXTURES / "dr_whoovie.cfg").read_text(), "x", clock=clock, console=ConsoleLog())
    router.apply_extra_config(["enable secret lab"], "lab")
    assert router.config.enable_secret.startswith("5 $1$") and router.operator_secrets == {"enable": "lab"}
    vty = CliSession(router, line="vty0")
    assert vty.execute("enable") == ""
    assert vty.prompt == "Password: "
    vty.execute("wrong")
    assert vty.execute("lab") == ""
    assert vty.prompt == "dr_whoovie#"
