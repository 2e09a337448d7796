"""Sharded banks on Dask: a batch check against 1 shard and against 2 shards, 2 workers.

Makes a synthetic bank (random PDQ hashes, plus the PDQ of every photo of examples/stock
so that edited copies match), splits it with ``revimg.index.shards.split`` into 1 and into 2
shards, writes query photos (edited copies of the stock photos), then on one 2-worker
``LocalCluster`` (processes, one thread each) runs ``cluster.shards.check_sharded`` over the
whole batch for each shard set (after a warm-up batch that opens the shards), and prints:
queries per second (hashing on the workers included), the ratio 2 shards / 1 shard,
bytes per entry on disk and the workers' resident memory after the checks.

    python benchmarks/shards.py [--entries 1000000] [--photos 1000] [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from revimg.imaging import decoding, hashing  # noqa: E402
from revimg.index import shards  # noqa: E402
from revimg.index.backend import PlainBankBatch  # noqa: E402
from revimg.index.store import open_index  # noqa: E402


def make_bank(location: Path, entries: int, stock: list[Path]) -> None:
    """A bank of ``entries`` random PDQ hashes plus the stock photos' own."""
    rng = np.random.default_rng(16)
    with open_index(location, create=True) as index:

        def batches() -> Any:
            pdqs = []
            for p in stock:
                data = p.read_bytes()
                pdqs.append(hashing.hash_image(decoding.decode(data, p.name), data).pdq)
            yield PlainBankBatch("synthetic", [p.name for p in stock], pdqs, 100)
            for start in range(0, entries, 100_000):
                n = min(100_000, entries - start)
                raw = rng.integers(0, 256, (n, 32), np.uint8)
                names = [f"s{start + i}" for i in range(n)]
                yield PlainBankBatch("synthetic", names, [r.tobytes() for r in raw], 100)

        index.put_bank_batches(batches())
        index.refresh()


def make_photos(folder: Path, stock: list[Path], count: int) -> list[Path]:
    """Edited copies of the stock photos (resized, mirrored, re-encoded), ``count`` files."""
    folder.mkdir()
    out = []
    for i in range(count):
        with Image.open(stock[i % len(stock)]) as im:
            im = ImageOps.exif_transpose(im).convert("RGB")
            width = 320 + (i * 37) % 400
            im = im.resize((width, max(1, im.height * width // im.width)))
            if i % 3 == 1:
                im = ImageOps.mirror(im)
            path = folder / f"q{i:05d}.jpg"
            im.save(path, "JPEG", quality=70 + i % 25)
        out.append(path)
    return out


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=float, default=1e6)
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="1e4 entries, 24 photos")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    entries, count = (10_000, 24) if args.quick else (int(args.entries), args.photos)
    import distributed

    from revimg.cluster.shards import check_sharded

    stock = sorted((REPO / "examples" / "stock").glob("*.jpg"))
    figures: dict[str, Any] = {"entries": entries, "photos": count}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        make_bank(root / "bank", entries, stock)
        figures["bank_build_s"] = time.perf_counter() - t0
        figures["bank_bytes_per_entry"] = folder_bytes(root / "bank") / (entries + len(stock))
        for parts in (1, 2):
            t0 = time.perf_counter()
            with open_index(root / "bank") as index:
                shards.split(index, root / f"shards-{parts}", parts)
            figures[f"split_{parts}_s"] = time.perf_counter() - t0
            size = folder_bytes(root / f"shards-{parts}")
            figures[f"bytes_per_entry_{parts}"] = size / (entries + len(stock))
        photos = make_photos(root / "photos", stock, count)
        print(
            f"bank: {entries} entries, {figures['bank_bytes_per_entry']:.0f} bytes an entry; "
            f"split in {figures['split_1_s']:.1f} s (1 shard), {figures['split_2_s']:.1f} s (2)"
        )
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
        )
        try:
            with distributed.Client(cluster) as client:
                for parts in (1, 2):
                    where = root / f"shards-{parts}"
                    check_sharded(client, where, photos[:4])  # opens the shards on the workers
                    t0 = time.perf_counter()
                    results = check_sharded(client, where, photos)
                    took = time.perf_counter() - t0
                    matched = sum(bool(r.matches) for r in results)
                    rss = client.run(_rss)
                    figures[f"qps_{parts}"] = count / took
                    figures[f"matched_{parts}"] = matched
                    figures[f"worker_rss_mb_{parts}"] = sorted(v / 1e6 for v in rss.values())
                    mb = ", ".join(f"{v:.0f}" for v in figures[f"worker_rss_mb_{parts}"])
                    print(
                        f"{parts} shard(s) on 2 workers: {count / took:.1f} photos/s "
                        f"({took:.1f} s, {matched} of {count} matched); "
                        f"{figures[f'bytes_per_entry_{parts}']:.0f} bytes an entry on disk; "
                        f"worker RSS {mb} MB"
                    )
        finally:
            cluster.close()
    figures["ratio_2_over_1"] = figures["qps_2"] / figures["qps_1"]
    print(f"ratio 2 shards / 1 shard: {figures['ratio_2_over_1']:.2f}x")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


if __name__ == "__main__":
    raise SystemExit(main())
