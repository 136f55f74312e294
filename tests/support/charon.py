"""strongSwan's charon as an IKEv1 peer of an emulated lab: configuration, a private run directory, the
LD_PRELOAD shim that acknowledges its kernel SA requests (tests/interop/xfrm_ack_shim.c), its log read
back (key hexdumps at ike/chd level 4)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from support import ROOT

CHARON = "/usr/lib/ipsec/charon"
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

    def __init__(self, directory: Path, netns: str, swanctl_conf: str):
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
  retransmit_tries = 3
  retransmit_timeout = 2
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
