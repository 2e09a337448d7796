"""The online orchestrator: selection, privacy, concurrency, deadline, cache, no leaked keys."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from pathlib import Path

import httpx
import pytest

from revimg.errors import UsageError
from revimg.online.cache import ResultCache
from revimg.online.providers import BaseProvider, WebMatch, register, registry, unregister
from revimg.online.search import (
    OnlineSummary,
    ProviderResult,
    online_summary,
    resolve_names,
    search_online,
)
from revimg.online.settings import describe, load_settings

from .helpers import IMAGE_URL, KEY, respond

ALL = ["tineye", "vision", "serpapi-lens", "serpapi-bing", "serpapi-yandex"]
ALL_KEYS = {"REVIMG_TINEYE_KEY": KEY, "REVIMG_VISION_KEY": KEY, "REVIMG_SERPAPI_KEY": KEY}


def settings_for(tmp_path: Path, env: dict[str, str] | None = None, toml: str = ""):
    path = tmp_path / "config.toml"
    path.write_text(toml)
    return load_settings(ALL_KEYS if env is None else env, path)


class Service:
    """A MockTransport handler that plays all five services from the recorded bodies."""

    def __init__(self, status: int | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.lock = threading.Lock()
        self.status = status  # force an error status everywhere

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        with self.lock:
            self.requests.append(request)
        return self.answer(request)

    def answer(self, request: httpx.Request) -> httpx.Response:
        host, path = request.url.host, request.url.path
        if self.status == 401:
            echo = f"key {KEY} refused for {request.url}"
            if host == "api.tineye.com":
                return httpx.Response(401, json={"code": 401, "messages": [echo], "results": []})
            if host == "vision.googleapis.com":
                message = f"API key not valid. Please pass a valid API key. ({echo})"
                return httpx.Response(400, json={"error": {"code": 400, "message": message}})
            return httpx.Response(401, json={"error": echo})
        if host == "api.tineye.com":
            return respond("tineye", "search_ok.json")
        if host == "vision.googleapis.com":
            return respond("vision", "web_ok.json")
        if path == "/image":
            return respond("serpapi", "image_uploaded.json")
        engine = request.url.params["engine"]
        name = {
            "google_lens": "lens_exact.json",
            "bing_reverse_image": "bing_ok.json",
            "yandex_images": "yandex_ok.json",
        }[engine]
        return respond("serpapi", name)

    def engines(self) -> list[str]:
        return sorted(r.url.params.get("engine", r.url.path) for r in self.requests)


def run(tmp_path, client, names="all", **kwargs) -> list[ProviderResult]:
    kwargs.setdefault("settings", settings_for(tmp_path))
    kwargs.setdefault("sleep", lambda s: None)
    return search_online(names, client=client, **kwargs)


# -- selection -------------------------------------------------------------------------------


def test_resolve_names(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, {"REVIMG_TINEYE_KEY": KEY, "SERPAPI_KEY": KEY})
    assert resolve_names("all", settings) == [
        "tineye",
        "serpapi-lens",
        "serpapi-bing",
        "serpapi-yandex",
    ]
    assert resolve_names("vision, tineye,vision", settings) == ["vision", "tineye"]
    assert resolve_names(["tineye", "all"], settings)[0] == "tineye"
    with pytest.raises(UsageError) as caught:
        resolve_names(["tineye", "google"], settings)
    assert str(caught.value) == (
        "unknown online provider 'google' (known: all, tineye, vision, serpapi-lens, "
        "serpapi-bing, serpapi-yandex)"
    )


def test_default_selection_comes_from_the_config_file(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, toml='[online]\nproviders = ["vision"]\n')
    assert resolve_names(None, settings) == ["vision"]
    assert resolve_names([], settings) == ["vision"]
    with pytest.raises(UsageError, match="no online provider chosen"):
        resolve_names(None, settings_for(tmp_path))


def test_all_without_any_key_says_how_to_add_one(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        resolve_names("all", settings_for(tmp_path, {}))
    message = str(caught.value)
    assert message.startswith("no online provider has an API key: set REVIMG_TINEYE_KEY, ")
    assert "REVIMG_VISION_KEY" in message and "REVIMG_SERPAPI_KEY" in message


def test_nothing_to_search_and_bad_urls(tmp_path: Path, mock_client) -> None:
    client = mock_client(Service())
    with pytest.raises(UsageError, match="no photo and no image URL"):
        run(tmp_path, client, image_bytes=None, image_url=None)
    with pytest.raises(UsageError, match="http:// or https://"):
        run(tmp_path, client, image_bytes=b"x", image_url="file:///home/me/photo.jpg")


# -- privacy ---------------------------------------------------------------------------------


def test_with_an_image_url_no_bytes_leave(tmp_path: Path, mock_client, jpeg: bytes) -> None:
    service = Service()
    results = run(tmp_path, mock_client(service), image_bytes=jpeg, image_url=IMAGE_URL)

    assert [r.provider for r in results] == ALL
    assert all(r.sent == "url" and r.error is None for r in results), results
    assert len(service.requests) == 5
    encoded = base64.b64encode(jpeg[:300]).decode()
    for request in service.requests:
        content = request.content
        assert b"\xff\xd8\xff" not in content and jpeg[:300] not in content
        assert encoded[:100] not in content.decode("latin-1")
        assert "multipart" not in request.headers.get("content-type", "")
        assert request.url.path != "/image"  # no SerpApi upload
    vision = next(r for r in service.requests if r.url.host == "vision.googleapis.com")
    assert json.loads(vision.content)["requests"][0]["image"] == {"source": {"imageUri": IMAGE_URL}}
    tineye = next(r for r in service.requests if r.url.host == "api.tineye.com")
    assert tineye.method == "GET" and tineye.url.params["image_url"] == IMAGE_URL


def test_bytes_go_only_to_providers_that_take_uploads(
    tmp_path: Path, mock_client, jpeg: bytes
) -> None:
    service = Service()
    results = {r.provider: r for r in run(tmp_path, mock_client(service), image_bytes=jpeg)}

    for name in ("tineye", "vision", "serpapi-lens"):
        assert results[name].sent == "bytes" and results[name].error is None
    for name in ("serpapi-bing", "serpapi-yandex"):
        assert results[name].sent == "nothing"
        assert results[name].error == (
            f"{name}: searches only by a public image URL (give one); "
            "the photo itself is never sent to it"
        )
        assert results[name].matches == ()
    # Bing and Yandex got no request at all; the Lens search used the uploaded image id.
    assert service.engines() == ["/image", "/rest/search/", "/v1/images:annotate", "google_lens"]


def test_a_url_only_plugin_never_receives_bytes(tmp_path: Path, mock_client, jpeg: bytes) -> None:
    calls = []

    class UrlOnly(BaseProvider):
        name = "url-only-test"
        key_names = ("URL_ONLY_TEST_KEY",)
        url_env = "URL_ONLY_TEST_URL"
        default_url = "https://url-only.example"
        supports_url = True

        def search(self, client, *, image, image_url):
            calls.append((image, image_url))
            return [WebMatch.make(self.name, page_url="https://found.example/p")]

    register(UrlOnly)
    try:
        settings = settings_for(tmp_path, {"URL_ONLY_TEST_KEY": "url-only-test-key"})
        client = mock_client(Service())
        (result,) = search_online(
            "url-only-test", image_bytes=jpeg, settings=settings, client=client
        )
        assert result.sent == "nothing" and calls == []
        (result,) = search_online(
            "url-only-test", image_bytes=jpeg, image_url=IMAGE_URL, settings=settings, client=client
        )
        assert result.sent == "url" and calls == [(None, IMAGE_URL)]
        assert result.matches[0].page_url == "https://found.example/p"
    finally:
        unregister("url-only-test")
    assert "url-only-test" not in registry()


# -- results ---------------------------------------------------------------------------------


def test_results_say_what_went_where(tmp_path: Path, mock_client) -> None:
    results = run(tmp_path, mock_client(Service()), image_url=IMAGE_URL)
    by_name = {r.provider: r for r in results}
    assert by_name["tineye"].host == "api.tineye.com"
    assert by_name["vision"].host == "vision.googleapis.com"
    assert by_name["serpapi-bing"].host == "serpapi.com"
    assert "24 hours" in by_name["tineye"].retention
    assert [m.first_seen for m in by_name["tineye"].matches] == ["2016-03-14", "2019-05-02"]
    assert len(by_name["vision"].matches) == 4
    data = by_name["tineye"].to_dict()
    assert list(data) == ["provider", "sent", "host", "retention", "cached", "error", "matches"]
    assert list(data["matches"][0]) == list(WebMatch.FIELDS)
    assert json.loads(json.dumps(data)) == data


def test_missing_key_is_a_per_provider_error(tmp_path: Path, mock_client) -> None:
    settings = settings_for(tmp_path, {"REVIMG_TINEYE_KEY": KEY})
    service = Service()
    tineye, vision, bing = run(
        tmp_path,
        mock_client(service),
        ["tineye", "vision", "serpapi-bing"],
        image_url=IMAGE_URL,
        settings=settings,
    )
    assert tineye.ok and len(tineye.matches) == 2
    assert vision.sent == "nothing" and vision.error_kind == "config"
    assert vision.error == (
        'vision: no API key: set REVIMG_VISION_KEY, or add key = "..." under '
        f"[providers.vision] in {tmp_path / 'config.toml'}"
    )
    assert bing.error is not None and "[providers.serpapi]" in bing.error
    assert bing.error.startswith("serpapi-bing: no API key: set REVIMG_SERPAPI_KEY or ")
    assert [r.url.host for r in service.requests] == ["api.tineye.com"]


def test_providers_run_concurrently(tmp_path: Path, mock_client) -> None:
    barrier = threading.Barrier(3, timeout=5)

    class Together(Service):
        def answer(self, request: httpx.Request) -> httpx.Response:
            barrier.wait()  # breaks (and fails the test) unless all three wait at once
            return super().answer(request)

    started = time.monotonic()
    results = run(
        tmp_path,
        mock_client(Together()),
        ["tineye", "vision", "serpapi-bing"],
        image_url=IMAGE_URL,
    )
    assert all(r.ok for r in results)
    assert time.monotonic() - started < 4


def test_overall_deadline(tmp_path: Path, mock_client) -> None:
    release = threading.Event()

    class SlowTinEye(Service):
        def answer(self, request: httpx.Request) -> httpx.Response:
            if request.url.host == "api.tineye.com":
                release.wait(5)
            return super().answer(request)

    try:
        started = time.monotonic()
        tineye, vision = run(
            tmp_path,
            mock_client(SlowTinEye()),
            ["tineye", "vision"],
            image_url=IMAGE_URL,
            deadline=0.3,
        )
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert elapsed < 2
    assert vision.ok and len(vision.matches) == 4
    assert tineye.error == "tineye: timed out: the overall deadline of 0.3 s was reached"
    assert tineye.error_kind == "deadline" and tineye.sent == "url"


# -- cache -----------------------------------------------------------------------------------


def test_cache_serves_repeat_searches(tmp_path: Path, mock_client, jpeg: bytes) -> None:
    service = Service()
    client = mock_client(service)
    first = run(tmp_path, client, ["tineye", "vision"], image_bytes=jpeg)
    assert [r.cached for r in first] == [False, False] and len(service.requests) == 2

    second = run(tmp_path, client, ["tineye", "vision"], image_bytes=jpeg)
    assert len(service.requests) == 2  # nothing sent
    assert [(r.cached, r.sent) for r in second] == [(True, "nothing"), (True, "nothing")]
    assert [r.matches for r in second] == [r.matches for r in first]

    # The same photo by URL is a different search; --no-cache neither reads nor writes.
    run(tmp_path, client, ["tineye"], image_url=IMAGE_URL, use_cache=False)
    assert len(service.requests) == 3
    run(tmp_path, client, ["tineye"], image_url=IMAGE_URL)
    assert len(service.requests) == 4
    (third,) = run(tmp_path, client, ["tineye"], image_url=IMAGE_URL)
    assert third.cached and len(service.requests) == 4


def test_errors_are_not_cached(tmp_path: Path, mock_client) -> None:
    failing = Service(status=401)
    run(tmp_path, mock_client(failing), ["tineye"], image_url=IMAGE_URL)
    working = Service()
    (result,) = run(tmp_path, mock_client(working), ["tineye"], image_url=IMAGE_URL)
    assert result.ok and not result.cached and len(working.requests) == 1


def test_cache_location_and_ttl_from_settings(tmp_path: Path, mock_client, isolated_env) -> None:
    settings = settings_for(tmp_path, toml="[online]\ncache_ttl_days = 0\n")
    service = Service()
    run(tmp_path, mock_client(service), ["tineye"], image_url=IMAGE_URL, settings=settings)
    run(tmp_path, mock_client(service), ["tineye"], image_url=IMAGE_URL, settings=settings)
    assert len(service.requests) == 2
    assert not (isolated_env / "cache").exists()
    run(tmp_path, mock_client(service), ["tineye"], image_url=IMAGE_URL)
    assert len(list((isolated_env / "cache" / "online" / "tineye").glob("*.json"))) == 1


# -- keys never leak -------------------------------------------------------------------------


def test_key_never_appears_after_auth_failures(
    tmp_path: Path, mock_client, jpeg: bytes, caplog: pytest.LogCaptureFixture, isolated_env
) -> None:
    settings = settings_for(tmp_path)
    with caplog.at_level(logging.DEBUG):
        by_url = run(
            tmp_path, mock_client(Service(status=401)), image_url=IMAGE_URL, settings=settings
        )
        by_bytes = run(
            tmp_path, mock_client(Service(status=401)), image_bytes=jpeg, settings=settings
        )

        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError(f"cannot reach {request.url} with {KEY}", request=request)

        offline = run(tmp_path, mock_client(refuse), image_url=IMAGE_URL, settings=settings)

    results = by_url + by_bytes + offline
    errors = [r.error for r in results]
    assert all(errors), errors
    assert {r.error_kind for r in by_url} == {"auth"}
    assert by_url[0].error is not None
    assert by_url[0].error.startswith("tineye: the API key was refused (HTTP 401): key *** refused")
    assert offline[0].error is not None
    assert offline[0].error.startswith("tineye: could not connect to api.tineye.com")
    for text in (
        repr(results),
        str(results),
        json.dumps([r.to_dict() for r in results]),
        caplog.text,
        repr(settings),
        repr(describe(settings)),
    ):
        assert KEY not in text
    assert "HTTP Request: GET https://serpapi.com/search.json" in caplog.text  # httpx did log
    for path in isolated_env.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes()


# -- evidence --------------------------------------------------------------------------------


def result(provider: str, *matches: WebMatch, error: str | None = None) -> ProviderResult:
    return ProviderResult(provider, "url", "host", "kept", False, tuple(matches), error)


def test_online_summary() -> None:
    getty = WebMatch.make(
        "tineye",
        page_url="https://www.gettyimages.com/detail/photo/woman-1234/",
        first_seen="2016-03-14",
    )
    same_page = WebMatch.make(
        "serpapi-lens", page_url="https://gettyimages.com/detail/photo/woman-1234"
    )
    blog = WebMatch.make("tineye", page_url="https://blog.example.org/p", first_seen="2019-05-02")
    crop = WebMatch.make(
        "vision", page_url="https://www.shutterstock.com/image-photo/9", kind="partial"
    )
    lookalike = WebMatch.make(
        "vision", page_url="https://www.pexels.com/photo/1", kind="similar", first_seen="2001-01-01"
    )
    summary = online_summary(
        [
            result("tineye", getty, blog),
            result("serpapi-lens", same_page),
            result("vision", crop, lookalike),
            result("serpapi-bing", error="serpapi-bing: rate limited"),
        ]
    )
    assert summary == OnlineSummary(
        exact_count=2,
        stock_hits=("gettyimages.com", "shutterstock.com"),
        earliest_seen="2016-03-14",
    )
    exact_count, stock_hits, earliest = summary
    assert (exact_count, len(stock_hits), earliest) == (2, 2, "2016-03-14")
    assert online_summary([]) == (0, (), None)


@pytest.mark.parametrize(
    ("url", "stock"),
    [
        ("https://www.istockphoto.com/photo/x", True),
        ("https://media.gettyimages.com/id/1/photo.jpg", True),
        ("https://www.gettyimages.co.uk/detail/1", True),
        ("https://stock.adobe.com/images/x/1", True),
        ("https://images.unsplash.com/photo-1", True),
        ("https://www.123rf.com/photo_1.html", True),
        ("https://adobe.com/x", False),
        ("https://notshutterstock.example.org/x", False),
        ("https://blog.example.org/x", False),
    ],
)
def test_stock_domains(url: str, stock: bool) -> None:
    assert WebMatch.make("x", page_url=url).stock is stock


def test_tineye_stock_tag_marks_stock_on_any_domain() -> None:
    match = WebMatch.make("tineye", page_url="https://stock.example.com/p", tags=("stock",))
    assert match.stock and match.domain == "stock.example.com"


def test_cache_object_can_be_injected(tmp_path: Path, mock_client) -> None:
    cache = ResultCache(tmp_path / "my-cache")
    service = Service()
    run(tmp_path, mock_client(service), ["vision"], image_url=IMAGE_URL, cache=cache)
    assert len(list((tmp_path / "my-cache" / "vision").glob("*.json"))) == 1
