# syntax=docker/dockerfile:1
# The logger-app service image. Build: docker build -t logger-app .
# Checked by tests/deploy/test_dockerfile.py (the parsed file) and built and run by tests/containers.

# ---- build: a virtualenv with the dependencies, then the app ----
FROM python:3.13.15-slim-trixie AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# uv, only to read uv.lock: the same version as the Makefile's (tests/deploy/test_lock.py).
ARG UV_VERSION=0.13.9

WORKDIR /build
# The venv has no pip of its own: the base image's pip installs into it, so the runtime
# venv ships no package installer (nor uv, which stays in this stage; the base keeps its pip).
RUN python -m venv --without-pip /opt/venv

# The runtime dependencies, exactly as uv.lock pins them, in their own layer keyed on the
# lock: code changes reuse it. uv exports the lock's runtime part (no extras, not the app) with
# every file's hash; pip installs that with --require-hashes, so a download whose hash is not in
# the lock fails the build. Wheels only: the build stage has no compiler.
COPY pyproject.toml uv.lock ./
RUN pip install --no-cache-dir --root-user-action=ignore "uv==${UV_VERSION}" \
    && uv export --quiet --frozen --no-dev --no-emit-project --format requirements-txt \
        --output-file requirements.txt \
    && pip --python /opt/venv/bin/python install --no-cache-dir --require-hashes --no-deps \
        --only-binary :all: --requirement requirements.txt

COPY README.md ./
COPY src/ src/
RUN pip --python /opt/venv/bin/python install --no-cache-dir --no-deps .

# ---- runtime: the venv only; no compiler, no pip cache, no sources ----
FROM python:3.13.15-slim-trixie AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app

COPY --from=build /opt/venv /opt/venv

USER 10001:10001
EXPOSE 8000

# For docker compose; ECS uses the task definition's health check. The slim image has no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]

# `logger-app serve` sets the OTEL_* defaults that are unset, then execs (same PID, so signals
# reach uvicorn) opentelemetry-instrument python -m logger_app.server: uvicorn's own CLI, with
# one worker and proxy headers, exiting 0 after a graceful SIGTERM shutdown.
CMD ["logger-app", "serve", "--host", "0.0.0.0", "--port", "8000"]
