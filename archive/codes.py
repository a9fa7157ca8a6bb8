"""Archival reference codes (档号) of records filed by item.

DA/T 22-2015 writes 全宗号-门类代码·年度-保管期限-机构(问题)代码-件号, e.g. "Z109-WS·2026-Y-BDC-0001";
DA/T 13-2022 joins the parts of the class number with middle dots: "Z109-WS·2026·Y·BDC-0001". Both
are read; DA/T 22 is what str() writes. The separator is U+00B7: look-alikes typed from a keyboard
("." and friends) are refused with a message saying so, because a code that only looks right would
not match the register or sort with its series.
"""

import re
from dataclasses import dataclass

RETENTION = {"Y": "永久", "D30": "定期30年", "D10": "定期10年"}
RETENTION_YEARS = {"Y": None, "D30": 30, "D10": 10}
CATEGORIES = {
    "WS": "文书",
    "KJ": "科技",
    "RS": "人事",
    "KU": "会计",
    "ZY": "专业",
    "ZP": "照片",
    "LY": "录音",
    "LX": "录像",
    "SJ": "业务数据",
    "YJ": "公务电子邮件",
    "WY": "网页",
    "MT": "社交媒体",
    "SW": "实物",
}

DOT = "\u00b7"
# Characters people type or paste for the middle dot; none of them is accepted in its place.
_LOOKALIKE_DOTS = ".\u2022\u2027\u2219\u30fb\uff0e\uff65"

_FONDS = re.compile(r"[A-Z][0-9]{3}")
_ORG = re.compile(r"[A-Za-z0-9\u3400-\u4dbf\u4e00-\u9fff]{1,12}")
_YEAR = re.compile(r"[0-9]{4}")
_ITEM = re.compile(r"[0-9]{4}")


@dataclass(frozen=True, order=True)
class ArchivalCode:
    fonds: str
    category: str
    year: int
    retention: str
    org: str
    item: int

    def __post_init__(self):
        if not isinstance(self.fonds, str) or not _FONDS.fullmatch(self.fonds):
            raise ValueError(f"fonds (全宗号) must be a capital letter and three digits like 'Z109', "
                             f"not {self.fonds!r}")
        if self.category not in CATEGORIES:
            raise ValueError(f"category (门类代码) must be one of {', '.join(CATEGORIES)}, not {self.category!r}")
        if type(self.year) is not int or not 1000 <= self.year <= 9999:
            raise ValueError(f"year (年度) must be a four-digit year, not {self.year!r}")
        if self.retention not in RETENTION:
            raise ValueError(f"retention (保管期限代码) must be one of {', '.join(RETENTION)}, not {self.retention!r}")
        if not isinstance(self.org, str) or not _ORG.fullmatch(self.org):
            raise ValueError("organisation code (机构/问题代码) must be 1-12 ASCII letters, digits or Chinese "
                             f"characters, not {self.org!r}")
        if type(self.item) is not int or not 1 <= self.item <= 9999:
            raise ValueError(f"item number (件号) must be between 1 and 9999, not {self.item!r}")

    def __str__(self) -> str:
        return f"{self.fonds}-{self.category}{DOT}{self.year}-{self.retention}-{self.org}-{self.item:04d}"

    def dat13(self) -> str:
        return f"{self.fonds}-{self.category}{DOT}{self.year}{DOT}{self.retention}{DOT}{self.org}-{self.item:04d}"

    @property
    def series(self) -> tuple[str, str, int, str, str]:
        """The run in which item numbers follow each other without gaps."""
        return (self.fonds, self.category, self.year, self.retention, self.org)


def parse(text: str) -> ArchivalCode:
    """Read a code in either style. ValueError names the part that is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("archival code (档号) is empty")
    code = text.strip()
    lookalike = next((c for c in code if c in _LOOKALIKE_DOTS), None)
    if lookalike is not None:
        raise ValueError(f"archival code {code!r} uses {lookalike!r} (U+{ord(lookalike):04X}) where the middle dot "
                         f"'{DOT}' (U+00B7) is required")
    parts = code.split("-")
    if len(parts) == 5:  # DA/T 22: fonds, category·year, retention, org, item
        fonds, klass, retention, org, item = parts
        head = klass.split(DOT)
        if len(head) != 2:
            raise ValueError(f"archival code {code!r}: expected category{DOT}year between the first two hyphens, "
                             f"found {klass!r}")
        category, year = head
    elif len(parts) == 3:  # DA/T 13: fonds, category·year·retention·org, item
        fonds, klass, item = parts
        head = klass.split(DOT)
        if len(head) != 4:
            raise ValueError(f"archival code {code!r}: expected category{DOT}year{DOT}retention{DOT}organisation "
                             f"between the hyphens, found {klass!r}")
        category, year, retention, org = head
    else:
        raise ValueError(f"archival code {code!r} has {len(parts) - 1} hyphens; expected 4 as in "
                         f"'Z109-WS{DOT}2026-Y-BDC-0001' or 2 as in 'Z109-WS{DOT}2026{DOT}Y{DOT}BDC-0001'")
    if not _YEAR.fullmatch(year):
        raise ValueError(f"archival code {code!r}: year (年度) must be four digits, not {year!r}")
    if not _ITEM.fullmatch(item):
        raise ValueError(f"archival code {code!r}: item number (件号) must be four digits, zero-padded, not {item!r}")
    return ArchivalCode(fonds, category, int(year), retention, org, int(item))
