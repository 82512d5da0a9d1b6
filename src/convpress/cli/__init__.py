"""The ``convpress`` command: a thin layer that parses arguments, calls the API and exits.

Each sub-command lives in its own module of this package with a ``register(subparsers)``
function; :data:`COMMAND_MODULES` lists them in the order ``--help`` shows them. Every
:class:`~convpress.errors.ConvpressError` becomes ``convpress: error: ...`` on stderr and exit 2;
Ctrl-C exits 130 without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from convpress.errors import ConvpressError

COMMAND_MODULES = (
    "convpress.cli.codec_commands",
    "convpress.cli.info_command",
    "convpress.cli.train_command",
    "convpress.cli.overfit_prior_command",
    "convpress.cli.export_command",
    "convpress.cli.eval_command",
    "convpress.cli.compare_command",
    "convpress.cli.serve_command",
    "convpress.cli.restore_commands",
)

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every sub-command registered."""
    from convpress import __version__

    parser = argparse.ArgumentParser(
        prog="convpress",
        description="Image compression with CNNs, classical codec baselines, evaluation and restoration.",
    )
    parser.add_argument("--version", action="version", version=f"convpress {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except ConvpressError as exc:
        print(f"convpress: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except ValueError as exc:  # argument values that passed argparse but not the API's checks
        print(f"convpress: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("convpress: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
