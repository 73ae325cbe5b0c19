# syntax=docker/dockerfile:1
# The logger-app service image. Build: docker build -t logger-app .
# Checked by tests/deploy/test_dockerfile.py (there is no Docker engine on the dev machines).

# ---- build: a virtualenv with the dependencies, then the app ----
FROM python:3.13.15-slim-trixie AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /build
# The venv has no pip of its own: the base image's pip installs into it, so the runtime
# image ships no package installer.
RUN python -m venv --without-pip /opt/venv

# Dependencies in their own layer, keyed on pyproject.toml only: code changes reuse it.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip --python /opt/venv/bin/python install --no-cache-dir --requirement requirements.txt

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
