"""The ``churnlib`` command line (also ``python -m churnlib``).

``churnlib demo`` runs the whole loop on generated customers; the other
commands are batch jobs for real use, one per stage of the loop::

    churnlib demo      [--workdir DIR] [--store URL] [--tracking-uri URI]
    churnlib generate  --output URL [--n-customers N]
    churnlib train     --data URL --target COL [--drop COL] [--allow-leakage]
                       [--store URL --alias NAME]
    churnlib evaluate  --model STORE@REF --data URL [--output HTML]
    churnlib publish   --model-uri URI --store URL [--alias NAME]
    churnlib versions  --store URL
    churnlib promote   --store URL VERSION ALIAS
    churnlib rollback  --store URL ALIAS
    churnlib score     --model STORE@REF --input URL --output URL [--engine dask]
    churnlib monitor log     --monitor URL --reference URL --model STORE@REF
                             (--predictions URL | --outcomes URL)
    churnlib monitor report  --monitor URL --reference URL --model STORE@REF
                             [--output HTML] [--webhook URL]
    churnlib dashboard ...   (the ``dashboard`` extra)
    churnlib serve ...       (the ``serve`` extra)

Exit status: 0 on success, 1 when the job fails (one line on stderr naming what
failed and how to fix it; ``--debug`` adds the traceback), 2 on a usage error.

The package is split by what changes together: :mod:`~churnlib.cli._parser`
(every option), :mod:`~churnlib.cli._batch` (the batch jobs),
:mod:`~churnlib.cli._monitor` (``monitor log|report``), :mod:`~churnlib.cli._demo`,
:mod:`~churnlib.cli._common` (errors, argument values, progress and tables) and
:mod:`~churnlib.cli._main` (the entry point). Importing it imports nothing
heavy: each command imports the layers it uses.
"""

from __future__ import annotations

from churnlib.cli._main import main
from churnlib.cli._parser import help_texts as _help_texts  # noqa: F401 - the docs build

__all__ = ["main"]
