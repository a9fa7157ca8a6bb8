"""Certificate PDFs: the title certificate (不动产权证书) and the registration proof (不动产登记证明).

An HTML template laid out by weasyprint on A4, set in one embedded CJK font. What makes it fast:
one font face (weasyprint then subsets a single font per document, with HarfBuzz), and the font
configuration and style sheet built once per renderer instead of once per document. What keeps it
correct: every character of the data is checked against the font before layout (`fonts.Font.check`).

Rendering reads nothing but the template folder and the font file: the URL fetcher refuses the network
and every other path, so data that smuggles in a link or an image cannot make the renderer fetch it.
"""

import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from urllib.parse import unquote, urlparse

import jinja2
import segno
from weasyprint.urls import URLFetcher

from documents import fonts

TEMPLATES = Path(__file__).resolve().parent / "templates"
TITLES = {"title": "不动产权证书", "proof": "不动产登记证明"}


class FetchRefused(ValueError):
    """The template asked for something outside its own folders."""


class FolderFetcher(URLFetcher):
    """weasyprint's URL fetcher restricted to files inside the given folders; a refusal stops the render."""

    def __init__(self, *folders: Path):
        super().__init__(allowed_protocols=("file",), allow_redirects=False, fail_on_errors=True)
        self.folders = tuple(f.resolve() for f in folders)
        self.fetched: list[str] = []  # what this fetcher handed out, for those who want to know

    def fetch(self, url, headers=None):
        if url.startswith("file://"):
            path = Path(unquote(urlparse(url).path)).resolve()
            if any(path.is_relative_to(folder) for folder in self.folders) and path.is_file():
                self.fetched.append(path.as_uri())
                return super().fetch(path.as_uri(), headers)
        raise FetchRefused(f"certificate templates may not fetch {url[:200]}")


@dataclass(frozen=True)
class CertificateFace:
    """What a certificate shows, as plain text."""

    kind: str  # "title" (不动产权证书) or "proof" (不动产登记证明)
    number: str  # 吉(2026)长春市不动产权第0000001号
    ecert_id: str  # 1.2.156.3005.2.…
    verify_url: str  # what the QR code holds
    issuer: str  # the registration authority (登记机构)
    issued_on: date
    rows: tuple[tuple[str, str], ...]  # (label, value) in the order printed
    notes: str = ""  # 附记
    sample: bool = False  # a specimen (样本): watermarked, never issued
    extra: dict = field(default_factory=dict)

    def texts(self) -> list[str]:
        return [self.number, self.ecert_id, self.verify_url, self.issuer, self.notes,
                *(part for row in self.rows for part in row)]


class Renderer:
    """Renders certificate faces to unsigned PDF bytes. One per process (or thread): it holds the
    parsed style sheet and the registered font."""

    def __init__(self, font_path: str | Path):
        import weasyprint
        from weasyprint.text.fonts import FontConfiguration

        self.font = fonts.load(font_path)
        self.fetcher = FolderFetcher(TEMPLATES, self.font.path.parent)
        self._weasyprint = weasyprint
        self._font_config = FontConfiguration()
        self._env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                       undefined=jinja2.StrictUndefined)
        css = (TEMPLATES / "certificate.css").read_text(encoding="utf-8")
        font_face = f'@font-face {{ font-family: "SL Serif"; src: url("{self.font.path.as_uri()}"); }}\n'
        common = self.font.path.parent / fonts.COMMON_FILE
        if common.is_file():  # the fast cut of the same face, tried first (see fonts.COMMON_FILE)
            font_face += f'@font-face {{ font-family: "SL Common"; src: url("{common.as_uri()}"); }}\n'
        self._css = weasyprint.CSS(string=font_face + css, base_url=str(TEMPLATES) + "/",
                                   font_config=self._font_config, url_fetcher=self.fetcher)
        self._lock = threading.Lock()  # one layout at a time: the font configuration is shared

    def html(self, face: CertificateFace) -> str:
        if face.kind not in TITLES:
            raise ValueError(f"unknown certificate kind {face.kind!r}")
        self.font.check(*face.texts())
        qr = segno.make(face.verify_url, error="m").svg_inline(scale=3, border=0, omitsize=False)
        return self._env.get_template("certificate.html").render(face=face, title=TITLES[face.kind], qr=qr)

    def pdf(self, face: CertificateFace) -> bytes:
        """The unsigned PDF of FACE. Raises fonts.MissingGlyphs before any layout if a character
        cannot be drawn."""
        html = self.html(face)
        with self._lock:
            document = self._weasyprint.HTML(string=html, base_url=str(TEMPLATES) + "/", url_fetcher=self.fetcher)
            return document.write_pdf(stylesheets=[self._css], font_config=self._font_config)
