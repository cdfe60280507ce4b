"""Student-facing text in the student's language: gettext catalogues (en, zh_CN), one per process-wide
context, chosen per submission from its edition (config.EDITIONS) or the --lang override.

    from autograder.i18n import _, N_, use

    with use("zh_CN"):
        _("Input: {inp}").format(inp=...)   # the Chinese template, filled in after translation

Messages are str.format templates: translate the template, then fill it, so a translation keeps
every {placeholder}. Module-level constants are marked with N_() (extracted, not translated) and
translated where they are used with _(). Catalogues live in autograder/i18n/locale/<lang>/LC_MESSAGES/
<domain>.po (sources) and .mo (compiled by scripts/i18n.sh); English is the msgid itself.
"""

from __future__ import annotations

import contextvars
import gettext
import json
import os
import re
import string
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from autograder import config

DOMAINS = ("autograder", "reports")
"""Catalogues, one per area (a file each, so their translators work apart): "autograder" for what
the checks, the grader, the quiz and the self-check write; "reports" for the feedback pages and the
class report. A message is looked up in each, in this order."""
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "zh_CN")
"""The languages a student can read their results in; the first is the default and the msgids."""
OVERRIDE_ENV = "SOFTMAX_LANG"
"""Environment variable of the --lang override (set by the CLI, so graders it starts inherit it)."""

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "autograder_lang", default=None
)
"""The language a use() block chose (None outside any: English)."""


def normalise(lang: str | None) -> str:
    """A language tag as a key of LANGUAGES ("zh", "zh-CN", "zh_Hans_CN" -> "zh_CN"); ValueError if unknown."""
    if not lang:
        return LANGUAGES[0]
    tag = str(lang).strip().replace("-", "_").lower()
    if tag.startswith("zh"):
        return "zh_CN"
    if tag.startswith("en") or tag in ("c", "posix"):
        return "en"
    raise ValueError(f"unknown language {lang!r}; known: {', '.join(LANGUAGES)}")


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of `lang` (English, or a missing catalogue: the msgids themselves)."""
    lang = normalise(lang)
    if lang == LANGUAGES[0]:
        return gettext.NullTranslations()
    first, *rest = (
        gettext.translation(domain, localedir=str(LOCALE_DIR), languages=[lang], fallback=True)
        for domain in DOMAINS
    )
    for more in rest:
        first.add_fallback(more)
    return first


def current() -> str:
    """The language messages are written in now."""
    return _current.get() or LANGUAGES[0]


@contextmanager
def use(lang: str | None) -> Iterator[str]:
    """Write messages in `lang` inside the block (None: keep the current language)."""
    token = _current.set(normalise(lang) if lang else _current.get())
    try:
        yield current()
    finally:
        _current.reset(token)


def override() -> str | None:
    """The language forced by --lang (the SOFTMAX_LANG environment variable), or None."""
    lang = os.environ.get(OVERRIDE_ENV, "").strip()
    return normalise(lang) if lang else None


@contextmanager
def overriding(lang: str | None) -> Iterator[None]:
    """Inside the block, every submission's messages are in `lang` (None: each edition's), also in
    the processes started there (the override is the SOFTMAX_LANG environment variable)."""
    before = os.environ.get(OVERRIDE_ENV)
    if lang:
        os.environ[OVERRIDE_ENV] = normalise(lang)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(OVERRIDE_ENV, None)
        else:
            os.environ[OVERRIDE_ENV] = before


def notebook_edition(path) -> str | None:
    """The language a notebook's metadata ``softmax_course.edition`` names, or None (unreadable, absent)."""
    try:
        with open(path, encoding="utf-8") as fh:
            meta = json.load(fh).get("metadata") or {}
        return normalise((meta.get("softmax_course") or {}).get("edition")) if meta else None
    except (OSError, ValueError, AttributeError, TypeError):
        return None


def folder_language(folder) -> str | None:
    """The edition of the course notebooks in `folder` (their metadata, else the folder's name), or None."""
    folder = Path(folder)
    from autograder import units

    names = dict.fromkeys(name for unit in units.every() for name in unit.notebooks)
    for name in names:  # any unit's notebooks (their metadata)
        lang = notebook_edition(folder / name)
        if lang:
            return lang
    return config.EDITIONS.get(folder.name)


def language_for(edition: str | None = None, notebook=None) -> str:
    """The language a submission's messages are written in: the --lang override, else the edition
    its notebook's metadata names, else `edition` (its assignment folder's), else English."""
    return override() or (notebook and notebook_edition(notebook)) or normalise(edition)


def ambient(folder=None) -> str:
    """The language of code run outside the grader (a notebook kernel, the self-check): the --lang
    override, else the edition of the notebooks in `folder` (default: the current folder), else English."""
    return override() or folder_language(folder or Path.cwd()) or LANGUAGES[0]


def here(folder=None) -> str:
    """The language of a use() block around this call, else ambient(folder): how code that runs in
    a notebook kernel (nbgrader's hidden tests, the self-check) chooses its language."""
    return _current.get() or ambient(folder)


def variants(message: str) -> tuple[str, ...]:
    """`message` in every language, English first (to recognise a label such as "Hint:" in a
    message written in any edition's language)."""
    return tuple(dict.fromkeys(translations(lang).gettext(message) for lang in LANGUAGES))


def fields(template: str) -> list[str]:
    """The {placeholder} names of a str.format template, in order (repeats kept)."""
    return [
        name for _text, name, _spec, _conv in string.Formatter().parse(template) if name is not None
    ]


@cache
def _patterns(template: str) -> tuple[re.Pattern, ...]:
    """One regex per language matching `template` filled in (its placeholders as named groups)."""
    out = []
    for variant in variants(template):
        regex, seen = "", set()
        for text, name, _spec, _conv in string.Formatter().parse(variant):
            regex += re.escape(text)
            if name is not None:
                regex += f"(?P={name})" if name in seen else f"(?P<{name}>.*?)"
                seen.add(name)
        out.append(re.compile(regex, re.S))
    return tuple(out)


def parse(template: str, text: str) -> dict[str, str] | None:
    """The placeholders' values of `text` read back through `template` in any language (e.g. the
    hint of a "Hint: {hint}" line of a Chinese message), or None when no language's form fits."""
    for pattern in _patterns(template):
        match = pattern.fullmatch(text)
        if match:
            return match.groupdict()
    return None


def _(message: str) -> str:
    """`message` (an English msgid) in the current language."""
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, in the current language."""
    return translations(current()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark `message` for extraction without translating it (translate where it is used)."""
    return message


def clip(text: str, limit: int) -> str:
    """`text` in at most `limit` characters: when longer, cut at the last space before the limit
    (never inside a word; in a text without spaces, such as Chinese, at a character) and end with
    an ellipsis. The one rule for shortening a message a person reads."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > 0 and text[limit - 1] != " ":
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"
