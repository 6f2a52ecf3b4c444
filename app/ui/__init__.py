"""The Streamlit app. Pages are thin: they call ``app.services`` like the CLI does."""
