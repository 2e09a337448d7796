"""The cluster options at the edges: no dask unless asked, one clear line when it fails."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import RUN_S, STOCK, cli_env, revimg

PHOTO = STOCK / "kphotoalbum__bar55.jpg"

#: Runs the CLI in this process, then says which dask modules it imported.
_RUN_THEN_LIST = """
import sys
{block}
from revimg.cli import main
sys.argv = ["revimg", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
print("dask modules:", sorted(m for m in sys.modules if m.split(".")[0] in ("dask", "distributed")),
      file=sys.stderr)
sys.exit(code)
"""


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of one photo, for the checks here."""
    location = tmp_path_factory.mktemp("small") / "index"
    done = revimg("index", "add", PHOTO, "--index", location)
    assert done.returncode == 0, done.stderr
    return location


def run_then_list(*args: str | Path, block: str = "") -> subprocess.CompletedProcess[str]:
    code = _RUN_THEN_LIST.format(block=block)
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=RUN_S,
        env=cli_env(),
    )


def test_no_cluster_imports_no_dask(tmp_path: Path, small_index: Path) -> None:
    version = run_then_list("--version")
    assert version.returncode == 0 and "dask modules: []" in version.stderr, version.stderr
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / PHOTO.name).write_bytes(PHOTO.read_bytes())
    built = run_then_list("index", "build", folder, "--index", tmp_path / "ix2", "-j", "1")
    assert built.returncode == 0 and "dask modules: []" in built.stderr, built.stderr
    checked = run_then_list("check", PHOTO, "--index", small_index, "--format", "json")
    assert checked.returncode == 1 and "dask modules: []" in checked.stderr, checked.stderr


def test_cluster_without_dask_says_how_to_install_it(tmp_path: Path, small_index: Path) -> None:
    hidden = "sys.modules['distributed'] = None  # as if not installed"
    for args in (
        ["check", PHOTO, "--index", small_index],
        ["index", "build", STOCK, "--index", tmp_path / "ix"],
    ):
        done = run_then_list(*args, "--cluster", "tcp://127.0.0.1:1", block=hidden)
        assert done.returncode == 2
        assert done.stderr.splitlines()[0] == (
            "Error: --cluster needs the dask extra: pip install 'revimg-cli[dask]'"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_scheduler_is_one_line_and_exit_2(tmp_path: Path, small_index: Path) -> None:
    address = f"tcp://127.0.0.1:{free_port()}"
    for args in (
        ["index", "build", STOCK, "--index", tmp_path / "ix"],
        ["check", PHOTO, "--index", small_index],
    ):
        done = revimg(*args, "--cluster", address)
        assert done.returncode == 2
        assert done.stderr.splitlines() == [
            f"Error: {address}: no Dask scheduler answered (connection refused)"
        ]
    assert not (tmp_path / "ix").exists()  # nothing was created before the cluster answered
    bad = revimg("index", "build", STOCK, "--index", tmp_path / "ix", "--cluster", "nowhere")
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == [
        "Error: nowhere: not a scheduler address (tcp://HOST:PORT, or local)"
    ]


def test_a_local_cluster_starts_when_port_8787_is_taken(small_index: Path) -> None:
    """Dask's dashboard port held by another program (a notebook's cluster, say) neither
    stops `--cluster local` (pytest's warnings-as-errors did) nor prints a warning."""
    holder = socket.socket()
    try:
        try:
            holder.bind(("127.0.0.1", 8787))
            holder.listen()
        except OSError:
            pass  # something else holds it already: the same situation
        done = revimg("check", PHOTO, "--index", small_index, "--cluster", "local")
        assert done.returncode == 1, done.stderr  # the photo is the indexed one
        assert "Warning" not in done.stderr and "8787" not in done.stderr, done.stderr
    finally:
        holder.close()


def test_photos_go_out_with_absolute_paths_or_their_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a worker is sent: an absolute path (it need not share this folder), or with
    --send-bytes the photo's bytes, read here."""
    from revimg.cluster.check import _outgoing
    from revimg.imaging.photo import Photo

    monkeypatch.chdir(STOCK)
    by_path = _outgoing(Photo(PHOTO.name, path=Path(PHOTO.name)), send_bytes=False)
    assert by_path.path == PHOTO and by_path.data is None
    sent = _outgoing(Photo(PHOTO.name, path=Path(PHOTO.name)), send_bytes=True)
    assert sent.data == PHOTO.read_bytes() and sent.label == PHOTO.name


def test_send_bytes_needs_a_cluster(small_index: Path) -> None:
    done = revimg("check", PHOTO, "--index", small_index, "--send-bytes")
    assert done.returncode == 2 and "give --cluster too" in done.stderr, done.stderr
