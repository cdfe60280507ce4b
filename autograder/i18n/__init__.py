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
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

DOMAINS = ("autograder", "reports")
"""Catalogues, one per area (a file each, so their translators work apart): "autograder" for what
the checks, the grader, the quiz and the self-check write; "reports" for the feedback pages and the
class report. A message is looked up in each, in this order."""
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "zh_CN")
"""The languages a student can read their results in; the first is the default and the msgids."""

_current: contextvars.ContextVar[str] = contextvars.ContextVar("autograder_lang", default="en")


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
    return _current.get()


@contextmanager
def use(lang: str | None) -> Iterator[str]:
    """Write messages in `lang` inside the block (None: keep the current language)."""
    token = _current.set(normalise(lang) if lang else _current.get())
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def _(message: str) -> str:
    """`message` (an English msgid) in the current language."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, in the current language."""
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark `message` for extraction without translating it (translate where it is used)."""
    return message
