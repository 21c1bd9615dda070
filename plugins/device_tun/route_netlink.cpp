#include "route_netlink.hpp"

#include <arpa/inet.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "vpnsdk/ipv4.hpp"

namespace device_tun {
namespace {

struct Request {
  nlmsghdr nh;
  union {
    rtmsg rt;
    fib_rule_hdr rule;  // RTM_NEWRULE/RTM_DELRULE: the same size and leading fields
  };
  char attrs[128];
};
static_assert(sizeof(rtmsg) == sizeof(fib_rule_hdr));

void add_attr(Request& req, unsigned short type, const void* data, std::size_t len) {
  auto* rta = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&req) + NLMSG_ALIGN(req.nh.nlmsg_len));
  rta->rta_type = type;
  rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
  std::memcpy(RTA_DATA(rta), data, len);
  req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

void add_u32(Request& req, unsigned short type, std::uint32_t v) { add_attr(req, type, &v, sizeof v); }
void add_in4(Request& req, unsigned short type, std::uint32_t host_order) {
  const std::uint32_t be = htonl(host_order);
  add_attr(req, type, &be, sizeof be);
}

// The table in the header (RT_TABLE_UNSPEC above 255) and as an attribute.
void set_table(Request& req, unsigned char& header_field, std::uint32_t table) {
  header_field = table < 256 ? static_cast<unsigned char>(table) : static_cast<unsigned char>(RT_TABLE_UNSPEC);
  static_assert(static_cast<int>(RTA_TABLE) == static_cast<int>(FRA_TABLE));
  add_u32(req, RTA_TABLE, table);
}

class Socket {
 public:
  Socket() : fd_(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) {
    if (fd_ >= 0) {
      timeval tv{2, 0};  // the kernel answers at once; never hang start/stop
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
  }
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // Sends one request; calls on_reply for each RTM_NEWROUTE answer; returns
  // 0 or the errno of the kernel's NLMSG_ERROR.
  template <class F>
  int transact(Request& req, F&& on_reply) {
    if (fd_ < 0) return errno != 0 ? errno : EIO;
    req.nh.nlmsg_seq = ++seq_;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(fd_, &req, req.nh.nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
      return errno;
    alignas(nlmsghdr) char buf[16384];
    for (;;) {
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        return errno == EAGAIN ? ETIMEDOUT : errno;
      }
      std::size_t left = static_cast<std::size_t>(n);
      for (auto* nh = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
        if (nh->nlmsg_seq != req.nh.nlmsg_seq) continue;
        if (nh->nlmsg_type == NLMSG_ERROR) {
          auto* err = static_cast<nlmsgerr*>(NLMSG_DATA(nh));
          return -err->error;  // 0: the ACK
        }
        if (nh->nlmsg_type == NLMSG_DONE) return 0;
        if (nh->nlmsg_type == RTM_NEWROUTE) {
          on_reply(nh);
          if ((req.nh.nlmsg_flags & NLM_F_ACK) == 0 && (nh->nlmsg_flags & NLM_F_MULTI) == 0) return 0;
        }
      }
    }
  }

 private:
  int fd_;
  std::uint32_t seq_ = 0;
};

Request base(std::uint16_t type, std::uint16_t flags) {
  Request req{};
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  req.nh.nlmsg_type = type;
  req.nh.nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
  req.rt.rtm_family = AF_INET;
  return req;
}

void fill(Request& req, const Route& r) {
  req.rt.rtm_dst_len = r.length;
  set_table(req, req.rt.rtm_table, r.table);
  if (r.length != 0) add_in4(req, RTA_DST, r.dst);
  if (r.gateway != 0) add_in4(req, RTA_GATEWAY, r.gateway);
  if (r.oif != 0) add_u32(req, RTA_OIF, static_cast<std::uint32_t>(r.oif));
  if (r.prefsrc != 0) add_in4(req, RTA_PREFSRC, r.prefsrc);
}

std::uint32_t in4_of(const rtattr* rta) {
  std::uint32_t be = 0;
  std::memcpy(&be, RTA_DATA(rta), sizeof be);
  return ntohl(be);
}

}  // namespace

namespace {

// "2001:db8::/32" of `family` into `addr` (network byte order) and `len`.
bool parse_prefix(int family, const std::string& text, unsigned char (&addr)[16], unsigned char& len) {
  const auto slash = text.find('/');
  if (slash == std::string::npos || slash + 1 >= text.size() || text.size() - slash > 4) return false;
  if (::inet_pton(family, text.substr(0, slash).c_str(), addr) != 1) return false;
  const std::string digits = text.substr(slash + 1);
  if (digits.find_first_not_of("0123456789") != std::string::npos) return false;
  const int n = std::atoi(digits.c_str());
  if (n > (family == AF_INET ? 32 : 128)) return false;
  len = static_cast<unsigned char>(n);
  return true;
}

int unreachable6(std::uint16_t type, std::uint16_t flags, const Unreachable6& u) {
  unsigned char dst[16] = {};
  unsigned char len = 0;
  if (!parse_prefix(AF_INET6, u.prefix, dst, len)) return EINVAL;
  Socket sock;
  Request req = base(type, static_cast<std::uint16_t>(NLM_F_ACK | flags));
  req.rt.rtm_family = AF_INET6;
  req.rt.rtm_dst_len = len;
  set_table(req, req.rt.rtm_table, u.table);
  req.rt.rtm_protocol = type == RTM_DELROUTE ? RTPROT_UNSPEC : kPolicyProtocol;  // deleted whoever made it
  req.rt.rtm_scope = type == RTM_DELROUTE ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE;
  req.rt.rtm_type = RTN_UNREACHABLE;
  if (len != 0) add_attr(req, RTA_DST, dst, sizeof dst);
  return sock.transact(req, [](const nlmsghdr*) {});
}

int rule(std::uint16_t type, std::uint16_t flags, const Rule& r) {
  const int family = r.ipv6 ? AF_INET6 : AF_INET;
  unsigned char dst[16] = {};
  unsigned char len = 0;
  if (!r.to.empty() && !parse_prefix(family, r.to, dst, len)) return EINVAL;
  Socket sock;
  Request req = base(type, static_cast<std::uint16_t>(NLM_F_ACK | flags));
  req.rule.family = static_cast<unsigned char>(family);
  req.rule.dst_len = len;
  req.rule.action = FR_ACT_TO_TBL;
  set_table(req, req.rule.table, r.table);
  add_u32(req, FRA_PRIORITY, r.priority);
  if (!r.to.empty()) add_attr(req, FRA_DST, dst, r.ipv6 ? 16 : 4);
  const std::uint8_t protocol = kPolicyProtocol;  // a delete matches only rules of ours
  add_attr(req, FRA_PROTOCOL, &protocol, sizeof protocol);
  return sock.transact(req, [](const nlmsghdr*) {});
}

std::string table_name(std::uint32_t table) { return table == RT_TABLE_MAIN ? "main" : std::to_string(table); }

}  // namespace

int unreachable6_add(const Unreachable6& u) { return unreachable6(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, u); }
int unreachable6_del(const Unreachable6& u) { return unreachable6(RTM_DELROUTE, 0, u); }

std::string Unreachable6::text() const {
  return "unreachable " + prefix + (table == RT_TABLE_MAIN ? "" : " table " + table_name(table));
}

int rule_add(const Rule& r) { return rule(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, r); }
int rule_del(const Rule& r) { return rule(RTM_DELRULE, 0, r); }

std::string Rule::text() const {
  return "priority " + std::to_string(priority) + (to.empty() ? "" : " to " + to) + " lookup " + table_name(table) +
         (ipv6 ? " (IPv6)" : "");
}

std::string ifname_of(int index) {
  char name[IF_NAMESIZE] = {};
  if (index > 0 && ::if_indextoname(static_cast<unsigned>(index), name) != nullptr) return name;
  return "#" + std::to_string(index);
}

std::string Route::text() const {
  std::string s = vpnsdk::ipv4::to_string(dst) + "/" + std::to_string(length);
  if (gateway != 0) s += " via " + vpnsdk::ipv4::to_string(gateway);
  if (oif != 0) s += " dev " + ifname_of(oif);
  if (prefsrc != 0) s += " src " + vpnsdk::ipv4::to_string(prefsrc);
  if (table != 254) s += " table " + std::to_string(table);
  return s;
}

int route_get(std::uint32_t dst, Lookup& out) {
  Socket sock;
  Request req = base(RTM_GETROUTE, 0);
  req.rt.rtm_dst_len = 32;
  add_in4(req, RTA_DST, dst);
  out = {};
  bool got = false;
  int err = sock.transact(req, [&](const nlmsghdr* nh) {
    const auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(nh));
    got = true;
    out.unicast = rt->rtm_type == RTN_UNICAST;
    out.local = rt->rtm_type == RTN_LOCAL;
    out.table = rt->rtm_table;
    int len = static_cast<int>(RTM_PAYLOAD(nh));
    for (const rtattr* rta = RTM_RTA(rt); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
      switch (rta->rta_type) {
        case RTA_GATEWAY: out.gateway = in4_of(rta); break;
        case RTA_PREFSRC: out.prefsrc = in4_of(rta); break;
        case RTA_OIF: {
          std::uint32_t oif = 0;
          std::memcpy(&oif, RTA_DATA(rta), sizeof oif);
          out.oif = static_cast<int>(oif);
          break;
        }
        case RTA_TABLE: {
          std::uint32_t t = 0;
          std::memcpy(&t, RTA_DATA(rta), sizeof t);
          out.table = t;
          break;
        }
        default: break;
      }
    }
  });
  if (err == 0 && !got) return ENETUNREACH;
  return err;
}

int route_add(const Route& r) {
  Socket sock;
  Request req = base(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  req.rt.rtm_protocol = r.protocol;
  req.rt.rtm_scope = r.gateway != 0 ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  req.rt.rtm_type = RTN_UNICAST;
  fill(req, r);
  return sock.transact(req, [](const nlmsghdr*) {});
}

int route_del(const Route& r) {
  Socket sock;
  Request req = base(RTM_DELROUTE, NLM_F_ACK);
  req.rt.rtm_scope = RT_SCOPE_NOWHERE;  // any scope
  fill(req, r);
  return sock.transact(req, [](const nlmsghdr*) {});
}

}  // namespace device_tun
