"""Files that hold keys or passwords (Wireshark key tables, a served lab's inventory): readable and
writable by their owner only, from the moment they exist."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_MODE = 0o600


def write_private(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` with mode 0600.

    The file is created with that mode (never world-readable, not even for an instant); a file
    that was already there is narrowed to it before anything is written into it.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            fd = -1                                   # the file object owns it now
            handle.write(text)
    finally:
        if fd != -1:
            os.close(fd)
