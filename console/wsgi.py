"""gunicorn entry point: `gunicorn console.wsgi:app`."""
from backend.core.logs import setup_logging
from console.app import create_app

setup_logging()
app = create_app()
