"""Jieba tokenizer for owners' mixed Chinese/English messages.

Rasa's JiebaTokenizer keeps the spaces jieba returns as tokens ("报修 ok" gives "报修", " ",
"ok"), which adds noise features and misaligns entities. This one drops whitespace tokens.
It stays trainable like its parent: training copies the property dictionary (nlu/dict) into
the model, and loading the model loads it, so the model tokenises the same way anywhere.
"""

from __future__ import annotations

from typing import List, Text

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class PropertyJiebaTokenizer(JiebaTokenizer):
    def tokenize(self, message: Message, attribute: Text) -> List[Token]:
        import jieba

        text = message.get(attribute)
        tokens = [Token(word, start) for (word, start, _end) in jieba.tokenize(text) if word.strip()]
        return self._apply_token_pattern(tokens)
