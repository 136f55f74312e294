"""The IPsec SA database of one router: SAs, flows, temporary dynamic-map entries, numbering, deadlines.

A leaf: it knows no configuration and no packet format, only what was
negotiated.  Lookups the data path makes per packet are indexed (inbound SPI,
the flows of one crypto map entry, the temporary entries under one dynamic
map entry, the flows with SAs on one interface); only timers and ``clear``
walk every flow.

Numbering (reference §4.5): IPsec conn id 2000, 2001... (inbound first),
flow_id 1, 2..., never reused; temporary entries 65536, 65537... per map
(reference §1.3).
"""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Iterable

from emulator.engines import esp_sa as E
from emulator.engines.deadlines import earliest, take_due
from emulator.engines.ike.events import Phase2Request, Phase2Result
from emulator.engines.ike.policy import EspTransform, ProxyId
from emulator.labtime import SECOND

__all__ = ["IpsecSA", "IpsecFlow", "TemporaryEntry", "SaDatabase", "FlowKey", "TEMPORARY_SEQ_BASE",
           "FIRST_IPSEC_CONN_ID", "REKEY_BEFORE", "REKEY_KB_FRACTION"]

TEMPORARY_SEQ_BASE = 65536      # reference §1.3
FIRST_IPSEC_CONN_ID = 2000      # reference §4.5
REKEY_BEFORE = 30 * SECOND      # reference §4.2: "30 s before the seconds lifetime ends"
REKEY_KB_FRACTION = 0.9         # reference §4.2: "~90% of the kB lifetime"

FlowKey = tuple[str, str, int, ProxyId, ProxyId]   # (interface, map, sequence, local proxy, remote proxy)


class IpsecSA:
    """One ESP SA (one direction) with its lifetimes and engine numbers."""

    __slots__ = ("esp", "spi", "inbound", "flow", "conn_id", "flow_id", "transform", "transform_set",
                 "created", "expires_at", "lifetime_s", "lifetime_kb", "limit_bytes", "soft_at", "soft_bytes",
                 "sibling", "peer", "local", "peer_packed", "local_packed", "rekeyed", "ike_conn_id")

    def __init__(self, esp: E.EspSA, inbound: bool, flow: "IpsecFlow", conn_id: int, flow_id: int,
                 transform: EspTransform, transform_set: str, created: int, lifetime_s: int, lifetime_kb: int,
                 peer: IPv4Address, local: IPv4Address, ike_conn_id: int):
        self.esp = esp
        self.spi = esp.spi
        self.inbound = inbound
        self.flow = flow
        self.conn_id = conn_id
        self.flow_id = flow_id
        self.transform = transform
        self.transform_set = transform_set
        self.created = created
        self.lifetime_s = lifetime_s
        self.lifetime_kb = lifetime_kb
        self.expires_at = created + lifetime_s * SECOND
        self.limit_bytes = lifetime_kb * 1024
        self.soft_at = max(created + lifetime_s * SECOND // 2, self.expires_at - REKEY_BEFORE)
        self.soft_bytes = int(self.limit_bytes * REKEY_KB_FRACTION)
        self.sibling: IpsecSA | None = None
        self.peer = peer
        self.local = local
        self.peer_packed = peer.packed      # as the ESP path compares and writes them, per packet
        self.local_packed = local.packed
        self.rekeyed = False
        self.ike_conn_id = ike_conn_id

    @property
    def octets(self) -> int:
        return int(self.esp.octets)

    @property
    def packets(self) -> int:
        return int(self.esp.packets)

    def deadline(self) -> int:
        """When a timer must look at this SA: its expiry, or the soft lifetime of an outbound SA its side
        re-keys (a flow from a crypto ACL, not yet re-keyed)."""
        if self.inbound or self.rekeyed or not self.flow.origin_is_acl:
            return self.expires_at
        return min(self.soft_at, self.expires_at)

    @property
    def dest(self) -> IPv4Address:
        """Where this SA's packets go (``sa_dest`` of the debug lines)."""
        return self.local if self.inbound else self.peer

    def remaining_kb(self) -> int:
        return max(0, self.lifetime_kb - -(-self.octets // 1024))

    def remaining_seconds(self, now: int) -> int:
        """Whole seconds left of the seconds lifetime."""
        return max(0, (self.expires_at - now) // SECOND)

    def expired(self, now: int) -> bool:
        return now >= self.expires_at or self.octets >= self.limit_bytes

    def wireshark_row(self) -> str:
        """This SA as a tshark ``esp_sa`` UAT row (source and destination of its packets)."""
        src, dst = (self.peer, self.local) if self.inbound else (self.local, self.peer)
        return str(self.esp.wireshark_sa(str(src), str(dst)))


DEFAULT_MTU = 1500     # the IP MTU of Ethernet and serial interfaces


class IpsecFlow:
    """One pair of proxy identities on a crypto map entry: the unit ``show crypto ipsec sa`` prints."""

    __slots__ = ("key", "serial", "iface", "map_name", "seq", "local_proxy", "remote_proxy", "peer", "local_addr",
                 "origin_is_acl", "inbound", "outbound", "encaps", "encrypt", "digest", "decaps", "decrypt",
                 "verify", "send_errors", "recv_errors", "verify_failed", "replay_failed", "invalid_identity",
                 "decaps_failed", "invalid_sa", "path_mtu", "ip_mtu", "learned_mtu", "in_db")

    def __init__(self, key: FlowKey, iface: str, map_name: str, seq: int, local_proxy: ProxyId,
                 remote_proxy: ProxyId, peer: IPv4Address | None, origin_is_acl: bool, serial: int = 0):
        self.key = key
        self.serial = serial          # the order flows were made in (timers visit them in it)
        self.iface = iface
        self.map_name = map_name
        self.seq = seq
        self.local_proxy = local_proxy
        self.remote_proxy = remote_proxy
        self.peer = peer
        self.local_addr: IPv4Address | None = None
        self.origin_is_acl = origin_is_acl
        self.inbound: list[IpsecSA] = []
        self.outbound: list[IpsecSA] = []
        # "path mtu N, ip mtu N, ip mtu interface IF": the IP MTU of the interface, and the path MTU
        # (the IP MTU, or less when an ICMP "fragmentation needed" about the flow's ESP said so).
        self.ip_mtu = self.path_mtu = DEFAULT_MTU
        self.learned_mtu: int | None = None
        # Whether the database holds this flow under its key (``flows[key] is self``), kept by the
        # database: the per-packet checks read it instead of hashing the key and its proxies.
        self.in_db = False
        self.clear_counters()

    def clear_counters(self) -> None:
        self.encaps = self.encrypt = self.digest = 0
        self.decaps = self.decrypt = self.verify = 0
        self.send_errors = self.recv_errors = 0
        self.verify_failed = self.replay_failed = self.invalid_identity = self.decaps_failed = 0
        self.invalid_sa = 0

    @property
    def current_outbound(self) -> IpsecSA | None:
        return self.outbound[-1] if self.outbound else None

    def outbound_matches(self, src: int, dst: int, proto: int, sport: int | None, dport: int | None) -> bool:
        return (self.local_proxy.contains(src, proto, sport)
                and self.remote_proxy.contains(dst, proto, dport))


@dataclass
class TemporaryEntry:
    """A crypto map entry instantiated from a dynamic map for one peer (``show crypto map`` 65536...)."""

    map_name: str
    seq: int
    parent_seq: int
    dynamic_map: str
    dynamic_seq: int
    peer: IPv4Address
    local_proxy: ProxyId
    remote_proxy: ProxyId
    iface: str


class SaDatabase:
    """Flows and SAs with their indexes; the facade decides, this keeps."""

    def __init__(self) -> None:
        self.flows: dict[FlowKey, IpsecFlow] = {}
        self._entry_flows: dict[tuple[str, str, int], list[IpsecFlow]] = {}
        # iface -> the flows with SAs (for the cleartext check), each with the order it got them in, and
        # the same flows by the mask and masked address of their remote proxy.
        self._active: dict[str, dict[IpsecFlow, int]] = {}
        self._active_by_remote: dict[str, dict[int, dict[int, list[IpsecFlow]]]] = {}
        self._activations = itertools.count()
        self.in_sas: dict[int, IpsecSA] = {}
        self._by_spi: dict[int, list[IpsecSA]] = {}   # SPI -> SAs of either direction installed with it
        self._in_spis: dict[tuple[IPv4Address, IPv4Address], set[int]] = {}   # (peer, local) -> inbound SPIs
        self._reserved_spis: set[int] = set()
        self._temps: dict[tuple[str, int], TemporaryEntry] = {}
        self._temps_under: dict[tuple[str, int], dict[int, TemporaryEntry]] = {}   # (map, parent seq) -> by seq
        # (map, parent seq, peer, local proxy, remote proxy) -> the temporary entry made for them
        self._temp_keys: dict[tuple[str, int, IPv4Address, ProxyId, ProxyId], TemporaryEntry] = {}
        self._peer_flows: dict[IPv4Address | None, dict[IpsecFlow, None]] = {}   # peer -> its flows
        self._next_temp_seq: dict[str, int] = {}
        # The flows of the temporary entries under one dynamic map entry, by (interface, map, parent seq),
        # then by the mask and masked address of their remote proxy: a packet's flow is found by its
        # destination in as many lookups as there are masks, not by walking every peer's flows.
        self._dynamic_flows: dict[tuple[str, str, int], dict[int, dict[int, list[IpsecFlow]]]] = {}
        self.pending: dict[FlowKey, Phase2Request] = {}
        self.next_conn = FIRST_IPSEC_CONN_ID
        self.next_flow_id = 1
        # SA deadlines as (time, sequence, SA); an entry whose SA went or whose deadline moved is stale and
        # dropped when it comes up, so looking for the next deadline never walks every SA.
        self._deadlines: list[tuple[int, int, IpsecSA]] = []
        self._seq = itertools.count()
        self._flow_serial = itertools.count()
        self.esp_key_rows: list[str] = []   # Wireshark's esp_sa rows, one per SA ever installed here
        self.installed: list[IpsecSA] = []  # the same SAs, for a key log

    # ------------------------------------------------------------ reading
    def sas(self) -> list[IpsecSA]:
        """Every IPsec SA, by conn id."""
        out = [sa for f in self.flows.values() for sa in (*f.inbound, *f.outbound)]
        return sorted(out, key=lambda s: s.conn_id)

    def algorithms(self, spi: int) -> tuple[int, int | None] | None:
        """(cipher, authenticator) of the SA with ``spi``: of either direction, the lowest conn id when
        two share it (the first ``sas()`` lists), found by the SPI instead of a walk of every SA."""
        found = None
        for sa in self._by_spi.get(spi, ()):     # only SAs in a flow of the database (see _unindex_spis)
            if found is None or sa.conn_id < found.conn_id:
                found = sa
        return (found.transform.cipher, found.transform.auth) if found is not None else None

    def _unindex_spis(self, sas: Iterable[IpsecSA]) -> None:
        """SAs that leave the database (their pair, or their whole flow) leave the index by SPI."""
        for s in sas:
            same_spi = self._by_spi.get(s.spi)
            if same_spi is not None and s in same_spi:
                same_spi.remove(s)
                if not same_spi:
                    del self._by_spi[s.spi]

    def entry_flows(self, iface: str, map_name: str, seq: int) -> list[IpsecFlow]:
        return self._entry_flows.get((iface, map_name, seq), [])

    def active(self, iface: str) -> list[IpsecFlow]:
        """The flows with SAs on ``iface``, in the order they got them."""
        return list(self._active.get(iface, ()))

    def has_active(self, iface: str) -> bool:
        return bool(self._active.get(iface))

    def active_flow(self, iface: str, src: int, dst: int, proto: int, sport: int | None,
                    dport: int | None) -> IpsecFlow | None:
        """The first flow with SAs on ``iface`` (in the order they got them) whose proxies a packet from
        the remote side lies within: found by the packet's source, one lookup per remote proxy mask."""
        active = self._active.get(iface)
        if not active:
            return None
        best: IpsecFlow | None = None
        for mask, by_addr in self._active_by_remote[iface].items():
            for f in by_addr.get(src & mask, ()):
                if (f.remote_proxy.contains(src, proto, sport) and f.local_proxy.contains(dst, proto, dport)
                        and (best is None or active[f] < active[best])):
                    best = f
        return best

    def temporary_entries(self, map_name: str | None = None) -> list[TemporaryEntry]:
        return sorted((t for t in self._temps.values() if map_name is None or t.map_name == map_name),
                      key=lambda t: (t.map_name, t.seq))

    def temporaries_under(self, map_name: str, parent_seq: int) -> list[TemporaryEntry]:
        """The temporary entries made from one dynamic map entry, newest first (a peer that came back
        from a new address is protected to the new one)."""
        return list(self._temps_under.get((map_name, parent_seq), {}).values())[::-1]

    def peek_conn_ids(self) -> tuple[int, int]:
        """The engine connection ids the next SA pair will get (inbound, outbound)."""
        return self.next_conn, self.next_conn + 1

    # ------------------------------------------------------------ SPIs
    def new_spi(self, rng: random.Random) -> int:
        while True:
            spi = rng.randrange(0x100, 0x1_0000_0000)  # SPIs 1-255 are reserved (RFC 2406 §2.1)
            if spi not in self.in_sas and spi not in self._reserved_spis:
                self._reserved_spis.add(spi)
                return spi

    def release_spi(self, spi: int) -> None:
        self._reserved_spis.discard(spi)

    # ------------------------------------------------------------ flows
    def flow(self, key: FlowKey) -> IpsecFlow | None:
        return self.flows.get(key)

    def new_flow(self, key: FlowKey, peer: IPv4Address | None, origin_is_acl: bool) -> IpsecFlow:
        iface, map_name, seq, lp, rp = key
        f = IpsecFlow(key, iface, map_name, seq, lp, rp, peer, origin_is_acl, next(self._flow_serial))
        replaced = self.flows.get(key)
        if replaced is not None:
            self._unindex_spis((*replaced.inbound, *replaced.outbound))
            replaced.in_db = False
        self.flows[key] = f
        f.in_db = True
        self._entry_flows.setdefault((iface, map_name, seq), []).append(f)
        self._peer_flows.setdefault(peer, {})[f] = None
        temp = self._temps.get((map_name, seq))
        if temp is not None:
            by_mask = self._dynamic_flows.setdefault((iface, map_name, temp.parent_seq), {})
            by_mask.setdefault(rp.mask, {}).setdefault(rp.addr, []).append(f)
        return f

    def dynamic_flow(self, iface: str, map_name: str, parent_seq: int, src: int, dst: int, proto: int,
                     sport: int | None, dport: int | None) -> IpsecFlow | None:
        """The flow with an outbound SA that a packet matches among the temporary entries under a dynamic
        map entry: the newest entry's first, as IOS walks them."""
        by_mask = self._dynamic_flows.get((iface, map_name, parent_seq))
        if not by_mask:
            return None
        best: IpsecFlow | None = None
        for mask, by_addr in by_mask.items():
            for f in by_addr.get(dst & mask, ()):
                if (f.outbound and f.outbound_matches(src, dst, proto, sport, dport)
                        and (best is None or (-f.seq, f.serial) < (-best.seq, best.serial))):
                    best = f
        return best

    def set_peer(self, f: IpsecFlow, peer: IPv4Address | None) -> None:
        """The flow's peer is now ``peer`` (kept in the index by peer)."""
        if peer != f.peer:
            self._unindex_peer(f)
            f.peer = peer
            if self.flows.get(f.key) is f:
                self._peer_flows.setdefault(peer, {})[f] = None

    def flows_with_peer(self, peer: IPv4Address) -> list[IpsecFlow]:
        """The flows whose peer is ``peer``, in the order they were made."""
        return sorted(self._peer_flows.get(peer, ()), key=lambda f: f.serial)

    def _unindex_peer(self, f: IpsecFlow) -> None:
        same = self._peer_flows.get(f.peer)
        if same is not None and f in same:
            del same[f]
            if not same:
                del self._peer_flows[f.peer]

    def remove_flow(self, f: IpsecFlow) -> None:
        if f.in_db:
            self._unindex_peer(f)
        held = self.flows.pop(f.key, None)
        if held is not None:
            self._unindex_spis((*held.inbound, *held.outbound))
            held.in_db = False
        lst = self._entry_flows.get((f.iface, f.map_name, f.seq))
        if lst and f in lst:
            lst.remove(f)
        self._deactivate(f)
        temp = self._temps.get((f.map_name, f.seq))
        if temp is not None:
            self._unindex_dynamic(f, temp)
        if temp is not None and not self._entry_flows.get((f.iface, f.map_name, f.seq)):
            del self._temps[(f.map_name, f.seq)]
            self._temps_under.get((temp.map_name, temp.parent_seq), {}).pop(temp.seq, None)
            key = (temp.map_name, temp.parent_seq, temp.peer, temp.local_proxy, temp.remote_proxy)
            if self._temp_keys.get(key) is temp:
                del self._temp_keys[key]

    def _unindex_dynamic(self, f: IpsecFlow, temp: TemporaryEntry) -> None:
        by_mask = self._dynamic_flows.get((f.iface, f.map_name, temp.parent_seq), {})
        by_addr = by_mask.get(f.remote_proxy.mask, {})
        flows = by_addr.get(f.remote_proxy.addr, [])
        if f in flows:
            flows.remove(f)
            if not flows:
                del by_addr[f.remote_proxy.addr]
                if not by_addr:
                    del by_mask[f.remote_proxy.mask]

    def _deactivate(self, f: IpsecFlow) -> None:
        active = self._active.get(f.iface)
        if active and f in active:
            del active[f]
            by_mask = self._active_by_remote[f.iface]
            by_addr = by_mask[f.remote_proxy.mask]
            flows = by_addr[f.remote_proxy.addr]
            flows.remove(f)
            if not flows:
                del by_addr[f.remote_proxy.addr]
                if not by_addr:
                    del by_mask[f.remote_proxy.mask]

    # ------------------------------------------------------------ SAs
    def install(self, f: IpsecFlow, r: Phase2Result, now: int) -> tuple[IpsecSA, IpsecSA]:
        """A negotiated pair on flow ``f``: (inbound, outbound), numbered and indexed."""
        self.set_peer(f, r.peer)
        f.local_addr = r.local
        t = r.transform
        esp_in = E.EspSA(r.spi_in, t.cipher, r.keys_in[0], t.auth, r.keys_in[1])
        esp_out = E.EspSA(r.spi_out, t.cipher, r.keys_out[0], t.auth, r.keys_out[1])
        sa_in = IpsecSA(esp_in, True, f, self.next_conn, self.next_flow_id, t, r.transform_set, now,
                        r.lifetime_s, r.lifetime_kb, r.peer, r.local, r.ike_conn_id)
        sa_out = IpsecSA(esp_out, False, f, self.next_conn + 1, self.next_flow_id + 1, t, r.transform_set, now,
                         r.lifetime_s, r.lifetime_kb, r.peer, r.local, r.ike_conn_id)
        self.next_conn += 2
        self.next_flow_id += 2
        sa_in.sibling, sa_out.sibling = sa_out, sa_in
        f.inbound.append(sa_in)
        f.outbound.append(sa_out)
        self.esp_key_rows += [sa_in.wireshark_row(), sa_out.wireshark_row()]
        self.installed += [sa_in, sa_out]
        self.in_sas[sa_in.spi] = sa_in
        if f.in_db:
            self._by_spi.setdefault(sa_in.spi, []).append(sa_in)
            self._by_spi.setdefault(sa_out.spi, []).append(sa_out)
        self._in_spis.setdefault((sa_in.peer, sa_in.local), set()).add(sa_in.spi)
        self._reserved_spis.discard(sa_in.spi)
        active = self._active.setdefault(f.iface, {})
        if f not in active:
            active[f] = next(self._activations)
            by_mask = self._active_by_remote.setdefault(f.iface, {})
            by_mask.setdefault(f.remote_proxy.mask, {}).setdefault(f.remote_proxy.addr, []).append(f)
        self._arm(sa_in)
        self._arm(sa_out)
        return sa_in, sa_out

    def install_result(self, r: Phase2Result, now: int) -> tuple[IpsecSA, IpsecSA]:
        """What quick mode negotiated, on its flow: the initiator's context is the flow key it asked for;
        the responder's names the map entry that accepted the offer (a dynamic one makes or reuses a
        temporary entry for the peer)."""
        ctx = r.context
        assert isinstance(ctx, tuple)
        if r.initiator:
            key: FlowKey = ctx
            origin_is_acl = True
        else:
            kind, iface, map_name, seq = ctx[:4]
            origin_is_acl = kind == "static"
            if kind == "dynamic":
                seq = self.temporary_entry(map_name, seq, ctx[4], ctx[5], r.peer, r.local_proxy, r.remote_proxy,
                                           iface).seq
            key = (iface, map_name, seq, r.local_proxy, r.remote_proxy)
        self.pending.pop(key, None)
        f = self.flow(key) or self.new_flow(key, r.peer, origin_is_acl)
        return self.install(f, r, now)

    def remove_pair(self, sa: IpsecSA) -> list[IpsecSA]:
        """Take ``sa`` and its sibling out of their flow and the indexes; the SAs removed."""
        f = sa.flow
        pair = [sa] + ([sa.sibling] if sa.sibling is not None else [])
        for s in pair:
            if s in f.inbound:
                f.inbound.remove(s)
            if s in f.outbound:
                f.outbound.remove(s)
            self._unindex_spis((s,))
            if s.inbound and self.in_sas.get(s.spi) is s:
                del self.in_sas[s.spi]
                spis = self._in_spis[(s.peer, s.local)]
                spis.discard(s.spi)
                if not spis:
                    del self._in_spis[(s.peer, s.local)]
        if not f.inbound and not f.outbound:
            self._deactivate(f)
        return pair

    def has_inbound(self, peer: IPv4Address, local: IPv4Address) -> bool:
        """Whether an inbound SA from ``peer`` to ``local`` is installed."""
        return (peer, local) in self._in_spis

    def find_pairs(self, peer: IPv4Address, spis: set[int]) -> list[IpsecSA]:
        """SAs with ``peer`` whose SPI (either direction) is in ``spis``, one per pair."""
        found: list[IpsecSA] = []
        for spi in spis:
            sa = self.in_sas.get(spi)
            if sa is not None and sa.peer == peer and sa not in found and sa.sibling not in found:
                found.append(sa)
        for f in self.flows_with_peer(peer):
            for sa in f.outbound:
                if sa.spi in spis and sa not in found and sa.sibling not in found:
                    found.append(sa)
        return found

    # ------------------------------------------------------------ temporary entries
    def temporary_entry(self, map_name: str, parent_seq: int, dyn_name: str, dyn_seq: int, peer: IPv4Address,
                        lp: ProxyId, rp: ProxyId, iface: str) -> TemporaryEntry:
        key = (map_name, parent_seq, peer, lp, rp)
        found = self._temp_keys.get(key)
        if found is not None:
            return found
        seq = self._next_temp_seq.get(map_name, TEMPORARY_SEQ_BASE)
        self._next_temp_seq[map_name] = seq + 1
        t = TemporaryEntry(map_name, seq, parent_seq, dyn_name, dyn_seq, peer, lp, rp, iface)
        self._temps[(map_name, seq)] = t
        self._temps_under.setdefault((map_name, parent_seq), {})[seq] = t
        self._temp_keys[key] = t
        return t

    # ------------------------------------------------------------ deadlines
    def _arm(self, sa: IpsecSA) -> None:
        heap = self._deadlines
        if len(heap) > 64 + 8 * len(self.in_sas):
            # Mostly stale (SAs deleted before their deadline): keep the live entries only.
            heap[:] = [entry for entry in heap if self._live(entry[0], entry[2])]
            heapq.heapify(heap)
        heapq.heappush(heap, (sa.deadline(), next(self._seq), sa))

    def mark_rekeyed(self, sa: IpsecSA) -> None:
        """A re-key of ``sa``'s pair began: its next deadline is the expiry."""
        for s in (sa, sa.sibling):
            if s is not None and not s.rekeyed:
                s.rekeyed = True
                self._arm(s)

    def _live(self, when: int, sa: IpsecSA) -> bool:
        """Whether a heap entry is still the deadline of an installed SA."""
        if when != sa.deadline():
            return False
        if sa.inbound:
            return self.in_sas.get(sa.spi) is sa
        return sa in sa.flow.outbound and sa.flow.in_db

    def deadline(self) -> int | None:
        """The earliest SA deadline: expiry, or the soft lifetime of an outbound SA its side re-keys."""
        return earliest(self._deadlines, self._live)

    def due(self, now: int) -> list[IpsecSA]:
        """The SAs whose deadline is at or before ``now``, taken off the heap: by flow, inbound first."""
        found = {id(sa): sa for _, sa in take_due(self._deadlines, now, self._live)}
        return sorted(found.values(), key=lambda s: (s.flow.serial, not s.inbound, s.conn_id))
