# Booking Desk: `streamlit run app.py` (pages + HTTP API) on port 8501.
#   docker build -t booking-desk .
#   docker run -p 8501:8501 -v booking-data:/var/lib/booking-desk --env-file .env booking-desk
# Set BOOKING_PUBLIC_URL (and the secrets, see .env.example) at run time, never here.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    STREAMLIT_SERVER_HEADLESS=true \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    BOOKING_DB_PATH=/var/lib/booking-desk/booking.db

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so this layer is rebuilt only when they change.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The application (root-owned, read-only to the app user), then the package itself for
# the `booking` command (its dependencies are already in place).
COPY README.md app.py ui.py ./
COPY booking/ booking/
COPY ui_kit/ ui_kit/
COPY app_pages/ app_pages/
COPY static/ static/
COPY data/analysts.toml data/
COPY .streamlit/config.toml .streamlit/
RUN pip install --no-cache-dir --no-deps . \
    && rm -rf build ./*.egg-info

# The SQLite file lives on a volume outside /app, so mounting it never hides data/analysts.toml.
RUN groupadd --gid 1000 booking \
    && useradd --uid 1000 --gid 1000 --create-home --shell /usr/sbin/nologin booking \
    && mkdir -p /var/lib/booking-desk \
    && chown 1000:1000 /var/lib/booking-desk
VOLUME /var/lib/booking-desk

USER 1000:1000
EXPOSE 8501

# 200 while the database is reachable, 503 (an error for urlopen) otherwise.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/healthz', timeout=4)"]

CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0"]
