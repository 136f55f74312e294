"""What the NAT engine did with one packet, and the trace record of a translation.

A translated packet carries a :class:`NatTrace`: the facts ``debug ip nat``
reports (direction, protocol, addresses and ports before translation, the
new address, the IP identification, fast or process switching).  The device
logs the trace as a console event; the IOS wording is the CLI layer's
(``emulator.cli.nat_show``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from emulator.engines.nat.table import NatEntry

__all__ = ["TRANSLATED", "UNTOUCHED", "DROP", "NatTrace", "NatResult", "untouched"]

TRANSLATED = "translated"
UNTOUCHED = "untouched"
DROP = "drop"


class NatTrace(NamedTuple):
    """One translation as ``debug ip nat`` sees it.  Addresses are packed 4-byte values."""

    outbound: bool             # inside to outside (the source changed); else outside to inside
    protocol: int
    src: bytes                 # the addresses and ports before translation
    sport: int | None
    dst: bytes
    dport: int | None
    new: bytes                 # the address that replaced src (outbound) or dst
    ident: int                 # IP identification
    fast: bool                 # the engine's guess: fast-switched (IOS tags these NAT*)


class NatResult:
    """What the engine did with one packet.

    ``action`` is ``"translated"`` (``packet`` holds the rewritten bytes, ``trace``
    the record), ``"untouched"`` (``packet`` is the input; ``reason`` says why, e.g.
    no rule permits the flow) or ``"drop"`` (``reason`` says why).  ``entry`` is
    the translation used or built (``created``).
    """

    __slots__ = ("action", "packet", "reason", "entry", "created", "_trace")

    def __init__(self, action: str, packet: bytes, reason: str = "", entry: NatEntry | None = None,
                 created: bool = False, trace: NatTrace | tuple[object, ...] | None = None):
        self.action = action
        self.packet = packet
        self.reason = reason
        self.entry = entry
        self.created = created
        self._trace = trace      # the packet path passes the plain tuple of NatTrace's fields

    @property
    def trace(self) -> NatTrace | None:
        """The trace record of a translated packet; None otherwise."""
        t = self._trace
        if t is None or type(t) is NatTrace:
            return t
        trace = self._trace = NatTrace._make(t)
        return trace

    @property
    def translated(self) -> bool:
        return self.action == TRANSLATED

    @property
    def dropped(self) -> bool:
        return self.action == DROP

    def __repr__(self) -> str:
        return f"NatResult({self.action}, reason={self.reason!r}, entry={self.entry!r})"


_new_result = object.__new__


def untouched(packet: bytes, reason: str) -> NatResult:
    """``NatResult(UNTOUCHED, packet, reason)``, for the packets NAT looks at and leaves (most of
    them): its fields set here, without a call of ``__init__`` from C."""
    result = _new_result(NatResult)
    result.action = UNTOUCHED
    result.packet = packet
    result.reason = reason
    result.entry = None
    result.created = False
    result._trace = None
    return result
