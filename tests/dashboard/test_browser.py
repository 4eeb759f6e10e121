"""The dashboard in a real headless Chromium, driven by clicking (Selenium).

A session fixture starts ``churnlib dashboard`` (``python -m churnlib
dashboard``) on a free loopback port and waits for Streamlit's health
endpoint. The test walks the main flow -- generate, train, evaluate, publish,
promote, monitor -- asserting that no exception element appears and that the
Plotly charts render, and saves a screenshot of each page in its tmp dir.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
        reason="needs Chromium and chromedriver (apt-get install chromium "
        "chromium-driver; .ci/run installs them)",
    ),
]
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def dashboard_url(tmp_path_factory):
    """``churnlib dashboard`` on 127.0.0.1:<free port>, an empty work directory."""
    workdir = tmp_path_factory.mktemp("browser") / "work"
    port = _free_port()
    log = open(workdir.parent / "server.log", "wb")  # noqa: SIM115 - closed below
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "churnlib",
            "dashboard",
            "--workdir",
            str(workdir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=workdir.parent,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(
                    "the dashboard did not start:\n"
                    + (workdir.parent / "server.log").read_text()[-3000:]
                )
            time.sleep(0.5)
        yield url, workdir
    finally:
        with __import__("contextlib").suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
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
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _wait_text(driver, text, timeout=120):
    try:
        WebDriverWait(driver, timeout).until(
            EC.presence_of_element_located(
                (By.XPATH, f"//*[contains(normalize-space(.), {text!r})]")
            )
        )
    except Exception:
        body = driver.find_element(By.TAG_NAME, "body").text
        pytest.fail(f"{text!r} did not appear within {timeout} s; the page:\n{body}")
    _settle(driver)


def _settle(driver, timeout=120):
    """Wait until Streamlit is not running the script any more."""
    time.sleep(0.3)
    WebDriverWait(driver, timeout).until_not(
        EC.presence_of_element_located(
            (By.CSS_SELECTOR, '[data-testid="stStatusWidgetRunningIcon"]')
        )
    )
    time.sleep(0.3)


def _click_button(driver, label):
    button = WebDriverWait(driver, 60).until(
        EC.element_to_be_clickable(
            (By.XPATH, f"//button[normalize-space(.)={label!r}]")
        )
    )
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", button)
    button.click()


def _click_tab(driver, label):
    tab = WebDriverWait(driver, 60).until(
        EC.element_to_be_clickable(
            (By.XPATH, f'//*[@role="tab"][contains(normalize-space(.), {label!r})]')
        )
    )
    tab.click()
    time.sleep(0.3)


def _page(driver, title):
    link = WebDriverWait(driver, 60).until(
        EC.element_to_be_clickable(
            (
                By.XPATH,
                '//*[@data-testid="stSidebarNav"]//a[.//span[normalize-space(.)='
                f"{title!r}]]",
            )
        )
    )
    link.click()
    _wait_text(driver, title)


def _check(driver, shots, name, *, charts=0):
    assert not driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
    errors = driver.find_elements(
        By.CSS_SELECTOR, '[data-testid="stAlertContentError"]'
    )
    assert not errors, [e.text for e in errors]
    if charts:
        WebDriverWait(driver, 60).until(
            lambda d: (
                len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg"))
                >= charts
            )
        )
    driver.save_screenshot(str(shots / f"{name}.png"))


def test_main_flow_by_clicking(dashboard_url, browser, tmp_path):
    url, workdir = dashboard_url
    shots = tmp_path / "screenshots"
    shots.mkdir()
    driver = browser
    driver.get(url)
    _wait_text(driver, "Generate customers or read a table to start.")

    # Data: upload a CSV with a yes/no label (the file input of st.file_uploader)
    from churnlib.data import generate_customers

    upload = tmp_path / "telco_like.csv"
    frame = generate_customers(400, random_state=5)
    frame["Churn"] = frame.pop("churned").map({True: "Yes", False: "No"})
    frame.to_csv(upload, index=False)
    _click_tab(driver, "Upload or read a table")
    driver.find_element(By.CSS_SELECTOR, 'input[type="file"]').send_keys(str(upload))
    _wait_text(driver, "upload: telco_like.csv")
    values = [
        e.text
        for e in driver.find_elements(By.CSS_SELECTOR, '[data-testid="stMetricValue"]')
    ]
    assert values == [
        "400",
        "16",
        f"{frame['Churn'].eq('Yes').mean():.1%}",
        "Churn",
        "'Yes'",
    ]
    _check(driver, shots, "upload", charts=2)
    _click_tab(driver, "Generate customers")

    # Data: generate 2,000 customers
    field = driver.find_element(By.CSS_SELECTOR, 'input[aria-label="Customers"]')
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("2000", Keys.TAB)
    _click_button(driver, "Generate")
    _wait_text(driver, "Generated 2,000 customers")
    _check(driver, shots, "data", charts=2)

    # Train: logistic regression (quick)
    _page(driver, "Train")
    box = driver.find_element(By.CSS_SELECTOR, 'input[aria-label="Estimator"]')
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("Logistic")
    WebDriverWait(driver, 30).until(
        EC.presence_of_element_located(
            (By.XPATH, '//*[@role="option"][contains(., "Logistic regression")]')
        )
    )
    box.send_keys(Keys.ENTER)
    WebDriverWait(driver, 30).until(
        lambda d: box.get_attribute("value") == "Logistic regression"
    )
    _click_button(driver, "Train")
    _wait_text(driver, "MLflow run id", timeout=240)
    _check(driver, shots, "train")
    assert "Open the run in the MLflow UI" in driver.page_source

    # Evaluate: the report card's charts and the campaign view
    _page(driver, "Evaluate")
    _wait_text(driver, "Recommended cutoff")
    _check(driver, shots, "evaluate", charts=2)

    # Deploy: publish, then promote to production
    _page(driver, "Deploy")
    _wait_text(driver, "No versions yet")
    _click_button(driver, "Publish")
    _wait_text(driver, "Published version")
    _click_button(driver, "Promote")
    _wait_text(driver, "Alias 'production' now points to")
    _check(driver, shots, "deploy")
    versions = list((workdir / "models" / "versions").iterdir())
    assert len(versions) == 1

    # Monitor: simulate production into a scratch store
    _page(driver, "Monitor")
    _click_button(driver, "Simulate into a scratch store")
    _wait_text(driver, "Open alerts", timeout=240)
    _check(driver, shots, "monitor", charts=2)
    assert "Drift per feature and chunk" in driver.page_source

    saved = sorted(p.name for p in shots.iterdir())
    assert saved == [
        "data.png",
        "deploy.png",
        "evaluate.png",
        "monitor.png",
        "train.png",
        "upload.png",
    ]
    target = os.environ.get("CHURNLIB_DASHBOARD_SCREENSHOTS")
    if target:  # docs: CHURNLIB_DASHBOARD_SCREENSHOTS=docs/_static/dashboard pytest ...
        Path(target).mkdir(parents=True, exist_ok=True)
        for shot in shots.iterdir():
            shutil.copy(shot, Path(target) / shot.name)
