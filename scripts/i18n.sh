#!/usr/bin/env bash
# The gettext catalogues of autograder/i18n (what students read, in en and zh_CN), with Babel's pybabel.
#
#   bash scripts/i18n.sh extract   # msgids from the code -> autograder/i18n/<domain>.pot
#   bash scripts/i18n.sh update    # merge the .pot into locale/<lang>/LC_MESSAGES/<domain>.po (init if new)
#   bash scripts/i18n.sh compile   # .po -> .mo (committed: the grader reads .mo with stdlib gettext)
#   bash scripts/i18n.sh all       # the three in order (after editing messages or translations)
#   bash scripts/i18n.sh reports update compile  # several steps, only the domains named
#
# Domains: "autograder" (checks, grader, sandbox runner, quiz, self-check: every file of autograder/
# and scripts/make_selfcheck.py but the two below, mapped by babel.cfg) and "reports"
# (autograder/results/feedback.py and autograder/results/report.py). Keywords: _, N_ and
# ngettext:1,2; a "# TRANSLATORS:" comment above a message goes into the catalogue for the translator.
# Messages are str.format templates: a translation keeps every {placeholder} (tests/i18n checks it,
# and that every msgid is translated and every .mo is current).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
I18N=autograder/i18n
LOCALE="$I18N/locale"
LANGS=(zh_CN)
KEYWORDS=(--no-default-keywords -k _ -k N_ -k ngettext:1,2 -c TRANSLATORS:)
PYBABEL="${PYBABEL:-pybabel}"
command -v "$PYBABEL" >/dev/null || PYBABEL="$(dirname "$(command -v python)")/pybabel"

domains=() actions=()
for arg in "$@"; do
    case "$arg" in
        autograder | reports) domains+=("$arg") ;;
        extract | update | compile) actions+=("$arg") ;;
        all) actions+=(extract update compile) ;;
        *) echo "usage: bash scripts/i18n.sh [autograder|reports...] extract|update|compile|all..." >&2; exit 2 ;;
    esac
done
[ ${#domains[@]} -gt 0 ] || domains=(autograder reports)
[ ${#actions[@]} -gt 0 ] || actions=(extract update compile)

sources() {  # the files a domain's messages are extracted from
    case "$1" in
        autograder) echo autograder scripts/make_selfcheck.py ;;
        reports) echo autograder/results/feedback.py autograder/results/report.py ;;
    esac
}

extract() {
    local domain="$1" mapping=babel.cfg
    if [ "$domain" = reports ]; then
        mapping="$(mktemp)"
        printf '[python: **.py]\n' >"$mapping"
    fi
    # shellcheck disable=SC2046
    "$PYBABEL" extract -F "$mapping" "${KEYWORDS[@]}" --sort-by-file -w 100 \
        --project=softmax-autograder --version=0.1.0 --copyright-holder="softmax-autograder" \
        -o "$I18N/$domain.pot" $(sources "$domain")
    [ "$mapping" = babel.cfg ] || rm -f "$mapping"
}

update() {
    local domain="$1" lang
    for lang in "${LANGS[@]}"; do
        local po="$LOCALE/$lang/LC_MESSAGES/$domain.po"
        if [ -f "$po" ]; then
            "$PYBABEL" update -i "$I18N/$domain.pot" -d "$LOCALE" -D "$domain" -l "$lang" -w 100 \
                --ignore-obsolete --no-fuzzy-matching
        else
            "$PYBABEL" init -i "$I18N/$domain.pot" -d "$LOCALE" -D "$domain" -l "$lang" -w 100
        fi
    done
}

compile() {
    local domain="$1" lang
    for lang in "${LANGS[@]}"; do
        local po="$LOCALE/$lang/LC_MESSAGES/$domain.po"
        [ -f "$po" ] || { echo "i18n.sh: $po does not exist (run update first)" >&2; exit 1; }
        # --statistics names untranslated messages; tests/i18n fails on any of them
        "$PYBABEL" compile -i "$po" -o "${po%.po}.mo" -D "$domain" -l "$lang" --statistics
    done
}

for action in "${actions[@]}"; do
    for domain in "${domains[@]}"; do "$action" "$domain"; done
done
