# smc-maint: the maintenance runbook as a container for the Kubernetes CronJobs
# (`smc-maint k8s manifests`). Non-root, read-only-root friendly, pinned base.
#
#   docker build -t registry.example.com/smc/smc-maint:0.1.0 .
#
# Pin the base by digest in your registry mirror for reproducible builds:
#   --build-arg PYTHON_IMAGE=python:3.11.11-slim-bookworm@sha256:<digest>
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
# PostgreSQL client tools (pg_dump, pg_restore, psql) must be >= the server's major version:
# the platform runs postgres:15, which is Debian bookworm's client. zstd compresses backups.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-15 zstd ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 smc \
 && useradd --system --uid 10001 --gid smc --home-dir /var/lib/smc-maint --shell /usr/sbin/nologin smc \
 && install -d -o smc -g smc -m 0750 /var/lib/smc-maint /etc/smc-maint
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
ENV SMC_MAINT_HOME=/var/lib/smc-maint \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/usr/lib/postgresql/15/bin:$PATH
USER 10001:10001
WORKDIR /var/lib/smc-maint
ENTRYPOINT ["smc-maint"]
CMD ["--help"]
