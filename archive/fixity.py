"""Fixity audit of one stored package against the size and digests recorded when it was filed.

The package was checked as a valid bag before it was stored, so bytes that still hash to the
recorded digests are that valid bag: the audit of many packages stops there. Only when they differ
is the bag opened, so the result says what changed (which file, missing, extra, manifest gone)
rather than only that something did.
"""

import hashlib
from dataclasses import dataclass

from archive.package import Problem, validate_package


@dataclass(frozen=True)
class FixityOutcome:
    ok: bool
    problems: tuple[Problem, ...]
    bytes_read: int


def audit(data: bytes | None, *, sha256: str, size: int, sha512: str | None = None) -> FixityOutcome:
    """Compare DATA (None: the store has no such object) with the recorded SHA256, SIZE and SHA512."""
    if data is None:
        return FixityOutcome(ok=False, problems=(Problem("object_missing"),), bytes_read=0)
    problems = []
    if len(data) != size:
        problems.append(Problem("size", expected=str(size), actual=str(len(data))))
    for alg, expected in (("sha256", sha256), ("sha512", sha512)):
        if expected is None:
            continue
        actual = hashlib.new(alg, data).hexdigest()
        if actual != expected.lower():
            problems.append(Problem("package_checksum", algorithm=alg, expected=expected, actual=actual))
    if problems:
        problems += validate_package(data)
    return FixityOutcome(ok=not problems, problems=tuple(problems), bytes_read=len(data))
