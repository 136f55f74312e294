"""ESP timings (not a test): python benchmarks/bench_esp.py

Prints microseconds per protect + unprotect of a 100-byte ICMP echo, for the
tuned EspSA path and, in the same run, a naive per-packet-context version and
scapy's SecurityAssociation (the machines are noisy: compare ratios).
"""

from __future__ import annotations

import hmac
import random
import struct
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES  # noqa: E402
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402

from emulator.engines import esp_sa as E  # noqa: E402

SPI = 0x1001
CASES = [
    ("DES-CBC + HMAC-MD5-96", E.ESP_DES, bytes(range(8)), E.AUTH_HMAC_MD5, bytes(range(16)), "DES", "HMAC-MD5-96"),
    ("3DES-CBC + HMAC-SHA1-96", E.ESP_3DES, bytes(range(24)), E.AUTH_HMAC_SHA, bytes(range(20)), "3DES",
     "HMAC-SHA1-96"),
    ("AES-128-CBC + HMAC-SHA1-96", E.ESP_AES, bytes(range(16)), E.AUTH_HMAC_SHA, bytes(range(20)), "AES-CBC",
     "HMAC-SHA1-96"),
]


def per_op(fn, n: int) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best * 1e6


def naive_pair(cipher: int, key: bytes, auth: int, akey: bytes):
    """Same wire format, new cipher context and HMAC object per packet."""
    bs = E.CIPHERS[cipher].block_size
    algo = (lambda: TripleDES(key * 3)) if cipher == E.ESP_DES else (
        (lambda: TripleDES(key)) if cipher == E.ESP_3DES else (lambda: algorithms.AES(key)))
    dig = E.AUTHS[auth].digest
    seq = [0]

    def protect(inner: bytes, rng: random.Random) -> bytes:
        seq[0] += 1
        pad = (-(len(inner) + 2)) % bs
        plain = inner + bytes(range(1, pad + 1)) + bytes((pad, 4))
        iv = rng.randbytes(bs)
        body = struct.pack("!II", SPI, seq[0]) + iv + Cipher(algo(), modes.CBC(iv)).encryptor().update(plain)
        return body + hmac.new(akey, body, dig).digest()[:12]

    def unprotect(data: bytes) -> bytes:
        if not hmac.compare_digest(hmac.new(akey, data[:-12], dig).digest()[:12], data[-12:]):
            raise ValueError("icv")
        plain = Cipher(algo(), modes.CBC(data[8:8 + bs])).decryptor().update(data[8 + bs:-12])
        return plain[:len(plain) - 2 - plain[-2]]

    return protect, unprotect


def measure_case(case: tuple, inner: bytes, rng: random.Random) -> None:
    """One transform's row: the project's EspSA, a naive per-packet version, scapy."""
    from scapy.layers.inet import IP
    from scapy.layers.ipsec import ESP, SecurityAssociation

    name, c, k, a, ak, sc, sa_ = case
    out, inb = E.EspSA(SPI, c, k, a, ak), E.EspSA(SPI, c, k, a, ak, replay_window=0)
    tuned = per_op(lambda: inb.unprotect(out.protect(inner, rng)), 20000)
    p, u = naive_pair(c, k, a, ak)
    assert u(p(inner, rng)) == inner
    naive = per_op(lambda: u(p(inner, rng)), 20000)
    ssa = SecurityAssociation(ESP, spi=SPI, crypt_algo=sc, crypt_key=k, auth_algo=sa_, auth_key=ak,
                              tunnel_header=IP(src="192.0.2.1", dst="192.0.2.2"))
    pkt = IP(inner)
    scapy = per_op(lambda: ssa.decrypt(ssa.encrypt(pkt)), 100)
    print(f"{name:44s} {tuned:8.1f} {naive:8.1f} {naive / tuned:6.2f} {scapy:8.0f}")


def main() -> None:
    warnings.simplefilter("ignore")
    from scapy.layers.inet import ICMP, IP

    inner = bytes(IP(src="10.1.1.1", dst="10.2.2.2") / ICMP() / (b"x" * 72))
    assert len(inner) == 100
    rng = random.Random(1)
    print(f"{'µs per protect + unprotect, 100-byte ICMP':44s} {'EspSA':>8s} {'naive':>8s} {'ratio':>6s} {'scapy':>8s}")
    for case in CASES:
        measure_case(case, inner, rng)

    out = E.EspSA(SPI, E.ESP_DES, bytes(8), E.AUTH_HMAC_MD5, bytes(16))
    inb = E.EspSA(SPI, E.ESP_DES, bytes(8), E.AUTH_HMAC_MD5, bytes(16), replay_window=0)
    pkts = [out.protect(inner, rng) for _ in range(1000)]
    it = iter(range(10**9))
    prot = per_op(lambda: out.protect(inner, rng), 20000)
    unp = per_op(lambda: inb.unprotect(pkts[next(it) % 1000]), 20000)
    print(f"DES + HMAC-MD5-96 alone: protect {prot:.1f} µs, unprotect {unp:.1f} µs")


if __name__ == "__main__":
    main()
