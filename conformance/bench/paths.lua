-- GET a random path from a file, one path per line (bench-scim.sh writes the Entra
-- match lookups `/scim/v2/Users?filter=userName%20eq%20%22…%22` and `/scim/v2/Users/<id>`).
-- Usage: wrk … -s paths.lua <url> -- <file of paths>
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local paths, headers

function init(args)
  paths = read_lines(args[1])
  headers = headers_with({ ["Accept"] = "application/scim+json" })
  seed_random()
end

function request()
  return wrk.format("GET", paths[math.random(#paths)], headers)
end
