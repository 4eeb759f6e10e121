"""The Evaluate page of the churnlib dashboard (run by ``st.navigation``)."""

if __name__ == "__main__":
    from churnlib.dashboard._page_evaluate import render

    render()
