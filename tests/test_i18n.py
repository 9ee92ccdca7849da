"""The translation table: every text in both languages, every key and reason code the code uses is in it."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from riskmap import i18n

ROOT = Path(__file__).resolve().parent.parent / "riskmap"

SAME_IN_BOTH = {"per", "kecamatan", "kab/kota", "data", "tps", "csv", "excel", "geojson", "riskmap", "auc", "median"}
SAME_IN_BOTH |= {"format", "status", "admin", "kec"}  # "kec": "Kec. Alak", the kecamatan abbreviation
"""Words spelled the same in Indonesian and English (proper nouns, codes, loan words): a text made only of
these (and placeholders, numbers, punctuation) may read the same in both languages."""

_PREFIXED = {"tr": "app.", "_t": "print.", "_col": "col."}
"""Helpers that add a prefix to the key they are given (``tr("x")`` reads ``app.x``)."""


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _sources() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if p.name != "i18n.py")


def _literal_calls() -> dict[str, set[str]]:
    """Kind -> string literals the code passes as message keys or reason codes (file:line for the message)."""
    found: dict[str, set[str]] = {"key": set(), "reason": set()}
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            first = node.args[0]
            if name in ("reject", "warn", "reject_frame", "warn_frame") and len(node.args) >= 2:
                code = node.args[1]
                if isinstance(code, ast.Constant) and isinstance(code.value, str):
                    found["reason"].add(code.value)
                continue
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            if name in ("RiskmapInputError", "StoreError") or (name == "t" and owner == "i18n"):
                found["key"].add(first.value)
            elif name in _PREFIXED and not owner:
                found["key"].add(_PREFIXED[name] + first.value)
    return found


@pytest.mark.parametrize("key", sorted(i18n.MESSAGES))
def test_every_message_in_both_languages_with_the_same_placeholders(key):
    entry = i18n.MESSAGES[key]
    assert set(entry) == set(i18n.LANGS), key
    assert all(isinstance(entry[lang], str) and entry[lang].strip() for lang in i18n.LANGS), key
    assert _fields(entry["id"]) == {f.removesuffix("_en") for f in _fields(entry["en"])}, key  # "reasons_en"
    for lang in i18n.LANGS:  # formats without an error for any value of the kind its format asks for
        numeric = {
            name for _, name, spec, _ in string.Formatter().parse(entry[lang]) if name and spec and spec[-1] in "dfeg%"
        }
        i18n.t(key, lang, **{f: 1.5 if f in numeric else "x" for f in _fields(entry[lang]) if f.isidentifier()})


def test_no_english_copy_where_a_translation_is_expected():
    """Issue 12, defect 5: an Indonesian text equal to the English one is English on the Indonesian page,
    unless it is made only of words spelled the same in both (proper nouns, codes)."""
    copies = []
    for key, entry in i18n.MESSAGES.items():
        if entry["id"] != entry["en"]:
            continue
        words = re.findall(r"[a-z][a-z/]*", re.sub(r"\{[^}]*\}", " ", entry["id"].lower()))
        if not set(words) <= SAME_IN_BOTH:
            copies.append((key, entry["id"]))
    assert not copies


def test_every_reason_code_has_its_message_and_label_in_both_languages():
    """Every reason a reader rejects or warns with (riskmap/io/report.py notes) has its message and its short
    label (``reason_<code>``: _REASON_LABELS for the rejections, the warnings' labels beside it)."""
    reasons = _literal_calls()["reason"]
    assert {"missing_geometry", "missing_id", "repaired_geometry", "village_mismatch"} <= reasons
    reasons |= set(i18n._REASON_LABELS) | set(i18n._WARNING_LABELS)
    assert "swapped_coordinates" in reasons
    missing = sorted(r for r in reasons if r not in i18n.MESSAGES or "reason_" + r not in i18n.MESSAGES)
    assert not missing
    labels = [k for k in i18n.MESSAGES if k.startswith("reason_")]
    assert all(i18n.MESSAGES[k]["id"] != i18n.MESSAGES[k]["en"] for k in labels)


def test_every_key_the_code_names_is_in_the_table():
    """Message keys given as literals (errors, ``i18n.t``, ``tr``, the printer's ``_t``, the tables' ``_col``)."""
    keys = _literal_calls()["key"]
    assert {"unknown_area", "print.staff", "col.score"} <= keys
    assert not sorted(k for k in keys if k not in i18n.MESSAGES)


def test_no_inline_language_choice_outside_the_table():
    """Texts come from riskmap/i18n.py: no ``"..." if lang == "id" else "..."`` in the core, the CLI and the
    printer and the web map (riskmap/app/ belongs to the app: see issue 12)."""
    pattern = re.compile(r"""lang\s*[!=]=\s*["'](id|en)["']""")
    offenders = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in _sources()
        if p.parts[-2] != "app"
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders


def test_a_message_may_have_a_key_placeholder():
    """``{key}`` in a message (a configuration error names the key) crashed ``i18n.t`` with a TypeError."""
    from riskmap._errors import RiskmapInputError

    err = RiskmapInputError("config_weights", file="lokal.toml", key="scoring.village_weights.voting")
    assert "scoring.village_weights.voting" in err.message("id") and "lokal.toml" in err.message("en")
