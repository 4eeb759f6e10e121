"""The Deploy page of the churnlib dashboard (run by ``st.navigation``)."""

if __name__ == "__main__":
    from churnlib.dashboard._page_deploy import render

    render()
