"""The provider registry, the WebMatch record and upload preparation."""

from __future__ import annotations

import io
import logging

import pytest
from PIL import Image

import revimg.online.providers as providers
from revimg.errors import ProviderError
from revimg.online.imageprep import prepare_upload
from revimg.online.providers import BaseProvider, WebMatch, host_of, register, registry, unregister

from .helpers import EXIF_MARKER, make_jpeg, make_noisy_jpeg


def test_builtins_in_order() -> None:
    names = list(registry())
    assert names[:5] == ["tineye", "vision", "serpapi-lens", "serpapi-bing", "serpapi-yandex"]
    for cls in registry().values():
        assert cls.supports_url or cls.supports_upload
        assert cls.retention and cls.sends and cls.key_names and cls.default_url


def test_register_refuses_bad_names() -> None:
    class Nameless(BaseProvider):
        pass

    class All(BaseProvider):
        name = "all"

    for cls in (Nameless, All):
        with pytest.raises(ValueError):
            register(cls)


def test_entry_point_plugins(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    class Plugin(BaseProvider):
        name = "plugin-test"

    class EntryPoint:
        def __init__(self, name: str, target: object) -> None:
            self.name, self.target = name, target

        def load(self) -> object:
            if isinstance(self.target, Exception):
                raise self.target
            return self.target

    points = [EntryPoint("good", Plugin), EntryPoint("broken", ImportError("no module x"))]
    monkeypatch.setattr(
        "importlib.metadata.entry_points",
        lambda group: points if group == "revimg.providers" else [],
    )
    monkeypatch.setattr(providers, "_LOADED", False)
    monkeypatch.setattr(providers, "_REGISTRY", {})
    with caplog.at_level(logging.WARNING):
        found = registry()
    assert list(found)[-1] == "plugin-test" and "tineye" in found
    assert "provider plugin broken could not be loaded: no module x" in caplog.text
    unregister("plugin-test")


def test_webmatch_round_trip_and_validation() -> None:
    match = WebMatch.make(
        "tineye",
        page_url="https://WWW.Example.com/a",
        image_url="https://cdn.example.net/a.jpg",
        score=0.5,
        first_seen="2020-01-02",
        tags=("collection",),
    )
    assert match.domain == "example.com" and match.stock is False
    data = match.to_dict()
    assert list(data) == list(WebMatch.FIELDS)
    assert data["tags"] == ["collection"]
    assert WebMatch.from_dict(data) == match
    for bad in (
        {**data, "kind": "fuzzy"},
        {**data, "score": "high"},
        {**data, "tags": "stock"},
        {**data, "page_url": 3},
        {k: v for k, v in data.items() if k != "stock"},
        {**data, "extra": 1},
    ):
        with pytest.raises(ValueError):
            WebMatch.from_dict(bad)


def test_host_of() -> None:
    assert host_of("https://www.Example.COM:8443/x") == "example.com"
    assert host_of("not a url") is None
    assert host_of(None) is None
    assert host_of("https://[::1/") is None


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_upload_is_downscaled_and_stripped() -> None:
    big = make_noisy_jpeg((2400, 1600))
    out = prepare_upload(big, provider="x", max_bytes=300 * 1024)
    img = decode(out)
    assert img.format == "JPEG" and len(out) <= 300 * 1024
    assert max(img.size) <= 1600
    assert abs(img.width / img.height - 1.5) < 0.01
    small = prepare_upload(make_jpeg(), provider="x", max_bytes=10**6)
    assert decode(small).size == (320, 240)
    assert EXIF_MARKER.encode() not in small
    assert "exif" not in decode(small).info and "comment" not in decode(small).info


def test_upload_applies_exif_orientation() -> None:
    img = Image.new("RGB", (200, 100), "red")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes())
    assert decode(prepare_upload(out.getvalue(), provider="x", max_bytes=10**6)).size == (100, 200)


def test_transparent_png_is_flattened_on_white() -> None:
    img = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    out = io.BytesIO()
    img.save(out, "PNG")
    result = decode(prepare_upload(out.getvalue(), provider="x", max_bytes=10**6))
    assert result.mode == "RGB" and min(result.getpixel((20, 20))) > 245


def test_unreadable_photo() -> None:
    with pytest.raises(ProviderError) as caught:
        prepare_upload(b"not an image", provider="tineye", max_bytes=10**6)
    assert str(caught.value).startswith("tineye: could not prepare the photo for upload")
    assert caught.value.kind == "prepare"


def test_impossible_limit() -> None:
    with pytest.raises(ProviderError, match="could not make the photo small enough"):
        prepare_upload(make_noisy_jpeg((800, 800)), provider="x", max_bytes=500)
