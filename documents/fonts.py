"""The CJK font certificates are set in, and the guarantee that no character is ever lost.

A certificate is rendered with one font file, taken from our own font folder and nothing else. Before
rendering, every character of the data is checked against the font's character map: a name with a
character the font lacks is refused with the characters named, instead of printing an empty box or
silently borrowing a glyph from whatever system font happens to have it.

The set-up (`make setup`) extracts the Simplified Chinese face of Noto Serif CJK from Debian's
fonts-noto-cjk collection into that folder (`python -m documents.fonts`).
"""

import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

# The face certificates use: Noto Serif CJK SC (a 宋体-style serif with the GB 18030 repertoire).
SOURCE_COLLECTION = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
SOURCE_FAMILY = "Noto Serif CJK SC"
FONT_FILE = "NotoSerifCJKsc-Regular.otf"
# The same face cut down to the characters nearly every certificate uses (ASCII, punctuation and
# symbols, the 20,992 ideographs of the basic CJK block). Listed first, it is the font weasyprint
# subsets for most documents, and subsetting a 22,000-glyph font costs half as much as the full 65,535;
# a character outside it (an Extension A surname, say) falls back to the full face, so none is lost.
COMMON_FILE = "NotoSerifCJKsc-Common.otf"
COMMON_RANGES = ((0x20, 0x7E), (0xA0, 0xFF), (0x2000, 0x206F), (0x2100, 0x214F), (0x2190, 0x21FF),
                 (0x2460, 0x24FF), (0x25A0, 0x26FF), (0x3000, 0x303F), (0x3200, 0x33FF), (0x4E00, 0x9FFF),
                 (0xFF00, 0xFFEF))


class FontMissing(RuntimeError):
    """The font file is absent or unreadable: a set-up problem, reported at start-up."""


class MissingGlyphs(ValueError):
    """Text holds characters the font cannot draw."""

    def __init__(self, chars: list[str]):
        self.chars = chars
        shown = "、".join(f"{c}（U+{ord(c):04X}）" for c in chars)
        super().__init__(f"the certificate font has no glyph for {shown}")


@dataclass(frozen=True)
class Font:
    path: Path
    codepoints: frozenset[int]

    def check(self, *texts: str) -> None:
        """Raise MissingGlyphs unless every printable character of the texts is in the font."""
        missing = sorted({ch for text in texts for ch in text
                          if ord(ch) not in self.codepoints and not _invisible(ch)})
        if missing:
            raise MissingGlyphs(missing)


def _invisible(ch: str) -> bool:
    # Line breaks, tabs and other controls are layout, not glyphs.
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


@lru_cache(maxsize=4)
def load(path: str | Path) -> Font:
    """The font at PATH with its character map; FontMissing with the remedy when it is not usable."""
    from fontTools.ttLib import TTFont, TTLibError

    path = Path(path).resolve()
    if not path.is_file():
        raise FontMissing(f"certificate font {path} is missing: run `make setup`, which installs Debian's "
                          f"fonts-noto-cjk and extracts {SOURCE_FAMILY} into that folder")
    try:
        font = TTFont(path, lazy=True)
        codepoints = frozenset(font.getBestCmap())
    except (TTLibError, OSError) as exc:
        raise FontMissing(f"certificate font {path} cannot be read: {exc}") from exc
    if ord("权") not in codepoints:
        raise FontMissing(f"certificate font {path} has no Chinese characters")
    return Font(path, codepoints)


def extract(collection: str | Path, family: str, out: str | Path) -> Path:
    """Write the face named FAMILY of a TrueType/OpenType collection as a standalone font file."""
    from fontTools.ttLib import TTCollection

    faces = TTCollection(str(collection), lazy=True).fonts
    face = next((f for f in faces if f["name"].getDebugName(1) == family), None)
    if face is None:
        raise FontMissing(f"{collection} has no face named {family}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part")
    face.save(tmp)
    tmp.replace(out)
    return out


def cut_common(full: str | Path, out: str | Path) -> Path:
    """Write the common-characters cut of FULL (no layout tables: weasyprint drops them anyway)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(full))
    keep = [c for c in font.getBestCmap() if any(low <= c <= high for low, high in COMMON_RANGES)]
    options = subset.Options()
    options.layout_features, options.hinting, options.name_IDs, options.notdef_outline = [], False, ["*"], True
    options.drop_tables += ["GSUB", "GPOS", "VORG", "vhea", "vmtx", "BASE"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=keep)
    subsetter.subset(font)
    out = Path(out)
    tmp = out.with_suffix(".part")
    font.save(tmp)
    tmp.replace(out)
    return out


if __name__ == "__main__":  # python -m documents.fonts OUT_DIR: the full face, then its common cut
    folder = Path(sys.argv[1])
    if not Path(SOURCE_COLLECTION).is_file():
        sys.exit(f"{SOURCE_COLLECTION} not found: install Debian's fonts-noto-cjk")
    print(extract(SOURCE_COLLECTION, SOURCE_FAMILY, folder / FONT_FILE))
    print(cut_common(folder / FONT_FILE, folder / COMMON_FILE))
