"""The crypto subsystem of one router: crypto maps, the IPsec SA database, ESP, and IKE.

Sans-I/O: the router calls in with bytes and the current virtual time
(integer nanoseconds, ``emulator.labtime``) and gets bytes back; nothing here reads a clock, sleeps or starts a thread, and
every random value (IKE cookies and nonces, DH private values, SPIs, ESP IVs)
comes from the ``random.Random`` it was given.  Bad input (malformed ISAKMP,
an unknown SPI, an ICV failure, a replay) is dropped, counted and logged as
IOS would; nothing raises out of the subsystem (``errors`` records any
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

A PROTECTED packet is a complete IPv4 datagram from the interface's current
address to the peer (protocol 50, DF and TOS copied from the inner packet,
TTL 255, identification from ``next_ip_id`` if given): route it to the peer
and send it; it is CLEAR to the crypto map when it comes back to ``outbound``.
Show commands: ``show_crypto_ipsec_sa(now, address=False, peer=None, map=None,
detail=False, interface=None)``, ``show_crypto_isakmp_sa(now)``,
``show_crypto_isakmp_policy()``, ``show_crypto_map(interface=None, tag=None)``,
``show_crypto_ipsec_transform_set(name=None)``,
``show_crypto_engine_connections_active()``, ``show_crypto_ipsec_sa_lifetime()``
(text in ``emulator/crypto_show.py``); ``clear_crypto_sa(now, peer=None,
map=None, counters=False)``, ``clear_crypto_isakmp(now, conn_id=None)`` (False
for an unknown conn-id).

``debug(category, text)`` receives ``"crypto isakmp"``, ``"crypto ipsec"`` or
``"crypto engine"`` and one message; a message may span several lines (the
``(key eng. msg.)`` continuation lines of reference §3.2/3.3): stamp the first
line only.  ``log(text)`` receives syslog messages (``%CRYPTO-...``), already
rate limited where IOS limits them.  ``isakmp_on_message()`` is the line to
log when a crypto map gets applied (reference §4.12); ``isakmp_enabled()``
says whether the router should accept UDP 500 at all (IOS runs ISAKMP only
while a crypto map is applied to an interface).

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
  (sequence 65536, 65537...; reference §1.3) protects the mirrored traffic.
* Responder checks (quick mode): the static entries of the interface's map
  whose ``set peer`` is the peer, then the dynamic templates of its
  ``ipsec-isakmp dynamic`` entries, in sequence order; the offered proxies
  must lie within a permit entry of the entry's ACL (a dynamic template
  without ACL accepts any proxies), a transform set must equal an offered
  transform, PFS must match when the entry sets it.  Lifetimes: the smaller
  of ours and the offer (reference §4.2), announced with RESPONDER-LIFETIME.
  Failure: no SA, ``IPSEC(validate_transform_proposal)`` debug, the syslog
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
* Inbound ESP: SPI lookup, sequence window, ICV (HMAC), decryption, padding,
  then the inner packet must lie within the SA's proxy identities.  Failures
  count ``#recv errors`` (and the detail counters) on the flow; an unknown SPI
  logs ``%CRYPTO-4-RECVD_PKT_INV_SPI`` (one per minute, as IOS limits it).
* A cleartext packet arriving on a crypto-map interface that belongs to a
  flow with SAs (mirrored proxies) is dropped with
  ``%CRYPTO-4-RECVD_PKT_NOT_IPSEC`` (*choice*: only when an SA exists).
* UDP 500 from/to the router's own interface address and ESP it sends are
  never matched by a crypto map.
* ``clear crypto sa`` [peer|map] deletes SA pairs (DELETE sent to the peer),
  their flows (counters reset, *choice*) and temporary dynamic entries;
  ``counters`` only zeroes counters.  ``clear crypto isakmp`` deletes IKE SAs
  only (reference §4.6).
* Numbering (reference §4.5): IKE conn-id 1, 2...; IPsec conn id 2000, 2001...
  (inbound first), flow_id 1, 2..., never reused.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, replace
from ipaddress import IPv4Address
from typing import Callable

from emulator.engines.acl import PERMIT, AclEngine, Flow
from emulator.config.model import AccessListEntry, CryptoMapEntry, DeviceConfig
from emulator.engines.ike.engine import (ENGINE, IPSEC, ISAKMP, IkeEngine, IkeSA, Phase2Offer, Phase2Rejection,
                                 Phase2Request, Phase2Result, Phase2Selection)
from emulator.engines.ike.policy import (DEFAULT_SA_KILOBYTES, DEFAULT_SA_SECONDS, EspTransform, Phase1Proposal, ProxyId,
                                 esp_transform, pfs_group, phase1_policies, proxies_from_acl_entry)
from emulator.engines import esp_sa as E
from emulator.labtime import SECOND
from emulator.wire import isakmp as K
from emulator.wire.checksum import internet_checksum
from emulator.wire.ipv4 import PROTO_ESP, PROTO_ICMP, PROTO_TCP, PROTO_UDP
from emulator.wire.udp import PORT_ISAKMP

__all__ = ["CryptoSubsystem", "CryptoResult", "IpsecSA", "IpsecFlow", "TemporaryEntry",
           "CLEAR", "PROTECTED", "DECRYPTED", "DROP", "TEMPORARY_SEQ_BASE", "DEBUG_CATEGORIES"]

# ``debug crypto isakmp`` / ``debug crypto ipsec`` / ``debug crypto engine``: the category
# strings passed to the ``debug`` callable.
DEBUG_CATEGORIES = (ISAKMP, IPSEC, ENGINE)

CLEAR = "clear"
PROTECTED = "protected"
DECRYPTED = "decrypted"
DROP = "drop"

TEMPORARY_SEQ_BASE = 65536      # reference §1.3
FIRST_IPSEC_CONN_ID = 2000      # reference §4.5
REKEY_BEFORE = 30 * SECOND      # reference §4.2: "30 s before the seconds lifetime ends"
REKEY_KB_FRACTION = 0.9         # reference §4.2: "~90% of the kB lifetime"
LOG_INTERVAL = 60 * SECOND      # IOS limits these syslogs to one a minute (Cisco tech note 115801 / NANOG 2017)
OUTER_TTL = 255

_OUTER = struct.Struct("!BBHHHBBH4s4s")
_ALL = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class CryptoResult:
    """What to do with a packet: ``action`` is CLEAR, PROTECTED, DECRYPTED or DROP."""

    action: str
    packet: bytes | None = None
    reason: str = ""

    @property
    def dropped(self) -> bool:
        return self.action == DROP


class IpsecSA:
    """One ESP SA (one direction) with its lifetimes and engine numbers."""

    __slots__ = ("esp", "spi", "inbound", "flow", "conn_id", "flow_id", "transform", "transform_set",
                 "created", "expires_at", "lifetime_s", "lifetime_kb", "limit_bytes", "soft_at", "soft_bytes",
                 "sibling", "peer", "local", "rekeyed", "ike_conn_id")

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
        self.rekeyed = False
        self.ike_conn_id = ike_conn_id

    @property
    def octets(self) -> int:
        return self.esp.octets

    @property
    def packets(self) -> int:
        return self.esp.packets

    def remaining_kb(self) -> int:
        return max(0, self.lifetime_kb - -(-self.esp.octets // 1024))

    def remaining_seconds(self, now: int) -> int:
        """Whole seconds left of the seconds lifetime."""
        return max(0, (self.expires_at - now) // SECOND)

    def expired(self, now: int) -> bool:
        return now >= self.expires_at or self.esp.octets >= self.limit_bytes

    def wireshark_row(self) -> str:
        """This SA as a tshark ``esp_sa`` UAT row (source and destination of its packets)."""
        src, dst = (self.peer, self.local) if self.inbound else (self.local, self.peer)
        return self.esp.wireshark_sa(str(src), str(dst))


class IpsecFlow:
    """One pair of proxy identities on a crypto map entry: the unit ``show crypto ipsec sa`` prints."""

    __slots__ = ("key", "iface", "map_name", "seq", "local_proxy", "remote_proxy", "peer", "local_addr",
                 "origin_is_acl", "inbound", "outbound", "encaps", "encrypt", "digest", "decaps", "decrypt",
                 "verify", "send_errors", "recv_errors", "verify_failed", "replay_failed", "invalid_identity",
                 "decaps_failed", "invalid_sa")

    def __init__(self, key: tuple, iface: str, map_name: str, seq: int, local_proxy: ProxyId, remote_proxy: ProxyId,
                 peer: IPv4Address | None, origin_is_acl: bool):
        self.key = key
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


def _selectors(p: bytes) -> Flow | None:
    """The ACL fields of an IPv4 packet, read straight from the header (no checksum check)."""
    if len(p) < 20 or p[0] >> 4 != 4:
        return None
    ihl = (p[0] & 15) << 2
    proto = p[9]
    src = int.from_bytes(p[12:16], "big")
    dst = int.from_bytes(p[16:20], "big")
    if ((p[6] << 8) | p[7]) & 0x1FFF:
        return Flow(proto, src, dst, fragment=True)
    if proto == PROTO_TCP or proto == PROTO_UDP:
        if len(p) >= ihl + 4:
            sport, dport = struct.unpack_from("!HH", p, ihl)
            flags = p[ihl + 13] if proto == PROTO_TCP and len(p) >= ihl + 14 else None
            return Flow(proto, src, dst, sport, dport, tcp_flags=flags)
    elif proto == PROTO_ICMP and len(p) >= ihl + 2:
        return Flow(proto, src, dst, icmp_type=p[ihl], icmp_code=p[ihl + 1])
    return Flow(proto, src, dst)


def _key_lines(title: str, local: IPv4Address | str, peer: IPv4Address | str, lp: ProxyId, rp: ProxyId,
               t: EspTransform, lifedur: str, spi: int, conn_id: int, flags: str, inbound: bool) -> str:
    """A ``(key eng. msg.)`` block in the 12.1/12.2 wording (reference §3.2): src/dest, src_proxy/dest_proxy."""
    if inbound:
        first = f"  (key eng. msg.) dest= {local}, src= {peer},"
        proxies = [f"    dest_proxy= {lp.text()} (type={lp.id_type}),",
                   f"    src_proxy= {rp.text()} (type={rp.id_type}),"]
    else:
        first = f"  (key eng. msg.) src= {local}, dest= {peer},"
        proxies = [f"    src_proxy= {lp.text()} (type={lp.id_type}),",
                   f"    dest_proxy= {rp.text()} (type={rp.id_type}),"]
    return "\n".join([title, first, *proxies,
                      f"    protocol= ESP, transform= {t.text} ,",
                      f"    lifedur= {lifedur},",
                      f"    spi= 0x{spi:X}({spi}), conn_id= {conn_id}, keysize= 0, flags= {flags}"])


class CryptoSubsystem:
    """Crypto maps, IPsec SAs, ESP and IKE of one router (see the module docstring)."""

    def __init__(self, config_provider: Callable[[], DeviceConfig],
                 interface_address: Callable[[str], object], rng: random.Random, acl: AclEngine,
                 log: Callable[[str], None], debug: Callable[[str, str], None], now: int = 0, *,
                 next_ip_id: Callable[[], int] | None = None):
        self._config = config_provider
        self._ifaddr = interface_address
        self.rng = rng
        self.acl = acl
        self._log = log
        self._debug = debug
        self._next_ip_id = next_ip_id
        self._ip_id = rng.getrandbits(16)
        self.ike = IkeEngine(self, rng)
        self._flows: dict[tuple, IpsecFlow] = {}
        self._entry_flows: dict[tuple[str, str, int], list[IpsecFlow]] = {}
        self._active: dict[str, list[IpsecFlow]] = {}      # iface -> flows with SAs (cleartext check)
        self._in_sas: dict[int, IpsecSA] = {}
        self._reserved_spis: set[int] = set()
        self._temps: dict[tuple[str, int], TemporaryEntry] = {}
        self._next_temp_seq: dict[str, int] = {}
        self._pending: dict[tuple, Phase2Request] = {}
        self._next_conn = FIRST_IPSEC_CONN_ID
        self._next_flow_id = 1
        self._deadline: int | None = None
        self._deadline_dirty = True
        self._log_times: dict[str, int] = {}
        self.drops: dict[str, int] = {}
        self.errors: list[str] = []
        self.esp_key_rows: list[str] = []   # Wireshark's esp_sa rows, one per SA ever installed here
        self.now = now

    # ================================================================== config helpers
    @property
    def config(self) -> DeviceConfig:
        return self._config()

    def local_address(self, iface: str) -> IPv4Address | None:
        """The interface's current address (an ``IPv4Interface`` from the router is accepted)."""
        a = self._ifaddr(iface)
        if a is None:
            return None
        return getattr(a, "ip", a)

    def isakmp_enabled(self) -> bool:
        """IOS runs ISAKMP while a crypto map is applied to some interface."""
        return any(i.crypto_map for i in self._config().interfaces.values())

    @staticmethod
    def isakmp_on_message() -> str:
        """Logged when a crypto map is applied (reference §4.12)."""
        return "%CRYPTO-6-ISAKMP_ON_OFF: ISAKMP is ON"

    @staticmethod
    def map_entries(cfg: DeviceConfig, name: str) -> list[CryptoMapEntry]:
        return sorted((e for (n, _), e in cfg.crypto_maps.items() if n == name), key=lambda e: e.seq)

    @staticmethod
    def dynamic_entries(cfg: DeviceConfig, name: str) -> list[CryptoMapEntry]:
        return sorted((e for (n, _), e in cfg.dynamic_maps.items() if n == name), key=lambda e: e.seq)

    def temporary_entries(self, map_name: str | None = None) -> list[TemporaryEntry]:
        return sorted((t for t in self._temps.values() if map_name is None or t.map_name == map_name),
                      key=lambda t: (t.map_name, t.seq))

    @staticmethod
    def entry_lifetimes(cfg: DeviceConfig, entry: CryptoMapEntry | None) -> tuple[int, int]:
        s = (entry.lifetime_seconds if entry else None) or cfg.sa_lifetime_seconds or DEFAULT_SA_SECONDS
        kb = (entry.lifetime_kilobytes if entry else None) or cfg.sa_lifetime_kilobytes or DEFAULT_SA_KILOBYTES
        return s, kb

    def flows(self) -> list[IpsecFlow]:
        return list(self._flows.values())

    def sas(self) -> list[IpsecSA]:
        """Every IPsec SA, by conn id."""
        out = [sa for f in self._flows.values() for sa in (*f.inbound, *f.outbound)]
        return sorted(out, key=lambda s: s.conn_id)

    def debug(self, category: str, text: str) -> None:
        self._debug(category, text)

    def log(self, text: str) -> None:
        self._log(text)

    def _log_limited(self, mnemonic: str, text: str, now: int) -> None:
        last = self._log_times.get(mnemonic)
        if last is None or now - last >= LOG_INTERVAL:
            self._log_times[mnemonic] = now
            self._log(text)

    def _drop(self, reason: str) -> CryptoResult:
        self.drops[reason] = self.drops.get(reason, 0) + 1
        return CryptoResult(DROP, None, reason)

    # ================================================================== data path
    def outbound(self, iface: str, packet: bytes, now: int) -> CryptoResult:
        """After routing and NAT, before ``packet`` leaves ``iface``."""
        try:
            return self._outbound(iface, packet, now)
        except Exception as err:  # never raise into the forwarding pipeline
            return self._internal_error("outbound", err)

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
        for entry in self.map_entries(cfg, map_name):
            if entry.dynamic_map:
                for temp in self._temps.values():
                    if temp.map_name != map_name or temp.parent_seq != entry.seq:
                        continue
                    for f in self._entry_flows.get((iface, map_name, temp.seq), ()):
                        if f.outbound and f.outbound_matches(src, dst, proto, sport, dport):
                            return self._protect(f, packet, now)
                for dyn in self.dynamic_entries(cfg, entry.dynamic_map):
                    if dyn.match_address and self.acl.evaluate(dyn.match_address, flow) == PERMIT:
                        return self._drop("no SA (dynamic map)")
                continue
            if entry.kind != "ipsec-isakmp" or not entry.match_address:
                continue  # ipsec-manual is not emulated; an entry without ACL matches nothing
            action, index = self.acl.check(entry.match_address, flow)
            if action != PERMIT:
                continue
            for f in self._entry_flows.get((iface, map_name, entry.seq), ()):
                if f.outbound and f.outbound_matches(src, dst, proto, sport, dport):
                    return self._protect(f, packet, now)
            return self._no_sa(cfg, iface, map_name, entry, index, now)
        return CryptoResult(CLEAR, packet)

    def _protect(self, f: IpsecFlow, packet: bytes, now: int) -> CryptoResult:
        sa = f.outbound[-1]
        if now >= sa.expires_at or sa.esp.octets >= sa.limit_bytes:
            self._expire_pair(sa, now)
            if not f.outbound:
                return self._drop("SA expired")
            sa = f.outbound[-1]
        local = self.local_address(f.iface)
        if local is None:
            f.send_errors += 1
            return self._drop("no local address")
        try:
            body = sa.esp.protect(packet, self.rng)
        except E.SequenceExhausted:
            self._expire_pair(sa, now)
            f.send_errors += 1
            return self._drop("sequence number exhausted")
        f.encaps += 1
        if sa.transform.cipher != E.ESP_NULL:
            f.encrypt += 1
        if sa.transform.auth:
            f.digest += 1
        if sa.esp.octets >= sa.soft_bytes and not sa.rekeyed:
            self._rekey(sa, now)
        if self._next_ip_id is not None:
            ident = self._next_ip_id()
        else:
            self._ip_id = (self._ip_id + 1) & 0xFFFF
            ident = self._ip_id
        # Outer header: DF and TOS copied from the inner header (IOS default "crypto ipsec df-bit copy",
        # RFC 2401 §5.1.2.1), a fresh TTL and identification.
        hdr = _OUTER.pack(0x45, packet[1], 20 + len(body), ident, 0x4000 if packet[6] & 0x40 else 0, OUTER_TTL,
                          PROTO_ESP, 0, local.packed, sa.peer.packed)
        ck = internet_checksum(hdr)
        return CryptoResult(PROTECTED, hdr[:10] + ck.to_bytes(2, "big") + hdr[12:] + body)

    def _no_sa(self, cfg: DeviceConfig, iface: str, map_name: str, entry: CryptoMapEntry, index: int | None,
               now: int) -> CryptoResult:
        acl = cfg.access_lists.get(entry.match_address)
        proxies = proxies_from_acl_entry(acl.entries[index]) if acl is not None and index is not None else None
        if proxies is None:
            return self._drop("crypto ACL entry cannot be a proxy identity")
        key = (iface, map_name, entry.seq, proxies[0], proxies[1])
        f = self._flows.get(key)
        if f is None:
            f = self._new_flow(key, entry.peers[0] if entry.peers else None, True)
        f.send_errors += 1
        if key not in self._pending:
            self._request(cfg, f, entry, now)
        return self._drop("no SA yet (IKE negotiating)")

    def _new_flow(self, key: tuple, peer: IPv4Address | None, origin_is_acl: bool) -> IpsecFlow:
        iface, map_name, seq, lp, rp = key
        f = IpsecFlow(key, iface, map_name, seq, lp, rp, peer, origin_is_acl)
        self._flows[key] = f
        self._entry_flows.setdefault((iface, map_name, seq), []).append(f)
        return f

    def _request(self, cfg: DeviceConfig, f: IpsecFlow, entry: CryptoMapEntry, now: int) -> None:
        """``IPSEC(sa_request)``: ask IKE for SAs for this flow (static map entries only)."""
        if not entry.peers:
            self._debug(IPSEC, f"IPSEC(sa_request): crypto map {entry.name} {entry.seq} has no peer, no SA requested")
            return
        local = self.local_address(f.iface)
        if local is None:
            return
        transforms = []
        for name in entry.transform_sets:
            ts = cfg.transform_sets.get(name)
            if ts is None:
                continue
            t, why = esp_transform(ts)
            if t is None:
                self._debug(IPSEC, f"IPSEC(sa_request): transform set {name}: {why}")
                continue
            transforms.append((name, t))
        if not transforms:
            self._debug(IPSEC, f"IPSEC(sa_request): crypto map {entry.name} {entry.seq} has no usable "
                               f"transform set, no SA requested")
            return
        life_s, life_kb = self.entry_lifetimes(cfg, entry)
        spi = self._new_spi()
        peer = entry.peers[0]
        f.peer = peer
        req = Phase2Request(peer, local, f.iface, f.local_proxy, f.remote_proxy, transforms, life_s, life_kb,
                            pfs_group(entry.pfs), spi, context=f.key)
        for _name, t in transforms:
            self._debug(IPSEC, _key_lines("IPSEC(sa_request): ,", local, peer, f.local_proxy, f.remote_proxy, t,
                                          f"{life_s}s and {life_kb}kb", spi, 0, "0x4004", inbound=False))
        self._pending[f.key] = req
        self._deadline_dirty = True
        self.ike.request_phase2(req, now)

    # ------------------------------------------------------------------ inbound
    def inbound(self, iface: str, packet: bytes, now: int) -> CryptoResult:
        """First thing when ``packet`` arrives on ``iface``."""
        try:
            return self._inbound(iface, packet, now)
        except Exception as err:
            return self._internal_error("inbound", err)

    def _inbound(self, iface: str, packet: bytes, now: int) -> CryptoResult:
        self.now = now
        if len(packet) < 20 or packet[0] >> 4 != 4:
            return CryptoResult(CLEAR, packet)
        proto = packet[9]
        if proto == PROTO_ESP:
            return self._decapsulate(iface, packet, now)
        active = self._active.get(iface)
        if not active:
            return CryptoResult(CLEAR, packet)
        flow = _selectors(packet)
        if flow is None:
            return CryptoResult(CLEAR, packet)
        src, dst, sport, dport = flow.src, flow.dst, flow.sport, flow.dport
        if proto == PROTO_UDP and (sport == PORT_ISAKMP or dport == PORT_ISAKMP):
            return CryptoResult(CLEAR, packet)
        for f in active:
            if f.remote_proxy.contains(src, proto, sport) and f.local_proxy.contains(dst, proto, dport):
                f.recv_errors += 1
                self._log_limited("RECVD_PKT_NOT_IPSEC",
                                  f"%CRYPTO-4-RECVD_PKT_NOT_IPSEC: Rec'd packet not an IPSEC packet. "
                                  f"(ip) dest_addr= {IPv4Address(dst)}, src_addr= {IPv4Address(src)}, "
                                  f"prot= {proto}", now)
                return self._drop("cleartext packet for an IPsec flow")
        return CryptoResult(CLEAR, packet)

    def _decapsulate(self, iface: str, packet: bytes, now: int) -> CryptoResult:
        ihl = (packet[0] & 15) << 2
        total = (packet[2] << 8) | packet[3]
        body = packet[ihl:total]
        dst = packet[16:20]
        spi = int.from_bytes(body[:4], "big") if len(body) >= 4 else 0
        sa = self._in_sas.get(spi)
        if sa is None or sa.local.packed != dst:
            local = self.local_address(iface)
            if local is None or local.packed != dst:
                return CryptoResult(CLEAR, packet)  # ESP in transit, not for this interface's address
            if not self._in_sas and not self.isakmp_enabled():
                return CryptoResult(CLEAR, packet)  # no crypto configured: the router answers it itself
            self._log_limited("RECVD_PKT_INV_SPI",
                              f"%CRYPTO-4-RECVD_PKT_INV_SPI: decaps: rec'd IPSEC packet has invalid spi for "
                              f"destaddr={IPv4Address(dst)}, prot={PROTO_ESP}, spi=0x{spi:X}({spi}), "
                              f"srcaddr={IPv4Address(packet[12:16])}", now)
            return self._drop("invalid SPI")
        f = sa.flow
        if now >= sa.expires_at or sa.esp.octets >= sa.limit_bytes:
            self._expire_pair(sa, now)
            f.recv_errors += 1
            return self._drop("SA expired")
        try:
            inner = sa.esp.unprotect(body)
        except E.EspAuthError:
            f.recv_errors += 1
            f.verify_failed += 1
            self._log_limited("RECVD_PKT_MAC_ERR", f"%CRYPTO-4-RECVD_PKT_MAC_ERR: decrypt: mac verify failed "
                                                   f"for connection id={sa.conn_id}", now)
            return self._drop("ICV check failed")
        except E.EspReplayError:
            f.recv_errors += 1
            f.replay_failed += 1
            self._log_limited("PKT_REPLAY_ERR", f"%CRYPTO-4-PKT_REPLAY_ERR: decrypt: replay check failed "
                                                f"connection id={sa.conn_id}", now)
            return self._drop("replayed packet")
        except E.EspError:
            f.recv_errors += 1
            f.decaps_failed += 1
            return self._drop("malformed ESP packet")
        sel = _selectors(inner)
        if (sel is None or not f.remote_proxy.contains(sel.src, sel.protocol, sel.sport)
                or not f.local_proxy.contains(sel.dst, sel.protocol, sel.dport)):
            f.recv_errors += 1
            f.invalid_identity += 1
            src = IPv4Address(sel.src) if sel else "?"
            dst_in = IPv4Address(sel.dst) if sel else "?"
            self._log_limited("RECVD_PKT_INV_IDENTITY",
                              f"%CRYPTO-4-RECVD_PKT_INV_IDENTITY: decrypt: rec'd pkt not matching identity: "
                              f"src_addr= {src}, dest_addr= {dst_in}, prot= {sel.protocol if sel else 0}, "
                              f"connection id={sa.conn_id}", now)
            return self._drop("decrypted packet outside the proxy identities")
        f.decaps += 1
        if sa.transform.cipher != E.ESP_NULL:
            f.decrypt += 1
        if sa.transform.auth:
            f.verify += 1
        if sa.esp.octets >= sa.soft_bytes and not sa.rekeyed:
            self._rekey(sa, now)
        return CryptoResult(DECRYPTED, inner)

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
            self.ike.receive(iface, IPv4Address(src), IPv4Address(dst), payload, now)
        except Exception as err:
            self._internal_error("receive_ike", err)
        self._deadline_dirty = True

    def datagrams_to_send(self, now: int | None = None) -> list[tuple[IPv4Address, IPv4Address, int, int, bytes]]:
        """IKE's queued datagrams (``now`` is accepted for the engine contract)."""
        return self.ike.datagrams_to_send()

    # ================================================================== timers
    def get_timer(self) -> int | None:
        ike = self.ike.get_timer()
        if self._deadline_dirty:
            when = None
            for f in self._flows.values():
                for sa in f.outbound:
                    t = sa.expires_at if (sa.rekeyed or not f.origin_is_acl) else min(sa.soft_at, sa.expires_at)
                    if when is None or t < when:
                        when = t
                for sa in f.inbound:
                    if when is None or sa.expires_at < when:
                        when = sa.expires_at
            self._deadline = when
            self._deadline_dirty = False
        when = self._deadline
        if ike is not None and (when is None or ike < when):
            when = ike
        return when

    def handle_timer(self, now: int) -> None:
        self.now = now
        try:
            self.ike.handle_timer(now)
            for f in list(self._flows.values()):
                for sa in list(f.inbound):
                    if sa.flow is f and now >= sa.expires_at:
                        self._expire_pair(sa, now)
                for sa in list(f.outbound):
                    if now >= sa.expires_at:
                        self._expire_pair(sa, now)
                    elif now >= sa.soft_at and not sa.rekeyed and f.origin_is_acl:
                        self._rekey(sa, now)
        except Exception as err:
            self._internal_error("handle_timer", err)
        self._deadline_dirty = True

    def _rekey(self, sa: IpsecSA, now: int) -> None:
        """Soft lifetime reached: negotiate a new pair for the flow (static entries, used SAs only)."""
        sa.rekeyed = True
        if sa.sibling is not None:
            sa.sibling.rekeyed = True
        self._deadline_dirty = True
        f = sa.flow
        if not f.origin_is_acl or f.key in self._pending:
            return
        pair_packets = sa.esp.packets + (sa.sibling.esp.packets if sa.sibling else 0)
        if not pair_packets:
            return  # reference §4.2: an unused SA is not renewed before a packet needs one
        cfg = self._config()
        entry = cfg.crypto_maps.get((f.map_name, f.seq))
        if entry is None:
            return
        self._request(cfg, f, entry, now)

    # ================================================================== IkeHost
    def psk_for(self, peer: IPv4Address) -> bytes | None:
        """``crypto isakmp key K address A [MASK]``: longest match on the peer's address (reference §4.9)."""
        best = None
        best_len = -1
        p = int(peer)
        for k in self._config().isakmp_keys:
            mask = int(k.mask) if k.mask is not None else _ALL
            if p & mask == int(k.address) & mask:
                n = bin(mask).count("1")
                if n > best_len:
                    best, best_len = k.key, n
        return best.encode() if best is not None else None

    def isakmp_policies(self) -> list[Phase1Proposal]:
        return phase1_policies(self._config().isakmp_policies)

    def allocate_spi(self, peer: IPv4Address, local: IPv4Address) -> int:
        spi = self._new_spi()
        self._debug(IPSEC, "IPSEC(key_engine): got a queue event...")
        self._debug(IPSEC, f"IPSEC(spi_response): getting spi {spi} for SA \n"
                           f"        from {peer!s:<15} to {local!s:<15} for prot 3")
        return spi

    def peek_conn_ids(self) -> tuple[int, int]:
        """The engine connection ids the next SA pair will get (inbound, outbound)."""
        return self._next_conn, self._next_conn + 1

    def _new_spi(self) -> int:
        while True:
            spi = self.rng.randrange(0x100, 0x1_0000_0000)  # SPIs 1-255 are reserved (RFC 2406 §2.1)
            if spi not in self._in_sas and spi not in self._reserved_spis:
                self._reserved_spis.add(spi)
                return spi

    def select_phase2(self, ike: IkeSA, offer: Phase2Offer, now: int) -> Phase2Selection | Phase2Rejection:
        cfg = self._config()
        iface = self._iface_with_address(cfg, offer.local) or offer.iface
        ic = cfg.interfaces.get(iface)
        map_name = ic.crypto_map if ic is not None else None
        lp, rp = offer.local_proxy, offer.remote_proxy
        if offer.proposals:
            first = offer.proposals[0]
            self._debug(IPSEC, _key_lines("IPSEC(validate_proposal_request): proposal part #1,", offer.local,
                                          offer.peer, lp, rp, first.transform, "0s and 0kb", 0, 0, "0x4",
                                          inbound=True))
        if not offer.proposals:
            return self._reject(K.NO_PROPOSAL_CHOSEN, "no usable ESP proposal offered")
        if not map_name:
            return self._reject(K.INVALID_ID_INFORMATION, f"no crypto map on the interface of {offer.local}")
        ids_ok = False
        for entry in self.map_entries(cfg, map_name):
            if entry.dynamic_map:
                for dyn in self.dynamic_entries(cfg, entry.dynamic_map):
                    if dyn.match_address and not self._acl_covers(cfg, dyn.match_address, lp, rp):
                        continue
                    ids_ok = True
                    sel = self._pick(cfg, dyn, offer, ("dynamic", iface, map_name, entry.seq, dyn.name, dyn.seq))
                    if sel is not None:
                        return sel
            elif entry.kind == "ipsec-isakmp" and offer.peer in entry.peers:
                if not entry.match_address or not self._acl_covers(cfg, entry.match_address, lp, rp):
                    continue
                ids_ok = True
                sel = self._pick(cfg, entry, offer, ("static", iface, map_name, entry.seq))
                if sel is not None:
                    return sel
        if ids_ok:
            t = offer.proposals[0].transform
            prot = K.PROTO_IPSEC_ESP
            self._debug(IPSEC, f"IPSEC(validate_transform_proposal): transform proposal "
                               f"(prot {prot}, trans {t.cipher}, hmac_alg {t.auth or 0}) not supported")
            return Phase2Rejection(K.NO_PROPOSAL_CHOSEN, "transform proposal not supported")
        return self._reject(K.INVALID_ID_INFORMATION, "proxy identities not supported")

    def _reject(self, notify: int, reason: str) -> Phase2Rejection:
        self._debug(IPSEC, f"IPSEC(validate_transform_proposal): {reason}")
        return Phase2Rejection(notify, reason)

    def _pick(self, cfg: DeviceConfig, entry: CryptoMapEntry, offer: Phase2Offer,
              context: tuple) -> Phase2Selection | None:
        want_pfs = pfs_group(entry.pfs)
        local_s, local_kb = self.entry_lifetimes(cfg, entry)
        for prop in offer.proposals:
            if want_pfs and prop.group != want_pfs:
                continue
            for name in entry.transform_sets:
                ts = cfg.transform_sets.get(name)
                if ts is None:
                    continue
                t, _why = esp_transform(ts)
                if t is not None and t.same_algorithms(prop.transform):
                    life_s = min(local_s, prop.lifetime_s) if prop.lifetime_s else local_s
                    life_kb = min(local_kb, prop.lifetime_kb) if prop.lifetime_kb else local_kb
                    return Phase2Selection(prop, name, life_s, life_kb, prop.group, context)
        return None

    def _acl_covers(self, cfg: DeviceConfig, acl_name: str, local: ProxyId, remote: ProxyId) -> bool:
        """The offered (mirrored) proxies lie within a permit entry of the ACL, before any deny covering them."""
        acl = cfg.access_lists.get(acl_name)
        if acl is None:
            return False
        for entry in acl.entries:
            if entry.remark is not None:
                continue
            if entry.action == "permit":
                p = proxies_from_acl_entry(entry)
                if p is not None and p[0].covers(local) and p[1].covers(remote):
                    return True
            else:
                as_permit = proxies_from_acl_entry(_as_permit(entry))
                if as_permit is not None and as_permit[0].covers(local) and as_permit[1].covers(remote):
                    return False
        return False

    def _iface_with_address(self, cfg: DeviceConfig, address: IPv4Address) -> str | None:
        for name in cfg.interfaces:
            if self.local_address(name) == address:
                return name
        return None

    def phase2_established(self, r: Phase2Result, now: int) -> None:
        if r.initiator:
            key = r.context
            iface, map_name, seq = key[0], key[1], key[2]
            origin_is_acl = True
        else:
            kind, iface, map_name, seq = r.context[:4]
            origin_is_acl = kind == "static"
            if kind == "dynamic":
                seq = self._temporary_entry(map_name, seq, r.context[4], r.context[5], r.peer, r.local_proxy,
                                            r.remote_proxy, iface).seq
            key = (iface, map_name, seq, r.local_proxy, r.remote_proxy)
        self._pending.pop(key, None)
        f = self._flows.get(key) or self._new_flow(key, r.peer, origin_is_acl)
        f.peer = r.peer
        f.local_addr = r.local
        t = r.transform
        esp_in = E.EspSA(r.spi_in, t.cipher, r.keys_in[0], t.auth, r.keys_in[1])
        esp_out = E.EspSA(r.spi_out, t.cipher, r.keys_out[0], t.auth, r.keys_out[1])
        sa_in = IpsecSA(esp_in, True, f, self._next_conn, self._next_flow_id, t, r.transform_set, now,
                        r.lifetime_s, r.lifetime_kb, r.peer, r.local, r.ike_conn_id)
        sa_out = IpsecSA(esp_out, False, f, self._next_conn + 1, self._next_flow_id + 1, t, r.transform_set, now,
                         r.lifetime_s, r.lifetime_kb, r.peer, r.local, r.ike_conn_id)
        self._next_conn += 2
        self._next_flow_id += 2
        sa_in.sibling, sa_out.sibling = sa_out, sa_in
        f.inbound.append(sa_in)
        f.outbound.append(sa_out)
        self.esp_key_rows += [sa_in.wireshark_row(), sa_out.wireshark_row()]
        self._in_sas[sa_in.spi] = sa_in
        self._reserved_spis.discard(sa_in.spi)
        active = self._active.setdefault(iface, [])
        if f not in active:
            active.append(f)
        self._deadline_dirty = True
        life = f"{r.lifetime_s}s and {r.lifetime_kb}kb"
        self._debug(IPSEC, "IPSEC(key_engine): got a queue event...")
        self._debug(IPSEC, _key_lines("IPSEC(initialize_sas): ,", r.local, r.peer, r.local_proxy, r.remote_proxy, t,
                                      life, sa_in.spi, sa_in.conn_id, "0x4", inbound=True))
        self._debug(IPSEC, _key_lines("IPSEC(initialize_sas): ,", r.local, r.peer, r.local_proxy, r.remote_proxy, t,
                                      life, sa_out.spi, sa_out.conn_id, "0x4", inbound=False))
        self._debug(ENGINE, f"CryptoEngine0: create ipsec SA for conn id {sa_in.conn_id}")
        self._debug(ENGINE, f"CryptoEngine0: create ipsec SA for conn id {sa_out.conn_id}")
        for sa, dest in ((sa_in, r.local), (sa_out, r.peer)):
            self._debug(IPSEC, "\n".join(["IPSEC(create_sa): sa created,",
                                          f"  (sa) sa_dest= {dest}, sa_prot= {PROTO_ESP}, ",
                                          f"    sa_spi= 0x{sa.spi:X}({sa.spi}),",
                                          f"    sa_trans= {t.text} , sa_conn_id= {sa.conn_id}"]))

    def phase2_failed(self, request: Phase2Request, reason: str, now: int) -> None:
        self._pending.pop(request.context, None)
        self._reserved_spis.discard(request.spi)
        self._deadline_dirty = True

    def delete_notified(self, ike: IkeSA, spis: list[int], now: int) -> None:
        """The peer deleted SAs: its inbound SPIs are our outbound ones."""
        self._debug(IPSEC, "IPSEC(key_engine): got a queue event...")
        self._debug(IPSEC, "IPSEC(key_engine_delete_sas): rec'd delete notify from ISAKMP")
        wanted = set(spis)
        for f in list(self._flows.values()):
            for sa in list(f.outbound):
                if sa.spi in wanted and sa.peer == ike.peer:
                    self._debug(IPSEC, f"IPSEC(key_engine_delete_sas): delete SA with spi {sa.spi}/50 for {sa.peer}")
                    self._delete_pair(sa, now, notify_peer=False)

    # ================================================================== SA removal
    def _expire_pair(self, sa: IpsecSA, now: int) -> None:
        self._debug(IPSEC, f"IPSEC(sa_aging): lifetime expiring,\n  (sa) sa_dest= "
                           f"{sa.local if sa.inbound else sa.peer}, sa_prot= {PROTO_ESP}, sa_spi= 0x{sa.spi:X}({sa.spi})")
        self._delete_pair(sa, now, notify_peer=True)

    def _delete_pair(self, sa: IpsecSA, now: int, notify_peer: bool, drop_flow: bool = False) -> None:
        f = sa.flow
        pair = [sa] + ([sa.sibling] if sa.sibling is not None else [])
        for s in pair:
            if s in f.inbound:
                f.inbound.remove(s)
            if s in f.outbound:
                f.outbound.remove(s)
            if s.inbound:
                self._in_sas.pop(s.spi, None)
            self._debug(IPSEC, "\n".join(["IPSEC(delete_sa): deleting SA,",
                                          f"  (sa) sa_dest= {s.local if s.inbound else s.peer}, sa_prot= {PROTO_ESP}, ",
                                          f"    sa_spi= 0x{s.spi:X}({s.spi}),",
                                          f"    sa_trans= {s.transform.text} , sa_conn_id= {s.conn_id}"]))
        if notify_peer:
            spis = [s.spi for s in pair if s.inbound]
            if spis:
                self.ike.send_delete(sa.peer, spis)
        self._deadline_dirty = True
        if not f.inbound and not f.outbound:
            active = self._active.get(f.iface)
            if active and f in active:
                active.remove(f)
            if not f.origin_is_acl or drop_flow:
                self._remove_flow(f)

    def _remove_flow(self, f: IpsecFlow) -> None:
        self._flows.pop(f.key, None)
        lst = self._entry_flows.get((f.iface, f.map_name, f.seq))
        if lst and f in lst:
            lst.remove(f)
        active = self._active.get(f.iface)
        if active and f in active:
            active.remove(f)
        temp = self._temps.get((f.map_name, f.seq))
        if temp is not None and not self._entry_flows.get((f.iface, f.map_name, f.seq)):
            del self._temps[(f.map_name, f.seq)]

    def _temporary_entry(self, map_name: str, parent_seq: int, dyn_name: str, dyn_seq: int, peer: IPv4Address,
                         lp: ProxyId, rp: ProxyId, iface: str) -> TemporaryEntry:
        for t in self._temps.values():
            if (t.map_name == map_name and t.peer == peer and t.local_proxy == lp and t.remote_proxy == rp
                    and t.parent_seq == parent_seq):
                return t
        seq = self._next_temp_seq.get(map_name, TEMPORARY_SEQ_BASE)
        self._next_temp_seq[map_name] = seq + 1
        t = TemporaryEntry(map_name, seq, parent_seq, dyn_name, dyn_seq, peer, lp, rp, iface)
        self._temps[(map_name, seq)] = t
        return t

    # ================================================================== clear
    def clear_crypto_sa(self, now: int, peer: IPv4Address | str | None = None, map: str | None = None,
                        counters: bool = False) -> None:
        """``clear crypto sa [peer A | map NAME | counters]``."""
        self.now = now
        if counters:
            for f in self._flows.values():
                f.clear_counters()
            return
        peer = IPv4Address(peer) if peer is not None else None
        notify: dict[IPv4Address, list[int]] = {}
        for f in list(self._flows.values()):
            if peer is not None and f.peer != peer:
                continue
            if map is not None and f.map_name != map:
                continue
            for sa in list(f.inbound):
                notify.setdefault(sa.peer, []).append(sa.spi)
                self._delete_pair(sa, now, notify_peer=False, drop_flow=True)
            for sa in list(f.outbound):
                self._delete_pair(sa, now, notify_peer=False, drop_flow=True)
            self._remove_flow(f)
        for key, req in list(self._pending.items()):
            if (peer is None or req.peer == peer) and (map is None or key[1] == map):
                del self._pending[key]
        for p, spis in notify.items():
            self.ike.send_delete(p, spis)
        self._deadline_dirty = True

    def clear_crypto_isakmp(self, now: int, conn_id: int | None = None) -> bool:
        """``clear crypto isakmp [conn-id]``: IKE SAs only (IPsec SAs stay); False if conn-id is unknown."""
        self.now = now
        found = False
        for sa in self.ike.sas():
            if conn_id is None or sa.conn_id == conn_id:
                found = True
                self.ike.delete_sa(sa, "cleared", now, notify_peer=True)
        self._deadline_dirty = True
        return found or conn_id is None

    # ================================================================== show (emulator/crypto_show.py)
    def show_crypto_ipsec_sa(self, now: int, address: bool = False, peer: IPv4Address | str | None = None,
                             map: str | None = None, detail: bool = False, interface: str | None = None) -> str:
        from emulator.cli import crypto_show
        return crypto_show.show_crypto_ipsec_sa(self, now, address=address, peer=peer, map=map, detail=detail,
                                                interface=interface)

    def show_crypto_isakmp_sa(self, now: int) -> str:
        from emulator.cli import crypto_show
        return crypto_show.show_crypto_isakmp_sa(self, now)

    def show_crypto_isakmp_policy(self) -> str:
        from emulator.cli import crypto_show
        return crypto_show.show_crypto_isakmp_policy(self)

    def show_crypto_map(self, interface: str | None = None, tag: str | None = None) -> str:
        from emulator.cli import crypto_show
        return crypto_show.show_crypto_map(self, interface=interface, tag=tag)

    def show_crypto_ipsec_transform_set(self, name: str | None = None) -> str:
        from emulator.cli import crypto_show
        return crypto_show.show_crypto_ipsec_transform_set(self, name)

    def show_crypto_engine_connections_active(self) -> str:
        from emulator.cli import crypto_show
        return crypto_show.show_crypto_engine_connections_active(self)

    def show_crypto_ipsec_sa_lifetime(self) -> str:
        from emulator.cli import crypto_show
        return crypto_show.show_crypto_ipsec_sa_lifetime(self)

    # ================================================================== misc
    def _internal_error(self, where: str, err: Exception) -> CryptoResult:
        text = f"{where}: {type(err).__name__}: {err}"
        self.errors.append(text)
        self._debug(ENGINE, f"CRYPTO: internal error in {text}")
        return self._drop("internal error")


def _as_permit(entry: AccessListEntry) -> AccessListEntry:
    return replace(entry, action="permit")

