#!/usr/bin/env python3
"""nemesis_proxy.py — a fault-injecting TCP proxy on loopback for the reliability suite
(tests/reliability/README.md): clients connect to LISTEN_PORT, every connection is forwarded to
the broker at TARGET_PORT, and on the way

  --stall-prob P --stall-max-ms MS   each chunk read from a client, with probability P, is held for
                                     a random 0..MS before it (and everything after it on that
                                     connection) goes on: a stall without FIN, so a request can
                                     arrive long after the client gave up on it;
  --split                            every chunk is written in pieces of 1..7 bytes, both ways
                                     (frames arrive split at every possible place);
  --reset-prob P                     each chunk, with probability P, resets the connection instead
                                     (RST both ways, usually mid-frame);
  --delay-ms MS                      every chunk, both ways, goes on MS after it was read (a link's
                                     one-way latency: later chunks are not held up by it, the order
                                     is kept; a stall comes on top).

  nemesis_proxy.py LISTEN_PORT TARGET_PORT [--stall-prob P] [--stall-max-ms MS] [--split]
                   [--reset-prob P] [--delay-ms MS] [--seed N] [--stats FILE]

Runs until SIGTERM, then writes one line of counts to --stats (connections, chunks, stalls,
stalled seconds, resets).
"""
import argparse
import asyncio
import random
import signal
import socket
import struct

stats = {"connections": 0, "chunks": 0, "stalls": 0, "stalled_s": 0.0, "resets": 0}


def reset(*writers):
    """Closes with SO_LINGER 0: the peers see a reset, not a FIN."""
    for w in writers:
        sock = w.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        w.transport.abort()


async def write(a, writer, data, rng):
    if a.split:
        i = 0
        while i < len(data):
            n = rng.randint(1, 7)
            writer.write(data[i:i + n])
            await writer.drain()
            i += n
    else:
        writer.write(data)
        await writer.drain()


async def deliver(a, queue, writer, rng):
    """--delay-ms: writes each queued chunk once its time has come, in order; None ends it."""
    loop = asyncio.get_running_loop()
    try:
        while (item := await queue.get()) is not None:
            due, data = item
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            await write(a, writer, data, rng)
    except (ConnectionError, OSError):
        pass


async def pipe(a, reader, writer, other_writer, upstream, rng):
    queue = asyncio.Queue() if a.delay_ms > 0 else None
    delivery = asyncio.create_task(deliver(a, queue, writer, rng)) if queue is not None else None
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            stats["chunks"] += 1
            if rng.random() < a.reset_prob:
                stats["resets"] += 1
                reset(writer, other_writer)
                return
            if upstream and rng.random() < a.stall_prob:
                stall = rng.uniform(0, a.stall_max_ms / 1000)
                stats["stalls"] += 1
                stats["stalled_s"] += stall
                await asyncio.sleep(stall)
            if queue is not None:
                queue.put_nowait((asyncio.get_running_loop().time() + a.delay_ms / 1000, data))
            else:
                await write(a, writer, data, rng)
    except (ConnectionError, OSError):
        pass
    finally:
        if delivery is not None:  # what was read before the end still goes on (after a reset it fails)
            queue.put_nowait(None)
            await delivery
        try:
            writer.close()
        except (ConnectionError, OSError, RuntimeError):
            pass


async def serve(a):
    rng = random.Random(a.seed)

    async def on_client(client_reader, client_writer):
        stats["connections"] += 1
        try:
            broker_reader, broker_writer = await asyncio.open_connection("127.0.0.1", a.target_port)
        except OSError:  # the broker is down: the client sees the connection close
            client_writer.close()
            return
        await asyncio.gather(pipe(a, client_reader, broker_writer, client_writer, True, rng),
                             pipe(a, broker_reader, client_writer, broker_writer, False, rng))

    server = await asyncio.start_server(on_client, "127.0.0.1", a.listen_port)
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with server:
        await stop
    if a.stats:
        with open(a.stats, "w") as f:
            f.write(f"{stats['connections']} connections, {stats['chunks']:,} chunks, {stats['stalls']} stalls "
                    f"({stats['stalled_s']:.0f} s in all), {stats['resets']} resets\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("listen_port", type=int)
    p.add_argument("target_port", type=int)
    p.add_argument("--stall-prob", type=float, default=0.0)
    p.add_argument("--stall-max-ms", type=float, default=10000)
    p.add_argument("--split", action="store_true")
    p.add_argument("--reset-prob", type=float, default=0.0)
    p.add_argument("--delay-ms", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--stats")
    asyncio.run(serve(p.parse_args()))


if __name__ == "__main__":
    main()
