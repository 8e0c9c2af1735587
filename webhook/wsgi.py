"""gunicorn entry point: `gunicorn webhook.wsgi:app`."""
from backend.core.logs import setup_logging
from webhook.app import create_app

setup_logging()
app = create_app()
