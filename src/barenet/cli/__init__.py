"""The ``barenet`` command: its options, run folders, configuration files, plots and images.

The library never imports this package; it stands on top of everything else.
"""

from .main import main

__all__ = ["main"]
