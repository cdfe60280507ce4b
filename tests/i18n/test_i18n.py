"""The gettext catalogues (autograder/i18n): current with the code, every msgid translated with its
{placeholders}, compiled .mo files current; a Chinese submission reads no English hint text."""

from __future__ import annotations

import ast
import gettext
import io
import os
import subprocess
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from helpers import impls
from helpers.english import english_words
from helpers.paths import IMPLS, ROOT

from autograder import config, i18n
from autograder.units.softmax_regression import unit as softmax_unit

I18N = ROOT / "autograder" / "i18n"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}
REPORTS = ("autograder/results/feedback.py", "autograder/results/report.py")
"""The "reports" domain's files (scripts/i18n.sh); everything else is "autograder"."""


def po_path(domain: str, lang: str = "zh_CN") -> Path:
    return I18N / "locale" / lang / "LC_MESSAGES" / f"{domain}.po"


def read_catalogue(path: Path):
    with open(path, "rb") as fh:
        return read_po(fh, locale="zh_CN" if path.suffix == ".po" else None)


def msgid_key(message) -> str:
    return message.id if isinstance(message.id, str) else message.id[0]


def extracted(domain: str) -> set[str]:
    """The msgids pybabel finds in the code of `domain`, as scripts/i18n.sh extracts them."""
    found = []
    if domain == "reports":
        for rel in REPORTS:
            found += extract_from_file("python", str(ROOT / rel), keywords=KEYWORDS)
    else:
        with open(ROOT / "babel.cfg", encoding="utf-8") as fh:
            method_map, options_map = parse_mapping_cfg(fh)
        found += [m[2] for m in extract_from_dir(str(ROOT / "autograder"), method_map, options_map, keywords=KEYWORDS)]  # fmt: skip
        found = [(0, m, None, None) for m in found]  # a plural msgid is a (singular, plural) tuple
        found += extract_from_file("python", str(ROOT / "scripts" / "make_selfcheck.py"), keywords=KEYWORDS)  # fmt: skip
    return {m[1] if isinstance(m[1], str) else m[1][0] for m in found}


def untranslated(pot, po) -> list[str]:
    """msgids of the template without a (non-fuzzy, non-empty) translation in `po`."""
    missing = []
    for message in pot:
        if not message.id:
            continue
        got = po.get(message.id)
        strings = (
            []
            if got is None
            else ([got.string] if isinstance(got.string, str) else list(got.string))
        )
        if got is None or got.fuzzy or not all(strings) or not strings:
            missing.append(msgid_key(message))
    return missing


def placeholder_mismatches(po) -> list[str]:
    """Translations whose {placeholders} differ from their msgid's (one dropped or added)."""
    bad = []
    for message in po:
        if not message.id or not message.string:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        want = set().union(*(i18n.fields(i) for i in ids))
        for s in strings:
            try:
                got = set(i18n.fields(s))
            except ValueError as err:  # an unbalanced brace
                bad.append(f"{msgid_key(message)!r}: {err}")
                continue
            if got != want:
                bad.append(f"{msgid_key(message)!r}: {sorted(got ^ want)}")
    return bad


def stale_mo(po, mo_bytes: bytes) -> list[str]:
    """msgids whose translation in the compiled .mo differs from the .po's (or is missing)."""
    compiled = gettext.GNUTranslations(io.BytesIO(mo_bytes))._catalog  # noqa: SLF001
    stale = []
    for message in po:
        if not message.id or message.fuzzy or not message.string:
            continue
        if isinstance(message.id, str):
            if compiled.get(message.id) != message.string:
                stale.append(message.id)
        elif any(compiled.get((message.id[0], i)) != s for i, s in enumerate(message.string)):
            stale.append(message.id[0])
    return stale


# -- the catalogues --------------------------------------------------------------------------
def test_every_domain_has_a_template_and_a_chinese_catalogue():
    for domain in i18n.DOMAINS:
        assert (I18N / f"{domain}.pot").is_file(), f"run bash scripts/i18n.sh {domain} all"
        assert po_path(domain).is_file() and po_path(domain).with_suffix(".mo").is_file()


@pytest.mark.parametrize("domain", i18n.DOMAINS)
def test_the_template_holds_every_message_of_the_code(domain):
    """Every _() / N_() / ngettext() text of the code is in its .pot, and nothing else is."""
    pot = {msgid_key(m) for m in read_catalogue(I18N / f"{domain}.pot") if m.id}
    code = extracted(domain)
    assert code - pot == set(), (
        f"not extracted (run bash scripts/i18n.sh {domain} all): {sorted(code - pot)}"
    )
    assert pot - code == set(), (
        f"gone from the code (run bash scripts/i18n.sh {domain} all): {sorted(pot - code)}"
    )


@pytest.mark.parametrize("domain", i18n.DOMAINS)
def test_every_message_has_a_chinese_translation(domain):
    pot, po = read_catalogue(I18N / f"{domain}.pot"), read_catalogue(po_path(domain))
    assert untranslated(pot, po) == []


@pytest.mark.parametrize("domain", i18n.DOMAINS)
def test_translations_keep_every_placeholder(domain):
    assert placeholder_mismatches(read_catalogue(po_path(domain))) == []


@pytest.mark.parametrize("domain", i18n.DOMAINS)
def test_compiled_catalogues_are_current(domain):
    po = read_catalogue(po_path(domain))
    assert stale_mo(po, po_path(domain).with_suffix(".mo").read_bytes()) == [], (
        f"run bash scripts/i18n.sh {domain} compile"
    )


def test_a_catalogue_with_an_entry_removed_is_rejected():
    pot, po = read_catalogue(I18N / "autograder.pot"), read_catalogue(po_path("autograder"))
    victim = "Hint: {hint}"
    del po[victim]
    assert untranslated(pot, po) == [victim]


def test_a_fuzzy_or_empty_translation_counts_as_missing():
    pot, po = read_catalogue(I18N / "autograder.pot"), read_catalogue(po_path("autograder"))
    po["Hint: {hint}"].flags.add("fuzzy")
    po["Got: {got}"].string = ""
    assert sorted(untranslated(pot, po)) == ["Got: {got}", "Hint: {hint}"]


def test_a_translation_that_drops_or_adds_a_placeholder_is_rejected():
    po = read_catalogue(po_path("autograder"))
    po["Hint: {hint}"].string = "提示："
    po["Got: {got}"].string = "实际：{got} {extra}"
    bad = placeholder_mismatches(po)
    assert len(bad) == 2 and any("hint" in b for b in bad) and any("extra" in b for b in bad)


def test_a_stale_compiled_catalogue_is_rejected():
    po = read_catalogue(po_path("autograder"))
    old = io.BytesIO()
    write_mo(old, po)
    po["Hint: {hint}"].string = "提示（新）：{hint}"
    assert stale_mo(po, old.getvalue()) == ["Hint: {hint}"]


def _formats(node) -> bool:
    """Whether `node` is a str.format or % call: a message filled in before it is translated."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
    )


def test_translate_then_fill_no_call_builds_its_message_before_translating():
    """_() of an f-string, a concatenation or a formatted string is never found in a catalogue."""
    bad = []
    for path in [
        *sorted((ROOT / "autograder").rglob("*.py")),
        ROOT / "scripts" / "make_selfcheck.py",
    ]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in KEYWORDS
            ):
                if any(isinstance(a, (ast.JoinedStr, ast.BinOp)) or _formats(a) for a in node.args):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert bad == []


def test_the_script_extracts_updates_and_compiles(tmp_path):
    """scripts/i18n.sh runs (usage errors are refused) and leaves the committed catalogues as they are."""
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "i18n.sh"), "bogus"], capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 2 and "usage" in proc.stderr


# -- the API ---------------------------------------------------------------------------------
def test_language_tags_and_lookup():
    assert [i18n.normalise(t) for t in ("zh", "zh-CN", "zh_Hans_CN", "en_US", None)] == [
        "zh_CN"
    ] * 3 + ["en"] * 2
    with pytest.raises(ValueError, match="unknown language"):
        i18n.normalise("fr")
    assert i18n._("Hint: {hint}") == "Hint: {hint}"
    with i18n.use("zh_CN"):
        assert i18n.current() == "zh_CN" and i18n._("Hint: {hint}") == "提示：{hint}"
        with i18n.use(None):
            assert i18n.current() == "zh_CN"
    assert i18n.current() == "en"


def test_parse_reads_a_filled_template_back_in_either_language():
    assert i18n.parse("Hint: {hint}", "提示：用 keepdim") == {"hint": "用 keepdim"}
    assert i18n.parse("Hint: {hint}", "Hint: use keepdim") == {"hint": "use keepdim"}
    assert i18n.parse("Hint: {hint}", "Got: 3") is None
    assert i18n.variants("Hint: {hint}") == ("Hint: {hint}", "提示：{hint}")


def test_override_and_edition_decide_the_language(tmp_path, monkeypatch):
    monkeypatch.delenv(i18n.OVERRIDE_ENV, raising=False)
    zh = ROOT / "release" / "softmax_regression_zh"
    assert (
        i18n.folder_language(zh) == "zh_CN"
        and i18n.folder_language(ROOT / "release" / config.ASSIGNMENT) == "en"
    )
    assert i18n.language_for("en", zh / softmax_unit.MAIN_NOTEBOOK) == "zh_CN"  # the metadata wins
    assert i18n.language_for("zh_CN", tmp_path / "absent.ipynb") == "zh_CN"
    with i18n.overriding("en"):
        assert (
            os.environ[i18n.OVERRIDE_ENV] == "en"
            and i18n.language_for("zh_CN", zh / softmax_unit.MAIN_NOTEBOOK) == "en"
        )
    assert i18n.OVERRIDE_ENV not in os.environ
    monkeypatch.chdir(zh)
    assert i18n.here() == "zh_CN"
    with i18n.use("en"):
        assert i18n.here() == "en"  # a use() block around the call wins over the folder


# -- a Chinese submission --------------------------------------------------------------------
def test_the_detector_finds_english_prose():
    assert english_words("提示：each row must sum to 1") == ["each", "row", "must", "sum", "to"]
    assert english_words("实际：RuntimeError: The size of tensor a must match") == []
    assert english_words("提示：用 X_exp.sum(1, keepdim=True) 把行和保持为一列") == []


def test_broken_implementations_get_chinese_messages():
    """Every broken implementation of the corpus (function checks) fails in Chinese, hints included."""
    leaks = {}
    for name in impls.BROKEN:
        if "reloaded" in name or name.startswith("train"):
            continue  # torch reloaded in-process; training: tests/grading
        path = IMPLS / "broken" / name
        with i18n.use("zh_CN"):
            results = impls.run(path, training=False)
        english = impls.run(path, training=False)
        for cid, res in results.items():
            assert res.passed == english[cid].passed and res.score == english[cid].score
            if not res.passed:
                assert res.message != english[cid].message
                if words := english_words(res.message):
                    leaks[f"{name} {cid}"] = (words, res.message)
    assert leaks == {}


def test_without_the_chinese_catalogue_the_detector_sees_english(monkeypatch):
    """The broken variant: a zh_CN catalogue that lacks the checks' messages leaves English hints."""
    monkeypatch.setattr(i18n, "translations", lambda lang: gettext.NullTranslations())
    with i18n.use("zh_CN"):
        results = impls.run(IMPLS / "broken" / "softmax_naive.py", training=False)
    assert english_words(results["softmax.stability"].message)


def format_mismatches(source: str) -> list[str]:
    """`_("...").format(...)` calls whose keywords are not exactly the template's placeholders
    (a missing one raises KeyError only on the failure path that fills it in)."""
    bad = []
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
        ):
            continue
        inner = node.func.value
        if not (
            isinstance(inner, ast.Call)
            and isinstance(inner.func, ast.Name)
            and inner.func.id == "_"
        ):
            continue
        if not (inner.args and isinstance(inner.args[0], ast.Constant)) or any(
            k.arg is None for k in node.keywords
        ):
            continue  # a msgid held in a variable, or **fields: checked where they are built
        want, given = set(i18n.fields(inner.args[0].value)), {k.arg for k in node.keywords}
        if want != given or node.args:
            bad.append(f"line {node.lineno}: {inner.args[0].value[:60]!r} {sorted(want ^ given)}")
    return bad


def test_every_template_is_filled_with_exactly_its_placeholders():
    bad = {}
    for path in [
        *sorted((ROOT / "autograder").rglob("*.py")),
        ROOT / "scripts" / "make_selfcheck.py",
    ]:
        if found := format_mismatches(path.read_text(encoding="utf-8")):
            bad[str(path.relative_to(ROOT))] = found
    assert bad == {}


def test_a_template_filled_without_one_of_its_placeholders_is_found():
    assert format_mismatches('_("Got: {got} of {n}").format(got=1)') == [
        "line 1: 'Got: {got} of {n}' ['n']"
    ]
    assert format_mismatches('_("Got: {got}").format(got=1)') == []
