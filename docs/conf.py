"""Sphinx configuration for the churnlib documentation.

Built by ``nox -s docs`` with warnings as errors (``-W --keep-going -n``). No
extension fetches anything from the network: CI has no general internet, so
there is no intersphinx, and references to other projects' objects are
listed in ``nitpick_ignore_regex`` instead of being resolved.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import churnlib

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")


def _copy_walkthroughs() -> None:
    """Copy ``notebooks/*.ipynb`` into ``docs/walkthroughs/`` (gitignored).

    The notebooks live next to the code so JupyterLab users find them; the
    site renders copies, refreshed on every build so they never go stale.
    """
    target = HERE / "walkthroughs"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir()
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        shutil.copy2(notebook, target / notebook.name)


def _write_cli_help() -> None:
    """Write ``--help`` of every command to ``api/generated/cli/`` (gitignored).

    The whole ``api/generated`` folder is rebuilt each time, so API pages of
    names that left an ``__all__`` do not linger.
    """
    from churnlib.cli import _help_texts

    os.environ["COLUMNS"] = "88"  # argparse wraps to the terminal width
    shutil.rmtree(HERE / "api" / "generated", ignore_errors=True)
    target = HERE / "api" / "generated" / "cli"
    target.mkdir(parents=True, exist_ok=True)
    for name, text in _help_texts().items():
        (target / (name.replace(" ", "-") + ".txt")).write_text(text)


_copy_walkthroughs()
_write_cli_help()

# -- Project -----------------------------------------------------------------
project = "churnlib"
author = "churnlib developers"
copyright = "churnlib developers"
release = churnlib.__version__
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_nb",
    "sphinx_copybutton",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
templates_path = ["_templates"]
root_doc = "index"
nitpicky = True
# Objects of other projects: without intersphinx (no network in CI) these
# cannot be resolved, so they are accepted by name.
nitpick_ignore_regex = [
    (
        r"py:.*",
        r"(pd|pandas|np|numpy|scipy|sklearn|fsspec|mlflow|matplotlib|plt|dask|"
        r"distributed|pyarrow|skops|seaborn|os|pathlib|datetime|collections|"
        r"typing|numbers|collections\.abc)\..*",
    ),
    (
        r"py:class",
        r"(array-like|ndarray|DataFrame|Series|Figure|Axes|Pipeline|Path|"
        r"PathLike|Mapping|Iterable|Iterator|Sequence|Callable|Any|Self|"
        r"optional|default.*|callable|scalar|dtype|estimator.*|"
        r"str|int|float|bool|dict|list|tuple|bytes|None|object|"
        r"sparse matrix.*|of .*|shape.*|\{.*|.*\}|'.*'|\".*\")",
    ),
    # private base classes shown by :show-inheritance:
    (r"py:class", r"churnlib(\.\w+)*\._\w+"),
    # standard-library modules (no intersphinx)
    (r"py:mod", r"(?!churnlib\b).*"),
    # scikit-learn's generated set_fit_request / set_score_request docstrings
    # (estimators whose fit takes treatment= or sample_weight=) point into
    # scikit-learn's own user guide and glossary
    (r"std:label", r"metadata_routing"),
    (r"std:term", r"meta-estimator"),
]
suppress_warnings = ["myst.header"]

# -- autodoc / autosummary / numpydoc ---------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autosummary_ignore_module_all = False  # document exactly each __all__
autodoc_typehints = "none"  # numpydoc documents the types
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- MyST / myst-nb ----------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath", "fieldlist"]
myst_heading_anchors = 3
nb_execution_mode = "cache"
nb_execution_raise_on_error = True
nb_execution_timeout = 300
nb_execution_in_temp = True
nb_execution_show_tb = True
nb_merge_streams = True

# -- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"churnlib {release}"
html_static_path: list[str] = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars: dict[str, list[str]] = {"index": []}
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True


# numpydoc turns "name : type" into reST, where a word ending in "_" (as in
# "ndarray of shape (n_features_in_,)") would be read as a hyperlink target.
_TYPE_LINE = re.compile(r"^(\s*\*\*.+?\*\* : )(.*)$")
_TRAILING_UNDERSCORE = re.compile(r"(?<![`\\])\b([A-Za-z]\w*?)_(?=[\s,)\]]|$)")


def _escape_type_underscores(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        match = _TYPE_LINE.match(line)
        if match:
            head, spec = match.groups()
            lines[i] = head + _TRAILING_UNDERSCORE.sub(r"\1\\_", spec)


_SUBPACKAGES = (
    "data",
    "features",
    "training",
    "evaluation",
    "deployment",
    "monitoring",
    "scoring",
    "exceptions",
)


def _resolve_short_names(app, env, node, contnode):
    """Resolve ``ChurnTrainer`` / ``churnlib.ChurnTrainer`` to the documented name.

    Docstrings name public objects the way users import them: unqualified
    inside their subpackage, or from the lazy ``churnlib`` face. The API pages
    document each object once, under its subpackage.
    """
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    if target.startswith("churnlib.") and target.count(".") >= 1:
        head = target.split(".")[1]
        module = churnlib._LAZY.get(head)
        candidates = [f"{module}.{target.split('.', 1)[1]}"] if module else []
    elif not target.startswith("churnlib"):
        candidates = [f"churnlib.{sub}.{target}" for sub in _SUBPACKAGES]
    else:
        return None
    if node["reftype"] in ("attr", "meth") and "." in target:
        # an attribute documented in its class's docstring: link to the class
        parent = target.rsplit(".", 1)[0]
        candidates += [f"churnlib.{sub}.{parent}" for sub in _SUBPACKAGES]
    domain = env.domains["py"]
    for candidate in candidates:
        for reftype in (node["reftype"], "obj"):
            resolved = domain.resolve_xref(
                env, node["refdoc"], app.builder, reftype, candidate, node, contnode
            )
            if resolved is not None:
                return resolved
    return None


def _skip_metadata_requests(app, what, name, obj, skip, options):
    # scikit-learn generates set_fit_request / set_score_request on estimators
    # whose fit takes extra arguments; their docstrings point into
    # scikit-learn's own user guide, which these docs do not hold.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_requests)
    # after numpydoc (priority 500) has rewritten the docstring
    app.connect("autodoc-process-docstring", _escape_type_underscores, priority=600)
    app.connect("missing-reference", _resolve_short_names)
