-- wrk script for bench/bench_server.py: the request comes from the environment, the summary goes out as JSON.
--
--   WRK_METHOD        GET (default) or POST
--   WRK_BODY          request body (the refresh grant's form), sent as is
--   WRK_CONTENT_TYPE  its Content-Type
--
-- Headers given with -H (Authorization, Connection: close) are kept by wrk.format.
-- No response() callback on purpose: defining one makes wrk hand every response to Lua, which costs client CPU.
-- Non-2xx/3xx answers are still counted (summary.errors.status); bench_server.py shows them as ERRORS.

local method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY")
local content_type = os.getenv("WRK_CONTENT_TYPE")

wrk.method = method
if body ~= nil and body ~= "" then
   wrk.body = body
   if content_type ~= nil and content_type ~= "" then
      wrk.headers["Content-Type"] = content_type
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"stdev":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.min, latency.mean, latency.max, latency.stdev,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9)))
end
