"""Lab time: integer nanoseconds, exact conversions, and the simulator's progress guard."""

import random
from decimal import Decimal
from fractions import Fraction

import pytest

from emulator.sim.clock import MS, NS, SECOND, US, EmulatorFault, Simulator, format_seconds, seconds, to_seconds
from emulator.sim.wires import EthernetSegment, SerialLink

# ---------------------------------------------------------------------------- units and conversions

def test_units():
    assert (NS, US, MS, SECOND) == (1, 1_000, 1_000_000, 1_000_000_000)


@pytest.mark.parametrize("text, ns", [
    ("0.1", 100_000_000), ("0.5", 500_000_000), ("61", 61 * SECOND), ("1e-9", 1), ("1E3", 1000 * SECOND),
    ("0", 0), ("  2.25 ", 2_250_000_000), ("86400", 86400 * SECOND), ("0.000000001", 1),
    ("123456789.123456789", 123456789 * SECOND + 123456789),
])
def test_seconds_from_decimal_text_is_exact(text, ns):
    assert seconds(text) == ns


def test_seconds_from_every_kind_of_number():
    assert seconds(3) == 3 * SECOND
    assert seconds(0.1) == 100_000_000
    assert seconds(1e-9) == 1
    assert seconds(Decimal("2.5")) == 2_500_000_000
    assert seconds(Fraction(1, 4)) == 250_000_000
    assert seconds(Fraction(1, 3)) == 333_333_333          # to the nearest ns
    assert seconds("0.0000000015") == 2                    # half to even
    assert seconds("0.0000000025") == 2
    assert all(type(seconds(v)) is int for v in (3, 0.1, Decimal("1"), Fraction(1, 2), "1"))


def test_float_seconds_are_exact_to_the_ns_for_normal_values():
    """A float is read as the decimal it prints as: no binary rounding error reaches the clock."""
    rng = random.Random(14131)
    for _ in range(20000):
        whole = rng.randrange(0, 10 ** rng.randrange(1, 7))    # up to 15 significant digits
        digits = rng.randrange(0, 10)
        text = f"{whole}.{rng.randrange(0, 10 ** digits):0{digits}d}" if digits else str(whole)
        assert seconds(float(text)) == seconds(text), text
    # the values the float clock got wrong: (x + 60) - x != 60 for many x; in ns it is exact
    for text in ("4.35", "0.1", "12.497412", "61.029"):
        t = seconds(text)
        assert (t + 60 * SECOND) - t == 60 * SECOND


@pytest.mark.parametrize("bad", ["nan", "NaN", "inf", "-Infinity", "abc", "", "1s", "0x10"])
def test_seconds_rejects_what_is_not_a_number_of_seconds(bad):
    with pytest.raises(ValueError):
        seconds(bad)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), Decimal("NaN"), Decimal("Infinity")])
def test_seconds_rejects_non_finite_values(bad):
    with pytest.raises(ValueError, match="finite"):
        seconds(bad)


@pytest.mark.parametrize("negative", [-1, -0.5, "-1", Decimal("-0.1"), Fraction(-1, 2)])
def test_seconds_rejects_a_negative_delay_unless_asked(negative):
    with pytest.raises(ValueError, match=">= 0"):
        seconds(negative)
    assert seconds(negative, allow_negative=True) < 0


@pytest.mark.parametrize("bad", [True, None, [1], b"1"])
def test_seconds_rejects_other_types(bad):
    with pytest.raises(TypeError):
        seconds(bad)


def test_display_conversions():
    assert to_seconds(1_500_000_000) == 1.5
    assert format_seconds(61 * SECOND) == "61.000000000"
    assert format_seconds(61 * SECOND + 29 * MS + 7) == "61.029000007"
    assert format_seconds(61 * SECOND + 29 * MS + 7, 3) == "61.029"
    assert format_seconds(SECOND - 1, 0) == "0"
    assert format_seconds(-1500 * MS, 1) == "-1.5"


# ---------------------------------------------------------------------------- the clock takes ints only

def test_the_clock_is_an_int_of_nanoseconds():
    sim = Simulator(0)
    assert sim.now == 0 and type(sim.now) is int
    sim.call_later(2500 * MS, int)
    sim.run_until_idle()
    assert sim.now == 2500 * MS and type(sim.now) is int
    sim.run_for(1)
    assert sim.now == 2500 * MS + 1


@pytest.mark.parametrize("call", [
    lambda sim: sim.call_at(1.5, int),
    lambda sim: sim.call_at(SECOND * 1.0, int),
    lambda sim: sim.call_later(0.5, int),
    lambda sim: sim.call_at(True, int),
    lambda sim: sim.call_at(Decimal(1), int),
    lambda sim: sim.run_until(2.0),
    lambda sim: sim.run_for(1.0),
    lambda sim: sim.run_while(lambda: True, 1.0),
    lambda sim: sim.run_until(lambda: True, 1.0),
    lambda sim: sim.run_until_idle(max_time=1.0),
])
def test_a_float_time_is_a_type_error_at_once(call):
    with pytest.raises(TypeError, match="int of nanoseconds"):
        call(Simulator(0))


def test_wires_take_int_bandwidths_and_delays():
    sim = Simulator(0)
    with pytest.raises(TypeError):
        SerialLink(sim, 8000, 0.5)
    with pytest.raises(TypeError):
        SerialLink(sim, 8000.0, 500 * MS)
    with pytest.raises(ValueError):
        SerialLink(sim, 0, 500 * MS)
    with pytest.raises(ValueError):
        EthernetSegment(sim, 10_000_000, -1)


# ---------------------------------------------------------------------------- progress guard

def test_a_callback_rearming_at_the_same_instant_is_an_emulator_fault():
    sim = Simulator(0, progress_bound=1000)

    class Spinner:
        def again(self):
            sim.call_at(sim.now, self.again)

    sim.call_at(7 * SECOND, Spinner().again)
    with pytest.raises(EmulatorFault) as caught:
        sim.run_until(10 * SECOND)
    fault = caught.value
    assert fault.component == "test_a_callback_rearming_at_the_same_instant_is_an_emulator_fault.<locals>.Spinner.again"
    assert fault.lab_time_ns == 7 * SECOND and sim.now == 7 * SECOND
    assert str(fault) == ("emulator fault: no progress at lab time 7.000000000 s: 1000 events at the same "
                          f"instant, last by {fault.component}")
    assert sim.errors == []           # not recorded as a callback error: the run stopped


def test_the_bound_counts_events_at_one_instant_only():
    sim = Simulator(0, progress_bound=5)
    seen = []
    for _ in range(5):                # exactly the bound at one instant: fine
        sim.call_at(SECOND, seen.append, 1)
    for i in range(100):              # any number of events at distinct instants: fine
        sim.call_at(2 * SECOND + i, seen.append, 2)
    sim.run_until_idle()
    assert len(seen) == 105
    sim.run_for(SECOND)
    for _ in range(6):                # one more than the bound at one instant: fault
        sim.call_soon(seen.append, 3)
    with pytest.raises(EmulatorFault, match="5 events at the same instant"):
        sim.run_until_idle()
    assert seen.count(3) == 5


@pytest.mark.parametrize("run", [
    lambda sim: sim.run_until(SECOND),
    lambda sim: sim.run_for(SECOND),
    lambda sim: sim.run_until_idle(),
    lambda sim: sim.run_while(lambda: True, SECOND),
    lambda sim: sim.run_until(lambda: False, SECOND),
    lambda sim: [sim.step() for _ in range(100)],
])
def test_every_way_of_running_stops_a_live_lock(run):
    sim = Simulator(0, progress_bound=50)

    def spin():
        sim.call_soon(spin)

    sim.call_at(10 * MS, spin)
    with pytest.raises(EmulatorFault) as caught:
        run(sim)
    assert caught.value.lab_time_ns == 10 * MS and caught.value.component.endswith("spin")


def test_a_fault_inside_a_callback_is_not_swallowed():
    sim = Simulator(0)

    def nested():
        raise EmulatorFault("no progress", "inner", sim.now, "test")

    sim.call_at(SECOND, nested)
    sim.call_at(2 * SECOND, int)
    with pytest.raises(EmulatorFault, match="inner"):
        sim.run_until(3 * SECOND)
    assert sim.errors == [] and sim.now == SECOND


def test_run_until_idle_without_end_is_an_emulator_fault():
    sim = Simulator(0)

    def tick():
        sim.call_later(SECOND, tick)

    sim.call_soon(tick)
    with pytest.raises(EmulatorFault, match="more than 100 events"):
        sim.run_until_idle(max_events=100)


def test_the_bound_is_checked_when_the_simulator_is_made():
    with pytest.raises(ValueError):
        Simulator(0, progress_bound=0)
