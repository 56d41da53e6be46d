-- wrk script: POST /v1/payments (automatic capture) at the gateway, one
-- fresh token per payment, read from $BENCH_TOKENS.<n> files.
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  toks = {}
  local nfiles = tonumber(os.getenv("BENCH_TOKEN_FILES"))
  local nthreads = tonumber(os.getenv("BENCH_THREADS"))
  -- thread i takes every file f with f % nthreads == i
  for f = 0, nfiles - 1 do
    if f % nthreads == id then
      for line in io.lines(os.getenv("BENCH_TOKENS") .. "." .. f) do toks[#toks + 1] = line end
    end
  end
  n = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("STRONGROOM_SK")
end
function request()
  n = n + 1
  local tok = toks[((n - 1) % #toks) + 1]
  return wrk.format(nil, "/v1/payments", nil,
    '{"amount":1000,"currency":"usd","payment_method":"' .. tok .. '","capture_method":"automatic"}')
end
function response(status, headers, body)
  if status ~= 201 or not body:find('"status":"captured"', 1, true) then bad = (bad or 0) + 1 end
end
