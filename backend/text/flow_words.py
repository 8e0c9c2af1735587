"""Words about the flow an owner is in, whatever the NLU makes of them (issue 14).

- `cancels`: the owner stops what we are doing together (不办了, 算了, 不填了, 别派师傅了, 那个投诉不要了).
  Used by every flow: the repair, complaint and decoration forms, binding, the satisfaction survey
  and the rating of a finished job (actions/interruptions.py, backend/service/survey.py).
- `asks_instead`: a question to us rather than an answer to our free-text question ("物业电话多少"
  while the survey waits for a suggestion), unless it is worded as a suggestion itself.
"""

from __future__ import annotations

import re
import unicodedata

# Filler an owner may put before the stop word: "那个 不办了", "哎 算了", "我们先不弄了".
_LEAD = r"(?:那|那个|这个|哎|唉|嗯|额|呃|好吧|行吧|我|我们|先|就|还是|暂时|今天|要不)*\s*"
# What is being stopped: "不X了" / "别X了" / "不想X了".
_VERB = r"(?:办|弄|搞|填|写|评|评价|打分|申请|投诉|反映|报修|修|报|绑|绑定|装|装修|登记|派|派人|派师傅|来|来修|提交|做)"
_THING = r"(?:申请|投诉|报修|单子|工单|问卷|调查|评价|绑定|登记|装修申请)"
_CANCEL = re.compile(
    rf"^{_LEAD}(?:算了|算啦|不用了|不要了|不需要了|取消|撤销|撤回|撤了|撤掉)"
    rf"|^{_LEAD}(?:不想|不|别|不用|不要){_VERB}(?:了|啦|吧)"
    rf"|^{_LEAD}(?:别|不用|不要)(?:派|来)"
    rf"|{_THING}\s*(?:先|我|就)?\s*(?:不要了|不办了|不填了|不弄了|取消|撤了|撤掉|撤回)"
    rf"|^(?:取消|撤销|撤回){_THING}"
)
_ASKS = re.compile(
    r"[?？]\s*$|吗\s*[?？。!！]*\s*$|多少|几点|几号|哪里|哪儿|在哪|怎么|咋|什么时候|啥时候|是什么|是啥|有没有|电话|客服"
)
_SUGGESTS = re.compile(r"建议|希望|应该|最好|要是|如果|能不能|可不可以|能否|改进|加强|多一些|多一点|少一些|太少|不够")


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def cancels(text: str) -> bool:
    """The owner stops the flow: 不办了 / 算了 / 取消 / 不填了 / 别派师傅了 / 那个投诉不要了."""
    return bool(_CANCEL.search(_normalise(text)))


def asks_instead(text: str) -> bool:
    """A question to us, not an answer to a free-text question of ours (a suggestion)."""
    text = _normalise(text)
    return bool(_ASKS.search(text)) and not _SUGGESTS.search(text)
