// device_tun: a Linux TUN interface as the device stage.
//
// start() creates a non-persistent TUN device (it vanishes when its fd is
// closed, so stop() or an exit removes it) and configures it with ioctls.
// Reading: wait for readability on the host's io_context, then read up to
// kBatch packets into pool buffers until EAGAIN and hand them over as one
// batch. Writing never blocks: a packet the kernel will not take now is
// dropped and counted.
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host_setup.hpp"
#include "tun_config.hpp"
#include "tun_kernel.hpp"
#include "vpnsdk/asio.hpp"
#include "vpnsdk/sdk.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace device_tun {
namespace {

using vpnsdk::Code;
using vpnsdk::Status;

constexpr std::size_t kBatch = 64;
constexpr std::size_t kMaxPacket = 65535;

class DeviceTun final : public vpnsdk::Device {
 public:
  explicit DeviceTun(const vpnsdk::HostContext& ctx)
      : log_(ctx.log),
        io_(*ctx.io),
        pool_(*ctx.pool),
        cfg_(config_of(ctx)),
        setup_(cfg_, *ctx.io, ctx.log, *ctx.counters),
        tun_(*ctx.io),
        packets_in_(ctx.counters->counter("packets_in")),
        packets_out_(ctx.counters->counter("packets_out")),
        bytes_in_(ctx.counters->counter("bytes_in")),
        bytes_out_(ctx.counters->counter("bytes_out")),
        write_drops_(ctx.counters->counter("write_drops")),
        write_errors_(ctx.counters->counter("write_errors")),
        read_errors_(ctx.counters->counter("read_errors")),
        read_oversize_(ctx.counters->counter("read_oversize")),
        pool_exhausted_(ctx.counters->counter("pool_exhausted")) {
    // The kill switch goes up when the host starts running (its first
    // handler, before any connection completes): never at construction,
    // which `vpnhost check` does too without running anything.
    if (setup_.kill_switch_wanted()) {
      std::weak_ptr<int> life = life_;
      boost::asio::post(io_, [this, life] {
        if (!life.expired()) setup_.kill_switch_early();
      });
    }
  }

  ~DeviceTun() override {
    stop();
    if (tun_node_ >= 0) ::close(tun_node_);
  }

  static TunConfig config_of(const vpnsdk::HostContext& ctx) {
    TunConfig c = parse_tun_config(*ctx.options, ctx.base_dir != nullptr ? ctx.base_dir : "");
    c.run_uid = vpnsdk::run_uid_of(ctx);
    c.run_gid = vpnsdk::run_gid_of(ctx);
    // The state file is first written once setup is over (a client's, after
    // the hub's WELCOME): its directory must be ready for that user now,
    // while this process may still create and hand it over.
    if (c.run_uid != ::geteuid() && (!c.masquerade.empty() || c.routing()))
      if (std::string err = prepare_state_dir(c.state_dir, c.run_uid, c.run_gid); !err.empty())
        throw vpnsdk::ConfigError("option state_dir: " + err);
    return c;
  }

  Status start(vpnsdk::DeviceSink& sink, const vpnsdk::Assignment& self) override {
    try {
      const std::uint16_t mtu = cfg_.mtu != 0 ? cfg_.mtu : self.mtu;
      if (mtu < 68 || mtu > pool_.config().payload)
        return Status::error(Code::config, "MTU " + std::to_string(mtu) +
                                               " does not fit the packet buffers (68.." +
                                               std::to_string(pool_.config().payload) + ")");
      if (tun_.is_open()) return reconfigure(sink, self, mtu);

      int fd = -1;
      std::string ifname;
      if (auto s = create_tun(cfg_.name, fd, ifname, tun_node_); !s) return s;
      boost::system::error_code ec;
      tun_.assign(fd, ec);
      if (ec) {
        ::close(fd);
        return Status::error(Code::io, "cannot watch TUN device '" + ifname + "': " + ec.message());
      }
      ifname_ = ifname;
      if (!disable_ipv6(ifname_) && log_) log_->debug("TUN {}: could not turn IPv6 off", ifname_);
      if (auto s = configure_tun(ifname_, self, mtu, cfg_.txqueuelen); !s) {
        close_device();
        return s;
      }
      if (auto s = setup_.apply(ifname_, self, mtu); !s) {
        close_device();
        return s;
      }
      current_ = self;
      current_mtu_ = mtu;
      scratch_.resize(kMaxPacket);
      batch_.reserve(kBatch);
      sink_ = &sink;
      failed_ = false;
      alive_ = std::make_shared<int>(0);
      arm();
      if (log_)
        log_->info("TUN {} up: {}/{} mtu {}", ifname_, vpnsdk::ipv4::to_string(self.address), self.prefix_len, mtu);
      return {};
    } catch (const std::exception& e) {
      setup_.undo();
      close_device();
      return Status::error(Code::internal, std::string("start failed: ") + e.what());
    } catch (...) {
      setup_.undo();
      close_device();
      return Status::error(Code::internal, "start failed");
    }
  }

  Status write(vpnsdk::Batch packets) override {
    if (!tun_.is_open()) return Status::error(Code::drop_no_route, "the TUN device is not started");
    const int fd = tun_.native_handle();
    std::size_t dropped = 0, errors = 0;
    int last_errno = 0;
    for (auto& p : packets) {
      if (!p || p->empty()) continue;
      ssize_t n;
      do n = ::write(fd, p->data(), p->size());
      while (n < 0 && errno == EINTR);
      if (n >= 0) {
        ++packets_out_;
        bytes_out_ += p->size();
      } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        ++write_drops_;
        ++dropped;
      } else {
        last_errno = errno;
        ++write_errors_;
        ++errors;
      }
    }
    if (errors != 0)
      return Status::error(Code::io, std::to_string(errors) + " packet(s) not written to TUN " + ifname_ + ": " +
                                         std::strerror(last_errno));
    if (dropped != 0)
      return Status::error(Code::drop_overflow,
                           std::to_string(dropped) + " packet(s) dropped: TUN " + ifname_ + " is busy");
    return {};
  }

  // The down script runs while the interface still exists; then routes,
  // NAT and forwarding are restored and the interface goes.
  void stop() override {
    if (tun_.is_open()) {
      setup_.undo();
      if (log_) log_->info("TUN {} removed", ifname_);
      close_device();
    }
    setup_.kill_switch_off();  // a clean exit; a crash leaves it in place
  }

 private:
  // start() again: the host reconnected. The same assignment keeps the
  // interface and what is set up around it (routes follow the server's
  // address; fallback's routes come back). A new one: what was set up for
  // the old one is undone (down script included) and made again.
  Status reconfigure(vpnsdk::DeviceSink& sink, const vpnsdk::Assignment& self, std::uint16_t mtu) {
    if (same_assignment(self, mtu)) {
      sink_ = &sink;
      if (auto s = setup_.resume(); !s) return s;
      if (log_) log_->info("TUN {} kept: {}/{} again", ifname_, vpnsdk::ipv4::to_string(self.address), self.prefix_len);
      return {};
    }
    setup_.undo();
    current_.reset();
    if (auto s = configure_tun(ifname_, self, mtu, cfg_.txqueuelen); !s) return s;
    if (auto s = setup_.apply(ifname_, self, mtu); !s) return s;
    current_ = self;
    current_mtu_ = mtu;
    sink_ = &sink;
    if (log_)
      log_->info("TUN {} reconfigured: {}/{} mtu {}", ifname_, vpnsdk::ipv4::to_string(self.address),
                 self.prefix_len, mtu);
    return {};
  }

  bool same_assignment(const vpnsdk::Assignment& a, std::uint16_t mtu) const {
    return current_ && current_->address == a.address && current_->prefix_len == a.prefix_len &&
           current_->server == a.server && current_->dns == a.dns && current_mtu_ == mtu;
  }

  void close_device() noexcept {
    current_.reset();
    alive_.reset();  // pending handlers see this and do nothing
    boost::system::error_code ignored;
    tun_.close(ignored);  // the fd goes, and with it the interface
  }

  void arm() {
    std::weak_ptr<int> alive = alive_;
    tun_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                    [this, alive](const boost::system::error_code& ec) {
                      if (alive.expired()) return;  // stopped (or restarted) meanwhile
                      if (ec) {
                        if (ec != boost::asio::error::operation_aborted)
                          fail(Status::error(Code::io, "waiting on TUN " + ifname_ + " failed: " + ec.message()));
                        return;
                      }
                      drain();
                    });
  }

  // Reads one batch, hands it over, then waits again (EAGAIN seen) or
  // yields to other handlers and goes on (the batch was full).
  void drain() noexcept {
    try {
      std::weak_ptr<int> alive = alive_;
      const bool more = read_batch();
      if (!batch_.empty() && !failed_) sink_->from_device(vpnsdk::Batch(batch_.data(), batch_.size()));
      batch_.clear();
      if (alive.expired() || failed_) return;
      if (more)
        boost::asio::post(io_, [this, alive] {
          if (!alive.expired()) drain();
        });
      else
        arm();
    } catch (const std::exception& e) {
      batch_.clear();
      fail(Status::error(Code::internal, std::string("read loop failed: ") + e.what()));
    } catch (...) {
      batch_.clear();
      fail(Status::error(Code::internal, "read loop failed"));
    }
  }

  // True if it stopped because the batch is full (more may be waiting).
  bool read_batch() {
    const int fd = tun_.native_handle();
    const std::size_t payload = pool_.config().payload;
    for (std::size_t reads = 0; reads < kBatch; ++reads) {
      vpnsdk::PacketPtr p = pool_.acquire();
      std::byte* into = p ? p->data() : scratch_.data();
      const std::size_t room = p ? payload : scratch_.size();
      const ssize_t n = ::read(fd, into, room);
      if (n < 0) {
        if (errno == EINTR) {
          --reads;
          continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
        const int err = errno;
        ++read_errors_;
        fail(Status::error(Code::io, "reading TUN " + ifname_ + " failed: " + std::strerror(err)));
        return false;
      }
      if (n == 0) return false;
      if (!p) {
        ++pool_exhausted_;  // no buffer: the packet is read and dropped
        continue;
      }
      if (static_cast<std::size_t>(n) > room) {
        ++read_oversize_;  // the kernel cut it to fit the buffer
        continue;
      }
      p->put(static_cast<std::size_t>(n));
      ++packets_in_;
      bytes_in_ += static_cast<std::uint64_t>(n);
      batch_.push_back(std::move(p));
    }
    return true;
  }

  void fail(const Status& why) noexcept {
    if (failed_) return;
    failed_ = true;
    if (log_) log_->error("{}", why.message);
    if (sink_ != nullptr) sink_->device_failed(why);
  }

  std::shared_ptr<spdlog::logger> log_;
  boost::asio::io_context& io_;
  vpnsdk::PacketPool& pool_;
  TunConfig cfg_;
  // OpenVPN's persist-tun: a client creates its TUN device on the hub's
  // WELCOME, after the host dropped root, when /dev/net/tun may no longer
  // open (mode 0600 on some systems); it is opened while it still does.
  int tun_node_ = cfg_.run_uid != ::geteuid() ? open_tun_node() : -1;
  HostSetup setup_;  // after cfg_ (refers to it)
  boost::asio::posix::stream_descriptor tun_;
  std::string ifname_;
  std::optional<vpnsdk::Assignment> current_;  // what the interface is configured for
  std::uint16_t current_mtu_ = 0;
  vpnsdk::DeviceSink* sink_ = nullptr;
  bool failed_ = false;
  std::shared_ptr<int> alive_;  // one per start(); handlers hold a weak_ptr
  std::shared_ptr<int> life_ = std::make_shared<int>(0);  // this object's lifetime, for posted handlers
  std::vector<vpnsdk::PacketPtr> batch_;
  std::vector<std::byte> scratch_;  // where a packet goes when the pool is empty
  std::uint64_t& packets_in_;
  std::uint64_t& packets_out_;
  std::uint64_t& bytes_in_;
  std::uint64_t& bytes_out_;
  std::uint64_t& write_drops_;
  std::uint64_t& write_errors_;
  std::uint64_t& read_errors_;
  std::uint64_t& read_oversize_;
  std::uint64_t& pool_exhausted_;
};

constexpr std::array<vpnsdk::OptionSpec, 17> kOptions{{
    {"name", vpnsdk::OptionType::string, "vpn%d", "interface name (\"%d\": the kernel picks the number)"},
    {"mtu", vpnsdk::OptionType::integer, "0", "interface MTU (0: the MTU the server assigns)"},
    {"txqueuelen", vpnsdk::OptionType::integer, "500", "interface transmit queue length"},
    {"masquerade", vpnsdk::OptionType::string, "",
     "gateway: source-NAT the tunnel network out of this interface (e.g. eth0) and turn on IPv4 forwarding; "
     "\"\" = off"},
    {"nft", vpnsdk::OptionType::string, "nft", "the nft command masquerade uses (name in PATH, or a path)"},
    {"state_dir", vpnsdk::OptionType::string, "/run/vpnhost",
     "where what must be undone after a crash is recorded (relative: to the manifest)"},
    {"route_all", vpnsdk::OptionType::boolean, "false",
     "client: send all IPv4 traffic but the server's through the tunnel, by policy rules ahead of the main table "
     "(route_table, route_rule_priority), so no more specific route can take it out of the tunnel"},
    {"routes", vpnsdk::OptionType::string_list, "", "client: networks sent through the tunnel (split tunnel)"},
    {"keep_route_to", vpnsdk::OptionType::string_list, "",
     "server addresses kept on the underlay route (empty: the transport's peer, found automatically)"},
    {"on_tunnel_down", vpnsdk::OptionType::string, "block",
     "route_all while the tunnel is down: \"block\" (traffic stays on the tunnel) or \"fallback\" (the normal "
     "routes)"},
    {"block_ipv6", vpnsdk::OptionType::boolean, "true",
     "route_all: make IPv6 unreachable (but link-local and multicast) rather than let it go around this IPv4 "
     "tunnel"},
    {"kill_switch", vpnsdk::OptionType::boolean, "true",
     "route_all with on_tunnel_down = \"block\": an nftables table (inet vpnhostks_<name>) lets out only lo, the "
     "tunnel and the server's address, from start-up on and after a crash (until the next start or `vpnhost "
     "unblock`)"},
    {"route_table", vpnsdk::OptionType::integer, "10010",
     "route_all: the routing table of its own (a default route through the tunnel; IPv6 unreachable)"},
    {"route_rule_priority", vpnsdk::OptionType::integer, "10000",
     "route_all: the priority of its policy rules (1..32763; they take this one and this + 2, before main's 32766)"},
    {"up", vpnsdk::OptionType::string, "", "script run after the device is configured (OpenVPN-style environment)"},
    {"down", vpnsdk::OptionType::string, "", "script run before the device is removed"},
    {"script_timeout", vpnsdk::OptionType::integer, "10", "seconds an up/down script may run (1..300)"},
}};

}  // namespace
}  // namespace device_tun

VPNSDK_DEFINE_PLUGIN(device_tun::DeviceTun, "device_tun", vpnsdk::Stage::device, "1.0.0",
                     "Linux TUN interface, configured from the server's assignment", device_tun::kOptions, nullptr,
                     nullptr)
