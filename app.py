"""riskmap planner's map: ``streamlit run app.py``.

Opens on the embedded (synthetic) Kota Kupang demo; the sidebar takes your
own files. The page lives in :mod:`riskmap.app.main`; the core computes.
"""

from riskmap.app.main import main

main()
