# The Guanlian API image (used by docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    GUANLIAN_STATE_DIR=/var/lib/guanlian

WORKDIR /app
COPY pyproject.toml README.md ./
COPY runfolder ./runfolder
COPY linkage ./linkage
COPY graph ./graph
COPY risk ./risk
COPY pipeline ./pipeline
COPY api ./api
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /var/lib/guanlian guanlian \
    && mkdir -p /var/lib/guanlian \
    && chown guanlian /var/lib/guanlian

USER guanlian
VOLUME ["/var/lib/guanlian"]
EXPOSE 8000
CMD ["guanlian", "serve", "--neo4j", "bolt://neo4j:7687", "--host", "0.0.0.0", "--port", "8000"]
