"""Provider answers from a hostile or broken service: generated, never a crash, never a key
at rest. Each answer goes through the real providers over an httpx.MockTransport."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revimg.online.search import search_online
from revimg.online.settings import load_settings

from .helpers import IMAGE_URL, KEY, body

ALL = ["tineye", "vision", "serpapi-lens", "serpapi-bing", "serpapi-yandex"]
KEYS = {"REVIMG_TINEYE_KEY": KEY, "REVIMG_VISION_KEY": KEY, "REVIMG_SERPAPI_KEY": KEY}

#: Values of every JSON type, oddly sized: huge integers, deep nesting, bad URLs, keys.
LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.just(10**400),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(["http://[::1", "javascript:alert(1)", f"https://x.example/?key={KEY}", KEY]),
)
JSON = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = st.sampled_from(
    [
        "results",
        "matches",
        "backlinks",
        "score",
        "url",
        "error",
        "code",
        "message",
        "responses",
        "webDetection",
        "visual_matches",
        "exact_matches",
        "image_results",
        "link",
        "title",
        "source",
        "domain",
        "crawl_date",
        "fullMatchingImages",
        "pagesWithMatchingImages",
        "status",
        "search_metadata",
    ]
)
#: Answers shaped like the services' (their field names) with values of any type.
SHAPED = st.dictionaries(FIELDS, JSON, max_size=6)


def _answer(payload: object) -> httpx.Response:
    if isinstance(payload, bytes):
        return httpx.Response(200, content=payload, headers={"content-type": "application/json"})
    text = json.dumps(payload)
    return httpx.Response(200, content=text.encode(), headers={"content-type": "application/json"})


def _search(tmp_path: Path, handler) -> list:  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    path.write_text("")
    client = httpx.Client(transport=httpx.MockTransport(handler))
    try:
        return search_online(
            ALL,
            image_url=IMAGE_URL,
            settings=load_settings(KEYS, path),
            client=client,
            sleep=lambda s: None,
        )
    finally:
        client.close()


@settings(
    derandomize=True,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(payload=st.one_of(SHAPED, JSON))
def test_any_answer_is_a_result_or_a_named_error(tmp_path: Path, payload: object) -> None:
    results = _search(tmp_path, lambda request: _answer(payload))
    assert [r.provider for r in results] == ALL
    for r in results:
        assert r.ok or (r.error and r.error.startswith(f"{r.provider}: "))
        assert KEY not in json.dumps(r.to_dict())


def test_pathological_answers_from_the_review(tmp_path: Path) -> None:
    tineye = json.loads(body("tineye", "search_ok.json"))
    tineye["results"]["matches"][0]["score"] = 10**400
    cases = [
        b"[" * 200_000 + b"]" * 200_000,  # nested 200,000 deep
        json.dumps(tineye).encode(),  # a score of 400 digits
        {"error": {"code": [1, 2], "message": {"x": 1}}},  # Vision error.code as a list
        {"visual_matches": [{"link": "http://[::1", "title": "x"}]},  # not a URL
    ]
    for payload in cases:
        results = _search(tmp_path, lambda request, p=payload: _answer(p))
        assert [r.provider for r in results] == ALL


def test_keys_echoed_by_a_service_never_reach_the_cache(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REVIMG_HOME", str(tmp_path / "home"))

    def echo(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        echoed = f"{request.url} {request.headers.get('x-api-key', '')} {KEY}"
        if host == "api.tineye.com":
            data = json.loads(body("tineye", "search_ok.json"))
            for m in data["results"]["matches"]:
                for b in m["backlinks"]:
                    b["backlink"] = f"https://x.example/?k={KEY}"
                    b["url"] = f"https://x.example/{echoed}"
            return _answer(data)
        if host == "vision.googleapis.com":
            data = json.loads(body("vision", "web_ok.json"))
            for page in data["responses"][0]["webDetection"].get("pagesWithMatchingImages", []):
                page["pageTitle"] = echoed
            return _answer(data)
        return httpx.Response(
            200,
            content=body("serpapi", "lens_exact.json").replace(
                b"https://", f"https://{KEY}.".encode()
            ),
        )

    _search(tmp_path, echo)
    cache = tmp_path / "home" / "cache"
    written = [p for p in cache.rglob("*") if p.is_file()] if cache.exists() else []
    assert written, "the answers were cached"
    for p in written:
        assert KEY.encode() not in p.read_bytes(), p
