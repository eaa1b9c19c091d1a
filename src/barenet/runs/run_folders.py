"""The rules of a run folder, so that what one run wrote is never mixed with or lost to another.

- While a run writes to a folder it holds a lock on ``.barenet.lock`` in it (``flock``; the
  lock goes away with the process, however it ends), and a second ``barenet train`` on the
  same folder is refused.
- A folder that holds files is written to only if it is the same run: its ``config.toml``
  has the same settings, or the run resumes the checkpoint in it. Anything else needs
  ``--overwrite``, which removes the files an earlier run wrote there (and nothing else).
- Temporary files that a killed run left behind are removed when the next run starts.
- Paths in the stored configuration are absolute, so ``config.toml`` means the same files
  wherever the command that reads it runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path

from ..errors import ConfigError, RunFolderError
from ..saving.atomic import remove_stale_temporaries
from .config import RunConfig, read_toml

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, folders are not locked
    fcntl = None

LOCK_FILE = ".barenet.lock"
RUN_FILES = (
    "model.npz", "config.toml", "history.csv", "checkpoint.npz", "history.png", "fit.png",
    "confusion_matrix.png", "misclassified.png", "first_layer_weights.png", "evaluate_confusion_matrix.png",
    "samples.txt", "attention.png",
)
"""Every file ``barenet train`` (and ``evaluate``) may write into a run folder."""
MODEL_IN_FOLDER = "model.npz"


def model_path(path: str | Path) -> Path:
    """A model file, or the model of a run folder (``RUN/model.npz``): what every command that
    reads a model accepts."""
    path = Path(path)
    if not path.is_dir():
        return path
    if not (path / MODEL_IN_FOLDER).is_file():
        raise RunFolderError(f"{path} is a folder without {MODEL_IN_FOLDER}; give a model file or a run "
                             "folder written by barenet train")
    return path / MODEL_IN_FOLDER


def run_settings(path: str | Path) -> dict:
    """The settings in the config.toml beside a model (or in a run folder), if there is one."""
    config_path = model_path(path).parent / "config.toml"
    return read_toml(config_path) if config_path.is_file() else {}


RUN_ONLY_SETTINGS = ("out", "overwrite", "quiet", "verbose_every", "threads")
"""Settings that change how a run is shown or where it goes, not what it computes."""


def absolute(path: str | None) -> str | None:
    return None if path is None else str(Path(path).expanduser().absolute())


def absolute_dataset(dataset: str) -> str:
    """``csv:data.csv`` → ``csv:/home/me/data.csv``; names without a path stay as they are."""
    kind, _, path = dataset.partition(":")
    return f"{kind}:{absolute(path)}" if path else dataset


def stored_config(config: RunConfig, folder: Path | None = None) -> RunConfig:
    """``config`` as a run folder keeps it: paths absolute, ``out`` the folder the run really
    writes to (if given), ``overwrite`` off."""
    return dataclasses.replace(
        config, dataset=absolute_dataset(config.dataset), data_dir=absolute(config.data_dir),
        test_data=absolute(config.test_data),
        out=absolute(str(folder) if folder is not None else config.out), overwrite=False,
    )


@contextlib.contextmanager
def locked_run_folder(
    folder: Path, config: RunConfig, resume: str | Path | None = None, overwrite: bool = False
) -> Iterator[Path]:
    """Hold ``folder`` for one run: create it, lock it, check that it is this run's (or, with
    ``overwrite``, remove the files of the run that was there), and clear what an interrupted
    run left there."""
    prepare_folder(folder)
    with folder_lock(folder):
        check_folder_is_this_run(folder, config, resume, overwrite)
        remove_stale_temporaries(folder)
        yield folder


def prepare_folder(folder: Path) -> Path:
    """Create ``folder`` and check that files can be written in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".barenet-write-test.{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise RunFolderError(
            f"cannot write the run folder {folder}: {error.strerror or error}; "
            "choose a folder you can write to with --out DIR"
        ) from None
    return folder


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder/.barenet.lock``; refuse if another process has it."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    path = folder / LOCK_FILE
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(descriptor, 32).decode("ascii", "replace").strip()
            raise RunFolderError(
                f"another barenet run is writing to {folder} right now"
                + (f" (process {holder})" if holder.isdigit() else "")
                + "; wait for it to finish, or choose another folder with --out DIR"
            ) from None
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def check_folder_is_this_run(
    folder: Path, config: RunConfig, resume: str | Path | None, overwrite: bool = False
) -> None:
    """Refuse a folder holding files of something else, unless ``overwrite``; with it,
    remove the files of the run that was there."""
    present = sorted(
        path.name for path in folder.iterdir()
        if path.name != LOCK_FILE and not (path.name.startswith(".") and path.name.endswith(".tmp"))
    )
    if not present:
        return
    if resume is not None and Path(resume).absolute().parent == folder.absolute():
        return
    if overwrite:
        for name in RUN_FILES:
            (folder / name).unlink(missing_ok=True)
        return
    previous = folder / "config.toml"
    if not previous.is_file():
        shown = ", ".join(present[:3]) + (", ..." if len(present) > 3 else "")
        raise RunFolderError(
            f"{folder} is not empty ({shown}) and is not a barenet run folder; choose a new or empty "
            "folder with --out DIR, or add --overwrite to write the run into it anyway"
        )
    differences = config_differences(previous, config)
    if differences:
        raise RunFolderError(
            f"{folder} holds another run (its config.toml differs: {'; '.join(differences[:3])}); choose "
            "another folder with --out DIR, or add --overwrite to replace that run"
        )


def config_differences(previous: Path, config: RunConfig) -> list[str]:
    """The settings in which the run stored in ``previous`` differs from ``config``."""
    try:
        settings = read_toml(previous)
    except ConfigError as error:
        return [f"it cannot be read ({error})"]
    wanted = stored_config(config).to_dict()
    return [
        f"{key} {settings.get(key)!r} there, {value!r} now"
        for key, value in wanted.items()
        if key not in RUN_ONLY_SETTINGS and settings.get(key) != value
    ]
