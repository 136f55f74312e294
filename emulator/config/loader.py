"""Load configuration text into the model, as IOS loads a startup configuration."""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulator.config.commands import ConfigApplyError, ConfigContext, LeaveConfig, apply_line
from emulator.config.grammar import CommandError
from emulator.config.model import DeviceConfig, Interface, TimestampService

# Lines a saved ``show running-config`` carries before the configuration proper.
_HEADER = re.compile(r"^(Building configuration\.\.\.|Current configuration\s*:.*)$")


@dataclass(frozen=True)
class ConfigLineError:
    """A line IOS rejected while loading; loading went on after it."""

    source: str
    line_number: int
    text: str
    message: str
    column: int | None = None

    def console(self) -> str:
        """The text IOS prints for the line: the line, the caret, the message."""
        if self.column is None:
            return f"{self.text}\n{self.message}"
        return f"{self.text}\n{' ' * self.column}^\n{self.message}"

    def __str__(self) -> str:
        return f"{self.source}:{self.line_number}: {self.message} ({self.text.strip()})"


def new_config(hardware: list[str] | None = None) -> DeviceConfig:
    """A device's configuration before anything is loaded: hardware interfaces shut down, and
    IOS 12.2's default ``service timestamps debug uptime`` and ``log uptime``."""
    cfg = DeviceConfig(timestamps=[TimestampService("debug"), TimestampService("log")])
    for name in hardware or ():
        cfg.interfaces[name] = Interface(name, shutdown=True,
                                         encapsulation="hdlc" if name.startswith("Serial") else "arpa")
    return cfg


def load_config(text: str, source: str = "<config>", hardware: list[str] | None = None,
                cfg: DeviceConfig | None = None) -> tuple[DeviceConfig, list[ConfigLineError]]:
    """Apply ``text`` line by line; returns the model and the lines IOS would reject."""
    if cfg is None:
        cfg = new_config(hardware)
    ctx = ConfigContext(cfg, set(hardware) if hardware is not None else None, booting=True)
    errors: list[ConfigLineError] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped or stripped.startswith("!") or _HEADER.match(stripped):
            continue
        try:
            apply_line(ctx, line)
        except LeaveConfig as leave:
            if leave.args and leave.args[0] == "end":
                break
        except CommandError as err:
            errors.append(ConfigLineError(source, number, line, err.message,
                                          err.column if err.kind == "invalid" else None))
        except ConfigApplyError as err:
            errors.append(ConfigLineError(source, number, line, str(err)))
    return cfg, errors
