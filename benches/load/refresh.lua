-- Refresh rotation: a pool of live refresh tokens; each response puts the rotated one back.
local pool = {}

function init(args)
  for line in io.lines(os.getenv("TOKENS")) do
    if line ~= "" then pool[#pool + 1] = line end
  end
end

function request()
  local token = table.remove(pool, 1) or "exhausted"
  return wrk.format("POST", "/token", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = os.getenv("AUTH"),
  }, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  local rotated = string.match(body, '"refresh_token":"([^"]+)"')
  if rotated then pool[#pool + 1] = rotated end
end
