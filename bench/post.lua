-- wrk script used by bench/run.sh: POSTs one fixed JSON body on every request and prints a
-- machine-readable summary line (BENCH_RESULT ...) from done().
--
-- Environment (set by run.sh):
--   BENCH_BODY    path of the request body file (required)
--   BENCH_AUTH    optional bearer token sent as "Authorization: Bearer <token>"
--   BENCH_EXPECT  optional: check mode. Every response must have status 200 and its body must
--                 contain this plain substring; failures are counted and reported as bad=N.
--                 Check mode makes wrk buffer every body, so run.sh uses it only for warm-up.

local body_path = os.getenv("BENCH_BODY")
if body_path == nil or body_path == "" then
  error("BENCH_BODY is not set")
end
local f = assert(io.open(body_path, "rb"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("BENCH_AUTH")
if auth ~= nil and auth ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. auth
end

-- Per-thread counters (each wrk thread has its own Lua state; done() reads them via thread:get).
checked = 0
bad = 0
first_bad = ""

local expect = os.getenv("BENCH_EXPECT")
if expect ~= nil and expect ~= "" then
  function response(status, headers, resp_body)
    checked = checked + 1
    if status ~= 200 or resp_body == nil or not string.find(resp_body, expect, 1, true) then
      bad = bad + 1
      if first_bad == "" then
        first_bad = "status=" .. tostring(status) .. " body=" ..
            string.gsub(string.sub(resp_body or "", 1, 200), "[%c\"]", " ")
      end
    end
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local n_checked, n_bad, why = 0, 0, ""
  for _, t in ipairs(threads) do
    n_checked = n_checked + (t:get("checked") or 0)
    n_bad = n_bad + (t:get("bad") or 0)
    local fb = t:get("first_bad")
    if why == "" and fb ~= nil and fb ~= "" then
      why = fb
    end
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d bytes=%d err_connect=%d err_read=%d " ..
    "err_write=%d err_status=%d err_timeout=%d p50_us=%.0f p90_us=%.0f p99_us=%.0f " ..
    "max_us=%.0f mean_us=%.1f checked=%d bad=%d\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, n_checked, n_bad))
  if why ~= "" then
    io.write("BENCH_FIRST_BAD " .. why .. "\n")
  end
end
