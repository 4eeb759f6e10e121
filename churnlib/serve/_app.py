"""The ASGI application of ``churnlib serve`` (Starlette).

Endpoints::

    POST /v1/predict    JSON records / split JSON / CSV -> probability, decision,
                        model version and prediction id per row
    POST /v1/outcomes   observed outcomes of predictions (did the customer churn?)
    POST /v1/churn-events  churn events: customer C left on date D
    GET  /healthz       the process answers
    GET  /readyz        a model is loaded and the monitor store is writable
    GET  /metrics       Prometheus text format

``/v1/*`` and ``/metrics`` need an API key (``Authorization: Bearer KEY`` or
``X-API-Key: KEY``) unless the app was built with ``auth=False``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from churnlib._urls import redact_url
from churnlib.exceptions import InvalidParameterError
from churnlib.serve._auth import TokenSet, generate_token, tokens_from_env
from churnlib.serve._batch import Batcher, Clock
from churnlib.serve._metrics import ServeMetrics
from churnlib.serve._model import ModelFollower, ServedModel
from churnlib.serve._parse import (
    RequestError,
    parse_events,
    parse_outcomes,
    parse_table,
)
from churnlib.serve._writer import BacklogFullError, LogWriter

if TYPE_CHECKING:
    from starlette.responses import Response

__all__ = ["create_app"]

logger = logging.getLogger("churnlib.serve")

VERSION_HEADER = "X-Churnlib-Model-Version"


def _print_generated(token: str) -> None:
    sys.stderr.write(
        "churnlib serve: no API key configured (CHURNLIB_SERVE_TOKENS or "
        "--token-file), so one was generated for this run. Send it as\n"
        f"    Authorization: Bearer {token}\n"
        "It is shown only this once; restart with a key of your own to keep one.\n"
    )
    sys.stderr.flush()


def _read_reference(reference: Any, storage_options: Mapping[str, Any] | None) -> Any:
    if isinstance(reference, pd.DataFrame):
        return reference
    from churnlib._core.tables import read_table

    return read_table(os.fspath(reference), storage_options=dict(storage_options or {}))


def _monitor_factory(
    monitor: Any,
    reference: Any,
    storage_options: Mapping[str, Any] | None,
) -> Callable[[Any, Any, Callable[[pd.DataFrame], np.ndarray]], Any] | None:
    """Return ``(model, contract, proba) -> ChurnMonitor`` or None (no logging)."""
    if monitor is None:
        return None
    if not isinstance(monitor, str | os.PathLike):
        if not callable(getattr(monitor, "log_predictions", None)):
            raise InvalidParameterError(
                "The 'monitor' parameter of create_app must be a store URL, a "
                f"ChurnMonitor or None. Got {type(monitor).__name__} instead."
            )
        return lambda model, contract, proba: monitor
    url = os.fspath(monitor)
    if reference is None:
        # The contract says what to log; reports need the reference later.
        def log_only(
            model: Any, contract: Any, proba: Callable[..., np.ndarray]
        ) -> Any:
            from churnlib.serve._logonly import LogOnlyMonitor

            return LogOnlyMonitor(model, store=url, storage_options=storage_options)

        return log_only
    raw_reference = _read_reference(reference, storage_options)

    def make(model: Any, contract: Any, proba: Callable[..., np.ndarray]) -> Any:
        from churnlib.monitoring import ChurnMonitor

        # The monitor reads the model's contract itself: its features, id
        # column, target and threshold (and refuses a reference that
        # overlaps the training rows).
        target = getattr(contract, "target", None)
        return ChurnMonitor(
            raw_reference,
            model=model,
            target=target if target in raw_reference.columns else None,
            store=url,
            storage_options=storage_options,
            rules=(),
            sinks=(),
            id_column=getattr(contract, "id_column", None),
        )

    return make


def _error(
    status: int,
    message: str,
    *,
    columns: Iterable[str] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    from starlette.responses import Response

    body: dict[str, Any] = {"error": message}
    cols = list(columns)
    if cols:
        body["columns"] = cols
    return Response(
        json.dumps(body),
        status_code=status,
        media_type="application/json",
        headers=dict(headers or {}),
    )


def create_app(
    model_ref: str,
    *,
    monitor: Any = None,
    reference: Any = None,
    storage_options: Mapping[str, Any] | None = None,
    tokens: Iterable[str] | None = None,
    token_file: str | os.PathLike[str] | None = None,
    auth: bool = True,
    reload_interval: float = 5.0,
    flush_rows: int = 10_000,
    flush_seconds: float = 1.0,
    max_body_bytes: int = 8 * 1024 * 1024,
    max_rows: int = 10_000,
    max_backlog: int = 200_000,
    max_batch_rows: int = 20_000,
    max_wait_ms: float = 0.0,
    signing_key: str | bytes | None = None,
    announce_token: Callable[[str], None] | None = None,
) -> Any:
    """Build the ASGI app serving a published churn model.

    Read more in the :doc:`serving guide </guide/serving>`.

    Parameters
    ----------
    model_ref : str
        ``"<store url>@<alias | version id | latest>"``, e.g.
        ``"s3://bucket/models@production"``. An alias (or ``latest``) is
        followed: when it moves, the new version is loaded in the background
        and swapped in atomically.
    monitor : str, path-like, ChurnMonitor or None, default=None
        Where served predictions are logged: a monitor store URL (a
        :class:`~churnlib.monitoring.ChurnMonitor` is built per model version
        from ``reference``), a monitor of your own, or None (no logging).
    reference : DataFrame, str or None, default=None
        Reference data for the monitor (a table or its URL): the held-out,
        labelled rows the model was validated on. Optional with a monitor
        URL: without it the model's contract says what to log (the model
        must carry one), and reports are made later by
        ``ChurnMonitor(reference, model=model, store=monitor).report()``.
    storage_options : mapping, default=None
        fsspec options for the model store, the monitor store and the
        reference table (never logged or shown).
    tokens : iterable of str, default=None
        Accepted API keys. None reads ``CHURNLIB_SERVE_TOKENS``.
    token_file : path-like, default=None
        A file of API keys (one a line), re-read when it changes: deleting a
        line revokes that key.
    auth : bool, default=True
        False serves without access control (say so explicitly). With auth
        on and no key configured, one is generated and announced once.
    reload_interval : float, default=5.0
        Seconds between checks of the alias (and of the token file); 0 stops
        following.
    flush_rows, flush_seconds : int, float, default=10_000, 1.0
        The log writer writes when this many rows wait, or the oldest waited
        this long.
    max_body_bytes, max_rows : int
        Largest request body (413 beyond) and most rows a request (413).
    max_backlog : int, default=200_000
        Rows waiting for the monitor store beyond which predictions are
        refused with 503 (never served unlogged).
    max_batch_rows : int, default=20_000
        Most rows scored in one call when concurrent requests are batched
        (dynamic batching: requests waiting together are prepared and scored
        at once, then split back per request).
    max_wait_ms : float, default=0.0
        Milliseconds a batch may wait for requests the server has started to
        read but not yet queued; never when no other request is in flight
        (a lone request is scored at once). 0: a batch is whatever is queued.
    signing_key : str or bytes, default=None
        As for :class:`~churnlib.deployment.ModelStore`.
    announce_token : callable, default=None
        Called once with a generated key; None prints it to stderr.

    Returns
    -------
    starlette.applications.Starlette
        Run it with any ASGI server, e.g. ``uvicorn.run(app)``.

    Notes
    -----
    At start-up (the ASGI lifespan) the app loads the model, then runs
    :func:`gc.collect` and :func:`gc.freeze`: the objects alive then live as
    long as the server, and full collections stop re-scanning them (each
    such pass otherwise stalls every request in flight).

    Examples
    --------
    Any ASGI client works; here httpx calls the app in process:

    >>> import asyncio
    >>> import httpx
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from churnlib.deployment import ModelStore
    >>> from churnlib.serve import create_app
    >>> X = pd.DataFrame({"tenure_months": [1.0, 2.0, 30.0, 40.0]})
    >>> model = LogisticRegression().fit(X, [True, True, False, False])
    >>> _ = ModelStore("memory://doctest/serve").publish(model, alias="production")
    >>> key = "a-long-random-key-0123"
    >>> app = create_app("memory://doctest/serve@production", tokens=[key])
    >>> async def call():
    ...     transport = httpx.ASGITransport(app=app)
    ...     async with app.router.lifespan_context(app):
    ...         async with httpx.AsyncClient(
    ...             transport=transport, base_url="http://serve"
    ...         ) as client:
    ...             ok = await client.post(
    ...                 "/v1/predict",
    ...                 json=[{"tenure_months": 3}],
    ...                 headers={"Authorization": f"Bearer {key}"},
    ...             )
    ...             refused = await client.post("/v1/predict", json=[])
    ...     return ok, refused
    >>> ok, refused = asyncio.run(call())
    >>> ok.status_code, ok.json()["predictions"][0]["churn"], refused.status_code
    (200, True, 401)
    """
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    from churnlib.deployment import ModelStore
    from churnlib.serve._logs import redact_access_log

    # uvicorn's request lines would carry query strings (a key sent as
    # ?api_key=...): they are logged with the query replaced.
    redact_access_log()
    for name, value in (
        ("max_body_bytes", max_body_bytes),
        ("max_rows", max_rows),
        ("flush_rows", flush_rows),
        ("max_backlog", max_backlog),
        ("max_batch_rows", max_batch_rows),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise InvalidParameterError(
                f"The {name!r} parameter of create_app must be an int >= 1. "
                f"Got {value!r} instead."
            )
    for name, seconds in (
        ("reload_interval", reload_interval),
        ("flush_seconds", flush_seconds),
        ("max_wait_ms", max_wait_ms),
    ):
        if not isinstance(seconds, int | float) or seconds < 0:
            raise InvalidParameterError(
                f"The {name!r} parameter of create_app must be a number >= 0. "
                f"Got {seconds!r} instead."
            )

    # ---- access control ------------------------------------------------ #
    keys: TokenSet | None = None
    to_announce: list[str] = []
    if auth:
        given = list(tokens) if tokens is not None else tokens_from_env()
        keys = TokenSet(given, token_file=token_file)
        if len(keys) == 0 and token_file is None:
            token = generate_token()
            keys = TokenSet([token])
            # announced once the model is loaded and the server about to serve
            to_announce.append(token)
            del token

    store, ref = ModelStore.from_reference(
        model_ref, storage_options=storage_options, signing_key=signing_key
    )
    make_monitor = _monitor_factory(monitor, reference, storage_options)
    switches = [0]

    def on_switch(old: str | None, new: str) -> None:
        if old is not None:
            switches[0] += 1

    follower = ModelFollower(
        store,
        ref,
        interval=reload_interval,
        make_monitor=make_monitor,
        on_switch=on_switch,
    )
    writer = LogWriter(
        flush_rows=flush_rows, flush_seconds=flush_seconds, max_backlog=max_backlog
    )

    def state() -> dict[str, Any]:
        current = follower.current
        return {
            "version": None if current is None else current.version,
            "backlog": writer.backlog,
            "written": dict(writer.written),
            "dropped": dict(writer.dropped),
            "failures": writer.failures,
            "last_write_seconds": writer.last_write_seconds,
            "switches": switches[0],
            "batches": batcher.batches,
            "batched_requests": batcher.batched_requests,
            "batch_waits": batcher.waits,
        }

    from churnlib.deployment._security import redact, secret_values

    secrets = secret_values(
        storage_options or {}, *([signing_key] if signing_key else [])
    )
    base_redact = writer.redact

    def scrub(text: str) -> str:
        return redact(base_redact(text), secrets)

    writer.redact = scrub
    follower.redact = scrub
    metrics = ServeMetrics(state)
    batcher = Batcher(
        lambda: follower.current,
        writer,
        Clock(),
        max_batch_rows=max_batch_rows,
        max_wait=max_wait_ms / 1000.0,
    )
    stop_tokens = threading.Event()

    def refresh_tokens() -> None:
        assert keys is not None
        while not stop_tokens.wait(max(reload_interval, 0.5)):
            try:
                if keys.refresh():
                    logger.info("token file re-read: %d keys accepted", len(keys))
            except Exception as err:  # keep the previous keys
                logger.warning("token file not re-read: %s", err)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        await asyncio.to_thread(follower.check)
        # Everything alive now (modules, the model) lives as long as the
        # server: keep it out of the collector's full passes, which would
        # otherwise scan it all and stall requests by 50-300 ms each time.
        gc.collect()
        gc.freeze()
        while to_announce:
            (announce_token or _print_generated)(to_announce.pop())
        writer.start()
        follower.start()
        token_thread = None
        if keys is not None and token_file is not None:
            token_thread = threading.Thread(
                target=refresh_tokens, name="churnlib-serve-tokens", daemon=True
            )
            token_thread.start()
        current = follower.current
        logger.info(
            "serving %s@%s: version %s%s",
            store.url,
            ref,
            None if current is None else current.version,
            "" if make_monitor is None else ", logging to the monitor store",
        )
        try:
            yield
        finally:
            stop_tokens.set()
            follower.stop()
            left = await asyncio.to_thread(writer.close)
            if not left:
                logger.info(
                    "shut down: %d predictions and %d outcomes logged",
                    writer.written["predictions"],
                    writer.written["outcomes"],
                )

    # ---- helpers --------------------------------------------------------- #
    def authorize(request: Request, endpoint: str) -> Response | None:
        if keys is None:
            return None
        token = None
        header = request.headers.get("authorization")
        if header:
            scheme, _, value = header.strip().partition(" ")
            if scheme.lower() == "bearer" and value.strip():
                token = value.strip()
        if token is None:
            token = request.headers.get("x-api-key") or None
        if token is None:
            metrics.auth_failures.labels("missing").inc()
            return _error(
                401,
                "An API key is required: send 'Authorization: Bearer <key>' or "
                "'X-API-Key: <key>'.",
                headers={"WWW-Authenticate": 'Bearer realm="churnlib"'},
            )
        if not keys.accepts(token):
            metrics.auth_failures.labels("invalid").inc()
            return _error(
                403, "The API key is not valid (wrong or revoked); ask for a new one."
            )
        return None

    async def read_body(request: Request) -> bytes:
        length = request.headers.get("content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                raise RequestError(400, "Content-Length is not a number.") from None
            if declared > max_body_bytes:
                raise RequestError(
                    413,
                    f"The body is {declared} bytes; this service takes at most "
                    f"{max_body_bytes} bytes a request. Send fewer rows a request.",
                )
        chunks = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body_bytes:
                raise RequestError(
                    413,
                    f"The body exceeds {max_body_bytes} bytes, the most this "
                    "service takes a request. Send fewer rows a request.",
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def served_or_503() -> ServedModel:
        current = follower.current
        if current is None:
            raise RequestError(
                503,
                "No model is loaded yet; retry shortly.",
                headers={"Retry-After": "1"},
            )
        return current

    def answer(endpoint: str, started: float, response: Response) -> Response:
        metrics.requests.labels(endpoint, str(response.status_code)).inc()
        metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
        return response

    # ---- endpoints ------------------------------------------------------- #
    async def predict(request: Request) -> Response:
        started = time.perf_counter()
        denied = authorize(request, "predict")
        if denied is not None:
            return answer("predict", started, denied)
        try:
            with batcher.arriving():  # a batch may wait for it (max_wait_ms)
                body = await read_body(request)
                raw = parse_table(
                    body,
                    request.headers.get("content-type", ""),
                    max_rows=max_rows,
                    lazy=True,
                )
            scored = await batcher.score(raw)
        except RequestError as err:
            return answer(
                "predict",
                started,
                _error(
                    err.status, err.message, columns=err.columns, headers=err.headers
                ),
            )
        except BacklogFullError as err:
            return answer(
                "predict",
                started,
                _error(
                    503,
                    f"Predictions cannot be logged right now ({err}); retry shortly.",
                    headers={"Retry-After": "1"},
                ),
            )
        served = scored.served
        n = scored.n
        text = (
            f'{{"model_version":{json.dumps(served.version)},'
            f'"threshold":{served.threshold!r},"n_rows":{n},'
            f'"logged":{"true" if served.monitor is not None else "false"},'
            f'"predictions":{scored.rows_json}}}'
        )
        metrics.rows.inc(n)
        return answer(
            "predict",
            started,
            Response(
                text,
                media_type="application/json",
                headers={VERSION_HEADER: served.version},
            ),
        )

    async def outcomes(request: Request) -> Response:
        started = time.perf_counter()
        denied = authorize(request, "outcomes")
        if denied is not None:
            return answer("outcomes", started, denied)
        try:
            body = await read_body(request)
            served = served_or_503()
            if served.monitor is None:
                raise RequestError(
                    409,
                    "This service logs to no monitor store, so outcomes have "
                    "nowhere to go; start it with a monitor (--monitor STORE).",
                )
            labels = getattr(served.contract, "labels", None)
            decode = served.contract.decode_labels if labels is not None else None
            ids, churned, micros, scored = parse_outcomes(
                body, max_rows=max_rows, decode=decode
            )
            writer.submit_outcomes(served.monitor, ids, churned, micros, scored)
        except RequestError as err:
            return answer(
                "outcomes",
                started,
                _error(
                    err.status, err.message, columns=err.columns, headers=err.headers
                ),
            )
        except BacklogFullError as err:
            return answer(
                "outcomes",
                started,
                _error(503, f"{err}; retry shortly.", headers={"Retry-After": "1"}),
            )
        return answer(
            "outcomes",
            started,
            JSONResponse({"accepted": len(ids)}, status_code=202),
        )

    async def events(request: Request) -> Response:
        started = time.perf_counter()
        denied = authorize(request, "churn_events")
        if denied is not None:
            return answer("churn_events", started, denied)
        try:
            body = await read_body(request)
            served = served_or_503()
            if served.monitor is None or not callable(
                getattr(served.monitor, "log_churn_events", None)
            ):
                raise RequestError(
                    409,
                    "This service logs to no monitor store that takes churn "
                    "events; start it with a monitor (--monitor STORE).",
                )
            ids, churned_at = parse_events(body, max_rows=max_rows)
            writer.submit_events(served.monitor, ids, churned_at)
        except RequestError as err:
            return answer(
                "churn_events",
                started,
                _error(
                    err.status, err.message, columns=err.columns, headers=err.headers
                ),
            )
        except BacklogFullError as err:
            return answer(
                "churn_events",
                started,
                _error(503, f"{err}; retry shortly.", headers={"Retry-After": "1"}),
            )
        return answer(
            "churn_events",
            started,
            JSONResponse({"accepted": len(ids)}, status_code=202),
        )

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        current = follower.current
        if current is None:
            return _error(503, "no model loaded yet")
        payload: dict[str, Any] = {
            "status": "ready",
            "model_version": current.version,
            "model_ref": f"{redact_url(store.url)}@{ref}",
            "logging": current.monitor is not None,
            # "direct" once the shortcut through the pipeline proved equal
            "predict_route": getattr(current.route, "state", "own"),
            # "arrays" (NumPy columns) or "frames" (DataFrame selections)
            "predict_route_kind": getattr(current.route, "kind", None),
            "log_backlog_rows": writer.backlog,
        }
        if writer.failing:
            payload["status"] = "degraded"
            payload["log_error"] = "the monitor store refused the last write"
            return JSONResponse(payload, status_code=503)
        return JSONResponse(payload)

    async def metrics_endpoint(request: Request) -> Response:
        denied = authorize(request, "metrics")
        if denied is not None:
            return denied
        data, content_type = await asyncio.to_thread(metrics.render)
        return Response(data, headers={"Content-Type": content_type})

    app = Starlette(
        routes=[
            Route("/v1/predict", predict, methods=["POST"]),
            Route("/v1/outcomes", outcomes, methods=["POST"]),
            Route("/v1/churn-events", events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.follower = follower
    app.state.writer = writer
    return app
