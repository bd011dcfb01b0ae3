-- GET a random path from a file, one path per line (bench-scim.sh writes the Entra
-- match lookups `/scim/v2/Users?filter=userName%20eq%20%22…%22` and `/scim/v2/Users/<id>`).
-- Usage: wrk … -s paths.lua <url> -- <file of paths>
-- Each request is formatted once, in init: the bytes sent are what wrk.format makes for
-- the path, and the load generator, which shares the machine with the server and
-- PostgreSQL, does not rebuild them on every request.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local requests

function init(args)
  local headers = headers_with({ ["Accept"] = "application/scim+json" })
  requests = {}
  for i, path in ipairs(read_lines(args[1])) do
    requests[i] = wrk.format("GET", path, headers)
  end
  seed_random()
end

function request()
  return requests[math.random(#requests)]
end
