"""The ``triage`` command line: each sub-command lives in its own module with a ``register`` function."""

from __future__ import annotations

import argparse


def tcp_port(text: str) -> int:
    """An argparse ``type``: a TCP port (1-65535), else a usage error (exit code 2) that says so."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1-65535)")
    return port
