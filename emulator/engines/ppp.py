"""PPP engine for a serial interface: RFC 1661 automaton, LCP and IPCP.

Sans-I/O, on a caller-supplied clock of integer nanoseconds (``emulator.labtime``):
feed ``receive_frame(frame, now)``, ``lower_up/lower_down`` (carrier),
``admin_open/admin_close`` (shutdown), and ``handle_timer(now)`` once
``now >= get_timer()``; after each call collect ``frames_to_send(now)``
(encoded RFC 1662 frames for the wire) and ``events()`` or, one at a time,
``next_event()`` (LinkOpened, IPCPOpened, IPPacket, ...): the engine
contract of ``emulator.sim.binding``. Nothing here reads a clock, sleeps,
or raises for bad input.
"""

from __future__ import annotations

import enum
import ipaddress
import random
from dataclasses import dataclass
from typing import Any, Callable

from emulator.labtime import SECOND
from emulator.wire.errors import DecodeError
from emulator.wire.ppp import (
    CODE_REJECT,
    CONFIGURE_ACK,
    CONFIGURE_CODES,
    CONFIGURE_NAK,
    CONFIGURE_REJECT,
    CONFIGURE_REQUEST,
    DISCARD_REQUEST,
    ECHO_REPLY,
    ECHO_REQUEST,
    IPCP_IP_ADDRESS,
    LCP_ACCM,
    LCP_ACFC,
    LCP_MAGIC_NUMBER,
    LCP_MRU,
    LCP_PFC,
    PPP_IP,
    PPP_IPCP,
    PPP_LCP,
    PROTOCOL_REJECT,
    TERMINATE_ACK,
    TERMINATE_REQUEST,
    ControlPacket,
    decode_control,
    decode_frame,
    encode_control,
    encode_frame,
    ip_option,
    option_ip,
    option_u16,
    option_u32,
    u16_option,
    u32_option,
)

IPv4Address = ipaddress.IPv4Address
Option = tuple[int, bytes]

__all__ = [
    "State", "Event", "Action", "TRANSITIONS", "Automaton",
    "PPPConfig", "PPPSession",
    "LinkOpened", "LinkClosed", "LinkFinished", "LoopDetected",
    "IPCPOpened", "IPCPClosed", "IPPacket", "ControlTraced", "LayerOpenTraced", "PhaseTraced",
    "DEFAULT_RESTART_INTERVAL", "MAX_CONFIGURE", "MAX_TERMINATE", "MAX_FAILURE",
    "DEFAULT_MRU",
]

# RFC 1661 §4.6 suggests a 3 s Restart timer; IOS uses 2 s.
DEFAULT_RESTART_INTERVAL = 2 * SECOND
MAX_TERMINATE = 2    # RFC 1661 §4.6
MAX_CONFIGURE = 10   # RFC 1661 §4.6
MAX_FAILURE = 5      # RFC 1661 §4.6
DEFAULT_MRU = 1500   # RFC 1661 §6.1


# ---------------------------------------------------------------------------
# The option negotiation automaton (RFC 1661 §4)


class State(enum.IntEnum):
    """RFC 1661 §4.2 states, numbered as in the §4.1 table."""

    INITIAL = 0
    STARTING = 1
    CLOSED = 2
    STOPPED = 3
    CLOSING = 4
    STOPPING = 5
    REQ_SENT = 6
    ACK_RCVD = 7
    ACK_SENT = 8
    OPENED = 9


class Event(enum.Enum):
    """RFC 1661 §4.3 events."""

    UP = "Up"
    DOWN = "Down"
    OPEN = "Open"
    CLOSE = "Close"
    TO_PLUS = "TO+"
    TO_MINUS = "TO-"
    RCR_PLUS = "RCR+"
    RCR_MINUS = "RCR-"
    RCA = "RCA"
    RCN = "RCN"
    RTR = "RTR"
    RTA = "RTA"
    RUC = "RUC"
    RXJ_PLUS = "RXJ+"
    RXJ_MINUS = "RXJ-"
    RXR = "RXR"


class Action(enum.Enum):
    """RFC 1661 §4.4 actions."""

    TLU = "tlu"   # This-Layer-Up
    TLD = "tld"   # This-Layer-Down
    TLS = "tls"   # This-Layer-Started
    TLF = "tlf"   # This-Layer-Finished
    IRC = "irc"   # Initialize-Restart-Count
    ZRC = "zrc"   # Zero-Restart-Count
    SCR = "scr"   # Send-Configure-Request
    SCA = "sca"   # Send-Configure-Ack
    SCN = "scn"   # Send-Configure-Nak/Rej
    STR = "str"   # Send-Terminate-Request
    STA = "sta"   # Send-Terminate-Ack
    SCJ = "scj"   # Send-Code-Reject
    SER = "ser"   # Send-Echo-Reply


# RFC 1661 §4.1, one row per event, one cell per state 0..9 ("-": the event
# cannot occur; it is ignored). Footnotes: "r" (restart option) and "p"
# (passive option) take their default, plain behaviour; "x" (crossed
# connection) needs nothing special.
_TABLE = """
      Initial Starting  Closed Stopped        Closing  Stopping Req-Sent  Ack-Rcvd  Ack-Sent   Opened
Up    2       irc,scr/6 -      -              -        -        -         -         -          -
Down  -       -         0      tls/1          0        1        1         1         1          tld/1
Open  tls/1   1         irc,scr/6 3           5        5        6         7         8          9
Close 0       tlf/0     2      2              4        4        irc,str/4 irc,str/4 irc,str/4  tld,irc,str/4
TO+   -       -         -      -              str/4    str/5    scr/6     scr/6     scr/8      -
TO-   -       -         -      -              tlf/2    tlf/3    tlf/3     tlf/3     tlf/3      -
RCR+  -       -         sta/2  irc,scr,sca/8  4        5        sca/8     sca,tlu/9 sca/8      tld,scr,sca/8
RCR-  -       -         sta/2  irc,scr,scn/6  4        5        scn/6     scn/7     scn/6      tld,scr,scn/6
RCA   -       -         sta/2  sta/3          4        5        irc/7     scr/6     irc,tlu/9  tld,scr/6
RCN   -       -         sta/2  sta/3          4        5        irc,scr/6 scr/6     irc,scr/8  tld,scr/6
RTR   -       -         sta/2  sta/3          sta/4    sta/5    sta/6     sta/6     sta/6      tld,zrc,sta/5
RTA   -       -         2      3              tlf/2    tlf/3    6         6         8          tld,scr/6
RUC   -       -         scj/2  scj/3          scj/4    scj/5    scj/6     scj/7     scj/8      scj/9
RXJ+  -       -         2      3              4        5        6         6         8          9
RXJ-  -       -         tlf/2  tlf/3          tlf/2    tlf/3    tlf/3     tlf/3     tlf/3      tld,irc,str/5
RXR   -       -         2      3              4        5        6         7         8          ser/9
"""


def _parse_table(text: str) -> dict[tuple[State, Event], tuple[tuple[Action, ...], State]]:
    table = {}
    lines = [ln.split() for ln in text.strip().splitlines()]
    for row in lines[1:]:
        event = Event(row[0])
        assert len(row) == 11, row
        for state, cell in zip(State, row[1:], strict=True):
            if cell == "-":
                continue
            acts, _, nxt = cell.rpartition("/")
            actions = tuple(Action(a) for a in acts.split(",")) if acts else ()
            table[(state, event)] = (actions, State(int(nxt)))
    return table


#: (state, event) -> (actions in order, next state); absent pairs are illegal.
TRANSITIONS = _parse_table(_TABLE)

# RFC 1661 §4.1: the Restart timer runs only in these states.
_TIMER_STATES = frozenset((State.CLOSING, State.STOPPING, State.REQ_SENT,
                           State.ACK_RCVD, State.ACK_SENT))
_DOWN_STATES = frozenset((State.INITIAL, State.STARTING, State.CLOSED, State.STOPPED))


class Automaton:
    """One RFC 1661 automaton (LCP or an NCP).

    The automaton keeps the state, the restart timer and the counters (irc,
    zrc and the timer are done here); every other action is handed to
    ``perform(action, now)`` in table order, after ``state`` has been set to
    the next state. ``on_state(old, new, now)`` is called after a change.
    """

    def __init__(self, name: str,
                 perform: Callable[[Action, int], None] | None = None, *,
                 restart_interval: int = DEFAULT_RESTART_INTERVAL,
                 max_configure: int = MAX_CONFIGURE,
                 max_terminate: int = MAX_TERMINATE,
                 max_failure: int = MAX_FAILURE,
                 on_state: Callable[[State, State, int], None] | None = None):
        self.name = name
        self.perform = perform or (lambda action, now: None)
        self.on_state = on_state
        self.restart_interval = restart_interval
        self.max_configure = max_configure
        self.max_terminate = max_terminate
        self.max_failure = max_failure
        self.state = State.INITIAL
        self.restart_count = 0
        self.failure_count = max_failure  # Naks we may still send (§4.6)
        self.deadline: int | None = None
        self.illegal_events = 0
        self.acting_from: State | None = None  # state the current event hit

    def event(self, event: Event, now: int) -> bool:
        """Apply ``event``; False (and nothing done) if illegal in this state."""
        entry = TRANSITIONS.get((self.state, event))
        if entry is None:
            self.illegal_events += 1
            return False
        actions, nxt = entry
        old = self.state
        self.state = nxt
        self.acting_from = old
        for action in actions:
            if action is Action.IRC:
                # §4.4: Max-Terminate before a Terminate-Request, else Max-Configure.
                if Action.STR in actions:
                    self.restart_count = self.max_terminate
                else:
                    self.restart_count = self.max_configure
                    self.failure_count = self.max_failure
            elif action is Action.ZRC:
                self.restart_count = 0
                self.deadline = now + self.restart_interval
            elif action is Action.SCR or action is Action.STR:
                # §4.6: each transmission decrements the counter, (re)starts the timer.
                self.restart_count = max(0, self.restart_count - 1)
                self.deadline = now + self.restart_interval
                self.perform(action, now)
            else:
                self.perform(action, now)
        self.acting_from = None
        if self.state not in _TIMER_STATES:
            self.deadline = None
        if old != self.state and self.on_state is not None:
            self.on_state(old, self.state, now)
        return True

    def get_timer(self) -> int | None:
        return self.deadline

    def handle_timer(self, now: int) -> None:
        if self.deadline is not None and now >= self.deadline:
            self.deadline = None
            self.event(Event.TO_PLUS if self.restart_count > 0 else Event.TO_MINUS, now)


# ---------------------------------------------------------------------------
# Events handed to the owner


@dataclass(frozen=True, slots=True)
class LinkOpened:
    """LCP reached Opened (line protocol up)."""
    peer_mru: int


@dataclass(frozen=True, slots=True)
class LinkClosed:
    """LCP left Opened."""
    reason: str


@dataclass(frozen=True, slots=True)
class LinkFinished:
    """LCP This-Layer-Finished (RFC 1661 §4.4): negotiation gave up (Max-
    Configure/Max-Terminate exhausted, fatal reject) or a Close completed."""
    reason: str


@dataclass(frozen=True, slots=True)
class LoopDetected:
    """Our own Magic-Number came back (RFC 1661 §6.4): link looped."""


@dataclass(frozen=True, slots=True)
class IPCPOpened:
    local_address: IPv4Address | None
    peer_address: IPv4Address | None


@dataclass(frozen=True, slots=True)
class IPCPClosed:
    reason: str


@dataclass(frozen=True, slots=True)
class IPPacket:
    payload: bytes


@dataclass(frozen=True, slots=True)
class ControlTraced:
    """A control packet sent ("O") or received ("I"), for ``debug ppp negotiation``.

    ``state`` is the state the packet found (IOS prints that one); ``options``
    are the packet's options when it is a Configure-* packet.
    """
    layer: str
    direction: str
    code: int
    state: State
    identifier: int
    length: int
    protocol: int
    options: tuple[Option, ...]


@dataclass(frozen=True, slots=True)
class LayerOpenTraced:
    """A layer (LCP, IPCP) reached Opened, for ``debug ppp negotiation``."""
    layer: str


@dataclass(frozen=True, slots=True)
class PhaseTraced:
    """The link entered a phase (RFC 1661 §3.2: ESTABLISHING, UP), for ``debug ppp negotiation``;
    ``how``: "Active Open" when this end's request began LCP, "Passive Open" when the peer's did."""
    phase: str
    how: str = ""


# The LCP states a Configure-Request leaves when a negotiation begins, and how it began.
_ESTABLISHING = {State.STARTING: "Active Open", State.CLOSED: "Active Open", State.STOPPED: "Passive Open",
                 State.OPENED: ""}


# ---------------------------------------------------------------------------
# Configuration


@dataclass
class PPPConfig:
    """Per-interface PPP settings.

    Addresses: ``local_address`` set = ``ip address A M``; ``None`` with
    ``negotiate_address=True`` = ``ip address negotiated``. The owner hands
    out the peer's address through ``peer_address_provider()`` (e.g. from an
    ``ip local pool``), called at most once per IPCP negotiation and only
    when the peer asks for one (requests 0.0.0.0); the address comes back
    through ``peer_address_release(addr)`` once IPCP is down.
    """

    local_address: IPv4Address | str | None = None
    negotiate_address: bool = False
    peer_address_provider: Callable[[], Any] | None = None
    peer_address_release: Callable[[IPv4Address], None] | None = None
    mru: int = DEFAULT_MRU
    restart_interval: int = DEFAULT_RESTART_INTERVAL
    max_configure: int = MAX_CONFIGURE
    max_terminate: int = MAX_TERMINATE
    max_failure: int = MAX_FAILURE
    # IOS "keepalive 10": LCP Echo-Request every period; None disables.
    keepalive: int | None = 10 * SECOND
    keepalive_max_missed: int = 5
    # IOS keeps retrying a failed link; RFC 1661 leaves it to the
    # implementation (§4.4 tlf). After LCP tlf with carrier up and the
    # interface open, restart LCP after this delay; None = stay Stopped.
    lcp_retry_after: int | None = 10 * SECOND
    ipcp_enabled: bool = True
    # Report control packets and layers opening as trace events (for "debug ppp negotiation").
    trace: bool = False


# ---------------------------------------------------------------------------
# Control protocols


class _ControlProtocol:
    """Packet side of one automaton: identifiers, option checks, replies."""

    protocol = 0
    layer = ""

    def __init__(self, session: "PPPSession"):
        cfg = session.config
        self.session = session
        self.fsm = Automaton(self.layer, self._perform,
                             restart_interval=cfg.restart_interval,
                             max_configure=cfg.max_configure,
                             max_terminate=cfg.max_terminate,
                             max_failure=cfg.max_failure,
                             on_state=self._on_state)
        self._ident = 0
        self._req_id = -1
        self._last_req: tuple[Option, ...] = ()
        self._awaiting = False          # a reply to _req_id is still wanted
        self._rx: ControlPacket | None = None
        self._rx_raw = b""
        self._response: ControlPacket | None = None
        self.peer_options: tuple[Option, ...] = ()   # peer's request we acked
        self.acked_options: tuple[Option, ...] = ()  # our request it acked
        self.discarded = 0

    # -- hooks for subclasses --------------------------------------------
    def request_options(self) -> list[Option]:
        return []

    def check_option(self, typ: int, value: bytes) -> tuple[str, bytes]:
        """Verdict for one peer option: ("ack"|"nak"|"rej", nak value)."""
        return "rej", value

    def apply_nak(self, typ: int, value: bytes) -> None:
        pass

    def apply_reject(self, typ: int, value: bytes) -> None:
        pass

    def reset_options(self) -> None:
        """Back to configured wishes (on entering a down state)."""

    def this_layer_up(self, now: int) -> None:
        pass

    def this_layer_down(self, now: int) -> None:
        pass

    def this_layer_finished(self, now: int) -> None:
        pass

    def receive_other(self, pkt: ControlPacket, now: int) -> None:
        """Codes beyond the common 1-7; default: unknown code."""
        self.fsm.event(Event.RUC, now)

    # -- helpers ---------------------------------------------------------
    def next_id(self) -> int:
        self._ident = (self._ident + 1) & 0xFF
        return self._ident

    def send(self, pkt: ControlPacket) -> None:
        self.session._send_control(self, pkt)

    def _on_state(self, old: State, new: State, now: int) -> None:
        if new in _DOWN_STATES:
            self._awaiting = False
            self.reset_options()

    # -- receive -----------------------------------------------------------
    def receive(self, pkt: ControlPacket, raw: bytes, now: int) -> None:
        self._rx, self._rx_raw = pkt, raw
        fsm, code = self.fsm, pkt.code
        if code == CONFIGURE_REQUEST:
            if fsm.state in (State.STOPPED, State.REQ_SENT, State.ACK_RCVD,
                             State.ACK_SENT, State.OPENED):
                self._response = self._build_response(pkt)
                good = self._response.code == CONFIGURE_ACK
            else:
                good = True  # rows for the other states do not depend on it
            fsm.event(Event.RCR_PLUS if good else Event.RCR_MINUS, now)
        elif code in (CONFIGURE_ACK, CONFIGURE_NAK, CONFIGURE_REJECT):
            if fsm.state in (State.CLOSED, State.STOPPED):
                fsm.event(Event.RCA if code == CONFIGURE_ACK else Event.RCN, now)
                return
            # RFC 1661 §5.2-5.4: must answer our current request, else discard.
            if not self._awaiting or pkt.identifier != self._req_id:
                self.discarded += 1
                return
            if code == CONFIGURE_ACK:
                if pkt.options != self._last_req:
                    self.discarded += 1
                    return
                self._awaiting = False
                self.acked_options = pkt.options
                fsm.event(Event.RCA, now)
                return
            if code == CONFIGURE_REJECT:
                if any(opt not in self._last_req for opt in pkt.options):
                    self.discarded += 1  # §5.4: must be a subset of our request
                    return
                for typ, value in pkt.options:
                    self.apply_reject(typ, value)
            else:
                for typ, value in pkt.options:
                    self.apply_nak(typ, value)
            self._awaiting = False
            fsm.event(Event.RCN, now)
        elif code == TERMINATE_REQUEST:
            fsm.event(Event.RTR, now)
        elif code == TERMINATE_ACK:
            fsm.event(Event.RTA, now)
        elif code == CODE_REJECT:
            # §5.6: rejecting a code the automaton needs (1-7) is fatal.
            rejected = pkt.data[0] if pkt.data else 0
            fatal = CONFIGURE_REQUEST <= rejected <= CODE_REJECT
            fsm.event(Event.RXJ_MINUS if fatal else Event.RXJ_PLUS, now)
        else:
            self.receive_other(pkt, now)

    def _build_response(self, req: ControlPacket) -> ControlPacket:
        """Configure-Ack/Nak/Reject for a request (RFC 1661 §5.1-5.4)."""
        naks: list[tuple[Option, Option]] = []
        rejects: list[Option] = []
        for typ, value in req.options:
            verdict, suggestion = self.check_option(typ, value)
            if verdict == "rej":
                rejects.append((typ, value))
            elif verdict == "nak":
                naks.append(((typ, value), (typ, suggestion)))
        if naks and not rejects and self.fsm.failure_count <= 0:
            # §4.6 Max-Failure: stop Nak-ing, reject those options instead.
            rejects = [orig for orig, _ in naks]
        if rejects:
            return ControlPacket(CONFIGURE_REJECT, req.identifier, options=tuple(rejects))
        if naks:
            return ControlPacket(CONFIGURE_NAK, req.identifier,
                                 options=tuple(sug for _, sug in naks))
        return ControlPacket(CONFIGURE_ACK, req.identifier, options=req.options)

    # -- actions -----------------------------------------------------------
    def _perform(self, action: Action, now: int) -> None:
        if action is Action.SCR:
            self._req_id = self.next_id()
            self._last_req = tuple(self.request_options())
            self._awaiting = True
            self.send(ControlPacket(CONFIGURE_REQUEST, self._req_id, options=self._last_req))
        elif action is Action.SCA:
            resp = self._response
            if resp is not None:
                self.peer_options = resp.options
                self.fsm.failure_count = self.fsm.max_failure
                self.send(resp)
        elif action is Action.SCN:
            resp = self._response
            if resp is not None:
                if resp.code == CONFIGURE_NAK:
                    self.fsm.failure_count -= 1
                self.send(resp)
        elif action is Action.STR:
            self.send(ControlPacket(TERMINATE_REQUEST, self.next_id()))
        elif action is Action.STA:
            ident = self._rx.identifier if self._rx is not None else self.next_id()
            self.send(ControlPacket(TERMINATE_ACK, ident))
        elif action is Action.SCJ:
            # §5.6: the rejected packet, truncated to the peer's MRU.
            room = self.session.peer_mru - 4
            self.send(ControlPacket(CODE_REJECT, self.next_id(), self._rx_raw[:room]))
        elif action is Action.SER:
            self.send_echo_reply(now)
        elif action is Action.TLU:
            self.this_layer_up(now)
        elif action is Action.TLD:
            self.this_layer_down(now)
        elif action is Action.TLF:
            self.this_layer_finished(now)
        # TLS: the lower layer is the carrier (LCP) or LCP itself (NCP),
        # both driven by the owner; nothing to do.

    def send_echo_reply(self, now: int) -> None:
        pass


class _LCP(_ControlProtocol):
    protocol = PPP_LCP
    layer = "LCP"

    def __init__(self, session: "PPPSession"):
        super().__init__(session)
        self.magic = session._new_magic()
        self.local_magic = 0        # our magic once acked (0 = not negotiated)
        self.peer_magic = 0
        self.peer_mru = DEFAULT_MRU
        self._want_magic = True
        self._want_mru: int | None = None
        self.collisions = 0
        self.reset_options()

    def reset_options(self) -> None:
        mru = self.session.config.mru
        self._want_mru = None if mru == DEFAULT_MRU else mru
        self._want_magic = True

    def request_options(self) -> list[Option]:
        # IOS asks for a Magic-Number only (and MRU when not the default).
        opts = []
        if self._want_mru is not None:
            opts.append(u16_option(LCP_MRU, self._want_mru))
        if self._want_magic:
            opts.append(u32_option(LCP_MAGIC_NUMBER, self.magic))
        return opts

    def check_option(self, typ: int, value: bytes) -> tuple[str, bytes]:
        if typ == LCP_MRU and (mru := option_u16(value)) is not None:   # §6.1 (None: not 2 bytes)
            return ("ack", value) if mru >= 64 else ("nak", DEFAULT_MRU.to_bytes(2, "big"))
        if typ == LCP_ACCM and len(value) == 4:                     # RFC 1662 §7.1
            return "ack", value
        if typ == LCP_MAGIC_NUMBER and len(value) == 4:             # §6.4
            magic = option_u32(value)
            if magic == 0:
                return "nak", self.session._new_magic().to_bytes(4, "big")
            if self._want_magic and magic == self.magic:
                self._collision()
                return "nak", self.session._new_magic().to_bytes(4, "big")
            return "ack", value
        if typ in (LCP_PFC, LCP_ACFC) and not value:                # §6.5, §6.6
            # The peer can receive compressed frames; we just never send them.
            return "ack", value
        # Authentication-Protocol (not configured), Quality-Protocol, unknown.
        return "rej", value

    def _collision(self) -> None:
        self.collisions += 1
        if self.collisions >= 3 and not self.session.looped:
            self.session.looped = True
            self.session._event(LoopDetected())

    def apply_nak(self, typ: int, value: bytes) -> None:
        if typ == LCP_MAGIC_NUMBER:
            self.magic = self.session._new_magic()  # §6.4: MUST pick a new one
        elif typ == LCP_MRU and (mru := option_u16(value)) is not None and mru >= 64:
            self._want_mru = mru

    def apply_reject(self, typ: int, value: bytes) -> None:
        if typ == LCP_MAGIC_NUMBER:
            self._want_magic = False
        elif typ == LCP_MRU:
            self._want_mru = None

    def this_layer_up(self, now: int) -> None:
        peer = dict(self.peer_options)
        mine = dict(self.acked_options)
        self.peer_mru = option_u16(peer.get(LCP_MRU, b"")) or DEFAULT_MRU
        self.peer_magic = option_u32(peer.get(LCP_MAGIC_NUMBER, b"")) or 0
        self.local_magic = option_u32(mine.get(LCP_MAGIC_NUMBER, b"")) or 0
        self.collisions = 0
        self.session._lcp_up(now)

    def this_layer_down(self, now: int) -> None:
        self.session._lcp_down(now)

    def this_layer_finished(self, now: int) -> None:
        self.session._lcp_finished(now)

    def receive(self, pkt: ControlPacket, raw: bytes, now: int) -> None:
        if pkt.code == CODE_REJECT and pkt.data[:1] == bytes((ECHO_REQUEST,)):
            self.session._echo_rejected = True  # peer has no echo: stop keepalives
        super().receive(pkt, raw, now)

    def receive_other(self, pkt: ControlPacket, now: int) -> None:
        code = pkt.code
        if code == PROTOCOL_REJECT:
            self.session._protocol_rejected(int.from_bytes(pkt.data[:2], "big"), now)
        elif code in (ECHO_REQUEST, ECHO_REPLY, DISCARD_REQUEST):
            if self.fsm.state == State.OPENED:
                magic = pkt.magic
                if magic and magic == self.local_magic:
                    self._collision()  # our own echo came back
                if code == ECHO_REPLY:
                    self.session._echo_missed = 0
            self.fsm.event(Event.RXR, now)
        else:
            self.fsm.event(Event.RUC, now)

    def send_echo_reply(self, now: int) -> None:
        rx = self._rx
        if rx is not None and rx.code == ECHO_REQUEST:
            # §5.8: same identifier and data, our Magic-Number.
            self.send(ControlPacket(ECHO_REPLY, rx.identifier,
                                    self.local_magic.to_bytes(4, "big") + rx.data[4:]))


class _IPCP(_ControlProtocol):
    """IPCP (RFC 1332) with IOS-like address handling.

    Peer's IP-Address option (RFC 1332 §3.3):
    * 0.0.0.0: Nak with the provider's address; with no provider (or an
      exhausted pool) Configure-Reject it, so the peer opens without one
      rather than Nak-looping to Max-Failure.
    * non-zero, after we assigned one this negotiation: Ack if equal, else
      Nak with the assigned address.
    * non-zero, nothing assigned (a peer with a fixed address): Ack.
    * absent: accept (we do not push an address on a peer that asks none).
    IP-Compression-Protocol and all other options are rejected (no VJ).
    """

    protocol = PPP_IPCP
    layer = "IPCP"

    def __init__(self, session: "PPPSession"):
        super().__init__(session)
        cfg = session.config
        self._configured = (IPv4Address(cfg.local_address)
                            if cfg.local_address is not None else None)
        self.assigned: IPv4Address | None = None
        self.local_address: IPv4Address | None = None
        self.peer_address: IPv4Address | None = None
        self.reset_options()

    def reset_options(self) -> None:
        cfg = self.session.config
        self._want_addr = self._configured is not None or cfg.negotiate_address
        self._req_addr = self._configured or IPv4Address(0)
        self._release()

    def _release(self) -> None:
        if self.assigned is not None:
            addr, self.assigned = self.assigned, None
            release = self.session.config.peer_address_release
            if release is not None:
                release(addr)

    def _assign(self) -> IPv4Address | None:
        provider = self.session.config.peer_address_provider
        if self.assigned is None and provider is not None:
            addr = provider()
            if addr is not None:
                self.assigned = IPv4Address(addr)
        return self.assigned

    def request_options(self) -> list[Option]:
        return [ip_option(self._req_addr)] if self._want_addr else []

    def check_option(self, typ: int, value: bytes) -> tuple[str, bytes]:
        if typ == IPCP_IP_ADDRESS and (addr := option_ip(value)) is not None:   # None: not 4 bytes
            if int(addr) == 0:
                assigned = self._assign()
                return ("nak", assigned.packed) if assigned else ("rej", value)
            if self.assigned is not None and addr != self.assigned:
                return "nak", self.assigned.packed
            return "ack", value
        return "rej", value

    def apply_nak(self, typ: int, value: bytes) -> None:
        # Only an end configured "ip address negotiated" takes the hint.
        if typ == IPCP_IP_ADDRESS and (addr := option_ip(value)) is not None and self._configured is None \
                and self.session.config.negotiate_address and addr != IPv4Address(0):
            self._req_addr = addr
            self._want_addr = True

    def apply_reject(self, typ: int, value: bytes) -> None:
        if typ == IPCP_IP_ADDRESS:
            self._want_addr = False

    def this_layer_up(self, now: int) -> None:
        mine = dict(self.acked_options).get(IPCP_IP_ADDRESS)
        peer = dict(self.peer_options).get(IPCP_IP_ADDRESS)
        local = option_ip(mine) if mine is not None else None
        remote = option_ip(peer) if peer is not None else None
        self.local_address = local if local is not None and int(local) else None
        self.peer_address = remote if remote is not None and int(remote) else None
        self.session._trace_open(self.layer)
        self.session._event(IPCPOpened(self.local_address, self.peer_address))

    def this_layer_down(self, now: int) -> None:
        self.local_address = self.peer_address = None
        self.session._event(IPCPClosed(self.session._down_reason or "IPCP down"))


# ---------------------------------------------------------------------------
# The session


class PPPSession:
    """PPP on one serial end: LCP + IPCP + keepalives, sans-I/O.

    Outgoing frames accumulate until ``frames_to_send()``; events until
    ``events()``. ``send_ip`` returns a framed packet directly (it is not
    queued). Bad frames never raise: they count in ``input_errors`` with
    the reason in ``last_error``.
    """

    def __init__(self, config: PPPConfig | None = None, rng: Any = None,
                 now: int = 0):
        self.config = config or PPPConfig()
        self.rng = rng if rng is not None else random.Random(0)
        self.now = now
        self.looped = False
        self.input_errors = 0
        self.last_error: str | None = None
        self.frames_in = self.frames_out = 0
        self.protocol_rejects_sent = 0
        self.ip_dropped = 0
        self._out: list[bytes] = []
        self._events: list[Any] = []
        self._lower = False
        self._admin = False
        self._down_reason: str | None = None
        self._echo_missed = 0
        self._echo_rejected = False
        self._ka_deadline: int | None = None
        self._retry_deadline: int | None = None
        self.lcp = _LCP(self)
        self.ipcp = _IPCP(self)

    # -- owner inputs --------------------------------------------------------
    def lower_up(self, now: int) -> None:
        """Carrier up (RFC 1661 §4.3 Up)."""
        self.now = now
        if not self._lower:
            self._lower = True
            self.looped = False
            self.lcp.collisions = 0
            self.lcp.fsm.event(Event.UP, now)

    def lower_down(self, now: int) -> None:
        """Carrier lost (Down)."""
        self.now = now
        if self._lower:
            self._lower = False
            self._retry_deadline = None
            self._with_reason("carrier down", self.lcp.fsm.event, Event.DOWN, now)

    def admin_open(self, now: int) -> None:
        """``no shutdown``: Open LCP and IPCP (IPCP waits for LCP)."""
        self.now = now
        self._admin = True
        self.lcp.fsm.event(Event.OPEN, now)
        if self.config.ipcp_enabled:
            self.ipcp.fsm.event(Event.OPEN, now)

    def admin_close(self, now: int) -> None:
        """``shutdown``: Close IPCP then LCP (Terminate-Requests go out)."""
        self.now = now
        self._admin = False
        self._retry_deadline = None
        if self.config.ipcp_enabled:
            self._with_reason("administratively closed", self.ipcp.fsm.event, Event.CLOSE, now)
        self._with_reason("administratively closed", self.lcp.fsm.event, Event.CLOSE, now)

    def receive_frame(self, frame: bytes, now: int) -> None:
        info = self.take_ip(frame, now)
        if info is not None:
            self._event(IPPacket(info))

    def take_ip(self, frame: bytes, now: int) -> bytes | None:
        """``receive_frame``, except that an IP packet it takes is returned, not reported as an
        ``IPPacket`` event: it changes nothing else in the engine (no output, no event, no deadline),
        so the owner of a link hands it on without flushing the engine."""
        self.now = now
        try:
            f = decode_frame(frame)
        except DecodeError as exc:
            self._bad(exc)
            return None
        self.frames_in += 1
        if not self._lower:
            return None
        proto, info = f.protocol, f.information
        if proto == PPP_LCP:
            self._receive_control(self.lcp, info, now)
            return None
        # RFC 1661 §3.4: non-LCP packets before LCP is Opened are dropped.
        if self.lcp.fsm.state != State.OPENED:
            return None
        if proto == PPP_IPCP and self.config.ipcp_enabled:
            self._receive_control(self.ipcp, info, now)
        elif proto == PPP_IP and self.config.ipcp_enabled:
            if self.ipcp.fsm.state == State.OPENED:
                return info
            else:
                self.ip_dropped += 1  # RFC 1661 §3.6: NCP not Opened
        else:
            # RFC 1661 §5.7: Protocol-Reject, info truncated to the peer's MRU.
            self.protocol_rejects_sent += 1
            data = proto.to_bytes(2, "big") + info[:self.peer_mru - 6]
            self.lcp.send(ControlPacket(PROTOCOL_REJECT, self.lcp.next_id(), data))
        return None

    def handle_timer(self, now: int) -> None:
        self.now = now
        self.lcp.fsm.handle_timer(now)
        self.ipcp.fsm.handle_timer(now)
        if self._ka_deadline is not None and now >= self._ka_deadline:
            self._keepalive(now)
        if self._retry_deadline is not None and now >= self._retry_deadline:
            self._retry_deadline = None
            if self._lower and self._admin and self.lcp.fsm.state == State.STOPPED:
                self.lcp.fsm.event(Event.DOWN, now)
                self.lcp.fsm.event(Event.UP, now)

    # -- owner outputs -------------------------------------------------------
    def get_timer(self) -> int | None:
        times = [t for t in (self.lcp.fsm.deadline, self.ipcp.fsm.deadline,
                             self._ka_deadline, self._retry_deadline) if t is not None]
        return min(times) if times else None

    def frames_to_send(self, now: int | None = None) -> list[bytes]:
        """The frames queued since the last call (``now`` is accepted for the engine contract)."""
        out, self._out = self._out, []
        return out

    def events(self) -> list[Any]:
        ev, self._events = self._events, []
        return ev

    def next_event(self) -> Any | None:
        """The oldest event not yet collected, or None."""
        return self._events.pop(0) if self._events else None

    def send_ip(self, packet: bytes) -> bytes | None:
        """The frame carrying an IPv4 packet, or None unless IPCP is Opened."""
        if not self._lower or self.ipcp.fsm.state != State.OPENED:
            return None
        self.frames_out += 1
        return encode_frame(PPP_IP, packet)

    # -- state for show commands -------------------------------------------
    @property
    def lcp_state(self) -> State:
        return self.lcp.fsm.state

    @property
    def ipcp_state(self) -> State:
        return self.ipcp.fsm.state

    @property
    def lcp_open(self) -> bool:
        return self.lcp.fsm.state == State.OPENED

    @property
    def ipcp_open(self) -> bool:
        return self.ipcp.fsm.state == State.OPENED

    def open_ncps(self) -> list[str]:
        """NCPs in Opened, for "Open: IPCP"."""
        return ["IPCP"] if self.ipcp_open else []

    @property
    def local_address(self) -> IPv4Address | None:
        return self.ipcp.local_address

    @property
    def peer_address(self) -> IPv4Address | None:
        return self.ipcp.peer_address

    @property
    def peer_mru(self) -> int:
        return self.lcp.peer_mru

    @property
    def magic(self) -> int:
        return self.lcp.magic

    # -- internals -----------------------------------------------------------
    def _new_magic(self) -> int:
        while True:  # RFC 1661 §6.4: zero is not a valid Magic-Number
            magic = self.rng.getrandbits(32)
            if magic:
                return magic

    def _event(self, event: Any) -> None:
        self._events.append(event)

    def _bad(self, exc: DecodeError) -> None:
        self.input_errors += 1
        self.last_error = str(exc)

    def _with_reason(self, reason: str, fn: Callable[..., object], *args: Any) -> None:
        prev, self._down_reason = self._down_reason, reason
        try:
            fn(*args)
        finally:
            self._down_reason = prev

    def _receive_control(self, cp: _ControlProtocol, info: bytes, now: int) -> None:
        try:
            pkt = decode_control(info, cp.protocol)
        except DecodeError as exc:
            self._bad(exc)
            return
        length = int.from_bytes(info[2:4], "big")
        self._trace(cp, "I", pkt, length)
        cp.receive(pkt, bytes(info[:length]), now)

    def _send_control(self, cp: _ControlProtocol, pkt: ControlPacket) -> None:
        if not self._lower:
            return
        if cp.protocol != PPP_LCP and self.lcp.fsm.state != State.OPENED:
            return  # RFC 1661 §3.4: NCP packets need LCP Opened
        body = encode_control(pkt)
        self._trace(cp, "O", pkt, len(body))
        self.frames_out += 1
        self._out.append(encode_frame(cp.protocol, body))

    def _trace(self, cp: _ControlProtocol, direction: str, pkt: ControlPacket,
               length: int) -> None:
        if not self.config.trace:
            return
        # The state the triggering event found (IOS prints that one).
        state = cp.fsm.acting_from if cp.fsm.acting_from is not None else cp.fsm.state
        options = tuple(pkt.options) if pkt.code in CONFIGURE_CODES else ()
        if cp is self.lcp and direction == "O" and pkt.code == CONFIGURE_REQUEST and state in _ESTABLISHING:
            self._event(PhaseTraced("ESTABLISHING", _ESTABLISHING[state]))
        self._event(ControlTraced(cp.layer, direction, pkt.code, state, pkt.identifier, length,
                                  cp.protocol, options))

    def _trace_open(self, layer: str) -> None:
        if self.config.trace:
            self._event(LayerOpenTraced(layer))

    def _lcp_up(self, now: int) -> None:
        self._trace_open("LCP")
        if self.config.trace:                  # no authentication phase: the network layers start
            self._event(PhaseTraced("UP"))
        self._echo_missed = 0
        self._echo_rejected = False
        if self.config.keepalive:
            self._ka_deadline = now + self.config.keepalive
        self._event(LinkOpened(self.lcp.peer_mru))
        if self.config.ipcp_enabled:
            self.ipcp.fsm.event(Event.UP, now)

    def _lcp_down(self, now: int) -> None:
        self._ka_deadline = None
        reason = self._down_reason or "LCP down"
        self._event(LinkClosed(reason))
        if self.config.ipcp_enabled:
            self._with_reason(reason, self.ipcp.fsm.event, Event.DOWN, now)

    def _lcp_finished(self, now: int) -> None:
        self._event(LinkFinished(self._down_reason or "LCP finished"))
        if self._lower and self._admin and self.config.lcp_retry_after is not None:
            self._retry_deadline = now + self.config.lcp_retry_after

    def _protocol_rejected(self, protocol: int, now: int) -> None:
        # RFC 1661 §5.7: stop sending the rejected protocol.
        if protocol == PPP_LCP:
            self.lcp.fsm.event(Event.RXJ_MINUS, now)
            return
        self.lcp.fsm.event(Event.RXJ_PLUS, now)
        if protocol == PPP_IPCP and self.config.ipcp_enabled:
            self._with_reason("IPCP protocol-rejected", self.ipcp.fsm.event,
                              Event.RXJ_MINUS, now)

    def _keepalive(self, now: int) -> None:
        period = self.config.keepalive
        if not period or self.lcp.fsm.state != State.OPENED:
            self._ka_deadline = None
            return
        if self._echo_missed >= self.config.keepalive_max_missed:
            # Peer silent: take the link down and renegotiate (IOS resets it).
            self._ka_deadline = None
            self._with_reason("keepalive timeout", self.lcp.fsm.event, Event.DOWN, now)
            self.lcp.fsm.event(Event.UP, now)
            return
        self._ka_deadline = now + period
        if self._echo_rejected:
            return
        self._echo_missed += 1
        self.lcp.send(ControlPacket(ECHO_REQUEST, self.lcp.next_id(),
                                    self.lcp.local_magic.to_bytes(4, "big")))
