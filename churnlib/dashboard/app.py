"""Streamlit entry script of the churnlib dashboard (``churnlib dashboard``).

Run by ``streamlit run``; importing it does nothing.
"""

from __future__ import annotations


def main() -> None:
    """Configure the app, register the pages with ``st.navigation``, run one."""
    import streamlit as st

    from churnlib.dashboard import _ui

    st.set_page_config(
        page_title="churnlib dashboard", page_icon=":material/insights:", layout="wide"
    )
    pages = [
        st.Page("pages/data.py", title="Data", icon=":material/table:", default=True),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/evaluate.py", title="Evaluate", icon=":material/query_stats:"),
        st.Page("pages/monitor.py", title="Monitor", icon=":material/monitor_heart:"),
        st.Page("pages/deploy.py", title="Deploy", icon=":material/cloud_upload:"),
    ]
    page = st.navigation(pages)
    page.run()
    _ui.sidebar()  # after the page: it shows what the page selected


if __name__ == "__main__":
    main()
