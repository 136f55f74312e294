"""``show terminal`` (the session's own line) and ``configure memory``.

``show terminal`` follows the line block IOS prints for ``show line N`` (tests/samples/SOURCES.md);
its length, width and history size are the session's (``terminal length/width/history size``),
the idle EXEC timeout the line's ``exec-timeout``, the time since activation the session's age.
"""

from __future__ import annotations

from emulator.cli import iostime
from emulator.cli.exec_commands import configure_memory, exec_command
from emulator.labtime import SECOND

__all__ = ["show_terminal"]

DEFAULT_EXEC_TIMEOUT = (10, 0)     # minutes, seconds: IOS's default on every line


def _line_config(session):
    """The ``line`` block that covers the session's line, or None."""
    kind, number = ("vty", int(session.line[3:].split()[0])) if session.line.startswith("vty") else ("con", 0)
    for line in session.router.config.lines:
        last = line.last if line.last is not None else line.first
        if line.kind == kind and line.first <= number <= last:
            return line
    return None


def _timeout(value: tuple[int, int] | None) -> str:
    minutes, seconds = value if value is not None else DEFAULT_EXEC_TIMEOUT
    total = minutes * 60 + seconds
    return "never" if total == 0 else iostime.stamp(total * SECOND)


def show_terminal(session) -> str:
    vty = session.line.startswith("vty")
    number = 2 + int(session.line[3:].split()[0]) if vty else 0
    location = session.line.partition(" ")[2].strip("()") if vty else ""
    line_cfg = _line_config(session)
    transports = "none"
    if vty:
        configured = line_cfg.transport_input if line_cfg is not None else None
        transports = " ".join(configured) if configured else "telnet"
    active = iostime.stamp(session.router.now - session.started)
    return "\n".join([
        f'Line {number}, Location: "{location}", Type: ""',
        f"Length: {session.terminal_length} lines, Width: {session.terminal_width} columns",
        "Baud rate (TX/RX) is 9600/9600, no parity, 2 stopbits, 8 databits",
        "Status: PSI Enabled, Ready, Active, No Exit Banner",
        "Capabilities: none",
        "Modem state: Ready",
        "Group codes:    0",
        "Special Chars: Escape  Hold  Stop  Start  Disconnect  Activation",
        "                ^^x    none   -     -       none",
        "Timeouts:      Idle EXEC    Idle Session   Modem Answer  Session   Dispatch",
        f"               {_timeout(line_cfg.exec_timeout if line_cfg else None):<13}never{'':<25}none     not set",
        "Modem type is unknown.",
        "Session limit is not set.",
        f"Time since activation: {active}",
        "Editing is enabled.",
        f"History is enabled, history size is {session.history.maxlen}.",
        "DNS resolution in show commands is enabled",
        "Full user help is disabled",
        f"Allowed input transports are {transports}.",
        "Allowed output transports are telnet.",
        "Preferred transport is telnet.",
        "No output characters are padded",
        "No special data dispatching characters",
    ]) + "\n"


@exec_command("show terminal")
def _show_terminal(session, args):
    return show_terminal(session)


@exec_command("configure memory", privileged=True)
def _configure_memory(session, args):
    return configure_memory(session)
