"""IOS regular expressions in linear time, and the output filters built on them.

The engine is checked against Python's ``re`` on patterns ``re`` runs safely (no nested
multipliers), translated from IOS's syntax; the classic catastrophic patterns run on long lines
with their answers checked and their times printed.
"""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.cli.console_log import ConsoleLog
from emulator.cli.iosregex import MAX_DFA_STATES, MAX_PATTERN, RegexError, compile_ios
from emulator.cli.session import CliSession
from emulator.device.router import Router
from emulator.sim.clock import Simulator
from support import FIXTURES

ALPHABET = "ab ,(x1"


# ---------------------------------------------------------------------------- the engine against re

@st.composite
def ios_patterns(draw, depth: int = 0):
    """(IOS pattern, the same as a Python pattern) without a multiplier inside a multiplied group."""
    parts_ios, parts_py = [], []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["lit", "lit", "dot", "class", "neg", "bol", "eol", "delim", "group"]
                                    if depth < 2 else ["lit", "dot", "class"]))
        if kind == "lit":
            c = draw(st.sampled_from("abx1,( "))
            ios, py = ("\\" + c if c in "(" else c), re.escape(c)
        elif kind == "dot":
            ios, py = ".", "."
        elif kind in ("class", "neg"):
            lo = draw(st.sampled_from("ab1"))
            body = f"{lo}-{chr(ord(lo) + draw(st.integers(0, 2)))}x"
            ios = py = ("[^" if kind == "neg" else "[") + body + "]"
        elif kind == "bol":
            ios, py = "^", "^"
        elif kind == "eol":
            ios, py = "$", "$"
        elif kind == "delim":
            ios, py = "_", r"(?:^|$|[,{}() ])"
        else:
            alts = draw(st.lists(ios_patterns(depth + 1), min_size=1, max_size=3))
            ios = "(" + "|".join(a for a, _ in alts) + ")"
            py = "(?:" + "|".join(p for _, p in alts) + ")"
        if kind not in ("bol", "eol", "delim", "group") or (kind == "group" and depth == 1):
            op = draw(st.sampled_from(["", "", "*", "+", "?"]))
            ios, py = ios + op, py + op
        parts_ios.append(ios)
        parts_py.append(py)
    return "".join(parts_ios), "".join(parts_py)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ios_patterns(), st.lists(st.text(ALPHABET, max_size=12), min_size=1, max_size=6))
def test_the_engine_agrees_with_python_re_on_safe_patterns(pattern, lines):
    ios, py = pattern
    rx, ref = compile_ios(ios), re.compile(py)
    for line in lines:
        assert rx.search(line) == bool(ref.search(line)), (ios, py, line)


@pytest.mark.parametrize("pattern, line, expected", [
    ("^interface", "interface Serial0", True),
    ("^interface", " interface", False),
    ("0$", "Serial0", True),
    ("_65_", "1 65 2", True),
    ("_65_", "65", True),
    ("_65_", "(65)", True),
    ("_65_", "1650", False),
    ("^$", "", True),
    ("[^0-9]", "123", False),
    ("[]a]", "]", True),
    ("a\\.b", "a.b", True),
    ("a\\.b", "axb", False),
    ("(ab)+c", "ababc", True),
    ("a|b", "xyz", False),
    ("colou?r", "color", True),
    ("x*", "", True),
])
def test_ios_subset(pattern, line, expected):
    assert compile_ios(pattern).search(line) is expected


@pytest.mark.parametrize("pattern, message, position", [
    ("(", "unmatched (", 0),
    ("ab)", "unmatched )", 2),
    ("[ab", "unmatched [", 0),
    ("*a", "* follows nothing", 0),
    ("a+*", "nested *?+", 2),
    ("a\\", "trailing \\", 1),
    ("[z-a]", "invalid [] range", 2),
])
def test_a_bad_pattern_names_what_and_where(pattern, message, position):
    with pytest.raises(RegexError) as err:
        compile_ios(pattern)
    assert (err.value.message, err.value.position) == (message, position)


def test_a_pattern_longer_than_a_command_line_is_refused():
    compile_ios("a" * MAX_PATTERN)
    with pytest.raises(RegexError):
        compile_ios("a" * (MAX_PATTERN + 1))


# (pattern, a line, whether it matches, a pattern without nested multipliers matching the same lines)
CATASTROPHIC = [
    ("(.+)+!", "a" * 10_000, False, ".!"),
    ("(a*)*b", "a" * 10_000, False, "b"),
    ("(a|aa)+$", "a" * 10_000, True, "a$"),
    ("(a|aa)+c", "a" * 10_000, False, "ac"),
    ("(x+x+)+y", "x" * 10_000, False, "xxy"),
    ("(a+)+b", "a" * 10_000, False, "ab"),
    ("(.*a)+(.*a)+(.*a)+b", "a" * 10_000, False, "a.*a.*ab"),
    ("^(a|a?)+$", "a" * 10_000 + "!", False, "^a*$"),
    ("(([a-z])+.)+[A-Z]([a-z])+", "abcdefghij" * 1000, False, "[a-z].[A-Z][a-z]"),
    ("(.*)*_X", "a " * 5_000, False, "(?:^|[,{}() ])X"),
]


@pytest.mark.parametrize("pattern, line, expected, same", CATASTROPHIC, ids=[c[0] for c in CATASTROPHIC])
def test_catastrophic_patterns_answer_right_in_linear_work(pattern, line, expected, same):
    rx = compile_ios(pattern)
    start = time.perf_counter()
    assert rx.search(line) is expected
    took = time.perf_counter() - start
    # The work is bounded by closures computed: at most one per character (a cache miss) and a few more.
    assert rx.work <= len(line) + 8
    print(f"{pattern!r} on {len(line)} characters: {took * 1000:.1f} ms, {rx.work} closures")
    for probe in ("xxy", "ab", "a!", "aaa b", "aB" "c", "a X", "X", "", "!"):
        assert rx.search(probe) == bool(re.search(same, probe)), probe


def test_the_state_cache_is_bounded():
    # Distinct characters make distinct transitions; many state sets come from a counting pattern.
    rx = compile_ios("a.........b")
    line = "".join(chr(0x100 + i % 5000) for i in range(20_000))
    assert rx.search(line) is False
    assert len(rx._sets) <= MAX_DFA_STATES
    assert rx.search(line + "a123456789b") is True


# ---------------------------------------------------------------------------- the filters on the CLI

@pytest.fixture
def cli():
    router = Router("r", (FIXTURES / "dr_whoovie.cfg").read_text(), "dr_whoovie.cfg", clock=Simulator(),
                    console=ConsoleLog())
    session = CliSession(router)
    session.execute("enable")
    return session


def test_section_prints_a_matching_line_with_the_lines_under_it(cli):
    full = cli.execute("show running-config")
    out = cli.execute("show running-config | section ^interface Serial0")
    lines = full.splitlines(keepends=True)
    start = lines.index("interface Serial0\n")
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith(" "))
    assert out == "".join(lines[start:end])
    assert len(out.splitlines()) > 1
    assert cli.execute("show running-config | section include ^interface Serial0") == out
    excluded = cli.execute("show running-config | section exclude ^interface")
    assert not [line for line in excluded.splitlines() if line.startswith(("interface", " ip address"))]
    assert "ip classless\n" in excluded
    assert excluded.startswith(full.splitlines(keepends=True)[0])


def test_filters_take_ios_patterns_not_perl_ones(cli):
    assert cli.execute("show running-config | include ^interface") == (
        "interface Ethernet0\ninterface Serial0\ninterface Serial1\n")
    full = cli.execute("show running-config").splitlines(keepends=True)
    with_w = "".join(line for line in full if "w" in line)      # no \w in IOS: a literal w
    assert cli.execute(r"show running-config | include \w") == with_w and with_w.count("\n") < len(full) // 2
    assert cli.execute("show running-config | include _Serial0_") == (
        "interface Serial0\n"
        "ip nat inside source route-map nonat interface Serial0 overload\n"
        "ip route 0.0.0.0 0.0.0.0 Serial0\n")
    assert cli.execute("show running-config | include ^interface_Serial0_") == "interface Serial0\n"
    assert cli.execute("show running-config | exclude .") == "".join(
        line for line in cli.execute("show running-config").splitlines(keepends=True) if line == "\n")


def test_a_bad_pattern_gets_the_caret_under_it(cli):
    assert cli.execute("show clock | include ab)") == (
        " " * (len(cli.prompt) + len("show clock | include ab")) + "^\n"
        "% Invalid input detected at '^' marker.\n\n")
    assert cli.execute("show clock | include") == "% Incomplete command.\n\n"


def test_a_catastrophic_filter_returns_the_right_lines(cli):
    full = cli.execute("show running-config").splitlines(keepends=True)
    for pattern, _, _, same in CATASTROPHIC:
        start = time.perf_counter()
        out = cli.execute(f"show running-config | include {pattern}")
        print(f"show running-config | include {pattern}: {(time.perf_counter() - start) * 1000:.1f} ms")
        assert out == "".join(line for line in full if re.search(same, line.rstrip("\n")))


def test_filtering_hands_the_lab_back_between_slices(cli, monkeypatch):
    import emulator.cli.session as session_module
    monkeypatch.setattr(session_module, "FILTER_SLICE_SECONDS", 0.0)     # a pause after every line
    job = cli.start("show running-config | include e")
    steps, out = 0, []
    while not job.done:
        out.append(job.step())
        steps += 1
        assert job.done or job.waiting is not None
    expected = cli.execute("show running-config | include e")
    assert "".join(out) == expected
    assert steps > expected.count("\n")
