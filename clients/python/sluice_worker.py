"""A small Sluice HTTP worker: claim -> handle -> complete/fail, with heartbeats and graceful stop.

Standard library only (urllib + json). Copy this file; see README.md next to it.

    from sluice_worker import Client, Unrecoverable, run

    def handle(job):                      # job: dict with id, name, payload, attempt, ...
        if not job["payload"].get("to"):
            raise Unrecoverable("no recipient")   # dead-lettered now, no retry
        return {"sent": True}             # stored as the job's result

    run(Client("http://127.0.0.1:8080", "emails", token="..."), handle, concurrency=4)
"""
import json
import os
import signal
import socket
import sys
import threading
import traceback
import urllib.error
import urllib.parse
import urllib.request


class Unrecoverable(Exception):
    """Raise from a handler to dead-letter the job without further attempts."""


class StaleClaim(Exception):
    """409: the claim no longer owns its job (lease expired and reclaimed, cancelled). Nothing changed."""


class Client:
    """The HTTP consume API of one queue."""

    def __init__(self, base_url, queue, token=None, consumer=None, timeout=45):
        self.base = f"{base_url.rstrip('/')}/v1/queues/{urllib.parse.quote(queue, safe='')}/claims"
        self.token = token
        self.consumer = consumer or f"py-{socket.gethostname()}-{os.getpid()}"
        self.timeout = timeout  # seconds; above the longest waitMs

    def _post(self, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method="POST")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            detail = json.load(error).get("error", {}) if error.headers.get_content_type() == "application/json" else {}
            if error.code == 409:
                raise StaleClaim(detail.get("message", "stale claim")) from None
            raise RuntimeError(f"HTTP {error.code} {detail.get('code', '')}: {detail.get('message', error.reason)}") from None

    def claim(self, max_jobs=1, wait_ms=5000):
        """Up to `max_jobs` jobs; waits up to `wait_ms` for one. Returns (jobs, lease_ms)."""
        reply = self._post("", {"consumer": self.consumer, "max": max_jobs, "waitMs": wait_ms})
        return reply["jobs"], reply["leaseMs"]

    def heartbeat(self, token):
        return self._post(f"/{token}/heartbeat")

    def progress(self, token, value):
        return self._post(f"/{token}/progress", {"progress": value})

    def complete(self, token, result=None):
        return self._post(f"/{token}/complete", {} if result is None else {"result": result})

    def fail(self, token, error, retryable=True):
        body = {"error": {"name": type(error).__name__, "message": str(error)[:10000],
                          "stack": "".join(traceback.format_exception(error))[:20000]}, "retryable": retryable}
        return self._post(f"/{token}/fail", body)

    def release(self, token):
        return self._post(f"/{token}/release")


def run(client, handler, concurrency=1, stop=None, wait_ms=5000):
    """Runs `handler` on `concurrency` threads until SIGTERM/SIGINT (or `stop` is set).

    Running jobs finish before it returns; each thread's claim waits at most `wait_ms`.
    """
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
    held = {}  # claim token -> job id: the heartbeat keeps their leases
    lock = threading.Lock()
    lease = [30000]

    def heartbeats():
        while not stop.wait(lease[0] / 3000):
            with lock:
                tokens = list(held)
            for token in tokens:
                try:
                    client.heartbeat(token)
                except StaleClaim:
                    pass  # the outcome call will say so too
                except Exception as error:  # Sluice briefly unreachable: try again next beat
                    print(f"heartbeat failed: {error}", file=sys.stderr)

    def loop():
        while not stop.is_set():
            try:
                jobs, lease[0] = client.claim(1, wait_ms)
            except Exception as error:
                print(f"claim failed: {error}", file=sys.stderr)
                stop.wait(1)
                continue
            for job in jobs:
                with lock:
                    held[job["token"]] = job["id"]
                try:
                    try:
                        result = handler(job)
                    except Exception as error:
                        client.fail(job["token"], error, retryable=not isinstance(error, Unrecoverable))
                    else:
                        client.complete(job["token"], result)
                except StaleClaim:
                    print(f"job {job['id']}: lease lost, outcome refused", file=sys.stderr)
                except Exception as error:  # not recorded: the lease runs out and the job is redelivered
                    print(f"job {job['id']}: could not record the outcome: {error}", file=sys.stderr)
                finally:
                    with lock:
                        held.pop(job["token"], None)

    threading.Thread(target=heartbeats, daemon=True).start()
    threads = [threading.Thread(target=loop) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        for thread in threads:
            thread.join(0.2)  # short joins keep the main thread responsive to signals
    stop.set()


if __name__ == "__main__":
    # Demo: echoes each payload back as the result.
    env = os.environ
    run(Client(env.get("SLUICE_URL", "http://127.0.0.1:8080"), env["SLUICE_QUEUE"], env.get("SLUICE_TOKEN")),
        lambda job: {"echo": job.get("payload")}, concurrency=int(env.get("SLUICE_CONCURRENCY", "4")))
