"""The router's answers to IKE's policy questions (``emulator.engines.ike.events.IkePolicy``)."""

from __future__ import annotations

import random
from ipaddress import IPv4Address
from typing import Callable

from emulator.config.model import DeviceConfig
from emulator.engines.ike.events import Phase2Offer, Phase2Rejection, Phase2Selection
from emulator.engines.ike.policy import Phase1Proposal, phase1_policies
from emulator.engines.ipsec import spd
from emulator.engines.ipsec.sad import SaDatabase

__all__ = ["RouterIkePolicy"]


class RouterIkePolicy:
    """Keys and ISAKMP policies from the configuration, phase 2 from the crypto maps, SPIs and
    connection ids from the SA database."""

    def __init__(self, config: Callable[[], DeviceConfig], local_address: Callable[[str], IPv4Address | None],
                 sad: SaDatabase, rng: random.Random):
        self._config = config
        self._local_address = local_address
        self._sad = sad
        self._rng = rng

    def psk_for(self, peer: IPv4Address) -> bytes | None:
        return spd.psk_for(self._config(), peer)

    def isakmp_policies(self) -> list[Phase1Proposal]:
        return phase1_policies(self._config().isakmp_policies)

    def allocate_spi(self, peer: IPv4Address, local: IPv4Address) -> int:
        return self._sad.new_spi(self._rng)

    def peek_conn_ids(self) -> tuple[int, int]:
        return self._sad.peek_conn_ids()

    def has_ipsec_sas(self, peer: IPv4Address, local: IPv4Address) -> bool:
        return self._sad.has_inbound(peer, local)

    def in_negotiation_limit(self) -> int | None:
        return self._config().ike_in_negotiation_limit

    def select_phase2(self, offer: Phase2Offer, now: int) -> Phase2Selection | Phase2Rejection:
        """The crypto map of the interface that has the address the offer came to."""
        cfg = self._config()
        iface = next((n for n in cfg.interfaces if self._local_address(n) == offer.local), offer.iface)
        return spd.select_phase2(cfg, iface, offer)
