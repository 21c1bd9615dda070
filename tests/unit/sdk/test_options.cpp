// vpnsdk::Options, parse_option_text, Status codes, and the testkit's
// options_from/Harness (the way plugin authors get their options in tests).
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "vpnsdk/options.hpp"
#include "vpnsdk/plugin.hpp"
#include "vpnsdk/status.hpp"
#include "vpnsdk/testkit/harness.hpp"

using vpnsdk::OptionType;
using vpnsdk::OptionValue;
using vpnsdk::Options;
using vpnsdk::parse_option_text;

namespace {

Options sample() {
  Options o;
  o.set("name", {std::string("vpn0"), true, "client.manifest:12:1"});
  o.set("port", {std::int64_t{5000}, false, ""});
  o.set("on", {true, true, "--set device.on=true"});
  o.set("ratio", {1.5, false, ""});
  o.set("dns", {std::vector<std::string>{"1.1.1.1", "9.9.9.9"}, true, "x.manifest:3:1"});
  return o;
}

}  // namespace

TEST_CASE("Options: typed getters return the values", "[options]") {
  const Options o = sample();
  CHECK(o.str("name") == "vpn0");
  CHECK(o.integer("port") == 5000);
  CHECK(o.boolean("on"));
  CHECK(o.number("ratio") == 1.5);
  CHECK(o.list("dns") == std::vector<std::string>{"1.1.1.1", "9.9.9.9"});
  CHECK(o.entries().size() == 5);
}

TEST_CASE("Options: reading with the wrong type throws invalid_argument naming the option", "[options]") {
  const Options o = sample();
  CHECK_THROWS_AS(o.integer("name"), std::invalid_argument);
  CHECK_THROWS_WITH(o.integer("name"), "option 'name' read with the wrong type");
  CHECK_THROWS_WITH(o.str("port"), "option 'port' read with the wrong type");
  CHECK_THROWS_WITH(o.number("port"), "option 'port' read with the wrong type");  // no silent conversion
  CHECK_THROWS_WITH(o.boolean("ratio"), "option 'ratio' read with the wrong type");
  CHECK_THROWS_WITH(o.list("name"), "option 'name' read with the wrong type");
  CHECK_THROWS_WITH(o.str("dns"), "option 'dns' read with the wrong type");
}

TEST_CASE("Options: an option not in the schema throws out_of_range", "[options]") {
  const Options o = sample();
  CHECK_THROWS_AS(o.str("nope"), std::out_of_range);
  CHECK_THROWS_WITH(o.integer("nope"), "option 'nope' is not in this plugin's schema");
  CHECK_FALSE(o.has("nope"));
  CHECK_FALSE(o.given("nope"));
}

TEST_CASE("Options: given() and where()", "[options]") {
  Options o = sample();
  CHECK(o.given("name"));
  CHECK(o.where("name") == "client.manifest:12:1");
  CHECK_FALSE(o.given("port"));
  CHECK(o.where("port") == "default");
  CHECK(o.where("on") == "--set device.on=true");
  CHECK(o.where("missing") == "default");
  // set() replaces
  o.set("port", {std::int64_t{6000}, true, "y.manifest:2:1"});
  CHECK(o.integer("port") == 6000);
  CHECK(o.where("port") == "y.manifest:2:1");
}

TEST_CASE("option_type_name", "[options]") {
  CHECK(std::string(vpnsdk::option_type_name(OptionType::string)) == "string");
  CHECK(std::string(vpnsdk::option_type_name(OptionType::integer)) == "integer");
  CHECK(std::string(vpnsdk::option_type_name(OptionType::boolean)) == "boolean");
  CHECK(std::string(vpnsdk::option_type_name(OptionType::number)) == "number");
  CHECK(std::string(vpnsdk::option_type_name(OptionType::string_list)) == "array of strings");
  CHECK(std::string(vpnsdk::option_type_name(static_cast<OptionType>(42))) == "unknown");
}

TEST_CASE("parse_option_text: string takes any text as it is", "[options]") {
  for (const std::string s : {"", "hello", " spaced ", "1234", "true", "a,b"}) {
    auto v = parse_option_text(OptionType::string, s);
    REQUIRE(v);
    CHECK(std::get<std::string>(*v) == s);
  }
}

TEST_CASE("parse_option_text: integer", "[options]") {
  auto ok = [](const std::string& t) {
    auto v = parse_option_text(OptionType::integer, t);
    REQUIRE(v);
    return std::get<std::int64_t>(*v);
  };
  CHECK(ok("5000") == 5000);
  CHECK(ok("0") == 0);
  CHECK(ok("-1") == -1);
  CHECK(ok("9223372036854775807") == std::numeric_limits<std::int64_t>::max());
  CHECK(ok("-9223372036854775808") == std::numeric_limits<std::int64_t>::min());
  for (const std::string bad : {"", " 5", "5 ", "+5", "5x", "0x10", "1.0", "1e3", "9223372036854775808", "-", "five"}) {
    INFO("text: '" << bad << "'");
    CHECK_FALSE(parse_option_text(OptionType::integer, bad));
  }
}

TEST_CASE("parse_option_text: boolean is exactly true or false", "[options]") {
  CHECK(std::get<bool>(*parse_option_text(OptionType::boolean, "true")));
  CHECK_FALSE(std::get<bool>(*parse_option_text(OptionType::boolean, "false")));
  for (const std::string bad : {"", "True", "FALSE", "1", "0", "yes", "no", "true ", "on"}) {
    INFO("text: '" << bad << "'");
    CHECK_FALSE(parse_option_text(OptionType::boolean, bad));
  }
}

TEST_CASE("parse_option_text: number", "[options]") {
  auto ok = [](const std::string& t) {
    auto v = parse_option_text(OptionType::number, t);
    REQUIRE(v);
    return std::get<double>(*v);
  };
  CHECK(ok("1.5") == 1.5);
  CHECK(ok("-2") == -2.0);
  CHECK(ok("0") == 0.0);
  CHECK(ok("1e3") == 1000.0);
  CHECK(ok(".25") == 0.25);
  for (const std::string bad : {"", "abc", "1.5x", "1.5 ", "1,5", "--1"}) {
    INFO("text: '" << bad << "'");
    CHECK_FALSE(parse_option_text(OptionType::number, bad));
  }
}

TEST_CASE("parse_option_text: string list is comma-separated, trimmed, without empty items", "[options]") {
  auto list = [](const std::string& t) {
    auto v = parse_option_text(OptionType::string_list, t);
    REQUIRE(v);
    return std::get<std::vector<std::string>>(*v);
  };
  using L = std::vector<std::string>;
  CHECK(list("") == L{});
  CHECK(list("one") == L{"one"});
  CHECK(list("a,b") == L{"a", "b"});
  CHECK(list(" a , b ") == L{"a", "b"});
  CHECK(list("a,,b,") == L{"a", "b"});
  CHECK(list(",") == L{});
  CHECK(list("  ") == L{});
  CHECK(list("a b, c") == L{"a b", "c"});
  CHECK(list("1.1.1.1, 8.8.8.8") == L{"1.1.1.1", "8.8.8.8"});
}

TEST_CASE("parse_option_text: an unknown type is refused", "[options]") {
  CHECK_FALSE(parse_option_text(static_cast<OptionType>(99), "x"));
}

TEST_CASE("Status and code names", "[status]") {
  vpnsdk::Status ok;
  CHECK(ok.ok());
  CHECK(static_cast<bool>(ok));
  CHECK(vpnsdk::Status::success().ok());
  auto e = vpnsdk::Status::error(vpnsdk::Code::drop_malformed, "bad");
  CHECK_FALSE(e.ok());
  CHECK_FALSE(static_cast<bool>(e));
  CHECK(e.message == "bad");
  // `again` is not ok: callers must look at the code.
  CHECK_FALSE(vpnsdk::Status::error(vpnsdk::Code::again, "").ok());
  CHECK(std::string(vpnsdk::code_name(vpnsdk::Code::drop_malformed)) == "malformed");
  CHECK(std::string(vpnsdk::code_name(vpnsdk::Code::drop_no_route)) == "no_route");
  CHECK(std::string(vpnsdk::code_name(vpnsdk::Code::session_fatal)) == "session_fatal");
  CHECK(std::string(vpnsdk::code_name(static_cast<vpnsdk::Code>(500))) == "unknown");
  CHECK(std::string(vpnsdk::stage_name(vpnsdk::Stage::responder)) == "responder");
  CHECK(std::string(vpnsdk::stage_name(vpnsdk::Stage::transport)) == "transport");
  CHECK(std::string(vpnsdk::stage_name(static_cast<vpnsdk::Stage>(0))) == "unknown");
}

// --- testkit ---------------------------------------------------------------

namespace {
const std::string kFixtures = VPNHOST_TEST_FIXTURE_PLUGIN_DIR;
}

TEST_CASE("testkit: Harness loads a plugin with defaults and given options", "[testkit]") {
  vpnsdk::testkit::Harness h(kFixtures + "/fixture_good.so", {{"needed", true}, {"count", std::int64_t{9}}});
  REQUIRE(h.status().ok());
  CHECK(std::string(h.descriptor().name) == "fixture_good");
  CHECK_NOTHROW(h.get<vpnsdk::Responder>());
  CHECK_THROWS_AS(h.get<vpnsdk::Router>(), std::logic_error);
  auto p = h.packet(std::vector<std::byte>(10, std::byte{7}));
  CHECK(p->size() == 10);
  CHECK(h.pool().in_use() == 1);
}

TEST_CASE("testkit: Harness reports a throwing constructor through status()", "[testkit]") {
  vpnsdk::testkit::Harness h(kFixtures + "/fixture_throwing_factory.so");
  CHECK(h.status().code == vpnsdk::Code::config);
  CHECK(h.status().message == "boom: bad things");
  CHECK_THROWS_AS(h.get<vpnsdk::Responder>(), std::logic_error);

  vpnsdk::testkit::Harness r(kFixtures + "/fixture_throwing_runtime.so");
  CHECK(r.status().code == vpnsdk::Code::internal);
  CHECK(r.status().message == "kaboom: a runtime_error from the constructor");
}

TEST_CASE("testkit: Harness refuses another ABI and unknown options", "[testkit]") {
  CHECK_THROWS_WITH(vpnsdk::testkit::Harness(kFixtures + "/fixture_wrong_abi.so"), "plugin has another SDK ABI");
  CHECK_THROWS_WITH(vpnsdk::testkit::Harness(kFixtures + "/fixture_good.so", {{"needed", true}, {"nope", true}}),
                    "option 'nope' is not in the plugin's schema");
  CHECK_THROWS_WITH(vpnsdk::testkit::Harness(kFixtures + "/fixture_bad_default.so"),
                    "bad default for option count");
}
