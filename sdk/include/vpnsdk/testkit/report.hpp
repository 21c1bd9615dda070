// The result of a conformance check: how many checks ran and which failed.
// Framework-neutral: a Catch2 test writes
//
//   auto r = vpnsdk::testkit::check_cipher(harness);
//   INFO(r.text());
//   CHECK(r.ok());
//
// and a GoogleTest one `EXPECT_TRUE(r.ok()) << r.text();`. Pass an
// `on_failure` callback to see (or assert on) each failure as it happens.
#pragma once
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "vpnsdk/status.hpp"

namespace vpnsdk::testkit {

class Report {
 public:
  // Called for every failure as it is recorded (e.g. to log it).
  std::function<void(const std::string&)> on_failure;

  // Records one check; `what` describes the expectation ("seal of 1400 bytes
  // returns ok"). Returns `cond` so callers can stop early.
  bool expect(bool cond, const std::string& what) {
    ++checks_;
    if (!cond) fail(what);
    return cond;
  }
  void fail(const std::string& what) {
    ++failed_;
    if (failures_.size() < kMaxKept) failures_.push_back(what);
    if (on_failure) on_failure(what);
  }
  // A note that is not a failure (e.g. "handshake: 2 round trips").
  void note(std::string what) { notes_.push_back(std::move(what)); }

  // True when at least one check ran and none failed.
  bool ok() const { return checks_ > 0 && failed_ == 0; }
  std::size_t checks() const { return checks_; }
  std::size_t failed() const { return failed_; }
  const std::vector<std::string>& failures() const { return failures_; }
  const std::vector<std::string>& notes() const { return notes_; }

  // One failure per line (at most kMaxKept, then a count of the rest).
  std::string text() const {
    std::string out = std::to_string(checks_) + " checks, " + std::to_string(failed_) + " failed";
    if (checks_ == 0) out += " (nothing was checked)";
    for (const auto& f : failures_) out += "\n  FAIL: " + f;
    if (failed_ > failures_.size()) out += "\n  ... and " + std::to_string(failed_ - failures_.size()) + " more";
    for (const auto& n : notes_) out += "\n  note: " + n;
    return out;
  }

  static constexpr std::size_t kMaxKept = 40;

 private:
  std::size_t checks_ = 0;
  std::size_t failed_ = 0;
  std::vector<std::string> failures_;
  std::vector<std::string> notes_;
};

namespace detail {

inline std::string status_text(const Status& s) {
  return std::string(code_name(s.code)) + (s.message.empty() ? "" : ": " + s.message);
}

inline bool is_drop(Code c) {
  return c == Code::drop_malformed || c == Code::drop_auth || c == Code::drop_no_route || c == Code::drop_overflow;
}

// Deterministic bytes (a small LCG): the same seed gives the same frame.
inline std::vector<std::byte> test_bytes(std::size_t n, std::uint32_t seed) {
  std::vector<std::byte> v(n);
  std::uint32_t x = seed * 2654435761u + 12345u;
  for (auto& b : v) {
    x = x * 1664525u + 1013904223u;
    b = std::byte(static_cast<unsigned char>(x >> 24));
  }
  return v;
}

// Runs fn; an exception becomes a failure "<what> threw: ...". True if none.
template <class Fn>
bool no_throw(Report& r, const std::string& what, Fn&& fn) {
  try {
    fn();
    return true;
  } catch (const std::exception& e) {
    r.fail(what + " threw: " + e.what() + " (no exception may leave a plugin call)");
  } catch (...) {
    r.fail(what + " threw a non-std exception (no exception may leave a plugin call)");
  }
  return false;
}

}  // namespace detail

}  // namespace vpnsdk::testkit
