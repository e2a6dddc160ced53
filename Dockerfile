# syntax=docker/dockerfile:1
# Build: compile native modules, generate the Prisma clients, compile TypeScript to dist/.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY prisma ./prisma
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3 esbuild
COPY . .
RUN npm run db:generate && npm run build && npm prune --omit=dev

# Run: compiled JavaScript on node, as an unprivileged user (node, uid 1000). No tsx, no npm in between:
# SIGTERM reaches the process that delivers, which drains and exits within SHUTDOWN_TIMEOUT_SECONDS.
FROM node:20-bookworm-slim
ENV NODE_ENV=production DATABASE_URL=file:/data/sendgate.db OUTBOX_DIR=/data/outbox PORT=3000
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json /app/package-lock.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
# The migrations and Prisma's configuration: `node dist/main.js` applies pending ones before serving
# (MIGRATE_ON_START=false where an init container runs `node dist/cli/migrate.js` instead).
COPY --from=build --chown=node:node /app/prisma ./prisma
COPY --from=build --chown=node:node /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "dist/main.js"]
