# The pmhub image. web (gunicorn), the Celery worker and Celery beat all run from it; see
# docker-compose.yml for their commands.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=pmhub.settings.production

WORKDIR /app

# Dependencies before the code, so that a code change does not reinstall them. The image gets
# pyproject.toml's runtime dependencies at exactly the versions pinned in requirements.lock; the
# lock's quick-start and test packages (embedded PostgreSQL, Playwright, pytest...) stay out.
# PyTorch's CPU build (torch==...+cpu in the lock; the tagging model needs no GPU) comes from
# PyTorch's own index: PyPI has only the multi-gigabyte CUDA build.
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep=chr(10))" > /tmp/runtime-requirements.txt \
 && pip install --extra-index-url https://download.pytorch.org/whl/cpu \
        --constraint requirements.lock --requirement /tmp/runtime-requirements.txt \
 && rm /tmp/runtime-requirements.txt

COPY . .

# Settings read SECRET_KEY and DATABASE_URL on import; collectstatic needs neither for real, so it
# gets harmless values that live only in this build step, never in the image's environment.
RUN SECRET_KEY=collectstatic-build-only DATABASE_URL=postgres://build@localhost:5432/build \
    python manage.py collectstatic --noinput --verbosity 0

RUN useradd --system --uid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin pmhub \
    && mkdir -p /data/uploads && chown pmhub /data/uploads
USER pmhub

EXPOSE 8000
CMD ["gunicorn", "pmhub.wsgi", "--bind", "0.0.0.0:8000", "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-", "--logger-class", "pmhub.core.logs.GunicornLogger"]
