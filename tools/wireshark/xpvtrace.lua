-- xpvtrace.lua: Wireshark dissector for the records `xpvsim run --trace`
-- writes (docs/trace-format.md, version 1): pcap frames of link type
-- USER0 (DLT 147), one record per event crossing the frontend/backend
-- boundary of a simulated Xen PV USB / PV SCSI run.
--
--   wireshark -X lua_script:tools/wireshark/xpvtrace.lua trace.pcap
--   tshark -2 -X lua_script:tools/wireshark/xpvtrace.lua -r trace.pcap
--
-- Ring entries are decoded with Xen's io/vscsiif.h and io/usbif.h.
-- Requests and responses of a ring are paired by (ring_id, id): a
-- response names its request (xpvtrace.rsp.request_in, always, since the
-- request comes first), a request its response (xpvtrace.req.response_in,
-- in the second pass: tshark -2 or the GUI).
--
-- The records come from a simulator that is fuzzed with hostile peers and
-- traces can be cut or edited, so every read is bounded by the bytes
-- present: a short record is reported as malformed expert info, never as
-- a Lua error. A pcall around the whole dissection turns any remaining
-- bug into an error-level expert item instead of an aborted dissection.

local xpv = Proto("xpvtrace", "xpv trace record")

-- Lua 5.2 builds of Wireshark have bit32; all have LuaBitOp's `bit`
-- (whose results are signed, which the uses below do not mind).
local bitop = bit32 or bit

local HDR_LEN_V1 = 32
local MAGIC = "XPVT"
local DOMID_INVALID = 0x7ff4

-- ---- value names --------------------------------------------------------

local REC = {
	RING_ATTACH = 1, RING_DETACH = 2, RING_ENTRY = 3, RING_INDEX = 4,
	RING_EVENT = 5,
	EVTCHN_SEND = 16, EVTCHN_DELIVER = 17, EVTCHN_BIND = 18,
	EVTCHN_CLOSE = 19, EVTCHN_EOI = 20,
	GNT_GRANT = 32, GNT_END = 33, GNT_MAP = 34, GNT_UNMAP = 35,
	GNT_COPY = 36,
	XS_WRITE = 48, XS_MKDIR = 49, XS_RM = 50, XS_SET_PERMS = 51,
	XS_WATCH_FIRE = 52, XENBUS_STATE = 53, XS_WATCH = 54, XS_UNWATCH = 55,
	DATA = 40, RUN = 64, RUN_MORE = 65,
}
local rec_type_names = {}
for name, v in pairs(REC) do rec_type_names[v] = name end

local KIND_VSCSI, KIND_URB, KIND_CONN = 1, 2, 3
local kind_names = { [1] = "vscsiif", [2] = "usbif-urb", [3] = "usbif-conn" }
local dir_names = { [0] = "request", [1] = "response" }
-- RING_EVENT: which event index moved (req_event the backend writes,
-- rsp_event the frontend).
local event_idx_names = { [0] = "req_event", [1] = "rsp_event" }

local xenbus_states = {
	[0] = "Unknown", [1] = "Initialising", [2] = "InitWait",
	[3] = "Initialised", [4] = "Connected", [5] = "Closing", [6] = "Closed",
	[7] = "Reconfiguring", [8] = "Reconfigured",
}

local errno_names = {
	[0] = "OK", [-2] = "ENOENT", [-3] = "ESRCH", [-13] = "EACCES",
	[-16] = "EBUSY", [-22] = "EINVAL",
}

-- vscsiif.h
local vscsi_acts = {
	[1] = "SCSI_CDB", [2] = "SCSI_ABORT", [3] = "SCSI_RESET",
	[4] = "SCSI_SG_PRESET",
}
local vscsi_dirs = {
	[0] = "BIDIRECTIONAL", [1] = "TO_DEVICE", [2] = "FROM_DEVICE",
	[3] = "NONE",
}
local VSCSIIF_SG_GRANT = 0x80
local VSCSIIF_SG_TABLESIZE = 26
local VSCSIIF_SENSE_BUFFERSIZE = 96
local VSCSI_PAGE = 4096
local vscsi_host_bytes = {
	[0] = "OK", [1] = "NO_CONNECT", [2] = "BUS_BUSY", [3] = "TIME_OUT",
	[4] = "BAD_TARGET", [5] = "ABORT", [6] = "PARITY", [7] = "ERROR",
	[8] = "RESET", [9] = "BAD_INTR", [10] = "PASSTHROUGH",
	[11] = "SOFT_ERROR", [12] = "IMM_RETRY", [13] = "REQUEUE",
	[14] = "TRANSPORT_DISRUPTED", [15] = "TRANSPORT_FAILFAST",
	[16] = "TARGET_FAILURE", [17] = "NEXUS_FAILURE",
	[18] = "ALLOC_FAILURE", [19] = "MEDIUM_ERROR",
	[20] = "TRANSPORT_MARGINAL",
}
local vscsi_reset_results = {
	[0x2002] = "RESET_SUCCESS", [0x2003] = "RESET_FAILED",
}

-- SAM status codes (the low byte of rslt).
local scsi_status_names = {
	[0x00] = "GOOD", [0x02] = "CHECK CONDITION", [0x04] = "CONDITION MET",
	[0x08] = "BUSY", [0x10] = "INTERMEDIATE", [0x14] = "INTERMEDIATE-CONDITION MET",
	[0x18] = "RESERVATION CONFLICT", [0x22] = "COMMAND TERMINATED",
	[0x28] = "TASK SET FULL", [0x30] = "ACA ACTIVE", [0x40] = "TASK ABORTED",
}

-- SPC/SBC/MMC operation codes.
local OP = {
	TEST_UNIT_READY = 0x00, REQUEST_SENSE = 0x03, READ6 = 0x08,
	WRITE6 = 0x0a, INQUIRY = 0x12, MODE_SELECT6 = 0x15,
	MODE_SENSE6 = 0x1a, START_STOP = 0x1b, PREVENT_ALLOW = 0x1e,
	READ_CAPACITY10 = 0x25, READ10 = 0x28, WRITE10 = 0x2a,
	WRITE_VERIFY10 = 0x2e, VERIFY10 = 0x2f, SYNC_CACHE10 = 0x35,
	READ_TOC = 0x43, GET_CONFIGURATION = 0x46, GET_EVENT_STATUS = 0x4a,
	MODE_SELECT10 = 0x55, MODE_SENSE10 = 0x5a, READ16 = 0x88,
	WRITE16 = 0x8a, VERIFY16 = 0x8f, SYNC_CACHE16 = 0x91,
	SERVICE_ACTION_IN16 = 0x9e, REPORT_LUNS = 0xa0, READ12 = 0xa8,
	WRITE12 = 0xaa, VERIFY12 = 0xaf,
}
local scsi_opcode_names = {
	[0x00] = "TEST UNIT READY", [0x01] = "REZERO UNIT",
	[0x03] = "REQUEST SENSE", [0x04] = "FORMAT UNIT", [0x08] = "READ(6)",
	[0x0a] = "WRITE(6)", [0x0b] = "SEEK(6)", [0x12] = "INQUIRY",
	[0x15] = "MODE SELECT(6)", [0x16] = "RESERVE(6)", [0x17] = "RELEASE(6)",
	[0x1a] = "MODE SENSE(6)", [0x1b] = "START STOP UNIT",
	[0x1c] = "RECEIVE DIAGNOSTIC RESULTS", [0x1d] = "SEND DIAGNOSTIC",
	[0x1e] = "PREVENT ALLOW MEDIUM REMOVAL",
	[0x23] = "READ FORMAT CAPACITIES", [0x25] = "READ CAPACITY(10)",
	[0x28] = "READ(10)", [0x2a] = "WRITE(10)", [0x2b] = "SEEK(10)",
	[0x2e] = "WRITE AND VERIFY(10)", [0x2f] = "VERIFY(10)",
	[0x35] = "SYNCHRONIZE CACHE(10)", [0x37] = "READ DEFECT DATA(10)",
	[0x3b] = "WRITE BUFFER", [0x3c] = "READ BUFFER",
	[0x41] = "WRITE SAME(10)", [0x42] = "UNMAP",
	[0x43] = "READ TOC/PMA/ATIP", [0x45] = "PLAY AUDIO(10)",
	[0x46] = "GET CONFIGURATION",
	[0x4a] = "GET EVENT STATUS NOTIFICATION", [0x4c] = "LOG SELECT",
	[0x4d] = "LOG SENSE", [0x51] = "READ DISC INFORMATION",
	[0x52] = "READ TRACK INFORMATION", [0x55] = "MODE SELECT(10)",
	[0x56] = "RESERVE(10)", [0x57] = "RELEASE(10)",
	[0x5a] = "MODE SENSE(10)", [0x5e] = "PERSISTENT RESERVE IN",
	[0x5f] = "PERSISTENT RESERVE OUT", [0x7f] = "VARIABLE LENGTH CDB",
	[0x85] = "ATA PASS-THROUGH(16)", [0x88] = "READ(16)",
	[0x89] = "COMPARE AND WRITE", [0x8a] = "WRITE(16)",
	[0x8e] = "WRITE AND VERIFY(16)", [0x8f] = "VERIFY(16)",
	[0x91] = "SYNCHRONIZE CACHE(16)", [0x93] = "WRITE SAME(16)",
	[0x9e] = "SERVICE ACTION IN(16)", [0xa0] = "REPORT LUNS",
	[0xa1] = "ATA PASS-THROUGH(12)", [0xa3] = "MAINTENANCE IN",
	[0xa8] = "READ(12)", [0xaa] = "WRITE(12)", [0xad] = "READ DISC STRUCTURE",
	[0xaf] = "VERIFY(12)", [0xbb] = "SET CD SPEED",
	[0xbd] = "MECHANISM STATUS", [0xbe] = "READ CD",
}
local SA_READ_CAPACITY16 = 0x10

local sense_keys = {
	[0x0] = "NO SENSE", [0x1] = "RECOVERED ERROR", [0x2] = "NOT READY",
	[0x3] = "MEDIUM ERROR", [0x4] = "HARDWARE ERROR",
	[0x5] = "ILLEGAL REQUEST", [0x6] = "UNIT ATTENTION",
	[0x7] = "DATA PROTECT", [0x8] = "BLANK CHECK", [0x9] = "VENDOR SPECIFIC",
	[0xa] = "COPY ABORTED", [0xb] = "ABORTED COMMAND",
	[0xd] = "VOLUME OVERFLOW", [0xe] = "MISCOMPARE", [0xf] = "COMPLETED",
}
local sense_response_codes = {
	[0x70] = "current, fixed format", [0x71] = "deferred, fixed format",
	[0x72] = "current, descriptor format",
	[0x73] = "deferred, descriptor format",
}
-- (ASC << 8 | ASCQ), SPC-4 Annex D: the ones a disk or CD-ROM target and
-- its host adapter commonly report.
local asc_ascq_names = {
	[0x0000] = "NO ADDITIONAL SENSE INFORMATION",
	[0x0400] = "LOGICAL UNIT NOT READY, CAUSE NOT REPORTABLE",
	[0x0401] = "LOGICAL UNIT IS IN PROCESS OF BECOMING READY",
	[0x0402] = "LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED",
	[0x0500] = "LOGICAL UNIT DOES NOT RESPOND TO SELECTION",
	[0x0800] = "LOGICAL UNIT COMMUNICATION FAILURE",
	[0x0c00] = "WRITE ERROR", [0x1100] = "UNRECOVERED READ ERROR",
	[0x1a00] = "PARAMETER LIST LENGTH ERROR",
	[0x1d00] = "MISCOMPARE DURING VERIFY OPERATION",
	[0x2000] = "INVALID COMMAND OPERATION CODE",
	[0x2100] = "LOGICAL BLOCK ADDRESS OUT OF RANGE",
	[0x2400] = "INVALID FIELD IN CDB",
	[0x2500] = "LOGICAL UNIT NOT SUPPORTED",
	[0x2600] = "INVALID FIELD IN PARAMETER LIST",
	[0x2700] = "WRITE PROTECTED",
	[0x2800] = "NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED",
	[0x2900] = "POWER ON, RESET, OR BUS DEVICE RESET OCCURRED",
	[0x2a01] = "MODE PARAMETERS CHANGED",
	[0x2c00] = "COMMAND SEQUENCE ERROR",
	[0x3000] = "INCOMPATIBLE MEDIUM INSTALLED",
	[0x3900] = "SAVING PARAMETERS NOT SUPPORTED",
	[0x3a00] = "MEDIUM NOT PRESENT",
	[0x3a01] = "MEDIUM NOT PRESENT - TRAY CLOSED",
	[0x3a02] = "MEDIUM NOT PRESENT - TRAY OPEN",
	[0x3e03] = "LOGICAL UNIT FAILED SELF-TEST",
	[0x3f0e] = "REPORTED LUNS DATA HAS CHANGED",
	[0x4400] = "INTERNAL TARGET FAILURE",
	[0x4700] = "SCSI PARITY ERROR", [0x4b00] = "DATA PHASE ERROR",
	[0x4e00] = "OVERLAPPED COMMANDS ATTEMPTED",
	[0x5302] = "MEDIUM REMOVAL PREVENTED",
	[0x5d00] = "FAILURE PREDICTION THRESHOLD EXCEEDED",
	[0x6400] = "ILLEGAL MODE FOR THIS TRACK",
}

-- usbif.h
local USBIF_PIPE_UNLINK = 0x20
local USBIF_PIPE_DIR = 0x80
local PIPE_ISOC, PIPE_INT, PIPE_CTRL, PIPE_BULK = 0, 1, 2, 3
local usb_pipe_types = {
	[0] = "ISOCHRONOUS", [1] = "INTERRUPT", [2] = "CONTROL", [3] = "BULK",
}
local usb_pipe_short = { [0] = "ISO", [1] = "INT", [2] = "CTRL", [3] = "BULK" }
local USBIF_MAX_SEGMENTS_PER_REQUEST = 16
local usb_status_names = {
	[0] = "OK", [-19] = "NODEV", [-22] = "INVAL", [-32] = "STALL",
	[-71] = "IOERROR", [-75] = "BABBLE", [-108] = "SHUTDOWN",
}
local usb_speed_names = {
	[0] = "NONE", [1] = "LOW", [2] = "FULL", [3] = "HIGH",
}
local usb_std_requests = {
	[0] = "GET_STATUS", [1] = "CLEAR_FEATURE", [3] = "SET_FEATURE",
	[5] = "SET_ADDRESS", [6] = "GET_DESCRIPTOR", [7] = "SET_DESCRIPTOR",
	[8] = "GET_CONFIGURATION", [9] = "SET_CONFIGURATION",
	[10] = "GET_INTERFACE", [11] = "SET_INTERFACE", [12] = "SYNCH_FRAME",
	[48] = "SET_SEL", [49] = "SET_ISOCH_DELAY",
}
local USB_REQ_SET_ADDRESS, USB_REQ_GET_DESCRIPTOR = 5, 6
local USB_REQ_SET_CONFIGURATION, USB_REQ_SET_INTERFACE = 9, 11
local usb_descriptor_types = {
	[1] = "DEVICE", [2] = "CONFIGURATION", [3] = "STRING", [4] = "INTERFACE",
	[5] = "ENDPOINT", [6] = "DEVICE_QUALIFIER",
	[7] = "OTHER_SPEED_CONFIGURATION", [8] = "INTERFACE_POWER", [15] = "BOS",
	[0x21] = "HID", [0x22] = "HID_REPORT", [0x23] = "HID_PHYSICAL",
	[0x24] = "CS_INTERFACE", [0x25] = "CS_ENDPOINT", [0x29] = "HUB",
	[0x2a] = "SUPERSPEED_HUB",
}
local usb_req_dirs = { [0] = "Host-to-device", [1] = "Device-to-host" }
local usb_req_types = {
	[0] = "Standard", [1] = "Class", [2] = "Vendor", [3] = "Reserved",
}
local usb_req_recipients = {
	[0] = "Device", [1] = "Interface", [2] = "Endpoint", [3] = "Other",
}

local evtchn_outcomes = { [0] = "sent", [1] = "dropped" }
-- EVTCHN_SEND's two layouts (the delivery appended to the first) and
-- the delivery flags.
local SEND_LEN_FIRST, SEND_LEN_DELIVERY = 12, 24
local SEND_SCHEDULED, SEND_STORM = 0x1, 0x2

-- ---- fields -------------------------------------------------------------

local F = {}
local function add_field(key, field) F[key] = field end

-- record header
add_field("magic", ProtoField.string("xpvtrace.magic", "Magic"))
add_field("version", ProtoField.uint8("xpvtrace.version", "Version"))
add_field("type", ProtoField.uint8("xpvtrace.type", "Record type",
	base.DEC, rec_type_names))
add_field("hdr_len", ProtoField.uint16("xpvtrace.hdr_len", "Header length"))
add_field("seq", ProtoField.uint64("xpvtrace.seq", "Sequence number"))
add_field("time_ns", ProtoField.uint64("xpvtrace.time_ns",
	"Simulated time (ns)"))
add_field("domid", ProtoField.uint16("xpvtrace.domid", "Domain"))
add_field("flags", ProtoField.uint16("xpvtrace.flags", "Flags", base.HEX))
add_field("flag_before_attach", ProtoField.bool(
	"xpvtrace.flags.before_attach", "Published before attach", 16, nil, 0x1))
add_field("flag_truncated", ProtoField.bool("xpvtrace.flags.truncated",
	"A string was truncated", 16, nil, 0x2))
add_field("flag_rewritten", ProtoField.bool("xpvtrace.flags.rewritten",
	"Slot rewritten after publication", 16, nil, 0x4))
add_field("payload_len", ProtoField.uint32("xpvtrace.payload_len",
	"Payload length"))
add_field("payload", ProtoField.bytes("xpvtrace.payload", "Payload"))

-- rings
add_field("ring_id", ProtoField.uint16("xpvtrace.ring.id", "Ring id"))
add_field("ring_kind", ProtoField.uint8("xpvtrace.ring.kind", "Ring kind",
	base.DEC, kind_names))
add_field("ring_dir", ProtoField.uint8("xpvtrace.ring.dir", "Direction",
	base.DEC, dir_names))
add_field("ring_reserved", ProtoField.uint8("xpvtrace.ring.reserved",
	"Reserved"))
add_field("ring_fe_domid", ProtoField.uint16("xpvtrace.ring.fe_domid",
	"Frontend domain"))
add_field("ring_be_domid", ProtoField.uint16("xpvtrace.ring.be_domid",
	"Backend domain"))
add_field("ring_gref", ProtoField.uint32("xpvtrace.ring.gref",
	"Ring page grant reference"))
add_field("ring_nr_ents", ProtoField.uint32("xpvtrace.ring.nr_ents",
	"Entries in the ring"))
add_field("ring_entry_size", ProtoField.uint32("xpvtrace.ring.entry_size",
	"Entry size"))
add_field("ring_req_prod", ProtoField.uint32("xpvtrace.ring.req_prod",
	"req_prod"))
add_field("ring_rsp_prod", ProtoField.uint32("xpvtrace.ring.rsp_prod",
	"rsp_prod"))
add_field("ring_fe_path_len", ProtoField.uint16("xpvtrace.ring.fe_path_len",
	"Frontend path length"))
add_field("ring_be_path_len", ProtoField.uint16("xpvtrace.ring.be_path_len",
	"Backend path length"))
add_field("ring_fe_path", ProtoField.string("xpvtrace.ring.fe_path",
	"Frontend directory"))
add_field("ring_be_path", ProtoField.string("xpvtrace.ring.be_path",
	"Backend directory"))
add_field("ring_idx", ProtoField.uint32("xpvtrace.ring.idx", "Index"))
add_field("ring_slot", ProtoField.uint32("xpvtrace.ring.slot", "Slot"))
add_field("ring_prod", ProtoField.uint32("xpvtrace.ring.prod",
	"Producer index published"))
add_field("ring_entry", ProtoField.bytes("xpvtrace.ring.entry",
	"Entry bytes"))
add_field("ring_old_prod", ProtoField.uint32("xpvtrace.ring.old_prod",
	"Previous producer index"))
add_field("ring_new_prod", ProtoField.uint32("xpvtrace.ring.new_prod",
	"New producer index"))
add_field("ring_attach_in", ProtoField.framenum("xpvtrace.ring.attach_in",
	"Ring attached in"))
add_field("ring_event", ProtoField.uint8("xpvtrace.ring.event",
	"Event index", base.DEC, event_idx_names))
add_field("ring_old_event", ProtoField.uint32("xpvtrace.ring.old_event",
	"Previous event index value"))
add_field("ring_new_event", ProtoField.uint32("xpvtrace.ring.new_event",
	"New event index value"))

-- request/response pairing
add_field("rsp_request_in", ProtoField.framenum("xpvtrace.rsp.request_in",
	"Request in", base.NONE, frametype.REQUEST))
add_field("rsp_time", ProtoField.relative_time("xpvtrace.rsp.time",
	"Response time (simulated)"))
add_field("req_response_in", ProtoField.framenum(
	"xpvtrace.req.response_in", "Response in", base.NONE,
	frametype.RESPONSE))

-- vscsiif
add_field("scsi_rqid", ProtoField.uint16("xpvtrace.scsi.rqid", "rqid"))
add_field("scsi_act", ProtoField.uint8("xpvtrace.scsi.act", "act",
	base.DEC, vscsi_acts))
add_field("scsi_rsp_act", ProtoField.uint8("xpvtrace.scsi.rsp_act",
	"act (deprecated in responses)"))
add_field("scsi_cmd_len", ProtoField.uint8("xpvtrace.scsi.cmd_len",
	"cmd_len"))
add_field("scsi_cdb", ProtoField.bytes("xpvtrace.scsi.cdb", "CDB"))
add_field("scsi_opcode", ProtoField.uint8("xpvtrace.scsi.cdb.opcode",
	"Operation code", base.HEX, scsi_opcode_names))
add_field("scsi_service_action", ProtoField.uint8(
	"xpvtrace.scsi.cdb.service_action", "Service action", base.HEX, nil,
	0x1f))
add_field("scsi_lba", ProtoField.uint64("xpvtrace.scsi.cdb.lba",
	"Logical block address"))
add_field("scsi_xfer_len", ProtoField.uint32("xpvtrace.scsi.cdb.transfer_length",
	"Transfer length (blocks)"))
add_field("scsi_alloc_len", ProtoField.uint32("xpvtrace.scsi.cdb.alloc_len",
	"Allocation length"))
add_field("scsi_param_len", ProtoField.uint32("xpvtrace.scsi.cdb.param_len",
	"Parameter list length"))
add_field("scsi_evpd", ProtoField.bool("xpvtrace.scsi.cdb.evpd", "EVPD", 8,
	nil, 0x01))
add_field("scsi_page_code", ProtoField.uint8("xpvtrace.scsi.cdb.page_code",
	"Page code", base.HEX))
add_field("scsi_dbd", ProtoField.bool("xpvtrace.scsi.cdb.dbd", "DBD", 8,
	nil, 0x08))
add_field("scsi_pc", ProtoField.uint8("xpvtrace.scsi.cdb.pc",
	"Page control", base.DEC, { [0] = "current", [1] = "changeable",
	[2] = "default", [3] = "saved" }, 0xc0))
add_field("scsi_immed", ProtoField.bool("xpvtrace.scsi.cdb.immed", "IMMED",
	8, nil, 0x01))
add_field("scsi_power_cond", ProtoField.uint8("xpvtrace.scsi.cdb.power_condition",
	"Power condition", base.HEX, nil, 0xf0))
add_field("scsi_loej", ProtoField.bool("xpvtrace.scsi.cdb.loej", "LOEJ", 8,
	nil, 0x02))
add_field("scsi_start", ProtoField.bool("xpvtrace.scsi.cdb.start", "START",
	8, nil, 0x01))
add_field("scsi_prevent", ProtoField.uint8("xpvtrace.scsi.cdb.prevent",
	"Prevent", base.DEC, nil, 0x03))
add_field("scsi_select_report", ProtoField.uint8(
	"xpvtrace.scsi.cdb.select_report", "Select report", base.HEX))
add_field("scsi_msf", ProtoField.bool("xpvtrace.scsi.cdb.msf", "MSF", 8, nil,
	0x02))
add_field("scsi_toc_format", ProtoField.uint8("xpvtrace.scsi.cdb.toc_format",
	"Format", base.DEC, nil, 0x0f))
add_field("scsi_track", ProtoField.uint8("xpvtrace.scsi.cdb.track",
	"Track/session number"))
add_field("scsi_rt", ProtoField.uint8("xpvtrace.scsi.cdb.rt",
	"Requested type", base.DEC, nil, 0x03))
add_field("scsi_start_feature", ProtoField.uint16(
	"xpvtrace.scsi.cdb.starting_feature", "Starting feature", base.HEX))
add_field("scsi_polled", ProtoField.bool("xpvtrace.scsi.cdb.polled",
	"Polled", 8, nil, 0x01))
add_field("scsi_class_request", ProtoField.uint8(
	"xpvtrace.scsi.cdb.notification_class", "Notification class request",
	base.HEX))
add_field("scsi_control", ProtoField.uint8("xpvtrace.scsi.cdb.control",
	"Control", base.HEX))
add_field("scsi_timeout", ProtoField.uint16("xpvtrace.scsi.timeout",
	"timeout_per_command (s)"))
add_field("scsi_channel", ProtoField.uint16("xpvtrace.scsi.channel",
	"Channel"))
add_field("scsi_id", ProtoField.uint16("xpvtrace.scsi.id", "Target id"))
add_field("scsi_lun", ProtoField.uint16("xpvtrace.scsi.lun", "LUN"))
add_field("scsi_ref_rqid", ProtoField.uint16("xpvtrace.scsi.ref_rqid",
	"ref_rqid"))
add_field("scsi_dir", ProtoField.uint8("xpvtrace.scsi.data_direction",
	"sc_data_direction", base.DEC, vscsi_dirs))
add_field("scsi_nr_segments", ProtoField.uint8("xpvtrace.scsi.nr_segments",
	"nr_segments", base.HEX))
add_field("scsi_sg_grant", ProtoField.bool("xpvtrace.scsi.sg_grant",
	"VSCSIIF_SG_GRANT (indirect)", 8, nil, VSCSIIF_SG_GRANT))
add_field("scsi_nr_seg_count", ProtoField.uint8("xpvtrace.scsi.seg_count",
	"Segments", base.DEC, nil, 0x7f))
add_field("scsi_seg_gref", ProtoField.uint32("xpvtrace.scsi.seg.gref",
	"gref"))
add_field("scsi_seg_offset", ProtoField.uint16("xpvtrace.scsi.seg.offset",
	"offset"))
add_field("scsi_seg_length", ProtoField.uint16("xpvtrace.scsi.seg.length",
	"length"))
add_field("scsi_data_len", ProtoField.uint32("xpvtrace.scsi.data_length",
	"Data length (sum of segments)"))
add_field("scsi_indirect_entries", ProtoField.uint32(
	"xpvtrace.scsi.indirect_entries", "Segments in the SG-list pages"))
add_field("scsi_sense_len", ProtoField.uint8("xpvtrace.scsi.sense_len",
	"sense_len"))
add_field("scsi_sense", ProtoField.bytes("xpvtrace.scsi.sense", "Sense data"))
add_field("scsi_sense_valid", ProtoField.bool("xpvtrace.scsi.sense.valid",
	"VALID", 8, nil, 0x80))
add_field("scsi_sense_rc", ProtoField.uint8(
	"xpvtrace.scsi.sense.response_code", "Response code", base.HEX,
	sense_response_codes, 0x7f))
add_field("scsi_sense_key", ProtoField.uint8("xpvtrace.scsi.sense.key",
	"Sense key", base.HEX, sense_keys, 0x0f))
add_field("scsi_sense_info", ProtoField.uint32("xpvtrace.scsi.sense.information",
	"Information", base.HEX))
add_field("scsi_sense_add_len", ProtoField.uint8(
	"xpvtrace.scsi.sense.additional_length", "Additional sense length"))
add_field("scsi_sense_asc", ProtoField.uint8("xpvtrace.scsi.sense.asc",
	"ASC", base.HEX))
add_field("scsi_sense_ascq", ProtoField.uint8("xpvtrace.scsi.sense.ascq",
	"ASCQ", base.HEX))
add_field("scsi_sense_asc_ascq", ProtoField.uint16(
	"xpvtrace.scsi.sense.asc_ascq", "ASC/ASCQ", base.HEX, asc_ascq_names))
add_field("scsi_result", ProtoField.uint32("xpvtrace.scsi.result", "rslt",
	base.HEX))
add_field("scsi_result_status", ProtoField.uint32(
	"xpvtrace.scsi.result.status", "Status byte", base.HEX,
	scsi_status_names, 0x000000ff))
add_field("scsi_result_msg", ProtoField.uint32("xpvtrace.scsi.result.msg",
	"Message byte (bits 8-15)", base.HEX, nil, 0x0000ff00))
add_field("scsi_result_host", ProtoField.uint32("xpvtrace.scsi.result.host",
	"Host byte", base.DEC, vscsi_host_bytes, 0x00ff0000))
add_field("scsi_result_driver", ProtoField.uint32(
	"xpvtrace.scsi.result.driver", "Driver byte (bits 24-31)", base.HEX, nil,
	0xff000000))
add_field("scsi_result_reset", ProtoField.uint32("xpvtrace.scsi.result.reset",
	"Task management result", base.HEX, vscsi_reset_results))
add_field("scsi_residual", ProtoField.uint32("xpvtrace.scsi.residual_len",
	"residual_len"))

-- usbif URB ring
add_field("usb_id", ProtoField.uint16("xpvtrace.usb.id", "id"))
add_field("usb_nr_buffer_segs", ProtoField.uint16(
	"xpvtrace.usb.nr_buffer_segs", "nr_buffer_segs"))
add_field("usb_pipe", ProtoField.uint32("xpvtrace.usb.pipe", "pipe",
	base.HEX))
add_field("usb_pipe_port", ProtoField.uint32("xpvtrace.usb.pipe.port",
	"Port", base.DEC, nil, 0x0000001f))
add_field("usb_pipe_unlink", ProtoField.bool("xpvtrace.usb.pipe.unlink",
	"Unlink", 32, nil, USBIF_PIPE_UNLINK))
add_field("usb_pipe_dir", ProtoField.uint32("xpvtrace.usb.pipe.dir",
	"Direction", base.DEC, { [0] = "OUT", [1] = "IN" }, USBIF_PIPE_DIR))
add_field("usb_pipe_dev", ProtoField.uint32("xpvtrace.usb.pipe.dev",
	"Device address", base.DEC, nil, 0x00007f00))
add_field("usb_pipe_ep", ProtoField.uint32("xpvtrace.usb.pipe.ep",
	"Endpoint", base.DEC, nil, 0x00078000))
add_field("usb_pipe_type", ProtoField.uint32("xpvtrace.usb.pipe.type",
	"Type", base.DEC, usb_pipe_types, 0xc0000000))
add_field("usb_transfer_flags", ProtoField.uint16(
	"xpvtrace.usb.transfer_flags", "transfer_flags", base.HEX))
add_field("usb_short_not_ok", ProtoField.bool("xpvtrace.usb.short_not_ok",
	"USBIF_SHORT_NOT_OK", 16, nil, 0x0001))
add_field("usb_buffer_length", ProtoField.uint16(
	"xpvtrace.usb.buffer_length", "buffer_length"))
add_field("usb_setup_bmrt", ProtoField.uint8(
	"xpvtrace.usb.setup.bmRequestType", "bmRequestType", base.HEX))
add_field("usb_setup_bmrt_dir", ProtoField.uint8(
	"xpvtrace.usb.setup.bmRequestType.direction", "Direction", base.DEC,
	usb_req_dirs, 0x80))
add_field("usb_setup_bmrt_type", ProtoField.uint8(
	"xpvtrace.usb.setup.bmRequestType.type", "Type", base.DEC,
	usb_req_types, 0x60))
add_field("usb_setup_bmrt_recipient", ProtoField.uint8(
	"xpvtrace.usb.setup.bmRequestType.recipient", "Recipient", base.DEC,
	usb_req_recipients, 0x1f))
add_field("usb_setup_brequest", ProtoField.uint8(
	"xpvtrace.usb.setup.bRequest", "bRequest", base.DEC))
add_field("usb_setup_std_request", ProtoField.uint8(
	"xpvtrace.usb.setup.request", "Standard request", base.DEC,
	usb_std_requests))
add_field("usb_setup_wvalue", ProtoField.uint16("xpvtrace.usb.setup.wValue",
	"wValue", base.HEX))
add_field("usb_setup_desc_index", ProtoField.uint8(
	"xpvtrace.usb.setup.descriptor_index", "Descriptor index"))
add_field("usb_setup_desc_type", ProtoField.uint8(
	"xpvtrace.usb.setup.descriptor_type", "Descriptor type", base.HEX,
	usb_descriptor_types))
add_field("usb_setup_windex", ProtoField.uint16("xpvtrace.usb.setup.wIndex",
	"wIndex", base.HEX))
add_field("usb_setup_wlength", ProtoField.uint16(
	"xpvtrace.usb.setup.wLength", "wLength"))
add_field("usb_interval", ProtoField.uint16("xpvtrace.usb.interval",
	"interval"))
add_field("usb_iso_start_frame", ProtoField.uint16(
	"xpvtrace.usb.iso.start_frame", "start_frame"))
add_field("usb_iso_packets", ProtoField.uint16(
	"xpvtrace.usb.iso.number_of_packets", "number_of_packets"))
add_field("usb_iso_desc_segs", ProtoField.uint16(
	"xpvtrace.usb.iso.nr_frame_desc_segs", "nr_frame_desc_segs"))
add_field("usb_unlink_id", ProtoField.uint16("xpvtrace.usb.unlink_id",
	"unlink_id"))
add_field("usb_u_unused", ProtoField.bytes("xpvtrace.usb.u",
	"Request type specific data"))
add_field("usb_seg_gref", ProtoField.uint32("xpvtrace.usb.seg.gref", "gref"))
add_field("usb_seg_offset", ProtoField.uint16("xpvtrace.usb.seg.offset",
	"offset"))
add_field("usb_seg_length", ProtoField.uint16("xpvtrace.usb.seg.length",
	"length"))
add_field("usb_start_frame", ProtoField.uint16("xpvtrace.usb.start_frame",
	"start_frame"))
add_field("usb_status", ProtoField.int32("xpvtrace.usb.status", "status",
	base.DEC, usb_status_names))
add_field("usb_actual_length", ProtoField.int32(
	"xpvtrace.usb.actual_length", "actual_length"))
add_field("usb_error_count", ProtoField.int32("xpvtrace.usb.error_count",
	"error_count"))

-- usbif conn ring
add_field("conn_id", ProtoField.uint16("xpvtrace.conn.id", "id"))
add_field("conn_portnum", ProtoField.uint8("xpvtrace.conn.portnum",
	"portnum"))
add_field("conn_speed", ProtoField.uint8("xpvtrace.conn.speed", "speed",
	base.DEC, usb_speed_names))

-- event channels
add_field("evtchn_port", ProtoField.uint32("xpvtrace.evtchn.port", "Port"))
add_field("evtchn_remote_domid", ProtoField.uint16(
	"xpvtrace.evtchn.remote_domid", "Remote domain", base.DEC))
add_field("evtchn_outcome", ProtoField.uint8("xpvtrace.evtchn.outcome",
	"Outcome", base.DEC, evtchn_outcomes))
add_field("evtchn_remote_port", ProtoField.uint32(
	"xpvtrace.evtchn.remote_port", "Remote port"))
add_field("evtchn_deliver_at", ProtoField.relative_time(
	"xpvtrace.evtchn.deliver_at", "Delivery at (simulated time)"))
add_field("evtchn_deliver_in", ProtoField.relative_time(
	"xpvtrace.evtchn.deliver_in", "Delivery after the send"))
add_field("evtchn_flags", ProtoField.uint8("xpvtrace.evtchn.flags",
	"Delivery flags", base.HEX))
add_field("evtchn_scheduled", ProtoField.bool(
	"xpvtrace.evtchn.flags.scheduled", "Scheduled a delivery", 8, nil,
	SEND_SCHEDULED))
add_field("evtchn_storm", ProtoField.bool("xpvtrace.evtchn.flags.storm",
	"The delivery repeats (evtchn-storm)", 8, nil, SEND_STORM))

-- grant table
add_field("gnt_ref", ProtoField.uint32("xpvtrace.gnt.ref", "Grant reference"))
add_field("gnt_peer", ProtoField.uint16("xpvtrace.gnt.peer_domid",
	"Peer domain (may map)"))
add_field("gnt_granter", ProtoField.uint16("xpvtrace.gnt.granter_domid",
	"Granting domain"))
add_field("gnt_readonly", ProtoField.uint8("xpvtrace.gnt.readonly",
	"Read-only"))
add_field("gnt_writable", ProtoField.uint8("xpvtrace.gnt.writable",
	"Writable"))
add_field("gnt_to_granted", ProtoField.uint8("xpvtrace.gnt.to_granted",
	"Direction", base.DEC, { [0] = "read from the granted frame",
	[1] = "written into the granted frame" }))
add_field("gnt_gfn", ProtoField.uint64("xpvtrace.gnt.gfn", "gfn", base.HEX))
add_field("gnt_offset", ProtoField.uint16("xpvtrace.gnt.offset", "Offset"))
add_field("gnt_length", ProtoField.uint16("xpvtrace.gnt.length", "Length"))
add_field("gnt_result", ProtoField.int32("xpvtrace.gnt.result", "Result",
	base.DEC, errno_names))

-- xenstore
add_field("xs_path_len", ProtoField.uint16("xpvtrace.xs.path_len",
	"Path length"))
add_field("xs_value_len", ProtoField.uint32("xpvtrace.xs.value_len",
	"Value length"))
add_field("xs_path", ProtoField.string("xpvtrace.xs.path", "Path"))
add_field("xs_value", ProtoField.string("xpvtrace.xs.value", "Value"))
add_field("xs_nperms", ProtoField.uint16("xpvtrace.xs.nperms",
	"Permissions"))
add_field("xs_perm_domid", ProtoField.uint16("xpvtrace.xs.perm.domid",
	"Domain"))
add_field("xs_perm_bits", ProtoField.uint8("xpvtrace.xs.perm.bits", "Bits",
	base.HEX))
add_field("xs_perm_read", ProtoField.bool("xpvtrace.xs.perm.read",
	"XS_PERM_READ", 8, nil, 0x1))
add_field("xs_perm_write", ProtoField.bool("xpvtrace.xs.perm.write",
	"XS_PERM_WRITE", 8, nil, 0x2))
add_field("xs_perm_enoent_ok", ProtoField.bool("xpvtrace.xs.perm.enoent_ok",
	"XS_PERM_ENOENT_OK", 8, nil, 0x4))
add_field("xs_perm_owner", ProtoField.bool("xpvtrace.xs.perm.owner",
	"XS_PERM_OWNER", 8, nil, 0x8))
add_field("xs_token_len", ProtoField.uint16("xpvtrace.xs.token_len",
	"Token length"))
add_field("xs_token", ProtoField.string("xpvtrace.xs.token", "Token"))
add_field("xs_client", ProtoField.uint32("xpvtrace.xs.client",
	"Client (watches sharing one event queue; 0: none)"))
add_field("xenbus_state", ProtoField.uint32("xpvtrace.xenbus.state", "State",
	base.DEC, xenbus_states))
add_field("xenbus_path", ProtoField.string("xpvtrace.xenbus.path", "Path"))

-- data a backend moved through a grant (DATA)
local data_what_names = { [1] = "I/O data", [2] = "vscsiif indirect segments",
	[3] = "usbif iso descriptors" }
add_field("data_to_granted", ProtoField.uint8("xpvtrace.data.to_granted",
	"Into the granted page", base.DEC, { [0] = "no (read)", [1] = "yes (written)" }))
add_field("data_what", ProtoField.uint8("xpvtrace.data.what", "What",
	base.DEC, data_what_names))
add_field("data_offset", ProtoField.uint32("xpvtrace.data.offset", "Offset"))
add_field("data_length", ProtoField.uint32("xpvtrace.data.length", "Length"))
add_field("data_bytes", ProtoField.bytes("xpvtrace.data.bytes", "Bytes"))

-- the run (RUN, RUN_MORE)
local run_kind_names = { [1] = "PVSCSI", [2] = "PVUSB" }
add_field("run_format", ProtoField.uint8("xpvtrace.run.format", "Format"))
add_field("run_kind", ProtoField.uint8("xpvtrace.run.kind", "Kind", base.DEC,
	run_kind_names))
add_field("run_flags", ProtoField.uint16("xpvtrace.run.flags", "Flags",
	base.HEX))
add_field("run_swarm", ProtoField.bool("xpvtrace.run.swarm", "Swarm plan",
	16, nil, 0x1))
add_field("run_config_absent", ProtoField.bool("xpvtrace.run.config_absent",
	"Configuration absent", 16, nil, 0x2))
add_field("run_seed", ProtoField.uint64("xpvtrace.run.seed", "Seed"))
add_field("run_ops_limit", ProtoField.uint64("xpvtrace.run.ops_limit",
	"Ops limit"))
add_field("run_time_limit", ProtoField.uint64("xpvtrace.run.time_limit_ns",
	"Time limit (ns)"))
add_field("run_frontend", ProtoField.string("xpvtrace.run.frontend",
	"Frontend"))
add_field("run_faults", ProtoField.string("xpvtrace.run.faults",
	"Fault plan"))
add_field("run_config_path", ProtoField.string("xpvtrace.run.config_path",
	"Configuration path"))
add_field("run_config_len", ProtoField.uint32("xpvtrace.run.config_len",
	"Configuration length"))
add_field("run_config_here", ProtoField.uint32("xpvtrace.run.config_here",
	"Configuration bytes here"))
add_field("run_config", ProtoField.string("xpvtrace.run.config",
	"Configuration text"))
add_field("run_more_offset", ProtoField.uint32("xpvtrace.run.more.offset",
	"Offset in the configuration"))

do
	local list = {}
	for _, f in pairs(F) do list[#list + 1] = f end
	xpv.fields = list
end

-- ---- expert info --------------------------------------------------------

local E = {
	malformed = ProtoExpert.new("xpvtrace.expert.malformed",
		"Malformed record", expert.group.MALFORMED, expert.severity.ERROR),
	version = ProtoExpert.new("xpvtrace.expert.version",
		"Unknown record version", expert.group.PROTOCOL,
		expert.severity.WARN),
	undecoded = ProtoExpert.new("xpvtrace.expert.undecoded",
		"Unknown record type or value, not decoded",
		expert.group.UNDECODED, expert.severity.WARN),
	unmatched = ProtoExpert.new("xpvtrace.expert.unmatched",
		"Response matches no outstanding request", expert.group.SEQUENCE,
		expert.severity.WARN),
	sequence = ProtoExpert.new("xpvtrace.expert.sequence",
		"Sequence anomaly", expert.group.SEQUENCE, expert.severity.NOTE),
	protocol = ProtoExpert.new("xpvtrace.expert.protocol",
		"Value outside the interface's rules", expert.group.PROTOCOL,
		expert.severity.WARN),
	failed = ProtoExpert.new("xpvtrace.expert.failed",
		"Operation failed", expert.group.RESPONSE_CODE,
		expert.severity.NOTE),
	bug = ProtoExpert.new("xpvtrace.expert.bug",
		"Dissector error", expert.group.MALFORMED, expert.severity.ERROR),
}
xpv.experts = { E.malformed, E.version, E.undecoded, E.unmatched,
	E.sequence, E.protocol, E.failed, E.bug }

-- ---- per-capture state --------------------------------------------------
--
-- Filled when a frame is dissected for the first time since the capture
-- was (re)loaded, which is in frame order (the first pass); later
-- dissections read what was stored for their frame, so a record is
-- decoded the same way however often and in whatever order it is
-- dissected. Keyed on the stored facts rather than pinfo.visited so that
-- a second dissection within the first pass cannot pair a response twice.

local rings       -- ring_id -> { kind, attach_frame, nr_ents, fe_path }
local outstanding -- ring_id -> { [dir-less id] = request facts }
local facts       -- frame number -> facts the first pass derived
local last_time   -- time_ns of the previous record (first pass)

local function reset_state()
	rings, outstanding, facts, last_time = {}, {}, {}, nil
end

-- True while the frame's facts are being derived (its first dissection).
local function first_pass(pinfo) return facts[pinfo.number].deriving end
reset_state()
xpv.init = reset_state

-- ---- helpers ------------------------------------------------------------

-- The payload: a window on the frame's tvb. `len` is what is present
-- (at most payload_len); every decoder checks it before reading.
local function rng(p, off, len) return p.tvb(p.base + off, len) end
local function u8(p, off) return rng(p, off, 1):uint() end
local function u16(p, off) return rng(p, off, 2):le_uint() end
local function u32(p, off) return rng(p, off, 4):le_uint() end
local function i32(p, off) return rng(p, off, 4):le_int() end

-- Raw bytes as a printable, bounded string for the Info column.
local function printable(s, max)
	s = s:gsub("[^\32-\126]", ".")
	if #s > max then s = s:sub(1, max) .. "..." end
	return s
end

local function name_of(names, v, fallback)
	local n = names[v]
	if n then return n end
	return string.format(fallback or "0x%x", v)
end

-- Reports a payload shorter than a decoder needs; true when it is.
local function too_short(p, tree, need, what)
	if p.len >= need then return false end
	tree:add_proto_expert_info(E.malformed, string.format(
		"%s: %d bytes present, %d needed", what, p.len, need))
	return true
end

local function has_bits(v, mask) return bitop.band(v, mask) ~= 0 end

-- Source and destination columns: the acting domain (set from the
-- header) and the domain or service the record is addressed to.
local function dom_text(domid)
	if domid == DOMID_INVALID then return "-" end
	return "dom" .. domid
end
local function set_dst(pinfo, domid) pinfo.cols.dst = dom_text(domid) end
local function set_src(pinfo, domid) pinfo.cols.src = dom_text(domid) end

-- A length-prefixed string at `off`; nil (and malformed expert info)
-- when it runs past the payload.
local function add_string(p, tree, field, off, len, what)
	if off + len > p.len then
		tree:add_proto_expert_info(E.malformed, string.format(
			"%s of %d bytes runs past the payload (%d bytes)", what, len,
			p.len))
		return nil
	end
	local r = rng(p, off, len)
	tree:add(field, r)
	if len == 0 then return "" end
	return r:raw()
end

-- ---- SCSI CDB -----------------------------------------------------------

-- Bytes of a CDB per opcode group (SPC-4 4.2.5.1); nil: vendor or
-- variable length, not decoded beyond the opcode.
local function cdb_group_len(op)
	local group = bitop.rshift(op, 5)
	if group == 0 then return 6 end
	if group == 1 or group == 2 then return 10 end
	if group == 4 then return 16 end
	if group == 5 then return 12 end
	return nil
end

local function be16(r) return r:uint() end

-- Decoders of the CDB fields after the opcode; `c` is the 16-byte CDB
-- range; each returns text for the Info column.
local cdb_fields = {}

local function rw6(t, c)
	local lba = bitop.band(c(1, 3):uint(), 0x1fffff)
	local len = c(4, 1):uint()
	t:add(F.scsi_lba, c(1, 3), UInt64(lba))
	t:add(F.scsi_xfer_len, c(4, 1), len == 0 and 256 or len)
	return string.format(" lba %d len %d", lba, len == 0 and 256 or len)
end
local function rw10(t, c)
	local lba = c(2, 4):uint()
	local len = be16(c(7, 2))
	t:add(F.scsi_lba, c(2, 4), UInt64(lba))
	t:add(F.scsi_xfer_len, c(7, 2))
	return string.format(" lba %d len %d", lba, len)
end
local function rw12(t, c)
	local lba = c(2, 4):uint()
	local len = c(6, 4):uint()
	t:add(F.scsi_lba, c(2, 4), UInt64(lba))
	t:add(F.scsi_xfer_len, c(6, 4))
	return string.format(" lba %d len %d", lba, len)
end
local function rw16(t, c)
	local lba = c(2, 8):uint64()
	local len = c(10, 4):uint()
	t:add(F.scsi_lba, c(2, 8))
	t:add(F.scsi_xfer_len, c(10, 4))
	return string.format(" lba %s len %d", tostring(lba), len)
end
for _, op in ipairs({ OP.READ6, OP.WRITE6 }) do cdb_fields[op] = rw6 end
for _, op in ipairs({ OP.READ10, OP.WRITE10, OP.WRITE_VERIFY10,
	OP.VERIFY10, OP.SYNC_CACHE10 }) do cdb_fields[op] = rw10 end
for _, op in ipairs({ OP.READ12, OP.WRITE12, OP.VERIFY12 }) do
	cdb_fields[op] = rw12
end
for _, op in ipairs({ OP.READ16, OP.WRITE16, OP.VERIFY16,
	OP.SYNC_CACHE16 }) do cdb_fields[op] = rw16 end

cdb_fields[OP.INQUIRY] = function(t, c)
	t:add(F.scsi_evpd, c(1, 1))
	t:add(F.scsi_page_code, c(2, 1))
	t:add(F.scsi_alloc_len, c(3, 2))
	if has_bits(c(1, 1):uint(), 1) then
		return string.format(" VPD page 0x%02x", c(2, 1):uint())
	end
	return ""
end
cdb_fields[OP.REQUEST_SENSE] = function(t, c)
	t:add(F.scsi_alloc_len, c(4, 1))
	return ""
end
cdb_fields[OP.MODE_SENSE6] = function(t, c)
	t:add(F.scsi_dbd, c(1, 1))
	t:add(F.scsi_pc, c(2, 1))
	t:add(F.scsi_page_code, c(2, 1), bitop.band(c(2, 1):uint(), 0x3f))
	t:add(F.scsi_alloc_len, c(4, 1))
	return string.format(" page 0x%02x", bitop.band(c(2, 1):uint(), 0x3f))
end
cdb_fields[OP.MODE_SENSE10] = function(t, c)
	t:add(F.scsi_dbd, c(1, 1))
	t:add(F.scsi_pc, c(2, 1))
	t:add(F.scsi_page_code, c(2, 1), bitop.band(c(2, 1):uint(), 0x3f))
	t:add(F.scsi_alloc_len, c(7, 2))
	return string.format(" page 0x%02x", bitop.band(c(2, 1):uint(), 0x3f))
end
cdb_fields[OP.MODE_SELECT6] = function(t, c)
	t:add(F.scsi_param_len, c(4, 1))
	return ""
end
cdb_fields[OP.MODE_SELECT10] = function(t, c)
	t:add(F.scsi_param_len, c(7, 2))
	return ""
end
cdb_fields[OP.START_STOP] = function(t, c)
	t:add(F.scsi_immed, c(1, 1))
	t:add(F.scsi_power_cond, c(4, 1))
	t:add(F.scsi_loej, c(4, 1))
	t:add(F.scsi_start, c(4, 1))
	local b = c(4, 1):uint()
	return (has_bits(b, 1) and " start" or " stop") ..
		(has_bits(b, 2) and " loej" or "")
end
cdb_fields[OP.PREVENT_ALLOW] = function(t, c)
	t:add(F.scsi_prevent, c(4, 1))
	return ""
end
cdb_fields[OP.SERVICE_ACTION_IN16] = function(t, c)
	t:add(F.scsi_service_action, c(1, 1))
	if bitop.band(c(1, 1):uint(), 0x1f) == SA_READ_CAPACITY16 then
		t:add(F.scsi_lba, c(2, 8))
		t:add(F.scsi_alloc_len, c(10, 4))
	end
	return ""
end
cdb_fields[OP.REPORT_LUNS] = function(t, c)
	t:add(F.scsi_select_report, c(2, 1))
	t:add(F.scsi_alloc_len, c(6, 4))
	return ""
end
cdb_fields[OP.READ_TOC] = function(t, c)
	t:add(F.scsi_msf, c(1, 1))
	t:add(F.scsi_toc_format, c(2, 1))
	t:add(F.scsi_track, c(6, 1))
	t:add(F.scsi_alloc_len, c(7, 2))
	return ""
end
cdb_fields[OP.GET_CONFIGURATION] = function(t, c)
	t:add(F.scsi_rt, c(1, 1))
	t:add(F.scsi_start_feature, c(2, 2))
	t:add(F.scsi_alloc_len, c(7, 2))
	return ""
end
cdb_fields[OP.GET_EVENT_STATUS] = function(t, c)
	t:add(F.scsi_polled, c(1, 1))
	t:add(F.scsi_class_request, c(4, 1))
	t:add(F.scsi_alloc_len, c(7, 2))
	return ""
end

-- The name a request is known by in Info ("READ CAPACITY(16)" for
-- SERVICE ACTION IN(16) / READ CAPACITY).
local function cdb_name(op, c)
	if op == OP.SERVICE_ACTION_IN16 and
		bitop.band(c(1, 1):uint(), 0x1f) == SA_READ_CAPACITY16 then
		return "READ CAPACITY(16)"
	end
	return name_of(scsi_opcode_names, op, "opcode 0x%02x")
end

-- Returns the Info text of the CDB.
local function dissect_cdb(c, cmd_len, tree)
	local op = c(0, 1):uint()
	local name = cdb_name(op, c)
	local t = tree:add(F.scsi_cdb, c(0, 16))
	t:append_text(" (" .. name .. ")")
	t:add(F.scsi_opcode, c(0, 1))
	if cmd_len > 16 then
		t:add_proto_expert_info(E.protocol, string.format(
			"cmd_len %d exceeds VSCSIIF_MAX_COMMAND_SIZE (16)", cmd_len))
	end
	local need = cdb_group_len(op)
	local decode = cdb_fields[op]
	if not need or not decode then return name, name end
	if cmd_len < need then
		t:add_proto_expert_info(E.protocol, string.format(
			"cmd_len %d is shorter than the %d bytes of a %s CDB",
			cmd_len, need, name))
		return name, name
	end
	local info = decode(t, c)
	t:add(F.scsi_control, c(need - 1, 1))
	return name, name .. info
end

-- ---- vscsiif ------------------------------------------------------------

local VSCSI_REQ_MIN = 32 + 8 * VSCSIIF_SG_TABLESIZE -- up to reserved[]
local VSCSI_RSP_MIN = 108                           -- up to reserved[]

local function dissect_scsi_segs(e, tree, nr)
	local indirect = has_bits(nr, VSCSIIF_SG_GRANT)
	local count = bitop.band(nr, 0x7f)
	if count > VSCSIIF_SG_TABLESIZE then
		tree:add_proto_expert_info(E.protocol, string.format(
			"%d segments: more than VSCSIIF_SG_TABLESIZE (%d)", count,
			VSCSIIF_SG_TABLESIZE))
		count = VSCSIIF_SG_TABLESIZE
	end
	local total = 0
	for i = 0, count - 1 do
		local s = rng(e, 32 + 8 * i, 8)
		local gref, off, len = s(0, 4):le_uint(), s(4, 2):le_uint(),
			s(6, 2):le_uint()
		local st = tree:add(xpv, s, string.format(
			"%s %d: gref %d offset %d length %d",
			indirect and "SG-list page" or "Segment", i, gref, off, len))
		st:add_le(F.scsi_seg_gref, s(0, 4))
		st:add_le(F.scsi_seg_offset, s(4, 2))
		st:add_le(F.scsi_seg_length, s(6, 2))
		if off + len > VSCSI_PAGE then
			st:add_proto_expert_info(E.protocol,
				"offset + length crosses the 4096-byte page")
		end
		if indirect and len % 8 ~= 0 then
			st:add_proto_expert_info(E.protocol,
				"SG-list page length is not a multiple of 8")
		end
		total = total + len
	end
	if indirect then
		tree:add(F.scsi_indirect_entries, math.floor(total / 8)):set_generated()
	else
		tree:add(F.scsi_data_len, total):set_generated()
	end
end

-- Returns Info text and facts for pairing.
local function dissect_vscsi_req(e, tree)
	local rqid, act, cmd_len = u16(e, 0), u8(e, 2), u8(e, 3)
	tree:add_le(F.scsi_rqid, rng(e, 0, 2))
	tree:add(F.scsi_act, rng(e, 2, 1))
	tree:add(F.scsi_cmd_len, rng(e, 3, 1))
	local name, what
	local chan, id, lun = u16(e, 22), u16(e, 24), u16(e, 26)
	if act == 1 then
		name, what = dissect_cdb(rng(e, 4, 16), cmd_len, tree)
	else
		tree:add(F.scsi_cdb, rng(e, 4, 16))
		what = name_of(vscsi_acts, act, "act %d")
		if act == 2 then
			what = what .. " ref_rqid " .. u16(e, 28)
		elseif not vscsi_acts[act] or act == 4 then
			tree:add_proto_expert_info(E.protocol, string.format(
				"act %d: not an action a backend performs", act))
		end
		name = name_of(vscsi_acts, act, "act %d")
	end
	tree:add_le(F.scsi_timeout, rng(e, 20, 2))
	tree:add_le(F.scsi_channel, rng(e, 22, 2))
	tree:add_le(F.scsi_id, rng(e, 24, 2))
	tree:add_le(F.scsi_lun, rng(e, 26, 2))
	tree:add_le(F.scsi_ref_rqid, rng(e, 28, 2))
	local dir = u8(e, 30)
	tree:add(F.scsi_dir, rng(e, 30, 1))
	if not vscsi_dirs[dir] then
		tree:add_proto_expert_info(E.protocol, string.format(
			"sc_data_direction %d is not a DMA direction", dir))
	end
	local nr = u8(e, 31)
	local nt = tree:add(F.scsi_nr_segments, rng(e, 31, 1))
	nt:add(F.scsi_sg_grant, rng(e, 31, 1))
	nt:add(F.scsi_nr_seg_count, rng(e, 31, 1))
	dissect_scsi_segs(e, tree, nr)
	local info = string.format("vscsi req rqid %d %s %d:%d:%d", rqid, what,
		chan, id, lun)
	return info, { id = rqid, act = act, what = name }
end

local function dissect_sense(e, tree, sense_len)
	local n = sense_len
	if n > VSCSIIF_SENSE_BUFFERSIZE then
		tree:add_proto_expert_info(E.protocol, string.format(
			"sense_len %d exceeds VSCSIIF_SENSE_BUFFERSIZE (96)", n))
		n = VSCSIIF_SENSE_BUFFERSIZE
	end
	if n == 0 then return "" end
	local s = rng(e, 4, n)
	local st = tree:add(F.scsi_sense, s)
	st:add(F.scsi_sense_valid, s(0, 1))
	st:add(F.scsi_sense_rc, s(0, 1))
	local rc = bitop.band(s(0, 1):uint(), 0x7f)
	local key_off, asc_off
	if rc == 0x70 or rc == 0x71 then
		key_off, asc_off = 2, 12
	elseif rc == 0x72 or rc == 0x73 then
		key_off, asc_off = 1, 2
	else
		st:add_proto_expert_info(E.undecoded, string.format(
			"sense response code 0x%02x is neither fixed nor descriptor format",
			rc))
		return ""
	end
	if n < asc_off + 2 then
		st:add_proto_expert_info(E.protocol, string.format(
			"sense_len %d too short for the key and ASC/ASCQ", n))
		if n > key_off then st:add(F.scsi_sense_key, s(key_off, 1)) end
		return ""
	end
	st:add(F.scsi_sense_key, s(key_off, 1))
	if key_off == 2 then
		st:add(F.scsi_sense_info, s(3, 4))
		st:add(F.scsi_sense_add_len, s(7, 1))
	end
	st:add(F.scsi_sense_asc, s(asc_off, 1))
	st:add(F.scsi_sense_ascq, s(asc_off + 1, 1))
	st:add(F.scsi_sense_asc_ascq, s(asc_off, 2))
	local key = bitop.band(s(key_off, 1):uint(), 0x0f)
	local code = s(asc_off, 2):uint()
	local text = string.format(" %s %02x/%02x", name_of(sense_keys, key),
		bitop.rshift(code, 8), bitop.band(code, 0xff))
	if asc_ascq_names[code] then text = text .. " " .. asc_ascq_names[code] end
	return text
end

-- `req` are the paired request's facts, nil when unknown.
local function dissect_vscsi_rsp(e, tree, req)
	local rqid, sense_len = u16(e, 0), u8(e, 3)
	tree:add_le(F.scsi_rqid, rng(e, 0, 2))
	tree:add(F.scsi_rsp_act, rng(e, 2, 1))
	tree:add(F.scsi_sense_len, rng(e, 3, 1))
	local sense_text = dissect_sense(e, tree, sense_len)
	local rslt = u32(e, 100)
	local rt = tree:add_le(F.scsi_result, rng(e, 100, 4))
	local text
	if req and (req.act == 2 or req.act == 3) then
		rt:add_le(F.scsi_result_reset, rng(e, 100, 4))
		text = name_of(vscsi_reset_results, rslt, "result 0x%x")
	else
		rt:add_le(F.scsi_result_status, rng(e, 100, 4))
		rt:add_le(F.scsi_result_msg, rng(e, 100, 4))
		rt:add_le(F.scsi_result_host, rng(e, 100, 4))
		rt:add_le(F.scsi_result_driver, rng(e, 100, 4))
		local status = bitop.band(rslt, 0xff)
		local host = bitop.band(bitop.rshift(rslt, 16), 0xff)
		text = name_of(scsi_status_names, status, "status 0x%02x")
		if host ~= 0 then
			text = "host " .. name_of(vscsi_host_bytes, host, "%d") ..
				(status ~= 0 and (" " .. text) or "")
			rt:add_proto_expert_info(E.failed, "host byte " ..
				name_of(vscsi_host_bytes, host, "%d"))
		elseif status ~= 0 then
			rt:add_proto_expert_info(E.failed, "SCSI status " .. text)
		end
		if bitop.band(rslt, 0xff00ff00) ~= 0 then
			rt:add_proto_expert_info(E.protocol,
				"bits 8-15 or 24-31 set: not the host byte/status encoding")
		end
		text = text .. sense_text
	end
	tree:add_le(F.scsi_residual, rng(e, 104, 4))
	if req then text = text .. " [" .. req.what .. "]" end
	return string.format("vscsi rsp rqid %d %s", rqid, text), { id = rqid }
end

-- ---- usbif URB ring -----------------------------------------------------

local URB_REQ_MIN = 20 + 8 * USBIF_MAX_SEGMENTS_PER_REQUEST -- 148
local URB_RSP_MIN = 16

local function dissect_setup(u, tree)
	local bmrt, breq = u(0, 1):uint(), u(1, 1):uint()
	local wvalue = u(2, 2):le_uint()
	local bt = tree:add(F.usb_setup_bmrt, u(0, 1))
	bt:add(F.usb_setup_bmrt_dir, u(0, 1))
	bt:add(F.usb_setup_bmrt_type, u(0, 1))
	bt:add(F.usb_setup_bmrt_recipient, u(0, 1))
	local rtype = bitop.band(bitop.rshift(bmrt, 5), 3)
	local rq = tree:add(F.usb_setup_brequest, u(1, 1))
	local text
	if rtype == 0 then
		rq:append_text(" (" .. name_of(usb_std_requests, breq, "%d") .. ")")
		tree:add(F.usb_setup_std_request, u(1, 1)):set_generated()
		text = name_of(usb_std_requests, breq, "request %d")
	else
		text = string.format("%s request 0x%02x",
			usb_req_types[rtype]:lower(), breq)
	end
	local vt = tree:add_le(F.usb_setup_wvalue, u(2, 2))
	if rtype == 0 and breq == USB_REQ_GET_DESCRIPTOR then
		local dtype = bitop.rshift(wvalue, 8)
		vt:add(F.usb_setup_desc_index, u(2, 1))
		vt:add(F.usb_setup_desc_type, u(3, 1))
		text = string.format("%s(%s)", text,
			name_of(usb_descriptor_types, dtype))
		if bitop.band(wvalue, 0xff) ~= 0 then
			text = text .. " index " .. bitop.band(wvalue, 0xff)
		end
	elseif rtype == 0 and (breq == USB_REQ_SET_ADDRESS or
		breq == USB_REQ_SET_CONFIGURATION or
		breq == USB_REQ_SET_INTERFACE) then
		text = string.format("%s(%d)", text, wvalue)
	end
	tree:add_le(F.usb_setup_windex, u(4, 2))
	tree:add_le(F.usb_setup_wlength, u(6, 2))
	return text .. " wLength " .. u(6, 2):le_uint()
end

local function dissect_usb_segs(e, tree, nbuf, ndesc)
	local total = nbuf + ndesc
	if total > USBIF_MAX_SEGMENTS_PER_REQUEST then
		tree:add_proto_expert_info(E.protocol, string.format(
			"%d segments: more than USBIF_MAX_SEGMENTS_PER_REQUEST (16)",
			total))
		total = USBIF_MAX_SEGMENTS_PER_REQUEST
	end
	for i = 0, total - 1 do
		local s = rng(e, 20 + 8 * i, 8)
		local gref, off, len = s(0, 4):le_uint(), s(4, 2):le_uint(),
			s(6, 2):le_uint()
		local st = tree:add(xpv, s, string.format(
			"%s segment %d: gref %d offset %d length %d",
			i < nbuf and "Buffer" or "Frame descriptor", i, gref, off, len))
		st:add_le(F.usb_seg_gref, s(0, 4))
		st:add_le(F.usb_seg_offset, s(4, 2))
		st:add_le(F.usb_seg_length, s(6, 2))
		if off + len > 4096 then
			st:add_proto_expert_info(E.protocol,
				"offset + length crosses the 4096-byte page")
		end
	end
end

local function dissect_urb_req(e, tree)
	local id, nbuf, pipe = u16(e, 0), u16(e, 2), u32(e, 4)
	tree:add_le(F.usb_id, rng(e, 0, 2))
	tree:add_le(F.usb_nr_buffer_segs, rng(e, 2, 2))
	local pt = tree:add_le(F.usb_pipe, rng(e, 4, 4))
	for _, f in ipairs({ F.usb_pipe_port, F.usb_pipe_unlink, F.usb_pipe_dir,
		F.usb_pipe_dev, F.usb_pipe_ep, F.usb_pipe_type }) do
		pt:add_le(f, rng(e, 4, 4))
	end
	if bitop.band(pipe, 0x3ff80040) ~= 0 then
		pt:add_proto_expert_info(E.protocol, "undefined pipe bits set")
	end
	local ft = tree:add_le(F.usb_transfer_flags, rng(e, 8, 2))
	ft:add_le(F.usb_short_not_ok, rng(e, 8, 2))
	tree:add_le(F.usb_buffer_length, rng(e, 10, 2))

	local port = bitop.band(pipe, 0x1f)
	local ptype = bitop.rshift(pipe, 30)
	local dir_in = has_bits(pipe, USBIF_PIPE_DIR)
	local dev = bitop.band(bitop.rshift(pipe, 8), 0x7f)
	local ep = bitop.band(bitop.rshift(pipe, 15), 0xf)
	local u = rng(e, 12, 8)
	local ndesc = 0
	local info
	if has_bits(pipe, USBIF_PIPE_UNLINK) then
		tree:add_le(F.usb_unlink_id, u(0, 2))
		info = string.format("URB req id %d UNLINK id %d port %d", id,
			u(0, 2):le_uint(), port)
		dissect_usb_segs(e, tree, nbuf, 0)
		return info, { id = id, what = "UNLINK" }
	end
	local what = string.format("%s %s", usb_pipe_short[ptype],
		dir_in and "IN" or "OUT")
	info = string.format("URB req id %d %s dev %d ep %d", id, what, dev, ep)
	if ptype == PIPE_CTRL then
		local text = dissect_setup(u, tree)
		info = info .. " " .. text
		what = text:gsub(" wLength.*", "")
	elseif ptype == PIPE_ISOC then
		tree:add_le(F.usb_interval, u(0, 2))
		tree:add_le(F.usb_iso_start_frame, u(2, 2))
		tree:add_le(F.usb_iso_packets, u(4, 2))
		tree:add_le(F.usb_iso_desc_segs, u(6, 2))
		ndesc = u(6, 2):le_uint()
		info = string.format("%s len %d packets %d", info, u16(e, 10),
			u(4, 2):le_uint())
	elseif ptype == PIPE_INT then
		tree:add_le(F.usb_interval, u(0, 2))
		tree:add(F.usb_u_unused, u(2, 6))
		info = string.format("%s len %d interval %d", info, u16(e, 10),
			u(0, 2):le_uint())
	else
		tree:add(F.usb_u_unused, u)
		info = string.format("%s len %d", info, u16(e, 10))
	end
	dissect_usb_segs(e, tree, nbuf, ndesc)
	return info, { id = id, what = what }
end

local function dissect_urb_rsp(e, tree, req)
	local id, status, actual = u16(e, 0), i32(e, 4), i32(e, 8)
	tree:add_le(F.usb_id, rng(e, 0, 2))
	tree:add_le(F.usb_start_frame, rng(e, 2, 2))
	local st = tree:add_le(F.usb_status, rng(e, 4, 4))
	tree:add_le(F.usb_actual_length, rng(e, 8, 4))
	tree:add_le(F.usb_error_count, rng(e, 12, 4))
	if not usb_status_names[status] then
		st:add_proto_expert_info(E.protocol, string.format(
			"status %d is not a USBIF_STATUS_* value", status))
	elseif status ~= 0 then
		st:add_proto_expert_info(E.failed, "URB status " ..
			usb_status_names[status])
	end
	if actual < 0 then
		tree:add_proto_expert_info(E.protocol, "negative actual_length")
	end
	local info = string.format("URB rsp id %d %s len %d", id,
		name_of(usb_status_names, status, "status %d"), actual)
	if req then info = info .. " [" .. req.what .. "]" end
	return info, { id = id }
end

-- ---- usbif conn ring ----------------------------------------------------

local function dissect_conn_req(e, tree)
	local id = u16(e, 0)
	tree:add_le(F.conn_id, rng(e, 0, 2))
	return string.format("conn req id %d", id), { id = id, what = "conn" }
end

local function dissect_conn_rsp(e, tree)
	local id, port, speed = u16(e, 0), u8(e, 2), u8(e, 3)
	tree:add_le(F.conn_id, rng(e, 0, 2))
	tree:add(F.conn_portnum, rng(e, 2, 1))
	local st = tree:add(F.conn_speed, rng(e, 3, 1))
	if not usb_speed_names[speed] then
		st:add_proto_expert_info(E.protocol, string.format(
			"speed %d is not a USBIF_SPEED_* value", speed))
	end
	local what = speed == 0 and "unplugged" or
		name_of(usb_speed_names, speed, "speed %d")
	return string.format("conn rsp id %d port %d %s", id, port, what),
		{ id = id }
end

-- kind -> dir -> { decoder, bytes the decoder reads }
local entry_decoders = {
	[KIND_VSCSI] = { [0] = { dissect_vscsi_req, VSCSI_REQ_MIN },
		[1] = { dissect_vscsi_rsp, VSCSI_RSP_MIN } },
	[KIND_URB] = { [0] = { dissect_urb_req, URB_REQ_MIN },
		[1] = { dissect_urb_rsp, URB_RSP_MIN } },
	[KIND_CONN] = { [0] = { dissect_conn_req, 2 },
		[1] = { dissect_conn_rsp, 4 } },
}

-- ---- request/response pairing (first pass) ------------------------------

local function pair_request(pinfo, ring_id, id, time_ns, req)
	local open = outstanding[ring_id]
	if not open then
		open = {}
		outstanding[ring_id] = open
	end
	local f = { request = req, time_ns = time_ns }
	local prev = open[id]
	if prev then f.reused_over = prev.frame end
	open[id] = { frame = pinfo.number, time_ns = time_ns, facts = f,
		req = req }
	return f
end

local function pair_response(pinfo, ring_id, id, time_ns)
	local open = outstanding[ring_id]
	local r = open and open[id]
	if not r then return { unmatched = true } end
	open[id] = nil
	r.facts.response_frame = pinfo.number
	return { request_frame = r.frame, delta_ns = time_ns - r.time_ns,
		req = r.req }
end

local function add_pairing(tree, f, ring_id, id)
	if f.response_frame then
		tree:add(F.req_response_in, f.response_frame):set_generated()
	end
	if f.reused_over then
		tree:add_proto_expert_info(E.sequence, string.format(
			"id reused while the request in frame %d is unanswered",
			f.reused_over))
	end
	if f.request_frame then
		tree:add(F.rsp_request_in, f.request_frame):set_generated()
		local d = f.delta_ns
		tree:add(F.rsp_time, NSTime.new(math.floor(d / 1e9), d % 1e9))
			:set_generated()
	end
	if f.unmatched then
		tree:add_proto_expert_info(E.unmatched, string.format(
			"response id %d matches no outstanding request on ring %d",
			id, ring_id))
	end
end

-- ---- record payloads ----------------------------------------------------

-- Each takes (p, tree, pinfo, hdr) and returns the Info text.
local payload_decoders = {}

local function ring_head(p, tree)
	local ring_id, kind = u16(p, 0), u8(p, 2)
	tree:add_le(F.ring_id, rng(p, 0, 2))
	local kt = tree:add(F.ring_kind, rng(p, 2, 1))
	if not kind_names[kind] then
		kt:add_proto_expert_info(E.undecoded, "unknown ring kind " .. kind)
	end
	return ring_id, kind
end

-- Adds what is known of the ring from its RING_ATTACH; nil if unknown.
local function ring_context(tree, pinfo, ring_id, kind)
	local f = facts[pinfo.number]
	if first_pass(pinfo) then
		local r = rings[ring_id]
		f.ring = r or false
	end
	local r = f.ring
	if not r then
		tree:add_proto_expert_info(E.sequence,
			"ring id not introduced by a RING_ATTACH in this capture")
		return nil
	end
	tree:add(F.ring_attach_in, r.attach_frame):set_generated()
	tree:add(F.ring_fe_path, r.fe_path):set_generated()
	if r.kind ~= kind then
		tree:add_proto_expert_info(E.protocol, string.format(
			"kind %d differs from the attach's kind %d", kind, r.kind))
	end
	return r
end

payload_decoders[REC.RING_ATTACH] = function(p, tree, pinfo)
	if too_short(p, tree, 32, "RING_ATTACH") then return nil end
	local ring_id, kind = ring_head(p, tree)
	tree:add(F.ring_reserved, rng(p, 3, 1))
	tree:add_le(F.ring_fe_domid, rng(p, 4, 2))
	tree:add_le(F.ring_be_domid, rng(p, 6, 2))
	tree:add_le(F.ring_gref, rng(p, 8, 4))
	tree:add_le(F.ring_nr_ents, rng(p, 12, 4))
	tree:add_le(F.ring_entry_size, rng(p, 16, 4))
	tree:add_le(F.ring_req_prod, rng(p, 20, 4))
	tree:add_le(F.ring_rsp_prod, rng(p, 24, 4))
	tree:add_le(F.ring_fe_path_len, rng(p, 28, 2))
	tree:add_le(F.ring_be_path_len, rng(p, 30, 2))
	local fe_len, be_len = u16(p, 28), u16(p, 30)
	local nr_ents = u32(p, 12)
	if nr_ents == 0 or bitop.band(nr_ents, nr_ents - 1) ~= 0 then
		tree:add_proto_expert_info(E.protocol,
			"nr_ents is not a power of two")
	end
	local fe = add_string(p, tree, F.ring_fe_path, 32, fe_len,
		"frontend path")
	local be = fe and add_string(p, tree, F.ring_be_path, 32 + fe_len,
		be_len, "backend path")
	if first_pass(pinfo) then
		rings[ring_id] = { kind = kind, attach_frame = pinfo.number,
			nr_ents = nr_ents, fe_path = fe or "",
			fe_domid = u16(p, 4), be_domid = u16(p, 6) }
	end
	set_dst(pinfo, u16(p, 4))
	return string.format("ring %d attach %s gref %d %dx%d %s", ring_id,
		name_of(kind_names, kind, "kind %d"), u32(p, 8), nr_ents, u32(p, 16),
		printable(fe or "?", 80))
end

payload_decoders[REC.RING_DETACH] = function(p, tree, pinfo)
	if too_short(p, tree, 12, "RING_DETACH") then return nil end
	local ring_id, kind = ring_head(p, tree)
	tree:add(F.ring_reserved, rng(p, 3, 1))
	tree:add_le(F.ring_req_prod, rng(p, 4, 4))
	tree:add_le(F.ring_rsp_prod, rng(p, 8, 4))
	ring_context(tree, pinfo, ring_id, kind)
	return string.format("ring %d detach req_prod %d rsp_prod %d", ring_id,
		u32(p, 4), u32(p, 8))
end

payload_decoders[REC.RING_INDEX] = function(p, tree, pinfo)
	if too_short(p, tree, 12, "RING_INDEX") then return nil end
	local ring_id, kind = ring_head(p, tree)
	local dir = u8(p, 3)
	tree:add(F.ring_dir, rng(p, 3, 1))
	tree:add_le(F.ring_old_prod, rng(p, 4, 4))
	tree:add_le(F.ring_new_prod, rng(p, 8, 4))
	ring_context(tree, pinfo, ring_id, kind)
	local old, new = u32(p, 4), u32(p, 8)
	tree:add_proto_expert_info(E.protocol, string.format(
		"%s producer index moved from %d to %d: not a publication",
		name_of(dir_names, dir, "dir %d"), old, new))
	return string.format("ring %d %s index %d -> %d", ring_id,
		dir == 1 and "rsp" or "req", old, new)
end

payload_decoders[REC.RING_EVENT] = function(p, tree, pinfo)
	if too_short(p, tree, 12, "RING_EVENT") then return nil end
	local ring_id, kind = ring_head(p, tree)
	local which = u8(p, 3)
	local wt = tree:add(F.ring_event, rng(p, 3, 1))
	if not event_idx_names[which] then
		wt:add_proto_expert_info(E.undecoded, string.format(
			"event index %d: neither req_event (0) nor rsp_event (1)",
			which))
	end
	tree:add_le(F.ring_old_event, rng(p, 4, 4))
	tree:add_le(F.ring_new_event, rng(p, 8, 4))
	local r = ring_context(tree, pinfo, ring_id, kind)
	-- Written for the other end: req_event tells the frontend when to
	-- notify, rsp_event the backend.
	if r then set_dst(pinfo, which == 0 and r.fe_domid or r.be_domid) end
	return string.format("%s ring %d %s %d -> %d",
		name_of(kind_names, kind, "kind %d"), ring_id,
		name_of(event_idx_names, which, "event %d"), u32(p, 4), u32(p, 8))
end

-- The pairing facts of a ring entry: computed in the first pass, reused.
local function entry_facts(pinfo, ring_id, dir, id, time_ns, req)
	local f = facts[pinfo.number]
	if not first_pass(pinfo) then return f.pair end
	if dir == 0 then
		f.pair = pair_request(pinfo, ring_id, id, time_ns, req)
	else
		f.pair = pair_response(pinfo, ring_id, id, time_ns)
	end
	return f.pair
end

payload_decoders[REC.RING_ENTRY] = function(p, tree, pinfo, hdr)
	if too_short(p, tree, 20, "RING_ENTRY") then return nil end
	local ring_id, kind = ring_head(p, tree)
	local dir = u8(p, 3)
	local dt = tree:add(F.ring_dir, rng(p, 3, 1))
	local idx, slot, esize = u32(p, 4), u32(p, 8), u32(p, 16)
	tree:add_le(F.ring_idx, rng(p, 4, 4))
	local slt = tree:add_le(F.ring_slot, rng(p, 8, 4))
	tree:add_le(F.ring_prod, rng(p, 12, 4))
	tree:add_le(F.ring_entry_size, rng(p, 16, 4))
	local r = ring_context(tree, pinfo, ring_id, kind)
	if r then set_dst(pinfo, dir == 1 and r.fe_domid or r.be_domid) end
	if r and r.nr_ents > 0 and slot ~= bitop.band(idx, r.nr_ents - 1) then
		slt:add_proto_expert_info(E.protocol, "slot is not idx & (nr_ents - 1)")
	end
	if p.len < 20 + esize then
		tree:add_proto_expert_info(E.malformed, string.format(
			"entry of %d bytes runs past the payload (%d bytes)", esize,
			p.len))
		return nil
	end
	local e = { tvb = p.tvb, base = p.base + 20, len = esize }
	local et = tree:add(F.ring_entry, rng(p, 20, esize))
	local dec = entry_decoders[kind] and entry_decoders[kind][dir]
	if not dec then
		(dir_names[dir] and et or dt):add_proto_expert_info(E.undecoded,
			string.format("no decoder for kind %d direction %d", kind, dir))
		return string.format("ring %d entry idx %d (kind %d dir %d)",
			ring_id, idx, kind, dir)
	end
	et:set_text(string.format("%s %s (%d bytes)", kind_names[kind],
		dir_names[dir], esize))
	if esize < dec[2] then
		et:add_proto_expert_info(E.malformed, string.format(
			"entry_size %d: a %s %s has %d bytes", esize, kind_names[kind],
			dir_names[dir], dec[2]))
		return nil
	end
	-- The id is the first u16 of every entry of the three rings. A
	-- response is paired before it is decoded (its decoder reads the
	-- request's facts: a task-management result, the opcode for Info);
	-- a request after (its decoder makes the facts).
	local id = u16(e, 0)
	local info, pair
	if has_bits(hdr.flags, 0x4) then
		-- A published slot changed afterwards (be-rsp-rewrite): not a
		-- new response, so it answers no request.
		et:add_proto_expert_info(E.protocol,
			"slot rewritten by its producer after publication")
		return dec[1](e, et, nil) .. " (rewritten)"
	end
	if dir == 1 then
		pair = entry_facts(pinfo, ring_id, dir, id, hdr.time_ns, nil)
		info = dec[1](e, et, pair.req)
	else
		local req
		info, req = dec[1](e, et)
		pair = entry_facts(pinfo, ring_id, dir, id, hdr.time_ns, req)
	end
	add_pairing(et, pair, ring_id, id)
	if hdr.flags % 2 == 1 then info = info .. " (before attach)" end
	return info
end

-- Simulated nanoseconds (a UInt64) as an NSTime and as Info text.
local function ns_time(v)
	return NSTime.new((v / 1000000000):tonumber(),
		(v % 1000000000):tonumber())
end
local function ns_text(v)
	return string.format("%d.%09d", (v / 1000000000):tonumber(),
		(v % 1000000000):tonumber())
end

-- The delivery a send or a late EOI made due (the 24-byte layout),
-- checked as the trace reader checks it; returns the Info text it adds.
local function dissect_send_delivery(p, tree, hdr)
	local at, flags = rng(p, 12, 8):le_uint64(), u8(p, 20)
	local scheduled = has_bits(flags, SEND_SCHEDULED)
	local storm = has_bits(flags, SEND_STORM)
	local at_t = tree:add(F.evtchn_deliver_at, rng(p, 12, 8), ns_time(at))
	local ft = tree:add(F.evtchn_flags, rng(p, 20, 1))
	ft:add(F.evtchn_scheduled, rng(p, 20, 1))
	ft:add(F.evtchn_storm, rng(p, 20, 1))
	local function warn(t, fmt, ...)
		t:add_proto_expert_info(E.protocol, string.format(fmt, ...))
	end
	if has_bits(flags, 0xff - SEND_SCHEDULED - SEND_STORM) then
		warn(ft, "delivery flags 0x%02x: unknown bits", flags)
	end
	if not scheduled then
		if storm then warn(ft, "STORM without SCHEDULED") end
		if at ~= UInt64(0) then
			warn(at_t, "a delivery time without SCHEDULED")
		end
		return ""
	end
	if u8(p, 6) ~= 0 then warn(ft, "a dropped send with a delivery") end
	if at < hdr.time_u64 then
		warn(at_t, "delivery at %s, before the record's time (%s)",
			ns_text(at), ns_text(hdr.time_u64))
	else
		tree:add(F.evtchn_deliver_in, ns_time(at - hdr.time_u64))
			:set_generated()
	end
	return string.format(", delivery at %s%s", ns_text(at),
		storm and " (storm)" or "")
end

payload_decoders[REC.EVTCHN_SEND] = function(p, tree, pinfo, hdr)
	if too_short(p, tree, SEND_LEN_FIRST, "EVTCHN_SEND") then return nil end
	tree:add_le(F.evtchn_port, rng(p, 0, 4))
	tree:add_le(F.evtchn_remote_domid, rng(p, 4, 2))
	tree:add(F.evtchn_outcome, rng(p, 6, 1))
	tree:add_le(F.evtchn_remote_port, rng(p, 8, 4))
	set_dst(pinfo, u16(p, 4))
	local info
	if u8(p, 6) == 1 then
		info = string.format("evtchn send port %d dropped (no peer)",
			u32(p, 0))
	else
		info = string.format("evtchn send port %d -> dom %d port %d",
			u32(p, 0), u16(p, 4), u32(p, 8))
	end
	if hdr.payload_len == SEND_LEN_FIRST then return info end
	if hdr.payload_len ~= SEND_LEN_DELIVERY then
		tree:add_proto_expert_info(E.malformed, string.format(
			"EVTCHN_SEND payload of %d bytes: %d (first layout) or %d",
			hdr.payload_len, SEND_LEN_FIRST, SEND_LEN_DELIVERY))
		return nil
	end
	if too_short(p, tree, SEND_LEN_DELIVERY, "EVTCHN_SEND delivery") then
		return nil
	end
	return info .. dissect_send_delivery(p, tree, hdr)
end

-- A late EOI, in the send's 24-byte layout with no remote: the delivery
-- it made due (an event that came meanwhile, or a storm's repeat).
payload_decoders[REC.EVTCHN_EOI] = function(p, tree, pinfo, hdr)
	if too_short(p, tree, SEND_LEN_DELIVERY, "EVTCHN_EOI") then
		return nil
	end
	-- It re-arms the domain's own port.
	set_dst(pinfo, hdr.domid)
	tree:add_le(F.evtchn_port, rng(p, 0, 4))
	if hdr.payload_len ~= SEND_LEN_DELIVERY then
		tree:add_proto_expert_info(E.malformed, string.format(
			"EVTCHN_EOI payload of %d bytes, not %d", hdr.payload_len,
			SEND_LEN_DELIVERY))
		return nil
	end
	return string.format("evtchn eoi port %d", u32(p, 0)) ..
		dissect_send_delivery(p, tree, hdr)
end

-- DELIVER, BIND and CLOSE: the port, then its peer.
local function add_evtchn_pair(p, tree)
	tree:add_le(F.evtchn_port, rng(p, 0, 4))
	tree:add_le(F.evtchn_remote_domid, rng(p, 4, 2))
	tree:add_le(F.evtchn_remote_port, rng(p, 8, 4))
	return u32(p, 0), u16(p, 4), u32(p, 8)
end

payload_decoders[REC.EVTCHN_DELIVER] = function(p, tree, pinfo, hdr)
	if too_short(p, tree, 12, "EVTCHN_DELIVER") then return nil end
	-- The event travels from the remote end to the header's domain.
	set_src(pinfo, u16(p, 4))
	set_dst(pinfo, hdr.domid)
	local port, remote, remote_port = add_evtchn_pair(p, tree)
	if remote == DOMID_INVALID then
		return string.format("evtchn deliver port %d (peer closed)", port)
	end
	return string.format("evtchn deliver port %d from dom %d port %d",
		port, remote, remote_port)
end

payload_decoders[REC.EVTCHN_BIND] = function(p, tree, pinfo)
	if too_short(p, tree, 12, "EVTCHN_BIND") then return nil end
	set_dst(pinfo, u16(p, 4))
	local port, remote, remote_port = add_evtchn_pair(p, tree)
	return string.format("evtchn bind port %d to dom %d port %d", port,
		remote, remote_port)
end

payload_decoders[REC.EVTCHN_CLOSE] = function(p, tree, pinfo)
	if too_short(p, tree, 12, "EVTCHN_CLOSE") then return nil end
	set_dst(pinfo, u16(p, 4))
	local port, remote, remote_port = add_evtchn_pair(p, tree)
	if remote == DOMID_INVALID then
		return string.format("evtchn close port %d (no peer)", port)
	end
	return string.format("evtchn close port %d (peer dom %d port %d)",
		port, remote, remote_port)
end

local function add_gnt_result(p, tree, off)
	local res = i32(p, off)
	local rt = tree:add_le(F.gnt_result, rng(p, off, 4))
	if res ~= 0 then
		rt:add_proto_expert_info(E.failed, "grant operation failed: " ..
			name_of(errno_names, res, "%d"))
	end
	return name_of(errno_names, res, "%d")
end

payload_decoders[REC.GNT_GRANT] = function(p, tree, pinfo)
	if too_short(p, tree, 16, "GNT_GRANT") then return nil end
	set_dst(pinfo, u16(p, 4))
	tree:add_le(F.gnt_ref, rng(p, 0, 4))
	tree:add_le(F.gnt_peer, rng(p, 4, 2))
	tree:add(F.gnt_readonly, rng(p, 6, 1))
	tree:add_le(F.gnt_gfn, rng(p, 8, 8))
	return string.format("gnt grant ref %d to dom %d %s gfn 0x%s", u32(p, 0),
		u16(p, 4), u8(p, 6) ~= 0 and "ro" or "rw",
		rng(p, 8, 8):le_uint64():tohex():gsub("^0+(.)", "%1"))
end

payload_decoders[REC.GNT_END] = function(p, tree)
	if too_short(p, tree, 8, "GNT_END") then return nil end
	tree:add_le(F.gnt_ref, rng(p, 0, 4))
	return string.format("gnt end ref %d %s", u32(p, 0),
		add_gnt_result(p, tree, 4))
end

payload_decoders[REC.GNT_MAP] = function(p, tree, pinfo)
	if too_short(p, tree, 12, "GNT_MAP") then return nil end
	set_dst(pinfo, u16(p, 4))
	tree:add_le(F.gnt_ref, rng(p, 0, 4))
	tree:add_le(F.gnt_granter, rng(p, 4, 2))
	tree:add(F.gnt_writable, rng(p, 6, 1))
	return string.format("gnt map ref %d of dom %d %s %s", u32(p, 0),
		u16(p, 4), u8(p, 6) ~= 0 and "rw" or "ro",
		add_gnt_result(p, tree, 8))
end

payload_decoders[REC.GNT_UNMAP] = function(p, tree, pinfo)
	if too_short(p, tree, 8, "GNT_UNMAP") then return nil end
	set_dst(pinfo, u16(p, 4))
	tree:add_le(F.gnt_ref, rng(p, 0, 4))
	tree:add_le(F.gnt_granter, rng(p, 4, 2))
	tree:add(F.gnt_writable, rng(p, 6, 1))
	return string.format("gnt unmap ref %d of dom %d", u32(p, 0), u16(p, 4))
end

payload_decoders[REC.GNT_COPY] = function(p, tree, pinfo)
	if too_short(p, tree, 16, "GNT_COPY") then return nil end
	set_dst(pinfo, u16(p, 4))
	tree:add_le(F.gnt_ref, rng(p, 0, 4))
	tree:add_le(F.gnt_granter, rng(p, 4, 2))
	tree:add(F.gnt_to_granted, rng(p, 6, 1))
	tree:add_le(F.gnt_offset, rng(p, 8, 2))
	tree:add_le(F.gnt_length, rng(p, 10, 2))
	return string.format("gnt copy %s ref %d of dom %d +%d len %d %s",
		u8(p, 6) ~= 0 and "to" or "from", u32(p, 0), u16(p, 4), u16(p, 8),
		u16(p, 10), add_gnt_result(p, tree, 12))
end

payload_decoders[REC.DATA] = function(p, tree, pinfo)
	if too_short(p, tree, 16, "DATA") then return nil end
	set_dst(pinfo, u16(p, 4))
	tree:add_le(F.gnt_ref, rng(p, 0, 4))
	tree:add_le(F.gnt_granter, rng(p, 4, 2))
	tree:add(F.data_to_granted, rng(p, 6, 1))
	tree:add(F.data_what, rng(p, 7, 1))
	tree:add_le(F.data_offset, rng(p, 8, 4))
	tree:add_le(F.data_length, rng(p, 12, 4))
	local len = u32(p, 12)
	if len > 0 and not add_string(p, tree, F.data_bytes, 16, len, "data") then
		return nil
	end
	return string.format("data %s ref %d of dom %d +%d len %d (%s)",
		u8(p, 6) ~= 0 and "into" or "from", u32(p, 0), u16(p, 4),
		u32(p, 8), len, name_of(data_what_names, u8(p, 7), "?"))
end

payload_decoders[REC.RUN] = function(p, tree)
	if too_short(p, tree, 48, "RUN") then return nil end
	tree:add(F.run_format, rng(p, 0, 1))
	tree:add(F.run_kind, rng(p, 1, 1))
	local flags = tree:add_le(F.run_flags, rng(p, 2, 2))
	flags:add_le(F.run_swarm, rng(p, 2, 2))
	flags:add_le(F.run_config_absent, rng(p, 2, 2))
	tree:add_le(F.run_seed, rng(p, 8, 8))
	tree:add_le(F.run_ops_limit, rng(p, 16, 8))
	tree:add_le(F.run_time_limit, rng(p, 24, 8))
	tree:add_le(F.run_config_len, rng(p, 40, 4))
	tree:add_le(F.run_config_here, rng(p, 44, 4))
	local off, strs = 48, {}
	local parts = { { F.run_frontend, u16(p, 32), "frontend" },
		{ F.run_faults, u16(p, 34), "fault plan" },
		{ F.run_config_path, u16(p, 36), "configuration path" },
		{ F.run_config, u32(p, 44), "configuration" } }
	for i, part in ipairs(parts) do
		local v = add_string(p, tree, part[1], off, part[2], part[3])
		if not v then return nil end
		strs[i] = v
		off = off + part[2]
	end
	return string.format("run %s, frontend %s, seed %s, config %s",
		name_of(run_kind_names, u8(p, 1), "?"), printable(strs[1], 40),
		rng(p, 8, 8):le_uint64():tonumber(), printable(strs[3], 60))
end

payload_decoders[REC.RUN_MORE] = function(p, tree)
	if too_short(p, tree, 8, "RUN_MORE") then return nil end
	tree:add_le(F.run_more_offset, rng(p, 0, 4))
	tree:add_le(F.run_config_here, rng(p, 4, 4))
	local len = u32(p, 4)
	if not add_string(p, tree, F.run_config, 8, len, "configuration") then
		return nil
	end
	return string.format("run configuration, %d bytes from %d", len,
		u32(p, 0))
end

payload_decoders[REC.XS_WRITE] = function(p, tree)
	if too_short(p, tree, 8, "XS_WRITE") then return nil end
	tree:add_le(F.xs_path_len, rng(p, 0, 2))
	tree:add_le(F.xs_value_len, rng(p, 4, 4))
	local plen, vlen = u16(p, 0), u32(p, 4)
	local path = add_string(p, tree, F.xs_path, 8, plen, "path")
	if not path then return nil end
	local value = add_string(p, tree, F.xs_value, 8 + plen, vlen, "value")
	if not value then return nil end
	return string.format("xs write %s = %s", printable(path, 120),
		printable(value, 60))
end

local function xs_path_only(verb)
	return function(p, tree)
		if too_short(p, tree, 4, verb) then return nil end
		tree:add_le(F.xs_path_len, rng(p, 0, 2))
		local path = add_string(p, tree, F.xs_path, 4, u16(p, 0), "path")
		if not path then return nil end
		return string.format("xs %s %s", verb:lower(), printable(path, 120))
	end
end
payload_decoders[REC.XS_MKDIR] = xs_path_only("MKDIR")
payload_decoders[REC.XS_RM] = xs_path_only("RM")

-- xenstore-chmod's letters: n none, r read, w write, b both.
local function perm_text(domid, bits)
	local rw = bitop.band(bits, 3)
	return ({ [0] = "n", [1] = "r", [2] = "w", [3] = "b" })[rw] .. domid
end

payload_decoders[REC.XS_SET_PERMS] = function(p, tree)
	if too_short(p, tree, 4, "XS_SET_PERMS") then return nil end
	tree:add_le(F.xs_path_len, rng(p, 0, 2))
	tree:add_le(F.xs_nperms, rng(p, 2, 2))
	local plen, n = u16(p, 0), u16(p, 2)
	local path = add_string(p, tree, F.xs_path, 4, plen, "path")
	if not path then return nil end
	if 4 + plen + 4 * n > p.len then
		tree:add_proto_expert_info(E.malformed, string.format(
			"%d permissions run past the payload (%d bytes)", n, p.len))
		return nil
	end
	local texts = {}
	for i = 0, n - 1 do
		local off = 4 + plen + 4 * i
		local domid, bits = u16(p, off), u8(p, off + 2)
		local pt = tree:add(xpv, rng(p, off, 4), string.format(
			"Permission %d: %s%s", i, perm_text(domid, bits),
			i == 0 and " (owner; everyone else)" or ""))
		pt:add_le(F.xs_perm_domid, rng(p, off, 2))
		local bt = pt:add(F.xs_perm_bits, rng(p, off + 2, 1))
		bt:add(F.xs_perm_read, rng(p, off + 2, 1))
		bt:add(F.xs_perm_write, rng(p, off + 2, 1))
		bt:add(F.xs_perm_enoent_ok, rng(p, off + 2, 1))
		bt:add(F.xs_perm_owner, rng(p, off + 2, 1))
		if i < 8 then texts[#texts + 1] = perm_text(domid, bits) end
	end
	return string.format("xs set-perms %s %s%s", printable(path, 120),
		table.concat(texts, " "), n > 8 and " ..." or "")
end

payload_decoders[REC.XS_WATCH_FIRE] = function(p, tree)
	if too_short(p, tree, 4, "XS_WATCH_FIRE") then return nil end
	tree:add_le(F.xs_path_len, rng(p, 0, 2))
	tree:add_le(F.xs_token_len, rng(p, 2, 2))
	local plen, tlen = u16(p, 0), u16(p, 2)
	local path = add_string(p, tree, F.xs_path, 4, plen, "path")
	if not path then return nil end
	local token = add_string(p, tree, F.xs_token, 4 + plen, tlen, "token")
	if not token then return nil end
	return string.format("xs watch %s token %s", printable(path, 120),
		printable(token, 40))
end

-- XS_WATCH, XS_UNWATCH: a watch registered or removed, with the store
-- client (a libxenstore connection) it belongs to.
local function watch_change(p, tree, what)
	if too_short(p, tree, 8, what) then return nil end
	tree:add_le(F.xs_path_len, rng(p, 0, 2))
	tree:add_le(F.xs_token_len, rng(p, 2, 2))
	tree:add_le(F.xs_client, rng(p, 4, 4))
	local plen, tlen = u16(p, 0), u16(p, 2)
	local path = add_string(p, tree, F.xs_path, 8, plen, "path")
	if not path then return nil end
	local token = add_string(p, tree, F.xs_token, 8 + plen, tlen, "token")
	if not token then return nil end
	return string.format("xs %s %s token %s client %d",
		what == "XS_WATCH" and "watch added" or "watch removed",
		printable(path, 120), printable(token, 40), u32(p, 4))
end

payload_decoders[REC.XS_WATCH] = function(p, tree)
	return watch_change(p, tree, "XS_WATCH")
end

payload_decoders[REC.XS_UNWATCH] = function(p, tree)
	return watch_change(p, tree, "XS_UNWATCH")
end

payload_decoders[REC.XENBUS_STATE] = function(p, tree)
	if too_short(p, tree, 8, "XENBUS_STATE") then return nil end
	local state = u32(p, 0)
	local st = tree:add_le(F.xenbus_state, rng(p, 0, 4))
	if not xenbus_states[state] then
		st:add_proto_expert_info(E.protocol, "not an enum xenbus_state value")
	end
	tree:add_le(F.xs_path_len, rng(p, 4, 2))
	local path = add_string(p, tree, F.xenbus_path, 8, u16(p, 4), "path")
	if not path then return nil end
	return string.format("xenbus %s %s (%d)", printable(path, 120),
		name_of(xenbus_states, state, "state"), state)
end

-- ---- record header ------------------------------------------------------

-- Returns the header's values, or nil when the record cannot be decoded
-- (the reason is in the tree).
local function dissect_header(tvb, pinfo, tree)
	local n = tvb:len()
	if n < HDR_LEN_V1 then
		tree:add_proto_expert_info(E.malformed, string.format(
			"%d bytes: shorter than the 32-byte record header", n))
		if n >= 4 then tree:add(F.magic, tvb(0, 4)) end
		return nil
	end
	local mt = tree:add(F.magic, tvb(0, 4))
	if tvb(0, 4):raw() ~= MAGIC then
		mt:add_proto_expert_info(E.malformed, "magic is not \"XPVT\"")
		return nil
	end
	local hdr = {
		version = tvb(4, 1):uint(), type = tvb(5, 1):uint(),
		hdr_len = tvb(6, 2):le_uint(), seq = tvb(8, 8):le_uint64(),
		time_ns = tvb(16, 8):le_uint64():tonumber(),
		time_u64 = tvb(16, 8):le_uint64(),
		domid = tvb(24, 2):le_uint(), flags = tvb(26, 2):le_uint(),
		payload_len = tvb(28, 4):le_uint(),
	}
	local vt = tree:add(F.version, tvb(4, 1))
	tree:add(F.type, tvb(5, 1))
	local ht = tree:add_le(F.hdr_len, tvb(6, 2))
	local st = tree:add_le(F.seq, tvb(8, 8))
	tree:add_le(F.time_ns, tvb(16, 8))
	tree:add_le(F.domid, tvb(24, 2))
	local ft = tree:add_le(F.flags, tvb(26, 2))
	ft:add_le(F.flag_before_attach, tvb(26, 2))
	ft:add_le(F.flag_truncated, tvb(26, 2))
	ft:add_le(F.flag_rewritten, tvb(26, 2))
	local pt = tree:add_le(F.payload_len, tvb(28, 4))
	if hdr.seq ~= UInt64(pinfo.number - 1) then
		st:add_proto_expert_info(E.sequence, string.format(
			"seq is not frame number - 1 (%d): records missing or reordered",
			pinfo.number - 1))
	end
	if hdr.version ~= 1 then
		vt:add_proto_expert_info(E.version, string.format(
			"version %d: this dissector reads version 1", hdr.version))
		return nil
	end
	if hdr.hdr_len < HDR_LEN_V1 or hdr.hdr_len > n then
		ht:add_proto_expert_info(E.malformed, string.format(
			"hdr_len %d: at least 32 and at most the record (%d bytes)",
			hdr.hdr_len, n))
		return nil
	end
	if hdr.hdr_len + hdr.payload_len ~= n then
		pt:add_proto_expert_info(E.malformed, string.format(
			"hdr_len + payload_len = %d, the record has %d bytes",
			hdr.hdr_len + hdr.payload_len, n))
	end
	if has_bits(hdr.flags, 0x2) then
		ft:add_proto_expert_info(E.sequence,
			"a string of this record was truncated to its limit")
	end
	return hdr
end

-- Time order is checked in the first pass against the previous record.
local function check_time(pinfo, tree, hdr)
	local f = facts[pinfo.number]
	if first_pass(pinfo) then
		f.time_back = last_time ~= nil and hdr.time_ns < last_time
		last_time = hdr.time_ns
	end
	if f.time_back then
		tree:add_proto_expert_info(E.sequence,
			"time_ns is earlier than the previous record's")
	end
end

local function dissect_record(tvb, pinfo, tree)
	local hdr = dissect_header(tvb, pinfo, tree)
	if not hdr then
		pinfo.cols.info = "xpv record (not decoded)"
		return
	end
	check_time(pinfo, tree, hdr)
	local tname = name_of(rec_type_names, hdr.type, "type %d")
	tree:append_text(string.format(", %s, seq %s", tname, tostring(hdr.seq)))
	set_src(pinfo, hdr.domid)
	if hdr.type >= REC.XS_WRITE and hdr.type <= REC.XENBUS_STATE then
		pinfo.cols.dst = "xenstore"
	end
	local avail = tvb:len() - hdr.hdr_len
	local p = { tvb = tvb, base = hdr.hdr_len,
		len = math.min(avail, hdr.payload_len) }
	local decode = payload_decoders[hdr.type]
	if p.len > 0 then
		local pay = tree:add(F.payload, tvb(hdr.hdr_len, p.len))
		pay:set_text(string.format("%s payload (%d bytes)", tname, p.len))
		if decode then
			local info = decode(p, pay, pinfo, hdr)
			pinfo.cols.info = info or (tname .. " (malformed)")
			return
		end
	elseif decode then
		too_short(p, tree, 1, tname)
		pinfo.cols.info = tname .. " (malformed)"
		return
	end
	tree:add_proto_expert_info(E.undecoded, string.format(
		"unknown record type %d: payload skipped", hdr.type))
	pinfo.cols.info = string.format("xpv record type %d (skipped)", hdr.type)
end

function xpv.dissector(tvb, pinfo, tree)
	pinfo.cols.protocol = "xpvtrace"
	pinfo.cols.info = ""
	local root = tree:add(xpv, tvb())
	if not facts[pinfo.number] then
		facts[pinfo.number] = { deriving = true }
	end
	local ok, err = pcall(dissect_record, tvb, pinfo, root)
	facts[pinfo.number].deriving = false
	if not ok then
		root:add_proto_expert_info(E.bug, "xpvtrace.lua: " .. tostring(err))
	end
	return tvb:len()
end

DissectorTable.get("wtap_encap"):add(wtap_encaps.USER0, xpv)
