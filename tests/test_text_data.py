"""Character-level text: vocabulary, ids, the positional split, windows and random batches."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from helpers import DATA_DIR

from barenet.datasets import (
    CharVocabulary,
    DatasetError,
    DatasetNotFoundError,
    load_text,
    load_tinyshakespeare,
    random_windows,
    split_text,
    windows,
)

# The shared data folder beside the project, or where BARENET_DATA_DIR points (a worktree elsewhere).
SHARED = next((folder for folder in (DATA_DIR, Path(os.environ.get("BARENET_DATA_DIR", DATA_DIR)))
               if (folder / "tinyshakespeare" / "input.txt").is_file()), DATA_DIR)


def test_a_text_becomes_ids_of_its_sorted_characters_and_back(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_text("to be, or not to be\n", encoding="utf-8")
    text = load_text(path)
    assert text.vocabulary.characters == "\n ,benort"
    assert text.ids.dtype == np.int64 and len(text.ids) == 20
    assert text.vocabulary.decode(text.ids) == "to be, or not to be\n"


def test_the_vocabulary_survives_json_as_model_metadata():
    vocabulary = CharVocabulary.from_text("héllo wörld ✓")
    again = CharVocabulary.from_dict(json.loads(json.dumps(vocabulary.to_dict())))
    assert again == vocabulary
    np.testing.assert_array_equal(again.encode("wörld"), vocabulary.encode("wörld"))


@pytest.mark.parametrize("data", [
    None, [], {"kind": "words"}, {"kind": "characters", "characters": "aa"},
    {"kind": "characters", "characters": ""}, {"kind": "characters", "characters": 3},
])
def test_a_damaged_vocabulary_is_refused(data):
    with pytest.raises(DatasetError):
        CharVocabulary.from_dict(data)


def test_characters_outside_the_vocabulary_are_named():
    with pytest.raises(DatasetError, match="2 character\\(s\\) outside the vocabulary: '!', 'z'"):
        CharVocabulary("abc").encode("abz!")


@pytest.mark.parametrize("content, message", [
    (b"", "holds 0 character"),
    (b"a", "holds 1 character"),
    (b"caf\xe9 latin-1", "not UTF-8 text: byte 3 \\(0xe9\\)"),
])
def test_bad_text_files_are_refused_with_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=message):
        load_text(path)


def test_a_missing_text_file_is_not_found(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="no such text file"):
        load_text(tmp_path / "absent.txt")


def test_the_split_is_by_position_with_the_last_tenth_for_validation():
    ids = np.arange(1000)
    train, validation = split_text(ids)
    np.testing.assert_array_equal(train, np.arange(900))
    np.testing.assert_array_equal(validation, np.arange(900, 1000))
    with pytest.raises(DatasetError, match="validation_fraction"):
        split_text(ids, 1.0)


def test_windows_pair_each_context_with_the_next_characters():
    x, y = windows(np.arange(10), context=4)
    assert x.shape == y.shape == (6, 4)
    np.testing.assert_array_equal(x[2], [2, 3, 4, 5])
    np.testing.assert_array_equal(y[2], [3, 4, 5, 6])
    with pytest.raises(DatasetError, match="too few"):
        windows(np.arange(4), context=4)


def test_random_batches_repeat_with_the_seed_and_stay_inside_the_text():
    ids = np.arange(100)
    first = random_windows(ids, 8, 16, np.random.default_rng(3))
    second = random_windows(ids, 8, 16, np.random.default_rng(3))
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    x, y = first
    assert x.shape == y.shape == (16, 8)
    np.testing.assert_array_equal(y, x + 1)  # the ids are positions here: targets are the next ones
    assert y.max() < 100
    with pytest.raises(TypeError, match="Generator"):
        random_windows(ids, 8, 16, rng=3)


def test_tiny_shakespeare_is_found_through_the_data_folder_variable(monkeypatch, tmp_path):
    if not (SHARED / "tinyshakespeare" / "input.txt").is_file():
        pytest.skip("tiny Shakespeare is not in the shared data folder")
    monkeypatch.setenv("BARENET_DATA_DIR", str(SHARED))
    text = load_tinyshakespeare()
    assert len(text.ids) == 1_115_394 and text.vocabulary.size == 65
    assert text.vocabulary.decode(text.ids[:14]) == "First Citizen:"
    train, validation = split_text(text.ids)
    assert (len(train), len(validation)) == (1_003_854, 111_540)


def test_tiny_shakespeare_missing_says_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.setenv("BARENET_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(DatasetNotFoundError, match="tinyshakespeare.*BARENET_DATA_DIR") as caught:
        load_tinyshakespeare()
    assert os.fspath(tmp_path) in str(caught.value)
