"""An ESP peer made of scapy, run inside a network namespace: it takes the emulated router's ESP off a raw
socket, decrypts it with the keys of the lab's key log, answers each ICMP echo request with an echo reply
sent back in ESP, and prints (as JSON) what it saw and sent. Bounded: it stops after ``count`` echoes or
``timeout`` seconds.

    esp_peer.py '{"local": A, "peer": B, "rx": {"spi": N, "enc": HEX, "auth": HEX},
                  "tx": {"spi": N, "enc": HEX, "auth": HEX}, "count": N, "timeout": S}'

(DES-CBC with HMAC-MD5-96, the document's transform set.)
"""

from __future__ import annotations

import json
import select
import socket
import sys
import time

from scapy.layers.inet import ICMP, IP
from scapy.layers.ipsec import ESP, SecurityAssociation


def main() -> int:
    cfg = json.loads(sys.argv[1])
    tunnel = IP(src=cfg["local"], dst=cfg["peer"])
    rx = SecurityAssociation(ESP, spi=cfg["rx"]["spi"], crypt_algo="DES", crypt_key=bytes.fromhex(cfg["rx"]["enc"]),
                             auth_algo="HMAC-MD5-96", auth_key=bytes.fromhex(cfg["rx"]["auth"]),
                             tunnel_header=IP(src=cfg["peer"], dst=cfg["local"]))
    tx = SecurityAssociation(ESP, spi=cfg["tx"]["spi"], seq_num=1, crypt_algo="DES",
                             crypt_key=bytes.fromhex(cfg["tx"]["enc"]), auth_algo="HMAC-MD5-96",
                             auth_key=bytes.fromhex(cfg["tx"]["auth"]), tunnel_header=tunnel)
    # Warm up (scapy loads its ciphers on first use) with throw-away SAs of the same keys, so that the
    # first answer is not late for the echo's timeout.
    for spec in (cfg["rx"], cfg["tx"]):
        warm = SecurityAssociation(ESP, spi=spec["spi"], crypt_algo="DES", crypt_key=bytes.fromhex(spec["enc"]),
                                   auth_algo="HMAC-MD5-96", auth_key=bytes.fromhex(spec["auth"]),
                                   tunnel_header=tunnel)
        warm.decrypt(warm.encrypt(IP(src="192.0.2.1", dst="192.0.2.2") / ICMP()))
    listen = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ESP)    # a copy of each ESP packet
    send = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)      # our packets as built
    seen: list[dict] = []
    replied = 0
    print("ready", flush=True)
    end = time.monotonic() + cfg["timeout"]
    while time.monotonic() < end and replied < cfg["count"]:
        if not select.select([listen], [], [], max(0.0, end - time.monotonic()))[0]:
            break
        data = listen.recv(65535)
        pkt = IP(data)
        if pkt.src != cfg["peer"] or not pkt.haslayer(ESP) or pkt[ESP].spi != cfg["rx"]["spi"]:
            continue
        seq = pkt[ESP].seq
        try:
            inner = rx.decrypt(pkt)                     # checks the ICV first
        except Exception as err:                        # noqa: BLE001  (reported, not fatal)
            seen.append({"error": f"{type(err).__name__}: {err}"})
            continue
        entry = {"seq": seq, "src": inner.src, "dst": inner.dst,
                 "icmp": inner[ICMP].type if inner.haslayer(ICMP) else None}
        seen.append(entry)
        if entry["icmp"] == 8:
            echo = inner[ICMP]
            reply = IP(src=inner.dst, dst=inner.src, ttl=255) / ICMP(type=0, id=echo.id, seq=echo.seq) / \
                bytes(echo.payload)
            out = tx.encrypt(IP(bytes(reply)))
            send.sendto(bytes(out), (cfg["peer"], 0))
            replied += 1
    print(json.dumps({"seen": seen, "replied": replied}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
