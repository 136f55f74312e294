"""What every part of the IKE engine shares: its SAs, its output queue, its events, sending and deleting.

The exchanges (``main_mode``, ``quick_mode``, ``informational``) are classes
over this one; ``engine.IkeEngine`` puts them together behind one transition
table.
"""

from __future__ import annotations

import functools
import heapq
import random
from collections import deque
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any, Callable, TypeVar

from emulator.engines.ike import crypto as C
from emulator.engines.ike import dh as DH
from emulator.engines.ike.events import Category, IkeEvent, IkePolicy, Phase2Failed, Phase2Request, Syslog, Trace
from emulator.engines.ike.sa import IkeSA, MainModeState
from emulator.labtime import SECOND
from emulator.wire import isakmp as K
from emulator.wire.errors import DecodeError
from emulator.wire.udp import PORT_ISAKMP as ISAKMP_PORT

__all__ = ["EngineCore", "Bad", "Datagram", "RETRANSMIT_INTERVAL", "MAX_RETRANSMITS", "NONCE_SIZE",
           "DONE_QM_KEEP", "ZERO_COOKIE", "ISAKMP_PORT", "Admission", "DEFAULT_IN_NEGOTIATION",
           "IN_NEGOTIATION_PER_PEER"]

RETRANSMIT_INTERVAL = 10 * SECOND
MAX_RETRANSMITS = 5
NONCE_SIZE = 20
DONE_QM_KEEP = 120 * SECOND  # how long a finished quick mode still answers duplicates
ZERO_COOKIE = bytes(8)

# Half-open (in negotiation) ISAKMP SAs. IOS 12.3(8)T's ``crypto call admission limit ike
# in-negotiation-sa N`` caps them in total; without it this emulator caps them at DEFAULT_IN_NEGOTIATION
# (IOS's limit is then its memory), and always at IN_NEGOTIATION_PER_PEER with one peer address, so a
# flood of spoofed first messages holds a bounded number of SAs and retransmits a bounded number of times.
DEFAULT_IN_NEGOTIATION = 100
IN_NEGOTIATION_PER_PEER = 10

Datagram = tuple[IPv4Address, IPv4Address, int, int, bytes]   # (src, dst, sport, dport, payload)

ISAKMP, IPSEC, ENGINE = Category.ISAKMP, Category.IPSEC, Category.ENGINE


P = TypeVar("P", bound=K.Payload)


def first(msg: K.IsakmpMessage, cls: type[P]) -> P | None:
    """The first payload of a type in a message (typed)."""
    p = msg.first(cls)
    return p if isinstance(p, cls) else None


@dataclass
class Admission:
    """The counters of ``show crypto call admission statistics``."""

    incoming_accepted: int = 0
    incoming_rejected: int = 0
    outgoing_accepted: int = 0
    outgoing_rejected: int = 0
    rejected_sa_limit: int = 0


class Bad(Exception):
    """A message that fails its checks: dropped, counted, traced, state unchanged.

    ``kind`` names the trace (``fields`` its values); ``malformed`` says IOS
    logs ``%CRYPTO-4-IKMP_BAD_MESSAGE`` for it.
    """

    def __init__(self, kind: str, malformed: bool = False, **fields: object):
        super().__init__(kind)
        self.kind = kind
        self.malformed = malformed
        self.fields = fields


M = TypeVar("M", bound=Callable[..., Any])


def one_call(method: M) -> M:
    """An engine entry point (a datagram, a timer, a request): while it runs, ``_tracing`` asks the
    router's debug switches once per category (they do not change within one call)."""
    @functools.wraps(method)
    def wrapper(self: EngineCore, *args: Any, **kwargs: Any) -> Any:
        outer = self._traced_now
        self._traced_now = outer if outer is not None else {}
        try:
            return method(self, *args, **kwargs)
        finally:
            self._traced_now = outer
    return wrapper  # type: ignore[return-value]


class EngineCore:
    def __init__(self, policy: IkePolicy, rng: random.Random):
        self.policy = policy
        self.rng = rng
        self._sas: dict[tuple[bytes, IPv4Address], IkeSA] = {}
        # Every deadline ever set on an SA or one of its quick modes, as (time, conn id, SA): a heap whose
        # stale entries (the deadline moved or was cleared, the SA went) are dropped when they come up.
        self._deadlines: list[tuple[int, int, IkeSA]] = []
        self._by_peer: dict[IPv4Address, list[IkeSA]] = {}     # the same SAs by peer, oldest first
        self._unestablished: dict[int, IkeSA] = {}            # by conn id: those not yet past phase 1
        self._out: list[Datagram] = []
        self._events: deque[IkeEvent] = deque()
        self._next_conn_id = 1
        self.stats: dict[str, int] = {}
        self.admission = Admission()
        self.key_rows: list[str] = []     # Wireshark's ikev1_decryption_table rows, one per phase 1 SA
        self.key_log: list[C.Phase1KeyRecord] = []   # the same SAs' cookies, nonces and keys, for a key log
        # The trace categories someone reads (None: every one). A router sets it from its debug flags,
        # so that a hub negotiating with many peers without debug builds no trace events.
        self.traced: Callable[[Category], bool] | None = None
        # While the engine handles one call (a datagram, a timer, a request), ``traced``'s answers by
        # category: debug switches do not change within a call. None outside one (every answer asked).
        self._traced_now: dict[Category, bool] | None = None

    # ------------------------------------------------------------ output
    def next_event(self) -> IkeEvent | None:
        """The oldest event not yet taken, None when there is none."""
        return self._events.popleft() if self._events else None

    def datagrams_to_send(self, now: int | None = None) -> list[Datagram]:
        out, self._out = self._out, []
        return out

    def sas(self) -> list[IkeSA]:
        return sorted(self._sas.values(), key=lambda s: s.conn_id)

    # ------------------------------------------------------------ admission
    def in_negotiation_limit(self) -> int:
        """How many ISAKMP SAs may be in negotiation at once, in total."""
        configured = self.policy.in_negotiation_limit()
        return DEFAULT_IN_NEGOTIATION if configured is None else configured

    def negotiating(self, peer: IPv4Address | None = None) -> int:
        """ISAKMP SAs in negotiation (with ``peer``, or in all)."""
        return sum(1 for sa in self._unestablished.values()
                   if not sa.established and (peer is None or sa.peer == peer))

    def peer_sas(self, peer: IPv4Address) -> list[IkeSA]:
        """The ISAKMP SAs with ``peer``, by conn id."""
        return self._by_peer.get(peer, [])

    def _add_sa(self, sa: IkeSA) -> None:
        replaced = self._sas.get((sa.icookie, sa.peer))
        if replaced is not None:
            replaced.held = False
        self._sas[(sa.icookie, sa.peer)] = sa
        sa.held = True
        self._by_peer.setdefault(sa.peer, []).append(sa)
        self._unestablished[sa.conn_id] = sa

    def _admit(self, peer: IPv4Address, incoming: bool) -> bool:
        """Whether a new exchange with ``peer`` may begin; counted either way."""
        ok = (self.negotiating() < self.in_negotiation_limit()
              and self.negotiating(peer) < IN_NEGOTIATION_PER_PEER)
        if incoming:
            self.admission.incoming_accepted += ok
            self.admission.incoming_rejected += not ok
        else:
            self.admission.outgoing_accepted += ok
            self.admission.outgoing_rejected += not ok
        if not ok:
            self.admission.rejected_sa_limit += 1
            self._count("in-negotiation limit")
        return ok

    # ------------------------------------------------------------ events
    def _tracing(self, category: Category = ISAKMP) -> bool:
        """Whether traces of ``category`` are read (asked of ``traced`` once per category and call)."""
        now = self._traced_now
        if now is not None:
            on = now.get(category)
            if on is not None:
                return on
        on = self.traced is None or self.traced(category)
        if now is not None:
            now[category] = on
        return on

    def _trace(self, kind: str, sa: IkeSA | None = None, category: Category = ISAKMP, **fields: object) -> None:
        if self._tracing(category):
            self._record(category, kind, sa, fields)

    def _record(self, category: Category, kind: str, sa: IkeSA | None, fields: dict[str, object]) -> None:
        if sa is not None:
            fields["conn"] = sa.conn_id
        self._events.append(Trace(category, kind, fields))

    def _syslog(self, text: str) -> None:
        self._events.append(Syslog(text))

    def _bad_message_log(self, src: IPv4Address) -> None:
        # Reference §3.5: the message a responder logs when it cannot use (e.g. decrypt) an IKE message.
        self._syslog(f"%CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from {src} failed its sanity check or is malformed")

    def _count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1

    # ------------------------------------------------------------ sending
    def _send(self, sa: IkeSA, data: bytes | None, now: int | None = None, note: bool = True,
              arm: bool = True) -> None:
        """Queue ``data`` to the peer; ``arm`` keeps it as the message to retransmit (timed when ``now`` is given)."""
        if data is None:
            return
        self._out.append((sa.local, sa.peer, ISAKMP_PORT, ISAKMP_PORT, data))
        if note and self._tracing():
            self._record(ISAKMP, "sending", sa, {"peer": sa.peer, "role": sa.role, "state": sa.state})
        if arm:
            sa.last_sent = data
            if now is not None:
                sa.retransmits = 0
                sa.retransmit_at = self._arm(sa, now + RETRANSMIT_INTERVAL)
            else:
                sa.retransmit_at = None

    def _encrypted(self, sa: IkeSA, exchange: int, mid: int, payloads: list[K.Payload]) -> bytes:
        return self._encrypted_raw(sa, exchange, mid, K.encode_payloads(payloads), payloads[0].payload_type)

    def _encrypted_raw(self, sa: IkeSA, exchange: int, mid: int, chain: bytes, ptype: int = K.PT_HASH) -> bytes:
        """Encrypt a payload chain (first payload ``ptype``: HASH for quick mode and informational)."""
        ct = sa.c.encrypt(mid, chain)
        return K.message_bytes(sa.icookie, sa.rcookie, exchange, ptype, ct, K.FLAG_ENCRYPTION, mid)

    def _send_informational(self, sa: IkeSA, payload: K.Payload) -> None:
        mid = self._random_mid(sa)
        rest = payload.encode()
        h = C.informational_hash(sa.prop.hash, sa.k.skeyid_a, mid, rest)
        data = self._encrypted_raw(sa, K.EXCH_INFORMATIONAL, mid, K.HashPayload(h).encode(payload.payload_type) + rest)
        sa.c.forget(mid)
        self._out.append((sa.local, sa.peer, ISAKMP_PORT, ISAKMP_PORT, data))
        self._trace("sending", sa, peer=sa.peer, role=sa.role, state=MainModeState.QM_IDLE)

    def _open(self, sa: IkeSA, msg: K.IsakmpMessage) -> list[K.Payload]:
        """Decrypt an encrypted message; on any failure the IV is left as it was and ``Bad`` raised."""
        if not msg.encrypted or sa.cipher is None:
            raise Bad("expected_encrypted")
        cipher = sa.cipher
        mid = msg.message_id
        iv = cipher.iv(mid)
        try:
            return msg.open(lambda ct: cipher.decrypt(mid, ct))
        except (DecodeError, ValueError):
            # Wrong keys (a pre-shared key mismatch) read as garbage: the payload chain does not parse.
            cipher.set_iv(mid, iv)
            raise Bad("decrypt_failed", malformed=mid == 0, mid=mid) from None

    # ------------------------------------------------------------ helpers
    def _dh(self, group: int) -> DH.DHKeyPair:
        self._trace("generate_alg_parameter", category=ENGINE)
        kp = DH.generate_keypair(group, self.rng)
        self._trace("dh_phase1_status", category=ENGINE, status=0)
        return kp

    def _random_mid(self, sa: IkeSA | None = None) -> int:
        while True:
            mid = self.rng.getrandbits(32)
            if mid and (sa is None or mid not in sa.quick):
                return mid

    def _arm(self, sa: IkeSA, when: int) -> int:
        """Note ``when`` as a deadline of ``sa`` (its own or a quick mode's) for the timer; returns it."""
        heap = self._deadlines
        if len(heap) > 64 + 8 * len(self._sas):
            # Mostly stale (SAs deleted long before their lifetime ended): keep the live entries only.
            heap[:] = [entry for entry in heap if self._live(entry[0], entry[2])]
            heapq.heapify(heap)
        heapq.heappush(heap, (when, sa.conn_id, sa))
        return when

    def _live(self, when: int, sa: IkeSA) -> bool:
        """Whether a heap entry is still a deadline of an SA the engine holds."""
        if not sa.held:
            return False
        if when == sa.retransmit_at or when == sa.expires_at:
            return True
        return any(qm.retransmit_at == when for qm in sa.quick.values())

    def _conn_id(self) -> int:
        n = self._next_conn_id
        self._next_conn_id += 1
        return n

    # ------------------------------------------------------------ deletion
    def delete_sa(self, sa: IkeSA, reason: str, now: int, notify_peer: bool = False) -> None:
        """Remove an IKE SA (its IPsec SAs stay, reference §4.6/§4.11); pending requests fail."""
        if notify_peer and sa.established:
            self._send_informational(sa, K.DeletePayload(K.PROTO_ISAKMP, [sa.icookie + sa.rcookie], K.DOI_IPSEC))
        held = self._sas.pop((sa.icookie, sa.peer), None)
        if held is not None:
            held.held = False
        if held is sa:
            same_peer = self._by_peer[sa.peer]
            same_peer.remove(sa)
            if not same_peer:
                del self._by_peer[sa.peer]
            self._unestablished.pop(sa.conn_id, None)
        pending = list(sa.pending)
        sa.pending.clear()
        for qm in sa.quick.values():
            if qm.initiator and qm.request is not None and qm.done_at is None:
                pending.append(qm.request)
        sa.quick.clear()
        sa.state = MainModeState.DELETED
        for req in pending:
            self._fail(req, reason)

    def _fail(self, req: Phase2Request, reason: str) -> None:
        self._events.append(Phase2Failed(req, reason))
