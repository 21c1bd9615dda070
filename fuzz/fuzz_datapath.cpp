// fuzz_datapath: the server's whole data path in core's Pipeline, as the
// host runs it: transport frame -> cipher open -> control protocol or IPv4
// check -> router -> MTU / fragmentation / MSS clamp -> responders -> seal
// -> transport send (or device write), and device packets the other way.
//
// Stages: the real cipher_xor, router_hub (10.10.0.0/24, server 10.10.0.1)
// and responder_icmp_echo (their sources linked in, created through their
// descriptors), a fake transport (sessions opened, fed and closed by the
// input; it checks everything the pipeline sends) and a fake device (it
// checks what it is given). Frames are XORed with the cipher's key by the
// fuzzer, so its bytes are what the pipeline sees after open().
//
// An input that starts with 'C' runs the client instead (the byte is not an
// operation): router_client and the fake device, one session to the server
// (Role::initiator) whose frames the input writes as the server would.
//
// Input: operations until the input ends (at most 128):
//   op % 8:
//    0 [k][mtu]                     the transport opens session k % 4 (frame_mtu 576 + mtu * 36)
//    1 [k][type][len u16][bytes]    a frame of any type with those bytes (after open) for session k
//    2 [k][mtu u16]                 a HELLO (version 1, max_body 9216, the MTU asked for) for session k
//    3 [k][packet fields]           a DATA frame with an IPv4 packet built from fields (below) for session k
//    4 [packet fields]              the same packet from the device
//    5 [k]                          the transport says session k closed
//    6 [k][n]                       n + 1 copies of a built packet in one batch for session k
//    7 [k][len u16][bytes]          arbitrary bytes as a DATA frame body, XORed or not (raw)
//   client: k is always session 1, op 0 opens it as the initiator (the client
//   says HELLO), op 2 is a WELCOME [address][prefix][mtu u16][keepalive][timeout][dns]
//   (address: 10.10.0.2, 0.0.0.0, 200.8.8.8 or 4 input bytes), op 4 a packet from
//   the client's device.
//   packet fields: [src][dst][proto][flags][len u16][ttl] (the payload is a pattern; op 1 and 7 send any bytes)
//     src/dst: the session's address, the server, another session, outside, or 4 input bytes;
//     proto: ICMP echo request, TCP SYN with an MSS option, UDP, or any;
//     flags: DF, MF / fragment offset, bad header or ICMP checksum, options.
//
// Invariants beyond the sanitizers: the pipeline sends only to sessions that
// are open, only known frame types, and only frames its cipher sealed (the
// cipher's frames_sealed equals the frames sent); every DATA frame to a session is a valid IPv4 packet no
// longer than the MTU its WELCOME gave, a TCP SYN in it (not a fragment)
// announces an MSS of at most that MTU - 40; every packet to the device is valid IPv4 and no
// longer than the device's MTU; the client sends no WELCOME or REJECT, and
// DATA only within the MTU of the assignment it accepted (the one its device
// was started with); no plugin throws; between two events the
// pipeline holds no packet buffer, and after it is gone the pool is whole.
// Issue 15 item 6: the client starts its device only with an address in
// router_client's default accept_networks and a prefix of at least /16 (seed
// client_hostile_welcome offers 200.8.8.8/1).
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "fuzz_check.hpp"
#include "vpnhost/pipeline.hpp"
#include "vpnhost/protocol.hpp"
#include "vpnsdk/ipv4.hpp"
#include "vpnsdk/sdk.hpp"
#include "vpnsdk/testkit/harness.hpp"
#include "vpnsdk/wire.hpp"
#include "xor_keystream.hpp"

extern "C" const vpnsdk::PluginDescriptor* fuzz_cipher_xor_plugin();
extern "C" const vpnsdk::PluginDescriptor* fuzz_router_hub_plugin();
extern "C" const vpnsdk::PluginDescriptor* fuzz_responder_icmp_echo_plugin();
extern "C" const vpnsdk::PluginDescriptor* fuzz_router_client_plugin();

namespace {

using Bytes = std::vector<std::byte>;
using vpnsdk::SessionId;
using vpnsdk::Status;
namespace wire = vpnsdk::wire;
namespace ipv4 = vpnsdk::ipv4;
namespace proto = vpnhost::protocol;

constexpr int kSessions = 4;
constexpr std::uint32_t kServer = 0x0a0a0001;  // 10.10.0.1

std::vector<std::uint8_t> g_key;
std::string g_key_dir;
std::unique_ptr<cipher_xor::XorKeystream> g_xor;
std::shared_ptr<spdlog::logger> g_log;

void xor_bytes(Bytes& b) { g_xor->apply(b.data(), b.size()); }

// The MSS option of a TCP SYN in an IPv4 packet, if any.
std::optional<std::uint16_t> syn_mss(std::span<const std::byte> pkt, const ipv4::Header& h) {
  if (h.protocol != 6 || (h.frag & 0x3fff) != 0) return std::nullopt;  // fragments are not clamped (mss_clamp.hpp)
  const std::size_t t = h.header_len;
  if (h.total_len < t + 20) return std::nullopt;
  const unsigned flags = std::to_integer<unsigned>(pkt[t + 13]);
  if ((flags & 0x02) == 0) return std::nullopt;
  const std::size_t doff = (std::to_integer<unsigned>(pkt[t + 12]) >> 4) * 4u;
  if (doff < 20 || t + doff > h.total_len) return std::nullopt;
  for (std::size_t i = t + 20; i < t + doff;) {
    const unsigned kind = std::to_integer<unsigned>(pkt[i]);
    if (kind == 0) break;
    if (kind == 1) {
      ++i;
      continue;
    }
    if (i + 1 >= t + doff) break;
    const std::size_t len = std::to_integer<unsigned>(pkt[i + 1]);
    if (len < 2 || i + len > t + doff) break;
    if (kind == 2 && len == 4) return ipv4::load16(pkt.data() + i + 2);
    i += len;
  }
  return std::nullopt;
}

struct SessionView {
  bool open = false, closed = false;
  std::uint32_t frame_mtu = 0;
  std::uint16_t mtu = 0;       // from its WELCOME (0: none yet)
  std::uint32_t address = 0;   // from its WELCOME
};

struct World;

struct FakeTransport final : vpnsdk::Transport {
  World* w = nullptr;
  vpnsdk::TransportSink* sink = nullptr;
  vpnsdk::Overhead overhead() const override { return {8, 0}; }
  Status start(vpnsdk::TransportSink& s) override {
    sink = &s;
    return {};
  }
  Status send(SessionId id, vpnsdk::Batch frames) override;
  void close(SessionId id, const Status&) override;
  std::uint32_t frame_mtu(SessionId id) const override;
  void stop() override {}
};

struct FakeDevice final : vpnsdk::Device {
  World* w = nullptr;
  vpnsdk::DeviceSink* sink = nullptr;
  std::uint16_t mtu = 0;
  Status start(vpnsdk::DeviceSink& s, const vpnsdk::Assignment& self) override;
  Status write(vpnsdk::Batch packets) override;
  void stop() override {}
};

std::unique_ptr<vpnhost::StageInstance> fake_stage(const char* name, vpnsdk::Plugin* p) {
  auto s = std::make_unique<vpnhost::StageInstance>();
  s->name = name;
  s->object = p;  // destroy stays nullptr: the fuzzer owns the object
  return s;
}

struct World {
  bool client = false;
  std::map<std::uint8_t, int> sent_types;  // frames sent, by type (FUZZ_VERBOSE)
  std::uint64_t frames_sent = 0;
  int device_writes = 0;
  boost::asio::io_context io;
  vpnsdk::PacketPool pool{vpnsdk::PoolConfig{128, 9216, 64, 2048}};
  vpnhost::CounterRegistry counters;
  FakeTransport transport;
  FakeDevice device;
  vpnhost::Stages stages;
  std::unique_ptr<vpnhost::Pipeline> pipeline;
  SessionView sessions[kSessions + 1];  // by id 1..4
  std::vector<std::unique_ptr<vpnsdk::Options>> options;
  std::vector<std::unique_ptr<vpnsdk::testkit::SimpleCounters>> plugin_counters;

  std::unique_ptr<vpnhost::StageInstance> real_stage(const vpnsdk::PluginDescriptor* d,
                                                     const std::map<std::string, vpnsdk::OptionValue>& given) {
    auto s = std::make_unique<vpnhost::StageInstance>();
    s->name = d->name;
    options.push_back(std::make_unique<vpnsdk::Options>(vpnsdk::testkit::options_from(*d, given)));
    plugin_counters.push_back(std::make_unique<vpnsdk::testkit::SimpleCounters>());
    s->context.io = &io;
    s->context.log = g_log;
    s->context.options = options.back().get();
    s->context.counters = plugin_counters.back().get();
    s->context.pool = &pool;
    s->context.base_dir = g_key_dir.c_str();
    Status st;
    s->object = d->create(s->context, st);
    if (s->object == nullptr) {
      std::fprintf(stderr, "cannot create %s: %s\n", d->name, st.message.c_str());
      std::abort();
    }
    s->destroy = d->destroy;
    return s;
  }

  explicit World(bool as_client) : client(as_client) {
    transport.w = this;
    device.w = this;
    stages.transport = fake_stage("fake_transport", &transport);
    stages.device = fake_stage("fake_device", &device);
    stages.cipher = real_stage(fuzz_cipher_xor_plugin(), {{"key_file", std::string("xor.key")}});
    if (client) {
      stages.router = real_stage(fuzz_router_client_plugin(), {});
    } else {
      stages.router = real_stage(fuzz_router_hub_plugin(), {});
      stages.responders.push_back(real_stage(fuzz_responder_icmp_echo_plugin(), {}));
    }
    pipeline = std::make_unique<vpnhost::Pipeline>(io, pool, counters, stages, vpnhost::SessionLimits{});
    pipeline->on_finished = [this](int) { finished = true; };
    const Status st = pipeline->start();
    FUZZ_CHECK(st.ok());
  }
  bool finished = false;

  void poll() {
    io.restart();
    io.poll();
  }

  vpnsdk::PacketPtr packet(const Bytes& b) {
    vpnsdk::PacketPtr p = pool.acquire();
    if (!p) return nullptr;  // the pool is exhausted: the frame is lost, as in a transport
    if (!p->append(b)) return nullptr;
    return p;
  }

  void receive(SessionId id, std::uint8_t type, Bytes body, bool raw = false, int copies = 1) {
    if (!sessions[id].open || sessions[id].closed) return;
    if (!raw) xor_bytes(body);
    std::vector<vpnsdk::PacketPtr> batch;
    for (int i = 0; i < copies; ++i) {
      vpnsdk::PacketPtr p = packet(body);
      if (!p) break;
      p->meta.frame_type = type;
      p->meta.session = id;
      batch.push_back(std::move(p));
    }
    if (batch.empty()) return;
    transport.sink->received(id, vpnsdk::Batch(batch.data(), batch.size()));
    poll();
  }
};

Status FakeTransport::send(SessionId id, vpnsdk::Batch frames) {
  FUZZ_CHECK(id >= 1 && id <= kSessions);
  SessionView& s = w->sessions[id];
  FUZZ_CHECK(s.open && !s.closed);  // only to open sessions
  for (auto& f : frames) {
    FUZZ_CHECK(f != nullptr);
    const std::uint8_t type = f->meta.frame_type;
    FUZZ_CHECK(wire::known_type(type));
    ++w->sent_types[type];
    ++w->frames_sent;
    Bytes body(f->bytes().begin(), f->bytes().end());
    xor_bytes(body);  // open what the cipher sealed
    if (w->client) {
      FUZZ_CHECK(type != static_cast<std::uint8_t>(wire::FrameType::welcome));
      FUZZ_CHECK(type != static_cast<std::uint8_t>(wire::FrameType::reject));
    }
    if (type == static_cast<std::uint8_t>(wire::FrameType::welcome)) {
      proto::Welcome welcome;
      FUZZ_CHECK(proto::decode(body, welcome).empty());  // a WELCOME the client can read
      s.mtu = welcome.assignment.mtu;
      s.address = welcome.assignment.address;
    } else if (type == static_cast<std::uint8_t>(wire::FrameType::data)) {
      ipv4::Header h;
      FUZZ_CHECK(ipv4::parse(body, h) == ipv4::Problem::none);
      FUZZ_CHECK(s.mtu != 0);  // DATA only after the WELCOME
      FUZZ_CHECK(h.total_len <= s.mtu);
      if (const auto mss = syn_mss(body, h)) FUZZ_CHECK(*mss + 40u <= s.mtu);
    }
    f.reset();
  }
  return {};
}

Status FakeDevice::start(vpnsdk::DeviceSink& s, const vpnsdk::Assignment& self) {
  sink = &s;
  mtu = self.mtu;
  if (w->client) {  // what the client accepted from the server
    w->sessions[1].address = self.address;
    w->sessions[1].mtu = self.mtu;
    // Issue 15 item 6: by default a client accepts only a private network of
    // at least /16 (router_client accept_networks: 10/8, 172.16/12,
    // 192.168/16, 100.64/10; min_prefix_len 16).
    const std::uint32_t a = self.address;
    const bool is_private =
        (a >> 24) == 10 || (a >> 20) == 0xac1 || (a >> 16) == 0xc0a8 || (a >> 22) == ((100u << 2) | 1u);
    FUZZ_CHECK(is_private && self.prefix_len >= 16);
  }
  return {};
}

Status FakeDevice::write(vpnsdk::Batch packets) {
  for (auto& p : packets) {
    FUZZ_CHECK(p != nullptr);
    ipv4::Header h;
    FUZZ_CHECK(ipv4::parse(p->bytes(), h) == ipv4::Problem::none);
    if (mtu != 0 && h.total_len > mtu) std::fprintf(stderr, "device mtu %u, packet of %u bytes\n", mtu, h.total_len);
    if (mtu != 0) FUZZ_CHECK(h.total_len <= mtu);
    ++w->device_writes;
    p.reset();
  }
  return {};
}

void FakeTransport::close(SessionId id, const Status&) {
  FUZZ_CHECK(id >= 1 && id <= kSessions);
  SessionView& s = w->sessions[id];
  FUZZ_CHECK(s.open);
  if (s.closed) return;
  s.closed = true;
  // As a transport does: closed() later, from the loop.
  w->io.post([w = w, id] {
    if (w->transport.sink) w->transport.sink->closed(id, {});
  });
}

std::uint32_t FakeTransport::frame_mtu(SessionId id) const {
  if (id < 1 || id > kSessions) return 0;
  return w->sessions[id].frame_mtu;
}

struct Reader {
  const std::uint8_t* p;
  std::size_t n;
  bool empty() const { return n == 0; }
  std::uint8_t u8() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() << 8 | u8()); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(u16()) << 16 | u16(); }
  Bytes bytes(std::size_t len) {
    if (len > n) len = n;
    Bytes b(reinterpret_cast<const std::byte*>(p), reinterpret_cast<const std::byte*>(p) + len);
    p += len;
    n -= len;
    return b;
  }
};

void put16(Bytes& b, std::size_t at, std::uint16_t v) { ipv4::store16(b.data() + at, v); }

std::uint32_t address_of(World& w, SessionId id, std::uint8_t choice, Reader& in) {
  switch (choice % 5) {
    case 0: return w.sessions[id].address ? w.sessions[id].address : 0x0a0a0002;
    case 1: return kServer;
    case 2: {
      const SessionId other = id % kSessions + 1;
      return w.sessions[other].address ? w.sessions[other].address : 0x0a0a0003;
    }
    case 3: return 0x08080808;
    default: return in.u32();
  }
}

// An IPv4 packet from the packet fields (see the top of the file).
Bytes build_packet(World& w, SessionId id, Reader& in) {
  const std::uint8_t src = in.u8(), dst = in.u8(), protocol = in.u8(), flags = in.u8();
  const std::size_t len = in.u16() % 9300;
  const std::uint8_t ttl = in.u8();
  const std::size_t ihl = (flags & 0x40) ? 24 : 20;
  std::size_t l4 = 8;
  const int kind = protocol % 4;
  if (kind == 1) l4 = 24;  // TCP header with an MSS option
  Bytes p(std::max<std::size_t>(ihl + l4, len));
  for (std::size_t i = ihl + l4; i < p.size(); ++i) p[i] = std::byte(static_cast<unsigned char>(i * 7 + ttl));
  p[0] = std::byte(0x40 | (ihl / 4));
  put16(p, 2, static_cast<std::uint16_t>(p.size()));
  put16(p, 4, static_cast<std::uint16_t>(src << 8 | dst));
  std::uint16_t frag = 0;
  if (flags & 0x01) frag |= 0x4000;                                   // DF
  if (flags & 0x02) frag |= 0x2000;                                   // MF
  if (flags & 0x04) frag |= static_cast<std::uint16_t>(flags >> 3);   // an offset
  put16(p, 6, frag);
  p[8] = std::byte(ttl);
  const std::uint8_t protos[4] = {1, 6, 17, protocol};
  p[9] = std::byte(protos[kind]);
  ipv4::store32(p.data() + 12, address_of(w, id, src, in));
  ipv4::store32(p.data() + 16, address_of(w, id, dst, in));
  if (ihl == 24) p[20] = std::byte{1};  // NOP options
  const std::size_t t = ihl;
  if (kind == 0) {  // ICMP echo request
    p[t] = std::byte{8};
  } else if (kind == 1) {  // TCP SYN, data offset 6 words, MSS option
    put16(p, t, 40000);
    put16(p, t + 2, 80);
    p[t + 12] = std::byte{6 << 4};
    p[t + 13] = std::byte{0x02};
    p[t + 20] = std::byte{2};
    p[t + 21] = std::byte{4};
    put16(p, t + 22, static_cast<std::uint16_t>(1460 + (ttl & 0x7f) * 64));
  } else if (kind == 2) {
    put16(p, t + 4, static_cast<std::uint16_t>(p.size() - t));
  }
  if (kind == 0 && (flags & 0x80) == 0) {
    put16(p, t + 2, 0);
    put16(p, t + 2, ipv4::checksum(std::span<const std::byte>(p).subspan(t)));
  }
  if ((flags & 0x20) == 0) put16(p, 10, ipv4::checksum(std::span<const std::byte>(p).first(ihl)));
  return p;
}

Bytes welcome_from(Reader& in) {
  proto::Welcome m;
  m.max_body = 9216;
  const std::uint8_t choice = in.u8();
  const std::uint32_t addresses[3] = {0x0a0a0002, 0, 0xc8080808};  // 10.10.0.2, 0.0.0.0, 200.8.8.8
  m.assignment.address = choice % 4 < 3 ? addresses[choice % 4] : in.u32();
  m.assignment.prefix_len = static_cast<std::uint8_t>(in.u8() % 34);
  m.assignment.server = kServer;
  m.assignment.mtu = in.u16();
  m.assignment.keepalive_s = in.u8();
  m.assignment.timeout_s = in.u8();
  for (int i = in.u8() % 3; i > 0; --i) m.assignment.dns.push_back(0x0a0a0001 + static_cast<std::uint32_t>(i));
  return proto::encode(m);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (sodium_init() < 0) std::abort();
  if (std::getenv("FUZZ_VERBOSE") != nullptr) {  // the pipeline's and the plugins' log on stderr
    g_log = std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    g_log->set_level(spdlog::level::trace);
  } else {
    g_log = std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_mt>());
    g_log->set_level(spdlog::level::off);
  }
  spdlog::set_default_logger(g_log);
  g_key.resize(32);
  for (std::size_t i = 0; i < g_key.size(); ++i) g_key[i] = static_cast<std::uint8_t>(0x5a ^ (i * 13));
  char dir[] = "/tmp/vpnhost-fuzz-datapath.XXXXXX";
  if (::mkdtemp(dir) == nullptr) std::abort();
  g_key_dir = dir;
  char b64[64];
  sodium_bin2base64(b64, sizeof b64, g_key.data(), g_key.size(), sodium_base64_VARIANT_ORIGINAL);
  const std::string path = g_key_dir + "/xor.key";
  {
    std::ofstream f(path);
    f << b64 << "\n";
  }
  ::chmod(path.c_str(), 0600);
  g_xor = std::make_unique<cipher_xor::XorKeystream>(std::span<const std::uint8_t>(g_key));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Reader in{data, size};
  const bool client = size > 0 && data[0] == 'C';
  if (client) in.u8();
  {
    World w(client);
    int ops = 0;
    while (!in.empty() && ops++ < 128 && !w.finished) {
      const std::uint8_t op = in.u8() % 8;
      const std::uint8_t k = op == 4 ? 0 : in.u8();
      const SessionId id = op == 4 ? 0 : client ? 1 : k % kSessions + 1;
      SessionView& s = w.sessions[id];
      switch (op) {
        case 0:
          if (s.open) break;
          s.open = true;
          s.frame_mtu = 576 + in.u8() * 36u;
          if (client)
            w.transport.sink->opened({id, vpnsdk::Role::initiator, {"172.31.1.1", 5000}});
          else
            w.transport.sink->opened({id, vpnsdk::Role::responder, {"172.31.1." + std::to_string(id), 40000}});
          w.poll();
          break;
        case 1: {
          const std::uint8_t type = in.u8();
          const Bytes body = in.bytes(in.u16() % 9300);
          w.receive(id, type, body);
          break;
        }
        case 2: {
          if (client) {
            w.receive(id, static_cast<std::uint8_t>(wire::FrameType::welcome), welcome_from(in));
            break;
          }
          proto::Hello hello;
          hello.max_body = 9216;
          hello.requested_mtu = in.u16();
          w.receive(id, static_cast<std::uint8_t>(wire::FrameType::hello), proto::encode(hello));
          break;
        }
        case 3:
          w.receive(id, static_cast<std::uint8_t>(wire::FrameType::data), build_packet(w, id, in));
          break;
        case 4: {
          const Bytes pkt = build_packet(w, client ? 1 : 1 + in.u8() % kSessions, in);
          vpnsdk::PacketPtr p = w.packet(pkt);
          if (!p || w.device.sink == nullptr) break;
          w.device.sink->from_device(vpnsdk::Batch(&p, 1));
          w.poll();
          break;
        }
        case 5:
          if (!s.open || s.closed) break;
          s.closed = true;
          w.transport.sink->closed(id, Status::error(vpnsdk::Code::io, "the fuzzer closed it"));
          w.poll();
          break;
        case 6: {
          const int copies = 1 + in.u8() % 64;
          w.receive(id, static_cast<std::uint8_t>(wire::FrameType::data), build_packet(w, id, in), false, copies);
          break;
        }
        case 7: {
          const bool raw = in.u8() & 1;
          const Bytes body = in.bytes(in.u16() % 9300);
          w.receive(id, static_cast<std::uint8_t>(wire::FrameType::data), body, raw);
          break;
        }
      }
      FUZZ_CHECK(w.pool.in_use() == 0);  // between two events the pipeline holds no buffer
    }
    FUZZ_CHECK(w.counters.value("host.plugin_exceptions") == 0);
    // Every frame sent was sealed by the cipher, and every sealed frame was sent.
    FUZZ_CHECK(w.plugin_counters[0]->value("frames_sealed") == w.frames_sent);
    if (std::getenv("FUZZ_VERBOSE") != nullptr) {  // how far an input got
      std::fprintf(stderr, "%s sent:", client ? "client" : "server");
      for (const auto& [t, n] : w.sent_types) std::fprintf(stderr, " %s=%d", wire::type_name(t), n);
      std::fprintf(stderr, "; device writes: %d\n%s", w.device_writes, w.counters.render().c_str());
    }
    w.transport.sink = nullptr;  // closed() posted by close() finds no pipeline
    w.pipeline.reset();
    w.poll();
    w.stages = vpnhost::Stages{};
    FUZZ_CHECK(w.pool.in_use() == 0);  // the pool is whole
  }
  return 0;
}
