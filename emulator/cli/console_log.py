"""A device's console log as IOS prints it: each record stamped and worded.

``ConsoleLog`` is the ``LogSink`` a device is given: it renders every record
as it comes and keeps the lines, oldest first, for the terminals that show
them.
"""

from __future__ import annotations

from typing import Any, Callable

from emulator.cli import iostime, nat_show, ppp_debug, show
from emulator.device.adapters import short_name
from emulator.device.console import (
    IpcpAddressInstalled,
    IpcpRouteInstalled,
    LineProtocolChanged,
    LinkAdminDown,
    LinkChanged,
    LogEvent,
    LogRecord,
    Message,
    NatTranslated,
    PoolExhausted,
    PoolUndefined,
    PppOptionTraced,
    PppTraced,
    QuietModeOff,
    QuietModeOn,
    SystemRestarted,
)

__all__ = ["ConsoleLog", "render", "text"]


class ConsoleLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def emit(self, record: LogRecord) -> None:
        self.lines.extend(render(record).split("\n"))   # a message of several lines is stamped once


def render(record: LogRecord) -> str:
    """One console line: the stamp, then the message."""
    event = record.event
    if isinstance(event, (QuietModeOn, QuietModeOff)):      # these say when, in the words of show clock
        at = iostime.clock(record.uptime).lstrip("*")
        at = at[:at.index(".")] + at[at.index(" "):]
        return iostime.log_prefix(record.stamp, record.uptime) + text(event) + f" at {at}"
    return iostime.log_prefix(record.stamp, record.uptime) + text(event)


def _updown(up: bool) -> str:
    return "up" if up else "down"


def text(event: LogEvent) -> str:
    """The IOS words of an event."""
    return _WORDS[type(event)](event)


_WORDS: dict[type, Callable[[Any], str]] = {
    Message: lambda e: e.text,
    LinkChanged: lambda e: f"%LINK-3-UPDOWN: Interface {e.interface}, changed state to {_updown(e.up)}",
    LinkAdminDown: lambda e: f"%LINK-5-CHANGED: Interface {e.interface}, changed state to administratively down",
    LineProtocolChanged: lambda e: (f"%LINEPROTO-5-UPDOWN: Line protocol on Interface {e.interface}, "
                                    f"changed state to {_updown(e.up)}"),
    IpcpAddressInstalled: lambda e: f"{short_name(e.interface)} IPCP: Install negotiated IP interface address "
                                    f"{e.address}",
    IpcpRouteInstalled: lambda e: f"{short_name(e.interface)} IPCP: Install route to {e.peer}",
    PoolUndefined: lambda e: f"%IPCP-3-NOPOOL: {e.interface}: ip local pool {e.pool} is not defined",
    PoolExhausted: lambda e: f"%IPCP-4-POOLEXHAUST: {e.interface}: ip local pool {e.pool} has no free address",
    PppTraced: ppp_debug.trace_text,
    PppOptionTraced: ppp_debug.option_line,
    NatTranslated: nat_show.debug_text,
    SystemRestarted: lambda e: "\n".join(["%SYS-5-RESTART: System restarted --"] + show.banner(e.platform)),
    # IOS 12.3(4)T login enhancements (no quiet-mode access-class: its default ACL, sl_def_acl).
    QuietModeOn: lambda e: (f"%SEC_LOGIN-1-QUIET_MODE_ON: Still timeleft for watching failures is {e.watch_left} "
                            f"secs, [user: {e.user}] [Source: {e.source}] [localport: {e.port}] "
                            f"[Reason: Login Authentication Failed] [ACL: sl_def_acl]"),
    QuietModeOff: lambda e: "%SEC_LOGIN-5-QUIET_MODE_OFF: Quiet Mode is OFF, because block period timed out",
}
