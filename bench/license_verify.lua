-- wrk script for e-license verification (bench/licenses.py).
--
-- WRK_LICENSES names a file of issued licenses, one "identifier<TAB>path of its signed PDF" a
-- line. WRK_MODE=api (the default): each request is GET /api/v1/licenses/{identifier}/verify
-- for a license picked at random. WRK_MODE=pdf: each request is POST
-- /api/v1/licenses/{identifier}/verify-pdf with that license's PDF as the multipart "file", for
-- one of the first WRK_PDFS licenses (32 unless set; their PDFs are held in memory). The
-- requests are formatted once, in init. An answer counts as "ok" when it is a 200 that says
-- "valid": true; anything else is "failed" (the first three are printed). The summary is one
-- JSON line: wrk's figures plus "ok" and "failed".
local mode = os.getenv("WRK_MODE") or "api"
local file = os.getenv("WRK_LICENSES")
local limit = tonumber(os.getenv("WRK_PDFS") or "32")
local boundary = "onewindow-bench-licenses-7f3a9c"
local threads = {}
local prepared = {}

setup = function(thread)
  threads[#threads + 1] = thread
end

local function pdf_request(identifier, path)
  local fh = assert(io.open(path, "rb"))
  local data = fh:read("*a")
  fh:close()
  local body = "--" .. boundary .. "\r\n"
    .. 'Content-Disposition: form-data; name="file"; filename="license.pdf"\r\n'
    .. "Content-Type: application/pdf\r\n\r\n"
    .. data .. "\r\n--" .. boundary .. "--\r\n"
  local headers = {
    ["Content-Type"] = "multipart/form-data; boundary=" .. boundary,
    ["Accept"] = "application/json",
  }
  return wrk.format("POST", "/api/v1/licenses/" .. identifier .. "/verify-pdf", headers, body)
end

init = function(args)
  ok = 0
  failed = 0
  for line in io.lines(file) do
    local identifier, path = line:match("^([^\t]+)\t(.+)$")
    if identifier then
      if mode == "pdf" then
        if #prepared < limit then
          prepared[#prepared + 1] = pdf_request(identifier, path)
        end
      else
        prepared[#prepared + 1] = wrk.format(
          "GET", "/api/v1/licenses/" .. identifier .. "/verify", { ["Accept"] = "application/json" }
        )
      end
    end
  end
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
end

request = function()
  return prepared[math.random(#prepared)]
end

response = function(status, headers, body)
  if status == 200 and body:find('"valid": *true') then
    ok = ok + 1
  else
    failed = failed + 1
    if failed <= 3 then
      io.stderr:write("verification failed: ", status, " ", body:sub(1, 400), "\n")
    end
  end
end

done = function(summary, latency, requests)
  local ok_total, failed_total = 0, 0
  for _, thread in ipairs(threads) do
    ok_total = ok_total + (thread:get("ok") or 0)
    failed_total = failed_total + (thread:get("failed") or 0)
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "errors": %d, "ok": %d, "failed": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    errors, ok_total, failed_total))
end
