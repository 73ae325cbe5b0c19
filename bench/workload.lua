-- One benchmark workload for wrk:
-- `wrk ... -s bench/workload.lua URL -- WORKLOAD PREFIX IDS_FILE TOKEN`.
-- WORKLOAD: signup | record_create | record_read | record_not_found | health | baseline
-- (the talk's sample endpoint, bench/baseline.py).
-- Counts responses whose status is not the workload's expected one, and prints one JSON line,
-- prefixed with "BENCH_RESULT ", when the run ends.

local threads = {}
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_number", next_thread)
  table.insert(threads, thread)
end

local workload, prefix, ids, patient_id
local counter = 0
local expected = 200
unexpected = 0
statuses = ""

local function read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    if line ~= "" then
      table.insert(lines, line)
    end
  end
  return lines
end

local function random_uuid()
  return string.format(
    "%08x-%04x-4%03x-%04x-%04x%08x",
    math.random(0, 0x7fffffff), math.random(0, 0xffff), math.random(0, 0xfff),
    math.random(0x8000, 0xbfff), math.random(0, 0xffff), math.random(0, 0x7fffffff)
  )
end

local json_headers = { ["Content-Type"] = "application/json" }
local auth_headers = {}

function init(args)
  workload, prefix = args[1], args[2]
  -- Every /v1 request carries the access token.
  json_headers["Authorization"] = "Bearer " .. args[4]
  auth_headers["Authorization"] = "Bearer " .. args[4]
  math.randomseed(os.time() * 1000 + thread_number)
  if args[3] ~= nil and args[3] ~= "" then
    ids = read_lines(args[3])
    patient_id = table.remove(ids, 1)
  end
  if workload == "signup" or workload == "record_create" then
    expected = 201
  elseif workload == "record_not_found" then
    expected = 404
  end
end

function request()
  counter = counter + 1
  if workload == "signup" then
    local body = string.format(
      '{"email":"p.%s.%d.%d@bench.example","full_name":"Bench Patient %d"}',
      prefix, thread_number, counter, counter
    )
    return wrk.format("POST", "/v1/signups", json_headers, body)
  elseif workload == "record_create" then
    local body = string.format(
      '{"patient_id":"%s","doctor_id":"dr-bench","kind":"message","details":"bench %d"}',
      patient_id, counter
    )
    return wrk.format("POST", "/v1/records", json_headers, body)
  elseif workload == "record_read" then
    return wrk.format("GET", "/v1/records/" .. ids[(counter % #ids) + 1], auth_headers)
  elseif workload == "record_not_found" then
    return wrk.format("GET", "/v1/records/" .. random_uuid(), auth_headers)
  elseif workload == "baseline" then
    return wrk.format("GET", "/workflow")
  end
  return wrk.format("GET", "/healthz")
end

local seen = {}

function response(status, headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
    if seen[status] == nil then
      seen[status] = true
      statuses = statuses .. status .. " "
    end
  end
end

function done(summary, latency, requests)
  local bad, seen_statuses = 0, ""
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("unexpected")
    seen_statuses = seen_statuses .. thread:get("statuses")
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"unexpected_status":%d,'
      .. '"unexpected_statuses":"%s","connect_errors":%d,"read_errors":%d,"write_errors":%d,'
      .. '"timeouts":%d,"latency_us":{"mean":%.1f,"p50":%d,"p95":%d,"p99":%d,"max":%d}}\n',
    summary.requests, summary.duration, bad, seen_statuses, errors.connect, errors.read,
    errors.write, errors.timeout, latency.mean, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max
  ))
end
