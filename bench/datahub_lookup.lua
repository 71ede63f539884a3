-- wrk script for the data hub's exchange API: each request reads one person's fields, picked at
-- random from the paths in the file named by WRK_PATHS, as a machine client (WRK_TOKEN) with the
-- case number and purpose the API requires. A non-200 answer counts as an error (wrk counts
-- statuses >= 400); the first three are printed. The summary is one JSON line.
local paths = {}
local file = os.getenv("WRK_PATHS")
local headers = {}
local shown = 0

init = function(args)
  for line in io.lines(file) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  headers["Authorization"] = "Bearer " .. os.getenv("WRK_TOKEN")
  headers["Accept"] = "application/json"
  headers["X-Case-Number"] = "BENCH-2026-000001"
  -- percent-encoded UTF-8, as the API documents for Chinese header text: 性能测试
  headers["X-Purpose"] = "%E6%80%A7%E8%83%BD%E6%B5%8B%E8%AF%95"
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

request = function()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end

response = function(status, headers, body)
  if status ~= 200 and shown < 3 then
    shown = shown + 1
    io.stderr:write("lookup failed: ", status, " ", body:sub(1, 300), "\n")
  end
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    errors))
end
