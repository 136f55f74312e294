"""Diffie-Hellman timings (not a test): python benchmarks/bench_dh.py

Prints microseconds per operation (median of several runs) for the paths
emulator.engines.ike.dh chooses between.  The machines are shared and noisy: compare
numbers from the same run.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator.engines.ike import dh  # noqa: E402


def us(fn, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e6


def measure_group(g: int, rng, row, rows: dict) -> None:
    """One Diffie-Hellman group's rows."""
    from cryptography.hazmat.primitives.asymmetric import dh as cdh

    grp = dh.get_group(g)
    x = rng.getrandbits(256) | 1 << 255
    peer = dh.keypair_from_private(g, rng.getrandbits(256) | 1 << 255, use_cryptography=False)
    pk = peer.public_bytes()
    row("pow keygen, 256-bit exponent", us(lambda: dh.keypair_from_private(g, x, use_cryptography=False)))
    mine = dh.keypair_from_private(g, x, use_cryptography=False)
    row("pow shared secret, 256-bit exponent", us(lambda: mine.shared_secret(pk)))
    full = rng.getrandbits(grp.prime.bit_length() - 1)
    row("pow g^x, full-size exponent", us(lambda: pow(2, full, grp.prime), 3))
    row("cryptography DHParameterNumbers(p, g).parameters()",
        us(lambda: cdh.DHParameterNumbers(grp.prime, 2).parameters(), 3))
    pn = cdh.DHParameterNumbers(grp.prime, 2)
    row("cryptography DHPrivateNumbers(x, ..).private_key()",
        us(lambda: cdh.DHPrivateNumbers(x, cdh.DHPublicNumbers(pow(2, x, grp.prime), pn)).private_key(), 3))
    row("cryptography PKCS#8 load of our x (keygen, module path)", us(lambda: dh._crypto_private(grp, x), 3))
    key = dh._crypto_private(grp, x)
    row("cryptography SPKI load of peer + exchange (module path)",
        us(lambda: dh._crypto_exchange(grp, key, peer.public), 3))
    row("cryptography DHPublicNumbers(y, pn).public_key()",
        us(lambda: cdh.DHPublicNumbers(peer.public, pn).public_key(), 3))
    params = pn.parameters()
    row("cryptography generate_private_key() (random x, not ours)", us(lambda: params.generate_private_key()))
    row("module: generate_keypair (chosen backend)", us(lambda: dh.generate_keypair(g, rng)))
    kp = dh.generate_keypair(g, rng)
    row("module: shared_secret (chosen backend)", us(lambda: kp.shared_secret(pk)))
    rows.setdefault("module backend", []).append(f"{kp.backend:>9s}")


def main() -> None:
    warnings.simplefilter("ignore")
    rng = random.Random(1)
    print(f"{'operation':58s} {'group 1':>9s} {'group 2':>9s} {'group 5':>9s}")
    rows: dict[str, list[str]] = {}

    def row(name: str, value: float | None) -> None:
        rows.setdefault(name, []).append("-" if value is None else f"{value:9.0f}")

    for g in (1, 2, 5):
        measure_group(g, rng, row, rows)

    for name, vals in rows.items():
        print(f"{name:58s} {' '.join(vals)}")
    print("(µs per operation, median)")


if __name__ == "__main__":
    main()
