-- POST /classify with one text per call, for wrk (Debian's `wrk`), the independent load generator of
-- docs/SPEED.md. The texts come after `--` as script arguments; tools/wrk-classify.sh passes those of
-- `python -m tools.service_bench classify` (SAMPLE_TEXTS + CLASSIFY_TEXTS of
-- tools/service_bench/common.py), so both tools send the same work:
--   wrk -t2 -c16 -d8s -s tools/wrk-classify.lua --latency http://127.0.0.1:8000/classify -- "text" ...
-- Each call numbers its text in turn as the tool does (each wrk thread counts on its own, so with -t2
-- numbers repeat, which nothing caches). Texts go into the JSON as they are: no `"` or `\` in them.
-- With an API key, add: wrk.headers["X-API-Key"] = "<key>"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local pool = {}
local calls = 0

init = function(args)
  for i = 1, #args do
    pool[i] = args[i]
  end
  if #pool == 0 then
    error("no texts: pass them after -- (tools/wrk-classify.sh does)")
  end
end

request = function()
  local text = pool[calls % #pool + 1] .. " (" .. calls .. ")"
  calls = calls + 1
  return wrk.format(nil, nil, nil, '{"texts": ["' .. text .. '"]}')
end
