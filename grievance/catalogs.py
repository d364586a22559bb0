"""Translation catalogs: extraction, update and compilation.

Babel's command-line tools look catalogs up by Babel locale, which cannot
name Easy Japanese; these helpers work on folders named by our own codes
and use Babel's reader and writer directly.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from grievance.i18n import LANGUAGES, STAFF_LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
DOMAINS = ("messages", "staff")


def languages_for(domain: str) -> list[str]:
    if domain == "staff":
        return list(STAFF_LANGUAGES)
    return [lang.code for lang in LANGUAGES]


def catalog_dir(code: str) -> Path:
    return TRANSLATIONS / code.replace("-", "_") / "LC_MESSAGES"


def extract(domain: str, pot: Path | None = None) -> Path:
    pot = pot or TRANSLATIONS / f"{domain}.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            str(ROOT / f"babel-{domain}.cfg"),
            "-k",
            "_l",
            "--no-location",
            "--sort-output",
            "--project",
            "grievance",
            "-o",
            str(pot),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    return pot


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=locale, abort_invalid=False)


def update(domain: str) -> list[str]:
    template = _read(TRANSLATIONS / f"{domain}.pot")
    updated = []
    for code in languages_for(domain):
        po_path = catalog_dir(code) / f"{domain}.po"
        po_path.parent.mkdir(parents=True, exist_ok=True)
        if po_path.exists():
            catalog = _read(po_path)
        else:
            catalog = Catalog(project="grievance", charset="utf-8")
            catalog.locale = None
        # No fuzzy guesses: a new message starts empty and is translated on purpose.
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        with po_path.open("wb") as fh:
            write_po(fh, catalog, width=0, omit_header=False, ignore_obsolete=True)
        updated.append(code)
    return updated


def compile_all() -> int:
    count = 0
    for po_path in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/*.po")):
        catalog = _read(po_path)
        with po_path.with_suffix(".mo").open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
        count += 1
    return count
