"""What the suites write out never shows a secret: the values to mask for a run, and the masking of
everything a test report carries (transcripts, failure text, captured output, properties).

The suites themselves read the real text (a claim compares the running configuration with the
document's, pre-shared key included); only what leaves the process is masked, with
``emulator/config/masking.py``'s forms and values (``<removed>`` in place of the secret).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Any, Callable, Iterable

from emulator.config.masking import MASK, Masker, secret_values

from .scenario import Scenario

# Scenario keys whose values are secrets: hub.isakmp_key, ...password, ...secret, ...community.
SECRET_KEY = re.compile(r"(?:^|_)(?:key|password|secret|community)$")


def scenario_secrets(scenario: Scenario | dict[str, Any]) -> set[str]:
    """The secret values among the expected ones (``hub.isakmp_key``, ...)."""
    data = scenario.data if isinstance(scenario, Scenario) else scenario
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, (str, int)) and not isinstance(value, bool) and SECRET_KEY.search(str(key)):
                    found.add(str(value))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    return found


def config_secrets(texts: Iterable[str]) -> set[str]:
    """The secrets that configuration texts hold (every IOS secret form, type 7 decoded)."""
    found: set[str] = set()
    for text in texts:
        found |= secret_values(text)
    return found


Scrub = Callable[[str], str]


def scrub_object(value: Any, mask: Scrub) -> Any:
    """``value`` with every string in it masked: containers rebuilt, dataclasses and plain
    objects (pytest's failure representations) changed in place."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, list):
        value[:] = [scrub_object(v, mask) for v in value]
        return value
    if isinstance(value, tuple):
        items = [scrub_object(v, mask) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, dict):
        for key in list(value):
            value[key] = scrub_object(value[key], mask)
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            object.__setattr__(value, f.name, scrub_object(getattr(value, f.name), mask))
        return value
    if type(value).__module__.startswith("_pytest.") and hasattr(value, "__dict__"):
        for key, item in vars(value).items():
            setattr(value, key, scrub_object(item, mask))
    return value


def masked_log_records(mask: Scrub) -> Callable[[], None]:
    """Every log record created from now on carries its message masked (netmiko logs what it reads
    at DEBUG; pytest's log capture, --log-file and --log-cli show it). Returns the undo."""
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is logging's own error to report
            return record
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return record

    logging.setLogRecordFactory(factory)

    def undo() -> None:
        if logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(previous)

    return undo


def scrub_report(report: Any, mask: Scrub) -> None:
    """A test report as pytest, pytest-html and JUnit write it, with no secret left in it."""
    if report.longrepr is not None:
        report.longrepr = scrub_object(report.longrepr, mask)
    report.sections = [(title, mask(text)) for title, text in report.sections]
    report.user_properties = [(name, scrub_object(v, mask)) for name, v in report.user_properties]
    for extra in getattr(report, "extras", None) or []:
        if isinstance(extra, dict) and extra.get("format_type") in ("text", "html", "json", "url") \
                and isinstance(extra.get("content"), str):
            extra["content"] = mask(extra["content"])
    if getattr(report, "diagnoses", None):
        report.diagnoses = scrub_object(list(report.diagnoses), mask)


__all__ = ["MASK", "Masker", "config_secrets", "masked_log_records", "scenario_secrets", "scrub_object",
           "scrub_report"]
