"""The crypto subsystem of one router: crypto maps, the IPsec SA database, ESP, and IKE, behind one object.

Sans-I/O: the router calls in with bytes and the current virtual time
(integer nanoseconds, ``emulator.labtime``) and gets bytes back; nothing here
reads a clock, sleeps or starts a thread, and every random value (IKE
cookies and nonces, DH private values, SPIs, ESP IVs) comes from the
``random.Random`` it was given.  Bad input (malformed ISAKMP, an unknown
SPI, an ICV failure, a replay) is dropped, counted and logged as IOS
would; nothing raises out of the subsystem (``errors`` records any
internal failure, for tests to assert empty).

How the router uses it
----------------------
::

    crypto = CryptoSubsystem(lambda: router.config, router_interface_address, sim.rng("r1/crypto"),
                             router.acl, log=router.log, debug=router_debug, now=sim.now)

    # forwarding pipeline
    r = crypto.inbound(iface, packet_bytes, now)      # first thing on arrival
    r = crypto.outbound(iface, packet_bytes, now)     # after routing and NAT, before leaving iface
    # r.action: CLEAR (use the packet as it was), PROTECTED (send r.packet: outer IPv4 + ESP,
    #           routed to the peer), DECRYPTED (go on with r.packet, the inner packet), DROP (r.reason)

    # IKE transport: UDP 500 datagrams addressed to the router go to (ignored, and counted in
    # drops["isakmp off"], while no interface has a crypto map: answer those with port unreachable)
    crypto.receive_ike(iface, src, dst, sport, dport, udp_payload, now)
    # and after every call into the subsystem (data path included: a dropped packet may start IKE)
    for src, dst, sport, dport, payload in crypto.datagrams_to_send(): ...send UDP from the router...

    # timers: after every call, (re)arm one timer at crypto.get_timer() (None = nothing pending);
    # when it fires call crypto.handle_timer(now) (then send datagrams and re-arm again):
    # the engine contract that emulator.sim.binding.EngineBinding runs

    # an interface's address changed (a new IPCP address): SAs bound to the old one go
    crypto.interface_address_changed(iface, now)

``debug(trace)`` receives every ``emulator.engines.ike.events.Trace`` (IKE's
and this subsystem's), in order, as it happens: ``trace.category`` is the
``debug crypto isakmp|ipsec|engine`` switch that shows it, and
``emulator.cli.crypto_debug`` words it.  ``log(text)`` receives syslog
messages (``%CRYPTO-...``), already rate limited where IOS limits them.
Show commands (``emulator.cli.crypto_show``) read the state through
``flows()``, ``sas()``, ``temporary_entries()``, ``ike.sas()`` and ``config``.

Behaviour (choices where IOS 12.2 is not documented are marked *choice*)
------------------------------------------------------------------------
* Crypto map entries are tried in sequence order; for a static entry the
  first ACL entry that matches decides: permit = this entry protects the
  packet, deny = try the next map entry; a packet no entry permits goes clear.
* A static entry with no SA drops the packet, counts ``#send errors`` on the
  flow (reference §4.4 working definition) and starts IKE with the entry's
  first ``set peer`` from the interface's current address (asked at that
  moment, so an IPCP address is used).  Packets while IKE runs are dropped and
  counted, they do not start another negotiation.
* A dynamic entry never initiates (reference §4.3): traffic its ACL permits
  without an SA is dropped (``drops["no SA (dynamic map)"]``; no flow counter
  exists on IOS for it, *choice*).  Once a peer built SAs, the temporary entry
  (sequence 65536, 65537...; reference §1.3) protects the mirrored traffic;
  the newest temporary entry first (*choice*: a peer back from a new address).
* Responder checks: ``spd.select_phase2``.  Failure: no SA,
  ``IPSEC(validate_transform_proposal)`` debug, the syslog
  ``%CRYPTO-6-IKMP_MODE_FAILURE`` and an encrypted notify (NO_PROPOSAL_CHOSEN
  when proxies were acceptable, INVALID_ID_INFORMATION otherwise).
* SA lifetimes count down on the virtual clock; kilobytes count the inner
  packet bytes, remaining = lifetime - ceil(bytes/1024) (6 pings of 100 bytes
  leave 4607999, as in the document).  Hard expiry (either limit) deletes the
  pair and tells the peer (DELETE).  Soft lifetime (*choice*, from the
  reference §4.2 wording): the side holding a static map entry re-keys 30 s
  before the seconds lifetime ends or at 90 % of the kilobytes, if the SA
  carried traffic; outbound switches to the newest SA, the old pair lives to
  its own expiry.
* A DELETE from the peer names SPIs of either direction (RFC 2408 §3.15 lets
  the sender name its own inbound SAs; some peers name ours): the pair that
  has one of them goes either way, so nothing is sent into an SA the peer
  dropped.  INITIAL-CONTACT from a peer (RFC 2407 §4.6.3.3) removes every
  older IPsec SA with it.
* A cleartext packet arriving on a crypto-map interface that belongs to a
  flow with SAs (mirrored proxies) is dropped with
  ``%CRYPTO-4-RECVD_PKT_NOT_IPSEC`` (*choice*: only when an SA exists).
* UDP 500 from/to the router's own interface address and ESP it sends are
  never matched by a crypto map.
* ``clear crypto sa`` [peer|map] deletes SA pairs (DELETE sent to the peer),
  their flows (counters reset, *choice*) and temporary dynamic entries;
  ``counters`` only zeroes counters.  ``clear crypto isakmp`` deletes IKE SAs
  only (reference §4.6).
"""

from __future__ import annotations

import random
from ipaddress import IPv4Address
from typing import Callable

from emulator.config.model import CryptoMapEntry, DeviceConfig
from emulator.engines.acl import PERMIT, AclEngine, Flow
from emulator.engines.ike.engine import IkeEngine
from emulator.engines.ike.events import (
    Category,
    InitialContact,
    Phase2Established,
    Phase2Failed,
    Phase2Request,
    Phase2Result,
    SasDeleted,
    Syslog,
    Trace,
)
from emulator.engines.ike.policy import pfs_group, proxies_from_acl_entry
from emulator.engines.ipsec import spd
from emulator.engines.ipsec.esp_path import CLEAR, DROP, CryptoResult, EspPath
from emulator.engines.ipsec.keying import RouterIkePolicy
from emulator.engines.ipsec.sad import FlowKey, IpsecFlow, IpsecSA, SaDatabase, TemporaryEntry
from emulator.wire.errors import DecodeError
from emulator.wire.flow import read_flow
from emulator.wire.ipv4 import PROTO_ESP, PROTO_UDP
from emulator.wire.udp import PORT_ISAKMP

__all__ = ["CryptoSubsystem", "DEBUG_CATEGORIES"]

# ``debug crypto isakmp`` / ``debug crypto ipsec`` / ``debug crypto engine``: the categories of the traces.
DEBUG_CATEGORIES = (Category.ISAKMP.value, Category.IPSEC.value, Category.ENGINE.value)
IPSEC, ENGINE = Category.IPSEC, Category.ENGINE


def _selectors(packet: bytes) -> Flow | None:
    """``spd.selectors(packet)``, the common case (a datagram read as received) without its wrappers."""
    try:
        return Flow.of(read_flow(packet, verify=False))
    except DecodeError:
        return spd.selectors(packet)


class _PackedAddresses:
    """``local_address(iface)`` as 4 packed bytes, per packet: worked out again only when the interface's
    address object is another one than last time (``IPv4Interface.ip`` makes a new object at each read)."""

    def __init__(self, local_address: Callable[[str], IPv4Address | None], interface_address: Callable[[str], object]):
        self._local_address = local_address
        self._ifaddr = interface_address
        self._seen: dict[str, tuple[object, bytes | None]] = {}      # iface -> (its address object, packed)

    def packed(self, iface: str) -> bytes | None:
        a = self._ifaddr(iface)
        seen = self._seen.get(iface)
        if seen is not None and seen[0] is a:
            return seen[1]
        local = self._local_address(iface)
        packed = local.packed if local is not None else None
        self._seen[iface] = (a, packed)
        return packed


class _EntryOrder:
    """``spd.map_entries`` for each packet: a map's keys in sequence order are kept while the crypto map
    table has the same keys in the same order (the entries are read from it each time, so an entry
    replaced under its key is seen)."""

    def __init__(self) -> None:
        # map name -> (the crypto map table's keys when last read, the map's keys in sequence order)
        self._seen: dict[str, tuple[list[tuple[str, int]], list[tuple[str, int]]]] = {}

    def entries(self, cfg: DeviceConfig, map_name: str) -> list[CryptoMapEntry]:
        maps = cfg.crypto_maps
        keys = list(maps)
        seen = self._seen.get(map_name)
        if seen is None or seen[0] != keys:
            order = [key for key in keys if key[0] == map_name]
            order.sort(key=lambda key: key[1])
            seen = self._seen[map_name] = (keys, order)
        return list(map(maps.__getitem__, seen[1]))


class CryptoSubsystem:
    """Crypto maps, IPsec SAs, ESP and IKE of one router (see the module docstring)."""

    def __init__(self, config_provider: Callable[[], DeviceConfig],
                 interface_address: Callable[[str], object], rng: random.Random, acl: AclEngine,
                 log: Callable[[str], None], debug: Callable[[Trace], None], now: int = 0, *,
                 next_ip_id: Callable[[], int] | None = None):
        self._config = config_provider
        self._ifaddr = interface_address
        self.rng = rng
        self.acl = acl
        self._log = log
        self._debug = debug
        self.sad = SaDatabase()
        self.esp = EspPath(self.sad, rng, log, self._expire_pair, self._rekey, next_ip_id)
        self.policy = RouterIkePolicy(config_provider, self.local_address, self.sad, rng)
        self.ike = IkeEngine(self.policy, rng)
        self.errors: list[str] = []
        self.now = now
        # After ``outbound`` or ``inbound``: the packet went clear, or was protected or decrypted, and nothing
        # else happened (no SA expired, no re-key, nothing for IKE, no deadline moved), so the binding's poke
        # would find nothing to do and the owner may leave it out. A drop may have asked IKE for SAs.
        self.quiet = False
        self.local_packed = _PackedAddresses(self.local_address, interface_address).packed
        self._map_entries = _EntryOrder().entries

    # ================================================================== reading (show commands, tests)
    @property
    def config(self) -> DeviceConfig:
        return self._config()

    @property
    def drops(self) -> dict[str, int]:
        return self.esp.drops

    @property
    def esp_key_rows(self) -> list[str]:
        return self.sad.esp_key_rows

    @property
    def installed_sas(self) -> list[IpsecSA]:
        """Every ESP SA installed here, in order (for a key log)."""
        return self.sad.installed

    def local_address(self, iface: str) -> IPv4Address | None:
        """The interface's current address (an ``IPv4Interface`` from the router is accepted)."""
        a = self._ifaddr(iface)
        if a is None:
            return None
        addr = getattr(a, "ip", a)
        return addr if isinstance(addr, IPv4Address) else IPv4Address(str(addr))

    def isakmp_enabled(self) -> bool:
        """IOS runs ISAKMP while a crypto map is applied to some interface."""
        return any(i.crypto_map for i in self._config().interfaces.values())

    @staticmethod
    def isakmp_on_message() -> str:
        """Logged when a crypto map is applied (reference §4.12)."""
        return "%CRYPTO-6-ISAKMP_ON_OFF: ISAKMP is ON"

    map_entries = staticmethod(spd.map_entries)
    dynamic_entries = staticmethod(spd.dynamic_entries)
    entry_lifetimes = staticmethod(spd.entry_lifetimes)

    def temporary_entries(self, map_name: str | None = None) -> list[TemporaryEntry]:
        return self.sad.temporary_entries(map_name)

    def flows(self) -> list[IpsecFlow]:
        return list(self.sad.flows.values())

    def sas(self) -> list[IpsecSA]:
        """Every IPsec SA, by conn id."""
        return self.sad.sas()

    # ================================================================== events of IKE
    def _drain(self) -> None:
        """Act on what IKE reported, in order (traces and logs pass through as they come)."""
        ike = self.ike
        event = ike.next_event()
        while event is not None:
            if isinstance(event, Trace):
                self._debug(event)
            elif isinstance(event, Syslog):
                self._log(event.text)
            elif isinstance(event, Phase2Established):
                self._phase2_established(event.result, self.now)
            elif isinstance(event, Phase2Failed):
                self._phase2_failed(event.request)
            elif isinstance(event, SasDeleted):
                self._delete_notified(event.peer, event.spis, self.now)
            elif isinstance(event, InitialContact):
                self._initial_contact(event.peer, self.now)
            event = ike.next_event()

    def _trace(self, kind: str, category: Category = IPSEC, **fields: object) -> None:
        self._debug(Trace(category, kind, fields))

    # ================================================================== data path
    def outbound(self, iface: str, packet: bytes, now: int) -> CryptoResult:
        """After routing and NAT, before ``packet`` leaves ``iface``. Sets ``quiet`` (see there)."""
        stirred = self.esp.stirred
        try:
            result = self._outbound(iface, packet, now)
        except Exception as err:  # never raise into the forwarding pipeline
            result = self._internal_error("outbound", err)
        self.quiet = result.action != DROP and self.esp.stirred == stirred
        return result

    def _outbound(self, iface: str, packet: bytes, now: int) -> CryptoResult:
        self.now = now
        cfg = self._config()
        ic = cfg.interfaces.get(iface)
        map_name = ic.crypto_map if ic is not None else None
        if not map_name:
            return CryptoResult(CLEAR, packet)
        flow = _selectors(packet)
        if flow is None:
            return CryptoResult(CLEAR, packet)
        proto = flow.protocol
        if proto == PROTO_ESP or (proto == PROTO_UDP and (flow.sport == PORT_ISAKMP or flow.dport == PORT_ISAKMP)):
            local = self.local_address(iface)
            if local is not None and flow.src == int(local):
                return CryptoResult(CLEAR, packet)  # the router's own IKE / ESP
        src, dst, sport, dport = flow.src, flow.dst, flow.sport, flow.dport
        sad = self.sad
        for entry in self._map_entries(cfg, map_name):
            if entry.dynamic_map:
                result = self._dynamic_out(cfg, iface, map_name, entry, flow, packet, now)
                if result is not None:
                    return result
                continue
            if entry.kind != "ipsec-isakmp" or not entry.match_address:
                continue  # ipsec-manual is not emulated; an entry without ACL matches nothing
            action, index = self.acl.check(entry.match_address, flow)
            if action != PERMIT:
                continue
            for f in sad.entry_flows(iface, map_name, entry.seq):
                if f.outbound and f.outbound_matches(src, dst, proto, sport, dport):
                    return self.esp.protect(f, self.local_packed(iface), packet, now)
            return self._no_sa(cfg, iface, map_name, entry, index, now)
        return CryptoResult(CLEAR, packet)

    def _dynamic_out(self, cfg: DeviceConfig, iface: str, map_name: str, entry: CryptoMapEntry, flow: Flow,
                     packet: bytes, now: int) -> CryptoResult | None:
        """A dynamic map entry: the SAs a peer built through it, or a drop if its ACL wants an SA."""
        sad = self.sad
        src, dst, proto, sport, dport = flow.src, flow.dst, flow.protocol, flow.sport, flow.dport
        f = sad.dynamic_flow(iface, map_name, entry.seq, src, dst, proto, sport, dport)
        if f is not None:
            return self.esp.protect(f, self.local_packed(iface), packet, now)
        for dyn in spd.dynamic_entries(cfg, entry.dynamic_map or ""):
            if dyn.match_address and self.acl.evaluate(dyn.match_address, flow) == PERMIT:
                return self.esp.drop("no SA (dynamic map)")
        return None

    def _no_sa(self, cfg: DeviceConfig, iface: str, map_name: str, entry: CryptoMapEntry, index: int | None,
               now: int) -> CryptoResult:
        acl = cfg.access_lists.get(entry.match_address) if entry.match_address else None
        proxies = proxies_from_acl_entry(acl.entries[index]) if acl is not None and index is not None else None
        if proxies is None:
            return self.esp.drop("crypto ACL entry cannot be a proxy identity")
        key: FlowKey = (iface, map_name, entry.seq, proxies[0], proxies[1])
        f = self.sad.flow(key)
        if f is None:
            f = self.sad.new_flow(key, entry.peers[0] if entry.peers else None, True)
        f.send_errors += 1
        if key not in self.sad.pending:
            self._request(cfg, f, entry, now)
        return self.esp.drop("no SA yet (IKE negotiating)")

    def _request(self, cfg: DeviceConfig, f: IpsecFlow, entry: CryptoMapEntry, now: int) -> None:
        """``IPSEC(sa_request)``: ask IKE for SAs for this flow (static map entries only)."""
        if not entry.peers:
            self._trace("sa_request_no_peer", map=entry.name, seq=entry.seq)
            return
        local = self.local_address(f.iface)
        if local is None:
            return
        transforms, traces = spd.entry_transforms(cfg, entry)
        for trace in traces:
            self._debug(trace)
        if not transforms:
            self._trace("sa_request_no_transform", map=entry.name, seq=entry.seq)
            return
        life_s, life_kb = spd.entry_lifetimes(cfg, entry)
        spi = self.sad.new_spi(self.rng)
        peer = entry.peers[0]
        self.sad.set_peer(f, peer)
        req = Phase2Request(peer, local, f.iface, f.local_proxy, f.remote_proxy, transforms, life_s, life_kb,
                            pfs_group(entry.pfs), spi, context=f.key)
        for _name, t in transforms:
            self._trace("sa_request", local=local, peer=peer, local_proxy=f.local_proxy,
                        remote_proxy=f.remote_proxy, transform=t, life_s=life_s, life_kb=life_kb, spi=spi)
        self.sad.pending[f.key] = req
        self.ike.request_phase2(req, now)
        self._drain()

    # ------------------------------------------------------------------ inbound
    def inbound(self, iface: str, packet: bytes, now: int) -> CryptoResult:
        """First thing when ``packet`` arrives on ``iface``. Sets ``quiet`` (see there)."""
        stirred = self.esp.stirred
        try:
            result = self._inbound(iface, packet, now)
        except Exception as err:
            result = self._internal_error("inbound", err)
        self.quiet = result.action != DROP and self.esp.stirred == stirred
        return result

    def _inbound(self, iface: str, packet: bytes, now: int) -> CryptoResult:
        self.now = now
        if (len(packet) >= 28 and packet[0] == 0x45 and packet[9] == PROTO_ESP and not (packet[6] & 0x3F or packet[7])
                and (packet[2] << 8 | packet[3]) == len(packet)):
            # Read in place: a whole ESP datagram, no options, on an SA of ours (as the general path finds it).
            sa = self.sad.in_sas.get(int.from_bytes(packet[20:24], "big"))
            if sa is not None and sa.local_packed == packet[16:20]:
                return self.esp.decapsulate(sa, packet[20:], now)
        flow = spd.peek(packet)
        if flow is None:
            return CryptoResult(CLEAR, packet)
        proto = flow.protocol
        if proto == PROTO_ESP:
            sa, spi, body = self.esp.lookup(packet, flow)
            if sa is not None:
                return self.esp.decapsulate(sa, body, now)
            local = self.local_address(iface)
            if local is None or local.packed != flow.dst:
                return CryptoResult(CLEAR, packet)  # ESP in transit, not for this interface's address
            if not self.sad.in_sas and not self.isakmp_enabled():
                return CryptoResult(CLEAR, packet)  # no crypto configured: the router answers it itself
            return self.esp.invalid_spi(packet, spi, now)
        if not self.sad.has_active(iface):
            return CryptoResult(CLEAR, packet)
        if proto == PROTO_UDP and (flow.sport == PORT_ISAKMP or flow.dport == PORT_ISAKMP):
            return CryptoResult(CLEAR, packet)
        return self.esp.cleartext_check(iface, packet, flow, now)

    # ================================================================== IKE transport
    def receive_ike(self, iface: str, src: IPv4Address, dst: IPv4Address, sport: int, dport: int, payload: bytes,
                    now: int) -> None:
        """A UDP datagram to port 500 of one of the router's addresses."""
        self.now = now
        if dport != PORT_ISAKMP or not self.isakmp_enabled():
            # no crypto map applied: IOS does not run ISAKMP (the router answers port unreachable)
            self.drops["isakmp off"] = self.drops.get("isakmp off", 0) + 1
            return
        try:
            # IPv4Address(an IPv4Address) would parse its text again: only other forms are converted
            self.ike.receive(iface, src if type(src) is IPv4Address else IPv4Address(src),
                             dst if type(dst) is IPv4Address else IPv4Address(dst), payload, now)
            self._drain()
        except Exception as err:
            self._internal_error("receive_ike", err)

    def datagrams_to_send(self, now: int | None = None) -> list[tuple[IPv4Address, IPv4Address, int, int, bytes]]:
        """IKE's queued datagrams (``now`` is accepted for the engine contract)."""
        return self.ike.datagrams_to_send()

    # ================================================================== timers
    def get_timer(self) -> int | None:
        ike = self.ike.get_timer()
        when = self.sad.deadline()
        if ike is not None and (when is None or ike < when):
            when = ike
        return when

    def handle_timer(self, now: int) -> None:
        self.now = now
        try:
            self.ike.handle_timer(now)
            self._drain()
            for sa in self.sad.due(now):
                f = sa.flow
                if sa.inbound:
                    if self.sad.in_sas.get(sa.spi) is sa and now >= sa.expires_at:
                        self._expire_pair(sa, now)
                elif sa in f.outbound:
                    if now >= sa.expires_at:
                        self._expire_pair(sa, now)
                    elif now >= sa.soft_at and not sa.rekeyed and f.origin_is_acl:
                        self._rekey(sa, now)
        except Exception as err:
            self._internal_error("handle_timer", err)

    def _rekey(self, sa: IpsecSA, now: int) -> None:
        """Soft lifetime reached: negotiate a new pair for the flow (static entries, used SAs only)."""
        self.sad.mark_rekeyed(sa)
        f = sa.flow
        if not f.origin_is_acl or f.key in self.sad.pending:
            return
        pair_packets = sa.packets + (sa.sibling.packets if sa.sibling else 0)
        if not pair_packets:
            return  # reference §4.2: an unused SA is not renewed before a packet needs one
        cfg = self._config()
        entry = cfg.crypto_maps.get((f.map_name, f.seq))
        if entry is None:
            return
        self._request(cfg, f, entry, now)

    # ================================================================== what IKE negotiated
    def _phase2_established(self, r: Phase2Result, now: int) -> None:
        sa_in, sa_out = self.sad.install_result(r, now)
        self._trace("key_engine_queue_event")
        pair = (sa_in, sa_out)
        for sa in pair:
            self._trace("initialize_sas", sa=sa, local_proxy=r.local_proxy, remote_proxy=r.remote_proxy,
                        life_s=r.lifetime_s, life_kb=r.lifetime_kb)
        for sa in pair:
            self._trace("create_ipsec_sa", ENGINE, conn=sa.conn_id)
        for sa in pair:
            self._trace("create_sa", sa=sa)

    def _phase2_failed(self, request: Phase2Request) -> None:
        key = request.context
        if isinstance(key, tuple):
            self.sad.pending.pop(key, None)
        self.sad.release_spi(request.spi)

    def _delete_notified(self, peer: IPv4Address, spis: tuple[int, ...], now: int) -> None:
        """The peer deleted SAs: a pair goes if the DELETE names either of its SPIs."""
        self._trace("key_engine_queue_event")
        self._trace("delete_notify")
        for sa in self.sad.find_pairs(peer, set(spis)):
            shown = sa if not sa.inbound else (sa.sibling or sa)   # IOS names the peer's SPI (our outbound)
            self._trace("delete_sa_spi", spi=shown.spi, peer=sa.peer)
            self._delete_pair(sa, now, notify_peer=False)

    def _initial_contact(self, peer: IPv4Address, now: int) -> None:
        """Every IPsec SA with ``peer`` is from before its restart: gone, without a DELETE."""
        for f in self.sad.flows_with_peer(peer):
            self._drop_flow(f, now)

    # ================================================================== SA removal
    def _expire_pair(self, sa: IpsecSA, now: int) -> None:
        self._trace("sa_aging", sa=sa)
        self._delete_pair(sa, now, notify_peer=True)

    def _delete_pair(self, sa: IpsecSA, now: int, notify_peer: bool, drop_flow: bool = False) -> None:
        f = sa.flow
        pair = self.sad.remove_pair(sa)
        for s in pair:
            self._trace("delete_sa", sa=s)
        if notify_peer:
            spis = [s.spi for s in pair if s.inbound]
            if spis:
                self.ike.send_delete(sa.peer, spis)
                self._drain()
        if not f.inbound and not f.outbound and (not f.origin_is_acl or drop_flow):
            self.sad.remove_flow(f)

    def _drop_flow(self, f: IpsecFlow, now: int) -> list[IpsecSA]:
        """Every SA pair of a flow and the flow itself, without a DELETE; the inbound SAs it had."""
        inbound = list(f.inbound)
        for sa in inbound:
            self._delete_pair(sa, now, notify_peer=False, drop_flow=True)
        for sa in list(f.outbound):     # an outbound SA whose inbound sibling is gone already
            self._delete_pair(sa, now, notify_peer=False, drop_flow=True)
        self.sad.remove_flow(f)
        return inbound

    def interface_address_changed(self, iface: str, now: int) -> None:
        """``iface`` has a new address (or none): SAs bound to another one go, IKE's too, and negotiations
        under way from it are forgotten; the next packet that needs a tunnel builds it from the new one."""
        self.now = now
        try:
            current = self.local_address(iface)
            for f in [f for f in self.sad.flows.values() if f.iface == iface]:
                for sa in [s for s in f.inbound if s.local != current]:
                    self._delete_pair(sa, now, notify_peer=False)
            for key, req in list(self.sad.pending.items()):
                if req.iface == iface and req.local != current:
                    del self.sad.pending[key]
            self.ike.remove_stale(iface, current, now)
            self._drain()
        except Exception as err:
            self._internal_error("interface_address_changed", err)

    # ================================================================== clear
    def clear_crypto_sa(self, now: int, peer: IPv4Address | str | None = None, map: str | None = None,
                        counters: bool = False) -> None:
        """``clear crypto sa [peer A | map NAME | counters]``."""
        self.now = now
        if counters:
            for f in self.sad.flows.values():
                f.clear_counters()
            return
        peer = IPv4Address(peer) if peer is not None else None
        notify: dict[IPv4Address, list[int]] = {}
        for f in list(self.sad.flows.values()):
            if peer is not None and f.peer != peer:
                continue
            if map is not None and f.map_name != map:
                continue
            for sa in self._drop_flow(f, now):
                notify.setdefault(sa.peer, []).append(sa.spi)
        for key, req in list(self.sad.pending.items()):
            if (peer is None or req.peer == peer) and (map is None or key[1] == map):
                del self.sad.pending[key]
        for p, spis in notify.items():
            self.ike.send_delete(p, spis)
            self._drain()

    def clear_crypto_isakmp(self, now: int, conn_id: int | None = None) -> bool:
        """``clear crypto isakmp [conn-id]``: IKE SAs only (IPsec SAs stay); False if conn-id is unknown."""
        self.now = now
        found = False
        for sa in self.ike.sas():
            if conn_id is None or sa.conn_id == conn_id:
                found = True
                self.ike.delete_sa(sa, "cleared", now, notify_peer=True)
                self._drain()
        return found or conn_id is None

    # ================================================================== misc
    def _internal_error(self, where: str, err: Exception) -> CryptoResult:
        # The Python error goes to ``errors`` (for tests); the debug line names the place only.
        self.errors.append(f"{where}: {type(err).__name__}: {err}")
        self._trace("internal_error", ENGINE, where=where)
        return self.esp.drop("internal error")
