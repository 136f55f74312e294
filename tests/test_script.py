"""python -m emulator run: console scripts and their transcripts."""

import subprocess
import sys

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
                   "00:02:00: %SYS-5-CONFIG_I: Configured from console by console\n"
                   "dr_whoovie#show version | include uptime\n"
                   "dr_whoovie uptime is 2 minutes\n")
    assert lab.sim.now == booted + 120 * SECOND


def test_unknown_device_names_the_line():
    result = run_cli("sam-i-am# show version\nnobody# show version\n")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "error: <stdin>:2: unknown device 'nobody'" in result.stderr


@pytest.mark.parametrize("line, reason", [
    ("show version", "cannot read 'show version'"),
    ("wait soon", "wait needs a number of seconds, not 'soon'"),
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
    assert "  Internet address will be negotiated using IPCP\n" in before
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
