"""``pmip6`` (the console script) and ``python -m pmip6``: SIGHUP is noted from here on (:mod:`pmip6.sighup`), before
the command line interface and everything it imports are loaded (about 0.3 s), then :func:`pmip6.cli.main` runs."""

import sys

from pmip6.sighup import note_sighups


def main() -> int:
    note_sighups()
    from pmip6.cli import main as cli_main  # imported once SIGHUP is noted

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
