"""Run the simulator as a local HTTP service: ``python -m payments.simulator --keys-dir .wechatpay-sim``."""

from __future__ import annotations

import argparse
from pathlib import Path

from payments.keys import load_or_create_keys
from payments.simulator.app import create_wechatpay_simulator


def main() -> None:
    parser = argparse.ArgumentParser(description="Pond's local WeChat Pay API v3 simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--keys-dir", type=Path, default=Path(".wechatpay-sim"))
    parser.add_argument("--retry-speedup", type=float, default=1.0)
    parser.add_argument("--refund-seconds", type=float, default=2.0,
                        help="a refund succeeds by itself this long after it was asked for (negative: never)")
    parser.add_argument("--https-notify-only", action="store_true", help="refuse http://localhost notify URLs")
    args = parser.parse_args()

    import uvicorn

    keys = load_or_create_keys(args.keys_dir)
    app = create_wechatpay_simulator(
        keys,
        retry_speedup=args.retry_speedup,
        allow_http_notify=not args.https_notify_only,
        refund_seconds=args.refund_seconds if args.refund_seconds >= 0 else None,
    )
    print(f"WeChat Pay simulator for mchid {keys.mchid} on http://{args.host}:{args.port} (keys in {args.keys_dir})")
    uvicorn.run(app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
