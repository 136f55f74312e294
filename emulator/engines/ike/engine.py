"""IKEv1 for one router: main mode and quick mode with pre-shared keys (RFC 2409).

Sans-I/O in the manner of aioquic: :meth:`IkeEngine.receive` takes one UDP 500
payload and the current time (integer nanoseconds of lab time), :meth:`IkeEngine.datagrams_to_send` hands out
what to send, :meth:`get_timer` / :meth:`handle_timer` drive retransmissions
and lifetimes.  Every random value (cookies, nonces, message IDs, DH private
values) comes from the ``random.Random`` given by the owner, so a lab seed
fixes them.

Policy decisions belong to the owner, an :class:`IkeHost` (the router's
crypto subsystem, ``emulator.engines.ipsec.CryptoSubsystem``): pre-shared key lookup,
local ISAKMP policies, which crypto map entry accepts a quick mode offer, SPI
allocation, and what to do with the negotiated keys.

Exchanges (RFC 2409 §5.4 main mode with pre-shared keys, §5.5 quick mode):

    MM1 I->R  HDR, SA                      MM2 R->I  HDR, SA
    MM3 I->R  HDR, KE, Ni                  MM4 R->I  HDR, KE, Nr
    MM5 I->R  HDR*, IDii, HASH_I           MM6 R->I  HDR*, IDir, HASH_R
    QM1 I->R  HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr]
    QM2 R->I  HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr] [, N(RESPONDER-LIFETIME)]
    QM3 I->R  HDR*, HASH(3)

No commit bit: the responder installs its SAs when QM3 arrives, the
initiator when it sends QM3 (the three-message quick mode).  No vendor IDs,
no NAT-T, no aggressive mode, no INITIAL-CONTACT: 12.2(24a) mainline has no
NAT-T (reference §1.2) and the 12.1/12.2 debug sample (§3.2) shows no vendor
ID processing.

Retransmission: a side waiting for the next message resends its last one
every 10 seconds (12.x capture: ``00:01:01 ... sending packet (R)
MM_SA_SETUP`` then ``00:01:11 ... retransmitting``, itcertnotes.blogspot.com
2011, "IPsec Stuck in MM_SA_SETUP and MM_NO_STATE"), 5 times, then gives up
(``death by retransmission P1``/``P2``; the count of 5 is from memory of IOS
debugs, not from a source here).  A copy of the last message received is
answered with the last message sent (``phase 1 packet is a duplicate of a
previous packet.``, same capture).

Debug text: the 12.1/12.2 wording of reference §3.2 (``ISAKMP (0:N): ...``,
``sending packet to X (I) MM_NO_STATE`` without ports, no ``Input =`` /
``Old State`` lines); lines the samples do not show are built the same way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Protocol

from emulator.engines.ike import crypto as C
from emulator.engines.ike import dh as DH
from emulator.labtime import SECOND
from emulator.engines.ike.policy import (EspTransform, OfferedEsp, Phase1Proposal, ProxyId, build_phase2_sa, esp_attributes,
                                 parse_phase2_sa)
from emulator.wire import isakmp as K
from emulator.wire.ipv4 import PROTO_UDP
from emulator.wire.udp import PORT_ISAKMP as ISAKMP_PORT
from emulator.wire.errors import DecodeError

__all__ = ["IkeEngine", "IkeHost", "IkeSA", "Phase2Request", "Phase2Offer", "Phase2Selection", "Phase2Rejection",
           "Phase2Result", "RETRANSMIT_INTERVAL", "MAX_RETRANSMITS"]

RETRANSMIT_INTERVAL = 10 * SECOND
MAX_RETRANSMITS = 5
NONCE_SIZE = 20
DONE_QM_KEEP = 120 * SECOND  # how long a finished quick mode still answers duplicates
ZERO_COOKIE = bytes(8)

# Main mode states as ``show crypto isakmp sa`` prints them (reference §1.1).
MM_NO_STATE = "MM_NO_STATE"
MM_SA_SETUP = "MM_SA_SETUP"
MM_KEY_EXCH = "MM_KEY_EXCH"
QM_IDLE = "QM_IDLE"

ISAKMP = "crypto isakmp"
IPSEC = "crypto ipsec"
ENGINE = "crypto engine"

# Notify names as IOS debugs print them (``processing NOTIFY PROPOSAL_NOT_CHOSEN``, from memory).
_IOS_NOTIFY = {K.NO_PROPOSAL_CHOSEN: "PROPOSAL_NOT_CHOSEN", K.INVALID_ID_INFORMATION: "INVALID_ID_INFO"}


def signed_mid(mid: int) -> int:
    """IOS prints message IDs as signed 32-bit numbers (``M-ID of -426260398``)."""
    return mid - (1 << 32) if mid & 0x80000000 else mid


# --------------------------------------------------------------------------- data


@dataclass
class Phase2Request:
    """An ``IPSEC(sa_request)``: what the initiator asks IKE to negotiate."""

    peer: IPv4Address
    local: IPv4Address
    iface: str
    local_proxy: ProxyId
    remote_proxy: ProxyId
    transforms: list[tuple[str, EspTransform]]  # (transform set name, transform), in map order
    lifetime_s: int
    lifetime_kb: int
    pfs_group: int | None
    spi: int                                      # our inbound SPI, allocated with the request
    context: object = None                        # the owner's (flow key, map entry ...)


@dataclass(frozen=True)
class Phase2Offer:
    """A quick mode offer, from the responder's side (proxies mirrored to local/remote)."""

    peer: IPv4Address
    local: IPv4Address
    iface: str
    local_proxy: ProxyId   # IDcr: our side
    remote_proxy: ProxyId  # IDci: the initiator's side
    proposals: tuple[OfferedEsp, ...]
    message_id: int


@dataclass(frozen=True)
class Phase2Selection:
    proposal: OfferedEsp
    transform_set: str
    lifetime_s: int
    lifetime_kb: int
    pfs_group: int | None
    context: object = None


@dataclass(frozen=True)
class Phase2Rejection:
    notify: int  # NO_PROPOSAL_CHOSEN or INVALID_ID_INFORMATION
    reason: str


@dataclass
class Phase2Result:
    """A negotiated pair of ESP SAs with their keys."""

    initiator: bool
    peer: IPv4Address
    local: IPv4Address
    iface: str
    ike_conn_id: int
    local_proxy: ProxyId
    remote_proxy: ProxyId
    transform: EspTransform
    transform_set: str
    lifetime_s: int
    lifetime_kb: int
    pfs_group: int | None
    spi_in: int
    spi_out: int
    keys_in: tuple[bytes, bytes]   # (encryption key, authentication key)
    keys_out: tuple[bytes, bytes]
    message_id: int
    context: object = None


class IkeHost(Protocol):
    def psk_for(self, peer: IPv4Address) -> bytes | None: ...
    def isakmp_policies(self) -> list[Phase1Proposal]: ...
    def select_phase2(self, ike: "IkeSA", offer: Phase2Offer, now: int) -> Phase2Selection | Phase2Rejection: ...
    def allocate_spi(self, peer: IPv4Address, local: IPv4Address) -> int: ...
    def peek_conn_ids(self) -> tuple[int, int]: ...
    def phase2_established(self, result: Phase2Result, now: int) -> None: ...
    def phase2_failed(self, request: Phase2Request, reason: str, now: int) -> None: ...
    def delete_notified(self, ike: "IkeSA", spis: list[int], now: int) -> None: ...
    def debug(self, category: str, text: str) -> None: ...
    def log(self, text: str) -> None: ...


@dataclass
class QuickMode:
    message_id: int
    initiator: bool
    request: Phase2Request | None = None
    ni: bytes = b""
    nr: bytes = b""
    dh: DH.DHKeyPair | None = None
    offered: list[EspTransform] = field(default_factory=list)
    result: Phase2Result | None = None   # responder: negotiated, installed on QM3
    last_sent: bytes | None = None
    last_received: bytes | None = None
    retransmits: int = 0
    retransmit_at: int | None = None
    done_at: int | None = None


@dataclass
class IkeSA:
    """One ISAKMP SA (phase 1), initiator's or responder's."""

    conn_id: int
    initiator: bool
    local: IPv4Address
    peer: IPv4Address
    iface: str
    icookie: bytes
    rcookie: bytes
    created: int
    state: str = MM_NO_STATE
    psk: bytes = b""
    offered: list[Phase1Proposal] = field(default_factory=list)
    proposal: Phase1Proposal | None = None
    sai_b: bytes = b""
    dh: DH.DHKeyPair | None = None
    ni: bytes = b""
    nr: bytes = b""
    gxi: bytes = b""
    gxr: bytes = b""
    keys: C.Phase1Keys | None = None
    cipher: C.IkeCipherState | None = None
    established_at: int | None = None
    expires_at: int | None = None
    pending: list[Phase2Request] = field(default_factory=list)
    quick: dict[int, QuickMode] = field(default_factory=dict)
    last_sent: bytes | None = None
    last_received: bytes | None = None
    retransmits: int = 0
    retransmit_at: int | None = None

    @property
    def tag(self) -> str:
        return f"0:{self.conn_id}"

    @property
    def established(self) -> bool:
        return self.state == QM_IDLE

    @property
    def role(self) -> str:
        return "I" if self.initiator else "R"

    @property
    def dst(self) -> IPv4Address:
        """``show crypto isakmp sa`` dst: the responder's address (reference §1.1)."""
        return self.peer if self.initiator else self.local

    @property
    def src(self) -> IPv4Address:
        return self.local if self.initiator else self.peer


class _Bad(Exception):
    """A message that fails its checks: dropped, logged, state unchanged."""


# --------------------------------------------------------------------------- engine


class IkeEngine:
    def __init__(self, host: IkeHost, rng: random.Random):
        self.host = host
        self.rng = rng
        self._sas: dict[tuple[bytes, IPv4Address], IkeSA] = {}
        self._out: list[tuple[IPv4Address, IPv4Address, int, int, bytes]] = []
        self._next_conn_id = 1
        self.stats: dict[str, int] = {}
        self.key_rows: list[str] = []     # Wireshark's ikev1_decryption_table rows, one per phase 1 SA

    # ------------------------------------------------------------ public
    def sas(self) -> list[IkeSA]:
        return sorted(self._sas.values(), key=lambda s: s.conn_id)

    def find(self, conn_id: int) -> IkeSA | None:
        for sa in self._sas.values():
            if sa.conn_id == conn_id:
                return sa
        return None

    def datagrams_to_send(self) -> list[tuple[IPv4Address, IPv4Address, int, int, bytes]]:
        out, self._out = self._out, []
        return out

    def get_timer(self) -> int | None:
        when = None
        for sa in self._sas.values():
            for t in (sa.retransmit_at, sa.expires_at):
                if t is not None and (when is None or t < when):
                    when = t
            for qm in sa.quick.values():
                t = qm.retransmit_at
                if t is not None and (when is None or t < when):
                    when = t
        return when

    def handle_timer(self, now: int) -> None:
        for sa in list(self._sas.values()):
            if sa.expires_at is not None and now >= sa.expires_at:
                self._dbg(f"ISAKMP ({sa.tag}): purging SA., lifetime of {sa.proposal.lifetime} seconds expired")
                self.delete_sa(sa, "lifetime expired", now, notify_peer=True)
                continue
            if sa.retransmit_at is not None and now >= sa.retransmit_at:
                if sa.retransmits >= MAX_RETRANSMITS:
                    self._dbg(f"ISAKMP ({sa.tag}): deleting SA reason \"death by retransmission P1\"")
                    self.delete_sa(sa, "death by retransmission P1", now)
                    continue
                sa.retransmits += 1
                self._dbg(f"ISAKMP ({sa.tag}): incrementing error counter on sa: retransmit phase 1")
                self._dbg(f"ISAKMP ({sa.tag}): retransmitting phase 1 {sa.state}...")
                self._send(sa, sa.last_sent, note=False, arm=False)
                sa.retransmit_at = now + RETRANSMIT_INTERVAL
            for qm in list(sa.quick.values()):
                if qm.done_at is not None:
                    if now - qm.done_at > DONE_QM_KEEP:
                        del sa.quick[qm.message_id]
                    continue
                if qm.retransmit_at is not None and now >= qm.retransmit_at:
                    if qm.retransmits >= MAX_RETRANSMITS:
                        self._dbg(f"ISAKMP ({sa.tag}): deleting node {signed_mid(qm.message_id)} error TRUE "
                                  f"reason \"death by retransmission P2\"")
                        self._qm_abort(sa, qm, "death by retransmission P2", now)
                        continue
                    qm.retransmits += 1
                    self._dbg(f"ISAKMP ({sa.tag}): retransmitting phase 2 {signed_mid(qm.message_id)} QM_IDLE...")
                    self._send(sa, qm.last_sent, note=False, arm=False)
                    qm.retransmit_at = now + RETRANSMIT_INTERVAL

    def request_phase2(self, req: Phase2Request, now: int) -> None:
        """Negotiate SAs for ``req``: quick mode on an IKE SA to the peer, main mode first if none."""
        for sa in self.sas():
            if sa.peer == req.peer and sa.established and sa.local == req.local:
                self._start_quick_mode(sa, req, now)
                return
        for sa in self.sas():
            if sa.peer == req.peer and sa.initiator and not sa.established and sa.local == req.local:
                sa.pending.append(req)
                return
        self._dbg("ISAKMP: received ke message (1/1)")
        psk = self.host.psk_for(req.peer)
        if psk is None:
            self._dbg(f"ISAKMP: No cert, and no keys (public or pre-shared) with remote peer {req.peer}")
            self.host.phase2_failed(req, "no pre-shared key", now)
            return
        offers = [p for p in self.host.isakmp_policies() if p.auth == K.AUTH_PRE_SHARED]
        if not offers:
            self._dbg("ISAKMP: no ISAKMP policy with pre-shared key authentication "
                      "(RSA authentication is not supported by this emulator)")
            self.host.phase2_failed(req, "no usable ISAKMP policy", now)
            return
        sa = IkeSA(self._conn_id(), True, req.local, req.peer, req.iface, self.rng.randbytes(8), ZERO_COOKIE,
                   now, psk=psk, offered=offers, pending=[req])
        self._sas[(sa.icookie, sa.peer)] = sa
        self._dbg("ISAKMP: local port 500, remote port 500")
        self._dbg(f"ISAKMP ({sa.tag}): beginning Main Mode exchange")
        sa_payload = K.SAPayload([K.Proposal(1, K.PROTO_ISAKMP, b"",
                                             [p.to_transform(n) for n, p in enumerate(offers, start=1)])])
        sa.sai_b = sa_payload.encode_body()
        msg = K.IsakmpMessage(sa.icookie, sa.rcookie, K.EXCH_MAIN_MODE, [sa_payload])
        self._send(sa, msg.encode(), now=now)

    def delete_sa(self, sa: IkeSA, reason: str, now: int, notify_peer: bool = False) -> None:
        """Remove an IKE SA (its IPsec SAs stay, reference §4.6/§4.11); pending requests fail."""
        if notify_peer and sa.established:
            self._send_informational(sa, K.DeletePayload(K.PROTO_ISAKMP, [sa.icookie + sa.rcookie], K.DOI_IPSEC))
        self._sas.pop((sa.icookie, sa.peer), None)
        pending = list(sa.pending)
        sa.pending.clear()
        for qm in sa.quick.values():
            if qm.initiator and qm.request is not None and qm.done_at is None:
                pending.append(qm.request)
        sa.quick.clear()
        sa.state = "DELETED"
        for req in pending:
            self.host.phase2_failed(req, reason, now)

    def send_delete(self, peer: IPv4Address, spis: list[int]) -> bool:
        """Tell the peer (over an established IKE SA) that these SAs (our inbound SPIs) are gone."""
        for sa in self.sas():
            if sa.peer == peer and sa.established:
                self._dbg(f"ISAKMP ({sa.tag}): sending DELETE for {len(spis)} IPsec SA(s) to {peer}")
                self._send_informational(sa, K.DeletePayload(K.PROTO_IPSEC_ESP, [s.to_bytes(4, "big") for s in spis]))
                return True
        return False

    # ------------------------------------------------------------ receive
    def receive(self, iface: str, src: IPv4Address, dst: IPv4Address, data: bytes, now: int) -> None:
        try:
            msg = K.IsakmpMessage.decode(data)
        except DecodeError as err:
            self._count("malformed")
            self.host.log(f"%CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from {src} failed its sanity check "
                          f"or is malformed")
            self._dbg(f"ISAKMP: malformed packet from {src}: {err.reason}")
            return
        sa = self._sas.get((msg.icookie, src))
        if sa is None:
            if (msg.exchange == K.EXCH_MAIN_MODE and msg.rcookie == ZERO_COOKIE and not msg.encrypted):
                self._mm_new_responder(iface, src, dst, msg, data, now)
            else:
                self._count("unknown cookies")
                self._dbg(f"ISAKMP (0:0): received packet from {src} with unknown cookies, ignored")
            return
        if sa.initiator and sa.rcookie == ZERO_COOKIE:
            if msg.exchange == K.EXCH_MAIN_MODE:
                sa.rcookie = msg.rcookie
            elif msg.exchange == K.EXCH_INFORMATIONAL and not msg.encrypted:
                self._info_receive(sa, msg, now)  # e.g. NO_PROPOSAL_CHOSEN to our MM1
                return
        if msg.rcookie != sa.rcookie:
            if not sa.initiator and msg.rcookie == ZERO_COOKIE and data == sa.last_received:
                self._mm_receive(sa, msg, data, now)  # MM1 again: our MM2 was lost
                return
            self._count("unknown cookies")
            return
        try:
            if msg.exchange == K.EXCH_MAIN_MODE:
                self._mm_receive(sa, msg, data, now)
            elif msg.exchange == K.EXCH_QUICK_MODE:
                self._qm_receive(sa, msg, data, now)
            elif msg.exchange == K.EXCH_INFORMATIONAL:
                self._info_receive(sa, msg, now)
            else:
                self._count("unsupported exchange")
                self._dbg(f"ISAKMP ({sa.tag}): exchange type {msg.exchange} not supported, packet ignored")
        except _Bad as bad:
            self._count("bad message")
            self._dbg(f"ISAKMP ({sa.tag}): {bad}")

    # ------------------------------------------------------------ main mode
    def _mm_new_responder(self, iface: str, src: IPv4Address, dst: IPv4Address, msg: K.IsakmpMessage,
                          data: bytes, now: int) -> None:
        self._dbg(f"ISAKMP (0:0): received packet from {src} (N) NEW SA")
        self._dbg("ISAKMP: local port 500, remote port 500")
        sa = IkeSA(self._conn_id(), False, dst, src, iface, msg.icookie, self.rng.randbytes(8), now)
        tag = sa.tag
        sa_payload = msg.first(K.SAPayload)
        self._dbg(f"ISAKMP ({tag}): processing SA payload. message ID = 0")
        if sa_payload is None or not sa_payload.proposals:
            self._count("bad message")
            self.host.log(f"%CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from {src} failed its sanity check "
                          f"or is malformed")
            return
        psk = self.host.psk_for(src)
        if psk is None:
            self._dbg(f"ISAKMP: No cert, and no keys (public or pre-shared) with remote peer {src}")
        else:
            self._dbg(f"ISAKMP ({tag}): found peer pre-shared key matching {src}")
        offers: list[tuple[K.Proposal, K.Transform, Phase1Proposal | None, list[str], str]] = []
        for prop in sa_payload.proposals:
            for t in prop.transforms:
                offer, lines, reason = Phase1Proposal.from_transform(t)
                if prop.protocol_id != K.PROTO_ISAKMP:
                    reason = reason or f"protocol {prop.protocol_id} is not ISAKMP"
                offers.append((prop, t, offer, lines, reason))
        chosen = None
        for policy in self.host.isakmp_policies():
            for i, (prop, t, offer, lines, reason) in enumerate(offers):
                self._dbg(f"ISAKMP ({tag}): Checking ISAKMP transform {t.number} against priority "
                          f"{policy.priority} policy")
                for line in lines:
                    self._dbg(f"ISAKMP:      {line}")
                nxt = K.PT_TRANSFORM if i < len(offers) - 1 else 0
                why = reason or offer.mismatch(policy)
                if not why and offer.auth != K.AUTH_PRE_SHARED:
                    why = "RSA authentication is not supported by this emulator"
                if not why and psk is None:
                    why = "no pre-shared key for this peer"
                if why:
                    self._dbg(f"ISAKMP ({tag}): {why}")
                    self._dbg(f"ISAKMP ({tag}): atts are not acceptable. Next payload is {nxt}")
                    continue
                self._dbg(f"ISAKMP ({tag}): atts are acceptable. Next payload is {nxt}")
                chosen = (prop, t, offer, policy)
                break
            if chosen:
                break
        if chosen is None:
            self._dbg(f"ISAKMP ({tag}): no offers accepted!")
            self._dbg(f"ISAKMP ({tag}): SA not acceptable!")
            self.host.log(f"%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Main mode failed with peer at {src}")
            note = K.NotificationPayload(K.NO_PROPOSAL_CHOSEN, K.PROTO_ISAKMP, b"", b"", K.DOI_IPSEC)
            reply = K.IsakmpMessage(sa.icookie, sa.rcookie, K.EXCH_INFORMATIONAL, [note],
                                    message_id=self._random_mid())
            self._out.append((dst, src, ISAKMP_PORT, ISAKMP_PORT, reply.encode()))
            self._dbg(f"ISAKMP ({tag}): sending packet to {src} (R) MM_NO_STATE")
            self._count("phase 1 no proposal chosen")
            return
        prop, t, offer, policy = chosen
        sa.psk = psk
        sa.proposal = Phase1Proposal(offer.encryption, offer.hash, offer.auth, offer.group,
                                     offer.lifetime, offer.key_length, policy.priority)
        sa.sai_b = sa_payload.wire_body()
        sa.last_received = data
        self._sas[(sa.icookie, sa.peer)] = sa
        reply_sa = K.SAPayload([K.Proposal(prop.number, K.PROTO_ISAKMP, b"",
                                           [K.Transform(t.number, t.transform_id, list(t.attributes))])])
        self._dbg(f"ISAKMP ({tag}): SA is doing pre-shared key authentication using id type ID_IPV4_ADDR")
        sa.state = MM_SA_SETUP
        self._send(sa, K.IsakmpMessage(sa.icookie, sa.rcookie, K.EXCH_MAIN_MODE, [reply_sa]).encode(), now=now)

    def _mm_receive(self, sa: IkeSA, msg: K.IsakmpMessage, data: bytes, now: int) -> None:
        tag = sa.tag
        self._dbg(f"ISAKMP ({tag}): received packet from {sa.peer} ({sa.role}) {sa.state}")
        if data == sa.last_received:
            self._dbg(f"ISAKMP ({tag}): phase 1 packet is a duplicate of a previous packet.")
            if sa.last_sent is not None:
                self._dbg(f"ISAKMP ({tag}): retransmitting due to retransmit phase 1")
                self._send(sa, sa.last_sent, note=False, arm=False)
            return
        if sa.initiator:
            if sa.state == MM_NO_STATE and sa.proposal is None:
                self._mm2(sa, msg, now)
            elif sa.state == MM_SA_SETUP:
                self._mm4(sa, msg, now)
            elif sa.state == MM_KEY_EXCH:
                self._mm6(sa, msg, now)
            else:
                raise _Bad(f"main mode packet in state {sa.state}, ignored")
        else:
            if sa.state == MM_SA_SETUP:
                self._mm3(sa, msg, now)
            elif sa.state == MM_KEY_EXCH:
                self._mm5(sa, msg, now)
            else:
                raise _Bad(f"main mode packet in state {sa.state}, ignored")
        sa.last_received = data

    def _mm2(self, sa: IkeSA, msg: K.IsakmpMessage, now: int) -> None:
        tag = sa.tag
        sa_payload = msg.first(K.SAPayload)
        self._dbg(f"ISAKMP ({tag}): processing SA payload. message ID = 0")
        if (sa_payload is None or len(sa_payload.proposals) != 1
                or len(sa_payload.proposals[0].transforms) != 1):
            self._bad_message(sa, "SA payload of the responder must hold one transform")
        t = sa_payload.proposals[0].transforms[0]
        offer, lines, reason = Phase1Proposal.from_transform(t)
        self._dbg(f"ISAKMP ({tag}): found peer pre-shared key matching {sa.peer}")
        mine = None
        if not reason and 1 <= t.number <= len(sa.offered):
            mine = sa.offered[t.number - 1]
        self._dbg(f"ISAKMP ({tag}): Checking ISAKMP transform {t.number} against priority "
                  f"{mine.priority if mine else 0} policy")
        for line in lines:
            self._dbg(f"ISAKMP:      {line}")
        why = reason or ("transform was not offered" if mine is None else offer.mismatch(mine))
        if why:
            self._dbg(f"ISAKMP ({tag}): atts are not acceptable. Next payload is 0")
            self._bad_message(sa, why)
        self._dbg(f"ISAKMP ({tag}): atts are acceptable. Next payload is 0")
        sa.proposal = Phase1Proposal(offer.encryption, offer.hash, offer.auth, offer.group, offer.lifetime,
                                     offer.key_length, mine.priority)
        sa.dh = self._dh(sa.proposal.group)
        sa.ni = self.rng.randbytes(NONCE_SIZE)
        sa.gxi = sa.dh.public_bytes()
        self._dbg(f"ISAKMP ({tag}): SA is doing pre-shared key authentication using id type ID_IPV4_ADDR")
        sa.state = MM_SA_SETUP
        out = K.IsakmpMessage(sa.icookie, sa.rcookie, K.EXCH_MAIN_MODE,
                              [K.KEPayload(sa.gxi), K.NoncePayload(sa.ni)])
        self._send(sa, out.encode(), now=now)

    def _ke_nonce(self, sa: IkeSA, msg: K.IsakmpMessage) -> tuple[bytes, bytes]:
        ke, nonce = msg.first(K.KEPayload), msg.first(K.NoncePayload)
        if ke is None or nonce is None:
            self._bad_message(sa, "KE or NONCE payload missing")
        self._dbg(f"ISAKMP ({sa.tag}): processing KE payload. message ID = 0")
        self._dbg(f"ISAKMP ({sa.tag}): processing NONCE payload. message ID = 0")
        if not 8 <= len(nonce.data) <= 256:  # RFC 2409 §5: nonce of 8 to 256 bytes
            self._bad_message(sa, f"nonce of {len(nonce.data)} bytes")
        try:
            DH.check_public(DH.get_group(sa.proposal.group), ke.data)
        except DH.DHError as err:
            self._bad_message(sa, str(err))
        return ke.data, nonce.data

    def _derive(self, sa: IkeSA) -> None:
        peer_public = sa.gxr if sa.initiator else sa.gxi
        gxy = sa.dh.shared_secret(peer_public)
        cipher = C.ike_cipher(sa.proposal.encryption, sa.proposal.key_length)
        sa.keys = C.phase1_keys_psk(sa.proposal.hash, cipher, sa.psk, sa.ni, sa.nr, gxy, sa.icookie, sa.rcookie)
        sa.cipher = C.IkeCipherState.from_keys(sa.keys, sa.gxi, sa.gxr)
        self.key_rows.append(sa.keys.wireshark_row(sa.icookie))
        self._dbg(f"ISAKMP ({sa.tag}): found peer pre-shared key matching {sa.peer}")
        self._engine(f"CryptoEngine0: create ISAKMP SKEYID for conn id {sa.conn_id}")
        self._dbg(f"ISAKMP ({sa.tag}): SKEYID state generated")

    def _mm3(self, sa: IkeSA, msg: K.IsakmpMessage, now: int) -> None:
        sa.gxi, sa.ni = self._ke_nonce(sa, msg)
        sa.dh = self._dh(sa.proposal.group)
        sa.gxr = sa.dh.public_bytes()
        sa.nr = self.rng.randbytes(NONCE_SIZE)
        self._derive(sa)
        sa.state = MM_KEY_EXCH
        out = K.IsakmpMessage(sa.icookie, sa.rcookie, K.EXCH_MAIN_MODE,
                              [K.KEPayload(sa.gxr), K.NoncePayload(sa.nr)])
        self._send(sa, out.encode(), now=now)

    def _my_id(self, sa: IkeSA) -> K.IDPayload:
        # IOS identity: the interface address, protocol 17, port 500 (reference §3.3 "ID payload" dump, §4.9)
        return K.IDPayload.ipv4_address(sa.local, protocol=PROTO_UDP, port=ISAKMP_PORT)

    def _mm4(self, sa: IkeSA, msg: K.IsakmpMessage, now: int) -> None:
        sa.gxr, sa.nr = self._ke_nonce(sa, msg)
        self._derive(sa)
        my_id = self._my_id(sa)
        h = C.hash_i(sa.proposal.hash, sa.keys.skeyid, sa.gxi, sa.gxr, sa.icookie, sa.rcookie,
                     sa.sai_b, my_id.encode_body())
        self._dbg(f"ISAKMP ({sa.tag}): SA is doing pre-shared key authentication using id type ID_IPV4_ADDR")
        sa.state = MM_KEY_EXCH
        self._send(sa, self._encrypted(sa, K.EXCH_MAIN_MODE, 0, [my_id, K.HashPayload(h)]), now=now)

    def _open(self, sa: IkeSA, msg: K.IsakmpMessage) -> list[K.Payload]:
        """Decrypt an encrypted message; on any failure the IV is left as it was."""
        if not msg.encrypted or sa.cipher is None:
            raise _Bad("expected an encrypted packet")
        mid = msg.message_id
        iv = sa.cipher.iv(mid)
        try:
            return msg.open(lambda ct: sa.cipher.decrypt(mid, ct))
        except (DecodeError, ValueError) as err:
            sa.cipher.set_iv(mid, iv)
            raise _Failed(str(err)) from None

    def _peer_auth(self, sa: IkeSA, msg: K.IsakmpMessage) -> None:
        """MM5 / MM6: decrypt, check the peer's ID and HASH."""
        mid = 0
        iv = sa.cipher.iv(mid) if sa.cipher else b""
        try:
            payloads = self._open(sa, msg)
        except _Failed as err:
            self._bad_message(sa, f"decryption failed ({err})")
        ident = next((p for p in payloads if isinstance(p, K.IDPayload)), None)
        hp = next((p for p in payloads if isinstance(p, K.HashPayload)), None)
        if ident is None or hp is None:
            sa.cipher.set_iv(mid, iv)
            self._bad_message(sa, "ID or HASH payload missing")
        self._dbg(f"ISAKMP ({sa.tag}): processing ID payload. message ID = 0")
        self._dbg(f"ISAKMP ({sa.tag}): processing HASH payload. message ID = 0")
        if sa.initiator:
            want = C.hash_r(sa.proposal.hash, sa.keys.skeyid, sa.gxi, sa.gxr, sa.icookie, sa.rcookie,
                            sa.sai_b, ident.wire_body())
        else:
            want = C.hash_i(sa.proposal.hash, sa.keys.skeyid, sa.gxi, sa.gxr, sa.icookie, sa.rcookie,
                            sa.sai_b, ident.wire_body())
        if hp.data != want:
            sa.cipher.set_iv(mid, iv)
            self._dbg(f"ISAKMP ({sa.tag}): SA not authenticated")
            self._bad_message(sa, "hash of the peer does not verify (pre-shared key mismatch?)")
        self._dbg(f"ISAKMP ({sa.tag}): SA has been authenticated with {sa.peer}")

    def _mm5(self, sa: IkeSA, msg: K.IsakmpMessage, now: int) -> None:
        self._peer_auth(sa, msg)
        my_id = self._my_id(sa)
        h = C.hash_r(sa.proposal.hash, sa.keys.skeyid, sa.gxi, sa.gxr, sa.icookie, sa.rcookie,
                     sa.sai_b, my_id.encode_body())
        self._dbg(f"ISAKMP ({sa.tag}): SA is doing pre-shared key authentication using id type ID_IPV4_ADDR")
        self._established(sa, now)
        self._send(sa, self._encrypted(sa, K.EXCH_MAIN_MODE, 0, [my_id, K.HashPayload(h)]), now=None)

    def _mm6(self, sa: IkeSA, msg: K.IsakmpMessage, now: int) -> None:
        self._peer_auth(sa, msg)
        self._established(sa, now)
        sa.retransmit_at = None
        pending, sa.pending = sa.pending, []
        for req in pending:
            self._start_quick_mode(sa, req, now)

    def _established(self, sa: IkeSA, now: int) -> None:
        sa.state = QM_IDLE
        sa.established_at = now
        sa.expires_at = now + sa.proposal.lifetime * SECOND
        sa.retransmit_at = None
        sa.retransmits = 0
        sa.dh = None  # the phase 1 DH secret is not needed any more
        self._engine(f"CryptoEngine0: clear dh number for conn id {sa.conn_id}")

    def _bad_message(self, sa: IkeSA, why: str):
        self.host.log(f"%CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from {sa.peer} failed its sanity check "
                      f"or is malformed")
        raise _Bad(why)

    # ------------------------------------------------------------ quick mode
    def _start_quick_mode(self, sa: IkeSA, req: Phase2Request, now: int) -> None:
        mid = self._random_mid(sa)
        qm = QuickMode(mid, True, req, ni=self.rng.randbytes(NONCE_SIZE))
        qm.offered = [t for _, t in req.transforms]
        payloads: list[K.Payload] = [build_phase2_sa(qm.offered, req.spi, req.lifetime_s, req.lifetime_kb,
                                                     req.pfs_group),
                                     K.NoncePayload(qm.ni)]
        if req.pfs_group:
            qm.dh = self._dh(req.pfs_group)
            payloads.append(K.KEPayload(qm.dh.public_bytes()))
        payloads += [req.local_proxy.to_id_payload(), req.remote_proxy.to_id_payload()]
        rest = K.encode_payloads(payloads)
        h = C.qm_hash1(sa.proposal.hash, sa.keys.skeyid_a, mid, rest)
        sa.quick[mid] = qm
        self._dbg(f"ISAKMP ({sa.tag}): beginning Quick Mode exchange, M-ID of {signed_mid(mid)}")
        data = self._encrypted_raw(sa, K.EXCH_QUICK_MODE, mid, K.HashPayload(h).encode(K.PT_SA) + rest)
        qm.last_sent = data
        self._send(sa, data, arm=False)
        qm.retransmit_at = now + RETRANSMIT_INTERVAL

    def _qm_open(self, sa: IkeSA, qm_mid: int, msg: K.IsakmpMessage) -> tuple[bytes, list[K.Payload]]:
        """(hash, payloads after the HASH payload); bad input raises _Bad (IV restored)."""
        try:
            payloads = self._open(sa, msg)
        except _Failed as err:
            raise _Bad(f"decryption of quick mode {signed_mid(qm_mid)} failed ({err})") from None
        if not payloads or not isinstance(payloads[0], K.HashPayload):
            raise _Bad("quick mode message does not start with a HASH payload")
        return payloads[0].data, payloads[1:]

    def _qm_receive(self, sa: IkeSA, msg: K.IsakmpMessage, data: bytes, now: int) -> None:
        tag = sa.tag
        mid = msg.message_id
        self._dbg(f"ISAKMP ({tag}): received packet from {sa.peer} ({sa.role}) QM_IDLE")
        if not sa.established or mid == 0:
            raise _Bad(f"quick mode packet before phase 1 completed (state {sa.state}), ignored")
        qm = sa.quick.get(mid)
        if qm is not None and data == qm.last_received:
            self._dbg(f"ISAKMP ({tag}): phase 2 packet is a duplicate of a previous packet.")
            if qm.last_sent is not None:
                self._dbg(f"ISAKMP ({tag}): retransmitting due to retransmit phase 2")
                self._send(sa, qm.last_sent, note=False, arm=False)
            return
        if qm is None:
            if len(sa.quick) > 64:
                raise _Bad("too many quick mode exchanges in progress")
            self._qm1(sa, msg, data, now)
        elif qm.done_at is not None:
            raise _Bad(f"quick mode {signed_mid(mid)} is already complete, packet ignored")
        elif qm.initiator:
            self._qm2(sa, qm, msg, data, now)
        else:
            self._qm3(sa, qm, msg, data, now)

    def _qm1(self, sa: IkeSA, msg: K.IsakmpMessage, data: bytes, now: int) -> None:
        tag, mid, h = sa.tag, msg.message_id, sa.proposal.hash
        try:
            hash1, rest = self._qm_open(sa, mid, msg)
        except _Bad:
            sa.cipher.forget(mid)
            raise
        self._dbg(f"ISAKMP: set new node {signed_mid(mid)} to QM_IDLE")
        if hash1 != C.qm_hash1(h, sa.keys.skeyid_a, mid, b"".join(p.raw for p in rest)):
            sa.cipher.forget(mid)
            self._dbg(f"ISAKMP ({tag}): processing HASH payload. message ID = {signed_mid(mid)}")
            raise _Bad("HASH(1) does not verify, quick mode packet ignored")
        self._dbg(f"ISAKMP ({tag}): processing HASH payload. message ID = {signed_mid(mid)}")
        sa_p = next((p for p in rest if isinstance(p, K.SAPayload)), None)
        nonce = next((p for p in rest if isinstance(p, K.NoncePayload)), None)
        ke = next((p for p in rest if isinstance(p, K.KEPayload)), None)
        ids = [p for p in rest if isinstance(p, K.IDPayload)]
        if sa_p is None or nonce is None or len(ids) not in (0, 2):
            sa.cipher.forget(mid)
            raise _Bad("quick mode message 1 lacks SA or NONCE, or has one ID payload")
        self._dbg(f"ISAKMP ({tag}): processing SA payload. message ID = {signed_mid(mid)}")
        offers = parse_phase2_sa(sa_p)
        for o in offers:
            self._dbg(f"ISAKMP ({tag}): Checking IPSec proposal {o.number}")
            for line in o.debug:
                self._dbg(("ISAKMP: " if line.startswith("transform") else "ISAKMP:   " if line.startswith("attr")
                           else "ISAKMP:      ") + line)
            if o.reason:
                self._dbg(f"ISAKMP ({tag}): {o.reason}")
                self._dbg(f"ISAKMP ({tag}): atts are not acceptable.")
            else:
                self._dbg(f"ISAKMP ({tag}): atts are acceptable.")
        self._dbg(f"ISAKMP ({tag}): processing NONCE payload. message ID = {signed_mid(mid)}")
        if ke is not None:
            self._dbg(f"ISAKMP ({tag}): processing KE payload. message ID = {signed_mid(mid)}")
        if ids:
            self._dbg(f"ISAKMP ({tag}): processing ID payload. message ID = {signed_mid(mid)}")
            self._dbg(f"ISAKMP ({tag}): processing ID payload. message ID = {signed_mid(mid)}")
            try:
                remote_proxy, local_proxy = ProxyId.from_id_payload(ids[0]), ProxyId.from_id_payload(ids[1])
            except ValueError as err:
                sa.cipher.forget(mid)
                self._qm_reject(sa, mid, offers, K.INVALID_ID_INFORMATION, str(err), now)
                return
        else:  # RFC 2409 §5.5: no IDs means the ISAKMP endpoints
            remote_proxy, local_proxy = ProxyId.host(sa.peer), ProxyId.host(sa.local)
        usable = tuple(o for o in offers if not o.reason)
        offer = Phase2Offer(sa.peer, sa.local, sa.iface, local_proxy, remote_proxy, usable, mid)
        choice = self.host.select_phase2(sa, offer, now)
        if isinstance(choice, Phase2Rejection):
            sa.cipher.forget(mid)
            self._qm_reject(sa, mid, offers, choice.notify, choice.reason, now)
            return
        prop = choice.proposal
        group = prop.group
        qm = QuickMode(mid, False, ni=nonce.data, nr=self.rng.randbytes(NONCE_SIZE))
        gxy = None
        reply: list[K.Payload] = []
        if group:
            if ke is None:
                sa.cipher.forget(mid)
                self._qm_reject(sa, mid, offers, K.NO_PROPOSAL_CHOSEN, "PFS group offered without KE", now)
                return
            try:
                qm.dh = self._dh(group)
                gxy = qm.dh.shared_secret(ke.data)
            except DH.DHError as err:
                sa.cipher.forget(mid)
                self._qm_reject(sa, mid, offers, K.NO_PROPOSAL_CHOSEN, str(err), now)
                return
        self._dbg(f"ISAKMP ({tag}): asking for 1 spis from ipsec")
        spi_in = self.host.allocate_spi(sa.peer, sa.local)
        self._dbg("ISAKMP: received ke message (2/1)")
        t = prop.transform
        reply.append(K.SAPayload([K.Proposal(prop.number, K.PROTO_IPSEC_ESP, spi_in.to_bytes(4, "big"),
                                             [K.Transform(prop.transform_number, t.cipher,
                                                          esp_attributes(t, prop.lifetime_s, prop.lifetime_kb,
                                                                         group))])]))
        reply.append(K.NoncePayload(qm.nr))
        if qm.dh is not None:
            reply.append(K.KEPayload(qm.dh.public_bytes()))
        if ids:
            reply += [K.IDPayload(i.id_type, i.protocol, i.port, i.data) for i in ids]
        life_attrs = []
        if prop.lifetime_s and choice.lifetime_s < prop.lifetime_s:
            life_attrs += [K.Attribute(K.IPSEC_SA_LIFE_TYPE, K.LIFE_SECONDS),
                           K.Attribute(K.IPSEC_SA_LIFE_DURATION, choice.lifetime_s)]
        if prop.lifetime_kb and choice.lifetime_kb < prop.lifetime_kb:
            life_attrs += [K.Attribute(K.IPSEC_SA_LIFE_TYPE, K.LIFE_KILOBYTES),
                           K.Attribute(K.IPSEC_SA_LIFE_DURATION, choice.lifetime_kb.to_bytes(4, "big"))]
        if life_attrs:  # RFC 2407 §4.6.3.1 RESPONDER-LIFETIME
            reply.append(K.NotificationPayload(K.RESPONDER_LIFETIME, K.PROTO_IPSEC_ESP, spi_in.to_bytes(4, "big"),
                                               b"".join(a.encode() for a in life_attrs)))
        rest_out = K.encode_payloads(reply)
        hash2 = C.qm_hash2(h, sa.keys.skeyid_a, mid, qm.ni, rest_out)
        keys_in, keys_out = self._esp_keys(sa, t, spi_in, prop.spi, qm.ni, qm.nr, gxy)
        qm.result = Phase2Result(False, sa.peer, sa.local, sa.iface, sa.conn_id, local_proxy, remote_proxy, t,
                                 choice.transform_set, choice.lifetime_s, choice.lifetime_kb, group, spi_in,
                                 prop.spi, keys_in, keys_out, mid, choice.context)
        qm.last_received = data
        sa.quick[mid] = qm
        out = self._encrypted_raw(sa, K.EXCH_QUICK_MODE, mid, K.HashPayload(hash2).encode(K.PT_SA) + rest_out)
        qm.last_sent = out
        self._send(sa, out, arm=False)
        qm.retransmit_at = now + RETRANSMIT_INTERVAL

    def _qm_reject(self, sa: IkeSA, mid: int, offers: list[OfferedEsp], notify: int, reason: str,
                   now: int) -> None:
        tag = sa.tag
        self._dbg(f"ISAKMP ({tag}): IPSec policy invalidated proposal")
        self._dbg(f"ISAKMP ({tag}): SA not acceptable!")
        self.host.log(f"%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Quick mode failed with peer at {sa.peer}")
        spi = next((o.spi for o in offers if o.spi), 0)
        note = K.NotificationPayload(notify, K.PROTO_IPSEC_ESP, spi.to_bytes(4, "big") if spi else b"")
        self._send_informational(sa, note)
        self._count("phase 2 rejected")

    def _qm2(self, sa: IkeSA, qm: QuickMode, msg: K.IsakmpMessage, data: bytes, now: int) -> None:
        tag, mid, h = sa.tag, msg.message_id, sa.proposal.hash
        req = qm.request
        hash2, rest = self._qm_open(sa, mid, msg)
        self._dbg(f"ISAKMP ({tag}): processing HASH payload. message ID = {signed_mid(mid)}")
        if hash2 != C.qm_hash2(h, sa.keys.skeyid_a, mid, qm.ni, b"".join(p.raw for p in rest)):
            raise _Bad("HASH(2) does not verify, quick mode packet ignored")
        sa_p = next((p for p in rest if isinstance(p, K.SAPayload)), None)
        nonce = next((p for p in rest if isinstance(p, K.NoncePayload)), None)
        ke = next((p for p in rest if isinstance(p, K.KEPayload)), None)
        ids = [p for p in rest if isinstance(p, K.IDPayload)]
        notes = [p for p in rest if isinstance(p, K.NotificationPayload)]
        if sa_p is None or nonce is None:
            raise _Bad("quick mode message 2 lacks SA or NONCE")
        self._dbg(f"ISAKMP ({tag}): processing SA payload. message ID = {signed_mid(mid)}")
        offers = parse_phase2_sa(sa_p)
        if len(offers) != 1 or offers[0].reason or not 1 <= offers[0].number <= len(qm.offered):
            raise _Bad("responder's SA payload does not select one of the proposals offered")
        o = offers[0]
        self._dbg(f"ISAKMP ({tag}): Checking IPSec proposal {o.number}")
        for line in o.debug:
            self._dbg(("ISAKMP: " if line.startswith("transform") else "ISAKMP:   " if line.startswith("attr")
                       else "ISAKMP:      ") + line)
        mine = qm.offered[o.number - 1]
        if not mine.same_algorithms(o.transform) or (o.group or None) != (req.pfs_group or None):
            self._dbg(f"ISAKMP ({tag}): atts are not acceptable.")
            raise _Bad("responder's transform differs from the one offered")
        self._dbg(f"ISAKMP ({tag}): atts are acceptable.")
        self._dbg(f"ISAKMP ({tag}): processing NONCE payload. message ID = {signed_mid(mid)}")
        qm.nr = nonce.data
        gxy = None
        if req.pfs_group:
            if ke is None:
                raise _Bad("PFS requested but no KE payload in quick mode message 2")
            self._dbg(f"ISAKMP ({tag}): processing KE payload. message ID = {signed_mid(mid)}")
            try:
                gxy = qm.dh.shared_secret(ke.data)
            except DH.DHError as err:
                raise _Bad(str(err)) from None
        if ids:
            self._dbg(f"ISAKMP ({tag}): processing ID payload. message ID = {signed_mid(mid)}")
            self._dbg(f"ISAKMP ({tag}): processing ID payload. message ID = {signed_mid(mid)}")
            try:
                back = (ProxyId.from_id_payload(ids[0]), ProxyId.from_id_payload(ids[1])) if len(ids) == 2 else None
            except ValueError:
                back = None
            if back != (req.local_proxy, req.remote_proxy):
                raise _Bad("responder's ID payloads differ from the ones offered")
        lifetime_s, lifetime_kb = req.lifetime_s, req.lifetime_kb
        for n in notes:
            if n.notify_type == K.RESPONDER_LIFETIME:
                self._dbg(f"ISAKMP ({tag}): processing NOTIFY RESPONDER_LIFETIME protocol 3")
                try:
                    attrs = K.Attribute.decode_all(n.data)
                except DecodeError:
                    attrs = []
                life_type = None
                for a in attrs:
                    if a.type == K.IPSEC_SA_LIFE_TYPE:
                        life_type = a.int_value
                    elif a.type == K.IPSEC_SA_LIFE_DURATION:
                        if life_type == K.LIFE_SECONDS:
                            lifetime_s = min(lifetime_s, a.int_value)
                        elif life_type == K.LIFE_KILOBYTES:
                            lifetime_kb = min(lifetime_kb, a.int_value)
        set_name = req.transforms[o.number - 1][0]
        keys_in, keys_out = self._esp_keys(sa, mine, req.spi, o.spi, qm.ni, qm.nr, gxy)
        result = Phase2Result(True, sa.peer, sa.local, req.iface, sa.conn_id, req.local_proxy, req.remote_proxy,
                              mine, set_name, lifetime_s, lifetime_kb, req.pfs_group, req.spi, o.spi, keys_in,
                              keys_out, mid, req.context)
        self._creating_sas(sa, result)
        hash3 = C.qm_hash3(h, sa.keys.skeyid_a, mid, qm.ni, qm.nr)
        out = self._encrypted_raw(sa, K.EXCH_QUICK_MODE, mid, K.HashPayload(hash3).encode())
        qm.last_received = data
        qm.last_sent = out
        self._send(sa, out, arm=False)
        self._qm_done(sa, qm, now, 'reason ""')
        self.host.phase2_established(result, now)

    def _qm3(self, sa: IkeSA, qm: QuickMode, msg: K.IsakmpMessage, data: bytes, now: int) -> None:
        tag, mid = sa.tag, msg.message_id
        hash3, rest = self._qm_open(sa, mid, msg)
        self._dbg(f"ISAKMP ({tag}): processing HASH payload. message ID = {signed_mid(mid)}")
        if hash3 != C.qm_hash3(sa.proposal.hash, sa.keys.skeyid_a, mid, qm.ni, qm.nr):
            raise _Bad("HASH(3) does not verify, quick mode packet ignored")
        qm.last_received = data
        qm.last_sent = None
        self._creating_sas(sa, qm.result)
        self._qm_done(sa, qm, now, 'reason "quick mode done (await()"')
        self.host.phase2_established(qm.result, now)

    def _qm_done(self, sa: IkeSA, qm: QuickMode, now: int, reason: str) -> None:
        self._dbg(f"ISAKMP ({sa.tag}): deleting node {signed_mid(qm.message_id)} error FALSE {reason}")
        qm.done_at = now
        qm.retransmit_at = None
        qm.dh = None
        sa.cipher.forget(qm.message_id)

    def _qm_abort(self, sa: IkeSA, qm: QuickMode, reason: str, now: int) -> None:
        sa.quick.pop(qm.message_id, None)
        sa.cipher.forget(qm.message_id)
        if qm.initiator and qm.request is not None:
            self.host.phase2_failed(qm.request, reason, now)

    def _creating_sas(self, sa: IkeSA, r: Phase2Result) -> None:
        # The 12.x "Creating IPSec SAs" block (reference §3.3), flags as printed there
        # for a tunnel-mode SA without PFS.
        def lines(direction: str, src, dst, psrc: ProxyId, pdst: ProxyId, spi, conn: int) -> list[str]:
            return [f"        {direction} SA from {src} to {dst} (proxy {psrc.address} to {pdst.address})",
                    f"        has spi {spi} and conn_id {conn} and flags 4",
                    f"        lifetime of {r.lifetime_s} seconds",
                    f"        lifetime of {r.lifetime_kb} kilobytes"]
        conn_in, conn_out = self.host.peek_conn_ids()
        text = [f"ISAKMP ({sa.tag}): Creating IPSec SAs"]
        text += lines("inbound", r.peer, r.local, r.remote_proxy, r.local_proxy, f"0x{r.spi_in:X}", conn_in)
        text += lines("outbound", r.local, r.peer, r.local_proxy, r.remote_proxy, r.spi_out, conn_out)
        self.host.debug(ISAKMP, "\n".join(text))

    def _esp_keys(self, sa: IkeSA, t: EspTransform, spi_in: int, spi_out: int, ni: bytes, nr: bytes,
                  gxy: bytes | None) -> tuple[tuple[bytes, bytes], tuple[bytes, bytes]]:
        """KEYMAT per direction (RFC 2409 §5.5): each SA's keys from its own (receiver-chosen) SPI."""
        enc_len, auth_len = t.key_sizes()
        h, d = sa.proposal.hash, sa.keys.skeyid_d
        k_in = C.esp_keys(h, d, spi_in.to_bytes(4, "big"), ni, nr, enc_len, auth_len, gxy)
        k_out = C.esp_keys(h, d, spi_out.to_bytes(4, "big"), ni, nr, enc_len, auth_len, gxy)
        return k_in, k_out

    # ------------------------------------------------------------ informational
    def _info_receive(self, sa: IkeSA, msg: K.IsakmpMessage, now: int) -> None:
        tag = sa.tag
        if not msg.encrypted:
            self._dbg(f"ISAKMP ({tag}): received packet from {sa.peer} ({sa.role}) {sa.state}")
            self._dbg(f"ISAKMP ({tag}): Notify has no hash. Rejected.")
            self._count("unauthenticated notify")
            return
        if not sa.established:
            raise _Bad("encrypted informational before phase 1 completed, ignored")
        mid = msg.message_id
        try:
            h, rest = self._qm_open(sa, mid, msg)
        finally:
            sa.cipher.forget(mid)
        self._dbg(f"ISAKMP ({tag}): received packet from {sa.peer} ({sa.role}) QM_IDLE")
        if h != C.informational_hash(sa.proposal.hash, sa.keys.skeyid_a, mid, b"".join(p.raw for p in rest)):
            raise _Bad("HASH of the informational exchange does not verify, ignored")
        self._dbg(f"ISAKMP ({tag}): processing HASH payload. message ID = {signed_mid(mid)}")
        for p in rest:
            if isinstance(p, K.NotificationPayload):
                name = _IOS_NOTIFY.get(p.notify_type, p.name)
                spi = int.from_bytes(p.spi, "big") if p.spi else 0
                self._dbg(f"ISAKMP ({tag}): processing NOTIFY {name} protocol {p.protocol_id}\n"
                          f"        spi {spi}, message ID = {signed_mid(mid)}")
                if p.notify_type < 16384:  # an error notify (RFC 2408 §3.14.1): the quick mode failed
                    for qm in list(sa.quick.values()):
                        if qm.initiator and qm.done_at is None and (not spi or qm.request.spi == spi):
                            self._dbg(f"ISAKMP ({tag}): deleting node {signed_mid(qm.message_id)} error TRUE "
                                      f"reason \"{name.lower().replace('_', ' ')}\"")
                            self._qm_abort(sa, qm, name, now)
            elif isinstance(p, K.DeletePayload):
                self._dbg(f"ISAKMP ({tag}): processing DELETE payload. message ID = {signed_mid(mid)}")
                if p.protocol_id == K.PROTO_ISAKMP:
                    if any(s == sa.icookie + sa.rcookie for s in p.spis):
                        self._dbg(f"ISAKMP ({tag}): peer deleted the ISAKMP SA")
                        self.delete_sa(sa, "deleted by peer", now)
                        return
                elif p.protocol_id == K.PROTO_IPSEC_ESP:
                    spis = [int.from_bytes(s, "big") for s in p.spis if len(s) == 4]
                    self.host.delete_notified(sa, spis, now)

    def _send_informational(self, sa: IkeSA, payload: K.Payload) -> None:
        mid = self._random_mid(sa)
        rest = payload.encode()
        h = C.informational_hash(sa.proposal.hash, sa.keys.skeyid_a, mid, rest)
        data = self._encrypted_raw(sa, K.EXCH_INFORMATIONAL, mid, K.HashPayload(h).encode(payload.payload_type) + rest)
        sa.cipher.forget(mid)
        self._out.append((sa.local, sa.peer, ISAKMP_PORT, ISAKMP_PORT, data))
        self._dbg(f"ISAKMP ({sa.tag}): sending packet to {sa.peer} ({sa.role}) QM_IDLE")

    # ------------------------------------------------------------ helpers
    def _encrypted(self, sa: IkeSA, exchange: int, mid: int, payloads: list[K.Payload]) -> bytes:
        return self._encrypted_raw(sa, exchange, mid, K.encode_payloads(payloads), payloads[0].payload_type)

    def _encrypted_raw(self, sa: IkeSA, exchange: int, mid: int, chain: bytes, ptype: int = K.PT_HASH) -> bytes:
        """Encrypt a payload chain (first payload ``ptype``: HASH for quick mode and informational)."""
        ct = sa.cipher.encrypt(mid, chain)
        msg = K.IsakmpMessage(sa.icookie, sa.rcookie, exchange, flags=K.FLAG_ENCRYPTION, message_id=mid,
                              encrypted_body=ct, first_payload=ptype)
        return msg.encode()

    def _send(self, sa: IkeSA, data: bytes | None, now: int | None = None, note: bool = True,
              arm: bool = True) -> None:
        if data is None:
            return
        self._out.append((sa.local, sa.peer, ISAKMP_PORT, ISAKMP_PORT, data))
        if note:
            self._dbg(f"ISAKMP ({sa.tag}): sending packet to {sa.peer} ({sa.role}) {sa.state}")
        if arm:
            sa.last_sent = data
            if now is not None:
                sa.retransmits = 0
                sa.retransmit_at = now + RETRANSMIT_INTERVAL
            else:
                sa.retransmit_at = None

    def _dh(self, group: int) -> DH.DHKeyPair:
        self._engine("CryptoEngine0: generate alg parameter")
        kp = DH.generate_keypair(group, self.rng)
        self._engine("CRYPTO_ENGINE: Dh phase 1 status: 0")
        return kp

    def _random_mid(self, sa: IkeSA | None = None) -> int:
        while True:
            mid = self.rng.getrandbits(32)
            if mid and (sa is None or mid not in sa.quick):
                return mid

    def _conn_id(self) -> int:
        n = self._next_conn_id
        self._next_conn_id += 1
        return n

    def _count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1

    def _dbg(self, text: str) -> None:
        self.host.debug(ISAKMP, text)

    def _engine(self, text: str) -> None:
        self.host.debug(ENGINE, text)


class _Failed(Exception):
    pass
