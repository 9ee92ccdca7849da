"""Configuration: weights, thresholds, taxonomy and indicators.

Defaults live in ``default.toml`` beside this module, with a comment on every
key, and the column aliases the readers recognise in ``column_aliases.toml``, which
becomes the section ``[column_aliases]``. A user file is merged over the
defaults, key by key, so it only holds what it changes.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from riskmap._errors import RiskmapInputError

DEFAULT_PATH = Path(__file__).with_name("default.toml")
ALIASES_PATH = Path(__file__).with_name("column_aliases.toml")
"""Column aliases of the readers, merged into the defaults as ``[column_aliases]``."""

CATEGORIES: tuple[str, str, str] = ("kurang_rawan", "rawan", "sangat_rawan")
"""Risk category ids, lowest first (Polri's three classes); their labels are in :mod:`riskmap.i18n`."""


def _category_ids(data: dict[str, Any]) -> dict[str, Any]:
    """Accept the category keys of riskmap 0.1 user files ("sangat rawan") as today's ids (``sangat_rawan``)."""
    staffing = data.get("staffing")
    if isinstance(staffing, dict):
        for table in ("patterns", "venues"):
            if isinstance(staffing.get(table), dict):
                staffing[table] = {str(k).strip().replace(" ", "_"): v for k, v in staffing[table].items()}
    return data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise RiskmapInputError("file_not_found", file=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise RiskmapInputError("config_syntax", file=path, detail=str(exc)) from None


_DEFAULTS: tuple[tuple[float, float], dict[str, Any]] | None = None


def _defaults() -> dict[str, Any]:
    """A copy of default.toml (with column_aliases.toml as ``column_aliases``), parsed once per process (per change)."""
    global _DEFAULTS
    mtimes = (DEFAULT_PATH.stat().st_mtime, ALIASES_PATH.stat().st_mtime)
    if _DEFAULTS is None or _DEFAULTS[0] != mtimes:
        data = _read_toml(DEFAULT_PATH)
        data["column_aliases"] = _read_toml(ALIASES_PATH)
        _DEFAULTS = (mtimes, data)
    return copy.deepcopy(_DEFAULTS[1])


def _check_aliases(node: object, key: str, where: str) -> None:
    """Every leaf of ``[column_aliases]`` is a list of texts (a user's ``voters = "dpt"`` would match letters)."""
    if isinstance(node, dict):
        for name, child in node.items():
            _check_aliases(child, f"{key}.{name}", where)
    elif not (isinstance(node, list) and all(isinstance(v, str) for v in node)):
        raise RiskmapInputError("config_aliases", file=where, key=key)


@dataclass(frozen=True)
class Config:
    """Resolved configuration (defaults merged with the user's file).

    Attributes
    ----------
    data
        The merged configuration as plain dicts, as read from TOML.
    source
        Paths merged, defaults first.
    """

    data: dict[str, Any]
    source: tuple[str, ...] = field(default=(str(DEFAULT_PATH),))

    # -- construction -----------------------------------------------------
    @classmethod
    def load(cls, path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
        """Load the defaults, merge ``path`` (TOML) and ``overrides`` over them."""
        data = _defaults()
        source = [str(DEFAULT_PATH)]
        if path is not None:
            data = _merge(data, _category_ids(_read_toml(Path(path))))
            source.append(str(path))
        if overrides:
            data = _merge(data, overrides)
        cfg = cls(data=data, source=tuple(source))
        cfg._validate(source[-1])
        return cfg

    def _validate(self, where: str) -> None:
        stages = self.stages
        for type_id, spec in self.taxonomy.items():
            for stage in spec.get("stages", {}):
                if stage not in stages:
                    raise RiskmapInputError("config_unknown_stage", file=where, key=f"taxonomy.{type_id}", stage=stage)
        th = self.thresholds
        if not 0 <= th["rawan"] <= th["sangat_rawan"] <= 100:
            raise RiskmapInputError("config_thresholds", file=where, rawan=th["rawan"], sangat_rawan=th["sangat_rawan"])
        _check_aliases(self.data.get("column_aliases", {}), "column_aliases", where)
        for kind in ("village_weights", "tps_weights"):
            for stage in stages:
                weights = self.data["scoring"][kind].get(stage)
                if not weights or any(w < 0 for w in weights.values()):
                    raise RiskmapInputError("config_weights", file=where, key=f"scoring.{kind}.{stage}")

    # -- accessors --------------------------------------------------------
    @property
    def stages(self) -> list[str]:
        """Stage ids in configuration order (campaign, voting, counting, recap)."""
        return list(self.data["stages"])

    @property
    def taxonomy(self) -> dict[str, dict[str, Any]]:
        """Incident types: id -> {label_id, label_en, aliases, stages}."""
        return self.data["taxonomy"]

    @property
    def indicators(self) -> dict[str, dict[str, Any]]:
        """Bawaslu TPS-rawan indicators: id -> {label_id, label_en, aliases, stages}."""
        return self.data["indicators"]

    @property
    def thresholds(self) -> dict[str, float]:
        """Score thresholds (0-100) for ``rawan`` and ``sangat_rawan``."""
        return self.data["scoring"]["thresholds"]

    def column_aliases(self, layer: str) -> dict[str, Any]:
        """Column aliases the reader of ``layer`` (``villages``, ``tps``, ``incidents``, ``points``) recognises.

        From ``column_aliases.toml`` (``[column_aliases.<layer>]``): ``fields`` maps a canonical field to its
        accepted column names, in order of preference; ``villages`` also has ``schemas``, ``points``
        ``coordinates`` and ``tps`` ``flag_words``.
        """
        return self.data["column_aliases"][layer]

    def stage_label(self, stage: str, lang: str = "id") -> str:
        """Human name of a stage in ``lang`` (``id`` or ``en``)."""
        return self.data["stages"][stage][f"label_{lang}"]

    def type_label(self, type_id: str, lang: str = "id") -> str:
        """Human name of an incident type in ``lang``."""
        return self.taxonomy[type_id][f"label_{lang}"]

    def stage_weights(self, stage: str) -> dict[str, float]:
        """Incident type id -> relevance (0-1) for ``stage``."""
        return {t: float(spec.get("stages", {}).get(stage, 0.0)) for t, spec in self.taxonomy.items()}

    def digest(self) -> str:
        """Short SHA-256 of the resolved configuration (for provenance)."""
        blob = json.dumps(self.data, sort_keys=True, ensure_ascii=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def __hash__(self) -> int:  # usable as a cache key
        return hash(self.digest())


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Load the configuration; see :meth:`Config.load`."""
    return Config.load(path, overrides)
