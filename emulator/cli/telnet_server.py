"""The telnet server on a device's vty lines, inside the lab: port 23 of every device.

A connection is admitted when a vty line is free (the lowest, as IOS takes
them) and its ``transport input`` allows telnet; otherwise the SYN is
answered with a RST ("% Connection refused by remote host" at the client).
The vty sends IOS's option offer (WILL ECHO, WILL SUPPRESS-GO-AHEAD, DO
TERMINAL-TYPE, DO WINDOW-SIZE), then runs the device's own login dialog
(``emulator.device.vty.login_steps``, the one the served lab runs for real
clients): "Password required, but none set" and a close when ``login`` has
no password; the ``login block-for`` watch and ``login delay`` apply. Then
the EXEC shell: each line typed is a command of a ``CliSession`` on
``vtyN (client address)`` (``show users`` lists it), a long one (ping) a job
stepped on the lab clock, its output sent as it comes. ``exit`` closes the
connection, and so does the line's ``exec-timeout`` (10 minutes by default).

Keys are edited as on a vty: echo (not of passwords), backspace and delete,
a line ends at CR (a following LF or NUL is skipped). Keys typed while a
command runs wait, unechoed, until the EXEC reads them. Output longer than
the line's ``terminal length`` stops at ``--More--`` (``emulator.cli.paging``).
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable

from emulator.cli.paging import PageState
from emulator.device.tcp import Connection, TcpService, register_service
from emulator.device.vty import LoginSteps, Read, login_steps, vty_count, vty_policy
from emulator.labtime import MS, SECOND
from emulator.sim.jobs import Job
from emulator.wire.telnet import IAC, IOS_GREETING, OPT_NAWS, OPT_TTYPE, TelnetParser

__all__ = ["VtyServer", "TELNET_PORT", "free_vty", "used_vtys", "serve"]

TELNET_PORT = 23
JOB_POLL = 10 * MS          # how often a waiting command is looked at (its wait may end on any event)
MAX_LINE = 512              # a longer line is cut: a vty's line buffer is bounded
TYPEAHEAD_BYTES = 4096      # keys typed while a command runs, kept until it ends (the rest are lost)


def used_vtys(router: Any) -> set[int]:
    """The vty lines of ``router`` in use: sessions on them (whoever serves them) and logins in progress here."""
    used = {int(s.line[3:].split(" ", 1)[0]) for s in list(router.sessions)
            if s.line.startswith("vty") and s.line[3:].split(" ", 1)[0].isdigit() and s.active}
    used |= {h.vty for h in router.tcp.handlers.values() if isinstance(h, VtyServer) and h.vty is not None}
    return used


def free_vty(router: Any) -> int | None:
    """The lowest vty line nobody is on (a login in progress holds its line), None when all are busy."""
    used = used_vtys(router)
    return next((n for n in range(vty_count(router)) if n not in used), None)


def _admits(router: Any) -> bool:
    vty = free_vty(router)
    return not router.reloading and vty is not None and "telnet" in vty_policy(router, vty).transports


class VtyServer:
    """One telnet connection to a device's vty (a ``TcpHandler``)."""

    def __init__(self, router: Any, connection: Connection, session_class: Callable[..., Any]):
        self.router = router
        self.session_class = session_class
        self.connection = connection
        self.peer = connection.remote[0]
        self.vty = free_vty(router)
        self.parser = TelnetParser("server", requested=frozenset({OPT_TTYPE, OPT_NAWS}))
        self.where = f"{router.name} vty{self.vty} telnet from {self.peer}"
        self.cli: Any = None          # the CliSession once logged in
        self.job: Job | None = None
        self.pager = PageState(0)     # the running command's --More--
        self.echo = True
        self._line = bytearray()
        self._after_cr = False
        self._lines: deque[str] = deque()
        self._typeahead = bytearray()
        self._login: LoginSteps | None = None
        self._reading: Read | None = None
        self._hold_until = 0         # login delay after a failure: the dialog waits until then
        self._held: str | None = None   # the dialog's text held back by the login delay
        self._timer: Any = None
        self._idle: Any = None       # the line's exec-timeout, from the last line typed
        self._done = False
        self._send_raw(IOS_GREETING)
        if self.vty is None:
            self.close()
            return
        self._login = login_steps(vty_policy(router, self.vty), self.where, gate=self)
        self._advance(None)

    # ------------------------------------------------ the login gate
    def open(self) -> bool:
        if not self.router.logins.quiet():
            return True
        self.router.logins.refused()
        return False

    def failed(self, username: str) -> None:
        self.router.logins.failed(username, self.peer, TELNET_PORT)
        self._hold_until = self.router.now + self.router.logins.delay * SECOND

    def succeeded(self, username: str) -> bool:
        self.router.logins.succeeded()
        return True

    # ------------------------------------------------ TcpHandler
    def opened(self) -> None:
        pass

    def received(self, data: bytes) -> None:
        text, replies = self.parser.feed(data)
        if replies:
            self._send_raw(replies)
        self._typeahead += text[:TYPEAHEAD_BYTES - len(self._typeahead)]
        self._drain()

    def _drain(self) -> None:
        """Edit the keys typed while nothing else holds the line: a key typed ahead of a running
        command (or of a line still waiting) is echoed when the EXEC reads it, as on IOS."""
        while self._typeahead and not self._done:
            if self.job is not None and self.pager.waiting:
                self._more_key(self._typeahead.pop(0))
                continue
            if self._lines or (self.job is not None and not self.job.done):
                return
            if self._key(self._typeahead.pop(0)):
                self._work()

    def peer_closed(self) -> None:
        self.close()

    def closed(self, reason: str) -> None:
        self._done = True
        self._cancel_timer(idle=True)
        if self.job is not None and not self.job.done:
            self.job.close()
        if self.cli is not None:
            self.cli.close()

    # ------------------------------------------------ keys and lines
    def _key(self, b: int) -> bool:
        """One key on the line being typed; True when it ended the line."""
        if self._after_cr and b in (0, 10):
            self._after_cr = False
            return False
        self._after_cr = False
        if b == 13 or b == 10:
            self._after_cr = b == 13
            self._lines.append(self._line.decode("latin-1"))
            self._line.clear()
            self._send("\r\n")
            return True
        elif b in (8, 127):
            if self._line:
                del self._line[-1]
                if self.echo:
                    self._send("\b \b")
        elif 32 <= b < 127 or b == 0x1A:
            if len(self._line) < MAX_LINE:
                self._line.append(b)
                if self.echo and b != 0x1A:
                    self._send(chr(b))
        return False

    def _work(self) -> None:
        """Take the lines typed, as far as the login or the command running lets them go."""
        while self._lines and not self._done and (self.job is None or self.job.done):
            if self._login is not None:
                if self._held is not None:
                    return                  # the login delay: the dialog goes on when it is over
                self._advance(self._lines.popleft())
            elif self.cli is not None:
                self._command(self._lines.popleft())
            else:
                return

    # ------------------------------------------------ login
    def _advance(self, line: str | None, timeout: bool = False) -> None:
        """Give the login dialog the line typed (or the timeout) and run it to its next question."""
        steps = self._login
        assert steps is not None, "the login dialog is running"
        self._cancel_timer()
        try:
            if timeout:
                step = steps.throw(TimeoutError())
            else:
                step = next(steps) if line is None else steps.send(line)
            self._login_until_read(step)
        except StopIteration as stop:
            self._login_over(bool(stop.value))

    def _login_until_read(self, step: str | Read) -> None:
        """Send the dialog's text up to its next question; after a failure the ``login delay`` passes
        first (the dialog is held where it is, and so are the lines typed meanwhile)."""
        steps = self._login
        assert steps is not None, "the login dialog is running"
        while not isinstance(step, Read):
            if self.router.now < self._hold_until:
                self._held = step
                self._arm(self._hold_until)
                return
            self._send(step)
            step = next(steps)
        self._reading = step
        self.echo = step.echo
        self._arm(self.router.now + int(step.timeout * SECOND), login_timeout=True)

    def _login_over(self, logged_in: bool) -> None:
        self._login = None
        self._reading = None
        self.echo = True
        if logged_in:
            self._start_shell()
        else:
            self.close()

    def _start_shell(self) -> None:
        self.cli = self.session_class(self.router, privileged=False, line=f"vty{self.vty} ({self.peer})")
        self.where = f"{self.router.name} vty{self.vty} telnet from {self.peer}"
        self._send(self.cli.prompt)
        self._rearm_idle()

    def _rearm_idle(self) -> None:
        """``exec-timeout``: a vty nobody types on for that long is closed (10 minutes by default)."""
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        timeout = vty_policy(self.router, self.vty).exec_timeout if self.vty is not None else None
        if timeout:
            self._idle = self.router.clock.call_later(int(timeout * SECOND), self._idle_over,
                                                      component=f"{self.router.name} vty{self.vty} exec-timeout")

    def _idle_over(self) -> None:
        self._idle = None
        if self.job is not None and not self.job.done:
            self._rearm_idle()         # a command still running is not idleness
            return
        self.close()

    # ------------------------------------------------ commands
    def _command(self, line: str) -> None:
        cli = self.cli
        assert cli is not None, "commands come once logged in"
        if not cli.active:
            self.close()
            return
        self._rearm_idle()
        self.pager = PageState(cli.terminal_length)
        self.job = cli.start(line)
        self._step()

    def _step(self) -> None:
        job = self.job
        if job is None or self._done:
            return
        if not job.done:
            out = job.step()
            if out:
                self._send(self.pager.write(out))
        self._after_output()

    def _after_output(self) -> None:
        """Go on after a command's output: held at ``--More--`` (the command waits for the key),
        waiting on the lab, or over (then the prompt, and the lines typed meanwhile)."""
        job = self.job
        if job is None or self.pager.waiting:
            return
        if self.pager.stopped and not job.done:
            job.close()                   # a key other than space or Return at --More-- ends it
        if not job.done:
            wait = job.waiting
            when = self.router.now + JOB_POLL
            if wait is not None and wait.until is None:
                when = max(when, wait.deadline)
            self._arm(when)
            return
        self.job = None
        cli = self.cli
        if cli is None or not cli.active:
            self.close()
            return
        self._send(cli.prompt)
        self._work()
        self._drain()

    def _more_key(self, key: int) -> None:
        """A key typed at ``--More--`` (the LF or NUL after a Return is not one)."""
        if self._after_cr and key in (0, 10):
            self._after_cr = False
            return
        self._after_cr = key == 13
        self._send(self.pager.key(chr(key)))
        self._after_output()

    # ------------------------------------------------ timers and output
    def _arm(self, when: int, login_timeout: bool = False) -> None:
        self._cancel_timer()
        self._timer = self.router.clock.call_at(max(when, self.router.now), lambda: self._fire(login_timeout),
                                                component=f"{self.router.name} vty{self.vty}")

    def _cancel_timer(self, idle: bool = False) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if idle and self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _fire(self, login_timeout: bool) -> None:
        self._timer = None
        if self._done:
            return
        if self.job is not None and not self.job.done:
            if self.job.ready(self.router.clock):
                self._step()
            else:
                self._arm(self.router.now + JOB_POLL)
        elif self._held is not None:
            step, self._held = self._held, None
            try:
                self._login_until_read(step)
            except StopIteration as stop:
                self._login_over(bool(stop.value))
            self._work()
            self._drain()
        elif login_timeout and self._login is not None and not self._lines:
            self._advance(None, timeout=True)
        else:
            self._work()
            self._drain()

    def _send(self, text: str) -> None:
        self._send_raw(text.encode("latin-1", "replace").replace(bytes([IAC]), bytes([IAC, IAC])))

    def _send_raw(self, data: bytes) -> None:
        if not self._done:
            self.connection.send(data)

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        self._cancel_timer(idle=True)
        if self.cli is not None:
            self.cli.close()
        self.connection.close()


def serve(session_class: Callable[..., Any]) -> None:
    """Serve telnet on port 23 of every device, each vty's shell a ``session_class`` (the CLI session)."""
    register_service(TELNET_PORT, TcpService(admits=_admits,
                                             start=lambda router, conn: VtyServer(router, conn, session_class)))
