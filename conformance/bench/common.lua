-- Shared by the wrk scripts of the SCIM benchmarks (loaded with dofile; BENCH_LUA_DIR
-- names this folder). Gives each thread an id, builds request headers on top of wrk's -H
-- ones, and prints one machine-readable line at the end:
--   BENCH requests=… rps=… p50_ms=… p99_ms=… non2xx=… socket_errors=… bytes=…
-- (`bytes`: everything read, headers included, over `requests`).
-- `non2xx` is wrk's own count of responses with status >= 400 ("Non-2xx or 3xx
-- responses"); errors are answered fast and would inflate the throughput otherwise.
-- Scripts that set `want_errors = true` before loading this file (and every script when
-- BENCH_TRACE is set) also keep the first error response of each thread, printed as
-- BENCH_ERROR lines.

local threads = {}
local counter = 0

-- The threads setup() saw, for a script's own done().
function all_threads() return threads end

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

-- One line per non-empty line of a file.
function read_lines(path)
  local t = {}
  for l in io.lines(path) do
    if l ~= "" then t[#t + 1] = l end
  end
  assert(#t > 0, "no lines in " .. path)
  return t
end

-- wrk.format() does not merge wrk.headers (the -H options) into headers it is given.
function headers_with(extra)
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  for k, v in pairs(extra or {}) do h[k] = v end
  return h
end

function seed_random()
  math.randomseed((tid or 1) * 7919 + os.time())
  for _ = 1, 10 do math.random() end
end

if want_errors or os.getenv("BENCH_TRACE") then
  errors_seen = 0
  function response(status, headers, body)
    if status >= 400 then
      errors_seen = errors_seen + 1
      if not first_error then
        first_error = tostring(status) .. " " .. string.sub(body or "", 1, 400):gsub("\n", " ")
      end
    end
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "BENCH requests=%d seconds=%.2f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f "
      .. "non2xx=%d socket_errors=%d connect=%d read=%d write=%d timeout=%d bytes=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect + e.read + e.write + e.timeout,
    e.connect, e.read, e.write, e.timeout, summary.bytes))
  for _, t in ipairs(threads) do
    local fe = t:get("first_error")
    if fe then io.write("BENCH_ERROR thread " .. t:get("tid") .. ": " .. fe .. "\n") end
  end
end
