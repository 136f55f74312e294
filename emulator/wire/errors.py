"""The one error every wire decoder raises for bytes it cannot accept."""


class DecodeError(ValueError):
    """A frame or packet is short, truncated or inconsistent.

    ``layer`` names the codec (``"ipv4"``, ``"lcp"`` ...) and ``reason`` says
    what is wrong, so a device can count it as an input error and log why.
    """

    def __init__(self, layer: str, reason: str):
        super().__init__(f"{layer}: {reason}")
        self.layer = layer
        self.reason = reason
