#include "vpnhost/control_request.hpp"

namespace vpnhost {

std::string trim_control_request(std::string line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
  std::size_t lead = 0;
  while (lead < line.size() && (line[lead] == ' ' || line[lead] == '\t')) ++lead;
  line.erase(0, lead);
  return line;
}

std::string ControlRequestReader::too_long_answer() {
  return "error: request longer than " + std::to_string(kMaxRequest) + " bytes\n";
}

ControlRequestReader::Result ControlRequestReader::finish_line(std::size_t end) {
  request_.resize(end);
  if (request_.size() > kMaxRequest) {
    request_.clear();
    return result_ = Result::too_long;
  }
  request_ = trim_control_request(std::move(request_));
  return result_ = Result::ready;
}

ControlRequestReader::Result ControlRequestReader::add(std::string_view bytes, bool at_end) {
  if (result_ != Result::need_more) return result_;
  const std::size_t searched = request_.size();
  request_.append(bytes);
  if (const auto nl = request_.find('\n', searched); nl != std::string::npos) return finish_line(nl);
  if (request_.size() > kMaxRequest) {
    request_.clear();
    return result_ = Result::too_long;
  }
  if (at_end) return finish_line(request_.size());
  return result_;
}

}  // namespace vpnhost
