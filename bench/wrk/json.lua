-- bench/wrk/json.lua: print wrk's summary as one JSON line, prefixed with
-- "JSON " so that bench/run can pick it out of wrk's own output.
-- Latencies are in milliseconds, throughput in MB (10^6 bytes) per second.
done = function(summary, latency, requests)
  local s = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    'JSON {"requests":%d,"duration_s":%.3f,"bytes":%d,"rps":%.1f,"mb_per_s":%.2f,' ..
    '"latency_p50_ms":%.3f,"latency_p99_ms":%.3f,"latency_max_ms":%.3f,' ..
    '"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_status":%d,"errors_timeout":%d}\n',
    summary.requests, s, summary.bytes, summary.requests / s, summary.bytes / s / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3,
    e.connect, e.read, e.write, e.status, e.timeout))
end
