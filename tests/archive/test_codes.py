"""Archival reference codes (档号): the DA/T 22 and DA/T 13 forms, and every refusal."""

import dataclasses

import pytest

from archive.codes import CATEGORIES, RETENTION, RETENTION_YEARS, ArchivalCode, parse


def test_tables():
    assert len(CATEGORIES) == 13
    assert CATEGORIES["WS"] == "文书"
    assert CATEGORIES["KU"] == "会计"
    assert RETENTION == {"Y": "永久", "D30": "定期30年", "D10": "定期10年"}
    assert RETENTION_YEARS == {"Y": None, "D30": 30, "D10": 10}


def test_both_styles_are_written_with_the_middle_dot():
    code = ArchivalCode("Z109", "WS", 2026, "Y", "BDC", 1)
    assert str(code) == "Z109-WS\u00b72026-Y-BDC-0001"
    assert code.dat13() == "Z109-WS\u00b72026\u00b7Y\u00b7BDC-0001"
    assert str(ArchivalCode("A439", "WS", 2015, "D30", "办公室", 9999)) == "A439-WS·2015-D30-办公室-9999"


def test_series_and_order():
    first = ArchivalCode("Z109", "WS", 2026, "Y", "BDC", 2)
    second = ArchivalCode("Z109", "WS", 2026, "Y", "BDC", 10)
    assert first.series == second.series == ("Z109", "WS", 2026, "Y", "BDC")
    assert first < second
    assert ArchivalCode("Z109", "WS", 2026, "D10", "BDC", 1).series != first.series


def test_codes_are_immutable():
    code = ArchivalCode("Z109", "WS", 2026, "Y", "BDC", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        code.item = 2


@pytest.mark.parametrize("text", ["Z109-WS·2026-Y-BDC-0001", "Z109-WS·2026·Y·BDC-0001", "  Z109-WS·2026-Y-BDC-0001\n"])
def test_parse_reads_both_styles(text):
    assert parse(text) == ArchivalCode("Z109", "WS", 2026, "Y", "BDC", 1)


@pytest.mark.parametrize("code", [ArchivalCode("J001", "WS", 2016, "Y", "BGS", 5),
                                  ArchivalCode("A439", "KJ", 2015, "D30", "003", 12),
                                  ArchivalCode("Z081", "ZP", 2022, "D10", "不动产登记中心", 1234)])
def test_parse_round_trips(code):
    assert parse(str(code)) == code
    assert parse(code.dat13()) == code


@pytest.mark.parametrize("dot", [".", "・", "•", "．", "‧", "∙", "･"])
def test_a_lookalike_dot_is_refused_by_name(dot):
    with pytest.raises(ValueError, match=r"U\+00B7") as caught:
        parse(f"Z109-WS{dot}2026-Y-BDC-0001")
    assert f"U+{ord(dot):04X}" in str(caught.value)


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"),
    ("   ", "empty"),
    (None, "empty"),
    ("Z109-WS·2026-Y-BDC", "3 hyphens"),
    ("Z109-WS·2026-Y-BDC-0001-2", "5 hyphens"),
    ("Z109-WS2026-Y-BDC-0001", "category·year"),
    ("Z109-WS·2026·Y-Y-BDC-0001", "category·year"),
    ("Z109-WS·2026·Y-0001", "category·year·retention·organisation"),
    ("Z109-WS·26-Y-BDC-0001", "year"),
    ("Z109-WS·２０２６-Y-BDC-0001", "year"),
    ("Z109-WS·2026-Y-BDC-1", "four digits, zero-padded"),
    ("Z109-WS·2026-Y-BDC-00001", "four digits, zero-padded"),
    ("Z109-WS·2026-Y-BDC-0000", "between 1 and 9999"),
    ("z109-WS·2026-Y-BDC-0001", "fonds"),
    ("Z109-XX·2026-Y-BDC-0001", "category"),
    ("Z109-WS·2026-永久-BDC-0001", "retention"),
    ("Z109-WS·2026-D20-BDC-0001", "retention"),
    ("Z109-WS·2026-Y-B_C-0001", "organisation"),
    ("Z109-WS·2026-Y-ABCDEFGHIJKLM-0001", "organisation"),
])
def test_parse_says_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        parse(text)


@pytest.mark.parametrize(("fields", "message"), [
    ({"fonds": "Z10"}, "fonds"),
    ({"fonds": "ZZ109"}, "fonds"),
    ({"fonds": "z109"}, "fonds"),
    ({"category": "ws"}, "category"),
    ({"category": "AB"}, "category"),
    ({"year": 999}, "year"),
    ({"year": 10000}, "year"),
    ({"year": "2026"}, "year"),
    ({"year": True}, "year"),
    ({"retention": "永久"}, "retention"),
    ({"retention": "D20"}, "retention"),
    ({"org": ""}, "organisation"),
    ({"org": "B-C"}, "organisation"),
    ({"org": "B·C"}, "organisation"),
    ({"org": "ABCDEFGHIJKLM"}, "organisation"),
    ({"org": 12}, "organisation"),
    ({"item": 0}, "item number"),
    ({"item": 10000}, "item number"),
    ({"item": 1.0}, "item number"),
    ({"item": "1"}, "item number"),
])
def test_the_constructor_checks_every_field(fields, message):
    values = {"fonds": "Z109", "category": "WS", "year": 2026, "retention": "Y", "org": "BDC", "item": 1} | fields
    with pytest.raises(ValueError, match=message):
        ArchivalCode(**values)


def test_organisation_may_be_chinese_or_mixed():
    assert ArchivalCode("Z109", "WS", 2026, "Y", "登记2科", 1).org == "登记2科"
    assert ArchivalCode("Z109", "WS", 2026, "Y", "a" * 12, 1).org == "a" * 12
