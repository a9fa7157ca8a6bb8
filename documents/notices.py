"""Word notices (.docx) that clerks open, edit and print: 受理通知书, 补正材料通知书, 不予受理/不予登记告知书,
立案审批表, 行政处罚告知书 and 行政处罚决定书.

Every kind is a declarative `Template`: a title and a list of blocks (paragraphs with `{name}` placeholders,
numbered lists, label/value tables, the signature block). One renderer turns any template plus a context dict
into a .docx, so layout, fonts and validation are the same for every notice.

The templates are our own strings and the only thing ever used as a format string. Context values are user data:
they are turned into text first (dates as 2026年11月24日, lists joined with 、) and then substituted, so braces in
a value are printed as they are and never formatted. Nothing is rendered until the whole context has been checked:
missing, empty or mistyped values raise one ValueError that names them all.

Layout follows GB/T 9704 (党政机关公文格式) where it applies to a notice: A4, margins 37/35/28/26 mm, title in
二号小标宋 centred, body in 三号仿宋 on a fixed 28 pt line, paragraphs indented two characters. Chinese font names
go into w:eastAsia, which is the attribute Word and WPS read for CJK text.
"""

import io
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

# 仿宋 rather than 仿宋_GB2312: the GB2312 face has no 喆, 堃 or 珺, and names are exactly where such characters
# turn up. 仿宋 (SimFang) covers GBK and ships with every Chinese Windows; WPS maps it too.
BODY_FONT = "仿宋"
TITLE_FONT = "方正小标宋简体"  # the 公文 title face; where it is not installed Word substitutes a 宋体
LATIN_FONT = "Times New Roman"
BODY_SIZE = Pt(16)  # 三号
TITLE_SIZE = Pt(22)  # 二号
TABLE_SIZE = Pt(12)  # 小四: the approval form has long labels and must fit one page
LINE = Pt(28)  # fixed line pitch of 公文 body text
INDENT = Pt(32)  # two body characters
TEXT_WIDTH = Mm(210 - 28 - 26)
LABEL_WIDTH = Mm(42)

COMMON = frozenset({"office", "doc_no", "date"})


# --- turning user data into text -----------------------------------------------------------------------------

def cn_date(day: date) -> str:
    """2026年11月24日: no leading zeros, as official documents write dates."""
    return f"{day.year}年{day.month}月{day.day}日"


def _text(value) -> str:
    if isinstance(value, date):  # also datetime: a notice shows the day only
        return cn_date(value)
    if isinstance(value, list | tuple):
        return "、".join(_text(v) for v in value)
    return str(value)


# Characters XML 1.0 cannot hold (C0 controls, lone surrogates, U+FFFE/FFFF). Text pasted from other programs
# brings some along; lxml would refuse the whole document for one of them, and none of them prints anything.
_UNPRINTABLE = re.compile("[\x00-\x08\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _lines(text: str) -> list[str]:
    # Every kind of line break (\r\n, \v from Word, U+2028 ...) becomes a paragraph of its own, so multi-line
    # facts or reasons keep the body layout instead of turning into soft breaks.
    return [_UNPRINTABLE.sub("", line) for line in text.splitlines()] or [""]


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, list | tuple) and not value)


# Keys whose type matters: a date given as the string "2026-11-24" would print in the wrong format, and
# hearing="false" would be true.
_TYPES = {
    "date": (lambda v: isinstance(v, date), "a date"),
    "accepted_on": (lambda v: isinstance(v, date), "a date"),
    "deadline": (lambda v: isinstance(v, date), "a date"),
    "hearing": (lambda v: isinstance(v, bool), "True or False"),
    "statement_days": (lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0, "a number of days"),
}


def _fields(template: str) -> set[str]:
    """The placeholder names of one of our template strings. Only bare names are allowed, so no template can
    reach into an attribute or item of a value ({x.__class__}, {x[0]}) or apply a format spec to it."""
    names = set()
    for _literal, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"template placeholder {{{name}}} must be a bare name")
        names.add(name)
    return names


# --- blocks ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Para:
    """Running text with {name} placeholders."""

    text: str
    indent: bool = True  # body paragraphs start two characters in; salutations and form headers do not
    when: str | None = None  # print only when this context value is true or non-empty (the key is still required)

    def keys(self) -> set[str]:
        return _fields(self.text) | ({self.when} if self.when else set())

    def write(self, doc, values: dict, context: Mapping) -> None:
        if self.when and (context[self.when] is False or _blank(context[self.when])):
            return
        for line in _lines(self.text.format_map(values)):
            _body(doc, line, self.indent)


@dataclass(frozen=True)
class Items:
    """A numbered list taken from a context list. Plain items are printed as text; dict items through LINE."""

    key: str
    line: str | None = None  # e.g. "{name}：{reason}" for items given as dicts

    def keys(self) -> set[str]:
        return {self.key}

    def problems(self, items) -> list[str]:
        if not isinstance(items, list | tuple):
            return [f"{self.key} must be a list"]
        wanted = _fields(self.line) if self.line else set()
        found = []
        for i, item in enumerate(items):
            if wanted and not isinstance(item, Mapping):
                found.append(f"{self.key}[{i}] must be a dict with {', '.join(sorted(wanted))}")
            elif wanted:
                found += [f"{self.key}[{i}].{name} is missing or empty" for name in sorted(wanted)
                          if _blank(item.get(name))]
            elif _blank(item):
                found.append(f"{self.key}[{i}] is empty")
        return found

    def write(self, doc, values: dict, context: Mapping) -> None:
        for number, item in enumerate(context[self.key], start=1):
            text = self.line.format_map({k: _text(v) for k, v in item.items()}) if self.line else _text(item)
            # Literal "1. " rather than Word list numbering: it survives copying into other systems and
            # editing in WPS, and clerks can renumber by hand.
            first, *rest = _lines(text)
            _body(doc, f"{number}. {first}", True)
            for line in rest:
                _body(doc, line, True)


@dataclass(frozen=True)
class Table:
    """A two-column form: label, value. A value may hold placeholders, fixed text, or both."""

    rows: tuple[tuple[str, str], ...]

    def keys(self) -> set[str]:
        return set().union(*(_fields(value) for _label, value in self.rows))

    def write(self, doc, values: dict, context: Mapping) -> None:
        table = doc.add_table(rows=0, cols=2)
        table.style = doc.styles["Table Grid"]
        table.autofit = False
        # Widths on the grid (read by WPS and LibreOffice) and on every cell (read by Word).
        table.columns[0].width, table.columns[1].width = LABEL_WIDTH, TEXT_WIDTH - LABEL_WIDTH
        for label, value in self.rows:
            cells = table.add_row().cells
            for cell, text, width in ((cells[0], label, LABEL_WIDTH), (cells[1], value.format_map(values),
                                                                      TEXT_WIDTH - LABEL_WIDTH)):
                cell.width = width
                for n, line in enumerate(_lines(text)):
                    paragraph = cell.paragraphs[0] if n == 0 else cell.add_paragraph()
                    paragraph.paragraph_format.line_spacing = 1.15  # a fixed 28 pt pitch is far too loose here
                    paragraph.add_run(line).font.size = TABLE_SIZE


@dataclass(frozen=True)
class Signature:
    """Issuing office, date and where the seal goes, right-aligned four characters from the margin."""

    seal: str = "（印章）"

    def keys(self) -> set[str]:
        return {"office", "date"}

    def write(self, doc, values: dict, context: Mapping) -> None:
        _body(doc, "", False)
        for line in (values["office"], values["date"], self.seal):
            paragraph = _body(doc, line, False)
            paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            paragraph.paragraph_format.right_indent = Pt(64)


def remedies(document: str) -> Para:
    """The legal-remedies paragraph: 60 days for administrative reconsideration (行政复议法 第二十条), six months
    for an administrative lawsuit (行政诉讼法 第四十六条)."""
    return Para(f"如不服本决定，可以自收到本{document}之日起六十日内向{{reconsideration_body}}申请行政复议，"
                f"或者自收到本{document}之日起六个月内向{{court}}提起行政诉讼。")


@dataclass(frozen=True)
class Template:
    """A notice kind: its title and blocks. The context keys it needs are read off the blocks, never listed."""

    title: str
    blocks: tuple
    required: frozenset[str] = field(init=False)
    filled: frozenset[str] = field(init=False)  # keys that must not be empty: they print unconditionally

    def __post_init__(self):
        keys = set(COMMON).union(*(block.keys() for block in self.blocks))
        filled = set(COMMON)
        for block in self.blocks:
            if not getattr(block, "when", None):
                filled |= block.keys()
        object.__setattr__(self, "required", frozenset(keys))
        object.__setattr__(self, "filled", frozenset(filled))


# --- the notices -----------------------------------------------------------------------------------------------

_SIGN_HERE = "\n\n\n签名：　　　　　　　　　日期：　　　　年　　月　　日"

TEMPLATES: dict[str, Template] = {
    "acceptance": Template("受理通知书", (
        Para("{applicants}：", indent=False),
        Para("你（单位）申请办理的{service}，经审查，申请材料齐全、符合法定形式，本机关于{accepted_on}予以受理，"
             "受理编号为{case_no}。"),
        Para("本机关已收取的申请材料如下："),
        Items("materials"),
        Para("本机关承诺于{deadline}前办结。你（单位）可登录{portal}，凭受理编号查询办理进度。"),
        Signature("（登记专用章）"),
    )),
    "correction": Template("补正材料通知书", (
        Para("{applicants}：", indent=False),
        Para("你（单位）申请办理的{service}（申请编号：{case_no}），经审查，申请材料不齐全或者不符合法定形式。"
             "现一次性告知你（单位）需要补正的全部内容如下："),
        Items("items", "{name}：{reason}"),
        Para("其他说明：{note}", when="note"),
        Para("办理时限自本通知书出具之日起暂停计算，待你（单位）补正全部材料后继续计算。"),
        Para("你（单位）可登录{portal}，凭申请编号在线提交补正材料。"),
        Signature("（登记专用章）"),
    )),
    "refusal_acceptance": Template("不予受理告知书", (
        Para("{applicants}：", indent=False),
        Para("你（单位）申请办理的{service}（申请编号：{case_no}），经审查，本机关决定不予受理。理由如下："),
        Para("{reasons}"),
        remedies("告知书"),
        Signature("（登记专用章）"),
    )),
    "refusal_registration": Template("不予登记告知书", (
        Para("{applicants}：", indent=False),
        Para("本机关于{accepted_on}受理你（单位）申请办理的{service}（受理编号：{case_no}）。经审查，本机关决定不予登记。"
             "理由如下："),
        Para("{reasons}"),
        remedies("告知书"),
        Signature("（登记专用章）"),
    )),
    "case_opening_approval": Template("立案审批表", (
        Para("填报单位：{office}　　　　填报日期：{date}", indent=False),
        Table((
            ("案件来源", "{source}"),
            ("当事人", "{party}"),
            ("证件号码", "{party_id}"),
            ("住所（地址）", "{party_address}"),
            ("违法事实摘要", "{facts}"),
            ("涉嫌违反的法律依据", "{legal_basis}"),
            ("承办人意见", "{proposal}" + _SIGN_HERE),
            ("承办机构负责人意见", _SIGN_HERE),
            ("法制审核意见", _SIGN_HERE),
            ("负责人审批意见", _SIGN_HERE),
        )),
    )),
    "penalty_notice": Template("行政处罚告知书", (
        Para("{party}：", indent=False),
        Para("本机关经调查查明："),
        Para("{facts}"),
        Para("以上事实有下列证据证明："),
        Items("evidence"),
        Para("本机关认为，你（单位）的上述行为依照{legal_basis}的规定应当给予行政处罚，拟作出如下行政处罚：{penalty}"),
        Para("根据《中华人民共和国行政处罚法》第四十四条、第四十五条的规定，你（单位）享有陈述、申辩的权利。"
             "如需陈述、申辩，请于收到本告知书之日起{statement_days}日内向本机关提出；逾期未提出的，视为放弃陈述、申辩的权利。"),
        Para("根据《中华人民共和国行政处罚法》第六十三条、第六十四条的规定，你（单位）有权要求听证。"
             "如要求听证，请于收到本告知书之日起五日内向本机关提出；逾期未提出的，视为放弃听证的权利。",
             when="hearing"),
        Signature(),
    )),
    "penalty_decision": Template("行政处罚决定书", (
        Para("当事人：{party}", indent=False),
        Para("证件号码：{party_id}", indent=False),
        Para("住所（地址）：{party_address}", indent=False),
        Para("本机关经调查查明："),
        Para("{facts}"),
        Para("以上事实有下列证据证明："),
        Items("evidence"),
        Para("本机关认为，你（单位）的上述行为依照{legal_basis}的规定应当给予行政处罚。本机关决定作出如下行政处罚："),
        Items("decisions"),
        # Optional (may be ""): a decision without a fine has nothing to pay.
        Para("罚款请于收到本决定书之日起十五日内缴至：{payment}。到期不缴纳罚款的，本机关可以每日按罚款数额的百分之三"
             "加处罚款。", when="payment"),
        remedies("决定书"),
        Signature(),
    )),
}

KINDS: tuple[str, ...] = tuple(TEMPLATES)


# --- rendering -------------------------------------------------------------------------------------------------

def required(kind: str) -> frozenset[str]:
    """The context keys KIND needs."""
    return _template(kind).required


def render(kind: str, context: Mapping) -> bytes:
    """The .docx of notice KIND filled from CONTEXT. ValueError, before anything is built, for an unknown kind
    or a context with missing, empty or mistyped values."""
    template = _template(kind)
    _check(kind, template, context)
    values = {key: _text(context[key]) for key in template.required}
    doc = _new_document(template.title, values["office"])
    title = doc.add_paragraph(template.title, style="Notice Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    number = _body(doc, values["doc_no"], False)
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER
    number.paragraph_format.space_after = LINE
    for block in template.blocks:
        block.write(doc, values, context)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _template(kind: str) -> Template:
    try:
        return TEMPLATES[kind]
    except (KeyError, TypeError):
        raise ValueError(f"unknown notice kind {kind!r}; known kinds: {', '.join(KINDS)}") from None


def _check(kind: str, template: Template, context: Mapping) -> None:
    if not isinstance(context, Mapping):
        raise TypeError(f"the context of a {kind} notice must be a dict, not {type(context).__name__}")
    missing = sorted(key for key in template.required if context.get(key) is None)
    problems = [f"missing {', '.join(missing)}"] if missing else []
    problems += [f"{key} is empty" for key in sorted(template.filled - set(missing)) if _blank(context[key])]
    problems += [f"{key} must be {wanted}" for key, (ok, wanted) in _TYPES.items()
                 if key in template.required and key not in missing and not ok(context[key])]
    for block in template.blocks:
        if isinstance(block, Items) and block.key not in missing:
            problems += block.problems(context[block.key])
    if problems:
        raise ValueError(f"cannot render the {kind} notice: {'; '.join(problems)}")


def _body(doc, text: str, indent: bool):
    paragraph = doc.add_paragraph()
    if indent:
        paragraph.paragraph_format.first_line_indent = INDENT
    if text:
        paragraph.add_run(text)
    return paragraph


def _fonts(rpr, east_asia: str) -> None:
    """Name the fonts explicitly. Theme attributes (w:eastAsiaTheme ...) win over names, so they go."""
    fonts = rpr.get_or_add_rFonts()
    for attribute in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        fonts.attrib.pop(qn(f"w:{attribute}"), None)
    for attribute, name in (("ascii", LATIN_FONT), ("hAnsi", LATIN_FONT), ("cs", LATIN_FONT),
                            ("eastAsia", east_asia)):
        fonts.set(qn(f"w:{attribute}"), name)


def _new_document(title: str, office: str):
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)  # python-docx's default page is US Letter
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)

    # The document defaults carry theme fonts and en-US; every style inherits from them.
    defaults = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _fonts(defaults, BODY_FONT)
    lang = defaults.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        defaults.append(lang)
    lang.set(qn("w:val"), "zh-CN")
    lang.set(qn("w:eastAsia"), "zh-CN")

    normal = doc.styles["Normal"]
    _fonts(normal.element.get_or_add_rPr(), BODY_FONT)
    normal.font.size = BODY_SIZE
    normal.paragraph_format.line_spacing = LINE
    normal.paragraph_format.space_after = Pt(0)

    heading = doc.styles.add_style("Notice Title", WD_STYLE_TYPE.PARAGRAPH)
    heading.base_style = normal
    _fonts(heading.element.get_or_add_rPr(), TITLE_FONT)
    heading.font.size = TITLE_SIZE
    heading.paragraph_format.line_spacing = 1.0  # a fixed 28 pt line would clip 22 pt characters
    heading.paragraph_format.space_after = Pt(12)

    properties = doc.core_properties  # the template says "python-docx", 2013
    properties.title = title
    properties.author = properties.last_modified_by = office
    properties.created = properties.modified = datetime.now(UTC)
    properties.revision = 1
    return doc
