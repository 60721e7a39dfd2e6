# syntax=docker/dockerfile:1
# Sharp Eyes Hub image. Stage 1 builds a wheel of the hub and of every dependency; stage 2 installs
# them into a clean slim image, so no compiler, pip cache or source tree ends up in the runtime.
#
#   docker build -t sharp-eyes-hub .
#   docker run -p 8080:8080 -v hub-data:/data -e HUB_SECRET_KEY=... sharp-eyes-hub

ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY adapters ./adapters
COPY inference ./inference
COPY storage ./storage
RUN pip wheel --wheel-dir /wheels .

FROM ${PYTHON_IMAGE} AS runtime
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HUB_DATA_DIR=/data \
    HUB_API__HOST=0.0.0.0
# The wheels are bind-mounted from the build stage, not copied, so they never become an image layer.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels sharp-eyes-hub \
    && python -c "import av, cv2, hub.config"
RUN groupadd --system --gid 10001 hub \
    && useradd --system --uid 10001 --gid hub --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin hub \
    && mkdir -p /data /etc/hub \
    && chown hub:hub /data
# A default configuration (no cameras); docker-compose.yml mounts deploy/hub.yaml over it.
COPY deploy/hub.yaml /etc/hub/hub.yaml
USER hub:hub
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# The slim image has no curl: ask Python. urlopen raises (exit 1) on any non-2xx answer or no answer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/api/v1/healthz', timeout=4)"]
ENTRYPOINT ["hub"]
CMD ["serve", "--config", "/etc/hub/hub.yaml"]
