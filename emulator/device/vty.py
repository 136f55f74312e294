"""Who may use a vty, from the device's own configuration: login, passwords, and the login dialog.

Login follows the device's ``line vty`` configuration: ``login local`` checks
the ``username`` table (``Username:`` then ``Password:`` on telnet);
``login`` with a line ``password`` takes any username with that password;
``login`` without a password refuses everyone ("Password required, but none
set"); no ``login`` at all lets everyone in. ``transport input`` limits the
protocols. Passwords of type 0 and 7 and type 5 secrets are checked.

``login_steps`` is the telnet login dialog as IOS runs it, sans-I/O: the
served lab's telnet (``emulator.frontends.login``) and the devices' own vty
server (telnet from one device to another) both drive it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Generator, Protocol, Union

from emulator.config.secrets import decode_type7, secret_matches

log = logging.getLogger(__name__)

LOGIN_TIMEOUT = 30.0          # IOS gives a vty 30 s to log in
DEFAULT_EXEC_TIMEOUT = 600.0  # exec-timeout 10 0
DEFAULT_VTYS = 5              # vty 0 4


def clear_password(value: str | None) -> str | None:
    """The clear text of a configured password (``0 x``, ``7 hex`` or plain); None if unknowable."""
    if value is None:
        return None
    kind, _, rest = value.partition(" ")
    if rest and kind == "0":
        return rest
    if rest and kind == "7":
        try:
            return decode_type7(rest.strip())
        except ValueError:
            return None
    if rest and kind in ("4", "5", "8", "9"):
        return None
    return value


@dataclass(frozen=True)
class LoginPolicy:
    """How one vty line authenticates, from the device's configuration."""

    mode: str                             # none | line | local | unset (login, no password)
    password: str | None = None
    users: tuple[tuple[str, str | None], ...] = ()
    transports: frozenset[str] = frozenset({"ssh", "telnet"})
    exec_timeout: float | None = DEFAULT_EXEC_TIMEOUT   # None: never

    def check(self, username: str, password: str) -> bool:
        if self.mode == "none":
            return True
        if self.mode == "line":
            return self.password is not None and password == self.password
        if self.mode == "local":
            return any(name == username and pw is not None and _password_ok(pw, password) for name, pw in self.users)
        return False

    def credentials(self) -> tuple[str, str]:
        """A username and password that log in (for the generated inventory)."""
        if self.mode == "local":
            for name, pw in self.users:
                clear = clear_password(pw) if pw is not None else None
                if clear is not None:
                    return name, clear
            return (self.users[0][0] if self.users else "admin"), ""
        return "admin", self.password or ""


def _vty_lines(router) -> list:
    return [line for line in router.config.lines if line.kind == "vty"]


def vty_count(router) -> int:
    """How many vty lines the device has (at least 0-4, as on every IOS router)."""
    last = [line.last if line.last is not None else line.first for line in _vty_lines(router)]
    return max([DEFAULT_VTYS] + [n + 1 for n in last])


def vty_policy(router, index: int) -> LoginPolicy:
    """The login rules of ``line vty <index>``."""
    line = next((vty for vty in _vty_lines(router)
                 if vty.first <= index <= (vty.last if vty.last is not None else vty.first)), None)
    transports = frozenset({"ssh", "telnet"})
    timeout: float | None = DEFAULT_EXEC_TIMEOUT
    if line is not None and line.transport_input is not None:
        words = set(line.transport_input)
        transports = frozenset({"ssh", "telnet"}) if "all" in words else frozenset(words & {"ssh", "telnet"})
    if line is not None and line.exec_timeout is not None:
        minutes, seconds = line.exec_timeout
        timeout = (minutes * 60 + seconds) or None
    users = tuple((u.name, u.password) for u in router.config.users)   # as configured: clear, type 7 or 5
    if line is None or line.login is None:
        return LoginPolicy("none", transports=transports, exec_timeout=timeout)
    if line.login == "local":
        return LoginPolicy("local", users=users, transports=transports, exec_timeout=timeout)
    password = clear_password(line.password)
    if line.password is None:
        return LoginPolicy("unset", transports=transports, exec_timeout=timeout)
    return LoginPolicy("line", password=password, transports=transports, exec_timeout=timeout)


def _password_ok(stored: str, typed: str) -> bool:
    """A typed password against a configured one: clear text, type 7, or a type 5 (MD5-crypt) secret."""
    clear = clear_password(stored)
    if clear is not None:
        return typed == clear
    return secret_matches(stored, typed)


def enable_secret(router) -> str:
    """The clear enable secret (or enable password), "" when there is none or it cannot be known."""
    known = getattr(router, "operator_secrets", {}).get("enable")
    if known:
        return known   # typed in clear by the lab file; the device itself keeps only the hash
    config = router.config
    return clear_password(config.enable_secret or config.enable_password) or ""



class Gate(Protocol):
    """The device's say on a login (``emulator.frontends.gate.LoginGate``)."""

    vty: int | None                  # the line a successful login took

    def open(self) -> bool: ...

    def failed(self, username: str) -> None: ...

    def succeeded(self, username: str) -> bool: ...



# The dialog yields text to send, or a ``Read`` (the next typed line is sent back; a TimeoutError
# thrown in when none came in time), and returns whether the user is in.
@dataclass(frozen=True)
class Read:
    echo: bool
    timeout: float


LoginSteps = Generator[Union[str, Read], str, bool]


def login_steps(policy: LoginPolicy, where: str, gate: Gate | None = None) -> LoginSteps:
    """Telnet login as IOS asks for it; its value is False when the client must be sent away.

    ``gate`` may refuse the attempt (quiet mode), delays after a failure, and gives the vty line.
    """
    if policy.mode == "none":
        return gate is None or gate.succeeded("")
    if policy.mode == "unset":
        yield "\r\nPassword required, but none set\r\n"
        log.info("%s: refused: login without a password", where)
        return False
    yield "\r\n\r\nUser Access Verification\r\n\r\n"
    for _ in range(3):
        username = ""
        try:
            if policy.mode == "local":
                yield "Username: "
                username = yield Read(True, LOGIN_TIMEOUT)
            yield "Password: "
            password = yield Read(False, LOGIN_TIMEOUT)
        except TimeoutError:
            what = "Username" if policy.mode == "local" and not username else "Password"
            yield f"\r\n% {what}:  timeout expired!\r\n"
            log.info("%s: login timed out", where)
            return False
        if gate is not None and not gate.open():
            return False
        if policy.check(username, password):
            log.info("%s: logged in%s", where, f" as {username}" if username else "")
            return gate is None or gate.succeeded(username)
        log.info("%s: login failed%s", where, f" for {username!r}" if username else "")
        if gate is not None:
            gate.failed(username)
        if policy.mode == "local":
            yield "% Login invalid\r\n\r\n"
    if policy.mode != "local":
        yield "% Bad passwords\r\n\r\n"
    return False


__all__ = ["Gate", "LoginPolicy", "LoginSteps", "Read", "clear_password", "decode_type7", "enable_secret",
           "login_steps", "vty_count", "vty_policy", "LOGIN_TIMEOUT", "DEFAULT_EXEC_TIMEOUT"]
