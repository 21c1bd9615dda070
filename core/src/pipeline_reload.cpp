// Pipeline: what a live reload changes in the running pipeline.
#include "vpnhost/pipeline.hpp"

namespace vpnhost {

using vpnsdk::wire::FrameType;
namespace proto = protocol;

std::vector<std::unique_ptr<StageInstance>> Pipeline::replace_responders(
    std::vector<std::unique_ptr<StageInstance>> next) {
  std::swap(stages_.responders, next);
  responders_.clear();
  for (auto& r : stages_.responders) responders_.emplace_back(r->as<vpnsdk::Responder>(), r.get());
  return next;
}

std::size_t Pipeline::end_revoked(const std::string& why) {
  // Collected first: closing a session may change the table.
  std::vector<vpnsdk::SessionId> ids;
  for (auto& [id, s] : sessions_) {
    if (s.state == State::closing || !s.cipher) continue;
    bool revoked = false;
    guarded(*stages_.cipher, id, "revoked", [&] { revoked = s.cipher->revoked(); });
    if (revoked) ids.push_back(id);
  }
  for (vpnsdk::SessionId id : ids) {
    Session* s = find(id);
    if (s == nullptr || s->state == State::closing) continue;
    ++counters_.get("host.sessions_revoked");
    log_->info("session {} from {} ({}): {}", id, s->info.peer.to_string(),
               s->assigned ? vpnsdk::ipv4::to_string(s->assignment.address) : "no address", why);
    if (s->state == State::established)
      send_control(*s, FrameType::bye, proto::encode(proto::Bye{proto::ByeReason::shutdown, why}));
    end_session(*s, why);
  }
  return ids.size();
}

}  // namespace vpnhost
