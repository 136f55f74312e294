"""The IOS configuration parser on the document's own configurations."""

import time

import pytest

from emulator.config.commands import ConfigContext, apply_line
from emulator.config.grammar import CommandError
from emulator.config.loader import load_config
from emulator.config.model import AccessListEntry, IsakmpKey, NatRule, StaticRoute, User
from emulator.config.render import render_config, running_config
from support import FIXTURES

HW = ["Ethernet0", "Serial0", "Serial1"]


def load(name):
    return load_config((FIXTURES / name).read_text(), name, HW)


def test_hub_lines_land_in_their_modes():
    cfg, errors = load("sam-i-am.cfg")
    policy = cfg.isakmp_policies[1]
    assert (policy.hash, policy.authentication, policy.encryption, policy.group) == ("md5", "pre-share", "des", 1)
    key = cfg.isakmp_keys[0]
    assert (key.key, str(key.address), str(key.mask)) == ("cisco123", "0.0.0.0", "0.0.0.0")
    assert cfg.transform_sets["rtpset"].transforms == ["esp-des", "esp-md5-hmac"]
    dyn = cfg.dynamic_maps[("rtpmap", 10)]
    # The unindented "set transform-set" and "match address" land in the dynamic map.
    assert (dyn.transform_sets, dyn.match_address, dyn.peers) == (["rtpset"], "115", [])
    ref = cfg.crypto_maps[("rtptrans", 10)]
    assert (ref.dynamic_map, ref.kind) == ("rtpmap", "ipsec-isakmp")
    # The unindented "crypto map rtptrans" lands under interface Serial0.
    assert cfg.interfaces["Serial0"].crypto_map == "rtptrans"
    assert cfg.interfaces["Serial0"].nat == "outside"
    assert cfg.interfaces["Ethernet0"].nat == "inside"
    assert cfg.interfaces["Ethernet0"].mop_enabled is False
    assert cfg.interfaces["Ethernet0"].directed_broadcast is False
    rule = cfg.nat_rules[0]
    assert (rule.kind, rule.match, rule.interface, rule.overload) == ("route-map", "nonat", "Serial0", True)
    assert [e.action for e in cfg.access_lists["115"].entries] == ["permit", "deny"]
    assert [e.action for e in cfg.access_lists["120"].entries] == ["deny", "permit"]
    assert cfg.route_maps[("nonat", 10)].match_ip_address == ["120"]
    assert [(line.kind, line.first, line.last, line.password, line.login) for line in cfg.lines] == [
        ("con", 0, None, None, None), ("aux", 0, None, None, None), ("vty", 0, 4, "ww", "")]
    assert cfg.lines[0].transport_input == ["none"]
    assert cfg.http_server is False and cfg.classless is True and cfg.subnet_zero is True
    assert len(errors) == 1


def test_hub_bad_timestamp_line_is_reported_like_ios():
    _, errors = load("sam-i-am.cfg")
    (err,) = errors
    assert err.line_number == 5
    assert err.text == "service timestamps log up time"
    assert err.message == "% Invalid input detected at '^' marker."
    # The caret sits under "time", the word IOS could not take.
    assert err.console() == ("service timestamps log up time\n"
                             "                          ^\n"
                             "% Invalid input detected at '^' marker.")
    assert str(err) == "sam-i-am.cfg:5: % Invalid input detected at '^' marker. (service timestamps log up time)"


def test_loading_goes_on_after_a_bad_line():
    cfg, _ = load("sam-i-am.cfg")
    assert cfg.hostname == "sam-i-am"
    # The rejected "log up time" leaves 12.2's default log stamp in place, as on IOS.
    assert [(t.facility, t.format) for t in cfg.timestamps] == [("debug", "uptime"), ("log", "uptime")]


@pytest.mark.parametrize("line, expected", [
    ("service timestamps debug datetime msec", ("debug", "datetime", ("msec",))),
    ("service timestamps log datetime localtime msec show-timezone",
     ("log", "datetime", ("msec", "localtime", "show-timezone"))),
    ("service timestamps debug datetime year msec localtime", ("debug", "datetime", ("msec", "localtime", "year"))),
    ("serv timest log dat ms", ("log", "datetime", ("msec",))),
    ("service timestamps", ("debug", "uptime", ())),
    ("service timestamps log uptime", ("log", "uptime", ())),
])
def test_service_timestamps_forms_ios_accepts(line, expected):
    cfg, errors = load_config(f"hostname r\n{line}\n")
    assert errors == []
    facility = expected[0]
    (ts,) = [t for t in cfg.timestamps if t.facility == facility]
    assert (ts.facility, ts.format, ts.options) == expected
    rendered = render_config(cfg, "12.2")
    assert f"service timestamps {facility} {expected[1]}" + "".join(" " + o for o in expected[2]) in rendered


def test_service_timestamps_defaults_and_their_negation():
    cfg, _ = load_config("hostname r\n")
    text = render_config(cfg, "12.2")
    assert "service timestamps debug uptime\nservice timestamps log uptime\n" in text
    cfg, _ = load_config("hostname r\nno service timestamps log\n")
    text = render_config(cfg, "12.2")
    assert "service timestamps debug uptime\nno service timestamps log uptime\n" in text
    assert [t.facility for t in cfg.timestamps] == ["debug"]
    for bad in ("service timestamps debug datetime msec msec", "service timestamps debug uptime msec"):
        _, errors = load_config(f"hostname r\n{bad}\n")
        assert [e.message for e in errors] == ["% Invalid input detected at '^' marker."], bad


def test_remote_lines_land_in_their_modes():
    cfg, errors = load("dr_whoovie.cfg")
    assert errors == []
    entry = cfg.crypto_maps[("rtp", 1)]
    assert ([str(p) for p in entry.peers], entry.transform_sets, entry.match_address) == (
        ["99.99.99.1"], ["rtpset"], "115")
    # The key is bound to the hub's address, with no mask.
    assert [(k.key, str(k.address), k.mask) for k in cfg.isakmp_keys] == [("cisco123", "99.99.99.1", None)]
    s0 = cfg.interfaces["Serial0"]
    assert (s0.negotiated, s0.address, s0.encapsulation, s0.crypto_map) == (True, None, "ppp", "rtp")
    assert (s0.mroute_cache, s0.route_cache) == (False, False)
    # The unindented "ip address" lands under interface Ethernet0.
    assert str(cfg.interfaces["Ethernet0"].address) == "10.1.1.1"
    assert [(d.number, d.protocol, d.action) for d in cfg.dialer_lists] == [(1, "ip", "permit"), (1, "ipx", "permit")]
    assert cfg.nat_rules[0].match == "nonat"


@pytest.mark.parametrize("name", ["sam-i-am.cfg", "dr_whoovie.cfg", "isp.cfg", "hub-host.cfg"])
def test_running_config_round_trip(name):
    cfg, _ = load(name)
    text = running_config(cfg)
    again, errors = load_config(text, "rendered", HW)
    assert errors == []
    assert again == cfg
    assert running_config(again) == text


def test_running_config_canonical_form():
    cfg, _ = load("dr_whoovie.cfg")
    text = running_config(cfg)
    lines = text.splitlines()
    assert lines[:3] == ["Building configuration...", "", lines[2]]
    body = text.split("\n", 3)[3]
    assert lines[2] == f"Current configuration : {len(body.encode())} bytes"
    assert lines[-1] == "end"
    start = lines.index("crypto map rtp 1 ipsec-isakmp")
    assert lines[start:start + 4] == ["crypto map rtp 1 ipsec-isakmp", " set peer 99.99.99.1",
                                      " set transform-set rtpset ", " match address 115"]
    assert "access-list 120 deny   ip 10.1.1.0 0.0.0.255 10.2.2.0 0.0.0.255" in lines
    assert "crypto ipsec transform-set rtpset esp-des esp-md5-hmac " in lines


def test_interface_mode_falls_back_to_global():
    cfg, _ = load_config("interface Ethernet0\nip address 10.0.0.1 255.0.0.0\nhostname r9\n", "x", HW)
    assert cfg.hostname == "r9" and str(cfg.interfaces["Ethernet0"].address) == "10.0.0.1"


@pytest.mark.parametrize("line, kind, column", [
    ("hostnam", "incomplete", None),
    ("ip addres 1.1.1.1", "invalid", 3),       # "ip" is a global keyword, "addres" is not below it
    ("crypto isakmp policy 0", "invalid", 21),
    ("i", "ambiguous", None),
    ("access-list 115 permit ip 10.1.1.0 0.0.0.255 bogus", "invalid", 45),
    ("interface Serial9", "invalid", 10),
])
def test_config_errors(line, kind, column):
    ctx = ConfigContext(load_config("", "x", HW)[0], set(HW))
    with pytest.raises(CommandError) as exc:
        apply_line(ctx, line)
    assert exc.value.kind == kind
    if column is not None:
        assert exc.value.column == column


def test_no_forms_remove():
    cfg, _ = load("dr_whoovie.cfg")
    ctx = ConfigContext(cfg, set(HW))
    apply_line(ctx, "interface Serial0")
    apply_line(ctx, "no crypto map")
    apply_line(ctx, "no ip address")
    apply_line(ctx, "exit")
    apply_line(ctx, "no access-list 120")
    apply_line(ctx, "no crypto isakmp key cisco123 address 99.99.99.1")
    assert cfg.interfaces["Serial0"].crypto_map is None
    assert cfg.interfaces["Serial0"].negotiated is False
    assert "120" not in cfg.access_lists
    assert cfg.isakmp_keys == []


def test_unmentioned_hardware_interfaces_are_shut_down():
    cfg, _ = load("sam-i-am.cfg")
    assert cfg.interfaces["Serial1"].shutdown is True
    assert cfg.interfaces["Serial0"].shutdown is False


def test_enable_secret_is_kept_as_ios_type_5():
    from emulator.config.secrets import md5_crypt, secret_matches
    # The MD5-crypt scheme's published example, checked here with `openssl passwd -1 -salt 3azHgidD password`.
    assert md5_crypt("password", "3azHgidD") == "$1$3azHgidD$SrJPt7B.9rekpmwJwtON31"
    cfg, errors = load_config("version 12.2\nhostname r1\nenable secret lab\nusername op secret s3cret\n"
                              "username ro password ro\n",
                              "x", HW)
    assert errors == []
    kind, hashed = cfg.enable_secret.split(" ", 1)
    assert kind == "5" and hashed.startswith("$1$") and secret_matches(cfg.enable_secret, "lab")
    assert not secret_matches(cfg.enable_secret, "lab ")
    text = running_config(cfg)
    assert f"enable secret 5 {hashed}\n" in text
    assert "username ro password 0 ro\n" in text
    assert "username op secret 5 $1$" in text
    again, _ = load_config(text, "rendered", HW)
    assert again == cfg


def test_openssl_agrees_on_md5_crypt():
    import shutil
    import subprocess

    from emulator.config.secrets import md5_crypt
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    out = subprocess.run(["openssl", "passwd", "-1", "-salt", "Zq1.aB9x", "ww"], capture_output=True, text=True)
    assert out.stdout.strip() == md5_crypt("ww", "Zq1.aB9x")


# ---------------------------------------------------------------- loading large configurations

def _acl_lines(n, number=101):
    return [f"access-list {number} permit tcp host 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255} any eq {i % 1000 + 1}"
            for i in range(n)]


def test_large_access_list_loads_in_linear_time():
    # 8,000 entries: the duplicate check once scanned the whole list per line (about 14 s of CPU).
    text = "\n".join(["hostname big"] + _acl_lines(8000))
    start = time.process_time()
    cfg, errors = load_config(text, "big.cfg", HW)
    elapsed = time.process_time() - start
    assert errors == [] and len(cfg.access_lists["101"].entries) == 8000
    assert elapsed < 5.0, f"8,000 access-list lines took {elapsed:.1f} s of CPU"


def test_loading_compares_no_entries_pairwise(monkeypatch):
    """Duplicate checks and restatements look keys up; they do not compare with every earlier line."""
    calls = {"n": 0}
    for cls in (AccessListEntry, StaticRoute, NatRule, IsakmpKey, User):
        original = cls.__eq__

        def counting(self, other, original=original):
            calls["n"] += 1
            return original(self, other)
        monkeypatch.setattr(cls, "__eq__", counting)
    lines = (_acl_lines(500) + [f"ip route 10.{i >> 8}.{i & 255}.0 255.255.255.0 Serial0" for i in range(500)]
             + [f"ip nat inside source static 10.9.{i >> 8}.{i & 255} 100.9.{i >> 8}.{i & 255}" for i in range(500)]
             + [f"crypto isakmp key k{i} address 10.8.{i >> 8}.{i & 255}" for i in range(500)]
             + [f"username u{i} password p{i}" for i in range(500)]
             + [f"ip access-list extended n{i}\n permit ip any host 10.7.{i >> 8}.{i & 255}" for i in range(500)])
    cfg, errors = load_config("\n".join(lines), "many.cfg", HW)
    assert errors == [] and calls["n"] == 0
    assert (len(cfg.static_routes), len(cfg.nat_rules), len(cfg.isakmp_keys), len(cfg.users)) == (500,) * 4
    assert list(cfg.access_lists)[:2] == ["101", "n0"] and len(cfg.access_lists) == 501


def test_repeated_and_restated_lines_keep_their_meaning():
    cfg, errors = load_config("\n".join([
        "access-list 101 permit ip any host 1.1.1.1",
        "access-list 101 remark same entry again",
        "access-list 101 permit ip any host 1.1.1.1",      # ignored, as IOS does
        "access-list 101 deny ip any host 1.1.1.1",
        "ip access-list extended zz",
        " permit ip any host 2.2.2.2",
        " no permit ip any host 2.2.2.2",
        " permit ip any host 3.3.3.3",
        " permit ip any host 2.2.2.2",                      # back, after the removal
        " permit ip any host 3.3.3.3",                      # ignored
        "ip access-list standard aa",
        "access-list 5 permit 10.0.0.1",
        "ip route 10.0.0.0 255.0.0.0 Serial0",
        "ip route 11.0.0.0 255.0.0.0 Serial0",
        "ip route 10.0.0.0 255.0.0.0 Serial0 200",          # restated: replaces the first, goes last
        "no ip route 11.0.0.0 255.0.0.0 Serial0",
        "username a password one",
        "username b password two",
        "username a secret 5 $1$abcd$abcdefghijklmnopqrstuv",
        "crypto map m 20 ipsec-isakmp",
        "crypto map m 10 ipsec-isakmp",
        "route-map r permit 20",
        "route-map r permit 10",
    ]), "restated.cfg", HW)
    assert errors == []
    assert [e.remark or f"{e.action} {e.destination.address}" for e in cfg.access_lists["101"].entries] == [
        "permit 1.1.1.1", "same entry again", "deny 1.1.1.1"]
    assert [str(e.destination.address) for e in cfg.access_lists["zz"].entries] == ["3.3.3.3", "2.2.2.2"]
    assert list(cfg.access_lists) == ["5", "101", "aa", "zz"]
    assert [(str(r.prefix), r.distance) for r in cfg.static_routes] == [("10.0.0.0", 200)]
    assert [(u.name, u.secret) for u in cfg.users] == [("b", False), ("a", True)]
    assert list(cfg.crypto_maps) == [("m", 10), ("m", 20)] and list(cfg.route_maps) == [("r", 10), ("r", 20)]


def test_a_restated_nat_rule_gives_a_new_rule_list():
    """The NAT engine notices rule changes by the list's identity and length."""
    cfg, _ = load_config("ip nat inside source list 1 interface Serial0", "nat.cfg", HW)
    before = cfg.nat_rules
    ctx = ConfigContext(cfg, set(HW))
    apply_line(ctx, "ip nat inside source list 1 interface Serial0 overload")
    assert cfg.nat_rules is not before and [r.overload for r in cfg.nat_rules] == [True]


@pytest.mark.parametrize("line", [
    "access-list \u00b2 permit any",                 # superscript two: str.isdigit() says yes, int() says no
    "route-map rm permit \u00b2",
    "access-list 101 permit ip host 1.1.1.\u0661 any",   # Arabic-Indic digit one
    "access-list 101 permit \u00b2 any any",
    "access-list 101 permit tcp any any eq \u00b2",
    "interface Loopback\u0661",
    "bandwidth \uff11",                            # fullwidth digit one
])
def test_numbers_are_ascii_digits(line):
    cfg, errors = load_config(f"interface Ethernet0\n{line}", "digits.cfg", HW)
    assert [e.message for e in errors] == ["% Invalid input detected at '^' marker."]
    running_config(cfg)


def test_a_list_named_by_other_digits_is_a_named_list():
    cfg, errors = load_config("ip access-list standard \u00b2\n permit any", "digits.cfg", HW)
    assert errors == [] and cfg.access_lists["\u00b2"].named
    assert "ip access-list standard \u00b2\n permit any\n" in running_config(cfg)
