# syntax=docker/dockerfile:1
# Build: compile native modules, generate the Prisma clients, type-check.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY prisma ./prisma
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3 esbuild
COPY . .
RUN npm run db:generate && npm run typecheck && npm prune --omit=dev

# Run: only what the service needs, as an unprivileged user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production DATABASE_URL=file:/data/sendgate.db OUTBOX_DIR=/data/outbox PORT=3000
WORKDIR /app
COPY --from=build --chown=node:node /app /app
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Migrations first (Prisma's migrate deploy), then the service.
CMD ["sh", "-c", "npx tsx src/cli/migrate.ts && exec npx tsx src/main.ts"]
