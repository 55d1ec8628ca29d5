# cloudmap-haproxy: the official HAProxy image plus one binary, the agent, which starts and
# supervises HAProxy itself.
#
#   docker build -t cloudmap-haproxy .
#   docker run --init -p 80:80 -e AWS_REGION=us-east-1 -e NAMESPACE_MAP='[...]' \
#     -e STATS_PASSWD=... -e PROM_PASSWD=... cloudmap-haproxy
#
# Both base images are pinned to a release tag. HAProxy 3.4 is an LTS branch and the first that
# adds backends at runtime: new and removed services then need no reload
# (docs/haproxy-runtime-backends.md). The agent renders nothing newer than 2.6 and nothing
# deprecated in 3.x, so any LTS from 2.6 on works (before 3.4 new services take a reload). To move
# to another release, pass e.g. --build-arg HAPROXY_IMAGE=haproxy:3.2.21-trixie (keep a
# Debian-based tag: the binary needs glibc). To pin the exact bytes too, add the digest your
# registry reports for the tag (`docker buildx imagetools inspect haproxy:3.4.8-trixie`, the
# index's Digest):
#   --build-arg HAPROXY_IMAGE=haproxy:3.4.8-trixie@sha256:<digest>
# (the tag stays next to the digest, for people; the packaging test accepts both forms).
ARG NODE_IMAGE=node:22.23.2-bookworm-slim
ARG HAPROXY_IMAGE=haproxy:3.4.8-trixie

# ---- build: compile src/main.ts into one self-contained executable with bun ----
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Only what the binary is built from: the runtime dependencies from the lock (about 100 MB) and
# bun at the lock's version (about 100 MB), not every development tool `npm ci` brings for the
# tests (about 610 MB: Node, Deno, the test runner and browser driver).
RUN npm ci --omit=dev --no-audit --no-fund \
    && npm install --no-save --no-package-lock --no-audit --no-fund --prefix /opt/bun \
       "bun@$(node -p "require('./package-lock.json').packages['node_modules/bun'].version")"
COPY tsconfig.json ./
COPY src ./src
# --bytecode without --format=esm exits 0 but writes a broken binary, so run the result once.
RUN PATH="/opt/bun/node_modules/.bin:$PATH" npm run build && ./dist/cloudmap-haproxy version

# ---- runtime: the official HAProxy image ----
FROM ${HAPROXY_IMAGE}

# The base image ends with USER haproxy; creating the config directory needs root.
USER root
COPY --from=build /src/dist/cloudmap-haproxy /usr/local/bin/cloudmap-haproxy
# CONFIG_DIR (haproxy.cfg, maps, sockets, rejected candidates), owned by the unprivileged user.
RUN install -d -o haproxy -g haproxy -m 0750 /var/lib/cloudmap-haproxy \
    && cloudmap-haproxy version \
    && haproxy -v

USER haproxy
WORKDIR /var/lib/cloudmap-haproxy

# HTTP traffic: LISTEN_PORT's default 80 (the original image's), and 8080, what the ECS examples,
# the CloudFormation template and the CDK construct set: port 80 as a non-root user works where
# Docker 20.10+ sets net.ipv4.ip_unprivileged_port_start=0 in the container's network namespace,
# not with host networking or every other runtime. 8404: MONITORING_PORT in those examples
# (HAProxy's /stats and /metrics). 3000: HEALTH_PORT (the agent's /healthz /readyz /metrics /status).
EXPOSE 80 8080 8404 3000

# The agent handles SIGTERM: /readyz goes false, HAProxy is soft-stopped and drained for
# DRAIN_SECONDS, then it exits 0. The base image's SIGUSR1 would not reach HAProxy.
STOPSIGNAL SIGTERM

# Liveness: exits 0 when /healthz answers 200 (the agent's loop progresses and HAProxy runs an
# applied configuration; a Cloud Map outage never fails it). No curl in the image. HEALTH_ADDRESS/HEALTH_PORT are read
# from the same environment as the agent.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["cloudmap-haproxy", "healthcheck"]

# Replaces the base image's docker-entrypoint.sh: the agent starts HAProxy itself.
ENTRYPOINT ["cloudmap-haproxy"]
CMD ["run"]
