# Gatehouse container image. Two stages:
#   build   - installs every dependency and compiles src/ to dist/ with tsc (tsconfig.build.json rewrites the
#             `.ts` import extensions to `.js`);
#   runtime - the same pinned Node on Debian slim, production dependencies only (`npm ci --omit=dev`), the
#             compiled dist/ plus the files it reads at run time (views/, config/default.json), run as the
#             unprivileged `node` user with `node dist/main.js` — the same command as `npm run start:prod`, which
#             tests/operations/production-start.test.ts starts from a fresh compile in the same layout.
# Configuration is by environment only (see docs/configuration.md); no key, secret or .env file is copied in.
# The base is pinned to the Node version the tests run on (the `node` devDependency); pin its digest too in
# your registry mirror if you need byte-for-byte rebuilds.

ARG NODE_IMAGE=node:24.21.0-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
# argon2 ships prebuilt binaries for linux glibc (x64, arm64): no compiler needed.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY views ./views
COPY config/default.json ./config/default.json
COPY config/common-passwords.txt ./config/common-passwords.txt
COPY bin ./bin
USER node
EXPOSE 3000
# Liveness only (/healthz); orchestrators should also probe /readyz (storage reachable) before sending traffic.
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Node is PID 1 and handles SIGTERM itself (src/main.ts: stop accepting, finish requests in flight, close Redis).
CMD ["node", "dist/main.js"]
