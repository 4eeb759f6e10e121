"""``python -m churnlib``: the same command line as the ``churnlib`` script."""

from churnlib.cli import main

if __name__ == "__main__":  # pragma: no cover - exercised through subprocesses
    raise SystemExit(main())
