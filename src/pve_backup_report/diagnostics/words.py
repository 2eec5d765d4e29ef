"""The diagnostics' own words (table titles, column headers, states) in the report language.

Why a lookup by the English text: the tables are built from English labels that read well in
the code; `word` turns one into its catalogue entry `diag.<slug>` (`"last backup"` →
`diag.last_backup`), so English output stays exactly as written and every French label is in
fr.json next to the report's. A label without an entry raises (KeyError), so a new column
without a translation fails the tests. Values from the cluster and machine words (verdict
codes in JSON, anomaly codes, `--check` status words) are never translated.
"""

from __future__ import annotations

import re

from ..report.i18n import Translator

_EN = Translator("en")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9()]+", "_", text).strip("_")


def word(tr: Translator | None, text: str) -> str:
    """`text` (English, as written in the code) in `tr`'s language."""
    key = f"diag.{slug(text)}"
    if tr is None or tr.lang == "en":
        _EN.t(key)  # the entry must exist in every language, English included
        return text
    return tr.t(key)
