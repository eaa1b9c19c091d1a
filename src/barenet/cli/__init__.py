"""The ``barenet`` command: the argument parser, the dispatch to each subcommand, and the commands.

What a run is made of (configuration, the recipe, data, run folders, plots, images) lives in
:mod:`barenet.runs`, below this package. ``barenet serve`` and ``barenet sweep`` live in their
own packages, which declare their options (``add_arguments``) and run them (``run``); this
package registers them. Nothing in barenet imports this package: it is the top of the
dependency picture.
"""

from .main import main

__all__ = ["main"]
