"""Bench worker: the Python client of clients/python with a no-op handler.

Prints {"ready": true} once started and {"done": N} when N completions have been acknowledged
(SLUICE_BENCH_JOBS). Concurrency: SLUICE_CONCURRENCY threads, each with its claim in flight.
"""
import json
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "clients", "python"))
from sluice_worker import Client, run  # noqa: E402

target = int(os.environ["SLUICE_BENCH_JOBS"])
lock = threading.Lock()
completed = 0


class CountingClient(Client):
    def complete(self, token, result=None):
        global completed
        reply = super().complete(token, result)
        with lock:
            completed += 1
            if completed == target:
                print(json.dumps({"done": completed}), flush=True)
        return reply


env = os.environ
client = CountingClient(env["SLUICE_URL"], env["SLUICE_QUEUE"], consumer="bench-py")
print(json.dumps({"ready": True}), flush=True)
run(client, lambda job: None, concurrency=int(env.get("SLUICE_CONCURRENCY", "50")), wait_ms=1000)
