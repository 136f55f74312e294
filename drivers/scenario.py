"""Expected values: the scenario file, overridden by a lab file or an inventory."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCENARIO = ROOT / "fixtures" / "doc14131" / "scenario.yml"


class ScenarioError(Exception):
    pass


class Scenario:
    """Nested expected values, read with dotted keys: ``scenario["hub.lan_address"]``."""

    def __init__(self, data: dict[str, Any], source: str = "<scenario>"):
        self.data = data
        self.source = source

    def __getitem__(self, key: str) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(f"{self.source}: no expected value {key!r}")
            node = node[part]
        return node

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def overridden(self, overrides: dict[str, Any], source: str) -> "Scenario":
        """A copy with ``overrides`` (nested mappings or dotted keys) applied."""
        data = copy.deepcopy(self.data)
        for key, value in (overrides or {}).items():
            _merge(data, str(key).split("."), value)
        return Scenario(data, f"{self.source} + {source}")


def _merge(data: dict, path: list[str], value: Any) -> None:
    for part in path[:-1]:
        data = data.setdefault(part, {})
        if not isinstance(data, dict):
            raise ScenarioError(f"cannot override below the plain value at {'.'.join(path)}")
    last = path[-1]
    if isinstance(value, dict) and isinstance(data.get(last), dict):
        for k, v in value.items():
            _merge(data[last], str(k).split("."), v)
    else:
        data[last] = value


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
    return Scenario(data, str(path))
