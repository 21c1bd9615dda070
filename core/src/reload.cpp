// Live reload: read, compare, then apply (docs/operations.md "Live reload").
#include "vpnhost/reload.hpp"

#include <set>

#include <spdlog/spdlog.h>

#include "vpnhost/pipeline.hpp"
#include "vpnhost/stage_instance.hpp"

namespace vpnhost {
namespace {

using vpnsdk::Code;
using vpnsdk::Status;

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// "changing the transport from transport_tcp to transport_udp needs a restart", or "".
std::string stage_refusal(vpnsdk::Stage stage, const ResolvedStage* was, const ResolvedStage* now) {
  const std::string name = vpnsdk::stage_name(stage);
  if (was == nullptr && now == nullptr) return "";
  if (was == nullptr) return "adding a " + name + " (" + now->entry->plugin + ") needs a restart";
  if (now == nullptr) return "removing the " + name + " (" + was->entry->plugin + ") needs a restart";
  if (was->entry->plugin != now->entry->plugin)
    return "changing the " + name + " from " + was->entry->plugin + " to " + now->entry->plugin + " needs a restart";
  return "";
}

std::unique_ptr<StageInstance>* running_stage(Stages& s, vpnsdk::Stage stage) {
  switch (stage) {
    case vpnsdk::Stage::transport: return &s.transport;
    case vpnsdk::Stage::cipher: return &s.cipher;
    case vpnsdk::Stage::device: return &s.device;
    case vpnsdk::Stage::router: return &s.router;
    case vpnsdk::Stage::responder: break;
  }
  return nullptr;
}

}  // namespace

bool same_options(const vpnsdk::Options& a, const vpnsdk::Options& b) {
  const auto& x = a.entries();
  const auto& y = b.entries();
  if (x.size() != y.size()) return false;
  for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j)
    if (i->first != j->first || i->second.value != j->second.value) return false;
  return true;
}

std::vector<std::string> host_options_changed(const Manifest& a, const Manifest& b) {
  const auto schema = host_option_specs();
  const vpnsdk::Options x = build_options(schema, a.host, "[host]", a.host_where);
  const vpnsdk::Options y = build_options(schema, b.host, "[host]", b.host_where);
  std::vector<std::string> out;
  for (const auto& spec : schema)
    if (x.entries().at(spec.name).value != y.entries().at(spec.name).value) out.emplace_back(spec.name);
  return out;
}

bool host_option_is_live(const std::string& name) {
  // Everything else is either fixed at start (sockets, the packet pool,
  // plugin_path) or told to peers (keepalive and session_timeout go to every
  // client in WELCOME; existing sessions would disagree).
  static const std::set<std::string> live{"log_level",         "stats_interval", "stats_file",
                                          "handshake_timeout", "max_sessions",   "max_handshakes"};
  return live.count(name) != 0;
}

PreparedReload prepare_reload(const Configuration& running, const std::function<Manifest()>& reread,
                              PluginLoader& loader) {
  PreparedReload out;
  try {
    Manifest m = reread();
    (void)host_settings(m);  // its errors first, as at start
    // Before configure(): plugins are searched for on the running plugin_path.
    for (const auto& name : host_options_changed(running.manifest, m))
      if (name == "plugin_path") {
        out.refusal = "[host] plugin_path cannot change while running: restart to apply it";
        return out;
      }
    out.next = std::make_unique<Configuration>(configure(std::move(m), loader));
  } catch (const std::exception& e) {  // ManifestError, LoadError: file:line:col and what is wrong
    out.refusal = e.what();
    out.next.reset();
    return out;
  }
  const Configuration& next = *out.next;
  for (auto stage : {vpnsdk::Stage::transport, vpnsdk::Stage::cipher, vpnsdk::Stage::device, vpnsdk::Stage::router}) {
    if (std::string r = stage_refusal(stage, running.find(stage), next.find(stage)); !r.empty()) {
      out.refusal = r;
      out.next.reset();
      return out;
    }
  }
  std::vector<std::string> fixed;
  for (auto& name : host_options_changed(running.manifest, next.manifest))
    (host_option_is_live(name) ? out.plan.host_changes : fixed).push_back(name);
  if (!fixed.empty()) {
    out.refusal = "[host] " + joined(fixed) + " cannot change while running: restart to apply, or put back the running value";
    out.next.reset();
    return out;
  }

  // Stages whose options changed first: a refusal is likeliest there, and
  // comes before any other stage has applied anything.
  std::vector<StageReload> changed, same;
  for (auto stage : {vpnsdk::Stage::transport, vpnsdk::Stage::cipher, vpnsdk::Stage::router, vpnsdk::Stage::device}) {
    const ResolvedStage* was = running.find(stage);
    const ResolvedStage* now = next.find(stage);
    if (now == nullptr) continue;
    StageReload r{stage, now, !same_options(was->options, now->options)};
    (r.options_changed ? changed : same).push_back(r);
  }
  out.plan.stages = changed;
  out.plan.stages.insert(out.plan.stages.end(), same.begin(), same.end());

  std::vector<const ResolvedStage*> old_responders;
  for (const auto& r : running.stages)
    if (r.entry->stage == vpnsdk::Stage::responder) old_responders.push_back(&r);
  for (const auto& r : next.stages)
    if (r.entry->stage == vpnsdk::Stage::responder) out.plan.responders.push_back(&r);
  out.plan.responders_changed = old_responders.size() != out.plan.responders.size();
  for (std::size_t i = 0; !out.plan.responders_changed && i < old_responders.size(); ++i)
    out.plan.responders_changed = old_responders[i]->entry->plugin != out.plan.responders[i]->entry->plugin ||
                                  !same_options(old_responders[i]->options, out.plan.responders[i]->options);
  return out;
}

ReloadResult reload_host(const ReloadTarget& t) {
  ReloadResult res;
  auto refuse = [&](const std::string& why) {
    ++t.counters->get("host.reload_failures");
    spdlog::error("reload refused, still running the previous configuration: {}", why);
    res.status = Status::error(Code::config, why);
    return std::move(res);
  };
  if (!t.reread || t.loader == nullptr) return refuse("this host was started without a manifest to read again");

  PreparedReload prep = prepare_reload(*t.running, t.reread, *t.loader);
  if (!prep.refusal.empty()) return refuse(prep.refusal);

  // New responders are created before anything changes: one that fails to
  // start refuses the reload.
  std::vector<std::unique_ptr<StageInstance>> responders;
  try {
    for (const ResolvedStage* r : prep.plan.responders) responders.push_back(t.instantiate(*r));
  } catch (const std::exception& e) {
    return refuse(e.what());
  }

  for (const StageReload& s : prep.plan.stages) {
    StageInstance& inst = **running_stage(*t.stages, s.stage);
    const std::string who = "[" + inst.table + "] " + inst.name;
    Status st;
    try {
      st = inst.object->reload(s.next->options, s.options_changed);
    } catch (const std::exception& e) {
      st = Status::error(Code::internal, std::string("threw: ") + e.what());
    } catch (...) {
      st = Status::error(Code::internal, "threw a non-standard exception");
    }
    if (!st.ok()) return refuse(who + ": " + st.message);
  }

  // Everything accepted: apply.
  res.config = std::move(prep.next);
  const HostSettings& h = res.config->host;
  res.retired = t.pipeline->replace_responders(std::move(responders));
  if (!t.log_level_fixed) {
    const auto level = spdlog::level::from_str(h.log_level);
    spdlog::set_level(level);  // the host's registered loggers
    // Plugin loggers are unregistered clones: each gets the level itself.
    for (auto* s : {&t.stages->transport, &t.stages->cipher, &t.stages->device, &t.stages->router})
      if (*s) (*s)->context.log->set_level(level);
    for (auto& r : t.stages->responders) r->context.log->set_level(level);
  }
  SessionLimits limits = t.pipeline->limits();
  limits.handshake_timeout = std::chrono::seconds(h.handshake_timeout);
  limits.max_sessions = static_cast<std::size_t>(h.max_sessions);
  limits.max_handshakes = static_cast<std::size_t>(h.max_handshakes);
  t.pipeline->set_limits(limits);

  res.revoked = t.pipeline->end_revoked("no longer authorized");
  ++t.counters->get("host.reloads");
  std::string responders_text;
  for (const auto& r : t.stages->responders) responders_text += (responders_text.empty() ? "" : ", ") + r->name;
  res.summary = "reloaded " + res.config->manifest.file.string() + ": " + std::to_string(res.revoked) +
                " session(s) ended as no longer authorized; responders: " +
                (responders_text.empty() ? "none" : responders_text) +
                (prep.plan.host_changes.empty() ? "" : "; [host] changed: " + joined(prep.plan.host_changes)) +
                (t.log_level_fixed ? "" : "; log level " + h.log_level);
  spdlog::info("{}", res.summary);
  res.status = {};
  return res;
}

}  // namespace vpnhost
