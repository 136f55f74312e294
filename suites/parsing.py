"""Parse Cisco IOS CLI output into records with TextFSM.

The suites read routers only through CLI text.  ``parse()`` turns the text of
one command into a list of dicts (one per record, keys lower-case, values
strings, or lists of strings for TextFSM ``List`` values).

Template choice, per command:

1. the project's templates in ``suites/templates/`` (their ``index`` maps
   command regexes such as ``sh[[ow]] cry[[pto]] ip[[sec]] sa`` to files).
   They cover the commands ntc-templates has no template for (crypto), or
   where ntc's template is wrong for the IOS 12.2 output of Document 14131
   (access lists without sequence numbers, NAT translations, ``show
   interfaces`` before IPCP, the extended ping dialog); see
   ``suites/templates/README.md``;
2. otherwise ntc-templates' own index (e.g. ``show ip interface brief``,
   ``show version``).

Before parsing, ``parse()``

* removes lines that start with a router prompt (``host#``, ``host>``,
  ``host(config)#``): command echoes and prompts in captured transcripts;
* raises ``ParseError`` when the text is an IOS CLI error (``% Invalid input
  detected``, ``% Incomplete command.``, ``% Ambiguous command`` ...).

A template that hits an ``Error`` rule (or fails otherwise) also raises
``ParseError``, naming the command, the template, and the line number and text
of the line it could not parse.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import textfsm
from textfsm import clitable

__all__ = ["ParseError", "parse", "find_template", "TemplateRef", "PROJECT_TEMPLATE_DIR"]

PROJECT_TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

# Router prompt at the start of a line: "R1#", "dr_whoovie# ping", "R1(config)#", "R1>".
_PROMPT_RE = re.compile(r"^\s*[A-Za-z][\w.\-]*(?:\([\w\-]+\))?[#>]")

# IOS CLI error messages (the text after "% ").
_CLI_ERROR_RE = re.compile(
    r"^\s*%\s*(?P<msg>(?:Invalid input detected|Incomplete command|Ambiguous command"
    r"|Unknown command|Unrecognized command|Unrecognized host|Bad IP address"
    r"|Invalid source)\b.*?)\s*$"
)


class ParseError(Exception):
    """CLI output could not be parsed (CLI error text, no template, template error)."""

    def __init__(self, message: str, *, command: str = "", line_number: int | None = None,
                 line: str | None = None, template: str | None = None):
        super().__init__(message)
        self.command = command
        self.line_number = line_number
        self.line = line
        self.template = template


@dataclass(frozen=True)
class TemplateRef:
    """Where the template for a command comes from."""

    source: str  # "project" or "ntc"
    directory: Path
    names: tuple[str, ...]  # template file names (ntc may join several with ':')

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(self.directory / n for n in self.names)


def _ntc_template_dir() -> Path | None:
    env = os.environ.get("NTC_TEMPLATES_DIR")
    if env:
        return Path(env)
    try:
        import ntc_templates  # noqa: PLC0415
    except ImportError:  # pragma: no cover - ntc-templates is a project dependency
        return None
    path = Path(ntc_templates.__file__).resolve().parent / "templates"
    return path if (path / "index").is_file() else None


@lru_cache(maxsize=None)
def _index(directory: str) -> clitable.CliTable:
    return clitable.CliTable("index", directory)


def _normalise_command(command: str) -> str:
    return " ".join(command.split()).lower()


def find_template(command: str, platform: str = "cisco_ios") -> TemplateRef | None:
    """Return the template the command would be parsed with, or None."""
    attrs = {"Command": _normalise_command(command), "Platform": platform}
    directories = [("project", PROJECT_TEMPLATE_DIR)]
    ntc_dir = _ntc_template_dir()
    if ntc_dir is not None:
        directories.append(("ntc", ntc_dir))
    for source, directory in directories:
        table = _index(str(directory))
        row = table.index.GetRowMatch(attrs)
        if row:
            names = tuple(table.index.index[row]["Template"].split(":"))
            return TemplateRef(source, directory, names)
    return None


@lru_cache(maxsize=None)
def _template_text(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


def _clean(text: str) -> list[tuple[int, str]]:
    """Split into (line number in ``text``, line), dropping CRs and router-prompt lines."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [(n, line) for n, line in enumerate(lines, 1) if not _PROMPT_RE.match(line)]


def _check_cli_error(command: str, lines: list[tuple[int, str]]) -> None:
    for number, line in lines:
        m = _CLI_ERROR_RE.match(line)
        if m:
            raise ParseError(
                f"{command!r}: the router answered with a CLI error on line {number}: "
                f"'% {m.group('msg')}'",
                command=command, line_number=number, line=line,
            )


def _run_template(command: str, path: Path, lines: list[tuple[int, str]]) -> list[dict]:
    try:
        fsm = textfsm.TextFSM(io.StringIO(_template_text(str(path))))
    except textfsm.TextFSMTemplateError as exc:
        raise ParseError(f"{command!r}: template {path.name} is invalid: {exc}",
                         command=command, template=str(path)) from exc
    number, line = None, None
    try:
        # Feed one line at a time so that an error names the exact line.
        for number, line in lines:  # noqa: B007 - both name the failing line in the error below
            fsm.ParseText(line + "\n", eof=False)
            if fsm._cur_state_name in ("End", "EOF"):  # noqa: SLF001 - TextFSM has no public accessor
                break
        number, line = None, None
        rows = fsm.ParseText("", eof=True)
    except textfsm.TextFSMError as exc:
        where = f"line {number}: {line!r}" if number else "the end of the output"
        reason = re.sub(r"\s*Rule Line: \d+\. Input Line: .*$", "", str(exc), flags=re.S)
        raise ParseError(
            f"{command!r}: template {path.name} could not parse {where} ({reason})",
            command=command, template=str(path), line_number=number, line=line,
        ) from exc
    header = [h.lower() for h in fsm.header]
    return [dict(zip(header, row, strict=True)) for row in rows]


def parse(command: str, text: str, platform: str = "cisco_ios") -> list[dict]:
    """Parse the CLI output ``text`` of ``command`` into a list of records.

    Raises ParseError when the output is a CLI error, when no template covers
    the command, or when the template rejects a line.
    """
    lines = _clean(text)
    _check_cli_error(command, lines)
    ref = find_template(command, platform)
    if ref is None:
        raise ParseError(f"{command!r}: no TextFSM template for this command on {platform}",
                         command=command)
    if len(ref.names) == 1:
        return _run_template(command, ref.paths[0], lines)
    # Several templates joined by ':' (ntc): let clitable merge them.
    table = clitable.CliTable("index", str(ref.directory))
    try:
        table.ParseCmd("\n".join(line for _, line in lines), templates=":".join(ref.names))
    except (textfsm.TextFSMError, clitable.CliTableError) as exc:
        raise ParseError(f"{command!r}: templates {ref.names} failed: {exc}",
                         command=command) from exc
    header = [h.lower() for h in table.header]
    return [dict(zip(header, row.values, strict=True)) for row in table]
