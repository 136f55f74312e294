"""IOS command grammar: keyword trees per mode, abbreviation and error markers.

Commands are declared with a small spec language and merged into one tree per
CLI mode (exec or configuration sub-mode)::

    ip address <addr:ip> <mask:mask> [secondary]
    service timestamps [<facility:debug|log>] [<format:uptime|datetime>]

- a bare word is a keyword, matched by any unique prefix (``sh`` for ``show``);
- ``<name:type>`` is a parameter stored under ``name`` (types: see PARAM_TYPES);
- ``<name:a|b|c>`` is a choice of keywords stored under ``name``;
- ``[ ... ]`` is an optional group (groups do not nest).

Parsing a line walks the tree token by token, as IOS does, and fails with the
IOS error: an invalid token (with the column of the caret), an incomplete
command, or an ambiguous abbreviation.
"""

from __future__ import annotations

import ipaddress
import itertools
import re
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

INVALID = "% Invalid input detected at '^' marker."
INCOMPLETE = "% Incomplete command."


class Token(NamedTuple):
    """A word of a line and the column it starts at (for the caret under it)."""

    text: str
    start: int


def is_number(text: str) -> bool:
    """Only ASCII digits, as IOS reads numbers (``str.isdigit`` also takes ``²`` or ``١``)."""
    return text.isascii() and text.isdigit()


_WORD = re.compile(r"\S+")


def tokenize(line: str) -> list[Token]:
    return [Token(m.group(), m.start()) for m in _WORD.finditer(line)]


class CommandError(Exception):
    """A line IOS would reject; ``kind`` is ``invalid``, ``incomplete`` or ``ambiguous``."""

    def __init__(self, kind: str, line: str, column: int = 0):
        self.kind = kind
        self.line = line
        self.column = column
        super().__init__(self.message)

    @property
    def message(self) -> str:
        if self.kind == "invalid":
            return INVALID
        if self.kind == "incomplete":
            return INCOMPLETE
        return f'% Ambiguous command:  "{self.line.strip()}"'

    def render(self, prompt_width: int) -> str:
        """The console text IOS prints below the echoed line."""
        if self.kind == "invalid":
            return " " * (prompt_width + self.column) + "^\n" + INVALID + "\n"
        if self.kind == "incomplete":
            return INCOMPLETE + "\n"
        return self.message + "\n"


class Reject(Exception):
    """Raised by a parameter type: token ``index`` is bad, or input ended early."""

    def __init__(self, index: int | None):
        self.index = index  # None: more tokens were needed


# ---------------------------------------------------------------- parameters

class ParamType:
    """Consumes tokens from position ``i``; returns (value, next index) or raises Reject."""

    name = "param"

    def consume(self, tokens: list[Token], i: int, line: str) -> tuple[Any, int]:
        value = self.convert(tokens[i].text)
        if value is None:
            raise Reject(i)
        return value, i + 1

    def convert(self, text: str) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError


class _IP(ParamType):
    name = "A.B.C.D"
    _re = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$", re.ASCII)

    def convert(self, text):
        if not self._re.match(text):
            return None
        try:
            return ipaddress.IPv4Address(text)
        except ValueError:
            return None


class _Word(ParamType):
    name = "WORD"

    def convert(self, text):
        return text


class _Int(ParamType):
    def __init__(self, lo: int, hi: int):
        self.lo, self.hi = lo, hi
        self.name = f"<{lo}-{hi}>"

    def convert(self, text):
        if not is_number(text):
            return None
        value = int(text)
        return value if self.lo <= value <= self.hi else None


class _Line(ParamType):
    """The rest of the line, spacing kept."""

    name = "LINE"

    def consume(self, tokens, i, line):
        return line[tokens[i].start:].rstrip(), len(tokens)


class _Hex(ParamType):
    name = "HEX"

    def convert(self, text):
        t = text.lower()
        if t.startswith("0x"):
            t = t[2:]
        try:
            return int(t, 16)
        except ValueError:
            return None


INTERFACE_TYPES = ("Ethernet", "FastEthernet", "Serial", "Loopback", "Tunnel",
                   "Dialer", "Async", "BRI", "Null", "Virtual-Template", "Virtual-Access")
_IF_RE = re.compile(r"^([A-Za-z-]+)(\d+(?:/\d+)*(?:\.\d+)?)?$", re.ASCII)
_IF_NUM = re.compile(r"^\d+(?:/\d+)*(?:\.\d+)?$", re.ASCII)


def canonical_interface(text: str) -> str | None:
    """``s0``, ``serial0``, ``Serial 0`` -> ``Serial0``; None if not an interface name."""
    m = _IF_RE.match(text.replace(" ", ""))
    if not m or not m.group(2):
        return None
    kind = _interface_type(m.group(1))
    return kind + m.group(2) if kind else None


def _interface_type(prefix: str) -> str | None:
    p = prefix.lower()
    hits = [t for t in INTERFACE_TYPES if t.lower().startswith(p)]
    exact = [t for t in hits if t.lower() == p]
    if exact:
        return exact[0]
    # IOS resolves the short forms people use (e for Ethernet, s for Serial).
    preferred = {"e": "Ethernet", "s": "Serial", "f": "FastEthernet", "t": "Tunnel",
                 "l": "Loopback", "d": "Dialer", "n": "Null", "v": "Virtual-Template"}
    if len(hits) > 1 and p in preferred:
        return preferred[p]
    return hits[0] if len(hits) == 1 else None


class _Interface(ParamType):
    """An interface name, written ``Serial0`` or ``serial 0``."""

    name = "interface"

    def consume(self, tokens, i, line):
        text = tokens[i].text
        name = canonical_interface(text)
        if name:
            return name, i + 1
        m = _IF_RE.match(text)
        if m and not m.group(2) and _interface_type(m.group(1)):
            if i + 1 >= len(tokens):
                raise Reject(None)
            if _IF_NUM.match(tokens[i + 1].text):
                return _interface_type(m.group(1)) + tokens[i + 1].text, i + 2
            raise Reject(i + 1)
        raise Reject(i)


PARAM_TYPES: dict[str, ParamType] = {
    "ip": _IP(),
    "mask": _IP(),
    "word": _Word(),
    "line": _Line(),
    "hex": _Hex(),
    "if": _Interface(),
}


def register_param_type(key: str, ptype: ParamType) -> None:
    PARAM_TYPES[key] = ptype


_RANGES: dict[str, ParamType] = {}


def _param_type(spec: str) -> ParamType:
    m = re.match(r"^(\d+)-(\d+)$", spec)
    if m:
        # One object per range, so that commands sharing a prefix share its nodes.
        return _RANGES.setdefault(spec, _Int(int(m.group(1)), int(m.group(2))))
    try:
        return PARAM_TYPES[spec]
    except KeyError:
        raise ValueError(f"unknown parameter type {spec!r}") from None


# ---------------------------------------------------------------- the tree

@dataclass
class Node:
    keyword: str | None = None          # keyword node: the full word
    store: tuple[str, str] | None = None  # (arg name, value) stored when a choice keyword matches
    ptype: ParamType | None = None        # parameter node
    pname: str | None = None
    children: list["Node"] = field(default_factory=list)
    action: Callable | None = None
    data: Any = None                      # whatever the command table attaches
    # The first child spelling each keyword in full: a fully typed word found in one look-up.
    exact: dict[str, "Node"] = field(default_factory=dict, repr=False, compare=False)

    def key(self):
        if self.keyword is not None:
            return ("kw", self.keyword, self.store)
        return ("param", id(self.ptype), self.pname)


def _spec_items(spec: str) -> list[list[str]]:
    """Split a spec into items; an optional group is a list of words, others a 1-list."""
    items: list[list[str]] = []
    group: list[str] | None = None
    for word in re.findall(r"\[|\]|<[^>]+>|[^\s\[\]<>]+", spec):
        if word == "[":
            group = []
        elif word == "]":
            if group is None:
                raise ValueError(f"']' without '[' in {spec!r}")
            items.append(["?"] + group)
            group = None
        elif group is not None:
            group.append(word)
        else:
            items.append([word])
    return items


def expand(spec: str) -> list[list[str]]:
    """All linear word sequences a spec stands for."""
    choices = []
    for item in _spec_items(spec):
        if item[0] == "?":
            choices.append([[], item[1:]])
        else:
            choices.append([item])
    return [[w for part in combo for w in part] for combo in itertools.product(*choices)]


def _nodes_for(word: str) -> list[Node]:
    if word.startswith("<"):
        name, _, typ = word[1:-1].partition(":")
        if "|" in typ:
            return [Node(keyword=k.lower(), store=(name, k)) for k in typ.split("|")]
        return [Node(ptype=_param_type(typ), pname=name)]
    return [Node(keyword=word.lower())]


class Grammar:
    """The command tree of one mode."""

    def __init__(self, name: str):
        self.name = name
        self.root = Node()

    def add(self, spec: str, action: Callable, data: Any = None) -> None:
        for seq in expand(spec):
            frontier = [self.root]
            for word in seq:
                nxt = []
                for parent in frontier:
                    for node in _nodes_for(word):
                        nxt.append(self._child(parent, node))
                frontier = nxt
            for node in frontier:
                node.action = action
                node.data = data

    @staticmethod
    def _child(parent: Node, node: Node) -> Node:
        for c in parent.children:
            if c.key() == node.key() and (c.ptype is None or c.ptype is node.ptype):
                return c
        parent.children.append(node)
        if node.keyword is not None:
            parent.exact.setdefault(node.keyword, node)
        return node

    def parse(self, line: str, partial: bool = False, tokens: list[Token] | None = None) -> tuple[Node, dict[str, Any]]:
        """Match ``line``; returns the terminal node and the stored arguments.

        With ``partial`` (``no`` forms), a line may stop before the end of a
        command: the first command below the last matched node is taken.
        ``tokens``, when the caller has them, are ``tokenize(line)``.
        """
        if tokens is None:
            tokens = tokenize(line)
        node, i = self.root, 0
        args: dict[str, Any] = {}
        if not tokens:
            raise CommandError("incomplete", line)
        while i < len(tokens):
            node, i = self._step(node, tokens, i, line, args)
        if node.action is None:
            if partial:
                found = _first_terminal(node)
                if found is not None:
                    return found, args
            raise CommandError("incomplete", line, len(line))
        return node, args

    @staticmethod
    def _step(node: Node, tokens: list[Token], i: int, line: str, args: dict) -> tuple[Node, int]:
        tok = tokens[i]
        word = tok.text.lower()
        full = node.exact.get(word)
        kws = [] if full is not None else [c for c in node.children
                                           if c.keyword is not None and c.keyword.startswith(word)]
        pick = [full] if full is not None else (kws if len({c.keyword for c in kws}) == 1 else [])
        if pick:
            child = pick[0]
            if child.store:
                args[child.store[0]] = child.store[1]
            else:
                args.setdefault("_keywords", []).append(child.keyword)
            return child, i + 1
        if kws:
            raise CommandError("ambiguous", line, tok.start)
        bad = i
        for child in node.children:
            if child.ptype is None:
                continue
            try:
                value, nxt = child.ptype.consume(tokens, i, line)
            except Reject as r:
                if r.index is None:
                    raise CommandError("incomplete", line, len(line)) from None
                bad = max(bad, r.index)
                continue
            args[child.pname] = value
            return child, nxt
        raise CommandError("invalid", line, tokens[bad].start)


def _first_terminal(node: Node) -> Node | None:
    stack = [node]
    while stack:
        n = stack.pop(0)
        if n.action is not None:
            return n
        stack.extend(n.children)
    return None


# ---------------------------------------------------------------- context help

@dataclass(frozen=True)
class HelpItem:
    word: str          # a keyword, a parameter's type name (A.B.C.D, WORD, <1-10000>) or <cr>
    path: tuple[str, ...] = ()   # the command's words before it, spelt out (keywords in full, parameters by type)
    param: bool = False          # a parameter (``word`` is its type's name), not a keyword


def _walk(grammar: "Grammar", tokens: list[Token], line: str) -> tuple[Node, tuple[str, ...]] | None:
    """The node the tokens lead to and the words of the way there, or None when they are invalid."""
    node, i = grammar.root, 0
    args: dict[str, Any] = {}
    path: list[str] = []
    try:
        while i < len(tokens):
            node, i = grammar._step(node, tokens, i, line, args)
            path.append(node.keyword if node.keyword is not None else node.ptype.name if node.ptype else "")
    except CommandError:
        return None
    return node, tuple(path)


def help_items(grammar: "Grammar", line: str) -> list[HelpItem] | None:
    """What ``?`` lists after ``line``: the next words, or the keywords a partial word may become.

    None when the line before the ``?`` is already invalid.
    """
    tokens = tokenize(line)
    if line and not line[-1].isspace() and tokens:
        walked = _walk(grammar, tokens[:-1], line)
        if walked is None:
            return None
        node, path = walked
        prefix = tokens[-1].text.lower()
        words = sorted({c.keyword for c in node.children if c.keyword is not None and c.keyword.startswith(prefix)})
        return [HelpItem(w, path) for w in words]
    walked = _walk(grammar, tokens, line)
    if walked is None:
        return None
    node, path = walked
    items = sorted({c.keyword for c in node.children if c.keyword is not None})
    out = [HelpItem(w, path) for w in items]
    out += [HelpItem(c.ptype.name, path, param=True) for c in node.children if c.ptype is not None]
    if node.action is not None and node is not grammar.root:
        out.append(HelpItem("<cr>", path))
    return out


def complete_word(grammar: "Grammar", line: str) -> str | None:
    """``line`` with its last, partial keyword completed (Tab), or None when not unique."""
    tokens = tokenize(line)
    if not tokens or line[-1].isspace():
        return None
    walked = _walk(grammar, tokens[:-1], line)
    if walked is None:
        return None
    node = walked[0]
    prefix = tokens[-1].text.lower()
    words = {c.keyword for c in node.children if c.keyword is not None and c.keyword.startswith(prefix)}
    if len(words) != 1:
        return None
    return line[:tokens[-1].start] + words.pop() + " "
