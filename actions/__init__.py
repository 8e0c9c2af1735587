"""Rasa action server: one module per flow, thin: read the conversation, call `backend`, word the answer.

`rasa run actions --actions actions` imports every submodule of this package.
"""
