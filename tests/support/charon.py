"""strongSwan's charon as an IKEv1 peer of an emulated lab: configuration, a private run directory, the
LD_PRELOAD shim that acknowledges its kernel SA requests (tests/interop/xfrm_ack_shim.c), its log read
back (key hexdumps at ike/chd level 4)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import yaml

from emulator.cli.session import CliSession
from emulator.frontends.pacer import PacedLab
from emulator.lab.keylog import parse_key_log
from emulator.lab.labfile import Lab
from support import ROOT

CHARON = "/usr/lib/ipsec/charon"
DOC = ROOT / "fixtures" / "doc14131"
SHIM_SOURCE = ROOT / "tests" / "interop" / "xfrm_ack_shim.c"
# An explicit plugin list: what IKEv1 with pre-shared keys, DES (openssl), MD5 and MODP-768 need.
PLUGINS = "random nonce openssl md5 sha1 sha2 hmac pem pkcs1 x509 pubkey kernel-netlink socket-default vici"


def why_no_charon() -> str | None:
    """Why charon cannot run here, or None."""
    if not Path(CHARON).exists() or shutil.which("swanctl") is None:
        return "strongSwan is not installed (apt install strongswan-charon strongswan-swanctl " \
               "libstrongswan-standard-plugins)"
    if not Path("/usr/lib/ipsec/plugins/libstrongswan-openssl.so").exists():
        return "strongSwan's openssl plugin (DES) is missing: apt install libstrongswan-standard-plugins"
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is missing: charon needs a private /run"
    if shutil.which("cc") is None:
        return "no C compiler for the LD_PRELOAD shim (apt install gcc libc6-dev)"
    return None


def build_shim(directory: Path) -> Path:
    out = directory / "xfrm_ack_shim.so"
    done = subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(out), str(SHIM_SOURCE), "-ldl"],
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"the shim did not build: {done.stderr}")
    return out


class Charon:
    """One charon in network namespace ``netns``, with its own /run (a tmpfs in a mount namespace)."""

    def __init__(self, directory: Path, netns: str, swanctl_conf: str, *, retransmit_tries: int = 3,
                 retransmit_timeout: float = 2):
        self.dir = directory
        self.netns = netns
        self.log = directory / "charon.log"
        self.shim_log = directory / "xfrm_sas.log"
        self.vici = directory / "charon.vici"
        (directory / "swanctl.conf").write_text(swanctl_conf)
        swanctl = f"swanctl --load-all --file {directory / 'swanctl.conf'} --uri unix://{self.vici}"
        (directory / "strongswan.conf").write_text(f"""\
charon {{
  load = {PLUGINS}
  install_routes = no
  install_virtual_ip = no
  retransmit_tries = {retransmit_tries}
  retransmit_timeout = {retransmit_timeout}
  plugins {{
    vici {{
      socket = unix://{self.vici}
    }}
  }}
  start-scripts {{
    load = {swanctl}
  }}
  filelog {{
    log {{
      path = {self.log}
      default = 1
      ike = 4
      chd = 4
      cfg = 2
      knl = 2
      flush_line = yes
    }}
  }}
}}
""")
        self.shim = build_shim(directory)
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> "Charon":
        env = dict(os.environ, STRONGSWAN_CONF=str(self.dir / "strongswan.conf"), LD_PRELOAD=str(self.shim),
                   XFRM_SHIM_LOG=str(self.shim_log))
        script = f"mount -t tmpfs tmpfs /run && exec {CHARON}"
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.netns, "unshare", "-m", "sh", "-c", script],
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        return self

    def swanctl(self, *args: str, timeout: float = 20) -> str:
        done = subprocess.run(["ip", "netns", "exec", self.netns, "swanctl", *args, "--uri", f"unix://{self.vici}"],
                              capture_output=True, text=True, timeout=timeout)
        return done.stdout + done.stderr

    def load(self, swanctl_conf: str, name: str = "case") -> str:
        """Replace charon's connections and secrets by those of ``swanctl_conf``."""
        path = self.dir / f"swanctl-{name}.conf"
        path.write_text(swanctl_conf)
        return self.swanctl("--load-all", "--clear", "--file", str(path))

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_log(self, pattern: str, timeout: float) -> re.Match[str] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.text())
            if m:
                return m
            if self.proc is not None and self.proc.poll() is not None:
                break
            time.sleep(0.1)
        return re.search(pattern, self.text())

    def stop(self) -> str:
        out = ""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                out, _ = self.proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                out, _ = self.proc.communicate()
        return out or ""


_DUMP_LINE = re.compile(r"^\s*\S*\s*\S*\s*\d+: ((?:[0-9A-F]{2} ?)+)", re.M)


def hexdumps(log: str, label: str) -> list[bytes]:
    """Every ``LABEL => N bytes @ 0x...`` dump in charon's log, as bytes, in order."""
    out = []
    lines = log.splitlines()
    for i, line in enumerate(lines):
        m = re.search(re.escape(label) + r" => (\d+) bytes @", line)
        if not m:
            continue
        size, data = int(m.group(1)), b""
        for follow in lines[i + 1:]:
            d = re.search(r"\s(\d+): ((?:[0-9A-F]{2} )*[0-9A-F]{2})", follow)
            if not d or len(data) >= size:
                break
            data += bytes.fromhex(d.group(2))
        out.append(data[:size])
    return out


# ---------------------------------------------------------------- the document's peers, as charon plays them
def swanctl_remote(*, secret: str = "cisco123", proposals: str = "des-md5-modp768", esp: str = "des-md5",
                   local_ts: str = "10.1.1.0/24", remote_ts: str = "10.2.2.0/24", start: bool = True,
                   encap: bool = False) -> str:
    """charon as the document's remote (100.100.100.1) towards the hub 99.99.99.1; ``encap`` forces ESP
    in UDP (NAT-T) where the peer supports it."""
    return f"""\
connections {{
  hub {{
    version = 1
    local_addrs = 100.100.100.1
    remote_addrs = 99.99.99.1
    proposals = {proposals}
    encap = {"yes" if encap else "no"}
    mobike = no
    local {{
      auth = psk
      id = 100.100.100.1
    }}
    remote {{
      auth = psk
      id = 99.99.99.1
    }}
    children {{
      lan {{
        local_ts = {local_ts}
        remote_ts = {remote_ts}
        esp_proposals = {esp}
        {"start_action = start" if start else ""}
      }}
    }}
  }}
}}
secrets {{
  ike-hub {{
    id = 99.99.99.1
    secret = {secret}
  }}
}}
"""


def swanctl_hub(*, secret: str = "cisco123", proposals: str = "des-md5-modp768", esp: str = "des-md5",
                local_ts: str = "10.2.2.0/24", remote_ts: str = "10.1.1.0/24") -> str:
    """charon as the document's hub (99.99.99.1) answering any remote."""
    return f"""\
connections {{
  remotes {{
    version = 1
    local_addrs = 99.99.99.1
    remote_addrs = %any
    proposals = {proposals}
    encap = no
    mobike = no
    local {{
      auth = psk
      id = 99.99.99.1
    }}
    remote {{
      auth = psk
      id = %any
    }}
    children {{
      lan {{
        local_ts = {local_ts}
        remote_ts = {remote_ts}
        esp_proposals = {esp}
      }}
    }}
  }}
}}
secrets {{
  ike-remote {{
    id = 100.100.100.1
    secret = {secret}
  }}
}}
"""


def shim_sas(charon: Charon) -> dict[str, dict[str, str]]:
    """The SAs charon asked its kernel for (the shim's record), by SPI."""
    out = {}
    for line in charon.shim_log.read_text().splitlines() if charon.shim_log.exists() else []:
        kind, *fields = line.split()
        if kind in ("NEWSA", "UPDSA"):
            rec = dict(f.split("=", 1) for f in fields)
            out[rec["spi"]] = rec
    return out


def wait_loaded(charon: Charon, name: str, timeout: float = 15) -> bool:
    """charon has loaded connection ``name`` (its start script ran)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if charon.vici.exists() and f"{name}:" in charon.swanctl("--list-conns"):
            return True
        time.sleep(0.2)
    return f"{name}:" in charon.swanctl("--list-conns")


# ---------------------------------------------------------------- the lab's side
def run(paced: PacedLab, lab: Lab, device: str, *lines: str) -> str:
    out, _, _ = paced.run_lines(CliSession(lab.device(device), privileged=True), list(lines))
    return out


def hub_sas(paced: PacedLab, lab: Lab, device: str = "sam-i-am") -> tuple[list[str], list[str]]:
    """A device's (inbound, outbound) ESP SPIs as it shows them, lower-case hex."""
    text = run(paced, lab, device, "show crypto ipsec sa")
    inbound = text.split("inbound esp sas:")[1].split("inbound ah sas:")[0] if "inbound esp sas:" in text else ""
    outbound = text.split("outbound esp sas:")[1].split("outbound ah sas:")[0] if "outbound esp sas:" in text else ""
    spis = [re.findall(r"spi: 0x([0-9A-F]+)", part) for part in (inbound, outbound)]
    return [s.lower().zfill(8) for s in spis[0]], [s.lower().zfill(8) for s in spis[1]]


def sas_with(paced: PacedLab, lab: Lab, spis: set[str], device: str = "sam-i-am",
             timeout: float = 10) -> tuple[list[str], list[str]]:
    """``hub_sas`` once it shows all of ``spis`` (at most ``timeout`` seconds): charon, as quick mode
    initiator, says a CHILD_SA is established when it sends the last message, before the device has it."""
    deadline = time.monotonic() + timeout
    shown = hub_sas(paced, lab, device)
    while time.monotonic() < deadline and not spis <= set(shown[0] + shown[1]):
        time.sleep(0.1)
        shown = hub_sas(paced, lab, device)
    return shown


def key_log(lab: Lab) -> list[tuple[str, dict[str, str]]]:
    assert lab.capture is not None
    lab.capture.write_keys()
    return parse_key_log((lab.capture.directory / "ike_keys.log").read_text().splitlines())


def keys_agree(lab: Lab, log: str, charon: Charon, device: str, role: str, *, i_to_r: str,
               r_to_i: str) -> dict[str, dict[str, str]]:
    """Charon's level-4 log, the emulator's key log and what charon asked its kernel for hold the same
    keys: SKEYID..Ka of the IKE SA, and each ESP SA's keys (``i_to_r``: the SPI of the SA from the
    initiator to the responder; ``r_to_i``: the other). Returns the SAs charon asked its kernel for."""
    records = key_log(lab)
    (ike,) = [f for kind, f in records if kind == "IKE" and f["device"] == device]
    assert ike["role"] == role
    for label, name in (("SKEYID", "SKEYID"), ("SKEYID_d", "SKEYID_d"), ("SKEYID_a", "SKEYID_a"),
                        ("SKEYID_e", "SKEYID_e"), ("encryption key Ka", "Ka")):
        assert [d.hex() for d in hexdumps(log, label)] == [ike[name]], label
    esp = {f["SPI"]: f for kind, f in records if kind == "ESP"}
    (enc_i,), (enc_r,) = hexdumps(log, "encryption initiator key"), hexdumps(log, "encryption responder key")
    (int_i,), (int_r,) = hexdumps(log, "integrity initiator key"), hexdumps(log, "integrity responder key")
    # The emulator's SA towards the responder is outbound when it initiated, inbound when it answered.
    into, back = ("out", "in") if role == "initiator" else ("in", "out")
    assert (esp[i_to_r]["dir"], esp[i_to_r]["Ke"], esp[i_to_r]["Ki"]) == (into, enc_i.hex(), int_i.hex())
    assert (esp[r_to_i]["dir"], esp[r_to_i]["Ke"], esp[r_to_i]["Ki"]) == (back, enc_r.hex(), int_r.hex())
    kernel = shim_sas(charon)
    assert {spi: (k["enc"], k["enc_key"], k["auth_key"]) for spi, k in kernel.items()} == {
        i_to_r: ("des", enc_i.hex(), int_i.hex()), r_to_i: ("des", enc_r.hex(), int_r.hex())}
    return kernel


def _tun_lab(tmp_path: Path, router: str, role: str, host: str, cfg: str, external: dict) -> Lab:
    """One document router with ``cfg`` as its configuration and its LAN host, Serial0 the ``external``
    TUN port; captures in ``tmp_path/capture``."""
    (tmp_path / f"{router}.cfg").write_text(cfg)
    (tmp_path / "lab.yml").write_text(yaml.safe_dump({
        "seed": 14131,
        "devices": {router: {"config": str(tmp_path / f"{router}.cfg"), "role": role},
                    host: {"config": str(DOC / f"{host}.cfg")}},
        "links": [{"ethernet": [f"{router} Ethernet0", f"{host} Ethernet0"]}],
        "external": [{"port": f"{router} Serial0", **external}]}))
    return Lab.from_file(tmp_path / "lab.yml", capture_dir=tmp_path / "capture")


def _with_extra(cfg: str, before: str, extra: str) -> str:
    """``extra`` global configuration lines put in before the line starting ``before``."""
    return cfg.replace(before, f"{extra}\n{before}", 1) if extra else cfg


def remote_lab(tmp_path: Path, ns: str, dev: str, extra: str = "") -> Lab:
    """The emulated remote (and its LAN host), Serial0 a PPP TUN port into ``ns``; ``extra`` global
    configuration lines go in before its crypto map."""
    cfg = _with_extra((DOC / "dr_whoovie.cfg").read_text(), "crypto map rtp 1 ipsec-isakmp", extra)
    return _tun_lab(tmp_path, "dr_whoovie", "remote", "remote-host", cfg,
                    {"tun": dev, "netns": ns, "address": "100.100.100.2/24", "peer_address": "100.100.100.1"})


def hub_lab(tmp_path: Path, ns: str, dev: str, extra: str = "") -> Lab:
    """The emulated hub (and its LAN host), Serial0 an HDLC TUN port into ``ns``."""
    cfg = _with_extra((DOC / "sam-i-am.cfg").read_text(), "crypto dynamic-map rtpmap 10", extra)
    return _tun_lab(tmp_path, "sam-i-am", "hub", "hub-host", cfg,
                    {"tun": dev, "netns": ns, "address": "100.100.100.1/24"})


def wait_serial(paced: PacedLab, lab: Lab, device: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with paced.lock:
            if lab.device(device).protocol_up("Serial0"):
                return
        time.sleep(0.05)
    raise AssertionError(f"{device} Serial0 did not come up")


def console(paced: PacedLab, lab: Lab, device: str) -> str:
    """What the device's console showed (its log and debug lines)."""
    with paced.lock:
        return "\n".join(lab.device(device).log_buffer)


@dataclass
class Case:
    """One interop case: a document router on a TUN port into namespace ``ns``, its lab paced on the wall
    clock, and the charon it meets there. ``tried`` lines are printed, with the time taken, when it ends."""

    tmp_path: Path
    ns: str
    dev: str
    lab: Lab
    paced: PacedLab
    tried: list[str]
    started: float
    charon: Charon | None = None
    cleanups: list[Callable[[], Any]] = field(default_factory=list)    # run first when the case ends

    def start_charon(self, swanctl_conf: str, **options: Any) -> Charon:
        """charon in the namespace, its run directory ``tmp_path/charon``; stopped when the case ends."""
        (self.tmp_path / "charon").mkdir()
        self.charon = Charon(self.tmp_path / "charon", self.ns, swanctl_conf, **options).start()
        return self.charon


@contextmanager
def interop_case(tmp_path: Path, prefix: str, side: str, *, extra: str = "", speed: float = 1.0) -> Iterator[Case]:
    """The lab of the document's ``side`` ("hub" or "remote") with ``extra`` configuration lines, its TUN
    port ``<prefix><pid>`` in namespace ``<prefix>-<pid>``, paced at ``speed``; on leaving, whatever the
    test's outcome: the cleanups, charon, the pacer and the lab (which removes the namespace) are stopped."""
    started = time.monotonic()
    tag = os.getpid() % 100000
    ns, dev = f"{prefix}-{tag}", f"{prefix}{tag}"
    lab = (hub_lab if side == "hub" else remote_lab)(tmp_path, ns, dev, extra)
    case = Case(tmp_path, ns, dev, lab, PacedLab(lab, speed=speed).start(), [], started)
    try:
        yield case
    finally:
        try:
            for cleanup in case.cleanups:
                cleanup()
            if case.charon is not None:
                case.charon.stop()
        finally:
            case.paced.stop()
            lab.close()
            print("\n".join(case.tried), f"\ntook {time.monotonic() - started:.1f} s")
