#include "vpnhost/stage_instance.hpp"

#include "vpnsdk/cipher.hpp"
#include "vpnsdk/device.hpp"
#include "vpnsdk/responder.hpp"
#include "vpnsdk/router.hpp"
#include "vpnsdk/transport.hpp"

namespace vpnhost {
namespace {

// A clone of the host's logger (same sinks, pattern, level) named after the
// plugin. Deliberately not registered with spdlog: a plugin called "vpnhost"
// must not get (or replace) the host's own logger.
std::shared_ptr<spdlog::logger> plugin_logger(const std::string& name) {
  return spdlog::default_logger()->clone(name);
}

bool implements_stage(const vpnsdk::Plugin* p, vpnsdk::Stage s) {
  switch (s) {
    case vpnsdk::Stage::transport: return dynamic_cast<const vpnsdk::Transport*>(p) != nullptr;
    case vpnsdk::Stage::cipher: return dynamic_cast<const vpnsdk::Cipher*>(p) != nullptr;
    case vpnsdk::Stage::device: return dynamic_cast<const vpnsdk::Device*>(p) != nullptr;
    case vpnsdk::Stage::router: return dynamic_cast<const vpnsdk::Router*>(p) != nullptr;
    case vpnsdk::Stage::responder: return dynamic_cast<const vpnsdk::Responder*>(p) != nullptr;
  }
  return false;
}

}  // namespace

std::unique_ptr<StageInstance> instantiate(const ResolvedStage& stage, const std::string& base_dir,
                                           boost::asio::io_context& io, vpnsdk::PacketPool& pool,
                                           CounterRegistry& counters, const std::optional<RunAs>& run_as) {
  const auto* d = stage.plugin->descriptor;
  auto inst = std::make_unique<StageInstance>();
  inst->name = d->name;
  inst->table = stage.entry->table;
  inst->options = stage.options;
  inst->counters = std::make_unique<PrefixedCounters>(counters, inst->name);
  inst->base_dir = base_dir;
  inst->context.io = &io;
  inst->context.log = plugin_logger(inst->name);
  inst->context.options = &inst->options;
  inst->context.counters = inst->counters.get();
  inst->context.pool = &pool;
  inst->context.base_dir = inst->base_dir.c_str();
  inst->context.run_uid = planned_uid(run_as);
  inst->context.run_gid = planned_gid(run_as);

  vpnsdk::Status err;
  vpnsdk::Plugin* obj = d->create(inst->context, err);
  const std::string who = "[" + inst->table + "] " + inst->name;
  if (obj == nullptr)
    throw LoadError(who + ": " + (err.message.empty() ? "the plugin's factory failed without a message" : err.message));
  inst->object = obj;
  inst->destroy = d->destroy;
  if (!implements_stage(obj, d->stage))
    throw LoadError(who + ": the plugin's object does not implement the " + std::string(vpnsdk::stage_name(d->stage)) +
                    " interface it declares");
  return inst;
}

}  // namespace vpnhost
