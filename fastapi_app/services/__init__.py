"""Upstream LLM clients behind one small interface."""
