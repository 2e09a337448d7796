"""C2PA content credentials: finding a manifest store, and reading it when possible.

A manifest store is a JUMBF superbox labelled "c2pa" (JPEG APP11, PNG ``caBX``, WebP
``C2PA``); its presence is detected here without any library. When the optional
``c2pa-python`` package is installed, it reads the claim generator and checks the
signature, offline (remote manifests and OCSP are not fetched). Without it, the digital
source types written in the manifest are still reported, marked as unvalidated.
"""

from __future__ import annotations

import functools
import io
import re
from typing import Any

from revimg.provenance import sourcetypes
from revimg.provenance.fields import Fields
from revimg.provenance.model import C2paInfo
from revimg.provenance.text import clean, looks_like_url, reason, unique

#: JUMBF description-box UUID of a C2PA manifest store ("c2pa" + the ISO suffix).
_STORE_UUID = b"c2pa" + bytes.fromhex("00110010800000aa00389b71")
_MIME = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@functools.cache
def _dst_in_bytes() -> re.Pattern[bytes]:
    return re.compile(rb"cv\.iptc\.org/newscodes/digitalsourcetype/([A-Za-z]{3,64})")


def read(data: bytes, fmt: str | None, jumbf: list[bytes], fields: Fields) -> C2paInfo:
    """What the file's C2PA manifest (or the XMP link to a remote one) says.

    Sets ``fields.c2pa_signals`` to the manifest's AI signals; a manifest c2pa-python
    cannot read adds a problem to ``fields``.
    """
    remote = fields.first("c2pa_remote")
    remote = remote if remote and looks_like_url(remote) else None
    stores = [box for box in jumbf if _is_store(box)]
    if not stores:
        return C2paInfo(remote_url=remote)
    # The manifest's own words, unverified: used when c2pa-python cannot say more.
    terms = sorted({m.decode("ascii") for box in stores for m in _dst_in_bytes().findall(box)})
    unverified = sourcetypes.signals(terms, "unvalidated C2PA manifest")
    info = _read_with_library(data, _MIME.get(fmt or "", ""))
    if info is None:
        fields.c2pa_signals = unverified
        return C2paInfo(present=True, validation="not validated", remote_url=remote)
    store, problem = info
    if store is None:
        fields.problems.append(f"C2PA manifest could not be read: {problem}")
        fields.c2pa_signals = unverified
        return C2paInfo(present=True, validation="unreadable", remote_url=remote)
    summary = _summary(store)
    fields.c2pa_signals = sourcetypes.signals(summary.pop("terms"), "C2PA manifest")
    return C2paInfo(present=True, remote_url=remote, **summary)


def _is_store(box: bytes) -> bool:
    """A JUMBF superbox whose description says "C2PA manifest store"."""
    if box[4:8] != b"jumb":
        return False
    desc = 16 if box[:4] == b"\x00\x00\x00\x01" else 8
    if box[desc + 4 : desc + 8] != b"jumd":
        return False
    uuid = box[desc + 8 : desc + 24]
    toggles = box[desc + 24 : desc + 25]
    label = b""
    if toggles and toggles[0] & 0x02:
        label = box[desc + 25 :].split(b"\x00", 1)[0]
    return uuid == _STORE_UUID or label == b"c2pa"


def _read_with_library(data: bytes, mime: str) -> tuple[dict[str, Any] | None, str] | None:
    """The manifest store as c2pa-python reports it; None when c2pa-python is missing."""
    try:
        # The c2pa-python package (an absolute import, not this module).
        import c2pa  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        return None
    import json

    try:
        # Offline: revimg never fetches remote manifests or certificate status.
        settings = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
        context = c2pa.Context.from_dict(settings)
        with c2pa.Reader(mime or None, io.BytesIO(data), context=context) as reader:
            store = json.loads(reader.json())
    except Exception as exc:  # noqa: BLE001 - any library failure is a finding
        return None, reason(exc)
    if not isinstance(store, dict):
        return None, "unexpected answer from c2pa-python"
    return store, ""


def _summary(store: dict[str, Any]) -> dict[str, Any]:
    """Generator, signer, validation and digital source types of the active manifest."""
    manifests = store.get("manifests") or {}
    active = manifests.get(store.get("active_manifest") or "") or {}
    generator = None
    infos = active.get("claim_generator_info")
    if isinstance(infos, list) and infos and isinstance(infos[0], dict) and infos[0].get("name"):
        generator = " ".join(str(infos[0][k]) for k in ("name", "version") if infos[0].get(k))
    elif active.get("claim_generator"):
        generator = str(active["claim_generator"])
    signature = active.get("signature_info") or {}
    signer = signature.get("issuer") or signature.get("common_name")
    state = str(store.get("validation_state") or "").lower()
    statuses = store.get("validation_status") or []
    issues = tuple(str(s.get("code")) for s in statuses if isinstance(s, dict) and s.get("code"))
    if state not in ("trusted", "valid", "invalid"):
        state = "invalid" if issues and any("untrusted" not in i for i in issues) else "valid"
    terms: list[str] = []
    for assertion in active.get("assertions") or []:
        if not isinstance(assertion, dict) or not str(assertion.get("label", "")).startswith(
            "c2pa.actions"
        ):
            continue
        for action in (assertion.get("data") or {}).get("actions") or []:
            if isinstance(action, dict) and action.get("digitalSourceType"):
                terms.append(sourcetypes.bare_term(str(action["digitalSourceType"])))
    return {
        "generator": clean(generator),
        "signer": clean(signer),
        "validation": state,
        "issues": issues,
        "terms": unique(terms),
    }
