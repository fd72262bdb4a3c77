-- Wireshark dissector for PMIPv6 over IPv4/UDP (RFC 5844 section 4, RFC 5845 section 7), shipped by pmip6.
--
-- Wireshark dissects UDP 5436 as a Mobility Header but knows nothing of RFC 5845's TLV header
-- (section 7.2, Figure 6) and has no dissector on UDP 5437. This script takes both ports and looks
-- at the first nibble of the UDP payload, which is what tells the formats apart (RFC 5845 7.2):
--   0        TLV header (Type 0, reserved, Next Header, Length), then the ip.proto dissector of
--            Next Header (47 GRE, 4 IPv4, 41 IPv6); expert warning when Length differs from the
--            UDP payload length minus 4 (a receiver MUST discard such a packet, GK-7.1-2)
--   4 or 6   IPv4-UDP mode (RFC 5844 section 4.1.3): a bare IPv4 or IPv6 packet
--   other    a Mobility Header (its first octet is Payload Proto 59): Wireshark's own dissector
--
-- Load it for one run (the script ships inside the pmip6 package):
--   tshark -X lua_script:"$(python3 -c 'import importlib.resources as r; print(r.files("pmip6") / "data/pmip6_tlv.lua")')" -r F
-- or copy it to the "Personal Lua Plugins" folder that `tshark -G folders` prints.

local pmip6tlv = Proto("pmip6tlv", "PMIPv6 UDP TLV header (RFC 5845)")

local f_type = ProtoField.uint8("pmip6tlv.type", "Type", base.DEC, nil, 0xF0)
local f_reserved = ProtoField.uint8("pmip6tlv.reserved", "Reserved", base.HEX, nil, 0x0F)
local f_next_header = ProtoField.uint8("pmip6tlv.next_header", "Next Header", base.DEC,
    { [4] = "IPv4", [41] = "IPv6", [47] = "GRE" })
local f_length = ProtoField.uint16("pmip6tlv.length", "Length", base.DEC)
pmip6tlv.fields = { f_type, f_reserved, f_next_header, f_length }

local e_length = ProtoExpert.new("pmip6tlv.length.mismatch", "TLV Length differs from the UDP payload length",
    expert.group.MALFORMED, expert.severity.WARN)
pmip6tlv.experts = { e_length }

local TLV_HEADER_LENGTH = 4
local CONTROL_PORT = 5436
local DATA_PORT = 5437

local udp_port = DissectorTable.get("udp.port")
local ip_proto = DissectorTable.get("ip.proto")
local ip_dissector = Dissector.get("ip")
local ipv6_dissector = Dissector.get("ipv6")
local mobility_header = udp_port:get_dissector(CONTROL_PORT) or Dissector.get("mip6")

local function dissect_tlv(tvb, pinfo, tree)
    local subtree = tree:add(pmip6tlv, tvb(0, TLV_HEADER_LENGTH))
    subtree:add(f_type, tvb(0, 1))
    subtree:add(f_reserved, tvb(0, 1))
    subtree:add(f_next_header, tvb(1, 1))
    local length_item = subtree:add(f_length, tvb(2, 2))
    pinfo.cols.protocol = "PMIP6-TLV"

    local length = tvb(2, 2):uint()
    local udp_payload_after_header = tvb:reported_len() - TLV_HEADER_LENGTH
    if length ~= udp_payload_after_header then
        length_item:add_proto_expert_info(e_length,
            string.format("TLV Length %d, UDP payload after the TLV header %d (GK-7.1-2: discard)",
                length, udp_payload_after_header))
    end
    if tvb:len() > TLV_HEADER_LENGTH then
        ip_proto:try(tvb(1, 1):uint(), tvb(TLV_HEADER_LENGTH):tvb(), pinfo, tree)
    end
end

function pmip6tlv.dissector(tvb, pinfo, tree)
    if tvb:len() < 1 then
        return 0
    end
    local nibble = tvb(0, 1):bitfield(0, 4)
    if nibble == 0 and tvb:len() >= TLV_HEADER_LENGTH then
        dissect_tlv(tvb, pinfo, tree)
    elseif nibble == 4 then
        ip_dissector:call(tvb, pinfo, tree)
    elseif nibble == 6 then
        ipv6_dissector:call(tvb, pinfo, tree)
    else
        mobility_header:call(tvb, pinfo, tree)
    end
    return tvb:len()
end

udp_port:add(CONTROL_PORT, pmip6tlv)
udp_port:add(DATA_PORT, pmip6tlv)
