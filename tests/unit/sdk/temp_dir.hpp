// A private temporary directory for the unit_sdk tests, removed with
// everything in it at the end of the test.
#pragma once
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace sdk_test {

struct Dir {
  std::filesystem::path path;
  Dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "vpnsdk_test.XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~Dir() {
    std::error_code ec;
    std::filesystem::permissions(path, std::filesystem::perms::owner_all, ec);
    std::filesystem::remove_all(path, ec);
  }
  Dir(const Dir&) = delete;
  Dir& operator=(const Dir&) = delete;

  std::string at(const std::string& name) const { return (path / name).string(); }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
  // Writes `text` to <dir>/<name> with exactly `mode`; returns the path.
  std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) const {
    const std::string p = at(name);
    std::ofstream(p) << text;
    REQUIRE(::chmod(p.c_str(), mode) == 0);
    return p;
  }
};

}  // namespace sdk_test
