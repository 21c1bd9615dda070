// The control socket's request framing (core/src/control_request.cpp): one
// line, trimmed, at most 256 bytes, the same however the bytes arrive.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "vpnhost/control_request.hpp"

namespace {

using vpnhost::ControlRequestReader;
using Result = ControlRequestReader::Result;

// Feeds `bytes` in pieces of `piece` bytes (EOF after the last when at_end).
ControlRequestReader read_in(const std::string& bytes, std::size_t piece, bool at_end) {
  ControlRequestReader r;
  std::size_t off = 0;
  do {
    const std::size_t n = std::min(piece, bytes.size() - off);
    const bool last = off + n == bytes.size();
    r.add(std::string_view(bytes).substr(off, n), last && at_end);
    off += n;
  } while (off < bytes.size() && r.result() == Result::need_more);
  return r;
}

}  // namespace

TEST_CASE("control request: a line up to the newline, trimmed", "[core][control]") {
  ControlRequestReader r;
  CHECK(r.add("  status") == Result::need_more);
  CHECK(r.request().empty());
  CHECK(r.add(" json \t\r\nignored after the line") == Result::ready);
  CHECK(r.request() == "status json");
  // Settled: more bytes change nothing.
  CHECK(r.add("x\n") == Result::ready);
  CHECK(r.request() == "status json");

  CHECK(read_in("\t metrics\n", 1, false).request() == "metrics");
  CHECK(read_in("\n", 1, false).result() == Result::ready);
  CHECK(read_in("\n", 1, false).request().empty());
  // Only the edges are trimmed; a '\r' at the front or a space inside stays.
  CHECK(read_in("\rstatus  text\r \n", 3, false).request() == "\rstatus  text");
}

TEST_CASE("control request: without a newline, EOF ends the request", "[core][control]") {
  CHECK(read_in("status", 128, false).result() == Result::need_more);
  const auto r = read_in("status text ", 128, true);
  CHECK(r.result() == Result::ready);
  CHECK(r.request() == "status text");
  ControlRequestReader empty;
  CHECK(empty.add("", true) == Result::ready);
  CHECK(empty.request().empty());
}

TEST_CASE("control request: more than 256 bytes is refused, however the bytes arrive", "[core][control]") {
  const std::string limit(256, 'a'), over(257, 'a');
  for (std::size_t piece : {1u, 7u, 128u, 1000u}) {
    INFO("pieces of " << piece);
    CHECK(read_in(limit + "\n", piece, false).result() == Result::ready);
    CHECK(read_in(limit + "\n", piece, false).request() == limit);
    CHECK(read_in(limit, piece, true).request() == limit);
    CHECK(read_in(over + "\n", piece, false).result() == Result::too_long);
    CHECK(read_in(over, piece, true).result() == Result::too_long);
    CHECK(read_in(over, piece, false).result() == Result::too_long);  // no need to wait for the end
    // The limit is on the line before trimming, and the rest after the newline does not count.
    CHECK(read_in(std::string(250, ' ') + "status" + std::string(10, ' ') + "\n", piece, false).result() ==
          Result::too_long);
    CHECK(read_in("status\n" + over, piece, false).request() == "status");
  }
  CHECK(read_in(over, 1000, true).request().empty());
  CHECK(ControlRequestReader::too_long_answer() == "error: request longer than 256 bytes\n");
}

TEST_CASE("control request: trimming", "[core][control]") {
  CHECK(vpnhost::trim_control_request(" \t status \t\r\r ") == "status");
  CHECK(vpnhost::trim_control_request("\r\r") == "");
  CHECK(vpnhost::trim_control_request(" \t ") == "");
  CHECK(vpnhost::trim_control_request("a b") == "a b");
}
