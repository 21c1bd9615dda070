// Prometheus rendering and the HTTP responder's answers.
#include <catch2/catch.hpp>

#include "support.hpp"
#include "vpnhost/metrics_http.hpp"

using namespace opstest;

namespace {

std::string metric_lines(const std::string& text, const std::string& prefix) {
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) out += line + "\n";
  return out;
}

}  // namespace

TEST_CASE("ops: metrics are valid exposition format with counters, gauges and drop reasons", "[ops][metrics]") {
  const std::string m = vpnhost::render_metrics(sample_snapshot());
  const auto problems = exposition_problems(m);
  for (const auto& p : problems) UNSCOPED_INFO(p);
  CHECK(problems.empty());
  CHECK(metric_lines(m, "vpnhost_sessions") == "vpnhost_sessions 2\nvpnhost_sessions_established 1\n");
  CHECK(metric_lines(m, "vpnhost_drops_total") ==
        "vpnhost_drops_total{reason=\"no_route\"} 4\nvpnhost_drops_total{reason=\"session_timeout\"} 1\n");
  CHECK(metric_lines(m, "vpnhost_host_") == "vpnhost_host_rx_packets_total 10\nvpnhost_host_sessions_opened_total 5\n");
  CHECK(metric_lines(m, "vpnhost_transport_") == "vpnhost_transport_frames_in_total{plugin=\"transport_tcp\"} 50\n");
  CHECK(metric_lines(m, "vpnhost_responder_") ==
        "vpnhost_responder_echo_replies_total{plugin=\"responder_icmp_echo\"} 8\n");
  CHECK(metric_lines(m, "vpnhost_other_total") == "vpnhost_other_total{counter=\"mystery.thing\"} 2\n");
  CHECK(m.find("# TYPE vpnhost_drops_total counter\n") != std::string::npos);
  CHECK(m.find("# TYPE vpnhost_sessions gauge\n") != std::string::npos);
  CHECK(m.find("vpnhost_info{version=\"0.1.0\"} 1\n") != std::string::npos);
  // No per-session series: nothing names a session, an address or a peer.
  CHECK(m.find("10.10.0.2") == std::string::npos);
  CHECK(m.find("172.31.") == std::string::npos);
  CHECK(m.find("session=") == std::string::npos);
  CHECK(m.find("sessions_active") == std::string::npos);  // it is vpnhost_sessions
}

TEST_CASE("ops: metrics stay valid with odd counter names and shared plugins", "[ops][metrics]") {
  auto s = sample_snapshot();
  // Two [[responder]]s with the same plugin share its counters: one series.
  s.stages.push_back({"responder", "responder #2", "responder_icmp_echo"});
  s.counters.emplace_back("drop.we\"ird\\reason\n", 3);
  s.counters.emplace_back("cipher_xor.already_total", 6);
  s.counters.emplace_back("cipher_xor.d\xc3\xa9j\xc3\xa0 vu", 1);
  std::sort(s.counters.begin(), s.counters.end());
  const std::string m = vpnhost::render_metrics(s);
  const auto problems = exposition_problems(m);
  for (const auto& p : problems) UNSCOPED_INFO(p);
  CHECK(problems.empty());
  CHECK(metric_lines(m, "vpnhost_responder_echo_replies_total").size() ==
        std::string("vpnhost_responder_echo_replies_total{plugin=\"responder_icmp_echo\"} 8\n").size());
  CHECK(m.find("vpnhost_drops_total{reason=\"we\\\"ird\\\\reason\\n\"} 3\n") != std::string::npos);
  CHECK(m.find("vpnhost_cipher_already_total{plugin=\"cipher_xor\"} 6\n") != std::string::npos);
  CHECK(m.find("vpnhost_cipher_d__j___vu_total{plugin=\"cipher_xor\"} 1\n") != std::string::npos);
}

TEST_CASE("ops: the metrics HTTP responder answers GET /metrics and nothing else", "[ops][metrics][http]") {
  auto body = [] { return std::string("vpnhost_sessions 1\n"); };
  const std::string ok = vpnhost::metrics_http_reply("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*", body);
  CHECK(ok ==
        "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: 19\r\n"
        "Connection: close\r\n\r\nvpnhost_sessions 1\n");
  CHECK(vpnhost::metrics_http_reply("GET /metrics?x=1 HTTP/1.0", body).rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
  const std::string head = vpnhost::metrics_http_reply("HEAD /metrics HTTP/1.0", body);
  CHECK(head.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
  CHECK(head.find("Content-Length: 19\r\n") != std::string::npos);
  CHECK(head.size() == head.find("\r\n\r\n") + 4);  // no body
  CHECK(vpnhost::metrics_http_reply("GET / HTTP/1.1", body).rfind("HTTP/1.0 404 Not Found\r\n", 0) == 0);
  CHECK(vpnhost::metrics_http_reply("GET /metricsx HTTP/1.1", body).rfind("HTTP/1.0 404 ", 0) == 0);
  CHECK(vpnhost::metrics_http_reply("GET /../metrics HTTP/1.1", body).rfind("HTTP/1.0 404 ", 0) == 0);
  const std::string post = vpnhost::metrics_http_reply("POST /metrics HTTP/1.1", body);
  CHECK(post.rfind("HTTP/1.0 405 Method Not Allowed\r\n", 0) == 0);
  CHECK(post.find("Allow: GET, HEAD\r\n") != std::string::npos);
  for (const char* bad : {"", "GET", "GET /metrics", "GET /metrics FTP/1.0", "GET  /metrics HTTP/1.1",
                          "GET /metrics HTTP/1.1 extra", "\x16\x03\x01\x02\x00"})
    CHECK(vpnhost::metrics_http_reply(bad, body).rfind("HTTP/1.0 400 Bad Request\r\n", 0) == 0);
}

TEST_CASE("ops: metrics turn KIND.VALUE.NAME counters into one family with a label, bounded", "[ops][metrics]") {
  auto s = sample_snapshot();
  s.counters.emplace_back("cipher_xor.client.alice.handshakes", 2);
  s.counters.emplace_back("cipher_xor.client.bob.handshakes", 3);
  s.counters.emplace_back("cipher_xor.client.bob.sessions", 1);
  s.counters.emplace_back("cipher_xor.client.dotted.name.sessions", 4);  // the value is everything in between
  std::sort(s.counters.begin(), s.counters.end());
  std::string m = vpnhost::render_metrics(s);
  auto problems = exposition_problems(m);
  for (const auto& p : problems) UNSCOPED_INFO(p);
  CHECK(problems.empty());
  CHECK(metric_lines(m, "vpnhost_cipher_client_") ==
        "vpnhost_cipher_client_handshakes_total{plugin=\"cipher_xor\",client=\"alice\"} 2\n"
        "vpnhost_cipher_client_handshakes_total{plugin=\"cipher_xor\",client=\"bob\"} 3\n"
        "vpnhost_cipher_client_sessions_total{plugin=\"cipher_xor\",client=\"bob\"} 1\n"
        "vpnhost_cipher_client_sessions_total{plugin=\"cipher_xor\",client=\"dotted.name\"} 4\n");

  // 300 identities: 255 series of their own, the other 45 summed in "_other".
  s = sample_snapshot();
  for (int i = 0; i < 300; ++i) s.counters.emplace_back("cipher_xor.client.c" + std::to_string(1000 + i) + ".sessions", 1);
  std::sort(s.counters.begin(), s.counters.end());
  m = vpnhost::render_metrics(s);
  problems = exposition_problems(m);
  CHECK(problems.empty());
  const std::string lines = metric_lines(m, "vpnhost_cipher_client_sessions_total");
  CHECK(std::count(lines.begin(), lines.end(), '\n') == 256);
  CHECK(lines.find("client=\"c1254\"} 1\n") != std::string::npos);
  CHECK(lines.find("client=\"c1255\"") == std::string::npos);
  CHECK(lines.find("vpnhost_cipher_client_sessions_total{plugin=\"cipher_xor\",client=\"_other\"} 45\n") !=
        std::string::npos);
}
