"""Text as it leaves the program: one sanitiser per destination.

Names, bank labels, metadata and provider answers come from strangers. They are stored as
they are and made safe only where they are written out, so that a new field is safe by
default:

- :func:`terminal`: characters a terminal would act on (ESC and the sequences it starts,
  OSC hyperlinks, carriage returns and newlines that forge lines, bidirectional overrides)
  or cannot show (lone surrogates from names that are not UTF-8) become visible escapes.
- :func:`csv_cell`: a text cell a spreadsheet would evaluate as a formula (starting with
  ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) gets a leading ``'``, as OWASP
  advises for CSV injection; :func:`from_csv_cell` undoes it when revimg reads its own CSV.
  Numbers are not text and stay numbers.
- :func:`html_text`: text for HTML element content or a quoted attribute value: escaped
  (``<``, ``>``, ``&``, both quotes), and characters a page cannot show become spaces.
  Every value :mod:`revimg.report.html` writes goes through it.

JSON needs no sanitiser here: ``json.dumps`` escapes what JSON must. Text coming in is
checked where it enters, by the part that reads it (bank lines in ``revimg.index.bank``,
photo metadata in ``revimg.provenance.text``, provider answers in ``revimg.online``).
"""

from __future__ import annotations

import html

#: First characters that make a spreadsheet evaluate a cell.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def terminal(text: str) -> str:
    """``text`` with every character a terminal would act on or cannot show escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def html_text(value: object) -> str:
    """``value`` as text for HTML content or a quoted attribute: escaped, and characters a
    page cannot show (controls, lone surrogates) turned into spaces."""
    text = str(value)
    if not text.isprintable():
        text = "".join(c if c.isprintable() else " " for c in text)
    return html.escape(text, quote=True)


def csv_cell(value: str) -> str:
    """A text cell that no spreadsheet evaluates (a lone ``-`` or ``+`` stays as it is).

    Leading quotes count as part of the prefix, so that :func:`from_csv_cell` gives back
    exactly ``value`` whatever it starts with.
    """
    return "'" + value if _formula(value) else value


def from_csv_cell(value: str) -> str:
    """The text :func:`csv_cell` was given."""
    return value[1:] if value.startswith("'") and _formula(value) else value


def _formula(value: str) -> bool:
    core = value.lstrip("'")
    return len(core) > 1 and core.startswith(FORMULA_START)
