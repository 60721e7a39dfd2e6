"""The unified access API (FastAPI) under ``/api/v1``."""
