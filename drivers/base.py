"""The driver interface: named device sessions that speak IOS CLI text.

Suites see only this: sessions by role (``hub``, ``remote``, ...), each with
``send(command) -> str`` and ``configure(lines)``, the scenario's expected
values, and the lab-control capabilities the target offers.
"""

from __future__ import annotations

import enum
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, ClassVar, Iterable

from emulator.config.masking import Masker

from .scenario import Scenario, ScenarioError, build, check_keys
from .secrets import scenario_secrets


class Capability(str, enum.Enum):
    """Lab control that only some targets offer."""

    CLOCK = "clock"              # advance time without waiting
    LINK_CONTROL = "link-control"  # take a cable's carrier away and back
    CAPTURE = "capture"          # record a link's frames to pcap
    HOSTS = "hosts"              # devices acting as hosts on each LAN
    INJECT = "inject"            # put crafted frames on a link


class DriverError(Exception):
    """The driver cannot do what was asked; the message says what and where."""


class DriverUnavailable(DriverError):
    """The selected driver cannot run here."""


class MissingCapability(DriverError):
    def __init__(self, driver: str, capability: Capability, hint: str = ""):
        self.capability = capability
        super().__init__(f"the {driver} driver has no {capability.value} capability" + (f" ({hint})" if hint else ""))


class ConfigurationRejected(DriverError):
    """A configuration line got an IOS error."""


class TransportError(DriverError):
    """The way to a device failed (session dropped, no answer in time): says nothing of its behaviour."""


class EmulatorFaultError(DriverError):
    """The emulator itself failed (an exception, a stalled clock): a bug of this project, not of the routers.

    ``where`` names the device and command or the lab component, ``detail`` what happened there.
    """

    def __init__(self, where: str, detail: str):
        self.where, self.detail = where, detail
        super().__init__(f"emulator fault in {where}: {detail}")


_NEXT = [1]   # the sequence number of the next exchange, across all drivers of the run


def exchanges_so_far() -> int:
    """The sequence number the next exchange will get (transcripts are sliced by it)."""
    return _NEXT[0]


@dataclass(frozen=True)
class Exchange:
    """One command and what the device printed, for transcripts and reports."""

    device: str
    prompt: str
    command: str
    output: str
    seq: int = 0

    def render(self) -> str:
        return f"{self.prompt}{self.command}\n{self.output}"


# The errors IOS prints for a line it did not take.
CLI_ERROR = re.compile(r"^(% ?Invalid input detected|% Incomplete command|% Ambiguous command|"
                       r"% Unknown command|%Bad |% .*not permitted)", re.M)


class DeviceSession(ABC):
    """One CLI session on one device, in privileged EXEC mode.

    ``send`` returns what the device printed, secrets included; the transcript keeps it with
    every secret masked by ``secrets`` (the driver's masker), since transcripts go into reports.
    """

    def __init__(self, name: str, role: str | None, transcript: list[Exchange], secrets: Masker | None = None):
        self.name = name
        self.role = role
        self.transcript = transcript
        self.secrets = secrets if secrets is not None else Masker()

    @abstractmethod
    def send(self, command: str, answers: Iterable[str] = ()) -> str:
        """Run an EXEC command; ``answers`` reply to the questions it asks. Returns its output."""

    @abstractmethod
    def configure(self, lines: Iterable[str]) -> str:
        """Apply configuration lines; raises ConfigurationRejected if IOS refuses one."""

    def _record(self, prompt: str, command: str, output: str) -> None:
        seq = _NEXT[0]
        _NEXT[0] = seq + 1
        self.transcript.append(Exchange(self.name, prompt, self.secrets(command, learn=True),
                                        self.secrets(output, learn=True), seq))


class Driver(ABC):
    """A target: emulated devices or real ones."""

    name: ClassVar[str]
    capabilities: frozenset[Capability] = frozenset()   # a driver may narrow them per target
    # A new target per test module (the emulator boots a lab in milliseconds); real devices are shared.
    fresh_per_module: ClassVar[bool] = False

    def __init__(self, overrides: list[tuple[dict, str]] | None = None, secrets: Masker | None = None):
        # Overrides of the derived expected values: (values, where they are written), checked at once.
        self.overrides = [(check_keys(values, source), source) for values, source in (overrides or [])]
        self.document_values = False           # --document-values: check the document's literal values
        self._scenario: Scenario | None = None
        self.transcript: list[Exchange] = []
        # What this target's transcripts and the run's reports mask: the secrets it was given
        # (lab configurations, inventory), the expected keys, and those its devices print.
        self.secrets = secrets if secrets is not None else Masker()
        for values, _ in self.overrides:
            self.secrets.add(scenario_secrets(values))

    @property
    def scenario(self) -> Scenario:
        """The expected values: derived from the devices' configurations (read once), the overrides
        checked against them. Raises ScenarioError when the lab is not this design or an override
        contradicts the devices."""
        if self._scenario is None:
            from .derive import derive
            devices, links, observe = self.configurations()
            derived = derive(devices, links, observe)
            self._scenario = build(derived.data, derived.sources, self.overrides, self.document_values)
            self.secrets.add(scenario_secrets(self._scenario))
        return self._scenario

    def configurations(self) -> tuple[list, dict | None, Callable[[str, str], str | None] | None]:
        """The devices' running configurations (``drivers.derive.Device``), the wiring when known, and a
        way to read the address a remote shows (for what no configuration tells)."""
        raise ScenarioError(f"the {self.name} driver cannot read its devices' configurations")

    def remote_roles(self) -> list[str]:
        from .derive import remote_roles
        return remote_roles(self.roles())

    @abstractmethod
    def roles(self) -> list[str]:
        """The roles this target has devices for."""

    @abstractmethod
    def session(self, role: str) -> DeviceSession:
        """The (shared) session of the device with that role."""

    def has(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def require(self, capability: Capability, hint: str = "") -> None:
        if not self.has(capability):
            raise MissingCapability(self.name, capability, hint)

    def advance_clock(self, seconds: float) -> None:
        self.require(Capability.CLOCK, "real devices keep real time")

    def describe(self) -> dict[str, str]:
        """What the report shows of the target."""
        return {"driver": self.name}

    def boot_rejections(self) -> dict[str, list[str]] | None:
        """Per device, the configuration lines it rejected when it booted; None when the target cannot tell."""
        return None

    def close(self) -> None:  # noqa: B027 - optional: a target without connections has nothing to release
        """Release sessions and connections."""


DRIVERS: dict[str, type[Driver]] = {}


def register(cls: type[Driver]) -> type[Driver]:
    DRIVERS[cls.name] = cls
    return cls


def driver_class(name: str) -> type[Driver]:
    try:
        return DRIVERS[name]
    except KeyError:
        raise DriverError(f"unknown driver {name!r} (known drivers: {', '.join(sorted(DRIVERS))})") from None
