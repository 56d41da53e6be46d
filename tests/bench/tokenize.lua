-- wrk script: POST /v1/tokens with the test merchant's publishable key.
-- BENCH_PK in the environment; the body carries no CVC (2 HSM operations per
-- token: the fingerprint HMAC and the PAN's AES-GCM, as the bound B assumes).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_PK")
wrk.body = '{"card":{"number":"4242424242424242","exp_month":12,"exp_year":2031}}'

done = function(summary, latency, requests)
  io.write(string.format("BENCH requests=%d duration_us=%d errors_status=%d errors_connect=%d p50_us=%d p99_us=%d\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    latency:percentile(50), latency:percentile(99)))
end
