-- wrk script for submissions: every request submits a different draft.
--
-- WRK_DRAFTS names a directory holding thread1.txt, thread2.txt, ...: the first line is the
-- owner's bearer token, the others the draft ids (public ids) that thread submits, in order. Each
-- thread walks only its own file, so the threads' ranges are disjoint and no draft is submitted
-- twice. A thread that runs out of drafts stops (and the run is flagged "exhausted": size the
-- pools so that this does not happen). The number of every submitted application is written to
-- ok<thread>.txt in the same directory, for the check in SQL. The summary is one JSON line:
-- wrk's figures plus the responses that really were a submitted application ("ok"), the others
-- ("failed") and the drafts handed out ("issued", some still in flight when wrk stops).
local dir = os.getenv("WRK_DRAFTS")
local threads = {}

setup = function(thread)
  threads[#threads + 1] = thread
  thread:set("index", #threads)
end

local ids = {}
local headers = {}
local position = 0

init = function(args)
  local first = true
  for line in io.lines(dir .. "/thread" .. index .. ".txt") do
    if first then
      headers["Authorization"] = "Bearer " .. line
      headers["Accept"] = "application/json"
      first = false
    elseif #line > 0 then
      ids[#ids + 1] = line
    end
  end
  ok = 0
  failed = 0
  exhausted = 0
  issued = 0
  numbers = io.open(dir .. "/ok" .. index .. ".txt", "w")
end

request = function()
  position = position + 1
  if position > #ids then
    exhausted = 1
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  issued = position
  return wrk.format("POST", "/api/v1/applications/" .. ids[position] .. "/submit", headers, "")
end

response = function(status, headers, body)
  local number = status == 200 and body:match('"number": *"([^"]+)"')
  if number then
    ok = ok + 1
    numbers:write(number, "\n")
    numbers:flush()
  elseif not (status == 200 and body:find('"status": *"ok"')) then
    failed = failed + 1
    if failed <= 3 then
      io.stderr:write("submit failed: ", status, " ", body:sub(1, 400), "\n")
    end
  end
end

done = function(summary, latency, requests)
  local ok_total, failed_total, exhausted_total, issued_total = 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    ok_total = ok_total + (thread:get("ok") or 0)
    failed_total = failed_total + (thread:get("failed") or 0)
    exhausted_total = exhausted_total + (thread:get("exhausted") or 0)
    issued_total = issued_total + (thread:get("issued") or 0)
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "errors": %d, "ok": %d, "failed": %d, "exhausted": %d, "issued": %d}\n',
    summary.requests, summary.duration / 1e6, ok_total / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    errors, ok_total, failed_total, exhausted_total, issued_total))
end
