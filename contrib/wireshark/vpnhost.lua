-- vpnhost.lua: a Wireshark dissector for the vpnhost wire protocol v1
-- (docs/protocol.md) over TCP (transport_tcp) and UDP (transport_udp).
--
--   wireshark -X lua_script:contrib/wireshark/vpnhost.lua capture.pcap
--   tshark -X lua_script:contrib/wireshark/vpnhost.lua -r capture.pcap
--   tshark -X lua_script:contrib/wireshark/vpnhost.lua \
--          -o "vpnhost.xor_key:$(cat /etc/vpnhost/xor.key)" -r capture.pcap
--
-- Or copy it to ~/.local/lib/wireshark/plugins/ (Wireshark loads it at start).
--
-- What it shows: every frame's header (length, type, flags), split out of
-- the TCP stream (a frame may span segments, a segment may hold many), or
-- one per UDP datagram with its session index when the header's flags have
-- 0x01 and a client's cookie field when they have 0x02, and the server's
-- COOKIE datagrams (type 0x80; protocol.md section 11). The bodies are
-- sealed by the session's cipher:
--   * cipher_xor: set the preference "XOR key" (the key file's base64 text)
--     and the bodies are decoded: HELLO/WELCOME/BYE/REJECT fields, and the
--     IPv4 packet inside DATA (handed to Wireshark's IP dissector).
--   * cipher_noise (or any AEAD cipher): bodies are opaque; HANDSHAKE frames
--     are not sealed and are shown as bytes.
--   * without a key, a HELLO or WELCOME body that starts with the magic
--     "VPNH" is plain (an unsealed test cipher) and is decoded; the
--     preference "Bodies are not sealed" decodes every body as plain.
-- Ports: TCP 5000 and UDP 5000 (the stock manifests), changeable in the
-- preferences; or use "Decode As... vpnhost" (TCP) / "vpnhost_udp" (UDP).

local p = Proto("vpnhost", "vpnhost VPN protocol v1")

local frame_types = {
  [1] = "HELLO", [2] = "WELCOME", [3] = "DATA", [4] = "KEEPALIVE",
  [5] = "BYE", [6] = "REJECT", [7] = "HANDSHAKE",
  [0x80] = "COOKIE", -- transport_udp's address proof (UDP only, never sealed)
}
local bye_reasons = { [0] = "shutdown", [1] = "restart", [2] = "timeout", [3] = "leaving" }
local reject_codes = { [1] = "pool full", [2] = "version", [3] = "auth", [4] = "busy", [5] = "protocol" }
local option_types = { [1] = "DNS" }

local f = {
  length = ProtoField.uint16("vpnhost.length", "Body length", base.DEC),
  type = ProtoField.uint8("vpnhost.type", "Type", base.DEC, frame_types),
  flags = ProtoField.uint8("vpnhost.flags", "Flags", base.HEX),
  index = ProtoField.uint32("vpnhost.index", "Session index (UDP)", base.HEX),
  cookie = ProtoField.bytes("vpnhost.cookie", "Cookie (UDP address proof)"),
  body = ProtoField.bytes("vpnhost.body", "Body (sealed)"),
  sealed = ProtoField.bool("vpnhost.sealed", "Body opaque (sealed by the cipher)"),
  handshake = ProtoField.bytes("vpnhost.handshake", "Handshake message (cipher-defined)"),
  magic = ProtoField.string("vpnhost.magic", "Magic"),
  version = ProtoField.uint16("vpnhost.version", "Version", base.DEC),
  hello_flags = ProtoField.uint16("vpnhost.hello.flags", "Flags", base.HEX),
  max_body = ProtoField.uint16("vpnhost.max_body", "Max body", base.DEC),
  requested_mtu = ProtoField.uint16("vpnhost.hello.requested_mtu", "Requested MTU", base.DEC),
  prefix_len = ProtoField.uint8("vpnhost.welcome.prefix_len", "Prefix length", base.DEC),
  reserved = ProtoField.uint8("vpnhost.welcome.reserved", "Reserved", base.HEX),
  address = ProtoField.ipv4("vpnhost.welcome.address", "Client address"),
  server = ProtoField.ipv4("vpnhost.welcome.server", "Server address"),
  mtu = ProtoField.uint16("vpnhost.welcome.mtu", "MTU", base.DEC),
  keepalive = ProtoField.uint16("vpnhost.welcome.keepalive", "Keepalive (s)", base.DEC),
  timeout = ProtoField.uint16("vpnhost.welcome.timeout", "Session timeout (s)", base.DEC),
  opt_type = ProtoField.uint8("vpnhost.welcome.option.type", "Option type", base.DEC, option_types),
  opt_len = ProtoField.uint8("vpnhost.welcome.option.length", "Option length", base.DEC),
  opt_value = ProtoField.bytes("vpnhost.welcome.option.value", "Option value"),
  dns = ProtoField.ipv4("vpnhost.welcome.dns", "DNS server"),
  bye_reason = ProtoField.uint8("vpnhost.bye.reason", "Reason", base.DEC, bye_reasons),
  reject_code = ProtoField.uint8("vpnhost.reject.code", "Code", base.DEC, reject_codes),
  text = ProtoField.string("vpnhost.text", "Text"),
}
p.fields = f

local ef_short = ProtoExpert.new("vpnhost.short", "Body too short for this frame type", expert.group.MALFORMED,
                                 expert.severity.ERROR)
local ef_magic = ProtoExpert.new("vpnhost.bad_magic", "No VPNH magic (wrong XOR key, or an opaque cipher)",
                                 expert.group.DECRYPTION, expert.severity.WARN)
local ef_flags = ProtoExpert.new("vpnhost.bad_flags", "Header flags must be 0 in v1 (over UDP 0x01 and 0x02 only)",
                                 expert.group.PROTOCOL, expert.severity.ERROR)
local ef_length = ProtoExpert.new("vpnhost.bad_length", "Body length does not match the datagram",
                                  expert.group.MALFORMED, expert.severity.ERROR)
local ef_type = ProtoExpert.new("vpnhost.bad_type", "Unknown frame type", expert.group.PROTOCOL, expert.severity.ERROR)
p.experts = { ef_short, ef_magic, ef_flags, ef_type, ef_length }

p.prefs.port = Pref.uint("TCP port", 5000, "TCP port of the vpnhost transport (transport_tcp 'port')")
p.prefs.udp_port = Pref.uint("UDP port", 5000, "UDP port of the vpnhost transport (transport_udp 'port')")
p.prefs.xor_key = Pref.string("XOR key", "", "cipher_xor key: the key file's base64 text (decodes the bodies)")
p.prefs.plain = Pref.bool("Bodies are not sealed", false, "decode every body as plain text (a test cipher)")

local ip_dissector = Dissector.get("ip")
local infos = {} -- Info column parts of the packet being dissected
local xor_key = nil -- ByteArray of the decoded key, or nil

local function load_key()
  xor_key = nil
  local text = (p.prefs.xor_key or ""):gsub("%s", "")
  if text == "" then return end
  local ok, key = pcall(function() return ByteArray.new(text, true):base64_decode() end)
  if ok and key and key:len() > 0 then xor_key = key end
end

-- body bytes XORed with the key (the key position restarts at 0 per frame)
local function xor_body(tvb, offset, len)
  local b = tvb(offset, len):bytes()
  local klen = xor_key:len()
  for i = 0, len - 1 do
    b:set_index(i, bit.bxor(b:get_index(i), xor_key:get_index(i % klen)))
  end
  return b:tvb("vpnhost body (XOR-decoded)")
end

local function need(body, n, tree)
  if body:len() < n then
    tree:add_proto_expert_info(ef_short)
    return false
  end
  return true
end

local function magic_ok(body, tree)
  if body:len() < 4 or body(0, 4):string() ~= "VPNH" then
    tree:add_proto_expert_info(ef_magic)
    return false
  end
  tree:add(f.magic, body(0, 4))
  return true
end

local function text_field(body, tree)
  if body:len() > 1 then tree:add(f.text, body(1, body:len() - 1)) end
end

local decoders = {
  [1] = function(body, tree, pinfo) -- HELLO
    if not magic_ok(body, tree) or not need(body, 12, tree) then return "" end
    tree:add(f.version, body(4, 2))
    tree:add(f.hello_flags, body(6, 2))
    tree:add(f.max_body, body(8, 2))
    tree:add(f.requested_mtu, body(10, 2))
    return string.format(" v%d max_body %d", body(4, 2):uint(), body(8, 2):uint())
  end,
  [2] = function(body, tree, pinfo) -- WELCOME
    if not magic_ok(body, tree) or not need(body, 24, tree) then return "" end
    tree:add(f.version, body(4, 2))
    tree:add(f.prefix_len, body(6, 1))
    tree:add(f.reserved, body(7, 1))
    tree:add(f.address, body(8, 4))
    tree:add(f.server, body(12, 4))
    tree:add(f.mtu, body(16, 2))
    tree:add(f.keepalive, body(18, 2))
    tree:add(f.timeout, body(20, 2))
    tree:add(f.max_body, body(22, 2))
    local off = 24
    while off + 2 <= body:len() do
      local t, l = body(off, 1):uint(), body(off + 1, 1):uint()
      if off + 2 + l > body:len() then
        tree:add_proto_expert_info(ef_short, "Truncated option")
        break
      end
      local o = tree:add(body(off, 2 + l), "Option: " .. (option_types[t] or ("type " .. t)))
      o:add(f.opt_type, body(off, 1))
      o:add(f.opt_len, body(off + 1, 1))
      if t == 1 and l == 4 then
        o:add(f.dns, body(off + 2, 4))
      elseif l > 0 then
        o:add(f.opt_value, body(off + 2, l))
      end
      off = off + 2 + l
    end
    return string.format(" %s/%d server %s mtu %d", tostring(body(8, 4):ipv4()), body(6, 1):uint(),
                         tostring(body(12, 4):ipv4()), body(16, 2):uint())
  end,
  [3] = function(body, tree, pinfo) -- DATA: one IPv4 packet
    if body:len() >= 20 and bit.rshift(body(0, 1):uint(), 4) == 4 and ip_dissector then
      ip_dissector:call(body, pinfo, tree:add(body(), "Tunnelled IPv4 packet"))
      return ""
    end
    return " (not an IPv4 packet)"
  end,
  [4] = function(body, tree, pinfo) return "" end, -- KEEPALIVE
  [5] = function(body, tree, pinfo) -- BYE
    if not need(body, 1, tree) then return "" end
    tree:add(f.bye_reason, body(0, 1))
    text_field(body, tree)
    return " " .. (bye_reasons[body(0, 1):uint()] or "?")
  end,
  [6] = function(body, tree, pinfo) -- REJECT
    if not need(body, 1, tree) then return "" end
    tree:add(f.reject_code, body(0, 1))
    text_field(body, tree)
    return " " .. (reject_codes[body(0, 1):uint()] or "?")
  end,
}

local function frame_length(tvb, pinfo, offset)
  return 4 + tvb(offset, 2):uint()
end

-- The bytes in front of a UDP datagram's body: the header, the session
-- index (flag 0x01), a client's cookie field (flag 0x02).
local function udp_prefix(flags)
  return 4 + (bit.band(flags, 1) ~= 0 and 4 or 0) + (bit.band(flags, 2) ~= 0 and 16 or 0)
end

-- One whole frame (dissect_tcp_pdus hands over exactly one; over UDP it is
-- the whole datagram, with a session index after the header if flags have
-- 0x01 and a cookie field after that if they have 0x02).
local function dissect_frame(tvb, pinfo, root, udp)
  local len, t, flags = tvb(0, 2):uint(), tvb(2, 1):uint(), tvb(3, 1):uint()
  local name = frame_types[t] or ("type " .. t)
  local tree = root:add(p, tvb(), string.format("vpnhost %s, body %d bytes", name, len))
  tree:add(f.length, tvb(0, 2))
  local ti = tree:add(f.type, tvb(2, 1))
  if not frame_types[t] or (t == 0x80 and not udp) then ti:add_proto_expert_info(ef_type) end
  local fi = tree:add(f.flags, tvb(3, 1))
  local off = 4
  if udp and t == 0x80 then
    -- COOKIE (server -> client): 16 bytes, the cookie to echo; no session yet
    if flags ~= 0 then fi:add_proto_expert_info(ef_flags) end
    if tvb:len() >= 20 then tree:add(f.cookie, tvb(4, 16)) end
    infos[#infos + 1] = "COOKIE"
    pinfo.cols.protocol = "vpnhost"
    pinfo.cols.info = table.concat(infos, ", ")
    if len ~= 16 or tvb:len() ~= 20 then tree:add_proto_expert_info(ef_length) end
    return tvb:len()
  end
  if udp and flags <= 3 and tvb:len() >= udp_prefix(flags) then
    if bit.band(flags, 1) ~= 0 then
      tree:add(f.index, tvb(4, 4))
      off = 8
    end
    if bit.band(flags, 2) ~= 0 then
      tree:add(f.cookie, tvb(off, 16))
      off = off + 16
    end
  elseif flags ~= 0 then
    fi:add_proto_expert_info(ef_flags)
  end
  if udp and off + len ~= tvb:len() then
    tree:add_proto_expert_info(ef_length)
    len = math.max(0, math.min(len, tvb:len() - off))
  end
  local info = name
  if len > 0 then
    local raw = tvb(off, len)
    local body = nil
    if t == 7 then
      tree:add(f.handshake, raw)
    elseif xor_key then
      tree:add(f.body, raw)
      body = xor_body(tvb, off, len)
    elseif p.prefs.plain or ((t == 1 or t == 2) and len >= 4 and raw(0, 4):string() == "VPNH") then
      body = raw:tvb()
    else
      tree:add(f.body, raw)
      tree:add(f.sealed, true):set_generated()
    end
    if body and decoders[t] then info = info .. decoders[t](body, tree, pinfo) end
  end
  -- Info: this packet's frames, "HELLO v1 max_body 9216, DATA, KEEPALIVE"
  infos[#infos + 1] = info
  pinfo.cols.protocol = "vpnhost"
  pinfo.cols.info = table.concat(infos, ", ")
  return tvb:len()
end

function p.dissector(tvb, pinfo, root)
  infos = {}
  dissect_tcp_pdus(tvb, root, 4, frame_length, function(t, pi, r) return dissect_frame(t, pi, r, false) end)
  return tvb:len()
end

-- Over UDP: one frame per datagram. An empty datagram is a NAT keepalive
-- (transport option keepalive), not a frame. A capture taken where UDP GSO
-- has not yet split a train (the sender's side, or a veth) shows several
-- equal-size datagrams as one: their frames follow each other, so they are
-- shown one after the other, as over TCP.
local pu = Proto("vpnhost_udp", "vpnhost VPN protocol v1 over UDP")
function pu.dissector(tvb, pinfo, root)
  infos = {}
  local n = tvb:len()
  if n == 0 then
    pinfo.cols.protocol = "vpnhost"
    pinfo.cols.info = "NAT keepalive (empty datagram)"
    return 0
  end
  if n < 4 then return 0 end
  local off = 0
  while off + 4 <= n do
    local size = udp_prefix(tvb(off + 3, 1):uint()) + tvb(off, 2):uint()
    if off + size > n then size = n - off end -- dissect_frame reports the bad length
    dissect_frame(tvb(off, size):tvb(), pinfo, root, true)
    off = off + size
  end
  return n
end

local registered_port, registered_udp_port = nil, nil
local function register_port()
  local tcp = DissectorTable.get("tcp.port")
  if registered_port then tcp:remove(registered_port, p) end
  registered_port = p.prefs.port
  if registered_port and registered_port > 0 then tcp:add(registered_port, p) end
  local udp = DissectorTable.get("udp.port")
  if registered_udp_port then udp:remove(registered_udp_port, pu) end
  registered_udp_port = p.prefs.udp_port
  if registered_udp_port and registered_udp_port > 0 then udp:add(registered_udp_port, pu) end
end

function p.init()
  load_key()
end

function p.prefs_changed()
  load_key()
  register_port()
end

register_port()
