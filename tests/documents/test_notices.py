"""Word notices: every kind renders from a realistic context and reopens with python-docx showing the title and
the data; bad contexts are refused before anything is built; user data is only ever printed, never formatted."""

import io
import zipfile
from datetime import date, datetime

import docx
import pytest
from docx.oxml.ns import qn

from documents import notices

COMMON = {"office": "长春市自然资源局南关分局", "doc_no": "长南不动产受字〔2026〕第123号", "date": date(2026, 11, 24)}

CONTEXTS = {
    "acceptance": {
        "applicants": ["王喆", "李堃"],
        "case_no": "SL-2026-000123",
        "service": "国有建设用地使用权及房屋所有权转移登记",
        "accepted_on": date(2026, 11, 20),
        "materials": ["不动产登记申请书", "申请人身份证明", "不动产权属证书", "房屋买卖合同"],
        "deadline": date(2026, 12, 4),
        "portal": "https://zwfw.changchun.gov.cn",
    },
    "correction": {
        "applicants": "赵珺",
        "case_no": "SQ-2026-000456",
        "service": "抵押权首次登记",
        "items": [
            {"name": "抵押合同", "reason": "缺少抵押人签字"},
            {"name": "主债权合同", "reason": "复印件不清晰，请提交原件"},
            {"name": "授权委托书", "reason": "委托事项与申请事项不一致"},
        ],
        "note": "请携带原件到窗口核验",
        "portal": "https://zwfw.changchun.gov.cn",
    },
    "refusal_acceptance": {
        "applicants": "张昇",
        "case_no": "SQ-2026-000789",
        "service": "更正登记",
        "reasons": "申请登记的不动产不属于本机关登记管辖范围。",
        "reconsideration_body": "长春市南关区人民政府",
        "court": "长春市南关区人民法院",
    },
    "refusal_registration": {
        "applicants": ["王喆"],
        "case_no": "SL-2026-000321",
        "service": "国有建设用地使用权及房屋所有权首次登记",
        "accepted_on": date(2026, 10, 9),
        "reasons": "经实地查看，房屋尚未竣工验收。\n申请登记的事项与不动产登记簿记载冲突。",
        "reconsideration_body": "长春市南关区人民政府",
        "court": "长春市南关区人民法院",
    },
    "case_opening_approval": {
        "source": "日常巡查发现",
        "party": "长春市某某置业有限公司",
        "party_id": "91220102MA0Y2B3C4D",
        "party_address": "长春市南关区人民大街1号",
        "facts": "当事人未经批准，擅自占用集体土地1200平方米建设厂房。",
        "legal_basis": "《中华人民共和国土地管理法》第四十四条",
        "proposal": "建议立案调查",
    },
    "penalty_notice": {
        "party": "李堃",
        "facts": "当事人于2026年3月未经批准占用土地300平方米建设住宅。",
        "evidence": ["现场勘测笔录", "询问笔录", "现场照片"],
        "legal_basis": "《中华人民共和国土地管理法》第七十七条",
        "penalty": "没收在非法占用的土地上新建的建筑物，并处罚款人民币陆仟元",
        "statement_days": 3,
        "hearing": True,
    },
    "penalty_decision": {
        "party": "长春市某某置业有限公司",
        "party_id": "91220102MA0Y2B3C4D",
        "party_address": "长春市南关区人民大街1号",
        "facts": "当事人未经批准，擅自占用集体土地1200平方米建设厂房。",
        "evidence": ["现场勘测笔录", "土地利用现状图"],
        "legal_basis": "《中华人民共和国土地管理法》第七十七条",
        "decisions": ["责令退还非法占用的土地", "限期拆除在非法占用的土地上新建的建筑物", "处罚款人民币贰万肆仟元"],
        "payment": "中国农业银行长春南关支行，户名：长春市财政局，账号：0715 0101 0400 12345",
        "reconsideration_body": "长春市人民政府",
        "court": "长春市南关区人民法院",
    },
}

TITLES = {
    "acceptance": "受理通知书",
    "correction": "补正材料通知书",
    "refusal_acceptance": "不予受理告知书",
    "refusal_registration": "不予登记告知书",
    "case_opening_approval": "立案审批表",
    "penalty_notice": "行政处罚告知书",
    "penalty_decision": "行政处罚决定书",
}


def context(kind: str, **changes) -> dict:
    return {**COMMON, **CONTEXTS[kind], **changes}


def opened(data: bytes):
    return docx.Document(io.BytesIO(data))


def paragraphs(document) -> list[str]:
    """Every paragraph of the body and of every table cell, in order."""
    texts = []
    for block in document.iter_inner_content():
        if isinstance(block, docx.table.Table):
            texts += [p.text for row in block.rows for cell in row.cells for p in cell.paragraphs]
        else:
            texts.append(block.text)
    return texts


def text(kind: str, **changes) -> str:
    return "\n".join(paragraphs(opened(notices.render(kind, context(kind, **changes)))))


def test_kinds_are_the_seven_notices():
    assert tuple(TITLES) == notices.KINDS
    assert set(CONTEXTS) == set(notices.KINDS)


@pytest.mark.parametrize("kind", list(TITLES))
def test_required_keys_are_exactly_what_the_test_context_gives(kind):
    assert isinstance(notices.required(kind), frozenset)
    assert notices.required(kind) == set(context(kind))


@pytest.mark.parametrize("kind", list(TITLES))
def test_every_kind_shows_title_number_office_date_and_every_value(kind):
    document = opened(notices.render(kind, context(kind)))
    texts = paragraphs(document)
    assert texts[0] == TITLES[kind]
    assert texts[1] == COMMON["doc_no"]
    body = "\n".join(texts)
    assert COMMON["office"] in body
    assert "2026年11月24日" in body
    for key, value in CONTEXTS[kind].items():
        if isinstance(value, str):
            for line in value.splitlines():
                assert line in body, key
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            for item in value:
                assert item in body, key


def test_title_is_centred_in_the_title_font_and_body_uses_fangsong():
    document = opened(notices.render("acceptance", context("acceptance")))
    title = document.paragraphs[0]
    assert title.alignment == docx.enum.text.WD_ALIGN_PARAGRAPH.CENTER
    assert title.style.name == "Notice Title"
    title_fonts = title.style.element.rPr.rFonts
    assert title_fonts.get(qn("w:eastAsia")) == notices.TITLE_FONT
    assert title.style.font.size == notices.TITLE_SIZE
    normal = document.styles["Normal"]
    assert normal.element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋"
    assert normal.font.size.pt == 16
    # No theme font left to override the names in the document defaults.
    defaults = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    assert defaults.rFonts.get(qn("w:eastAsia")) == "仿宋"
    assert defaults.rFonts.get(qn("w:eastAsiaTheme")) is None


def test_page_is_a4_with_official_document_margins():
    section = opened(notices.render("correction", context("correction"))).sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert [round(m.mm) for m in (section.top_margin, section.bottom_margin, section.left_margin,
                                  section.right_margin)] == [37, 35, 28, 26]


def test_acceptance_lists_materials_numbered_with_chinese_dates():
    body = text("acceptance")
    assert "王喆、李堃：" in body
    for n, material in enumerate(CONTEXTS["acceptance"]["materials"], start=1):
        assert f"{n}. {material}" in body.splitlines()
    assert "本机关于2026年11月20日予以受理" in body
    assert "2026年12月4日前办结" in body
    assert "SL-2026-000123" in body
    assert "（登记专用章）" in body


def test_correction_lists_every_item_with_its_reason_once():
    lines = text("correction").splitlines()
    body = "\n".join(lines)
    assert "一次性告知" in body
    for n, item in enumerate(CONTEXTS["correction"]["items"], start=1):
        assert f"{n}. {item['name']}：{item['reason']}" in lines
    assert "暂停计算" in body
    assert "在线提交补正材料" in body
    assert "其他说明：请携带原件到窗口核验" in body


def test_correction_without_a_note_has_no_note_line():
    assert "其他说明" not in text("correction", note="")
    assert "其他说明" not in text("correction", note="   ")


@pytest.mark.parametrize("kind", ["refusal_acceptance", "refusal_registration", "penalty_decision"])
def test_refusals_and_decisions_state_both_remedies_with_the_named_body_and_court(kind):
    body = text(kind)
    ctx = CONTEXTS[kind]
    assert f"六十日内向{ctx['reconsideration_body']}申请行政复议" in body
    assert f"六个月内向{ctx['court']}提起行政诉讼" in body


def test_refusal_registration_mentions_acceptance_date_and_keeps_each_reason_a_paragraph():
    lines = text("refusal_registration").splitlines()
    assert any("本机关于2026年10月9日受理" in line for line in lines)
    assert "不予登记" in "\n".join(lines)
    assert "经实地查看，房屋尚未竣工验收。" in lines
    assert "申请登记的事项与不动产登记簿记载冲突。" in lines


def test_case_opening_approval_is_a_form_with_blank_approval_rows():
    document = opened(notices.render("case_opening_approval", context("case_opening_approval")))
    assert len(document.tables) == 1
    rows = {row.cells[0].text: row.cells[1].text for row in document.tables[0].rows}
    assert rows["案件来源"] == "日常巡查发现"
    assert rows["当事人"] == "长春市某某置业有限公司"
    assert rows["证件号码"] == "91220102MA0Y2B3C4D"
    assert rows["住所（地址）"] == "长春市南关区人民大街1号"
    assert rows["违法事实摘要"] == CONTEXTS["case_opening_approval"]["facts"]
    assert rows["涉嫌违反的法律依据"] == "《中华人民共和国土地管理法》第四十四条"
    assert rows["承办人意见"].startswith("建议立案调查")
    for label in ("承办人意见", "承办机构负责人意见", "法制审核意见", "负责人审批意见"):
        assert "签名" in rows[label]
        assert "日期" in rows[label]
    for label in ("承办机构负责人意见", "法制审核意见", "负责人审批意见"):
        assert rows[label].split("签名")[0].strip() == ""  # left for the hand-written opinion


def test_penalty_notice_gives_statement_days_and_hearing_only_when_asked():
    body = text("penalty_notice")
    assert "陈述、申辩" in body
    assert "收到本告知书之日起3日内" in body
    assert "听证" in body
    assert "五日内" in body
    for evidence in CONTEXTS["penalty_notice"]["evidence"]:
        assert evidence in body
    without = text("penalty_notice", hearing=False)
    assert "听证" not in without
    assert "陈述、申辩" in without


def test_penalty_decision_numbers_decisions_and_states_payment():
    lines = text("penalty_decision").splitlines()
    for n, decision in enumerate(CONTEXTS["penalty_decision"]["decisions"], start=1):
        assert f"{n}. {decision}" in lines
    body = "\n".join(lines)
    assert "十五日内缴至：中国农业银行长春南关支行" in body
    assert "住所（地址）：长春市南关区人民大街1号" in body
    assert "缴至" not in text("penalty_decision", payment="")


def test_rare_characters_survive():
    names = ["王喆", "李堃", "张昇", "赵珺", "𠮷野"]  # the last is outside the BMP
    body = text("acceptance", applicants=names)
    assert "、".join(names) + "：" in body


def test_datetime_prints_the_day_only():
    assert "2026年1月5日" in text("acceptance", date=datetime(2026, 1, 5, 16, 30))


@pytest.mark.parametrize(("kind", "key"), [(k, key) for k in TITLES for key in sorted(notices.required(k))])
def test_each_missing_key_is_named_and_nothing_is_produced(kind, key):
    ctx = context(kind)
    del ctx[key]
    result = None
    with pytest.raises(ValueError, match=rf"missing .*\b{key}\b"):
        result = notices.render(kind, ctx)
    assert result is None


def test_all_missing_keys_are_named_at_once():
    with pytest.raises(ValueError) as raised:
        notices.render("correction", {"office": "长春市自然资源局"})
    for key in ("doc_no", "date", "applicants", "case_no", "service", "items", "note", "portal"):
        assert key in str(raised.value)


def test_none_counts_as_missing():
    with pytest.raises(ValueError, match="missing court"):
        notices.render("refusal_acceptance", context("refusal_acceptance", court=None))


@pytest.mark.parametrize(("kind", "changes", "message"), [
    ("refusal_acceptance", {"reasons": "  "}, "reasons is empty"),
    ("acceptance", {"materials": []}, "materials is empty"),
    ("acceptance", {"materials": "不动产登记申请书"}, "materials must be a list"),
    ("acceptance", {"deadline": "2026-12-04"}, "deadline must be a date"),
    ("acceptance", {"date": "2026年11月24日"}, "date must be a date"),
    ("penalty_notice", {"hearing": "false"}, "hearing must be True or False"),
    ("penalty_notice", {"statement_days": "三"}, "statement_days must be a number of days"),
    ("penalty_notice", {"statement_days": 0}, "statement_days must be a number of days"),
    ("correction", {"items": [{"name": "抵押合同", "reason": "缺少签字"}, {"name": "主债权合同"}]},
     r"items\[1\]\.reason is missing"),
    ("correction", {"items": ["抵押合同"]}, r"items\[0\] must be a dict"),
])
def test_bad_values_are_refused(kind, changes, message):
    with pytest.raises(ValueError, match=message):
        notices.render(kind, context(kind, **changes))


@pytest.mark.parametrize("kind", ["", "notice", "Acceptance", None])
def test_unknown_kind_is_refused(kind):
    with pytest.raises(ValueError, match="unknown notice kind"):
        notices.render(kind, context("acceptance"))
    with pytest.raises(ValueError, match="unknown notice kind"):
        notices.required(kind)


@pytest.mark.parametrize("evil", ["{case_no}", "{0.__class__}", "{office!r:>20}", "{{}}", "%s %(office)s"])
def test_braces_in_values_are_printed_literally(evil):
    ctx = context("correction", applicants=evil, service=evil,
                  items=[{"name": evil, "reason": "原因" + evil}], note=evil)
    lines = paragraphs(opened(notices.render("correction", ctx)))
    assert f"{evil}：" in lines
    assert f"1. {evil}：原因{evil}" in lines
    assert f"其他说明：{evil}" in lines
    assert any(f"申请办理的{evil}（申请编号：SQ-2026-000456）" in line for line in lines)
    assert "<class" not in "\n".join(lines)


def test_control_characters_do_not_break_the_document():
    body = text("refusal_acceptance", reasons="第一条\x0b第二条\r\n第三条\x00\x07")
    assert "第一条\n第二条\n第三条\n" in body + "\n"


def test_document_is_a_plain_editable_docx():
    data = notices.render("penalty_decision", context("penalty_decision"))
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        assert package.testzip() is None
        settings = package.read("word/settings.xml").decode()
        assert "documentProtection" not in settings
        assert "writeProtection" not in settings
    document = opened(data)
    assert document.core_properties.title == "行政处罚决定书"
    assert document.core_properties.author == COMMON["office"]
