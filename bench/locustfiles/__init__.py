"""Locust scenarios of the suite (hello, complete, stream) and the plugin they share.

Each scenario file is a locustfile: `locust -f bench/locustfiles/<scenario>.py`.
`plugin` keeps the suite's own precise statistics beside Locust's rounded ones and
writes them to BENCH_RESULT_FILE; `scenario` reads the load knobs from the
environment; `sse` times a contract stream event by event.
"""
