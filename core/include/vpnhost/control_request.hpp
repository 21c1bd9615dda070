// The control socket's request framing (control_socket.hpp), without I/O:
// the bytes a client sends, as they arrive, to one request line.
//
// A request is the bytes up to the first "\n" (or, when the client closes
// its write side first, all it sent), with trailing "\r", spaces and tabs
// and leading spaces and tabs removed; anything after the "\n" is ignored.
// A line longer than kMaxRequest bytes (before trimming), or more than
// kMaxRequest bytes without a "\n", is refused with too_long_answer(). The
// outcome does not depend on how the bytes are split into reads.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace vpnhost {

class ControlRequestReader {
 public:
  static constexpr std::size_t kMaxRequest = 256;
  enum class Result { need_more, ready, too_long };

  // Adds the next bytes read from the connection; `at_end`: the client
  // closed its write side after them (EOF). Once ready or too_long, the
  // result stays and further bytes are ignored.
  Result add(std::string_view bytes, bool at_end = false);
  Result result() const noexcept { return result_; }
  // The request line once ready (empty otherwise).
  const std::string& request() const noexcept { return result_ == Result::ready ? request_ : none_; }

  // The whole answer to a request that is too long.
  static std::string too_long_answer();

 private:
  Result finish_line(std::size_t end);
  inline static const std::string none_;
  std::string request_;
  Result result_ = Result::need_more;
};

// Removes trailing '\r', ' ', '\t' and leading ' ', '\t' (the control
// socket's trimming of a request line).
std::string trim_control_request(std::string line);

}  // namespace vpnhost
