"""The emulator's ciphers and MACs against published test vectors."""

import hmac

from cryptography.hazmat.primitives.ciphers import Cipher, modes

from emulator.engines import esp_sa as E
from emulator.engines.ike.crypto import DES_CBC, prf
from emulator.wire import isakmp as K

# FIPS 81 (DES modes of operation), Appendix C, Table C2: CBC mode.
FIPS81_KEY = bytes.fromhex("0123456789abcdef")
FIPS81_IV = bytes.fromhex("1234567890abcdef")
FIPS81_PLAIN = b"Now is the time for all "
FIPS81_CBC = bytes.fromhex("e5c7cdde872bf27c43e934008c389c0f683788499a7c05f6")


def test_ike_des_cbc_matches_fips_81():
    assert DES_CBC.encrypt(FIPS81_KEY, FIPS81_IV, FIPS81_PLAIN) == FIPS81_CBC
    assert DES_CBC.decrypt(FIPS81_KEY, FIPS81_IV, FIPS81_CBC) == FIPS81_PLAIN


def test_esp_des_cbc_matches_fips_81():
    algorithm = E._algorithm(E.CIPHERS[E.ESP_DES], FIPS81_KEY)
    enc = Cipher(algorithm, modes.CBC(FIPS81_IV)).encryptor()
    assert enc.update(FIPS81_PLAIN) + enc.finalize() == FIPS81_CBC


# RFC 2202, sections 2 (HMAC-MD5) and 3 (HMAC-SHA-1), test cases 1 and 2.
RFC2202 = [
    (K.HASH_MD5, b"\x0b" * 16, b"Hi There", "9294727a3638bb1c13f48ef8158bfc9d"),
    (K.HASH_MD5, b"Jefe", b"what do ya want for nothing?", "750c783e6ab0b503eaa86e310a5db738"),
    (K.HASH_SHA, b"\x0b" * 20, b"Hi There", "b617318655057264e28bc0b6fb378c8ef146be00"),
    (K.HASH_SHA, b"Jefe", b"what do ya want for nothing?", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
]


def test_ike_prf_matches_rfc_2202():
    for hash_alg, key, data, digest in RFC2202:
        assert prf(hash_alg, key, data).hex() == digest


def test_esp_icv_is_the_rfc_2202_mac_truncated_to_96_bits():
    # RFC 2403 / RFC 2404: HMAC-MD5-96 and HMAC-SHA1-96 keep the first 12 bytes of the MAC.
    import random
    for auth, (_, key, data, digest) in ((E.AUTH_HMAC_MD5, RFC2202[0]), (E.AUTH_HMAC_SHA, RFC2202[2])):
        sa = E.EspSA(0x1234, E.ESP_NULL, b"", auth, key)
        assert sa.mac(data).hex() == digest          # the SA's keyed MAC, as the data path computes it
        packet = sa.protect(b"\x45" + bytes(19), random.Random(0))
        assert packet[-12:] == sa.mac(packet[:-12])[:12]
        assert packet[-12:] == hmac.new(key, packet[:-12], "md5" if auth == E.AUTH_HMAC_MD5 else "sha1").digest()[:12]
