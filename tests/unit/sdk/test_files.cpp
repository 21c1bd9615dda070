// vpnsdk/files.hpp: the atomic writer a root process may use in a directory
// others can write, and the StrictModes check for files it takes orders from.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "temp_dir.hpp"
#include "vpnsdk/files.hpp"

namespace fs = std::filesystem;
using Catch::Contains;

namespace {

using sdk_test::Dir;

std::string read(const std::string& p) {
  std::ifstream f(p);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

void write(const std::string& p, const std::string& text, mode_t mode = 0600) {
  std::ofstream(p) << text;
  REQUIRE(::chmod(p.c_str(), mode) == 0);
}

struct stat stat_of(const std::string& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st;
}

}  // namespace

TEST_CASE("files: write_file_atomically does not write through planted temporary names", "[files]") {
  Dir d;
  const std::string target = d.at("stats");
  const std::string victim = d.at("victim");
  write(victim, "precious\n", 0644);
  // Every name a predictable writer might use, as symlinks to the victim.
  const std::vector<std::string> planted = {target + ".tmp", target + ".tmp." + std::to_string(::getpid()),
                                            target + "~"};
  for (const std::string& p : planted) REQUIRE(::symlink(victim.c_str(), p.c_str()) == 0);
  for (int i = 0; i < 20; ++i) REQUIRE(vpnsdk::write_file_atomically(target, "a " + std::to_string(i) + "\n").empty());
  CHECK(read(victim) == "precious\n");
  CHECK(read(target) == "a 19\n");
  struct stat st {};
  REQUIRE(::lstat(target.c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK(d.names() == std::vector<std::string>{"stats", "stats.tmp", "stats.tmp." + std::to_string(::getpid()),
                                              "stats~", "victim"});
}

TEST_CASE("files: a symlink at the target is replaced, not followed", "[files]") {
  Dir d;
  const std::string victim = d.at("victim");
  write(victim, "precious\n", 0644);
  REQUIRE(::symlink(victim.c_str(), d.at("stats").c_str()) == 0);
  REQUIRE(vpnsdk::write_file_atomically(d.at("stats"), "x 1\n").empty());
  CHECK(read(victim) == "precious\n");
  CHECK(read(d.at("stats")) == "x 1\n");
}

TEST_CASE("files: the mode is exact whatever the umask, the inode new each time", "[files]") {
  Dir d;
  const mode_t old = ::umask(0);
  REQUIRE(vpnsdk::write_file_atomically(d.at("a"), "1\n", 0600).empty());
  ::umask(077);
  REQUIRE(vpnsdk::write_file_atomically(d.at("b"), "1\n", 0644).empty());
  ::umask(old);
  CHECK((stat_of(d.at("a")).st_mode & 07777) == 0600);
  CHECK((stat_of(d.at("b")).st_mode & 07777) == 0644);
  const ino_t before = stat_of(d.at("b")).st_ino;
  REQUIRE(vpnsdk::write_file_atomically(d.at("b"), "2\n", 0644).empty());
  CHECK(stat_of(d.at("b")).st_ino != before);
  CHECK(read(d.at("b")) == "2\n");
}

TEST_CASE("files: a failed write leaves the target as it was and no temporary file", "[files]") {
  Dir d;
  fs::create_directory(d.path / "stats");  // rename over a directory fails
  std::string err = vpnsdk::write_file_atomically(d.at("stats"), "x\n");
  CHECK_THAT(err, Contains("cannot write " + d.at("stats")) && Contains("cannot rename"));
  CHECK(d.names() == std::vector<std::string>{"stats"});
  err = vpnsdk::write_file_atomically(d.at("missing/stats"), "x\n");
  CHECK_THAT(err, Contains("cannot create") && Contains("No such file or directory"));
}

TEST_CASE("files: trust_problem refuses another user's file and replaceable directories", "[files]") {
  if (::geteuid() != 0) {
    WARN("SKIPPED: needs root (chown)");
    return;
  }
  Dir d;
  const std::string f = d.at("key");
  write(f, "k\n");
  CHECK(vpnsdk::trust_problem("key file", f, stat_of(f)).empty());

  REQUIRE(::chown(f.c_str(), 65534, 65534) == 0);
  CHECK(vpnsdk::trust_problem("key file", f, stat_of(f)) ==
        "key file " + f + " is owned by uid 65534, not by root or by the user vpnhost runs as (root), so that user "
        "can change it: run chown root " + f);
  REQUIRE(::chown(f.c_str(), 0, 0) == 0);

  const std::string dir = d.path.string();
  REQUIRE(::chmod(dir.c_str(), 0770) == 0);
  CHECK(vpnsdk::trust_problem("key file", f, stat_of(f)) ==
        "key file " + f + ": directory " + dir + " is writable by group/others (mode 0770), so they can replace the "
        "file: run chmod go-w " + dir);
  REQUIRE(::chmod(dir.c_str(), 0702) == 0);
  CHECK_THAT(vpnsdk::trust_problem("key file", f, stat_of(f)), Contains("run chmod go-w " + dir));
  REQUIRE(::chmod(dir.c_str(), 01777) == 0);  // sticky, as /tmp
  CHECK(vpnsdk::trust_problem("key file", f, stat_of(f)).empty());

  REQUIRE(::chmod(dir.c_str(), 0700) == 0);
  REQUIRE(::chown(dir.c_str(), 65534, 65534) == 0);
  CHECK_THAT(vpnsdk::trust_problem("key file", f, stat_of(f)),
             Contains("directory " + dir + " is owned by uid 65534") && Contains("run chown root " + dir));
  REQUIRE(::chown(dir.c_str(), 0, 0) == 0);

  // Through a symlink: the directories of the real file count.
  fs::create_directory(d.path / "loose");
  REQUIRE(::chmod(d.at("loose").c_str(), 0777) == 0);
  write(d.at("loose/real"), "k\n");
  REQUIRE(::symlink(d.at("loose/real").c_str(), d.at("link").c_str()) == 0);
  CHECK_THAT(vpnsdk::trust_problem("key file", d.at("link"), stat_of(d.at("link"))),
             Contains("directory " + d.at("loose") + " is writable by group/others"));
  // A relative path is checked as its real path.
  const fs::path cwd = fs::current_path();
  fs::current_path(d.path);
  CHECK(vpnsdk::trust_problem("key file", "key", stat_of("key")).empty());
  fs::current_path(cwd);
}
