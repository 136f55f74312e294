"""Inventory files: devices by role, defaults, environment variables, and errors that say where."""

from __future__ import annotations

import pytest

from drivers.base import Capability, DriverError
from drivers.inventory import InventoryError, load_inventory


def write(tmp_path, text: str):
    path = tmp_path / "lab.yml"
    path.write_text(text)
    return path


def test_devices_defaults_and_environment(tmp_path):
    path = write(tmp_path, """\
allow_disruptive: true
defaults:
  username: lab
  password: ${ENV:LAB_PW}
  secret: en-${ENV:LAB_EN}
devices:
  sam-i-am: {role: hub, host: 192.0.2.1}
  dr_whoovie:
    role: remote
    host: 192.0.2.2
    transport: telnet
    password: 1234
    conn_timeout: 3
scenario:
  hub.lan_address: 10.9.9.1
""")
    inv = load_inventory(path, environ={"LAB_PW": "s3cret", "LAB_EN": "x"})
    hub, remote = inv.device_for_role("hub"), inv.device_for_role("remote")
    assert (hub.name, hub.host, hub.port, hub.transport, hub.device_type) == \
        ("sam-i-am", "192.0.2.1", 22, "ssh", "cisco_ios")
    assert (hub.username, hub.password, hub.secret) == ("lab", "s3cret", "en-x")
    assert (remote.port, remote.device_type, remote.password, remote.conn_timeout) == \
        (23, "cisco_ios_telnet", "1234", 3.0)
    assert inv.roles() == ["hub", "remote"] and inv.allow_disruptive is True
    assert inv.scenario == {"hub.lan_address": "10.9.9.1"}
    params = hub.netmiko_params()
    assert params["device_type"] == "cisco_ios" and params["port"] == 22 and params["conn_timeout"] == 8.0
    assert "s3cret" not in repr(hub)                     # passwords stay out of reprs and logs


def test_device_type_implies_telnet(tmp_path):
    path = write(tmp_path, "devices:\n  r1: {role: hub, host: h, device_type: cisco_ios_telnet}\n")
    device = load_inventory(path).device_for_role("hub")
    assert (device.transport, device.port) == ("telnet", 23)


@pytest.mark.parametrize("text, key, reason", [
    ("devices:\n  r1: {role: hub}\n", "devices.r1.host", "missing: the address or name to connect to"),
    ("devices:\n  r1: {host: h}\n", "devices.r1.role", "missing: the role"),
    ("devices:\n  r1: {role: hub, host: h, username: u, transport: serial}\n", "devices.r1.transport",
     "unknown transport 'serial' (expected ssh or telnet)"),
    ("devices:\n  r1: {role: hub, host: h, username: u}\n  r2: {role: hub, host: h2, username: u}\n",
     "devices.r2.role", "duplicate role 'hub' (also r1)"),
    ("devices:\n  r1: {role: hub, host: h, username: u, port: 70000}\n", "devices.r1.port", "bad port 70000"),
    ("devices:\n  r1: {role: hub, host: h, username: u, port: ssh}\n", "devices.r1.port", "bad port 'ssh'"),
    ("defaults: {port: 0}\ndevices:\n  r1: {role: hub, host: h, username: u}\n", "defaults.port", "bad port 0"),
    ("devices:\n  r1: {role: hub, host: h}\n", "devices.r1.username", "SSH logins need a username"),
    ("devices:\n  r1: {role: hub, host: h, username: u, pasword: x}\n", "devices.r1.pasword", "unknown key"),
    ("devices:\n  r1: {role: hub, host: h, username: u, password: yes}\n", "devices.r1.password",
     "must be a string, not True (quote it in YAML)"),
    ("devices:\n  r1: {role: hub, host: h, username: u, device_type: cisco_ios_telnet, transport: ssh}\n",
     "devices.r1.device_type", "'cisco_ios_telnet' does not go with transport 'ssh'"),
    ("devices:\n  r1: {role: hub, host: h, username: u, device_type: cisco_iox}\n",
     "devices.r1.device_type", "netmiko has no device_type 'cisco_iox'"),
    ("devices:\n  r1: {role: hub, host: h, username: u, password: '${ENV:NOT_SET_HERE}'}\n",
     "devices.r1.password", "environment variable NOT_SET_HERE is not set"),
    ("defaults: {role: hub}\ndevices:\n  r1: {host: h}\n", "defaults.role", "a role belongs to one device"),
    ("devices:\n  r1: {role: hub, host: h, username: u, read_timeout: -1}\n", "devices.r1.read_timeout",
     "must be a positive number of seconds"),
    ("devices: []\n", "devices", "must be a mapping of device names"),
    ("hosts: {}\ndevices:\n  r1: {role: hub, host: h}\n", "hosts", "unknown key"),
    ("allow_disruptive: maybe\ndevices:\n  r1: {role: hub, host: h, username: u}\n", "allow_disruptive",
     "must be true or false"),
    ("scenario: [1]\ndevices:\n  r1: {role: hub, host: h, username: u}\n", "scenario", "must be a mapping"),
    ("scenario_file: nowhere.yml\ndevices:\n  r1: {role: hub, host: h, username: u}\n", "scenario_file",
     "scenario file not found"),
    ("allow_disruptive: false\n", "devices", "missing"),
])
def test_errors_name_the_file_the_key_and_the_reason(tmp_path, text, key, reason):
    path = write(tmp_path, text)
    with pytest.raises(InventoryError) as info:
        load_inventory(path, environ={})
    assert info.value.key == key
    assert reason in info.value.reason
    assert str(info.value).startswith(f"{path}: {key}: ")


def test_file_level_errors(tmp_path):
    with pytest.raises(InventoryError, match=r"missing\.yml: cannot read inventory file \(No such file"):
        load_inventory(tmp_path / "missing.yml")
    with pytest.raises(InventoryError, match=r"lab\.yml: malformed YAML: line 3, column 1: expected ',' or '}'"):
        load_inventory(write(tmp_path, "devices:\n  r1: {role: hub\n"))
    with pytest.raises(InventoryError, match=r"lab\.yml: malformed YAML: .*duplicate key 'r1'"):
        load_inventory(write(tmp_path, "devices:\n  r1: {role: hub, host: a}\n  r1: {role: remote, host: b}\n"))
    with pytest.raises(InventoryError, match=r"lab\.yml: an inventory is a mapping"):
        load_inventory(write(tmp_path, "- r1\n"))
    with pytest.raises(DriverError, match=r"needs an inventory file"):
        load_inventory(None)


# ---------------------------------------------------------------------------- secrets and the example

def test_plain_env_references_and_a_literal_dollar_brace(tmp_path):
    path = write(tmp_path, """\
devices:
  r1:
    role: hub
    host: ${LAB_HOST}
    username: ${LAB_USER}
    password: ${LAB_PW}
    secret: $${not-a-variable}-${ENV:LAB_EN}
""")
    device = load_inventory(path, environ={"LAB_HOST": "192.0.2.9", "LAB_USER": "ops", "LAB_PW": "pw-9f3",
                                           "LAB_EN": "en-7c1"}).device_for_role("hub")
    assert (device.host, device.username, device.password, device.secret) == \
        ("192.0.2.9", "ops", "pw-9f3", "${not-a-variable}-en-7c1")
    with pytest.raises(InventoryError) as info:
        load_inventory(path, environ={"LAB_HOST": "h", "LAB_USER": "u", "LAB_EN": "x"})
    assert str(info.value) == f"{path}: devices.r1.password: environment variable LAB_PW is not set"


@pytest.mark.parametrize("value, reason", [
    ("[pw-9f3, x]", "must be a string, not a list (quote it in YAML)"),
    ("{a: pw-9f3}", "must be a string, not a dict (quote it in YAML)"),
    ("'pw-9f3${bad name}'", "bad environment variable name 'bad name'"),
])
def test_errors_never_show_a_password(tmp_path, value, reason):
    path = write(tmp_path, f"devices:\n  r1: {{role: hub, host: h, username: u, password: {value}}}\n")
    with pytest.raises(InventoryError) as info:
        load_inventory(path, environ={})
    assert info.value.key == "devices.r1.password" and info.value.reason == reason
    assert "pw-9f3" not in str(info.value)


def test_secrets_stay_out_of_reprs_and_describe(tmp_path):
    from drivers.netmiko_ios import NetmikoDriver
    path = write(tmp_path, "devices:\n  r1: {role: hub, host: h, username: u, password: '${PW}', secret: '${EN}'}\n")
    inventory = load_inventory(path, environ={"PW": "pw-9f3", "EN": "en-7c1"})
    driver = NetmikoDriver(inventory)
    shown = repr(inventory) + repr(inventory.devices) + repr(driver.describe())
    assert "pw-9f3" not in shown and "en-7c1" not in shown


def test_the_example_inventory_loads(monkeypatch):
    from drivers.netmiko_ios import NetmikoDriver
    from drivers.scenario import ROOT
    for name, value in (("LAB_USERNAME", "ops"), ("LAB_PASSWORD", "pw-9f3"), ("LAB_ENABLE", "en-7c1")):
        monkeypatch.setenv(name, value)
    example = ROOT / "fixtures" / "inventory.example.yml"
    inventory = load_inventory(example)
    hub, remote = inventory.device_for_role("hub"), inventory.device_for_role("remote")
    assert (hub.transport, hub.device_type, hub.port, hub.username, hub.password, hub.secret) == \
        ("ssh", "cisco_ios", 22, "ops", "pw-9f3", "en-7c1")
    assert (remote.transport, remote.device_type, remote.port, remote.username) == \
        ("telnet", "cisco_ios_telnet", 2033, "")
    assert inventory.allow_disruptive is False and set(inventory.roles()) == {"hub", "remote"}
    driver = NetmikoDriver(inventory)
    # The expected values come from the routers' configurations; the example's overrides are checked
    # against them when the run starts (no connection before).
    overrides = dict(driver.overrides[0][0])
    assert overrides["hosts.internet_host"] == "203.0.113.200"
    assert "hub.lan_address" not in overrides and "ipsec.transform_set" not in overrides
    assert not driver.has(Capability.HOSTS)                              # the hosts are commented out
    monkeypatch.delenv("LAB_ENABLE")
    with pytest.raises(InventoryError, match=r"inventory\.example\.yml: defaults\.secret: environment variable "
                                             r"LAB_ENABLE is not set"):
        load_inventory(example)
