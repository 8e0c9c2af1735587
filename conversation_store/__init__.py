"""Where the Rasa server keeps conversations (bot/endpoints.yml names the class).

Its own package, loaded by the Rasa server from PYTHONPATH (the repo root): it is neither NLU
(nlu/) nor the action server (actions/, a separate process), and bot/ holds only Rasa's data.
"""

from conversation_store.window import RedisWindowTrackerStore

__all__ = ["RedisWindowTrackerStore"]
