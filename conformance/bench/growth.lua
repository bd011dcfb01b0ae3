-- POST /Users exactly as create.lua sends them (Entra's body, a new userName every
-- request), until `count` users are created: bench-growth.sh runs it once per band of
-- users. Run with one wrk thread (-t1), which owns the count.
--
-- Once the band's creates are all sent, a connection that comes free waits (wrk's
-- delay(); 3 s, under the server's 5 s keep-alive, then a GET /ServiceProviderConfig)
-- instead of creating more; when the last create is answered, the script interrupts wrk
-- (SIGINT to its own process, as Ctrl-C would), which then stops and prints its summary.
-- wrk calls request() once on the first thread before any connection opens, to check the
-- script (script_verify_request in wrk.c), and never sends that one: it is not counted. The rate is the script's own: creates answered over the time from the
-- first create sent to the last one answered (CLOCK_MONOTONIC through LuaJIT's ffi).
-- Prints, besides the BENCH line of common.lua:
--   BENCH_GROWTH created=<answered 201> failed=<answered otherwise> seconds=<…> rate=<…>
-- (seconds and rate 0 when wrk's -d ran out before the last create was answered)
-- Usage: wrk -t1 -c16 -d<longer than the band> -s growth.lua <base>/scim/v2/Users -- <prefix> <count>
dofile(os.getenv("BENCH_LUA_DIR") .. "/create.lua")

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *tp);
  int getpid(void);
  int kill(int pid, int sig);
]]
local CLOCK_MONOTONIC, SIGINT = 1, 2
local ts = ffi.new("bench_timespec")
local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local count, sent, filler, checked = 0, 0, nil, false
created, failed, t0, t1 = 0, 0, 0, 0

local create_init, create_request, keep_error = init, request, response

function init(args)
  create_init(args)
  count = assert(tonumber(args[2]), "usage: -- <prefix> <count>")
  -- What a connection sends should wrk ask for a request after the last create.
  filler = wrk.format("GET", wrk.path:gsub("Users$", "ServiceProviderConfig"), headers_with())
end

function delay()
  if sent >= count then return 3000 end
  return 0
end

function request()
  if not checked then
    checked = true
    if tid == 1 then return create_request() end -- wrk's check, never sent
  end
  if sent >= count then return filler end
  sent = sent + 1
  if t0 == 0 then t0 = now() end
  return create_request()
end

function response(status, headers, body)
  if keep_error then keep_error(status, headers, body) end
  if status == 200 then return end -- the filler
  if status == 201 then created = created + 1 else failed = failed + 1 end
  if created + failed == count then
    t1 = now()
    ffi.C.kill(ffi.C.getpid(), SIGINT)
  end
end

local common_setup, common_done = setup, done
local mine = {}

function setup(thread)
  common_setup(thread)
  table.insert(mine, thread)
end

function done(summary, latency, requests)
  common_done(summary, latency, requests)
  for _, t in ipairs(mine) do
    -- t1 stays 0 when wrk's -d ran out first: the band is unfinished, its rate 0.
    local secs = t:get("t1") > 0 and t:get("t1") - t:get("t0") or 0
    io.write(string.format("BENCH_GROWTH created=%d failed=%d seconds=%.3f rate=%.1f\n",
      t:get("created"), t:get("failed"), secs, secs > 0 and t:get("created") / secs or 0))
  end
end
