"""Lab files written by tests, and the error loading one gives."""

from pathlib import Path

import pytest

from emulator.lab.labfile import LabError, load_lab


def write(labdir: Path, text: str) -> Path:
    """``text`` as ``labdir/lab.yml``."""
    path = labdir / "lab.yml"
    path.write_text(text)
    return path


def error_of(path: Path) -> str:
    """The message of the LabError that loading ``path`` raises."""
    with pytest.raises(LabError) as exc:
        load_lab(path)
    return str(exc.value)
