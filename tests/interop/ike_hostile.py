"""A hostile IKE peer, run inside a network namespace against an emulated router's address: malformed
ISAKMP, a main mode first message with unknown and NAT-T vendor IDs, a datagram to the NAT-T port 4500,
a flood of first messages. Messages are built here from RFC 2408/2409 (no library of the project's).
Prints, as JSON, what came back for each, within bounded waits.

    ike_hostile.py TARGET FLOOD_COUNT

Its bytes and cookies come from a seeded generator: a run repeats exactly.
"""

from __future__ import annotations

import json
import random
import select
import socket
import struct
import sys
import time

NAT_T_RFC3947 = bytes.fromhex("4a131c81070358455c5728f20e95452f")    # MD5("RFC 3947")
NAT_T_DRAFT02 = bytes.fromhex("cd60464335df21f87cfdb2fc68b6a448")    # MD5("draft-ietf-ipsec-nat-t-ike-02")
UNKNOWN_VID = bytes.fromhex("0123456789abcdeffedcba9876543210")
SA, VID = 1, 13


def payload(next_type: int, body: bytes) -> bytes:
    return struct.pack("!BBH", next_type, 0, 4 + len(body)) + body


def mm1(icookie: bytes, vids: list[bytes]) -> bytes:
    """Main mode message 1: one proposal (DES, MD5, pre-shared key, group 1, a day), then ``vids``."""
    attrs = b"".join(struct.pack("!HH", 0x8000 | t, v) for t, v in ((1, 1), (2, 1), (3, 1), (4, 1), (11, 1)))
    attrs += struct.pack("!HHI", 12, 4, 86400)
    transform = struct.pack("!BBH", 0, 0, 8 + len(attrs)) + struct.pack("!BBH", 1, 1, 0) + attrs
    proposal = struct.pack("!BBHBBBB", 0, 0, 8 + len(transform), 1, 1, 0, 1) + transform
    body = payload(VID if vids else 0, struct.pack("!II", 1, 1) + proposal)
    for i, vid in enumerate(vids):
        body += payload(VID if i + 1 < len(vids) else 0, vid)
    return header(icookie, SA, 28 + len(body)) + body


def header(icookie: bytes, next_type: int, length: int, rcookie: bytes = bytes(8)) -> bytes:
    return icookie + rcookie + struct.pack("!BBBBII", next_type, 0x10, 2, 0, 0, length)


def replies(sock: socket.socket, wait: float) -> list[bytes]:
    out, end = [], time.monotonic() + wait
    while time.monotonic() < end:
        if not select.select([sock], [], [], max(0.0, end - time.monotonic()))[0]:
            break
        out.append(sock.recv(65535))
    return out


def payload_types(msg: bytes) -> list[int]:
    """The payload types of a clear ISAKMP message, in order (stops at anything inconsistent)."""
    types, nxt, off = [], msg[16], 28
    while nxt and off + 4 <= len(msg):
        types.append(nxt)
        nxt, length = msg[off], struct.unpack("!H", msg[off + 2:off + 4])[0]
        if length < 4:
            break
        off += length
    return types


def main() -> int:
    target, flood = sys.argv[1], int(sys.argv[2])
    rng = random.Random(14131)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", 500))
    result: dict[str, object] = {}
    cases = {
        "garbage": rng.randbytes(60),
        "short header": header(rng.randbytes(8), SA, 28)[:20],
        "length beyond datagram": header(rng.randbytes(8), SA, 400) + payload(0, bytes(8)),
        "payload length overruns": header(rng.randbytes(8), SA, 40) + struct.pack("!BBH", 0, 0, 200) + bytes(8),
        "unknown and NAT-T vendor IDs": mm1(rng.randbytes(8), [UNKNOWN_VID, NAT_T_RFC3947, NAT_T_DRAFT02]),
    }
    for name, data in cases.items():
        sock.sendto(data, (target, 500))
        got = replies(sock, 0.5)
        result[name] = [{"len": len(r), "types": payload_types(r), "icookie": r[:8].hex() == data[:8].hex()}
                        for r in got]
    # NAT-T's port: IOS 12.2 has no listener there.
    icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    nat_t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    nat_t.bind(("0.0.0.0", 4500))
    nat_t.sendto(bytes(4) + mm1(rng.randbytes(8), [NAT_T_RFC3947]), (target, 4500))
    answers = []
    for r in replies(icmp, 0.5) + replies(nat_t, 0.1):
        if len(r) >= 28 and r[9] == 1:
            ihl = (r[0] & 15) * 4
            answers.append({"icmp": [r[ihl], r[ihl + 1]], "from": socket.inet_ntoa(r[12:16])})
        else:
            answers.append({"udp": len(r)})
    result["port 4500"] = answers
    # A flood of first messages, each with its own cookie, bounded by count; what came back in 2 s.
    started = time.monotonic()
    cookies = [rng.randbytes(8) for _ in range(flood)]
    for c in cookies:
        sock.sendto(mm1(c, []), (target, 500))
    got = replies(sock, 2.0)
    answered = {r[:8] for r in got} & set(cookies)
    result["flood"] = {"sent": flood, "replies": len(got), "cookies answered": len(answered),
                       "seconds": round(time.monotonic() - started, 2)}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
