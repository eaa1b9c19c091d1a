"""Character-level text: a file read into a vocabulary of its characters and one integer id per
character, and the windows a language model learns from.

    from barenet.datasets import load_tinyshakespeare, split_text, random_windows

    text = load_tinyshakespeare()                      # 1,115,394 ids, 65 characters
    train, validation = split_text(text.ids)           # the last 10 % for validation, by position
    x, y = random_windows(train, context=64, batch_size=12, rng=rng)   # y is x shifted by one
    text.vocabulary.decode(x[0])                       # back to characters

The vocabulary is JSON (``vocabulary.to_dict()``), so a model file's metadata can keep it and
a loaded model encodes prompts exactly as its training text was encoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from barenet.datasets.errors import DatasetError, DatasetNotFoundError
from barenet.datasets.locations import DATA_DIR_VARIABLE, candidate_folders, search_roots

TINYSHAKESPEARE_FOLDER = "tinyshakespeare"
TINYSHAKESPEARE_FILE = "input.txt"
MAX_VOCABULARY = 1 << 20
"""More distinct characters than Unicode assigns is not text."""


@dataclass(frozen=True)
class CharVocabulary:
    """The distinct characters of a text, sorted; a character's id is its position."""

    characters: str

    def __post_init__(self) -> None:
        if not isinstance(self.characters, str) or not self.characters:
            raise DatasetError("a vocabulary needs at least one character")
        if len(set(self.characters)) != len(self.characters) or len(self.characters) > MAX_VOCABULARY:
            raise DatasetError("a vocabulary lists each character once")
        object.__setattr__(self, "_ids", {character: i for i, character in enumerate(self.characters)})

    @classmethod
    def from_text(cls, text: str) -> CharVocabulary:
        return cls("".join(sorted(set(text))))

    @property
    def size(self) -> int:
        return len(self.characters)

    def __len__(self) -> int:
        return len(self.characters)

    def encode(self, text: str) -> np.ndarray:
        """One id per character, int64; a character outside the vocabulary is named in the error."""
        ids = self._ids
        try:
            return np.fromiter((ids[character] for character in text), dtype=np.int64, count=len(text))
        except KeyError:
            unknown = sorted({character for character in text if character not in ids})
            shown = ", ".join(repr(character) for character in unknown[:10])
            raise DatasetError(f"the text holds {len(unknown)} character(s) outside the vocabulary: {shown}; "
                               "use only characters the model was trained on") from None

    def decode(self, ids: object) -> str:
        """The characters of ``ids`` (any integer array), as one string."""
        array = np.asarray(ids)
        if array.dtype.kind not in "iu" or (array.size and (array.min() < 0 or array.max() >= self.size)):
            raise DatasetError(f"ids to decode must be integers in [0, {self.size})")
        return "".join(self.characters[i] for i in array.reshape(-1).tolist())

    def to_dict(self) -> dict:
        """JSON-ready: ``{"kind": "characters", "characters": "..."}``."""
        return {"kind": "characters", "characters": self.characters}

    @classmethod
    def from_dict(cls, data: object) -> CharVocabulary:
        """Read back what :meth:`to_dict` wrote (from a file anyone may have edited)."""
        if not isinstance(data, dict) or data.get("kind") != "characters" \
                or not isinstance(data.get("characters"), str):
            raise DatasetError("a character vocabulary is {'kind': 'characters', 'characters': '...'}")
        return cls(data["characters"])


@dataclass(frozen=True)
class TextData:
    """A text as ids: ``ids`` int64 ``(n_characters,)`` and the ``vocabulary`` that made them."""

    ids: np.ndarray
    vocabulary: CharVocabulary
    source: str


def load_text(path: str | Path, vocabulary: CharVocabulary | None = None) -> TextData:
    """Read a UTF-8 text file into ids; the vocabulary is the file's own characters unless
    one is given (a trained model's). A missing file, a file that is not UTF-8, and an empty
    one are refused with a :class:`DatasetError` that says so."""
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: no such text file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DatasetError(f"{path} is not UTF-8 text: byte {error.start} (0x{raw[error.start]:02x}) "
                           "does not decode; save the file as UTF-8") from None
    text = text.removeprefix("\ufeff")  # a byte-order mark is not part of the text
    if len(text) < 2:
        raise DatasetError(f"{path} holds {len(text)} character(s); a language model needs at least two")
    vocabulary = vocabulary if vocabulary is not None else CharVocabulary.from_text(text)
    return TextData(vocabulary.encode(text), vocabulary, str(path))


def load_tinyshakespeare(data_dir: str | Path | None = None) -> TextData:
    """Tiny Shakespeare (Karpathy's char-rnn corpus, 65 characters), from
    ``tinyshakespeare/input.txt`` in ``data_dir``, ``$BARENET_DATA_DIR`` or the user cache."""
    searched = []
    for root in search_roots(data_dir):
        for folder in candidate_folders(root.path, TINYSHAKESPEARE_FOLDER):
            path = folder / TINYSHAKESPEARE_FILE
            if path.is_file():
                return load_text(path)
            searched.append(f"  {path}  [{root.origin}]")
    raise DatasetNotFoundError(
        "tiny Shakespeare was not found: looked for\n" + "\n".join(searched) + "\nTo fix: put input.txt "
        f"in DIR/{TINYSHAKESPEARE_FOLDER}/ and pass data_dir=DIR, or set {DATA_DIR_VARIABLE}=DIR"
    )


def split_text(ids: np.ndarray, validation_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """``(train, validation)`` by position: the last ``validation_fraction`` of the text
    validates (nanoGPT's split), so no validation window overlaps a training one."""
    if not 0 < validation_fraction < 1:
        raise DatasetError(f"validation_fraction must be in (0, 1); got {validation_fraction!r}")
    cut = int(len(ids) * (1 - validation_fraction))
    return ids[:cut], ids[cut:]


def windows(ids: np.ndarray, context: int) -> tuple[np.ndarray, np.ndarray]:
    """Every window of ``context`` ids, ``x (m, context)``, and its next-character targets
    ``y`` (x shifted by one); read-only views, no copy."""
    _check_context(ids, context)
    view = np.lib.stride_tricks.sliding_window_view(ids, context)
    return view[:-1], view[1:]


def random_windows(ids: np.ndarray, context: int, batch_size: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``batch_size`` windows at random positions (uniform, with replacement, as nanoGPT's
    ``get_batch``): ``x (batch_size, context)`` and ``y``, x shifted by one."""
    _check_context(ids, context)
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy Generator (np.random.default_rng(seed)), so batches repeat")
    starts = rng.integers(0, len(ids) - context, size=batch_size)
    positions = starts[:, None] + np.arange(context)
    return ids[positions], ids[positions + 1]


def _check_context(ids: np.ndarray, context: int) -> None:
    if isinstance(context, bool) or not isinstance(context, (int, np.integer)) or context < 1:
        raise DatasetError(f"context must be a positive integer; got {context!r}")
    if len(ids) < context + 1:
        raise DatasetError(f"the text has {len(ids)} ids, too few for windows of {context} and their "
                           "targets; use a longer text or a shorter context")
