// Operations: a snapshot of the running host (sessions, stages, counters)
// and its renderings: JSON and a readable table for `vpnhost status`, and
// the Prometheus text exposition format for the metrics endpoint.
// Pure functions of the snapshot, so they are tested without a host.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vpnhost {

struct SessionSnapshot {
  std::uint64_t id = 0;
  std::string address;            // tunnel address, "" before assignment
  int prefix_len = 0;             // 0 before assignment
  std::string peer;               // underlay endpoint "a.b.c.d:port"
  std::string role;               // "initiator" (we connected) or "responder" (we accepted)
  std::string state;              // handshaking, awaiting_hello, hello_sent, established, closing
  std::optional<std::string> name;  // the identity the cipher authenticated (CipherSession::peer())
  double connected_seconds = 0;   // since the transport opened it
  std::int64_t connected_since = 0;  // the same as Unix time (seconds)
  double last_rx_seconds = 0;     // since the last frame received
  double last_tx_seconds = 0;     // since the last frame sent
  std::uint64_t rx_packets = 0, rx_bytes = 0, tx_packets = 0, tx_bytes = 0, drops = 0;
};

struct StageSnapshot {
  std::string stage;   // "transport", "cipher", ...
  std::string table;   // manifest table ("responder #2")
  std::string plugin;  // plugin name = the prefix of its counters
};

struct StatusSnapshot {
  std::string version;
  std::string manifest;
  long pid = 0;
  double uptime_seconds = 0;
  std::int64_t now = 0;  // Unix time
  std::vector<StageSnapshot> stages;
  std::vector<SessionSnapshot> sessions;
  std::vector<std::pair<std::string, std::uint64_t>> counters;  // full names, sorted
};

// JSON string literal (with the quotes) for any bytes: control characters,
// quotes and backslashes escaped, bytes that are not valid UTF-8 replaced
// by U+FFFD, so the output is always valid JSON.
std::string json_string(std::string_view s);

// {"version":…, "sessions":[…], "host":{…}, "drops":{…}, "stages":[{"stage":…,
// "plugin":…, "counters":{…}}], "other":{…}} — docs/operations.md.
std::string render_status_json(const StatusSnapshot& s);
// The readable form (like `wg show`).
std::string render_status_table(const StatusSnapshot& s);
// Prometheus text exposition format 0.0.4 (no per-session series).
std::string render_metrics(const StatusSnapshot& s);

// "1.5 KiB", "3 B"
std::string human_bytes(std::uint64_t n);
// "3s", "2m 5s", "1h 2m", "3d 4h"
std::string human_duration(double seconds);

}  // namespace vpnhost
