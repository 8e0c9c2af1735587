"""The WeChat account the end-to-end system is configured with.

The official test account's EncodingAESKey and appid (docs/WECHAT_PROTOCOL.md); the Token is longer than its
"AAAAA", since a deployment with credentials refuses to start with a short one."""

TOKEN = "AAAAA-e2e-token-0123456789"
AES_KEY = "A" * 43
APPID = "wxba5fad812f8e6fb9"
