"""不动产单元号: the 28-character real-estate unit number of GB/T 37346-2019, and the 19-character
parcel code (宗地代码) it begins with. The standard has no check digit, so checking means checking
each part, and a message says which part is wrong.

    220102 001 003 G B 00012 F 0001 0001
    county zone sub own use parcel fixture building unit
"""

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

OWNERSHIP = {"G": "国有", "J": "集体", "Z": "争议/未确权"}
PARCEL_USE = {"A": "集体土地所有权宗地", "B": "建设用地使用权（地表）", "S": "建设用地使用权（地上）",
              "X": "建设用地使用权（地下）", "C": "宅基地使用权", "D": "土地承包经营权（耕地）",
              "E": "土地承包经营权（林地）", "F": "土地承包经营权（草地）", "H": "海域使用权（宗海）",
              "G": "无居民海岛使用权", "W": "使用权未确定或有争议", "Y": "其他使用权"}
FIXTURE = {"F": "房屋等建筑物、构筑物", "L": "森林、林木", "Q": "其他定着物", "W": "无定着物"}

_PARTS = [  # (name, length, pattern, message)
    ("county", 6, r"\d{6}", _l("characters 1-6 must be the county's 6-digit division code")),
    ("zone", 3, r"\d{3}", _l("characters 7-9 must be the 3-digit cadastral zone")),
    ("subzone", 3, r"\d{3}", _l("characters 10-12 must be the 3-digit cadastral subzone")),
    ("ownership", 1, "[GJZ]", _l("character 13 must be G, J or Z (state, collective, undetermined)")),
    ("parcel_use", 1, "[ABSXCDEFHGWY]", _l("character 14 must be a parcel type letter (A, B, S, X, C, D, E, F, H, G, W "
                                          "or Y)")),
    ("parcel_serial", 5, r"\d{5}", _l("characters 15-19 must be the 5-digit parcel serial")),
    ("fixture", 1, "[FLQW]", _l("character 20 must be F, L, Q or W (building, forest, other, none)")),
    ("fixture_unit", 8, r"\d{8}", _l("characters 21-28 must be 8 digits (building and unit)")),
]


class UnitNumberError(ValueError):
    pass


@dataclass(frozen=True)
class UnitNumber:
    value: str
    county: str
    zone: str
    subzone: str
    ownership: str
    parcel_use: str
    parcel_serial: str
    fixture: str
    fixture_unit: str

    @property
    def parcel_code(self) -> str:
        """宗地代码: the first 19 characters."""
        return self.value[:19]

    @property
    def building(self) -> str:
        return self.fixture_unit[:4] if self.fixture == "F" else ""

    @property
    def unit(self) -> str:
        return self.fixture_unit[4:] if self.fixture == "F" else ""

    def display(self) -> str:
        """Grouped 6-6-7-9 for reading aloud and on paper."""
        v = self.value
        return f"{v[:6]} {v[6:12]} {v[12:19]} {v[19:]}"

    def __str__(self) -> str:
        return self.value


def parse(raw: str) -> UnitNumber:
    """A unit number from what a person typed (spaces allowed, letters in either case)."""
    value = re.sub(r"\s+", "", raw or "").upper()
    if len(value) != 28:
        raise UnitNumberError(_l("A unit number has 28 characters; %(n)d were given.", n=len(value)))
    parts, pos = {}, 0
    for name, length, pattern, message in _PARTS:
        piece = value[pos:pos + length]
        if not re.fullmatch(pattern, piece):
            raise UnitNumberError(_l("Unit number %(value)s: %(problem)s.", value=value, problem=message))
        parts[name], pos = piece, pos + length
    if parts["zone"] == "000" or parts["subzone"] == "000" or parts["parcel_serial"] == "00000":
        raise UnitNumberError(_l("Unit number %(value)s: zone, subzone and parcel serial start at 1.", value=value))
    if parts["fixture"] == "W" and parts["fixture_unit"] != "00000000":
        raise UnitNumberError(_l("Unit number %(value)s: a unit without a fixture ends in eight zeros.", value=value))
    if parts["fixture"] == "F" and "0000" in (parts["fixture_unit"][:4], parts["fixture_unit"][4:]):
        raise UnitNumberError(_l("Unit number %(value)s: building and unit numbers start at 1.", value=value))
    return UnitNumber(value=value, **parts)
