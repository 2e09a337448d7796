"""Where things live: the index location and revimg's own folders.

Precedence for the index: ``--index PATH`` > ``$REVIMG_INDEX`` > ``$REVIMG_HOME/index`` >
the per-user data folder (platformdirs, e.g. ``~/.local/share/revimg/index`` on Linux).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def home() -> Path:
    """revimg's data folder: ``$REVIMG_HOME`` or the platform's user data folder."""
    explicit = os.environ.get("REVIMG_HOME")
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("revimg", appauthor=False))


def index_location(flag: str | Path | None = None) -> Path:
    """The index folder to use, by the precedence in the module docstring."""
    if flag:
        return Path(flag).expanduser()
    env = os.environ.get("REVIMG_INDEX")
    if env:
        return Path(env).expanduser()
    return home() / "index"


def config_file(environ: Mapping[str, str] | None = None) -> Path:
    """The config file: ``$REVIMG_CONFIG``, else ``$REVIMG_HOME/config.toml``, else
    ``config.toml`` in the per-user config folder (e.g. ``~/.config/revimg`` on Linux).
    """
    env = os.environ if environ is None else environ
    if env.get("REVIMG_CONFIG"):
        return Path(env["REVIMG_CONFIG"]).expanduser()
    if env.get("REVIMG_HOME"):
        return Path(env["REVIMG_HOME"]).expanduser() / "config.toml"
    from platformdirs import user_config_dir

    return Path(user_config_dir("revimg", appauthor=False)) / "config.toml"


def default_jobs() -> int:
    """Worker processes to use: every core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
