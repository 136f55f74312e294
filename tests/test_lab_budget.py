"""A lab too large for the machine is refused before booting, with the estimate and the limit."""

import pytest

from emulator.lab import budget
from emulator.lab.generate import Design, write_lab
from emulator.lab.labfile import Lab, LabError, load_lab


def test_a_lab_beyond_the_available_memory_is_refused_naming_estimate_and_limit(tmp_path, monkeypatch):
    write_lab(Design(spokes=100), tmp_path)
    spec = load_lab(tmp_path / "lab.yml")
    assert len(spec.devices) == 219
    monkeypatch.setattr(budget, "available", lambda: 65 * budget.MIB)
    with pytest.raises(LabError) as err:
        Lab(spec)
    # 48 MiB + 219 devices x 80 KiB = 65.11 MiB, beyond 65 MiB
    assert str(err.value) == (f"{tmp_path / 'lab.yml'}: devices: 219 devices need about 65 MiB (80 KiB a device, "
                              "measured, and 48 MiB for the emulator), more than the 65 MiB this machine has "
                              "available: fewer devices, or a machine with more memory")


def test_the_estimate_and_the_limit():
    assert budget.estimate(1000) == 48 * budget.MIB + 1000 * 80 * 1024
    budget.check(1000, limit=budget.estimate(1000))             # exactly at the limit: accepted
    with pytest.raises(budget.TooLarge, match="^1001 devices need about 126 MiB"):
        budget.check(1001, limit=budget.estimate(1000))
    limit = budget.available()
    assert limit is None or limit > 0


def test_an_unknown_limit_refuses_nothing(monkeypatch):
    monkeypatch.setattr(budget, "MEMINFO", budget.Path("/nonexistent/meminfo"))
    monkeypatch.setattr(budget.resource, "getrlimit", lambda _: (budget.resource.RLIM_INFINITY,) * 2)
    assert budget.available() is None
    budget.check(10 ** 6)
