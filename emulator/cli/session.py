"""One CLI session on an emulated device: modes, prompts, dialogs and errors.

``execute(line)`` takes what the user typed and returns what IOS prints
before the next prompt (no echo, no prompt). A command can hold a dialog
(``copy running-config startup-config`` asks for a file name): it is a
generator that yields each question; the next line typed answers it.

A long-running command (ping) is a job (``emulator.sim.jobs.Job``): it yields
its output as it goes and waits on the lab clock without running it.
``start(line)`` hands the job to a runner that paces it (the served lab, the
console); ``execute(line)`` runs it to its end in process, the lab clock
running as long as it waits.
"""

from __future__ import annotations

import re
import time
from collections import deque
from typing import Generator

# The command modules register their commands when imported.
from emulator.cli import (  # noqa: F401
    crypto_commands,
    exec_commands,
    help_text,
    ip_commands,
    ip_packet_debug,
    logging_show,
    login_show,
    nat_commands,
    ping_command,
    terminal_commands,
    traceroute_command,
)
from emulator.cli.iosregex import IosRegex, RegexError, compile_ios
from emulator.cli.tcp_show import tcp_brief  # noqa: F401  (registers show tcp brief)
from emulator.cli.telnet_client import TelnetClient, relay_line, resume
from emulator.cli.telnet_server import serve as serve_telnet
from emulator.config.commands import ConfigApplyError, ConfigContext, LeaveConfig, apply_line
from emulator.config.grammar import CommandError, tokenize
from emulator.device.router import Router
from emulator.sim.jobs import Interrupted, Job, Steps, pause

CTRL_Z = "\x1a"
SECRET_QUESTION = re.compile(r"ssword: ?$")    # a question whose answer is not echoed
HISTORY_SIZE = 10       # the history buffer IOS gives a terminal line


class SessionClosed(Exception):
    """The user logged out (``exit``, ``logout``, ``quit``)."""


class CliSession:
    def __init__(self, router: Router, privileged: bool = False, line: str = "console"):
        self.router = router
        self.privileged = privileged
        self.line = line
        self.config: ConfigContext | None = None   # while in configuration mode
        self.terminal_length = 24
        self.terminal_width = 80
        self.monitor = line == "console"   # console messages and debug output shown on this terminal
        self._log_seen = len(router.log_buffer)
        # A dialog yields (output, question), is sent the answers, and ends with its output or a job.
        self._dialog: Generator[tuple[str, str], str, str | Job] | None = None
        self._question = ""
        self._dialog_output: list[str] = []
        self.closed = False
        self._generation = router.generation   # the boot this session began in
        # The EXEC commands typed, newest last, as ``show history`` lists them (IOS keeps 10 by default).
        self.history: deque[str] = deque(maxlen=HISTORY_SIZE)
        self.last_input = router.now    # lab time of the last line typed (show users: Idle)
        self.started = router.now       # when the line was activated (show terminal)
        # A telnet connection the session's lines go to (``emulator.cli.telnet_client``), and one suspended.
        self.remote: TelnetClient | None = None
        self.suspended: TelnetClient | None = None
        self.connections: list[TelnetClient] = []     # its open connections, suspended or not
        router.sessions.add(self)

    # ------------------------------------------------------------ prompt
    @property
    def prompt(self) -> str:
        self._follow_reboot()
        if self._dialog is not None:
            return self._question
        if self.remote is not None:
            return ""                    # the remote end prints its own prompt
        host = self.router.hostname
        if self.config is not None:
            return f"{host}({self.config.prompt_mode()})#"
        return host + ("#" if self.privileged else ">")

    @property
    def in_dialog(self) -> bool:
        return self._dialog is not None

    @property
    def secret_input(self) -> bool:
        """Whether the next line is a password, not to be echoed: a dialog's or the remote end's question."""
        if self.remote is not None:
            return self.remote.asks_password
        return self._dialog is not None and SECRET_QUESTION.search(self._question) is not None

    @property
    def local_editing(self) -> bool:
        """Whether ``?`` and Tab are this session's (not in a dialog, not typing to a telnet connection)."""
        return self._dialog is None and self.remote is None

    # ------------------------------------------------------------ input
    def execute(self, line: str) -> str:
        """Run one typed line to its end; returns the output printed before the next prompt.

        A command that waits (ping) runs the lab clock meanwhile. On a terminal that monitors
        (the console, or after ``terminal monitor``) the messages logged meanwhile follow the
        output, as IOS prints them.
        """
        return self.start(line).run(self.router.clock)

    def start(self, line: str) -> Job:
        """Begin one typed line: a job of the output printed before the next prompt.

        The command itself runs now (SessionClosed is raised now); a long one goes on as its
        runner steps the job. The messages logged meanwhile end the output, as with ``execute``.
        """
        return Job(self._steps(self._execute(line)))

    def _steps(self, result: "str | Job") -> Steps:
        if isinstance(result, Job):
            try:
                yield from result.steps()
            except Interrupted:
                pass
        elif result:
            yield result
        log = self.router.log_buffer
        if self._log_seen < len(log):
            if self.monitor:
                yield "".join(m + "\n" for m in log[self._log_seen:])
            self._log_seen = len(log)

    def _execute(self, line: str) -> "str | Job":
        if not self.active:
            raise SessionClosed(self.router.hostname)
        line = line.rstrip("\r\n")
        if self.remote is not None:
            self.last_input = self.router.now
            return Job(relay_line(self, self.remote, line))
        if self._dialog is not None:
            return self._answer(line)
        if line.endswith("?"):
            return self.help(line[:-1])
        if self.config is not None:
            return self._configure(line)
        self.last_input = self.router.now
        if not line.strip():
            return Job(resume(self)) if self.suspended is not None else ""
        if self.history.maxlen:
            self.history.append(line.strip())
        grammar = exec_commands.PRIVILEGED if self.privileged else exec_commands.USER
        width = len(self.prompt)
        line, pipe = _split_pipe(line)
        first = tokenize(line)[:1]
        if first and help_text.ambiguous(first[0].text, self.privileged):
            return CommandError("ambiguous", line).render(width)
        try:
            node, args = grammar.parse(line)
        except CommandError as err:
            return exec_commands.unknown_command(self, line, err, width)
        args["_line"] = line
        action = node.action
        assert action is not None, "the grammar parses only to nodes that end a command"
        try:
            result = action(self, args)
        except CommandError as err:
            # A handler refused an argument: the caret goes under the last word.
            column = err.column if err.column >= 0 else tokenize(line)[-1].start
            return CommandError(err.kind, line, column).render(width) + "\n"
        if hasattr(result, "send"):
            return self._start_dialog(result)
        if pipe is not None:
            try:
                pipe.check()
            except CommandError as err:
                return CommandError(err.kind, line, err.column).render(width) + "\n"
            return Job(pipe.filter(result.steps() if isinstance(result, Job) else _once(result or "")))
        return result or ""

    # ------------------------------------------------------------ help and completion
    def _grammars(self) -> list:
        from emulator.config.commands import GRAMMARS, PARENT
        if self.config is not None:
            mode = self.config.mode
            return [GRAMMARS[mode]] + ([GRAMMARS[PARENT[mode]]] if mode in PARENT else [])
        return [exec_commands.PRIVILEGED if self.privileged else exec_commands.USER]

    def help(self, line: str) -> str:
        """What IOS prints for ``line?``: the words that may come next, each with its description, or
        those a partial word may become."""
        from emulator.config.grammar import HelpItem, help_items
        partial = bool(line) and not line[-1].isspace()
        grammars = self._grammars()[:1]   # IOS lists the current mode's commands only
        negate = self.config is not None and line.lstrip().lower().startswith("no ")
        body = line.lstrip()[3:] if negate else line
        found: list = []
        for grammar in grammars:
            items = help_items(grammar, body)
            if items:
                found += [i for i in items if i not in found]
        if not found:
            return "% Unrecognized command\n"
        if partial:
            return "  ".join(i.word for i in found) + "\n\n"
        mode = self.config.mode if self.config is not None else "exec"
        top = not body.strip()
        if top and self.config is not None and not negate:
            found = sorted(found + [HelpItem("no")], key=lambda i: i.word)
        return self._help_list(mode, found, top and not negate)

    def _help_list(self, mode: str, items: list, top: bool) -> str:
        """The ``?`` list: a heading at a mode's top, then each word padded to the longest, its description."""
        rows: list[tuple[str, str | None]] = []
        for item in items:
            if not help_text.listed(mode, item.path + (item.word,)):
                continue
            if item.param and item.word == "interface":
                rows += help_text.interface_types(list(self.router.platform.interfaces))
                continue
            if item.word == "<cr>" and mode == "exec" and item.path[:1] == ("show",):
                rows.append(("|", "Output modifiers"))
            text = None if item.word == "<cr>" else help_text.describe(mode, item.path + (item.word,))
            rows.append((item.word, text))
        width = max(len(word) for word, _ in rows)
        heading = help_text.header(mode) if top else None
        out = [heading] if heading else []
        out += [f"  {word:<{width}}  {text}" if text else f"  {word}" for word, text in rows]
        return "\n".join(out) + "\n\n"

    def complete(self, line: str) -> str | None:
        """``line`` with its last keyword completed (Tab), or None."""
        from emulator.config.grammar import complete_word
        for grammar in self._grammars():
            done = complete_word(grammar, line)
            if done is not None:
                return done
        return None

    def _start_dialog(self, dialog) -> "str | Job":
        self._dialog = dialog
        self._dialog_output = []
        return self._advance(None)

    def _answer(self, line: str) -> "str | Job":
        return self._advance(line)

    def _advance(self, answer: str | None) -> "str | Job":
        """Run the dialog to its next question; output printed so far is returned.

        A dialog ends with its output, or with a job (the extended ping) that follows it.
        """
        dialog = self._dialog
        assert dialog is not None, "answers go to a dialog in progress"
        try:
            step = dialog.send(answer) if answer is not None else next(dialog)
        except StopIteration as stop:
            self._dialog = None
            printed = "".join(self._dialog_output)
            if isinstance(stop.value, Job):
                return Job(_after(printed, stop.value.steps())) if printed else stop.value
            return printed + (stop.value or "")
        # A dialog yields (output printed before the question, question).
        printed, self._question = step
        out = "".join(self._dialog_output) + printed
        self._dialog_output = []
        return out

    # ------------------------------------------------------------ configuration mode
    def enter_config(self) -> str:
        self.config = self.router.config_context()
        return "Enter configuration commands, one per line.  End with CNTL/Z.\n"

    def leave_config(self) -> None:
        self.config = None
        where = "console" if self.line == "console" else f"{self.line}"
        self.router.log(f"%SYS-5-CONFIG_I: Configured from console by {where}")

    def _configure(self, line: str) -> str:
        if line.strip() == CTRL_Z or line.endswith(CTRL_Z):
            self.leave_config()
            return ""
        stripped = line.strip()
        if not stripped or stripped.startswith("!"):
            return ""
        width = len(self.prompt)
        assert self.config is not None, "configuration lines come in configuration mode"
        try:
            apply_line(self.config, line)
            self.router.config_applied()
        except LeaveConfig:
            self.leave_config()
        except CommandError as err:
            return err.render(width) + ("\n" if err.kind != "ambiguous" else "")
        except ConfigApplyError as err:
            return f"{err}\n"
        return ""

    def configure_lines(self, lines: list[str]) -> str:
        """Enter configuration mode, apply ``lines`` and leave; returns the console text."""
        out = [self.execute("configure terminal")]
        for line in lines:
            out.append(self.prompt + line + "\n")
            out.append(self.execute(line))
            if self.config is None:
                break
        if self.config is not None:
            out.append(self.prompt + "end\n")
            out.append(self.execute("end"))
        return "".join(out)

    def close(self) -> None:
        self.closed = True

    @property
    def active(self) -> bool:
        """Whether the session is still on its line (a reload ends the vty sessions)."""
        self._follow_reboot()
        return not self.closed

    def set_history_size(self, size: int) -> None:
        """``terminal history size``: keep the newest ``size`` commands."""
        self.history = deque(self.history, maxlen=size)

    def _follow_reboot(self) -> None:
        """If the device reloaded since: a vty session ended with it; the console starts again in user EXEC."""
        if self.router.generation == self._generation:
            return
        self._generation = self.router.generation
        if self.line != "console":
            self.closed = True
            return
        self.privileged = False
        self.config = None
        self._dialog = None
        self.monitor = True
        self.remote = self.suspended = None    # its telnet connections ended with the boot
        self.connections = []


class OutputFilter:
    """``| include``, ``| exclude``, ``| begin`` or ``| section`` with an IOS regular expression.

    The pattern is IOS's own subset, matched in linear time (``emulator.cli.iosregex``): no
    typed pattern reaches a backtracking engine. Output is filtered line by line as it comes,
    and the filter hands the lab back to its runner every FILTER_SLICE_SECONDS of work.
    """

    KINDS = ("begin", "exclude", "include", "section")

    def __init__(self, text: str, column: int = 3):
        self.text = text
        self.column = column            # where ``text`` starts in the typed line
        self._checked: tuple[str, IosRegex] | None = None

    def check(self) -> tuple[str, IosRegex]:
        """The filter's kind and pattern; CommandError (its column in the typed line) when it is not one.

        ``section include REGEX`` and ``section exclude REGEX`` give the kinds
        ``section`` and ``section-exclude``.
        """
        if self._checked is not None:
            return self._checked
        words = self.text.split(None, 1)
        kinds = [k for k in self.KINDS if words and k.startswith(words[0].lower())]
        if not words or len(kinds) != 1:
            raise CommandError("invalid", self.text, self.column)
        if len(words) < 2:
            raise CommandError("incomplete", self.text)
        kind, pattern = kinds[0], words[1]
        if kind == "section":
            sub = pattern.split(None, 1)
            which = [w for w in ("exclude", "include") if w.startswith(sub[0].lower())]
            if len(sub) == 2 and len(sub[0]) > 1 and len(which) == 1:
                kind = "section" if which[0] == "include" else "section-exclude"
                pattern = sub[1]
        at = self.column + self.text.index(pattern)
        try:
            self._checked = kind, compile_ios(pattern)
        except RegexError as err:
            raise CommandError("invalid", self.text, at + min(err.position, len(pattern) - 1)) from None
        return self._checked

    def filter(self, steps: Steps) -> Steps:
        """A job's steps with its output filtered line by line: its waits pass on."""
        state = _FilterState(*self.check())
        pending = ""
        try:
            item = next(steps)
            while True:
                if isinstance(item, str):
                    pending += item
                    cut = pending.rfind("\n") + 1
                    if cut:
                        yield from state.lines(pending[:cut])
                        pending = pending[cut:]
                    item = next(steps)
                    continue
                try:
                    yield item
                except Interrupted as exc:      # the job is broken off: it may still print its end
                    item = steps.throw(exc)
                else:
                    item = next(steps)
        except (StopIteration, Interrupted):
            pass
        finally:
            steps.close()
        if pending:
            yield from state.lines(pending)


FILTER_SLICE_SECONDS = 0.005     # filtering work between two turns of the lab's other users


class _FilterState:
    """Where a filter stands in the output: whether ``begin`` has begun, the section being printed."""

    def __init__(self, kind: str, pattern: IosRegex):
        self.kind = kind
        self.pattern = pattern
        self.begun = False
        self.section: int | None = None       # indentation of the section being printed or left out

    def lines(self, text: str) -> Steps:
        """The kept lines of ``text`` as output, with a pause (a wait already over) when a slice is up."""
        kept: list[str] = []
        budget = time.perf_counter() + FILTER_SLICE_SECONDS
        for line in text.splitlines(keepends=True):
            if self.keep(line):
                kept.append(line)
            if time.perf_counter() > budget:
                if kept:
                    yield "".join(kept)
                    kept = []
                yield pause()
                budget = time.perf_counter() + FILTER_SLICE_SECONDS
        if kept:
            yield "".join(kept)

    def keep(self, line: str) -> bool:
        body = line.rstrip("\r\n")
        if self.kind == "include":
            return self.pattern.search(body)
        if self.kind == "exclude":
            return not self.pattern.search(body)
        if self.kind == "begin":
            self.begun = self.begun or self.pattern.search(body)
            return self.begun
        # IOS's section: a line with the lines indented under it (more leading spaces than it has).
        indent = len(body) - len(body.lstrip(" "))
        if self.section is not None and indent > self.section and body.strip():
            return self.kind == "section"
        matched = self.pattern.search(body)
        if self.kind == "section-exclude":
            self.section = indent if matched else None
            return not matched
        self.section = indent if matched else None
        return matched


def _once(text: str) -> Steps:
    """A command's whole output as a job's steps."""
    if text:
        yield text


def _after(printed: str, steps: Steps) -> Steps:
    """``printed`` (what a dialog printed before its job), then the job's steps."""
    yield printed
    return (yield from steps)


def _split_pipe(line: str) -> tuple[str, OutputFilter | None]:
    if " |" not in line:
        return line, None
    head, _, tail = line.partition(" |")
    text = tail.strip()
    return head, OutputFilter(text, len(head) + 2 + (len(tail) - len(tail.lstrip())))


serve_telnet(CliSession)   # every device's vty lines serve telnet with sessions of this class

__all__ = ["CliSession", "SessionClosed", "CTRL_Z", "HISTORY_SIZE", "SECRET_QUESTION"]
