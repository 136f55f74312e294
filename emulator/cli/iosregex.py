"""IOS regular expressions, matched in time linear in the line: no backtracking, whatever the pattern.

IOS's regular expressions are not Perl's. The subset (Cisco's "Regular
Expressions" appendix): literals, ``.`` (any character), ``[abc]``, ranges
``[a-z]`` and ``[^...]``, the multipliers ``*`` ``+`` ``?`` on the atom before
them, ``^`` and ``$`` (start and end of the line), ``_`` (a comma, a brace, a
parenthesis, a space, or the start or end of the line), ``|`` alternation,
``(...)`` grouping and ``\\`` to take the next character literally. There are
no counted repetitions, no back-references, no classes like ``\\d``.

A pattern compiles to a Thompson NFA. A line is searched by simulating the
NFA state set character by character; each state set met is cached as a DFA
state, its transitions filled in as characters come (a lazy DFA, the way RE2
and grep run). The cache is bounded: past MAX_DFA_STATES it starts afresh, so
the cost per character stays at most one closure over the NFA, O(pattern),
and a line costs O(len(pattern) x len(line)) at worst.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PATTERN = 255              # IOS's command line holds no more
MAX_DFA_STATES = 2048          # cached state sets; past this the cache starts afresh
DELIMITERS = frozenset(",{}() ")   # what ``_`` matches besides the ends of the line

# NFA state kinds
_CHAR, _SPLIT, _EPS, _BOL, _EOL, _MATCH = range(6)


class RegexError(ValueError):
    """A pattern IOS would not take: what is wrong and at which character (0-based)."""

    def __init__(self, message: str, position: int):
        super().__init__(f"{message} at character {position + 1}")
        self.message = message
        self.position = position


@dataclass(frozen=True)
class CharClass:
    """A set of characters: ``.`` (everything), or listed characters and ranges, maybe negated."""

    chars: frozenset[str] = frozenset()
    ranges: tuple[tuple[str, str], ...] = ()
    negated: bool = False
    anything: bool = False

    def __contains__(self, c: str) -> bool:
        if self.anything:
            return True
        inside = c in self.chars or any(lo <= c <= hi for lo, hi in self.ranges)
        return inside != self.negated


# ---------------------------------------------------------------------------- parsing
# The tree: ("char", CharClass) | ("bol",) | ("eol",) | ("delim",) | ("cat", [..]) | ("alt", [..])
#           | ("star"|"plus"|"opt", node) | ("empty",)

class _Parser:
    def __init__(self, pattern: str):
        self.p = pattern
        self.i = 0

    def parse(self):
        node = self._alternation()
        if self.i < len(self.p):                     # only a stray ')' stops the top level early
            raise RegexError("unmatched )", self.i)
        return node

    def _alternation(self):
        branches = [self._sequence()]
        while self.i < len(self.p) and self.p[self.i] == "|":
            self.i += 1
            branches.append(self._sequence())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def _sequence(self):
        items: list = []
        while self.i < len(self.p) and self.p[self.i] not in "|)":
            start = self.i
            atom = self._atom()
            if self.i < len(self.p) and self.p[self.i] in "*+?":
                op = self.p[self.i]
                if atom[0] in ("bol", "eol"):
                    raise RegexError(f"{op} follows an anchor", self.i)
                self.i += 1
                if self.i < len(self.p) and self.p[self.i] in "*+?":
                    raise RegexError("nested *?+", self.i)
                atom = ({"*": "star", "+": "plus", "?": "opt"}[op], atom)
            assert self.i > start, "every atom takes at least one character"
            items.append(atom)
        if not items:
            return ("empty",)
        return items[0] if len(items) == 1 else ("cat", items)

    def _atom(self):
        c = self.p[self.i]
        if c in "*+?":
            raise RegexError(f"{c} follows nothing", self.i)
        self.i += 1
        if c == "(":
            inner = self._alternation()
            if self.i >= len(self.p) or self.p[self.i] != ")":
                raise RegexError("unmatched (", self.i - 1 if self.i >= len(self.p) else self.i)
            self.i += 1
            return inner
        if c == "[":
            return ("char", self._bracket())
        if c == "\\":
            if self.i >= len(self.p):
                raise RegexError("trailing \\", self.i - 1)
            self.i += 1
            return ("char", CharClass(frozenset(self.p[self.i - 1])))
        if c == ".":
            return ("char", CharClass(anything=True))
        if c == "^":
            return ("bol",)
        if c == "$":
            return ("eol",)
        if c == "_":
            return ("delim",)
        return ("char", CharClass(frozenset(c)))

    def _bracket(self) -> CharClass:
        """After ``[``: the set up to ``]`` (a ``]`` first is a member, as in POSIX)."""
        opened = self.i - 1
        negated = self.i < len(self.p) and self.p[self.i] == "^"
        if negated:
            self.i += 1
        chars: set[str] = set()
        ranges: list[tuple[str, str]] = []
        first = True
        while True:
            if self.i >= len(self.p):
                raise RegexError("unmatched [", opened)
            c = self.p[self.i]
            if c == "]" and not first:
                self.i += 1
                break
            first = False
            if c == "\\" and self.i + 1 < len(self.p):
                self.i += 1
                c = self.p[self.i]
            self.i += 1
            if self.i + 1 < len(self.p) and self.p[self.i] == "-" and self.p[self.i + 1] != "]":
                hi = self.p[self.i + 1]
                if hi < c:
                    raise RegexError("invalid [] range", self.i)
                ranges.append((c, hi))
                self.i += 2
            else:
                chars.add(c)
        return CharClass(frozenset(chars), tuple(ranges), negated)


# ---------------------------------------------------------------------------- the NFA

class _Nfa:
    """States in parallel lists: kind, the character class of a _CHAR, and up to two successors."""

    def __init__(self):
        self.kind: list[int] = []
        self.cls: list[CharClass] = []
        self.out: list[list[int]] = []

    def add(self, kind: int, cls: CharClass = CharClass()) -> int:
        self.kind.append(kind)
        self.cls.append(cls)             # matters for _CHAR states only
        self.out.append([])
        return len(self.kind) - 1

    def build(self, node) -> tuple[int, int]:
        """A fragment for ``node``: (entry state, exit state); the exit is an _EPS to be linked on."""
        tag = node[0]
        if tag == "char":
            s, e = self.add(_CHAR, node[1]), self.add(_EPS)
            self.out[s].append(e)
            return s, e
        if tag in ("bol", "eol", "empty"):
            s, e = self.add({"bol": _BOL, "eol": _EOL, "empty": _EPS}[tag]), self.add(_EPS)
            self.out[s].append(e)
            return s, e
        if tag == "delim":
            return self.build(("alt", [("bol",), ("eol",), ("char", CharClass(DELIMITERS))]))
        if tag == "cat":
            first, last = self.build(node[1][0])
            for child in node[1][1:]:
                s, e = self.build(child)
                self.out[last].append(s)
                last = e
            return first, last
        if tag == "alt":
            s, e = self.add(_SPLIT), self.add(_EPS)
            for child in node[1]:
                cs, ce = self.build(child)
                self.out[s].append(cs)
                self.out[ce].append(e)
            return s, e
        inner_s, inner_e = self.build(node[1])
        s, e = self.add(_SPLIT), self.add(_EPS)
        self.out[s].append(inner_s)
        if tag != "plus":
            self.out[s].append(e)                     # zero times
        if tag == "opt":
            self.out[inner_e].append(e)
        else:
            self.out[inner_e].append(s)               # again
            if tag == "plus":
                self.out[inner_e].append(e)
        return s, e


class IosRegex:
    """A compiled IOS regular expression; ``search(line)`` says whether it matches anywhere in it."""

    def __init__(self, pattern: str):
        if len(pattern) > MAX_PATTERN:
            raise RegexError(f"longer than {MAX_PATTERN} characters", MAX_PATTERN)
        self.pattern = pattern
        nfa = _Nfa()
        start, end = nfa.build(_Parser(pattern).parse())
        self._match = nfa.add(_MATCH)
        nfa.out[end].append(self._match)
        self._nfa = nfa
        self._start = start
        self.work = 0                                  # closures computed: the cost of the misses
        self._reset_cache()

    def _reset_cache(self) -> None:
        self._ids: dict[frozenset[int], int] = {}
        self._sets: list[frozenset[int]] = []
        self._moves: list[dict[str, int]] = []
        self._ends: dict[int, bool] = {}
        self._mid_start = self._closure([self._start], bol=False, eol=False)

    def _closure(self, seeds, bol: bool, eol: bool) -> frozenset[int]:
        """Every state reached from ``seeds`` without a character; anchors pass where they hold.

        An anchor that does not hold stays in the set (the end of the line may let it pass later).
        """
        self.work += 1
        kind, out = self._nfa.kind, self._nfa.out
        seen: set[int] = set()
        stack = list(seeds)
        while stack:
            s = stack.pop()
            if s in seen:
                continue
            seen.add(s)
            k = kind[s]
            if (k == _BOL and not bol) or (k == _EOL and not eol):
                continue
            if k != _CHAR:
                stack.extend(out[s])
        return frozenset(seen)

    def _state(self, states: frozenset[int]) -> int:
        found = self._ids.get(states)
        if found is None:
            found = self._ids[states] = len(self._sets)
            self._sets.append(states)
            self._moves.append({})
        return found

    def _step(self, d: int, c: str) -> int:
        """The DFA state after ``c`` from ``d`` (the search may also begin anew after ``c``)."""
        nxt = self._moves[d].get(c)
        if nxt is None:
            if len(self._sets) >= MAX_DFA_STATES:
                states = self._sets[d]
                self._reset_cache()
                d = self._state(states)
            kind, cls, out = self._nfa.kind, self._nfa.cls, self._nfa.out
            seeds = [t for s in self._sets[d] if kind[s] == _CHAR and c in cls[s] for t in out[s]]
            nxt = self._state(self._closure(seeds, bol=False, eol=False) | self._mid_start)
            self._moves[d][c] = nxt
        return nxt

    def _accepts_at_end(self, d: int) -> bool:
        found = self._ends.get(d)
        if found is None:
            found = self._ends[d] = self._match in self._closure(self._sets[d], bol=False, eol=True)
        return found

    def search(self, line: str) -> bool:
        """Whether the pattern matches somewhere in ``line`` (one line, without its line end)."""
        d = self._state(self._closure([self._start], bol=True, eol=not line))
        match = self._match
        for c in line:
            if match in self._sets[d]:
                return True
            d = self._step(d, c)
        return match in self._sets[d] or self._accepts_at_end(d)


def compile_ios(pattern: str) -> IosRegex:
    """An IOS regular expression, or RegexError naming what is wrong and where."""
    return IosRegex(pattern)


__all__ = ["IosRegex", "RegexError", "CharClass", "compile_ios", "MAX_PATTERN", "DELIMITERS"]
