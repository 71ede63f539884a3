"""Interface text: every message has a Simplified Chinese translation, and the compiled
catalogue the server loads matches the .po file (so a forgotten compilemessages is caught)."""

from __future__ import annotations

from pathlib import Path

import polib

import onewindow

PO = Path(onewindow.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_every_message_is_translated():
    po = polib.pofile(str(PO))
    assert po.untranslated_entries() == []
    assert po.fuzzy_entries() == []


def test_compiled_catalogue_matches_the_po_file():
    po = polib.pofile(str(PO))
    mo = polib.mofile(str(PO.with_suffix(".mo")))
    compiled = {entry.msgid: entry.msgstr for entry in mo}
    for entry in po.translated_entries():
        assert compiled.get(entry.msgid) == entry.msgstr, entry.msgid


def test_error_codes_are_documented():
    from onewindow.kit.errors import ERROR_CODES

    doc = (Path(__file__).parents[1] / "docs" / "api-errors.md").read_text()
    for code in ERROR_CODES:
        assert f"`{code}`" in doc, f"{code} is not listed in docs/api-errors.md"
