"""Certificate numbers and e-certificate identifiers (domain brief §1.7 and §4.3).

Number:      吉(2026)长春市不动产权第0000001号 — province, year, issuing city or county, kind, sequence.
Identifier:  1.2.156.3005.2.<type code>.<issuer USCC>.<serial>.<version>.<check>, the check character
             by ISO/IEC 7064 MOD 37,36 over type code + issuer + serial + version.
"""

import re

from stdnum.cn import uscc

ROOT_OID = "1.2.156.3005.2"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# The words that name the kind inside a certificate number.
NUMBER_WORDS = {"title": "不动产权", "proof": "不动产证明"}
_NUMBER = re.compile(r"^(?P<province>\w)\((?P<year>\d{4})\)(?P<place>\w+?)(?P<word>不动产权|不动产证明)"
                     r"第(?P<seq>\d{7,8})号$")


def mod37_36(text: str) -> str:
    """ISO/IEC 7064 MOD 37,36 (hybrid system) check character over digits and Latin letters."""
    modulus, product = 36, 36
    for ch in text.upper():
        value = _ALPHABET.find(ch)
        if value < 0:
            raise ValueError(f"{ch!r} is not a digit or Latin letter")
        total = (product + value) % modulus or modulus
        product = (total * 2) % (modulus + 1)
    return _ALPHABET[(modulus + 1 - product) % modulus]


def ecert_id(type_code: str, issuer_uscc: str, serial: str, version: str = "001") -> str:
    """The e-certificate identifier (电子证照标识) for one certificate."""
    if not re.fullmatch(r"[0-9A-Z]{18}\d{3}", type_code):
        raise ValueError(f"type code {type_code!r} is not an 18-character code plus a 3-digit serial")
    if not uscc.is_valid(issuer_uscc):
        raise ValueError(f"issuer {issuer_uscc!r} is not a valid unified social credit code")
    if not re.fullmatch(r"[0-9A-Z]{1,20}", serial):
        raise ValueError(f"serial {serial!r} must be 1 to 20 digits or capital letters")
    if not re.fullmatch(r"\d{3}", version):
        raise ValueError(f"version {version!r} must be three digits")
    return ".".join((ROOT_OID, type_code, issuer_uscc, serial, version,
                     mod37_36(type_code + issuer_uscc + serial + version)))


def ecert_id_valid(identifier: str) -> bool:
    """True when IDENTIFIER has the identifier's shape and a correct check character."""
    if not identifier.startswith(ROOT_OID + "."):
        return False
    parts = identifier[len(ROOT_OID) + 1:].split(".")
    if len(parts) != 5:
        return False
    type_code, issuer, serial, version, check = parts
    try:
        return len(check) == 1 and ecert_id(type_code, issuer, serial, version)[-1] == check
    except ValueError:
        return False


def certificate_number(province: str, year: int, place: str, kind: str, sequence: int) -> str:
    """吉(2026)长春市不动产权第0000001号. Seven digits, as most offices print; eight past 9,999,999."""
    if sequence < 1:
        raise ValueError("sequence numbers start at 1")
    return f"{province}({year}){place}{NUMBER_WORDS[kind]}第{sequence:07d}号"


def parse_number(number: str) -> dict | None:
    """The parts of a certificate number, or None when it is not one."""
    found = _NUMBER.match(number.strip())
    if not found:
        return None
    parts = found.groupdict()
    kind = next(k for k, word in NUMBER_WORDS.items() if word == parts.pop("word"))
    return {**parts, "year": int(parts["year"]), "seq": int(parts["seq"]), "kind": kind}
