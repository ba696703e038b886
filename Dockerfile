# keytrade: one image for web, worker and beat (docker-compose.yml runs all three).
FROM python:3.11-slim

# PYTHONPATH: run the source in /app (templates and static live next to it), not the copy
# that `pip install .` puts in site-packages.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    KEYTRADE_VAR_DIR=/app/var \
    STATIC_ROOT=/app/staticfiles

RUN groupadd --system keytrade \
    && useradd --system --gid keytrade --home-dir /app --shell /usr/sbin/nologin keytrade

WORKDIR /app
COPY . .
RUN pip install . && rm -rf build ./*.egg-info

# Static files are collected into the image (whitenoise serves them, compressed and hashed).
# The keys below exist only for this build step; the running container gets its own from .env.
RUN SECRET_KEY=collectstatic-build-step-only CRYPTOGRAPHY_KEY=collectstatic-build-step-only \
    DEBUG=false python manage.py collectstatic --no-input \
    && rm -rf /app/var && mkdir -p /app/var/candles && chown -R keytrade:keytrade /app/var

USER keytrade
EXPOSE 8000
CMD ["gunicorn", "keytrade.wsgi", "--bind", "0.0.0.0:8000", "--worker-class", "sync", "--workers", "4", \
     "--timeout", "60", "--access-logfile", "-"]
