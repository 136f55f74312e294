"""python -m emulator run: console scripts and their transcripts."""

import re
import subprocess
import sys
import textwrap

import pytest

from emulator.lab.labfile import Lab
from emulator.lab.script import ScriptError, ScriptRunner, parse_script
from emulator.sim.clock import SECOND
from support import ROOT

LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"


def run_cli(script, *args):
    return subprocess.run([sys.executable, "-m", "emulator", "run", *args, "-"], input=script, text=True,
                          capture_output=True, cwd=ROOT, timeout=60)


def test_show_running_config_of_the_hub():
    result = run_cli("sam-i-am# show running-config\n")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "sam-i-am#show running-config"
    assert lines[1] == "Building configuration..."
    assert "crypto map rtptrans 10 ipsec-isakmp dynamic rtpmap " in lines
    assert lines[-1] == "end"
    assert "sam-i-am.cfg:5: % Invalid input detected" in result.stderr


def test_script_transcript_config_and_wait():
    """Each script line takes the default step (1 s) after its output; the runner's own
    ``configure terminal`` and ``end`` take none: the CONFIG_I message comes 2 + 120 s on."""
    lab = Lab.from_file(LAB)
    booted = lab.sim.now
    steps = parse_script("# change a description\n"
                         "dr_whoovie(config)# interface Ethernet0\n"
                         "dr_whoovie(config-if)# description lan\n"
                         "wait 120\n"
                         "dr_whoovie# show version | include uptime\n", "s")
    out = ScriptRunner(lab).run(steps, "s")
    assert out == ("dr_whoovie#configure terminal\n"
                   "Enter configuration commands, one per line.  End with CNTL/Z.\n"
                   "dr_whoovie(config)#interface Ethernet0\n"
                   "dr_whoovie(config-if)#description lan\n"
                   "dr_whoovie(config-if)#end\n"
                   "00:02:02: %SYS-5-CONFIG_I: Configured from console by console\n"
                   "dr_whoovie#show version | include uptime\n"
                   "dr_whoovie uptime is 2 minutes\n")
    assert lab.sim.now == booted + 123 * SECOND


def test_unknown_device_names_the_line():
    result = run_cli("sam-i-am# show version\nnobody# show version\n")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "error: <stdin>:2: unknown device 'nobody'" in result.stderr


@pytest.mark.parametrize("line, reason", [
    ("show version", "cannot read 'show version'"),
    ("wait soon", "wait needs a number of seconds, not 'soon'"),
    ("step -2", "step needs a number of seconds >= 0"),
])
def test_bad_lines(line, reason):
    with pytest.raises(ScriptError) as exc:
        parse_script(f"# ok\n{line}\n", "t.txt")
    assert str(exc.value).startswith(f"t.txt:2: {reason}")


def test_bad_lab_file(tmp_path):
    bad = tmp_path / "lab.yml"
    bad.write_text("devices: {}\n")
    result = run_cli("x# show version\n", "--lab", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {bad}: devices: must be a mapping of device names to their settings"


def test_same_seed_same_lab_same_transcript():
    script = ("dr_whoovie# ping ip 10.2.2.3 source 10.1.1.1\n"
              "sam-i-am# show crypto ipsec sa\n"
              "sam-i-am# show crypto isakmp sa\n"
              "remote-host# ping 192.0.2.10\n"
              "dr_whoovie# show ip nat translations\n")
    first, second = run_cli(script), run_cli(script)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    assert "current outbound spi: " in first.stdout and "icmp 100.100.100.1:" in first.stdout


def test_verify_script_reproduces_the_documents_verify_section():
    from suites.golden import differences
    result = subprocess.run([sys.executable, "-m", "emulator", "run", "fixtures/doc14131/verify.script"],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    before, after = out.split("dr_whoovie#show interface serial0\n")[1:3]
    # The document's "before" state, LCP open and no address from IPCP, line for line.
    sample = textwrap.dedent((ROOT / "tests" / "samples" / "doc14131_show_interface_serial0_before_ipcp.txt")
                             .read_text()).splitlines()
    assert before.splitlines()[:6] == sample[1:7]
    assert "  LCP Open\n" in before
    assert after.startswith("Serial0 is up, line protocol is up\n  Hardware is HD64570\n"
                            "  Internet address is 100.100.100.1/32\n")
    # The extended ping, question by question as the document shows it (its page wraps two long lines).
    dialog = out.split("dr_whoovie#ping\n")[1].split("sam-i-am#")[0].splitlines()
    assert dialog[:16] == [
        "Protocol [ip]: ", "Target IP address: 10.2.2.3", "Repeat count [5]: ", "Datagram size [100]: ",
        "Timeout in seconds [2]: ", "Extended commands [n]: y", "Source address or interface: 10.1.1.1",
        "Type of service [0]: ", "Set DF bit in IP header? [no]: ", "Validate reply data? [no]: ",
        "Data pattern [0xABCD]: ", "Loose, Strict, Record, Timestamp, Verbose[none]: ", "Sweep range of sizes [n]: ",
        "Type escape sequence to abort.", "Sending 5, 100-byte ICMP Echos to 10.2.2.3, timeout is 2 seconds:",
        "Packet sent with a source address of 10.1.1.1"]
    assert dialog[16] == "!!!!!"
    assert dialog[17].startswith("Success rate is 100 percent (5/5), round-trip min/avg/max = ")
    sa = out.split("sam-i-am#show crypto ipsec sa\n")[1].split("sam-i-am#show crypto isakmp sa\n")[0]
    document = (ROOT / "fixtures" / "doc14131" / "hub-show-crypto-ipsec-sa.txt").read_text()
    assert differences(document, sa) == []


# ---------------------------------------------------------------------------- messages in lab-time order

def _transcript(script, **kwargs):
    lab = Lab.from_file(LAB)
    return ScriptRunner(lab, **kwargs).run(parse_script(script, "s"), "s"), lab


def _ping_block(out, device):
    """The lines of the ping typed at ``device``, from its prompt to the success line."""
    lines = out.splitlines()
    start = lines.index(f"{device}#ping ip 10.2.2.3 source 10.1.1.1")
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("Success rate"))
    return lines[start:end + 1]


def test_debug_of_the_pinging_router_comes_between_packet_sent_and_the_echoes():
    """As in ios-reference 2.5 (tests/samples/ref_2.5_ping_ike_debug_interleaved.txt): the IKE debug of the
    router that pings is printed while the first echo waits, after ``Packet sent with a source address`` and
    before the ``.`` of that echo."""
    out, _ = _transcript("dr_whoovie# debug crypto isakmp\ndr_whoovie# ping ip 10.2.2.3 source 10.1.1.1\n")
    block = _ping_block(out, "dr_whoovie")
    sent = block.index("Packet sent with a source address of 10.1.1.1")
    assert block[sent + 1].endswith(": ISAKMP: received ke message (1/1)")
    assert re.fullmatch(r"\d\d:\d\d:\d\d: ISAKMP \(0:1\): beginning Main Mode exchange", block[sent + 3])
    assert block[-2:] == [".!!!!", block[-1]] and block[-1].startswith("Success rate is 80 percent (4/5)")
    debug = block[sent + 1:-2]
    assert any("Creating IPSec SAs" in line for line in debug)
    assert not any(line.startswith("[") for line in debug)       # its own console: no device name


def test_another_routers_debug_is_printed_under_its_name_at_its_time():
    """The hub's responder debug during the remote's ping is printed there, each line under the hub's
    hostname, never under the next command typed at the remote."""
    out, _ = _transcript("sam-i-am# debug crypto isakmp\n"
                         "dr_whoovie# ping ip 10.2.2.3 source 10.1.1.1\n"
                         "dr_whoovie# show clock\n")
    block = _ping_block(out, "dr_whoovie")
    sent = block.index("Packet sent with a source address of 10.1.1.1")
    hub = block[sent + 1:-2]
    assert hub[0].startswith("[sam-i-am] ") and hub[0].endswith(
        ": ISAKMP (0:0): received packet from 100.100.100.1 (N) NEW SA")
    assert all(line.startswith("[sam-i-am] ") for line in hub)
    assert "[sam-i-am] " + "        has spi" not in hub            # continuation lines keep their indent
    assert any(line.startswith("[sam-i-am]         has spi ") for line in hub)
    assert block[-2] == ".!!!!"
    after = out.split("dr_whoovie#show clock\n")[1]
    assert "ISAKMP" not in after and len(after.splitlines()) == 1


def test_clear_crypto_sa_on_the_hub_reaches_the_remote_before_the_next_line():
    script = ("dr_whoovie# debug crypto isakmp\n"
              "dr_whoovie# ping ip 10.2.2.3 source 10.1.1.1\n"
              "sam-i-am# clear crypto sa\n"
              "dr_whoovie# show crypto ipsec sa | include spi\n")
    out, _ = _transcript(script)
    cleared = out.split("sam-i-am#clear crypto sa\n")[1].split("dr_whoovie#show")[0].splitlines()
    assert re.fullmatch(r"\[dr_whoovie\] 00:00:04: ISAKMP \(0:1\): received packet from 99.99.99.1 \(I\) QM_IDLE",
                        cleared[0])
    assert re.fullmatch(r"\[dr_whoovie\] 00:00:04: ISAKMP \(0:1\): processing DELETE payload. message ID = -?\d+",
                        cleared[2])
    assert out.endswith("dr_whoovie#show crypto ipsec sa | include spi\n     current outbound spi: 0\n")
    # Typed without a pause, the next line comes before the DELETE has crossed the line.
    quick, _ = _transcript(script, step=0)
    assert quick.split("sam-i-am#clear crypto sa\n")[1].split("dr_whoovie#show")[0].count("[dr_whoovie]") == 0
    assert "     current outbound spi: 0\n" not in quick


def test_step_sets_the_lab_time_each_line_takes():
    lab = Lab.from_file(LAB)
    booted = lab.sim.now
    ScriptRunner(lab).run(parse_script("dr_whoovie# show clock\nstep 2.5\ndr_whoovie# show clock\n"
                                       "step 0\ndr_whoovie# show clock\n", "s"), "s")
    assert lab.sim.now == booted + SECOND + 2 * SECOND + SECOND // 2
    result = run_cli("dr_whoovie# show clock\ndr_whoovie# show clock\n", "--step", "30")
    assert result.returncode == 0
    stamps = re.findall(r"^\*00:(\d\d):(\d\d)\.\d{3} UTC", result.stdout, re.M)
    assert int(stamps[1][0]) * 60 + int(stamps[1][1]) - (int(stamps[0][0]) * 60 + int(stamps[0][1])) == 30


@pytest.mark.parametrize("args, error", [
    (("--step", "soon"), "error: --step needs a number of seconds, not 'soon'"),
    (("--step", "-1"), "error: --step needs a number of seconds >= 0"),
])
def test_bad_step_option(args, error):
    result = run_cli("dr_whoovie# show clock\n", *args)
    assert result.returncode == 2
    assert result.stderr.strip() == error


def test_the_pinging_routers_debug_stands_where_ios_prints_it():
    """tests/samples/ref_2.5_ping_ike_debug_interleaved.txt: after ``Packet sent with a source address``
    comes ``IPSEC(sa_request)`` and the IKE debug, then the echoes (the first lost while IKE ran), then
    the success line; the script's transcript has the same order, line for line in kind."""
    sample = (ROOT / "tests" / "samples" / "ref_2.5_ping_ike_debug_interleaved.txt").read_text().splitlines()

    def kinds(lines):
        out = []
        for line in lines:
            body = re.sub(r"^\*?(?:[A-Z][a-z]{2} +\d+ )?\d\d:\d\d:\d\d(?:\.\d+)?: ", "", line)
            kind = ("debug-ipsec" if body.startswith("IPSEC(") else "debug-isakmp" if body.startswith("ISAKMP")
                    else "echoes" if re.fullmatch(r"(?:\*M)?[.!]+", body) else body.split(" ")[0])
            if not out or out[-1] != kind:
                out.append(kind)
        return out

    expected = kinds(line for line in sample[1:-1] if line != "...")
    assert expected == ["Type", "Sending", "Packet", "debug-ipsec", "debug-isakmp", "echoes", "Success"]
    out, _ = _transcript("dr_whoovie# debug crypto isakmp\ndr_whoovie# debug crypto ipsec\n"
                         "dr_whoovie# ping ip 10.2.2.3 source 10.1.1.1\n")
    block = [line for line in _ping_block(out, "dr_whoovie")[1:] if not line.startswith(" ")]
    got = kinds(block)
    # Ours goes on with IPsec lines after the IKE ones (the SAs installed): the same kinds, in the same order.
    assert [k for i, k in enumerate(got) if k not in got[:i]] == expected
    assert got[-2:] == ["echoes", "Success"] and block[-2] == ".!!!!"
