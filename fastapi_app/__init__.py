"""The suite's LLM-backed service in FastAPI; see README.md in this folder."""
