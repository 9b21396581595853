# syntax=docker/dockerfile:1
# One image for the gateway and the worker (the worker overrides the command).
#   docker build -t responses-gateway .
#   docker run -p 8282:8282 responses-gateway                                # gateway, embedded mode
#   docker run -e REDIS_URL=redis://… responses-gateway node apps/worker/src/main.ts   # worker
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step: the image
# holds production dependencies plus apps/ and libs/ sources.

ARG NODE_IMAGE=node:24-slim

# --- manifests: only the package.json files, so the dependency layer is rebuilt only when they change.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && cp package.json package-lock.json /manifests/ \
 && for manifest in apps/*/package.json libs/*/package.json; do \
      mkdir -p "/manifests/$(dirname "$manifest")" && cp "$manifest" "/manifests/$manifest"; \
    done

# --- deps: production dependencies only (no typescript, vitest, SDKs used by tests).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY --from=manifests /manifests/ ./
# --ignore-scripts: no runtime dependency needs an install script; it keeps the build hermetic.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

# --- runtime
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    PORT=8282 \
    HOST=0.0.0.0
# node_modules/@rgw/* are symlinks into libs/; COPY keeps them as links.
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --chown=root:root package.json ./
COPY --chown=root:root libs ./libs
COPY --chown=root:root apps ./apps
# Test files and fixtures are not needed at run time.
RUN find apps libs -name '*.test.ts' -delete \
 && find apps libs -type d \( -name '__fixtures__' -o -name 'test-support' \) -prune -exec rm -rf {} +
# Strip and compile the TypeScript once, at build time, with the flags the apps run with: replicas then
# start without loading Node's type stripper (about 20 MB less RSS each, docs/operations.md).
ENV NODE_COMPILE_CACHE=/app/.cache/node-compile-cache
RUN node --max-semi-space-size=16 apps/gateway/src/main.ts --load-only \
 && node apps/worker/src/main.ts --load-only
# The `node` user (uid 1000) comes with the official image; the app writes nothing to disk, so the
# root-owned files stay read-only for it (and Kubernetes can mount the root filesystem read-only).
USER node
# 8282: gateway HTTP API and /metrics. 9464: worker /health and /metrics.
EXPOSE 8282 9464
# Slim images have no curl; Node's fetch does the probe. It checks the gateway's PORT; for the worker
# set HEALTHCHECK_PORT=9464 (docker-compose.yaml overrides the check instead; Kubernetes ignores it).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HEALTHCHECK_PORT || process.env.PORT || 8282) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form, never `npm start`: npm does not forward SIGTERM, and the gateway drains streams on it.
# The V8 flag caps the young generation (why: apps/gateway/src/gateway-node-flags.ts).
CMD ["node", "--max-semi-space-size=16", "apps/gateway/src/main.ts"]
