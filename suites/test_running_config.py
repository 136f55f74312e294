"""Each router runs the design's configuration (read from ``show running-config``): the values
derived from the lab's configurations, or the document's own on the document's lab."""

from __future__ import annotations

import ipaddress

import pytest

from drivers.configfacts import read_config


def _wildcard(network: str) -> tuple[str, str]:
    net = ipaddress.ip_network(network)
    return str(net.network_address), str(net.hostmask)


def _assert_lines(where: str, actual: list[str], expected: list[str]) -> None:
    missing = [line for line in expected if line not in actual]
    assert not missing, f"{where}: missing {missing}; the device has {actual}"


def _policy_matches(where: str, text: str, expected, number: int | None = None) -> None:
    """An ISAKMP policy (``number``, or any) with the expected parameters, IOS's defaults made explicit."""
    want = {name: expected(f"isakmp.{name}") for name in ("encryption", "hash", "authentication", "group")}
    policies = read_config(text).policies
    candidates = {number: policies[number]} if number is not None and number in policies else (
        {} if number is not None else policies)
    found = [n for n, p in candidates.items() if all(str(p[k]) == str(v) for k, v in want.items())]
    shown = {n: {k: p[k] for k in want} for n, p in policies.items()}
    which = f"crypto isakmp policy {number}" if number is not None else "an ISAKMP policy"
    assert found, f"{where}: no {which} with {want} (defaults made explicit); the device has {shown}"


def _covers(address: str, key_address: str, mask: str | None) -> bool:
    net = ipaddress.ip_network(f"{key_address}/{mask or '255.255.255.255'}", strict=False)
    return ipaddress.ip_address(address) in net


@pytest.mark.claim("CFG-HUB-IKE")
def test_hub_ike_policy_and_wildcard_key(hub, scenario, expected, running_config):
    cfg = running_config(hub)
    _policy_matches("the hub", cfg.text, expected, expected("isakmp.policy"))
    assert expected("isakmp.authentication") == "pre-share", "the design authenticates with pre-shared keys"
    address, mask = expected("hub.isakmp_key_address"), expected("hub.isakmp_key_mask")
    key = f"crypto isakmp key {expected('hub.isakmp_key')} address {address}" + (f" {mask}" if mask else "")
    assert cfg.has(key), f"the hub has no '{key}': {[b.text for b in cfg.blocks('^crypto isakmp key')]}"
    for role in scenario.remote_roles():
        peer = scenario.get(scenario.remote_key(role, "negotiated_address"))
        if peer:
            assert _covers(peer, address, mask), (
                f"the hub's key is bound to {address} {mask}, which does not cover {role}'s address {peer}")


@pytest.mark.claim("CFG-REMOTE-IKE")
def test_remote_ike_policy_and_peer_key(spoke, driver, expected, value, running_config):
    cfg = running_config(driver.session(spoke))
    _policy_matches(spoke, cfg.text, expected)
    # The remote's key for the hub's address is the hub's key (the document's, on its lab).
    keys = {expected("hub.isakmp_key"), value(spoke, "isakmp_key")}
    for secret in sorted(keys):
        key = f"crypto isakmp key {secret} address {value(spoke, 'isakmp_key_address')}"
        assert cfg.has(key), (f"the {spoke} has no '{key}' (the hub's key): "
                              f"{[b.text for b in cfg.blocks('^crypto isakmp key')]}")


@pytest.mark.claim("CFG-TRANSFORM")
def test_transform_set(role, driver, expected, value, running_config):
    cfg = running_config(driver.session(role))
    line = f"crypto ipsec transform-set {value(role, 'transform_set')} {' '.join(expected('ipsec.transforms'))}"
    assert cfg.has(line), f"{role}: no '{line}': {[b.text for b in cfg.blocks('^crypto ipsec transform-set')]}"


@pytest.mark.claim("CFG-HUB-DYNMAP")
def test_hub_dynamic_map_without_peer(hub, expected, running_config):
    cfg = running_config(hub)
    dyn = f"crypto dynamic-map {expected('hub.dynamic_map')} {expected('hub.dynamic_map_seq')}"
    body = cfg.children(dyn)
    _assert_lines(dyn, body, [f"set transform-set {expected('hub.transform_set')}",
                              f"match address {expected('hub.crypto_acl')}"])
    assert not [line for line in body if line.startswith("set peer")], \
        f"{dyn} names a peer, but the hub must not know the remote's address: {body}"
    ref = (f"crypto map {expected('hub.crypto_map')} {expected('hub.crypto_map_seq')} "
           f"ipsec-isakmp dynamic {expected('hub.dynamic_map')}")
    assert cfg.has(ref), f"the hub has no '{ref}': {[b.text for b in cfg.blocks('^crypto map')]}"


@pytest.mark.claim("CFG-REMOTE-MAP")
def test_remote_static_map_with_peer(spoke, driver, expected, value, running_config):
    cfg = running_config(driver.session(spoke))
    header = f"crypto map {value(spoke, 'crypto_map')} {value(spoke, 'crypto_map_seq')} ipsec-isakmp"
    peers = {value(spoke, "peer"), expected("hub.wan_address")}
    _assert_lines(header, cfg.children(header), [
        *(f"set peer {peer}" for peer in sorted(peers)),
        f"set transform-set {value(spoke, 'transform_set')}",
        f"match address {value(spoke, 'crypto_acl')}"])


@pytest.mark.claim("CFG-HUB-IF")
def test_hub_interfaces(hub, expected, running_config):
    cfg = running_config(hub)
    header = f"interface {expected('hub.wan_interface')}"
    _assert_lines(header, cfg.children(header), [
        f"ip address {expected('hub.wan_address')} {expected('hub.wan_mask')}",
        "ip nat outside",
        f"crypto map {expected('hub.crypto_map')}"])
    header = f"interface {expected('hub.lan_interface')}"
    _assert_lines(header, cfg.children(header), [
        f"ip address {expected('hub.lan_address')} {expected('hub.lan_mask')}",
        "ip nat inside"])


@pytest.mark.claim("CFG-REMOTE-IF")
def test_remote_interfaces(spoke, driver, value, running_config):
    cfg = running_config(driver.session(spoke))
    wan = f"interface {value(spoke, 'wan_interface')}"
    _assert_lines(wan, cfg.children(wan), [
        "ip address negotiated", "ip nat outside",
        f"encapsulation {value(spoke, 'wan_encapsulation').lower()}",
        f"crypto map {value(spoke, 'crypto_map')}"])
    header = f"interface {value(spoke, 'lan_interface')}"
    _assert_lines(header, cfg.children(header), [
        f"ip address {value(spoke, 'lan_address')} {value(spoke, 'lan_mask')}",
        "ip nat inside"])


@pytest.mark.claim("CFG-NAT")
def test_nat_overload_with_route_map_exemption(role, driver, value, running_config):
    cfg = running_config(driver.session(role))
    rm, acl, wan = value(role, "nat_route_map"), value(role, "nat_acl"), value(role, "wan_interface")
    rules = [b.text for b in cfg.blocks("^ip nat")]
    assert rm is not None, f"{role}: no 'ip nat inside source route-map ...': {rules}"
    rule = f"ip nat inside source route-map {rm} interface {wan} overload"
    assert cfg.has(rule), f"{role}: no '{rule}': {[b.text for b in cfg.blocks('^ip nat')]}"
    _assert_lines(f"route-map {rm} permit 10", cfg.children(f"route-map {rm} permit 10"), [f"match ip address {acl}"])


@pytest.mark.claim("CFG-ACL")
def test_crypto_and_nat_access_lists(role, driver, scenario, value, running_config):
    cfg = running_config(driver.session(role))
    others = ([value(r, "lan_network") for r in scenario.remote_roles()] if role == "hub"
              else [value("hub", "lan_network")])
    local, local_wc = _wildcard(value(role, "lan_network"))
    crypto, nat = value(role, "crypto_acl"), value(role, "nat_acl")
    actual = [" ".join(b.text.split()) for b in cfg.blocks(r"^access-list ")]
    rest = [f"access-list {crypto} deny ip {local} {local_wc} any",
            f"access-list {nat} permit ip {local} {local_wc} any"]
    _assert_lines(f"{role} access lists", actual, rest)
    # Each far LAN is permitted into the tunnel and exempted from NAT by an entry from the local LAN
    # (the document's one line per LAN, or a hub's summary of many), before the entry for the rest.
    for acl, action, last in ((crypto, "permit", rest[0]), (nat, "deny", rest[1])):
        before = actual[:actual.index(last)]
        for far in others:
            head = f"access-list {acl} {action} ip {local} {local_wc} "
            found = [line for line in before if _entry_covers(line, head, far)]
            assert found, (f"{role} access lists: no 'access-list {acl} {action} ip {local} {local_wc} "
                           f"{' '.join(_wildcard(far))}' (or an entry covering {far}) before '{last}'; "
                           f"the device has {actual}")


def _entry_covers(line: str, prefix: str, network: str) -> bool:
    """``line`` is ``prefix`` followed by a destination ``ADDRESS WILDCARD`` that holds ``network``."""
    if not line.startswith(prefix):
        return False
    words = line[len(prefix):].split()
    if len(words) != 2:
        return False
    try:
        dest = ipaddress.IPv4Network(f"{words[0]}/{words[1]}")
    except ValueError:
        return False
    return ipaddress.IPv4Network(network).subnet_of(dest)


@pytest.mark.claim("CFG-ROUTE")
def test_default_route_to_serial(role, driver, value, running_config):
    cfg = running_config(driver.session(role))
    route = f"ip route 0.0.0.0 0.0.0.0 {value(role, 'wan_interface')}"
    assert cfg.has(route), f"{role}: no '{route}': {[b.text for b in cfg.blocks('^ip route')]}"
