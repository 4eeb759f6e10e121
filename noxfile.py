"""Sessions: lint, tests, docs, demo, bench, bench_peers.

The README's two commands call ``nox -s demo`` and ``nox -s lint tests docs``;
``.ci/run`` calls the second one verbatim.
"""

from __future__ import annotations

import nox

nox.needs_version = ">=2024.4.15"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = False
nox.options.sessions = ["lint", "tests", "docs"]

PROJECT = nox.project.load_toml("pyproject.toml")


def _install(session: nox.Session, extras: str, *groups: str) -> None:
    session.install("-e", f".[{extras}]")
    for group in groups:
        session.install(*nox.project.dependency_groups(PROJECT, group))


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check, with the ruff release the project pins."""
    session.install(*nox.project.dependency_groups(PROJECT, "lint"))
    session.run("ruff", "check", ".", *session.posargs)
    session.run("ruff", "format", "--check", ".")


@nox.session
def tests(session: nox.Session) -> None:
    """The whole suite: mypy --strict, unit, integration (real servers), doctests,
    notebooks."""
    _install(session, "all", "test")
    env = {"MLFLOW_DISABLE_TELEMETRY": "true", "PYTHONHASHSEED": "0"}
    if session.posargs:
        session.run("pytest", *session.posargs, env=env)
        return
    # Type-check here, where every optional dependency is installed, so the
    # result does not depend on which extras happen to be present.
    session.run("mypy")
    session.run("pytest", "-p", "no:cacheprovider", env=env)
    session.run(
        "pytest",
        "-p",
        "no:cacheprovider",
        "--nbmake",
        "--nbmake-timeout=300",
        "notebooks",
        env=env,
    )


@nox.session
def docs(session: nox.Session) -> None:
    """Build the Sphinx site with warnings as errors."""
    _install(session, "all", "docs")
    session.run(
        "sphinx-build",
        "-W",
        "--keep-going",
        "-n",
        "-b",
        "html",
        "docs",
        "docs/_build/html",
        *session.posargs,
        env={"MLFLOW_DISABLE_TELEMETRY": "true"},
    )


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: ``churnlib demo`` on embedded defaults."""
    _install(session, "mlflow,plot")
    session.run(
        "churnlib", "demo", *session.posargs, env={"MLFLOW_DISABLE_TELEMETRY": "true"}
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks, each reported as a ratio to its raw baseline in the same run."""
    _install(session, "all")
    # psutil for memory figures; moto_server for bench_deployment's S3 side
    session.install("psutil", "moto[server]")
    session.run(
        "python",
        "benchmarks/run.py",
        *session.posargs,
        env={"MLFLOW_DISABLE_TELEMETRY": "true"},
    )


@nox.session
@nox.parametrize("peer", ["evidently", "nannyml"])
def bench_peers(session: nox.Session, peer: str) -> None:
    """DriftDetector vs Evidently / NannyML, each peer in its own venv."""
    # Both peers import pandas internals that pandas 3 removed; NannyML's
    # plotting imports statsmodels without declaring it.
    pins = {
        "evidently": ["evidently==0.7.23", "pandas<3"],
        "nannyml": ["nannyml==0.13.1", "statsmodels", "pandas<3"],
    }[peer]
    session.install("-e", ".", *pins)
    env = {"NML_DISABLE_USAGE_LOGGING": "1", "DO_NOT_TRACK": "1"}  # no telemetry
    bench = ["python", "benchmarks/bench_peers.py", "--peer", peer]
    session.run(*bench, *session.posargs, env=env)
    if peer == "nannyml":  # quality side by side with NannyML's defaults
        quality = ["python", "benchmarks/quality_monitoring.py"]
        session.run(*quality, *session.posargs, env=env)
