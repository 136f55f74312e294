"""Expected values: derived from the routers' configurations, with optional overrides.

The scenario of a run is what the configurations say (``drivers/derive.py``),
each value with where it came from. A lab file's ``scenario:``, a
``scenario.yml`` beside it, or an inventory's ``scenario:``/``scenario_file``
may add what configurations cannot tell (hosts, ping parameters) or confirm a
value; an override that contradicts the devices stops the run naming both
sources (the preflight), and an unknown key is an error with a "did you mean".

The document's own values (``fixtures/doc14131/scenario.yml``) are checked
when the lab is the document's (its hostnames and addressing plan) or when
asked (``--document-values``): they then take the place of the derived ones.
"""

from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Any, Iterable

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCENARIO = ROOT / "fixtures" / "doc14131" / "scenario.yml"
DOCUMENT_SOURCE = "document"

# The keys a scenario knows; <role> is remote, remote2, ...; <host> a host role.
_ROUTER = ("role", "hostname", "lan_interface", "lan_address", "lan_mask", "lan_network", "wan_interface",
           "wan_encapsulation", "crypto_map", "crypto_map_seq", "crypto_acl", "nat_acl", "nat_route_map",
           "transform_set", "isakmp_key", "isakmp_key_address")
_HUB = _ROUTER + ("wan_address", "wan_mask", "dynamic_map", "dynamic_map_seq", "isakmp_key_mask")
_REMOTE = _ROUTER + ("negotiated_address", "peer")
KNOWN = {"document", "software"} | {f"hub.{k}" for k in _HUB} | {f"remote.{k}" for k in _REMOTE} | {
    f"remotes.<role>.{k}" for k in _REMOTE} | {f"isakmp.{k}" for k in (
        "policy", "encryption", "hash", "authentication", "group", "lifetime")} | {
    f"ipsec.{k}" for k in ("transform_set", "transforms", "mode", "lifetime_kilobytes", "lifetime_seconds",
                           "iv_size")} | {f"ping.{k}" for k in ("count", "size", "timeout", "success_percent")} | {
    "hosts.<host>"}
_ROLE = re.compile(r"^remote\d*$")
_HOST = re.compile(r"^(hub|remote\d*|internet)_host$")
# What identifies the document's lab: its routers and addressing plan.
IDENTITY = ("hub.hostname", "remote.hostname", "hub.wan_address", "hub.lan_network", "remote.lan_network")
# Values no configuration holds: the document's, unless overridden.
NOT_DERIVED = ("ping",)


class ScenarioError(Exception):
    pass


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix: data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and path.count(".") < 3 and not path.startswith("hosts."):
            out.update(_flatten(value, path))
        else:
            out[path] = value
    return out


def _pattern(key: str) -> str:
    parts = key.split(".")
    if parts[0] == "remotes" and len(parts) > 1:
        parts[1] = "<role>" if _ROLE.match(parts[1]) else parts[1]
    if parts[0] == "hosts" and len(parts) == 2:
        parts[1] = "<host>" if _HOST.match(parts[1]) else parts[1]
    return ".".join(parts)


def check_keys(overrides: dict[str, Any], source: str) -> dict[str, Any]:
    """The overrides as dotted keys; an unknown key is an error with the nearest known one."""
    flat: dict[str, Any] = {}
    for raw, value in (overrides or {}).items():
        nested = _flatten({str(raw): value}) if isinstance(value, dict) else {str(raw): value}
        for key, val in nested.items():
            if key.startswith("hosts.") and isinstance(val, dict):
                for host, address in val.items():
                    flat[f"hosts.{host}"] = address
                continue
            flat[key] = val
    for key in flat:
        if _pattern(key) not in KNOWN:
            near = difflib.get_close_matches(_pattern(key), sorted(KNOWN), n=1, cutoff=0.6)
            hint = f"; did you mean {near[0]!r}?" if near else f" (known keys: {', '.join(sorted(KNOWN))})"
            raise ScenarioError(f"{source}: unknown scenario key {key!r}{hint}")
    return flat


class Scenario:
    """Nested expected values, read with dotted keys: ``scenario["hub.lan_address"]``.

    ``remote.X`` reads the first remote's value (``remotes.remote.X``). ``sources`` tells where each
    value came from (a device's configuration, an override file, the document).
    """

    def __init__(self, data: dict[str, Any], source: str = "<scenario>", sources: dict[str, str] | None = None,
                 document_values: bool = True, not_document: str = ""):
        self.data = data
        self.source = source
        self.sources = dict(sources or {})
        self.document_values = document_values        # whether the document's literal values are checked
        self.not_document = not_document              # why not, for the not-applicable verdicts

    def _path(self, key: str) -> list[str]:
        parts = key.split(".")
        if parts[0] == "remote" and "remotes" in self.data:
            return ["remotes", self.remote_roles()[0], *parts[1:]]
        return parts

    def __getitem__(self, key: str) -> Any:
        node: Any = self.data
        for part in self._path(key):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(f"{self.source}: no expected value {key!r}")
            node = node[part]
        return node

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except (KeyError, IndexError):
            return default

    def source_of(self, key: str) -> str:
        path = ".".join(self._path(key))
        while path:
            if path in self.sources:
                return self.sources[path]
            path = path.rpartition(".")[0]
        return self.source

    def remote_roles(self) -> list[str]:
        roles = [r for r in (self.data.get("remotes") or {}) if _ROLE.match(r)]
        return sorted(roles, key=lambda r: int(r[6:] or 1))

    def remote_key(self, role: str, name: str) -> str:
        """The dotted key of a remote's value."""
        return f"remotes.{role}.{name}" if "remotes" in self.data else f"remote.{name}"

    def shown(self, key: str) -> str:
        """A value as the report shows it (a list of transforms as IOS writes them)."""
        value = self[key]
        return " ".join(map(str, value)) if isinstance(value, list) else str(value)

    def render(self, template: str) -> str:
        """``template`` with each ``{key}`` replaced by the value checked (a ``{remote.X}`` by every remote's,
        comma-separated), and where the values came from."""
        used: list[str] = []

        def one(match: re.Match) -> str:
            key = match.group(1)
            keys = ([self.remote_key(r, key.split(".", 1)[1]) for r in self.remote_roles()]
                    if key.startswith("remote.") and "remotes" in self.data else [key])
            values = []
            for k in keys:
                try:
                    values.append(self.shown(k))
                except KeyError:
                    values.append("?")
                source = self.source_of(k)
                if source not in used:
                    used.append(source)
            return ", ".join(values)
        text = re.sub(r"\{([a-z_0-9.]+)\}", one, template)
        return text + (f" [from {'; '.join(used)}]" if used else "")

    def overridden(self, overrides: dict[str, Any], source: str) -> "Scenario":
        """A copy with ``overrides`` (nested mappings or dotted keys) applied, each noted as from ``source``."""
        data = copy.deepcopy(self.data)
        sources = dict(self.sources)
        for key, value in check_keys(overrides, source).items():
            path = self._path(key)
            _set(data, path, value)
            sources[".".join(path)] = source
        return Scenario(data, f"{self.source} + {source}", sources, self.document_values, self.not_document)


def _set(data: dict, path: list[str], value: Any) -> None:
    for part in path[:-1]:
        data = data.setdefault(part, {})
        if not isinstance(data, dict):
            raise ScenarioError(f"cannot override below the plain value at {'.'.join(path)}")
    data[path[-1]] = copy.deepcopy(value)


def load_scenario(path: str | Path = DEFAULT_SCENARIO) -> Scenario:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as err:
        raise ScenarioError(f"{path}: cannot read scenario file ({err.strerror})") from None
    except yaml.YAMLError as err:
        raise ScenarioError(f"{path}: malformed YAML: {str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario file is a mapping of expected values")
    return Scenario(data, str(path), {k: DOCUMENT_SOURCE for k in _flatten(data)})


def load_overrides(path: str | Path) -> dict[str, Any]:
    """A scenario file of overrides (the document's own file is the document, not overrides)."""
    path = Path(path)
    if path.resolve() == DEFAULT_SCENARIO.resolve():
        return {}
    data = load_scenario(path).data
    check_keys(data, str(path))
    return data


def document() -> Scenario:
    return load_scenario(DEFAULT_SCENARIO)


def build(derived: dict[str, Any], sources: dict[str, str], overrides: Iterable[tuple[dict[str, Any], str]],
          document_values: bool = False) -> Scenario:
    """The run's scenario: derived values, the preflight of each override against them, the document's
    values when the lab is the document's (or ``document_values``)."""
    doc = document()
    scenario = Scenario(copy.deepcopy(derived), "derived from the configurations", sources, False)
    for key in NOT_DERIVED:
        scenario.data[key] = copy.deepcopy(doc.data[key])
        scenario.sources[key] = f"{DOCUMENT_SOURCE} (not in any configuration)"
    conflicts = []
    for values, source in overrides:
        for key, value in check_keys(values, source).items():
            path = scenario._path(key)
            dotted = ".".join(path)
            have = scenario.get(dotted)
            if dotted in sources and have is not None and str(have) != str(value) and not (
                    isinstance(have, list) and have == value):
                conflicts.append(_conflict(key, value, source, have, sources[dotted]))
        scenario = scenario.overridden(values, source)
    if conflicts:
        raise ScenarioError("; ".join(conflicts))
    differs = [f"{k} is {scenario.get(k)!r}, the document's {doc.get(k)!r}" for k in IDENTITY
               if str(scenario.get(k)) != str(doc.get(k))]
    if not differs or document_values:
        overlay = {k: v for k, v in _flatten(doc.data).items() if k.split(".")[0] in ("hub", "remote", "isakmp",
                                                                                         "ipsec")}
        for key, value in overlay.items():
            path = scenario._path(key)
            dotted = ".".join(path)
            agrees = str(scenario.get(dotted)) == str(value) and dotted in scenario.sources
            scenario.sources[dotted] = (f"{DOCUMENT_SOURCE}, as {scenario.source_of(dotted)}" if agrees
                                        else DOCUMENT_SOURCE)
            _set(scenario.data, path, value)
        scenario.document_values = True
    else:
        scenario.not_document = "this lab is not the document's (" + "; ".join(differs) + \
            "); its literal values are checked with --document-values"
    return scenario


def _conflict(key: str, value: Any, source: str, have: Any, where: str) -> str:
    if key.endswith(".hostname"):
        role = key.split(".")[-2]
        return (f"{source} says the {role} is {value}; the device answering as {role} is {have} "
                f"(from {where})")
    return f"{source} says {key} is {value!r}; the devices say {have!r} (from {where})"
