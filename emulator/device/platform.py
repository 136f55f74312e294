"""Hardware and software the emulated devices present (Cisco 2500 family, IOS 12.2)."""

from __future__ import annotations

from dataclasses import dataclass


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
