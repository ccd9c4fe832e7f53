# One image for every component of the suite: the three services, the mock LLM, the
# Locust master and workers, and the headless `bench run`. docker-compose.yml gives each
# component its command; without one, the image serves FastAPI on port 8000.
#
#   docker build -t ai-service-bench .      (or: docker compose build)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# The unprivileged user everything runs as. Its ids should be those of the owner of
# ./results on the host, so that runs written into that bind mount are the owner's
# (docker compose passes BENCH_UID and BENCH_GID; see docs/docker.md).
ARG BENCH_UID=1000
ARG BENCH_GID=1000
RUN groupadd --gid "${BENCH_GID}" bench \
    && useradd --uid "${BENCH_UID}" --gid "${BENCH_GID}" --create-home \
        --shell /usr/sbin/nologin bench

WORKDIR /app

# Dependencies first, from the lock alone (exact versions, all wheels: no compiler
# needed), so that a change to the code reuses this layer.
COPY requirements.lock ./
RUN pip install -r requirements.lock

# Then the project itself, without resolving anything again. The sources stay in /app
# too: the Locust workers load bench/locustfiles/*.py by path from there.
COPY . .
RUN pip install --no-deps . \
    && rm -rf build ./*.egg-info \
    && python -m compileall -q /app \
    && mkdir -p /app/results \
    && chown bench:bench /app/results

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
