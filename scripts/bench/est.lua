-- wrk script for the EST enrolment benchmark (scripts/bench/network.sh).
-- Usage: wrk -t T ... -s est.lua URL -- FILE FIRST COUNT T
-- FILE holds "token<TAB>base64 CSR" lines (rootkeeper-bench est-prepare). This run uses lines
-- FIRST .. FIRST+COUNT-1; thread `id` takes every T-th of them, so no token is sent twice.
-- Each request: POST /.well-known/est/simpleenroll with "Authorization: Bearer <token>" and
-- "Connection: close" (a new TLS connection per enrolment; PERF_NO_RESUME=1 makes it a full
-- handshake). When a thread runs out of lines it replays its last one, which the appliance
-- refuses (one-time token) — wrk then reports Non-2xx responses and the run is invalid.
local queue = {}
local nextIndex = 1
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  local path, first, count, threads = args[1], tonumber(args[2]), tonumber(args[3]), tonumber(args[4])
  local index = 0
  for line in io.lines(path) do
    if index >= first and index < first + count and (index - first) % threads == id then
      local token, csr = line:match("^(%S+)\t(%S+)$")
      queue[#queue + 1] = wrk.format("POST", "/.well-known/est/simpleenroll", {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/pkcs10",
        ["Connection"] = "close",
      }, csr)
    end
    index = index + 1
  end
end

function request()
  local r = queue[nextIndex] or queue[#queue]
  nextIndex = nextIndex + 1
  return r
end
