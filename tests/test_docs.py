"""Documentation that cannot drift: every default the docs quote is the one in default.toml.

A quote is a code span `` `dotted.key = value` `` (value in TOML syntax) in any page of docs/ or the README;
it is parsed with tomllib and compared with the loaded default configuration.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from riskmap.config import load_config

ROOT = Path(__file__).resolve().parents[1]
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
QUOTE = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)+) = ([^`]+)`")


def _quotes() -> list[tuple[str, int, str, str]]:
    out = []
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
            out.extend((page.name, number, m[1], m[2]) for m in QUOTE.finditer(line))
    return out


def _lookup(data: dict[str, Any], key: str) -> Any:
    node: Any = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(key)
        node = node[part]
    return node


QUOTES = _quotes()


@pytest.mark.parametrize(("page", "line", "key", "value"), QUOTES, ids=[f"{q[0]}:{q[1]}:{q[2]}" for q in QUOTES])
def test_quoted_default_matches_the_configuration(page, line, key, value):
    quoted = tomllib.loads(f"v = {value}")["v"]
    config = load_config().data
    try:
        actual = _lookup(config, key)
    except KeyError:
        pytest.fail(f"{page}:{line} quotes `{key}`, which default.toml does not have")
    assert quoted == actual, f"{page}:{line}: `{key} = {value}` but default.toml has {actual!r}"


def test_method_quotes_every_scoring_default():
    # issue 10: METHOD.md sections 5-6 quoted half-values, weights and thresholds that differed from default.toml
    config = load_config().data
    quoted = {key for page, _, key, _ in QUOTES if page == "METHOD.md"}
    needed = set()
    for section in ("half", "village_weights", "tps_weights", "thresholds"):
        needed |= {f"scoring.{section}.{key}" for key in config["scoring"][section]}
    needed |= {"incidents.severity", "incidents.precision", "incidents.half_life_days"}
    needed |= {"incidents.fatalities_severity", "acled.precision", "scoring.prior_voters"}
    assert needed - quoted == set(), "METHOD.md must quote these defaults"


def test_docs_cite_only_pages_users_have():
    # METHOD.md cited a DOMAIN.md that users do not have
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for cited in re.findall(r"(?:docs/)?([A-Z][A-Z_]+\.md)", text):
            assert (ROOT / "docs" / cited).exists() or (ROOT / cited).exists(), f"{page.name} cites {cited}"
    domain = (ROOT / "docs" / "DOMAIN.md").read_text(encoding="utf-8")
    for section in ("## 2.", "## 3.", "## 4.", "## 5."):  # the sections METHOD.md and default.toml cite
        assert section in domain
    config = load_config()
    for type_id in config.taxonomy:  # the taxonomy as documented is the taxonomy as configured
        assert f"`{type_id}`" in domain, type_id
    for stage in config.stages:
        assert f"`{stage}`" in domain, stage


def test_a_wrong_quote_is_caught(tmp_path):
    """The check itself can fail: a drifted value is reported."""
    line = "| rawan | `scoring.thresholds.rawan = 35.0` |"
    ((key, value),) = QUOTE.findall(line)
    assert tomllib.loads(f"v = {value}")["v"] != _lookup(load_config().data, key)


def test_contributing_names_every_module():
    """CONTRIBUTING.md's architecture cannot drift: every module of riskmap/ is named in it (issue 12, build 6)."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    modules = [p.stem for p in (ROOT / "riskmap").glob("*.py") if not p.stem.startswith("_")]
    modules += [p.stem for p in (ROOT / "riskmap" / "io").glob("*.py") if p.stem != "__init__"]
    assert not sorted(m for m in modules if m not in text)
    assert "riskmap/app/" in text and "default.toml" in text


def test_pre_commit_runs_the_ruff_of_ci():
    """The pre-commit hooks are ruff check and ruff format with the project's ruff (issue 12, build 6)."""
    text = (ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    entries = re.findall(r"^\s*entry:\s*(.+)$", text, flags=re.M)
    assert any(e.startswith("python3 -m ruff check") for e in entries)
    assert any(e.startswith("python3 -m ruff format") for e in entries)
    assert "ruff" in (ROOT / "requirements.txt").read_text(encoding="utf-8")


def _glossary_rows() -> dict[str, tuple[str, str]]:
    """Every id in the glossary's id column -> (Indonesian, English) labels of its row."""
    rows: dict[str, tuple[str, str]] = {}
    for line in (ROOT / "docs" / "GLOSSARY.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]  # "\|" is a pipe in a cell
        if len(cells) != 5 or cells[0] in ("term", "---"):
            continue
        for ident in re.findall(r"`([^`]+)`", cells[1]):
            rows.setdefault(ident, (cells[2], cells[3]))
    return rows


def test_glossary_has_every_stage_category_and_hotspot_class_with_the_labels_users_see():
    """issue 12, build 5: one glossary; a stage, category or hot-spot class missing there, or labelled otherwise
    than the configuration and i18n label it, fails."""
    from riskmap import i18n
    from riskmap.config import CATEGORIES
    from riskmap.hotspots import CLASSES

    rows = _glossary_rows()
    config = load_config()
    expected = {stage: (config.stage_label(stage, "id"), config.stage_label(stage, "en")) for stage in config.stages}
    expected |= {cat: (i18n.t(cat, "id"), i18n.t(cat, "en")) for cat in CATEGORIES}
    expected |= {cls: (i18n.t(f"hotspot_{cls}", "id"), i18n.t(f"hotspot_{cls}", "en")) for cls in CLASSES}
    missing = sorted(set(expected) - set(rows))
    assert not missing, f"docs/GLOSSARY.md lacks {missing}"
    wrong = {k: (rows[k], v) for k, v in expected.items() if rows[k] != v}
    assert not wrong, f"docs/GLOSSARY.md labels differ from the code's (glossary, code): {wrong}"
    from riskmap.io.incidents import PRECISIONS
    from riskmap.io.points import POINT_KINDS
    from riskmap.scoring import METHODS

    other = sorted({*PRECISIONS, *METHODS, *POINT_KINDS} - set(rows))
    assert not other, f"docs/GLOSSARY.md lacks {other}"


def test_glossary_rows_all_parse():
    rows = _glossary_rows()
    for ident in ("district_code", "village_code", "kurang_rawan", "hot_99", "campaign_posts", "column_map"):
        assert ident in rows, ident


def test_glossary_is_linked_from_readme_and_contributing():
    for page in ("README.md", "CONTRIBUTING.md"):
        assert "docs/GLOSSARY.md" in (ROOT / page).read_text(encoding="utf-8"), page


def test_ci_and_pre_commit_run_ruff_format_and_mypy():
    """issue 12, build 6: `ruff format --check` and a type checker in .ci/run, mypy pinned and in pre-commit."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line.split("#")[0].strip() for line in ci.splitlines()]
    for command in ("python3 -m ruff check .", "python3 -m ruff format --check .", "python3 -m mypy"):
        assert command in commands, command
    assert commands.index("python3 -m mypy") < commands.index("python3 -m pytest")
    hooks = (ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    assert re.search(r"^\s*entry:\s*python3 -m mypy\s*$", hooks, flags=re.M)
    assert re.search(r"^mypy>=", (ROOT / "requirements.txt").read_text(encoding="utf-8"), flags=re.M)
    assert re.search(r"^mypy==\d", (ROOT / "requirements.lock").read_text(encoding="utf-8"), flags=re.M)
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert config["files"] == ["riskmap"] and config["warn_unused_ignores"] is True


def test_every_type_ignore_names_its_error_code():
    """A blanket `# type: ignore` hides every error on its line; a narrow one names the code (and a reason)."""
    blanket = []
    for path in sorted((ROOT / "riskmap").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if re.search(r"#\s*type:\s*ignore(?!\[)", line):
                blanket.append(f"{path.relative_to(ROOT)}:{number}")
    assert not blanket, blanket
