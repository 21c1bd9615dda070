#include "vpnhost/host.hpp"

#include <unistd.h>

#include <array>
#include <csignal>
#include <ctime>
#include <filesystem>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "vpnhost/control_socket.hpp"
#include "vpnhost/counters.hpp"
#include "vpnhost/metrics_http.hpp"
#include "vpnhost/ops.hpp"
#include "vpnhost/pipeline.hpp"
#include "vpnhost/privileges.hpp"
#include "vpnhost/reload.hpp"
#include "vpnhost/service_notify.hpp"

namespace vpnhost {
namespace {

class Host {
 public:
  Host(const Configuration& cfg, const RunOptions& opts)
      : cfg_(&cfg),
        opts_(opts),
        stats_file_(opts.stats_file.empty() ? cfg.host.stats_file : opts.stats_file),
        stdin_eof_exits_(opts.stdin_eof_exits || cfg.host.stdin_eof_exits),
        // An eighth of the buffers is the control reserve (KEEPALIVE, BYE, WELCOME,
        // handshake messages; docs/limits.md, "Packet buffers").
        pool_(vpnsdk::PoolConfig{128, 9216, 64, static_cast<std::size_t>(cfg.host.packet_buffers),
                                 static_cast<std::size_t>(cfg.host.packet_buffers) / 8}),
        signals_(io_),
        stats_timer_(io_),
        notify_timer_(io_) {}

  int run() {
    // Registered before anything starts: a signal during start-up (an
    // up-script's, systemd's reload) is queued and handled once the loop
    // runs, instead of killing the process half-started.
    catch_signals();
    if (cfg_->host.run_as)
      if (std::string why = can_become(*cfg_->host.run_as); !why.empty()) {
        spdlog::error("cannot start: {}", why);
        return 1;
      }
    if (!create_stages()) return 1;
    SessionLimits limits;
    limits.keepalive = std::chrono::seconds(cfg_->host.keepalive);
    limits.session_timeout = std::chrono::seconds(cfg_->host.session_timeout);
    limits.handshake_timeout = std::chrono::seconds(cfg_->host.handshake_timeout);
    limits.max_sessions = static_cast<std::size_t>(cfg_->host.max_sessions);
    limits.max_handshakes = static_cast<std::size_t>(cfg_->host.max_handshakes);
    limits.reconnect = cfg_->host.reconnect;
    limits.reconnect_min = std::chrono::milliseconds(cfg_->host.reconnect_min);
    limits.reconnect_max = std::chrono::milliseconds(cfg_->host.reconnect_max);
    limits.exit_on_server_bye = cfg_->host.exit_on_server_bye;
    limits.mtu = static_cast<std::uint16_t>(cfg_->host.mtu);
    limits.mss_clamp = cfg_->host.mss_clamp;
    pipeline_ = std::make_unique<Pipeline>(io_, pool_, counters_, stages_, limits);
    pipeline_->on_finished = [this](int code) {
      notifier_.stopping();
      exit_code_ = code;
      io_.stop();
    };
    if (!start_ops()) return 1;
    if (auto st = pipeline_->start(); !st.ok()) {
      spdlog::error("cannot start: {}", st.message);
      return 1;
    }
    // Setup is done: sockets bound, the TUN device open, the hub's own
    // address, routes and nft in place. What follows runs without root.
    if (!drop_setup_privileges()) return 1;
    watch_signals();
    if (stdin_eof_exits_) watch_stdin();
    if (cfg_->host.stats_interval > 0) arm_stats();
    spdlog::info("vpnhost {} running ({})", VPNHOST_VERSION, cfg_->manifest.file.string());
    notify_tick();
    run_loop();
    stop_ops();
    dump_stats(true);
    return exit_code_;
  }

  ~Host() {
    pipeline_.reset();
    // Plugin objects go before the io_context (their handlers may still be
    // queued in it); the libraries outlive both (owned by the loader).
    stages_.transport.reset();
    stages_.device.reset();
    stages_.cipher.reset();
    stages_.responders.clear();
    retired_.clear();
    stages_.router.reset();
  }

 private:
  bool create_stages() {
    const std::string base = cfg_->manifest.base_dir.string();
    try {
      // Construction order: router, responders, cipher, device, transport.
      for (auto stage : {vpnsdk::Stage::router, vpnsdk::Stage::responder, vpnsdk::Stage::cipher,
                         vpnsdk::Stage::device, vpnsdk::Stage::transport}) {
        for (const auto& r : cfg_->stages) {
          if (r.entry->stage != stage) continue;
          auto inst = instantiate(r, base, io_, pool_, counters_, cfg_->host.run_as);
          switch (stage) {
            case vpnsdk::Stage::router: stages_.router = std::move(inst); break;
            case vpnsdk::Stage::responder: stages_.responders.push_back(std::move(inst)); break;
            case vpnsdk::Stage::cipher: stages_.cipher = std::move(inst); break;
            case vpnsdk::Stage::device: stages_.device = std::move(inst); break;
            case vpnsdk::Stage::transport: stages_.transport = std::move(inst); break;
          }
        }
      }
    } catch (const std::exception& e) {
      spdlog::error("cannot start: {}", e.what());
      return false;
    }
    return true;
  }

  bool drop_setup_privileges() {
    std::string summary;
    if (std::string err = drop_privileges(cfg_->host.run_as, summary); !err.empty()) {
      spdlog::error("cannot start: cannot drop privileges: {}", err);
      return false;
    }
    spdlog::info("{}", summary);
    return true;
  }

  // An exception escaping a handler (a plugin that did not catch) must not
  // end the process: log it and keep the loop running.
  void run_loop() {
    for (;;) {
      try {
        io_.run();
        return;
      } catch (const std::exception& e) {
        ++counters_.get("host.loop_exceptions");
        spdlog::error("unhandled exception in the event loop: {}", e.what());
      } catch (...) {
        ++counters_.get("host.loop_exceptions");
        spdlog::error("unhandled non-standard exception in the event loop");
      }
    }
  }

  // Operations: the control socket (`vpnhost status`) and the metrics
  // endpoint. A control socket the manifest names must work; the default one
  // is best effort (e.g. not root, or another host with the same manifest
  // name already has it).
  bool start_ops() {
    const auto& h = cfg_->host;
    if (!h.control_socket.empty()) {
      control_ = std::make_unique<ControlServer>(io_, [this](const std::string& request) { return control(request); });
      try {
        control_->open(h.control_socket);
        spdlog::info("control socket {} (vpnhost status)", h.control_socket);
      } catch (const ControlError& e) {
        control_.reset();
        if (h.control_socket_explicit) {
          spdlog::error("cannot start: {}", e.what());
          return false;
        }
        spdlog::warn("{}; `vpnhost status` is not available (set [host] control_socket to choose a path, \"\" for none)",
                     e.what());
      }
    }
    if (!h.metrics.empty()) {
      metrics_ = std::make_unique<MetricsServer>(io_, [this] { return render_metrics(snapshot()); });
      try {
        metrics_->open(h.metrics_host, h.metrics_port);
        spdlog::info("metrics at http://{}/metrics", h.metrics);
        boost::system::error_code ec;
        if (!boost::asio::ip::make_address(h.metrics_host, ec).is_loopback())
          spdlog::warn("metrics on {} are reachable beyond this machine without authentication and name every "
                       "authorized client and whether it is online; bind loopback (metrics = \"{}\") unless "
                       "this is a management network",
                       h.metrics, h.metrics_port);
      } catch (const std::exception& e) {
        spdlog::error("cannot start: {}", e.what());
        return false;
      }
    }
    return true;
  }

  void stop_ops() {
    if (control_) control_->close();
    if (metrics_) metrics_->close();
  }

  std::string control(const std::string& request) {
    if (request == "status" || request == "status json") return render_status_json(snapshot());
    if (request == "status text") return render_status_table(snapshot());
    if (request == "metrics") return render_metrics(snapshot());
    if (request == "reload") {
      const vpnsdk::Status st = reload_now();
      std::string text = st.ok() ? "ok: " + reload_summary_ : "error: " + st.message;
      for (char& c : text)
        if (c == '\n') c = ' ';
      return text + "\n";
    }
    return "error: unknown request '" + request + "'; known: status, status json, status text, metrics, reload\n";
  }

  StatusSnapshot snapshot() {
    StatusSnapshot s;
    s.version = VPNHOST_VERSION;
    std::error_code ec;
    const auto abs = std::filesystem::absolute(cfg_->manifest.file, ec);
    s.manifest = ec ? cfg_->manifest.file.string() : abs.lexically_normal().string();
    s.pid = static_cast<long>(::getpid());
    s.uptime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    s.now = static_cast<std::int64_t>(std::time(nullptr));
    // Pipeline order: transport, cipher, router, device, responders.
    for (auto stage : {vpnsdk::Stage::transport, vpnsdk::Stage::cipher, vpnsdk::Stage::router, vpnsdk::Stage::device,
                       vpnsdk::Stage::responder})
      for (const auto& r : cfg_->stages)
        if (r.entry->stage == stage) s.stages.push_back({vpnsdk::stage_name(stage), r.entry->table, r.entry->plugin});
    if (pipeline_) s.sessions = pipeline_->session_snapshots();
    s.counters = counters_.snapshot();
    return s;
  }

  void catch_signals() {
    signals_.add(SIGINT);
    signals_.add(SIGTERM);
    signals_.add(SIGUSR1);
    signals_.add(SIGHUP);
  }

  void watch_signals() { wait_signal(); }

  void wait_signal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGUSR1) {
        dump_stats(false);
      } else if (sig == SIGHUP) {
        reload_now();  // the outcome is logged
      } else {
        notifier_.stopping();
        pipeline_->shutdown(0, sig == SIGINT ? "SIGINT" : "SIGTERM");
      }
      wait_signal();
    });
  }

  // The one entry point of a live reload (SIGHUP and `vpnhost reload`).
  vpnsdk::Status reload_now() {
    // Under systemd: RELOADING=1 now, READY=1 when done, also after a
    // refusal (the previous configuration runs on).
    notifier_.reloading();
    const vpnsdk::Status st = reload();
    notifier_.reload_done(st.ok() ? "reloaded" : "reload refused: " + st.message);
    return st;
  }

  vpnsdk::Status reload() {
    if (!pipeline_) return vpnsdk::Status::error(vpnsdk::Code::internal, "not running yet");
    ReloadTarget t;
    t.running = cfg_;
    t.stages = &stages_;
    t.pipeline = pipeline_.get();
    t.counters = &counters_;
    t.loader = opts_.loader;
    t.reread = opts_.reread_manifest;
    t.instantiate = [this](const ResolvedStage& r) {
      return instantiate(r, cfg_->manifest.base_dir.string(), io_, pool_, counters_, cfg_->host.run_as);
    };
    t.log_level_fixed = opts_.log_level_fixed;
    retired_.clear();  // the previous reload's responders: long out of use
    ReloadResult r = reload_host(t);
    if (!r.status.ok()) return r.status;
    retired_ = std::move(r.retired);
    reloaded_ = std::move(r.config);
    cfg_ = reloaded_.get();
    reload_summary_ = r.summary;
    stats_file_ = opts_.stats_file.empty() ? cfg_->host.stats_file : opts_.stats_file;
    stats_timer_.cancel();
    if (cfg_->host.stats_interval > 0) arm_stats();
    return r.status;
  }

  void watch_stdin() {
    int fd = ::dup(STDIN_FILENO);
    boost::system::error_code ec;
    stdin_ = std::make_unique<boost::asio::posix::stream_descriptor>(io_);
    stdin_->assign(fd, ec);
    if (ec) {
      spdlog::warn("cannot watch standard input ({}); --stdin-eof-exits is off", ec.message());
      return;
    }
    read_stdin();
  }

  void read_stdin() {
    stdin_->async_read_some(boost::asio::buffer(stdin_buf_), [this](const boost::system::error_code& ec, std::size_t) {
      if (ec == boost::asio::error::operation_aborted) return;
      if (ec) {  // EOF, or an input that cannot be polled (a regular file): both mean "no more input"
        pipeline_->shutdown(0, "end of standard input");
        return;
      }
      read_stdin();
    });
  }

  // Under systemd (NOTIFY_SOCKET): READY=1 once this host has its tunnel
  // address (the router's local()): a server at once, after it listens; a
  // client once the hub welcomed it and its device is up. Then STATUS=
  // (address, sessions) every few seconds while it changes.
  void notify_tick() {
    if (!notifier_.enabled()) return;
    const auto self = own_address();
    std::size_t established = 0;
    const auto sessions = pipeline_->session_snapshots();
    for (const auto& s : sessions) established += s.state == "established" ? 1 : 0;
    const std::string text = fmt::format("{}; {} session{} ({} established)",
                                         self ? "tunnel address " + vpnsdk::ipv4::to_string(self->address) + "/" +
                                                    std::to_string(self->prefix_len)
                                              : std::string("waiting for a tunnel address"),
                                         sessions.size(), sessions.size() == 1 ? "" : "s", established);
    if (notifier_.is_ready()) {
      notifier_.status(text);
    } else if (self) {
      notifier_.ready(text);
    } else {
      notifier_.status(text);
    }
    notify_timer_.expires_after(notifier_.is_ready() ? std::chrono::seconds(5) : std::chrono::milliseconds(200));
    notify_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) notify_tick();
    });
  }

  std::optional<vpnsdk::Assignment> own_address() {
    auto* router = stages_.router ? stages_.router->as<vpnsdk::Router>() : nullptr;
    if (router == nullptr) return std::nullopt;
    try {
      return router->local();
    } catch (const std::exception& e) {
      spdlog::debug("[{}] threw in local(): {}", stages_.router->name, e.what());
    } catch (...) {
    }
    return std::nullopt;
  }

  void arm_stats() {
    stats_timer_.expires_after(std::chrono::seconds(cfg_->host.stats_interval));
    stats_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      dump_stats(false);
      arm_stats();
    });
  }

  void dump_stats(bool at_exit) {
    const std::string text = pipeline_ ? pipeline_->stats_text() : counters_.render();
    if (!stats_file_.empty()) {
      std::string err;
      if (!write_file_atomically(stats_file_, text, &err)) spdlog::warn("stats file: {}", err);
    }
    if (at_exit || stats_file_.empty()) {
      spdlog::info("counters{}:", at_exit ? " at exit" : "");
      std::size_t start = 0;
      while (start < text.size()) {
        std::size_t nl = text.find('\n', start);
        if (nl == std::string::npos) nl = text.size();
        spdlog::info("  {}", std::string_view(text).substr(start, nl - start));
        start = nl + 1;
      }
    }
  }

  const Configuration* cfg_;  // the manifest given at start, or the last one reloaded
  std::unique_ptr<Configuration> reloaded_;
  RunOptions opts_;
  std::string reload_summary_;
  std::string stats_file_;
  bool stdin_eof_exits_;
  // Order matters: the pool outlives the io_context (queued handlers may
  // own packets), the io_context outlives the plugin objects.
  vpnsdk::PacketPool pool_;
  CounterRegistry counters_;
  boost::asio::io_context io_;
  boost::asio::signal_set signals_;
  boost::asio::steady_timer stats_timer_;
  boost::asio::steady_timer notify_timer_;
  ServiceNotifier notifier_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> stdin_;
  std::array<char, 512> stdin_buf_{};
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::unique_ptr<ControlServer> control_;  // after io_: closed before it
  std::unique_ptr<MetricsServer> metrics_;
  Stages stages_;
  std::vector<std::unique_ptr<StageInstance>> retired_;  // responders the last reload replaced
  std::unique_ptr<Pipeline> pipeline_;
  int exit_code_ = 0;
};

}  // namespace

int run_host(const Configuration& config, const RunOptions& options) {
  Host host(config, options);
  return host.run();
}

}  // namespace vpnhost

namespace vpnhost {
void instantiate_all(const Configuration& config) {
  vpnsdk::PacketPool pool(vpnsdk::PoolConfig{128, 9216, 64, 64});
  CounterRegistry counters;
  boost::asio::io_context io;
  std::vector<std::unique_ptr<StageInstance>> made;
  for (const auto& r : config.stages) made.push_back(instantiate(r, config.manifest.base_dir.string(), io, pool, counters, config.host.run_as));
}

void instantiate_all(const Configuration& config, Diagnostics& diag) {
  vpnsdk::PacketPool pool(vpnsdk::PoolConfig{128, 9216, 64, 64});
  CounterRegistry counters;
  boost::asio::io_context io;
  std::vector<std::unique_ptr<StageInstance>> made;
  for (const auto& r : config.stages) {
    try {
      made.push_back(instantiate(r, config.manifest.base_dir.string(), io, pool, counters, config.host.run_as));
    } catch (const std::exception& e) {
      std::string what = e.what();
      std::string where = r.entry->where.str();
      // "[cipher] cipher_xor: option key_file at m.manifest:16:1: cannot read ...":
      // at the option's position, without repeating it in the message.
      // (Or "option NAME (WHERE): ", as cipher_noise writes it.)
      bool placed = false;
      for (const auto& [name, entry] : r.options.entries()) {
        if (entry.where.empty()) continue;
        for (const std::string& mark : {"option " + name + " at " + entry.where + ": ",
                                        "option " + name + " (" + entry.where + "): "}) {
          if (const auto at = what.find(mark); at != std::string::npos) {
            what.replace(at, mark.size(), "option " + name + ": ");
            where = entry.where;
            placed = true;
            break;
          }
        }
        if (placed) break;
      }
      diag.add(ManifestError::at(where, what));
    }
  }
}
}  // namespace vpnhost
