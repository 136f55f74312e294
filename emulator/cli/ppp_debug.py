"""IOS 12.2 wording of ``debug ppp negotiation``, from the PPP engine's trace events.

A traced packet is a header line (``Se0 LCP: O CONFREQ [Closed] id 1 len 10``)
followed by one line per option (``Se0 LCP:    MagicNumber 0x1A2B3C4D
(0x05061A2B3C4D)``); a layer reaching Opened is ``Se0 IPCP: State is Open``; the link entering a
phase is ``Se0 PPP: Phase is ESTABLISHING, Active Open`` (as LCP begins) and ``Se0 PPP: Phase is UP``
(LCP open, the network layers start).

12.2 has no Starting state in this debug: a layer's first request reads ``O CONFREQ [Closed]``
(ios-reference §3.7, the 12.x Cisco sample ``Vi1 IPCP: O CONFREQ [Closed] id 7``; the Cisco 827
troubleshooting guide's ``Vi1 LCP: O CONFREQ [Closed] id 1`` after ``Phase is ESTABLISHING, Active
Open``). Later releases print ``[Starting]``.
"""

from __future__ import annotations

from emulator.device.adapters import short_name
from emulator.device.console import PppOptionTraced, PppTraced
from emulator.engines.ppp import ControlTraced, PhaseTraced, State
from emulator.wire.ppp import CODE_NAMES, option_text

__all__ = ["STATE_TEXT", "STATE_TEXT_12_2", "trace_text", "option_line"]

# How the debug names the RFC 1661 states (``show interfaces`` has its own spelling).
STATE_TEXT = {
    State.INITIAL: "Initial", State.STARTING: "Starting", State.CLOSED: "Closed",
    State.STOPPED: "Stopped", State.CLOSING: "Closing", State.STOPPING: "Stopping",
    State.REQ_SENT: "REQsent", State.ACK_RCVD: "ACKrcvd", State.ACK_SENT: "ACKsent",
    State.OPENED: "Open",
}
STATE_TEXT_12_2 = {**STATE_TEXT, State.STARTING: "Closed"}


def trace_text(event: PppTraced) -> str:
    """A packet's header line, the line of a layer that opened, or of a phase the link entered."""
    trace = event.trace
    if isinstance(trace, PhaseTraced):
        how = f", {trace.how}" if trace.how else ""
        return f"{short_name(event.interface)} PPP: Phase is {trace.phase}{how}"
    head = f"{short_name(event.interface)} {trace.layer}:"
    if not isinstance(trace, ControlTraced):
        return f"{head} State is Open"
    name = CODE_NAMES.get(trace.code, f"code {trace.code}")
    state = STATE_TEXT_12_2[trace.state]
    return f"{head} {trace.direction} {name} [{state}] id {trace.identifier} len {trace.length}"


def option_line(event: PppOptionTraced) -> str:
    """An option under its packet, named, then as sent in hex (type, length, value)."""
    raw = bytes([event.type, len(event.value) + 2]) + event.value
    return (f"{short_name(event.interface)} {event.layer}:    "
            f"{option_text(event.protocol, event.type, event.value)} (0x{raw.hex().upper()})")
