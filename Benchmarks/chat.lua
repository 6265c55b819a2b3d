-- wrk script: POST a small chat completion. STREAM=1 in the environment asks for an SSE stream.
local stream = os.getenv("STREAM") == "1"
local key = os.getenv("KEYGATE_KEY") or "none"
local model = os.getenv("MODEL") or "openai/gpt-5.6-luna"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
local body = '{"model":"' .. model .. '","messages":[{"role":"system","content":"You are terse."},' ..
  '{"role":"user","content":"Write one short sentence about gateways."}],"max_tokens":64'
if stream then body = body .. ',"stream":true' end
wrk.body = body .. '}'

function done(summary, latency, requests)
  io.write(string.format("RESULT rps=%.0f p50_us=%d p90_us=%d p99_us=%d errors=%d requests=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(90), latency:percentile(99),
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests))
end
