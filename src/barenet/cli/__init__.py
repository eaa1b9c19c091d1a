"""The ``barenet`` command: the argument parser, the dispatch to each subcommand, and the commands.

What a run is made of (configuration, data, run folders, plots, images) lives in
:mod:`barenet.runs`, which the server and the sweeps use too. The library never imports this
package; it stands on top of everything else.
"""

from .main import main

__all__ = ["main"]
