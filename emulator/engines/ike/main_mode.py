"""Main mode with pre-shared keys (RFC 2409 §5.4), one handler per message received.

Each handler checks and reads one message and returns the reply to send (or
None); ``engine.IkeEngine`` runs them from its transition table, which also
sets the state the reply is sent in.  A handler that refuses a message raises
``Bad`` and leaves the SA as it was.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from emulator.engines.ike import crypto as C
from emulator.engines.ike import dh as DH
from emulator.engines.ike.core import ENGINE, ISAKMP_PORT, NONCE_SIZE, Bad, EngineCore, first
from emulator.engines.ike.events import InitialContact
from emulator.engines.ike.policy import Phase1Proposal
from emulator.engines.ike.sa import IkeSA, MainModeState
from emulator.labtime import SECOND
from emulator.wire import isakmp as K
from emulator.wire.ipv4 import PROTO_UDP

__all__ = ["MainMode"]

_Offer = tuple[K.Proposal, K.Transform, Phase1Proposal | None, list[tuple[int, int]], str]


class MainMode(EngineCore):
    # ------------------------------------------------------------ responder: MM1
    def _mm_new_responder(self, iface: str, src: IPv4Address, dst: IPv4Address, msg: K.IsakmpMessage,
                          data: bytes, now: int) -> None:
        if not self._admit(src, incoming=True):
            return                        # dropped unanswered: no SA, no state, nothing retransmitted
        self._trace("received_new", peer=src)
        self._trace("local_port")
        sa = IkeSA(self._conn_id(), False, dst, src, iface, msg.icookie, self.rng.randbytes(8), now)
        sa_payload = first(msg, K.SAPayload)
        self._trace("processing", sa, payload="SA", mid=0)
        if sa_payload is None or not sa_payload.proposals:
            self._count("bad message")
            self._bad_message_log(src)
            return
        psk = self.policy.psk_for(src)
        self._trace("no_key" if psk is None else "found_key", None if psk is None else sa, peer=src)
        offers: list[_Offer] = []
        for prop in sa_payload.proposals:
            for t in prop.transforms:
                offer, attrs, reason = Phase1Proposal.from_transform(t)
                if prop.protocol_id != K.PROTO_ISAKMP:
                    reason = reason or f"protocol {prop.protocol_id} is not ISAKMP"
                offers.append((prop, t, offer, attrs, reason))
        chosen = self._choose_phase1(sa, offers, psk is not None)
        if chosen is None:
            self._no_offer_accepted(sa, src, dst)
            return
        prop, t, offer, policy = chosen
        sa.psk = psk or b""
        sa.proposal = Phase1Proposal(offer.encryption, offer.hash, offer.auth, offer.group,
                                     offer.lifetime, offer.key_length, policy.priority)
        sa.sai_b = sa_payload.wire_body()
        sa.last_received = data
        sa.answered = True
        self._add_sa(sa)
        reply_sa = K.SAPayload([K.Proposal(prop.number, K.PROTO_ISAKMP, b"",
                                           [K.Transform(t.number, t.transform_id, list(t.attributes))])])
        self._trace("psk_auth", sa)
        sa.state = MainModeState.MM_SA_SETUP
        self._send(sa, K.IsakmpMessage(sa.icookie, sa.rcookie, K.EXCH_MAIN_MODE, [reply_sa]).encode(), now=now)

    def _choose_phase1(self, sa: IkeSA, offers: list[_Offer],
                       have_key: bool) -> tuple[K.Proposal, K.Transform, Phase1Proposal, Phase1Proposal] | None:
        """The first offer, in our policy order, that a policy accepts (reference §4.1)."""
        for policy in self.policy.isakmp_policies():
            for i, (prop, t, offer, attrs, reason) in enumerate(offers):
                self._trace("checking_transform", sa, number=t.number, priority=policy.priority)
                self._attributes(attrs)
                nxt = K.PT_TRANSFORM if i < len(offers) - 1 else 0
                why = reason or (offer.mismatch(policy) if offer is not None else "")
                if not why and offer is not None and offer.auth != K.AUTH_PRE_SHARED:
                    why = "rsa_unsupported"
                if not why and not have_key:
                    why = "no_key_for_peer"
                if why or offer is None:
                    self._trace("reason", sa, reason=why)
                    self._trace("atts_not_acceptable", sa, next_payload=nxt)
                    continue
                self._trace("atts_acceptable", sa, next_payload=nxt)
                return prop, t, offer, policy
        return None

    def _attributes(self, attrs: list[tuple[int, int]]) -> None:
        if not self._tracing():
            return
        for attr, value in attrs:
            self._trace("isakmp_attribute", attr=attr, value=value)

    def _no_offer_accepted(self, sa: IkeSA, src: IPv4Address, dst: IPv4Address) -> None:
        self._trace("no_offers_accepted", sa)
        self._trace("sa_not_acceptable", sa)
        self._syslog(f"%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Main mode failed with peer at {src}")
        note = K.NotificationPayload(K.NO_PROPOSAL_CHOSEN, K.PROTO_ISAKMP, b"", b"", K.DOI_IPSEC)
        reply = K.IsakmpMessage(sa.icookie, sa.rcookie, K.EXCH_INFORMATIONAL, [note], message_id=self._random_mid())
        self._out.append((dst, src, ISAKMP_PORT, ISAKMP_PORT, reply.encode()))
        self._trace("sending", sa, peer=src, role=sa.role, state=MainModeState.MM_NO_STATE)
        self._count("phase 1 no proposal chosen")

    # ------------------------------------------------------------ initiator: MM2 -> MM3
    def _mm2(self, sa: IkeSA, msg: K.IsakmpMessage, now: int) -> bytes | None:
        sa_payload = first(msg, K.SAPayload)
        self._trace("processing", sa, payload="SA", mid=0)
        if (sa_payload is None or len(sa_payload.proposals) != 1
                or len(sa_payload.proposals[0].transforms) != 1):
            raise Bad("responder_sa_not_one_transform", malformed=True)
        t = sa_payload.proposals[0].transforms[0]
        offer, attrs, reason = Phase1Proposal.from_transform(t)
        self._trace("found_key", sa, peer=sa.peer)
        mine = sa.offered[t.number - 1] if not reason and 1 <= t.number <= len(sa.offered) else None
        self._trace("checking_transform", sa, number=t.number, priority=mine.priority if mine else 0)
        self._attributes(attrs)
        why = reason or ("transform_not_offered" if mine is None or offer is None else offer.mismatch(mine))
        if why or offer is None or mine is None:
            self._trace("atts_not_acceptable", sa, next_payload=0)
            raise Bad("reason", malformed=True, reason=why)
        self._trace("atts_acceptable", sa, next_payload=0)
        sa.proposal = Phase1Proposal(offer.encryption, offer.hash, offer.auth, offer.group, offer.lifetime,
                                     offer.key_length, mine.priority)
        sa.dh = self._dh(sa.proposal.group)
        sa.ni = self.rng.randbytes(NONCE_SIZE)
        sa.gxi = sa.dh.public_bytes()
        self._trace("psk_auth", sa)
        return K.IsakmpMessage(sa.icookie, sa.rcookie, K.EXCH_MAIN_MODE,
                               [K.KEPayload(sa.gxi), K.NoncePayload(sa.ni)]).encode()

    def _ke_nonce(self, sa: IkeSA, msg: K.IsakmpMessage) -> tuple[bytes, bytes]:
        ke, nonce = first(msg, K.KEPayload), first(msg, K.NoncePayload)
        if ke is None or nonce is None:
            raise Bad("ke_or_nonce_missing", malformed=True)
        self._trace("processing", sa, payload="KE", mid=0)
        self._trace("processing", sa, payload="NONCE", mid=0)
        if not 8 <= len(nonce.data) <= 256:  # RFC 2409 §5: nonce of 8 to 256 bytes
            raise Bad("nonce_size", malformed=True, size=len(nonce.data))
        try:
            DH.check_public(DH.get_group(sa.prop.group), ke.data)
        except DH.DHError as err:
            raise Bad("reason", malformed=True, reason=str(err)) from None
        return ke.data, nonce.data

    def _derive(self, sa: IkeSA) -> None:
        assert sa.dh is not None
        gxy = sa.dh.shared_secret(sa.gxr if sa.initiator else sa.gxi)
        cipher = C.ike_cipher(sa.prop.encryption, sa.prop.key_length)
        sa.keys = C.phase1_keys_psk(sa.prop.hash, cipher, sa.psk, sa.ni, sa.nr, gxy, sa.icookie, sa.rcookie)
        sa.cipher = C.IkeCipherState.from_keys(sa.keys, sa.gxi, sa.gxr)
        self.key_rows.append(sa.keys.wireshark_row(sa.icookie))
        self.key_log.append(C.Phase1KeyRecord(sa.initiator, str(sa.local), str(sa.peer), sa.icookie, sa.rcookie,
                                              sa.ni, sa.nr, sa.keys))
        self._trace("found_key", sa, peer=sa.peer)
        self._trace("create_skeyid", category=ENGINE, conn=sa.conn_id)
        self._trace("skeyid_generated", sa)

    # ------------------------------------------------------------ responder: MM3 -> MM4
    def _mm3(self, sa: IkeSA, msg: K.IsakmpMessage, now: int) -> bytes | None:
        sa.gxi, sa.ni = self._ke_nonce(sa, msg)
        sa.dh = self._dh(sa.prop.group)
        sa.gxr = sa.dh.public_bytes()
        sa.nr = self.rng.randbytes(NONCE_SIZE)
        self._derive(sa)
        return K.IsakmpMessage(sa.icookie, sa.rcookie, K.EXCH_MAIN_MODE,
                               [K.KEPayload(sa.gxr), K.NoncePayload(sa.nr)]).encode()

    def _my_id(self, sa: IkeSA) -> K.IDPayload:
        # IOS identity: the interface address, protocol 17, port 500 (reference §3.3 "ID payload" dump, §4.9)
        return K.IDPayload.ipv4_address(sa.local, protocol=PROTO_UDP, port=ISAKMP_PORT)

    # ------------------------------------------------------------ initiator: MM4 -> MM5
    def _mm4(self, sa: IkeSA, msg: K.IsakmpMessage, now: int) -> bytes | None:
        sa.gxr, sa.nr = self._ke_nonce(sa, msg)
        self._derive(sa)
        my_id = self._my_id(sa)
        h = C.hash_i(sa.prop.hash, sa.k.skeyid, sa.gxi, sa.gxr, sa.icookie, sa.rcookie, sa.sai_b,
                     my_id.encode_body())
        payloads: list[K.Payload] = [my_id, K.HashPayload(h)]
        if self._first_contact(sa):
            # RFC 2407 §4.6.3.3: protocol ISAKMP, the two cookies as SPI; IOS sends it in MM5
            # ("Send initial contact" right before MM5, reference §3.3).
            self._trace("send_initial_contact", sa)
            payloads.append(K.NotificationPayload(K.INITIAL_CONTACT, K.PROTO_ISAKMP, sa.icookie + sa.rcookie,
                                                  b"", K.DOI_IPSEC))
        self._trace("psk_auth", sa)
        self._trace_id(sa, my_id, payloads[1])
        return self._encrypted(sa, K.EXCH_MAIN_MODE, 0, payloads)

    def _trace_id(self, sa: IkeSA, my_id: K.IDPayload, following: K.Payload) -> None:
        """The ID payload sent, as the debug dumps it: the next payload's type, the ID's fields, its length."""
        if not self._tracing():
            return
        body = my_id.encode_body()
        self._trace("id_payload", sa, next_payload=int(following.payload_type), id_type=int(my_id.id_type),
                    protocol=my_id.protocol, port=my_id.port, length=len(body), total=len(body) + 4)

    def _first_contact(self, sa: IkeSA) -> bool:
        """No other SA with this peer, ISAKMP or IPsec: this is the first contact.  (An IPsec SA that outlived
        its ISAKMP SA, after ``clear crypto isakmp``, is still in use: announcing a first contact would make
        the peer drop it.)"""
        if any(o is not sa and o.local == sa.local for o in self.peer_sas(sa.peer)):
            return False
        return not self.policy.has_ipsec_sas(sa.peer, sa.local)

    def _peer_auth(self, sa: IkeSA, msg: K.IsakmpMessage) -> list[K.Payload]:
        """MM5 / MM6: decrypt, check the peer's ID and HASH; the payloads read."""
        mid = 0
        iv = sa.c.iv(mid)
        try:
            payloads = self._open(sa, msg)
        except Bad:
            # Wrong keys decrypt to garbage whose payload header does not parse: IOS reports it as a
            # malformed payload (blissfulidiot.com 2009, a PIX/IOS debug: "ISAKMP: reserved not zero on
            # payload 5!" / "ISAKMP: malformed payload"; Cisco's note: "the ISAKMP keys do not match").
            raise Bad("reserved_not_zero", malformed=True, payload=msg.first_payload) from None
        ident = next((p for p in payloads if isinstance(p, K.IDPayload)), None)
        hp = next((p for p in payloads if isinstance(p, K.HashPayload)), None)
        if ident is None or hp is None:
            sa.c.set_iv(mid, iv)
            raise Bad("id_or_hash_missing", malformed=True)
        self._trace("processing", sa, payload="ID", mid=0)
        self._trace("processing", sa, payload="HASH", mid=0)
        hash_fn = C.hash_r if sa.initiator else C.hash_i
        want = hash_fn(sa.prop.hash, sa.k.skeyid, sa.gxi, sa.gxr, sa.icookie, sa.rcookie, sa.sai_b,
                       ident.wire_body())
        if hp.data != want:
            sa.c.set_iv(mid, iv)
            self._trace("sa_not_authenticated", sa)
            raise Bad("peer_hash_mismatch", malformed=True)
        self._trace("sa_authenticated", sa, peer=sa.peer)
        return payloads

    # ------------------------------------------------------------ responder: MM5 -> MM6
    def _mm5(self, sa: IkeSA, msg: K.IsakmpMessage, now: int) -> bytes | None:
        payloads = self._peer_auth(sa, msg)
        self._initial_contact(sa, payloads, now)
        my_id = self._my_id(sa)
        h = C.hash_r(sa.prop.hash, sa.k.skeyid, sa.gxi, sa.gxr, sa.icookie, sa.rcookie, sa.sai_b,
                     my_id.encode_body())
        self._trace("psk_auth", sa)
        self._trace_id(sa, my_id, K.HashPayload(h))
        self._established(sa, now)
        return self._encrypted(sa, K.EXCH_MAIN_MODE, 0, [my_id, K.HashPayload(h)])

    # ------------------------------------------------------------ initiator: MM6
    def _mm6(self, sa: IkeSA, msg: K.IsakmpMessage, now: int) -> bytes | None:
        payloads = self._peer_auth(sa, msg)
        self._initial_contact(sa, payloads, now)
        self._established(sa, now)
        return None

    def _initial_contact(self, sa: IkeSA, payloads: list[K.Payload], now: int) -> None:
        """INITIAL-CONTACT from an authenticated peer: every older SA with it is stale (RFC 2407 §4.6.3.3)."""
        if not any(isinstance(p, K.NotificationPayload) and p.notify_type == K.INITIAL_CONTACT for p in payloads):
            return
        self._trace("processing_notify", sa, name="INITIAL_CONTACT", protocol=K.PROTO_ISAKMP, spi=0, mid=0)
        self._trace("process_initial_contact", sa, local=sa.local, peer=sa.peer)
        for old in list(self.peer_sas(sa.peer)):
            if old is not sa and old.local == sa.local:
                self.delete_sa(old, "initial contact", now)
        self._events.append(InitialContact(sa.peer, sa.local, sa.conn_id))

    def _established(self, sa: IkeSA, now: int) -> None:
        sa.established_at = now
        self._unestablished.pop(sa.conn_id, None)
        sa.expires_at = self._arm(sa, now + sa.prop.lifetime * SECOND)
        sa.retransmit_at = None
        sa.retransmits = 0
        sa.dh = None  # the phase 1 DH secret is not needed any more
        self._trace("clear_dh", category=ENGINE, conn=sa.conn_id)
