# syntax=docker/dockerfile:1
#
# Switchboard's image: the release build made by the project's own scripts (scripts/lib.sh), then
# a small Debian runtime with the binary, the browser assets (target/site) and what the engine's
# sandbox needs (bubblewrap). One image serves both roles: the console (the default command) and
# the standalone engine (`engine --listen 0.0.0.0:4010`). docs/deploy.md says how to run it;
# deploy/check lays this runtime stage out as a folder and runs it as plain processes.
#
#   docker build -t switchboard .

# ---- build: the same release build `scripts/run` serves ------------------------------------
FROM rust:1.95-bookworm AS build
WORKDIR /src
# The build tools first, in a layer of their own that only a change to these files rebuilds:
# ensure_build_tools adds the WASM target and std's sources and installs npm's binaryen and
# esbuild from scripts/tools (site-build, the bundle's build step, is compiled by release_build).
COPY scripts/lib.sh scripts/
COPY scripts/tools/ scripts/tools/
RUN bash -c 'source scripts/lib.sh && ensure_build_tools'
COPY . .
# The split WASM bundle (target/site) and the release server (target/release/switchboard).
RUN bash -c 'source scripts/lib.sh && release_build'

# ---- runtime ---------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime
# bubblewrap: the engine's sandbox; ca-certificates: https to Anthropic's API, a model endpoint
# or an OIDC provider; curl: the health check; git: sessions' GitHub repositories, checked out by
# the engine (and git for the agents' own use in the sandbox).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends bubblewrap ca-certificates curl git \
    && rm -rf /var/lib/apt/lists/*
# A fixed uid and gid, so that a volume's owner is known before the container starts
# (Kubernetes' fsGroup, a host directory's chown).
RUN groupadd --gid 10001 switchboard \
    && useradd --uid 10001 --gid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin switchboard \
    && mkdir -p /data \
    && chown 10001:10001 /data \
    && chmod 0700 /data
COPY --from=build /src/target/release/switchboard /usr/local/bin/switchboard
COPY --from=build /src/target/site /usr/share/switchboard/site
ENV SWITCHBOARD_LISTEN=0.0.0.0:3000 \
    SWITCHBOARD_DATA_DIR=/data \
    SWITCHBOARD_SITE_ROOT=/usr/share/switchboard/site
USER 10001:10001
WORKDIR /data
VOLUME /data
EXPOSE 3000
# The console's liveness; the engine's container replaces it (deploy/compose.yaml).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:3000/healthz"]
# Both roles stop on SIGTERM: open streams end, then the process exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["switchboard"]
