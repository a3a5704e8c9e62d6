"""Scripted end-to-end scenarios: ``localcloud demo <blueprint>`` runs ``demos/<blueprint>.py``."""
