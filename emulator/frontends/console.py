"""python -m emulator console DEVICE [--lab PATH] [--speed X]: one device's console in this terminal.

The lab runs on a real-time clock, and the terminal is the device's console line: it starts in user
EXEC, ``enable`` asks for the enable secret if there is one, and the messages
the device logs appear as they happen, followed by the prompt and what was
typed so far (as with ``logging synchronous``).

Line editing and history come from the standard library's ``readline`` when
the terminal is a tty. As on IOS:

- ``?`` anywhere in a line lists what may come next for the text before it,
  then gives the line back for editing;
- Tab completes the keyword being typed;
- Ctrl-Z leaves configuration mode, Ctrl-C abandons the line (and leaves
  configuration mode): the terminal's suspend and interrupt keys are turned
  off while the console runs, so both are keys, not signals;
- a long command (ping) shows its output as it comes; Ctrl-Shift-6 (IOS's
  escape sequence) or Ctrl-C breaks it off;
- questions (``Password:``, the extended ping's) are answered on their own
  line, passwords without echo;
- ``exit`` (or ``logout``, ``quit``) at EXEC level ends the console and the
  lab; so does end of input (Ctrl-D).

Without a tty (input from a pipe) the lines are read as they come, with the
same meaning, and ``?`` at the end of a line gives the help.

The lab runs under the same pacer as the served lab (``emulator.frontends.pacer``).
SIGINT and SIGTERM end the console (exit status 0) within a bounded time,
whatever the simulator is doing.
"""

from __future__ import annotations

import os
import select
import sys
import threading
from typing import Any, TextIO

from emulator.cli.session import CTRL_Z, CliSession, SessionClosed
from emulator.frontends.pacer import Disconnected, PacedLab, StopSignals
from emulator.frontends.terminal import INTERRUPT_KEYS, follow
from emulator.lab.labfile import Lab, LabError

PUMP_INTERVAL = 0.1        # how often idle time looks for messages the device logged
STOP_SECONDS = 0.6         # what the end of the console waits at most for the lab
CTRL_C = "\x03"


class ConsoleStopped(BaseException):
    """SIGINT or SIGTERM: the console ends (a BaseException, so that no handler of errors takes it)."""


class Console:
    """One console session on ``device`` of a paced lab, reading ``stdin`` and writing ``stdout``."""

    def __init__(self, paced: PacedLab, device: str, stdin: TextIO | None = None, stdout: TextIO | None = None):
        self.paced = paced
        self.device = device
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        router = paced.lab.devices[device]
        with paced.lock:
            self.cli = CliSession(router, privileged=False, line="console")
            self.cli._log_seen = 0          # the console shows what the device logged since it booted
        self.tty = self._isatty()
        self.readline = _load_readline() if self.tty else None
        self._out = threading.Lock()
        self._reading: str | None = None    # the prompt of the line being read, while one is
        self._prefill = ""
        self._stop = threading.Event()

    def _isatty(self) -> bool:
        try:
            return self.stdin.isatty() and self.stdout.isatty()
        except (AttributeError, ValueError):
            return False

    # ------------------------------------------------ output
    def write(self, text: str) -> None:
        if not text:
            return
        with self._out:
            self.stdout.write(text)
            self.stdout.flush()

    def _pump(self) -> None:
        """Messages logged on the device while the console waits for a line, as a console shows them."""
        while not self._stop.wait(PUMP_INTERVAL):
            with self._out:
                prompt = self._reading
                if prompt is None:
                    continue
                messages = self.paced.new_messages(self.cli)
                if not messages:
                    continue
                typed = self.readline.get_line_buffer() if self.readline else ""
                self.stdout.write("\n" + messages + prompt + typed)
                self.stdout.flush()

    # ------------------------------------------------ input
    def _read(self, prompt: str, secret: bool, command_line: bool) -> str:
        """One line; EOFError at the end of input, KeyboardInterrupt on Ctrl-C."""
        if self.readline is not None:
            self._bind(command_line)
        self.write(self.paced.new_messages(self.cli))
        with self._out:
            self._reading = prompt
        try:
            if secret:
                return self._read_secret(prompt)
            if self.readline is not None:
                return input(prompt)
            self.write(prompt)
            line = self.stdin.readline()
            if not line:
                raise EOFError
            line = line.rstrip("\r\n")
            if not self.tty:
                self.write(line + "\n")    # the transcript shows what was typed, as a terminal would
            return line
        finally:
            with self._out:
                self._reading = None

    def _read_secret(self, prompt: str) -> str:
        if not self.tty:
            self.write(prompt)
            line = self.stdin.readline()
            if not line:
                raise EOFError
            self.write("\n")
            return line.rstrip("\r\n")
        import termios
        fd = self.stdin.fileno()
        saved = termios.tcgetattr(fd)
        quiet = termios.tcgetattr(fd)
        quiet[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSADRAIN, quiet)     # before the question: nothing typed shows
        try:
            self.write(prompt)
            line = self.stdin.readline()
        finally:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
            self.write("\n")
        if not line:
            raise EOFError
        return line.rstrip("\r\n")

    def _bind(self, command_line: bool) -> None:
        rl = self.readline
        assert rl is not None, "line editing is bound on a terminal only"
        if command_line:
            # "?" and Ctrl-Z insert themselves literally and end the line at once; run() acts on them.
            rl.parse_and_bind(r'"?": "\C-v?\C-j"')
            rl.set_completer(self._complete)
        else:
            rl.parse_and_bind(r'"?": self-insert')
            rl.set_completer(lambda text, state: None)
        prefill, self._prefill = self._prefill, ""
        rl.set_pre_input_hook((lambda: (rl.insert_text(prefill), rl.redisplay())) if prefill else None)

    def _complete(self, text: str, state: int) -> str | None:
        """readline's completer: ``text`` is the whole line up to the cursor (no word delimiters)."""
        if state:
            return None
        with self.paced.lock:
            return self.cli.complete(text)

    def _forget(self, line: str) -> None:
        """Keep a line that was only a question or an answer out of the history."""
        rl = self.readline
        if rl is None or not line:
            return                                  # empty lines never went in
        last = rl.get_current_history_length()
        if last > 0 and rl.get_history_item(last) == line:
            rl.remove_history_item(last - 1)

    # ------------------------------------------------ the session
    def run(self) -> int:
        pump = threading.Thread(target=self._pump, name="console-messages", daemon=True)
        pump.start()
        try:
            while not self.cli.closed:
                with self.paced.lock:
                    prompt, dialog, config = self.cli.prompt, self.cli.in_dialog, self.cli.config is not None
                    secret, editing = self.cli.secret_input, self.cli.local_editing
                try:
                    line = self._read(prompt, secret, command_line=editing)
                except EOFError:
                    self.write("\n")
                    break
                self._line(line, dialog, config)
        except (Disconnected, ConsoleStopped):     # the lab stopped; SIGINT or SIGTERM
            pass
        finally:
            self._stop.set()
            pump.join(0.2)
        return 0

    def _line(self, line: str, dialog: bool, config: bool) -> None:
        """What a line typed at ``prompt`` does."""
        if CTRL_C in line:                      # readline has shown it as ^C: the line is abandoned
            if not self.tty:
                self.write("^C\n")
            self._forget(line)
            if config:
                self._run([CTRL_Z])
        elif dialog:
            self._forget(line)
            self._run([line])
        elif CTRL_Z in line:                    # readline has shown it as ^Z
            text = line.replace(CTRL_Z, "")
            if config:
                self._run(([text] if text.strip() else []) + [CTRL_Z])
            self._forget(line)
        elif "?" in line:
            before, _, after = line.partition("?")
            with self.paced.lock:
                shown = self.cli.help(before)
            self.write(shown)
            self._forget(line)
            self._prefill = before + after if self.readline is not None else ""
        else:
            self._run([line])

    def _run(self, lines: list[str]) -> None:
        """Run typed lines, each command's output shown as it comes; Ctrl-Shift-6 or Ctrl-C breaks
        a long one off (on a tty)."""
        where = f"{self.device} console"
        with _CommandKeys(self.stdin if self.tty else None) as keys:
            for line in lines:
                with self.paced.lock:
                    if line == CTRL_Z and self.cli.config is None:
                        continue
                try:
                    running = self.paced.begin(self.cli, line, where)
                except SessionClosed:
                    break
                follow(self.paced, running, self._show, self._interrupted if keys.active else None)

    def _show(self, text: str) -> bool:
        self.write(text)
        return True

    def _interrupted(self, timeout: float) -> bool:
        """While a command runs on a tty: whether Ctrl-Shift-6 or Ctrl-C came within ``timeout`` s.

        What else is typed comes back on the next command line (with readline).
        """
        fd = self.stdin.fileno()
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return False
        try:
            typed = os.read(fd, 1024).decode("latin-1", errors="replace")
        except OSError:                         # the terminal is gone: the command ends, then the console
            return True
        if not typed or any(k in typed for k in INTERRUPT_KEYS):
            return True
        if self.readline is not None:
            self._prefill += "".join(ch for ch in typed if " " <= ch <= "~")
        return False


def _load_readline():
    try:
        import readline
    except ImportError:            # no readline here (Windows): plain lines
        return None
    if "libedit" in (readline.__doc__ or ""):
        return None                # libedit binds keys differently: plain lines rather than odd ones
    readline.set_completer_delims("")
    for setting in ("tab: complete", "set enable-bracketed-paste off", r'"\C-z": "\C-v\C-z\C-j"',
                    r'"\C-c": "\C-v\C-c\C-j"'):
        readline.parse_and_bind(setting)
    return readline


def _tty_fd(stream: TextIO | None) -> int | None:
    try:
        return stream.fileno() if stream is not None and stream.isatty() else None
    except (AttributeError, ValueError, OSError):
        return None


class _SignalKeysOff:
    """Turns the terminal's suspend and interrupt keys (Ctrl-Z, Ctrl-C) into ordinary keys while
    the console runs: they are IOS's keys here, and SIGINT stays the request to stop."""

    def __init__(self, stream: TextIO):
        self.fd = _tty_fd(stream)
        self.saved: list[Any] | None = None      # the terminal's attributes while changed

    def __enter__(self):
        if self.fd is None:
            return self
        try:
            import termios
            self.saved = termios.tcgetattr(self.fd)
            attrs = termios.tcgetattr(self.fd)
            off = os.fpathconf(self.fd, "PC_VDISABLE") if hasattr(os, "fpathconf") else 0
            attrs[6][termios.VSUSP] = off
            attrs[6][termios.VINTR] = off
            termios.tcsetattr(self.fd, termios.TCSADRAIN, attrs)
        except (ImportError, OSError, ValueError):
            self.saved = None
        return self

    def __exit__(self, *exc) -> None:
        if self.saved is not None and self.fd is not None:
            import termios
            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)
            except OSError:
                pass


class _CommandKeys:
    """While a command runs on a tty, keys come one by one and unechoed, for Ctrl-Shift-6 and Ctrl-C."""

    def __init__(self, stream: TextIO | None):
        self.fd = _tty_fd(stream)
        self.saved: list[Any] | None = None      # the terminal's attributes while changed
        self.active = False

    def __enter__(self):
        if self.fd is None:
            return self
        try:
            import termios
            self.saved = termios.tcgetattr(self.fd)
            attrs = termios.tcgetattr(self.fd)
            attrs[3] &= ~(termios.ICANON | termios.ECHO)
            attrs[6][termios.VMIN] = 1
            attrs[6][termios.VTIME] = 0
            termios.tcsetattr(self.fd, termios.TCSANOW, attrs)
            self.active = True
        except (ImportError, OSError, ValueError):
            self.saved = None
        return self

    def __exit__(self, *exc) -> None:
        if self.saved is not None and self.fd is not None:
            import termios
            try:
                termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)
            except OSError:
                pass


def run_console(lab_path: str, device: str, speed: float = 1.0) -> int:
    """The ``console`` command: 0 when the user leaves or SIGINT/SIGTERM stop it, 2 (with a one-line
    error) when it cannot start."""
    try:
        lab = Lab.from_file(lab_path)
    except LabError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if device not in lab.devices:
        lab.close()
        print(f"error: {lab_path}: no device {device!r} in the lab (devices: {', '.join(lab.devices)})",
              file=sys.stderr)
        return 2
    for rejected in lab.boot_errors():
        print(f"boot: {rejected}", file=sys.stderr)
    try:
        paced = PacedLab(lab, speed)
    except ValueError as err:
        lab.close()
        print(f"error: {err}", file=sys.stderr)
        return 2
    stopped: list[int] = []

    def stop(signum: int) -> None:
        if not stopped:
            stopped.append(signum)
            raise ConsoleStopped

    try:
        with StopSignals(stop), _SignalKeysOff(sys.stdin):
            paced.start()
            return Console(paced, device).run()
    except ConsoleStopped:
        return 0
    finally:
        paced.stop(STOP_SECONDS)
        paced.close_lab(STOP_SECONDS / 3)


__all__ = ["Console", "run_console"]
