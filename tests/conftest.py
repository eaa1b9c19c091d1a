"""pytest's configuration of the tests. The helpers the tests share are in ``helpers.py``.

The names below are the helpers ``test_cli.py`` still imports from here; once it imports them
from ``helpers``, this re-export goes.
"""

from helpers import (  # noqa: F401
    DATA_DIR,
    assert_clean_error,
    assert_png,
    assert_same_arrays,
    barenet,
    cli_environment,
    draw_shape,
    mnist_present,
    printed_test_line,
    save_png,
    shapes_dataset,
)
