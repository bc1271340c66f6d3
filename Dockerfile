# tempmail: one process serving SMTP on 8025 and the web UI / JSON API on 8000, data in /data.
#
#   docker build -t tempmail .
#   docker run -d -p 25:8025 -p 127.0.0.1:8000:8000 -v tempmail-data:/data --read-only tempmail
#
# BASE_IMAGE is used for both stages. The default is the official slim Python image; any Debian-like
# image whose python3 is 3.11 or newer and has the venv module works (the tests build on a bookworm
# made with debootstrap). Dependencies come from requirements.lock with their hashes checked. For an
# offline build, put the wheels in wheels/ first (`make wheels`): the build then uses no index.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
SHELL ["/bin/sh", "-eu", "-c"]
WORKDIR /src
COPY requirements.lock requirements-build.lock ./
# wheel[s] matches nothing on an ordinary build; with `make wheels` it brings the offline wheelhouse.
COPY requirements.lock wheel[s] ./wheels/
# The build tools get a venv of their own; the runtime venv gets no pip at all (`pip --python`).
RUN offline=""; \
    if ls wheels/*.whl >/dev/null 2>&1; then offline="--no-index"; fi; \
    python3 -m venv /opt/build; \
    /opt/build/bin/pip install $offline --find-links wheels --require-hashes --no-deps \
        -r requirements-build.lock; \
    python3 -m venv --without-pip /opt/tempmail; \
    /opt/build/bin/pip --python /opt/tempmail/bin/python install $offline --find-links wheels \
        --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY tempmail ./tempmail
COPY static ./static
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir dist . \
    && /opt/build/bin/pip --python /opt/tempmail/bin/python install --no-index --no-deps \
        dist/tempmail-*.whl \
    && /opt/tempmail/bin/python -m compileall -q /opt/tempmail/lib

FROM ${BASE_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="tempmail" \
      org.opencontainers.image.description="Self-hosted temporary email server with zero-access encrypted storage" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT"
SHELL ["/bin/sh", "-eu", "-c"]
# A fixed UID/GID so volume ownership survives rebuilds; /data is the only path it can write.
RUN groupadd --gid 10001 tempmail \
    && useradd --no-log-init --uid 10001 --gid 10001 --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin tempmail \
    && mkdir /data \
    && chown 10001:10001 /data \
    && chmod 0700 /data
COPY --from=build /opt/tempmail /opt/tempmail
ENV PATH="/opt/tempmail/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TEMPMAIL_DATA_DIR=/data \
    TEMPMAIL_HTTP_HOST=0.0.0.0 \
    TEMPMAIL_HTTP_PORT=8000 \
    TEMPMAIL_SMTP_HOST=0.0.0.0 \
    TEMPMAIL_SMTP_PORT=8025
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000 8025
# No curl in the image: the venv's Python asks /health on the port the server was given.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/opt/tempmail/bin/python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('TEMPMAIL_HTTP_PORT', '8000'), timeout=4)"]
# uvicorn stops on SIGTERM: it closes the SMTP listener and the database within 5 s.
STOPSIGNAL SIGTERM
ENTRYPOINT ["tempmail"]
CMD ["serve", "--log-format", "json"]
