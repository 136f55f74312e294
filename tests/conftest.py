"""Session-end summary of the bounded robustness tests: what each one tried.

A property test records ``("examples", (name, count))`` in its user
properties when it ends (test_wire_fuzz.py does it in a fixture teardown,
so the teardown report carries it); a soak, corpus or fuzz test records
``("tried", sentence)`` with ``record_property``. Reports travel from
pytest-xdist workers to the controller, so the summary is complete under ``-n``.
"""

from __future__ import annotations

from collections import Counter


def pytest_terminal_summary(terminalreporter):
    tried = sorted({(report.nodeid, value) for reports in terminalreporter.stats.values() for report in reports
                    if getattr(report, "when", None) == "call"
                    for key, value in getattr(report, "user_properties", ()) if key == "tried"})
    if tried:
        terminalreporter.write_sep("-", "soak, corpus and fuzz tests: what they tried")
        for nodeid, sentence in tried:
            terminalreporter.write_line(f"{nodeid.split('::', 1)[-1]}: {sentence}")
    _examples(terminalreporter)


def _examples(terminalreporter) -> None:
    examples: Counter[str] = Counter()
    counted: set[str] = set()
    durations: dict[str, float] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            when = getattr(report, "when", None)
            if when == "call":
                durations[report.nodeid] = report.duration
            props = [v for k, v in getattr(report, "user_properties", ()) if k == "examples"]
            if when != "teardown" or not props or report.nodeid in counted:
                continue
            counted.add(report.nodeid)
            for name, count in props:
                examples[name] += count
    if not examples:
        return
    seconds = sum(durations.get(nodeid, 0.0) for nodeid in counted)
    terminalreporter.write_sep("-", f"property tests: examples per decoder ({seconds:.1f} s of test time)")
    width = max(map(len, examples))
    for name, count in sorted(examples.items()):
        terminalreporter.write_line(f"{name:<{width}}  {count:6d}")
    terminalreporter.write_line(f"{'total':<{width}}  {sum(examples.values()):6d}")
