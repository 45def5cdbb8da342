"""A typed client of the REST API, and a bulk command that augments a whole CSV through it.

    from service.client import Client
    client = Client("http://127.0.0.1:8000", api_key=None)
    job = client.augment([("What a lovely day!", "joy")], n=3, seed=1)
    result = client.wait(job)            # polls with backoff until the job ends
    for out in result.outputs:
        print(out.label_prob, out.text)

    python -m service.client augment data.csv --url http://127.0.0.1:8000 --out augmented.csv

The bulk command cuts the CSV into jobs of `--chunk-size` rows, keeps `--in-flight` of them on the
queue (so every worker of the pool has work), retries what failed, resumes an interrupted run from
`OUT.parts/` without redoing finished chunks, and writes the outputs in input order. It needs only
httpx: no torch, no model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

# The bulk run's files have a module of their own; their names are re-exported here, where users
# import them.
from service.bulk_files import BulkJob, BulkState, read_rows, write_outputs
from worker.contracts import PSEUDO_PER_ORIGINAL

# HTTP statuses worth another try after a pause: the queue is full, Redis or the models are not
# ready, or a proxy in front had a hiccup.
RETRYABLE = {429, 502, 503, 504}
FINAL = {"succeeded", "failed", "canceled"}


class ApiError(Exception):
    """An error answer of the API (its `{"error": {...}}` body), or a job that did not succeed."""

    def __init__(self, status: int, kind: str, message: str, *, details: Any = None):
        super().__init__(f"{status} {kind}: {message}")
        self.status, self.kind, self.message, self.details = status, kind, message, details


@dataclass(frozen=True)
class Output:
    text: str
    label: str
    source_index: int  # index of the item it rewrites, in the request
    label_prob: float | None
    predicted_label: str | None
    provenance: dict[str, Any]


@dataclass(frozen=True)
class JobResult:
    id: str
    status: str
    outputs: list[Output] = field(default_factory=list)
    shortfalls: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None


def retry_after_s(response: httpx.Response, default: float) -> float:
    """The wait a response asks for (`Retry-After` in seconds), else `default`; at most 60 s."""
    value = response.headers.get("retry-after", "")
    try:
        return min(60.0, max(0.0, float(value)))
    except ValueError:
        return default


class Client:
    """The API's calls, with retries: connection errors and 429/502/503/504 are tried again up to
    `retries` times, waiting what `Retry-After` asks (else 1, 2, 4 ... s)."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 30.0,
        retries: int = 5,
        transport: httpx.BaseTransport | None = None,
    ):
        headers = {"X-API-Key": api_key} if api_key else {}
        self.http = httpx.Client(
            base_url=url.rstrip("/"), headers=headers, timeout=timeout_s, transport=transport
        )
        self.retries = retries

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        pause = 1.0
        for attempt in range(self.retries + 1):
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError:
                if attempt == self.retries:
                    raise
                time.sleep(pause)
            else:
                if response.status_code not in RETRYABLE or attempt == self.retries:
                    break
                time.sleep(retry_after_s(response, pause))
            pause = min(pause * 2, 30.0)
        if response.status_code >= 400:
            try:
                body = response.json()["error"]
                raise ApiError(
                    response.status_code, body["type"], body["message"], details=body.get("details")
                )
            except (ValueError, KeyError, TypeError):
                raise ApiError(response.status_code, "http", response.text[:200]) from None
        return response

    def info(self) -> dict[str, Any]:
        return self._call("GET", "/info").json()

    def augment(
        self,
        items: Iterable[tuple[str, str]],
        *,
        n: int | None = None,
        method: str = "diffusioncls",
        seed: int = 0,
        steps: str | None = None,
        decoding: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        policy: str = "ge",
        idempotency_key: str | None = None,
    ) -> str:
        """Start a job on (text, label) pairs; returns its id. The same idempotency key and request
        return the same job, so a submission repeated after a lost answer starts nothing new."""
        body: dict[str, Any] = {
            "items": [{"text": text, "label": label} for text, label in items],
            "method": method,
            "policy": policy,
            "seed": seed,
            "decoding": decoding or {},
            "params": params or {},
        }
        if n is not None:
            body["n"] = n
        if steps is not None:
            body["steps"] = steps
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._call("POST", "/augment", json=body, headers=headers).json()["id"]

    def job(self, job_id: str) -> dict[str, Any]:
        """The job's raw view: status, progress, attempts, result or error."""
        return self._call("GET", f"/jobs/{job_id}").json()

    def wait(self, job_id: str, timeout_s: float | None = None, max_poll_s: float = 5.0) -> JobResult:
        """Poll until the job ends (0.25 s, then backing off to `max_poll_s`); its result, whatever
        its status. TimeoutError after `timeout_s`."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        pause = 0.25
        while True:
            view = self.job(job_id)
            if view["status"] in FINAL:
                return to_result(view)
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} still {view['status']} after {timeout_s} s")
            time.sleep(pause)
            pause = min(pause * 1.5, max_poll_s)

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self._call("POST", f"/jobs/{job_id}/cancel").json()

    def classify(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """[{label, probabilities}] per text."""
        return self._call("POST", "/classify", json={"texts": list(texts)}).json()["results"]


def to_result(view: dict[str, Any]) -> JobResult:
    result = view.get("result") or {}
    outputs = [
        Output(
            text=o["text"],
            label=o["label"],
            source_index=o["source_index"],
            label_prob=o.get("label_prob"),
            predicted_label=o.get("predicted_label"),
            provenance=o.get("provenance") or {},
        )
        for o in result.get("outputs", [])
    ]
    return JobResult(
        id=view["id"],
        status=view["status"],
        outputs=outputs,
        shortfalls=result.get("shortfalls", []),
        stats=result.get("stats", {}),
        error=view.get("error"),
    )


# ---------------------------------------------------------------------------------------------
# Bulk augmentation of a CSV: its chunks through the API (their files: service/bulk_files.py).


def run_chunk(client: Client, job: BulkJob, state: BulkState, *, index: int) -> int:
    """Submit one chunk (again, if its job failed or vanished) until it succeeds; save its outputs
    with their input row numbers; returns the number of outputs."""
    span = job.chunks[index]
    last = ""
    for attempt in range(job.attempts):
        # The same key for the same attempt: a submission repeated after a crash or a lost answer
        # gets the job already running instead of starting a second one.
        key = f"bulk-{state.fingerprint[:24]}-{index}-{attempt}"
        job_id = client.augment(
            [job.rows[i] for i in span],
            n=job.n,
            method=job.method,
            seed=job.seed,
            steps=job.steps,
            decoding=job.decoding,
            idempotency_key=key,
        )
        try:
            result = client.wait(job_id)
        except ApiError as err:
            if err.status != 404:  # 404: the job expired or was lost with Redis: submit again
                raise
            last = "the job disappeared"
            continue
        if result.status == "succeeded":
            outputs = [
                {
                    "text": o.text,
                    "label": o.label,
                    "source_index": span.start + o.source_index,
                    "label_prob": o.label_prob,
                }
                for o in sorted(result.outputs, key=lambda o: o.source_index)
            ]
            shortfalls = [{**s, "source_index": span.start + s["source_index"]} for s in result.shortfalls]
            state.save(index, outputs, shortfalls)
            return len(outputs)
        last = f"{result.status}: {(result.error or {}).get('message', '')}"
    raise RuntimeError(
        f"chunk {index} (rows {span.start}-{span.stop - 1}) failed {job.attempts} times; last: {last}"
    )


def run_bulk(client: Client, job: BulkJob, progress=None) -> dict[str, int]:
    """Augment every chunk not yet done, `in_flight` at a time; then write `out` in input order."""
    state = BulkState(job)
    todo = [i for i in range(len(job.chunks)) if not state.done(i)]
    total_rows = len(job.rows)
    done_rows = total_rows - sum(len(job.chunks[i]) for i in todo)
    started = time.monotonic()
    if progress:
        progress(done_rows, total_rows, 0.0)
    with ThreadPoolExecutor(max_workers=max(1, job.in_flight)) as pool:
        pending: dict[Future, int] = {pool.submit(run_chunk, client, job, state, index=i): i for i in todo}
        while pending:
            finished, _ = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            for future in finished:
                index = pending.pop(future)
                future.result()  # a chunk that failed every attempt stops the run (the rest is kept)
                done_rows += len(job.chunks[index])
            if progress:
                progress(done_rows, total_rows, time.monotonic() - started)
    written = write_outputs(job, state)
    for part in state.folder.iterdir():  # the run is complete: its parts are in `out` now
        part.unlink()
    state.folder.rmdir()
    return {
        "rows": total_rows,
        "chunks": len(job.chunks),
        "resumed_chunks": len(job.chunks) - len(todo),
        **written,
    }


def _print_progress(done: int, total: int, seconds: float) -> None:
    rate = done / seconds if seconds > 0 else 0.0
    eta = f", ~{(total - done) / rate:.0f} s left" if 0 < done < total and rate > 0 else ""
    print(f"\r{done}/{total} rows ({done / max(1, total):.0%}){eta}   ", end="", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.client", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("augment", help="augment every row of a text,label CSV through the API")
    a.add_argument("csv", type=Path, help="input CSV with a text and a label column")
    a.add_argument(
        "--url",
        default=os.environ.get("DCLS_URL", "http://127.0.0.1:8000"),
        help="API base URL (default: $DCLS_URL, else http://127.0.0.1:8000)",
    )
    a.add_argument("--api-key", default=os.environ.get("API_KEY"), help="the API key (default: $API_KEY)")
    a.add_argument(
        "--out",
        type=Path,
        required=True,
        help="output CSV: text,label,source_index,label_prob (source_index: the input row, from 0)",
    )
    a.add_argument(
        "--n",
        type=int,
        default=PSEUDO_PER_ORIGINAL,
        help=f"new texts per row (default {PSEUDO_PER_ORIGINAL})",
    )
    a.add_argument(
        "--method",
        default="diffusioncls",
        help="augmentation method, GET /info lists them (default diffusioncls)",
    )
    a.add_argument("--seed", type=int, default=0, help="seed of every chunk's job (default 0)")
    a.add_argument(
        "--steps", default=None, help="corruption step range, e.g. 13-16 (default: the checkpoint's)"
    )
    a.add_argument("--rounds", type=int, default=None, help="decoding rounds K (default: the checkpoint's)")
    a.add_argument("--chunk-size", type=int, default=64, help="rows per job (default 64)")
    a.add_argument("--in-flight", type=int, default=4, help="jobs on the queue at once (default 4)")
    a.add_argument("--attempts", type=int, default=3, help="submissions of a failing chunk (default 3)")
    a.add_argument("--text-column", default="text", help="column of the texts (default text)")
    a.add_argument("--label-column", default="label", help="column of the labels (default label)")
    args = parser.parse_args(argv)
    if args.chunk_size < 1 or args.in_flight < 1 or args.n < 1:
        parser.error("--chunk-size, --in-flight and --n must be at least 1")
    job = BulkJob(
        rows=read_rows(args.csv, args.text_column, args.label_column),
        out=args.out,
        n=args.n,
        method=args.method,
        seed=args.seed,
        steps=args.steps,
        decoding={"rounds": args.rounds} if args.rounds else {},
        chunk_size=args.chunk_size,
        in_flight=args.in_flight,
        attempts=args.attempts,
    )
    with Client(args.url, api_key=args.api_key) as client:
        try:
            summary = run_bulk(client, job, progress=_print_progress)
        except (ApiError, RuntimeError, httpx.TransportError) as err:
            print(
                f"\nerror: {err}\nfinished chunks are kept in {job.out}.parts/; run the same command to resume",
                file=sys.stderr,
            )
            return 1
    print(f"\n{json.dumps(summary)}", file=sys.stderr)
    print(f"wrote {job.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
