"""Reading the files users bring: villages, TPS, incidents, point layers.

Each reader returns ``(GeoDataFrame, LayerReport)``: the usable rows in a
canonical schema (EPSG:4326) and the accounting of every row read.
"""

from riskmap.io._columns import ColumnMap, load_column_map
from riskmap.io._coords import INDONESIA, StudyArea
from riskmap.io.incidents import INCIDENT_COLUMNS, read_incidents
from riskmap.io.points import read_points
from riskmap.io.report import LayerReport, LoadReport, RowNote
from riskmap.io.tps import TPS_COLUMNS, read_tps
from riskmap.io.villages import VILLAGE_COLUMNS, normalise_code, read_villages

__all__ = [
    "INCIDENT_COLUMNS",
    "INDONESIA",
    "TPS_COLUMNS",
    "VILLAGE_COLUMNS",
    "ColumnMap",
    "LayerReport",
    "LoadReport",
    "RowNote",
    "StudyArea",
    "load_column_map",
    "normalise_code",
    "read_incidents",
    "read_points",
    "read_tps",
    "read_villages",
]
