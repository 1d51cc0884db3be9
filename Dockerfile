# Sortie gateway image: built in one stage, run from a slim one as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY adapters ./adapters
COPY exit_drills ./exit_drills
COPY service ./service
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 sortie
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER sortie
WORKDIR /home/sortie
ENV SORTIE_CONFIG=/etc/sortie/sortie.yaml
VOLUME ["/home/sortie/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["sortie", "serve", "--host", "0.0.0.0", "--port", "8000"]
