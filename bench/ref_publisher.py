"""Bench publisher for the reference implementation (pdum.rfb, Python).

Serves test_card through the reference's own server (``pdum.rfb.serve``: its sessions,
encoders and WebSocket protocol, unchanged) and publishes it from a fixed-rate loop, the
same schedule ``rfb serve`` uses (frame n at start + n/fps; a late frame is published at
once and the schedule continues). Publish counter n renders pattern seq n.

Prints JSON lines on stdout for the bench driver:

    {"kind": "listening", "port": P}                       once the server is up
    {"kind": "publish", "seq": n, "ts_us": T}              per frame (T: the frame's
                                                           timestamp_us on the display clock)
    {"kind": "input", "received_us": R, "event": {...}}    per input event received

The display clock (``time.monotonic`` since the display started) stamps both frames and
received input, which is what the driver's clock sync relies on.

Run with the reference's interpreter: ``/tmp/ref/bin/python bench/ref_publisher.py --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time

from pdum.rfb import serve
from pdum.rfb.testing import render_pattern


def emit(record: dict) -> None:
    sys.stdout.write(json.dumps(record) + "\n")


async def main(args: argparse.Namespace) -> None:
    display = await serve(
        args.width,
        args.height,
        host="127.0.0.1",
        port=args.port,
        fps=int(round(args.fps)),
        has_h264=False if args.force_image else None,
        has_nvenc=False,
        stats_interval=args.stats_interval,
    )
    emit({"kind": "listening", "port": args.port})
    sys.stdout.flush()
    period = 1.0 / args.fps
    start = time.monotonic()
    n = 0
    try:
        while True:
            n += 1
            frame = render_pattern("test_card", n, args.width, args.height)
            display.publish(frame)
            emit({"kind": "publish", "seq": n, "ts_us": display._latest.timestamp_us})
            for event in display.poll_events():
                if hasattr(event, "received_us") and hasattr(event, "event"):
                    emit({"kind": "input", "received_us": event.received_us, "event": event.event})
            sys.stdout.flush()
            delay = start + n * period - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                # Late: publish the next frame now and move the schedule (skip, like tokio's
                # MissedTickBehavior::Skip), yielding so the sessions can run.
                start = time.monotonic() - n * period
                await asyncio.sleep(0)
    finally:
        await display.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--force-image", action="store_true", help="JPEG only (no H.264)")
    parser.add_argument("--stats-interval", type=float, default=1.0)
    try:
        asyncio.run(main(parser.parse_args()))
    except KeyboardInterrupt:
        pass
