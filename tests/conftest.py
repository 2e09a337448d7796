"""Shared fixtures: an isolated environment, no network, real photos, a built index."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
STOCK = EXAMPLES / "stock"
SUSPECTS = EXAMPLES / "suspects"
DATA = Path(__file__).resolve().parent / "data"

#: For each EXIF orientation, the transpose that turns upright pixels into stored pixels.
EXIF_STORE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}

#: A handful of stock photos: people, textures and a two-shots-of-one-scene pair.
SMALL_SET = (
    "kphotoalbum__anne_helene.jpg",
    "kphotoalbum__bar55.jpg",
    "kphotoalbum__bar55_2.jpg",
    "kphotoalbum__jesper.jpg",
    "kphotoalbum__cold_water.jpg",
    "tuxpaint__mudstone.jpg",
    "tuxpaint__mossy_bark.jpg",
    "palapeli__citrus-fruits.jpg",
)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point REVIMG_HOME at a fresh folder and clear every other REVIMG_* variable."""
    import os

    for key in list(os.environ):
        if key.startswith("REVIMG_"):
            monkeypatch.delenv(key)
    home = tmp_path_factory.mktemp("revimg-home")
    monkeypatch.setenv("REVIMG_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection that is not to this machine."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host.startswith("127.") or host in ("::1", "localhost")):
            return real_connect(self, address)  # type: ignore[arg-type]
        if self.family == socket.AF_UNIX:
            return real_connect(self, address)  # type: ignore[arg-type]
        raise RuntimeError(f"a test tried to reach the network: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a small set of real stock photos (read-only by convention)."""
    folder = tmp_path_factory.mktemp("photos")
    for name in SMALL_SET:
        shutil.copy2(STOCK / name, folder / name)
    return folder


@pytest.fixture(scope="session")
def built_index(photo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index folder built from ``photo_dir`` through the library (shared; do not modify)."""
    from revimg.index import builder
    from revimg.index.store import open_index

    location = tmp_path_factory.mktemp("built") / "index"
    with open_index(location, create=True) as index:
        stats = builder.run(index, builder.folder_files([photo_dir]), jobs=1)
        assert stats.failed == 0 and stats.added == len(SMALL_SET)
        index.refresh()
    return location


@pytest.fixture
def memory_index() -> Iterator[object]:
    """An empty in-memory index."""
    from revimg.index.store import open_index

    index = open_index(":memory:")
    yield index
    index.close()


def is_mapped(array: np.ndarray) -> bool:
    """Whether ``array`` is a view of a memory-mapped file (as index.search.mapped returns)."""
    base: object = array
    while base is not None:
        if isinstance(base, np.memmap):
            return True
        base = getattr(base, "base", None)
    return False
