"""The staff console: a server-rendered Flask app for the service desk, supervisors and technicians.

It knows the backend (records, delivery through the worker) and nothing of Rasa or the webhook.
"""
