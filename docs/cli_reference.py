"""The parser the command-line reference is generated from: ``barenet``'s own, with the notes
at the end of a subcommand's ``--help`` left for the page to print as text (sphinx-argparse
would read them as reStructuredText, which they are not)."""

from __future__ import annotations

import argparse

from barenet.cli.main import build_parser


def parser_without_epilogs() -> argparse.ArgumentParser:
    """``barenet.cli.main.build_parser()``, every subcommand's epilog removed."""
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in action.choices.values():
                subparser.epilog = None
    return parser
