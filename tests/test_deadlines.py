"""Timeouts and lifetimes at their exact deadline, one nanosecond before and one after.

Every wait must finish (the simulator raises EmulatorFault rather than spin),
and the state must be the one the deadline says: alive before it, gone (or
done) at it and after it.
"""

import random
import re
import subprocess
import sys

import pytest

from emulator.cli.session import CliSession
from emulator.engines.nat import NatEngine
from emulator.engines.ppp import LinkOpened, PPPConfig, PPPSession
from emulator.lab.labfile import Lab
from emulator.sim.binding import EngineBinding
from emulator.sim.clock import MS, SECOND, Simulator
from emulator.sim.wires import SerialLink
from emulator.wire import chdlc
from emulator.wire import ppp as w
from support import ROOT
from support.nat_packets import H1, NET1, S0, echo, remote_config

LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"
OFFSETS = [-1, 0, 1]      # ns from the deadline


def cli(lab, device):
    return CliSession(lab.device(device), privileged=True, line="vty0")


# ---------------------------------------------------------------------------- the reported live-lock

REPRO = "remote-host# ping 192.0.2.10\nwait 61\ndr_whoovie# show clock\ndr_whoovie# show ip nat translations\n"


def test_a_lab_idling_after_nat_traffic_finishes():
    """Once a spin at 100 % CPU: the NAT entry was alive at its own deadline, its timer re-armed there."""
    done = subprocess.run([sys.executable, "-m", "emulator", "run", "-"], input=REPRO, capture_output=True,
                          text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    # The ping (its echoes carry the routers' processing time), the step after it (1 s), wait 61.
    assert done.stdout.endswith("dr_whoovie#show clock\n*00:01:06.038 UTC Mon Mar 1 1993\n"
                                "dr_whoovie#show ip nat translations\n")   # the translation timed out
    assert "Success rate is 60 percent (3/5)" in done.stdout


def test_an_engine_that_never_moves_its_deadline_stops_a_script_with_a_fault(monkeypatch, tmp_path, capsys):
    from emulator.__main__ import main
    monkeypatch.setattr(NatEngine, "handle_timer", lambda self, now: None)   # broken: nothing expires
    script = tmp_path / "idle.script"
    script.write_text(REPRO)
    assert main(["run", str(script)]) == 3
    err = capsys.readouterr().err
    assert re.search(r"^error: emulator fault: no progress at lab time 64\.\d{9} s: 10000 events at the same "
                     r"instant, last by dr_whoovie NAT$", err, re.M), err


# ---------------------------------------------------------------------------- NAT translation timeouts

@pytest.mark.parametrize("offset", OFFSETS)
def test_nat_translation_at_its_timeout(offset):
    lab = Lab.from_file(LAB)
    assert "!!!" in cli(lab, "remote-host").execute("ping 192.0.2.10")
    router = lab.device("dr_whoovie")
    (entry,) = router.nat.entries
    deadline = entry.last_used + 60 * SECOND          # icmp-timeout
    assert router.nat_binding.deadline == deadline
    lab.advance(deadline + offset - lab.sim.now)
    assert (router.nat.entries == [entry]) is (offset < 0)
    assert router.nat.expired == (0 if offset < 0 else 1)
    assert lab.sim.errors == []


@pytest.mark.parametrize("offset", OFFSETS)
def test_configured_nat_timeout_at_its_deadline(offset):
    lab = Lab.from_file(LAB)
    remote = cli(lab, "dr_whoovie")
    remote.configure_lines(["ip nat translation icmp-timeout 7"])
    assert "!!!" in cli(lab, "remote-host").execute("ping 192.0.2.10")
    router = lab.device("dr_whoovie")
    (entry,) = router.nat.entries
    deadline = entry.last_used + 7 * SECOND
    assert router.nat_binding.deadline == deadline
    lab.advance(deadline + offset - lab.sim.now)
    assert len(router.nat.entries) == (1 if offset < 0 else 0)


def test_nat_deadlines_are_exact_for_any_last_use():
    """The float clock failed for ~13 % of last-use times; with ns every one expires at its deadline."""
    rng = random.Random(61)
    sim = Simulator(0)
    nat = NatEngine(remote_config(), {"Serial0": S0}.get, now=0)
    binding = EngineBinding(sim, nat, name="NAT")
    expiries = []
    for n in range(300):
        sim.run_until(sim.now + rng.randrange(1, 10 ** rng.randrange(1, 11)))
        before = nat.expired
        assert nat.inside_to_outside(echo(H1, NET1, ident=n + 1), "Ethernet0", "Serial0", sim.now).translated
        binding.poke()
        expiries.append(sim.now + 60 * SECOND)
        assert nat.expired >= before
    end = expiries[-1]
    sim.run_until(end - 1)
    assert len(nat.entries) == 1 and nat.next_expiry() == end
    sim.run_until(end)
    assert nat.entries == [] and nat.expired == 300 and binding.deadline is None and sim.pending() == 0


# ---------------------------------------------------------------------------- IPsec SA lifetime

@pytest.mark.parametrize("offset", OFFSETS)
def test_ipsec_sa_at_its_lifetime(offset):
    lab = Lab.from_file(LAB)
    assert "!!!!" in cli(lab, "dr_whoovie").execute("ping 10.2.2.3 source 10.1.1.1")
    hub = lab.device("sam-i-am")
    sa_in = hub.crypto.flows()[0].inbound[0]
    assert sa_in.expires_at == sa_in.created + 3600 * SECOND
    lab.advance(sa_in.expires_at + offset - lab.sim.now)
    assert (sa_in in hub.crypto.sas()) is (offset < 0)
    if offset < 0:
        assert sa_in.remaining_seconds(lab.sim.now) == 0 and not sa_in.expired(lab.sim.now)
    else:
        assert sa_in.expired(lab.sim.now)
    assert lab.sim.errors == [] and hub.crypto.errors == []


# ---------------------------------------------------------------------------- IKE SA lifetime

@pytest.mark.parametrize("offset", OFFSETS)
def test_ike_sa_at_its_lifetime(offset):
    lab = Lab.from_file(LAB)
    for device in ("dr_whoovie", "sam-i-am"):
        cli(lab, device).configure_lines(["crypto isakmp policy 1", "lifetime 60"])
    remote = lab.device("dr_whoovie")
    assert "!!!!" in cli(lab, "dr_whoovie").execute("ping 10.2.2.3 source 10.1.1.1")
    (ike,) = remote.crypto.ike.sas()
    assert ike.expires_at == ike.established_at + 60 * SECOND
    lab.advance(ike.expires_at + offset - lab.sim.now)
    assert (remote.crypto.ike.sas() == [ike]) is (offset < 0)
    assert lab.sim.errors == []


# ---------------------------------------------------------------------------- PPP restart timer and keepalives

def lone_ppp_session():
    """A PPP session whose peer never answers, on a serial link: Configure-Requests every restart interval."""
    sim = Simulator(3)
    link = SerialLink(sim, 64_000, 5 * MS)
    sent = []
    link.taps.append(lambda t, direction, frame: sent.append(t))
    session = PPPSession(PPPConfig(), sim.rng("ppp"), sim.now)
    binding = EngineBinding(sim, session, transmit=link.a.send, on_event=lambda e: None, name="PPP")
    sim.run_until(SECOND)
    session.lower_up(sim.now)
    session.admin_open(sim.now)
    binding.poke()
    return sim, sent


@pytest.mark.parametrize("offset", OFFSETS)
def test_ppp_restart_timer_at_its_interval(offset):
    sim, sent = lone_ppp_session()
    assert sent == [SECOND]
    sim.run_until(SECOND + 2 * SECOND + offset)     # IOS restart timer: 2 s
    assert sent == ([SECOND] if offset < 0 else [SECOND, 3 * SECOND])


def ppp_pair():
    sim = Simulator(4)
    link = SerialLink(sim, 64_000, 5 * MS)
    echoes = []

    def tap(t, direction, frame):
        f = w.decode_frame(frame)
        if f.protocol == w.PPP_LCP and f.information[0] == w.ECHO_REQUEST and direction == "a->b":
            echoes.append(t)

    link.taps.append(tap)
    opened = []       # when a's LCP opened (its keepalive period starts then)

    def a_event(event):
        if isinstance(event, LinkOpened):
            opened.append(sim.now)

    sessions = {}
    for name, end, cfg, on_event in (("a", link.a, PPPConfig(local_address="10.0.0.1"), a_event),
                                     ("b", link.b, PPPConfig(local_address="10.0.0.2"), lambda e: None)):
        s = sessions[name] = PPPSession(cfg, sim.rng(name), sim.now)
        b = EngineBinding(sim, s, transmit=end.send, on_event=on_event, name=name)

        def rx(frame, s=s, b=b):
            s.receive_frame(frame, sim.now)
            b.poke()
        end.receiver = rx
        s.lower_up(sim.now)
        s.admin_open(sim.now)
        b.poke()
    assert sim.run_until(lambda: sessions["a"].ipcp_open and sessions["b"].ipcp_open, 5 * SECOND)
    return sim, opened[0], echoes


@pytest.mark.parametrize("offset", OFFSETS)
def test_ppp_keepalive_at_its_interval(offset):
    sim, opened, echoes = ppp_pair()
    assert echoes == []
    sim.run_until(opened + 10 * SECOND + offset)    # keepalive 10
    assert echoes == ([] if offset < 0 else [opened + 10 * SECOND])
    sim.run_until(opened + 60 * SECOND)
    assert echoes == [opened + n * 10 * SECOND for n in range(1, 7)]


# ---------------------------------------------------------------------------- HDLC keepalives

@pytest.mark.parametrize("offset", OFFSETS)
def test_hdlc_keepalive_at_its_interval(offset):
    lab = Lab.from_file(LAB)
    (link,) = [link for spec, link in lab.serial_links if ("sam-i-am", "Serial0") in spec.ports]
    slarp = []
    link.taps.append(lambda t, direction, frame: slarp.append(t) if direction.startswith("sam-i-am")
                     and chdlc.CHDLCFrame.decode(frame[:-2]).protocol == chdlc.PROTO_SLARP else None)
    lab.advance(10 * SECOND)
    (last,) = slarp
    lab.advance(last + 10 * SECOND + offset - lab.sim.now)
    assert slarp == ([last] if offset < 0 else [last, last + 10 * SECOND])
    lab.advance(60 * SECOND)
    assert {b - a for a, b in zip(slarp, slarp[1:], strict=False)} == {10 * SECOND}
