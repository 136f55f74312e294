"""Line-by-line comparison of device output with the document's sample, after masking
what legitimately varies from one run or device to another (SPIs, connection and
flow ids, counters, remaining lifetimes), in the manner of test sanitizers."""

from __future__ import annotations

import difflib
import re

# What may differ between the document's capture and any conforming run.
MASKS = [
    (re.compile(r"spi: 0x[0-9A-Fa-f]+\(\d+\)"), "spi: 0xSPI(SPI)"),
    (re.compile(r"current outbound spi: (0x)?[0-9A-Fa-f]+(\(\d+\))?"), "current outbound spi: SPI"),
    (re.compile(r"conn id: \d+"), "conn id: N"),
    (re.compile(r"flow_id: \S+?,"), "flow_id: N,"),
    (re.compile(r"(#pkts [a-z. ]+?:?) \d+"), r"\1 N"),
    (re.compile(r"(#(send|recv) errors) \d+"), r"\1 N"),
    (re.compile(r"remaining key lifetime \(k/sec\): \(\d+/\d+\)"), "remaining key lifetime (k/sec): (KB/SEC)"),
]


def sanitize(text: str, drop_prompt: bool = True) -> list[str]:
    lines = [line.rstrip() for line in text.splitlines()]
    if drop_prompt and lines and re.match(r"^\S+[#>]", lines[0]):
        lines = lines[1:]
    out = []
    for line in lines:
        for pattern, replacement in MASKS:
            line = pattern.sub(replacement, line)
        out.append(line)
    while out and not out[0]:
        out.pop(0)
    while out and not out[-1]:
        out.pop()
    return out


def differences(expected: str, actual: str) -> list[str]:
    """A unified diff of the masked texts; empty when they agree."""
    return list(difflib.unified_diff(sanitize(expected), sanitize(actual, drop_prompt=False),
                                     "document", "device", lineterm="", n=1))
