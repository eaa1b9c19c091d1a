"""Where barenet looks for data sets on disk, in order.

1. the `data_dir` argument (the CLI's `--data-dir`);
2. the environment variable `BARENET_DATA_DIR`;
3. the user cache: `$XDG_CACHE_HOME/barenet`, or `~/.cache/barenet` when that is unset.

Each of these is a folder holding one sub-folder per data set (`mnist/`, `fashion-mnist/`) or,
for convenience, one data set's files directly. Downloads go into the cache's sub-folder.
"""

import os
from dataclasses import dataclass
from pathlib import Path

DATA_DIR_VARIABLE = "BARENET_DATA_DIR"


@dataclass(frozen=True)
class SearchRoot:
    """A folder to look for data sets in, and why it is searched (for error messages)."""

    path: Path
    origin: str


def cache_dir() -> Path:
    """The user cache folder for barenet: `$XDG_CACHE_HOME/barenet` or `~/.cache/barenet`."""
    xdg_cache_home = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg_cache_home) if xdg_cache_home else Path.home() / ".cache"
    return base / "barenet"


def search_roots(data_dir: str | Path | None = None) -> list[SearchRoot]:
    """The folders searched for data sets, in order (see the module docstring)."""
    roots = []
    if data_dir is not None:
        roots.append(SearchRoot(Path(data_dir).expanduser(), "data_dir argument / --data-dir"))
    environment_dir = os.environ.get(DATA_DIR_VARIABLE)
    if environment_dir:
        roots.append(SearchRoot(Path(environment_dir).expanduser(), DATA_DIR_VARIABLE))
    roots.append(SearchRoot(cache_dir(), "user cache"))
    return roots


def candidate_folders(root: Path, dataset_folder: str) -> list[Path]:
    """The folders under `root` that may hold a data set: its own sub-folder, then `root`."""
    return [root / dataset_folder, root]
