-- The URL given to wrk, every time; loaded only for the BENCH summary line.
-- Usage: wrk … -s static.lua <url>
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")
