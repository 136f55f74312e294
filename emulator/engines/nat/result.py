"""What the NAT engine did with one packet, and the trace record of a translation.

A translated packet carries a :class:`NatTrace`: the facts ``debug ip nat``
reports (direction, protocol, addresses and ports before translation, the
new address, the IP identification, fast or process switching).  The IOS
wording is the CLI layer's (``emulator.cli.nat_show``), which installs its
renderer here with :func:`install_debug_renderer`; :meth:`NatResult.debug_lines`
hands the trace to it for owners that log lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, NamedTuple

if TYPE_CHECKING:
    from emulator.engines.nat.table import NatEntry

__all__ = ["TRANSLATED", "UNTOUCHED", "DROP", "NatTrace", "NatResult", "DebugRenderer",
           "install_debug_renderer"]

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


DebugRenderer = Callable[[NatTrace, bool, "bool | None"], list[str]]
_renderer: list[DebugRenderer] = []


def install_debug_renderer(renderer: DebugRenderer) -> None:
    """Set the function that words a trace as ``debug ip nat [detailed]`` lines:
    ``renderer(trace, detailed, fast)`` where ``fast`` overrides ``trace.fast`` unless None."""
    _renderer[:] = [renderer]


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

    def debug_lines(self, detailed: bool = False, fast: bool | None = None) -> list[str]:
        """The ``debug ip nat`` lines of this packet (none when it was not translated), worded
        by the renderer the CLI layer installed; ``fast`` overrides the engine's guess."""
        trace = self.trace
        if trace is None:
            return []
        if not _renderer:
            raise RuntimeError("no debug ip nat renderer installed (emulator.cli.nat_show installs it)")
        return _renderer[0](trace, detailed, fast)

    def __repr__(self) -> str:
        return f"NatResult({self.action}, reason={self.reason!r}, entry={self.entry!r})"
