"""The state an IKE engine keeps: ISAKMP SAs, their quick mode exchanges, and the state names.

States are ``enum.StrEnum``s whose values are what IOS prints, so a state
compares equal to its name and lands in show and debug text unchanged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from emulator.engines.ike import crypto as C
from emulator.engines.ike import dh as DH
from emulator.engines.ike.events import Phase2Request, Phase2Result
from emulator.engines.ike.policy import EspTransform, Phase1Proposal

__all__ = ["MainModeState", "QuickModeState", "Role", "IkeSA", "QuickMode", "signed_mid"]


class MainModeState(enum.StrEnum):
    """Phase 1 states as ``show crypto isakmp sa`` prints them (reference §1.1).

    The initiator is in MM_NO_STATE until MM2 arrives, MM_SA_SETUP until MM4,
    MM_KEY_EXCH until MM6; the responder in MM_SA_SETUP once it sent MM2,
    MM_KEY_EXCH once it sent MM4; both in QM_IDLE once phase 1 is done.
    """

    MM_NO_STATE = "MM_NO_STATE"
    MM_SA_SETUP = "MM_SA_SETUP"
    MM_KEY_EXCH = "MM_KEY_EXCH"
    QM_IDLE = "QM_IDLE"
    DELETED = "DELETED"        # removed from the engine (a reference some owner kept sees this)


class QuickModeState(enum.StrEnum):
    """Quick mode node states, named as the 12.3 state-machine debug lines name them
    (``Old State = IKE_QM_READY New State = IKE_QM_I_QM1``, reference §3.3; the
    responder's ``IKE_QM_R_QM2`` is from §3.4's note)."""

    IKE_QM_I_QM1 = "IKE_QM_I_QM1"                      # initiator: QM1 sent, waiting for QM2
    IKE_QM_R_QM2 = "IKE_QM_R_QM2"                      # responder: QM2 sent, waiting for QM3
    IKE_QM_PHASE2_COMPLETE = "IKE_QM_PHASE2_COMPLETE"  # done; kept a while to answer duplicates


class Role(enum.StrEnum):
    """``(I)`` / ``(R)`` in the debug lines."""

    INITIATOR = "I"
    RESPONDER = "R"


def signed_mid(mid: int) -> int:
    """IOS prints message IDs as signed 32-bit numbers (``M-ID of -426260398``)."""
    return mid - (1 << 32) if mid & 0x80000000 else mid


@dataclass
class QuickMode:
    message_id: int
    initiator: bool
    state: QuickModeState
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
    state: MainModeState = MainModeState.MM_NO_STATE
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
    answered: bool = False                # last_sent answers last_received (a copy of it asks for it again)
    retransmits: int = 0
    retransmit_at: int | None = None
    # Whether the engine holds this SA under its cookie and peer, kept by the engine: its deadline
    # check (once per packet through the binding) reads it instead of hashing the key.
    held: bool = field(default=False, compare=False, repr=False)

    @property
    def tag(self) -> str:
        return f"0:{self.conn_id}"

    @property
    def established(self) -> bool:
        return self.state == MainModeState.QM_IDLE

    @property
    def role(self) -> Role:
        return Role.INITIATOR if self.initiator else Role.RESPONDER

    @property
    def dst(self) -> IPv4Address:
        """``show crypto isakmp sa`` dst: the responder's address (reference §1.1)."""
        return self.peer if self.initiator else self.local

    @property
    def src(self) -> IPv4Address:
        return self.local if self.initiator else self.peer

    # The parts of an established SA, for code that runs only once they exist.
    @property
    def prop(self) -> Phase1Proposal:
        assert self.proposal is not None
        return self.proposal

    @property
    def k(self) -> C.Phase1Keys:
        assert self.keys is not None
        return self.keys

    @property
    def c(self) -> C.IkeCipherState:
        assert self.cipher is not None
        return self.cipher
