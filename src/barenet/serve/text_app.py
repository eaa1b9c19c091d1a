"""The page and the API of a text model (a language model over characters, such as the GPT):

    GET  /                 the text page (text.html, text.js, style.css, text.css)
    POST /api/generate     {prompt, length, temperature, top_k, seed} -> the generated characters,
                           streamed one at a time as they are sampled (text/plain, UTF-8)
    POST /api/attention    {text} -> the text's characters, every attention head's weights
                           (layers x heads, each t x t), and the top next characters at each position

Generation streams: the response starts once the request is checked (a bad one is a 4xx JSON
refusal, as every refusal), then each character goes out as soon as the model has drawn it;
Starlette runs the sampling loop in its thread pool, one character at a time.
"""

from __future__ import annotations

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from ..model.generation import attention_maps, context_length, generate
from .inputs import RequestError
from .served import ServedModel
from .text_inputs import MAX_LENGTH, MAX_PROMPT_CHARACTERS, MAX_TEMPERATURE, attention_text, generate_request

TEXT_STATIC_FILES = {  # URL path: (file in static/, media type)
    "/": ("text.html", "text/html"),
    "/text.js": ("text.js", "text/javascript"),
    "/style.css": ("style.css", "text/css"),
    "/text.css": ("text.css", "text/css"),
}
TEXT_ENDPOINTS = "GET /api/model, POST /api/generate, POST /api/attention, GET /api/run"
TOP_NEXT = 10  # next characters listed per position
DIGITS = 4  # decimals of the probabilities and attention weights sent


def text_routes(served: ServedModel) -> list[Route]:
    """The routes a text model adds: generation and attention."""
    model, vocabulary, context = served.model, served.vocabulary, context_length(served.model)
    assert vocabulary is not None

    async def generate_endpoint(request: Request) -> StreamingResponse:
        require_json(request)
        asked = await run_in_threadpool(generate_request, await request.body(), vocabulary)
        characters = generate(model, vocabulary, asked.prompt, asked.length, asked.temperature, asked.top_k,
                              asked.seed)
        return StreamingResponse(characters, media_type="text/plain; charset=utf-8",
                                 headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})

    async def attention_endpoint(request: Request) -> JSONResponse:
        require_json(request)
        text = await run_in_threadpool(attention_text, await request.body(), vocabulary, context)
        return await run_in_threadpool(lambda: JSONResponse(describe_attention(served, text)))

    return [
        Route("/api/generate", generate_endpoint, methods=["POST"]),
        Route("/api/attention", attention_endpoint, methods=["POST"]),
    ]


def require_json(request: Request) -> None:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise RequestError(415, f"the Content-Type is {kind or 'missing'}; send JSON (application/json)")


def describe_text(served: ServedModel) -> dict:
    """What the text page needs to know of the model: its characters, context and limits."""
    assert served.vocabulary is not None
    maps = attention_maps(served.model, served.vocabulary.encode(served.vocabulary.characters[:1]))
    return {
        "vocabulary": served.vocabulary.characters,
        "context": context_length(served.model),
        "attention_layers": len(maps),
        "heads": len(maps[0]) if maps else 0,
        "limits": {"max_prompt_characters": MAX_PROMPT_CHARACTERS, "max_length": MAX_LENGTH,
                   "max_temperature": MAX_TEMPERATURE, "max_top_k": served.vocabulary.size},
    }


def describe_attention(served: ServedModel, text: str) -> dict:
    """Every head's attention over ``text`` and, at each position, the likeliest next characters."""
    assert served.vocabulary is not None
    ids = served.vocabulary.encode(text)
    maps = attention_maps(served.model, ids)
    probabilities = served.model.predict_proba(ids[None])[0].astype(np.float64)  # (t, vocabulary)
    best = np.argsort(-probabilities, axis=1, kind="stable")[:, :TOP_NEXT]
    characters = served.vocabulary.characters
    return {
        "tokens": list(text),
        "layers": [np.round(layer.astype(np.float64), DIGITS).tolist() for layer in maps],  # short numbers
        "next": [
            {"characters": [characters[i] for i in row],
             "probabilities": np.round(probabilities[position, row], DIGITS).tolist()}
            for position, row in enumerate(best.tolist())
        ],
    }
