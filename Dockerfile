# One image for every component of the suite: the three services, the mock LLM, the
# Locust master and workers, and the headless `bench run`. docker-compose.yml gives each
# component its command; without one, the image serves FastAPI on port 8000.
#
#   docker build -t ai-service-bench .      (or: docker compose build)
#
# The image holds the runtime set only (requirements.lock: services, mock, bench, Locust,
# uv); the development tools are in requirements-dev.lock, which only .venv installs.

# The base, pinned by version and by digest (of the multi-architecture index, so that
# amd64 and arm64 hosts both resolve it): the official Python 3.11 image on Debian
# bookworm. The digest is the one that public Dockerfiles pin for this tag (found with a
# code search of public repositories; this project's build machine cannot reach Docker
# Hub to re-read it). Where the registry cannot be reached, `make test-docker` builds
# from a local stand-in instead: --build-arg BASE_IMAGE=... (scripts/docker-engine.sh).
ARG BASE_IMAGE=python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app

# Dependencies first, from the lock alone (exact versions, all wheels: no compiler
# needed), so that a change to the code reuses this layer.
COPY requirements.lock ./
RUN pip install -r requirements.lock

# The user everything runs as; created after the dependencies, so that a build with other
# ids reuses their layer. Its ids should be those of the owner of ./results on the host,
# so that runs written into that bind mount are the owner's (docker compose passes
# BENCH_UID and BENCH_GID; see docs/docker.md). Any ids work: a group that exists already
# with that GID (0 root, 20 dialout = macOS's staff, 100 users...) is reused, and the
# user may share its UID with an existing one (--non-unique: 0 when you build as root).
ARG BENCH_UID=1000
ARG BENCH_GID=1000
RUN getent group "${BENCH_GID}" >/dev/null || groupadd --gid "${BENCH_GID}" bench \
    && useradd --non-unique --uid "${BENCH_UID}" --gid "${BENCH_GID}" --create-home \
        --shell /usr/sbin/nologin bench

# Then the project itself, without resolving anything again. The sources stay in /app
# too: the Locust workers load bench/locustfiles/*.py by path from there.
COPY . .
RUN pip install --no-deps . \
    && rm -rf build ./*.egg-info \
    && python -m compileall -q /app \
    && mkdir -p /app/results \
    && chown "${BENCH_UID}:${BENCH_GID}" /app/results

USER bench

# 8000 fastapi, 8001 flask, 8002 drf, 8900 mock LLM, 8089 Locust web UI, 5557 Locust master.
EXPOSE 8000 8001 8002 8900 8089 5557

# GET http://127.0.0.1:$HEALTHCHECK_PORT$HEALTHCHECK_PATH must answer 200; docker-compose.yml
# sets the port of each component (and a process check where there is no HTTP port).
# `python -I -S`: standard library only, so that the check starts fast on the component's
# CPU quota.
ENV HEALTHCHECK_PORT=8000 \
    HEALTHCHECK_PATH=/health
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-I", "-S", "/app/docker/healthcheck.py"]

CMD ["python", "-m", "fastapi_app", "--host", "0.0.0.0", "--port", "8000"]
