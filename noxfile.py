"""Sessions: lint, tests, docs, demo, bench, bench_smoke, bench_peers, resolve,
clean_env.

The README's two commands call ``nox -s demo`` and ``nox -s lint tests docs``;
``.ci/run`` calls ``nox -s resolve clean_env`` (a fresh resolve of every extra
plus the test group, and the demo in a venv made by uv, which puts no pip in
it, and, where nox itself uses uv, by virtualenv), then the second README
command verbatim, then ``nox -s bench_smoke`` (every benchmark at smoke size,
so none can rot, with the interpreter of the tests session).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nox
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

nox.needs_version = ">=2024.4.15"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = False
nox.options.sessions = ["lint", "tests", "docs"]

PROJECT = nox.project.load_toml("pyproject.toml")


def _install(
    session: nox.Session, extras: str, *groups: str, also: tuple[str, ...] = ()
) -> None:
    if session.venv_backend == "uv":
        # uv builds virtualenvs without pip; MLflow then warns "Failed to
        # resolve installed pip version" on every logged model (and pins no
        # pip). Make the environment the one a pip user has.
        session.install("pip")
    session.install("-e", f".[{extras}]", *also)  # one resolve
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
    """The whole suite: mypy --strict, unit, integration (real servers), doctests.

    The walkthrough notebooks are executed once, by the ``docs`` session (myst-nb,
    an error in any cell fails the build), which the README's test command runs
    next: executing them here too cost CI another ~80 s for the same check.
    """
    # ``all`` holds them too; named so that no change to ``all`` drops the
    # dashboard (Streamlit), serve (FastAPI) or Excel tests silently.
    _install(session, "all,dashboard,serve,excel", "test")
    env = {"MLFLOW_DISABLE_TELEMETRY": "true", "PYTHONHASHSEED": "0"}
    if session.posargs:
        session.run("pytest", *session.posargs, env=env)
        return
    # Type-check here, where every optional dependency is installed, so the
    # result does not depend on which extras happen to be present.
    session.run("mypy")
    session.run("pytest", "-p", "no:cacheprovider", env=env)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the Sphinx site with warnings as errors, executing every notebook."""
    _install(session, "all", "docs")
    session.run(
        "sphinx-build",
        "-W",
        "--keep-going",
        "-n",
        # every notebook executed on every build, never served from a cache
        # of an earlier build: this is where the notebooks are tested
        "-D",
        "nb_execution_mode=force",
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
    """Benchmarks, each reported as a ratio to its raw baseline in the same run.

    ``-- --quick`` is the smoke tier CI runs: every script at tiny sizes, one
    round, targets not judged (``benchmarks/run.py``).
    """
    # The extras the scripts use (not notebooks, azure, gcs, excel: a smaller
    # install, which CI pays on every run). moto_server: bench_deployment's S3
    # side; selenium: bench_dashboard's browser side (with Debian's chromium);
    # scikit-uplift: bench_uplift's side-by-side peer (no venv of its own).
    also = ["moto[server]", "selenium>=4.20", "scikit-uplift"]
    if session.venv_backend != "uv":  # uv does not byte-compile by default
        # pip byte-compiles every file it installs: a quarter of this install's
        # CPU time (6.3 -> 4.8 min measured); Python compiles what is imported
        also.append("--no-compile")
    _install(session, "mlflow,plot,s3,dask,dashboard,serve", also=tuple(also))
    session.run(
        "python",
        "benchmarks/run.py",
        *session.posargs,
        env={"MLFLOW_DISABLE_TELEMETRY": "true"},
    )


@nox.session(venv_backend="none")
def bench_smoke(session: nox.Session) -> None:
    """The benchmarks' smoke tier in the environment ``nox -s tests`` built.

    What CI runs after the suite: ``benchmarks/run.py --quick`` (every script
    at tiny sizes, one round, targets not judged) with the tests session's
    interpreter, which already has every extra, so CI does not pay a second
    install of them (minutes on 2 cores). It adds the one package only a
    benchmark uses, scikit-uplift (bench_uplift's peer). ``nox -s bench --
    --quick`` runs the same tier in an environment of its own.
    """
    bindir = "Scripts" if sys.platform == "win32" else "bin"
    python = Path(".nox", "tests", bindir, "python")
    if not python.exists():
        session.error(
            f"bench_smoke runs with the tests session's interpreter ({python}), "
            "which does not exist: run `nox -s tests` first."
        )
    session.run(
        str(python), "-m", "pip", "install", "--quiet", "scikit-uplift", external=True
    )
    session.run(
        str(python),
        "benchmarks/run.py",
        "--quick",
        *session.posargs,
        env={"MLFLOW_DISABLE_TELEMETRY": "true"},
        external=True,
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


@nox.session(venv_backend="virtualenv", default=False)
def resolve(session: nox.Session) -> None:
    """Resolve ``.[all]`` plus the test group afresh (it holds the newest boto3).

    Every extra's requirement must have a floor and resolve at or above it:
    without floors, a resolver next to a recent boto3 backtracked to s3fs 0.4.
    uv resolves (seconds; pip's backtracker needs half an hour on this set).
    """
    session.install("uv")
    tmp = Path(session.create_tmp()).resolve()
    group = tmp / "test-group.in"
    group.write_text("\n".join(nox.project.dependency_groups(PROJECT, "test")))
    resolved_txt = tmp / "resolved.txt"
    compile_ = ["uv", "pip", "compile", "pyproject.toml", str(group), "--extra"]
    compile_ += ["all", "--python-version", "3.11", "--no-header", "--quiet"]
    session.run(*compile_, "--output-file", str(resolved_txt))
    resolved = {}
    for line in resolved_txt.read_text().splitlines():
        name, sep, version = line.strip().partition("==")
        if sep and not line.startswith(("#", " ")):
            resolved[canonicalize_name(name.split("[")[0])] = version.strip()
    problems, lines = [], []
    extras = PROJECT["project"]["optional-dependencies"]
    for extra, requirements in sorted(extras.items()):
        for text in requirements:
            req = Requirement(text)
            name = canonicalize_name(req.name)
            if name == "churnlib":
                continue
            if not any(s.operator in (">=", "~=", "==", ">") for s in req.specifier):
                problems.append(f"extra {extra!r}: {text!r} has no floor")
            version = resolved.get(name)
            if version is None:
                problems.append(f"extra {extra!r}: {req.name} was not resolved")
            elif not req.specifier.contains(version, prereleases=True):
                problems.append(f"extra {extra!r}: {req.name} {version} not in {text}")
            lines.append(f"{extra:>10}  {req.name}=={version}  ({text})")
    session.log("resolved:\n" + "\n".join(lines))
    session.log(f"next to boto3=={resolved.get('boto3')}")
    if problems:
        session.error("; ".join(problems))
    # The floors themselves must resolve together (each direct requirement at
    # its lowest allowed version), so a floor is never a version that cannot
    # be installed with the rest.
    session.run(*compile_, "--resolution", "lowest-direct", silent=True)


def _nox_has_uv() -> bool:
    """Whether ``uv|virtualenv`` picks uv on this machine (as nox decides it)."""
    import nox.virtualenv

    return bool(getattr(nox.virtualenv, "HAS_UV", shutil.which("uv")))


_SMOKE = ["-p", "no:cacheprovider", "tests/cli/test_smoke.py"]
_SMOKE_PACKAGES = [".[mlflow,plot]", "pytest>=8", "pytest-timeout", "hypothesis>=6"]


@nox.session(venv_backend="virtualenv", default=False)
@nox.parametrize("backend", ["virtualenv", "uv"])
def clean_env(session: nox.Session, backend: str) -> None:
    """The demo and the CLI smoke tests in a venv made by virtualenv or by uv.

    nox uses uv when it is on the PATH, and uv makes virtualenvs without pip:
    the suite and the demo must pass both ways (issue 18.10). The uv side is
    built with uv itself (installed here from PyPI), so it runs whether or not
    the machine has uv. The virtualenv side is skipped where nox has no uv:
    the ``tests`` session has just run in a virtualenv-made venv there.
    """
    env = {"MLFLOW_DISABLE_TELEMETRY": "true"}
    if backend == "virtualenv":
        if not _nox_has_uv():
            session.skip("no uv here: nox -s tests ran in a virtualenv venv already")
        session.install(*_SMOKE_PACKAGES)
        session.run("pytest", *_SMOKE, *session.posargs, env=env)
        return
    session.install("uv")
    venv = Path(session.create_tmp()).resolve() / "uv-venv"
    shutil.rmtree(venv, ignore_errors=True)
    bindir = "Scripts" if sys.platform == "win32" else "bin"
    python = str(venv / bindir / "python")
    session.run("uv", "venv", "--quiet", "--python", sys.executable, str(venv))
    session.run("uv", "pip", "install", "--quiet", "--python", python, *_SMOKE_PACKAGES)
    # The case under test: no pip in the environment.
    session.run(
        python,
        "-c",
        "import importlib.util as u, sys; sys.exit(u.find_spec('pip') is not None)",
        external=True,
    )
    session.run(
        python, "-m", "pytest", *_SMOKE, *session.posargs, env=env, external=True
    )


@nox.session(default=False)
def bench_quality_flaml(session: nox.Session) -> None:
    """Default ChurnTrainer vs LR / RF / HGB / FLAML(60 s), FLAML in this venv."""
    _install(session, "all")
    session.install("flaml[automl]", "pyarrow")
    session.run(
        "python",
        "benchmarks/bench_quality.py",
        *session.posargs,
        env={"MLFLOW_DISABLE_TELEMETRY": "true", "OMP_WAIT_POLICY": "PASSIVE"},
    )
