"""Identifier checks backed by python-stdnum: resident ID numbers (GB 11643) and USCC (GB 32100)."""

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError


def clean_resident_id(value: str) -> str:
    """The ID number normalised (upper-case X), or ValueError with the reason."""
    try:
        return ric.validate(value)
    except ValidationError as exc:
        raise ValueError(f"invalid resident ID number: {exc.message}") from None


def clean_uscc(value: str) -> str:
    try:
        return uscc.validate(value)
    except ValidationError as exc:
        raise ValueError(f"invalid unified social credit code: {exc.message}") from None
