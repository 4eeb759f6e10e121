"""Deploy page: a model store's versions; publish, promote, roll back.

Storage options typed here are kept in this session's state only: the input
is cleared once read, and they are never shown back, written, logged, put in
a URL or used as a cache key.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from churnlib._urls import redact_url
from churnlib.dashboard import _ui
from churnlib.dashboard._data import parse_storage_options, scrub, versions_frame

_ENV = "From the environment (AWS_*, AZURE_STORAGE_*, GOOGLE_* variables)"
_TYPED = "Typed for this session only"
_INPUT = "deploy.options_input"
_PARSE_ERROR = "deploy.options_error"


def _accept_options() -> None:
    """Form callback: parse the typed options, keep them, clear the input."""
    text = st.session_state.get(_INPUT, "")
    st.session_state[_INPUT] = ""
    st.session_state.pop(_PARSE_ERROR, None)
    try:
        options = parse_storage_options(text)
    except Exception as err:  # shown on the page
        st.session_state[_PARSE_ERROR] = scrub(str(err))
        return
    st.session_state[_ui.OPTIONS] = options or None


def _forget_options() -> None:
    st.session_state.pop(_ui.OPTIONS, None)


def _options_panel() -> None:
    mode = st.radio(
        "Storage options", [_ENV, _TYPED], key="deploy.mode", horizontal=True
    )
    if mode == _ENV:
        if st.session_state.get(_ui.OPTIONS):
            _forget_options()
        st.caption(
            "fsspec backends read their usual environment variables and "
            "configuration files; nothing is typed here."
        )
        return
    with st.form("deploy.options", clear_on_submit=False):
        st.text_input(
            "Storage options: a JSON object or KEY=VALUE lines (hidden; kept "
            "in this browser session only)",
            type="password",
            key=_INPUT,
        )
        st.form_submit_button("Use for this session", on_click=_accept_options)
    if st.session_state.get(_PARSE_ERROR):
        st.error(st.session_state[_PARSE_ERROR])
    options = st.session_state.get(_ui.OPTIONS)
    if options:
        st.caption(
            f"{len(options)} storage option(s) set for this session: "
            f"{', '.join(sorted(map(str, options)))} (values hidden)."
        )
        st.button("Forget them", on_click=_forget_options, key="deploy.forget")


def _store(url: str) -> Any:
    from churnlib.deployment import ModelStore

    return ModelStore(url, storage_options=_ui.storage_options(), create=True)


def _publish(store: Any, alias: str) -> None:
    model = _ui.current_model()
    if model is None:
        st.warning("Train a model or select a run on the Train page first.")
        return
    cached = st.session_state.get(_ui.REPORT)
    metrics = dict(model.metrics)
    if cached is not None and cached[0][0] == model.key:
        metrics = dict(cached[1].metrics)
    before = {v.version for v in store.versions()}
    version = store.publish(
        model.model,
        metrics={k: float(v) for k, v in metrics.items()},
        metadata={"source": "churnlib dashboard", "model": model.label},
        alias=alias or None,
        run_id=model.run_id,
    )
    where = f" and pointed {alias!r} at it" if alias else ""
    if version.version in before:
        st.session_state["deploy.message"] = (
            f"This model is already version {version.version}: nothing new was "
            f"published{where.replace(' and', ';')}."
        )
    else:
        st.session_state["deploy.message"] = (
            f"Published version {version.version}{where}."
        )


def render() -> None:
    """Draw the Deploy page."""
    st.title("Deploy")
    p = _ui.paths()
    url = st.text_input(
        "Model store URL (file://, s3://, az://, gs://, memory://)",
        value=p.store_url,
        key="deploy.url",
    )
    _options_panel()
    shown_url = redact_url(url)
    with _ui.guard(f"open the model store {shown_url}") as ok:
        store = _store(url)
        versions = store.versions()
    if not ok[0]:
        return
    message = st.session_state.pop("deploy.message", None)
    if message:
        st.success(message)
    st.subheader(f"Versions in {store.url}")
    if versions:
        st.dataframe(
            _ui.shown(versions_frame(versions)), hide_index=True, key="deploy.versions"
        )
    else:
        st.info("No versions yet: publish one below.")
    model = _ui.current_model()
    st.subheader("Publish")
    with st.form("deploy.publish"):
        st.write(f"Model: {model.label}" if model else "No model selected yet.")
        alias = st.text_input(
            "Point this alias at the new version (optional)", value=""
        )
        if st.form_submit_button("Publish", type="primary", disabled=model is None):
            with _ui.guard(f"publish to {shown_url}"):
                _publish(store, alias.strip())
                st.rerun()
    if not versions:
        return
    ids = [v.version for v in sorted(versions, key=lambda v: v.version, reverse=True)]
    left, right = st.columns(2)
    with left, st.form("deploy.promote"):
        st.markdown("**Promote**")
        version = st.selectbox("Version", ids)
        alias = st.text_input("Alias", value="production")
        if st.form_submit_button("Promote"):
            with _ui.guard(f"promote {version} to {alias!r}"):
                store.promote(version, alias.strip())
                st.session_state["deploy.message"] = (
                    f"Alias {alias.strip()!r} now points to {version}."
                )
                st.rerun()
    aliases = sorted({a for v in versions for a in v.aliases})
    with right, st.form("deploy.rollback"):
        st.markdown("**Roll back**")
        target = st.selectbox("Alias", aliases or ["(no aliases)"])
        if st.form_submit_button("Roll back", disabled=not aliases):
            with _ui.guard(f"roll back {target!r}"):
                back = store.rollback(target)
                st.session_state["deploy.message"] = (
                    f"Alias {target!r} rolled back to {back.version}."
                )
                st.rerun()
