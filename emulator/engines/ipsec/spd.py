"""Security policy: what the configuration says about a packet or an offer, as pure functions.

Which crypto map entries an interface has and in what order, which
lifetimes an entry gets, whether offered proxies lie within a crypto ACL
(the mirrored-ACL check), which transform set and lifetimes answer a quick
mode offer, which pre-shared key a peer has.  Nothing here keeps state.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address

from emulator.config.model import AccessListEntry, CryptoMapEntry, DeviceConfig
from emulator.engines.acl import Flow
from emulator.engines.ike.events import Category, Phase2Offer, Phase2Rejection, Phase2Selection, Trace
from emulator.engines.ike.policy import (
    DEFAULT_SA_KILOBYTES,
    DEFAULT_SA_SECONDS,
    EspTransform,
    ProxyId,
    esp_transform,
    pfs_group,
    proxies_from_acl_entry,
)
from emulator.wire import isakmp as K
from emulator.wire.errors import DecodeError
from emulator.wire.flow import IPv4Flow, read_flow, read_quoted_flow

__all__ = ["peek", "selectors", "map_entries", "dynamic_entries", "entry_lifetimes", "acl_covers", "select_phase2",
           "entry_transforms", "psk_for", "DynamicContext", "StaticContext"]

_ALL = 0xFFFFFFFF

# What a selection tells the owner about the entry that accepted an offer.
StaticContext = tuple[str, str, str, int]                  # ("static", iface, map, seq)
DynamicContext = tuple[str, str, str, int, str, int]       # ("dynamic", iface, map, seq, dynamic map, its seq)


def peek(p: bytes) -> IPv4Flow | None:
    """The flow of an IPv4 packet (no checksum check); None when it is not one.

    A packet cut short inside its layer-4 header still has the fields present
    (read as an ICMP error's quote is), so the policy can judge its addresses.
    """
    try:
        return read_flow(p, verify=False)
    except DecodeError:
        pass
    try:
        return read_quoted_flow(p, 0)
    except DecodeError:
        return None


def selectors(p: bytes) -> Flow | None:
    """The ACL fields of an IPv4 packet (see :func:`peek`)."""
    flow = peek(p)
    return Flow.of(flow) if flow is not None else None


def map_entries(cfg: DeviceConfig, name: str) -> list[CryptoMapEntry]:
    return sorted((e for (n, _), e in cfg.crypto_maps.items() if n == name), key=lambda e: e.seq)


def dynamic_entries(cfg: DeviceConfig, name: str) -> list[CryptoMapEntry]:
    return sorted((e for (n, _), e in cfg.dynamic_maps.items() if n == name), key=lambda e: e.seq)


def entry_lifetimes(cfg: DeviceConfig, entry: CryptoMapEntry | None) -> tuple[int, int]:
    s = (entry.lifetime_seconds if entry else None) or cfg.sa_lifetime_seconds or DEFAULT_SA_SECONDS
    kb = (entry.lifetime_kilobytes if entry else None) or cfg.sa_lifetime_kilobytes or DEFAULT_SA_KILOBYTES
    return s, kb


def _as_permit(entry: AccessListEntry) -> AccessListEntry:
    return replace(entry, action="permit")


def acl_covers(cfg: DeviceConfig, acl_name: str, local: ProxyId, remote: ProxyId) -> bool:
    """The offered (mirrored) proxies lie within a permit entry of the ACL, before any deny covering them."""
    acl = cfg.access_lists.get(acl_name)
    if acl is None:
        return False
    for entry in acl.entries:
        if entry.remark is not None:
            continue
        p = proxies_from_acl_entry(entry if entry.action == "permit" else _as_permit(entry))
        if p is not None and p[0].covers(local) and p[1].covers(remote):
            return entry.action == "permit"
    return False


def entry_transforms(cfg: DeviceConfig, entry: CryptoMapEntry) -> tuple[list[tuple[str, EspTransform]], list[Trace]]:
    """The usable (name, transform) pairs of an entry, in order, and a trace for each unusable set."""
    out: list[tuple[str, EspTransform]] = []
    traces: list[Trace] = []
    for name in entry.transform_sets:
        ts = cfg.transform_sets.get(name)
        if ts is None:
            continue
        t, why = esp_transform(ts)
        if t is None:
            traces.append(Trace(Category.IPSEC, "sa_request_transform_unusable", {"name": name, "reason": why}))
            continue
        out.append((name, t))
    return out, traces


def psk_for(cfg: DeviceConfig, peer: IPv4Address) -> bytes | None:
    """``crypto isakmp key K address A [MASK]``: longest match on the peer's address (reference §4.9)."""
    best = None
    best_len = -1
    p = int(peer)
    for k in cfg.isakmp_keys:
        mask = int(k.mask) if k.mask is not None else _ALL
        if p & mask == int(k.address) & mask:
            n = bin(mask).count("1")
            if n > best_len:
                best, best_len = k.key, n
    return best.encode() if best is not None else None


# --------------------------------------------------------------------------- responder: phase 2


def _pick(cfg: DeviceConfig, entry: CryptoMapEntry, offer: Phase2Offer, context: tuple[object, ...],
          traces: list[Trace]) -> Phase2Selection | None:
    want_pfs = pfs_group(entry.pfs)
    local_s, local_kb = entry_lifetimes(cfg, entry)
    for prop in offer.proposals:
        if want_pfs and prop.group != want_pfs:
            continue
        for name in entry.transform_sets:
            ts = cfg.transform_sets.get(name)
            if ts is None or prop.transform is None:
                continue
            t, _why = esp_transform(ts)
            if t is not None and t.same_algorithms(prop.transform):
                life_s = min(local_s, prop.lifetime_s) if prop.lifetime_s else local_s
                life_kb = min(local_kb, prop.lifetime_kb) if prop.lifetime_kb else local_kb
                return Phase2Selection(prop, name, life_s, life_kb, prop.group, context, tuple(traces))
    return None


def _reject(notify: int, reason: str, traces: list[Trace]) -> Phase2Rejection:
    traces.append(Trace(Category.IPSEC, "validate_transform_proposal", {"reason": reason}))
    return Phase2Rejection(notify, reason, tuple(traces))


def select_phase2(cfg: DeviceConfig, iface: str, offer: Phase2Offer) -> Phase2Selection | Phase2Rejection:
    """Responder checks (quick mode) on ``iface``'s crypto map: static entries whose ``set peer`` is the
    peer, then the dynamic templates, in sequence order; the offered proxies must lie within the entry's
    ACL (a dynamic template without one accepts any), a transform set must equal an offered transform, PFS
    must match when the entry sets it.  Lifetimes: the smaller of ours and the offer (reference §4.2)."""
    ic = cfg.interfaces.get(iface)
    map_name = ic.crypto_map if ic is not None else None
    lp, rp = offer.local_proxy, offer.remote_proxy
    traces: list[Trace] = []
    if offer.proposals:
        traces.append(Trace(Category.IPSEC, "validate_proposal_request",
                            {"local": offer.local, "peer": offer.peer, "local_proxy": lp, "remote_proxy": rp,
                             "transform": offer.proposals[0].transform}))
    else:
        return _reject(K.NO_PROPOSAL_CHOSEN, "no usable ESP proposal offered", traces)
    if not map_name:
        return _reject(K.INVALID_ID_INFORMATION, f"no crypto map on the interface of {offer.local}", traces)
    ids_ok = False
    for entry in map_entries(cfg, map_name):
        candidates: list[tuple[CryptoMapEntry, tuple[object, ...]]] = []
        if entry.dynamic_map:
            candidates = [(dyn, ("dynamic", iface, map_name, entry.seq, dyn.name, dyn.seq))
                          for dyn in dynamic_entries(cfg, entry.dynamic_map)
                          if not dyn.match_address or acl_covers(cfg, dyn.match_address, lp, rp)]
        elif (entry.kind == "ipsec-isakmp" and offer.peer in entry.peers and entry.match_address
              and acl_covers(cfg, entry.match_address, lp, rp)):
            candidates = [(entry, ("static", iface, map_name, entry.seq))]
        for candidate, context in candidates:
            ids_ok = True
            sel = _pick(cfg, candidate, offer, context, traces)
            if sel is not None:
                return sel
    if ids_ok:
        t = offer.proposals[0].transform
        traces.append(Trace(Category.IPSEC, "transform_not_supported",
                            {"protocol": int(K.PROTO_IPSEC_ESP), "cipher": t.cipher if t else 0,
                             "auth": (t.auth or 0) if t else 0}))
        return Phase2Rejection(K.NO_PROPOSAL_CHOSEN, "transform proposal not supported", tuple(traces))
    return _reject(K.INVALID_ID_INFORMATION, "proxy identities not supported", traces)
