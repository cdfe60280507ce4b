"""Build each assignment's Chinese edition (e.g. source/softmax_regression_zh/) from its English source and translation.

For every English assignment of config.EDITIONS whose unit has a zh_CN edition there (config.UNITS),
the English notebooks in source/<assignment>/ (the unit's notebooks) are the one source of truth for
code: every cell keeps its id, type, nbgrader metadata and code. Markdown cells take their text
from the assignment's translation, source/translations/<assignment>.zh_CN.toml (the first
assignment's, config.ASSIGNMENT's, is source/translations/zh_CN.toml when it has no such file).
In code cells, what students read outside solution and hidden-test
regions is replaced by its translation: whole-line comments (hidden-test descriptions, answer
formats) from [[comments]], and prose string literals (docstrings, assert and print messages) and
trailing comments from [[strings]], keyed by their exact text (an f-string keeps its fields);
nothing else in a code cell changes. The unit's helpers (and requirements.txt) are copied byte for
byte.

    python scripts/make_zh_edition.py                 # rewrite every Chinese edition's source/
    python scripts/make_zh_edition.py --check         # exit 1 if one is not what this script makes
    python scripts/make_zh_edition.py --update-hashes # after updating translations of changed cells
    python scripts/make_zh_edition.py --assignment softmax_regression   # one English assignment

The script stops when an English Markdown cell changed since it was translated (its en_sha256 in
the translation file no longer matches), when a cell, a visible comment or a student-facing string
has no translation (or a translated f-string lost a field), and when the translation file holds
entries for cells, comments or strings that no longer exist.
Then run `bash scripts/release.sh` to release every edition.
"""

from __future__ import annotations

import argparse
import ast
import copy
import hashlib
import io
import re
import sys
import tokenize
import tomllib
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder import config, units  # noqa: E402

EDITION = "zh_CN"
TRANSLATIONS = REPO / "source" / "translations"
COURSE_FILES = ("requirements.txt",)
"""Files every edition's source folder holds beside its unit's helpers (copied when present)."""
MARKER = re.compile(r"^\s*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)\s*$")
PROSE = re.compile(r"[A-Za-z]{2,}[ ,:;.'-]+[A-Za-z]{2,}|[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]")
"""Two English words in a row, or any Chinese: a string or a trailing comment a student reads
(not a key like "cpu")."""
FIELD = re.compile(r"{[^{}]*}")


class TranslationError(Exception):
    """The translation does not fit the English source (missing, stale or unused entries)."""


def editions() -> dict[str, str]:
    """English assignment -> its Chinese edition, for every English assignment of config.EDITIONS
    whose unit has a zh_CN edition."""
    out = {}
    for assignment, language in config.EDITIONS.items():
        if language != "en" or assignment not in config.UNITS:
            continue
        zh = [
            a
            for a in units.assignments_of(units.get(assignment))
            if config.EDITIONS.get(a) == EDITION
        ]
        if zh:
            out[assignment] = zh[0]
    return out


def translation_file(assignment: str) -> Path:
    """The translation of English assignment `assignment`: translations/<assignment>.zh_CN.toml,
    else, for config.ASSIGNMENT, translations/zh_CN.toml (where the first one always was)."""
    own = TRANSLATIONS / f"{assignment}.{EDITION}.toml"
    if own.is_file() or assignment != config.ASSIGNMENT:
        return own
    return TRANSLATIONS / f"{EDITION}.toml"


def notebooks(assignment: str) -> tuple[str, ...]:
    """The notebooks of the assignment's unit, translated."""
    return units.get(assignment).notebooks


def helpers(assignment: str) -> tuple[str, ...]:
    """The files copied byte for byte: the unit's helpers and the course's files beside them."""
    return (*units.get(assignment).helpers, *COURSE_FILES)


HELPERS = helpers(config.ASSIGNMENT)
"""config.ASSIGNMENT's files copied byte for byte (build's default assignment)."""


def en_sha256(text: str) -> str:
    """The start of the SHA-256 of an English cell's source, as recorded in the translation file."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def visible_comment_lines(source: str) -> list[tuple[int, str]]:
    """(line index, stripped line) of whole-line comments outside solution and hidden-test regions."""
    out, inside = [], False
    for index, line in enumerate(source.split("\n")):
        match = MARKER.match(line)
        if match:
            inside = match.group(1) == "BEGIN"
            continue
        if not inside and line.lstrip().startswith("#"):
            out.append((index, line.strip()))
    return out


def without_visible_comments(source: str) -> str:
    """A code cell with its translatable comment lines removed (what both editions share)."""
    drop = {index for index, _ in visible_comment_lines(source)}
    return "\n".join(line for i, line in enumerate(source.split("\n")) if i not in drop)


def without_student_text(source: str) -> str:
    """A code cell without what is translated (whole-line comments removed, each student-facing
    string and trailing comment replaced by a marker): the code both editions share."""
    source = without_visible_comments(source)
    for start, end, _text in reversed(student_strings(source)):
        source = source[:start] + "<text>" + source[end:]
    return source


def load_translation(path: Path) -> dict:
    """The translation file, parsed."""
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    if data.get("edition") != EDITION:
        raise TranslationError(f"{path}: edition must be {EDITION!r}")
    return data


def translate_code(source: str, comments: dict[str, str], used: set[str], where: str) -> str:
    """The code cell with each visible whole-line comment replaced by its translation."""
    lines = source.split("\n")
    for index, stripped in visible_comment_lines(source):
        if stripped not in comments:
            raise TranslationError(f"{where}: no translation for the comment {stripped!r}")
        used.add(stripped)
        line = lines[index]
        lines[index] = line[: len(line) - len(line.lstrip())] + comments[stripped]
    return "\n".join(lines)


def student_strings(source: str) -> list[tuple[int, int, str]]:
    """(start, end, text) offsets in `source` of the prose string literals and trailing comments
    outside solution and hidden-test regions (whole-line comments are translate_code's)."""
    lines, inside = source.split("\n"), False
    shown = []
    for line in lines:
        match = MARKER.match(line)
        if match:
            inside = match.group(1) == "BEGIN"
        shown.append("" if inside or match else line)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    found = []
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO("\n".join(shown)).readline))
    except (tokenize.TokenError, SyntaxError):
        return found
    for tok in tokens:
        trailing = tok.type == tokenize.COMMENT and tok.line.strip() != tok.string.strip()
        if (tok.type == tokenize.STRING or trailing) and PROSE.search(tok.string):
            start = starts[tok.start[0] - 1] + tok.start[1]
            end = starts[tok.end[0] - 1] + tok.end[1]
            found.append((start, end, tok.string))
    return found


def translate_strings(source: str, strings: dict[str, str], used: set[str], where: str) -> str:
    """The code cell with each student-facing string literal and trailing comment translated."""
    for start, end, text in reversed(student_strings(source)):
        if text not in strings:
            raise TranslationError(f"{where}: no translation for the string {text!r}")
        zh = strings[text]
        if not text.startswith("#"):
            if sorted(FIELD.findall(zh)) != sorted(FIELD.findall(text)) and "f" in text[:2].lower():
                raise TranslationError(f"{where}: the translation of {text!r} changes its fields")
            try:
                ast.parse(zh, mode="eval")
            except SyntaxError as err:
                raise TranslationError(
                    f"{where}: the translation of {text!r} is not Python: {err}"
                ) from err
        used.add(text)
        source = source[:start] + zh + source[end:]
    return source


def translate_notebook(name: str, nb: nbformat.NotebookNode, data: dict, used: set[str],
                       generated_from: str = ""):  # fmt: skip
    """The Chinese edition of the English notebook `nb` (a new object); `generated_from`: the
    sources its metadata names."""
    cells = data.get("notebooks", {}).get(name, {}).get("cells", {})
    comments = {entry["en"].strip(): entry["zh"].strip() for entry in data.get("comments", [])}
    strings = {entry["en"]: entry["zh"] for entry in data.get("strings", [])}
    zh = copy.deepcopy(nb)
    seen = set()
    for cell in zh.cells:
        where = f"{name} cell {cell.id}"
        if cell.cell_type == "markdown":
            entry = cells.get(cell.id)
            if entry is None:
                raise TranslationError(
                    f"{where}: no translation (add [notebooks.{name!r}.cells.{cell.id}])"
                )
            want = en_sha256(cell.source)
            if entry.get("en_sha256") != want:
                raise TranslationError(
                    f"{where}: the English text changed since it was translated (en_sha256 "
                    f"{entry.get('en_sha256')!r}, now {want!r}); update the translation, then run "
                    "scripts/make_zh_edition.py --update-hashes"
                )
            cell.source = entry["zh"].strip("\n")
            seen.add(cell.id)
        elif cell.cell_type == "code":
            cell.source = translate_code(cell.source, comments, used, where)
            cell.source = translate_strings(cell.source, strings, used, where)
    unused = sorted(set(cells) - seen)
    if unused:
        raise TranslationError(
            f"{name}: translations of cells that are not Markdown cells of the English notebook: {unused}"
        )
    zh.metadata["softmax_course"] = {
        "edition": EDITION,
        "generated_by": "scripts/make_zh_edition.py",
        "generated_from": generated_from,
    }
    nbformat.validate(zh)
    return zh


def _shown(path: Path) -> str:
    """`path` as the metadata names it: relative to the repository when inside it."""
    try:
        return Path(path).resolve().relative_to(REPO).as_posix()
    except ValueError:
        return Path(path).as_posix()


def build(en_dir: Path | None = None, translation: Path | None = None,
          assignment: str = config.ASSIGNMENT) -> dict[str, bytes]:  # fmt: skip
    """File name -> bytes of every file of the Chinese edition's source folder of English
    assignment `assignment` (its source from `en_dir`, default source/<assignment>/, translated
    by `translation`, default translation_file(assignment))."""
    en_dir = Path(en_dir) if en_dir is not None else REPO / "source" / assignment
    translation = Path(translation) if translation is not None else translation_file(assignment)
    data = load_translation(translation)
    used: set[str] = set()
    files = {}
    for name in notebooks(assignment):
        nb = nbformat.read(en_dir / name, as_version=4)
        if nb.metadata.get("softmax_course", {}).get("edition") != "en":
            raise TranslationError(f"{en_dir / name}: metadata softmax_course.edition must be 'en'")
        origin = f"source/{assignment}/{name}, {_shown(translation)}"
        zh = translate_notebook(name, nb, data, used, origin)
        files[name] = (nbformat.writes(zh) + "\n").encode("utf-8")
    entries = {entry["en"].strip() for entry in data.get("comments", [])}
    entries |= {entry["en"] for entry in data.get("strings", [])}
    unused = sorted(entries - used)
    if unused:
        raise TranslationError(
            f"translations of comments or strings that no English code cell has: {unused}"
        )
    for name in helpers(assignment):
        if name in units.get(assignment).helpers or (en_dir / name).is_file():
            files[name] = (en_dir / name).read_bytes()
    return files


def differences(files: dict[str, bytes], folder: Path) -> list[str]:
    """Names of the files that are missing from `folder`, differ there, or are there but not built."""
    present = {p.name for p in folder.iterdir() if p.is_file()} if folder.is_dir() else set()
    out = [n for n, b in files.items() if n not in present or (folder / n).read_bytes() != b]
    return sorted(out + sorted(present - set(files)))


def update_hashes(en_dir: Path | None = None, translation: Path | None = None,
                  assignment: str = config.ASSIGNMENT) -> list[str]:  # fmt: skip
    """Rewrite the en_sha256 of every translated cell to its English cell's current hash."""
    en_dir = Path(en_dir) if en_dir is not None else REPO / "source" / assignment
    translation = Path(translation) if translation is not None else translation_file(assignment)
    text = translation.read_text(encoding="utf-8")
    changed = []
    for name in notebooks(assignment):
        nb = nbformat.read(en_dir / name, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            header = re.escape(f'[notebooks."{name}".cells.{cell.id}]')
            pattern = re.compile(rf'^({header}\s*\nen_sha256 = )"([^"]*)"', re.M)
            digest = en_sha256(cell.source)
            new, count = pattern.subn(lambda m, d=digest: f'{m.group(1)}"{d}"', text)
            if count and new != text:
                changed.append(f"{name} {cell.id}")
            text = new
    translation.write_text(text, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument(
        "--update-hashes", action="store_true", help="record the English cells' hashes"
    )
    parser.add_argument(
        "--assignment",
        choices=tuple(editions()),
        help="only this English assignment (default: every one with a Chinese edition)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="folder to write, with --assignment (default: source/<its Chinese edition>)",
    )
    args = parser.parse_args(argv)
    if args.out is not None and args.assignment is None:
        parser.error("--out needs --assignment")
    chosen = {a: zh for a, zh in editions().items() if args.assignment in (None, a)}
    status = 0
    for assignment, zh_assignment in chosen.items():
        out = args.out or REPO / "source" / zh_assignment
        status = max(status, _make(assignment, out, args.check, args.update_hashes))
    return status


def _make(assignment: str, out: Path, check: bool, hashes: bool) -> int:
    """Write (or, with `check`, compare) the Chinese edition of `assignment` in `out`; 0 or 1."""
    if hashes:
        for cell in update_hashes(assignment=assignment):
            print(f"en_sha256 updated: {cell}")
    try:
        files = build(assignment=assignment)
    except TranslationError as err:
        print(f"make_zh_edition: {assignment}: {err}", file=sys.stderr)
        return 1
    if check:
        stale = differences(files, out)
        if stale:
            print(
                f"make_zh_edition: {out} is stale ({', '.join(stale)}); run python scripts/make_zh_edition.py",
                file=sys.stderr,
            )
            return 1
        print(f"make_zh_edition: {out} is up to date")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (out / name).write_bytes(content)
    print(f"make_zh_edition: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
