"""Every catalog is complete: no empty translation, placeholders intact.

The messages are extracted afresh from the source for this test, so a new
string that nobody translated fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from grievance import catalogs

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.fixture(scope="module")
def fresh_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    out = tmp_path_factory.mktemp("pot")
    ids: dict[str, set[str]] = {}
    for domain in catalogs.DOMAINS:
        pot = catalogs.extract(domain, out / f"{domain}.pot")
        ids[domain] = {m.id for m in catalogs._read(pot) if m.id}
    return ids


CASES = [
    (domain, code)
    for domain in catalogs.DOMAINS
    for code in catalogs.languages_for(domain)
    if code != "en"  # the source language: an empty msgstr shows the msgid
]


@pytest.mark.parametrize(("domain", "code"), CASES)
def test_catalog_is_complete(domain: str, code: str, fresh_templates: dict[str, set[str]]) -> None:
    path: Path = catalogs.catalog_dir(code) / f"{domain}.po"
    assert path.exists(), f"missing {path}"
    catalog = catalogs._read(path)
    translated = {m.id: m for m in catalog if m.id}
    missing = sorted(
        str(mid)
        for mid in fresh_templates[domain]
        if mid not in translated or not translated[mid].string or translated[mid].fuzzy
    )
    assert not missing, f"{code}/{domain}: {len(missing)} untranslated, e.g. {missing[:5]}"
    for message in translated.values():
        if not message.string or message.id not in fresh_templates[domain]:
            continue
        source = message.id if isinstance(message.id, str) else message.id[0]
        target = message.string if isinstance(message.string, str) else message.string[0]
        assert set(PLACEHOLDER.findall(source)) == set(PLACEHOLDER.findall(target)), (
            f"{code}/{domain}: placeholders differ in {source!r}"
        )
