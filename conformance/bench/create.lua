-- POST /Users with a body shaped like Microsoft Entra ID's "Create User" request, a new
-- userName every request: <prefix>-t<thread>-<n>@bench.example (the prefix is unique per
-- wrk run, the counter per thread).
-- Usage: wrk … -s create.lua <base>/scim/v2/Users -- <prefix>
want_errors = true
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

local prefix, headers, path
local n = 0
local departments = { "Sales", "Engineering", "Finance", "Support", "Marketing", "Legal" }

local template = [[{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User",]]
  .. [["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],]]
  .. [["externalId":"%s","userName":"%s","active":true,"displayName":"Bench New %s",]]
  .. [["title":"Analyst","emails":[{"primary":true,"type":"work","value":"%s"}],]]
  .. [["meta":{"resourceType":"User"},]]
  .. [["name":{"formatted":"Bench New %s","familyName":"New %s","givenName":"Bench"},]]
  .. [["roles":[],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":]]
  .. [[{"department":"%s","employeeNumber":"%s"}}]]

function init(args)
  prefix = args[1] or tostring(os.time())
  path = wrk.path
  headers = headers_with({ ["Content-Type"] = "application/scim+json" })
end

function request()
  n = n + 1
  local key = string.format("%s-t%d-%d", prefix, tid, n)
  local user_name = key .. "@bench.example"
  local body = string.format(template, key, user_name, key, user_name, key, key,
    departments[n % #departments + 1], key)
  return wrk.format("POST", path, headers, body)
end
