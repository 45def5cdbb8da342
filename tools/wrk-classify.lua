-- POST /classify with one text per call, for wrk (Debian's `wrk`), the independent load generator of
-- docs/SPEED.md:
--   wrk -t2 -c16 -d8s -s tools/wrk-classify.lua --latency http://127.0.0.1:8000/classify
-- The texts are those of `python -m tools.service_bench classify` (SAMPLE_TEXTS + CLASSIFY_TEXTS of
-- tools/service_bench/common.py, numbered in turn as the tool numbers them; each wrk thread counts
-- on its own, so with -t2 numbers repeat, which nothing caches), so both tools send the same work; a
-- test keeps the two lists equal. The texts go into the JSON as they are: none has `"` or `\`.
-- With an API key, add: wrk.headers["X-API-Key"] = "<key>"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local pool = {
  "The concert last night was the best show I have ever seen.",
  "I can't believe they cancelled my flight again without any notice.",
  "My grandmother passed away and the house feels empty now.",
  "Walking home alone in the dark, every sound made me jump.",
  "We finally got the keys to our first apartment today!",
  "The customer service agent hung up on me twice.",
  "I miss the long summer evenings with my old friends.",
  "The doctor said the results were unclear and I should wait.",
  "What a lovely surprise, thank you so much!",
  "This is the third time the package arrived broken.",
  "Nobody came to my birthday party this year.",
  "I heard footsteps behind me in the empty parking lot.",
}
local calls = 0

request = function()
  local text = pool[calls % #pool + 1] .. " (" .. calls .. ")"
  calls = calls + 1
  return wrk.format(nil, nil, nil, '{"texts": ["' .. text .. '"]}')
end
