"""The IPTC digital source type vocabulary: which terms mark a photo as AI-made.

A digital source type (http://cv.iptc.org/newscodes/digitalsourcetype/) says how an image
was made: a camera capture, a scan, a composite, or generative AI. It is written in XMP
(``Iptc4xmpExt:DigitalSourceType``) and in C2PA actions. Four of the terms are AI signals;
the others only get explained in the findings.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Lower-case term -> (AI signal or None, meaning).
DIGITAL_SOURCE_TYPES: dict[str, tuple[str | None, str]] = {
    "trainedalgorithmicmedia": ("Marked as AI-generated", "made by generative AI"),
    "compositewithtrainedalgorithmicmedia": (
        "Marked as containing AI-generated parts",
        "a composite with generative-AI elements",
    ),
    "algorithmicmedia": ("Marked as computer-generated", "made by an algorithm"),
    "compositesynthetic": (
        "Marked as a composite with synthetic elements",
        "a composite with synthetic elements",
    ),
    "digitalcapture": (None, "a camera capture of a real scene"),
    "computationalcapture": (None, "a camera capture with computational processing"),
    "negativefilm": (None, "scanned from a film negative"),
    "positivefilm": (None, "scanned from a film positive"),
    "print": (None, "scanned from a print"),
    "minorhumanedits": (None, "a capture with minor human edits"),
    "humanedits": (None, "a capture edited by a person"),
    "compositecapture": (None, "a composite of captures"),
    "algorithmicallyenhanced": (None, "a capture enhanced by an algorithm"),
    "digitalart": (None, "digital art made by a person"),
    "datadrivenmedia": (None, "made from data"),
    "virtualrecording": (None, "a recording of a virtual scene"),
    "screencapture": (None, "a screenshot"),
    "softwareimage": (None, "made with software"),
    "digitalcreation": (None, "a digital creation"),
}


def bare_term(value: str) -> str:
    """The bare IPTC term of a digital source type URI (or of a bare term)."""
    return value.strip().rstrip("/").rsplit("/", 1)[-1]


def meaning(term: str) -> str | None:
    """What a term says about the image, e.g. "a screenshot"; None for unknown terms."""
    known = DIGITAL_SOURCE_TYPES.get(term.lower())
    return known[1] if known else None


def signal(term: str, where: str) -> str | None:
    """The AI-signal line for a term found in ``where``; None when it is no AI signal."""
    known = DIGITAL_SOURCE_TYPES.get(term.lower())
    if known is None or known[0] is None:
        return None
    return f"{known[0]} ({where}: {term})"


def signals(terms: Iterable[str], where: str) -> tuple[str, ...]:
    """The AI-signal lines of several terms found in ``where``."""
    return tuple(line for one in terms if (line := signal(one, where)))
