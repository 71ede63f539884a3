-- wrk script for the staff inbox: GET WRK_PATH with the bearer token WRK_TOKEN on every
-- request; the summary is printed as one JSON line like bench/paths.lua.
local path = os.getenv("WRK_PATH")
local token = os.getenv("WRK_TOKEN")

wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Accept"] = "application/json"

request = function()
  return wrk.format("GET", path)
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
