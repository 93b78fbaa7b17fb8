# Enrollgraph in a container: Node 20, production dependencies only, run by the unprivileged `node`
# user, state in the /data volume, listening on 0.0.0.0:8080.
#
#   docker build -t enrollgraph .
#   docker run --rm -p 8080:8080 -v enrollgraph-data:/data enrollgraph
#   docker run --rm -p 8080:8080 -e ENROLLGRAPH_THROTTLING=off enrollgraph serve --memory
#
# Every flag can be given as an ENROLLGRAPH_* variable (-e) or after the image name (`serve …`); the
# first start prints the generated admin key (docker logs). test/package/package.test.ts runs this
# file's pack, install, start and health-check commands outside a container.

# Build: compile the TypeScript and the console, and pack the package as npm would publish it.
FROM node:20-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY . .
RUN npm pack --pack-destination /tmp && mv /tmp/enrollgraph-*.tgz /tmp/enrollgraph.tgz

# Run: the packed package with its production dependencies only.
FROM node:20-slim
ENV NODE_ENV=production ENROLLGRAPH_HOST=0.0.0.0 ENROLLGRAPH_PORT=8080 ENROLLGRAPH_DATA=/data
WORKDIR /app
COPY --from=build /tmp/enrollgraph.tgz /tmp/enrollgraph.tgz
RUN npm install --omit=dev --no-audit --no-fund /tmp/enrollgraph.tgz
RUN rm /tmp/enrollgraph.tgz && mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.ENROLLGRAPH_PORT || 8080) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "/app/node_modules/enrollgraph/bin/enrollgraph.js"]
CMD ["serve"]
