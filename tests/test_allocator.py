"""Keeping freed memory changes how fast a step runs, never what it computes."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

TRAIN = """
import sys
import numpy as np
import barenet
if sys.argv[1] == "keep":
    assert barenet.reuse_freed_memory()
model = barenet.gpt(11, context=8, layers=1, heads=2, width=16, rng=0)
x = np.random.default_rng(1).integers(0, 11, (64, 8))
model.fit(x, np.roll(x, -1, axis=1), epochs=2, batch_size=8, optimizer="adamw", seed=0, verbose=0)
sys.stdout.write(model.flat.values.tobytes().hex())
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="mallopt is glibc's; elsewhere reuse_freed_memory does nothing")
def test_training_with_freed_memory_kept_gives_bit_identical_weights():
    weights = [
        subprocess.run([sys.executable, "-c", TRAIN, mode], capture_output=True, text=True, check=True).stdout
        for mode in ("keep", "default")
    ]
    assert weights[0] and weights[0] == weights[1]
