"""What the IKE engine reports and asks: its events, its trace records and its policy questions.

The engine never calls its owner back.  Results come out of
:meth:`IkeEngine.next_event` as the frozen dataclasses below, in the order
they happened; questions whose answer the engine needs at once (which key,
which policies, which phase 2 proposal, which SPI) go to an :class:`IkePolicy`
given at construction.

A :class:`Trace` is one line (or one multi-line block) of ``debug crypto
isakmp`` / ``ipsec`` / ``engine`` as data: a category, a kind and the fields
the line shows.  The IOS wording lives in ``emulator.cli.crypto_debug``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Mapping, Protocol

from emulator.engines.ike.policy import EspTransform, OfferedEsp, Phase1Proposal, ProxyId

__all__ = ["Category", "Trace", "Syslog", "Phase1Established", "Phase2Established", "Phase2Failed", "SasDeleted",
           "InitialContact", "IkeEvent", "Phase2Request", "Phase2Offer", "Phase2Selection", "Phase2Rejection",
           "Phase2Result", "IkePolicy"]


class Category(enum.StrEnum):
    """The ``debug crypto ...`` switch that shows a trace (the value is the switch's name)."""

    ISAKMP = "crypto isakmp"
    IPSEC = "crypto ipsec"
    ENGINE = "crypto engine"


@dataclass(frozen=True, slots=True)
class Trace:
    """One debug record: ``kind`` names the line, ``fields`` hold what it shows (addresses, numbers...)."""

    category: Category
    kind: str
    fields: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Syslog:
    """A syslog message (``%CRYPTO-...``), logged whatever the debug switches."""

    text: str


# --------------------------------------------------------------------------- phase 2 data


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
    traces: tuple[Trace, ...] = ()   # what the policy check showed on the way


@dataclass(frozen=True)
class Phase2Rejection:
    notify: int  # NO_PROPOSAL_CHOSEN or INVALID_ID_INFORMATION
    reason: str
    traces: tuple[Trace, ...] = ()


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


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class Phase1Established:
    conn_id: int
    peer: IPv4Address
    local: IPv4Address
    initiator: bool


@dataclass(frozen=True, slots=True)
class Phase2Established:
    result: Phase2Result


@dataclass(frozen=True, slots=True)
class Phase2Failed:
    request: Phase2Request
    reason: str


@dataclass(frozen=True, slots=True)
class SasDeleted:
    """The peer's DELETE named these ESP SPIs (ours or its own: the owner matches either direction)."""

    peer: IPv4Address
    local: IPv4Address
    spis: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class InitialContact:
    """The peer announced its first SA with us (RFC 2407 §4.6.3.3): its older SAs are gone."""

    peer: IPv4Address
    local: IPv4Address
    conn_id: int


IkeEvent = (Trace | Syslog | Phase1Established | Phase2Established | Phase2Failed | SasDeleted | InitialContact)


class IkePolicy(Protocol):
    """The owner's answers to the engine's policy questions."""

    def psk_for(self, peer: IPv4Address) -> bytes | None: ...

    def isakmp_policies(self) -> list[Phase1Proposal]: ...

    def select_phase2(self, offer: Phase2Offer, now: int) -> Phase2Selection | Phase2Rejection: ...

    def allocate_spi(self, peer: IPv4Address, local: IPv4Address) -> int: ...

    def peek_conn_ids(self) -> tuple[int, int]: ...

    def has_ipsec_sas(self, peer: IPv4Address, local: IPv4Address) -> bool: ...

    def in_negotiation_limit(self) -> int | None: ...   # crypto call admission limit ike in-negotiation-sa
