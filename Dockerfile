# One image for every process of the production layout (see Procfile and compose.yaml):
# the command decides whether it serves the web, works a queue or runs beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# espeak-ng speaks for personas when no ElevenLabs key is set (the local voice).
RUN apt-get update \
    && apt-get install -y --no-install-recommends espeak-ng \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

RUN useradd --create-home --uid 10001 callmeback
COPY . .
# Static files collected into the image (whitenoise serves them); var/ holds beat's schedule.
RUN python manage.py collectstatic --noinput \
    && mkdir -p var \
    && chown callmeback:callmeback var
USER callmeback

EXPOSE 8000
CMD ["sh", "-c", "exec uvicorn callmeback.asgi:application --host 0.0.0.0 --port ${PORT:-8000} --no-access-log --no-proxy-headers --lifespan off --timeout-graceful-shutdown 5"]
