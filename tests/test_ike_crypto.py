"""IKEv1 key material (RFC 2409 §5, Appendix B) and MODP Diffie-Hellman.

RFC 2409 has no test vectors: most known answers here recompute each formula
step by step with the standard library (hmac, hashlib, pow), an independent
code path; the SKEYID_d/a/e derivation is also checked against NIST CAVP.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import struct

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from emulator.engines.ike import crypto as C
from emulator.engines.ike import dh
from emulator.wire import isakmp as K
from emulator.wire.errors import DecodeError

CKY_I = bytes.fromhex("f3f084c246b3fcd9")
CKY_R = bytes.fromhex("df3e69b63ea74a17")
NI = bytes(range(1, 21))
NR = bytes(range(101, 121))
PSK = b"cisco123"
GXI = bytes([0x11]) * 96
GXR = bytes([0x22]) * 96
GXY = bytes([0x33]) * 96


def H(name: str, key: bytes, *parts: bytes) -> bytes:
    return hmac.new(key, b"".join(parts), name).digest()


# --- phase 1 keys ------------------------------------------------------------------

def test_nist_cavp_skeyid_d_a_e_sha1():
    # NIST CAVP SP 800-135 component test vectors, IKEv1 (ikev1.zip, digital
    # signature authentication, SHA-1, first case): SKEYID = prf(Ni_b | Nr_b, g^xy)
    # for signatures (RFC 2409 §5); SKEYID_d/a/e use the same formulas as PSK.
    h = bytes.fromhex
    cky_i, cky_r = h("382e5c8b0a3fa307"), h("ba4b7616700a2413")
    ni, nr = h("ced5635da6796075"), h("6244b427712fb776")
    gxy = h("2a2e0bbe8da3657a83f3d35826e49e2d38e557e912a1b9e6c30c63577b3eab715466202862027f2c26f309074355557961"
            "1771db0b92bef93834432a3a7762fc8a0f4889fd281d6082770d10a40d7bad61e832f041e620d6787e7f62ab2861ddfbe272"
            "e0d9d3cdec5f1bbf750e24b8b32d6d714968ad69ce5086c32ad2742ebc")
    skeyid = C.prf(K.HASH_SHA, ni + nr, gxy)
    assert skeyid == h("dc37ac99de6dcfbd1ee74af7fb36f9b4b0a7829d")
    keys = C.derive_phase1_keys(K.HASH_SHA, C.DES3_CBC, skeyid, gxy, cky_i, cky_r)
    assert keys.skeyid_d == h("486293ed547adb562cefdaf43d3d8457b196f2b6")
    assert keys.skeyid_a == h("f4053b5ca07e59bb41b8f401037ca90b72b3917e")
    assert keys.skeyid_e == h("49a1d53a80fb77e663552964fbbcb45092021473")


@pytest.mark.parametrize("hash_alg,name", [(K.HASH_MD5, "md5"), (K.HASH_SHA, "sha1")])
def test_phase1_psk_keys_step_by_step(hash_alg, name):
    keys = C.phase1_keys_psk(hash_alg, C.DES_CBC, PSK, NI, NR, GXY, CKY_I, CKY_R)
    skeyid = H(name, PSK, NI, NR)
    d = H(name, skeyid, GXY, CKY_I, CKY_R, b"\x00")
    a = H(name, skeyid, d, GXY, CKY_I, CKY_R, b"\x01")
    e = H(name, skeyid, a, GXY, CKY_I, CKY_R, b"\x02")
    assert (keys.skeyid, keys.skeyid_d, keys.skeyid_a, keys.skeyid_e) == (skeyid, d, a, e)
    assert keys.enc_key == e[:8]  # DES: SKEYID_e is long enough, truncated
    assert keys.wireshark_row(CKY_I) == "f3f084c246b3fcd9," + e[:8].hex()


@pytest.mark.parametrize("hash_alg,name,cipher", [
    (K.HASH_MD5, "md5", C.DES3_CBC),     # 16 -> 24 bytes
    (K.HASH_SHA, "sha1", C.DES3_CBC),    # 20 -> 24
    (K.HASH_SHA, "sha1", C.AES256_CBC),  # 20 -> 32
    (K.HASH_MD5, "md5", C.AES192_CBC),   # 16 -> 24
])
def test_encryption_key_extension_appendix_b(hash_alg, name, cipher):
    keys = C.phase1_keys_psk(hash_alg, cipher, PSK, NI, NR, GXY, CKY_I, CKY_R)
    e = keys.skeyid_e
    k1 = H(name, e, b"\x00")
    k2 = H(name, e, k1)
    assert keys.enc_key == (k1 + k2)[:cipher.key_size]


def test_aes_128_key_is_truncated_skeyid_e():
    keys = C.phase1_keys_psk(K.HASH_SHA, C.ike_cipher(K.ENC_AES_CBC, 128), PSK, NI, NR, GXY, CKY_I, CKY_R)
    assert keys.enc_key == keys.skeyid_e[:16]
    assert C.ike_cipher(K.ENC_AES_CBC) is C.AES128_CBC
    assert C.ike_cipher(K.ENC_AES_CBC, 256) is C.AES256_CBC
    with pytest.raises(ValueError):
        C.ike_cipher(K.ENC_AES_CBC, 100)
    with pytest.raises(ValueError):
        C.ike_cipher(K.ENC_IDEA_CBC)


def test_hash_i_and_hash_r():
    sai_b = bytes.fromhex("0000000100000001") + b"proposals"
    idii_b = K.IDPayload.ipv4_address("192.0.2.1", 17, 500).encode_body()
    idir_b = K.IDPayload.ipv4_address("192.0.2.2", 17, 500).encode_body()
    skeyid = H("md5", PSK, NI, NR)
    assert C.hash_i(K.HASH_MD5, skeyid, GXI, GXR, CKY_I, CKY_R, sai_b, idii_b) == \
        H("md5", skeyid, GXI, GXR, CKY_I, CKY_R, sai_b, idii_b)
    assert C.hash_r(K.HASH_MD5, skeyid, GXI, GXR, CKY_I, CKY_R, sai_b, idir_b) == \
        H("md5", skeyid, GXR, GXI, CKY_R, CKY_I, sai_b, idir_b)


# --- IVs and encryption ----------------------------------------------------------------

def des_cbc(key: bytes, iv: bytes, data: bytes, decrypt: bool = False) -> bytes:
    c = Cipher(TripleDES(key * 3), modes.CBC(iv))
    return (c.decryptor() if decrypt else c.encryptor()).update(data)


def test_iv_chaining_main_mode_then_quick_modes():
    keys = C.phase1_keys_psk(K.HASH_MD5, C.DES_CBC, PSK, NI, NR, GXY, CKY_I, CKY_R)
    ini = C.IkeCipherState.from_keys(keys, GXI, GXR)
    res = C.IkeCipherState.from_keys(keys, GXI, GXR)
    key = keys.enc_key

    # main mode 5: IV = MD5(g^xi | g^xr)[:8]
    iv5 = hashlib.md5(GXI + GXR).digest()[:8]
    assert ini.iv(0) == iv5
    m5 = b"message five payloads"  # 21 bytes -> 24 with 3 zero bytes
    c5 = ini.encrypt(0, m5)
    assert c5 == des_cbc(key, iv5, m5 + bytes(3))
    assert res.decrypt(0, c5) == m5 + bytes(3)
    # main mode 6: IV = last ciphertext block of message 5
    assert ini.iv(0) == res.iv(0) == c5[-8:]
    m6 = b"message six!" * 2  # 24 bytes: no padding added
    c6 = res.encrypt(0, m6)
    assert c6 == des_cbc(key, c5[-8:], m6)
    assert ini.decrypt(0, c6) == m6
    assert ini.phase1_last_block == c6[-8:]

    # quick mode: IV = MD5(last phase 1 block | M-ID)[:8], then chaining inside the exchange
    mid = 0x1A2B3C4D
    qiv1 = hashlib.md5(c6[-8:] + struct.pack("!I", mid)).digest()[:8]
    assert ini.iv(mid) == qiv1
    q1 = ini.encrypt(mid, b"Q" * 40)
    assert q1 == des_cbc(key, qiv1, b"Q" * 40)
    assert res.decrypt(mid, q1) == b"Q" * 40
    q2 = res.encrypt(mid, b"R" * 16)
    assert q2 == des_cbc(key, q1[-8:], b"R" * 16)
    assert ini.decrypt(mid, q2) == b"R" * 16
    q3 = ini.encrypt(mid, b"S" * 8)
    assert q3 == des_cbc(key, q2[-8:], b"S" * 8)

    # a second exchange (e.g. informational) starts again from the phase 1 block
    mid2 = 0x01020304
    assert res.iv(mid2) == hashlib.md5(c6[-8:] + struct.pack("!I", mid2)).digest()[:8]
    assert ini.phase1_last_block == c6[-8:]  # phase 2 traffic does not move it

    ini.forget(mid)
    assert ini.iv(mid) == qiv1  # recomputed from scratch after forget


def test_decrypt_without_update_and_bad_lengths():
    st = C.IkeCipherState(K.HASH_SHA, C.AES128_CBC, bytes(16), GXI, GXR)
    iv0 = st.iv(0)
    assert iv0 == hashlib.sha1(GXI + GXR).digest()[:16]
    ct = Cipher(algorithms.AES(bytes(16)), modes.CBC(iv0)).encryptor().update(bytes(32))
    assert st.decrypt(0, ct, update=False) == bytes(32)
    assert st.iv(0) == iv0
    for bad in (b"", bytes(15), bytes(17)):
        with pytest.raises(DecodeError, match="multiple of the 16-byte block"):
            st.decrypt(0, bad)
    assert C.pad_zero(b"abc", 8) == b"abc" + bytes(5)
    assert C.pad_zero(bytes(16), 16) == bytes(16)


def test_encrypted_message_round_trip_through_codec():
    keys = C.phase1_keys_psk(K.HASH_MD5, C.DES3_CBC, PSK, NI, NR, GXY, CKY_I, CKY_R)
    ini = C.IkeCipherState.from_keys(keys, GXI, GXR)
    res = C.IkeCipherState.from_keys(keys, GXI, GXR)
    idii = K.IDPayload.ipv4_address("192.0.2.1", 17, 500)
    sai_b = K.SAPayload([K.Proposal(1, K.PROTO_ISAKMP, b"", [K.Transform(1, K.KEY_IKE)])]).encode_body()
    hi = C.hash_i(K.HASH_MD5, keys.skeyid, GXI, GXR, CKY_I, CKY_R, sai_b, idii.encode_body())
    msg = K.IsakmpMessage(CKY_I, CKY_R, K.EXCH_MAIN_MODE, [idii, K.HashPayload(hi)], flags=K.FLAG_ENCRYPTION)
    wire = msg.encode(encrypt=lambda pt: ini.encrypt(0, pt))
    got = K.IsakmpMessage.decode(wire)
    assert len(got.encrypted_body) % 8 == 0
    rid, rhash = got.open(lambda ct: res.decrypt(0, ct))
    assert C.hash_i(K.HASH_MD5, keys.skeyid, GXI, GXR, CKY_I, CKY_R, sai_b, rid.wire_body()) == rhash.data
    assert res.iv(0) == ini.iv(0) == wire[-8:]


# --- phase 2 -----------------------------------------------------------------------------

def test_quick_mode_and_informational_hashes():
    ska = bytes(range(16))
    mid = 0xDEADBEEF
    mid_b = bytes.fromhex("deadbeef")
    sa = K.SAPayload([K.Proposal(1, K.PROTO_IPSEC_ESP, b"\x00\x00\x10\x01", [K.Transform(1, K.ESP_DES)])])
    ni, nr = K.NoncePayload(NI), K.NoncePayload(NR)
    idci, idcr = K.IDPayload.ipv4_subnet("10.1.1.0/24"), K.IDPayload.ipv4_subnet("10.2.2.0/24")
    after1 = K.encode_payloads([sa, ni, idci, idcr])
    # the generic headers are part of what is hashed
    assert after1[:4] == struct.pack("!BBH", K.PT_NONCE, 0, 4 + len(sa.encode_body()))
    assert C.qm_hash1(K.HASH_MD5, ska, mid, after1) == H("md5", ska, mid_b, after1)
    after2 = K.encode_payloads([sa, nr, idci, idcr])
    assert C.qm_hash2(K.HASH_MD5, ska, mid, NI, after2) == H("md5", ska, mid_b, NI, after2)
    assert C.qm_hash3(K.HASH_SHA, ska, mid, NI, NR) == H("sha1", ska, b"\x00", mid_b, NI, NR)
    dele = K.encode_payloads([K.DeletePayload(K.PROTO_IPSEC_ESP, [b"\x00\x00\x10\x01"])])
    assert C.informational_hash(K.HASH_MD5, ska, mid, dele) == H("md5", ska, mid_b, dele)

    # a received quick mode message 1: hash over the payloads as received, padding excluded
    body = K.encode_payloads([K.HashPayload(bytes(16)), sa, ni, idci, idcr]) + bytes(5)
    pl = K.decode_payloads(K.PT_HASH, body)
    assert K.chain_bytes(pl[1:]) == after1


def test_keymat_expansion_and_esp_keys():
    skd = bytes(range(20))
    spi = bytes.fromhex("52456533")
    seed = bytes([K.PROTO_IPSEC_ESP]) + spi + NI + NR
    k1 = H("md5", skd, seed)
    k2 = H("md5", skd, k1, seed)
    assert C.keymat(K.HASH_MD5, skd, K.PROTO_IPSEC_ESP, spi, NI, NR, 24) == (k1 + k2)[:24]
    enc, auth = C.esp_keys(K.HASH_MD5, skd, spi, NI, NR, 8, 16)
    assert enc == k1[:8] and auth == (k1 + k2)[8:24]
    # 3DES + HMAC-SHA with SHA-1 prf: 44 bytes = K1 | K2 | K3 (truncated)
    s1 = H("sha1", skd, seed)
    s2 = H("sha1", skd, s1, seed)
    s3 = H("sha1", skd, s2, seed)
    enc, auth = C.esp_keys(K.HASH_SHA, skd, spi, NI, NR, 24, 20)
    assert enc + auth == (s1 + s2 + s3)[:44]
    # with PFS, g(qm)^xy comes first
    gqm = bytes([7]) * 96
    p1 = H("md5", skd, gqm, seed)
    p2 = H("md5", skd, p1, gqm, seed)
    assert C.keymat(K.HASH_MD5, skd, K.PROTO_IPSEC_ESP, spi, NI, NR, 32, gqm) == p1 + p2
    # one KEYMAT per direction: the SPI changes everything
    assert C.esp_keys(K.HASH_MD5, skd, b"\x00\x00\x00\x01", NI, NR, 8, 16) != C.esp_keys(
        K.HASH_MD5, skd, b"\x00\x00\x00\x02", NI, NR, 8, 16)


# --- Diffie-Hellman ------------------------------------------------------------------------

def pi_scaled(k: int) -> int:
    """floor(2^k * pi), Machin's formula in integers (64 guard bits)."""
    one = 1 << (k + 64)

    def arctan_inv(x: int) -> int:
        total = term = one // x
        n, sign = 1, -1
        while term:
            term //= x * x
            total += sign * (term // (2 * n + 1))
            n, sign = n + 1, -sign
        return total

    return (4 * (4 * arctan_inv(5) - arctan_inv(239))) >> 64


def test_modp_primes_match_their_defining_formulas():
    # RFC 2409 §6.1, §6.2 and RFC 3526 §2
    assert dh.MODP_768.prime == 2**768 - 2**704 - 1 + 2**64 * (pi_scaled(638) + 149686)
    assert dh.MODP_1024.prime == 2**1024 - 2**960 - 1 + 2**64 * (pi_scaled(894) + 129093)
    assert dh.MODP_1536.prime == 2**1536 - 2**1472 - 1 + 2**64 * (pi_scaled(1406) + 741804)
    assert [dh.get_group(n).size for n in (1, 2, 5)] == [96, 128, 192]
    with pytest.raises(dh.DHError):
        dh.get_group(14)


@pytest.mark.parametrize("group", [1, 2, 5])
def test_both_sides_compute_the_same_secret(group):
    rng = random.Random(1234)
    a = dh.generate_keypair(group, rng)
    b = dh.generate_keypair(group, rng)
    p = dh.get_group(group).prime
    assert len(a.public_bytes()) == dh.get_group(group).size
    s = a.shared_secret(b.public_bytes())
    assert s == b.shared_secret(a.public_bytes())
    assert int.from_bytes(s, "big") == pow(2, a.private * b.private, p)
    assert a.private.bit_length() == dh.EXPONENT_BITS


def test_keypairs_are_deterministic_from_the_seed():
    for group in (1, 5):
        one = dh.generate_keypair(group, random.Random(7))
        assert group != 1 or one.backend == "pow"
        two = dh.generate_keypair(group, random.Random(7))
        assert one.public_bytes() == two.public_bytes()
        assert dh.generate_keypair(group, random.Random(8)).public != one.public


@pytest.mark.parametrize("group", [1, 2, 5])
def test_known_answer_small_exponents(group):
    p = dh.get_group(group).prime
    x, y = 0x1234567, 0x7654321
    a = dh.keypair_from_private(group, x)
    b = dh.keypair_from_private(group, y)
    assert a.public == pow(2, x, p)
    want = pow(pow(2, y, p), x, p).to_bytes(dh.get_group(group).size, "big")
    assert a.shared_secret(b.public_bytes()) == want == dh.shared_secret(group, y, a.public_bytes())
    tiny = dh.keypair_from_private(group, 5)  # g^5 = 32: leading zeros in the fixed-length form
    assert tiny.public_bytes() == bytes(dh.get_group(group).size - 1) + b"\x20"


def test_cryptography_and_pow_paths_agree():
    rng = random.Random(99)
    x = rng.getrandbits(256) | 1 << 255
    peer = dh.keypair_from_private(5, rng.getrandbits(256) | 1 << 255, use_cryptography=False)
    fast = dh.keypair_from_private(5, x, use_cryptography=True)
    slow = dh.keypair_from_private(5, x, use_cryptography=False)
    if fast.backend != "cryptography":  # pragma: no cover - cryptography dropped FFDH: pow fallback
        pytest.skip("cryptography refused finite-field DH; the module falls back to pow")
    assert slow.backend == "pow"
    assert fast.public == slow.public
    assert fast.shared_secret(peer.public_bytes()) == slow.shared_secret(peer.public_bytes())


def test_bad_peer_values_are_refused():
    a = dh.keypair_from_private(1, 0x1234567)
    p = dh.MODP_768.prime
    for bad in (bytes(96), (1).to_bytes(96, "big"), (p - 1).to_bytes(96, "big"), p.to_bytes(96, "big")):
        with pytest.raises(dh.DHError):
            a.shared_secret(bad)
    with pytest.raises(dh.DHError, match="95 bytes"):
        a.shared_secret(bytes(94) + b"\x02")


def test_gmp_exponentiation_gives_python_pows_numbers():
    pytest.importorskip("gmpy2")
    assert dh._gmp_powmod is not None      # installed, so the key pairs below went through GMP
    rng = random.Random(11)
    for n in (1, 2):
        group = dh.get_group(n)
        for _ in range(5):
            x = rng.getrandbits(dh.EXPONENT_BITS) | 1 << (dh.EXPONENT_BITS - 1)
            pair = dh.keypair_from_private(n, x)
            assert pair.public == pow(group.generator, x, group.prime)
            peer = dh.keypair_from_private(n, rng.getrandbits(200) | 1 << 199)
            assert pair.shared_secret(peer.public_bytes()) == dh.shared_secret(n, x, peer.public_bytes())
