-- One closed-loop HTTP scenario for wrk (bench/run.py sets the environment):
--   WRK_METHOD, WRK_PATH, WRK_BODY   the request; {contact} and {n} are replaced per request
--   WRK_RUN                          makes {n} unique across runs
--   WRK_CONTACTS                     comma-separated contact ids, spread so that requests in
--                                    flight at once never share a contact
--   WRK_TOKEN                        bearer token ("" for none)
--   WRK_EXPECT                       a 200 whose body lacks this text counts as an error
-- done() prints one JSON line: request count, errors, latency percentiles in microseconds.

local method = os.getenv("WRK_METHOD") or "GET"
local path = os.getenv("WRK_PATH")
local body = os.getenv("WRK_BODY") or ""
local expect = os.getenv("WRK_EXPECT") or ""
local token = os.getenv("WRK_TOKEN") or ""
local run = os.getenv("WRK_RUN") or ""
local contacts = {}
for contact in string.gmatch(os.getenv("WRK_CONTACTS") or "-", "[^,]+") do
  table.insert(contacts, contact)
end

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  n, bad, sample = 0, 0, ""
  nthreads = tonumber(os.getenv("WRK_THREADS"))
  wrk.headers["Content-Type"] = "application/json"
  if token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
end

function request()
  n = n + 1
  local contact = contacts[((n * nthreads + id) % #contacts) + 1]
  local unique = run .. "-" .. id .. "-" .. n
  local p = path:gsub("{contact}", contact):gsub("{n}", unique)
  local b = body:gsub("{contact}", contact):gsub("{n}", unique)
  return wrk.format(method, p, nil, b ~= "" and b or nil)
end

function response(status, headers, text)
  if status ~= 200 or (expect ~= "" and not string.find(text, expect, 1, true)) then
    bad = bad + 1
    if sample == "" then
      sample = (status .. " " .. string.sub(text, 1, 200)):gsub("[%c\"\\]", " ")
    end
  end
end

function done(summary, latency, requests)
  local errors, sample = 0, ""
  for _, thread in ipairs(threads) do
    errors = errors + thread:get("bad")
    if sample == "" then sample = thread:get("sample") end
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bad":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,"sample":"%s"}\n',
    summary.requests, summary.duration, errors,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    sample))
end
