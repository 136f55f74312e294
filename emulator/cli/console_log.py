"""A device's console log as IOS prints it: each record stamped and worded.

``ConsoleLog`` is the ``LogSink`` a device is given: it renders every record
as it comes and keeps the lines, oldest first, for the terminals that show
them.
"""

from __future__ import annotations

from functools import singledispatch

from emulator.cli import iostime
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
    PoolExhausted,
    PoolUndefined,
)

__all__ = ["ConsoleLog", "render", "text"]


class ConsoleLog:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def emit(self, record: LogRecord) -> None:
        self.lines.append(render(record))


def render(record: LogRecord) -> str:
    """One console line: the stamp, then the message."""
    return iostime.log_prefix(record.stamp, record.uptime) + text(record.event)


def _updown(up: bool) -> str:
    return "up" if up else "down"


@singledispatch
def text(event: LogEvent) -> str:
    """The IOS words of an event."""
    raise TypeError(f"no IOS text for {event!r}")


@text.register
def _(event: Message) -> str:
    return event.text


@text.register
def _(event: LinkChanged) -> str:
    return f"%LINK-3-UPDOWN: Interface {event.interface}, changed state to {_updown(event.up)}"


@text.register
def _(event: LinkAdminDown) -> str:
    return f"%LINK-5-CHANGED: Interface {event.interface}, changed state to administratively down"


@text.register
def _(event: LineProtocolChanged) -> str:
    return f"%LINEPROTO-5-UPDOWN: Line protocol on Interface {event.interface}, changed state to {_updown(event.up)}"


@text.register
def _(event: IpcpAddressInstalled) -> str:
    return f"{short_name(event.interface)} IPCP: Install negotiated IP interface address {event.address}"


@text.register
def _(event: IpcpRouteInstalled) -> str:
    return f"{short_name(event.interface)} IPCP: Install route to {event.peer}"


@text.register
def _(event: PoolUndefined) -> str:
    return f"%IPCP-3-NOPOOL: {event.interface}: ip local pool {event.pool} is not defined"


@text.register
def _(event: PoolExhausted) -> str:
    return f"%IPCP-4-POOLEXHAUST: {event.interface}: ip local pool {event.pool} has no free address"
