"""The Streamlit face of riskmap (the only package that imports Streamlit)."""
