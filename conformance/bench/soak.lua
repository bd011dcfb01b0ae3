-- soak.sh's traffic: many tenants, each request as Entra ID sends it (no Prefer header, no
-- extra parameters), the tenant and the operation drawn at random for each request:
--   50%  GET /Users?filter=userName eq "<a seeded user>"       Entra's match lookup
--   20%  PATCH /Users/<id>  Replace active true or false        Entra's (de)activation
--   15%  POST /Users  a new userName                            Entra's create
--   15%  PATCH /Groups/<id>  Add or Remove one member           Entra's membership change
--        (on the tenant's "Everyone" group, of up to 10,000 members, or "Team")
-- Every create answered 201 is written, as "slug userName", to <acked dir>/acked-<minute>-<thread>
-- (the audit looks each up). The last line is common.lua's BENCH line, then one
-- `SOAK status5xx=… status4xx=…` line with the server errors and client errors seen.
-- Usage: wrk … -s soak.lua http://host:port -- <tenants file> <users file> <acked dir> <minute>
--   tenants file: "slug token everyone_group_id team_group_id" per line
--   users file:   "slug id userName" per line (each tenant's seeded users)
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local tenants, by_slug = {}, {}
local minute, acked
local n = 0
-- Globals: done() reads them from each thread.
s5, s4 = 0, 0

local create = [[{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",]]
  .. [["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],]]
  .. [["externalId":"%s","userName":"%s","active":true,"displayName":"Soak New %s",]]
  .. [["emails":[{"primary":true,"type":"work","value":"%s"}],"meta":{"resourceType":"User"},]]
  .. [["name":{"formatted":"Soak New %s","familyName":"New %s","givenName":"Soak"},"roles":[],]]
  .. [["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"}}]]
local active = [[{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],]]
  .. [["Operations":[{"op":"Replace","path":"active","value":"%s"}]}]]
local member = [[{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],]]
  .. [["Operations":[{"op":"%s","path":"members","value":[{"value":"%s"}]}]}]]

function init(args)
  for _, line in ipairs(read_lines(args[1])) do
    local slug, token, everyone, team = line:match("^(%S+)%s+(%S+)%s+(%S+)%s+(%S+)$")
    local t = {
      slug = slug, everyone = everyone, team = team, ids = {}, names = {},
      json = headers_with({ ["Authorization"] = "Bearer " .. token,
                            ["Content-Type"] = "application/scim+json" }),
      get = headers_with({ ["Authorization"] = "Bearer " .. token }),
    }
    tenants[#tenants + 1] = t
    by_slug[slug] = t
  end
  for line in io.lines(args[2]) do
    local slug, id, name = line:match("^(%S+)%s+(%S+)%s+(%S+)$")
    local t = slug and by_slug[slug]
    if t then
      t.ids[#t.ids + 1] = id
      t.names[#t.names + 1] = name
    end
  end
  minute = args[4]
  acked = assert(io.open(string.format("%s/acked-%s-%d", args[3], minute, tid), "a"))
  acked:setvbuf("line")
  seed_random()
end

local function escape(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function request()
  n = n + 1
  local t = tenants[math.random(#tenants)]
  local r = math.random()
  local k = math.random(#t.ids)
  if r < 0.50 then
    return wrk.format("GET", "/scim/v2/Users?filter=" .. escape('userName eq "' .. t.names[k] .. '"'), t.get)
  elseif r < 0.70 then
    local v = math.random() < 0.5 and "False" or "True"
    return wrk.format("PATCH", "/scim/v2/Users/" .. t.ids[k], t.json, string.format(active, v))
  elseif r < 0.85 then
    local key = string.format("m%s-t%d-%d", minute, tid, n)
    local name = key .. "@" .. t.slug .. ".example"
    return wrk.format("POST", "/scim/v2/Users", t.json, string.format(create, key, name, key, name, key, key))
  else
    local group = math.random() < 0.5 and t.everyone or t.team
    local op = math.random() < 0.5 and "Add" or "Remove"
    return wrk.format("PATCH", "/scim/v2/Groups/" .. group, t.json, string.format(member, op, t.ids[k]))
  end
end

function response(status, headers, body)
  if status >= 500 then
    s5 = s5 + 1
  elseif status >= 400 then
    s4 = s4 + 1
  end
  if status >= 400 and not first_error then
    first_error = tostring(status) .. " " .. string.sub(body or "", 1, 400):gsub("\n", " ")
  end
  if status == 201 and body then
    local name = body:match('"userName"%s*:%s*"([^"]+)"')
    local slug = name and name:match("@([%w%-]+)%.example$")
    if slug then acked:write(slug, " ", name, "\n") end
  end
end

local bench_done = done
function done(summary, latency, requests)
  bench_done(summary, latency, requests)
  local a5, a4 = 0, 0
  for _, t in ipairs(all_threads()) do
    a5 = a5 + (t:get("s5") or 0)
    a4 = a4 + (t:get("s4") or 0)
  end
  io.write(string.format("SOAK status5xx=%d status4xx=%d\n", a5, a4))
end
