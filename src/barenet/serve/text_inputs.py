"""The JSON bodies of a text model's requests, checked, with a clear 4xx for anything else.

    POST /api/generate   {"prompt": "ROMEO:", "length": 200, "temperature": 0.8, "top_k": 40, "seed": 0}
    POST /api/attention  {"text": "ROMEO:"}

Only ``prompt`` and ``text`` are required. Messages speak of JSON values (null, a string),
name the characters outside the vocabulary, and state every limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..datasets.text import CharVocabulary
from ..model.generation import DEFAULT_TEMPERATURE, DEFAULT_TOP_K
from .inputs import RequestError, is_number, json_kind

MAX_PROMPT_CHARACTERS = 2000  # the model reads only its last `context` characters of it anyway
MAX_LENGTH = 2000  # characters generated per request
DEFAULT_LENGTH = 200
MAX_TEMPERATURE = 10.0
MAX_SEED = 2**63 - 1
SHOWN_UNKNOWN = 10  # characters outside the vocabulary named in a refusal
GENERATE_KEYS = ("prompt", "length", "temperature", "top_k", "seed")


@dataclass(frozen=True)
class GenerateRequest:
    prompt: str
    length: int
    temperature: float
    top_k: int | None  # None: sample among all characters
    seed: int | None  # None: fresh randomness


def generate_request(data: bytes, vocabulary: CharVocabulary) -> GenerateRequest:
    """``POST /api/generate``'s body, checked against the limits and the vocabulary."""
    body = json_object(data, GENERATE_KEYS, required="prompt")
    prompt = text_field(body, "prompt", vocabulary, MAX_PROMPT_CHARACTERS)
    length = whole_number(body, "length", DEFAULT_LENGTH, 1, MAX_LENGTH)
    temperature = body.get("temperature", DEFAULT_TEMPERATURE)
    if not is_number(temperature) or not 0 < temperature <= MAX_TEMPERATURE:
        raise RequestError(422, f"temperature must be a number above 0 and at most {MAX_TEMPERATURE:g} "
                                f"(1: the model's own odds, lower: safer text); got {shown(temperature)}")
    default_top_k = min(DEFAULT_TOP_K, vocabulary.size)
    top_k = None if body.get("top_k", default_top_k) is None else \
        whole_number(body, "top_k", default_top_k, 1, vocabulary.size, "null: all characters")
    seed = None if body.get("seed") is None else whole_number(body, "seed", 0, 0, MAX_SEED, "null: random")
    return GenerateRequest(prompt, length, float(temperature), top_k, seed)


def attention_text(data: bytes, vocabulary: CharVocabulary, context: int) -> str:
    """``POST /api/attention``'s text: 1 to ``context`` characters of the vocabulary."""
    body = json_object(data, ("text",), required="text")
    return text_field(body, "text", vocabulary, context, " (the model's context: the longest text it reads)")


def json_object(data: bytes, keys: tuple[str, ...], required: str) -> dict:
    """The body as a JSON object of only ``keys``, holding ``required``."""
    example = '{"' + required + '": "ROMEO:"}'
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RequestError(400, f"the body is not UTF-8 text (byte 0x{data[error.start]:02x} at position "
                                f"{error.start}); send JSON such as {example}") from None
    try:
        body = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise RequestError(400, f"the body is not valid JSON ({error}); send JSON such as {example}") \
            from None
    if not isinstance(body, dict):
        raise RequestError(422, f"expected a JSON object such as {example}; got {json_kind(body)}")
    unknown = sorted(set(body) - set(keys))
    if unknown:
        raise RequestError(422, f"unknown key(s) {', '.join(map(repr, unknown))}; the keys are "
                                f"{', '.join(keys)}")
    if required not in body:
        raise RequestError(422, f"{required} is missing; send JSON such as {example}")
    return body


def text_field(body: dict, name: str, vocabulary: CharVocabulary, limit: int, why: str = "") -> str:
    value = body[name]
    if not isinstance(value, str):
        raise RequestError(422, f"{name} must be a string of characters; got {json_kind(value)}")
    if not value:
        raise RequestError(422, f"the {name} is empty; give at least one character the model knows")
    if len(value) > limit:
        raise RequestError(422, f"the {name} is {len(value):,} characters; the limit is {limit:,}{why}")
    unknown = sorted(set(value) - set(vocabulary.characters))
    if unknown:
        named = ", ".join(repr(character) for character in unknown[:SHOWN_UNKNOWN])
        more = f" and {len(unknown) - SHOWN_UNKNOWN} more" if len(unknown) > SHOWN_UNKNOWN else ""
        raise RequestError(422, f"the {name} holds {len(unknown)} character(s) outside the model's "
                                f"vocabulary: {named}{more}; use only characters it was trained on")
    return value


def whole_number(body: dict, name: str, default: int, low: int, high: int, other: str = "") -> int:
    value = body.get(name, default)
    integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if not is_number(value) or not integral or not low <= value <= high:
        allowed = f"a whole number from {low:,} to {high:,}" + (f" ({other})" if other else "")
        raise RequestError(422, f"{name} must be {allowed}; got {shown(value)}")
    return int(value)


def shown(value: object) -> str:
    """A JSON value as a refusal quotes it: numbers as they are, anything else in words."""
    return repr(value) if is_number(value) else json_kind(value)
