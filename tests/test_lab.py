"""Lab file validation: every error names the file, the key and what is wrong."""

import shutil
from pathlib import Path

import pytest

from emulator.lab.labfile import Lab, LabError, load_lab
from emulator.sim.clock import MS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "doc14131"


@pytest.fixture
def labdir(tmp_path):
    for f in FIXTURES.glob("*.cfg"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def write(labdir, text):
    path = labdir / "lab.yml"
    path.write_text(text)
    return path


def error_of(path):
    with pytest.raises(LabError) as exc:
        load_lab(path)
    return str(exc.value)


def test_document_lab_loads():
    spec = load_lab(FIXTURES / "lab.yml")
    assert spec.seed == 14131
    assert spec.device_for_role("hub") == "sam-i-am"
    assert spec.device_for_role("remote") == "dr_whoovie"
    serial = [l for l in spec.links if l.kind == "serial"]
    assert [(l.ports, l.bandwidth_bps, l.delay_ns) for l in serial][0] == (
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
    assert error_of(path) == f"{path}: devices.r1.colour: unknown key (expected config, role, platform, extra_config)"


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
