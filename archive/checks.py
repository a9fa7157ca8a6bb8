"""Four-property checks (四性检测) of one archival package, after DA/T 70-2018.

At filing (GD, 归档) and in long-term preservation (BC, 长期保存) a package is checked for
authenticity, integrity, usability and security; every item passes, fails or is skipped with a
sentence in Chinese and English saying why, naming the files and the expected and found values.
A bad package never raises: the item that cannot be satisfied fails and says so.

The metadata the checks read is the package's data/metadata.json (see archive.package). Besides
the "files" list the package writes itself, they expect MANDATORY_FIELDS; every key named "at" or
ending in "_at" holds an ISO 8601 time with its UTC offset, and timeline entries are in time order.
"""

import hashlib
import io
import json
import re
import struct
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from archive import codes
from archive.package import (
    METADATA_JSON,
    METADATA_XML,
    XML_NAMESPACE,
    PackageError,
    Problem,
    forbidden_character,
    read_package,
    validate_package,
)

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
JPEG = "image/jpeg"
PNG = "image/png"
TIFF = "image/tiff"
OFD = "application/ofd"
DEFAULT_FORMATS = frozenset({PDF, DOCX, JPEG, PNG, TIFF, OFD})

MANDATORY_FIELDS = ("archival_code", "title", "fonds", "category", "year", "retention", "org", "item", "case_no",
                    "service", "closed_at", "timeline")
FILE_FIELDS = ("path", "kind", "title", "media_type", "size", "sha256", "sha512")

# Item code → (property, name in DA/T 70, English name), in report order.
ITEMS = {
    "1-1": ("authenticity", "固化信息有效性", "Validity of signatures and seals"),
    "1-2-3": ("authenticity", "设定值域符合度", "Values within their code tables"),
    "1-2-4": ("authenticity", "数据值合理性", "Plausible data values"),
    "1-2-5": ("authenticity", "特殊字符", "Special characters"),
    "1-2-6": ("authenticity", "档号规范性", "Archival code format"),
    "1-2-7": ("authenticity", "重复性", "Duplicates"),
    "1-3": ("authenticity", "内容真实性", "Content authenticity"),
    "1-4": ("authenticity", "元数据与内容关联一致性", "Metadata linked to content"),
    "1-5": ("authenticity", "归档信息包真实性", "Package authenticity"),
    "2-1": ("integrity", "数据总量", "Totals"),
    "2-2": ("integrity", "元数据完整性", "Metadata completeness"),
    "2-2-3": ("integrity", "档号连续性", "Continuity of archival codes"),
    "2-3": ("integrity", "内容完整性", "Content completeness"),
    "2-4": ("integrity", "归档信息包完整性", "Package completeness"),
    "3-1": ("usability", "元数据可读", "Metadata readable"),
    "3-2": ("usability", "内容格式合规", "Content formats"),
    "3-4": ("usability", "信息包可用", "Package usable"),
    "4-1": ("security", "病毒检测", "Virus scan"),
    "4-1-2": ("security", "活动内容", "Active content"),
    "4-2": ("security", "载体安全性", "Carrier security"),
    "4-3": ("security", "过程安全性", "Process security"),
}
STAGES = ("GD", "BC")

_EXECUTABLES = {
    b"\x7fELF": "ELF",
    b"MZ": "PE (Windows)",
    b"\xfe\xed\xfa\xce": "Mach-O",
    b"\xfe\xed\xfa\xcf": "Mach-O",
    b"\xce\xfa\xed\xfe": "Mach-O",
    b"\xcf\xfa\xed\xfe": "Mach-O",
    b"\xca\xfe\xba\xbe": "Mach-O universal / Java class",
    b"#!": "script (#!)",
}
_PDF_ACTIVE = {b"JavaScript", b"JS", b"Launch", b"EmbeddedFile", b"EmbeddedFiles"}
_PDF_NAME = re.compile(rb"/([^\s/<>\[\]()%{}]+)")
_INFLATE_LIMIT = 64 * 1024 * 1024  # object streams of one PDF, unpacked: plenty for real files, not for bombs
_UNZIP_LIMIT = 1024 * 1024 * 1024
_LISTED = 10


@dataclass(frozen=True)
class CheckItem:
    property: str
    code: str
    name: str
    result: str  # pass | fail | skipped
    reason: str
    reason_en: str


@dataclass(frozen=True)
class Report:
    stage: str
    items: tuple[CheckItem, ...]

    @property
    def passed(self) -> bool:
        return not self.failures()

    def failures(self) -> list[CheckItem]:
        return [item for item in self.items if item.result == "fail"]

    def to_dict(self) -> dict:
        return {"stage": self.stage, "passed": self.passed, "items": [asdict(item) for item in self.items]}

    @classmethod
    def from_dict(cls, d) -> "Report":
        return cls(stage=d["stage"], items=tuple(CheckItem(**item) for item in d["items"]))


@dataclass(frozen=True)
class Expectation:
    archival_code: str
    sha256: str | None
    sha512: str | None
    size: int | None
    file_count: int
    byte_count: int
    files: dict[str, str]
    series_numbers: tuple[int, ...]
    duplicates: int
    locked: bool | None
    read_back_verified: bool
    events_logged: bool


def _item(code: str, result: str, zh: str, en: str) -> CheckItem:
    prop, name, _ = ITEMS[code]
    return CheckItem(prop, code, name, result, zh, en)


def _listing(lines: list[tuple[str, str]]) -> tuple[str, str]:
    """Findings joined into one Chinese and one English text, the first few in full."""
    shown = lines[:_LISTED]
    zh, en = "；".join(z for z, _ in shown), "; ".join(e for _, e in shown)
    if len(lines) > _LISTED:
        zh += f"；等共 {len(lines)} 项"
        en += f"; {len(lines) - _LISTED} more"
    return zh, en


def _verdict(code: str, findings: list[tuple[str, str]], ok: tuple[str, str]) -> CheckItem:
    if findings:
        return _item(code, "fail", *_listing(findings))
    return _item(code, "pass", *ok)


def _numbers(numbers: list[int]) -> str:
    """1, 3–5, 9: runs of consecutive numbers shown as ranges."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


@dataclass
class _View:
    """What the checks need from the package, read once. `files` is None when there is no usable
    package, `metadata` None when data/metadata.json is unusable; the *_why pairs say why."""

    data: bytes | None
    files: dict[str, bytes] | None = None
    files_why: tuple[str, str] = ("", "")
    metadata: dict | None = None
    metadata_why: tuple[str, str] = ("", "")
    entries: dict[str, dict] = field(default_factory=dict)
    content: dict[str, bytes] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _view(data: bytes | None) -> _View:
    view = _View(data)
    if data is None:
        view.files_why = view.metadata_why = ("存储中找不到信息包", "the package is missing from the store")
        return view
    try:
        view.files = read_package(data)
    except PackageError as e:
        view.files_why = view.metadata_why = (f"信息包无法安全读取：{e}", f"the package cannot be read safely: {e}")
        view.problems = [Problem("unreadable", actual=str(e))]
        return view
    view.problems = validate_package(data)
    view.content = {path: content for path, content in view.files.items()
                    if path.startswith("data/") and path not in (METADATA_JSON, METADATA_XML)}
    if METADATA_JSON not in view.files:
        view.metadata_why = (f"信息包中没有 {METADATA_JSON}", f"the package has no {METADATA_JSON}")
        return view
    try:
        metadata = json.loads(view.files[METADATA_JSON])
    except (ValueError, RecursionError) as e:
        view.metadata_why = (f"{METADATA_JSON} 不是有效的 JSON：{e}", f"{METADATA_JSON} is not valid JSON: {e}")
        return view
    entries = metadata.get("files") if isinstance(metadata, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("path"), str)
                                                for e in entries):
        view.metadata_why = (f"{METADATA_JSON} 不是含 files 文件列表的对象",
                             f"{METADATA_JSON} is not an object with a list of files")
        return view
    view.metadata = metadata
    view.entries = {entry["path"]: entry for entry in entries}
    return view


def _zip_names(data: bytes) -> set[str] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None


def _sniff(data: bytes) -> str | None:
    """The media type the first bytes show, for the formats the checks know."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if data.startswith(b"PK\x03\x04"):
        names = _zip_names(data) or set()
        if "word/document.xml" in names:
            return DOCX
        if "OFD.xml" in names:
            return OFD
        return "application/zip"
    return None


def _executable(data: bytes) -> str | None:
    return next((kind for magic, kind in _EXECUTABLES.items() if data.startswith(magic)), None)


def _pdf_active_content(data: bytes) -> list[str]:
    """Names of active-content keys in a PDF, including those spelt with #xx escapes and those inside
    compressed object streams (other compressed streams hold page content and fonts, not dictionaries)."""
    found = _active_names(data)
    budget = _INFLATE_LIMIT
    for match in re.finditer(rb"stream\r?\n", data):
        header = data[max(0, data.rfind(b"obj", 0, match.start())):match.start()]
        if b"/ObjStm" in header and budget > 0:
            end = data.find(b"endstream", match.end())
            try:
                inflated = zlib.decompressobj().decompress(data[match.end():end], budget)
            except zlib.error:
                continue
            budget -= len(inflated)
            found |= _active_names(inflated)
    return sorted(found)


def _active_names(text: bytes) -> set[str]:
    found = set()
    for name in _PDF_NAME.findall(text):
        name = re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), name)
        if name in _PDF_ACTIVE:
            found.add("/" + name.decode())
    return found


def _zip_problem(data: bytes, required: set[str]) -> tuple[str, str] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            if unpacked > _UNZIP_LIMIT:
                return f"解压后 {unpacked} 字节，超过上限", f"unpacks to {unpacked} bytes, over the limit"
            damaged = archive.testzip()
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError, zlib.error) as e:
        return f"不是可读的 ZIP 包：{e}", f"not a readable zip: {e}"
    if damaged is not None:
        return f"压缩包内 {damaged} 已损坏", f"its member {damaged} is damaged"
    if required - names:
        missing = ", ".join(sorted(required - names))
        return f"缺少 {missing}", f"{missing} is missing"
    return None


def _open_problem(media_type: str, data: bytes) -> tuple[str, str] | None:
    """Why DATA does not open as MEDIA_TYPE, or None."""
    if media_type == PDF:
        if not data.startswith(b"%PDF-"):
            return "不以 %PDF- 开头", "does not start with %PDF-"
        if b"%%EOF" not in data[-1024:]:
            return "结尾没有 %%EOF，文件可能不完整", "has no %%EOF at the end and may be truncated"
    elif media_type == DOCX:
        return _zip_problem(data, {"[Content_Types].xml", "word/document.xml"})
    elif media_type == OFD:
        return _zip_problem(data, {"OFD.xml"})
    elif media_type == PNG:
        if not (data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and len(data) >= 24
                and 0 not in struct.unpack(">II", data[16:24])):
            return "PNG 文件头无效", "has no valid PNG header"
    elif media_type == JPEG:
        if not (data.startswith(b"\xff\xd8\xff") and len(data) > 4):
            return "JPEG 文件头无效", "has no valid JPEG header"
    elif media_type == TIFF:
        order = {b"II": "<", b"MM": ">"}.get(data[:2])
        magic, first_directory = struct.unpack(order + "HI", data[2:8]) if order and len(data) >= 8 else (0, 0)
        if magic != 42 or not 8 <= first_directory < len(data):
            return "TIFF 文件头无效", "has no valid TIFF header"
    return None


def _walk(value, where: str = ""):
    """(where, key, value) for every member of nested dicts and lists; key is None in lists."""
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            yield path, key, item
            yield from _walk(item, path)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield f"{where}[{i}]", None, item
            yield from _walk(item, f"{where}[{i}]")


def _blank(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


@dataclass(frozen=True)
class _Options:
    stage: str
    verify_signature: Callable[[bytes], tuple[bool, str]] | None
    scan: Callable[[bytes], str | None] | None
    allowed_media_types: frozenset[str]


def _unavailable(code: str, why: tuple[str, str]) -> CheckItem:
    return _item(code, "fail", f"无法检测：{why[0]}", f"cannot check: {why[1]}")


def _signatures(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    if view.files is None:
        return _unavailable("1-1", view.files_why)
    signed = [path for path, data in sorted(view.content.items()) if data.startswith(b"%PDF-")
              and (view.entries.get(path, {}).get("kind") == "certificate" or b"/ByteRange" in data)]
    if not signed:
        return _item("1-1", "skipped", "信息包中没有带电子签章的 PDF 文件，无需验证",
                     "the package holds no signed PDF; nothing to verify")
    names = ", ".join(signed)
    if opts.verify_signature is None:
        return _item("1-1", "skipped", f"未配置签章验证程序，{len(signed)} 个签章文件未验证：{names}",
                     f"no signature verifier is configured; {len(signed)} signed file(s) not verified: {names}")
    findings = []
    for path in signed:
        try:
            ok, why = opts.verify_signature(view.content[path])
        except Exception as e:  # a verifier that breaks on a file has not verified it
            ok, why = False, f"{type(e).__name__}: {e}"
        if not ok:
            findings.append((f"{path} 的签章验证未通过：{why}", f"{path}: the signature does not verify: {why}"))
    return _verdict("1-1", findings, (f"{len(signed)} 个签章文件验证通过：{names}",
                                      f"{len(signed)} signed file(s) verified: {names}"))


def _code_tables(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    if view.metadata is None:
        return _unavailable("1-2-3", view.metadata_why)
    findings = []
    for key, table, zh in (("retention", codes.RETENTION, "保管期限代码"), ("category", codes.CATEGORIES, "门类代码")):
        value = view.metadata.get(key)
        if not (isinstance(value, str) and value in table):
            allowed = "/".join(table)
            findings.append((f"{zh}（{key}）为 {value!r}，不在 {allowed} 之内",
                             f"{key} is {value!r}, not one of {allowed}"))
    retention, category = view.metadata.get("retention"), view.metadata.get("category")
    return _verdict("1-2-3", findings, (f"保管期限 {retention}、门类 {category} 均在代码表内",
                                        f"retention {retention} and category {category} are in their tables"))


def _plausible_values(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    if view.metadata is None:
        return _unavailable("1-2-4", view.metadata_why)
    findings, times = [], {}
    for where, key, value in _walk(view.metadata):
        if not (isinstance(key, str) and (key == "at" or key.endswith("_at"))) or value is None:
            continue
        try:
            moment = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            moment = None
        if moment is None:
            findings.append((f"{where} 的值 {value!r} 不是 ISO 8601 时间",
                             f"{where} is {value!r}, not an ISO 8601 time"))
        elif moment.tzinfo is None:
            findings.append((f"{where} 的时间 {value} 没有时区", f"{where} ({value}) has no UTC offset"))
        else:
            times[where] = moment
    for earlier, later in (("submitted_at", "closed_at"), ("closed_at", "filed_at")):
        if earlier in times and later in times and times[earlier] > times[later]:
            findings.append((f"{earlier}（{times[earlier].isoformat()}）晚于 {later}（{times[later].isoformat()}）",
                             f"{earlier} ({times[earlier].isoformat()}) is after {later} ({times[later].isoformat()})"))
    timeline = view.metadata.get("timeline")
    moments = [times.get(f"timeline[{i}].at") for i in range(len(timeline))] if isinstance(timeline, list) else []
    for i in range(1, len(moments)):
        if moments[i - 1] and moments[i] and moments[i - 1] > moments[i]:
            before, after = moments[i - 1].isoformat(), moments[i].isoformat()
            findings.append((f"办理过程第 {i + 1} 条（{after}）早于前一条（{before}）",
                             f"timeline entry {i + 1} ({after}) is before the one before it ({before})"))
    year = view.metadata.get("year")
    this_year = datetime.now(UTC).year
    if type(year) is not int or not 1900 <= year <= this_year + 1:
        findings.append((f"年度 {year!r} 不合理（应在 1900–{this_year + 1} 之间）",
                         f"year {year!r} is implausible (expected 1900–{this_year + 1})"))
    elif "closed_at" in times and abs(year - times["closed_at"].year) > 1:
        # One year either way: closed_at may be written in UTC while the year is the bureau's.
        findings.append((f"年度 {year} 与办结时间 {times['closed_at'].isoformat()} 不符",
                         f"year {year} does not agree with closed_at {times['closed_at'].isoformat()}"))
    return _verdict("1-2-4", findings, (f"{len(times)} 个时间均可解析且先后有序，年度 {year} 合理",
                                        f"{len(times)} times parse and are in order; year {year} is plausible"))


def _special_characters(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    if view.metadata is None:
        return _unavailable("1-2-5", view.metadata_why)
    findings = []
    for where, key, value in _walk(view.metadata):
        for text, zh, en in ((key, "字段名", "the key of"), (value, "字段", "")):
            char = forbidden_character(text) if isinstance(text, str) else None
            if char is not None:
                findings.append((f"{zh} {where} 含控制字符 U+{ord(char):04X}",
                                 f"{en} {where} contains the control character U+{ord(char):04X}".strip()))
    return _verdict("1-2-5", findings, ("元数据中没有控制字符等特殊字符", "no control characters in the metadata"))


def _code_format(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    if view.metadata is None:
        return _unavailable("1-2-6", view.metadata_why)
    text = view.metadata.get("archival_code")
    try:
        code = codes.parse(text)
    except ValueError as e:
        return _item("1-2-6", "fail", f"元数据中的档号 {text!r} 不规范：{e}",
                     f"the archival code {text!r} is malformed: {e}")
    try:
        recorded = codes.parse(expect.archival_code)
    except ValueError as e:
        return _item("1-2-6", "fail", f"系统记录的档号 {expect.archival_code!r} 不规范：{e}",
                     f"the recorded archival code {expect.archival_code!r} is malformed: {e}")
    findings = []
    if code != recorded:
        findings.append((f"元数据中的档号 {text} 与系统记录的 {expect.archival_code} 不一致",
                         f"the metadata's archival code {text} differs from the recorded {expect.archival_code}"))
    for key in ("fonds", "category", "year", "retention", "org", "item"):
        if view.metadata.get(key) != getattr(code, key):
            findings.append((f"字段 {key} 为 {view.metadata.get(key)!r}，档号中为 {getattr(code, key)!r}",
                             f"{key} is {view.metadata.get(key)!r} but the archival code says {getattr(code, key)!r}"))
    return _verdict("1-2-6", findings, (f"档号 {text} 格式规范，与系统记录及各字段一致",
                                        f"the archival code {text} is well formed and agrees with the record"))


def _duplicates(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    if expect.duplicates:
        return _item("1-2-7", "fail", f"另有 {expect.duplicates} 条记录使用同一档号 {expect.archival_code}",
                     f"{expect.duplicates} other record(s) carry the same archival code {expect.archival_code}")
    return _item("1-2-7", "pass", f"档号 {expect.archival_code} 没有重复",
                 f"no other record carries {expect.archival_code}")


def _content_authentic(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    if view.metadata is None:
        return _unavailable("1-3", view.metadata_why)
    findings = []
    checked = 0
    for path, entry in sorted(view.entries.items()):
        data = view.content.get(path)
        if data is None:
            continue  # reported by 1-4
        checked += 1
        if entry.get("size") != len(data):
            findings.append((f"{path} 大小应为 {entry.get('size')} 字节，实为 {len(data)} 字节",
                             f"{path}: size should be {entry.get('size')} bytes, found {len(data)}"))
        actual = hashlib.sha256(data).hexdigest()
        if entry.get("sha256") != actual:
            findings.append((f"{path} 的 SHA-256 应为 {entry.get('sha256')}，实为 {actual}",
                             f"{path}: SHA-256 should be {entry.get('sha256')}, found {actual}"))
        declared, sniffed = entry.get("media_type"), _sniff(data)
        if (declared in DEFAULT_FORMATS or sniffed in DEFAULT_FORMATS) and declared != sniffed:
            findings.append((f"{path} 声明为 {declared}，内容实为 {sniffed or '未知格式'}",
                             f"{path} is declared {declared} but its content is {sniffed or 'of an unknown format'}"))
    return _verdict("1-3", findings, (f"{checked} 个文件的大小、格式和 SHA-256 与元数据一致",
                                      f"size, format and SHA-256 of {checked} file(s) agree with the metadata"))


def _metadata_linked(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    if view.metadata is None:
        return _unavailable("1-4", view.metadata_why)
    findings = [(f"元数据著录的 {path} 在信息包中没有内容", f"{path} is described in the metadata but has no content")
                for path in sorted(set(view.entries) - set(view.content))]
    findings += [(f"{path} 在元数据中没有著录", f"{path} is not described in the metadata")
                 for path in sorted(set(view.content) - set(view.entries))]
    return _verdict("1-4", findings, (f"{len(view.entries)} 条文件著录与内容一一对应",
                                      f"{len(view.entries)} file description(s) match the content one to one"))


def _package_authentic(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    if expect.sha256 is None and expect.sha512 is None and expect.size is None:
        if opts.stage == "GD":
            return _item("1-5", "skipped", "归档时信息包尚未存储，没有记录的摘要可比对",
                         "at filing the package is not stored yet; there is no recorded digest to compare")
        return _item("1-5", "fail", "系统没有记录信息包的摘要和大小，无法证明其未被改动",
                     "the record holds no digest or size of the package, so nothing shows it is unchanged")
    if view.data is None:
        return _unavailable("1-5", view.files_why)
    findings = []
    if expect.size is not None and expect.size != len(view.data):
        findings.append((f"信息包大小应为 {expect.size} 字节，实为 {len(view.data)} 字节",
                         f"the package should be {expect.size} bytes, found {len(view.data)}"))
    for alg, expected in (("sha256", expect.sha256), ("sha512", expect.sha512)):
        actual = hashlib.new(alg, view.data).hexdigest()
        if expected is not None and expected != actual:
            findings.append((f"信息包的 {alg.upper()} 应为 {expected}，实为 {actual}",
                             f"the package's {alg.upper()} should be {expected}, found {actual}"))
    return _verdict("1-5", findings, ("信息包的大小和摘要与存储时的记录一致",
                                      "the package's size and digests match those recorded when it was stored"))


def _totals(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    if view.files is None:
        return _unavailable("2-1", view.files_why)
    count, total = len(view.content), sum(len(data) for data in view.content.values())
    findings = []
    if count != expect.file_count:
        findings.append((f"总件数应为 {expect.file_count}，实为 {count}",
                         f"the file count should be {expect.file_count}, found {count}"))
    if total != expect.byte_count:
        findings.append((f"总字节数应为 {expect.byte_count}，实为 {total}",
                         f"the byte total should be {expect.byte_count}, found {total}"))
    return _verdict("2-1", findings, (f"总件数 {count}、总字节数 {total} 与归档登记相符",
                                      f"{count} file(s) and {total} bytes, as registered"))


def _metadata_complete(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    if view.metadata is None:
        return _unavailable("2-2", view.metadata_why)
    absent = [key for key in MANDATORY_FIELDS if _blank(view.metadata.get(key))]
    findings = []
    if absent:
        findings.append((f"缺少必备字段：{', '.join(absent)}", f"mandatory fields missing: {', '.join(absent)}"))
    if not isinstance(view.metadata.get("timeline"), list) and "timeline" not in absent:
        findings.append(("办理过程（timeline）应为列表", "timeline should be a list"))
    for path, entry in sorted(view.entries.items()):
        gaps = [key for key in FILE_FIELDS if _blank(entry.get(key))]
        if gaps:
            findings.append((f"文件 {path} 的著录缺少：{', '.join(gaps)}",
                             f"the entry for {path} lacks {', '.join(gaps)}"))
    return _verdict("2-2", findings, ("必备字段和办理过程元数据齐全",
                                      "mandatory fields and the process timeline are present"))


def _code_continuity(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    try:
        code = codes.parse(expect.archival_code)
    except ValueError as e:
        return _item("2-2-3", "fail", f"系统记录的档号不规范：{e}", f"the recorded archival code is malformed: {e}")
    numbers = set(expect.series_numbers)
    series = f"{code.fonds}-{code.category}·{code.year}-{code.retention}-{code.org}"
    findings = []
    if code.item not in numbers:
        findings.append((f"本件件号 {code.item} 未登记在序列 {series} 中",
                         f"this record's item number {code.item} is not recorded in the series {series}"))
    last = max(numbers | {code.item})
    gaps = sorted(set(range(1, last + 1)) - numbers - {code.item})
    if gaps:
        findings.append((f"序列 {series} 的件号 1–{last} 中缺少 {_numbers(gaps)}",
                         f"the series {series} is missing item number(s) {_numbers(gaps)} of 1–{last}"))
    return _verdict("2-2-3", findings, (f"序列 {series} 的件号 1–{last} 连续无缺号",
                                        f"item numbers 1–{last} of the series {series} have no gaps"))


def _content_complete(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    if view.files is None:
        return _unavailable("2-3", view.files_why)
    findings = []
    for path, expected in sorted(expect.files.items()):
        data = view.content.get(path)
        if data is None:
            findings.append((f"登记的文件 {path} 不在信息包中", f"the registered file {path} is not in the package"))
        elif hashlib.sha256(data).hexdigest() != expected:
            actual = hashlib.sha256(data).hexdigest()
            findings.append((f"{path} 的 SHA-256 应为 {expected}，实为 {actual}",
                             f"{path}: SHA-256 should be {expected}, found {actual}"))
    findings += [(f"{path} 未在归档登记中", f"{path} is not in the registration")
                 for path in sorted(set(view.content) - set(expect.files))]
    return _verdict("2-3", findings, (f"登记的 {len(expect.files)} 个文件齐全且内容一致",
                                      f"all {len(expect.files)} registered file(s) are present and unchanged"))


def _package_complete(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    if view.data is None:
        return _unavailable("2-4", view.files_why)
    findings = [(p.describe("zh"), p.describe("en")) for p in view.problems]
    return _verdict("2-4", findings, ("BagIt 信息包完整有效：清单、标签清单和 Payload-Oxum 均核对无误",
                                      "the BagIt package is complete and valid: manifests, tag manifests and "
                                      "Payload-Oxum all verify"))


def _metadata_readable(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    if view.files is None:
        return _unavailable("3-1", view.files_why)
    findings = []
    if view.metadata is None:
        findings.append(view.metadata_why)
    xml = view.files.get(METADATA_XML)
    if xml is None:
        findings.append((f"信息包中没有 {METADATA_XML}", f"the package has no {METADATA_XML}"))
    else:
        try:
            # expat (≥ 2.4) refuses entity amplification and ElementTree never loads external entities.
            root = ET.fromstring(xml)  # noqa: S314
        except ET.ParseError as e:
            root = None
            findings.append((f"{METADATA_XML} 无法解析：{e}", f"{METADATA_XML} does not parse: {e}"))
        if root is not None and root.tag != f"{{{XML_NAMESPACE}}}archiveRecord":
            findings.append((f"{METADATA_XML} 的根元素为 {root.tag}",
                             f"the root element of {METADATA_XML} is {root.tag}"))
        elif root is not None and view.metadata is not None:
            in_xml, in_json = root.findtext(f"{{{XML_NAMESPACE}}}archival_code"), view.metadata.get("archival_code")
            if in_xml != in_json:
                findings.append((f"{METADATA_XML} 的档号 {in_xml!r} 与 JSON 的 {in_json!r} 不一致",
                                 f"{METADATA_XML} gives the archival code {in_xml!r}, the JSON {in_json!r}"))
    return _verdict("3-1", findings, ("metadata.json 和 metadata.xml 均可解析，档号一致",
                                      "metadata.json and metadata.xml both parse and agree on the archival code"))


def _formats(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    if view.files is None:
        return _unavailable("3-2", view.files_why)
    findings = []
    for path, data in sorted(view.content.items()):
        media_type = view.entries.get(path, {}).get("media_type") or _sniff(data) or "unknown"
        if media_type not in opts.allowed_media_types:
            findings.append((f"{path} 的格式 {media_type} 不在允许的归档格式内",
                             f"{path}: the format {media_type} is not an allowed archival format"))
            continue
        problem = _open_problem(media_type, data)
        if problem is not None:
            findings.append((f"{path} 无法作为 {media_type} 打开：{problem[0]}",
                             f"{path} does not open as {media_type}: {problem[1]}"))
    return _verdict("3-2", findings, (f"{len(view.content)} 个内容文件均为允许的格式且可以打开",
                                      f"all {len(view.content)} content file(s) are in allowed formats and open"))


def _package_usable(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    if view.files is None:
        return _unavailable("3-4", view.files_why)
    findings = []
    if "bagit.txt" not in view.files:
        findings.append(("信息包中没有 bagit.txt", "the package has no bagit.txt"))
    if not any(name.startswith("manifest-") for name in view.files):
        findings.append(("信息包中没有清单文件（manifest）", "the package has no payload manifest"))
    if view.metadata is None:
        findings.append(view.metadata_why)
    else:
        findings += [(f"目录（metadata.json）没有列出 {path}", f"the catalogue (metadata.json) does not list {path}")
                     for path in sorted(set(view.content) - set(view.entries))]
    return _verdict("3-4", findings, (
        f"信息包可以打开，目录列出全部 {len(view.content)} 个内容文件",
        f"the package opens and its catalogue lists all {len(view.content)} content file(s)"))


def _virus_scan(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    if view.files is None:
        return _unavailable("4-1", view.files_why)
    if opts.scan is None:
        return _item("4-1", "skipped", "未配置病毒扫描程序，未进行病毒检测",
                     "no virus scanner is configured; not scanned")
    findings = []
    for path, data in sorted(view.files.items()):
        try:
            threat = opts.scan(data)
        except Exception as e:  # a scanner that breaks on a file has not cleared it
            error = f"{type(e).__name__}: {e}"
            findings.append((f"{path} 扫描出错：{error}", f"{path}: the scan failed: {error}"))
            continue
        if threat:
            findings.append((f"{path} 发现病毒：{threat}", f"{path}: threat found: {threat}"))
    return _verdict("4-1", findings, (f"已扫描 {len(view.files)} 个文件，未发现病毒",
                                      f"{len(view.files)} file(s) scanned; no threat found"))


def _active_content(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    if view.files is None:
        return _unavailable("4-1-2", view.files_why)
    findings = []
    for path, data in sorted(view.files.items()):
        kind = _executable(data)
        if kind:
            findings.append((f"{path} 是可执行文件（{kind}）", f"{path} is an executable ({kind})"))
        elif data.startswith(b"%PDF-") and (names := _pdf_active_content(data)):
            findings.append((f"{path} 含活动内容 {' '.join(names)}", f"{path} holds active content {' '.join(names)}"))
        elif data.startswith(b"PK\x03\x04") and any(n.endswith("vbaProject.bin") for n in _zip_names(data) or ()):
            findings.append((f"{path} 含宏（vbaProject.bin）", f"{path} holds macros (vbaProject.bin)"))
    return _verdict("4-1-2", findings, ("没有可执行文件、脚本、宏或含脚本、启动动作、嵌入文件的 PDF",
                                        "no executables, scripts, macros, or PDFs with scripts, launch actions or "
                                        "embedded files"))


def _carrier(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    if view.files is None:
        return _unavailable("4-2", view.files_why)
    findings = [(p.describe("zh"), p.describe("en")) for p in view.problems if p.kind == "extra"]
    return _verdict("4-2", findings, ("信息包内没有清单以外的文件，也没有链接、设备或越出目录的条目",
                                      "no files outside the manifests and no links, devices or paths leaving the "
                                      "package"))


def _process(view: _View, expect: Expectation, opts: _Options) -> CheckItem:
    findings = []
    if not expect.read_back_verified:
        findings.append(("上传后未回读校验或回读不一致", "the upload was not read back and matched"))
    if not expect.events_logged:
        findings.append(("归档操作未记入审计日志", "the ingest is not in the audit trail"))
    if expect.locked is False:
        findings.append(("对象锁定未生效", "object lock not applied"))
    if expect.locked is None:
        ok = ("回读校验一致，已记入审计日志；未检测对象锁定（存储不支持，或归档时于提交后施加）",
              "read back and matched, and logged; object lock not checked (the store has none, or at filing it "
              "is applied after the commit)")
    else:
        ok = ("回读校验一致，已记入审计日志，对象锁定已生效",
              "read back and matched, logged, and the object lock is applied")
    return _verdict("4-3", findings, ok)


_CHECKS = {
    "1-1": _signatures,
    "1-2-3": _code_tables,
    "1-2-4": _plausible_values,
    "1-2-5": _special_characters,
    "1-2-6": _code_format,
    "1-2-7": _duplicates,
    "1-3": _content_authentic,
    "1-4": _metadata_linked,
    "1-5": _package_authentic,
    "2-1": _totals,
    "2-2": _metadata_complete,
    "2-2-3": _code_continuity,
    "2-3": _content_complete,
    "2-4": _package_complete,
    "3-1": _metadata_readable,
    "3-2": _formats,
    "3-4": _package_usable,
    "4-1": _virus_scan,
    "4-1-2": _active_content,
    "4-2": _carrier,
    "4-3": _process,
}


def four_property_check(package: bytes | None, expect: Expectation, *, stage: str = "GD",
                        verify_signature: Callable[[bytes], tuple[bool, str]] | None = None,
                        scan: Callable[[bytes], str | None] | None = None,
                        allowed_media_types: frozenset[str] = DEFAULT_FORMATS) -> Report:
    """Check PACKAGE (the tar, or None when the store has lost it) against what the records say."""
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, not {stage!r}")
    view = _view(package)
    opts = _Options(stage, verify_signature, scan, allowed_media_types)
    items = []
    for code, check in _CHECKS.items():
        try:
            items.append(check(view, expect, opts))
        except Exception as e:  # whatever a package holds, the report must say so rather than stop
            items.append(_item(code, "fail", f"检测本身出错：{type(e).__name__}: {e}",
                               f"the check itself failed: {type(e).__name__}: {e}"))
    return Report(stage, tuple(items))
