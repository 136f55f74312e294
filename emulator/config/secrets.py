"""IOS type 5 secrets: MD5-crypt ("$1$salt$hash", the FreeBSD MD5 password scheme IOS uses);
type 7 passwords: the reversible Vigenere-like encoding, decoded."""

from __future__ import annotations

import hashlib
import re
import warnings
from types import ModuleType

# The C library's MD5-crypt through the standard ``crypt`` module, where this Python still has it
# (deprecated since 3.11, gone in 3.13): about 7x faster than the Python rounds below, which a lab of
# a thousand routers with an enable secret feels at boot. The Python rounds remain the definition and
# the fallback; tests check both give the same hashes.
_crypt: ModuleType | None
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt as _crypt
except ImportError:  # pragma: no cover - Python 3.13 and later
    _crypt = None
_C_SALT = re.compile(r"[./0-9A-Za-z]{1,8}")

_ITOA64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
MAGIC = b"$1$"


def _to64(value: int, count: int) -> str:
    out = []
    for _ in range(count):
        out.append(_ITOA64[value & 0x3F])
        value >>= 6
    return "".join(out)


def md5_crypt(password: str, salt: str) -> str:
    """``$1$SALT$HASH`` of ``password`` (the salt is cut to 8 characters)."""
    if _crypt is not None and password.isascii() and "\0" not in password and _C_SALT.fullmatch(salt[:8]):
        hashed = _crypt.crypt(password, f"$1${salt[:8]}$")
        if hashed and hashed.startswith(f"$1${salt[:8]}$"):
            return hashed
    return md5_crypt_rounds(password, salt)


def md5_crypt_rounds(password: str, salt: str) -> str:
    """MD5-crypt computed here, round by round (the definition; the fallback of ``md5_crypt``)."""
    pw, s = password.encode(), salt.encode()[:8]
    alternate = hashlib.md5(pw + s + pw).digest()
    ctx = hashlib.md5(pw + MAGIC + s)
    for left in range(len(pw), 0, -16):
        ctx.update(alternate[:min(16, left)])
    n = len(pw)
    while n:
        ctx.update(b"\0" if n & 1 else pw[:1])
        n >>= 1
    final = ctx.digest()
    for i in range(1000):
        c = hashlib.md5()
        c.update(pw if i & 1 else final)
        if i % 3:
            c.update(s)
        if i % 7:
            c.update(pw)
        c.update(final if i & 1 else pw)
        final = c.digest()
    f = final
    text = (_to64((f[0] << 16) | (f[6] << 8) | f[12], 4) + _to64((f[1] << 16) | (f[7] << 8) | f[13], 4)
            + _to64((f[2] << 16) | (f[8] << 8) | f[14], 4) + _to64((f[3] << 16) | (f[9] << 8) | f[15], 4)
            + _to64((f[4] << 16) | (f[10] << 8) | f[5], 4) + _to64(f[11], 2))
    return f"$1${s.decode()}${text}"


def salt_for(password: str, context: str) -> str:
    """A salt fixed by what is hashed and where (IOS draws a random one; a lab stays reproducible)."""
    digest = hashlib.sha256(f"{context}/{password}".encode()).digest()
    return "".join(_ITOA64[b & 0x3F] for b in digest[:4])


def secret_matches(stored: str, answer: str) -> bool:
    """Whether ``answer`` is the password of a configured secret (``5 $1$...``, ``0 text`` or plain text)."""
    kind, _, rest = stored.partition(" ")
    if kind == "5" and rest.startswith("$1$"):
        salt = rest[3:].split("$", 1)[0]
        return md5_crypt(answer, salt) == rest
    if kind == "0" and rest:
        return answer == rest
    return answer == stored


_TYPE7_KEY = "dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87"


def decode_type7(text: str) -> str:
    """The clear text of a type-7 password (the reversible Vigenere-like IOS encoding)."""
    if len(text) < 4 or len(text) % 2 or not text[:2].isdigit():
        raise ValueError(f"not a type 7 password: {text!r}")
    offset = int(text[:2])
    try:
        pairs = [int(text[i:i + 2], 16) for i in range(2, len(text), 2)]
    except ValueError:
        raise ValueError(f"not a type 7 password: {text!r}") from None
    return "".join(chr(b ^ ord(_TYPE7_KEY[(offset + i) % len(_TYPE7_KEY)])) for i, b in enumerate(pairs))
