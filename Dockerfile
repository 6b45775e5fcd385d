# One image for the server and the gateway: `smartoffice server` or `smartoffice edge`.
# The front-end libraries the server serves itself (no CDN at run time) come from npm.
FROM node:22-slim AS web
WORKDIR /web
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM python:3.12-slim-trixie
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    SMARTOFFICE_WEB_VENDOR_DIR=/app/node_modules
WORKDIR /app
COPY pyproject.toml README.md ./
COPY contracts contracts
COPY edge edge
COPY server server
COPY smartoffice smartoffice
COPY --from=web /web/node_modules/swagger-ui-dist node_modules/swagger-ui-dist
COPY --from=web /web/node_modules/redoc/bundles node_modules/redoc/bundles
# pg_dump and pg_restore for `smartoffice backup` (Debian trixie: PostgreSQL 17, as compose).
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
RUN pip install . && useradd --system --uid 10001 --home /var/lib/smartoffice smartoffice \
    && mkdir -p /var/lib/smartoffice/broker /var/lib/smartoffice/backups && chown -R smartoffice /var/lib/smartoffice
USER smartoffice
WORKDIR /var/lib/smartoffice
ENTRYPOINT ["smartoffice"]
CMD ["server"]
