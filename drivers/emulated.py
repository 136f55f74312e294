"""The emulated driver: the bundled emulator, in process, with full lab control."""

from __future__ import annotations

import traceback
from functools import partial
from pathlib import Path
from typing import Callable, Iterable, TypeVar

from emulator.cli.session import CliSession
from emulator.config.masking import MASK, Masker
from emulator.lab.labfile import Lab, LabSpec, load_lab, read_text
from emulator.labtime import format_seconds
from emulator.sim.clock import seconds as lab_seconds

from .base import (
    CLI_ERROR,
    Capability,
    ConfigurationRejected,
    DeviceSession,
    Driver,
    DriverError,
    EmulatorFaultError,
    Exchange,
    register,
)
from .scenario import ROOT, check_keys, load_overrides
from .secrets import config_secrets, scenario_secrets

DEFAULT_LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"
EMULATOR_DIR = Path(__file__).resolve().parent.parent / "emulator"
T = TypeVar("T")


def _origin(err: BaseException) -> str:
    """The exception and the innermost emulator line it came from (file:line in function)."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if str(EMULATOR_DIR) in f.filename]
    text = f"{type(err).__name__}: {err}"
    if frames:
        last = frames[-1]
        text += f" (at {Path(last.filename).relative_to(EMULATOR_DIR.parent)}:{last.lineno} in {last.name})"
    return text


def guarded(lab: Lab, where: str, call: Callable[[], T]) -> T:
    """Run ``call`` on the lab; any exception inside the emulator, or a component failure it logged
    meanwhile, becomes an EmulatorFaultError naming ``where`` (never a verdict on the routers)."""
    seen = len(lab.sim.errors)
    try:
        result = call()
    except DriverError:
        raise
    except Exception as err:  # noqa: BLE001 - whatever the emulator raised is its own fault
        raise EmulatorFaultError(where, _origin(err)) from err
    if len(lab.sim.errors) > seen:
        when, desc = lab.sim.errors[seen]
        more = len(lab.sim.errors) - seen - 1
        raise EmulatorFaultError(f"{where} (lab component at lab time {_lab_time(when)})",
                                 desc + (f" (and {more} more)" if more else ""))
    return result


def _lab_time(when: int) -> str:
    return f"{format_seconds(when)} s"


class EmulatedSession(DeviceSession):
    """A CLI session on an emulated device, opened as netmiko opens one on IOS."""

    def __init__(self, name: str, role: str | None, cli: CliSession, transcript: list[Exchange], lab: Lab,
                 secrets: Masker | None = None):
        super().__init__(name, role, transcript, secrets)
        self.cli = cli
        self.lab = lab
        for command in ("terminal width 511", "terminal length 0"):
            self.send(command)

    def send(self, command: str, answers: Iterable[str] = ()) -> str:
        return guarded(self.lab, f"{self.name}: '{command}'", lambda: self._send(command, answers))

    def _send(self, command: str, answers: Iterable[str]) -> str:
        prompt = self.cli.prompt
        output = self.cli.execute(command)
        pending = list(answers)
        while self.cli.in_dialog:
            question = self.cli.prompt
            if not pending:
                self._record(prompt, command, output + question)
                raise DriverError(f"{self.name}: '{command}' asks {question.strip()!r}: give answers")
            answer = pending.pop(0)
            shown = MASK if "ssword" in question else answer   # a password typed is not echoed
            output += question + shown + "\n" + self.cli.execute(answer)
        self._record(prompt, command, output)
        return output

    def configure(self, lines: Iterable[str]) -> str:
        lines = list(lines)
        text = guarded(self.lab, f"{self.name}: configuration", lambda: self.cli.configure_lines(lines))
        self._record(self.cli.prompt, "configure terminal", text)
        bad = CLI_ERROR.search(text)
        if bad:
            raise ConfigurationRejected(f"{self.name}: configuration refused: {bad.group(0)}...\n{text}")
        return text


@register
class EmulatedDriver(Driver):
    name = "emulated"
    capabilities = frozenset({Capability.CLOCK, Capability.HOSTS, Capability.CAPTURE})
    fresh_per_module = True

    def __init__(self, lab: str | Path | LabSpec | None = None, capture_dir: str | Path | None = None,
                 secrets: Masker | None = None, before_settle: Callable[[Lab], None] | None = None):
        """``before_settle`` sees the lab booted but before its links negotiate (the report's frame taps)."""
        spec = lab if isinstance(lab, LabSpec) else load_lab(lab or DEFAULT_LAB)
        super().__init__(lab_overrides(spec), secrets)
        self.secrets.add(lab_secrets(spec))
        try:
            self.lab = Lab(spec, settle=False, capture_dir=capture_dir)
            if before_settle is not None:
                before_settle(self.lab)
            self.lab.settle()
        except Exception as err:  # noqa: BLE001 - a lab that cannot boot is the emulator's fault
            raise EmulatorFaultError(f"boot of {spec.path}", _origin(err)) from err
        self._sessions: dict[str, EmulatedSession] = {}

    def _operator(self, name: str) -> CliSession:
        """A console session off the transcript: reading configurations to derive the scenario."""
        cli = CliSession(self.lab.devices[name], privileged=True, line="console")
        cli.monitor = False
        cli.execute("terminal length 0")
        return cli

    def configurations(self):
        from .derive import Device
        devices = []
        for name, dev in self.lab.spec.devices.items():
            if dev.role:
                text = guarded(self.lab, f"{name}: 'show running-config'",
                               partial(self._operator(name).execute, "show running-config"))
                devices.append(Device(dev.role, name, text, f"{name} configuration ({dev.config_path.name})"))
        links = {}
        for link in self.lab.spec.links:
            if link.kind == "serial":
                a, b = link.ports
                links[a], links[b] = b, a

        def observe(role: str, interface: str) -> str | None:
            name = self.lab.spec.device_for_role(role)
            text = self._operator(name).execute("show ip interface brief") if name else ""
            for line in text.splitlines():
                parts = line.split()
                if parts and parts[0] == interface and len(parts) > 1 and parts[1][0].isdigit():
                    return parts[1]
            return None
        return devices, links, observe

    def roles(self) -> list[str]:
        return [d.role for d in self.lab.spec.devices.values() if d.role]

    def session(self, role: str) -> EmulatedSession:
        if role not in self._sessions:
            name = self.lab.spec.device_for_role(role)
            if name is None:
                raise DriverError(f"{self.lab.spec.path}: no device has the role {role!r} "
                                  f"(roles: {', '.join(self.roles())})")
            router = self.lab.devices[name]
            # In process, the driver is the lab's operator on the console, already in privileged
            # EXEC (it owns the lab, secrets included); it does not monitor messages.
            cli = CliSession(router, privileged=True, line="console")
            cli.monitor = False
            self._sessions[role] = EmulatedSession(name, role, cli, self.transcript, self.lab, self.secrets)
        return self._sessions[role]

    def advance_clock(self, seconds: float) -> None:
        guarded(self.lab, f"the lab clock moving on {seconds:g} s", lambda: self.lab.advance(lab_seconds(seconds)))

    def boot_rejections(self) -> dict[str, list[str]]:
        """Per device, the configuration lines it rejected at boot (IOS's error beside each)."""
        return {name: [f"{e.source}:{e.line_number}: {e.text.strip()}  ({e.message.strip().splitlines()[-1]})"
                       for e in router.boot_errors]
                for name, router in self.lab.devices.items() if router.boot_errors}

    def close(self) -> None:
        self.lab.close()

    def describe(self) -> dict[str, str]:
        return {"driver": self.name, "lab": str(self.lab.spec.path), "seed": str(self.lab.spec.seed)}


def lab_overrides(spec: LabSpec) -> list[tuple[dict, str]]:
    """A lab's overrides of the derived values: a scenario.yml beside it (not the document's own), its
    ``scenario:``."""
    out = []
    beside = spec.path.parent / "scenario.yml"
    if beside.is_file():
        values = load_overrides(beside)
        if values:
            out.append((values, str(beside)))
    if spec.scenario:
        check_keys(spec.scenario, str(spec.path))
        out.append((spec.scenario, str(spec.path)))
    return out


def lab_secrets(spec: LabSpec) -> set[str]:
    """Every secret of a lab: those of its devices' configurations and extra lines, its expected keys."""
    texts = []
    for device in spec.devices.values():
        texts += [read_text(device.config_path), "\n".join(device.extra_config)]
    return config_secrets(texts) | {s for values, _ in lab_overrides(spec) for s in scenario_secrets(values)}
