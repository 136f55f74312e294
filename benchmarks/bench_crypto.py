"""IKE and tunnel benchmark, each figure with the bare cryptography it needs, measured in the same run.

    .venv/bin/python benchmarks/bench_crypto.py

1. IKE main mode + quick mode between the two routers of the document's lab
   (DH group 1): negotiations per second, and the ratio to the bare cost of
   the Diffie-Hellman and message cryptography both peers need.
2. Tunnelled echo round trips through the whole lab, and the ratio to the bare
   crypto a round trip needs (2 DES-CBC encryptions, 2 decryptions, 4
   HMAC-MD5-96, long-lived cipher objects).
Prints numbers; asserts nothing but that the work was done.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.ciphers import Cipher, modes  # noqa: E402

from emulator.cli.session import CliSession  # noqa: E402
from emulator.engines.esp_sa import TripleDES  # noqa: E402  (the emulator's own import of it)
from emulator.engines.ike import crypto as C  # noqa: E402
from emulator.engines.ike import dh as DH  # noqa: E402
from emulator.lab.labfile import Lab  # noqa: E402
from emulator.sim.clock import SECOND  # noqa: E402
from emulator.wire import isakmp as K  # noqa: E402

LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"


def negotiations_per_second(rounds: int = 100) -> float:
    lab = Lab.from_file(LAB)
    remote = CliSession(lab.device("dr_whoovie"), privileged=True, line="vty0")
    hub = CliSession(lab.device("sam-i-am"), privileged=True, line="vty0")
    remote.execute("ping 10.2.2.3 source 10.1.1.1 repeat 1")
    remote_router = lab.device("dr_whoovie")
    elapsed = 0.0
    for _ in range(rounds):
        for s in (remote, hub):
            s.execute("clear crypto sa")
            s.execute("clear crypto isakmp")
        lab.advance(1 * SECOND)
        start = time.perf_counter()
        # One echo from the remote's LAN address starts IKE; run until the SAs are up.
        remote.execute("ping 10.2.2.3 source 10.1.1.1 repeat 1 timeout 0")
        lab.sim.run_until(lambda: any(f.outbound for f in remote_router.crypto.flows()), 30 * SECOND)
        elapsed += time.perf_counter() - start
        assert any(f.outbound for f in remote_router.crypto.flows())
    return rounds / elapsed


def bare_negotiation_seconds(rounds: int = 100) -> float:
    """The cryptography of one main mode + quick mode for both peers, group 1, DES/MD5."""
    rng = random.Random(1)
    cipher = C.ike_cipher(K.ENC_DES_CBC)
    start = time.perf_counter()
    for _ in range(rounds):
        a, b = DH.generate_keypair(1, rng), DH.generate_keypair(1, rng)
        gxy_a, gxy_b = a.shared_secret(b.public_bytes()), b.shared_secret(a.public_bytes())
        ni, nr, ci, cr = rng.randbytes(16), rng.randbytes(16), rng.randbytes(8), rng.randbytes(8)
        keys = [C.phase1_keys_psk(K.HASH_MD5, cipher, b"secret", ni, nr, g, ci, cr) for g in (gxy_a, gxy_b)]
        for k in keys:
            # MM5, MM6, QM1, QM2, QM3 encrypted by one side and decrypted by the other, their hashes,
            # and the KEYMAT of two SAs.
            for _ in range(5):
                body = cipher.encrypt(k.enc_key, b"\0" * 8, b"x" * 80)
                cipher.decrypt(k.enc_key, b"\0" * 8, body)
                C.prf(K.HASH_MD5, k.skeyid_a, b"y" * 120)
            for _ in range(2):
                C.prf(K.HASH_MD5, k.skeyid_d, b"z" * 40)
    return (time.perf_counter() - start) / rounds


def echoes_per_second(count: int = 5000) -> float:
    lab = Lab.from_file(LAB)
    remote = CliSession(lab.device("dr_whoovie"), privileged=True, line="vty0")
    remote.execute("ping 10.2.2.3 source 10.1.1.1 repeat 2")
    start = time.perf_counter()
    out = remote.execute(f"ping 10.2.2.3 source 10.1.1.1 repeat {count} timeout 1")
    elapsed = time.perf_counter() - start
    assert f"({count}/{count})" in out, out[-300:]
    return count / elapsed


def bare_round_trip_seconds(rounds: int = 5000) -> float:
    """2 DES-CBC encryptions, 2 decryptions and 4 HMAC-MD5-96 of a 100-byte echo in ESP."""
    key = bytes(range(8)) * 3  # single DES as TripleDES with K1 = K2 = K3
    enc = Cipher(TripleDES(key), modes.CBC(b"\0" * 8)).encryptor()
    dec = Cipher(TripleDES(key), modes.CBC(b"\0" * 8)).decryptor()
    mac = hmac.new(b"k" * 16, digestmod=hashlib.md5)
    payload = b"p" * 104
    start = time.perf_counter()
    for _ in range(rounds):
        for _ in range(2):
            ct = enc.update(payload)
            dec.update(ct)
            for _ in range(2):
                m = mac.copy()
                m.update(ct)
                m.digest()[:12]
    return (time.perf_counter() - start) / rounds


def main() -> None:
    neg = [negotiations_per_second() for _ in range(3)]
    bare_neg = statistics.median(bare_negotiation_seconds() for _ in range(3))
    rate = statistics.median(neg)
    print(f"IKE main mode + quick mode (group 1) between the two routers: {rate:,.0f} negotiations per second "
          f"({1000 / rate:.2f} ms each; bare DH and message crypto {bare_neg * 1000:.2f} ms; "
          f"ratio {(1 / rate) / bare_neg:.1f})")
    echoes = [echoes_per_second() for _ in range(3)]
    bare_rt = statistics.median(bare_round_trip_seconds() for _ in range(3))
    erate = statistics.median(echoes)
    print(f"tunnelled echo round trips through the lab: {erate:,.0f} per second ({1e6 / erate:.0f} us each; "
          f"bare crypto {bare_rt * 1e6:.0f} us; ratio {(1 / erate) / bare_rt:.1f})")


if __name__ == "__main__":
    main()
