// fuzz_control_request: the control socket's request framing
// (core/src/control_request.cpp, what ControlServer's connections use).
//
// Input: [split seed][eof][bytes ...]
//   The bytes are fed to a ControlRequestReader in one piece and, in a
//   second reader, cut into reads chosen by the split seed (1-128 bytes each,
//   as the connection reads at most 128 at a time); with eof bit 0 set the
//   client closes its write side after the last byte.
//
// Invariants beyond the sanitizers: the outcome and the request are the same
// however the bytes are split; they match a plain reference (the line up to
// the first '\n', or everything at EOF; refused when longer than 256 bytes,
// or when more than 256 bytes came without a '\n'); a request holds no
// '\n', starts with no space or tab, ends with no '\r', space or tab, and
// is at most 256 bytes; once settled, more bytes change nothing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "vpnhost/control_request.hpp"

namespace {

using vpnhost::ControlRequestReader;
using Result = ControlRequestReader::Result;
constexpr std::size_t kMax = ControlRequestReader::kMaxRequest;

struct Reference {
  Result result = Result::need_more;
  std::string request;
};

Reference reference(std::string_view in, bool eof) {
  Reference r;
  const auto nl = in.find('\n');
  std::string line;
  if (nl != std::string_view::npos) {
    line = std::string(in.substr(0, nl));
  } else if (in.size() > kMax) {
    r.result = Result::too_long;
    return r;
  } else if (eof) {
    line = std::string(in);
  } else {
    return r;
  }
  if (line.size() > kMax) {
    r.result = Result::too_long;
    return r;
  }
  std::size_t end = line.size();
  while (end > 0 && (line[end - 1] == '\r' || line[end - 1] == ' ' || line[end - 1] == '\t')) --end;
  std::size_t begin = 0;
  while (begin < end && (line[begin] == ' ' || line[begin] == '\t')) ++begin;
  r.result = Result::ready;
  r.request = line.substr(begin, end - begin);
  return r;
}

void check_request(const ControlRequestReader& r) {
  if (r.result() != Result::ready) {
    FUZZ_CHECK(r.request().empty());
    return;
  }
  const std::string& q = r.request();
  FUZZ_CHECK(q.size() <= kMax);
  FUZZ_CHECK(q.find('\n') == std::string::npos);
  if (!q.empty()) {
    FUZZ_CHECK(q.front() != ' ' && q.front() != '\t');
    FUZZ_CHECK(q.back() != ' ' && q.back() != '\t' && q.back() != '\r');
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  std::uint32_t seed = data[0] * 2654435761u + 1;
  const bool eof = data[1] & 1;
  const std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);

  const Reference ref = reference(in, eof);

  ControlRequestReader whole;
  const Result first = whole.add(in, eof);
  FUZZ_CHECK(first == whole.result());
  check_request(whole);
  FUZZ_CHECK(whole.result() == ref.result);
  FUZZ_CHECK(whole.request() == ref.request);

  ControlRequestReader split;
  std::size_t off = 0;
  do {
    seed = seed * 1103515245u + 12345u;
    const std::size_t n = std::min<std::size_t>(1 + (seed >> 16) % 128, in.size() - off);
    const bool last = off + n == in.size();
    const Result before = split.result();
    const Result got = split.add(in.substr(off, n), last && eof);
    if (before != Result::need_more) FUZZ_CHECK(got == before);  // settled stays settled
    check_request(split);
    off += n;
  } while (off < in.size() && split.result() == Result::need_more);
  FUZZ_CHECK(split.result() == ref.result);
  FUZZ_CHECK(split.request() == ref.request);

  // More bytes after a settled outcome change nothing.
  if (whole.result() != Result::need_more) {
    const std::string kept = whole.request();
    const Result r = whole.result();
    whole.add("more\n", true);
    FUZZ_CHECK(whole.result() == r && whole.request() == kept);
  }
  return 0;
}
