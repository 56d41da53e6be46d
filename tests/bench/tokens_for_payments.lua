-- wrk script: POST /v1/tokens at the vault; each thread appends the token ids
-- it receives to $BENCH_TOKENS.<thread> (the payment phase spends them).
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end
function init(args)
  out = io.open(os.getenv("BENCH_TOKENS") .. "." .. id, "w")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("STRONGROOM_PK")
  wrk.body = '{"card":{"number":"4242424242424242","exp_month":12,"exp_year":2031,"cvc":"123"}}'
end
function response(status, headers, body)
  if status == 201 then
    local tok = body:match('"id":"(tok_[%w]+)"')
    if tok then out:write(tok, "\n") end
  end
end
function done(summary, latency, requests)
  for _, t in ipairs(threads) do end
end
