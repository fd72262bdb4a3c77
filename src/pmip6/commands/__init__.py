"""The ``pmip6`` subcommands, one module each; each exposes ``register(subparsers)``."""


def plain_help(docstring: str | None) -> str:
    """A module docstring as ``--help`` prose: reStructuredText literals (````x````) shown as plain ``x``."""
    return (docstring or "").replace("``", "")
