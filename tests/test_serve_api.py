"""``barenet serve``'s JSON API, through a real HTTP client against a real running server:
every endpoint, every bad request (a 4xx with a message, never a 500), the body limit,
concurrent requests, and the command. (The saliency against finite differences: test_serve_explain.)"""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from helpers import barenet as run_barenet
from helpers import cli_environment, draw_shape
from PIL import Image
from serve_helpers import (
    assert_refused,
    digit_images,
    load_served,
    random_classifier,
    random_cnn,
    running_server,
    write_run_folder,
)

import barenet

httpx = pytest.importorskip("httpx", reason="the API tests use httpx")

from barenet.runs.images import mnist_style  # noqa: E402
from barenet.serve.explain import gradient_times_input  # noqa: E402

SMALL_LIMIT = 64 * 1024  # the body limit of the test server, so that refusing is cheap to test


def png_bytes(pixels: np.ndarray, format: str = "PNG") -> bytes:
    """A grayscale image file's bytes (PNG, or any format Pillow writes)."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(pixels, dtype=np.uint8)).save(buffer, format=format)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    return write_run_folder(tmp_path_factory.mktemp("serve") / "run", random_classifier())


@pytest.fixture(scope="module")
def server(run_folder):
    with running_server(load_served(run_folder), max_body_bytes=SMALL_LIMIT) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client


@pytest.fixture(scope="module")
def model_file_server(run_folder):
    with running_server(load_served(run_folder / "model.npz")) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client



# ---- the endpoints --------------------------------------------------------------------------


def test_model_endpoint_describes_the_architecture(server):
    info = server.get("/api/model").json()
    assert info["input_shape"] == [784] and info["output_shape"] == [10]
    assert info["class_names"] == [str(digit) for digit in range(10)]
    assert [layer["type"] for layer in info["layers"]] == [
        "Rescale", "Dense", "ReLU", "Dense", "ReLU", "Dense", "Softmax"
    ]
    assert info["parameters"] == 784 * 32 + 32 + 32 * 16 + 16 + 16 * 10 + 10
    assert "Dense(in_features=784, out_features=32)" in info["summary"]
    assert info["run"] is True and info["limits"]["max_body_bytes"] == SMALL_LIMIT


def test_page_and_its_files_are_served_with_no_outside_sources(server):
    page = server.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text
    files = (("/app.js", "text/javascript"), ("/paint.js", "text/javascript"), ("/png.js", "text/javascript"),
             ("/style.css", "text/css"))
    for path, kind in files:
        response = server.get(path)
        assert response.status_code == 200 and response.headers["content-type"].startswith(kind)
        assert "http://" not in response.text and "https://" not in response.text


def test_predict_an_image_body_uses_the_mnist_recipe(server, run_folder):
    drawing = draw_shape("one", size=200, dark_on_light=True, width=14)
    answer = server.post("/api/predict", content=png_bytes(drawing), headers={"content-type": PNG}).json()
    expected_image = mnist_style(drawing.astype(np.float32))
    assert np.allclose(answer["image"], expected_image, atol=0.01)
    model = load_served(run_folder).model
    probabilities = model.predict_proba(expected_image.reshape(1, -1))[0]
    assert np.allclose(answer["probabilities"], probabilities, atol=1e-5)
    assert answer["predicted"]["index"] == int(np.argmax(probabilities))
    assert answer["predicted"]["label"] == str(answer["predicted"]["index"])
    assert answer["class_names"] == [str(digit) for digit in range(10)]


def test_predict_accepts_jpeg_multipart_and_json_alike(server):
    x, _ = digit_images(1, seed=3)
    image = x[0].reshape(28, 28)
    as_json = server.post("/api/predict", json=x[0].tolist()).json()
    assert np.array_equal(np.asarray(as_json["image"]).reshape(-1), x[0])  # taken as already prepared
    nested = server.post("/api/predict", json={"pixels": image.tolist()}).json()
    assert nested["probabilities"] == as_json["probabilities"]
    upload = png_bytes(255 - image)
    multipart = server.post("/api/predict", files={"file": ("digit.png", upload, "image/png")}).json()
    body = server.post("/api/predict", content=upload, headers={"content-type": "image/png"}).json()
    assert multipart == body
    jpeg = server.post("/api/predict", content=png_bytes(255 - image, format="JPEG"),
                       headers={"content-type": "image/jpeg"})
    assert jpeg.status_code == 200 and sum(jpeg.json()["probabilities"]) == pytest.approx(1, abs=1e-4)


def test_a_transparent_drawing_is_read_as_ink_on_paper(server):
    ink = draw_shape("ring", size=120)
    rgba = np.zeros((120, 120, 4), dtype=np.uint8)
    rgba[..., 3] = ink  # black ink, transparent elsewhere
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    answer = server.post("/api/predict", content=buffer.getvalue(), headers={"content-type": "image/png"})
    assert answer.status_code == 200
    assert np.allclose(answer.json()["image"], mnist_style(ink.astype(np.float32)), atol=1.0)


def test_explain_returns_every_hidden_layer_and_the_saliency(server, run_folder):
    x, _ = digit_images(1, seed=5)
    answer = server.post("/api/explain", json=x[0].tolist()).json()
    assert [(layer["index"], layer["type"], layer["shape"]) for layer in answer["layers"]] == [
        (2, "ReLU", [32]), (4, "ReLU", [16])
    ]
    assert answer["layers"][0]["grid"] == [4, 8] and len(answer["layers"][0]["values"]) == 32
    model = load_served(run_folder).model
    hidden = x[:1].astype(np.float32)
    for layer in model.layers[:3]:
        hidden = layer.forward(hidden)
    assert np.allclose(answer["layers"][0]["values"], hidden[0], rtol=1e-3, atol=1e-3 * hidden.max())
    top = answer["predicted"]["index"]
    assert answer["saliency"]["class"] == top and "gradient × input" in answer["saliency"]["method"]
    expected = gradient_times_input(model, x[:1].astype(np.float32), top).reshape(28, 28)
    assert np.allclose(answer["saliency"]["values"], expected, atol=1e-3 * np.abs(expected).max())
    assert answer["saliency"]["max_abs"] == pytest.approx(np.abs(expected).max(), rel=1e-5)


def test_a_convolutional_network_shows_its_feature_maps(tmp_path):
    model = random_cnn()
    model.save(tmp_path / "cnn.npz")
    x, _ = digit_images(1, seed=4)
    with running_server(load_served(tmp_path / "cnn.npz")) as url:
        assert httpx.get(f"{url}/api/model").json()["layers"][2]["output_shape"] == [8, 26, 26]
        answer = httpx.post(f"{url}/api/explain", json=x[0].tolist()).json()
    layers = answer["layers"]
    assert [(layer["index"], layer["kind"], layer["shape"], layer["channels"]) for layer in layers] == [
        (3, "maps", [8, 26, 26], 8), (6, "maps", [12, 11, 11], 12)
    ]
    assert np.asarray(layers[0]["maps"]).shape == (8, 26, 26)
    assert np.asarray(layers[1]["maps"]).shape == (8, 11, 11)  # the first 8 of 12 channels
    hidden = x[:1].astype(np.float32)
    for layer in model.layers[:4]:
        hidden = layer.forward(hidden)
    assert np.allclose(layers[0]["maps"], hidden[0], atol=1e-3 * hidden.max())
    assert np.asarray(answer["saliency"]["values"]).shape == (28, 28)


def test_run_endpoints_show_curves_matrix_and_cells(server, run_folder):
    run = server.get("/api/run").json()
    assert run["history"]["val_accuracy"] == [0.55, 0.66, 0.72] and run["notes"] == []
    matrix = np.asarray(run["confusion"]["matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == run["confusion"]["test_samples"] == 300
    true_class, predicted_class = np.unravel_index(np.argmax(matrix), matrix.shape)
    cell = server.get("/api/run/cell", params={"true": true_class, "predicted": predicted_class}).json()
    assert cell["count"] == matrix[true_class, predicted_class]
    assert len(cell["images"]) == min(cell["count"], 60)
    probabilities = [image["probability"] for image in cell["images"]]
    assert probabilities == sorted(probabilities, reverse=True)  # the surest first
    x, y = digit_images(300)
    model = load_served(run_folder).model
    for image in cell["images"][:5]:
        assert image["pixels"] == x[image["index"]].tolist() and y[image["index"]] == true_class
        assert model.predict(x[image["index"]][None])[0] == predicted_class


def test_a_run_without_its_data_says_so(tmp_path):
    folder = write_run_folder(tmp_path / "run", random_classifier(), with_data=False)
    served = load_served(folder)
    assert served.run.confusion is None and served.run.history is not None
    assert any("confusion matrix left out" in note for note in served.run.notes)
    with running_server(served) as url:
        assert_refused(httpx.get(f"{url}/api/run/cell?true=0&predicted=0"), 404, "no confusion matrix")
        assert httpx.get(f"{url}/api/run").json()["confusion"] is None


def test_a_model_file_has_no_run(model_file_server):
    assert model_file_server.get("/api/model").json()["run"] is False
    assert_refused(model_file_server.get("/api/run"), 404, "model file, not a run folder")


# ---- bad requests ---------------------------------------------------------------------------

JSON, PNG = "application/json", "image/png"


def image_file(name: str) -> bytes:
    """Bodies that are images, but not ones the server takes."""
    if name == "gif":
        buffer = io.BytesIO()
        Image.fromarray(draw_shape("one")).save(buffer, format="GIF")
        return buffer.getvalue()
    if name == "blank":
        return png_bytes(np.full((280, 280), 255))
    if name == "huge":  # 5000x5000 pixels in a few KB: refused from the header, never decoded
        return png_bytes(np.zeros((5000, 5000)))
    assert name == "truncated"
    return png_bytes(draw_shape("one"))[:60]


BAD_BODIES = [  # (name, content type, body, status, what the message says)
    ("json wrong size", JSON, [1, 2, 3], 422, "expected 784 numbers"),
    ("json 27x28", JSON, [[0] * 28] * 27, 422, "got 27 lists of 28 numbers"),
    ("json ragged", JSON, [[0] * 28] * 27 + [[0] * 3], 422, "different lengths"),
    ("json strings", JSON, ["a"] * 784, 422, "must all be numbers"),
    ("json nulls", JSON, [None] * 784, 422, "must all be numbers"),
    ("json out of range", JSON, [300] * 784, 422, "from 0 (black) to 255"),
    ("json NaN", JSON, b"[" + b",".join([b"NaN"] * 784) + b"]", 422, "finite"),
    ("json blank", JSON, [0] * 784, 422, "blank"),
    ("json not a list", JSON, 7, 422, "got the single number 7"),
    ("json wrong key", JSON, {"image": []}, 422, "'pixels'"),
    ("not json", JSON, b"{nope", 400, "not valid JSON"),
    ("deep json", JSON, b"[" * 50000, 400, "not valid JSON"),
    ("not an image", PNG, b"hello", 400, "not a readable PNG"),
    ("truncated png", PNG, "truncated", 400, "not a readable PNG"),
    ("empty body", PNG, b"", 400, "empty"),
    ("gif", PNG, "gif", 415, "GIF"),
    ("empty canvas", PNG, "blank", 422, "canvas is empty"),
    ("huge image", PNG, "huge", 413, "5000x5000"),
    ("csv", "text/csv", b"1,2,3", 415, "text/csv"),
]
BAD_FORMS = [  # (name, multipart files, status, what the message says)
    ("form without file", {"image": (None, "not a file")}, 422, "no file"),
    ("two files", [("a", ("a.png", b"x", PNG)), ("b", ("b.png", b"y", PNG))], 400, "multipart"),
]


@pytest.mark.parametrize("endpoint", ["/api/predict", "/api/explain"])
@pytest.mark.parametrize("name, kind, body, status, expected", BAD_BODIES, ids=[row[0] for row in BAD_BODIES])
def test_bad_bodies_get_a_4xx_with_a_message(server, endpoint, name, kind, body, status, expected):
    if isinstance(body, str):
        body = image_file(body)
    elif not isinstance(body, bytes):
        body = json.dumps(body).encode()
    response = server.post(endpoint, content=body, headers={"content-type": kind})
    assert_refused(response, status, expected)


@pytest.mark.parametrize("endpoint", ["/api/predict", "/api/explain"])
@pytest.mark.parametrize("name, files, status, expected", BAD_FORMS, ids=[row[0] for row in BAD_FORMS])
def test_bad_forms_get_a_4xx_with_a_message(server, endpoint, name, files, status, expected):
    assert_refused(server.post(endpoint, files=files), status, expected)


def raw_request(client, head: str, body: bytes = b"") -> tuple[int, str]:
    """Send a request over a plain socket, exactly as written (``head``: the request line and
    headers); returns the status and the error message of the JSON answer."""
    host, port = client.base_url.host, client.base_url.port
    with socket.create_connection((host, port), timeout=30) as connection:
        connection.sendall(f"{head}\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode() + body)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    status_line, rest = answer.split(b"\r\n", 1)
    return int(status_line.split()[1]), json.loads(rest.split(b"\r\n\r\n", 1)[1])["error"]


def test_a_request_without_content_type_is_refused(server):
    status, message = raw_request(server, "POST /api/predict HTTP/1.1\r\nContent-Length: 3", b"[1]")
    assert status == 415 and "Content-Type is missing" in message


@pytest.mark.parametrize("query, status, expected", [
    ("", 400, "true is missing"), ("true=1", 400, "predicted is missing"), ("true=x&predicted=1", 422, "'x'"),
    ("true=1&predicted=10", 422, "from 0 to 9"), ("true=-1&predicted=1", 422, "'-1'"),
])
def test_bad_cell_queries(server, query, status, expected):
    assert_refused(server.get(f"/api/run/cell?{query}"), status, expected)


def test_unknown_paths_and_methods(server):
    assert_refused(server.get("/api/nothing"), 404, "POST /api/predict")
    assert_refused(server.get("/../../etc/passwd"), 404)
    assert_refused(server.get("/api/predict"), 405, "use POST")
    assert_refused(server.put("/api/model"), 405, "GET")


def test_oversized_bodies_are_refused_before_reading(server):
    # Content-Length says too much: the answer comes at once, though no body byte was sent
    status, message = raw_request(server, "POST /api/predict HTTP/1.1\r\nContent-Type: image/png\r\n"
                                          "Content-Length: 1000000000")
    assert status == 413 and "1000000000 bytes; the limit is 65,536" in message
    # no length stated: the stream is cut at the limit
    chunk = b"x" * 16384
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(6)) + b"0\r\n\r\n"
    status, message = raw_request(server, "POST /api/explain HTTP/1.1\r\nContent-Type: image/png\r\n"
                                          "Transfer-Encoding: chunked", chunked)
    assert status == 413 and "more than 65,536 bytes" in message
    upload = server.post("/api/predict", files={"file": ("big.png", b"\0" * (SMALL_LIMIT + 1), "image/png")})
    assert_refused(upload, 413, "the limit is 65,536 bytes")


def test_concurrent_requests_from_one_model(server):
    x, _ = digit_images(40, seed=9)
    expected = [server.post("/api/predict", json=row.tolist()).json()["probabilities"] for row in x]
    with ThreadPoolExecutor(max_workers=8) as pool:
        def ask(i: int):
            return server.post("/api/explain" if i % 2 else "/api/predict", json=x[i % 40].tolist())

        answers = list(pool.map(ask, range(160)))
    assert all(answer.status_code == 200 for answer in answers)
    assert [answer.json()["probabilities"] for answer in answers] == [expected[i % 40] for i in range(160)]


# ---- the command ----------------------------------------------------------------------------


def test_serve_refuses_models_it_cannot_draw_for(tmp_path):
    barenet.mlp([2, 8, 3], rng=0).save(tmp_path / "spirals.npz")
    result = run_barenet("serve", tmp_path / "spirals.npz", cwd=tmp_path)
    assert result.returncode == 1 and "needs a model of 28x28 images" in result.stderr
    result = run_barenet("serve", tmp_path / "missing", cwd=tmp_path)
    assert result.returncode == 1 and "no model file or run folder" in result.stderr
    (tmp_path / "empty").mkdir()
    result = run_barenet("serve", tmp_path / "empty", cwd=tmp_path)
    assert result.returncode == 1 and "without model.npz" in result.stderr


def test_serve_command_prints_the_address_and_stops_on_ctrl_c(run_folder, tmp_path):
    import signal

    process = subprocess.Popen(
        [sys.executable, "-m", "barenet", "serve", str(run_folder), "--port", "0"],
        cwd=tmp_path, env=cli_environment(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().startswith(f"loading {run_folder}")
        line = process.stdout.readline()
        assert line.startswith("serving ") and "http://127.0.0.1:" in line, line + process.stderr.read()
        url = line.split(" at ")[1].split()[0]
        assert httpx.get(f"{url}api/model", timeout=30).json()["class_names"][0] == "0"
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0 and "stopped" in stdout and "Traceback" not in stderr, stderr


def test_barenet_runs_without_the_serve_extra(tmp_path, run_folder):
    """`import barenet` imports no web framework; with starlette and uvicorn made unimportable,
    `barenet --help` works and `barenet serve` says which extra to install."""
    environment = cli_environment(tmp_path)

    def python(code: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=60
        )

    imported = python("import sys, barenet, barenet.cli.main, barenet.serve.command; "
                      "print(sorted({name.split('.')[0] for name in sys.modules} & {'starlette', "
                      "'uvicorn'}))")
    assert imported.stdout.strip() == "[]", imported.stderr
    blocked = "import sys; sys.modules['starlette'] = sys.modules['uvicorn'] = None; "
    blocked += "from barenet.cli.main import main; "
    result = python(blocked + f"sys.exit(main(['serve', {str(run_folder)!r}]))")
    assert result.returncode == 1 and "pip install 'barenet[serve]'" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    result = python(blocked + "main(['--help'])")
    assert result.returncode == 0 and "serve" in result.stdout, result.stderr
