"""The shared core: facts every stage of the loop agrees on, each in one home.

Nothing here imports a stage (``data``, ``features``, ``training``, ...); every
stage may import from here.

- :mod:`churnlib._core.version` -- ``__version__``;
- :mod:`churnlib._core.cleaning` -- how raw table values are read (blanks,
  placeholders, yes/no words, number text);
- :mod:`churnlib._core.labels` -- the one churn-label decoder;
- :mod:`churnlib._core.contract` -- :class:`ModelContract`, what a trained
  model carries;
- :mod:`churnlib._core.model_facts` -- positive class, threshold and churn
  probability of a fitted model;
- :mod:`churnlib._core.tables` -- the one table reader and writer;
- :mod:`churnlib._core.atomic` -- the one atomic writer;
- :mod:`churnlib._core.timeouts` -- the time bound on a dead storage endpoint.
"""
