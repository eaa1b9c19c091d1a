"""Sphinx configuration of barenet's documentation site.

Build it with ``python3 -m sphinx -W -b html docs docs/_build/html`` (warnings are errors).
The learner's pages are MyST Markdown notebooks: myst-nb executes every code cell when the
site is built (a failing cell fails the build) and caches the results, so a rebuild only
runs the pages that changed.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src"
sys.path[:0] = [str(SOURCE), str(Path(__file__).parent)]  # autodoc documents the checkout being built ...
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE), os.environ.get("PYTHONPATH")]))
os.environ.pop("MPLBACKEND", None)  # ... the executed pages import it too, and draw inline

import barenet  # noqa: E402

project = "barenet"
author = "the barenet authors"
copyright = "barenet authors, MIT licence"
release = version = barenet.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax shipped with the site: no CDN, works offline
    "sphinx_copybutton",
    "sphinxarg.ext",
]

exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints"]
source_suffix = {".md": "myst-nb", ".rst": "restructuredtext"}

# MyST: $...$ and $$...$$ math, ::: fences, anchors for ## headings (links such as page.md#anchor)
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# myst-nb: run every page's cells when it changed, keep the results, fail on any error
nb_execution_mode = "cache"
nb_execution_cache_path = str(Path(__file__).parent / "_build" / ".jupyter_cache")
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_execution_timeout = 600
nb_execution_in_temp = True  # files a page writes go to a temporary folder
nb_merge_streams = True
nb_output_stderr = "remove"  # e.g. tqdm.auto's "IProgress not found" in a kernel without ipywidgets

# autodoc + napoleon: Google-style docstrings (Args:, Returns:, Shape:)
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_mock_imports = ["sklearn", "starlette", "uvicorn", "multipart", "optuna", "threadpoolctl"]
autodoc_typehints = "description"
autodoc_typehints_format = "short"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_custom_sections = ["Shape"]
suppress_warnings = ["myst.header"]

html_theme = "furo"
html_title = f"barenet {version}"
html_static_path = ["_static"]
html_css_files = ["barenet.css"]
html_theme_options = {"source_repository": "", "top_of_page_buttons": []}
html_show_sourcelink = False
html_copy_source = False
copybutton_prompt_text = r"\$ "
copybutton_prompt_is_regexp = True


def escape_bars(app, what, name, obj, options, lines) -> None:
    """Docstrings write absolute values as |x|, which reStructuredText reads as a substitution."""
    for number, line in enumerate(lines):
        parts = re.split(r"(``.*?``)", line)  # odd parts are ``literals``: left as they are
        escaped = (part if index % 2 else part.replace("|", "\\|") for index, part in enumerate(parts))
        lines[number] = "".join(escaped)


def setup(app) -> None:
    app.connect("autodoc-process-docstring", escape_bars)
