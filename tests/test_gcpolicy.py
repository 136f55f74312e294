"""Full garbage collections are deferred while a lab is open, and the process's thresholds come back after."""

import gc

import pytest

from emulator.lab.labfile import Lab
from emulator.sim import gcpolicy

LAB = "fixtures/doc14131/lab.yml"


@pytest.fixture
def thresholds(monkeypatch):
    """CPython's default thresholds and no lab open (labs other tests left open in this process are set aside)."""
    saved = gc.get_threshold()
    monkeypatch.setattr(gcpolicy, "_open", 0)
    monkeypatch.setattr(gcpolicy, "_saved", None)
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_open_labs_defer_full_collections_until_the_last_one_closes(thresholds):
    assert gcpolicy.labs_open() == 0
    first = Lab.from_file(LAB)
    assert gc.get_threshold() == (700, 10, gcpolicy.OLDEST) and gcpolicy.labs_open() == 1
    second = Lab.from_file(LAB)
    first.close()
    assert gc.get_threshold() == (700, 10, gcpolicy.OLDEST), "one lab is still open"
    first.close()                               # a second close changes nothing
    assert gcpolicy.labs_open() == 1
    second.close()
    assert gc.get_threshold() == (700, 10, 10) and gcpolicy.labs_open() == 0


def test_a_process_that_defers_further_keeps_its_own_threshold(thresholds):
    gc.set_threshold(2000, 20, 5000)
    lab = Lab.from_file(LAB)
    assert gc.get_threshold() == (2000, 20, 5000)
    lab.close()
    assert gc.get_threshold() == (2000, 20, 5000)


def test_a_lab_that_fails_to_start_gives_the_thresholds_back(thresholds, monkeypatch):
    def broken(self):
        raise RuntimeError("boot failed")
    monkeypatch.setattr(Lab, "_boot", broken)
    with pytest.raises(RuntimeError, match="boot failed"):
        Lab.from_file(LAB)
    assert gc.get_threshold() == (700, 10, 10) and gcpolicy.labs_open() == 0

