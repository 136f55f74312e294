"""Transit datagrams forwarded as bytes (``IPStack._forward_as_is``) leave exactly as the full pipeline
sends them: the same captures, byte for byte, and the same router output, with the shortcut on and off."""

import hashlib

from emulator.cli.session import CliSession
from emulator.device.ip import IPStack
from emulator.lab.labfile import Lab
from support import ROOT

LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"


def run(capture_dir):
    lab = Lab.from_file(LAB, capture_dir=capture_dir)
    remote = CliSession(lab.device("dr_whoovie"), privileged=True, line="vty0")
    host = CliSession(lab.device("remote-host"), privileged=True, line="vty0")
    hub = CliSession(lab.device("sam-i-am"), privileged=True, line="vty0")
    isp = CliSession(lab.device("isp"), privileged=True, line="vty0")
    out = [remote.execute("ping 10.2.2.3 source 10.1.1.1 repeat 20"),      # ESP across the isp
           remote.execute("ping 10.2.2.3 source 10.1.1.1 repeat 3 size 1800"),
           host.execute("ping 10.2.2.10 repeat 5"),
           host.execute("ping 192.0.2.10 repeat 5"),                         # NAT on the remote, transit on the isp
           host.execute("traceroute 192.0.2.10"),                            # TTL 1 and 2: errors, not shortcuts
           hub.execute("show crypto ipsec sa"), isp.execute("show interfaces"), isp.execute("show ip traffic")]
    lab.close()
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(capture_dir.iterdir())
             if p.suffix == ".pcap"}
    return out, files


def test_the_shortcut_sends_what_the_pipeline_sends(tmp_path, monkeypatch):
    taken = []
    original = IPStack._forward_as_is

    def counting(self, iface, data):
        done = original(self, iface, data)
        taken.append(done)
        return done

    monkeypatch.setattr(IPStack, "_forward_as_is", counting)
    fast = run(tmp_path / "fast")
    assert sum(taken) > 50                 # the isp forwarded the ESP and the translated echoes as bytes
    monkeypatch.setattr(IPStack, "_forward_as_is", lambda self, iface, data: False)
    slow = run(tmp_path / "slow")
    assert fast[1] and fast[1] == slow[1]
    assert fast[0] == slow[0]
