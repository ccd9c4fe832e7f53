"""One module per LLM_CLIENT option; flask_app.llm.make_client picks one."""
