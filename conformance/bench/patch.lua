-- PATCH /Groups/{id}: remove one member and add one non-member in one request, in Entra's
-- body. Entra sends no Prefer header; a third argument adds one (bench-scim.sh and
-- bench-ab.sh send `Prefer: return=minimal`, so their answers are 204 whatever scimd's
-- default).
--
-- The pairs file has one slot per line, "A B": A is a member and B is not when the run
-- starts (bench-scim.sh resets the group to that before each run). Each thread owns the
-- slots i with i % threads == thread - 1 and walks them in order; on its r-th pass over
-- them it removes A and adds B when r is even, removes B and adds A when r is odd. Every
-- PATCH so removes a current member and adds a non-member, and whatever order the server
-- applies them in, each slot keeps exactly one of its two users: the group's size never
-- changes. A thread with more connections than slots (8 connections, 5 slots of the group
-- of 10) can have two passes of one slot in flight; when the server applies them out of
-- order, the later-sent one finds nothing to change and is a no-op. bench-scim.sh prints
-- how many requests changed the membership beside how many were made.
-- Usage: wrk … -s patch.lua <base>/scim/v2/Groups/<id> -- <pairs file> <threads> [<Prefer>]
want_errors = true
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local mine = {}
local headers, path
local n = 0

local template = [[{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]]
  .. [[{"op":"Remove","path":"members","value":[{"value":"%s"}]},]]
  .. [[{"op":"Add","path":"members","value":[{"value":"%s"}]}]}]]

function init(args)
  local pairs_ = read_lines(args[1])
  local threads = tonumber(args[2])
  for i, line in ipairs(pairs_) do
    if (i - 1) % threads == tid - 1 then
      local a, b = line:match("^(%S+)%s+(%S+)$")
      mine[#mine + 1] = { a, b }
    end
  end
  assert(#mine > 0, "thread " .. tid .. " has no slots")
  path = wrk.path
  local extra = { ["Content-Type"] = "application/scim+json" }
  if args[3] and args[3] ~= "" then extra["Prefer"] = args[3] end
  headers = headers_with(extra)
end

function request()
  local slot = mine[n % #mine + 1]
  local pass = math.floor(n / #mine)
  n = n + 1
  local out, into = slot[1], slot[2]
  if pass % 2 == 1 then out, into = into, out end
  return wrk.format("PATCH", path, headers, string.format(template, out, into))
end
