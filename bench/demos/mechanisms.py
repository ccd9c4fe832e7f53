"""What happened inside: the mechanism behind each demo's lesson, and where to read it.

A lesson says what the numbers show; the mechanism says why, in a few sentences about
the event loop, the thread pool, the worker processes, the connection pool or the
buffering, and points to the code of this repository's services that does it (a file
and a function, class or setting in it), so that a student can go and read it. The
pointers are checked by the tests: each file exists and defines the name.

Pure data and rendering: each demo (bench.demos.catalog) carries its mechanism; the demo
pages (bench.demos.perform), the claims (bench.demos.suite) and the handout
(bench.demos.handout) show it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    """A place to read: a file of the repository and a name defined in it."""

    path: str  # from the repository's root
    name: str  # a function, a class, Class.method, or a module-level setting
    shows: str  # what to look for there

    def label(self) -> str:
        return f"{self.path} · {self.name}"


@dataclass(frozen=True)
class Mechanism:
    """What happened inside, and the code that shows it."""

    text: str
    code: tuple[Code, ...]

    def terminal(self) -> str:
        """For a terminal: its sentences, then one line per place to read."""
        lines = [f"What happened inside: {self.text}", "Read it in the code:"]
        lines += [f"  {code.label()}: {code.shows}" for code in self.code]
        return "\n".join(lines)

    def markdown(self) -> str:
        """As a Markdown section."""
        places = "\n".join(f"- `{c.path}` · `{c.name}`: {c.shows}" for c in self.code)
        return f"**What happened inside.** {self.text}\n\n**Read it in the code:**\n\n{places}\n"

    def html_block(self) -> str:
        """As an HTML fragment."""
        places = "".join(
            f"<li><code>{html.escape(c.path)}</code> · <code>{html.escape(c.name)}</code>: "
            f"{prose(c.shows)}</li>"
            for c in self.code
        )
        return (
            f"<div class='mechanism'><p><b>What happened inside.</b> {prose(self.text)}</p>"
            f"<p><b>Read it in the code:</b></p><ul>{places}</ul></div>"
        )


_COMPLETE_ASYNC = Code(
    "fastapi_app/routers/completions.py",
    "complete",
    "`async def` and `await llm.complete(...)`: while this request waits for the LLM, the "
    "event loop runs the others",
)
_COMPLETE_SYNC = Code(
    "fastapi_app/routers/completions.py",
    "complete_sync",
    "a plain `def` endpoint: Starlette runs it in its threadpool, one thread per request",
)
_FLASK_VIEW = Code(
    "flask_app/views.py",
    "complete",
    "a plain `def` view: whatever runs it (a process, a thread, a greenlet) waits in it for "
    "the whole upstream call",
)

WSGI_VS_ASGI = Mechanism(
    "A gunicorn sync worker is one process that runs one request at a time: while "
    "`complete` waits for the LLM, the process sleeps in a socket read, so 3 workers hold "
    "3 calls and serve workers / latency, whatever the number of users. The gevent worker "
    "runs each request in a green thread and switches to another at every socket wait "
    "(gevent patches the standard library's sockets); the gthread worker gives each "
    "request an OS thread of its pool. Uvicorn runs FastAPI's `async def` endpoint as a "
    "coroutine on one event loop: `await` hands the socket to the loop, which serves "
    "other requests until the answer arrives.",
    (
        _FLASK_VIEW,
        Code(
            "flask_app/gunicorn_conf.py",
            "worker_connections",
            "how many connections (greenlets) one gevent worker may hold",
        ),
        Code(
            "drf_app/completions/views.py",
            "CompleteView.post",
            "the sync DRF view that a gthread worker runs, one thread per request",
        ),
        _COMPLETE_ASYNC,
    ),
)

BLOCKING_THE_LOOP = Mechanism(
    "FastAPI trusts an `async def` endpoint not to block and calls it on the event loop "
    "itself. The blocking variant calls the sync client inside `async def`: for every "
    "upstream call the whole loop, with every request of the worker, stops, so the server "
    "answers one request at a time (1 / latency). A plain `def` endpoint is safe: "
    "Starlette sends it to a threadpool, and the loop stays free.",
    (
        Code(
            "fastapi_app/routers/completions.py",
            "complete_blocking",
            "the mistake: a blocking call inside `async def` (teaching only)",
        ),
        _COMPLETE_SYNC,
        _COMPLETE_ASYNC,
    ),
)

THREADPOOL_LIMIT = Mechanism(
    "Each call of a `def` endpoint borrows a thread token from AnyIO's default limiter "
    "(40 tokens) for its whole upstream wait; the 41st request waits for a token, with "
    "the CPU idle. Throughput stops at threads / latency. The service sets the limiter's "
    "size at start-up (THREADPOOL_SIZE), which is what the raised target does.",
    (
        Code(
            "fastapi_app/main.py",
            "lifespan",
            "`limiter.total_tokens = settings.threadpool_size`: the threadpool's size",
        ),
        _COMPLETE_SYNC,
        Code(
            "fastapi_app/services/httpx_llm.py",
            "HttpxSyncLLM",
            "the sync client each thread blocks in",
        ),
    ),
)

CLIENT_POOL = Mechanism(
    "Every upstream call borrows a connection from the pool of the client in the worker "
    "(aiohttp's connector, httpx's pool, or the one under the OpenAI SDK), opened once "
    "at start-up. At high concurrency what each client costs per request (parsing, its "
    "pool's locks and bookkeeping, the SDK's typed models) adds up on the server's core, "
    "with the framework unchanged.",
    (
        Code("fastapi_app/main.py", "lifespan", "one client per worker, opened at start-up"),
        Code(
            "fastapi_app/services/aiohttp_llm.py",
            "AiohttpLLM",
            "aiohttp: a TCPConnector limited to LLM_MAX_CONNECTIONS",
        ),
        Code(
            "fastapi_app/services/httpx_llm.py",
            "_client_options",
            "httpx: the pool's limits and keep-alive",
        ),
        Code(
            "fastapi_app/services/openai_llm.py",
            "OpenAILLM",
            "the OpenAI SDK on its httpx or aiohttp transport",
        ),
    ),
)

STREAMING_TTFT = Mechanism(
    "Each service relays the upstream's events as they arrive, one frame per token: "
    "FastAPI returns a StreamingResponse over an async generator; Flask returns a "
    "Response over a generator, and the WSGI server writes each yield at once; DRF "
    "returns a StreamingHttpResponse. Django sends a sync iterator chunk by chunk only "
    "under WSGI and an async one only under ASGI, and consumes the other kind whole "
    "first, which is why the DRF service has two relays. Anything that buffers (a "
    "middleware, compression, a proxy) holds the first token until the stream ends.",
    (
        Code(
            "fastapi_app/routers/completions.py",
            "complete_stream",
            "StreamingResponse over an async generator",
        ),
        Code("flask_app/sse.py", "encode_events", "one yield per event: written at once"),
        Code("drf_app/completions/sse.py", "relay", "the sync relay, for WSGI workers"),
        Code("drf_app/completions/sse.py", "arelay", "the async relay, for ASGI servers"),
    ),
)

WORKERS_SCALING = Mechanism(
    "gunicorn's master forks N worker processes that accept on the same socket. On the "
    "I/O-bound `complete` a sync worker spends its time waiting, so N workers hold N "
    "calls: N / latency. On the CPU-bound `hello` the workers take turns on the server's "
    "one core: more processes add context switches, not CPU.",
    (
        Code(
            "flask_app/__main__.py",
            "gunicorn_command",
            "the worker class and the number of workers on gunicorn's command line",
        ),
        Code(
            "flask_app/gunicorn_conf.py",
            "preload_app",
            "each worker imports the app, and opens its own upstream pool, after the fork",
        ),
        Code("flask_app/views.py", "hello", "the CPU-bound endpoint: no upstream call"),
    ),
)

CONCURRENCY = Mechanism(
    "What a server model holds at once is what it can keep waiting: a sync worker one "
    "call; a gthread worker its threads (each an OS thread with its own stack); a gevent "
    "worker up to its worker_connections greenlets; an event loop as many coroutines as "
    "memory and CPU allow. Each held call costs memory (a socket, buffers, a coroutine's "
    "frame or a thread's stack) and some CPU per request, so the event loop's limit is "
    "its core's CPU, not a count.",
    (
        Code(
            "flask_app/__main__.py",
            "gunicorn_command",
            "`--threads` for gthread: the calls a worker holds",
        ),
        Code(
            "flask_app/gunicorn_conf.py",
            "worker_connections",
            "the greenlets a gevent worker may hold",
        ),
        _COMPLETE_ASYNC,
        Code(
            "fastapi_app/config.py",
            "Settings",
            "max_connections: the upstream pool sized so that it never binds first",
        ),
    ),
)

UPSTREAM_OUTAGE = Mechanism(
    "A stalled upstream call is held by whatever serves the request until the service's "
    "upstream timeout ends it with a 504. The event loop holds it as a coroutine waiting "
    "on a socket and goes on running every other request, /health included. A gthread "
    "worker holds it as one of its threads; once all of them wait, new requests, health "
    "checks included, queue for a free thread, and after the outage the queue drains "
    "before the service is itself again.",
    (
        Code(
            "fastapi_app/routers/root.py",
            "health",
            "`async def`: answered by the event loop between any two awaits",
        ),
        Code(
            "flask_app/views.py",
            "health",
            "a plain view: it needs a free thread like any other request",
        ),
        Code(
            "flask_app/config.py",
            "LLMSettings",
            "timeout_s (LLM_TIMEOUT_S): how long a stalled call holds its thread",
        ),
        Code(
            "flask_app/__main__.py",
            "gunicorn_command",
            "`--threads`: how many calls a gthread worker can hold",
        ),
    ),
)

OPEN_VS_CLOSED = Mechanism(
    "A gunicorn sync worker serves one request at a time; connections that arrive while "
    "both workers are busy wait in the kernel's listen backlog, first come first served, "
    "so 2 workers at 100 ms serve at most 20 requests a second. A closed-loop user sends "
    "its next request only once its answer is back: its requests never queue behind each "
    "other, and the load slows down with the server. Open-loop arrivals come at their own "
    "times, whatever the answers: two that come close together find the workers busy and "
    "wait (the tail), and past 20 a second the backlog grows for as long as they come.",
    (
        Code(
            "flask_app/gunicorn_conf.py",
            "backlog",
            "the listen backlog: where requests wait for a free sync worker",
        ),
        Code(
            "flask_app/__main__.py",
            "gunicorn_command",
            "`--workers`: the servers of the queue, each one request at a time",
        ),
        Code(
            "bench/locustfiles/scenario.py",
            "ScenarioUser.turn",
            "closed loop: one request, the next only after its answer; open loop: the "
            "dispatcher's schedule",
        ),
        Code(
            "bench/locustfiles/arrivals.py",
            "Arrivals.times",
            "Poisson arrivals, each one's send time fixed before it is sent",
        ),
    ),
)

CLAIMS = Mechanism(
    "The tutorials' rows mix two kinds of statement. Async routes and streaming are "
    "about the API: what a developer writes. FastAPI endpoints are coroutines by "
    "design; the Flask service writes plain `def` views and gets its concurrency from "
    "gunicorn's gevent or gthread workers; DRF's own views are sync, and the service's "
    "async views come from the third-party adrf package. Performance and concurrency are "
    "about the server model under the framework, which is what the figures measure.",
    (
        _COMPLETE_ASYNC,
        _FLASK_VIEW,
        Code(
            "drf_app/completions/async_views.py",
            "CompleteView.post",
            "an async DRF view through adrf's APIView",
        ),
    ),
)


def prose(text: str) -> str:
    """Plain text as HTML, with `code` spans (as the texts here write them) in <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))
