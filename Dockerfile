# Multi-stage build: compile TypeScript with dev dependencies, ship only production ones.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends softhsm2 fonts-noto-cjk && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home /var/lib/eseal eseal && mkdir -p /var/lib/eseal && chown eseal /var/lib/eseal
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY schemas ./schemas
ENV NODE_ENV=production ESEAL_DATA_DIR=/var/lib/eseal PORT=8080
USER eseal
EXPOSE 8080
VOLUME ["/var/lib/eseal"]
HEALTHCHECK CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/main.js"]
