"""Reading IOS configuration text (``show running-config``) as a tree of lines.

IOS writes sub-mode lines indented one space under their parent; this reads
that layout, as an engineer reads it, without knowing any command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SKIP = re.compile(r"^(Building configuration\.\.\.|Current configuration\s*:.*|Using \d+ out of \d+ bytes)$")


@dataclass
class ConfigLine:
    text: str
    children: list["ConfigLine"] = field(default_factory=list)

    def child_texts(self) -> list[str]:
        return [c.text for c in self.children]


class RunningConfig:
    def __init__(self, text: str):
        self.text = text
        self.lines: list[ConfigLine] = []
        parent: ConfigLine | None = None
        for raw in text.splitlines():
            line = raw.rstrip()
            if not line.strip() or line.strip().startswith("!") or _SKIP.match(line.strip()):
                continue
            if line.startswith(" ") and parent is not None:
                parent.children.append(ConfigLine(line.strip()))
            else:
                parent = ConfigLine(line.strip())
                self.lines.append(parent)

    def top(self) -> list[str]:
        return [line.text for line in self.lines]

    def block(self, header: str) -> ConfigLine | None:
        """The top-level line equal to ``header`` (spacing normalised)."""
        want = " ".join(header.split())
        return next((line for line in self.lines if " ".join(line.text.split()) == want), None)

    def blocks(self, pattern: str) -> list[ConfigLine]:
        rx = re.compile(pattern)
        return [line for line in self.lines if rx.search(line.text)]

    def has(self, line: str) -> bool:
        want = " ".join(line.split())
        return any(" ".join(item.text.split()) == want for item in self.lines)

    def children(self, header: str) -> list[str]:
        block = self.block(header)
        return [" ".join(c.split()) for c in block.child_texts()] if block else []
