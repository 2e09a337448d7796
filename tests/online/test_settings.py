"""Provider settings: environment, config file, precedence, validation, secrets."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from revimg.errors import UsageError
from revimg.online.settings import (
    Secret,
    config_file_path,
    describe,
    load_settings,
)

from .helpers import KEY

ALL = ["tineye", "vision", "serpapi-lens", "serpapi-bing", "serpapi-yandex"]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file_or_keys(tmp_path: Path) -> None:
    settings = load_settings({}, tmp_path / "missing.toml")
    assert list(settings.configs) == ALL
    assert settings.configured() == []
    assert settings.providers == ()
    assert (settings.timeout, settings.deadline, settings.tries) == (20.0, 60.0, 3)
    assert settings.cache_ttl_days == 7.0
    assert settings.config("tineye").base_url == "https://api.tineye.com"
    assert settings.config("vision").base_url == "https://vision.googleapis.com"
    assert settings.config("serpapi-bing").base_url == "https://serpapi.com"


@pytest.mark.parametrize(
    ("variable", "configured"),
    [
        ("REVIMG_TINEYE_KEY", ["tineye"]),
        ("TINEYE_API_KEY", ["tineye"]),
        ("REVIMG_VISION_KEY", ["vision"]),
        ("REVIMG_SERPAPI_KEY", ["serpapi-lens", "serpapi-bing", "serpapi-yandex"]),
        ("SERPAPI_API_KEY", ["serpapi-lens", "serpapi-bing", "serpapi-yandex"]),
        ("SERPAPI_KEY", ["serpapi-lens", "serpapi-bing", "serpapi-yandex"]),
        ("GOOGLE_API_KEY", []),  # deliberately not read
    ],
)
def test_keys_from_the_environment(tmp_path: Path, variable: str, configured: list[str]) -> None:
    settings = load_settings({variable: KEY}, tmp_path / "none.toml")
    assert settings.configured() == configured
    for name in configured:
        assert settings.config(name).key == Secret(KEY)
        assert settings.config(name).key_source == variable


def test_revimg_variable_wins_over_the_vendor_one(tmp_path: Path) -> None:
    env = {"REVIMG_TINEYE_KEY": "first", "TINEYE_API_KEY": "second"}
    cfg = load_settings(env, tmp_path / "none.toml").config("tineye")
    assert cfg.key is not None and cfg.key.reveal() == "first"


def test_config_file_values(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[online]
providers = ["tineye", "serpapi-lens"]
timeout = 5
deadline = 30.5
tries = 2
cache_ttl_days = 0

[providers.tineye]
key = "file-tineye-key"
url = "http://127.0.0.1:8080/"

[providers.serpapi]
key = "shared-serp-key"

[providers.serpapi-bing]
key = "bing-only-key"
""",
    )
    settings = load_settings({}, path)
    assert settings.providers == ("tineye", "serpapi-lens")
    assert (settings.timeout, settings.deadline, settings.tries) == (5.0, 30.5, 2)
    assert settings.cache_ttl_days == 0.0
    tineye = settings.config("tineye")
    assert tineye.key is not None and tineye.key.reveal() == "file-tineye-key"
    assert tineye.key_source == str(path)
    assert tineye.base_url == "http://127.0.0.1:8080" and tineye.url_source == str(path)
    keys = {n: settings.config(n).key.reveal() for n in settings.configured()}  # type: ignore[union-attr]
    assert keys == {
        "tineye": "file-tineye-key",
        "serpapi-lens": "shared-serp-key",
        "serpapi-bing": "bing-only-key",  # its own table beats the shared one
        "serpapi-yandex": "shared-serp-key",
    }


def test_environment_beats_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[providers.tineye]\nkey = "from-file"\nurl = "https://a.example"\n')
    env = {"REVIMG_TINEYE_KEY": "from-env", "REVIMG_TINEYE_URL": "http://127.0.0.1:9/"}
    cfg = load_settings(env, path).config("tineye")
    assert cfg.key is not None and cfg.key.reveal() == "from-env"
    assert cfg.key_source == "REVIMG_TINEYE_KEY"
    assert cfg.base_url == "http://127.0.0.1:9" and cfg.url_source == "REVIMG_TINEYE_URL"


@pytest.mark.parametrize(
    ("variable", "name"),
    [
        ("REVIMG_TINEYE_URL", "tineye"),
        ("REVIMG_VISION_URL", "vision"),
        ("REVIMG_SERPAPI_URL", "serpapi-yandex"),
    ],
)
def test_base_url_variables(tmp_path: Path, variable: str, name: str) -> None:
    settings = load_settings({variable: "http://localhost:5000"}, tmp_path / "none.toml")
    assert settings.config(name).base_url == "http://localhost:5000"


def test_config_file_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert config_file_path({"REVIMG_CONFIG": "/x/my.toml", "REVIMG_HOME": "/h"}) == Path(
        "/x/my.toml"
    )
    assert config_file_path({"REVIMG_HOME": "/h"}) == Path("/h/config.toml")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_file_path({}) == tmp_path / "xdg" / "revimg" / "config.toml"


def test_default_location_follows_revimg_home(isolated_env: Path) -> None:
    (isolated_env / "config.toml").write_text('[online]\nproviders = ["vision"]\n')
    settings = load_settings()
    assert settings.providers == ("vision",)
    assert settings.config_file == isolated_env / "config.toml"


def test_malformed_toml_names_the_file_in_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[online]\ntimeout = = 3\n")
    with pytest.raises(UsageError) as caught:
        load_settings({}, path)
    message = str(caught.value)
    assert message.startswith(f"{path}: not valid TOML: ")
    assert "line 2" in message and "\n" not in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "[online]\ntimeout = 'slow'\n",
            "timeout must be a number above 0, at most 3600, got 'slow'",
        ),
        ("[online]\ntimeout = 1e308\n", "[online] timeout must be a number above 0, at most 3600"),
        ("[online]\ndeadline = 1e400\n", "[online] deadline must be a number above 0"),
        ("[online]\ntries = 100000\n", "[online] tries must be a whole number above 0, at most 10"),
        ("[providers.tineye]\nurl = 'http://[::1'\n", "url must be an http(s) URL"),
        ("[providers.tineye]\nurl = 'http://x.example:port'\n", "url must be an http(s) URL"),
        ('[providers.tineye]\nkey = "abc\\ndef"\n', "characters an API key cannot have"),
        ("[providers.tineye]\nkey = 'clé-secrète'\n", "characters an API key cannot have"),
        ("[online]\ntimeout = 0\n", "[online] timeout must be a number above 0"),
        ("[online]\ntries = 1.5\n", "[online] tries must be a whole number above 0"),
        ("[online]\ncache_ttl_days = -1\n", "cache_ttl_days must be a number of 0 or more"),
        ("[online]\nproviders = 'tineye'\n", "[online] providers must be a list"),
        ("[online]\nproviders = ['tinye']\n", "unknown provider 'tinye' in [online] providers"),
        ("[online]\ntimout = 3\n", "unknown setting 'timout' in [online]"),
        ("[providers.tinye]\nkey = 'x'\n", "unknown provider [providers.tinye]"),
        ("[providers.tineye]\napi_key = 'x'\n", "unknown setting 'api_key' in [providers.tineye]"),
        ("[providers.tineye]\nkey = 42\n", "[providers.tineye] key must be a string"),
        ("[providers.tineye]\nurl = 'ftp://x'\n", "url must be an http(s) URL"),
        ("[providers.tineye]\nurl = 'https://u:p@x.example'\n", "no credentials"),
        ("online = 3\n", "[online] must be a table"),
        ("[onlin]\n", "unknown table [onlin]"),
    ],
)
def test_invalid_values_are_named(tmp_path: Path, text: str, fragment: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as caught:
        load_settings({}, path)
    assert str(caught.value).startswith(f"{path}: ")
    assert fragment in str(caught.value)


def test_bad_url_variable(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="^REVIMG_VISION_URL must be an http"):
        load_settings({"REVIMG_VISION_URL": "vision.local"}, tmp_path / "none.toml")


def test_unknown_provider_lookup_lists_known(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown online provider 'bing' \(known: "):
        load_settings({}, tmp_path / "none.toml").config("bing")


def test_secret_never_shows_itself(tmp_path: Path) -> None:
    secret = Secret(KEY)
    assert repr(secret) == str(secret) == f"{secret}" == f"{secret!r}" == "***"
    assert secret.reveal() == KEY
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    path = write(tmp_path, f'[providers.vision]\nkey = "{KEY}"\n')
    settings = load_settings({"REVIMG_TINEYE_KEY": KEY, "SERPAPI_KEY": KEY}, path)
    assert KEY not in repr(settings) and KEY not in str(settings)
    assert KEY not in repr(settings.configs)
    assert KEY not in repr(describe(settings))
    assert KEY not in str([i.to_dict() for i in describe(settings)])


def test_describe(tmp_path: Path) -> None:
    settings = load_settings(
        {"REVIMG_SERPAPI_KEY": KEY, "REVIMG_TINEYE_URL": "http://127.0.0.1:8080"},
        tmp_path / "none.toml",
    )
    info = {i.name: i.to_dict() for i in describe(settings)}
    assert list(info) == ALL
    assert info["tineye"] == {
        "name": "tineye",
        "configured": False,
        "key_names": ["REVIMG_TINEYE_KEY", "TINEYE_API_KEY"],
        "key_source": None,
        "sends": "the photo (re-encoded JPEG, no metadata) or only its URL",
        "host": "127.0.0.1:8080",
        "supports_upload": True,
        "supports_url": True,
        "retention": info["tineye"]["retention"],
        "experimental": False,
    }
    assert "24 hours" in info["tineye"]["retention"]
    assert "31 days" in info["serpapi-bing"]["retention"]
    assert "not written to disk" in info["vision"]["retention"]
    assert info["serpapi-bing"]["configured"] is True
    assert info["serpapi-bing"]["key_source"] == "REVIMG_SERPAPI_KEY"
    assert info["serpapi-bing"]["supports_upload"] is False
    assert info["serpapi-lens"]["supports_upload"] is True
    assert info["serpapi-yandex"]["experimental"] is True
    assert info["vision"]["host"] == "vision.googleapis.com"
