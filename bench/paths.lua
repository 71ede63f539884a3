-- wrk script: each request picks a random path from the file named by WRK_PATHS (with the
-- bearer token WRK_TOKEN when it is set), and the summary is printed as one JSON line
-- (requests/s, p50/p95/p99 in ms, errors: statuses >= 400 count as errors).
local paths = {}
local file = os.getenv("WRK_PATHS")
local token = os.getenv("WRK_TOKEN") or ""
local headers = {}
if #token > 0 then
  headers["Authorization"] = "Bearer " .. token
  headers["Accept"] = "application/json"
end

init = function(args)
  for line in io.lines(file) do
    if #line > 0 then paths[#paths + 1] = line end
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

request = function()
  return wrk.format("GET", paths[math.random(#paths)], headers)
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
