"""Dashboard page loads on the demo's work directory, after the first (cached) load.

What a user sees: ``churnlib demo`` wrote a work directory; ``churnlib
dashboard`` opens it. The first visit pays the imports and fills Streamlit's
caches (the table read, the model loaded from the store, the evaluation, the
monitor report). Every later visit -- a new browser session, so a fresh
``st.session_state`` -- should render each page in <= 2 s.

Two measurements per page (Data, Train, Evaluate, Monitor, Deploy):

1. **Server side** (Streamlit's ``AppTest``): the time to run the page's
   script in a fresh session with warm caches; median and range of
   ``--rounds`` rounds, pages interleaved in a rotating order.
2. **In a browser** (headless Chromium + Selenium, when installed): a full
   page load (a new Streamlit session) from navigation to the page's charts
   drawn and Streamlit idle, against the real ``churnlib dashboard`` server on
   a free 127.0.0.1 port, in one browser whose HTTP cache the first visit
   filled (a returning user).

Target: every page <= 2 s in both. Run: ``python benchmarks/bench_dashboard.py``
(``--workdir DIR`` reuses a demo work directory; otherwise ``churnlib demo``
writes one with its defaults first, about 1-3 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _harness import Report, Timing

APP = Path(__file__).resolve().parents[1] / "churnlib" / "dashboard" / "app.py"
PAGES = {
    "Data": "pages/data.py",
    "Train": "pages/train.py",
    "Evaluate": "pages/evaluate.py",
    "Monitor": "pages/monitor.py",
    "Deploy": "pages/deploy.py",
}
TARGET = 2.0


def demo_workdir(folder: Path | None) -> Path:
    if folder is not None:
        return folder
    root = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    workdir = root / "churnlib-demo"
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "churnlib",
            "demo",
            "--workdir",
            str(workdir),
            "--quiet",
        ],
        check=True,
        cwd=root,
        env=dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true"),
        stdout=subprocess.DEVNULL,
    )
    print(f"churnlib demo: {time.perf_counter() - started:.1f} s -> {workdir}")
    return workdir


def apptest_loads(workdir: Path, rounds: int) -> dict[str, Timing]:
    os.environ["CHURNLIB_DASHBOARD_WORKDIR"] = str(workdir)
    from streamlit.testing.v1 import AppTest

    def load(page: str) -> float:
        at = AppTest.from_file(str(APP), default_timeout=600)
        at.run()  # the default page first, as a browser does on a new session
        if page != "pages/data.py":
            at.switch_page(page)
        started = time.perf_counter()
        at.run()
        elapsed = time.perf_counter() - started
        if at.exception or at.error:
            raise RuntimeError(
                f"{page}: {[e.value for e in [*at.exception, *at.error]]}"
            )
        return elapsed

    first = {}
    for name, page in PAGES.items():  # cold: imports and caches filled
        started = time.perf_counter()
        load(page)
        first[name] = time.perf_counter() - started
    print("first loads (cold):", {k: round(v, 2) for k, v in first.items()})
    times = {name: Timing() for name in PAGES}
    names = list(PAGES)
    for i in range(rounds):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            times[name].samples.append(load(PAGES[name]))
    return times


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def browser_loads(workdir: Path, rounds: int) -> dict[str, Timing] | None:
    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as EC
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        chromium = None
    if not (chromium and driver_path):
        print("browser: skipped (no chromium/chromedriver/selenium)")
        return None
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "churnlib",
            "dashboard",
            "--workdir",
            str(workdir),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r,
            ):
                if r.read() == b"ok":
                    break
            time.sleep(0.5)

        def session():
            options = webdriver.ChromeOptions()
            options.binary_location = chromium
            for flag in (
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1400,1000",
                f"--user-data-dir={tempfile.mkdtemp(prefix='bench-chromium-')}",
            ):
                options.add_argument(flag)
            return webdriver.Chrome(
                options=options, service=webdriver.ChromeService(driver_path)
            )

        driver = session()

        def load(name: str) -> float:
            try:
                path = "" if name == "Data" else name.lower()
                started = time.perf_counter()
                driver.get(f"{url}/{path}")
                wait = WebDriverWait(driver, 120)
                wait.until(
                    EC.presence_of_element_located(
                        (By.XPATH, f"//h1[contains(., {name!r})]")
                    )
                )
                if name in ("Data", "Evaluate", "Monitor"):
                    wait.until(
                        lambda d: d.find_elements(
                            By.CSS_SELECTOR, ".js-plotly-plot .main-svg"
                        )
                    )
                else:
                    wait.until(
                        lambda d: d.find_elements(
                            By.CSS_SELECTOR, '[data-testid="stDataFrame"]'
                        )
                    )
                wait.until_not(
                    EC.presence_of_element_located(
                        (By.CSS_SELECTOR, '[data-testid="stStatusWidgetRunningIcon"]')
                    )
                )
                elapsed = time.perf_counter() - started
                if driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]'):
                    raise RuntimeError(f"{name}: exception shown")
                return elapsed
            finally:
                driver.get("about:blank")

        try:
            for name in PAGES:  # first visit: server and browser caches filled
                load(name)
            times = {name: Timing() for name in PAGES}
            names = list(PAGES)
            for i in range(rounds):
                order = names[i % len(names) :] + names[: i % len(names)]
                for name in order:
                    times[name].samples.append(load(name))
            return times
        finally:
            driver.quit()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="an existing demo work directory")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--no-apptest", action="store_true")
    args = parser.parse_args()
    workdir = demo_workdir(args.workdir)
    report = Report("dashboard")
    loaded = {} if args.no_apptest else apptest_loads(workdir, args.rounds)
    for name, t in loaded.items():
        report.timing(
            f"{name} page, fresh session, warm caches (AppTest script run)",
            t,
            target=TARGET,
            basis="demo work directory",
        )
    if not args.no_browser:
        loads = browser_loads(workdir, args.rounds)
        for name, t in (loads or {}).items():
            report.timing(
                f"{name} page, full reload, warm caches (headless Chromium)",
                t,
                target=TARGET,
                basis="demo work directory, navigation to charts drawn",
            )
    report.write()
    worst = max(r["seconds"] for r in report.rows)
    print(f"slowest page (median): {worst:.2f} s, target {TARGET} s")
    return 0 if worst <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
