// fuzz_metrics_http: the metrics endpoint's request handling
// (core/src/metrics_http.cpp, metrics_http_reply), the one part of the
// host that a TCP client reaches when [host] metrics is set.
//
// Input: a request head (what the connection read up to its blank line).
//
// Invariants beyond the sanitizers: the answer is one HTTP/1.0 response:
// a status line with 200, 400, 404 or 405, Content-Type, a Content-Length
// equal to the body's length (the body left out for HEAD, and only then),
// "Connection: close", the blank line; 200 exactly for GET or HEAD of
// /metrics (a query allowed) with an HTTP/1.x version, and only then is the
// metrics text asked for (once); 405 carries "Allow: GET, HEAD".
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "vpnhost/metrics_http.hpp"

namespace {

const std::string kBody = "vpnhost_up 1\n";

// What the request line says, by a plain reading of it.
int expected_status(std::string_view head) {
  std::string_view line = head.substr(0, head.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::size_t spaces = 0;
  for (char c : line) spaces += c == ' ';
  const std::size_t a = line.find(' ');
  const std::size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
  if (spaces != 2 || b == std::string_view::npos) return 400;
  if (line.substr(b + 1).substr(0, 7) != "HTTP/1.") return 400;
  const std::string_view method = line.substr(0, a);
  std::string_view target = line.substr(a + 1, b - a - 1);
  target = target.substr(0, target.find('?'));
  if (method != "GET" && method != "HEAD") return 405;
  if (target != "/metrics") return 404;
  return 200;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string head(reinterpret_cast<const char*>(data), size);
  int calls = 0;
  const std::string r = vpnhost::metrics_http_reply(head, [&] {
    ++calls;
    return kBody;
  });
  const int want = expected_status(head);
  FUZZ_CHECK(r.rfind("HTTP/1.0 ", 0) == 0);
  FUZZ_CHECK(r.size() > 12);
  const int status = std::stoi(r.substr(9, 3));
  FUZZ_CHECK(status == want);
  FUZZ_CHECK(calls == (status == 200 ? 1 : 0));
  const std::size_t end = r.find("\r\n\r\n");
  FUZZ_CHECK(end != std::string::npos);
  const std::string headers = r.substr(0, end + 2);
  const std::string body = r.substr(end + 4);
  FUZZ_CHECK(headers.find("\r\nContent-Type: ") != std::string::npos);
  FUZZ_CHECK(headers.find("\r\nConnection: close\r\n") != std::string::npos);
  const std::size_t cl = headers.find("\r\nContent-Length: ");
  FUZZ_CHECK(cl != std::string::npos);
  const std::size_t length = std::stoul(headers.substr(cl + 18));
  const bool head_only = head.rfind("HEAD ", 0) == 0 && status != 400 && status != 405;
  if (head_only) {
    FUZZ_CHECK(body.empty());
  } else {
    FUZZ_CHECK(body.size() == length);
  }
  if (status == 200 && !head_only) FUZZ_CHECK(body == kBody);
  if (status == 200) FUZZ_CHECK(length == kBody.size());
  if (status == 405) FUZZ_CHECK(headers.find("\r\nAllow: GET, HEAD\r\n") != std::string::npos);
  // Nothing of the request is echoed back (no header or response splitting).
  FUZZ_CHECK(headers.find("\r\n\r\n") == std::string::npos);
  return 0;
}
