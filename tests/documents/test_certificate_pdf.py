"""The documents library on its own: identifiers, certificate PDFs in the CJK font, signatures."""

import re
import shutil
import subprocess
from datetime import date

import pytest

from config import Config
from documents import fonts, identifiers, signing
from documents.certificates import CertificateFace, FetchRefused, Renderer

RARE = "王喆、李堃、张昇、赵珺"  # names with characters outside GB2312
UNIT = "220102001001GB00001F00010101"


@pytest.fixture(scope="module")
def renderer():
    return Renderer(Config.CERTIFICATE_FONT)


@pytest.fixture(scope="module")
def signer():
    return signing.Signer(signing.make_development_pkcs12("长春市自然资源局", b"pw"), b"pw")


def face(**changes) -> CertificateFace:
    values = {"kind": "title", "number": "吉(2026)长春市不动产权第0000001号",
              "ecert_id": identifiers.ecert_id("11100000000013338W001", "11220100001000010X", "20260000001"),
              "verify_url": "http://127.0.0.1:5000/v/abc", "issuer": "长春市自然资源局",
              "issued_on": date(2026, 11, 24),
              "rows": (("权利人", RARE), ("坐落", "长春市南关区人民大街1号"), ("不动产单元号", UNIT)), "notes": ""}
    values.update(changes)
    return CertificateFace(**values)


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "c.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_identifier_check_character_matches_the_worked_example():
    assert identifiers.mod37_36("11100000000013338W032" + "11220000013544541J" + "2430599" + "001") == "F"
    full = identifiers.ecert_id("11100000000013338W032", "11220000013544541J", "2430599", "001")
    assert full == "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
    assert identifiers.ecert_id_valid(full)
    assert not identifiers.ecert_id_valid(full[:-1] + "G")  # wrong check character
    assert not identifiers.ecert_id_valid(full.replace("2430599", "2430598"))  # a changed serial
    with pytest.raises(ValueError, match="credit code"):
        identifiers.ecert_id("11100000000013338W032", "11220000013544541K", "2430599")


def test_certificate_numbers_in_the_national_format():
    assert identifiers.certificate_number("吉", 2026, "长春市", "title", 1) == "吉(2026)长春市不动产权第0000001号"
    assert identifiers.certificate_number("吉", 2026, "农安县", "proof", 12345) == "吉(2026)农安县不动产证明第0012345号"
    assert identifiers.parse_number("吉(2026)长春市不动产权第0000001号") == {
        "province": "吉", "year": 2026, "place": "长春市", "seq": 1, "kind": "title"}
    assert identifiers.parse_number("长春市不动产权第1号") is None
    with pytest.raises(ValueError):
        identifiers.certificate_number("吉", 2026, "长春市", "title", 0)


def test_names_outside_gb2312_are_drawn_and_extractable(renderer, tmp_path):
    text = pdf_text(renderer.pdf(face()), tmp_path)
    for name in ("王喆", "李堃", "张昇", "赵珺"):
        assert name in text
    assert UNIT in text
    assert "不动产权证书" in text
    assert "吉(2026)长春市不动产权第0000001号" in text


def test_a_character_outside_the_common_cut_falls_back_to_the_whole_face(renderer, tmp_path):
    """䶮 (U+4DAE, CJK Extension A) is not in the fast common cut of the font; it must still print."""
    assert (renderer.font.path.parent / fonts.COMMON_FILE).is_file(), "make setup cuts the common font"
    data = renderer.pdf(face(rows=(("权利人", "刘䶮、王喆"),)))
    assert "刘䶮" in pdf_text(data, tmp_path)
    embedded = subprocess.run(["pdffonts", "-"], input=data, capture_output=True).stdout.decode()
    assert embedded.count("CID Type 0C") == 2  # the common cut and, for 䶮 alone, the whole face
    common_only = subprocess.run(["pdffonts", "-"], input=renderer.pdf(face()), capture_output=True).stdout.decode()
    assert common_only.count("CID Type 0C") == 1


def test_a_character_the_font_lacks_is_refused_naming_it(renderer):
    with pytest.raises(fonts.MissingGlyphs) as refused:
        renderer.pdf(face(rows=(("权利人", "王\U0001F600"),)))
    assert refused.value.chars == ["\U0001F600"]
    assert "U+1F600" in str(refused.value)


def test_rendering_reads_only_its_font_and_templates(renderer, tmp_path):
    before = list(renderer.fetcher.fetched)
    assert before, "the font is read through the fetcher when the renderer is made"
    hostile = '<img src="http://127.0.0.1:9/x.png"><link rel="stylesheet" href="file:///etc/passwd">'
    text = pdf_text(renderer.pdf(face(notes=hostile)), tmp_path)
    assert "127.0.0.1:9/x.png" in re.sub(r"\s", "", text)  # printed as text, not fetched
    assert renderer.fetcher.fetched == before  # nothing more was read
    assert all(url.startswith(renderer.font.path.parent.as_uri()) for url in renderer.fetcher.fetched)
    for url in ("http://127.0.0.1:9/x.png", "https://example.org/a.css", "file:///etc/passwd",
                renderer.font.path.parent.as_uri() + "/../../etc/passwd", "data:text/plain,hi"):
        with pytest.raises(FetchRefused):
            renderer.fetcher.fetch(url)


def test_a_missing_font_is_a_clear_error(tmp_path):
    with pytest.raises(fonts.FontMissing, match="make setup"):
        fonts.load(tmp_path / "none.otf")
    (tmp_path / "bad.otf").write_bytes(b"not a font")
    with pytest.raises(fonts.FontMissing, match="cannot be read"):
        fonts.load(tmp_path / "bad.otf")


def test_a_missing_font_stops_the_app_at_start_up(tmp_path):
    from app import create_app

    with pytest.raises(fonts.FontMissing, match="fonts-noto-cjk"):
        create_app("test", CERTIFICATE_FONT=str(tmp_path / "missing.otf"))


def _pdfsig(data: bytes, tmp_path) -> str:
    path = tmp_path / "s.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdfsig", str(path)], capture_output=True, text=True).stdout


def test_signed_pdf_verifies_and_a_one_byte_change_does_not(renderer, signer, tmp_path):
    signed = signer.sign(renderer.pdf(face()), reason="不动产登记电子证照", location="长春市")
    verdict = signing.verify(signed, [signer.certificate])
    assert verdict.ok, verdict
    altered = bytearray(signed)
    position = len(signed) // 3  # inside the signed byte range (the signature sits near the end)
    altered[position] ^= 0x01
    broken = signing.verify(bytes(altered), [signer.certificate])
    assert not broken.ok
    assert not broken.intact
    assert not signing.verify(signed + b"\n%appended\n", [signer.certificate]).whole_file
    other = signing.Signer(signing.make_development_pkcs12("别的机构", b"x"), b"x")
    assert not signing.verify(other.sign(renderer.pdf(face())), [signer.certificate]).trusted
    assert not signing.verify(renderer.pdf(face()), [signer.certificate]).signed
    assert shutil.which("pdfsig"), "make setup installs poppler-utils"
    assert "Signature is Valid." in _pdfsig(signed, tmp_path)
    assert "Signature is Valid." not in _pdfsig(bytes(altered), tmp_path)
    assert "Digest Mismatch." in _pdfsig(bytes(altered), tmp_path)


def test_a_key_file_that_cannot_be_opened_is_a_clear_error():
    data = signing.make_development_pkcs12("长春市自然资源局", b"right")
    with pytest.raises(signing.KeyError_, match="cannot be opened"):
        signing.Signer(data, b"wrong")
