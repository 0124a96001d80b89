# The Guanlian API image (used by docker-compose.yml), workspace included.

# The workspace's graph library from the npm registry (web/package-lock.json).
FROM node:20-slim AS web-assets
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GUANLIAN_STATE_DIR=/var/lib/guanlian

# LightGBM (the learned risk score of `evaluate-risk --as-of`) needs the OpenMP runtime
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY runfolder ./runfolder
COPY linkage ./linkage
COPY graph ./graph
COPY risk ./risk
COPY pipeline ./pipeline
COPY alerts ./alerts
COPY inspection ./inspection
COPY api ./api
COPY web ./web
COPY --from=web-assets /web/node_modules/cytoscape/dist/cytoscape.min.js ./web/node_modules/cytoscape/dist/
COPY --from=web-assets /web/node_modules/cytoscape/LICENSE ./web/node_modules/cytoscape/
# the page and its library install as package data of `web` (served at /ui/ from site-packages)
RUN pip install -c constraints.txt . \
    && useradd --system --uid 10001 --home-dir /var/lib/guanlian guanlian \
    && mkdir -p /var/lib/guanlian \
    && chown guanlian /var/lib/guanlian

USER guanlian
VOLUME ["/var/lib/guanlian"]
EXPOSE 8000
CMD ["guanlian", "serve", "--neo4j", "bolt://neo4j:7687", "--host", "0.0.0.0", "--port", "8000"]
