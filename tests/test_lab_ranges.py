"""Device and link ranges in lab files: ``{i}`` substitution, and errors naming file, key and line."""

import pytest

from emulator.lab.labfile import load_lab
from support.labfiles import error_of, write


@pytest.fixture
def labdir(tmp_path):
    for name in ("r", "h1", "h2", "h3", "h4", "sw"):
        (tmp_path / f"{name}.cfg").write_text(f"hostname {name}\n")
    return tmp_path


RANGED = """\
devices:
  r: {config: r.cfg, platform: "2522"}
  h{i}: {range: 1-4, config: "h{i}.cfg", role: "remote{i+10}", extra_config: ["hostname host{i*2}"]}
links:
  - {range: 1-3, serial: ["r Serial{i-1}", "h{i} Serial0"], bandwidth_kbps: 64}
  - ethernet: [r Ethernet0, {range: 2-4, port: "h{i} Ethernet0"}]
"""


def test_a_range_stands_for_one_device_and_one_link_per_i(labdir):
    spec = load_lab(write(labdir, RANGED))
    assert list(spec.devices) == ["r", "h1", "h2", "h3", "h4"]
    h3 = spec.devices["h3"]
    assert (h3.config_path.name, h3.role, h3.extra_config) == ("h3.cfg", "remote13", ["hostname host6"])
    assert [(link.kind, link.ports, link.bandwidth_bps) for link in spec.links] == [
        ("serial", [("r", "Serial0"), ("h1", "Serial0")], 64000),
        ("serial", [("r", "Serial1"), ("h2", "Serial0")], 64000),
        ("serial", [("r", "Serial2"), ("h3", "Serial0")], 64000),
        ("ethernet", [("r", "Ethernet0"), ("h2", "Ethernet0"), ("h3", "Ethernet0"), ("h4", "Ethernet0")],
         10_000_000)]
    assert [link.key for link in spec.links] == ["links[0][i=1]", "links[0][i=2]", "links[0][i=3]", "links[1]"]


def test_arithmetic_follows_python_integer_rules(labdir):
    path = write(labdir, RANGED.replace('"r Serial{i-1}"', '"r Serial{(i + 7) // 3 * 2 % 5 - 1}"'))
    # i = 1, 2, 3 give Serial3, Serial0, Serial0: the third link takes a port the second has
    assert error_of(path) == f"{path}: links[0][i=3].serial: port 'r Serial0' is already on links[0][i=2]"


@pytest.mark.parametrize("old, new, message", [
    ("range: 1-4,", "range: x,",
     "devices.h{i}.range: must be written FIRST-LAST with integers, such as 1-100, not 'x' (line 3)"),
    ("range: 1-4,", "range: 4-1,", "devices.h{i}.range: '4-1': the first number is greater than the last (line 3)"),
    ("range: 1-4,", "range: 1-200000,", "devices.h{i}.range: '1-200000': 200000 items, more than 100000 (line 3)"),
    ('config: "h{i}.cfg"', 'config: "h{i.real}.cfg"',
     "devices.h{i}.config: 'h{i.real}.cfg': {i.real} may use only i, integers, + - * // % and parentheses"),
    ('config: "h{i}.cfg"', 'config: "h{i}}.cfg"', "devices.h{i}.config: 'h{i}}.cfg': unbalanced '{' or '}'"),
    ('"r Serial{i-1}"', '"r Serial{i//0}"', "links[0].serial: 'r Serial{i//0}': division by zero for i = 1"),
    ('"r Serial{i-1}"', '"r Serial{i*6-6}"',
     "links[0][i=3].serial: device 'r' has no interface 'Serial12' (it has Ethernet0, Serial0, Serial1, Serial2, "
     "Serial3, Serial4, Serial5, Serial6, Serial7, Serial8, Serial9, BRI0)"),
    ("range: 1-3, serial", "range: 1-3, ethernet: [r Ethernet0, {range: 1-2, port: x}], serial",
     "links[0].ethernet: a ranged link cannot hold a range of ports (one i at a time) (line 5)"),
])
def test_a_bad_range_is_named_by_file_key_and_line(labdir, old, new, message):
    path = write(labdir, RANGED.replace(old, new))
    assert error_of(path) == f"{path}: {message}"


def test_a_range_that_names_an_existing_device_is_refused(labdir):
    path = write(labdir, RANGED.replace("  r: {config", "  h2: {config: h2.cfg}\n  r: {config"))
    assert error_of(path) == (f"{path}: devices.h{{i}}: i = 2 names 'h2', a device also from devices.h2 (line 4)")


def test_a_ranged_device_name_needs_i_and_a_ranged_port_its_shape(labdir):
    path = write(labdir, RANGED.replace("h{i}: {range", "hx: {range"))
    assert error_of(path) == f"{path}: devices.hx.range: the name of a ranged device needs {{i}} (line 3)"
    path = write(labdir, RANGED.replace('{range: 2-4, port: "h{i} Ethernet0"}', '{range: 2-4, ports: x}'))
    assert error_of(path) == (f'{path}: links[1].ethernet[1]: a range of ports is written {{range: FIRST-LAST, '
                              f'port: "DEVICE{{i}} INTERFACE"}} (line 6)')
