"""The served lab's telnet and SSH login: the device's login dialog (``emulator.device.vty``) over a
blocking connection.
"""

from __future__ import annotations

from typing import Callable

from emulator.device.vty import (
    DEFAULT_EXEC_TIMEOUT,
    LOGIN_TIMEOUT,
    Gate,
    LoginPolicy,
    Read,
    clear_password,
    decode_type7,
    enable_secret,
    login_steps,
    vty_count,
    vty_policy,
)


def login_dialog(policy: LoginPolicy, send: Callable[[str], None],
                 read_line: Callable[[bool, float], str], where: str, gate: Gate | None = None) -> bool:
    """Telnet login as IOS asks for it; False when the client must be sent away.

    ``read_line(echo, timeout)`` reads one typed line (TimeoutError when nothing comes in time).
    """
    steps = login_steps(policy, where, gate)
    try:
        step = next(steps)
        while True:
            if isinstance(step, Read):
                try:
                    line = read_line(step.echo, step.timeout)
                except TimeoutError as exc:
                    step = steps.throw(exc)
                    continue
                step = steps.send(line)
            else:
                send(step)
                step = next(steps)
    except StopIteration as stop:
        return bool(stop.value)


__all__ = ["Gate", "LoginPolicy", "clear_password", "decode_type7", "enable_secret", "login_dialog", "vty_count",
           "vty_policy", "LOGIN_TIMEOUT", "DEFAULT_EXEC_TIMEOUT"]
