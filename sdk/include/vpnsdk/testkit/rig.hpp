// A test rig for plugins that need more than one instance at a time (a
// transport's server and client, two ends of a cipher): loads the .so once
// and creates any number of instances that share ONE io_context and ONE
// packet pool, as they do in the host. Each instance has its own options,
// counters and logger.
//
//   vpnsdk::testkit::PluginRig rig("build/transport_udp_demo.so");
//   auto& server = rig.create({{"listen", std::string("127.0.0.1")}, {"port", std::int64_t{port}}});
//   REQUIRE(server.status.ok());
//   server.get<vpnsdk::Transport>().start(sink);
//   rig.run_until([&] { return sink.opened; });
#pragma once
#include <chrono>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>

#include <boost/dll/shared_library.hpp>
#include <spdlog/sinks/null_sink.h>

#include "vpnsdk/sdk.hpp"
#include "vpnsdk/testkit/harness.hpp"

namespace vpnsdk::testkit {

class PluginRig {
 public:
  struct Instance {
    Options options;
    SimpleCounters counters;
    HostContext ctx;
    Status status;              // what create() said
    Plugin* plugin = nullptr;   // nullptr when create() failed or after destroy()

    template <class T>
    T& get() {
      T* t = dynamic_cast<T*>(plugin);
      if (t == nullptr) throw std::logic_error("plugin was not created or is not of the requested stage");
      return *t;
    }
  };

  explicit PluginRig(const std::filesystem::path& so, PoolConfig pool = {},
                     std::shared_ptr<spdlog::logger> log = nullptr)
      : lib_(so, boost::dll::load_mode::rtld_now), pool_(pool), log_(std::move(log)) {
    desc_ = lib_.get<EntryFunction>(kEntrySymbol)();
    if (desc_ == nullptr || desc_->abi_major != kAbiMajor || desc_->abi_minor > kAbiMinor)
      throw std::runtime_error(so.string() + ": plugin has another SDK ABI");
    if (desc_->toolchain == nullptr || std::string(desc_->toolchain) != kToolchainId)
      throw std::runtime_error(so.string() + " was built with '" + (desc_->toolchain ? desc_->toolchain : "?") +
                               "', these tests with '" + kToolchainId + "'");
    if (!log_) log_ = std::make_shared<spdlog::logger>(desc_->name, std::make_shared<spdlog::sinks::null_sink_mt>());
  }
  // Plugins first, then pool/io_context, then the library.
  ~PluginRig() {
    for (auto& i : instances_) destroy(i);
  }
  PluginRig(const PluginRig&) = delete;
  PluginRig& operator=(const PluginRig&) = delete;

  // A new instance with the descriptor's defaults overridden by `given`;
  // check its `status` (a ConfigError from the constructor lands there).
  Instance& create(const std::map<std::string, OptionValue>& given = {}) {
    Instance& i = instances_.emplace_back();
    i.options = options_from(*desc_, given);
    i.ctx.io = &io_;
    i.ctx.log = log_;
    i.ctx.options = &i.options;
    i.ctx.counters = &i.counters;
    i.ctx.pool = &pool_;
    i.ctx.base_dir = ".";
    i.plugin = desc_->create(i.ctx, i.status);
    return i;
  }
  void destroy(Instance& i) {
    if (i.plugin != nullptr) desc_->destroy(i.plugin);
    i.plugin = nullptr;
  }

  const PluginDescriptor& descriptor() const { return *desc_; }
  boost::asio::io_context& io() { return io_; }
  PacketPool& pool() { return pool_; }

  // A pooled buffer holding a copy of `bytes`.
  PacketPtr packet(std::span<const std::byte> bytes) {
    PacketPtr p = pool_.acquire();
    if (!p || !p->append(bytes)) throw std::length_error("packet does not fit the pool's buffers");
    return p;
  }

  // Runs handlers until pred() holds or `limit` passes; true if it held.
  template <class Pred>
  bool run_until(Pred pred, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(10));
    }
    return true;
  }
  // Runs handlers for a fixed time (to see that nothing else happens).
  void run_for(std::chrono::milliseconds d) {
    run_until([] { return false; }, d);
  }
  // Runs what is ready now, without waiting.
  void poll() {
    io_.restart();
    io_.poll();
  }

 private:
  // Destroyed in reverse order: the io_context (and the handlers still
  // queued in it, which may own packets) before the instances' counters and
  // the pool, and the library last.
  boost::dll::shared_library lib_;
  const PluginDescriptor* desc_ = nullptr;
  PacketPool pool_;
  std::shared_ptr<spdlog::logger> log_;
  std::list<Instance> instances_;  // stable addresses
  boost::asio::io_context io_;
};

}  // namespace vpnsdk::testkit
