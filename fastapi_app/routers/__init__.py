"""Path operations, grouped by concern."""
