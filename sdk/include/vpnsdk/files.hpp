// Files a privileged process writes or trusts (SDK ABI 1.3; run_uid,
// readable_problem() and resolve_path since 1.4).
//
// write_file_atomically(): replaces a file the way a process running as root
// must, when others may write to the directory or guess names in it: the
// temporary file gets a random name and is created with
// O_CREAT|O_EXCL|O_NOFOLLOW (a planted file or symlink of any name is never
// opened, let alone written through), is written, fsync'ed and renamed over
// the target. On any failure the temporary file is removed and the target is
// left as it was.
//
// trust_problem(): OpenSSH's StrictModes for a file this process takes
// orders from (keys, authorized clients, crash-recovery state): the file and
// every directory above it, up to /, must be owned by root or by the user
// this process runs as (now, or after setup: HostContext::run_uid), and no directory may be writable by group or others
// unless it has the sticky bit (as /tmp has). Otherwise someone else could
// replace what the file says.
//
// Header-only; used by the host and by plugins alike.
#pragma once
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

namespace vpnsdk {

namespace files_detail {

inline std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

inline std::string who(uid_t uid) { return uid == 0 ? std::string("root") : "uid " + std::to_string(uid); }

// The name chown should be given to hand a file to this process's user.
inline std::string chown_target() {
  const uid_t me = ::geteuid();
  return me == 0 ? std::string("root") : std::to_string(me);
}

inline std::string dir_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// 12 random characters for a temporary file name.
inline bool random_suffix(std::string& out) {
  unsigned char bytes[12];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    got += static_cast<std::size_t>(n);
  }
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
  out.clear();
  for (unsigned char b : bytes) out += kChars[b & 63];
  return true;
}

}  // namespace files_detail

// `path` resolved against `base_dir` (the manifest's directory) when it is
// relative and base_dir is not empty, lexically normalised.
inline std::string resolve_path(const std::string& path, const std::string& base_dir) {
  std::filesystem::path p(path);
  if (p.is_relative() && !base_dir.empty()) p = std::filesystem::path(base_dir) / p;
  return p.lexically_normal().string();
}

// Writes `text` to `path` through a new temporary file in the same directory
// ("<path>.tmp.<12 random characters>", mode `mode` exactly, whatever the
// umask), then rename(2). "" on success, else a message naming the file and
// the reason; then no temporary file is left and `path` is untouched.
inline std::string write_file_atomically(const std::string& path, std::string_view text, mode_t mode = 0644) {
  auto fail = [&](const std::string& what, int err) {
    return "cannot write " + path + ": " + what + ": " + std::strerror(err);
  };
  int fd = -1;
  std::string tmp;
  for (int attempt = 0; attempt < 16 && fd < 0; ++attempt) {
    std::string suffix;
    if (!files_detail::random_suffix(suffix)) return fail("no random bytes for a temporary name", errno);
    tmp = path + ".tmp." + suffix;
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode & 0666);
    if (fd < 0 && errno != EEXIST) return fail("cannot create " + tmp, errno);
  }
  if (fd < 0) return fail("cannot create a temporary file next to it", EEXIST);
  auto abandon = [&](const std::string& what, int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return fail(what, err);
  };
  if (::fchmod(fd, mode & 0666) != 0) return abandon("cannot set the mode of " + tmp, errno);
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return abandon("cannot write " + tmp, errno);
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return abandon("cannot sync " + tmp, errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail("cannot write " + tmp, err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail("cannot rename " + tmp + " to it", err);
  }
  return {};
}

// Why `path` (whose fstat/stat is `st`) must not be trusted, or "".
// `what` names the file in the message ("key file", "authorized_clients").
// Checks the owner of the file and, on the real path (symlinks resolved),
// the owner and mode of every directory above it up to /; the message names
// the file or directory and the command that fixes it.
inline std::string trust_problem(const std::string& what, const std::string& path, const struct stat& st,
                                 uid_t run_uid) {
  const uid_t me = ::geteuid();
  const auto trusted = [&](uid_t owner) { return owner == 0 || owner == me || owner == run_uid; };
  const std::string runs_as =
      files_detail::who(me) + (run_uid != me ? ", after setup " + files_detail::who(run_uid) : std::string());
  if (!trusted(st.st_uid))
    return what + " " + path + " is owned by " + files_detail::who(st.st_uid) +
           ", not by root or by the user vpnhost runs as (" + runs_as +
           "), so that user can change it: run chown " + files_detail::chown_target() + " " + path;
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real) == nullptr)
    return "cannot resolve " + what + " " + path + ": " + std::strerror(errno);
  std::string dir = files_detail::dir_of(real);
  for (;;) {
    struct stat d {};
    if (::stat(dir.c_str(), &d) != 0) return "cannot check directory " + dir + " of " + path + ": " + std::strerror(errno);
    if (!trusted(d.st_uid))
      return what + " " + path + ": directory " + dir + " is owned by " + files_detail::who(d.st_uid) +
             ", not by root or by the user vpnhost runs as (" + runs_as +
             "), so that user can replace the file: run chown " + files_detail::chown_target() + " " + dir;
    if ((d.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (d.st_mode & S_ISVTX) == 0)
      return what + " " + path + ": directory " + dir + " is writable by group/others (mode " +
             files_detail::octal(d.st_mode) + "), so they can replace the file: run chmod go-w " + dir;
    if (dir == "/") break;
    dir = files_detail::dir_of(dir);
  }
  return {};
}

inline std::string trust_problem(const std::string& what, const std::string& path, const struct stat& st) {
  return trust_problem(what, path, st, ::geteuid());
}

// Why the user `uid`:`gid` (the one vpnhost runs as after setup) could not
// read `path` again later (a live reload), or "". Mode bits only: ACLs and
// supplementary groups are not considered, so this is a warning, never a
// refusal. `what` names the file in the message.
inline std::string readable_problem(const std::string& what, const std::string& path, uid_t uid, gid_t gid) {
  if (uid == 0) return {};
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  const bool ok = st.st_uid == uid ? (st.st_mode & S_IRUSR) != 0
                  : st.st_gid == gid ? (st.st_mode & S_IRGRP) != 0
                                     : (st.st_mode & S_IROTH) != 0;
  if (ok) return {};
  return what + " " + path + " is not readable by uid " + std::to_string(uid) +
         ", the user vpnhost runs as after setup, so a live reload cannot read it again: run chgrp " +
         std::to_string(gid) + " " + path + " && chmod g+r " + path;
}

}  // namespace vpnsdk
