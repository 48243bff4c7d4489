"""WeChat Pay integration: the gateway over wechatpayv3, dev/test keys and a local API v3 simulator."""
