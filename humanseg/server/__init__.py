"""HTTP service (`humanseg serve`): FastAPI app in `app.py`; needs the [serve] extra."""
