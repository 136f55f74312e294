"""The documented configuration is what each router runs (read from ``show running-config``)."""

from __future__ import annotations

import ipaddress

import pytest


def _wildcard(network: str) -> tuple[str, str]:
    net = ipaddress.ip_network(network)
    return str(net.network_address), str(net.hostmask)


def _assert_lines(where: str, actual: list[str], expected: list[str]) -> None:
    missing = [line for line in expected if line not in actual]
    assert not missing, f"{where}: missing {missing}; the device has {actual}"


@pytest.mark.claim("CFG-HUB-IKE")
def test_hub_ike_policy_and_wildcard_key(hub, scenario, running_config):
    cfg = running_config(hub)
    policy = f"crypto isakmp policy {scenario['isakmp.policy']}"
    _assert_lines(policy, cfg.children(policy),
                  [f"hash {scenario['isakmp.hash']}", f"authentication {scenario['isakmp.authentication']}"])
    key = (f"crypto isakmp key {scenario['hub.isakmp_key']} address "
           f"{scenario['hub.isakmp_key_address']} {scenario['hub.isakmp_key_mask']}")
    assert cfg.has(key), f"the hub has no '{key}': {cfg.blocks('^crypto isakmp key')}"


@pytest.mark.claim("CFG-REMOTE-IKE")
def test_remote_ike_policy_and_peer_key(remote, scenario, running_config):
    cfg = running_config(remote)
    policy = f"crypto isakmp policy {scenario['isakmp.policy']}"
    _assert_lines(policy, cfg.children(policy),
                  [f"hash {scenario['isakmp.hash']}", f"authentication {scenario['isakmp.authentication']}"])
    key = f"crypto isakmp key {scenario['remote.isakmp_key']} address {scenario['remote.isakmp_key_address']}"
    assert cfg.has(key), f"the remote has no '{key}': {[b.text for b in cfg.blocks('^crypto isakmp key')]}"


@pytest.mark.claim("CFG-TRANSFORM")
@pytest.mark.parametrize("role", ["hub", "remote"])
def test_transform_set(role, driver, scenario, running_config):
    cfg = running_config(driver.session(role))
    line = f"crypto ipsec transform-set {scenario['ipsec.transform_set']} {' '.join(scenario['ipsec.transforms'])}"
    assert cfg.has(line), f"{role}: no '{line}': {[b.text for b in cfg.blocks('^crypto ipsec transform-set')]}"


@pytest.mark.claim("CFG-HUB-DYNMAP")
def test_hub_dynamic_map_without_peer(hub, scenario, running_config):
    cfg = running_config(hub)
    dyn = f"crypto dynamic-map {scenario['hub.dynamic_map']} {scenario['hub.dynamic_map_seq']}"
    body = cfg.children(dyn)
    _assert_lines(dyn, body, [f"set transform-set {scenario['ipsec.transform_set']}",
                              f"match address {scenario['hub.crypto_acl']}"])
    assert not [line for line in body if line.startswith("set peer")], \
        f"{dyn} names a peer, but the hub must not know the remote's address: {body}"
    ref = (f"crypto map {scenario['hub.crypto_map']} {scenario['hub.crypto_map_seq']} "
           f"ipsec-isakmp dynamic {scenario['hub.dynamic_map']}")
    assert cfg.has(ref), f"the hub has no '{ref}': {[b.text for b in cfg.blocks('^crypto map')]}"


@pytest.mark.claim("CFG-REMOTE-MAP")
def test_remote_static_map_with_peer(remote, scenario, running_config):
    cfg = running_config(remote)
    header = f"crypto map {scenario['remote.crypto_map']} {scenario['remote.crypto_map_seq']} ipsec-isakmp"
    _assert_lines(header, cfg.children(header), [
        f"set peer {scenario['remote.peer']}",
        f"set transform-set {scenario['ipsec.transform_set']}",
        f"match address {scenario['remote.crypto_acl']}"])


@pytest.mark.claim("CFG-HUB-IF")
def test_hub_interfaces(hub, scenario, running_config):
    cfg = running_config(hub)
    header = f"interface {scenario['hub.wan_interface']}"
    _assert_lines(header, cfg.children(header), [
        f"ip address {scenario['hub.wan_address']} {scenario['hub.wan_mask']}",
        "ip nat outside",
        f"crypto map {scenario['hub.crypto_map']}"])
    header = f"interface {scenario['hub.lan_interface']}"
    _assert_lines(header, cfg.children(header), [
        f"ip address {scenario['hub.lan_address']} {scenario['hub.lan_mask']}",
        "ip nat inside"])


@pytest.mark.claim("CFG-REMOTE-IF")
def test_remote_interfaces(remote, scenario, running_config):
    cfg = running_config(remote)
    wan = cfg.children(f"interface {scenario['remote.wan_interface']}")
    _assert_lines(f"interface {scenario['remote.wan_interface']}", wan, [
        "ip address negotiated", "ip nat outside",
        f"encapsulation {scenario['remote.wan_encapsulation'].lower()}",
        f"crypto map {scenario['remote.crypto_map']}"])
    header = f"interface {scenario['remote.lan_interface']}"
    _assert_lines(header, cfg.children(header), [
        f"ip address {scenario['remote.lan_address']} {scenario['remote.lan_mask']}",
        "ip nat inside"])


@pytest.mark.claim("CFG-NAT")
@pytest.mark.parametrize("role", ["hub", "remote"])
def test_nat_overload_with_route_map_exemption(role, driver, scenario, running_config):
    cfg = running_config(driver.session(role))
    rm, acl, wan = scenario[f"{role}.nat_route_map"], scenario[f"{role}.nat_acl"], scenario[f"{role}.wan_interface"]
    rule = f"ip nat inside source route-map {rm} interface {wan} overload"
    assert cfg.has(rule), f"{role}: no '{rule}': {[b.text for b in cfg.blocks('^ip nat')]}"
    _assert_lines(f"route-map {rm} permit 10", cfg.children(f"route-map {rm} permit 10"), [f"match ip address {acl}"])


@pytest.mark.claim("CFG-ACL")
@pytest.mark.parametrize("role", ["hub", "remote"])
def test_crypto_and_nat_access_lists(role, driver, scenario, running_config):
    cfg = running_config(driver.session(role))
    other = "remote" if role == "hub" else "hub"
    local, local_wc = _wildcard(scenario[f"{role}.lan_network"])
    peer, peer_wc = _wildcard(scenario[f"{other}.lan_network"])
    crypto, nat = scenario[f"{role}.crypto_acl"], scenario[f"{role}.nat_acl"]
    expected = [
        f"access-list {crypto} permit ip {local} {local_wc} {peer} {peer_wc}",
        f"access-list {crypto} deny ip {local} {local_wc} any",
        f"access-list {nat} deny ip {local} {local_wc} {peer} {peer_wc}",
        f"access-list {nat} permit ip {local} {local_wc} any",
    ]
    actual = [" ".join(b.text.split()) for b in cfg.blocks(r"^access-list ")]
    _assert_lines(f"{role} access lists", actual, expected)
    # Order matters: the permit of the VPN traffic must come before the deny of the rest.
    assert actual.index(expected[0]) < actual.index(expected[1])
    assert actual.index(expected[2]) < actual.index(expected[3])


@pytest.mark.claim("CFG-ROUTE")
@pytest.mark.parametrize("role", ["hub", "remote"])
def test_default_route_to_serial(role, driver, scenario, running_config):
    cfg = running_config(driver.session(role))
    route = f"ip route 0.0.0.0 0.0.0.0 {scenario[f'{role}.wan_interface']}"
    assert cfg.has(route), f"{role}: no '{route}': {[b.text for b in cfg.blocks('^ip route')]}"
