"""Hardware and software the emulated devices present (Cisco 2500 family, IOS 12.2)."""

from __future__ import annotations

from dataclasses import dataclass, field

from emulator.labtime import MS, US
from emulator.wire import esp as E


@dataclass(frozen=True)
class CpuCosts:
    """What the processor spends on a packet, ns (``emulator.device.cpu`` queues the packets on it).

    IOS 12.2 on a 2500 (a 20 MHz 68030, no crypto hardware) process-switches the packets it answers
    itself and every IPsec packet, and encrypts and authenticates ESP in software. The figures are
    a model, calibrated so that the document's lab (two 2500s, esp-des esp-md5-hmac, 1544 kbit/s
    serial lines) gives its extended ping's 36/38/40 ms; they are not measurements of a 2500.
    """

    process_ns: int = 1 * MS                 # a packet for the router itself (or any IPsec packet)
    esp_ns: int = 2500 * US                  # an ESP packet's fixed part: SA lookup, buffers, padding
    # Software ciphers and authenticators: ns per byte of the ESP packet (after the outer header).
    cipher_ns_per_byte: tuple[tuple[int, int], ...] = ((E.ESP_DES, 20 * US), (E.ESP_3DES, 60 * US),
                                                       (E.ESP_AES, 25 * US), (E.ESP_NULL, 0))
    # HMACs: a fixed part (the inner and outer hash blocks) and ns per byte.
    hmac_ns: tuple[tuple[int, int, int], ...] = ((E.AUTH_HMAC_MD5, 300 * US, 5 * US),
                                                 (E.AUTH_HMAC_SHA, 500 * US, 9 * US))
    jitter: float = 0.2                      # each packet's cost varies by up to this fraction, seeded
    # (cipher, auth) -> (fixed ns, ns per byte), filled as pairs are first asked for: the tables are
    # read once per pair, not per packet.
    _rates: dict[tuple[int | None, int | None], tuple[int, int]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def esp_cost(self, octets: int, cipher: int | None, auth: int | None) -> int:
        """The work of encrypting or decrypting one ESP packet of ``octets`` bytes (after its IP header)."""
        try:
            fixed, per_byte = self._rates[cipher, auth]
        except KeyError:
            fixed, per_byte = self._rates[cipher, auth] = (self.esp_fixed(auth), self.esp_per_bytes(1, cipher, auth))
        return fixed + octets * per_byte

    def esp_fixed(self, auth: int | None) -> int:
        """The part of an ESP packet's work that does not grow with its size."""
        return self.esp_ns + sum(fixed for alg, fixed, _ in self.hmac_ns if alg == auth)

    def esp_per_bytes(self, octets: int, cipher: int | None, auth: int | None) -> int:
        """The part that does: ``octets`` through the cipher (DES when not known) and the HMAC."""
        per_byte = dict(self.cipher_ns_per_byte).get(cipher or E.ESP_DES, 0)
        per_byte += sum(rate for alg, _, rate in self.hmac_ns if alg == auth)
        return octets * per_byte


CPU_2500 = CpuCosts()


@dataclass(frozen=True)
class Platform:
    model: str                 # as the lab file names it
    interfaces: tuple[str, ...]
    serial_controller: str = "HD64570"
    ethernet_controller: str = "Lance"
    processor: str = "cisco 2500 (68030) processor (revision L) with 14336K/2048K bytes of memory."
    family: str = "2500"
    image: str = "C2500-IK9S-L"
    software: str = "12.2(24a)"
    compiled: str = "Compiled Fri 09-Jul-04 03:19 by kellmill"
    image_file: str = "flash:c2500-ik9s-l.122-24a.bin"
    # Serial ports driven by another controller than ``serial_controller`` (the 2522's low-speed ports).
    low_speed_serials: tuple[str, ...] = ()
    low_speed_controller: str = "CD2430 in sync mode"
    cpu: CpuCosts = CPU_2500

    def serial_hardware(self, interface: str) -> str:
        """The controller ``show interfaces`` names for a serial port."""
        return self.low_speed_controller if interface in self.low_speed_serials else self.serial_controller

    @property
    def train(self) -> str:
        """The configuration ``version`` line: major.minor of the release."""
        return self.software.split("(")[0]


# The 2500 models differ by their fixed ports (Cisco 2500 series hardware guide).
PLATFORMS = {
    "2501": Platform("2501", ("Ethernet0", "Serial0", "Serial1")),
    "2503": Platform("2503", ("Ethernet0", "Serial0", "Serial1", "BRI0")),
    "2514": Platform("2514", ("Ethernet0", "Ethernet1", "Serial0", "Serial1")),
    # The 2522 access server: one Ethernet, two high-speed synchronous serials (Serial0-1), eight
    # low-speed synchronous/asynchronous serials (Serial2-9, Cirrus CD2430 controllers) and an ISDN BRI
    # (Cisco 2520-2523 Hardware Installation Guide). One box terminates up to nine PPP lines.
    "2522": Platform("2522", ("Ethernet0", *(f"Serial{n}" for n in range(10)), "BRI0"),
                     low_speed_serials=tuple(f"Serial{n}" for n in range(2, 10))),
}
DEFAULT_PLATFORM = "2501"
