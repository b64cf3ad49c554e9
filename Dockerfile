# Playlist Analytics: one image for the web app (gunicorn) and the worker (qcluster).
# See docker-compose.yml for how they are run and configured.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so that code changes do not reinstall them.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files (WhiteNoise serves them): hashed and compressed at build time.
# The keys are throwaways needed only to load the settings.
RUN DEBUG=false SECRET_KEY=collectstatic-only-0123456789abcdefghijklmnopqrstuvwxyz \
    SPOTIFY_TOKEN_KEY=Y29sbGVjdHN0YXRpYy1vbmx5LW5vdC1hLXJlYWwta2U= \
    ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput

# Run as an unprivileged user; DATA_DIR (./data) is the only place the app writes.
RUN useradd --system --create-home --uid 10001 app \
    && mkdir -p /app/data \
    && chown app:app /app/data
USER app

EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000"]
