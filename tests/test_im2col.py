"""im2col and col2im: the column layout, the adjoint identity, and the padding rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from barenet.errors import BarenetError
from barenet.layers.im2col import col2im, im2col, im2col_loops, output_size, resolve_padding

GEOMETRIES = [
    ((3, 3), (1, 1), ((0, 0), (0, 0))),
    ((3, 2), (2, 1), ((1, 1), (0, 0))),
    ((2, 3), (1, 2), ((0, 1), (1, 0))),
    ((1, 1), (2, 2), ((0, 0), (0, 0))),
    ((4, 4), (3, 3), ((2, 2), (1, 1))),
]


@pytest.mark.parametrize("kernel, stride, padding", GEOMETRIES)
def test_im2col_matches_the_definition(kernel, stride, padding):
    x = np.random.default_rng(0).normal(size=(3, 2, 7, 6))
    expected = im2col_loops(x, kernel, stride, padding)
    np.testing.assert_array_equal(im2col(x, kernel, stride, padding), expected)


@pytest.mark.parametrize("kernel, stride, padding", GEOMETRIES)
def test_col2im_is_the_adjoint_of_im2col(kernel, stride, padding):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 8, 5))
    columns = im2col(x, kernel, stride, padding)
    c = rng.normal(size=columns.shape)
    back = col2im(c, x.shape, kernel, stride, padding)
    assert back.shape == x.shape
    # ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩
    assert np.vdot(columns, c) == pytest.approx(np.vdot(x, back), rel=1e-12)


def test_col2im_counts_how_often_each_pixel_is_seen():
    """col2im of all ones: each pixel gets the number of windows that cover it."""
    x = np.zeros((1, 1, 4, 4))
    columns = im2col(x, (3, 3), (1, 1), ((0, 0), (0, 0)))
    counts = col2im(np.ones_like(columns), x.shape, (3, 3))[0, 0]
    np.testing.assert_array_equal(counts, [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    n=st.integers(1, 3), channels=st.integers(1, 3), height=st.integers(1, 9), width=st.integers(1, 9),
    kh=st.integers(1, 4), kw=st.integers(1, 4), sh=st.integers(1, 3), sw=st.integers(1, 3),
    ph=st.integers(0, 2), pw=st.integers(0, 2),
)
def test_adjoint_and_definition_over_shapes(n, channels, height, width, kh, kw, sh, sw, ph, pw):
    padding = ((ph, ph), (pw, pw))
    if output_size(height, kh, sh, padding[0]) < 1 or output_size(width, kw, sw, padding[1]) < 1:
        return
    rng = np.random.default_rng(n * 1000 + height * 10 + width)
    x = rng.normal(size=(n, channels, height, width))
    columns = im2col(x, (kh, kw), (sh, sw), padding)
    np.testing.assert_array_equal(columns, im2col_loops(x, (kh, kw), (sh, sw), padding))
    c = rng.normal(size=columns.shape)
    assert np.vdot(columns, c) == pytest.approx(np.vdot(x, col2im(c, x.shape, (kh, kw), (sh, sw), padding)))


def test_same_padding_keeps_the_size_and_puts_the_extra_row_last():
    assert resolve_padding("same", (3, 3), (1, 1)) == ((1, 1), (1, 1))
    assert resolve_padding("same", (2, 4), (1, 1)) == ((0, 1), (1, 2))
    assert resolve_padding("valid", (5, 5), (2, 2)) == ((0, 0), (0, 0))
    assert resolve_padding((1, 2), (3, 3), (1, 1)) == ((1, 1), (2, 2))


def test_bad_geometry_is_refused_with_a_clear_message():
    with pytest.raises(BarenetError, match="stride 1"):
        resolve_padding("same", (3, 3), (2, 2))
    with pytest.raises(BarenetError, match="'same' or 'valid'"):
        resolve_padding("full", (3, 3), (1, 1))
    with pytest.raises(BarenetError, match=r"padding must be an integer >= 0 or a pair"):
        resolve_padding(-1, (3, 3), (1, 1))
