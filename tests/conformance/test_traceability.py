"""docs/requirements.md against the draft and the tests.

(a) every quoted requirement occurs in draft-07 (whitespace-normalised);
(b) re-extracting the normative sentences of sections 3-7 and 9 finds exactly the table's GK rows, with
    the same IDs (GK-<subsection>-<n>, n counting that subsection's normative sentences in order);
(c) every ID in the table is named by at least one test under tests/ (``GK-3.3.2-2`` or ``GK_3_3_2_2``);
(d) every test the table cites exists.

Extraction rule: drop page footers/headers, figures (lines drawn with ``+-``/``|``) and the status-code
headings of section 6.4; split into paragraphs at blank lines, headings and list bullets ("o"); split
paragraphs into sentences; keep a sentence when it has an RFC 2119 keyword once the ``<STATUS NAME>``
tokens are removed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DRAFT = REPO.parent / "shared" / "spec" / "draft-ietf-netlmm-grekey-option-07.txt"
TABLE = REPO / "docs" / "requirements.md"
TESTS = REPO / "tests"

NORMATIVE_SECTIONS = {"3", "4", "5", "6", "7", "9"}
_PAGE_BREAK = re.compile(r"\n[ \t]*\n*[^\n]*\[Page \d+\]\n\f?\n*Internet-Draft[^\n]*\n[ \t]*\n*")
_HEADING = re.compile(r"^((\d+)(?:\.\d+)*)\.\s+\S")
_STATUS_HEADING = re.compile(r"^\s+GRE [A-Z -]+\(TBD (?:less|more) than 128\)\s*$")
_BULLET = re.compile(r"^\s+o\s+")
_FIGURE = re.compile(r"\+-|-\+|\|")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z<(\[])")
_STATUS_TOKEN = re.compile(r"<[^>]*>")
_KEYWORD = re.compile(r"\b(?:MUST|REQUIRED|SHALL|SHOULD|RECOMMENDED|MAY|OPTIONAL)\b")
_ROW = re.compile(r"^\| ((?:GK|RFC5845)-[^ |]+) \| [^|]* \| ([^|]*) \|")


def normalise(text: str) -> str:
    return " ".join(text.split())


def draft_text() -> str:
    if not DRAFT.exists():
        pytest.fail(f"the draft text is missing: {DRAFT} (shared/ must sit beside the repository)")
    return _PAGE_BREAK.sub("\n", DRAFT.read_text())


def normative_sentences() -> list[tuple[str, str]]:
    """(subsection, sentence) for every normative sentence of sections 3-7 and 9, in document order."""
    paragraphs: list[tuple[str, list[str]]] = []
    section: str | None = None
    lines: list[str] = []

    def close() -> None:
        nonlocal lines
        if lines and section is not None and not any(_FIGURE.search(line) for line in lines):
            paragraphs.append((section, lines))
        lines = []

    for line in draft_text().split("\n"):
        heading = _HEADING.match(line)
        if heading:
            close()
            section = heading.group(1)
        elif not line.strip() or _STATUS_HEADING.match(line):
            close()
        elif _BULLET.match(line):
            close()
            lines.append(_BULLET.sub("", line))
        else:
            lines.append(line)
    close()
    found = []
    for subsection, paragraph in paragraphs:
        if subsection.split(".")[0] not in NORMATIVE_SECTIONS:
            continue
        for sentence in _SENTENCE_END.split(normalise(" ".join(paragraph))):
            if _KEYWORD.search(_STATUS_TOKEN.sub("", sentence)):
                found.append((subsection, sentence))
    return found


def table_rows() -> dict[str, str]:
    rows = {}
    for line in TABLE.read_text().splitlines():
        match = _ROW.match(line)
        if match:
            rows[match.group(1)] = normalise(match.group(2))
    return rows


def test_table_has_the_draft_rows() -> None:
    rows = table_rows()
    assert sum(identifier.startswith("GK-") for identifier in rows) >= 54


def test_every_quoted_requirement_occurs_in_the_draft() -> None:
    draft = normalise(draft_text())
    missing = [identifier for identifier, quote in table_rows().items()
               if identifier.startswith("GK-") and quote not in draft]
    assert missing == []


def test_every_normative_sentence_is_in_the_table_with_its_id() -> None:
    rows = table_rows()
    expected: dict[str, str] = {}
    count: dict[str, int] = {}
    for subsection, sentence in normative_sentences():
        count[subsection] = count.get(subsection, 0) + 1
        expected[f"GK-{subsection}-{count[subsection]}"] = sentence
    in_table = {identifier: quote for identifier, quote in rows.items() if identifier.startswith("GK-")}
    assert in_table == expected


def _id_pattern(identifier: str) -> re.Pattern[str]:
    parts = re.split(r"[-.]", identifier)
    return re.compile(r"[-_.]".join(re.escape(part) for part in parts) + r"(?![-_.]?\d)")


def test_every_requirement_id_is_named_by_a_test() -> None:
    sources = "\n".join(
        path.read_text() for path in TESTS.rglob("*.py") if path.name != Path(__file__).name
    )
    untested = [identifier for identifier in table_rows() if not _id_pattern(identifier).search(sources)]
    assert untested == []


_CITED_TEST = re.compile(r"`([\w/]+\.py)::(\w+)`")


def test_every_cited_test_exists() -> None:
    """(d) each ``path::test`` in the Tests column names a test function in that file under tests/: a renamed or
    deleted test must not leave a row pointing at nothing."""
    cited = sorted(set(_CITED_TEST.findall(TABLE.read_text())))
    assert len(cited) >= 100
    missing = [f"{path}::{name}" for path, name in cited
               if not (TESTS / path).is_file() or not re.search(rf"^\s*def {name}\(", (TESTS / path).read_text(), re.M)]
    assert missing == []
