"""``show logging`` and ``clear logging`` in the IOS 12.2 layout.

The counts and the buffer are the device log's (``emulator.device.console``):
every message goes to the console (level debugging); the buffer takes the
messages at or above the ``logging buffered`` level, the newest that fit in
its size (tests/samples/SOURCES.md: ``show logging``).
"""

from __future__ import annotations

from emulator.cli.exec_commands import exec_command
from emulator.device.router import Router

__all__ = ["show_logging"]


def show_logging(r: Router) -> str:
    log = r.console
    buffered = r.config.logging_buffered
    out = ["Syslog logging: enabled (0 messages dropped, 0 flushes, 0 overruns)",
           f"    Console logging: level debugging, {log.console_logged} messages logged",
           f"    Monitor logging: level debugging, {log.monitor_logged} messages logged"]
    if buffered is None:
        out.append("    Buffer logging: disabled")
    else:
        out.append(f"    Buffer logging: level {buffered[1]}, {log.buffer_logged} messages logged")
    out.append(f"    Trap logging: level informational, {log.trap_lines} message lines logged")
    text = "\n".join(out) + "\n"
    if buffered is not None:
        body = log.buffer.text() if log.buffer is not None and log.buffer.size == buffered[0] else ""
        text += f"\nLog Buffer ({buffered[0]} bytes):\n{body}"
    return text


@exec_command("show logging")
def _show_logging(session, args):
    return show_logging(session.router)


@exec_command("clear logging", privileged=True)
def _clear_logging(session, args):
    answer = yield ("", "Clear logging buffer [confirm]")
    if answer.strip() and not answer.strip().lower().startswith("y"):
        return "\n"
    if session.router.console.buffer is not None:
        session.router.console.buffer.clear()
    return "\n"
