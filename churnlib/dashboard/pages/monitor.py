"""The Monitor page of the churnlib dashboard (run by ``st.navigation``)."""

if __name__ == "__main__":
    from churnlib.dashboard._page_monitor import render

    render()
