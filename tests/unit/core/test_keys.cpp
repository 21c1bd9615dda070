// Key files: vpnhost::write_random_key and `vpnhost keygen`.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>

#include "support.hpp"
#include "vpnhost/keys.hpp"

using namespace coretest;

namespace {

// Strict standard base64 (RFC 4648, with padding), independent of libsodium.
std::optional<std::vector<std::uint8_t>> unbase64(const std::string& s) {
  static const std::string abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (s.size() % 4 != 0) return std::nullopt;
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < s.size(); i += 4) {
    std::uint32_t v = 0;
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = s[i + j];
      if (c == '=' && i + 4 == s.size() && j >= 2) {
        ++pad;
        v <<= 6;
        continue;
      }
      if (pad > 0) return std::nullopt;
      const auto k = abc.find(c);
      if (k == std::string::npos) return std::nullopt;
      v = (v << 6) | static_cast<std::uint32_t>(k);
    }
    out.push_back(static_cast<std::uint8_t>(v >> 16));
    if (pad < 2) out.push_back(static_cast<std::uint8_t>(v >> 8));
    if (pad < 1) out.push_back(static_cast<std::uint8_t>(v));
  }
  return out;
}

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Restores the process umask when a test is done.
struct UmaskGuard {
  explicit UmaskGuard(mode_t m) : old(::umask(m)) {}
  ~UmaskGuard() { ::umask(old); }
  mode_t old;
};

}  // namespace

TEST_CASE("keys: a new key file is mode 0600 with base64 of 32 bytes and a newline", "[keys]") {
  TempDir tmp;
  const fs::path key = tmp / "xor.key";
  vpnhost::write_random_key(key);
  CHECK(mode_of(key) == 0600);
  const std::string text = read_text(key);
  REQUIRE(text.size() == 45);  // 44 base64 characters + '\n'
  CHECK(text.back() == '\n');
  CHECK(text.find('\n') == 44);
  auto bytes = unbase64(text.substr(0, 44));
  REQUIRE(bytes.has_value());
  CHECK(bytes->size() == 32);
}

TEST_CASE("keys: the requested size is honoured", "[keys]") {
  TempDir tmp;
  vpnhost::write_random_key(tmp / "k16", 16);
  const std::string text = read_text(tmp / "k16");
  REQUIRE(text.size() == 25);
  auto bytes = unbase64(text.substr(0, 24));
  REQUIRE(bytes.has_value());
  CHECK(bytes->size() == 16);
}

TEST_CASE("keys: mode is exactly 0600 whatever the umask", "[keys]") {
  TempDir tmp;
  {
    UmaskGuard g(0);
    vpnhost::write_random_key(tmp / "open_umask.key");
  }
  {
    UmaskGuard g(0777);
    vpnhost::write_random_key(tmp / "closed_umask.key");
  }
  CHECK(mode_of(tmp / "open_umask.key") == 0600);
  CHECK(mode_of(tmp / "closed_umask.key") == 0600);
  CHECK(read_text(tmp / "closed_umask.key").size() == 45);
}

TEST_CASE("keys: an existing file is never overwritten", "[keys]") {
  TempDir tmp;
  const fs::path key = tmp / "xor.key";
  write_text(key, "precious\n", 0600);
  std::string msg;
  try {
    vpnhost::write_random_key(key);
  } catch (const vpnhost::KeyFileError& e) {
    msg = e.what();
  }
  CHECK(msg == "cannot create key file " + key.string() + ": File exists (refusing to overwrite an existing key)");
  CHECK(read_text(key) == "precious\n");

  // Nor a symlink pointing somewhere else.
  write_text(tmp / "target", "other\n", 0644);
  fs::create_symlink(tmp / "target", tmp / "link.key");
  CHECK_THROWS_AS(vpnhost::write_random_key(tmp / "link.key"), vpnhost::KeyFileError);
  CHECK(read_text(tmp / "target") == "other\n");
}

TEST_CASE("keys: a directory that does not exist", "[keys]") {
  TempDir tmp;
  const fs::path key = tmp / "no" / "such" / "dir.key";
  CHECK_THROWS_WITH(vpnhost::write_random_key(key),
                    "cannot create key file " + key.string() + ": No such file or directory");
}

TEST_CASE("keys: two keys differ", "[keys]") {
  TempDir tmp;
  vpnhost::write_random_key(tmp / "a.key");
  vpnhost::write_random_key(tmp / "b.key");
  CHECK(read_text(tmp / "a.key") != read_text(tmp / "b.key"));
}

TEST_CASE("keys: vpnhost keygen FILE writes a key and prints the path", "[keys][binary]") {
  TempDir tmp;
  const fs::path key = tmp / "made.key";
  auto r = run_vpnhost({"keygen", key.string()}, tmp.path());
  INFO("stderr: " << r.err);
  REQUIRE(r.exited);
  CHECK(r.code == 0);
  CHECK_THAT(r.out + r.err, Catch::Contains(key.string()));
  REQUIRE(fs::exists(key));
  CHECK(mode_of(key) == 0600);
  const std::string text = read_text(key);
  REQUIRE(text.size() == 45);
  CHECK(unbase64(text.substr(0, 44)).has_value());

  // A second run refuses to overwrite it: exit 1, one error line, key unchanged.
  auto again = run_vpnhost({"keygen", key.string()}, tmp.path());
  REQUIRE(again.exited);
  CHECK(again.code == 1);
  CHECK(count_containing(again.err, "refusing to overwrite an existing key") == 1);
  CHECK(read_text(key) == text);
}

TEST_CASE("keys: vpnhost keygen without a file is a usage error", "[keys][binary]") {
  TempDir tmp;
  auto r = run_vpnhost({"keygen"}, tmp.path());
  REQUIRE(r.exited);
  CHECK(r.code != 0);
  CHECK(r.code < 128);
  CHECK_THAT(r.err, Catch::Contains("file is required"));
}

// Regression (core/src/keys.cpp, write_random_key): when writing fails part-way
// (disk full, quota, file size limit) the partly written key file is left
// behind; a retry of `vpnhost keygen` then refuses to overwrite it, and a
// truncated key sits where the manifest expects one. (Also: if fsync() fails,
// close() is skipped and the descriptor leaks.) Suggested fix: on any error
// after open(), close the descriptor and unlink(path) before throwing.
TEST_CASE("keys: a failed write leaves no partial key file", "[keys]") {
  TempDir tmp;
  const fs::path key = tmp / "partial.key";
  struct rlimit old {};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  struct sigaction ignore {}, saved {};
  ignore.sa_handler = SIG_IGN;
  REQUIRE(::sigaction(SIGXFSZ, &ignore, &saved) == 0);
  struct rlimit small = old;
  small.rlim_cur = 10;  // a write beyond 10 bytes fails with EFBIG
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  bool threw = false;
  try {
    vpnhost::write_random_key(key);
  } catch (const vpnhost::KeyFileError&) {
    threw = true;
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::sigaction(SIGXFSZ, &saved, nullptr);
  REQUIRE(threw);
  CHECK_FALSE(fs::exists(key));
}

TEST_CASE("keys: vpnhost keygen warns when the plugins would refuse the new key file", "[keys][binary]") {
  TempDir tmp;
  const fs::path dir = tmp / "shared";
  fs::create_directory(dir);
  REQUIRE(::chmod(dir.c_str(), 0775) == 0);  // group-writable, no sticky bit
  const fs::path key = dir / "made.key";
  auto r = run_vpnhost({"keygen", key.string()}, tmp.path());
  INFO("stderr: " << r.err);
  REQUIRE(r.exited);
  CHECK(r.code == 0);  // the key is written; the warning says what to fix
  CHECK_THAT(r.out + r.err, Catch::Contains("directory " + dir.string() + " is writable by group/others") &&
                                Catch::Contains("run chmod go-w " + dir.string()) &&
                                Catch::Contains("until then vpnhost refuses this key file"));
  // A private directory: no warning.
  auto ok = run_vpnhost({"keygen", (tmp / "fine.key").string()}, tmp.path());
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out + ok.err, !Catch::Contains("refuses this key file"));
}
