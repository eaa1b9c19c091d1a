"""Download a file over HTTP(S), trying mirrors in turn, with a progress bar and a checksum.

The file is streamed into a temporary file beside its destination, its MD5 computed on the
way, and only renamed into place once the checksum matches; a mismatch deletes it.
"""

import hashlib
import http.client
import os
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from tqdm import tqdm

from barenet.datasets.errors import ChecksumError, DownloadError

CHUNK_SIZE = 1 << 20


def _download_once(url: str, destination: Path, md5: str | None, timeout: float) -> None:
    handle, temporary_name = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
    )
    temporary = Path(temporary_name)
    try:
        digest = hashlib.md5(usedforsecurity=False)
        with (
            os.fdopen(handle, "wb") as output,
            urllib.request.urlopen(url, timeout=timeout) as response,
        ):
            size = response.headers.get("Content-Length")
            with tqdm(
                total=int(size) if size else None,
                unit="B",
                unit_scale=True,
                desc=destination.name,
                leave=False,
            ) as progress:
                while chunk := response.read(CHUNK_SIZE):
                    output.write(chunk)
                    digest.update(chunk)
                    progress.update(len(chunk))
        if md5 is not None and digest.hexdigest() != md5:
            raise ChecksumError(
                f"checksum mismatch: MD5 {digest.hexdigest()}, expected {md5}; "
                "the downloaded file was deleted"
            )
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)


def download_file(
    urls: Sequence[str], destination: str | Path, md5: str | None = None, timeout: float = 30.0
) -> Path:
    """Download `destination` from the first of `urls` that works, and check its MD5.

    A failing mirror (HTTP error, no network, checksum mismatch) is reported and the next one
    tried. Raises `DownloadError` listing every failure if none works. Returns the path.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in urls:
        try:
            _download_once(url, destination, md5, timeout)
            return destination
        except (OSError, http.client.HTTPException, ChecksumError) as error:
            failures.append(f"  {url}: {error}")
    raise DownloadError(f"could not download {destination.name}:\n" + "\n".join(failures))
