"""The ``pmip6`` subcommands, one module each; each exposes ``register(subparsers)``."""
