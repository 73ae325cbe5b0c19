"""``python -m logger_app.worker``: what ``logger-app worker`` runs."""

from logger_app.worker.main import main

main()
