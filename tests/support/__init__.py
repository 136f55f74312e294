"""Helpers shared by the project's tests: paths, paired engines, packet builders."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]          # the project's root
FIXTURES = ROOT / "fixtures" / "doc14131"           # the document's configurations and lab
DOC_LAB = FIXTURES / "lab.yml"
