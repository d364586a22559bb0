-- Replays prepared requests, one per line of the file named by BENCH_REQUESTS:
--   METHOD <tab> PATH <tab> Header: value|Header: value <tab> BODY
-- Thread k uses lines k, k+T, k+2T... so one-time requests (CSRF tokens,
-- Twilio message ids) are never sent twice while lines last. BENCH_OFFSET
-- skips the lines an earlier run of the same file has spent.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local requests = {}
local idx = 0

function init(args)
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local method, path, hdrs, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    local headers = {}
    for h in string.gmatch(hdrs, "[^|]+") do
      local k, v = h:match("^([^:]+):%s*(.*)$")
      headers[k] = v
    end
    if body == "" then body = nil end
    table.insert(requests, wrk.format(method, path, headers, body))
  end
end

function request()
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
  local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")
  local i = (offset + tid + idx * nthreads) % #requests + 1
  idx = idx + 1
  return requests[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p95_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
