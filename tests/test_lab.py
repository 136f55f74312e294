"""Lab file validation: every error names the file, the key and what is wrong."""

import shutil
import time

import pytest

from emulator.lab.labfile import Lab, LabError, load_lab
from emulator.sim.clock import MS
from support import FIXTURES
from support.labfiles import error_of, write


@pytest.fixture
def labdir(tmp_path):
    for f in FIXTURES.glob("*.cfg"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def test_document_lab_loads():
    spec = load_lab(FIXTURES / "lab.yml")
    assert spec.seed == 14131
    assert spec.device_for_role("hub") == "sam-i-am"
    assert spec.device_for_role("remote") == "dr_whoovie"
    serial = [link for link in spec.links if link.kind == "serial"]
    assert [(link.ports, link.bandwidth_bps, link.delay_ns) for link in serial][0] == (
        [("dr_whoovie", "Serial0"), ("isp", "Serial0")], 1_544_000, 2 * MS)


def test_document_lab_boots_every_device():
    lab = Lab.from_file(FIXTURES / "lab.yml")
    assert {r.hostname for r in lab.devices.values()} == {
        "sam-i-am", "dr_whoovie", "isp", "hub-host", "remote-host", "internet-host"}
    # The hub's one bad line is reported and the rest loaded.
    assert [str(e) for e in lab.boot_errors()] == [
        "sam-i-am.cfg:5: % Invalid input detected at '^' marker. (service timestamps log up time)"]
    assert lab.device("sam-i-am") is lab.devices["sam-i-am"]


def test_malformed_yaml(labdir):
    path = write(labdir, "devices: [\n  a: b\n")
    message = error_of(path)
    assert message.startswith(f"{path}: malformed YAML: line ")


def test_missing_config_file(labdir):
    path = write(labdir, "devices:\n  r1: {config: nowhere.cfg}\n")
    assert error_of(path) == f"{path}: devices.r1.config: configuration file not found: {labdir / 'nowhere.cfg'}"


def test_unknown_device_in_link(labdir):
    path = write(labdir, "devices:\n  r1: {config: sam-i-am.cfg}\nlinks:\n  - serial: [r1 Serial0, r2 Serial0]\n")
    assert error_of(path) == f"{path}: links[0].serial: unknown device 'r2' (devices: r1)"


def test_unknown_interface_in_link(labdir):
    path = write(labdir, "devices:\n  r1: {config: sam-i-am.cfg}\n  r2: {config: isp.cfg}\n"
                         "links:\n  - serial: [r1 Serial7, r2 Serial0]\n")
    assert error_of(path) == (f"{path}: links[0].serial: device 'r1' has no interface 'Serial7' "
                              "(it has Ethernet0, Serial0, Serial1)")


def test_port_on_two_links(labdir):
    path = write(labdir, "devices:\n  r1: {config: sam-i-am.cfg}\n  r2: {config: isp.cfg}\n"
                         "links:\n  - serial: [r1 Serial0, r2 Serial0]\n  - serial: [r1 Serial0, r2 Serial1]\n")
    assert error_of(path) == f"{path}: links[1].serial: port 'r1 Serial0' is already on links[0]"


def test_duplicate_role(labdir):
    path = write(labdir, "devices:\n  r1: {config: sam-i-am.cfg, role: hub}\n  r2: {config: isp.cfg, role: hub}\n")
    assert error_of(path) == f"{path}: devices.r2.role: duplicate role 'hub' (also r1)"


def test_serial_link_needs_two_ports_of_serial_kind(labdir):
    path = write(labdir, "devices:\n  r1: {config: sam-i-am.cfg}\n  r2: {config: isp.cfg}\n"
                         "links:\n  - serial: [r1 Ethernet0, r2 Ethernet0]\n")
    assert error_of(path) == f"{path}: links[0].serial: 'r1 Ethernet0' is not a serial port"
    path = write(labdir, "devices:\n  r1: {config: sam-i-am.cfg}\nlinks:\n  - serial: [r1 Serial0]\n")
    assert error_of(path) == f"{path}: links[0].serial: a serial link joins exactly 2 ports, not 1"


def test_bad_values(labdir):
    path = write(labdir, "seed: x\ndevices:\n  r1: {config: sam-i-am.cfg}\n")
    assert error_of(path) == f"{path}: seed: must be an integer, not 'x'"
    path = write(labdir, "devices:\n  r1: {config: sam-i-am.cfg}\n  r2: {config: isp.cfg}\n"
                         "links:\n  - serial: [r1 Serial0, r2 Serial0]\n    delay_ms: -1\n")
    assert error_of(path) == f"{path}: links[0].delay_ms: must be a number of milliseconds >= 0, not -1"
    path = write(labdir, "devices:\n  r1: {config: sam-i-am.cfg, colour: red}\n")
    assert error_of(path) == \
        f"{path}: devices.r1.colour: unknown key (expected config, role, platform, extra_config, range)"


def test_unreadable_lab_file(tmp_path):
    assert error_of(tmp_path / "none.yml").startswith(f"{tmp_path / 'none.yml'}: cannot read lab file")


def test_extra_config_is_applied_and_shown(labdir):
    path = write(labdir, "devices:\n  r1: {config: sam-i-am.cfg, extra_config: [enable secret lab, hostnam]}\n")
    lab = Lab.from_file(path)
    router = lab.devices["r1"]
    assert router.config.enable_secret.startswith("5 $1$") and router.operator_secrets == {"enable": "lab"}
    assert [str(e) for e in router.boot_errors][-1] == (
        "lab.yml: devices.r1.extra_config:2: % Incomplete command. (hostnam)")
    path = write(labdir, "devices:\n  r1: {config: sam-i-am.cfg, extra_config: enable secret lab}\n")
    assert error_of(path) == f"{path}: devices.r1.extra_config: must be a list of configuration lines"


# ---------------------------------------------------------------- hostile or broken input: one-line LabErrors

def write_bytes(labdir, data):
    path = labdir / "lab.yml"
    path.write_bytes(data)
    return path


TWO = "devices:\n  r1: {config: sam-i-am.cfg}\n  r2: {config: isp.cfg}\n"


def test_lab_file_that_is_not_utf8(labdir):
    path = write_bytes(labdir, b"devices:\n  r1: {config: sam-i-am.cfg}\n# caf\xe9\n")
    assert error_of(path) == f"{path}: not UTF-8 text: byte 0xe9 at line 3, column 6"


def test_configuration_file_that_is_not_utf8(labdir):
    (labdir / "latin1.cfg").write_bytes(b"hostname r1\nbanner motd ^caf\xe9^\n")
    path = write(labdir, "devices:\n  r1: {config: latin1.cfg}\n")
    assert error_of(path) == (f"{path}: devices.r1.config: {labdir / 'latin1.cfg'}: "
                              "not UTF-8 text: byte 0xe9 at line 2, column 17")
    # A spec loaded before the file went bad: booting says the same, no traceback.
    (labdir / "latin1.cfg").write_text("hostname r1\n")
    spec = load_lab(path)
    (labdir / "latin1.cfg").write_bytes(b"\xff\n")
    with pytest.raises(LabError, match=r"devices\.r1\.config: .*not UTF-8 text: byte 0xff at line 1, column 1$"):
        Lab(spec)


def test_byte_order_mark_and_crlf_are_text(labdir):
    path = write_bytes(labdir, b"\xef\xbb\xbfdevices:\r\n  r1: {config: sam-i-am.cfg}\r\n")
    assert list(load_lab(path).devices) == ["r1"]


def test_characters_yaml_forbids(labdir):
    path = write_bytes(labdir, b"devices:\n  r1: {config: sam-i-am.cfg}\nscenario: {a: x\x00}\n")
    assert error_of(path) == f"{path}: malformed YAML: line 3, column 16: character #x0000 is not allowed"


@pytest.mark.parametrize("flow", [True, False])
def test_deeply_nested_yaml(labdir, flow):
    depth = 100_000 if flow else 200
    nested = "[" * depth + "]" * depth if flow else "".join(f"\n{'  ' * (i + 2)}k:" for i in range(depth)) + " 1"
    path = write(labdir, f"devices:\n  r1: {{config: sam-i-am.cfg}}\nscenario:\n  deep: {nested}\n")
    message = error_of(path)
    assert message.startswith(f"{path}: scenario.deep") and "nested deeper than 32 levels (line " in message
    assert "\n" not in message


def test_nesting_a_lab_file_may_use(labdir):
    nested = "[" * 30 + "]" * 30
    path = write(labdir, f"devices:\n  r1: {{config: sam-i-am.cfg}}\nscenario:\n  deep: {nested}\n")
    assert load_lab(path).scenario["deep"] == [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]


@pytest.mark.parametrize("key, value, line", [
    ("bandwidth_kbps", ".nan", 6), ("delay_ms", ".inf", 6), ("bandwidth_kbps", "-.Inf", 6),
    ("delay_ms", "1.0e+999", 6)])
def test_non_finite_numbers(labdir, key, value, line):
    path = write(labdir, TWO + f"links:\n  - serial: [r1 Serial0, r2 Serial0]\n    {key}: {value}\n")
    assert error_of(path) == f"{path}: links[0].{key}: must be a finite number, not {value} (line {line})"


def test_non_finite_number_anywhere(labdir):
    path = write(labdir, "seed: .nan\ndevices:\n  r1: {config: sam-i-am.cfg}\n")
    assert error_of(path) == f"{path}: seed: must be a finite number, not .nan (line 1)"
    path = write(labdir, "devices:\n  r1: {config: sam-i-am.cfg}\nscenario:\n  hub.lifetime: .inf\n")
    assert error_of(path) == f"{path}: scenario.hub.lifetime: must be a finite number, not .inf (line 4)"


def test_duplicate_device_keys(labdir):
    path = write(labdir, "devices:\n  r1: {config: sam-i-am.cfg}\n  r2: {config: isp.cfg}\n  r1: {config: isp.cfg}\n")
    assert error_of(path) == f"{path}: devices.r1: duplicate key (line 4, first on line 2)"
    path = write(labdir, "devices: {r1: {config: sam-i-am.cfg}, r1: {config: isp.cfg}}\n")
    assert error_of(path) == f"{path}: devices.r1: duplicate key (line 1, first on line 1)"
    path = write(labdir, "devices:\n  1: {config: sam-i-am.cfg}\n  '1': {config: isp.cfg}\n")
    assert error_of(path) == f"{path}: devices.1: duplicate device name '1' (written once as text, once not)"


def test_duplicate_keys_at_any_level(labdir):
    path = write(labdir, "devices:\n  r1: {config: sam-i-am.cfg, config: isp.cfg}\n")
    assert error_of(path) == f"{path}: devices.r1.config: duplicate key (line 2, first on line 2)"
    path = write(labdir, "seed: 1\ndevices:\n  r1: {config: sam-i-am.cfg}\nseed: 2\n")
    assert error_of(path) == f"{path}: seed: duplicate key (line 4, first on line 1)"


def test_values_their_tag_cannot_read(labdir):
    path = write(labdir, "seed: !!int twelve\ndevices:\n  r1: {config: sam-i-am.cfg}\n")
    assert error_of(path) == f"{path}: seed: cannot read 'twelve' as int (line 1)"
    path = write(labdir, "devices:\n  r1: {config: sam-i-am.cfg}\nscenario: {when: 2001-13-45}\n")
    assert error_of(path) == f"{path}: scenario.when: cannot read '2001-13-45' as timestamp (line 3)"


def test_shared_aliases_are_checked_once(labdir):
    # Nine levels of nine aliases each stand for 9**9 values; each node is still read once.
    lines = ["devices:\n  r1: {config: sam-i-am.cfg}\nscenario:", "  l0: &l0 [1, 2]"]
    lines += [f"  l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = write(labdir, "\n".join(lines) + "\n")
    start = time.process_time()
    assert load_lab(path).scenario["l9"][0][0][0][0][0][0][0][0][0] == [1, 2]
    assert time.process_time() - start < 5
