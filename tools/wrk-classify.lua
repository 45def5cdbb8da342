-- POST /classify with one text, for wrk (Debian's `wrk`), the independent load generator of docs/SPEED.md:
--   wrk -t2 -c16 -d8s -s tools/wrk-classify.lua --latency http://127.0.0.1:8000/classify
-- With an API key, add: wrk.headers["X-API-Key"] = "<key>"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"texts": ["Stuck at home again, this lockdown is making me so angry."]}'
