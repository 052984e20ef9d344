-- Authorization-code exchange: every request redeems a different pre-minted code.
local codes = {}
local next_code = 1
local verifier = os.getenv("VERIFIER")
local redirect = "http%3A%2F%2F127.0.0.1%3A8081%2Fcallback"

function init(args)
  for line in io.lines(os.getenv("CODES")) do
    if line ~= "" then codes[#codes + 1] = line end
  end
end

function request()
  local code = codes[next_code] or "exhausted"
  next_code = next_code + 1
  local body = "grant_type=authorization_code&code=" .. code .. "&redirect_uri=" .. redirect .. "&code_verifier=" .. verifier
  return wrk.format("POST", "/token", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = os.getenv("AUTH"),
  }, body)
end
