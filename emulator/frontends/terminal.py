"""The terminal's view of a CLI session: line editing, --More-- paging, commands as they run.

Shared by the vtys (SSH, telnet) and the console:

- ``follow`` shows a running command's output as it comes (each ping echo's
  character when the echo ends) and breaks the command off when the user
  types Ctrl-Shift-6 (IOS's escape sequence, byte 0x1E) or Ctrl-C (0x03);
- ``Pager`` stops output longer than ``terminal length`` at ``--More--``
  (space: a page more, Enter: a line more, any other key: no more);
- ``LineEditor`` turns a vty's keys into lines: echo (not passwords), erase,
  Ctrl-U, ``?`` help and Tab completion, Ctrl-C and Ctrl-Z;
- ``VtyTerminal`` is one vty: login, then the EXEC shell or one command.

Lines sent to a vty end in CR LF.
"""

from __future__ import annotations

import collections
import logging
import socket
from typing import Callable, Protocol

from emulator.cli.paging import MORE, PageState
from emulator.cli.session import CTRL_Z, CliSession, SessionClosed
from emulator.frontends.login import Gate, LoginPolicy, login_dialog
from emulator.frontends.pacer import Disconnected, PacedLab, Running

log = logging.getLogger(__name__)

INTERRUPT_KEYS = ("\x1e", "\x03")   # Ctrl-Shift-6 (IOS's escape sequence) and Ctrl-C
MAX_LINE = 4096                     # characters kept of one input line
POLL_SECONDS = 0.05                 # how often a running command's terminal looks for keys


class Logout(Exception):
    """The user left the session."""


class Channel(Protocol):
    def recv(self, timeout: float | None) -> bytes: ...    # b"" at end of stream; TimeoutError
    def send(self, text: str) -> None: ...
    def close(self) -> None: ...


def encode(text: str) -> bytes:
    return text.encode("latin-1", errors="replace")


def close_socket(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def to_crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


# ---------------------------------------------------------------------------- commands as they run

def follow(paced: PacedLab, running: Running, show: Callable[[str], bool],
           interrupted: Callable[[float], bool] | None = None, poll: float = POLL_SECONDS) -> None:
    """Show a running command's output as it comes, until the command ends.

    ``show(text)`` returns False when the user stopped the output (at ``--More--``): the command
    is dropped. ``interrupted(timeout)`` waits up to ``timeout`` seconds for keys and says whether
    the user broke the command off; without it only the command's output is waited for. Raises
    Disconnected if the lab stops meanwhile; the command never outlives this call.
    """
    try:
        while True:
            text, ended = paced.take(running)
            if text and show(text) is False:
                return
            if ended:
                return
            if paced.stopping.is_set():
                raise Disconnected
            if running.changed.is_set():
                continue
            if interrupted is None:
                running.changed.wait(poll)
            elif interrupted(poll):
                paced.interrupt(running)
    finally:
        paced.cancel(running)


class Pager:
    """A command's output on a terminal of ``length`` lines (0: no paging), as it comes: the
    ``--More--`` of ``emulator.cli.paging``, waiting on ``read_key`` for the key."""

    def __init__(self, send: Callable[[str], None], read_key: Callable[[], str], length: int):
        self.send = send
        self.read_key = read_key
        self.state = PageState(length)

    @property
    def stopped(self) -> bool:
        return self.state.stopped

    def write(self, text: str) -> bool:
        """Show ``text``; False when the user has stopped the output."""
        if self.state.stopped:
            return False
        out = self.state.write(text)
        while True:
            if out:
                self.send(out)
            if not self.state.waiting:
                break
            out = self.state.key(self.read_key())
        return not self.state.stopped


# ---------------------------------------------------------------------------- keys and lines

class LineEditor:
    """A vty's keys, and the lines they make.

    ``help(text)`` gives what ``?`` shows and the prompt to show after it; ``complete(text)`` the
    line Tab makes of ``text`` (None: nothing to complete).
    """

    def __init__(self, channel: Channel, where: str, help: Callable[[str], tuple[str, str]],
                 complete: Callable[[str], str | None]):
        self.channel = channel
        self.where = where
        self.help = help
        self.complete = complete
        self._pending: collections.deque[str] = collections.deque()
        self._after_cr = False
        self._junk = 0

    def key(self, timeout: float | None) -> str:
        """The next key; CR LF, CR NUL and a lone LF all read as one CR."""
        while True:
            while self._pending:
                ch = self._pending.popleft()
                if self._after_cr and ch in "\n\0":
                    self._after_cr = False
                    continue
                self._after_cr = ch == "\r"
                return "\r" if ch == "\n" else ch
            data = self.channel.recv(timeout)
            if not data:
                raise Disconnected
            self._pending.extend(data.decode("latin-1"))

    def interrupted(self, timeout: float) -> bool:
        """While a command runs: whether Ctrl-Shift-6 or Ctrl-C came within ``timeout`` seconds.

        Other keys wait for the next line (typed ahead); those before the interrupt are dropped.
        """
        if not self._take_interrupt():
            try:
                data = self.channel.recv(timeout)
            except TimeoutError:
                return False
            if not data:
                raise Disconnected
            self._pending.extend(data.decode("latin-1"))
        return self._take_interrupt()

    def _take_interrupt(self) -> bool:
        typed = "".join(self._pending)
        at = max(typed.rfind(k) for k in INTERRUPT_KEYS)
        if at < 0:
            return False
        self._pending = collections.deque(typed[at + 1:])
        return True

    def read_line(self, echo: bool = True, timeout: float | None = None, editing: bool = False) -> tuple[str, str]:
        """A line and how it ended: ``enter``, ``ctrl-z`` or ``ctrl-c``.

        With ``editing`` (a command line, not a login or a dialog answer) ``?`` lists what may
        come next and gives the line back, and Tab completes the last keyword, as on IOS.
        """
        buf: list[str] = []
        overflow = False
        literal = False
        while True:
            ch = self.key(timeout)
            quoted, literal = literal, False
            if ch == "\x16" and not quoted:      # Ctrl-V: the next key as typed (a ? in a regular expression)
                literal = True
                continue
            if ch == "\r":
                self.channel.send("\r\n")
                if overflow:
                    log.warning("%s: line longer than %d characters cut", self.where, MAX_LINE)
                return "".join(buf), "enter"
            if ch == "\x1a":
                return "".join(buf), "ctrl-z"
            if ch == "\x03":
                return "".join(buf), "ctrl-c"
            if editing and ch in "?\t" and not quoted:
                self._edit(ch, buf)
            elif " " <= ch <= "~":
                if len(buf) >= MAX_LINE:
                    if not overflow:
                        self.channel.send("\a")
                    overflow = True
                    continue
                buf.append(ch)
                if echo:
                    self.channel.send(ch)
            else:
                self._control(ch, buf, echo)

    def _edit(self, ch: str, buf: list[str]) -> None:
        """``?`` (help, then the line again) or Tab (completion) on a command line."""
        text = "".join(buf)
        if ch == "?":
            shown, prompt = self.help(text)
            self.channel.send("?\r\n" + shown.replace("\n", "\r\n") + prompt + text)
            return
        done = self.complete(text)
        if done is None or done == text:
            return
        if done.startswith(text):
            self.channel.send(done[len(text):])
        else:                                   # the typed part changes (case): retype it
            pad = max(0, len(text) - len(done))
            self.channel.send("\b" * len(text) + done + " " * pad + "\b" * pad)
        buf[:] = list(done)

    def _control(self, ch: str, buf: list[str], echo: bool) -> None:
        if ch in ("\x7f", "\x08"):
            if buf:
                buf.pop()
                if echo:
                    self.channel.send("\b \b")
        elif ch == "\x15":                      # Ctrl-U: erase the line
            if echo and buf:
                self.channel.send("\b \b" * len(buf))
            buf.clear()
        elif ch != "\t":
            self._junk += 1
            if self._junk == 1:
                log.info("%s: ignoring control or non-ASCII input (0x%02x)", self.where, ord(ch))


# ---------------------------------------------------------------------------- a vty

class VtyTerminal:
    """What a vty does with the keys it receives: login, line editing, echo, paging, commands."""

    def __init__(self, paced: PacedLab, device: str, channel: Channel, *, kind: str,
                 peer: str, vty: int | None, policy: LoginPolicy, gate: Gate | None = None):
        self.paced = paced
        self.device = device
        self.router = paced.lab.devices[device]
        self.channel = channel
        self.kind = kind
        self.peer = peer
        self.vty = vty                # None until the login gives the terminal its line
        self.policy = policy
        self.gate = gate
        self._cli: CliSession | None = None
        self.where = f"{device} {'vty' if vty is None else f'vty{vty}'} {kind} from {peer}"
        self.editor = LineEditor(channel, self.where, self._help, self._complete)

    @property
    def cli(self) -> CliSession:
        """The CLI session, open from the end of the login on."""
        assert self._cli is not None, f"{self.where}: no CLI session before the login"
        return self._cli

    def _help(self, text: str) -> tuple[str, str]:
        with self.paced.lock:
            return self.cli.help(text), self.cli.prompt

    def _complete(self, text: str) -> str | None:
        with self.paced.lock:
            return self.cli.complete(text)

    def login(self) -> bool:
        """Telnet login as IOS asks for it; False when the client must be sent away."""
        done = login_dialog(self.policy, self.channel.send,
                            lambda echo, timeout: self.editor.read_line(echo=echo, timeout=timeout)[0],
                            self.where, self.gate)
        if done and self.gate is not None and self.gate.vty is not None:
            self.assign(self.gate.vty)
        return done

    def assign(self, vty: int) -> None:
        """The vty line the login gave this terminal."""
        self.vty = vty
        self.where = f"{self.device} vty{vty} {self.kind} from {self.peer}"
        self.editor.where = self.where

    def open_cli(self) -> None:
        with self.paced.lock:
            self._cli = CliSession(self.router, privileged=False, line=f"vty{self.vty} ({self.peer})")

    def run_shell(self) -> None:
        self.open_cli()
        self.channel.send("\r\n" + self.cli.prompt)
        idle = self.policy.exec_timeout
        try:
            while True:
                self._one_line(idle)
        except TimeoutError:
            log.info("%s: exec timeout, disconnecting", self.where)
            self.channel.send("\r\n")
        except Logout:
            pass
        finally:
            with self.paced.lock:
                self.cli.close()        # its line is free (show users, telnet from the lab's devices)

    def _one_line(self, idle: float | None) -> None:
        with self.paced.lock:
            dialog, config = self.cli.in_dialog, self.cli.config is not None
            secret, editing = self.cli.secret_input, self.cli.local_editing
        text, how = self.editor.read_line(echo=not secret, timeout=idle, editing=editing)
        if how == "enter":
            self._run([text])
        elif config:                            # Ctrl-Z (or Ctrl-C) leaves configuration mode
            self.channel.send("^Z\r\n" if how == "ctrl-z" else "^C\r\n")
            self._run(([text] if text.strip() and how == "ctrl-z" else []) + [CTRL_Z])
        elif dialog:
            self.channel.send("\a")
        else:
            with self.paced.lock:
                prompt = self.cli.prompt
            self.channel.send(("^C" if how == "ctrl-c" else "") + "\r\n" + prompt)

    def run_exec(self, command: str) -> None:
        """An SSH exec request (``ssh host show version``): one command, then the end."""
        self.open_cli()
        try:
            running = self.paced.begin(self.cli, command, self.where)
        except SessionClosed:
            return

        def show(text: str) -> bool:
            self.channel.send(to_crlf(text))
            return True

        follow(self.paced, running, show)

    def _run(self, lines: list[str]) -> None:
        """Run typed lines, each command's output shown as it comes; then the next prompt."""
        for line in lines:
            with self.paced.lock:
                if line == CTRL_Z and self.cli.config is None:
                    continue
            try:
                running = self.paced.begin(self.cli, line, self.where)
            except SessionClosed:
                break
            pager = Pager(self.channel.send, lambda: self.editor.key(self.policy.exec_timeout),
                          self.cli.terminal_length)
            follow(self.paced, running, pager.write, self.editor.interrupted)
        with self.paced.lock:
            prompt, closed = self.cli.prompt, self.cli.closed
        if closed:
            raise Logout
        self.channel.send(prompt)


__all__ = ["VtyTerminal", "LineEditor", "Pager", "follow", "Logout", "Channel", "INTERRUPT_KEYS", "MORE",
           "close_socket", "encode", "to_crlf"]
