"""IPsec for one router: policy (``spd``), the SA database (``sad``), the ESP data path (``esp_path``)
and the facade the router talks to (``facade.CryptoSubsystem``, which also runs IKE)."""

from emulator.engines.ipsec.esp_path import CLEAR, DECRYPTED, DROP, PROTECTED, CryptoResult
from emulator.engines.ipsec.facade import DEBUG_CATEGORIES, CryptoSubsystem
from emulator.engines.ipsec.sad import TEMPORARY_SEQ_BASE, IpsecFlow, IpsecSA, TemporaryEntry

__all__ = ["CryptoSubsystem", "CryptoResult", "IpsecSA", "IpsecFlow", "TemporaryEntry",
           "CLEAR", "PROTECTED", "DECRYPTED", "DROP", "TEMPORARY_SEQ_BASE", "DEBUG_CATEGORIES"]
