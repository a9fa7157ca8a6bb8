"""Translations: every UI string has a Chinese translation, placeholders survive translation, and the
language switch really changes what the pages say.

The extraction below reads babel.cfg, so it sees exactly what `pybabel extract -F babel.cfg -k _l -k
lazy_gettext` sees. How to bring the catalogs up to date when it finds new strings: see HOW_TO_UPDATE.
"""

import os
import re
import tempfile
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "app" / "translations"
ZH = "zh_Hans_CN"
LOCALES = (ZH, "en")
# `_`, `gettext`, `ngettext`... plus Flask-Babel's lazy forms, as on the pybabel command line.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
HOW_TO_UPDATE = """To bring the catalogs up to date:
    .venv/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o app/translations/messages.pot .
    .venv/bin/pybabel update -i app/translations/messages.pot -d app/translations
then translate the new entries in app/translations/zh_Hans_CN/LC_MESSAGES/messages.po and remove their
"fuzzy" flags (English needs no msgstr: the msgids are English)."""

# A printf conversion: %(name)s, %(days)d, %s, %5.2f, or the escaped percent sign %%.
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa%]")


def _po_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po"


def _read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def compile_catalogs() -> None:
    """Compile each .po to its .mo when the .mo is missing or older than the .po (the .mo files are not in git).

    Written to a temporary file and renamed into place, so parallel test workers never read half a file."""
    for locale in LOCALES:
        po = _po_path(locale)
        mo = po.with_suffix(".mo")
        if not po.exists():
            continue  # test_catalogs_exist reports it
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        catalog = _read_catalog(po, locale)
        fd, tmp = tempfile.mkstemp(dir=mo.parent, prefix=".messages-", suffix=".mo")
        try:
            with os.fdopen(fd, "wb") as f:
                write_mo(f, catalog)
            os.chmod(tmp, 0o644)  # mkstemp makes it private; pybabel's own .mo files are world-readable
            os.replace(tmp, mo)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# At import, i.e. during collection and before any test renders a page: Flask-Babel caches the catalog it
# loads per locale for the life of the (session-wide) app, so compiling later could come too late.
compile_catalogs()


def _method_map():
    """The [method: pattern] sections of babel.cfg, parsed by babel itself."""
    from babel.messages import frontend

    parse = getattr(frontend, "parse_mapping_cfg", None) or frontend.parse_mapping
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        return parse(f)


def _extract_template(tmp_path: Path) -> Catalog:
    """Extract every message from the source into a fresh .pot (like `pybabel extract`) and read it back."""
    method_map, options_map = _method_map()
    catalog = Catalog(project="Smart Land")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    pot = tmp_path / "messages.pot"
    with pot.open("wb") as f:
        write_po(f, catalog)
    return _read_catalog(pot)


def _where(message) -> str:
    return ", ".join(f"{file}:{line}" for file, line in message.locations) or "?"


def _forms(value) -> list[str]:
    """A message's id or string as a list: one entry, or one per plural form."""
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _placeholders(text: str) -> list[str]:
    """The conversions in `text`, sorted, with any bare '%' that is not part of one reported as '%?'."""
    found = _PLACEHOLDER.findall(text)
    bare = _PLACEHOLDER.sub("", text).count("%")
    return sorted(found + ["%?"] * bare)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Catalog:
    return _extract_template(tmp_path_factory.mktemp("pot"))


@pytest.fixture(scope="module")
def zh_catalog() -> Catalog:
    return _read_catalog(_po_path(ZH), ZH)


def test_babel_cfg_reads_only_project_sources(template):
    files = {file for message in template if message.id for file, _ in message.locations}
    assert files, "nothing was extracted: is babel.cfg still matching app/ and forms/?"
    strays = sorted(f for f in files if not f.startswith(("app/", "forms/")))
    assert not strays, f"babel.cfg matches files outside the project sources: {strays}"
    assert any(f.startswith("app/templates/") for f in files), "no template strings were extracted"
    assert any(f.startswith("forms/") for f in files), "no form strings were extracted"


def test_catalogs_exist():
    for locale in LOCALES:
        assert _po_path(locale).exists(), f"missing catalog for {locale}: run pybabel init -l {locale}"


def test_every_message_has_a_chinese_translation(template, zh_catalog):
    missing, fuzzy = [], []
    for message in template:
        if not message.id:
            continue
        translated = zh_catalog.get(message.id, context=message.context)
        if translated is None or not all(s and s.strip() for s in _forms(translated.string)):
            missing.append(f"{message.id!r} ({_where(message)})")
        elif translated.fuzzy:
            fuzzy.append(f"{message.id!r} ({_where(message)})")
    problems = []
    if missing:
        po = _po_path(ZH).relative_to(ROOT)
        problems.append(f"{len(missing)} msgid(s) without a Chinese translation in {po}:\n  " + "\n  ".join(missing))
    if fuzzy:
        problems.append(f"{len(fuzzy)} fuzzy translation(s) to check and unmark:\n  " + "\n  ".join(fuzzy))
    assert not problems, "\n".join(problems) + "\n" + HOW_TO_UPDATE


def test_no_fuzzy_or_empty_entries_left_in_the_chinese_catalog(zh_catalog):
    bad = [m.id for m in zh_catalog if m.id and (m.fuzzy or not all(s and s.strip() for s in _forms(m.string)))]
    assert not bad, f"untranslated or fuzzy entries in the Chinese catalog: {bad}"


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_match(locale):
    catalog = _read_catalog(_po_path(locale), locale)
    wrong = []
    for message in catalog:
        if not message.id:
            continue
        # A plural form may follow either the singular or the plural msgid (a singular often drops the number).
        allowed = [_placeholders(msgid) for msgid in _forms(message.id)]
        for form in _forms(message.string):
            if form and _placeholders(form) not in allowed:
                wrong.append(f"{message.id!r} -> {form!r}: expected {allowed[-1]}, got {_placeholders(form)}")
    assert not wrong, "placeholders differ between msgid and translation:\n  " + "\n  ".join(wrong)


def test_catalogs_compile_cleanly():
    for locale in LOCALES:
        catalog = _read_catalog(_po_path(locale), locale)
        errors = [(m.id, err) for m, errs in catalog.check() for err in errs]
        assert not errors, f"{locale}: {errors}"
        assert _po_path(locale).with_suffix(".mo").exists()


def _fresh(client):
    """The client, with Flask-Babel's per-request cache forgotten.

    conftest's `client` runs every request inside the one app context that the `ctx` fixture pushed, so `g`,
    where Flask-Babel caches the locale it chose for "this request", outlives each request and a language
    switch would never show. A real server pushes a new app context per request; `refresh()` stands in for it."""
    from flask_babel import refresh

    refresh()
    return client


def _page(client, path: str = "/login") -> str:
    response = _fresh(client).get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _switch(client, csrf, code: str):
    return _fresh(client).post(f"/language/{code}", data={"csrf_token": csrf(client, "/login"), "next": "/login"})


def test_login_page_is_chinese_by_default_and_english_after_switching(client, csrf):
    html = _page(client)
    assert '<html lang="zh-CN">' in html
    assert "<title>登录 · 智慧国土</title>" in html
    for text in ("用户名", "密码", ">登录</button>", ">English</button>"):
        assert text in html, text
    for text in ("Log in", "Username", "Password", "Smart Land"):
        assert text not in html, text

    response = _switch(client, csrf, "en")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")

    html = _page(client)
    assert '<html lang="en">' in html
    assert "<title>Log in · Smart Land</title>" in html
    for text in ("Username", "Password", ">Log in</button>", ">中文</button>"):
        assert text in html, text
    for text in ("登录", "用户名", "密码", "智慧国土"):
        assert text not in html, text

    # And back again.
    _switch(client, csrf, "zh_Hans_CN")
    assert "<title>登录 · 智慧国土</title>" in _page(client)


def test_messages_from_python_code_are_translated(client, csrf):
    """A flash raised in a view (gettext) comes out in the session's language."""
    bad_login = {"username": "nobody", "password": "wrong", "csrf_token": csrf(client, "/login")}
    assert "用户名或密码错误。" in _fresh(client).post("/login", data=bad_login).get_data(as_text=True)

    _switch(client, csrf, "en")
    bad_login["csrf_token"] = csrf(client, "/login")
    assert "Wrong username or password." in _fresh(client).post("/login", data=bad_login).get_data(as_text=True)


def test_unknown_language_is_ignored(client, csrf):
    _switch(client, csrf, "fr")
    assert "<title>登录 · 智慧国土</title>" in _page(client)
    _switch(client, csrf, "en")
    _switch(client, csrf, "fr")
    assert "<title>Log in · Smart Land</title>" in _page(client)
