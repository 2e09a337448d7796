"""Fixtures for the online provider tests (helpers live in ``helpers.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from revimg.online.settings import Secret

from .helpers import KEY, Handler, Sleeps, make_jpeg


@pytest.fixture
def mock_client() -> Iterator[Callable[[Handler], httpx.Client]]:
    """Build ``httpx.Client``s on a MockTransport; all are closed after the test."""
    clients: list[httpx.Client] = []

    def make(handler: Handler) -> httpx.Client:
        client = httpx.Client(transport=httpx.MockTransport(handler))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def sleeps() -> Sleeps:
    """A fake sleep with its own clock."""
    return Sleeps()


@pytest.fixture
def secret() -> Secret:
    """The fake API key, wrapped."""
    return Secret(KEY)


@pytest.fixture(scope="session")
def jpeg() -> bytes:
    """A small JPEG photo with an EXIF note."""
    return make_jpeg()
