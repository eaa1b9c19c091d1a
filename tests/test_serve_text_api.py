"""``barenet serve`` on a text model, through a real HTTP client against a real running server:
the text page, streamed generation, attention and next-character odds equal to the library's,
and every bad request refused with a 4xx that says why (never a 500)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from serve_helpers import LINES, assert_refused, load_served, random_classifier, running_server, tiny_gpt

import barenet
from barenet.datasets.text import CharVocabulary
from barenet.errors import BarenetError
from barenet.model.generation import attention_maps, generate

httpx = pytest.importorskip("httpx", reason="the API tests use httpx")

from barenet.serve.text_inputs import MAX_LENGTH, MAX_PROMPT_CHARACTERS  # noqa: E402

SMALL_LIMIT = 16 * 1024
CONTEXT = 32
VOCABULARY = CharVocabulary.from_text(LINES)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "gpt.npz"
    tiny_gpt(context=CONTEXT).save(path)
    return path


@pytest.fixture(scope="module")
def served(model_file):
    return load_served(model_file)


@pytest.fixture(scope="module")
def server(served):
    with running_server(served, max_body_bytes=SMALL_LIMIT) as url:
        with httpx.Client(base_url=url, timeout=60) as client:
            yield client



def post(client, path: str, value: object):
    return client.post(path, content=json.dumps(value), headers={"Content-Type": "application/json"})


# ---- the page and the model -----------------------------------------------------------------


def test_a_text_model_gets_the_text_page_and_says_what_it_knows(server):
    page = server.get("/")
    assert page.status_code == 200 and 'src="/text.js"' in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert server.get("/text.js").status_code == 200 and server.get("/text.css").status_code == 200
    assert_refused(server.get("/app.js"), 404, "POST /api/generate", "POST /api/attention")
    assert_refused(server.post("/api/predict", json=[0] * 784), 404, "POST /api/generate")
    info = server.get("/api/model").json()
    assert info["input_shape"] == [CONTEXT] and info["output_shape"] == [CONTEXT, VOCABULARY.size]
    assert info["text"] == {
        "vocabulary": VOCABULARY.characters, "context": CONTEXT, "attention_layers": 2, "heads": 2,
        "limits": {"max_prompt_characters": MAX_PROMPT_CHARACTERS, "max_length": MAX_LENGTH,
                   "max_temperature": 10.0, "max_top_k": VOCABULARY.size},
    }


def test_an_image_model_keeps_the_digit_page():
    served = load_served_classifier()
    with running_server(served) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert 'src="/app.js"' in client.get("/").text
        assert client.get("/api/model").json()["text"] is None
        assert_refused(post(client, "/api/generate", {"prompt": "7"}), 404, "POST /api/explain")


def load_served_classifier():
    from barenet.serve.served import ServedModel

    return ServedModel(random_classifier(), "mlp.npz", [str(digit) for digit in range(10)])


# ---- generation -----------------------------------------------------------------------------


def test_generation_streams_the_characters_the_library_samples(server, served):
    asked = {"prompt": "ROMEO:\nBut", "length": 120, "temperature": 0.7, "top_k": 5, "seed": 3}
    chunks = []
    with server.stream("POST", "/api/generate", json=asked) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        chunks.extend(response.iter_text())
    text = "".join(chunks)
    assert len(chunks) > 1  # streamed, not sent at the end
    expected = "".join(generate(served.model, served.vocabulary, "ROMEO:\nBut", 120, 0.7, 5, 3))
    assert text == expected and len(text) == 120
    assert post(server, "/api/generate", asked).text == text  # the same seed, the same text


def test_top_k_1_is_greedy_and_the_defaults_work(server, served):
    greedy = post(server, "/api/generate", {"prompt": "JULIET:\n", "length": 30, "top_k": 1}).text
    ids = list(served.vocabulary.encode("JULIET:\n"))
    for _ in range(30):
        ids.append(int(served.model.predict_proba(np.array([ids[-CONTEXT:]]))[0, -1].argmax()))
    assert greedy == served.vocabulary.decode(ids[8:])
    assert greedy.startswith("O Ro")  # as the training lines go on after JULIET: (60 steps)
    default = post(server, "/api/generate", {"prompt": "O"})
    assert default.status_code == 200 and len(default.text) == 200
    assert set(default.text) <= set(VOCABULARY.characters)
    unlimited = post(server, "/api/generate", {"prompt": "O", "length": 5, "top_k": None, "seed": None})
    assert unlimited.status_code == 200 and len(unlimited.text) == 5


# ---- attention ------------------------------------------------------------------------------


def test_attention_is_every_heads_weights_and_the_next_character_odds(server, served):
    text = "It is the east, and Juliet"
    answer = post(server, "/api/attention", {"text": text}).json()
    assert answer["tokens"] == list(text)
    weights = np.array(answer["layers"])
    t = len(text)
    assert weights.shape == (2, 2, t, t)
    np.testing.assert_allclose(weights.sum(axis=-1), 1, atol=2e-3)  # each row a distribution
    assert np.all(weights[..., np.triu_indices(t, 1)[0], np.triu_indices(t, 1)[1]] == 0)  # causal
    expected = np.stack(attention_maps(served.model, served.vocabulary.encode(text)))
    np.testing.assert_allclose(weights, expected, atol=5e-5)
    assert max(len(repr(value)) for value in weights.ravel().tolist()) <= 6  # 0.1234: no float32 digits
    probabilities = served.model.predict_proba(served.vocabulary.encode(text)[None])[0]
    assert len(answer["next"]) == t
    for position, odds in enumerate(answer["next"]):
        assert len(odds["characters"]) == 10 and odds["probabilities"] == sorted(odds["probabilities"])[::-1]
        best = served.vocabulary.characters[int(probabilities[position].argmax())]
        assert odds["characters"][0] == best
        assert odds["probabilities"][0] == pytest.approx(probabilities[position].max(), abs=1e-4)
    full = post(server, "/api/attention", {"text": LINES[:CONTEXT]}).json()  # the whole context
    assert np.array(full["layers"]).shape == (2, 2, CONTEXT, CONTEXT)


# ---- bad requests ---------------------------------------------------------------------------

OUTSIDE = "the prompt holds 3 character(s) outside the model's vocabulary: 'Q', 'Z', 'é'"
BAD_GENERATE = [
    ({"prompt": ""}, "the prompt is empty"),
    ({"prompt": 7}, "prompt must be a string of characters; got the single number 7"),
    ({"prompt": None}, "prompt must be a string of characters; got null"),
    ({"length": 5}, "prompt is missing"),
    ({"prompt": "ZQé Romeo"}, OUTSIDE),
    ({"prompt": "\ud800"}, "outside the model's vocabulary: '\\ud800'"),
    ({"prompt": "O" * (MAX_PROMPT_CHARACTERS + 1)}, f"the limit is {MAX_PROMPT_CHARACTERS:,}"),
    ({"prompt": "O", "length": 0}, f"length must be a whole number from 1 to {MAX_LENGTH:,}; got 0"),
    ({"prompt": "O", "length": MAX_LENGTH + 1}, f"from 1 to {MAX_LENGTH:,}; got {MAX_LENGTH + 1}"),
    ({"prompt": "O", "length": 2.5}, "length must be a whole number"),
    ({"prompt": "O", "length": "10"}, 'length must be a whole number from 1 to 2,000; got the text "10"'),
    ({"prompt": "O", "length": True}, "got true"),
    ({"prompt": "O", "temperature": 0}, "temperature must be a number above 0 and at most 10"),
    ({"prompt": "O", "temperature": -1}, "got -1"),
    ({"prompt": "O", "temperature": 11}, "got 11"),
    ({"prompt": "O", "temperature": "hot"}, 'got the text "hot"'),
    ({"prompt": "O", "temperature": None}, "got null"),
    ({"prompt": "O", "temperature": [1]}, "got a list"),
    ({"prompt": "O", "top_k": 0}, f"top_k must be a whole number from 1 to {VOCABULARY.size} (null: all"),
    ({"prompt": "O", "top_k": VOCABULARY.size + 1}, f"got {VOCABULARY.size + 1}"),
    ({"prompt": "O", "top_k": 2.5}, "got 2.5"),
    ({"prompt": "O", "top_k": "all"}, 'got the text "all"'),
    ({"prompt": "O", "seed": -1}, "seed must be a whole number from 0"),
    ({"prompt": "O", "seed": 1.5}, "(null: random); got 1.5"),
    ({"prompt": "O", "seed": {"a": 1}}, "got an object"),
    ({"prompt": "O", "temp": 1}, "unknown key(s) 'temp'; the keys are prompt, length, temperature, top_k"),
    ([1, 2], 'expected a JSON object such as {"prompt": "ROMEO:"}; got a list'),
    ("ROMEO", "expected a JSON object"),
]


@pytest.mark.parametrize(("body", "expected"), BAD_GENERATE)
def test_bad_generate_requests_are_refused_with_a_reason(server, body, expected):
    assert_refused(post(server, "/api/generate", body), 422, expected)


BAD_ATTENTION = [
    ({"text": ""}, "the text is empty"),
    ({"text": "O" * (CONTEXT + 1)}, f"is {CONTEXT + 1} characters; the limit is {CONTEXT} (the model's"),
    ({"text": "Romeo & Juliet"}, "outside the model's vocabulary: '&'"),
    ({"text": ["O"]}, "text must be a string of characters; got a list"),
    ({"prompt": "O"}, "unknown key(s) 'prompt'; the keys are text"),
    ({}, "text is missing"),
]


@pytest.mark.parametrize(("body", "expected"), BAD_ATTENTION)
def test_bad_attention_requests_are_refused_with_a_reason(server, body, expected):
    assert_refused(post(server, "/api/attention", body), 422, expected)


def test_bodies_that_are_not_utf8_json_or_too_large_are_refused(server):
    for path in ("/api/generate", "/api/attention"):
        json_header = {"Content-Type": "application/json"}
        assert_refused(server.post(path, content=b'{"prompt": "\xff\xfe"}', headers=json_header), 400,
                       "the body is not UTF-8 text (byte 0xff at position 12)")
        assert_refused(server.post(path, content=b'{"prompt": ', headers=json_header), 400,
                       "the body is not valid JSON")
        assert_refused(server.post(path, content=b"ROMEO", headers={"Content-Type": "text/plain"}), 415,
                       "the Content-Type is text/plain; send JSON (application/json)")
        assert_refused(server.post(path, content=b"{}"), 415, "the Content-Type is missing")
        big = json.dumps({"prompt": "O" * SMALL_LIMIT})
        assert_refused(server.post(path, content=big, headers=json_header), 413,
                       f"the limit is {SMALL_LIMIT:,} bytes")
        assert_refused(server.get(path), 405, f"GET {path} is not allowed; use POST")


# ---- loading --------------------------------------------------------------------------------


def test_a_run_folder_of_a_text_model_shows_its_curves(tmp_path, model_file):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "model.npz").write_bytes(model_file.read_bytes())
    (folder / "history.csv").write_text("epoch,loss,val_loss\n1,2.5,2.6\n2,1.9,2.1\n")
    served = load_served(folder)
    assert served.vocabulary == VOCABULARY and served.run.history["val_loss"] == [2.6, 2.1]
    assert served.run.confusion is None


def test_a_recurrent_text_model_has_no_attention_to_draw(tmp_path):
    model = barenet.char_rnn(VOCABULARY.size, 16, context=CONTEXT, rng=0)
    model.metadata["vocabulary"] = VOCABULARY.to_dict()
    model.save(tmp_path / "lstm.npz")
    with running_server(load_served(tmp_path / "lstm.npz")) as url, httpx.Client(base_url=url) as client:
        assert client.get("/api/model").json()["text"]["attention_layers"] == 0
        answer = post(client, "/api/attention", {"text": "Romeo"}).json()
        assert answer["layers"] == [] and len(answer["next"]) == 5
        assert len(post(client, "/api/generate", {"prompt": "O", "length": 7}).text) == 7


def test_a_text_model_without_its_vocabulary_is_refused_when_loading(tmp_path):
    barenet.gpt(VOCABULARY.size, context=8, layers=1, heads=1, width=8, rng=0).save(tmp_path / "bare.npz")
    with pytest.raises(BarenetError, match="holds no vocabulary: it is not a text model"):
        load_served(tmp_path / "bare.npz")
    model = barenet.gpt(VOCABULARY.size + 1, context=8, layers=1, heads=1, width=8, rng=0)
    model.metadata["vocabulary"] = VOCABULARY.to_dict()
    model.save(tmp_path / "mismatch.npz")
    with pytest.raises(BarenetError, match=f"the vocabulary has {VOCABULARY.size} characters but the model"):
        load_served(tmp_path / "mismatch.npz")
