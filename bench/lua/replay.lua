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
local parsed = {}
local idx = 0
-- BENCH_KEEP_COOKIES=1: send back the session cookie the server last set on
-- this thread, as a browser does (the staff pages refresh it every 15 s).
local keep_cookies = os.getenv("BENCH_KEEP_COOKIES") == "1"
local session_cookie = nil

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
    table.insert(parsed, {method = method, path = path, headers = headers, body = body})
  end
end

function request()
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
  local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")
  local i = (offset + tid + idx * nthreads) % #requests + 1
  idx = idx + 1
  local line = parsed[i]
  if session_cookie and line.headers["Cookie"] then
    local headers = {}
    for k, v in pairs(line.headers) do headers[k] = v end
    headers["Cookie"] = session_cookie
    return wrk.format(line.method, line.path, headers, line.body)
  end
  return requests[i]
end

if keep_cookies then
  function response(status, headers, body)
    local set = headers["Set-Cookie"]
    if set then session_cookie = set:match("^([^;]+)") end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p95_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
