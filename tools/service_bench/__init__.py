"""Load test of the Redis deployment on loopback: `python -m tools.service_bench load [options]`.

Starts everything itself as subprocesses: a throwaway `redis-server` on a free port (or uses
`--redis-url` with a queue of its own), the API (`python -m service`) and `--workers` workers
(`python -m worker`), all on one checkpoint. Then:

1. measures each worker's resident memory once it is ready, and again after `--warmup-jobs` jobs;
2. submits `--augment-jobs` augment jobs at once (one thread each) while `--classify-calls` calls of
   /classify run `--classify-concurrency` at a time;
3. polls every job until it finished, and measures the workers' memory again after the queue drained.

It reports errors (any answer but 202 for a submission, 200 for /classify, any job that did not
succeed; the target is 0), latency percentiles (submit, submit-to-done, classify), the queue drain
time, and each worker's RSS before and after; as a table and as JSON (`--out`). Not a test: CI never
runs it. Needs only the standard library and this project (HTTP through `http.client`).

`python -m tools.service_bench classify` measures /classify alone against the offline forward.

The modules: `common` (what both commands share: the sample texts, percentiles, a JSON client),
`stack` (the deployment as subprocesses), `load` (the load run), `load_report` (its report),
`rss` (the workers' memory through the burst), `classify` (the /classify latency run) and `cli`
(the argument parser and `main`).
"""
