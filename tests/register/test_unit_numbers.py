"""GB/T 37346 unit numbers: accepted forms and a message naming the wrong part."""

import pytest

from app.register.unit_numbers import UnitNumberError, parse


@pytest.mark.parametrize("raw", [
    "220102001003GB00012F00010001",
    "220102 001003 GB00012 F00010001",  # as printed, in groups
    "320802006001gc00001w00000000",  # lower case, a homestead parcel without a building
    "320684413219GB00029F00010002",
])
def test_valid_numbers(raw):
    number = parse(raw)
    assert len(number.value) == 28
    assert number.value == number.value.upper()
    assert number.parcel_code == number.value[:19]


def test_parts_are_read():
    number = parse("220102001003GB00012F00010001")
    assert (number.county, number.zone, number.subzone) == ("220102", "001", "003")
    assert (number.ownership, number.parcel_use, number.parcel_serial) == ("G", "B", "00012")
    assert (number.fixture, number.building, number.unit) == ("F", "0001", "0001")
    assert number.display() == "220102 001003 GB00012 F00010001"


@pytest.mark.parametrize(("raw", "says"), [
    ("220102001003GB00012F0001000", "28 characters; 27"),
    ("22010A001003GB00012F00010001", "characters 1-6"),
    ("220102001003XB00012F00010001", "character 13"),
    ("220102001003GK00012F00010001", "character 14"),
    ("220102001003GB0001AF00010001", "characters 15-19"),
    ("220102001003GB00012Z00010001", "character 20"),
    ("220102001003GB00012F0001000X", "characters 21-28"),
    ("220102000003GB00012F00010001", "start at 1"),
    ("220102001003GB00012W00010001", "eight zeros"),
    ("220102001003GB00012F00000001", "start at 1"),
    ("", "28 characters; 0"),
])
def test_malformed_numbers_say_what_is_wrong(ctx, raw, says):
    with pytest.raises(UnitNumberError) as caught:
        parse(raw)
    assert says in _english(caught.value)


def _english(error) -> str:
    from flask_babel import force_locale

    with force_locale("en"):
        return str(error)
