# One image for the server and the gateway: `smartoffice server` or `smartoffice edge`.
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY contracts contracts
COPY edge edge
COPY server server
COPY smartoffice smartoffice
RUN pip install . && useradd --system --uid 10001 --home /var/lib/smartoffice smartoffice \
    && mkdir -p /var/lib/smartoffice/broker && chown -R smartoffice /var/lib/smartoffice
USER smartoffice
WORKDIR /var/lib/smartoffice
ENTRYPOINT ["smartoffice"]
CMD ["server"]
