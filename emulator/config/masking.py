"""The secrets of IOS configuration text, and text with them masked.

``FORMS`` are the IOS commands that carry a secret, as ``show running-config``
prints them and as they are typed. Masking replaces the secret with
``<removed>`` (the word IOS's own ``show tech-support`` puts there) and keeps
the rest of the line, so the command still reads:

    crypto isakmp key <removed> address 0.0.0.0 0.0.0.0
    enable secret 5 <removed>
     password <removed>

A form counts where a configuration line can start: at the start of a line
(after indentation, an IOS prompt such as ``r1(config-line)#``, or the ``E``
and ``-``/``+`` marks of a test failure), or where a message quotes one: after
a quote, a bracket, ``: `` or an escaped ``\\n``. Every pattern is anchored there and
uses possessive quantifiers, so it runs in time linear in the text.

A ``Masker`` also masks secret values it knows (from a lab's configurations,
an inventory) or has seen in a form, wherever they stand as a whole word, if
they are at least ``MIN_BARE`` characters long: shorter ones (a line password
``ww``) would hide ordinary words and are masked in their forms only.
"""

from __future__ import annotations

import re
from typing import Iterable

from emulator.config.secrets import decode_type7

MASK = "<removed>"
MIN_BARE = 4

# A secret that is one word (a pre-shared key, a community); not "{..." (a placeholder in source code).
_WORD = r"(?!\{)[^\s'\"\\]++"
_LINE = rf"{_WORD}(?:[ \t]++{_WORD})*+"      # a secret that runs to the end of the line (IOS takes LINE)
_TYPE = r"(?:(?P<type>[0-9]) (?=[^\s'\"\\]))?+"   # the encryption type before the value: 0, 5, 7...

# (what it is, the command up to and including its secret, in group "value")
FORMS: tuple[tuple[str, str], ...] = (
    ("enable secret or password", rf"enable (?:secret|password)(?: level \d++)?+ {_TYPE}(?P<value>{_LINE})"),
    ("local user", rf"username \S++(?: privilege \d++)?+ (?:password|secret) {_TYPE}(?P<value>{_LINE})"),
    ("line password", rf"password {_TYPE}(?P<value>{_LINE})"),
    ("ISAKMP pre-shared key", rf"crypto isakmp key {_TYPE}(?P<value>{_WORD})"),
    ("key chain key", rf"key-string {_TYPE}(?P<value>{_LINE})"),
    ("TACACS+ or RADIUS key",
     rf"(?:tacacs|radius)-server (?:host \S++ (?:(?:auth-port|acct-port|port|timeout) \d++ |single-connection )*+)?+"
     rf"key {_TYPE}(?P<value>{_LINE})"),
    ("SNMP community", rf"snmp-server community (?P<value>{_WORD})"),
    ("PPP CHAP or PAP password",
     rf"ppp (?:chap password|pap sent-username \S++ password) {_TYPE}(?P<value>{_LINE})"),
)

_PROMPT = r"[^\s#>()'\"]++(?:\([\w-]++\))?+[#>]"
_START = (rf"(?:^[ \t]*+(?:[>E][ \t]++)?+(?:[-+?][ \t]*+)?+(?:{_PROMPT})?+[ \t]*+"
          r"|(?:(?<=['\"(\[])|(?<=\\n)|(?<=: ))[ \t]*+)")
_PATTERNS = tuple(re.compile(_START + form, re.M) for _, form in FORMS)
# A word each form's match must contain (the patterns are case-sensitive): a text without it is not
# scanned by that pattern, so the usual text (a ping, a show with no configuration) costs a few ``in``s.
_LITERALS = ("enable ", "username ", "password ", "crypto isakmp key ", "key-string ", "key ",
             "snmp-server community ", "ppp ")
_SCANS = tuple(zip(_PATTERNS, _LITERALS, strict=True))


def _found(match: re.Match[str]) -> list[str]:
    """The secret of a form, and its clear text when it is a type 7 password."""
    value = match.group("value")
    found = [value]
    if match.groupdict().get("type") == "7":
        try:
            found.append(decode_type7(value))
        except ValueError:
            pass
    return found


def secret_values(text: str) -> set[str]:
    """Every secret that ``text`` (configuration lines, CLI output) holds in one of the FORMS."""
    values: set[str] = set()
    for pattern, literal in _SCANS:
        if literal not in text:
            continue
        for match in pattern.finditer(text):
            values.update(v for v in _found(match) if v and v != MASK)
    return values


def mask_forms(text: str) -> str:
    """``text`` with the secret of every form replaced by ``<removed>``."""
    return Masker()(text)


class Masker:
    """Masks the FORMS and the secret values it knows.

    ``masker(text, learn=True)`` also keeps the values it masked in forms, to mask them wherever
    they stand later: for what devices print, not for text that quotes source code.
    """

    def __init__(self, values: Iterable[str] = ()):
        self._values: set[str] = set()
        self._bare: re.Pattern[str] | None = None
        self.add(values)

    @property
    def values(self) -> frozenset[str]:
        """The values masked wherever they stand (those of at least MIN_BARE characters)."""
        return frozenset(self._values)

    def add(self, values: Iterable[str]) -> None:
        new = {v.strip() for v in values if v} - {MASK} - self._values
        new = {v for v in new if len(v) >= MIN_BARE}
        if new:
            self._values |= new
            self._bare = None

    def __call__(self, text: str, learn: bool = False) -> str:
        if not text:
            return text
        learned: list[str] = []

        def replace(match: re.Match[str]) -> str:
            learned.extend(_found(match))
            start, end = match.span("value")
            whole = match.group(0)
            return whole[:start - match.start()] + MASK + whole[end - match.start():]

        for pattern, literal in _SCANS:
            if literal in text:
                text = pattern.sub(replace, text)
        if learn:
            self.add(learned)
        if not self._values:
            return text
        if self._bare is None:
            alternatives = "|".join(re.escape(v) for v in sorted(self._values, key=len, reverse=True))
            self._bare = re.compile(rf"(?<![A-Za-z0-9_])(?:{alternatives})(?![A-Za-z0-9_])")
        return self._bare.sub(MASK, text)


__all__ = ["FORMS", "MASK", "MIN_BARE", "Masker", "mask_forms", "secret_values"]
