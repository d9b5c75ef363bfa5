# One image for every service; the command picks the app (see docker-compose.yml and k8s/).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json /app/tsconfig.base.json /app/register-paths.js ./
USER node
CMD ["node", "-r", "./register-paths.js", "dist/apps/gateway/src/main.js"]
