"""The ``revimg`` command: parse arguments, call the core, render the results.

stdout carries data only (tables for people, or json/jsonl/csv for scripts); messages,
warnings and progress go to stderr. Exit codes: see ``revimg --help``.
"""

from __future__ import annotations

import io
import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

# Set before anything imports numpy: revimg does no large linear algebra, and starting a
# BLAS thread pool costs every check about 60 ms.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import typer  # noqa: E402

import revimg  # noqa: E402
from revimg.errors import IndexMissing, RevimgError, UsageError  # noqa: E402
from revimg.text import terminal  # noqa: E402

if TYPE_CHECKING:
    from rich.console import Console

EXIT_OK = 0
EXIT_MATCH = 1
EXIT_ERROR = 2

app = typer.Typer(
    name="revimg",
    help=(
        "Is this profile photo really theirs? Check photos against a private, local index "
        "of known photos (stock libraries, shared hash banks). Nothing leaves this machine "
        "unless you ask for an online search (check --online).\n\n"
        "Exit codes: check gives 0 (no match), 1 (a likely match), 2 (error, or not "
        "fully checked: see not_run in its output); other commands 0 (done) or 2 (error).\n\n"
        "\b\nExamples:\n"
        "  revimg check profile.jpg             is this a known photo?\n"
        "  revimg check profile.jpg --report report.html\n"
        "                                       the evidence, to look at in a browser\n"
        "  revimg links profile.jpg             search the web for it in a browser\n"
        "  revimg index import https://example.org/bank.jsonl\n"
        "                                       get known photos from a published bank\n"
        "  revimg index build ~/stock-photos    index a folder of your own"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
)
index_app = typer.Typer(
    help=(
        "Build, update, inspect and share the local index of known photos.\n\n"
        "\b\nExamples:\n"
        "  revimg index build ~/stock-photos --meta credits.csv\n"
        "  revimg index import https://example.org/bank.jsonl --sha256 HEX\n"
        "  revimg index update\n"
        "  revimg index export --format jsonl > my-bank.jsonl\n"
        "  revimg index info"
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(index_app, name="index")


def _say(message: str) -> None:
    """One plain line for people, on stderr (rich is only imported for tables and bars).

    Characters a terminal would act on (a newline or an escape sequence in a file name,
    say) or cannot show (undecodable bytes of a name) are written as escapes instead.
    """
    print(terminal(message), file=sys.stderr, flush=True)


def _console(**options: Any) -> Console:
    """A Rich console that ends a command as the CLI does when its reader goes away (Rich
    would exit with code 1, the code ``check`` gives for "match")."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            _quiet_broken_pipe()

    return _Console(highlight=False, soft_wrap=True, **options)


def _err() -> Console:
    return _console(stderr=True)


def _out() -> Console:
    return _console()


def escape(text: str) -> str:
    """Text for the terminal through Rich: control characters shown as escapes (see
    :func:`revimg.text.terminal`), then Rich markup escaped."""
    from rich.markup import escape as rich_escape

    return rich_escape(terminal(text))


#: What the command line adds to a core error's facts: what the person can do about it.
_HINTS: dict[type[RevimgError], str] = {
    IndexMissing: (
        ": build one with 'revimg index build FOLDER' or import a hash bank with 'revimg "
        "index import BANK' (or point to another index with --index FOLDER or $REVIMG_INDEX)"
    ),
}
#: A core error's ``remedy`` (the setting that changes the outcome), in this CLI's words.
_REMEDIES = {
    "origin": "give the bank another name with --origin",
    "skip_bad": "use --skip-bad to import the good lines",
    "allow_http": "use https, or --allow-http to accept it",
    "max_bytes": "--max-size changes the limit",
    "links": "without a key, 'revimg links IMAGE_URL' gives browser search pages for a "
    "photo that is online",
    "rebuild": "rebuild it with 'revimg index build' or restore a copy",
    "reshard": "change the source index and split it again with 'revimg index shard'",
}


def _error_line(exc: RevimgError) -> str:
    """``Error: FACT``, then the hint or the remedy in this command line's words."""
    return _remedied(f"Error: {exc}{_HINTS.get(type(exc), '')}", exc.remedy)


def _remedied(line: str, remedy: str | None) -> str:
    """``line``, and the remedy in this command line's words when there is one."""
    words = _REMEDIES.get(remedy or "")
    return f"{line} ({words})" if words else line


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn core errors into one ``Error: ...`` line on stderr and exit code 2."""
    try:
        yield
    except RevimgError as exc:
        _say(_error_line(exc))
        raise typer.Exit(EXIT_ERROR) from None
    except KeyboardInterrupt:
        _say("Interrupted; everything finished so far is kept.")
        raise typer.Exit(130) from None
    except BrokenPipeError:  # here, before Typer turns it into exit code 1 ("match")
        _quiet_broken_pipe()


class Format(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


class BankFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


class Preset(StrEnum):
    strict = "strict"
    default = "default"
    loose = "loose"


def _at_least_one(value: int | None) -> int | None:
    """Option check worded for people (click would print ``x>=1``)."""
    if value is not None and value < 1:
        raise typer.BadParameter(f"{value} is not 1 or more")
    return value


def _zero_to_one(value: float | None) -> float | None:
    """Option check worded for people (click would print ``0.0<=x<=1.0``)."""
    if value is not None and not 0.0 <= value <= 1.0:
        raise typer.BadParameter(f"{value:g} is not between 0 and 1")
    return value


def _tty(stream: Any) -> bool:
    """True when ``stream`` is a terminal (False for a closed or missing stream)."""
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):
        return False


def _format(fmt: Format | None) -> str:
    if fmt is not None:
        return fmt.value
    return "table" if sys.stdout.isatty() else "jsonl"


def _read_stdin() -> bytes:
    """The photo on standard input; an endless or oversized stream is cut off and refused."""
    from revimg.errors import ImageError
    from revimg.imaging.decoding import MAX_FILE_BYTES

    if sys.stdin is None or sys.stdin.isatty():
        raise UsageError("'-' reads an image from standard input, but nothing was piped in")
    data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ImageError("-", f"standard input is too large (limit {MAX_FILE_BYTES} bytes)")
    return data


def _version(value: bool) -> None:
    if value:
        typer.echo(f"revimg {revimg.__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """revimg: private reverse image search."""


IndexOption = Annotated[
    Path | None,
    typer.Option(
        "--index",
        metavar="FOLDER",
        help="Index folder [default: $REVIMG_INDEX, else $REVIMG_HOME/index, else the "
        "per-user data folder, such as ~/.local/share/revimg/index on Linux].",
        show_default=False,
    ),
]
FormatOption = Annotated[
    Format | None,
    typer.Option(
        "--format", "-f", help="Output format [default: table on a terminal, else jsonl]."
    ),
]


def _open(index: Path | None, *, create: bool = False) -> Any:
    from revimg.config import index_location
    from revimg.index.shards import open_any

    return open_any(index_location(index), create=create)


ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        metavar="ADDRESS",
        envvar="REVIMG_CLUSTER",
        help="Run on a Dask cluster: its scheduler's address (tcp://HOST:8786), or 'local' "
        "for one worker process per core here. Photos and index must be at paths every "
        "worker sees. Needs the dask extra. [env: REVIMG_CLUSTER]",
        show_envvar=False,
    ),
]

SendBytesOption = Annotated[
    bool,
    typer.Option(
        "--send-bytes",
        help="With --cluster: read the photos here and send them to the workers (for "
        "workers that cannot see the photos' folder).",
    ),
]


@contextmanager
def _cluster(address: str | None, send_bytes: bool = False) -> Iterator[Any]:
    """A Dask client of the cluster at ``address`` (None: no cluster, nothing imported)."""
    if not address:
        if send_bytes:
            raise UsageError("--send-bytes sends the photos to a cluster: give --cluster too")
        yield None
        return
    from revimg.errors import ClusterEngineMissing

    try:
        from revimg.cluster import connect

        with connect(address) as client:
            yield client
    except ClusterEngineMissing:
        raise UsageError("--cluster needs the dask extra: pip install 'revimg-cli[dask]'") from None


# -- hash --------------------------------------------------------------------------------


@app.command("hash")
def hash_cmd(
    files: Annotated[
        list[str], typer.Argument(metavar="PHOTO...", help="Image files; '-' reads one from stdin.")
    ],
    fmt: FormatOption = None,
) -> None:
    """Print the perceptual hashes of photos (PDQ, pHash) and their SHA-256.

    Example: revimg hash photo.jpg --format json
    """
    from revimg.errors import ImageError
    from revimg.imaging.sources import from_args
    from revimg.matching.checker import hash_source
    from revimg.report.data import HASH_FIELDS, Writer

    with _user_errors():
        sources = from_args(files, _read_stdin)
        chosen = _format(fmt)
        failed = 0
        console = _out() if chosen == "table" else None
        writer = None if console is not None else Writer(sys.stdout, chosen, HASH_FIELDS)
        for source in sources:
            try:
                row: dict[str, Any] = {"path": source.label, **hash_source(source).as_dict()}
            except ImageError as exc:
                failed += 1
                if writer is not None or not (_tty(sys.stdout) and _tty(sys.stderr)):
                    _say(f"Error: {exc}")
                row = {"path": source.label, "error": exc.reason}
            if console is not None:  # whole hashes, one per line: a table would cut them
                console.print(escape(row["path"]), soft_wrap=True)
                if "error" in row:
                    console.print(f"  error   {escape(row['error'])}")
                    continue
                console.print(f"  pdq     {row['pdq']} (quality {row['pdq_quality']})")
                console.print(f"  phash   {row['phash']}")
                console.print(f"  sha256  {row['sha256']}", soft_wrap=True)
            elif writer is not None:
                writer.write(row)
        if writer is not None:
            writer.close()
    if failed:
        raise typer.Exit(EXIT_ERROR)


# -- check -------------------------------------------------------------------------------


def _render_result(
    console: Console, result: Any, *, quiet: bool = False, once: tuple[str, ...] = ()
) -> None:
    """One photo's verdict and evidence; hints listed in ``once`` are left for the end."""
    from revimg.report.words import (
        describe_match,
        describe_online,
        hints,
        privacy_lines,
        verdict_sentence,
    )

    style = {"match": "bold red", "incomplete": "bold yellow", None: "yellow"}.get(
        result.verdict, "bold"
    )
    console.print(f"[{style}]{escape(verdict_sentence(result))}[/]")
    for item in result.not_run:  # what did not run: shown even with --quiet
        console.print(f"  [yellow]not run: {escape(item.reason)}[/]")
    for hint in hints(result):  # what to try next: shown even with --quiet
        if hint not in once:
            console.print(f"  tip: {escape(hint)}")
    if quiet:
        return
    for warning in result.warnings:
        console.print(f"  note: {escape(warning)}")
    for rank, m in enumerate(result.matches, 1):
        head, details = describe_match(m)
        console.print(f"  {rank}. {escape(head)}")
        for line in details:
            console.print(f"     {escape(line)}")
    if result.provenance is not None:
        for line in result.provenance.evidence():
            console.print(f"  metadata: {escape(line)}")
    for line in describe_online(result):
        console.print(f"  {escape(line)}")
    for line in privacy_lines(result):
        console.print(f"  [dim]{escape(line)}[/]")
    console.print()


def _batch_summary(counts: dict[str, int], complete: int, total: int) -> str:
    """``3 photos: 1 likely match, 1 no match, 1 not fully checked; fully checked: 2 of 3``."""
    words = (
        ("match", "likely match", "likely matches"),
        ("no_match", "no match", "no match"),
        ("incomplete", "not fully checked", "not fully checked"),
        ("error", "could not be read", "could not be read"),
    )
    parts = [
        f"{counts[key]} {one if counts[key] == 1 else many}"
        for key, one, many in words
        if counts.get(key)
    ]
    return f"{total} photos: {', '.join(parts)}; fully checked: {complete} of {total}"


def _online_request(
    online: str | None, no_online: bool, image_url: str | None, no_cache: bool, files: list[str]
) -> Any:
    """The online search the user asked for (flag or config file), or None."""
    from revimg.config import config_file

    if no_online:
        if online or image_url:
            raise UsageError("--no-online cannot be combined with --online or --image-url")
        return None
    if online is None and image_url is None and not config_file().exists():
        return None  # the default, decided without loading any provider
    from revimg.online.settings import load_settings

    settings = load_settings()
    if online is None and not settings.providers:
        if image_url:
            raise UsageError("--image-url is for online search: add --online PROVIDERS")
        return None  # the default: nothing leaves this machine
    if image_url is not None and len(files) != 1:
        raise UsageError("--image-url names one photo's address: check one photo with it")
    from revimg.matching.checker import OnlineRequest
    from revimg.online.search import resolve_names

    names = resolve_names(online, settings)
    return OnlineRequest(tuple(names), settings, image_url=image_url, use_cache=not no_cache)


@app.command()
def check(
    files: Annotated[
        list[str],
        typer.Argument(metavar="PHOTO...", help="Photos to check; '-' reads one from stdin."),
    ],
    index: IndexOption = None,
    fmt: FormatOption = None,
    top: Annotated[
        int,
        typer.Option(
            "--top",
            "-k",
            metavar="N",
            callback=_at_least_one,
            help="Matches to list per photo, 1 or more.",
        ),
    ] = 5,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            "-t",
            metavar="SCORE",
            callback=_zero_to_one,
            help="Lowest score reported as a match, between 0 and 1 [default: 0.75, or the "
            "preset's].",
            show_default=False,
        ),
    ] = None,
    preset: Annotated[
        Preset,
        typer.Option("--preset", help="strict (0.85) finds fewer copies, loose (0.65) more."),
    ] = Preset.default,
    online: Annotated[
        str | None,
        typer.Option(
            "--online",
            metavar="PROVIDERS",
            help="Also search the web: provider names, comma-separated, or 'all' (see "
            "'revimg providers'). Sends the photo, or only --image-url, to them.",
        ),
    ] = None,
    image_url: Annotated[
        str | None,
        typer.Option(
            "--image-url",
            metavar="URL",
            help="The photo's public address: online providers get only this, never the photo.",
        ),
    ] = None,
    no_online: Annotated[
        bool,
        typer.Option("--no-online", help="Search nothing online, whatever the config file says."),
    ] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Ask the providers again, ignoring cached answers.")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            metavar="FILE.html",
            help="Also write a self-contained HTML report to look at in a browser.",
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Table view: only the verdict line per photo.")
    ] = False,
    cluster: ClusterOption = None,
    send_bytes: SendBytesOption = False,
) -> None:
    """Check photos against the local index: is each one a known photo?

    Exit code 0: no likely match; 1: at least one photo matched; 2: an error, or a photo
    not fully checked (no index yet, a web search that failed: see not_run).

    Example: revimg check profile.jpg --index ./stock-index
    """
    from revimg.imaging.sources import from_args
    from revimg.matching.checker import check_sources
    from revimg.matching.find import PRESETS
    from revimg.report.data import CHECK_CSV_FIELDS, Writer, check_rows, result_dict
    from revimg.report.words import NO_INDEX_HINTS, hints

    chosen = _format(fmt)
    level = threshold if threshold is not None else PRESETS[preset.value]
    counts: Counter[str] = Counter()
    complete = 0
    next_steps: list[str] = []
    reported: list[Any] = []
    with _user_errors():
        request = _online_request(online, no_online, image_url, no_cache, files)
        sources = from_args(files, _read_stdin)
        idx, skipped = _open_for_check(index, request)
        with idx if idx is not None else nullcontext(), _cluster(cluster, send_bytes) as client:
            writer = (
                None
                if chosen == "table"
                else Writer(sys.stdout, chosen, CHECK_CSV_FIELDS, check_rows)
            )
            console = _out() if writer is None else None
            # on one screen, the table's own line for a failed photo is enough
            errors_on_stderr = writer is not None or not (_tty(sys.stdout) and _tty(sys.stderr))
            local = None
            if client is not None:  # the web search (--online) stays on this machine
                from revimg.cluster.check import searcher

                local = searcher(
                    client, idx, threshold=level, top=top, skipped=skipped, send_bytes=send_bytes
                )
            results = check_sources(
                idx,
                sources,
                threshold=level,
                top=top,
                jobs=None,  # the core's rule: every core for a batch, none for a few photos
                online=request,
                skipped=skipped,
                local=local,
                keep_bytes=report is not None,
            )
            for source, result in zip(sources, results, strict=True):
                counts[result.verdict or "error"] += 1
                complete += result.complete
                if result.error is not None and errors_on_stderr:
                    _say(f"Error: {result.query}: {result.error}")
                if writer is not None:
                    writer.write(result_dict(result))
                else:
                    assert console is not None
                    _render_result(console, result, quiet=quiet, once=NO_INDEX_HINTS)
                    next_steps.extend(h for h in hints(result) if h in NO_INDEX_HINTS)
                if report is not None:
                    reported.append(_report_item(source, result))
            if writer is not None:
                writer.close()
            elif next_steps:
                assert console is not None
                console.print("What you can do next:")
                for step in dict.fromkeys(next_steps):
                    console.print(f"  - {escape(step)}")
            if len(sources) > 1:
                line = _batch_summary(counts, complete, len(sources))
                if console is not None:
                    console.print(line)
                else:
                    _say(line)
        if report is not None:
            _write_report(report, reported)
    if counts["error"] or counts["incomplete"]:
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(EXIT_MATCH if counts["match"] else EXIT_OK)


def _report_item(photo: Any, result: Any) -> Any:
    """The report's part for one photo, with the bytes its check read (not read again)."""
    from revimg.errors import ImageError
    from revimg.report.html import ReportItem

    try:
        data = photo.read()
    except ImageError:
        data = None
    return ReportItem.of(result, data)


def _write_report(path: Path, items: list[Any]) -> None:
    """The HTML report of the checked photos: thumbnails, matches, evidence, advice."""
    from revimg.report.html import write_report

    try:
        write_report(path, items)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the report ({exc.strerror})") from None
    _say(f"report: {path}")


def _open_for_check(index: Path | None, request: Any) -> tuple[Any, tuple[Any, ...]]:
    """The index to check against, or None and what did not run because it is missing.

    With no index at the default place, a check still reads what the photo says about
    itself (and searches online if asked); an index named with --index that is not there
    is an error, unless an online search was asked for.
    """
    from revimg.matching.result import NotRun

    try:
        return _open(index), ()
    except IndexMissing as exc:
        if index is not None and request is None:
            raise
        reason = f"there is no index of known photos at {exc.location}, so none were compared"
        return None, (NotRun("index", "missing", reason),)


# -- providers, links, inspect -----------------------------------------------------------


@app.command()
def providers(fmt: FormatOption = None) -> None:
    """List the online search providers: configured or not, the key each needs, what it sends.

    Example: revimg providers
    """
    from revimg.online.settings import config_file_path, describe, load_settings
    from revimg.report.data import Writer

    with _user_errors():
        settings = load_settings()
        infos = describe(settings)
    chosen = _format(fmt)
    if chosen != "table":
        fields = tuple(infos[0].to_dict()) if infos else ("name",)
        writer = Writer(sys.stdout, chosen, fields)
        for info in infos:
            writer.write(info.to_dict())
        writer.close()
        return
    out = _out()
    for info in infos:
        state = f"configured ({info.key_source})" if info.configured else "not configured"
        keys = " or ".join(info.key_names)
        out.print(f"[bold]{escape(info.name)}[/]: {escape(state)}; key: {escape(keys)}")
        out.print(f"  sends {escape(info.sends)} to {escape(info.host)}")
        out.print(f"  {escape(info.retention)}")
    out.print(
        f"Config file: {escape(str(config_file_path()))}. Nothing is sent unless you ask: "
        "revimg check PHOTO --online NAMES (or 'all')."
    )


@app.command()
def links(
    photo: Annotated[
        str,
        typer.Argument(
            metavar="PHOTO", help="The photo's web address, or a photo file on this computer."
        ),
    ],
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open every search page in the web browser.")
    ] = False,
    fmt: FormatOption = None,
) -> None:
    """Browser search pages for a photo: no key needed, nothing sent by revimg.

    For a web address, each page searches for that address (your browser sends only the
    address). For a file on this computer, the pages are where you upload it yourself:
    the site you choose then has the photo.

    Examples:
      revimg links https://example.com/profile.jpg --open
      revimg links screenshot-crop.jpg
    """
    from revimg.online.links import UPLOAD_PAGES
    from revimg.online.links import links as search_links
    from revimg.report.data import Writer

    upload = "://" not in photo and not photo.lower().startswith(("http:", "https:"))
    with _user_errors():
        if upload:
            if not Path(photo).is_file():
                raise UsageError(
                    f"{photo}: no such file (give a photo file or its http(s) web address)"
                )
            pairs = list(UPLOAD_PAGES)
        else:
            pairs = search_links(photo)
    chosen = _format(fmt)
    if chosen == "table":
        if upload:
            print(
                f"{photo} is a file on this computer: open one of these pages and drag the photo "
                "into its search box (that site then has the photo):"
            )
        for engine, url in pairs:
            print(f"{engine}: {url}")
    else:
        writer = Writer(sys.stdout, chosen, ("engine", "url", "upload"))
        for engine, url in pairs:
            writer.write({"engine": engine, "url": url, "upload": upload})
        writer.close()
    if open_browser:
        import webbrowser

        opened = sum(bool(webbrowser.open_new_tab(url)) for _, url in pairs)
        _say(f"opened {opened} of {len(pairs)} pages in the browser")


@app.command()
def inspect(
    files: Annotated[
        list[str],
        typer.Argument(metavar="PHOTO...", help="Photos to inspect; '-' reads one from stdin."),
    ],
    fmt: FormatOption = None,
    gps: Annotated[
        bool, typer.Option("--gps", help="Show the GPS coordinates, not only that they exist.")
    ] = False,
) -> None:
    """What a photo says about itself: camera, credit, copyright, stock agency, AI marks, C2PA.

    Exit code 0: read; 2: a photo could not be read.

    Example: revimg inspect profile.jpg
    """
    from revimg import provenance
    from revimg.errors import ImageError
    from revimg.imaging.sources import from_args
    from revimg.report.data import Writer

    chosen = _format(fmt)
    failed = False
    with _user_errors():
        sources = from_args(files, _read_stdin)
        writer = None if chosen == "table" else Writer(sys.stdout, chosen, ("query", "findings"))
        for source in sources:
            try:
                found = provenance.inspect(source.read(), source.label, include_gps=gps)
            except ImageError as exc:
                failed = True
                _say(f"Error: {exc}")
                continue
            lines = list(found.findings())
            if writer is not None:
                writer.write({"query": source.label, "findings": lines, **found.to_dict()})
                continue
            print(f"{terminal(source.label)}:")
            for line in lines or ["no metadata that says where the photo came from"]:
                print(f"  {terminal(line)}")
        if writer is not None:
            writer.close()
    if failed:
        raise typer.Exit(EXIT_ERROR)


# -- index -------------------------------------------------------------------------------


def _report_failures(stats: Any) -> None:
    for path, reason in stats.failures:
        _say(f"Error: {path}: {reason}")


def _run_build(
    idx: Any, files: Any, meta: Path | None, jobs: int | None, hasher: Any = None
) -> Any:
    from revimg.index import builder
    from revimg.index import metadata as metadata_mod

    table = metadata_mod.load(meta) if meta is not None else None
    err = _err()
    if not err.is_terminal:
        return builder.run(idx, files, meta=table, jobs=jobs, hasher=hasher)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("hashing", total=None)
        return builder.run(
            idx,
            files,
            meta=table,
            jobs=jobs,
            hasher=hasher,
            on_planned=lambda n: progress.update(task, total=n),
            on_progress=lambda path, error: progress.advance(task),
        )


MetaOption = Annotated[
    Path | None,
    typer.Option(
        "--meta",
        help="CSV or JSONL of per-photo metadata (title, credit, licence, source_url, tags), "
        "keyed by a path/file/name column.",
    ),
]
SkipBadOption = Annotated[
    bool,
    typer.Option(
        "--skip-bad", help="Exit 0 even when some files could not be read (they are still listed)."
    ),
]


@index_app.command("build")
def index_build(
    folders: Annotated[
        list[Path], typer.Argument(metavar="FOLDER...", help="Folders to index, recursively.")
    ],
    index: IndexOption = None,
    meta: MetaOption = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            metavar="N",
            callback=_at_least_one,
            help="Worker processes, 1 or more [default: all cores].",
        ),
    ] = None,
    prune: Annotated[
        bool, typer.Option("--prune", help="Drop entries whose files are gone from these folders.")
    ] = False,
    skip_bad: SkipBadOption = False,
    cluster: ClusterOption = None,
    send_bytes: SendBytesOption = False,
) -> None:
    """Index every photo below folders; reruns only hash new or changed files.

    Example: revimg index build ~/stock-photos --meta credits.csv --index ./stock-index
    """
    from revimg.imaging.sources import WalkProblem
    from revimg.index import builder

    problems: list[WalkProblem] = []
    with _user_errors():
        for folder in folders:
            if not folder.is_dir():
                raise UsageError(
                    f"{folder}: not a folder (use 'revimg index add' for single files)"
                )
        if cluster and jobs is not None:
            raise UsageError("--jobs and --cluster do not go together: the cluster's workers hash")
        with _cluster(cluster, send_bytes) as client, _open(index, create=True) as idx:
            hasher = None
            if client is not None:
                from revimg.cluster.build import hasher as cluster_hasher

                hasher = cluster_hasher(client, send_bytes=send_bytes)
            files = builder.folder_files(folders, problems.append)
            stats = _run_build(idx, files, meta, jobs, hasher)
            if prune:
                stats.removed = builder.prune(idx, folders)
            idx.refresh()
        for problem in problems:
            stats.failed += 1
            stats.failures.append((problem.path, problem.reason))
        _report_failures(stats)
        _say(stats.summary())
    if stats.failed and not skip_bad:
        raise typer.Exit(EXIT_ERROR)


@index_app.command("add")
def index_add(
    files: Annotated[list[Path], typer.Argument(metavar="PHOTO...", help="Photo files to add.")],
    index: IndexOption = None,
    meta: MetaOption = None,
    skip_bad: SkipBadOption = False,
) -> None:
    """Add (or refresh) single photos in the index.

    Example: revimg index add stock/beach.jpg --index ./stock-index
    """
    with _user_errors():
        with _open(index, create=True) as idx:
            stats = _run_build(idx, [(f, f.name) for f in files], meta, 1)
            idx.refresh()
        _report_failures(stats)
        _say(stats.summary())
    if stats.failed and not skip_bad:
        raise typer.Exit(EXIT_ERROR)


@index_app.command("remove")
def index_remove(
    paths: Annotated[
        list[str],
        typer.Argument(metavar="PATH...", help="Indexed file paths (or bank entry names)."),
    ],
    index: IndexOption = None,
) -> None:
    """Remove photos from the index (the files themselves are not touched).

    Example: revimg index remove stock/beach.jpg
    """
    with _user_errors():
        with _open(index) as idx:
            counts = idx.remove_each([p, os.path.abspath(p)] for p in paths)
            idx.refresh()
        missing = [p for p, n in zip(paths, counts, strict=True) if not n]
        for p in missing:
            _say(f"not in the index: {p}")
        _say(f"removed {len(paths) - len(missing)} of {len(paths)}")
    if missing:
        raise typer.Exit(EXIT_ERROR)


@index_app.command("shard")
def index_shard(
    out: Annotated[Path, typer.Argument(metavar="OUT_FOLDER", help="Folder for the shards.")],
    parts: Annotated[
        int, typer.Option("--parts", "-n", metavar="N", help="How many shards, 1 to 999.")
    ],
    index: IndexOption = None,
) -> None:
    """Split the index into N shard indexes in OUT_FOLDER, to search them on several workers.

    Checks against OUT_FOLDER (--index OUT_FOLDER) answer as the whole index does.
    Splitting again replaces an older split of the same index.

    Example: revimg index shard --parts 4 ./bank-shards --index ./bank-index
    """
    from revimg.index.shards import split

    with _user_errors():
        with _open(index) as idx:
            if not hasattr(idx, "stamp"):
                raise UsageError(f"{idx.location}: a shard set cannot be split again")
            stats = split(idx, out, parts)
    sizes = ", ".join(str(n) for n in stats.per_shard)
    again = " (replacing the older split)" if stats.replaced else ""
    _say(f"{stats.entries} entries in {stats.parts} shards ({sizes}) at {out}{again}")


@index_app.command("info")
def index_info(
    index: IndexOption = None,
    fmt: FormatOption = None,
) -> None:
    """Show what the index holds: entries, hash kinds, size on disk, dates, versions.

    Example: revimg index info --format json
    """
    import datetime as dt
    import json

    with _user_errors():
        with _open(index) as idx:
            info = idx.info()
    chosen = _format(fmt)
    if chosen != "table":
        typer.echo(json.dumps(info, indent=2 if chosen == "json" else None))
        return
    from rich.table import Table

    table = Table(box=None, show_header=False)
    table.add_column(style="bold")
    table.add_column()

    def when(ts: float) -> str:
        return dt.datetime.fromtimestamp(ts).isoformat(sep=" ", timespec="seconds") if ts else "-"

    origins = ", ".join(f"{k}: {v}" for k, v in info["by_origin"].items())
    if "shards" in info:  # a shard set: its source and its shards
        rows = [
            ("location", info["location"]),
            ("shard set", f"{info['shards']} shards of {info['source']['location']}"),
            ("entries", f"{info['entries']} ({origins or 'empty'})"),
            ("with local features", str(info["local_features"])),
            ("size on disk", f"{info['size_bytes'] / 1e6:.2f} MB"),
        ]
        rows += [
            (f"shard {i}", f"{one['entries']} entries, {one['size_bytes'] / 1e6:.2f} MB")
            for i, one in enumerate(info["per_shard"])
        ]
        for key, value in rows:
            table.add_row(key, escape(value))
        _out().print(table)
        return
    rows = [
        ("location", info["location"]),
        (
            "entries",
            f"{info['entries']} ({origins or 'empty'})",
        ),
        ("hash kinds", ", ".join(info["hash_kinds"])),
        ("crop views", ", ".join(f"{k}: {v}" for k, v in info["views"].items()) or "-"),
        (
            "imagehash lists",
            ", ".join(f"{k}: {v}" for k, v in info.get("foreign_hashes", {}).items()) or "-",
        ),
        ("low-detail entries", str(info["low_quality_entries"])),
        ("with local features", str(info["local_features"])),
        ("size on disk", f"{info['size_bytes'] / 1e6:.2f} MB"),
        ("created", when(info["created"])),
        ("updated", when(info["updated"])),
        ("schema", str(info["schema_version"])),
        ("hashed with", ", ".join(f"{k} {v}" for k, v in info["hashed_with"].items()) or "-"),
    ]
    for bank in info.get("banks", []):
        rows.extend(_bank_rows(bank, when))
    for key, value in rows:
        table.add_row(key, escape(value))
    _out().print(table)


def _bank_rows(bank: dict[str, Any], when: Any) -> list[tuple[str, str]]:
    """One URL bank in ``index info``: its address, then label, count, when and what was
    fetched."""
    from revimg.index.bank_fetch import shown

    return [
        ("bank from URL", shown(bank["url"])),
        ("", f"{bank['origin']}: {bank['entries']} entries, fetched {when(bank['fetched'])}"),
        ("", f"sha256 {bank['sha256'] or '-'}"),
    ]


@index_app.command("export")
def index_export(
    index: IndexOption = None,
    fmt: Annotated[
        BankFormat, typer.Option("--format", "-f", help="Bank format.")
    ] = BankFormat.jsonl,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Export the index as a hash bank: hashes and metadata, never pixels or local paths.

    Example: revimg index export -o stock-bank.jsonl
    """
    from revimg.index import bank

    with _user_errors():
        with _open(index) as idx:
            if output is None:
                count = bank.export(idx, sys.stdout, fmt.value)
            else:
                from revimg.files import output_text

                try:
                    with output_text(output) as fh:
                        count = bank.export(idx, fh, fmt.value)
                except OSError as exc:
                    raise UsageError(f"{output}: cannot write ({exc.strerror})") from None
        _say(f"exported {count} entries" + (f" to {output}" if output else ""))


AllowHttpOption = Annotated[
    bool,
    typer.Option(
        "--allow-http",
        help="Accept plain-http URLs and redirects (anyone on the way can alter them).",
    ),
]
MaxSizeOption = Annotated[
    str,
    typer.Option("--max-size", help="Refuse a downloaded bank larger than this (e.g. 500MB)."),
]


@index_app.command("import")
def index_import(
    bank_file: Annotated[
        str,
        typer.Argument(
            metavar="BANK",
            help="Hash bank (jsonl, csv, or a PDQ list): a file, '-' for stdin, or an https URL.",
        ),
    ],
    index: IndexOption = None,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Import the good lines and list the bad ones.")
    ] = False,
    origin: Annotated[
        str | None,
        typer.Option(
            "--origin", help="Label for where the bank came from [default: its file name]."
        ),
    ] = None,
    sha256: Annotated[
        str | None,
        typer.Option("--sha256", help="A URL bank's expected SHA-256, checked before importing."),
    ] = None,
    allow_http: AllowHttpOption = False,
    max_size: MaxSizeOption = "2GB",
) -> None:
    """Merge a hash bank into the index, creating the index if needed (idempotent).

    A bank at a URL is downloaded, checked against --sha256 if given, imported, and
    remembered for 'revimg index update'.

    Example: revimg index import stock-bank.jsonl --index ./stock-index

    Example: revimg index import https://example.org/bank.jsonl --sha256 HEX
    """
    from revimg.config import index_location
    from revimg.index import bank, bank_fetch

    with _user_errors():
        if bank_fetch.is_url(bank_file):
            _import_url(bank_file, index, skip_bad, origin, sha256, allow_http, max_size)
            return
        if sha256 is not None:
            raise UsageError(
                "--sha256 checks a bank downloaded from a URL (use sha256sum for a file)"
            )
        if bank_file == "-":
            if sys.stdin is None or sys.stdin.isatty():
                raise UsageError("'-' reads a bank from standard input, but nothing was piped in")
            stream = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="\n")
            label = origin or "stdin"
        else:
            path = Path(bank_file)
            try:
                stream = path.open(encoding="utf-8-sig", newline="\n")
            except FileNotFoundError:
                raise UsageError(f"{bank_file}: no such file") from None
            except OSError as exc:
                raise UsageError(f"{bank_file}: cannot read the bank ({exc.strerror})") from None
            label = origin or path.name
        with stream:
            stats = bank.import_into(
                index_location(index), stream, label, bank_file, skip_bad=skip_bad
            )
        for number, reason in stats.skipped_lines:
            _say(f"skipped: {bank_file}, line {number}: {reason}")
        _say(stats.summary())


def _import_url(
    url: str,
    index: Path | None,
    skip_bad: bool,
    origin: str | None,
    sha256: str | None,
    allow_http: bool,
    max_size: str,
) -> None:
    from revimg.config import index_location
    from revimg.index import bank_fetch

    expected = bank_fetch.check_sha256(sha256) if sha256 is not None else None
    max_bytes = bank_fetch.parse_size(max_size)
    with _download_bar() as bar:
        result = bank_fetch.import_url(
            index_location(index),
            url,
            origin=origin,
            allow_http=allow_http,
            max_bytes=max_bytes,
            expected_sha256=expected,
            skip_bad=skip_bad,
            on_progress=bar(bank_fetch.shown(url)),
        )
    for number, reason in result.skipped_lines:
        _say(f"skipped: {bank_fetch.shown(url)}, line {number}: {reason}")
    _say(result.summary())


@contextmanager
def _download_bar() -> Iterator[Any]:
    """A factory of download progress callbacks (one bar per URL) on a terminal, else of
    None (no bar when stderr is a file or a pipe)."""
    err = _err()
    if not err.is_terminal:
        yield lambda label: None
        return
    from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

    with Progress(
        "[progress.description]{task.description}",
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        transient=True,
    ) as progress:

        def bar(label: str) -> Any:
            task = progress.add_task(escape(label), total=None)

            def advance(done: int, total: int | None) -> None:
                progress.update(task, completed=done, total=total)

            return advance

        yield bar


@index_app.command("update")
def index_update(
    index: IndexOption = None,
    allow_http: AllowHttpOption = False,
    max_size: MaxSizeOption = "2GB",
) -> None:
    """Fetch every hash bank imported from a URL again; a changed bank replaces its entries.

    Each bank is asked conditionally (ETag, Last-Modified) and reported as unchanged,
    updated (+added, -removed) or failed (left as it was; exit code 2).

    Example: revimg index update --index ./stock-index
    """
    from revimg.config import index_location
    from revimg.index import bank_fetch

    with _user_errors():
        max_bytes = bank_fetch.parse_size(max_size)
        with _download_bar() as bar:
            results = bank_fetch.update(
                index_location(index),
                allow_http=allow_http,
                max_bytes=max_bytes,
                on_progress=lambda url: bar(bank_fetch.shown(url)),
                on_result=lambda r: _say(_remedied(r.summary(), r.remedy)),
            )
        if not results:
            _say("no banks imported from URLs in this index; nothing to update")
    if any(r.status == "failed" for r in results):
        raise typer.Exit(EXIT_ERROR)


#: Exit code of a command whose output pipe was closed by its reader (as SIGPIPE gives).
EXIT_BROKEN_PIPE = 128 + 13


def main() -> None:
    """Console-script entry point: the one guard at the edge of the command line.

    Whatever escapes a command ends as one ``Error: ...`` line and exit code 2, never a
    traceback or exit code 1 (which ``check`` uses for "match"); ``REVIMG_DEBUG=1`` shows the
    traceback instead. A reader that closes the output pipe (``revimg check ... | head``)
    ends the command quietly with code 141, as SIGPIPE ends other Unix tools.
    """
    for stream in (sys.stdout, sys.stderr):
        # A file name that is not valid UTF-8 (kept by Python as surrogates) is written as
        # an escape, whatever the locale's error handler, instead of ending in a traceback.
        if stream is not None and hasattr(stream, "reconfigure"):
            if stream.errors == "strict":
                stream.reconfigure(errors="backslashreplace")
    try:
        code = app(standalone_mode=False)  # an exit code when a command raised typer.Exit
    except BrokenPipeError:
        _quiet_broken_pipe()
    except (typer.Exit, SystemExit) as exc:
        code = exc.exit_code if isinstance(exc, typer.Exit) else exc.code
        sys.exit(code)
    except typer.Abort:
        _say("Aborted.")
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # noqa: BLE001 - the edge: nothing else may escape
        _click_error = _usage_error(exc)
        if _click_error is not None:
            sys.exit(_click_error)
        if os.environ.get("REVIMG_DEBUG"):
            raise
        _say(f"Error: unexpected {type(exc).__name__}: {exc} (a bug: please report it)")
        sys.exit(EXIT_ERROR)
    sys.exit(code if isinstance(code, int) else 0)


def _usage_error(exc: Exception) -> int | None:
    """Show a command-line usage error as Typer does and give its exit code (2), or None."""
    from typer._click.exceptions import ClickException

    if not isinstance(exc, ClickException):
        return None
    exc.show()
    return exc.exit_code


def _quiet_broken_pipe() -> None:
    """End quietly once stdout's reader is gone (nothing more can reach it)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(EXIT_BROKEN_PIPE)


if __name__ == "__main__":
    main()
