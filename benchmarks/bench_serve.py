"""``barenet serve`` under load: N concurrent clients, a fixed number of requests, for an MLP
and a CNN model. Reports requests per second, p50 and p99 latency, errors (must be 0) and the
server's resident memory before and after the requests (it must not grow beyond noise).

The server is the real command (``python -m barenet serve MODEL --port 0``) in its own
process; the clients are threads, each with its own keep-alive HTTP connection, sending the
body the page sends: a 168x168 PNG drawing of a digit (or, with ``--body json``, the 784
numbers of an already prepared image). Models have random weights: the work per request does
not depend on what was learned.

    nice python3 benchmarks/bench_serve.py --body json           # 8 clients, 10,000 requests a run
    nice python3 benchmarks/bench_serve.py --requests 1000       # PNG drawings: with preprocessing
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from bench_image_preprocessing import drawing_png

import barenet
from barenet import layers
from barenet.serve.inputs import digit_from_image


def build_models(folder: Path) -> dict[str, Path]:
    """An MLP as ``barenet train`` builds by default, and a small CNN if barenet has Conv2D."""
    mlp = barenet.mlp([784, 256, 128, 10], preprocessing=[barenet.Rescale(1 / 255)], rng=0)
    models = {"mlp 784-256-128-10": mlp}
    if hasattr(layers, "Conv2D"):
        models["cnn conv16-conv32-dense128"] = barenet.Sequential(
            layers.Reshape((1, 28, 28)), layers.Rescale(1 / 255),
            layers.Conv2D(1, 16, 3, rng=0), layers.ReLU(), layers.MaxPool2D(2),
            layers.Conv2D(16, 32, 3, rng=1), layers.ReLU(), layers.MaxPool2D(2), layers.Flatten(),
            layers.Dense(32 * 5 * 5, 128, rng=2), layers.ReLU(), layers.Dense(128, 10, rng=3),
            layers.Softmax(),
        )
    else:
        print("barenet.layers has no Conv2D yet: the MLP only")
    paths = {}
    for index, (name, model) in enumerate(models.items()):
        paths[name] = model.save(folder / f"model{index}.npz")
    return paths


def start_server(model: Path) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "barenet", "serve", str(model), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    process.stdout.readline()  # loading ...
    line = process.stdout.readline()
    if " at http://" not in line:
        process.kill()
        raise RuntimeError(f"the server did not start: {line}{process.stderr.read()}")
    return process, line.split(" at ")[1].split()[0].rstrip("/")


def resident_mib(pid: int) -> float:
    """The process's resident set size (Linux /proc), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc")


def load(url: str, endpoint: str, body: bytes, kind: str, requests: int, clients: int) -> dict:
    """``requests`` POSTs shared among ``clients`` threads; latencies in ms, errors counted."""
    latencies, errors, lock = [], [], threading.Lock()
    counter = iter(range(requests))

    def client() -> None:
        with httpx.Client(base_url=url, timeout=60, headers={"content-type": kind}) as http:
            for _ in iter(lambda: next(counter, None), None):
                start = time.perf_counter()
                try:
                    response = http.post(endpoint, content=body)
                    ok = response.status_code == 200
                except httpx.HTTPError as error:
                    ok, response = False, error
                elapsed = 1000 * (time.perf_counter() - start)
                with lock:
                    latencies.append(elapsed)
                    if not ok:
                        errors.append(str(response))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds, "per_second": requests / seconds, "p50": float(np.percentile(latencies, 50)),
        "p99": float(np.percentile(latencies, 99)), "errors": len(errors), "first_error": errors[:1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=10_000, help="per model and endpoint")
    parser.add_argument("--endpoint", choices=("explain", "predict", "both"), default="both")
    parser.add_argument("--body", choices=("png", "json"), default="png")
    parser.add_argument("--model", choices=("mlp", "cnn", "both"), default="both")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the requests on the same server, "
                        "printing the memory after each round (does it level off?)")
    args = parser.parse_args()
    body, kind = drawing_png(168), "image/png"  # as the page sends it
    if args.body == "json":  # the same drawing, prepared the MNIST way: the server skips the preprocessing
        row = digit_from_image(body).image.reshape(-1)
        body, kind = json.dumps(row.tolist()).encode(), "application/json"
    endpoints = ["explain", "predict"] if args.endpoint == "both" else [args.endpoint]
    print(f"{args.clients} clients, {args.requests:,} requests per run, {args.body} bodies of "
          f"{len(body):,} bytes; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"{'model':28} {'endpoint':9} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
          f"{'RSS before':>10} {'after':>7} MiB")
    with tempfile.TemporaryDirectory() as folder:
        for name, path in build_models(Path(folder)).items():
            if args.model != "both" and not name.startswith(args.model):
                continue
            for endpoint in endpoints:
                process, url = start_server(path)
                try:
                    load(url, f"/api/{endpoint}", body, kind, 200, args.clients)  # warm up
                    before = resident_mib(process.pid)
                    for _ in range(args.rounds):
                        result = load(url, f"/api/{endpoint}", body, kind, args.requests, args.clients)
                        after = resident_mib(process.pid)
                        print(f"{name:28} {endpoint:9} {result['per_second']:7.0f} {result['p50']:7.1f} "
                              f"{result['p99']:7.1f} {result['errors']:6d} {before:10.1f} {after:7.1f}",
                              flush=True)
                        if result["errors"]:
                            print(f"  first error: {result['first_error'][0]}")
                finally:
                    process.terminate()
                    process.wait(timeout=30)


if __name__ == "__main__":
    main()
