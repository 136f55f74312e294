"""ESP: the packet format (wire) and the SAs that protect with it (engines):
round trips, scapy as the independent peer, ICV, replay, padding."""

from __future__ import annotations

import hmac
import random
import struct
import warnings

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from emulator.engines import esp_sa as E
from emulator.wire import esp as W
from emulator.wire.errors import DecodeError

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.ipsec import ESP, SecurityAssociation

SPI = 0x52456533
DES_KEY = bytes.fromhex("0123456789abcdef")
MD5_KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
OUTER = dict(src="99.99.99.1", dst="100.100.100.1")


def inner_packet(n: int = 0) -> bytes:
    """A 100-byte ICMP echo between the protected networks."""
    return bytes(IP(src="10.1.1.1", dst="10.2.2.2") / ICMP(id=1, seq=n) / (b"x" * 72))


def pair(cipher=E.ESP_DES, key=DES_KEY, auth=E.AUTH_HMAC_MD5, akey=MD5_KEY, window=E.REPLAY_WINDOW):
    return E.EspSA(SPI, cipher, key, auth, akey, window), E.EspSA(SPI, cipher, key, auth, akey, window)


def scapy_sa(crypt="DES", ckey=DES_KEY, auth="HMAC-MD5-96", akey=MD5_KEY):
    return SecurityAssociation(ESP, spi=SPI, crypt_algo=crypt, crypt_key=ckey, auth_algo=auth, auth_key=akey,
                               tunnel_header=IP(**OUTER))


CASES = [
    (E.ESP_DES, DES_KEY, E.AUTH_HMAC_MD5, MD5_KEY, "DES", "HMAC-MD5-96"),
    (E.ESP_3DES, bytes(range(24)), E.AUTH_HMAC_SHA, bytes(range(20)), "3DES", "HMAC-SHA1-96"),
    (E.ESP_AES, bytes(range(16)), E.AUTH_HMAC_SHA, bytes(range(20)), "AES-CBC", "HMAC-SHA1-96"),
    (E.ESP_AES, bytes(range(32)), E.AUTH_HMAC_MD5, MD5_KEY, "AES-CBC", "HMAC-MD5-96"),
]


@pytest.mark.parametrize("cipher,key,auth,akey,_c,_a", CASES)
def test_round_trip_and_layout(cipher, key, auth, akey, _c, _a):
    out, inb = pair(cipher, key, auth, akey)
    rng = random.Random(5)
    bs = E.CIPHERS[cipher].block_size
    for n in range(1, 6):
        pkt = inner_packet(n)[: 100 - n]  # vary the padding
        esp = out.protect(pkt, rng)
        assert esp[:8] == struct.pack("!II", SPI, n)
        assert (len(esp) - 8 - bs - 12) % bs == 0
        assert inb.unprotect(esp) == pkt
    assert out.packets == inb.packets == 5 and out.octets == inb.octets


def test_ciphertext_is_plain_cbc_with_the_drawn_iv():
    # the long-lived encryptor trick must equal a fresh CBC(IV) per packet
    out, _ = pair()
    rng, twin = random.Random(11), random.Random(11)
    for n in range(3):
        pkt = inner_packet(n)
        esp = out.protect(pkt, rng)
        iv = twin.randbytes(8)
        assert esp[8:16] == iv
        pad = (-(len(pkt) + 2)) % 8
        plain = pkt + bytes(range(1, pad + 1)) + bytes([pad, 4])
        want = Cipher(TripleDES(DES_KEY * 3), modes.CBC(iv)).encryptor().update(plain)
        assert esp[16:-12] == want


def test_deterministic_from_the_seed():
    a, _ = pair()
    b, _ = pair()
    assert a.protect(inner_packet(), random.Random(3)) == b.protect(inner_packet(), random.Random(3))


@pytest.mark.parametrize("cipher,key,auth,akey,scrypt,sauth", CASES)
def test_scapy_decrypts_ours(cipher, key, auth, akey, scrypt, sauth):
    out, _ = pair(cipher, key, auth, akey)
    rng = random.Random(1)
    sa = scapy_sa(scrypt, key, sauth, akey)
    for n in range(1, 3):
        inner = inner_packet(n)
        outer = IP(proto=50, **OUTER) / out.protect(inner, rng)
        pkt = IP(bytes(outer))  # a fresh copy: decrypt() changes its argument
        got = sa.decrypt(pkt)
        assert bytes(got) == inner


@pytest.mark.parametrize("cipher,key,auth,akey,scrypt,sauth", CASES)
def test_we_decrypt_scapys(cipher, key, auth, akey, scrypt, sauth):
    _, inb = pair(cipher, key, auth, akey)
    sa = scapy_sa(scrypt, key, sauth, akey)
    for n in range(1, 3):
        inner = inner_packet(n)
        enc = sa.encrypt(IP(inner))
        assert enc[IP].proto == 50 and enc[IP].src == OUTER["src"]
        assert inb.unprotect(bytes(enc[ESP])) == inner


def test_flipped_bit_fails_authentication_and_does_not_move_the_window():
    out, inb = pair()
    esp = bytearray(out.protect(inner_packet(), random.Random(2)))
    for pos in (5, 12, 40, len(esp) - 1):
        bad = bytearray(esp)
        bad[pos] ^= 0x01
        with pytest.raises(E.EspAuthError, match="authentication failed") as e:
            inb.unprotect(bytes(bad))
        assert isinstance(e.value, DecodeError)
    assert inb.highest_seq == 0 and inb.packets == 0
    assert inb.unprotect(bytes(esp)) == inner_packet()


def test_replayed_sequence_number_is_refused():
    out, inb = pair()
    rng = random.Random(3)
    first = out.protect(inner_packet(1), rng)
    inb.unprotect(first)
    with pytest.raises(E.EspReplayError, match="replayed packet"):
        inb.unprotect(first)


def test_window_advance_and_out_of_order_arrival():
    out, inb = pair()
    rng = random.Random(4)
    payload = inner_packet()
    pkts = {n: out.protect(payload, rng) for n in range(1, 201)}
    for n in (1, 3, 2, 100, 50, 37):  # out of order but inside the window
        inb.unprotect(pkts[n])
    assert inb.highest_seq == 100
    with pytest.raises(E.EspReplayError, match="left of the window"):
        inb.unprotect(pkts[36])  # 100 - 36 = 64: just outside a 64-packet window
    for n in (40, 99):
        inb.unprotect(pkts[n])
    with pytest.raises(E.EspReplayError, match="already received"):
        inb.unprotect(pkts[50])
    inb.unprotect(pkts[200])  # big jump: window slides
    assert inb.highest_seq == 200
    with pytest.raises(E.EspReplayError):
        inb.unprotect(pkts[136])
    inb.unprotect(pkts[137])  # 200 - 137 = 63: still inside
    inb.unprotect(pkts[199])


def test_sequence_zero_and_disabled_window():
    out, inb = pair(window=0)
    esp = out.protect(inner_packet(), random.Random(1))
    inb.unprotect(esp)
    inb.unprotect(esp)  # no anti-replay: accepted twice
    zero = E.EspSA(SPI, E.ESP_DES, DES_KEY, E.AUTH_HMAC_MD5, MD5_KEY)
    raw = bytearray(esp)
    raw[4:8] = bytes(4)
    with pytest.raises(E.EspReplayError):
        zero.unprotect(bytes(raw))


def _forge(plain: bytes, seq: int = 1) -> bytes:
    """ESP packet with an arbitrary (block-aligned) decrypted payload and a valid ICV."""
    iv = bytes(8)
    ct = Cipher(TripleDES(DES_KEY * 3), modes.CBC(iv)).encryptor().update(plain)
    body = struct.pack("!II", SPI, seq) + iv + ct
    return body + hmac.new(MD5_KEY, body, "md5").digest()[:12]


def test_bad_padding_and_other_errors():
    _, inb = pair()
    with pytest.raises(E.EspPaddingError, match="bad padding: pad length 20 exceeds"):
        inb.unprotect(_forge(b"A" * 14 + bytes([20, 4]), 1))
    with pytest.raises(E.EspPaddingError, match="not 1, 2, 3"):
        inb.unprotect(_forge(b"A" * 12 + bytes([1, 7, 2, 4]), 2))
    assert inb.unprotect(_forge(b"A" * 12 + bytes([1, 2, 2, 4]), 3)) == b"A" * 12
    with pytest.raises(E.EspError, match="next header 17"):
        inb.unprotect(_forge(b"A" * 14 + bytes([0, 17]), 4))
    assert inb.unprotect_any(_forge(b"A" * 14 + bytes([0, 17]), 5)) == (17, b"A" * 14)
    good = _forge(b"A" * 14 + bytes([0, 4]), 6)
    for n in range(len(good)):
        with pytest.raises(DecodeError):
            inb.unprotect(good[:n])
    other = E.EspSA(SPI + 1, E.ESP_DES, DES_KEY, E.AUTH_HMAC_MD5, MD5_KEY)
    with pytest.raises(E.EspError, match="SPI"):
        other.unprotect(good)


def test_null_cipher_and_no_authentication():
    out, inb = pair(E.ESP_NULL, b"", E.AUTH_HMAC_SHA, bytes(20))
    esp = out.protect(inner_packet(), random.Random(1))
    assert esp[8:108] == inner_packet() and (len(esp) - 8 - 12) % 4 == 0
    assert inb.unprotect(esp) == inner_packet()
    out, inb = pair(E.ESP_DES, DES_KEY, None, b"")
    esp = out.protect(inner_packet(), random.Random(1))
    assert inb.unprotect(esp) == inner_packet() and inb.replay_window == 0


def test_sequence_exhaustion_and_config_errors():
    out, _ = pair()
    out.seq = 0xFFFFFFFF
    with pytest.raises(E.SequenceExhausted):
        out.protect(b"x", random.Random(1))
    with pytest.raises(ValueError):
        E.EspSA(SPI, E.ESP_DES, bytes(7), E.AUTH_HMAC_MD5, MD5_KEY)
    with pytest.raises(ValueError):
        E.EspSA(SPI, E.ESP_DES, DES_KEY, E.AUTH_HMAC_MD5, bytes(20))
    assert W.key_sizes(E.ESP_DES, E.AUTH_HMAC_MD5) == (8, 16)
    assert W.key_sizes(E.ESP_AES, E.AUTH_HMAC_SHA, 256) == (32, 20)
    assert W.key_sizes(E.ESP_3DES, None) == (24, 0)


def test_wireshark_sa_row():
    sa = E.EspSA(SPI, E.ESP_DES, DES_KEY, E.AUTH_HMAC_MD5, MD5_KEY)
    assert sa.wireshark_sa("99.99.99.1", "100.100.100.1") == (
        '"IPv4","99.99.99.1","100.100.100.1","0x52456533","DES-CBC [RFC2405]","0x0123456789abcdef",'
        '"HMAC-MD5-96 [RFC2403]","0x00112233445566778899aabbccddeeff"')


def test_mutated_packets_raise_only_decode_error():
    out, _ = pair()
    rng = random.Random(2406)
    good = out.protect(inner_packet(), rng)
    for _ in range(500):
        inb = E.EspSA(SPI, E.ESP_DES, DES_KEY, E.AUTH_HMAC_MD5, MD5_KEY)
        data = bytearray(good)
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        with pytest.raises(DecodeError):
            inb.unprotect(bytes(data[: rng.choice([len(data), rng.randrange(len(data))])]))


# --- the packet format alone ---------------------------------------------------

def test_pad_and_unpad():
    for bs in (4, 8, 16):
        for n in range(40):
            payload = bytes(range(n))
            plain = W.pad(payload, bs, 4)
            assert len(plain) % bs == 0 and len(plain) - n - 2 < bs
            assert plain[n:-2] == bytes(range(1, len(plain) - n - 1))
            assert W.unpad(plain) == (4, payload)
    with pytest.raises(W.EspPaddingError, match="no room"):
        W.unpad(b"\x04")
    with pytest.raises(W.EspPaddingError, match="pad length 3 exceeds"):
        W.unpad(b"\x01\x03\x04")
    with pytest.raises(W.EspPaddingError, match="not 1, 2, 3"):
        W.unpad(b"ab\x01\x03\x02\x04")


@pytest.mark.parametrize("cipher,key,auth,akey,_c,_a", CASES)
def test_packet_fields_of_a_protected_packet(cipher, key, auth, akey, _c, _a):
    out, _ = pair(cipher, key, auth, akey)
    c, a = W.CIPHERS[cipher], W.AUTHS[auth]
    data = out.protect(inner_packet(), random.Random(3))
    pkt = W.EspPacket.decode(data, c.iv_size, a.icv_size, c.block_size)
    assert (pkt.spi, pkt.seq, len(pkt.iv), len(pkt.icv)) == (SPI, 1, c.iv_size, 12)
    assert pkt.encode() == data
    theirs = ESP(data)
    assert (theirs.spi, theirs.seq) == (pkt.spi, pkt.seq)
    assert theirs.data == pkt.iv + pkt.ciphertext + pkt.icv
    with pytest.raises(W.EspError, match="not a multiple"):
        W.EspPacket.decode(data[:-1], c.iv_size, a.icv_size, c.block_size)
    with pytest.raises(W.EspError, match="short packet"):
        W.decode_header(data[:8 + c.iv_size], c.iv_size, a.icv_size, c.block_size)
