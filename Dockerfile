# syntax=docker/dockerfile:1
#
# Crosstalk CDS Hooks service: build with the devDependencies (tsc), run with the runtime ones only.
#   docker build -t crosstalk .
#   docker run --rm -p 127.0.0.1:3000:3000 crosstalk node dist/src/server/main.js --demo   # as `npm start`
# Without --demo it starts as in production: no embedded FHIR server, and it refuses to start until
# CROSSTALK_TRUSTED_CLIENTS names a trusted-clients file (README "Security"), e.g. mounted read-only, and
# CROSSTALK_AUDIT_HMAC_KEY holds a secret of at least 32 characters (README "Audit trail"):
#   docker run -p 3000:3000 -v /etc/crosstalk/clients.json:/config/clients.json:ro -v crosstalk-data:/app/data
#     -e CROSSTALK_TRUSTED_CLIENTS=/config/clients.json -e CROSSTALK_AUDIT_HMAC_KEY="$(cat /etc/crosstalk/audit.key)"
#     -e PUBLIC_BASE_URL=https://cds.example.org crosstalk
# docker-compose.yml runs it beside HAPI FHIR (see there).
#
# Base image: Node 24 LTS (supported until April 2028), the one runtime of development, tests, CI and this image.
# package.json engines is ">=24.0.0" and @medplum/* 5.x wants "^22.18.0 || >=24.2.0": 24 satisfies both.
# test/deploy.test.ts checks that, and keeps both stages on the same image; test/ships.test.ts runs the compiled
# service the way this image does.

FROM node:24-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 13 carries its prebuilt binaries inside the npm package: no compiler, no download, no install script.
# .npmrc before `npm ci`: it sets omit=peer / legacy-peer-deps, so fhirclient does not pull in react-native.
COPY package.json package-lock.json .npmrc ./
RUN npm ci
# tsconfig.json compiles src/, test/ and bench/; .dockerignore keeps node_modules/ and dist/ out of the context.
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# The runtime dependencies as installed above (native addon included).
COPY --from=build /app/node_modules ./node_modules
# The code finds its root by walking up from dist/src/config/ to the folder holding package.json and
# cds-hooks/ (src/config/paths.ts), so cds-hooks/ sits at /app/cds-hooks beside /app/dist.
COPY cds-hooks ./cds-hooks
COPY bin ./bin
COPY deploy/seed.js deploy/healthcheck.js ./deploy/
# Only the compiled sources; the build also compiles test/ and bench/, which the image does not need.
COPY --from=build /app/dist/src ./dist/src
# The SMART app and demo EHR bundles (npm run build runs build:web).
COPY --from=build /app/dist/web ./dist/web
# Everything above is root-owned and read-only to the service; it writes only its SQLite store, in a volume.
RUN mkdir -p /app/data && chown node:node /app/data
ENV CROSSTALK_DATA_DIR=/app/data
VOLUME ["/app/data"]
USER node
EXPOSE 3000
# Slim images have no curl: deploy/healthcheck.js GETs http://127.0.0.1:$PORT/healthz with node's fetch.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "deploy/healthcheck.js"]
CMD ["node", "dist/src/server/main.js"]
