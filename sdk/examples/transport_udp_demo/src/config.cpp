#include "config.hpp"

#include <string>

#include "vpnsdk/status.hpp"

namespace transport_udp_demo {

const std::array<vpnsdk::OptionSpec, 3> kOptions{{
    {"listen", vpnsdk::OptionType::string, "", "numeric address to listen on (server): 0.0.0.0, ::, 127.0.0.1"},
    {"connect", vpnsdk::OptionType::string, "", "numeric address of the server (client); names are not resolved"},
    {"port", vpnsdk::OptionType::integer, "5000", "UDP port to listen on or send to (1..65535)"},
}};

namespace {

boost::asio::ip::address address(const vpnsdk::Options& opt, const std::string& name) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(opt.str(name), ec);
  if (ec)
    throw vpnsdk::ConfigError("option " + name + " at " + opt.where(name) + ": '" + opt.str(name) +
                              "' is not a numeric IPv4 or IPv6 address");
  return a;
}

}  // namespace

Config parse_config(const vpnsdk::Options& opt) {
  const bool listen = !opt.str("listen").empty(), connect = !opt.str("connect").empty();
  if (listen == connect)
    throw vpnsdk::ConfigError(std::string("give exactly one of the options listen (server) and connect (client); ") +
                              (listen ? "both are set (listen at " + opt.where("listen") + ", connect at " +
                                            opt.where("connect") + ")"
                                      : "neither is set"));
  const std::int64_t port = opt.integer("port");
  if (port < 1 || port > 65535)
    throw vpnsdk::ConfigError("option port at " + opt.where("port") + ": " + std::to_string(port) +
                              " is not in 1..65535");
  Config c;
  c.server = listen;
  const auto p = static_cast<std::uint16_t>(port);
  if (listen)
    c.local = {address(opt, "listen"), p};
  else
    c.peer = {address(opt, "connect"), p};
  return c;
}

}  // namespace transport_udp_demo
