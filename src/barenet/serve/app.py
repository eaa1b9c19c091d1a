"""The web application: the page, the JSON API, and the limits every request is held to.

    GET  /                 the page (index.html, paint.js, png.js, app.js, style.css, from memory)
    GET  /api/model        architecture summary, input shape, class names, limits
    POST /api/predict      an image or 784 numbers -> classes, probabilities, the 28x28 input,
                           and a warning when its ink is unlike the training images'
    POST /api/explain      the same, plus every hidden layer's activations and the saliency map
    GET  /api/run          a run folder's learning curves and test confusion matrix
    GET  /api/run/cell?true=T&predicted=P   the test images in one cell of that matrix

A text model gets its own page and API instead of the digit page's (text_app.py).

Starlette on uvicorn: a small ASGI toolkit and server, no template engine, no ORM, nothing
to configure; the model is NumPy, so the server only routes requests and moves bytes.
The model work runs in Starlette's thread pool: prediction is stateless, so requests share
one loaded model. Every refusal is a 4xx JSON ``{"error": message, "status": code}``; the
body limit is checked from ``Content-Length`` before anything is read, and again while reading.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..runs.images import Digit
from .explain import explain, predict
from .inputs import ACCEPTED, MAX_BODY_BYTES, MAX_IMAGE_PIXELS, RequestError, digit_from_image, row_from_json
from .served import ServedModel
from .text_app import TEXT_ENDPOINTS, TEXT_STATIC_FILES, describe_text, text_routes

STATIC_FILES = {  # URL path: (file in static/, media type); nothing else on disk is ever served
    "/": ("index.html", "text/html"),
    "/paint.js": ("paint.js", "text/javascript"),
    "/png.js": ("png.js", "text/javascript"),
    "/app.js": ("app.js", "text/javascript"),
    "/style.css": ("style.css", "text/css"),
}
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:",  # nothing from elsewhere
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
IMAGE_TYPES = ("image/png", "image/jpeg", "image/jpg", "application/octet-stream")
ENDPOINTS = "GET /api/model, POST /api/predict, POST /api/explain, GET /api/run, GET /api/run/cell"


def create_app(served: ServedModel, max_body_bytes: int = MAX_BODY_BYTES) -> ASGIApp:
    """The ASGI application serving ``served``; bodies over ``max_body_bytes`` are refused (413).
    A text model gets the text page and its API; an image model the digit page and its API."""
    text = served.vocabulary is not None
    files = TEXT_STATIC_FILES if text else STATIC_FILES
    pages = {path: (read_static(name), kind) for path, (name, kind) in files.items()}

    async def page(request: Request) -> Response:
        content, kind = pages[request.url.path]
        return Response(content, media_type=kind, headers=PAGE_HEADERS)

    async def model_info(request: Request) -> JSONResponse:
        return JSONResponse(describe_model(served, max_body_bytes))

    async def predict_endpoint(request: Request) -> JSONResponse:
        row, digit = await read_row(request)
        return await run_in_threadpool(lambda: JSONResponse(predict(served, row, digit)))  # JSON off the loop

    async def explain_endpoint(request: Request) -> JSONResponse:
        row, digit = await read_row(request)
        return await run_in_threadpool(lambda: JSONResponse(explain(served, row, digit)))

    async def run_endpoint(request: Request) -> JSONResponse:
        return JSONResponse(describe_run(served))

    async def cell_endpoint(request: Request) -> JSONResponse:
        return JSONResponse(describe_cell(served, request.query_params))

    routes = [Route(path, page) for path in pages] + [Route("/api/model", model_info),
                                                      Route("/api/run", run_endpoint)]
    routes += text_routes(served) if text else [
        Route("/api/predict", predict_endpoint, methods=["POST"]),
        Route("/api/explain", explain_endpoint, methods=["POST"]),
        Route("/api/run/cell", cell_endpoint),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            RequestError: request_error, HTTPException: http_error, Exception: internal_error
        },
    )
    app.state.endpoints = TEXT_ENDPOINTS if text else ENDPOINTS  # named when a path is not found
    return BodyLimit(app, max_body_bytes)


def read_static(name: str) -> bytes:
    return (resources.files("barenet.serve") / "static" / name).read_bytes()


# ---- reading a request ------------------------------------------------------------------------


async def read_row(request: Request) -> tuple[np.ndarray, Digit | None]:
    """The 784 pixels a POST carries (an image body, a multipart upload, or JSON numbers), and
    for an image, the digit as read from it (its size and place in the image)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/json":
        return await run_in_threadpool(row_from_json, await request.body()), None
    if kind in IMAGE_TYPES:
        data = await request.body()
    elif kind == "multipart/form-data":
        data = await uploaded_file(request)
    else:
        raise RequestError(415, f"the Content-Type is {kind or 'missing'}; send {ACCEPTED}")
    digit = await run_in_threadpool(digit_from_image, data)
    return digit.image.reshape(-1), digit


async def uploaded_file(request: Request) -> bytes:
    """The bytes of the one file in a multipart form (any field name)."""
    try:
        async with request.form(max_files=1, max_fields=8) as form:
            files = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
            if len(files) != 1:
                raise RequestError(422, "the multipart form holds no file; attach one PNG or JPEG image")
            return await files[0].read()
    except HTTPException as error:  # python-multipart's refusal of a malformed form
        raise RequestError(400, f"the multipart form cannot be read: {error.detail}") from None


class BodyLimit:
    """ASGI middleware refusing request bodies over ``max_bytes``: at once from the
    ``Content-Length`` header, and while streaming (a chunked body states no length)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            if length.isdigit():
                response = error_response(413, self.too_large(length.decode("latin-1")))
            else:
                response = error_response(400, "the Content-Length header must be a whole number of bytes")
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise RequestError(413, self.too_large(f"more than {self.max_bytes:,}"))
            return message

        await self.app(scope, limited_receive, send)

    def too_large(self, size: str) -> str:
        return f"the request body is {size} bytes; the limit is {self.max_bytes:,} bytes"


# ---- what the endpoints answer ----------------------------------------------------------------


def describe_model(served: ServedModel, max_body_bytes: int) -> dict:
    model = served.model
    layers = [
        {"index": index, "type": type(layer).__name__, "description": repr(layer),
         "output_shape": list(shape), "parameters": sum(p.size for p in layer.parameters())}
        for index, (layer, shape) in enumerate(zip(model.layers, model.shapes))
    ]
    return {
        "source": served.source,
        "summary": model.summary(),
        "input_shape": list(model.input_shape),
        "output_shape": list(model.output_shape),
        "layers": layers,
        "parameters": sum(p.size for p in model.parameters()),
        "class_names": served.class_names,
        "run": served.run is not None,
        "limits": {"max_body_bytes": max_body_bytes, "max_image_pixels": MAX_IMAGE_PIXELS},
        "text": describe_text(served) if served.vocabulary is not None else None,
    }


def describe_run(served: ServedModel) -> dict:
    run = require_run(served)
    confusion = None
    if run.confusion is not None:
        cells = run.confusion
        confusion = {"matrix": cells.matrix.tolist(), "dataset": cells.dataset, "accuracy": cells.accuracy,
                     "test_samples": int(cells.matrix.sum()), "class_names": served.class_names}
    return {"folder": run.folder.name, "history": run.history, "confusion": confusion, "notes": run.notes}


def describe_cell(served: ServedModel, query) -> dict:
    run = require_run(served)
    if run.confusion is None:
        raise RequestError(404, "this run has no confusion matrix: " + "; ".join(run.notes))
    n_classes = len(served.class_names)
    true_class, predicted_class = (class_parameter(query, name, n_classes) for name in ("true", "predicted"))
    cells = run.confusion
    members = cells.cells[true_class, predicted_class]
    return {
        "true": true_class,
        "predicted": predicted_class,
        "count": int(cells.matrix[true_class, predicted_class]),
        "images": [
            {"index": int(i), "pixels": cells.images[i].tolist(),
             "probability": round(float(cells.probabilities[i]), 4)}
            for i in members
        ],
    }


def require_run(served: ServedModel):
    if served.run is None:
        raise RequestError(404, "the server was started with a model file, not a run folder: no run to show")
    return served.run


def class_parameter(query, name: str, n_classes: int) -> int:
    text = query.get(name)
    if text is None:
        raise RequestError(400, f"give the cell as ?true=T&predicted=P (class indices); {name} is missing")
    if not (text.isascii() and text.isdigit()) or int(text) >= n_classes:
        raise RequestError(422, f"{name} must be a class index from 0 to {n_classes - 1}; got {text!r}")
    return int(text)


# ---- errors as JSON ---------------------------------------------------------------------------


def error_response(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)


async def request_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestError)
    return error_response(error.status, str(error))


async def http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    where = f"{request.method} {request.url.path}"
    if error.status_code == 404:
        endpoints = request.app.state.endpoints
        message = f"nothing at {request.url.path}; the page is at / and the API is {endpoints}"
    elif error.status_code == 405:
        allowed = (error.headers or {}).get("Allow", "")
        message = f"{where} is not allowed; use {allowed}"
    else:
        message = f"{where}: {error.detail}"
    return error_response(error.status_code, message, headers=error.headers)


async def internal_error(request: Request, error: Exception) -> JSONResponse:
    """A bug in barenet, not in the request: say so (the traceback goes to the server log)."""
    return error_response(500, f"internal error ({type(error).__name__}: {error}); please report it")
