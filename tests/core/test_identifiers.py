"""Resident ID numbers (GB 11643, mod 11-2) and unified social credit codes (GB 32100, mod 31) via python-stdnum."""

import pytest

from app.core.identifiers import clean_resident_id, clean_uscc


def test_resident_id_accepts_valid_and_normalises_check_letter():
    assert clean_resident_id("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize("bad", ["110105194912310021", "11010519491331002X", "1101051949123100", "ABCDEFGHIJKLMNOPQR"])
def test_resident_id_rejects_wrong_check_digit_date_or_length(bad):
    with pytest.raises(ValueError, match="invalid resident ID number"):
        clean_resident_id(bad)


def test_uscc_accepts_valid():
    assert clean_uscc("91110000600037341L") == "91110000600037341L"


@pytest.mark.parametrize("bad", ["91110000600037341M", "9111000060003734", "I1110000600037341L"])
def test_uscc_rejects_wrong_check_character_or_shape(bad):
    with pytest.raises(ValueError, match="invalid unified social credit code"):
        clean_uscc(bad)


def test_demo_applicants_carry_valid_numbers():
    from app.demo_data import APPLICANTS
    from app.orgs.models import IdType

    for _username, _name, id_type, number in APPLICANTS:
        clean = clean_resident_id if id_type == IdType.RESIDENT_ID else clean_uscc
        assert clean(number) == number
