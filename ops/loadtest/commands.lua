-- Durable command mix: creates users (unique emails) and, every other request, grants or revokes
-- a role of a user this thread created. ROSTER_MODE=seed: creations only (run.sh seeds the account
-- with it and stops wrk once the account holds ROSTER_USERS users).
local token = os.getenv("ROSTER_TOKEN")
local account = os.getenv("ROSTER_ACCOUNT") or "load"
local seed_only = os.getenv("ROSTER_MODE") == "seed"
local run_tag = os.getenv("ROSTER_RUN") or "r"
local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  users = {}
  n = 0
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  n = n + 1
  if not seed_only and #users > 0 and n % 2 == 0 then
    local u = users[math.random(#users)]
    local body
    if n % 4 == 0 then
      body = '{"grant":{"impact":["member"]}}'
    else
      body = '{"revoke":{"impact":["member"]}}'
    end
      return wrk.format("POST", "/v1/accounts/" .. account .. "/users/" .. u .. "/roles", nil, body)
  end
  local email = string.format("%s-t%d-u%d@load.example.com", run_tag, tid, n)
  local body = '{"email":"' .. email .. '","name":"Load User ' .. tid .. '-' .. n ..
               '","invite":false,"roles":{"support":["viewer"],"learning":["learner"]}}'
  return wrk.format("POST", "/v1/accounts/" .. account .. "/users", nil, body)
end

function response(status, headers, body)
  if status == 201 then
    local id = string.match(body, '"id":"(usr_[0-9a-f]+)"')
    if id and #users < 1000 then table.insert(users, id) end
  elseif status >= 300 then
    errors_seen = (errors_seen or 0) + 1
  end
end

function done(summary, latency, requests)
  local failures = 0
  for _, t in ipairs(threads) do failures = failures + (t:get("errors_seen") or 0) end
  io.write(string.format("non-2xx answers: %d\n", failures))
end
