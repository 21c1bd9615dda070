// A test harness for plugin authors: loads a built plugin .so the way the
// host does, gives it a HostContext (io_context, logger, options with
// defaults, counters, packet pool) and hands back the stage interface.
// Depends only on the SDK, Boost.DLL and spdlog, so out-of-tree plugin
// projects can use it in their own tests.
//
//   vpnsdk::testkit::Harness h("build/cipher_rot.so", {{"shift", std::int64_t{3}}});
//   REQUIRE(h.status().ok());
//   auto& cipher = h.get<vpnsdk::Cipher>();
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>

#include <boost/dll/shared_library.hpp>
#include <spdlog/sinks/null_sink.h>

#include "vpnsdk/sdk.hpp"

namespace vpnsdk::testkit {

class SimpleCounters final : public Counters {
 public:
  std::uint64_t& counter(std::string_view name) override { return values_[std::string(name)]; }
  std::uint64_t value(const std::string& name) const {
    auto it = values_.find(name);
    return it == values_.end() ? 0 : it->second;
  }
  const std::map<std::string, std::uint64_t>& all() const { return values_; }

 private:
  std::map<std::string, std::uint64_t> values_;
};

// Options from a descriptor's defaults, overridden by `given`.
inline Options options_from(const PluginDescriptor& d, const std::map<std::string, OptionValue>& given) {
  Options out;
  for (std::size_t i = 0; i < d.option_count; ++i) {
    const OptionSpec& s = d.options[i];
    auto it = given.find(s.name);
    if (it != given.end()) {
      out.set(s.name, {it->second, true, "test"});
    } else if (s.default_value != nullptr) {
      auto v = parse_option_text(s.type, s.default_value);
      if (!v) throw std::logic_error(std::string("bad default for option ") + s.name);
      out.set(s.name, {*v, false, ""});
    }
  }
  for (const auto& [name, value] : given)
    if (!out.has(name)) throw std::invalid_argument("option '" + name + "' is not in the plugin's schema");
  return out;
}

class Harness {
 public:
  explicit Harness(const std::filesystem::path& so, std::map<std::string, OptionValue> given = {},
                   PoolConfig pool = {}, std::string base_dir = ".", std::shared_ptr<spdlog::logger> log = nullptr)
      : lib_(so, boost::dll::load_mode::rtld_now), pool_(pool), log_(std::move(log)), base_dir_(std::move(base_dir)) {
    auto* entry = lib_.get<EntryFunction>(kEntrySymbol);
    desc_ = entry();
    if (desc_ == nullptr || desc_->abi_major != kAbiMajor) throw std::runtime_error("plugin has another SDK ABI");
    options_ = options_from(*desc_, given);
    if (!log_)
      log_ = std::make_shared<spdlog::logger>(desc_->name, std::make_shared<spdlog::sinks::null_sink_mt>());
    ctx_.io = &io_;
    ctx_.log = log_;
    ctx_.options = &options_;
    ctx_.counters = &counters_;
    ctx_.pool = &pool_;
    ctx_.base_dir = base_dir_.c_str();
    instance_ = desc_->create(ctx_, status_);
  }
  ~Harness() {
    if (instance_ != nullptr) desc_->destroy(instance_);
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  const Status& status() const { return status_; }
  const PluginDescriptor& descriptor() const { return *desc_; }
  template <class T>
  T& get() {
    T* t = dynamic_cast<T*>(instance_);
    if (t == nullptr) throw std::logic_error("plugin was not created or is not of the requested stage");
    return *t;
  }
  boost::asio::io_context& io() { return io_; }
  PacketPool& pool() { return pool_; }
  SimpleCounters& counters() { return counters_; }

  // A pooled buffer holding a copy of `bytes`.
  PacketPtr packet(std::span<const std::byte> bytes) {
    PacketPtr p = pool_.acquire();
    if (!p || !p->append(bytes)) throw std::length_error("packet does not fit the pool's buffers");
    return p;
  }

 private:
  // Destroyed in reverse order: the plugin (in ~Harness), then the
  // io_context with any handlers still queued (they may own packets), then
  // the pool and counters they pointed into, and the library last.
  boost::dll::shared_library lib_;
  const PluginDescriptor* desc_ = nullptr;
  PacketPool pool_;
  SimpleCounters counters_;
  Options options_;
  std::shared_ptr<spdlog::logger> log_;  // pass one to the constructor to capture the plugin's log
  std::string base_dir_;
  boost::asio::io_context io_;
  HostContext ctx_;
  Status status_;
  Plugin* instance_ = nullptr;
};

}  // namespace vpnsdk::testkit
