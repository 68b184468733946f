"""The metrics goal's load: GET requests through the router at a fixed rate (open loop: each request is due at its
time whether or not the earlier ones answered, so a slow router shows in the latency rather than in a lower rate),
over a pool of kept-alive connections, for some seconds; meanwhile the CPU time of a process (the runner) is read
from /proc. Prints one JSON line: requests, failed, p50_ms and p99_ms (from each request's due time to its answer)
and cpu_s (the process's user + system time over the run).

Usage: python3 scripts/lib/rate-client.py --router 127.0.0.1:8080 --host app.localhost --rate 1000 --seconds 10
       --pid <runner pid>"""
import argparse
import asyncio
import json
import os
import time

parser = argparse.ArgumentParser()
parser.add_argument("--router", required=True)
parser.add_argument("--host", required=True)
parser.add_argument("--rate", type=int, default=1000)
parser.add_argument("--seconds", type=float, default=10)
parser.add_argument("--connections", type=int, default=64)
parser.add_argument("--pid", type=int, required=True)
options = parser.parse_args()
address, port = options.router.rsplit(":", 1)
request = f"GET / HTTP/1.1\r\nHost: {options.host}\r\n\r\n".encode()


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def read_response(reader):
    length = 0
    status = int((await reader.readline()).split()[1])
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def main():
    pool = asyncio.Queue()
    for _ in range(options.connections):
        pool.put_nowait(await asyncio.open_connection(address, int(port)))
    latencies, failed = [], [0]

    async def one(due):
        reader, writer = await pool.get()
        try:
            writer.write(request)
            status = await read_response(reader)
            if status != 200:
                failed[0] += 1
        except Exception:
            failed[0] += 1
            reader, writer = await asyncio.open_connection(address, int(port))
        latencies.append(time.monotonic() - due)
        pool.put_nowait((reader, writer))

    total = int(options.rate * options.seconds)
    start = time.monotonic() + 0.1
    cpu_before = cpu_seconds(options.pid)
    tasks = []
    for index in range(total):
        due = start + index / options.rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(one(due)))
    await asyncio.gather(*tasks)
    cpu = cpu_seconds(options.pid) - cpu_before
    latencies.sort()
    rank = lambda q: latencies[max(0, int(q * len(latencies) + 0.999999) - 1)] * 1000
    print(json.dumps({"requests": total, "failed": failed[0], "p50_ms": round(rank(0.5), 3),
                      "p99_ms": round(rank(0.99), 3), "cpu_s": round(cpu, 3)}))


asyncio.run(main())
