"""Page scripts registered by ``app.py`` with ``st.navigation``."""
