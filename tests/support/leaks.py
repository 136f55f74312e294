"""Secrets in what a run wrote: every file's text, HTML entities undone and base64 inside it decoded."""

from __future__ import annotations

import base64
import binascii
import html
import re
from pathlib import Path
from typing import Iterable

from drivers.emulated import EmulatedDriver
from emulator.config.masking import MIN_BARE, secret_values

DATA_URI = re.compile(r"base64,([A-Za-z0-9+/=]+)")
BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")


def _decoded(text: str) -> list[str]:
    """Every base64 payload in ``text`` decoded: data URIs, and any long run at each alignment."""
    found = []
    for chunk in DATA_URI.findall(text):
        found.append(base64.b64decode(chunk, validate=True).decode("utf-8", "replace"))
    for run in BASE64_RUN.findall(text):
        run = run.rstrip("=")
        for start in range(4):
            body = run[start:]
            body = body[:len(body) - len(body) % 4]
            try:
                found.append(base64.b64decode(body, validate=True).decode("utf-8", "replace"))
            except (binascii.Error, ValueError):
                pass
    return found


def _unescaped(text: str) -> str:
    """HTML entities undone as often as they were applied (pytest-html escapes its log twice)."""
    for _ in range(3):
        plain = html.unescape(text)
        if plain == text:
            break
        text = plain
    return text


def artefact_texts(*roots: Path, skip: Iterable[Path] = ()) -> dict[str, str]:
    """Path (and ``#base64-N``) -> text, for every file under ``roots`` except ``skip``."""
    skipped = {Path(p).resolve() for p in skip}
    files = []
    for root in roots:
        files += [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    texts: dict[str, str] = {}
    for path in files:
        if path.resolve() in skipped:
            continue
        text = _unescaped(path.read_bytes().decode("utf-8", "replace"))
        texts[str(path)] = text
        for i, payload in enumerate(_decoded(text)):
            texts[f"{path}#base64-{i}"] = _unescaped(payload)
    return texts


def lab_secrets(lab: Path) -> set[str]:
    """The lab's secrets as its devices hold them, read by the same parser of secret forms: from each
    configuration file and extra line, and from each device's ``show running-config`` (type 5 hashes)."""
    from emulator.lab.labfile import load_lab, read_text
    spec = load_lab(lab)
    found: set[str] = set()
    for device in spec.devices.values():
        found |= secret_values(read_text(device.config_path) + "\n" + "\n".join(device.extra_config))
    driver = EmulatedDriver(spec)
    try:
        for role in driver.roles():
            found |= secret_values(driver.session(role).send("show running-config"))
    finally:
        driver.close()
    return found


def leaks(texts: dict[str, str], secrets: Iterable[str]) -> list[str]:
    """``where: what`` for each secret found: long ones anywhere, short ones (``ww``) as the value of a
    secret keyword (``password ww``, ``secret lab``), since as bare words they are ordinary text."""
    found = []
    for secret in sorted(set(secrets)):
        if len(secret) >= MIN_BARE:
            pattern = re.compile(re.escape(secret))
        else:
            pattern = re.compile(rf"\b(?:password|secret|key|key-string|community)(?: [0-9])? "
                                 rf"{re.escape(secret)}(?![\w$./-])")
        for where, text in texts.items():
            match = pattern.search(text)
            if match:
                context = text[max(0, match.start() - 60):match.end() + 20].replace("\n", "\\n")
                found.append(f"{where}: {secret!r} in ...{context}...")
    return found
