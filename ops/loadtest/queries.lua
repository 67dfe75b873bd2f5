-- Query mix over a seeded account: user list search (a fresh substring each time, as typed),
-- profile view, and access decision, in equal parts. ROSTER_IDS is a file of user ids.
local token = os.getenv("ROSTER_TOKEN")
local account = os.getenv("ROSTER_ACCOUNT") or "load"
local ids_file = os.getenv("ROSTER_IDS")
local ids = {}
for line in io.lines(ids_file) do table.insert(ids, line) end
local terms = {"load", "user 1", "u17", "t0-", "t1-u4", "example", "9@", "oad use", "u12345", "zz-none"}
local portals = {"support", "impact", "learning"}

function init(args)
  n = 0
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  n = n + 1
  local k = n % 3
  if k == 0 then
    local q = terms[math.random(#terms)]:gsub(" ", "%%20"):gsub("@", "%%40")
    return wrk.format("GET", "/v1/accounts/" .. account .. "/users?limit=50&q=" .. q)
  elseif k == 1 then
    return wrk.format("GET", "/v1/accounts/" .. account .. "/users/" .. ids[math.random(#ids)])
  else
    return wrk.format("GET", "/v1/access?user=" .. ids[math.random(#ids)] .. "&account=" .. account ..
                             "&portal=" .. portals[math.random(#portals)])
  end
end
