"""riskmap: election-security risk maps for Indonesian regional elections (Pilkada).

The core (this package minus ``riskmap.app``) takes and returns GeoDataFrames:
:mod:`riskmap.io` reads and validates files, :mod:`riskmap.joins` relates
TPS and incidents to villages, :mod:`riskmap.scoring` rates risk per election
stage, :mod:`riskmap.export` writes results. :func:`riskmap.pipeline.run`
chains them.
"""

from riskmap.config import CATEGORIES, Config, load_config

__version__ = "0.1.0"

__all__ = ["CATEGORIES", "Config", "__version__", "load_config"]
