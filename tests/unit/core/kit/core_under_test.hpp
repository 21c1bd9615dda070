// The core under test, built from stages (fakes, or plugins made from
// their .so) and SessionLimits: what a test may ask of the core, in one
// place. This is the only file of the tests that names vpnhost::Pipeline:
// when the core is split into its parts (issue 17) this helper changes,
// the tests do not.
//
// The core's clock cannot be faked: it reads std::chrono::steady_clock and
// checks its timers once a second on real steady_timers. Tests of timeouts
// set small SessionLimits and wait with run_until(), a poll with a deadline.
#pragma once
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "vpnhost/pipeline.hpp"

namespace coretest {

class CoreUnderTest {
 public:
  explicit CoreUnderTest(vpnsdk::PoolConfig pool_config = {}) : pool(pool_config) {}
  ~CoreUnderTest() { teardown(); }
  CoreUnderTest(const CoreUnderTest&) = delete;
  CoreUnderTest& operator=(const CoreUnderTest&) = delete;

  // Destroyed last to first: the stages' objects before the io_context
  // (its queued handlers may own packets), and that before the pool.
  vpnsdk::PacketPool pool;
  vpnhost::CounterRegistry counters;
  boost::asio::io_context io;
  vpnhost::Stages stages;  // filled in before build()

  // Set by the core when it has finished (shutdown, a lasting refusal, ...).
  bool finished = false;
  int exit_code = -1;

  // Builds the core on `stages`; it reads them now.
  void build(const vpnhost::SessionLimits& limits) {
    core_ = std::make_unique<vpnhost::Pipeline>(io, pool, counters, stages, limits);
    core_->on_finished = [this](int code) {
      finished = true;
      exit_code = code;
    };
  }
  // The core first, then the stages it points into.
  void teardown() {
    core_.reset();
    stages = {};
  }
  vpnsdk::Status start() { return core_->start(); }
  void shutdown(int code, const std::string& why) { core_->shutdown(code, why); }

  std::size_t session_count() const { return core_->session_count(); }
  std::vector<vpnhost::SessionSnapshot> sessions() const { return core_->session_snapshots(); }
  std::optional<vpnhost::SessionSnapshot> session(vpnsdk::SessionId id) const {
    for (auto& s : sessions())
      if (s.id == id) return s;
    return std::nullopt;
  }
  std::string stats_text() { return core_->stats_text(); }

  // Live reload.
  const vpnhost::SessionLimits& limits() const { return core_->limits(); }
  void set_limits(const vpnhost::SessionLimits& l) { core_->set_limits(l); }
  std::vector<std::unique_ptr<vpnhost::StageInstance>> replace_responders(
      std::vector<std::unique_ptr<vpnhost::StageInstance>> next) {
    return core_->replace_responders(std::move(next));
  }
  std::size_t end_revoked(const std::string& why) { return core_->end_revoked(why); }
  // For vpnhost::reload_host(), which takes the core itself.
  vpnhost::Pipeline* reload_target() { return core_.get(); }

  // Runs what is ready now (e.g. closed() a transport posted).
  void poll() {
    io.restart();
    io.poll();
  }
  // Runs the event loop until `done()` holds or `limit` has passed; false on timeout.
  template <class Pred>
  bool run_until(Pred done, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io.restart();
      if (io.run_one_for(std::chrono::milliseconds(5)) == 0) std::this_thread::yield();
    }
    return true;
  }

 private:
  std::unique_ptr<vpnhost::Pipeline> core_;
};

}  // namespace coretest
