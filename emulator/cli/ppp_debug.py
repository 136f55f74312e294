"""IOS 12.2 wording of ``debug ppp negotiation``, from the PPP engine's trace events.

A traced packet is a header line (``Se0 LCP: O CONFREQ [Closed] id 1 len 10``)
followed by one line per option (``Se0 LCP:    MagicNumber 0x1A2B3C4D
(0x05061A2B3C4D)``); a layer reaching Opened is ``Se0 IPCP: State is Open``.
"""

from __future__ import annotations

from emulator.device.adapters import short_name
from emulator.device.console import PppOptionTraced, PppTraced
from emulator.engines.ppp import ControlTraced, State
from emulator.wire.ppp import CODE_NAMES, option_text

__all__ = ["STATE_TEXT", "trace_text", "option_line"]

# How the debug names the RFC 1661 states (``show interfaces`` has its own spelling).
STATE_TEXT = {
    State.INITIAL: "Initial", State.STARTING: "Starting", State.CLOSED: "Closed",
    State.STOPPED: "Stopped", State.CLOSING: "Closing", State.STOPPING: "Stopping",
    State.REQ_SENT: "REQsent", State.ACK_RCVD: "ACKrcvd", State.ACK_SENT: "ACKsent",
    State.OPENED: "Open",
}


def trace_text(event: PppTraced) -> str:
    """A packet's header line, or the line of a layer that opened."""
    trace = event.trace
    head = f"{short_name(event.interface)} {trace.layer}:"
    if not isinstance(trace, ControlTraced):
        return f"{head} State is Open"
    name = CODE_NAMES.get(trace.code, f"code {trace.code}")
    return f"{head} {trace.direction} {name} [{STATE_TEXT[trace.state]}] id {trace.identifier} len {trace.length}"


def option_line(event: PppOptionTraced) -> str:
    """An option under its packet, named, then as sent in hex (type, length, value)."""
    raw = bytes([event.type, len(event.value) + 2]) + event.value
    return (f"{short_name(event.interface)} {event.layer}:    "
            f"{option_text(event.protocol, event.type, event.value)} (0x{raw.hex().upper()})")
