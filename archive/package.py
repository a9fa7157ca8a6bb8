"""Archival information packages: one case is one BagIt bag (RFC 8493), stored as one uncompressed tar.

The bag holds the case's content files under data/ plus data/metadata.json and data/metadata.xml
(the same description twice: JSON for us, XML for tools that expect it). Every payload file is in
manifest-sha256.txt and manifest-sha512.txt, and the tag files in tagmanifest-*.txt. The same input
gives the same bytes, so a package can be rebuilt and compared, and its digest means something.

Payload paths are plain ASCII ([A-Za-z0-9._-] segments): Chinese names stay in the metadata, which
keeps the bag clear of the Unicode-normalisation and case-folding traps between file systems.

validate_package() reports what is wrong the way Archivematica's fixity tool does, one Problem per
finding: "changed" (one per file and algorithm whose digest differs), "missing", "extra",
"missing_manifest", "oxum", "unreadable".
"""

import hashlib
import io
import json
import re
import tarfile
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path


ALGORITHMS = ("sha256", "sha512")
BAGIT_TXT = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
METADATA_JSON = "data/metadata.json"
METADATA_XML = "data/metadata.xml"
XML_NAMESPACE = "urn:smartland:archive:1"
_RESERVED = {"metadata.json", "metadata.xml"}
_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_KIND = re.compile(r"[a-z][a-z0-9_-]{0,15}")
_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

class PackageError(ValueError):
    """The tar cannot be read safely, or a path is not acceptable."""


@dataclass(frozen=True)
class PayloadFile:
    path: str
    data: bytes
    kind: str
    title: str
    original_name: str = ""
    media_type: str = "application/octet-stream"
    created_at: datetime | None = None

    def __post_init__(self):
        segments = self.path.split("/") if isinstance(self.path, str) else [""]
        if not all(_SEGMENT.fullmatch(s) and s not in (".", "..") for s in segments):
            raise ValueError(f"payload path {self.path!r} must be [A-Za-z0-9._-] segments joined by '/', "
                             "relative, without '.' or '..'")
        if self.path in _RESERVED:
            raise ValueError(f"payload path {self.path!r} is reserved for the package's metadata")
        if not isinstance(self.data, bytes):
            raise ValueError(f"payload {self.path!r}: data must be bytes")
        if not isinstance(self.kind, str) or not _KIND.fullmatch(self.kind):
            raise ValueError(f"payload {self.path!r}: kind must be a short lower-case word, not {self.kind!r}")


@dataclass(frozen=True)
class FileEntry:
    path: str
    kind: str
    title: str
    original_name: str
    media_type: str
    size: int
    sha256: str
    sha512: str
    created_at: str | None


@dataclass(frozen=True)
class Package:
    data: bytes
    sha256: str
    sha512: str
    size: int
    files: tuple[FileEntry, ...]
    payload_oxum: str


_DESCRIPTIONS = {
    "changed": ("文件 {path} 的 {algorithm} 摘要不符：应为 {expected}，实为 {actual}。",
                "{path}: the {algorithm} digest has changed: expected {expected}, found {actual}."),
    "missing": ("清单列出的文件 {path} 不在信息包中。", "{path} is listed in a manifest but missing from the package."),
    "extra": ("文件 {path} 不在任何清单中，是多出的文件。", "{path} is in the package but no manifest lists it."),
    "missing_manifest": ("缺少清单文件 {path}。", "The manifest {path} is missing."),
    "oxum": ("Payload-Oxum 不符（字节数.文件数）：应为 {expected}，实为 {actual}。",
             "Payload-Oxum (bytes.files) does not match: expected {expected}, found {actual}."),
    "unreadable": ("信息包无法安全读取{where}：{actual}。", "The package cannot be read safely{where}: {actual}."),
    "package_checksum": ("信息包的 {algorithm} 摘要不符：应为 {expected}，实为 {actual}。",
                         "The package's {algorithm} digest does not match: expected {expected}, found {actual}."),
    "size": ("信息包大小不符：应为 {expected} 字节，实为 {actual} 字节。",
             "The package size does not match: expected {expected} bytes, found {actual}."),
    "object_missing": ("存储中找不到信息包。", "The package is missing from the store."),
}


@dataclass(frozen=True)
class Problem:
    """One finding. For "unreadable", `actual` says why and `path` names the member or tag file."""

    kind: str
    path: str = ""
    algorithm: str = ""
    expected: str = ""
    actual: str = ""

    def describe(self, locale: str = "zh") -> str:
        """One sentence in Chinese (any "zh…" locale) or English (anything else)."""
        zh, en = _DESCRIPTIONS[self.kind]
        chinese = locale.lower().startswith("zh")
        where = (f"（{self.path}）" if chinese else f" ({self.path})") if self.path else ""
        values = asdict(self) | {"where": where}
        return (zh if chinese else en).format(**values)


def _digests(data: bytes) -> dict[str, str]:
    return {alg: hashlib.new(alg, data).hexdigest() for alg in ALGORITHMS}


def forbidden_character(text: str) -> str | None:
    """A control character or non-character XML 1.0 cannot carry (tab and line breaks are fine)."""
    for char in text:
        category = unicodedata.category(char)
        if (category == "Cc" and char not in "\t\n\r") or category == "Cs" or char in "\ufffe\uffff":
            return char
    return None


def _plain(value, where: str):
    """VALUE as JSON-ready data (dates become ISO 8601 text), checked so the XML can say the same."""
    if isinstance(value, dict):
        plain = {}
        for key, item in value.items():
            if not isinstance(key, str) or not _XML_NAME.fullmatch(key):
                raise ValueError(f"metadata key {where}{key!r} must be an ASCII identifier")
            plain[key] = _plain(item, f"{where}{key}.")
        return plain
    if isinstance(value, list | tuple):
        return [_plain(item, f"{where}{i}.") for i, item in enumerate(value)]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        char = forbidden_character(value)
        if char is not None:
            raise ValueError(f"metadata value {where.rstrip('.')} contains the control character U+{ord(char):04X}")
        return value
    if value is None or isinstance(value, bool | int | float):
        return value
    raise ValueError(f"metadata value {where.rstrip('.')} has unsupported type {type(value).__name__}")


def _xml_fill(element: ET.Element, value) -> None:
    if value is None:
        element.set("nil", "true")
    elif isinstance(value, dict):
        for key in sorted(value):
            _xml_fill(ET.SubElement(element, key), value[key])
    elif isinstance(value, list):
        for item in value:
            _xml_fill(ET.SubElement(element, "item"), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)


def metadata_xml(description: dict) -> bytes:
    """The XML form of a package description (keys → elements, lists → <item>, None → nil="true")."""
    # The namespace is declared as a plain attribute: ElementTree's default_namespace option refuses
    # the unqualified nil attribute, and children written without a prefix are in it all the same.
    root = ET.Element("archiveRecord", xmlns=XML_NAMESPACE)
    _xml_fill(root, description)
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def _check_paths(files: list[PayloadFile]) -> None:
    # Compared case-folded: two names that differ only in case overwrite each other on some systems.
    seen = {}
    for f in files:
        folded = f.path.casefold()
        if folded in seen:
            raise ValueError(f"payload paths {seen[folded]!r} and {f.path!r} collide")
        seen[folded] = f.path
    for f in files:
        parts = f.path.casefold().split("/")
        for n in range(1, len(parts)):
            if "/".join(parts[:n]) in seen:
                raise ValueError(f"payload path {f.path!r} puts a file under the file {seen['/'.join(parts[:n])]!r}")


def _manifest(files: dict[str, bytes], alg: str) -> bytes:
    # Sorted, so the same input gives the same bytes; two spaces between digest and path, as bagit-python writes.
    return "".join(f"{hashlib.new(alg, files[name]).hexdigest()}  {name}\n" for name in sorted(files)).encode()


def _bag_info(info: dict[str, str]) -> bytes:
    return "".join(f"{label}: {value}\n" for label, value in sorted(info.items())).encode()


def _tar(files: dict[str, bytes], mtime: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8") as tar:
        for name in sorted(files):
            content = files[name]
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(content), mtime, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def build_package(files: list[PayloadFile], metadata: dict, bag_info: dict[str, str], bagging_date: date) -> Package:
    """Bag FILES with METADATA (plus a "files" list describing them) and return the tar.
    Metadata values may be str, numbers, bool, None, dates, lists and dicts with ASCII identifier keys.

    The bag is written in memory, by RFC 8493 (bagit-python's make_bag would need a directory and
    changes the process's working directory while it runs, which a threaded worker cannot allow);
    the tests check every package with bagit-python's validator."""
    if "files" in metadata:
        raise ValueError("metadata key 'files' is reserved: the package lists its files itself")
    _check_paths(files)
    entries = []
    for f in sorted(files, key=lambda f: f.path):
        digests = _digests(f.data)
        entries.append(FileEntry(
            path=f"data/{f.path}", kind=f.kind, title=f.title, original_name=f.original_name,
            media_type=f.media_type, size=len(f.data), sha256=digests["sha256"], sha512=digests["sha512"],
            created_at=f.created_at.isoformat() if f.created_at else None))
    description = _plain(dict(metadata, files=[asdict(e) for e in entries]), "")
    document_json = (json.dumps(description, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()
    document_xml = metadata_xml(description)

    for label, value in bag_info.items():
        # A line break in a value or a colon in a label would split the label.
        if not re.fullmatch(r"[^:\s](?:[^:\r\n]*[^:\s])?", label) or re.search(r"[\r\n]", str(value)):
            raise ValueError(f"bag-info label {label!r} or its value is not one line of 'Label: value'")
    payload = {f"data/{f.path}": f.data for f in files}
    payload[METADATA_JSON] = document_json
    payload[METADATA_XML] = document_xml
    oxum = _payload_oxum(payload)
    info = {label: str(value) for label, value in bag_info.items()}
    info.update({"Bagging-Date": bagging_date.isoformat(), "Payload-Oxum": oxum,
                 "Bag-Size": f"{sum(len(d) for d in payload.values()) / 2**20:.1f} MB"})
    tags = {"bagit.txt": BAGIT_TXT, "bag-info.txt": _bag_info(info)}
    tags.update({f"manifest-{alg}.txt": _manifest(payload, alg) for alg in ALGORITHMS})
    tags.update({f"tagmanifest-{alg}.txt": _manifest(tags, alg) for alg in ALGORITHMS})
    data = _tar(payload | tags, int(datetime.combine(bagging_date, time(), UTC).timestamp()))
    digests = _digests(data)
    return Package(data=data, sha256=digests["sha256"], sha512=digests["sha512"], size=len(data),
                   files=tuple(entries), payload_oxum=oxum)


def _member_name(member: tarfile.TarInfo) -> str:
    name = member.name
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise PackageError(f"member name {name!r} is not UTF-8")
    if name.startswith("/") or re.match(r"[A-Za-z]:", name) or "\\" in name:
        raise PackageError(f"member {name!r} has an absolute or non-POSIX path")
    parts = name.rstrip("/").split("/") if member.isdir() else name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise PackageError(f"member {name!r} has an unsafe path")
    if member.issym() or member.islnk():
        raise PackageError(f"member {name!r} is a link to {member.linkname!r}")
    if not (member.isreg() or member.isdir()):
        raise PackageError(f"member {name!r} is not a regular file")
    return "/".join(parts)


def read_package(data: bytes) -> dict[str, bytes]:
    """Bag path → content. Refuses (PackageError) anything but plain files and folders under the
    tar's root: links, devices, absolute paths, '..', names that appear twice, and cut-off tars."""
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar:
                name = _member_name(member)
                if member.isdir():
                    continue
                if name in files:
                    raise PackageError(f"member {name!r} appears twice")
                files[name] = tar.extractfile(member).read()
            # tarfile stops quietly at a cut-off header; a whole tar ends with two zero blocks.
            if data[tar.offset:tar.offset + 2 * tarfile.BLOCKSIZE] != bytes(2 * tarfile.BLOCKSIZE):
                raise PackageError("the tar is truncated: it has no end-of-archive marker")
    except PackageError:
        raise
    except (tarfile.TarError, EOFError, OSError, ValueError) as e:
        raise PackageError(f"not a readable tar archive: {e}")
    return files


def read_metadata(data: bytes) -> dict:
    """The package's data/metadata.json."""
    files = read_package(data)
    if METADATA_JSON not in files:
        raise PackageError(f"the package has no {METADATA_JSON}")
    try:
        return json.loads(files[METADATA_JSON])
    except ValueError as e:
        raise PackageError(f"{METADATA_JSON} is not valid JSON: {e}")


def export_package(data: bytes, directory: Path) -> Path:
    """Write the bag's files into DIRECTORY (created; an existing one must be empty)."""
    directory = Path(directory)
    files = read_package(data)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise PackageError(f"{directory} exists and is not an empty directory")
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        target = directory.joinpath(*name.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return directory


def _decode_manifest_path(path: str) -> str:
    return re.sub(r"%(0A|0D|25)", lambda m: chr(int(m.group(1), 16)), path, flags=re.IGNORECASE)


def _read_manifest(name: str, content: bytes) -> tuple[dict[str, str], list[Problem]]:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as e:
        return {}, [Problem("unreadable", path=name, actual=f"not UTF-8: {e}")]
    entries, problems = {}, []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2:
            problems.append(Problem("unreadable", path=name, actual=f"malformed line {line!r}"))
            continue
        entries[_decode_manifest_path(parts[1].strip())] = parts[0].lower()
    return entries, problems


def _payload_oxum(files: dict[str, bytes]) -> str:
    payload = [content for name, content in files.items() if name.startswith("data/")]
    return f"{sum(len(c) for c in payload)}.{len(payload)}"


def _declared_oxum(bag_info: bytes) -> str | None:
    for line in bag_info.decode("utf-8", errors="replace").splitlines():
        label, sep, value = line.partition(":")
        if sep and label.strip() == "Payload-Oxum":
            return value.strip()
    return None


def validate_package(data: bytes) -> list[Problem]:
    """[] when the bag is complete and valid; otherwise every finding, missing manifests first, then
    missing and extra files, changed digests (one per file and algorithm) and the Payload-Oxum."""
    try:
        files = read_package(data)
    except PackageError as e:
        return [Problem("unreadable", actual=str(e))]
    problems: list[Problem] = []
    if "bagit.txt" not in files:
        problems.append(Problem("missing", path="bagit.txt"))

    # Our packages always carry both algorithms in both kinds of manifest: one gone is a finding.
    manifests: dict[str, dict[str, str]] = {}
    for prefix in ("manifest", "tagmanifest"):
        for alg in ALGORITHMS:
            name = f"{prefix}-{alg}.txt"
            if name not in files:
                problems.append(Problem("missing_manifest", path=name))
                continue
            manifests[name], unreadable = _read_manifest(name, files[name])
            problems += unreadable
    payload_listed = {p for name, entries in manifests.items() if name.startswith("manifest-") for p in entries}
    tag_listed = {p for name, entries in manifests.items() if name.startswith("tagmanifest-") for p in entries}
    already = {p.path for p in problems}
    missing = (payload_listed | tag_listed) - files.keys() - already
    problems += [Problem("missing", path=path) for path in sorted(missing)]

    payload = {name for name in files if name.startswith("data/")}
    # Without any payload manifest nothing in data/ can be judged; missing_manifest says it all.
    extra = payload - payload_listed if any(n.startswith("manifest-") for n in manifests) else set()
    fixed_tag_files = {"bagit.txt", "bag-info.txt"} | {f"{p}-{alg}.txt" for p in ("manifest", "tagmanifest")
                                                       for alg in ALGORITHMS}
    extra |= files.keys() - payload - tag_listed - fixed_tag_files
    problems += [Problem("extra", path=path) for path in sorted(extra)]

    changed = []
    for name, entries in manifests.items():
        alg = name.split("-", 1)[1].removesuffix(".txt")
        for path, expected in entries.items():
            if path in files:
                actual = hashlib.new(alg, files[path]).hexdigest()
                if actual != expected:
                    changed.append(Problem("changed", path=path, algorithm=alg, expected=expected, actual=actual))
    problems += sorted(changed, key=lambda p: (p.path, p.algorithm))

    if "bag-info.txt" in files:
        declared = _declared_oxum(files["bag-info.txt"])
        found = _payload_oxum(files)
        if declared is not None and declared != found:
            problems.append(Problem("oxum", path="bag-info.txt", expected=declared, actual=found))
    return problems

