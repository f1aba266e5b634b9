#include "client/cli/token_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vinculo::client::cli {
namespace {

std::string Octal(mode_t mode) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%04o", static_cast<unsigned>(mode & 07777));
  return buffer;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

Result<std::string> ReadTokenFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int e = errno;
    if (e == ENOENT) return Error::NotFound("token file " + path + " does not exist");
    return Error::Internal("cannot open token file " + path + ": " + std::strerror(e));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    return Error::Internal("cannot stat token file " + path + ": " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error::FailedPrecondition("token file " + path + " is not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return Error::FailedPrecondition(
        "token file " + path + " has mode " + Octal(st.st_mode) +
        ", which lets its group or others read it; it must be 0600 or stricter: chmod 600 " + path);
  }
  std::string text;
  char buffer[512];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return Error::Internal("cannot read token file " + path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > 4096) {
      ::close(fd);
      return Error::InvalidArgument("token file " + path + " is too large to hold a token");
    }
  }
  ::close(fd);
  size_t begin = 0, end = text.size();
  while (begin < end && IsSpace(text[begin])) ++begin;
  while (end > begin && IsSpace(text[end - 1])) --end;
  std::string token = text.substr(begin, end - begin);
  if (token.empty()) return Error::InvalidArgument("token file " + path + " is empty");
  for (char c : token) {
    if (IsSpace(c) || static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
      return Error::InvalidArgument("token file " + path +
                                    " holds more than one word; it must hold only the token");
    }
  }
  return token;
}

Status WriteTokenFile(const std::string& path, const std::string& token) {
  const std::string temp = path + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return Error::Internal("cannot write token file " + path + ": " + std::strerror(errno));
  }
  auto fail = [&](const char* what) {
    const int e = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    return Error::Internal(std::string("cannot ") + what + " token file " + path + ": " +
                           std::strerror(e));
  };
  if (::fchmod(fd, 0600) != 0) return fail("protect");
  const std::string line = token + "\n";
  size_t written = 0;
  while (written < line.size()) {
    const ssize_t n = ::write(fd, line.data() + written, line.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("flush");
  if (::close(fd) != 0) {
    ::unlink(temp.c_str());
    return Error::Internal("cannot write token file " + path + ": " + std::strerror(errno));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(temp.c_str());
    return Error::Internal("cannot write token file " + path + ": " + std::strerror(e));
  }
  return Status::Ok();
}

}  // namespace vinculo::client::cli
