"""Device and link ranges in lab files: one entry for many devices or links, ``{i}`` substituted.

A ``devices`` entry whose settings hold ``range: A-B`` stands for one device
per i from A to B (inclusive, A <= B); ``{...}`` in its name and in every
text setting (config, role, platform, extra_config lines) is replaced by the
value of the expression inside for that i::

    spoke{i}: {range: 2-1000, config: spoke{i}.cfg, role: remote{i}}

A ``links`` entry with ``range: A-B`` stands for one link per i, ``{...}`` in
its ports substituted; a port of an Ethernet segment may itself be a range,
``{range: A-B, port: "as{i} Ethernet0"}``, one port per i (not inside a
ranged link: one ``i`` at a time)::

    - {range: 1-1000, serial: ["spoke{i} Serial0", "as{(i-1)//10+1} Serial{(i-1)%10}"]}
    - ethernet: [dist1 Ethernet1, {range: 1-32, port: "as{i} Ethernet0"}]

An expression is integer arithmetic on ``i``: numbers, ``+ - * // %``,
parentheses, unary minus. A range expands to at most ``MAX_RANGE`` items.
Errors name the key and the range's line in the file.
"""

from __future__ import annotations

import ast
import re
from typing import Any

MAX_RANGE = 100_000                  # items one range may stand for
MAX_EXPRESSION = 100                 # characters of one {...} expression
_RANGE = re.compile(r"^\s*(-?\d+)\s*-\s*(-?\d+)\s*$")
_FIELD = re.compile(r"\{([^{}]*)\}")
_OPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
        ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b}


class RangeError(Exception):
    """A range that cannot be expanded: the key (``devices.spoke{i}.range``) and why."""

    def __init__(self, key: str, reason: str):
        super().__init__(f"{key}: {reason}")
        self.key, self.reason = key, reason


def parse_range(key: str, value: Any) -> range:
    """``A-B`` (or a single integer A) as the range A..B inclusive."""
    if isinstance(value, int) and not isinstance(value, bool):
        return range(value, value + 1)
    match = _RANGE.match(value) if isinstance(value, str) else None
    if match is None:
        raise RangeError(key, f"must be written FIRST-LAST with integers, such as 1-100, not {value!r}")
    first, last = int(match[1]), int(match[2])
    if first > last:
        raise RangeError(key, f"{value!r}: the first number is greater than the last")
    if last - first + 1 > MAX_RANGE:
        raise RangeError(key, f"{value!r}: {last - first + 1} items, more than {MAX_RANGE}")
    return range(first, last + 1)


class Template:
    """A text with ``{expression}`` fields, compiled once and filled for each i."""

    def __init__(self, key: str, text: str):
        self.key, self.text = key, text
        self.parts: list[str | ast.expr] = []
        pos = 0
        for match in _FIELD.finditer(text):
            self.parts.append(text[pos:match.start()])
            self.parts.append(_compile(key, text, match[1]))
            pos = match.end()
        rest = text[pos:]
        if "{" in rest or "}" in rest:
            raise RangeError(key, f"{text!r}: unbalanced '{{' or '}}'")
        self.parts.append(rest)

    @property
    def fixed(self) -> bool:
        return len(self.parts) == 1

    def fill(self, i: int) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                try:
                    out.append(str(_evaluate(part, i)))
                except ZeroDivisionError:
                    raise RangeError(self.key, f"{self.text!r}: division by zero for i = {i}") from None
        return "".join(out)


def _compile(key: str, text: str, expression: str) -> ast.expr:
    if len(expression) > MAX_EXPRESSION:
        raise RangeError(key, f"{text!r}: an expression longer than {MAX_EXPRESSION} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError:
        raise RangeError(key, f"{text!r}: {{{expression}}} is not an expression of i") from None
    for node in ast.walk(tree):
        ok = (isinstance(node, (ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop))
              or (isinstance(node, ast.Name) and node.id == "i")
              or (isinstance(node, ast.Constant) and type(node.value) is int)
              or isinstance(node, ast.Load))
        if isinstance(node, ast.BinOp) and type(node.op) not in _OPS:
            ok = False
        if isinstance(node, ast.UnaryOp) and not isinstance(node.op, (ast.USub, ast.UAdd)):
            ok = False
        if not ok:
            raise RangeError(key, f"{text!r}: {{{expression}}} may use only i, integers, + - * // % "
                                  "and parentheses")
    return tree


def _evaluate(node: ast.expr, i: int) -> int:
    if isinstance(node, ast.Constant):
        value = node.value
        assert type(value) is int          # _compile lets integer constants only through
        return value
    if isinstance(node, ast.Name):
        return i
    if isinstance(node, ast.UnaryOp):
        value = _evaluate(node.operand, i)
        return -value if isinstance(node.op, ast.USub) else value
    assert isinstance(node, ast.BinOp)
    return _OPS[type(node.op)](_evaluate(node.left, i), _evaluate(node.right, i))


def _compile_value(key: str, value: Any) -> Any:
    """A setting with its text (and its lists' text) as templates, compiled once for every i."""
    if isinstance(value, str):
        return Template(key, value)
    if isinstance(value, list):
        return [_compile_value(f"{key}[{n}]", v) for n, v in enumerate(value)]
    return value


def _fill_value(value: Any, i: int) -> Any:
    """A compiled setting filled for i."""
    if isinstance(value, Template):
        return value.fill(i)
    if isinstance(value, list):
        return [_fill_value(v, i) for v in value]
    return value


def expand_devices(raw: Any, where: Any) -> tuple[dict[Any, Any], dict[str, str]]:
    """The ``devices`` mapping with each ranged entry replaced by its devices, and for each of those the
    key to name in messages (``devices.spoke{i}[i=5]``). ``where(key)`` gives " (line N)" or ""."""
    if not isinstance(raw, dict):
        return raw, {}
    out: dict[Any, Any] = {}
    labels: dict[str, str] = {}
    for name, spec in raw.items():
        if not (isinstance(spec, dict) and "range" in spec):
            out[name] = spec                    # a name written twice is the lab file's to refuse
            labels.setdefault(str(name), f"devices.{name}")
            continue
        key = f"devices.{name}"
        span = _ranged(f"{key}.range", spec["range"], where)
        name_template = Template(key, str(name))
        if name_template.fixed:
            raise RangeError(f"{key}.range", f"the name of a ranged device needs {{i}}{where(key + '.range')}")
        settings = {k: _compile_value(f"{key}.{k}", v) for k, v in spec.items() if k != "range"}
        for i in span:
            expanded = name_template.fill(i)
            if expanded in labels or expanded in raw:
                other = labels.get(expanded, f"devices.{expanded}")
                raise RangeError(key, f"i = {i} names {expanded!r}, a device also from {other}"
                                      f"{where(key + '.range')}")
            out[expanded] = {k: _fill_value(v, i) for k, v in settings.items()}
            labels[expanded] = f"{key}[i={i}]"
    return out, labels


def expand_links(raw: Any, where: Any) -> tuple[list[Any], list[str]]:
    """The ``links`` list with each ranged entry (and each ranged port) expanded, and each link's key for
    messages (``links[3][i=5]``)."""
    if not isinstance(raw, list):
        return raw, []
    out: list[Any] = []
    keys: list[str] = []
    for n, item in enumerate(raw):
        key = f"links[{n}]"
        if not isinstance(item, dict):
            out.append(item)
            keys.append(key)
            continue
        if "range" not in item:
            out.append({k: _ports(f"{key}.{k}", v, where) if k in ("serial", "ethernet") else v
                        for k, v in item.items()})
            keys.append(key)
            continue
        span = _ranged(f"{key}.range", item["range"], where)
        settings = {k: v for k, v in item.items() if k != "range"}
        for kind in ("serial", "ethernet"):
            ports = settings.get(kind)
            if isinstance(ports, list) and any(isinstance(p, dict) for p in ports):
                raise RangeError(f"{key}.{kind}", f"a ranged link cannot hold a range of ports (one i at a "
                                                  f"time){where(key + '.range')}")
        templates = {k: [Template(f"{key}.{k}", str(p)) for p in v] if k in ("serial", "ethernet")
                     and isinstance(v, list) else v for k, v in settings.items()}
        for i in span:
            out.append({k: [t.fill(i) for t in v] if isinstance(v, list) and k in ("serial", "ethernet") else v
                        for k, v in templates.items()})
            keys.append(f"{key}[i={i}]")
    return out, keys


def _ports(key: str, ports: Any, where: Any) -> Any:
    """A port list with its ranged ports (``{range: A-B, port: "X{i} Ethernet0"}``) expanded."""
    if not isinstance(ports, list) or not any(isinstance(p, dict) for p in ports):
        return ports
    out: list[Any] = []
    for n, port in enumerate(ports):
        if not isinstance(port, dict):
            out.append(port)
            continue
        pkey = f"{key}[{n}]"
        unknown = set(port) - {"range", "port"}
        if unknown or "range" not in port or not isinstance(port.get("port"), str):
            raise RangeError(pkey, "a range of ports is written {range: FIRST-LAST, port: \"DEVICE{i} "
                                   f"INTERFACE\"}}{where(pkey)}")
        span = _ranged(f"{pkey}.range", port["range"], where)
        template = Template(f"{pkey}.port", port["port"])
        out.extend(template.fill(i) for i in span)
    return out


def _ranged(key: str, value: Any, where: Any) -> range:
    try:
        return parse_range(key, value)
    except RangeError as err:
        raise RangeError(err.key, err.reason + where(key)) from None
