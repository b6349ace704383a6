-- wrk script: POST the bytes of a file (an OCSP request) to the URL's path, every request.
-- Usage: wrk ... -s post-file.lua URL -- FILE CONTENT-TYPE [close]
local body, contentType, close

function init(args)
  local f = assert(io.open(args[1], "rb"))
  body = f:read("*a")
  f:close()
  contentType = args[2]
  close = args[3] == "close"
end

function request()
  local headers = { ["Content-Type"] = contentType }
  if close then headers["Connection"] = "close" end
  return wrk.format("POST", nil, headers, body)
end
